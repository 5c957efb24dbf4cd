"""Predicted latency on a hardware profile: ``latency_ms`` per architecture.

Works with any object that has ``predict_ms(archs) -> np.ndarray [n]`` in milliseconds (a
:class:`nas.latency.profile.Profile`); ``from_profile_name`` loads one by name or YAML path.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from search_spaces import Arch


class PredictedLatencyEvaluator:
    provides = ("latency_ms",)

    def __init__(self, profile):
        self.profile = profile

    @classmethod
    def from_profile_name(cls, name_or_path: str) -> PredictedLatencyEvaluator:
        from nas.latency.profile_io import load_profile

        return cls(load_profile(name_or_path))

    def evaluate(self, archs: Sequence[Arch]) -> list[dict]:
        if not archs:
            return []
        ms = np.asarray(self.profile.predict_ms(list(archs)), dtype=np.float64).reshape(-1)
        if ms.shape[0] != len(archs):
            raise RuntimeError(f"profile predicted {ms.shape[0]} latencies for {len(archs)} archs")
        return [{"latency_ms": float(v)} for v in ms]
