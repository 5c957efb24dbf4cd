"""Search operators that know the space: ordinal mutation, stratified and unique sampling,
offspring de-duplication; selection against hand-written rules."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nas.search.selection import aging_tournament, binary_tournament, constrained_better
from nas.search.variation import make_offspring, ordinal_mutate, sample_unique, stratified_sample
from nas.search_spaces import arch_stats, get_space

SPACES = [get_space(n) for n in ("ofa_mbv3", "fashion_mnist", "fbnet")]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SPACES), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_ordinal_mutate_valid_changed_and_deterministic(space, a, b):
    key = np.array([a, b], np.uint32)
    parent = space.sample(key[::-1].copy())
    child = ordinal_mutate(space, key, parent)
    assert space.validate(child) == child and child != parent
    assert ordinal_mutate(space, key, parent) == child
    ic = space.to_indices(child)
    assert np.all((ic >= 0) & (ic < space.cardinalities))


def test_ordinal_mutate_moves_long_genes_locally():
    space = get_space("ofa_mbv3")  # resolution: 25 ordered choices, the last gene
    parent = space.sample(np.array([1, 2], np.uint32))
    steps = []
    for i in range(400):
        child = ordinal_mutate(space, np.array([i, 9], np.uint32), parent, rate=1.0)
        steps.append(abs(int(space.to_indices(child)[-1]) - int(space.to_indices(parent)[-1])))
    steps = np.array(steps)
    assert steps.min() >= 1 and np.median(steps) <= 2 and steps.max() <= 24


def test_stratified_sample_spreads_cost():
    space = get_space("ofa_mbv3")
    uni = sample_unique(space, np.random.default_rng(0), 40)
    strat = stratified_sample(space, np.random.default_rng(0), 40)
    assert len(set(strat)) == 40 and all(space.canonical(a) == a for a in strat)
    def spread(archs):
        return np.ptp(np.log([arch_stats(a).macs for a in archs]))

    assert spread(strat) > 1.5 * spread(uni)
    assert not set(stratified_sample(space, np.random.default_rng(1), 10, frozenset(strat))) & set(strat)


def test_offspring_never_repeats_seen():
    space = get_space("fashion_mnist")
    rng = np.random.default_rng(0)
    parents = sample_unique(space, rng, 4)
    kids = make_offspring(space, rng, 30, lambda r: (parents[r.integers(4)], parents[r.integers(4)]),
                          frozenset(parents), mutate=ordinal_mutate)
    assert len(kids) == 30 and len(set(kids) | set(parents)) == 34


def test_tournaments_follow_the_rules():
    rng = np.random.default_rng(0)
    rank = np.array([0, 1, 1, 2])
    crowd = np.array([1.0, np.inf, 0.5, 9.0])
    wins = binary_tournament(rng, rank, crowd, 2000)
    counts = np.bincount(wins, minlength=4) / 2000
    # hand-computed win probabilities of a pair drawn with replacement
    assert abs(counts[0] - 7 / 16) < 0.04 and abs(counts[1] - 5 / 16) < 0.04
    assert abs(counts[2] - 3 / 16) < 0.04 and abs(counts[3] - 1 / 16) < 0.03
    order = constrained_better([3.0, 1.0, 0.5, 2.0], [0.0, 0.0, 0.2, 0.1])
    assert order.tolist() == [1, 0, 3, 2]
    assert aging_tournament(rng, [3.0, 1.0, 0.5, 2.0], [0.0, 0.0, 0.2, 0.1], 4) == 1
