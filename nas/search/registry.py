"""Algorithm names (``search.algorithm``) to :class:`SearchAlgorithm` factories: the one list of
algorithm names that configs, the CLI and fingerprints consult."""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from nas.errors import UnknownNameError
from nas.search.algorithm import SearchAlgorithm
from nas.search.evolution import regularized_evolution
from nas.search.nsga2 import nsga2
from nas.search.random_search import random_search
from nas.search_spaces import SearchSpace


class AlgorithmOptions(NamedTuple):
    """The settings every algorithm factory receives (each uses the ones it knows)."""

    population: int = 32
    mutation_rate: float | None = None  # None: 1 / num_genes
    prescreen_factor: int = 0  # NSGA-II surrogate pre-screening (0 or 1: off)
    screener: object = None  # NSGA-II: predictions for pre-screening (None: the ridge surrogate)


def _nsga2(space: SearchSpace, o: AlgorithmOptions) -> SearchAlgorithm:
    return nsga2(space, o.population, mutation_rate=o.mutation_rate, prescreen_factor=o.prescreen_factor,
                 screener=o.screener)


def _evolution(space: SearchSpace, o: AlgorithmOptions) -> SearchAlgorithm:
    """Regularized evolution on the first objective."""
    return regularized_evolution(space, o.population, mutation_rate=o.mutation_rate)


def _random(space: SearchSpace, o: AlgorithmOptions) -> SearchAlgorithm:
    return random_search(space, o.population)


ALGORITHMS: dict[str, Callable[[SearchSpace, AlgorithmOptions], SearchAlgorithm]] = {
    "nsga2": _nsga2, "evolution": _evolution, "random": _random,
}


def check_algorithm(name: str) -> str:
    """``name`` if it is a registered algorithm, else UnknownNameError naming the known ones."""
    if name not in ALGORITHMS:
        raise UnknownNameError(f"search.algorithm: unknown algorithm {name!r} (known: {', '.join(ALGORITHMS)})")
    return name


def make_algorithm(name: str, space: SearchSpace, options: AlgorithmOptions | None = None) -> SearchAlgorithm:
    """The algorithm registered as ``name``, configured by ``options`` (default: AlgorithmOptions())."""
    return ALGORITHMS[check_algorithm(name)](space, options or AlgorithmOptions())
