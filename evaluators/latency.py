"""Predicted latency on a hardware profile: ``latency_ms`` per architecture.

Works with any object that has ``predict_ms(archs) -> np.ndarray [n]`` in milliseconds (a
:class:`nas.latency.Profile`, loaded by the pipeline with ``nas.latency.load_profile`` and handed in).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nas.search_spaces import Arch


class PredictedLatencyEvaluator:
    provides = ("latency_ms",)

    def __init__(self, profile):
        self.profile = profile

    def evaluate(self, archs: Sequence[Arch]) -> list[dict]:
        if not archs:
            return []
        ms = np.asarray(self.profile.predict_ms(list(archs)), dtype=np.float64).reshape(-1)
        if ms.shape[0] != len(archs):
            raise RuntimeError(f"profile predicted {ms.shape[0]} latencies for {len(archs)} archs")
        return [{"latency_ms": float(v)} for v in ms]
