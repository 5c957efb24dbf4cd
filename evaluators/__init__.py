"""Evaluators: architectures -> objective values (analytic costs, predicted latency, supernet
accuracy), a persistent cache by canonical architecture, and a Ray actor pool."""
from evaluators.accuracy import SupernetAccuracyEvaluator
from evaluators.analytic import COST_KEYS, AnalyticCostEvaluator
from evaluators.base import CompositeEvaluator, Evaluator
from evaluators.cache import CachedEvaluator
from evaluators.factory import EvaluatorSpec, make_evaluator
from evaluators.latency import PredictedLatencyEvaluator
from evaluators.ray_pool import RayEvaluatorPool
from evaluators.surrogate import SurrogateEvaluator

__all__ = [
    "COST_KEYS", "AnalyticCostEvaluator", "CachedEvaluator", "CompositeEvaluator", "Evaluator",
    "EvaluatorSpec", "PredictedLatencyEvaluator", "RayEvaluatorPool", "SupernetAccuracyEvaluator",
    "SurrogateEvaluator", "make_evaluator",
]
