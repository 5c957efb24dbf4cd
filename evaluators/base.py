"""The evaluator contract and the composite that merges several evaluators.

An evaluator turns architectures into objective values::

    evaluator.evaluate(archs: list[Arch]) -> list[dict[str, float]]   # same order, same length

``provides`` names the keys each record carries. Evaluators are deterministic: the same
architecture always gets the same values, so cached and fresh results are interchangeable.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from nas.search_spaces import Arch


@runtime_checkable
class Evaluator(Protocol):
    provides: tuple[str, ...]

    def evaluate(self, archs: Sequence[Arch]) -> list[dict]:
        ...


class CompositeEvaluator:
    """Runs every part on the same architectures and merges their records (later parts win
    on a shared key)."""

    def __init__(self, parts: Sequence[Evaluator]):
        if not parts:
            raise ValueError("CompositeEvaluator needs at least one part")
        self.parts = tuple(parts)
        self.provides = tuple(dict.fromkeys(k for p in self.parts for k in p.provides))

    def evaluate(self, archs: Sequence[Arch]) -> list[dict]:
        archs = list(archs)
        out = [dict() for _ in archs]
        for part in self.parts:
            recs = part.evaluate(archs)
            if len(recs) != len(archs):
                raise RuntimeError(f"{type(part).__name__} returned {len(recs)} records for {len(archs)} archs")
            for o, r in zip(out, recs):
                o.update(r)
        return out

    def close(self) -> None:
        for p in self.parts:
            getattr(p, "close", lambda: None)()
