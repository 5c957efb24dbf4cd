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
accurate on Once-for-All-labelled subnets at 50 to 500 rows, docs/benchmarks/search.md); its
kernel settings are chosen again only when the rows have grown by half since the last choice.
"""
from __future__ import annotations

import numpy as np

from nas.accuracy.features import features
from nas.accuracy.models import FIT, PREDICT
from nas.search.objectives import ObjectiveSpec

MAX_ROWS = 1000  # a Gaussian process refit costs O(rows^3): the most recent rows are the relevant ones


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
        self.fits, self.grid, self.grid_rows = 0, None, 0

    def __call__(self, archive_archs, archive_F, archive_cv, candidates):
        archive_archs = list(archive_archs)[-self.max_rows:]
        y = -np.asarray(archive_F, np.float64)[-self.max_rows:, self.col]  # accuracy (maximised: stored negated)
        X = features("onehot_macs_v1", self.space, archive_archs)
        if self.model == "gp":
            if self.grid is None or len(y) >= 1.5 * self.grid_rows:
                self.grid, self.grid_rows = None, len(y)
            params = FIT["gp"](X, y, self.seed, grid=self.grid)
            self.grid = [tuple(float(v) for v in params["choice"])]
        else:
            params = FIT[self.model](X, y, self.seed + self.fits)
        self.fits += 1
        acc, _ = PREDICT[self.model](params, features("onehot_macs_v1", self.space, list(candidates)))
        records = self.cheap(list(candidates))
        for r, a in zip(records, acc):
            r["accuracy"] = float(a)
        return self.spec.matrix(records), self.spec.violations(records)
