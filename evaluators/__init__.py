"""Evaluators: architectures -> objective values (analytic costs, predicted latency, supernet
accuracy), a persistent cache by canonical architecture, and a Ray actor pool."""
from nas.evaluators.accuracy import SupernetAccuracyEvaluator
from nas.evaluators.analytic import COST_KEYS, AnalyticCostEvaluator
from nas.evaluators.base import CompositeEvaluator, Evaluator
from nas.evaluators.cache import CachedEvaluator
from nas.evaluators.factory import EvaluatorSpec, make_evaluator
from nas.evaluators.latency import PredictedLatencyEvaluator
from nas.evaluators.ray_pool import RayEvaluatorPool
from nas.evaluators.surrogate import SurrogateEvaluator

__all__ = [
    "COST_KEYS", "AnalyticCostEvaluator", "CachedEvaluator", "CompositeEvaluator", "Evaluator",
    "EvaluatorSpec", "PredictedLatencyEvaluator", "RayEvaluatorPool", "SupernetAccuracyEvaluator",
    "SurrogateEvaluator", "make_evaluator",
]
