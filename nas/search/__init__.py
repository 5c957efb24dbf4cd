"""Multi-objective architecture search: pure ``init/ask/tell`` algorithms, Pareto utilities,
hypervolume, and the checkpointed runner."""
from nas.search.base import SearchAlgorithm
from nas.search.evolution import EvolutionState, regularized_evolution
from nas.search.hypervolume import hypervolume
from nas.search.nsga2 import NSGA2State, nsga2
from nas.search.objectives import ObjectiveSpec
from nas.search.pareto import (
    crowding_distance, dominance_matrix, front_ranks, non_dominated_sort, pareto_mask,
)
from nas.search.random_search import RandomState, random_search
from nas.search.registry import ALGORITHMS, make_algorithm
from nas.search.runner import SearchResult, front_rows, run_search
from nas.search.stage import run_stage

__all__ = [
    "ALGORITHMS", "EvolutionState", "NSGA2State", "ObjectiveSpec", "RandomState", "SearchAlgorithm",
    "SearchResult", "crowding_distance", "dominance_matrix", "front_ranks", "front_rows", "hypervolume",
    "make_algorithm", "non_dominated_sort", "nsga2", "pareto_mask", "random_search",
    "regularized_evolution", "run_search", "run_stage",
]
