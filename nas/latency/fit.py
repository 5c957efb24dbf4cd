"""Fit a profile's predictor from measurements, with shipped profiles as the prior.

``fit_predictor`` returns the weight vectors a profile stores: one per measured space, a
``default`` fitted on all spaces together (used for spaces never measured), and, when there
are enough measurements, a non-negative ``prior_weights`` fit that other profiles may use as a
prior; with fewer measurements than that, ``outside_weights``: the same non-negative fit with
the prior (what predicts networks outside the measured spaces). For spaces with an encoding
(:mod:`nas.latency.encodings`) it also returns a log-linear
:class:`~nas.latency.transfer.SpaceModel`: a direct fit when there are ``DIRECT_MIN`` or more
measurements, else a transfer fit from the other profiles' direct space models
(:func:`space_prior_from_profiles`) mixed with the physics prediction.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nas.latency.encodings import enc_dim, transfer_features
from nas.latency.features import Hardware, arch_features
from nas.latency.metrics import prediction_metrics
from nas.latency.model import MIN_MEASUREMENTS_NO_PRIOR, fit_weights, predict
from nas.latency.transfer import DIRECT_MIN, SpaceModel, cv_log_physics, fit_direct, fit_transfer


@dataclass
class FittedPredictor:
    weights: dict[str, np.ndarray]
    prior_weights: np.ndarray | None
    fit: dict[str, dict]  # per space: n and in-sample metrics
    space_models: dict[str, SpaceModel] = field(default_factory=dict)
    outside_weights: np.ndarray | None = None  # when prior_weights is None (too few points)


def prior_from_profiles(exclude: tuple[str, ...] = ()) -> np.ndarray:
    """``[k, d]`` prior: the non-negative fits of the shipped profiles not named in ``exclude``
    (None when there are none)."""
    from nas.latency.profile_io import list_profiles, load_profile

    rows = []
    for name in list_profiles():
        if name in exclude:
            continue
        prof = load_profile(name)
        if prof.prior_weights is not None:
            rows.append(prof.prior_weights)
    return np.stack(rows) if rows else None


def space_prior_from_profiles(exclude: tuple[str, ...] = ()) -> dict[str, list[SpaceModel]]:
    """``{space: [direct SpaceModel, ...]}`` of the shipped profiles not named in ``exclude``."""
    from nas.latency.profile_io import list_profiles, load_profile

    out: dict[str, list[SpaceModel]] = {}
    for name in list_profiles():
        if name in exclude:
            continue
        for space, m in load_profile(name).space_models.items():
            if m.kind == "direct":
                out.setdefault(space, []).append(m)
    return out


def fit_space_model(archs, latency_ms, f: np.ndarray, physics_prior: np.ndarray | None,
                    sources: list[SpaceModel] | None) -> SpaceModel | None:
    """The SpaceModel of one space's measurements (``f``: their physics features on the device),
    or None when the space has no encoding or there are neither enough points nor sources."""
    if not archs or enc_dim(archs[0].space) is None:
        return None
    y = np.asarray(latency_ms, float)
    if len(y) >= DIRECT_MIN:
        return fit_direct(transfer_features(archs), y)
    if not sources:
        return None
    return fit_transfer(transfer_features(archs), y, sources, cv_log_physics(f, y, physics_prior))


def fit_predictor(data: dict, hw: Hardware, prior: np.ndarray | None,
                  space_prior: dict[str, list[SpaceModel]] | None = None) -> FittedPredictor:
    """Fit weights to ``data``: ``{space: (archs, latency_ms)}`` measured on ``hw``.

    With a prior, ``MIN_MEASUREMENTS`` per space suffice; without, ``MIN_MEASUREMENTS_NO_PRIOR``
    (InputError otherwise). ``space_prior`` (e.g. :func:`space_prior_from_profiles`) enables
    transfer space models for encodable spaces with fewer than ``DIRECT_MIN`` measurements.
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
    outside_w = fit_weights(f_all, y_all, prior, nonneg=True) if prior_w is None and prior is not None else None
    space_models = {}
    for s, (archs, _) in data.items():
        sm = fit_space_model(list(archs), lat[s], feats[s], prior, (space_prior or {}).get(s))
        if sm is not None:
            space_models[s] = sm
    for s, (archs, _) in data.items():
        pred = predict(feats[s], weights.get(s, weights["default"]))
        if s in space_models:
            pred = space_models[s].predict_ms(transfer_features(list(archs)), pred)
        m = prediction_metrics(pred, lat[s])
        fit[s] = {"n": int(len(lat[s])), **{k: round(v, 4) for k, v in m.items()}}
    return FittedPredictor(weights, prior_w, fit, space_models, outside_w)
