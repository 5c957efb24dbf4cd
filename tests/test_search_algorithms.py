"""NSGA-II, regularized evolution and random search as pure init/ask/tell functions."""
from __future__ import annotations

import jax
import numpy as np
import pytest

from nas.evaluators.surrogate import SurrogateEvaluator
from nas.search import Budget, hypervolume, minimize, nsga2, objective_evaluator, random_search, regularized_evolution
from nas.search.objectives import ObjectiveSpec
from nas.search.pareto import non_dominated_sort, pareto_mask
from nas.search.selection import constrained_better, survive
from nas.search_spaces import get_space

SPACE = get_space("fashion_mnist")
EVAL = SurrogateEvaluator(SPACE)
SPEC = ObjectiveSpec(("accuracy", "latency_ms"), (("latency_ms", 0.9),))


def drive(algo, seed, generations):
    """Run an algorithm on the surrogate; returns final state and every (arch, F, cv)."""
    r = minimize(algo, objective_evaluator(EVAL, SPEC), Budget(generations=generations), key=jax.random.key(seed))
    return r.state, r.archs, r.F, r.cv


@pytest.mark.parametrize("make", [lambda: nsga2(SPACE, 12), lambda: regularized_evolution(SPACE, 12),
                                  lambda: random_search(SPACE, 12)])
def test_deterministic_unique_canonical(make):
    _, a1, F1, _ = drive(make(), 3, 4)
    _, a2, F2, _ = drive(make(), 3, 4)
    _, a3, _, _ = drive(make(), 4, 4)
    assert a1 == a2 and np.array_equal(F1, F2)
    assert a1 != a3
    assert len(a1) == 48 and len(set(a1)) == len(a1)  # nothing asked twice
    assert all(SPACE.canonical(a) == a for a in a1)


def test_ask_tell_are_pure():
    algo = nsga2(SPACE, 8)
    s0 = algo.init(jax.random.key(0))
    s1, archs = algo.ask(s0)
    assert algo.ask(s0)[1] == archs and s0.seen == frozenset()
    recs = EVAL.evaluate(archs)
    t1 = algo.tell(s1, archs, SPEC.matrix(recs), SPEC.violations(recs))
    t2 = algo.tell(s1, archs, SPEC.matrix(recs), SPEC.violations(recs))
    assert t1.population == t2.population and t1.generation == 1 and s1.population == ()
    assert algo.ask(t1)[1] == algo.ask(t2)[1]


def test_survive_matches_hand_written_nsga2_truncation():
    rng = np.random.default_rng(0)
    for _ in range(20):
        F = rng.integers(0, 6, size=(30, 2)).astype(float)
        cv = np.where(rng.random(30) < 0.3, rng.random(30), 0.0)
        keep = survive(F, cv, 12)
        assert len(set(keep.tolist())) == 12
        fronts = non_dominated_sort(F, cv)
        rank = np.empty(30, int)
        for k, f in enumerate(fronts):
            rank[f] = k
        # nobody left out may be in a strictly better front than somebody kept
        left = np.setdiff1d(np.arange(30), keep)
        assert rank[left].min() >= rank[keep].max()
        full = [i for f in fronts if rank[f[0]] < rank[keep].max() for i in f]
        assert set(full) <= set(keep.tolist())


def test_nsga2_respects_budget_and_beats_random():
    _, archs, F, cv = drive(nsga2(SPACE, 16), 0, 8)
    _, archs_r, F_r, cv_r = drive(random_search(SPACE, 16), 0, 8)
    ref = np.array([0.0, 0.9])
    hv = hypervolume(F[pareto_mask(F, cv)], ref)
    hv_r = hypervolume(F_r[pareto_mask(F_r, cv_r)], ref)
    assert hv > hv_r
    last = cv[-16:]
    assert (last == 0).mean() > (cv_r[-16:] == 0).mean()  # the search moves into the budget


def test_nsga2_final_population_mostly_feasible():
    state, *_ = drive(nsga2(SPACE, 16), 1, 8)
    assert (state.cv == 0).all()
    assert len(state.population) == 16


def test_regularized_evolution_improves_single_objective_under_budget():
    algo = regularized_evolution(SPACE, 16, sample_size=4)
    state, archs, F, cv = drive(algo, 0, 8)
    assert len(state.population) == 16 and state.population == tuple(archs[-16:])  # aging
    best = constrained_better(F[:, 0], cv)[0]
    best_first = constrained_better(F[:16, 0], cv[:16])[0]
    assert cv[best] == 0 and F[best, 0] < F[best_first, 0]
    assert np.mean(cv[-16:] == 0) >= np.mean(cv[:16] == 0)


@pytest.mark.parametrize("make", [lambda: nsga2(SPACE, 4), lambda: regularized_evolution(SPACE, 4),
                                  lambda: random_search(SPACE, 4)])
def test_tell_checks_shapes_and_violations(make):
    algo = make()
    s, archs = algo.ask(algo.init(jax.random.key(0)))
    assert algo.tell(s, archs, np.zeros((4, 2)), np.zeros(4)).generation == 1  # well-formed: accepted
    with pytest.raises(ValueError, match="violations must be >= 0"):
        algo.tell(s, archs, np.zeros((4, 2)), -np.ones(4))
    with pytest.raises(ValueError):  # 5 rows of objectives for 4 architectures
        algo.tell(s, archs, np.zeros((5, 2)), np.zeros(4))


def test_nsga2_tell_refuses_a_changed_number_of_objectives():
    algo = nsga2(SPACE, 4)
    s, archs = algo.ask(algo.init(jax.random.key(0)))
    s, archs = algo.ask(algo.tell(s, archs, np.zeros((4, 2)), np.zeros(4)))
    with pytest.raises(ValueError, match="expected 2 objectives per architecture, got 3"):
        algo.tell(s, archs, np.zeros((len(archs), 3)), np.zeros(len(archs)))


def _tiny_space():
    """Two canonical subnets: one stage of depth 1 whose only choice is kernel 3 or 5."""
    from nas.search_spaces.elastic_mbconv import ElasticConfig, ElasticMBConvSpace, StageDef

    return ElasticMBConvSpace("fashion_mnist", ElasticConfig(
        in_channels=1, num_classes=10, stem_width=8, stem_stride=2, first_width=8,
        stages=(StageDef(8, 2, "relu", False),), final_width=16, feature_width=0,
        kernels=(3, 5), expands=(3,), depths=(1,), resolutions=(28,)))


def test_small_space_exhaustion_returns_fewer_and_ends_the_search():
    from nas.search.variation import sample_unique

    tiny, rng = _tiny_space(), np.random.default_rng(0)
    got = sample_unique(tiny, rng, 5)
    assert len(got) == 2 and len(set(got)) == 2  # every subnet once, no more
    assert sample_unique(tiny, rng, 3, frozenset(got[:1])) == got[1:]  # only the unseen one
    assert sample_unique(tiny, rng, 3, frozenset(got)) == []
    r = minimize(random_search(tiny, 5), lambda a: (np.zeros((len(a), 1)), np.zeros(len(a)), [{}] * len(a)),
                 Budget(generations=10), key=jax.random.key(0))
    assert sorted(r.archs) == sorted(got) and r.state.generation == 1  # stopped when nothing was left


def test_minimize_budget_and_resume():
    """An evaluation budget stops after the generation that reaches it; a run resumed from a
    saved state ends where an uninterrupted run ends."""
    algo, ev = nsga2(SPACE, 6), objective_evaluator(EVAL, SPEC)
    r = minimize(algo, ev, Budget(evaluations=10), key=jax.random.key(1))
    assert len(r.archs) == 12 and r.state.generation == 2
    straight = minimize(algo, ev, Budget(generations=5), key=jax.random.key(1))
    saved = []
    minimize(algo, ev, Budget(generations=2), key=jax.random.key(1), on_generation=lambda s, g: saved.append(s))
    resumed = minimize(algo, ev, Budget(generations=5), state=saved[-1])
    assert resumed.archs == straight.archs[12:] and np.array_equal(resumed.F, straight.F[12:])
    with pytest.raises(ValueError):
        minimize(algo, ev, Budget())
