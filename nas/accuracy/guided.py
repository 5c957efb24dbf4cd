"""Predictor-guided search (``search.accuracy: predictor``): the screener NSGA-II's pre-screening
calls (:func:`nas.search.nsga2`, ``screener=``).

Each generation NSGA-II makes ``prescreen_factor x population`` candidate children; the screener
fits an accuracy predictor on every architecture evaluated so far (the real, expensive accuracy:
supernet scores, or whatever the search's accuracy is), predicts the candidates' accuracy, and
computes everything else (latency on the profile, FLOPs, memory, the budgets' violations) exactly
with the cheap evaluator, since those cost nothing. Only the ``population`` candidates that rank
best on those values get a real evaluation, so the search's budget counts real evaluations.

The predictor is refitted every generation on at most ``max_rows`` rows (the most recent: the
region the population is in now). Its family is the Gaussian process by default (the most
accurate on Once-for-All-labelled subnets at 50 to 500 rows, docs/benchmarks/search.md). Its
kernel settings are chosen on the first ``T`` rows, ``T`` the largest of 16, 24, 36, ... (x 1.5)
not above the rows there are, and kept until the next such ``T``: a pure function of the rows, so
a resumed search screens exactly as the uninterrupted one.
"""
from __future__ import annotations

import numpy as np

from nas.accuracy.features import features
from nas.accuracy.models import FIT, PREDICT
from nas.search.objectives import ObjectiveSpec

MAX_ROWS = 1000  # a Gaussian process refit costs O(rows^3): the most recent rows are the relevant ones


def choice_rows(n: int) -> int:
    """The largest of 16, 24, 36, 54, ... (each 1.5 x the last, rounded up) that is at most ``n``."""
    t = 16
    while int(np.ceil(t * 1.5)) <= n:
        t = int(np.ceil(t * 1.5))
    return t


class GuidedScreener:
    """``screener(archive_archs, archive_F, archive_cv, candidates) -> (F, cv)`` for NSGA-II.

    ``cheap(archs) -> list[dict]`` gives every value but accuracy; ``spec`` the search's
    objectives and budgets (accuracy among the objectives)."""

    def __init__(self, space, spec: ObjectiveSpec, cheap, *, model: str = "gp", max_rows: int = MAX_ROWS,
                 seed: int = 0):
        if "accuracy" not in spec.names:
            raise ValueError("predictor-guided search needs accuracy among the objectives")
        self.space, self.spec, self.cheap = space, spec, cheap
        self.model, self.max_rows, self.seed = model, max_rows, seed
        self.col = spec.names.index("accuracy")
        self.grids: dict[int, list] = {}  # choice_rows -> the kernel settings chosen on that many rows
        self.rows: dict = {}  # arch -> its feature row: the archive only grows, each row is computed once

    def _rows(self, archs, F, end: int):
        """Features and accuracies of the (at most ``max_rows``) evaluations before ``end``."""
        lo = max(0, end - self.max_rows)
        y = -np.asarray(F, np.float64)[lo:end, self.col]  # accuracy (maximised: stored negated)
        window = list(archs[lo:end])
        new = [a for a in dict.fromkeys(window) if a not in self.rows]
        if new:
            self.rows.update(zip(new, features("onehot_macs_v1", self.space, new)))
        return np.stack([self.rows[a] for a in window]), y

    def __call__(self, archive_archs, archive_F, archive_cv, candidates):
        archive_archs, n = list(archive_archs), len(archive_F)
        X, y = self._rows(archive_archs, archive_F, n)
        if self.model == "gp" and n >= 16:
            t = choice_rows(n)
            if t not in self.grids:
                choice = FIT["gp"](*self._rows(archive_archs, archive_F, t), self.seed)["choice"]
                self.grids[t] = [tuple(float(v) for v in choice)]
            params = FIT["gp"](X, y, self.seed, grid=self.grids[t])
            model = "gp"
        else:
            model = "ridge" if self.model == "gp" else self.model
            params = FIT[model](X, y, self.seed + n)
        acc, _ = PREDICT[model](params, features("onehot_macs_v1", self.space, list(candidates)))
        records = self.cheap(list(candidates))
        for r, a in zip(records, acc):
            r["accuracy"] = float(a)
        return self.spec.matrix(records), self.spec.violations(records)
