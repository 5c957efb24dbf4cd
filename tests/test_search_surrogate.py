"""Surrogate-assisted pre-screening: ridge model, candidate ranking, and NSGA-II with it."""
from __future__ import annotations

import json

import jax
import numpy as np

from nas.evaluators.surrogate import SurrogateEvaluator
from nas.search import Budget, hypervolume, minimize, nsga2
from nas.search.objectives import ObjectiveSpec
from nas.search.pareto import pareto_mask
from nas.search.state_codec import decode_state, encode_state
from nas.search.surrogate import LAMBDAS, Ridge, encode, prescreen
from nas.search_spaces import get_space

SPACE = get_space("fashion_mnist")
EVAL = SurrogateEvaluator(SPACE)
SPEC = ObjectiveSpec(("accuracy", "latency_ms"), ())


def test_encode_one_hot_and_ordinal():
    card = np.array([3, 1, 5, 2])
    X = np.array([[0, 0, 4, 1], [2, 0, 0, 0]])
    Phi = encode(X, card, size_interactions=False)
    # gene 0: 3 one-hot + ordinal, gene 1: nothing, gene 2: 5 one-hot + ordinal, gene 3: 2 one-hot
    assert Phi.shape == (2, 4 + 6 + 2)
    np.testing.assert_array_equal(Phi[0], [1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1])
    np.testing.assert_array_equal(Phi[1], [0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0])
    full = encode(X, card)  # then the same block times the size level (mean of 0/2, 4/4, 1/1 ...)
    t = np.array([(0 + 1 + 1) / 3, (1 + 0 + 0) / 3])
    np.testing.assert_allclose(full, np.concatenate([Phi, Phi * t[:, None]], axis=1))


def test_ridge_matches_normal_equations_and_recovers_linear_targets():
    rng = np.random.default_rng(0)
    X, w = rng.random((120, 30)), rng.normal(size=(30, 2))
    Y = X @ w + 0.05 * rng.normal(size=(120, 2)) + np.array([3.0, -1.0])
    model = Ridge(X, Y)
    Xt = rng.random((200, 30))
    for j in range(2):
        assert np.corrcoef(model.predict(Xt)[:, j], Xt @ w[:, j])[0, 1] > 0.98
    # the coefficients are a ridge solution for one of the candidate penalties
    Xc, Z = X - X.mean(0), (Y - Y.mean(0)) / Y.std(0)
    G = Xc.T @ Xc
    sols = [np.linalg.solve(G + lam * np.eye(30), Xc.T @ Z) for lam in LAMBDAS * np.linalg.eigvalsh(G).mean()]
    for j in range(2):
        assert min(np.abs(s[:, j] - model.coef[:, j]).max() for s in sols) < 1e-8


def test_ridge_constant_target_and_two_rows():
    model = Ridge(np.eye(2), np.array([[1.0], [1.0]]))
    np.testing.assert_allclose(model.predict(np.ones((3, 2))), 1.0)


def test_prescreen_prefers_predicted_front_and_is_deterministic():
    parents = np.array([[0.0, 4.0], [2.0, 2.0], [4.0, 0.0]])
    cand = np.array([[5.0, 5.0], [1.0, 1.0], [3.0, 3.0], [0.5, 3.0], [9.0, 9.0], [2.5, 0.5]])
    pick = prescreen(np.random.default_rng(0), cand, np.zeros(6), parents, np.zeros(3), 3)
    assert set(pick.tolist()) == {1, 3, 5}  # the three that are not dominated by any parent
    infeasible = np.array([0, 1.0, 0, 0, 0, 0])  # a violation puts a candidate behind feasible ones
    pick = prescreen(np.random.default_rng(0), cand, infeasible, parents, np.zeros(3), 3)
    assert 1 not in pick.tolist()
    a = prescreen(np.random.default_rng(5), cand, np.zeros(6), parents, np.zeros(3), 3, n_explore=2)
    b = prescreen(np.random.default_rng(5), cand, np.zeros(6), parents, np.zeros(3), 3, n_explore=2)
    assert np.array_equal(a, b) and len(set(a.tolist())) == 3
    assert prescreen(np.random.default_rng(0), cand[:2], np.zeros(2), parents, np.zeros(3), 3).tolist() == [0, 1]


def drive(algo, seed, generations):
    def evaluate(archs):
        return SPEC.matrix(EVAL.evaluate(archs)), np.zeros(len(archs)), [None] * len(archs)

    r = minimize(algo, evaluate, Budget(generations=generations), key=jax.random.key(seed))
    return r.state, r.archs, r.F


def test_prescreen_search_deterministic_unique_and_resumable():
    make = lambda: nsga2(SPACE, 8, prescreen_factor=10)  # noqa: E731
    s1, a1, F1 = drive(make(), 3, 4)
    _, a2, F2 = drive(make(), 3, 4)
    _, a3, _ = drive(make(), 4, 4)
    assert a1 == a2 and np.array_equal(F1, F2) and a1 != a3
    assert len(a1) == 32 and len(set(a1)) == 32 and all(SPACE.canonical(a) == a for a in a1)
    assert s1.archive_X.shape == (32, SPACE.num_genes) and s1.archive_F.shape == (32, 2)
    # a state saved as JSON (nas.search.state_codec) continues exactly like the original
    algo = make()
    state = decode_state(json.loads(json.dumps(encode_state(s1))), SPACE)
    assert all(np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b for a, b in zip(state, s1))
    for s in (s1, state):
        nxt, archs = algo.ask(s)
        assert archs == algo.ask(s1)[1]
    # pre-screening really changes what is asked (same key, same first generation)
    _, plain, _ = drive(nsga2(SPACE, 8), 3, 4)
    assert plain[:8] == a1[:8] and plain[8:] != a1[8:]


def test_prescreen_beats_plain_nsga2_at_small_budget():
    """Mean hypervolume over 4 seeds after 6 generations of 12 (72 evaluations)."""
    ref = np.array([-0.5, 1.1 * EVAL.evaluate([SPACE.largest()])[0]["latency_ms"]])

    def hv(algo, seed):
        _, _, F = drive(algo, seed, 6)
        return hypervolume(F[pareto_mask(F)], ref)

    seeds = range(20, 24)
    plain = np.mean([hv(nsga2(SPACE, 12), s) for s in seeds])
    screened = np.mean([hv(nsga2(SPACE, 12, prescreen_factor=10), s) for s in seeds])
    assert screened > plain
