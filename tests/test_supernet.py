"""Masked supernet: one trace for all subnets, extract_subnet equivalence, BN masking."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from nas.search_spaces import ArchError, get_space
from nas.search_spaces.elastic_mbconv import ElasticConfig, ElasticMBConvSpace, StageDef
from nas.search_spaces.extract import extract_subnet
from nas.search_spaces.supernet import Supernet

FM = get_space("fashion_mnist")
# a small elastic space (all kernel sizes, SE, stride 2, elastic depth) for compile-heavy tests
TINY = ElasticMBConvSpace("tiny", ElasticConfig(
    in_channels=1, num_classes=4, stem_width=8, stem_stride=2, first_width=8,
    stages=(StageDef(8, 1, "relu", False), StageDef(16, 2, "hswish", True)),
    final_width=16, feature_width=0, expands=(1, 2, 3), depths=(1, 2, 3), resolutions=(12,)))


def _randomize_bn(model, seed):
    """Nontrivial BN parameters and running statistics (random scale, bias, mean, var > 0)."""
    state = nnx.state(model)
    leaves, treedef = jax.tree.flatten(nnx.to_pure_dict(state))
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    paths = [p for p, _ in jax.tree_util.tree_flatten_with_path(nnx.to_pure_dict(state))[0]]
    new = []
    for p, v, k in zip(paths, leaves, keys):
        name = p[-1].key
        if name in ("mean", "bias", "b1", "b2"):
            v = 0.3 * jax.random.normal(k, v.shape)
        elif name in ("var", "scale"):
            v = jax.random.uniform(k, v.shape, minval=0.5, maxval=1.5)
        new.append(v)
    nnx.replace_by_pure_dict(state, jax.tree.unflatten(treedef, new))
    nnx.update(model, state)


@pytest.fixture(scope="module")
def supernet():
    net = Supernet(FM, rngs=nnx.Rngs(0))
    _randomize_bn(net, 1)
    return net


@nnx.jit
def _eval(model, x, a):
    return model(x, a)


@pytest.mark.slow
def test_extracted_subnets_match_masked_supernet(supernet):
    x = jax.random.normal(jax.random.key(2), (2, 28, 28, 1))
    archs = [FM.largest(), FM.smallest()] + FM.sample(jax.random.key(3), 3)
    for arch in archs:
        y_super = _eval(supernet, x, supernet.arch_arrays(arch))
        static = extract_subnet(supernet, arch)
        y_static = nnx.jit(lambda m, x: m(x))(static, x)
        np.testing.assert_allclose(y_static, y_super, rtol=1e-4, atol=1e-4 * float(jnp.abs(y_super).max()))
        assert static.spec == FM.net_spec(arch)


@pytest.mark.slow
def test_ofa_extracted_subnet_matches_at_small_resolution():
    ofa = get_space("ofa_mbv3")
    net = Supernet(ofa, rngs=nnx.Rngs(0))
    _randomize_bn(net, 5)
    arch = ofa.from_json({**ofa.to_json(ofa.sample(jax.random.key(6))), "r": 128})
    x = jax.random.normal(jax.random.key(7), (1, 128, 128, 3))
    y_super = _eval(net, x, net.arch_arrays(arch))
    y_static = nnx.jit(lambda m, x: m(x))(extract_subnet(net, arch), x)
    assert y_super.shape == (1, 1000)
    np.testing.assert_allclose(y_static, y_super, rtol=1e-4, atol=1e-4 * float(jnp.abs(y_super).max()))


@pytest.mark.slow
def test_twenty_subnets_trace_train_and_eval_steps_once():
    model = Supernet(TINY, rngs=nnx.Rngs(1))
    opt = nnx.Optimizer(model, optax.sgd(0.01), wrt=nnx.Param)
    traces = {"train": 0, "eval": 0}

    @nnx.jit
    def train_step(model, opt, x, y, a):
        traces["train"] += 1

        def loss_fn(m):
            return optax.softmax_cross_entropy_with_integer_labels(m(x, a, train=True), y).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        opt.update(model, grads)
        return loss

    @nnx.jit
    def eval_step(model, x, a):
        traces["eval"] += 1
        return model(x, a).argmax(-1)

    x = jax.random.normal(jax.random.key(0), (2, 12, 12, 1))
    y = jnp.array([1, 2])
    archs = TINY.sample(jax.random.key(9), 20)
    assert len(set(archs)) == 20
    for arch in archs:
        a = model.arch_arrays(arch)
        assert np.isfinite(float(train_step(model, opt, x, y, a)))
        eval_step(model, x, a)
    assert traces == {"train": 1, "eval": 1}


@pytest.mark.slow
def test_cpu_and_native_ops_give_same_outputs_and_gradients():
    arch = TINY.sample(jax.random.key(11))
    nets = {b: Supernet(TINY, rngs=nnx.Rngs(2), backend=b) for b in ("cpu", "native")}
    x = jax.random.normal(jax.random.key(3), (2, 12, 12, 1))
    out = {}
    for b, net in nets.items():
        a = net.arch_arrays(arch)

        def loss(m, a=a):
            return jnp.sum(jnp.sin(m(x, a, train=True)))

        out[b] = nnx.jit(lambda m, f=loss: nnx.value_and_grad(f)(m))(net)
    for u, v in zip(jax.tree.leaves(out["cpu"]), jax.tree.leaves(out["native"])):
        np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-4)
    for u, v in zip(jax.tree.leaves(nnx.state(nets["cpu"], nnx.BatchStat)),
                    jax.tree.leaves(nnx.state(nets["native"], nnx.BatchStat))):
        np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5)


def test_bn_updates_only_active_channels_and_blocks():
    net = Supernet(FM, rngs=nnx.Rngs(3))
    arch = FM.smallest()  # k3, e3, depth 1 everywhere
    a = net.arch_arrays(arch)
    before = jax.tree.map(np.array, nnx.to_pure_dict(nnx.state(net, nnx.BatchStat)))
    nnx.jit(lambda m, x, a: m(x, a, train=True))(net, jax.random.normal(jax.random.key(4), (4, 28, 28, 1)), a)
    after = nnx.to_pure_dict(nnx.state(net, nnx.BatchStat))
    block0 = (before["stages"][0][0], after["stages"][0][0])
    mid = int(a["mid"][0, 0])
    for layer in ("expand", "dw"):
        old, new = block0[0][layer]["bn"]["mean"], np.asarray(block0[1][layer]["bn"]["mean"])
        assert not np.allclose(old[:mid], new[:mid])
        np.testing.assert_array_equal(old[mid:], new[mid:])
    for j in range(1, FM.slots):  # depth 1: slots 1.. are inactive
        for u, v in zip(jax.tree.leaves(before["stages"][0][j]), jax.tree.leaves(after["stages"][0][j])):
            np.testing.assert_array_equal(u, v)


def test_bn_momentum_schedule_gives_cumulative_mean():
    net = Supernet(FM, rngs=nnx.Rngs(4))
    a = net.arch_arrays(FM.largest())
    step = nnx.jit(lambda m, x, mom: m(x, a, train=True, bn_momentum=mom))
    xs = [jax.random.normal(jax.random.key(10 + i), (3, 28, 28, 1)) * (i + 1) for i in range(3)]
    for i, x in enumerate(xs):
        step(net, x, jnp.float32(i / (i + 1)))
    stem = net.stem[0]
    from nas.search_spaces.ops import conv2d
    means = [conv2d(x, stem.w[...], stride=2).mean(axis=(0, 1, 2)) for x in xs]
    np.testing.assert_allclose(stem.bn.mean[...], np.mean(means, axis=0), rtol=1e-4, atol=1e-5)


def test_arch_arrays_have_fixed_shapes_and_reject_other_spaces(supernet):
    shapes = {k: v.shape for k, v in supernet.arch_arrays(FM.smallest()).items()}
    assert shapes == {k: v.shape for k, v in supernet.arch_arrays(FM.largest()).items()}
    assert all(v.dtype == jnp.int32 for v in supernet.arch_arrays(FM.largest()).values())
    with pytest.raises(ArchError):
        supernet.arch_arrays(get_space("ofa_mbv3").largest())
