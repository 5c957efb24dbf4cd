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

For a space without a space model (no encoding, e.g. ``fashion_mnist``), the weights are
chosen by cross-validation on the measurements (:func:`choose_by_cv`): the physics fit, a
FLOPs-linear fit (``a + b * FLOPs``, written in the same features) or a blend of the two,
whichever ranks held-out measurements best. With few noisy points on a device where latency is
nearly linear in FLOPs, the ~30 physics features overfit the noise; with many points, or where
the physics matters, the physics fit wins its own cross-validation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nas.errors import InputError
from nas.latency.encodings import enc_dim, transfer_features
from nas.latency.features import FEATURE_NAMES, Hardware, arch_features
from nas.latency.metrics import prediction_metrics
from nas.latency.model import MIN_MEASUREMENTS_NO_PRIOR, fit_weights, predict
from nas.latency.transfer import CV_FOLDS, DIRECT_MIN, SpaceModel, cv_log_physics, fit_direct, fit_transfer


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


CV_MIN = 8  # fewer measurements: the physics fit, unvalidated
BLENDS = (1.0, 0.75, 0.5, 0.25, 0.0)  # weight of the physics fit (1: physics, 0: FLOPs-linear)
DEFAULT_SHARE = 0.5  # kept unless another blend's CV Spearman is CV_MARGIN higher
CV_MARGIN = 0.01
_CONST = FEATURE_NAMES.index("const")
_COMPUTE = [i for i, n in enumerate(FEATURE_NAMES) if n.startswith("compute_")]


def fit_flops_linear(features: np.ndarray, latency_ms: np.ndarray) -> np.ndarray:
    """Weights ``[d]`` of ``latency = a + c * Σ compute times`` (i.e. linear in FLOPs on one
    device), fitted on the relative error with ``a, c >= 0``."""
    from scipy.optimize import nnls

    f = np.asarray(features, float)
    y = np.asarray(latency_ms, float)
    x = np.stack([f[:, _CONST], f[:, _COMPUTE].sum(axis=1)], axis=1)
    scale = np.abs(x).mean(axis=0) + 1e-12
    z, _ = nnls(x / scale / y[:, None], np.ones(len(y)))
    w = np.zeros(f.shape[1])
    w[_CONST] = z[0] / scale[0]
    w[_COMPUTE] = z[1] / scale[1]
    return w


def _candidates(f, y, prior) -> list[np.ndarray]:
    phys, lin = fit_weights(f, y, prior), fit_flops_linear(f, y)
    return [lam * phys + (1 - lam) * lin for lam in BLENDS]


def choose_by_cv(f: np.ndarray, latency_ms: np.ndarray, prior: np.ndarray | None) -> tuple[np.ndarray, dict]:
    """``(weights, info)``: a candidate of :data:`BLENDS` (physics fit blended with the
    FLOPs-linear fit), refitted on all points: the even blend ``DEFAULT_SHARE`` unless another
    candidate's out-of-fold predictions (leave-one-out up to 30 points, else ``CV_FOLDS``
    folds) rank the measurements better by at least ``CV_MARGIN`` Spearman (then the best;
    ties: lower mean |log error|, then more physics). ``info``: the chosen physics share and each
    candidate's cross-validated Spearman. Fewer than ``CV_MIN`` points: the physics fit."""
    from scipy.stats import spearmanr

    y = np.asarray(latency_ms, float)
    n = len(y)
    if n < CV_MIN:
        return fit_weights(f, y, prior), {"physics_share": 1.0, "cv": "too few points"}
    k = n if n <= 30 else CV_FOLDS
    oof = np.empty((len(BLENDS), n))
    for j in range(k):
        test = np.arange(j, n, k)
        train = np.setdiff1d(np.arange(n), test)
        try:
            cands = _candidates(f[train], y[train], prior)
        except InputError:  # a fold too small for the physics model: keep it
            return fit_weights(f, y, prior), {"physics_share": 1.0, "cv": "folds too small"}
        for c, w in enumerate(cands):
            oof[c, test] = predict(f[test], w)
    rho = [float(np.nan_to_num(spearmanr(o, y).statistic, nan=-1.0)) for o in oof]
    err = [float(np.mean(np.abs(np.log(o / y)))) for o in oof]
    # the even blend (an average of two different predictors) unless cross-validation clearly
    # prefers another: with ~20 noisy points, CV differences below CV_MARGIN are noise
    start = BLENDS.index(DEFAULT_SHARE)
    best = max(range(len(BLENDS)), key=lambda c: (round(rho[c], 3), -round(err[c], 4), BLENDS[c]))
    if rho[best] < rho[start] + CV_MARGIN:
        best = start
    info = {"physics_share": BLENDS[best], "cv_folds": int(k),
            "cv_spearman": {f"{lam:g}": round(r, 4) for lam, r in zip(BLENDS, rho)}}
    return _candidates(f, y, prior)[best], info


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
    space_models, chosen = {}, {}
    for s, (archs, _) in data.items():
        sm = fit_space_model(list(archs), lat[s], feats[s], prior, (space_prior or {}).get(s))
        if sm is not None:
            space_models[s] = sm
        else:  # physics vs FLOPs-linear, chosen on held-out measurements
            w, chosen[s] = choose_by_cv(feats[s], lat[s], prior)
            weights["default" if len(data) == 1 else s] = w
    for s, (archs, _) in data.items():
        pred = predict(feats[s], weights.get(s, weights["default"]))
        if s in space_models:
            pred = space_models[s].predict_ms(transfer_features(list(archs)), pred)
        m = prediction_metrics(pred, lat[s])
        fit[s] = {"n": int(len(lat[s])), **{k: round(v, 4) for k, v in m.items()},
                  **({"selection": chosen[s]} if s in chosen else {})}
    return FittedPredictor(weights, prior_w, fit, space_models, outside_w)
