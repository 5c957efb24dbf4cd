"""NSGA-II with constrained domination, assembled from the operators of this package.

Generation 0 samples ``population`` unique architectures: the space's smallest and largest
networks (they anchor both ends of an accuracy/cost front) and a stratified sample spread
over the cost axis (``initial="uniform"`` for plain uniform sampling). Every later generation
creates ``population`` children by binary tournament on (constrained rank, crowding), uniform
crossover (probability ``crossover_prob``) and ordinal mutation; survival keeps the best
``population`` of parents and children by constrained non-dominated sorting and crowding
distance (Deb et al. 2002). The defaults were chosen on the stand-in problem of
``experiments/benchmarks/search_efficiency.py`` with seeds other than the reported ones.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nas.search.base import SearchAlgorithm, check_told, generation_rng, raw_key
from nas.search.selection import binary_tournament, rank_and_crowding, survive
from nas.search.variation import make_offspring, ordinal_mutate, sample_unique, stratified_sample
from search_spaces import Arch, SearchSpace


class NSGA2State(NamedTuple):
    key: np.ndarray  # uint32[2]
    generation: int
    population: tuple  # tuple[Arch, ...] survivors
    F: np.ndarray  # [p, m] minimised objectives of the survivors
    cv: np.ndarray  # [p] total violation of the survivors
    seen: frozenset  # canonical architectures asked so far


def nsga2(space: SearchSpace, population: int = 32, *, crossover_prob: float = 0.5,
          mutation_rate: float | None = None, seed_extremes: bool = True,
          mutate=ordinal_mutate, crossover=None, initial: str = "stratified") -> SearchAlgorithm:
    """NSGA-II over ``space``; ``mutation_rate`` None means 1/num_genes per gene; ``mutate``
    is ``ordinal_mutate`` (local steps on long ordered genes) or ``None`` for ``space.mutate``;
    ``crossover(space, key, a, b)`` defaults to ``space.crossover`` (uniform)."""

    def init(key) -> NSGA2State:
        return NSGA2State(raw_key(key), 0, (), np.zeros((0, 0)), np.zeros(0), frozenset())

    def ask(state: NSGA2State):
        rng = generation_rng(state.key, state.generation)
        if not state.population:
            first = [space.canonical(space.smallest()), space.canonical(space.largest())] if seed_extremes else []
            first = list(dict.fromkeys(a for a in first if a not in state.seen))[:population]
            sampler = stratified_sample if initial == "stratified" else sample_unique
            archs = first + sampler(space, rng, population - len(first), state.seen | set(first))
        else:
            rank, crowd = rank_and_crowding(state.F, state.cv)
            pop = state.population

            def pick_parents(r):
                i, j = binary_tournament(r, rank, crowd, 2)
                return pop[i], pop[j]

            archs = make_offspring(space, rng, population, pick_parents, state.seen,
                                   crossover_prob, mutation_rate, mutate=mutate, crossover=crossover)
        return state._replace(seen=state.seen | frozenset(archs)), archs

    def tell(state: NSGA2State, archs: list[Arch], F, cv) -> NSGA2State:
        F, cv = check_told(archs, F, cv, state.F.shape[1] if len(state.population) else None)
        all_archs = state.population + tuple(archs)
        all_F = np.concatenate([state.F.reshape(-1, F.shape[1]), F]) if len(state.population) else F
        all_cv = np.concatenate([state.cv, cv])
        keep = survive(all_F, all_cv, population)
        return state._replace(generation=state.generation + 1,
                              population=tuple(all_archs[i] for i in keep),
                              F=all_F[keep], cv=all_cv[keep])

    return SearchAlgorithm(init, ask, tell)
