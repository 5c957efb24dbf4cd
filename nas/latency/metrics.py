"""Accuracy of latency predictions: rank correlation and relative error."""
from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau, spearmanr


def prediction_metrics(predicted_ms, measured_ms) -> dict[str, float]:
    """``{"spearman", "kendall", "mape", "within_10pct"}`` of predictions against measurements.

    ``mape`` is the mean of ``|pred / meas - 1|`` (a fraction, not percent); ``within_10pct``
    the share of predictions within +-10% of the measurement.
    """
    p = np.asarray(predicted_ms, float)
    m = np.asarray(measured_ms, float)
    rel = np.abs(p / m - 1.0)
    return {
        "spearman": float(spearmanr(p, m)[0]),
        "kendall": float(kendalltau(p, m)[0]),
        "mape": float(rel.mean()),
        "within_10pct": float((rel <= 0.10).mean()),
    }
