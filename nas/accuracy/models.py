"""Accuracy predictor model families, each a pair ``fit(X, y, seed) -> params`` /
``predict(params, X) -> (mean, std or None)`` over plain NumPy arrays (what a predictor file
stores: :mod:`nas.accuracy.predictor`).

* ``ridge``: ridge regression, the penalty chosen by generalised cross-validation
  (:class:`nas.search.surrogate.Ridge`); no uncertainty. The floor to beat.
* ``gp``: a Gaussian process whose kernel is a linear kernel (a ridge on the features) plus a
  squared-exponential one (interactions between genes); their mix, the length scale and the
  noise by the largest marginal likelihood over a grid. Gives a predictive standard deviation.
* ``mlp``: an ensemble of small ReLU networks (JAX, full-batch Adam, weight decay), each
  started from its own seed; the mean of the members and their spread as the uncertainty.

``docs/benchmarks/search.md`` measures them on Once-for-All-labelled subnets
(``python -m experiments.benchmarks.accuracy_predictor``).
"""
from __future__ import annotations

import numpy as np

from nas.search.surrogate import Ridge

MODELS = ("ridge", "gp", "mlp")


# ------------------------------------------------------------------ ridge
def fit_ridge(X, y, seed: int = 0) -> dict:
    r = Ridge(X, np.asarray(y, float)[:, None])
    return {"x_mean": r.x_mean, "coef": r.coef[:, 0], "y_mean": r.y_mean, "y_std": r.y_std}


def predict_ridge(p: dict, X) -> tuple[np.ndarray, None]:
    z = (np.asarray(X, float) - p["x_mean"]) @ p["coef"]
    return z * p["y_std"][0] + p["y_mean"][0], None


# ------------------------------------------------------------------ Gaussian process
# kernel  s2 * (a * X X'/d + (1 - a) * exp(-|x - x'|^2 / 2 l^2) + eta * I)  on standardised targets:
# the linear part is a ridge on the features, the squared-exponential part the interactions
# between genes; a, l and eta by the largest marginal likelihood over a grid, s2 in closed form.
MIXES = (1.0, 0.75, 0.5, 0.25)  # share of the linear kernel
LENGTHS = (1.0, 2.0, 4.0)  # times sqrt(mean squared distance / 2)
NOISES = (1e-3, 1e-2, 0.1, 0.3)  # noise variance / signal variance


def _sqdist(A, B) -> np.ndarray:
    return np.maximum((A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T, 0.0)


def _kernel(A, B, mix: float, length: float, d: int) -> np.ndarray:
    return mix * (A @ B.T) / d + (1 - mix) * np.exp(-_sqdist(A, B) / (2 * length ** 2))


def fit_gp(X, y, seed: int = 0, grid=None) -> dict:
    """``grid``: ``(mix, length multiple, noise)`` triples to choose from (default: every one of
    MIXES x LENGTHS x NOISES); the chosen triple is returned as ``params["choice"]``."""
    X, y = np.asarray(X, float), np.asarray(y, float)
    n, d = X.shape
    x_mean = X.mean(0)
    Xc = X - x_mean
    mu, sd = float(y.mean()), float(y.std()) or 1.0
    z = (y - mu) / sd
    scale = np.sqrt(max(float(_sqdist(Xc, Xc).mean()) / 2, 1e-12))
    if grid is None:
        grid = [(mix, ell, eta) for mix in MIXES for ell in (LENGTHS if mix < 1 else LENGTHS[:1]) for eta in NOISES]
    best, kernels = None, {}
    for mix, ell, eta in grid:
        if (mix, ell) not in kernels:
            kernels = {(mix, ell): _kernel(Xc, Xc, mix, ell * scale, d)}
        try:
            L = np.linalg.cholesky(kernels[(mix, ell)] + eta * np.eye(n))
        except np.linalg.LinAlgError:
            continue
        a = np.linalg.solve(L.T, np.linalg.solve(L, z))
        s2 = max(float(z @ a) / n, 1e-12)
        nll = 0.5 * n * np.log(s2) + np.log(np.diag(L)).sum()
        if best is None or nll < best[0]:
            best = (nll, (mix, ell, eta), s2, a)
    _, (mix, ell, eta), s2, alpha = best
    return {"X": Xc, "x_mean": x_mean, "alpha": alpha, "hyper": np.array([mix, ell * scale, eta, s2, mu, sd]),
            "choice": np.array([mix, ell, eta])}


def predict_gp(p: dict, X) -> tuple[np.ndarray, np.ndarray]:
    mix, length, eta, s2, mu, sd = (float(v) for v in p["hyper"])
    Xt = p["X"]
    d = Xt.shape[1]
    Xc = np.asarray(X, float) - p["x_mean"]
    Ks = _kernel(Xc, Xt, mix, length, d)
    mean = Ks @ p["alpha"]
    L = np.linalg.cholesky(_kernel(Xt, Xt, mix, length, d) + eta * np.eye(len(Xt)))
    v = np.linalg.solve(L, Ks.T)
    kss = mix * (Xc * Xc).sum(1) / d + (1 - mix)
    var = s2 * (np.maximum(kss - (v * v).sum(0), 0.0) + eta)
    return mu + sd * mean, sd * np.sqrt(var)


# ------------------------------------------------------------------ MLP ensemble (JAX)
MEMBERS, HIDDEN, STEPS, LR, WD = 5, 128, 1500, 3e-3, 1e-4


def _bucket(n: int) -> int:
    """Rows padded to a power of two (at least 64): refits on growing data reuse a compiled step."""
    return max(64, 1 << (n - 1).bit_length())


def _mlp_apply(w, X):
    import jax.numpy as jnp

    h = jnp.maximum(X @ w["w1"] + w["b1"], 0.0)
    h = jnp.maximum(h @ w["w2"] + w["b2"], 0.0)
    return (h @ w["w3"] + w["b3"])[..., 0]


def _train(X, y, mask, seed: int, d: int):
    import jax
    import jax.numpy as jnp
    import optax

    def init(key):
        k1, k2, k3 = jax.random.split(key, 3)
        he = lambda k, i, o: jax.random.normal(k, (i, o)) * jnp.sqrt(2.0 / i)  # noqa: E731
        return {"w1": he(k1, d, HIDDEN), "b1": jnp.zeros(HIDDEN), "w2": he(k2, HIDDEN, HIDDEN),
                "b2": jnp.zeros(HIDDEN), "w3": he(k3, HIDDEN, 1) * 0.1, "b3": jnp.zeros(1)}

    opt = optax.adamw(optax.cosine_decay_schedule(LR, STEPS), weight_decay=WD)

    def member(key):
        w = init(key)

        def loss(w):
            return (((_mlp_apply(w, X) - y) ** 2) * mask).sum() / mask.sum()

        def step(carry, _):
            w, s = carry
            g = jax.grad(loss)(w)
            u, s = opt.update(g, s, w)
            return (optax.apply_updates(w, u), s), None

        (w, _), _ = jax.lax.scan(step, (w, opt.init(w)), None, length=STEPS)
        return w

    keys = jax.random.split(jax.random.key(seed), MEMBERS)
    return jax.vmap(member)(keys)


_TRAIN = {}


def fit_mlp(X, y, seed: int = 0) -> dict:
    import jax
    import jax.numpy as jnp

    X, y = np.asarray(X, np.float32), np.asarray(y, float)
    mu, sd = float(y.mean()), float(y.std()) or 1.0
    n, d = X.shape
    m = _bucket(n)
    Xp = np.zeros((m, d), np.float32)
    Xp[:n] = X
    yp, mask = np.zeros(m, np.float32), np.zeros(m, np.float32)
    yp[:n], mask[:n] = (y - mu) / sd, 1.0
    if d not in _TRAIN:
        _TRAIN[d] = jax.jit(lambda X, y, mask, seed: _train(X, y, mask, seed, d))
    w = jax.device_get(_TRAIN[d](jnp.asarray(Xp), jnp.asarray(yp), jnp.asarray(mask), seed))
    return {**{k: np.asarray(v) for k, v in w.items()}, "y_norm": np.array([mu, sd])}


def predict_mlp(p: dict, X) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, np.float64)
    h = np.maximum(np.einsum("nd,mdh->mnh", X, p["w1"]) + p["b1"][:, None, :], 0.0)
    h = np.maximum(np.einsum("mnh,mhk->mnk", h, p["w2"]) + p["b2"][:, None, :], 0.0)
    out = (np.einsum("mnh,mho->mno", h, p["w3"]) + p["b3"][:, None, :])[..., 0]  # [members, n]
    mu, sd = p["y_norm"]
    out = out * sd + mu
    return out.mean(0), out.std(0)


FIT = {"ridge": fit_ridge, "gp": fit_gp, "mlp": fit_mlp}
PREDICT = {"ridge": predict_ridge, "gp": predict_gp, "mlp": predict_mlp}


# ------------------------------------------------------------------ a plain ReLU network (imported)
def predict_dense(p: dict, X) -> tuple[np.ndarray, None]:
    """``w0, b0, w1, b1, ...``: affine layers with ReLU between them (Once-for-All's predictor)."""
    h = np.asarray(X, np.float64)
    n = sum(1 for k in p if k.startswith("w"))
    for i in range(n):
        h = h @ p[f"w{i}"] + p[f"b{i}"]
        if i < n - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0], None


PREDICT["dense"] = predict_dense
