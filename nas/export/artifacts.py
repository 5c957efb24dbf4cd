"""Export of one chosen architecture: JSON spec, Flax weights (Orbax), verified ONNX model.

Layout of ``out_dir``::

    arch.json      {"space", "arch", "name", "input_shape", "stats": {...}}
    flax/          Orbax checkpoint of the network's nnx state (params + batch stats)
    model.onnx     standard-convolution graph, batch 1
    onnx_check.json {"max_abs_diff", "tolerance", "inputs"}

The ONNX model is run with ONNX Runtime on random inputs and compared with the JAX network;
a difference above the tolerance raises :class:`ExportError` (the run fails loudly).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from nas.export.formats import FORMATS
from nas.files import atomic_write_json
from nas.rundir import ExportDir
from search_spaces import InputError, NetSpec, net_stats
from search_spaces.static_net import StaticNet


class ExportError(RuntimeError):
    """The exported ONNX model disagrees with the JAX network beyond tolerance."""


def _native_copy(net: StaticNet, spec: NetSpec) -> StaticNet:
    """The same weights in a network built with standard convolutions (the exported form)."""
    native = StaticNet(spec, rngs=nnx.Rngs(0), backend="native")
    nnx.update(native, nnx.state(net))
    return native


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


def export_architecture(net: StaticNet, spec: NetSpec, out_dir: Path, *, name: str, arch_json: dict | None,
                        space: str | None, formats=FORMATS, tolerance: float = 1e-4,
                        seed: int = 0) -> dict:
    """Write the requested formats for one network; return the record stored in arch.json."""
    out = ExportDir(Path(out_dir))
    out.path.mkdir(parents=True, exist_ok=True)
    record = {"name": name, "space": space, "arch": arch_json, "input_shape": list(spec.input_shape),
              "stats": net_stats(spec).to_dict()}
    if "flax" in formats:
        save_weights(net, out.flax)
        record["flax"] = out.flax.name
    if "onnx" in formats:
        from nas.export.onnx import check_onnx, export_onnx

        native = _native_copy(net, spec)
        onnx_path = export_onnx(native, spec.input_shape, out.onnx)
        x = np.random.default_rng(seed).normal(size=(2, *spec.input_shape)).astype(np.float32)
        diff = float(check_onnx(onnx_path, native, x))
        atomic_write_json(out.onnx_check,
                          {"max_abs_diff": diff, "tolerance": tolerance, "inputs": list(x.shape)}, indent=None)
        record["onnx"] = out.onnx.name
        record["onnx_max_abs_diff"] = diff
        if not diff <= tolerance:
            raise ExportError(f"{name}: ONNX output differs from JAX by {diff:.3g} > {tolerance:g}")
    if "json" in formats:
        atomic_write_json(out.arch_json, record, indent=2)
    return record
