"""int8 static post-training quantisation of an exported ONNX model (ONNX Runtime's tools).

Format: QDQ (QuantizeLinear/DequantizeLinear pairs around each quantised operator, the form
other runtimes and converters read), int8 weights quantised per output channel (symmetric),
int8 activations (asymmetric, per tensor) with ranges calibrated on training images
(``calibration`` raw-pixel images, MinMax over them). The graph's input and output stay
float32, so the int8 model is a drop-in replacement for the float one.

Weights use the full 8 bits (-127..127), as LiteRT's int8 file does and as the targets (ARM
dot-product, x86 VNNI, NPUs) compute them. ``weight_bits=7`` (-64..64) is the explicit option
for x86 CPUs without VNNI (AVX2, AVX-512F): ONNX Runtime multiplies int8 pairs there with an
instruction that saturates 16-bit sums, so 8-bit weights lose accuracy on such a machine only
(measured on an AVX2 EPYC: an untrained network's int8 top-1 agreed with float on 73% of noise
images with 8-bit weights, 91% with 7-bit ones).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

CALIBRATION_METHOD = "MinMax"
WEIGHT_BITS = (8, 7)  # export.int8_weight_bits: 8 (default) or 7 (x86 without VNNI)


class _Reader:
    """ONNX Runtime calibration reader: the images in batches of the graph's batch size."""

    def __init__(self, images: np.ndarray, input_name: str, batch: int):
        x = np.asarray(images, np.float32)
        usable = len(x) - len(x) % batch
        self._batches = iter([x[i:i + batch] for i in range(0, usable, batch)])
        self.name = input_name

    def get_next(self):
        b = next(self._batches, None)
        return None if b is None else {self.name: b}


def quantize_int8(float_path, out_path, calibration: np.ndarray, *, weight_bits: int = 8) -> Path:
    """Write the int8 QDQ model of ``float_path`` to ``out_path``; ``calibration``: float32 or
    uint8 images ``[N, H, W, C]`` in the graph's input units (raw pixels); ``weight_bits``: 8
    (weights in -127..127) or 7 (-64..64, for x86 without VNNI). Returns the path.

    Raises ValueError when there are fewer calibration images than the graph's batch, or for
    other ``weight_bits``.
    """
    if weight_bits not in WEIGHT_BITS:
        raise ValueError(f"int8 weight bits must be 8 or 7, got {weight_bits!r}")
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from nas.files import atomic_write_bytes

    model = onnx.shape_inference.infer_shapes(onnx.load(str(float_path)))  # value_info for the quantiser
    inp = model.graph.input[0]
    dim0 = inp.type.tensor_type.shape.dim[0]
    batch = dim0.dim_value if dim0.HasField("dim_value") else 32
    if len(calibration) < batch:
        raise ValueError(f"int8 calibration needs at least {batch} images, got {len(calibration)}")
    out = Path(out_path)
    tmp, src = out.with_name(out.name + ".tmp"), out.with_name(out.name + ".src.tmp")
    onnx.save(model, str(src))
    # reduce_range: 7-bit weights (the option for x86 without VNNI, see the module's docstring)
    quantize_static(str(src), str(tmp), _Reader(calibration, inp.name, batch),
                    quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=weight_bits == 7,
                    weight_type=QuantType.QInt8,
                    activation_type=QuantType.QInt8, calibrate_method=getattr(CalibrationMethod, CALIBRATION_METHOD),
                    extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
    data = tmp.read_bytes()
    tmp.unlink()
    src.unlink()
    return atomic_write_bytes(out, data)


def onnx_accuracy(path, images: np.ndarray, labels: np.ndarray, *, threads: int = 1) -> float:
    """Top-1 accuracy of an ONNX model (raw-pixel input) on ``images`` uint8 ``[N, H, W, C]``."""
    from nas.export.onnx import ort_session, run_onnx

    logits = run_onnx(ort_session(path, threads=threads), np.asarray(images, np.float32))
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(labels)))
