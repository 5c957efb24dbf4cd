"""ONNX export of a static network (jax2onnx) and its check against JAX with ONNX Runtime.

The exported graph takes float32 NHWC input ``[B, H, W, C]`` with a symbolic batch ``B``
(``dynamic_batch=True``) or batch 1, and returns the logits ``[B, num_classes]``. Export the
network built with ``backend="native"`` so the graph holds standard convolutions.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nas.files import atomic_write_bytes

INPUT_NAME = "x"
OUTPUT_NAME = "logits"


def export_onnx(model, input_shape, path, *, dynamic_batch: bool = True, opset: int = 21) -> Path:
    """Write ``model`` (``model(x, train=False)``) as ONNX to ``path``; returns the path.

    ``input_shape``: (H, W, C) of one example.
    """
    from jax2onnx import to_onnx

    h, w, c = (int(v) for v in input_shape)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)

    def forward(x):
        return model(x, train=False)

    proto = to_onnx(forward, [("B" if dynamic_batch else 1, h, w, c)], model_name="static_net",
                    opset=opset, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME])
    return atomic_write_bytes(p, proto.SerializeToString())


def ort_session(path, *, threads: int = 1):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads and one inter-op thread."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def check_onnx(path, model, x) -> float:
    """Max absolute difference between ONNX Runtime and JAX outputs on ``x`` ``[N, H, W, C]``.

    A graph exported with batch 1 is run example by example.
    """
    x = np.asarray(x, dtype=np.float32)
    sess = ort_session(path)
    batch = sess.get_inputs()[0].shape[0]
    if isinstance(batch, int):
        got = np.concatenate([sess.run(None, {sess.get_inputs()[0].name: x[i:i + batch]})[0]
                              for i in range(0, len(x), batch)])
    else:
        got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    want = np.asarray(model(x, train=False))
    return float(np.max(np.abs(got - want)))
