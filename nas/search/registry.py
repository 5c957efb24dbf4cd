"""Algorithm names (``SearchConfig.algorithm``) to configured :class:`SearchAlgorithm`s."""
from __future__ import annotations

from nas.search.base import SearchAlgorithm
from nas.search.evolution import regularized_evolution
from nas.search.nsga2 import nsga2
from nas.search.random_search import random_search
from search_spaces import SearchSpace
from search_spaces.arch import InputError

ALGORITHMS = ("nsga2", "evolution", "random")


def make_algorithm(space: SearchSpace, search_cfg) -> SearchAlgorithm:
    """The algorithm named by ``search_cfg.algorithm`` with its population and mutation rate.

    Regularized evolution optimises the first objective in ``search_cfg.objectives``. NSGA-II
    uses surrogate pre-screening when ``search_cfg`` has a ``prescreen_factor`` above 1.
    """
    rate = search_cfg.mutation_rate or None
    if search_cfg.algorithm == "nsga2":
        return nsga2(space, search_cfg.population, mutation_rate=rate,
                     prescreen_factor=int(getattr(search_cfg, "prescreen_factor", 0) or 0))
    if search_cfg.algorithm == "evolution":
        return regularized_evolution(space, search_cfg.population, mutation_rate=rate)
    if search_cfg.algorithm == "random":
        return random_search(space, search_cfg.population)
    raise InputError(f"search.algorithm: unknown algorithm {search_cfg.algorithm!r} "
                     f"(known: {', '.join(ALGORITHMS)})")
