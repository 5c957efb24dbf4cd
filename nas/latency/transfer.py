"""Log-linear space models: a strong per-space fit from many measurements, and few-shot transfer
from other devices' fits.

A :class:`SpaceModel` predicts, for architectures of one encodable space
(:mod:`nas.latency.encodings`)::

    log latency_ms = intercept + z(arch) . weights + physics_coef * log(physics_ms(arch))

where ``z`` are :func:`~nas.latency.encodings.transfer_features` and ``physics_ms`` is the
profile's linear physics prediction for that space (:mod:`nas.latency.model`).

- :func:`fit_direct` (``kind="direct"``, many measurements): ridge regression of log latency on
  standardised ``z``, ``physics_coef = 0``. Shipped profiles store this fit, fitted on all of
  their device's measurements; it is what other devices transfer from.
- :func:`fit_transfer` (``kind="transfer"``, few measurements): log latency as a non-negative
  combination (plus intercept) of the source devices' direct log-predictions and of this
  device's own physics log-prediction, fitted by ridge-penalised NNLS on the calibration points.
  The physics column is taken out-of-fold (:func:`cv_log_physics`) so that its in-sample
  overfit does not win the mix (if every coefficient is zero, the model is the physics
  prediction unchanged, as it is when there are too few points for the out-of-fold physics
  fits, e.g. 5). Because every source is linear in the same ``z``, the
  combination collapses into one SpaceModel: the profile needs no other file to predict.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from nas.errors import InputError
from nas.latency.model import fit_weights, predict

DIRECT_RIDGE = 10.0      # on standardised columns, for fit_direct
MIX_PENALTY = 0.01       # ridge on the mixing coefficients (log-prediction units)
DIRECT_MIN = 1000        # a space with at least this many measurements gets a direct fit
CV_FOLDS = 10


@dataclass(frozen=True)
class SpaceModel:
    """``log ms = intercept + z . weights + physics_coef * log(physics_ms)``; ``kind`` is
    ``"direct"`` or ``"transfer"``."""

    intercept: float
    physics_coef: float
    weights: np.ndarray
    kind: str = "direct"

    def log_predict(self, z: np.ndarray, physics_ms: np.ndarray | None = None) -> np.ndarray:
        """``[n]`` log-latency from ``z [n, d]`` and (when physics_coef != 0) physics_ms ``[n]``."""
        out = self.intercept + np.asarray(z, float) @ self.weights
        if self.physics_coef:
            out = out + self.physics_coef * np.log(np.asarray(physics_ms, float))
        return out

    def predict_ms(self, z: np.ndarray, physics_ms: np.ndarray | None = None) -> np.ndarray:
        return np.exp(self.log_predict(z, physics_ms))


def fit_direct(z: np.ndarray, latency_ms: np.ndarray, ridge: float = DIRECT_RIDGE) -> SpaceModel:
    """Ridge fit of log latency on standardised ``z [n, d]`` (n >= 2)."""
    z = np.asarray(z, float)
    ly = np.log(np.asarray(latency_ms, float))
    mu, sd = z.mean(0), z.std(0) + 1e-9
    zs = (z - mu) / sd
    b = np.linalg.solve(zs.T @ zs + ridge * np.eye(z.shape[1]), zs.T @ (ly - ly.mean()))
    w = b / sd
    return SpaceModel(float(ly.mean() - mu @ w), 0.0, w, "direct")


def cv_log_physics(f: np.ndarray, latency_ms: np.ndarray, prior: np.ndarray | None,
                   folds: int = CV_FOLDS) -> np.ndarray | None:
    """Out-of-fold log physics predictions ``[n]`` (each point predicted by a physics fit on the
    other folds), or None when a fold's training part is too small to fit."""
    y = np.asarray(latency_ms, float)
    n = len(y)
    k = min(folds, n)
    out = np.empty(n)
    for j in range(k):
        test = np.arange(j, n, k)
        train = np.setdiff1d(np.arange(n), test)
        try:
            w = fit_weights(f[train], y[train], prior)
        except InputError:  # too few points for the model: no physics column
            return None
        out[test] = np.log(predict(f[test], w))
    return out


def fit_transfer(z: np.ndarray, latency_ms: np.ndarray, sources: list[SpaceModel],
                 physics_log_cv: np.ndarray | None, penalty: float = MIX_PENALTY) -> SpaceModel:
    """Non-negative mix of ``sources`` (direct SpaceModels on the same ``z`` columns) and the
    out-of-fold physics log-prediction ``physics_log_cv [n]`` (None: physics unchanged), fitted
    on the calibration points ``z [n, d]``, ``latency_ms [n]``."""
    ly = np.log(np.asarray(latency_ms, float))
    if physics_log_cv is None:  # too few points to cross-validate: keep the physics prediction
        return SpaceModel(0.0, 1.0, np.zeros(z.shape[1]), "transfer")
    cols = [s.log_predict(z) for s in sources] + [physics_log_cv]
    s = np.stack(cols, axis=1)
    k = s.shape[1]
    sm, ym = s.mean(0), ly.mean()
    a, _ = nnls(np.vstack([s - sm, np.sqrt(penalty) * np.eye(k)]),
                np.concatenate([ly - ym, np.zeros(k)]))
    if not np.any(a > 0):  # nothing explains the calibration points: keep the physics prediction
        return SpaceModel(0.0, 1.0, np.zeros(z.shape[1]), "transfer")
    src_a = a[:len(sources)]
    weights = sum((aj * m.weights for aj, m in zip(src_a, sources)), np.zeros(z.shape[1]))
    intercept = ym - sm @ a + sum(aj * m.intercept for aj, m in zip(src_a, sources))
    coef = float(a[-1])
    return SpaceModel(float(intercept), coef, weights, "transfer")
