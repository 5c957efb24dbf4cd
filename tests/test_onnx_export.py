"""Deployment ONNX graph: agrees with JAX under ONNX Runtime (fixed and dynamic batch, raw-pixel
input), BN folded, one layout transpose, a relative check that catches a wrong weight and passes
large logits, and the int8 model."""
import json
from collections import Counter

import numpy as np
import onnx
import pytest
from flax import nnx

from nas.export import check_onnx, export_onnx, onnx_difference
from nas.export.artifacts import ExportData, export_architecture
from nas.export.onnx import jax_logits
from nas.export.quantize import onnx_accuracy, quantize_int8
from nas.search_spaces import arch_to_json, get_space, net_stats
from nas.search_spaces.layers import expand_ops
from nas.search_spaces.static_net import StaticNet

MEAN, STD = (0.29,), (0.35,)


def _net(space="fashion_mnist", seed=0, largest=False):
    sp = get_space(space)
    arch = sp.largest() if largest else sp.smallest()
    net = StaticNet(sp.net_spec(arch), rngs=nnx.Rngs(seed), backend="native")
    # non-trivial running statistics, so that folding BatchNorm matters
    rng = np.random.default_rng(seed)
    stats = nnx.state(net, nnx.BatchStat)
    nnx.update(net, __import__("jax").tree.map(lambda a: a + 0.2 * np.abs(rng.normal(size=a.shape)).astype(np.float32),
                                               stats))
    return net


@pytest.fixture(scope="module")
def tiny_net():
    return _net()


def _raw(n, shape=(28, 28, 1), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, size=(n, *shape)).astype(np.float32)


@pytest.mark.parametrize("dynamic", [True, False])
def test_export_matches_jax_and_is_clean(tmp_path, tiny_net, dynamic):
    path = export_onnx(tiny_net, (28, 28, 1), tmp_path / "net.onnx", dynamic_batch=dynamic, mean=MEAN, std=STD)
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    ops = Counter(n.op_type for n in model.graph.node)
    n_conv = sum(op.kind in ("conv", "dwconv") for op in expand_ops(tiny_net.spec))
    assert ops["Conv"] == n_conv + 2 * sum(op.kind == "se" for op in expand_ops(tiny_net.spec))
    assert ops["Transpose"] == 1  # NHWC -> NCHW once, at the input
    assert not {"BatchNormalization", "Sub", "Sqrt", "Div", "Shape", "Gather", "Concat", "Expand"} & set(ops)
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["B" if dynamic else 1, 28, 28, 1]
    d = onnx_difference(path, tiny_net, _raw(3), mean=MEAN, std=STD)  # raw pixels in, normalisation in the graph
    assert d["rel_diff"] < 1e-5


def test_export_of_every_block_kind(tmp_path):
    """fbnet (grouped 1x1 + channel shuffle) and ofa_mbv3 (squeeze-excite, h-swish)."""
    import jax

    for space in ("fbnet", "ofa_mbv3"):
        sp = get_space(space)
        arch = sp.sample(jax.random.key(3))
        if space == "ofa_mbv3":
            arch = sp.from_json({**arch_to_json(arch), "r": 128})  # the smallest resolution: a quicker test
        net = StaticNet(sp.net_spec(arch), rngs=nnx.Rngs(0))
        shape = net.spec.input_shape
        path = export_onnx(net, shape, tmp_path / f"{space}.onnx", mean=(0.5,) * 3, std=(0.25,) * 3)
        assert onnx_difference(path, net, _raw(2, shape), mean=(0.5,) * 3, std=(0.25,) * 3)["rel_diff"] < 1e-5


def test_relative_check_fails_on_a_wrong_weight_and_passes_large_logits(tmp_path, tiny_net):
    path = export_onnx(tiny_net, (28, 28, 1), tmp_path / "net.onnx", mean=MEAN, std=STD)
    x = _raw(4)
    wrong = _net()
    wrong.layers[0].w[...] = wrong.layers[0].w[...] * 1.01  # the stem's weights off by 1%
    assert onnx_difference(path, wrong, x, mean=MEAN, std=STD)["rel_diff"] > 1e-4
    other_seed = _net(seed=1)
    assert check_onnx(path, other_seed, (x / 255 - MEAN[0]) / STD[0]) > 1e-3
    big = _net(largest=True)
    big.layers[-1].w[...] = big.layers[-1].w[...] * 3e4  # logits of order 1e4 and more
    path = export_onnx(big, (28, 28, 1), tmp_path / "big.onnx", mean=MEAN, std=STD)
    d = onnx_difference(path, big, x, mean=MEAN, std=STD)
    assert d["rel_diff"] <= 1e-4  # float32 noise relative to the logits' scale


def test_int8_per_channel_qdq_close_to_float(tmp_path, tiny_net):
    f = export_onnx(tiny_net, (28, 28, 1), tmp_path / "net.onnx", mean=MEAN, std=STD)
    q = quantize_int8(f, tmp_path / "int8.onnx", _raw(64, seed=1))
    model = onnx.load(str(q))
    ops = Counter(n.op_type for n in model.graph.node)
    assert ops["QuantizeLinear"] > 0 and ops["DequantizeLinear"] > ops["Conv"] > 0
    per_channel = [n for n in model.graph.node if n.op_type == "DequantizeLinear"
                   and any(a.name == "axis" for a in n.attribute)]
    assert len(per_channel) >= ops["Conv"] - 2  # conv weights quantised per output channel
    x = _raw(64, seed=2)
    labels = jax_logits(tiny_net, (x / 255 - MEAN[0]) / STD[0]).argmax(-1)
    assert onnx_accuracy(f, x, labels) == 1.0
    assert onnx_accuracy(q, x, labels) >= 0.8  # int8 keeps most of the float model's decisions


def _max_int8_weight(path) -> int:
    """The largest |value| among the model's int8 weight initializers (per-channel quantised)."""
    from onnx import TensorProto, numpy_helper

    model = onnx.load(str(path))
    per_channel = {n.input[0] for n in model.graph.node if n.op_type == "DequantizeLinear"
                   and any(a.name == "axis" for a in n.attribute)}
    ws = [numpy_helper.to_array(t) for t in model.graph.initializer
          if t.name in per_channel and t.data_type == TensorProto.INT8]
    assert ws
    return max(int(np.abs(w.astype(np.int32)).max()) for w in ws)


def test_int8_weights_use_8_bits_by_default_and_7_on_request(tmp_path, tiny_net):
    f = export_onnx(tiny_net, (28, 28, 1), tmp_path / "net.onnx", mean=MEAN, std=STD)
    calib = _raw(32, seed=1)
    assert _max_int8_weight(quantize_int8(f, tmp_path / "int8.onnx", calib)) == 127  # symmetric 8-bit
    assert _max_int8_weight(quantize_int8(f, tmp_path / "int7.onnx", calib, weight_bits=7)) <= 64
    with pytest.raises(ValueError, match="must be 8 or 7"):
        quantize_int8(f, tmp_path / "int6.onnx", calib, weight_bits=6)
    # the bits are recorded in arch.json: the default export is 8-bit, the option 7-bit
    labels = np.zeros(32, np.int32)
    data = ExportData(MEAN, STD, calib, calib, labels)
    for bits, kw in ((8, {}), (7, {"int8_weight_bits": 7})):
        out = tmp_path / f"e{bits}"
        export_architecture(tiny_net, tiny_net.spec, out, name="n", arch_json=None, space="fashion_mnist",
                            formats=("json", "onnx-int8"), data=data, **kw)
        assert json.loads((out / "arch.json").read_text())["int8_weight_bits"] == {"onnx-int8": bits}
        assert (_max_int8_weight(out / "model_int8.onnx") == 127) == (bits == 8)


def test_export_architecture_records_input_and_accuracy(tmp_path, tiny_net):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(40, 28, 28, 1), dtype=np.uint8)
    labels = jax_logits(tiny_net, (imgs / 255.0 - MEAN[0]) / STD[0]).argmax(-1)
    data = ExportData(MEAN, STD, imgs[:32], imgs, labels)
    sp = get_space("fashion_mnist")
    rec = export_architecture(tiny_net, tiny_net.spec, tmp_path / "e", name="n", arch_json=arch_to_json(sp.smallest()),
                              space="fashion_mnist", formats=("json", "onnx", "onnx-int8"), data=data)
    stored = json.loads((tmp_path / "e" / "arch.json").read_text())
    assert stored == json.loads(json.dumps(rec))
    assert stored["input"]["normalization"] == {"mean": list(MEAN), "std": list(STD),
                                                "formula": "(x / 255 - mean) / std", "in_graph": True}
    assert stored["input"]["shape"] == [1, 28, 28, 1] and stored["input"]["pixels"] == "raw, 0..255"
    assert stored["accuracy"]["onnx"] == 1.0 and 0.5 <= stored["accuracy"]["onnx-int8"] <= 1.0
    assert stored["stats"] == net_stats(tiny_net.spec).to_dict()
    check = json.loads((tmp_path / "e" / "onnx_check.json").read_text())
    assert check["tolerance_kind"] == "relative" and check["rel_diff"] < 1e-5
