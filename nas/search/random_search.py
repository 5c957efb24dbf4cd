"""Random search: every generation asks ``population`` new uniform samples (the baseline)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nas.search.algorithm import SearchAlgorithm, check_told, generation_rng, raw_key
from nas.search.variation import sample_unique
from nas.search_spaces import SearchSpace


class RandomState(NamedTuple):
    key: np.ndarray
    generation: int
    seen: frozenset


def random_search(space: SearchSpace, population: int = 32) -> SearchAlgorithm:
    def init(key) -> RandomState:
        return RandomState(raw_key(key), 0, frozenset())

    def ask(state: RandomState):
        archs = sample_unique(space, generation_rng(state.key, state.generation), population, state.seen)
        return state._replace(seen=state.seen | frozenset(archs)), archs

    def tell(state: RandomState, archs, F, cv) -> RandomState:
        check_told(archs, F, cv)
        return state._replace(generation=state.generation + 1)

    return SearchAlgorithm(init, ask, tell)
