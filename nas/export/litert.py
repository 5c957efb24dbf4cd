"""LiteRT (TFLite) export: float32 and int8 ``.tflite`` files, checked in the LiteRT interpreter.

Path: the same description of the deployed network as the ONNX graph
(:func:`nas.export.graph.walk`, BN folded) emitted as TensorFlow operations in NHWC (TFLite's
own layout, so no transposes), traced into a ``tf.function`` and converted with
``tf.lite.TFLiteConverter``. Depthwise convolutions are ``tf.nn.depthwise_conv2d``, which the
converter writes as DEPTHWISE_CONV_2D (asserted by :func:`op_counts`); stride-2 convolutions get
an explicit symmetric PAD like the JAX network. int8: full-integer post-training quantisation
(per-channel conv weights, activations calibrated on training images) with float32 input and
output, so the file is a drop-in replacement for the float one.

Needs TensorFlow (``pip install 'jaxnas[litert]'``); the interpreter is ``ai-edge-litert``.
"""
from __future__ import annotations

import numpy as np

from nas.errors import InputError
from nas.export.check import ExportError, check_input
from nas.files import atomic_write_bytes, atomic_write_json


def require_tensorflow():
    try:
        import tensorflow as tf
    except ImportError:
        raise InputError("tflite export needs TensorFlow: pip install 'jaxnas[litert]'") from None
    return tf


class _TfOps:
    def __init__(self, tf):
        self.tf = tf

    def conv(self, x, w_hwio, b, stride, groups):
        tf = self.tf
        p = int(w_hwio.shape[0]) // 2
        cin, cout = int(x.shape[-1]), int(w_hwio.shape[-1])
        if stride > 1 and p:
            x = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])
        pad = "SAME" if stride == 1 else "VALID"
        if groups == cin == cout and groups > 1:
            w = tf.constant(np.transpose(w_hwio, (0, 1, 3, 2)))  # [k, k, C, 1]
            y = tf.nn.depthwise_conv2d(x, w, [1, stride, stride, 1], pad)
        elif groups == 1:
            y = tf.nn.conv2d(x, tf.constant(w_hwio), stride, pad)
        else:
            og = cout // groups
            xs = tf.split(x, groups, axis=-1)
            y = tf.concat([tf.nn.conv2d(xs[i], tf.constant(w_hwio[..., i * og:(i + 1) * og]), stride, pad)
                           for i in range(groups)], axis=-1)
        return y + tf.constant(np.asarray(b, np.float32))

    def act(self, name, x):
        tf = self.tf
        if name == "none":
            return x
        if name == "relu":
            return tf.nn.relu(x)
        if name == "relu6":
            return tf.nn.relu6(x)
        if name == "hswish":
            return x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)
        if name == "hsigmoid":
            return tf.nn.relu6(x + 3.0) * (1.0 / 6.0)
        if name == "sigmoid":
            return tf.sigmoid(x)
        if name == "swish":
            return x * tf.sigmoid(x)
        raise ValueError(f"unknown activation {name!r}")

    def add(self, a, b):
        return a + b

    def mul(self, a, b):
        return a * b

    def shuffle(self, x, groups, c, h, w):
        if groups == 1:
            return x
        tf = self.tf
        y = tf.reshape(x, [-1, h, w, groups, c // groups])
        return tf.reshape(tf.transpose(y, [0, 1, 2, 4, 3]), [-1, h, w, c])

    def pool(self, x, keep):
        return self.tf.reduce_mean(x, axis=[1, 2], keepdims=keep)

    def dense(self, x, w, b):
        return self.tf.matmul(x, self.tf.constant(np.asarray(w, np.float32))) + self.tf.constant(np.asarray(b))


def convert_tflite(net, *, batch: int | None = 1, mean=None, std=None, calibration=None) -> bytes:
    """The ``.tflite`` flatbuffer of ``net`` (raw-pixel NHWC float32 input when ``mean``/``std``
    are given); int8 (full-integer, float I/O) when ``calibration`` images ``[N, H, W, C]`` are
    given, float32 otherwise."""
    import logging
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = require_tensorflow()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    from nas.export.graph import walk

    h, w, c = (int(v) for v in net.spec.input_shape)
    ops = _TfOps(tf)

    @tf.function(input_signature=[tf.TensorSpec([batch, h, w, c], tf.float32, name="x")])
    def forward(x):
        if mean is not None:
            s = np.asarray(std, np.float64)
            x = x * tf.constant((1.0 / (255.0 * s)).astype(np.float32)) + tf.constant(
                (-np.asarray(mean, np.float64) / s).astype(np.float32))
        return {"logits": walk(net, ops, x)}

    conv = tf.lite.TFLiteConverter.from_concrete_functions([forward.get_concrete_function()], forward)
    if calibration is not None:
        calib = np.asarray(calibration, np.float32)
        step = batch or 1

        def rep():
            for i in range(0, len(calib) - step + 1, step):
                yield [calib[i:i + step]]

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return conv.convert()


def interpreter(model, threads: int = 1):
    """A LiteRT interpreter (``ai_edge_litert``; TensorFlow's as a fall-back) for a path or bytes."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = require_tensorflow().lite.Interpreter
    kw = {"model_content": model} if isinstance(model, bytes) else {"model_path": str(model)}
    it = Interpreter(num_threads=threads, **kw)
    it.allocate_tensors()
    return it


def op_counts(model) -> dict[str, int]:
    """Operator name -> count in a .tflite model (path or bytes)."""
    from collections import Counter

    return dict(Counter(d["op_name"] for d in interpreter(model)._get_ops_details()))


def run_tflite(model, x) -> np.ndarray:
    """Outputs of a .tflite model on ``x`` ``[N, H, W, C]`` in chunks of its batch (padded)."""
    it = interpreter(model)
    d, o = it.get_input_details()[0], it.get_output_details()[0]
    batch = int(d["shape"][0])
    x = np.asarray(x, np.float32)
    outs = []
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        n = len(xb)
        if n < batch:
            xb = np.concatenate([xb, np.zeros((batch - n, *xb.shape[1:]), np.float32)])
        it.set_tensor(d["index"], xb)
        it.invoke()
        outs.append(it.get_tensor(o["index"])[:n].copy())
    return np.concatenate(outs)


def export_tflite(out, net, spec, *, formats, data=None, seed: int = 0, batch: int | None = 1,
                  tolerance: float = 1e-4) -> dict:
    """Write ``model.tflite`` / ``model_int8.tflite`` into the :class:`~nas.rundir.ExportDir`
    ``out`` and ``tflite_check.json``; return the arch.json entries.

    Checks: the float file against JAX (relative difference, :class:`ExportError` above
    ``tolerance``), DEPTHWISE_CONV_2D present for every depthwise layer (ExportError
    otherwise), and the int8 file's top-1 agreement with the int8 ONNX model on the test
    split when both exist.
    """
    from nas.export.onnx import jax_logits
    from nas.search_spaces.layers import expand_ops

    mean, std = (data.mean, data.std) if data is not None else (None, None)
    n_dw = sum(op.kind == "dwconv" for op in expand_ops(spec))
    rec, check = {}, {"depthwise_layers": n_dw}
    has_test = data is not None and len(data.test_labels) > 0
    if "tflite" in formats:
        blob = convert_tflite(net, batch=batch, mean=mean, std=std)
        atomic_write_bytes(out.tflite, blob)
        ops = op_counts(blob)
        x = check_input(spec.input_shape, batch, raw_pixels=data is not None, seed=seed)
        got = run_tflite(blob, x)
        xin = x if mean is None else (x / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
        want = jax_logits(net, xin)
        diff = float(np.max(np.abs(got - want)))
        check["float"] = {"ops": ops, "max_abs_diff": diff, "rel_diff": diff / max(float(np.abs(want).max()), 1e-12)}
        if not check["float"]["rel_diff"] <= tolerance:
            raise ExportError(f"{out.path.name}: LiteRT output differs from JAX by {check['float']['rel_diff']:.3g} "
                              f"of the logits' scale > {tolerance:g}")
        if ops.get("DEPTHWISE_CONV_2D", 0) != n_dw:
            raise ExportError(f"{out.path.name}: {ops.get('DEPTHWISE_CONV_2D', 0)} DEPTHWISE_CONV_2D ops in the "
                              f"LiteRT model for {n_dw} depthwise layers")
        rec["tflite"] = out.tflite.name
        if has_test:
            logits = run_tflite(blob, data.test_images)
            rec.setdefault("accuracy", {})["tflite"] = float(np.mean(logits.argmax(-1) == data.test_labels))
    if "tflite-int8" in formats:
        if data is None or not len(data.calibration):
            raise InputError(f"{out.path.name}: tflite-int8 needs calibration images (training data)")
        blob = convert_tflite(net, batch=batch, mean=mean, std=std, calibration=data.calibration)
        atomic_write_bytes(out.tflite_int8, blob)
        ops = op_counts(blob)
        check["int8"] = {"ops": ops}
        if ops.get("DEPTHWISE_CONV_2D", 0) != n_dw:
            raise ExportError(f"{out.path.name}: {ops.get('DEPTHWISE_CONV_2D', 0)} DEPTHWISE_CONV_2D ops in the "
                              f"int8 LiteRT model for {n_dw} depthwise layers")
        rec["tflite-int8"] = out.tflite_int8.name
        if has_test:
            top1 = run_tflite(blob, data.test_images).argmax(-1)
            rec.setdefault("accuracy", {})["tflite-int8"] = float(np.mean(top1 == data.test_labels))
            if out.onnx_int8.is_file():
                from nas.export.onnx import ort_session, run_onnx

                ref = run_onnx(ort_session(out.onnx_int8), np.asarray(data.test_images, np.float32)).argmax(-1)
                check["int8"]["top1_agreement_with_onnx_int8"] = float(np.mean(top1 == ref))
    atomic_write_json(out.tflite_check, check, indent=1)
    return rec
