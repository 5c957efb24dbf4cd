"""Supernet accuracy of subnets: top-1 on the validation split with inherited weights.

The evaluator scores with the function the pipeline hands it, as big_vision hands ``predict_fn``
to its evaluators: ``score(arch) -> (correct, total)``, the top-1 hits and examples counted for
the subnet (for a supernet: BatchNorm recalibrated for that subnet, then its validation batches,
at the architecture's own resolution; :class:`nas.train.SupernetScoring` builds it). The
evaluator knows nothing of training or data: it turns counts into ``{"accuracy": correct /
total}`` per architecture. A scoring function is deterministic, so the values can be cached.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from nas.search_spaces import Arch

Score = Callable[[Arch], tuple]  # arch -> (correct, total), numbers of examples


class SupernetAccuracyEvaluator:
    """``{"accuracy": top-1 in [0, 1]}`` per architecture from ``score`` (see module doc)."""

    provides = ("accuracy",)

    def __init__(self, score: Score):
        self.score = score

    def accuracy(self, arch: Arch) -> float:
        correct, total = self.score(arch)
        return float(correct) / max(float(total), 1.0)

    def evaluate(self, archs: Sequence[Arch]) -> list[dict]:
        return [{"accuracy": self.accuracy(a)} for a in archs]


class PredictorAccuracyEvaluator:
    """``{"accuracy": predicted top-1 in [0, 1]}`` per architecture from an accuracy predictor
    (anything with ``predict(archs) -> (mean, std or None)``, e.g. :class:`nas.accuracy.AccuracyPredictor`;
    ``search.accuracy`` set to a predictor file), plus ``accuracy_std`` when it has an uncertainty."""

    provides = ("accuracy",)

    def __init__(self, predictor):
        self.predictor = predictor

    def evaluate(self, archs: Sequence[Arch]) -> list[dict]:
        mean, std = self.predictor.predict(list(archs))
        return [{"accuracy": float(m), **({"accuracy_std": float(s)} if std is not None else {})}
                for m, s in zip(mean, std if std is not None else [None] * len(mean))]

    def close(self) -> None:
        pass
