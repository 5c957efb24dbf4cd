"""Cheap, fixed stand-in objectives for tests and benchmarks of the search algorithms.

Nothing here is measured or trained; the values only have the *shape* of a real NAS problem:

* ``accuracy`` = 0.60 + 0.35 * (1 - exp(-3 u)) + 0.015 * (w . onehot(genes)) / sqrt(G), where
  ``u`` in [0, 1] is log(MACs) scaled between the space's smallest and largest network, and
  ``w`` ~ N(0, 1) is a fixed per-(gene, value) effect drawn from ``seed`` over the canonical
  genes (G of them). Accuracy saturates with compute and some choices are better than others
  at equal cost, so the front is not simply "sort by MACs".
* ``latency_ms`` = sum over ops of a roofline time ``max(2 MACs / 20 GFLOP/s,
  bytes / 10 GB/s)`` + 0.01 ms per op: a plausible mobile-CPU latency from the layer list.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nas.search_spaces import Arch, SearchSpace, arch_stats

PEAK_FLOPS_PER_MS = 20e9 / 1e3
BYTES_PER_MS = 10e9 / 1e3
OVERHEAD_MS = 0.01


def roofline_latency_ms(space: SearchSpace, arch: Arch) -> float:
    total = 0.0
    for op in space.layers(arch):
        moved = op.in_bytes + op.h_out * op.w_out * op.c_out * 4 + 4 * op.params
        total += max(2 * op.macs / PEAK_FLOPS_PER_MS, moved / BYTES_PER_MS) + OVERHEAD_MS
    return total


class SurrogateEvaluator:
    """Stand-in ``accuracy`` and ``latency_ms`` (see module doc); deterministic in ``seed``."""

    provides = ("accuracy", "latency_ms")

    def __init__(self, space: SearchSpace, seed: int = 0):
        self.space = space
        self.weights = np.random.default_rng(seed).normal(size=(space.num_genes, int(space.cardinalities.max())))
        lo, hi = arch_stats(space.smallest()).macs, arch_stats(space.largest()).macs
        self.log_lo, self.log_span = np.log(lo), max(np.log(hi) - np.log(lo), 1e-9)

    def accuracy(self, arch: Arch) -> float:
        u = np.clip((np.log(arch_stats(arch).macs) - self.log_lo) / self.log_span, 0.0, 1.0)
        idx = self.space.to_indices(self.space.canonical(arch))
        effect = self.weights[np.arange(len(idx)), idx].sum() / np.sqrt(len(idx))
        return float(0.60 + 0.35 * (1.0 - np.exp(-3.0 * u)) + 0.015 * effect)

    def evaluate(self, archs: Sequence[Arch]) -> list[dict]:
        return [{"accuracy": self.accuracy(a), "latency_ms": roofline_latency_ms(self.space, a)}
                for a in archs]
