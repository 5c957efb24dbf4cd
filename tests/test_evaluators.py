"""Evaluators: analytic costs, predicted latency, composite, cache by canonical architecture."""
from __future__ import annotations

import jax
import numpy as np
import pytest

from nas.errors import InputError
from nas.evaluators import (
    AnalyticCostEvaluator,
    CachedEvaluator,
    CompositeEvaluator,
    EvaluatorSpec,
    PredictedLatencyEvaluator,
    SupernetAccuracyEvaluator,
    make_evaluator,
)
from nas.search_spaces import Arch, arch_stats, get_space

SPACE = get_space("ofa_mbv3")


class Counting:
    def __init__(self, inner):
        self.inner, self.provides, self.calls = inner, inner.provides, []

    def evaluate(self, archs):
        self.calls.append(list(archs))
        return self.inner.evaluate(archs)


class FixedProfile:
    """A profile stand-in with the loader's interface: latency = MACs / 1e6 ms."""

    def predict_ms(self, archs):
        return np.array([arch_stats(a).macs / 1e6 for a in archs])


def test_analytic_matches_cost_model():
    archs = SPACE.sample(jax.random.key(0), 3)
    for a, r in zip(archs, AnalyticCostEvaluator().evaluate(archs)):
        assert r == {k: float(v) for k, v in arch_stats(a).to_dict().items()}


def test_predicted_latency_from_shipped_profile():
    from nas.latency.profile_io import list_profiles, load_profile

    name = list_profiles()[0]
    archs = SPACE.sample(jax.random.key(1), 4)
    got = EvaluatorSpec("ofa_mbv3", ("latency_ms",), profile=load_profile(name))().evaluate(archs)
    assert [r["latency_ms"] for r in got] == pytest.approx(list(load_profile(name).predict_ms(archs)))
    assert PredictedLatencyEvaluator(FixedProfile()).evaluate([]) == []
    with pytest.raises(InputError, match="needs a hardware profile"):
        EvaluatorSpec("ofa_mbv3", ("latency_ms",))()


def test_composite_and_spec():
    archs = SPACE.sample(jax.random.key(2), 2)
    comp = CompositeEvaluator([AnalyticCostEvaluator(), PredictedLatencyEvaluator(FixedProfile())])
    recs = comp.evaluate(archs)
    assert comp.provides == ("macs", "flops", "params", "peak_activation_bytes", "latency_ms")
    assert all(r["latency_ms"] == pytest.approx(r["macs"] / 1e6) for r in recs)
    spec = EvaluatorSpec("ofa_mbv3", ("accuracy", "flops"), surrogate_seed=0)
    ev = make_evaluator(spec)
    assert set(ev.provides) >= {"accuracy", "flops"} and len(ev.evaluate(archs)) == 2
    with pytest.raises(InputError, match="no evaluator for 'speed'"):
        EvaluatorSpec("ofa_mbv3", ("speed",))
    with pytest.raises(InputError, match="trained supernet"):
        EvaluatorSpec("ofa_mbv3", ("accuracy",))()


def test_accuracy_evaluator_scores_with_the_function_handed_in():
    """The pipeline hands a builder of ``score(arch) -> (correct, total)``; the spec builds it once."""
    built = []

    def builder():
        built.append(1)
        return lambda arch: (float(arch_stats(arch).params % 7), 7.0)

    archs = SPACE.sample(jax.random.key(5), 3)
    ev = EvaluatorSpec("ofa_mbv3", ("accuracy", "params"))(builder)
    recs = ev.evaluate(archs)
    assert built == [1] and "accuracy" in ev.provides
    assert [r["accuracy"] for r in recs] == [(arch_stats(a).params % 7) / 7.0 for a in archs]
    assert SupernetAccuracyEvaluator(lambda a: (0.0, 0.0)).evaluate(archs[:1]) == [{"accuracy": 0.0}]


def test_cache_evaluates_each_network_once(tmp_path):
    a = SPACE.sample(jax.random.key(3))
    ks, e, d, r = SPACE.decode(a)
    d = np.full_like(d, 2)  # slots 2, 3 inactive: changing them gives the same network
    same = []
    for k in (3, 5, 7):
        ks2 = ks.copy()
        ks2[:, 3] = k
        same.append(Arch(SPACE.name, tuple(int(x) for x in (*ks2.ravel(), *e.ravel(), *d, r))))
    assert len(set(same)) == 3 and len({SPACE.canonical(x) for x in same}) == 1
    inner = Counting(AnalyticCostEvaluator())
    cache = CachedEvaluator(inner, SPACE, tmp_path / "c.jsonl")
    out = cache.evaluate(same + same[:1])
    assert len(inner.calls) == 1 and len(inner.calls[0]) == 1 and all(o == out[0] for o in out)
    other = SPACE.sample(jax.random.key(4))
    cache.evaluate([other, same[1]])
    assert inner.calls[-1] == [SPACE.canonical(other)]
    # persisted: a new cache over the same file evaluates nothing
    again = Counting(AnalyticCostEvaluator())
    assert CachedEvaluator(again, SPACE, tmp_path / "c.jsonl").evaluate([other] + same) == \
        cache.evaluate([other] + same) and again.calls == []
