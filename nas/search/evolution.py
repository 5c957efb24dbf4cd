"""Regularized (aging) evolution (Real et al. 2019) for one objective under constraints.

The population is a queue ordered by age. Each generation asks ``batch`` children: each is a
mutation of the best of ``sample_size`` random members (feasible first, then by objective;
infeasible ones by violation). ``tell`` appends the children and drops the oldest members so
the queue holds at most ``population``. Only column ``objective_index`` of ``F`` is used.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nas.search.algorithm import SearchAlgorithm, check_told, generation_rng, raw_key
from nas.search.selection import aging_tournament
from nas.search.variation import make_offspring, sample_unique
from nas.search_spaces import SearchSpace


class EvolutionState(NamedTuple):
    key: np.ndarray
    generation: int
    population: tuple  # oldest first
    values: np.ndarray  # [p] the minimised objective
    cv: np.ndarray  # [p]
    seen: frozenset


def regularized_evolution(space: SearchSpace, population: int = 32, *, batch: int | None = None,
                          sample_size: int = 8, objective_index: int = 0,
                          mutation_rate: float | None = None) -> SearchAlgorithm:
    """Aging evolution; ``batch`` children per generation (default ``population``)."""
    batch = batch or population

    def init(key) -> EvolutionState:
        return EvolutionState(raw_key(key), 0, (), np.zeros(0), np.zeros(0), frozenset())

    def ask(state: EvolutionState):
        rng = generation_rng(state.key, state.generation)
        if not state.population:
            archs = sample_unique(space, rng, population, state.seen)
        else:
            pop = state.population

            def pick_parent(r):
                i = aging_tournament(r, state.values, state.cv, sample_size)
                return pop[i], pop[i]

            archs = make_offspring(space, rng, batch, pick_parent, state.seen, 0.0, mutation_rate)
        return state._replace(seen=state.seen | frozenset(archs)), archs

    def tell(state: EvolutionState, archs, F, cv) -> EvolutionState:
        F, cv = check_told(archs, F, cv)
        pop = (state.population + tuple(archs))[-population:]
        values = np.concatenate([state.values, F[:, objective_index]])[-population:]
        cvs = np.concatenate([state.cv, cv])[-population:]
        return state._replace(generation=state.generation + 1, population=pop, values=values, cv=cvs)

    return SearchAlgorithm(init, ask, tell)
