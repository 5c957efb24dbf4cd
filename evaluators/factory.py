"""Build the evaluator a search needs, in process or as a Ray pool, from a picklable spec.

An :class:`EvaluatorSpec` names the values needed (objectives + budgeted quantities) and how to
get them; calling it with the scoring builder builds a :class:`CompositeEvaluator`. The same
spec is what every Ray actor calls, so in-process and distributed evaluation share one code
path. Sources: analytic costs for ``macs/flops/params/peak_activation_bytes``; ``latency_ms``
from ``profile``, a loaded hardware profile (anything with ``predict_ms(archs)``, e.g.
``nas.latency.load_profile(name)``); ``accuracy`` from ``scoring``, a picklable zero-argument
builder of the scoring function ``score(arch) -> (correct, total)``
(:class:`nas.evaluators.SupernetAccuracyEvaluator`; the pipeline passes a
:class:`nas.train.SupernetScoring`), called where the evaluator is built, so each Ray actor
builds its own from the one copy in the object store. ``surrogate_seed`` replaces accuracy and
latency by the fixed stand-ins of :mod:`nas.evaluators.surrogate` (tests, benchmarks).
"""
from __future__ import annotations

from dataclasses import dataclass

from nas.errors import InputError
from nas.evaluators.analytic import COST_KEYS, AnalyticCostEvaluator
from nas.evaluators.base import CompositeEvaluator

# every value an evaluator can produce: the names search.objectives and search.budgets may use
VALUES = COST_KEYS + ("latency_ms", "accuracy")


def check_values(names, field: str = "search.objectives") -> None:
    """InputError naming ``field`` when a name in ``names`` has no evaluator."""
    unknown = [n for n in names if n not in VALUES]
    if unknown:
        raise InputError(f"{field}: no evaluator for {unknown[0]!r} (known: {', '.join(VALUES)})")


@dataclass(frozen=True)
class EvaluatorSpec:
    space: str
    needs: tuple
    profile: object = None  # a loaded hardware profile (for latency_ms)
    surrogate_seed: int | None = None
    # the run's space declaration (config space_def): a Ray actor makes it its space of that name
    space_def: dict | None = None

    def __post_init__(self):
        check_values(self.needs)

    def __call__(self, scoring=None) -> CompositeEvaluator:
        from nas.search_spaces import activate, get_space

        if self.space_def:
            activate(self.space, self.space_def)
        space = get_space(self.space)
        parts = []
        if any(n in COST_KEYS for n in self.needs):
            parts.append(AnalyticCostEvaluator())
        if self.surrogate_seed is not None and ({"accuracy", "latency_ms"} & set(self.needs)):
            from nas.evaluators.surrogate import SurrogateEvaluator

            parts.append(SurrogateEvaluator(space, self.surrogate_seed))
        else:
            if "latency_ms" in self.needs:
                from nas.evaluators.latency import PredictedLatencyEvaluator

                if self.profile is None:
                    raise InputError("latency_ms needs a hardware profile, none was given")
                parts.append(PredictedLatencyEvaluator(self.profile))
            if "accuracy" in self.needs:
                from nas.evaluators.accuracy import SupernetAccuracyEvaluator

                if scoring is None:
                    raise InputError("accuracy needs a trained supernet, none was given")
                parts.append(SupernetAccuracyEvaluator(scoring()))
        return CompositeEvaluator(parts)


def make_evaluator(spec: EvaluatorSpec, scoring=None, *, num_workers: int = 0, address: str = "",
                   chunk_size: int = 4, **pool_options):
    """In-process evaluator (``num_workers == 0``) or a :class:`RayEvaluatorPool` of that many
    actors, each building ``spec(scoring)`` (``pool_options``: its resources per worker and
    ``runtime_env``); both have ``evaluate(archs) -> list[dict]`` and ``close()``."""
    if num_workers <= 0:
        return spec(scoring)
    from nas.evaluators.ray_pool import RayEvaluatorPool

    return RayEvaluatorPool(spec, scoring, provides=spec.needs, num_workers=num_workers, address=address,
                            chunk_size=chunk_size, **pool_options)
