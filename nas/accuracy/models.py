"""Accuracy predictor model families, each a pair ``fit(X, y, seed) -> params`` /
``predict(params, X) -> (mean, std or None)`` over plain NumPy arrays (what a predictor file
stores: :mod:`nas.accuracy.predictor`).

* ``ridge``: ridge regression, the penalty chosen by generalised cross-validation
  (:class:`nas.search.surrogate.Ridge`); no uncertainty. The floor to beat.
* ``gp``: the ridge fit as the mean, plus a Gaussian process with a squared-exponential kernel
  on its residuals; length scale, signal and noise by the largest marginal likelihood over a
  grid. Gives a predictive standard deviation.
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


# ------------------------------------------------------------------ Gaussian process on ridge residuals
LENGTHS = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0)  # times sqrt(mean squared distance / 2)
NOISES = (1e-3, 1e-2, 3e-2, 0.1, 0.3)  # noise variance / residual variance


def _sqdist(A, B) -> np.ndarray:
    return np.maximum((A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T, 0.0)


def fit_gp(X, y, seed: int = 0) -> dict:
    X, y = np.asarray(X, float), np.asarray(y, float)
    base = fit_ridge(X, y)
    r = y - predict_ridge(base, X)[0]
    var = max(float(r.var()), 1e-12)
    D = _sqdist(X, X)
    scale = np.sqrt(max(float(D.mean()) / 2, 1e-12))
    best = None
    for ell in LENGTHS:
        K0 = np.exp(-D / (2 * (ell * scale) ** 2))
        for nz in NOISES:
            try:
                L = np.linalg.cholesky(var * (K0 + nz * np.eye(len(X))))
            except np.linalg.LinAlgError:
                continue
            a = np.linalg.solve(L.T, np.linalg.solve(L, r))
            nll = 0.5 * r @ a + np.log(np.diag(L)).sum()
            if best is None or nll < best[0]:
                best = (nll, ell * scale, nz, a)
    _, length, noise, alpha = best
    return {**{f"ridge_{k}": v for k, v in base.items()}, "X": X, "alpha": alpha,
            "hyper": np.array([length, var, noise * var])}


def predict_gp(p: dict, X) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, float)
    length, var, noise = (float(v) for v in p["hyper"])
    base = predict_ridge({k.removeprefix("ridge_"): v for k, v in p.items() if k.startswith("ridge_")}, X)[0]
    Ks = var * np.exp(-_sqdist(X, p["X"]) / (2 * length ** 2))
    mean = base + Ks @ p["alpha"]
    L = np.linalg.cholesky(var * np.exp(-_sqdist(p["X"], p["X"]) / (2 * length ** 2)) + noise * np.eye(len(p["X"])))
    v = np.linalg.solve(L, Ks.T)
    return mean, np.sqrt(np.maximum(var - (v * v).sum(0), 0.0) + noise)


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
