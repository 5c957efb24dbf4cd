"""LiteRT export: float and int8 .tflite with DEPTHWISE_CONV_2D for every depthwise layer, the
float file equal to JAX, the int8 file agreeing with the int8 ONNX model; a LiteRT bundle runs."""
import json
import subprocess
import sys

import numpy as np
import pytest
from flax import nnx

from nas.cli.main import main
from nas.export.artifacts import ExportData, export_architecture
from nas.export.litert import convert_tflite, op_counts, run_tflite
from nas.search_spaces import get_space
from nas.search_spaces.layers import expand_ops
from nas.search_spaces.static_net import StaticNet

MEAN, STD = (0.29,), (0.35,)


@pytest.fixture(scope="module")
def net():
    sp = get_space("fashion_mnist")
    return StaticNet(sp.net_spec(sp.smallest()), rngs=nnx.Rngs(0))


def test_float_tflite_matches_jax_with_depthwise_ops(net):
    blob = convert_tflite(net, mean=MEAN, std=STD)
    ops = op_counts(blob)
    n_dw = sum(op.kind == "dwconv" for op in expand_ops(net.spec))
    assert n_dw > 0 and ops["DEPTHWISE_CONV_2D"] == n_dw
    assert "TRANSPOSE" not in ops  # NHWC throughout
    x = np.random.default_rng(0).uniform(0, 255, size=(3, 28, 28, 1)).astype(np.float32)
    want = np.asarray(net((x / 255 - MEAN[0]) / STD[0]))
    assert np.abs(run_tflite(blob, x) - want).max() <= 1e-5 * np.abs(want).max()


@pytest.mark.slow
def test_export_tflite_int8_agrees_with_onnx_int8(tmp_path, net):
    # an untrained network on noise is close to a tie between classes on most images, so any
    # rounding flips its top-1; judge the int8 files on the 64 images of 1,024 it is surest about
    pool = np.random.default_rng(0).integers(0, 256, size=(1024, 28, 28, 1), dtype=np.uint8)
    raw = np.asarray(net((pool / 255.0 - MEAN[0]) / STD[0]))
    logits = np.sort(raw, axis=-1)
    margin = (logits[:, -1] - logits[:, -2]) / (logits[:, -1] - logits[:, 0])
    surest = np.argsort(-margin)[:64]
    imgs, labels = pool[surest], raw[surest].argmax(-1)
    data = ExportData(MEAN, STD, imgs[:32], imgs, labels)
    # the ONNX int8 reference runs here, under ONNX Runtime on x86, whose int8 kernels without
    # VNNI saturate 16-bit sums of 8-bit weight products (73% top-1 agreement with float on an
    # AVX2 EPYC): the local check uses the 7-bit option made for such machines; LiteRT's int8
    # file keeps 8-bit weights (its kernels here do not saturate)
    rec = export_architecture(net, net.spec, tmp_path / "e", name="n", arch_json=None, space="fashion_mnist",
                              formats=("json", "onnx-int8", "tflite", "tflite-int8"), data=data, int8_weight_bits=7)
    assert rec["int8_weight_bits"] == {"onnx-int8": 7, "tflite-int8": 8}
    assert rec["accuracy"]["tflite"] == 1.0 and rec["accuracy"]["onnx"] == 1.0
    check = json.loads((tmp_path / "e" / "tflite_check.json").read_text())
    assert check["int8"]["ops"]["DEPTHWISE_CONV_2D"] == check["depthwise_layers"] > 0
    assert check["int8"]["top1_agreement_with_onnx_int8"] >= 0.9
    assert rec["accuracy"]["onnx-int8"] >= 0.9 and rec["accuracy"]["tflite-int8"] >= 0.9
    assert (tmp_path / "e" / "model_int8.tflite").stat().st_size < (tmp_path / "e" / "model.tflite").stat().st_size


@pytest.mark.slow
def test_litert_bundle_runs(tmp_path):
    d = tmp_path / "b"
    assert main(["latency", "bundle", "fashion_mnist", "--n", "2", "--runtime", "litert", "--out", str(d)]) == 0
    proc = subprocess.run([sys.executable, "-I", str(d / "run_bundle.py"), "--warmup", "1", "--repeats", "3",
                           "--rounds", "2"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((d / "latency.json").read_text())
    assert meta["runtime"] == "litert" and meta["precision"] == "float32" and len(meta["models"]) == 2
