"""Latency prediction: physics features of op lists, a linear model calibrated per profile,
measurement CSVs, and measurement on this machine (XLA, ONNX Runtime)."""
from nas.latency.features import FEATURE_NAMES, Hardware, arch_features, flops
from nas.latency.encodings import transfer_features
from nas.latency.fit import (FittedPredictor, fit_predictor, fit_space_model, prior_from_profiles,
                            space_prior_from_profiles)
from nas.latency.measurements import read_measurements, write_measurements
from nas.latency.metrics import prediction_metrics
from nas.latency.model import MIN_MEASUREMENTS, fit_flops_baseline, fit_weights, predict
from nas.latency.transfer import SpaceModel

__all__ = [
    "FEATURE_NAMES", "FittedPredictor", "Hardware", "MIN_MEASUREMENTS", "SpaceModel", "arch_features",
    "fit_flops_baseline", "fit_predictor", "fit_space_model", "fit_weights", "flops", "predict",
    "prediction_metrics", "prior_from_profiles", "read_measurements", "space_prior_from_profiles",
    "transfer_features", "write_measurements",
]
