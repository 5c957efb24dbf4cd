"""Latency prediction: physics features of op lists, a linear model calibrated per profile,
measurement CSVs, and measurement on this machine (XLA, ONNX Runtime)."""
from nas.latency.features import FEATURE_NAMES, Hardware, arch_features, flops
from nas.latency.fit import FittedPredictor, fit_predictor, prior_from_profiles
from nas.latency.measurements import read_measurements, write_measurements
from nas.latency.metrics import prediction_metrics
from nas.latency.model import MIN_MEASUREMENTS, fit_flops_baseline, fit_weights, predict

__all__ = [
    "FEATURE_NAMES", "FittedPredictor", "Hardware", "MIN_MEASUREMENTS", "arch_features",
    "fit_flops_baseline", "fit_predictor", "fit_weights", "flops", "predict",
    "prediction_metrics", "prior_from_profiles", "read_measurements", "write_measurements",
]
