"""StaticNet: parameter count = cost model, XLA's convolution FLOPs = cost model, ONNX export."""
import math

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from nas.search_spaces import expand_ops, get_reference_model, get_space, net_stats
from nas.search_spaces.layers import ConvBlock, Dense, GlobalPool, MBConv, NetSpec, SkipBlock
from nas.search_spaces.static_net import StaticNet, num_params

# every block kind: grouped 1x1 + shuffle, SE (both gates), no-expand MBConv, skip conv, dense
ALL_BLOCKS = NetSpec((12, 12, 3), (
    ConvBlock(8, 3, 2, "hswish"), MBConv(8, 3, 1, 8, "relu", expand=False),
    MBConv(12, 5, 2, 24, "relu", groups=2), MBConv(12, 3, 1, 36, "hswish", se_mid=8),
    MBConv(12, 7, 1, 24, "swish", se_mid=6, se_act="sigmoid", se_inner_act="swish"),
    SkipBlock(12), SkipBlock(16, 2), ConvBlock(32, 1, 1, "relu6"), GlobalPool(),
    Dense(20, "hswish"), Dense(5)))


def _specs():
    fm, ofa, fb = get_space("fashion_mnist"), get_space("ofa_mbv3"), get_space("fbnet")
    key = jax.random.key(7)
    return ([get_reference_model(n, resolution=32) for n in
             ("mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0")]
            + [s.net_spec(a) for s in (fm, ofa, fb) for a in s.sample(key, 2)] + [ALL_BLOCKS])


@pytest.mark.parametrize("spec", _specs(), ids=lambda s: f"{len(s.blocks)}blocks")
def test_param_count_equals_cost_model(spec):
    net = nnx.eval_shape(lambda: StaticNet(spec, rngs=nnx.Rngs(0)))
    assert num_params(net) == net_stats(spec).params


@pytest.mark.slow
def test_train_mode_updates_running_stats_and_eval_uses_them():
    net = StaticNet(ALL_BLOCKS, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (4, 12, 12, 3))
    before = jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(net, nnx.BatchStat)))
    y_train = net(x, train=True)
    after = nnx.to_pure_dict(nnx.state(net, nnx.BatchStat))
    changed = [not np.allclose(a, b) for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(after))]
    assert all(changed)
    assert y_train.shape == (4, 5) and net(x).shape == (4, 5)
    # eval normalises with the running statistics, not the batch's: they differ after one step
    # (momentum 0.9), and once set to this batch's (momentum 0) eval reproduces train mode
    assert not np.allclose(net(x), y_train, rtol=1e-3, atol=1e-3)
    y0 = net(x, train=True, bn_momentum=0.0)
    np.testing.assert_allclose(net(x), y0, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- XLA cost check
def _valid_taps(size, k, s):
    """Kernel taps per output position summed along one axis, excluding zero padding."""
    p = k // 2
    return sum(sum(1 for t in range(k) if 0 <= i * s - p + t < size) for i in range(math.ceil(size / s)))


def valid_macs(spec):
    """Cost-model MACs with padded taps left out (XLA's convention)."""
    total = 0
    for op in expand_ops(spec):
        if op.kind in ("conv", "dwconv"):
            taps = _valid_taps(op.h_in, op.kernel, op.stride) * _valid_taps(op.w_in, op.kernel, op.stride)
            total += taps * (op.c_in // op.groups) * op.c_out
        else:
            total += op.macs
    return total


def _xla_flops(prim, invars, params):
    args = [jax.ShapeDtypeStruct(v.aval.shape, v.aval.dtype) for v in invars]
    fn = jax.jit(lambda *a: prim.bind(*a, **params))
    return fn.lower(*args).compile().cost_analysis()["flops"]


def xla_matmul_conv_flops(fn, *args):
    """XLA's FLOPs of every convolution and dot in fn's jaxpr, each compiled on its own (so
    the elementwise work of BN, activations and adds, which the cost model leaves out, is
    not counted)."""
    cache, total = {}, 0.0

    def walk(jaxpr):
        nonlocal total
        for eqn in jaxpr.eqns:
            if eqn.primitive.name in ("conv_general_dilated", "dot_general"):
                key = (eqn.primitive.name, tuple(v.aval.shape for v in eqn.invars), str(eqn.params))
                if key not in cache:
                    cache[key] = _xla_flops(eqn.primitive, eqn.invars, eqn.params)
                total += cache[key]
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                walk(sub)

    walk(jax.make_jaxpr(fn)(*args).jaxpr)
    return total


@pytest.mark.parametrize("which", ["fashion_largest", "fashion_random", "ofa_random", "mobilenet_v3"])
def test_xla_conv_flops_match_cost_model(which):
    fm, ofa = get_space("fashion_mnist"), get_space("ofa_mbv3")
    spec = {"fashion_largest": lambda: fm.net_spec(fm.largest()),
            "fashion_random": lambda: fm.net_spec(fm.sample(jax.random.key(3))),
            "ofa_random": lambda: ofa.net_spec(ofa.sample(jax.random.key(4))),
            "mobilenet_v3": lambda: get_reference_model("mobilenet_v3_large", resolution=64)}[which]()
    net = nnx.eval_shape(lambda: StaticNet(spec, rngs=nnx.Rngs(0), backend="native"))
    graphdef, state = nnx.split(net)
    x = jax.ShapeDtypeStruct((1, *spec.input_shape), jnp.float32)
    flops = xla_matmul_conv_flops(lambda s, x: nnx.merge(graphdef, s)(x), state, x)
    assert abs(flops / (2 * valid_macs(spec)) - 1) < 0.05
    # the whole compiled network does at least its conv/dense work
    whole = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x)).lower(state, x).compile().cost_analysis()
    assert whole["flops"] >= 0.95 * flops


def test_valid_macs_equals_macs_without_padding():
    spec = NetSpec((8, 8, 4), (ConvBlock(8, 1, 1), GlobalPool(), Dense(3)))
    assert valid_macs(spec) == net_stats(spec).macs
    spec = NetSpec((3, 3, 1), (ConvBlock(1, 3, 1), GlobalPool(), Dense(1)))
    assert valid_macs(spec) == 7 * 7 + 1 and net_stats(spec).macs == 81 + 1


# --------------------------------------------------------------------------- ONNX export
def test_onnx_export_matches_jax():
    import onnxruntime
    from jax2onnx import to_onnx

    net = StaticNet(ALL_BLOCKS, rngs=nnx.Rngs(0), backend="native")
    x = jax.random.normal(jax.random.key(2), (2, 12, 12, 3))
    net(x, train=True)  # nontrivial running statistics
    model = to_onnx(lambda x: net(x), [jax.ShapeDtypeStruct(x.shape, jnp.float32)])
    ops = {n.op_type for n in model.graph.node}
    assert "Conv" in ops
    sess = onnxruntime.InferenceSession(model.SerializeToString())
    y = sess.run(None, {sess.get_inputs()[0].name: np.asarray(x)})[0]
    np.testing.assert_allclose(y, net(x), rtol=1e-4, atol=1e-4)
