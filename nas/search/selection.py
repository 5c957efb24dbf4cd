"""Selection operators: NSGA-II rank + crowding, binary tournament, survival, aging tournament.

All take a NumPy ``Generator`` for their randomness and return index arrays; none mutate
their inputs. Objective matrices are in minimisation form, ``cv`` is total violation.
"""
from __future__ import annotations

import numpy as np

from nas.search.pareto import crowding_distance, non_dominated_sort


def rank_and_crowding(F, cv) -> tuple[np.ndarray, np.ndarray]:
    """Constrained front rank ``[n]`` (0 best) and crowding distance within the front ``[n]``."""
    F = np.asarray(F, dtype=np.float64)
    rank = np.zeros(len(F), dtype=np.int64)
    crowd = np.zeros(len(F))
    for k, idx in enumerate(non_dominated_sort(F, cv)):
        rank[idx] = k
        crowd[idx] = crowding_distance(F[idx])
    return rank, crowd


def binary_tournament(rng: np.random.Generator, rank, crowd, n: int) -> np.ndarray:
    """``n`` winners of random pairs: lower rank wins, then larger crowding, then a coin flip."""
    rank, crowd = np.asarray(rank), np.asarray(crowd)
    a = rng.integers(0, len(rank), size=n)
    b = rng.integers(0, len(rank), size=n)
    coin = rng.random(n) < 0.5
    a_wins = (rank[a] < rank[b]) | ((rank[a] == rank[b]) & (
        (crowd[a] > crowd[b]) | ((crowd[a] == crowd[b]) & coin)))
    return np.where(a_wins, a, b)


def survive(F, cv, n: int) -> np.ndarray:
    """Indices of the ``n`` survivors (NSGA-II): whole fronts in order, the last one cut by
    descending crowding distance (ties by index, so the result is deterministic)."""
    F = np.asarray(F, dtype=np.float64)
    chosen: list[int] = []
    for idx in non_dominated_sort(F, cv):
        room = n - len(chosen)
        if room <= 0:
            break
        if len(idx) <= room:
            chosen.extend(int(i) for i in idx)
        else:
            crowd = crowding_distance(F[idx])
            order = np.lexsort((idx, -crowd))
            chosen.extend(int(i) for i in idx[order[:room]])
    return np.array(chosen, dtype=np.int64)


def constrained_better(values, cv) -> np.ndarray:
    """Sort order for one minimised objective under constraints: feasible first by value,
    then infeasible by violation (Deb's rules). Returns indices best first."""
    values, cv = np.asarray(values, dtype=np.float64), np.asarray(cv, dtype=np.float64)
    feasible = cv <= 0
    return np.lexsort((values, np.where(feasible, 0.0, cv), ~feasible))


def aging_tournament(rng: np.random.Generator, values, cv, sample_size: int) -> int:
    """Regularized evolution: the best (by :func:`constrained_better`) of ``sample_size``
    members drawn without replacement."""
    n = len(values)
    picks = rng.choice(n, size=min(sample_size, n), replace=False)
    best = constrained_better(np.asarray(values)[picks], np.asarray(cv)[picks])[0]
    return int(picks[best])
