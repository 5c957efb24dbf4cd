"""Search spaces: encodings, validation, operators (property tests)."""
import json

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nas.search_spaces import Arch, ArchError, arch_dumps, arch_to_json, get_space, list_spaces
from nas.search_spaces.fbnet import OP_NAMES

SPACES = list_spaces()
seeds = st.integers(0, 2**31 - 1)


def test_spaces_registered():
    assert set(SPACES) == {"fashion_mnist", "ofa_mbv3", "fbnet", "cifar_mbv3", "ofa_mbv3_w12"}


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=25, deadline=None)
@given(seed=seeds)
def test_json_round_trip(name, seed):
    sp = get_space(name)
    arch = sp.sample(jax.random.key(seed))
    enc = json.loads(arch_dumps(arch))
    assert sp.from_json(enc) == arch
    assert sp.from_json(arch_dumps(arch)) == arch
    assert sp.from_indices(sp.to_indices(arch)) == arch
    assert hash(arch) == hash(sp.from_json(enc))


def test_ofa_encoding_shape():
    arch = get_space("ofa_mbv3").sample(jax.random.key(0))
    enc = arch_to_json(arch)
    assert list(enc) == ["ks", "e", "d", "r"]
    assert len(enc["ks"]) == 20 and len(enc["e"]) == 20 and len(enc["d"]) == 5
    assert set(enc["ks"]) <= {3, 5, 7} and set(enc["e"]) <= {3, 4, 6} and set(enc["d"]) <= {2, 3, 4}
    assert 128 <= enc["r"] <= 224 and enc["r"] % 4 == 0


def test_fbnet_encoding_shape():
    enc = arch_to_json(get_space("fbnet").sample(jax.random.key(0)))
    assert list(enc) == ["ops", "r"] and len(enc["ops"]) == 22 and enc["r"] == 32
    assert len(OP_NAMES) == 9


def test_fashion_mnist_space_size_and_cost():
    from nas.search_spaces import arch_stats

    sp = get_space("fashion_mnist")
    assert sp.num_distinct() >= 10**6
    assert arch_stats(sp.largest()).flops <= 30e6
    assert sp.net_spec(sp.largest()).input_shape == (28, 28, 1)


def test_samples_are_uniform_over_choices():
    sp = get_space("fbnet")
    idx = np.stack([sp.to_indices(a) for a in sp.sample(jax.random.key(1), 900)])
    ops = idx[:, :22]  # the last gene (r) has one choice
    counts = np.bincount(ops.ravel(), minlength=9) / ops.size
    assert np.all(np.abs(counts - 1 / 9) < 0.02)


def test_sampling_is_deterministic_in_key():
    sp = get_space("ofa_mbv3")
    assert sp.sample(jax.random.key(3), 5) == sp.sample(jax.random.key(3), 5)
    assert sp.sample(jax.random.key(3), 5) != sp.sample(jax.random.key(4), 5)


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=25, deadline=None)
@given(seed=seeds)
def test_mutation_changes_at_least_one_gene_and_stays_valid(name, seed):
    sp = get_space(name)
    k1, k2 = jax.random.split(jax.random.key(seed))
    arch = sp.sample(k1)
    child = sp.mutate(k2, arch)
    assert child != arch
    sp.validate(child)


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=25, deadline=None)
@given(seed=seeds)
def test_crossover_takes_each_gene_from_a_parent(name, seed):
    sp = get_space(name)
    ka, kb, kc = jax.random.split(jax.random.key(seed), 3)
    a, b = sp.sample(ka), sp.sample(kb)
    c = sp.crossover(kc, a, b)
    sp.validate(c)
    assert all(g in (x, y) for g, x, y in zip(c.genes, a.genes, b.genes))


def test_canonical_ignores_inactive_slots():
    sp = get_space("ofa_mbv3")
    enc = arch_to_json(sp.largest())
    enc["d"][0] = 2
    a = sp.from_json(enc)
    enc["ks"][3] = 3  # slot 3 of stage 0 is inactive at depth 2
    b = sp.from_json(enc)
    assert a != b and sp.canonical(a) == sp.canonical(b)
    assert sp.layers(a) == sp.layers(b)


BAD = [
    ("ofa_mbv3", '{"ks":[3],"e":[3],"d":[2],"r":128}', "'ks' must be a list of 20"),
    ("ofa_mbv3", {"e": [3] * 20, "d": [2] * 5, "r": 128}, "missing key 'ks'"),
    ("ofa_mbv3", {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": 130}, "r = 130"),
    ("ofa_mbv3", {"ks": [3] * 19 + [9], "e": [3] * 20, "d": [2] * 5, "r": 128}, "ks[19] = 9"),
    ("ofa_mbv3", {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": 128, "x": 1}, "unknown key 'x'"),
    ("fbnet", {"ops": [0] * 22, "r": 32, }, None),
    ("fbnet", {"ops": [0] * 21 + [9], "r": 32}, "ops[21] = 9"),
    ("fbnet", {"ops": [0] * 22, "r": "32"}, "r must be an int"),
    ("fbnet", "[1,2]", "must be a JSON object"),
    ("fbnet", "{not json", "not valid JSON"),
    ("fashion_mnist", {"ks": [3] * 12, "e": [3] * 12, "d": [0] * 4, "r": 28}, "d[0] = 0"),
]


@pytest.mark.parametrize("space,obj,msg", BAD)
def test_bad_architectures_give_one_clear_error(space, obj, msg):
    sp = get_space(space)
    if msg is None:
        sp.from_json(obj)
        return
    with pytest.raises(ArchError) as e:
        sp.from_json(obj)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_validate_rejects_foreign_and_wrong_length():
    sp = get_space("fbnet")
    with pytest.raises(ArchError, match="belongs to space"):
        sp.validate(get_space("ofa_mbv3").largest())
    with pytest.raises(ArchError, match="expected 23 genes"):
        sp.validate(Arch("fbnet", (0,) * 5))
