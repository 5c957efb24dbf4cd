"""Export of one chosen architecture: JSON spec, Flax weights (Orbax), verified ONNX, int8, LiteRT.

Layout of ``out_dir``::

    arch.json        {"space", "arch", "name", "input_shape", "input": {...}, "stats": {...},
                      "accuracy": {format: test accuracy}, one key per written format,
                      "int8_weight_bits": {int8 format: 8 or 7} when an int8 file is written}
    flax/            Orbax checkpoint of the network's nnx state (params + batch stats)
    model.onnx       deployment graph (:mod:`nas.export.graph`): raw pixels in, BN folded, NCHW
    onnx_check.json  {"max_abs_diff", "rel_diff", "tolerance", "tolerance_kind", "inputs"}
    model_int8.onnx  static int8 QDQ model (:mod:`nas.export.quantize`)
    model.tflite, model_int8.tflite, tflite_check.json   LiteRT (:mod:`nas.export.litert`)

``arch.json``'s ``input`` says how to feed the models (layout, shape, raw pixels, and the
normalisation inside the graph), so they run on their own. The ONNX model is run with ONNX
Runtime on random inputs and compared with the JAX network; a relative difference above the
tolerance raises :class:`~nas.export.check.ExportError` (the run fails loudly).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from nas.errors import InputError
from nas.export.check import ExportError, check_input
from nas.export.formats import FORMATS
from nas.export.graph import INPUT_NAME
from nas.files import atomic_write_json
from nas.rundir import ExportDir
from nas.search_spaces import NetSpec, net_stats
from nas.search_spaces.static_net import StaticNet


def save_weights(net: StaticNet, path: Path) -> Path:
    import orbax.checkpoint as ocp

    path = Path(path).absolute()
    if path.exists():
        shutil.rmtree(path)
    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save(path, nnx.state(net))
    return path


def load_weights(spec: NetSpec, path: Path, backend: str | None = None) -> StaticNet:
    """Rebuild a StaticNet for ``spec`` and restore weights saved by :func:`save_weights`."""
    import orbax.checkpoint as ocp

    path = Path(path).absolute()
    if not path.is_dir():
        raise InputError(f"{path}: no Flax weights here")
    net = StaticNet(spec, rngs=nnx.Rngs(0), backend=backend)
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), nnx.state(net))
    try:
        with ocp.StandardCheckpointer() as ckpt:
            state = ckpt.restore(path, abstract)
    except Exception as e:  # orbax raises many types for corrupt/mismatched checkpoints
        raise InputError(f"{path}: cannot restore weights for this architecture ({type(e).__name__})") from None
    nnx.update(net, state)
    return net


@dataclass(frozen=True)
class ExportData:
    """What an export takes from the data set: the normalisation (per channel, [0, 1] units)
    that goes into the graph, training images for int8 calibration and the test split for the
    accuracy of each exported format (uint8 ``[N, H, W, C]``; empty arrays skip that step)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    calibration: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    source: object = field(default=None, compare=False, repr=False)  # a streamed Dataset (see for_input)
    limits: tuple[int, int] = (256, 0)  # (calibration, test) images taken from ``source``
    # decodings of ``source`` by side length (the last two: networks of one run share resolutions)
    decoded: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dataset(cls, dataset, calibration: int = 256, test_images: int = 0) -> ExportData:
        """The first ``calibration`` training images and the first ``test_images`` of the test
        split (0: all of it) of a :class:`nas.data.Dataset`. A streamed data set is decoded
        only when a network asks for it, at that network's resolution (:meth:`for_input`);
        there 0 means its first :data:`STREAMED_TEST_IMAGES` test images."""
        if getattr(dataset.train, "streaming", False):
            empty = np.zeros((0, *dataset.input_shape), np.uint8)
            return cls(tuple(dataset.mean), tuple(dataset.std), empty, empty, np.zeros((0,), np.int32),
                       source=dataset, limits=(calibration, test_images))
        n = test_images or len(dataset.test)
        return cls(tuple(dataset.mean), tuple(dataset.std), dataset.train.images[:calibration],
                   dataset.test.images[:n], dataset.test.labels[:n])

    def for_input(self, shape) -> ExportData:
        """The data for a network whose input is ``shape`` (H, W, C): a streamed data set's
        images decoded at that resolution; in-memory images as they are."""
        if self.source is None:
            return self
        side = int(shape[0])
        if side not in self.decoded:
            calibration, test_images = self.limits
            calib, _ = _decoded(self.source.train.at(side), calibration)
            images, labels = _decoded(self.source.test.at(side), test_images or STREAMED_TEST_IMAGES)
            while len(self.decoded) >= 2:
                self.decoded.pop(next(iter(self.decoded)))
            self.decoded[side] = ExportData(self.mean, self.std, calib, images, labels)
        return self.decoded[side]


STREAMED_TEST_IMAGES = 5000


def _decoded(split, n: int, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` decodable images of a streamed split (centre crops) and their labels."""
    images, labels = [], []
    for x, y, mask in split.take(n).eval_batches(batch):
        keep = mask > 0
        images.append(x[keep])
        labels.append(y[keep])
    if not images:
        return np.zeros((0, *split.image_shape), np.uint8), np.zeros((0,), np.int32)
    return np.concatenate(images), np.concatenate(labels).astype(np.int32)


def input_record(spec: NetSpec, batch: int | None, data: ExportData | None) -> dict:
    """How to feed the exported graphs (stored in arch.json under ``input``)."""
    rec = {"name": INPUT_NAME, "layout": "NHWC", "dtype": "float32",
           "shape": ["B" if batch is None else int(batch), *(int(v) for v in spec.input_shape)]}
    if data is None:
        rec["normalization"] = None
        rec["pixels"] = "already normalised (no normalisation in the graph)"
    else:
        rec["pixels"] = "raw, 0..255"
        rec["normalization"] = {"mean": list(data.mean), "std": list(data.std), "formula": "(x / 255 - mean) / std",
                                "in_graph": True}
    return rec


def export_architecture(net: StaticNet, spec: NetSpec, out_dir: Path, *, name: str, arch_json: dict | None,
                        space: str | None, formats=FORMATS, tolerance: float = 1e-4, batch: int | None = 1,
                        data: ExportData | None = None, seed: int = 0, int8_weight_bits: int = 8) -> dict:
    """Write the requested formats for one network; return the record stored in arch.json.

    ``tolerance`` is relative: ``max|onnx - jax| / max|jax|`` on random inputs must not exceed it
    (:class:`ExportError` otherwise). ``batch``: the graphs' fixed batch, None for a symbolic one.
    ``data``: normalisation in the graph, int8 calibration images, test split (None: inputs
    are already normalised, no int8, no accuracy). ``int8_weight_bits``: the ONNX int8 model's
    weights, 8 or 7 (:func:`~nas.export.quantize.quantize_int8`; LiteRT's int8 file always has
    8), recorded under ``int8_weight_bits``. Derived formats (``onnx-int8``, ``tflite``,
    ``tflite-int8``) also write the float ONNX model they start from. Accuracy per format
    (test split) goes under ``accuracy``.
    """
    out = ExportDir(Path(out_dir))
    out.path.mkdir(parents=True, exist_ok=True)
    record = {"name": name, "space": space, "arch": arch_json, "input_shape": list(spec.input_shape),
              "input": input_record(spec, batch, data), "stats": net_stats(spec).to_dict(), "accuracy": {}}
    mean, std = (data.mean, data.std) if data is not None else (None, None)
    if data is not None:
        data = data.for_input(spec.input_shape)
    has_test = data is not None and len(data.test_labels) > 0
    if has_test:
        record["accuracy_images"] = int(len(data.test_labels))
    if "flax" in formats:
        save_weights(net, out.flax)
        record["flax"] = out.flax.name
    if set(formats) & {"onnx", "onnx-int8", "tflite", "tflite-int8"}:
        from nas.export.onnx import export_onnx, onnx_difference

        onnx_path = export_onnx(net, spec.input_shape, out.onnx, dynamic_batch=batch is None, batch=batch or 1,
                                mean=mean, std=std)
        x = check_input(spec.input_shape, batch, raw_pixels=data is not None, seed=seed)
        diff = onnx_difference(onnx_path, net, x, mean=mean, std=std)
        atomic_write_json(out.onnx_check, {**diff, "tolerance": tolerance, "tolerance_kind": "relative",
                                           "inputs": list(x.shape)}, indent=None)
        record["onnx"] = out.onnx.name
        record["onnx_max_abs_diff"] = diff["max_abs_diff"]
        record["onnx_rel_diff"] = diff["rel_diff"]
        if not diff["rel_diff"] <= tolerance:
            raise ExportError(f"{name}: ONNX output differs from JAX by {diff['rel_diff']:.3g} of the logits' "
                              f"scale > {tolerance:g}")
        if has_test:
            from nas.export.quantize import onnx_accuracy

            record["accuracy"]["onnx"] = onnx_accuracy(onnx_path, data.test_images, data.test_labels)
    if "onnx-int8" in formats:
        if data is None or not len(data.calibration):
            raise InputError(f"{name}: onnx-int8 needs calibration images (training data)")
        from nas.export.quantize import onnx_accuracy, quantize_int8

        quantize_int8(out.onnx, out.onnx_int8, data.calibration, weight_bits=int8_weight_bits)
        record["onnx-int8"] = out.onnx_int8.name
        record.setdefault("int8_weight_bits", {})["onnx-int8"] = int(int8_weight_bits)
        if has_test:
            record["accuracy"]["onnx-int8"] = onnx_accuracy(out.onnx_int8, data.test_images, data.test_labels)
    if "tflite" in formats or "tflite-int8" in formats:
        from nas.export.litert import export_tflite

        tfl = export_tflite(out, net, spec, formats=formats, data=data, seed=seed, batch=batch, tolerance=tolerance)
        record["accuracy"].update(tfl.pop("accuracy", {}))
        record.update(tfl)
        if tfl.get("tflite-int8"):
            record.setdefault("int8_weight_bits", {})["tflite-int8"] = 8  # LiteRT: full-range int8 weights
    if "json" in formats:
        atomic_write_json(out.arch_json, record, indent=2)
    return record
