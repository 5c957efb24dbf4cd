"""Latency prediction, in one package: physics features of op lists, a linear model calibrated
per profile, log-linear space models, hardware profiles (:class:`Profile`, their YAML files and
the shipped ones in the data package ``nas.hardware_profiles``), measurement CSVs, and measurement
on this machine (XLA, ONNX Runtime).

The names below load their module on first use, so that importing one submodule (the CLI
reads ``nas.latency.measure.RUNTIMES`` to build its parser) does not import SciPy.
"""
from __future__ import annotations

import importlib

_HOME = {
    "transfer_features": "encodings",
    **dict.fromkeys(("FEATURE_NAMES", "Hardware", "arch_features", "flops"), "features"),
    **dict.fromkeys(("FittedPredictor", "fit_predictor", "fit_space_model", "prior_from_profiles",
                     "space_prior_from_profiles"), "fit"),
    **dict.fromkeys(("read_measurements", "write_measurements"), "measurements"),
    "prediction_metrics": "metrics",
    **dict.fromkeys(("MIN_MEASUREMENTS", "fit_flops_baseline", "fit_weights", "predict"), "model"),
    **dict.fromkeys(("MeasurementRef", "Profile"), "profile"),
    **dict.fromkeys(("check_profiles", "list_profiles", "load_profile", "load_profiles", "profile_of", "save_profile"),
                    "profile_io"),
    "SpaceModel": "transfer",
}
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(f"nas.latency.{_HOME[name]}"), name)
    raise AttributeError(f"module 'nas.latency' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_HOME))
