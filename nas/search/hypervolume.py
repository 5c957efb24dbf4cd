"""Hypervolume of a point set in minimisation form with respect to a reference point.

The hypervolume is the Lebesgue measure of the union of boxes ``[p, ref]`` over the points
``p`` that are strictly better than ``ref`` in every objective (other points add nothing).

* 1-D and 2-D: exact sweep, O(n log n).
* d >= 3: exact dimension sweep (HSO, "hypervolume by slicing objectives"): sort by the last
  objective, and add, for every slice between consecutive values, the slice thickness times the
  (d-1)-dimensional hypervolume of the points at or below it. O(n^(d-1) log n); exact and fast
  enough for the fronts of a NAS run (hundreds of points, 2-4 objectives).
"""
from __future__ import annotations

import numpy as np

from nas.search.pareto import pareto_mask


def _hv2(P: np.ndarray, ref: np.ndarray) -> float:
    order = np.lexsort((P[:, 1], P[:, 0]))
    P = P[order]
    best_y = np.minimum.accumulate(P[:, 1])
    # each point adds the strip between its x and the next distinct x, at height ref_y - best_y
    x_next = np.append(P[1:, 0], ref[0])
    return float(np.sum((x_next - P[:, 0]) * (ref[1] - best_y)))


def _hv(P: np.ndarray, ref: np.ndarray) -> float:
    d = P.shape[1]
    if len(P) == 0:
        return 0.0
    if d == 1:
        return float(ref[0] - P[:, 0].min())
    if d == 2:
        return _hv2(P, ref)
    P = P[np.argsort(P[:, -1], kind="stable")]
    z = np.append(P[:, -1], ref[-1])
    total = 0.0
    for i in range(len(P)):
        thick = z[i + 1] - z[i]
        if thick <= 0:
            continue
        S = P[: i + 1, :-1]
        S = S[pareto_mask(S)] if len(S) > 1 else S
        total += thick * _hv(S, ref[:-1])
    return total


def hypervolume(F, ref) -> float:
    """Exact hypervolume of points ``F`` ``[n, m]`` (minimisation) w.r.t. ``ref`` ``[m]``.

    Raises ValueError when shapes disagree. Points not strictly better than ``ref`` in every
    objective are ignored; an empty set has hypervolume 0.
    """
    F = np.asarray(F, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    if F.size == 0:
        return 0.0
    if F.ndim != 2 or F.shape[1] != ref.shape[0]:
        raise ValueError(f"points {F.shape} and reference point {ref.shape} disagree")
    F = F[np.all(F < ref, axis=1)]
    if len(F) == 0:
        return 0.0
    F = np.unique(F[pareto_mask(F)], axis=0)
    return _hv(F, ref)
