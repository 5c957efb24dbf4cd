"""From evaluator records (dicts of named values) to the matrices the algorithms work on.

``accuracy`` is maximised; every other objective (``latency_ms``, ``flops``, ``macs``,
``params``, ``peak_activation_bytes``) is minimised. Internally everything is minimised:
the objective matrix holds ``-accuracy``.

Budgets are constraints ``value <= budget``. The total violation of a record is the sum over
budgets of the *relative* excess ``max(0, value / budget - 1)`` so budgets of different units
add up; 0 means feasible.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

MAXIMISED = frozenset({"accuracy"})


class ObjectiveSpec(NamedTuple):
    """Names of the objectives (in order) and the budgets ``{name: upper bound}``."""

    names: tuple[str, ...]
    budgets: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_config(cls, search_cfg) -> ObjectiveSpec:
        """Build from a :class:`nas.config.SearchConfig` (``objectives`` and ``budgets``)."""
        return cls(tuple(search_cfg.objectives),
                   tuple(sorted((k, float(v)) for k, v in search_cfg.budgets.items())))

    @property
    def required(self) -> tuple[str, ...]:
        """Every value an evaluator must produce: objectives, then budgeted quantities."""
        extra = [k for k, _ in self.budgets if k not in self.names]
        return self.names + tuple(extra)

    @property
    def signs(self) -> np.ndarray:
        """+1 for minimised, -1 for maximised objectives, shape ``[m]``."""
        return np.array([-1.0 if n in MAXIMISED else 1.0 for n in self.names])

    def _column(self, records, name) -> np.ndarray:
        try:
            return np.array([float(r[name]) for r in records], dtype=np.float64)
        except KeyError:
            raise KeyError(f"evaluator record lacks {name!r} (needed: {list(self.required)})") from None

    def matrix(self, records) -> np.ndarray:
        """Objective matrix ``[n, m]`` in minimisation form."""
        if not records:
            return np.zeros((0, len(self.names)))
        cols = [self._column(records, n) for n in self.names]
        return np.stack(cols, axis=1) * self.signs

    def violations(self, records) -> np.ndarray:
        """Total relative budget violation ``[n]`` (0 = feasible)."""
        cv = np.zeros(len(records))
        for name, bound in self.budgets:
            cv += np.maximum(0.0, self._column(records, name) / bound - 1.0)
        return cv
