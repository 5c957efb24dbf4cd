"""A linear latency model on physics features, fitted with a prior from other devices.

``latency_ms(arch) = features(arch, hw) . weights`` (see :mod:`nas.latency.features`).

Fitting (:func:`fit_weights`) minimises the squared *relative* error on the measurements:

    sum_i (1 - f_i . w / y_i)^2 + penalties,   w = sum_j a_j w_j + delta,   a >= 0

where ``w_j`` are weight vectors of other devices (the prior: each turned into a basis
function ``f . w_j`` evaluated with *this* device's batch, peak rate and bandwidth), ``a`` is
found by non-negative least squares and ``delta`` is a ridge-shrunk correction whose penalty
falls as ``1/n``: with few measurements the model is a non-negative mix of known devices,
with many it becomes a free fit. ``nonneg=True`` constrains ``delta >= 0`` with a tiny
penalty (the fit a profile offers as prior to others: physical, so it transfers). Columns are
scaled by their mean magnitude on the measurements, so penalties are unitless.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from nas.errors import InputError

MIN_MEASUREMENTS = 5  # with a prior; a fit without one needs MIN_MEASUREMENTS_NO_PRIOR
MIN_MEASUREMENTS_NO_PRIOR = 30
PRIOR_PENALTY = 1e-3     # on the mixing weights a (scaled)
DELTA_PENALTY = 1.0      # on the correction delta (scaled), times sqrt(MIN_MEASUREMENTS) / n
PREDICTION_FLOOR_MS = 1e-3


def _scale(x: np.ndarray) -> np.ndarray:
    return np.abs(x).mean(axis=0) + 1e-12


def fit_weights(features: np.ndarray, latency_ms: np.ndarray, prior: np.ndarray | None = None,
                *, nonneg: bool = False, delta_penalty: float = DELTA_PENALTY) -> np.ndarray:
    """Fit weights ``[d]`` to ``features [n, d]`` and measured ``latency_ms [n]`` (> 0).

    ``prior``: ``[k, d]`` weight vectors of other devices, or None. ``nonneg``: constrain the
    correction ``delta`` to be non-negative and barely penalised (the fit used for prior
    weights: physical, transfers between devices). Raises InputError when there are fewer
    measurements than the model needs (MIN_MEASUREMENTS with a prior,
    MIN_MEASUREMENTS_NO_PRIOR without) or latencies are not positive.
    """
    f = np.asarray(features, dtype=float)
    y = np.asarray(latency_ms, dtype=float)
    n, d = f.shape
    prior = np.zeros((0, d)) if prior is None else np.asarray(prior, dtype=float).reshape(-1, d)
    k = len(prior)
    need = MIN_MEASUREMENTS if k else MIN_MEASUREMENTS_NO_PRIOR
    if n < need:
        raise InputError(f"{n} measurements are too few: the latency model needs at least {need}"
                         + ("" if k else " without prior profiles"))
    if np.any(~np.isfinite(y)) or np.any(y <= 0):
        raise InputError("latencies must be finite and positive")
    p = f @ prior.T
    sp, sf = _scale(p), _scale(f)
    blocks = [p / sp, f / sf] + ([] if nonneg else [-f / sf])
    x = np.hstack(blocks) / y[:, None]
    m = x.shape[1]
    dpen = 1e-4 if nonneg else delta_penalty * np.sqrt(MIN_MEASUREMENTS) / n
    pen = np.concatenate([np.full(k, PRIOR_PENALTY), np.full(m - k, dpen)])
    x = np.vstack([x, np.diag(pen)])
    z, _ = nnls(x, np.concatenate([np.ones(n), np.zeros(m)]), maxiter=100 * m)
    delta = z[k:k + d] - (0 if nonneg else z[k + d:])
    return prior.T @ (z[:k] / sp) + delta / sf


def predict(features: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Predicted latency in ms ``[n]``, floored at PREDICTION_FLOOR_MS."""
    return np.maximum(np.asarray(features, float) @ np.asarray(weights, float), PREDICTION_FLOOR_MS)


def fit_flops_baseline(flops: np.ndarray, latency_ms: np.ndarray) -> tuple[float, float]:
    """``latency = a + b * flops`` by least squares (the FLOPs-only baseline)."""
    a = np.stack([np.ones(len(flops)), np.asarray(flops, float)], axis=1)
    coef = np.linalg.lstsq(a, np.asarray(latency_ms, float), rcond=None)[0]
    return float(coef[0]), float(coef[1])
