"""Pareto utilities and hypervolume against brute-force definitions on random points."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nas.search.hypervolume import hypervolume
from nas.search.pareto import crowding_distance, dominance_matrix, non_dominated_sort, pareto_mask


def brute_dominates(a, b, ca=0.0, cb=0.0):
    if ca <= 0 < cb:
        return True
    if ca > 0 and cb > 0:
        return ca < cb
    if ca > 0:
        return False
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def brute_hypervolume(F, ref):
    """Exact volume of the union of boxes [p, ref] on the grid of all coordinates."""
    F = F[np.all(F < ref, axis=1)]
    if len(F) == 0:
        return 0.0
    axes = [np.unique(np.append(F[:, j], ref[j])) for j in range(F.shape[1])]
    vol = 0.0
    for cell in itertools.product(*[range(len(a) - 1) for a in axes]):
        lo = np.array([axes[j][c] for j, c in enumerate(cell)])
        if np.any(np.all(F <= lo, axis=1)):
            vol += np.prod([axes[j][c + 1] - axes[j][c] for j, c in enumerate(cell)])
    return vol


def points(max_n=9, dims=(2, 3, 4)):
    return st.sampled_from(dims).flatmap(lambda d: st.integers(0, max_n).flatmap(
        lambda n: arrays(np.float64, (n, d), elements=st.integers(0, 5).map(float))))


@settings(max_examples=150, deadline=None)
@given(points(), st.data())
def test_constrained_sort_matches_brute_force(F, data):
    n = len(F)
    cv = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.0]), min_size=n, max_size=n)))
    D = dominance_matrix(F, cv)
    for i, j in itertools.product(range(n), repeat=2):
        assert D[i, j] == brute_dominates(F[i], F[j], cv[i], cv[j])
    fronts = non_dominated_sort(F, cv)
    rank = {int(i): k for k, f in enumerate(fronts) for i in f}
    assert sorted(rank) == list(range(n))
    for i, j in itertools.product(range(n), repeat=2):
        if brute_dominates(F[i], F[j], cv[i], cv[j]):
            assert rank[i] < rank[j]
    for k, f in enumerate(fronts[1:], 1):  # every later point is dominated by the front before
        for j in f:
            assert any(brute_dominates(F[i], F[j], cv[i], cv[j]) for i in fronts[k - 1])
    mask = pareto_mask(F, cv)
    for j in range(n):
        expect = cv[j] <= 0 and not any(cv[i] <= 0 and brute_dominates(F[i], F[j]) for i in range(n))
        assert mask[j] == expect


@settings(max_examples=200, deadline=None)
@given(points(max_n=8, dims=(1, 2, 3, 4)))
def test_hypervolume_matches_brute_force(F):
    ref = np.full(F.shape[1], 4.5)
    assert hypervolume(F, ref) == pytest.approx(brute_hypervolume(F, ref), abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (12, 3), elements=st.floats(0, 1)))
def test_hypervolume_continuous_3d(F):
    ref = np.array([1.0, 1.0, 1.0])
    assert hypervolume(F, ref) == pytest.approx(brute_hypervolume(F, ref), rel=1e-9, abs=1e-12)


def test_hypervolume_known_values():
    assert hypervolume([[1, 2], [2, 1]], [3, 3]) == pytest.approx(3.0)
    assert hypervolume([[0, 0, 0]], [1, 2, 3]) == pytest.approx(6.0)
    assert hypervolume(np.zeros((0, 2)), [1, 1]) == 0.0
    assert hypervolume([[5, 0]], [3, 3]) == 0.0  # outside the reference box
    with pytest.raises(ValueError):
        hypervolume([[1, 2]], [1, 2, 3])


def test_crowding_distance_hand_computed():
    F = np.array([[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0]])
    d = crowding_distance(F)
    assert np.isinf(d[0]) and np.isinf(d[3])
    assert d[1] == pytest.approx(3 / 4 + 3 / 4)
    assert d[2] == pytest.approx(3 / 4 + 3 / 4)
    assert np.all(np.isinf(crowding_distance(F[:2])))
