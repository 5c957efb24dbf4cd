"""Pareto utilities over objective matrices in *minimisation* form.

Conventions: ``F`` is a float array ``[n, m]`` (n points, m objectives, smaller is better);
``cv`` is a float array ``[n]`` of total constraint violation (0 = feasible, larger = worse).

Constrained domination (Deb's rules): ``a`` dominates ``b`` when
  * ``a`` is feasible and ``b`` is not, or
  * both are infeasible and ``cv[a] < cv[b]``, or
  * both are feasible and ``a`` Pareto-dominates ``b`` (no worse everywhere, better somewhere).
"""
from __future__ import annotations

import numpy as np


def _as_matrix(F) -> np.ndarray:
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2:
        raise ValueError(f"objectives must be a 2-D array [n, m], got shape {F.shape}")
    return F


def dominance_matrix(F, cv=None) -> np.ndarray:
    """``D[i, j]`` is True when point i (constrained-)dominates point j. Shape ``[n, n]``."""
    F = _as_matrix(F)
    le = np.all(F[:, None, :] <= F[None, :, :], axis=-1)
    lt = np.any(F[:, None, :] < F[None, :, :], axis=-1)
    D = le & lt
    if cv is None:
        return D
    cv = np.asarray(cv, dtype=np.float64).reshape(-1)
    feas = cv <= 0
    both_feas = feas[:, None] & feas[None, :]
    feas_beats = feas[:, None] & ~feas[None, :]
    infeas_less = ~feas[:, None] & ~feas[None, :] & (cv[:, None] < cv[None, :])
    return (both_feas & D) | feas_beats | infeas_less


def non_dominated_sort(F, cv=None) -> list[np.ndarray]:
    """Fronts of (constrained-)non-dominated points: a list of index arrays, best front first.

    Every index appears in exactly one front; front k holds the points dominated only by points
    of fronts < k. O(n^2 m) time, fine for populations of a few thousand.
    """
    F = _as_matrix(F)
    n = len(F)
    if n == 0:
        return []
    D = dominance_matrix(F, cv)
    count = D.sum(axis=0)  # how many points dominate j
    fronts, assigned = [], np.zeros(n, dtype=bool)
    current = np.flatnonzero(count == 0)
    while len(current):
        fronts.append(current)
        assigned[current] = True
        count = count - D[current].sum(axis=0)
        current = np.flatnonzero((count == 0) & ~assigned)
    return fronts


def front_ranks(F, cv=None) -> np.ndarray:
    """Rank (0 = best front) of every point, shape ``[n]`` int."""
    F = _as_matrix(F)
    ranks = np.zeros(len(F), dtype=np.int64)
    for k, idx in enumerate(non_dominated_sort(F, cv)):
        ranks[idx] = k
    return ranks


def pareto_mask(F, cv=None) -> np.ndarray:
    """Boolean ``[n]``: the non-dominated points; with ``cv``, only feasible ones qualify."""
    F = _as_matrix(F)
    mask = np.zeros(len(F), dtype=bool)
    if len(F) == 0:
        return mask
    if cv is not None:
        feas = np.asarray(cv, dtype=np.float64).reshape(-1) <= 0
        idx = np.flatnonzero(feas)
        mask[idx[~dominance_matrix(F[idx]).any(axis=0)]] = True
        return mask
    return ~dominance_matrix(F).any(axis=0)


def crowding_distance(F) -> np.ndarray:
    """NSGA-II crowding distance of the points of one front, shape ``[n]``.

    Boundary points of every objective get ``inf``; interior points the sum over objectives of
    the normalised gap between their neighbours. Objectives with zero range add nothing.
    """
    F = _as_matrix(F)
    n, m = F.shape
    if n <= 2:
        return np.full(n, np.inf)
    dist = np.zeros(n)
    for j in range(m):
        order = np.argsort(F[:, j], kind="stable")
        col = F[order, j]
        span = col[-1] - col[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (col[2:] - col[:-2]) / span
    return dist
