"""Latency prediction, in one package: physics features of op lists, a linear model calibrated
per profile, log-linear space models, hardware profiles (:class:`Profile`, their YAML files and
the shipped ones in the data package ``hardware_profiles``), measurement CSVs, and measurement
on this machine (XLA, ONNX Runtime)."""
from nas.latency.encodings import transfer_features
from nas.latency.features import FEATURE_NAMES, Hardware, arch_features, flops
from nas.latency.fit import (
                            FittedPredictor,
                            fit_predictor,
                            fit_space_model,
                            prior_from_profiles,
                            space_prior_from_profiles,
)
from nas.latency.measurements import read_measurements, write_measurements
from nas.latency.metrics import prediction_metrics
from nas.latency.model import MIN_MEASUREMENTS, fit_flops_baseline, fit_weights, predict
from nas.latency.profile import MeasurementRef, Profile
from nas.latency.profile_io import list_profiles, load_profile, save_profile
from nas.latency.transfer import SpaceModel

__all__ = [
    "FEATURE_NAMES", "FittedPredictor", "Hardware", "MIN_MEASUREMENTS", "MeasurementRef", "Profile",
    "SpaceModel", "arch_features", "fit_flops_baseline", "fit_predictor", "fit_space_model", "fit_weights",
    "flops", "list_profiles", "load_profile", "predict", "prediction_metrics", "prior_from_profiles",
    "read_measurements", "save_profile", "space_prior_from_profiles", "transfer_features", "write_measurements",
]
