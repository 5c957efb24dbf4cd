"""ONNX export of a static network agrees with JAX under ONNX Runtime (batch 1 and dynamic batch)."""
import numpy as np
import onnx
import pytest
from flax import nnx

from nas.export import check_onnx, export_onnx
from search_spaces import get_space
from search_spaces.static_net import StaticNet


@pytest.fixture(scope="module")
def tiny_net():
    sp = get_space("fashion_mnist")
    return StaticNet(sp.net_spec(sp.smallest()), rngs=nnx.Rngs(0), backend="native")


@pytest.mark.parametrize("dynamic", [True, False])
def test_export_matches_jax(tmp_path, tiny_net, dynamic):
    path = export_onnx(tiny_net, (28, 28, 1), tmp_path / "net.onnx", dynamic_batch=dynamic)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    ops = {n.op_type for n in model.graph.node}
    assert "Conv" in ops  # standard convolutions in the exported graph
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["B" if dynamic else 1, 28, 28, 1]  # a symbolic batch, or batch 1
    x = np.random.default_rng(0).normal(size=(3, 28, 28, 1)).astype(np.float32)
    diff = check_onnx(path, tiny_net, x)
    assert 0 <= diff < 1e-4


def test_check_detects_a_different_network(tmp_path, tiny_net):
    sp = get_space("fashion_mnist")
    other = StaticNet(sp.net_spec(sp.smallest()), rngs=nnx.Rngs(1), backend="native")
    path = export_onnx(tiny_net, (28, 28, 1), tmp_path / "net.onnx")
    x = np.random.default_rng(0).normal(size=(2, 28, 28, 1)).astype(np.float32)
    assert check_onnx(path, other, x) > 1e-3
