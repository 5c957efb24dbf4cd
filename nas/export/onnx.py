"""ONNX export of a static network (:mod:`nas.export.graph`) and its check against JAX.

The exported graph takes float32 NHWC input ``[B, H, W, C]``: raw pixels 0..255 when the
normalisation (``mean``/``std``) is given (it is then the graph's first operation), else
inputs already normalised. ``B`` is 1 by default, any fixed batch, or symbolic
(``dynamic_batch=True``). Output: logits ``[B, num_classes]``.

The check is relative to the size of the logits: ``max|onnx - jax| / max|jax|``. float32
rounding grows with the logits (networks with large logits differ by 1e-3 absolute and more
while agreeing to 1e-6 relative); a real export error (a wrong weight, layout or operator)
changes the output by a fraction of its scale.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nas.export.graph import INPUT_NAME, OUTPUT_NAME, build_onnx
from nas.files import atomic_write_bytes

__all__ = ["INPUT_NAME", "OUTPUT_NAME", "check_onnx", "export_onnx", "onnx_difference", "ort_session",
           "run_onnx"]


def export_onnx(model, input_shape, path, *, dynamic_batch: bool = False, batch: int = 1, mean=None,
                std=None) -> Path:
    """Write the :class:`~nas.search_spaces.static_net.StaticNet` ``model`` as ONNX to ``path``.

    ``input_shape``: (H, W, C) of one example (must equal ``model.spec.input_shape``).
    ``dynamic_batch`` gives a symbolic batch, else ``batch`` is fixed.
    """
    if tuple(int(v) for v in input_shape) != tuple(model.spec.input_shape):
        raise ValueError(f"input shape {tuple(input_shape)} differs from the network's {model.spec.input_shape}")
    proto = build_onnx(model, batch=None if dynamic_batch else batch, mean=mean, std=std)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(p, proto.SerializeToString())


def ort_session(path, *, threads: int = 1):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads and one inter-op thread;
    ``path`` is a file or a serialised model (bytes)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(path if isinstance(path, bytes) else str(path), so,
                                providers=["CPUExecutionProvider"])


def run_onnx(sess, x, *, chunk: int = 256) -> np.ndarray:
    """Outputs of session ``sess`` on ``x`` ``[N, H, W, C]`` in chunks of the graph's batch (a
    fixed batch pads the last chunk; a symbolic one runs ``chunk`` examples at a time)."""
    x = np.asarray(x, dtype=np.float32)
    inp = sess.get_inputs()[0]
    batch = inp.shape[0] if isinstance(inp.shape[0], int) else chunk
    outs = []
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        n = len(xb)
        if n < batch and isinstance(inp.shape[0], int):
            xb = np.concatenate([xb, np.zeros((batch - n, *xb.shape[1:]), np.float32)])
        outs.append(sess.run(None, {inp.name: xb})[0][:n])
    return np.concatenate(outs)


def onnx_difference(path, model, x, *, mean=None, std=None) -> dict:
    """``{"max_abs_diff", "rel_diff"}`` between ONNX Runtime on ``x`` and the JAX ``model``.

    ``x`` ``[N, H, W, C]`` is what the graph takes (raw pixels when ``mean``/``std`` are given:
    JAX then sees ``(x / 255 - mean) / std``). ``rel_diff = max|onnx - jax| / max|jax|``.
    """
    x = np.asarray(x, dtype=np.float32)
    got = run_onnx(ort_session(path), x)
    xin = x if mean is None else (x / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    want = jax_logits(model, xin)
    diff = float(np.max(np.abs(got - want)))
    return {"max_abs_diff": diff, "rel_diff": diff / max(float(np.max(np.abs(want))), 1e-12)}


def jax_logits(model, x) -> np.ndarray:
    """``model(x, train=False)`` compiled once (an eager call compiles every operation apart)."""
    import jax

    return np.asarray(jax.jit(lambda v: model(v, train=False))(np.asarray(x, np.float32)))


def check_onnx(path, model, x) -> float:
    """Max absolute difference between ONNX Runtime and JAX outputs on (normalised) ``x``."""
    return onnx_difference(path, model, x)["max_abs_diff"]
