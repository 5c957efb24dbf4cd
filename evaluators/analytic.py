"""Analytic costs from the layer list: ``macs``, ``flops``, ``params``, ``peak_activation_bytes``
(definitions in :mod:`nas.search_spaces.cost`)."""
from __future__ import annotations

from collections.abc import Sequence

from nas.search_spaces import Arch, arch_stats

COST_KEYS = ("macs", "flops", "params", "peak_activation_bytes")


class AnalyticCostEvaluator:
    provides = COST_KEYS

    def evaluate(self, archs: Sequence[Arch]) -> list[dict]:
        return [{k: float(v) for k, v in arch_stats(a).to_dict().items()} for a in archs]
