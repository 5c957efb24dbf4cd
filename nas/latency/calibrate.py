"""Build a profile from measurements: ``fit`` (a CSV), ``calibrate`` (measure here, then fit)
and ``refit`` (a profile's own measurements again, after a predictor change).

All fit the predictor with the shipped profiles as prior (see :mod:`nas.latency.model`), copy
the measurements to ``<out dir>/data/<out file stem>.csv`` and write the profile YAML atomically; bad
input raises InputError before anything is written.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nas.errors import InputError
from nas.latency.features import Hardware
from nas.latency.fit import fit_predictor, prior_from_profiles, space_prior_from_profiles
from nas.latency.measurements import read_measurements, write_measurements
from nas.latency.model import MIN_MEASUREMENTS
from nas.latency.profile import MeasurementRef, Profile
from nas.latency.profile_io import MAX_ABS, PROFILE_DIR, check_profile_out, load_profile, save_profile

# assumed when a device's peak rate / bandwidth are not given (one modern CPU core)
DEFAULT_PEAK_GFLOPS = 80.0
DEFAULT_BANDWIDTH_GBS = 12.0


def _check_name(name: str) -> None:
    if not name or not all(c.isalnum() or c in "_-." for c in name):
        raise InputError(f"profile name {name!r} must be letters, digits, '_', '-' or '.'")


def build_profile(name: str, space: str, archs, latency_ms, out, *, device: str, runtime: str,
                  source: str, batch_size: int = 1, peak_gflops: float | None = None,
                  bandwidth_gbs: float | None = None, memory_gb: float | None = None,
                  extra: dict | None = None):
    """Fit and save a profile measured on one space; returns the saved Profile."""
    _check_name(name)
    out = Path(out)
    check_profile_out(out)
    if len(archs) < MIN_MEASUREMENTS:
        raise InputError(f"{len(archs)} measurements are too few: the latency model needs at least "
                         f"{MIN_MEASUREMENTS}")
    for k, v in (("batch size", batch_size), ("peak GFLOP/s", peak_gflops),
                 ("bandwidth GB/s", bandwidth_gbs), ("memory GB", memory_gb)):
        if v is not None and not (math.isfinite(v) and 0 < v <= MAX_ABS):
            raise InputError(f"{k} must be a positive finite number (at most {MAX_ABS:g}), got {v}")
    hw = Hardware(batch_size, peak_gflops or DEFAULT_PEAK_GFLOPS, bandwidth_gbs or DEFAULT_BANDWIDTH_GBS)
    fitted = fit_predictor({space: (list(archs), np.asarray(latency_ms, float))}, hw,
                           prior_from_profiles(exclude=(name,)), space_prior_from_profiles(exclude=(name,)))
    extra = dict(extra or {})
    if peak_gflops is None or bandwidth_gbs is None:
        extra.setdefault("notes", f"peak rate / bandwidth not given: the predictor assumes "
                                  f"{hw.peak_gflops} GFLOP/s and {hw.bandwidth_gbs} GB/s")
    extra["fit"] = fitted.fit
    # named after the profile file, so no other profile's measurements in that folder are touched
    csv = write_measurements(out.parent / "data" / f"{out.stem}.csv", archs, latency_ms)
    prof = Profile(name, device, runtime, batch_size, source, (space,),
                   (MeasurementRef(space, csv.resolve()),), hw, fitted.weights, peak_gflops,
                   bandwidth_gbs, memory_gb, fitted.prior_weights, extra,
                   space_models=fitted.space_models, outside_weights=fitted.outside_weights)
    save_profile(prof, out)
    return prof


def sample_distinct(space, n: int, seed: int) -> list:
    """``n`` distinct canonical architectures of ``space`` drawn with ``jax.random.key(seed)``."""
    import jax

    out, seen, k = [], set(), 0
    while len(out) < n and k < 50:
        for a in space.sample(jax.random.fold_in(jax.random.key(seed), k), n):
            c = space.canonical(a)
            if c not in seen:
                seen.add(c)
                out.append(c)
                if len(out) == n:
                    break
        k += 1
    return out


def refit_profile(name_or_path, out=None):
    """Re-fit a profile's predictor from its own measurement files (e.g. after a predictor
    change), keeping its metadata; saves it to ``out`` (default: over the profile's own file)
    and returns it."""
    out = check_profile_out(out) if out else None
    prof = load_profile(name_or_path)
    if out is None and prof.path is not None and prof.path.parent == PROFILE_DIR.resolve():
        raise InputError(f"profile {prof.name!r} is shipped with jaxnas and read-only ({prof.path}); "
                         f"give --out PROFILE.yaml for the re-fitted copy")
    if prof.lut is not None:
        raise InputError(f"profile {prof.name!r} ({prof.path}) is a latency lookup table: it has no fit to redo "
                         "(make it again with nas profile from-lut)")
    data = {}
    for ref in prof.measurements:
        archs, y = read_measurements(ref.csv, ref.space, ref.column)
        prev = data.get(ref.space, ([], np.zeros(0)))
        data[ref.space] = (prev[0] + archs, np.concatenate([prev[1], y]))
    fitted = fit_predictor(data, prof.hardware, prior_from_profiles(exclude=(prof.name,)),
                           space_prior_from_profiles(exclude=(prof.name,)))
    prof.weights, prof.prior_weights = fitted.weights, fitted.prior_weights
    prof.space_models, prof.outside_weights = fitted.space_models, fitted.outside_weights
    prof.extra["fit"] = fitted.fit
    save_profile(prof, out or prof.path)
    return prof
