"""The search core: pure ``init/ask/tell`` algorithms, their operators, Pareto utilities,
hypervolume, the surrogate pre-screen and the :func:`minimize` driver.

Imports nothing but NumPy, JAX and :mod:`nas.search_spaces` (checked by ``tests/test_layers.py``):
no evaluators, training, data or Ray. The pipeline's stage 2 (:mod:`nas.pipeline.search`)
wires evaluators and checkpoints around it.
"""
from nas.search.algorithm import SearchAlgorithm
from nas.search.evolution import EvolutionState, regularized_evolution
from nas.search.hypervolume import hypervolume
from nas.search.minimize import Budget, Generation, MinimizeResult, minimize, objective_evaluator
from nas.search.nsga2 import NSGA2State, nsga2
from nas.search.objectives import ObjectiveSpec
from nas.search.pareto import (
    crowding_distance,
    dominance_matrix,
    front_ranks,
    non_dominated_sort,
    pareto_mask,
)
from nas.search.random_search import RandomState, random_search
from nas.search.registry import ALGORITHMS, AlgorithmOptions, check_algorithm, make_algorithm

__all__ = [
    "ALGORITHMS", "AlgorithmOptions", "Budget", "EvolutionState", "Generation", "MinimizeResult", "NSGA2State",
    "ObjectiveSpec", "RandomState", "SearchAlgorithm", "check_algorithm", "crowding_distance",
    "dominance_matrix", "front_ranks", "hypervolume", "make_algorithm", "minimize", "non_dominated_sort",
    "nsga2", "objective_evaluator", "pareto_mask", "random_search", "regularized_evolution",
]
