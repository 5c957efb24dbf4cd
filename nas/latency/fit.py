"""Fit a profile's predictor from measurements, with shipped profiles as the prior.

``fit_predictor`` returns the weight vectors a profile stores: one per measured space, a
``default`` fitted on all spaces together (used for spaces never measured), and, when there
are enough measurements, a non-negative ``prior_weights`` fit that other profiles may use as a
prior.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nas.latency.features import Hardware, arch_features
from nas.latency.metrics import prediction_metrics
from nas.latency.model import MIN_MEASUREMENTS_NO_PRIOR, fit_weights, predict


@dataclass
class FittedPredictor:
    weights: dict[str, np.ndarray]
    prior_weights: np.ndarray | None
    fit: dict[str, dict]  # per space: n and in-sample metrics


def prior_from_profiles(exclude: tuple[str, ...] = ()) -> np.ndarray:
    """``[k, d]`` prior: the non-negative fits of the shipped profiles not named in ``exclude``
    (None when there are none)."""
    from hardware_profiles import list_profiles, load_profile

    rows = []
    for name in list_profiles():
        if name in exclude:
            continue
        prof = load_profile(name)
        if prof.prior_weights is not None:
            rows.append(prof.prior_weights)
    return np.stack(rows) if rows else None


def fit_predictor(data: dict, hw: Hardware, prior: np.ndarray | None) -> FittedPredictor:
    """Fit weights to ``data``: ``{space: (archs, latency_ms)}`` measured on ``hw``.

    With a prior, ``MIN_MEASUREMENTS`` per space suffice; without, ``MIN_MEASUREMENTS_NO_PRIOR``
    (InputError otherwise).
    """
    feats = {s: arch_features(archs, hw) for s, (archs, _) in data.items()}
    lat = {s: np.asarray(y, float) for s, (_, y) in data.items()}
    weights, fit = {}, {}
    for s in data:
        weights[s] = fit_weights(feats[s], lat[s], prior)
    f_all = np.concatenate([feats[s] for s in data])
    y_all = np.concatenate([lat[s] for s in data])
    weights["default"] = (next(iter(weights.values())) if len(data) == 1
                          else fit_weights(f_all, y_all, prior))
    if len(data) == 1:
        weights = {"default": weights["default"]}
    prior_w = fit_weights(f_all, y_all, None, nonneg=True) if len(y_all) >= MIN_MEASUREMENTS_NO_PRIOR \
        else None
    for s in data:
        m = prediction_metrics(predict(feats[s], weights.get(s, weights["default"])), lat[s])
        fit[s] = {"n": int(len(lat[s])), **{k: round(v, 4) for k, v in m.items()}}
    return FittedPredictor(weights, prior_w, fit)
