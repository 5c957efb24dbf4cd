"""Latency bundles: N models of a space and one stand-alone runner, to measure on the user's device.

``write_bundle`` fills a folder::

    manifest.json   {"space", "runtime", "precision", "threads", "batch_size", "input_shape",
                     "input": {...}, "models": [{"file", "arch"}, ...]}
    m000.onnx ...   (or m000.tflite ...) the models, random weights, raw-pixel input
    run_bundle.py   :mod:`nas.latency.runner`, needs NumPy and the runtime only
    README.txt      how to run it and what comes back

The runner writes ``latency.csv`` (``arch,latency_ms``) and ``latency.json`` (runtime, version,
precision, threads, protocol); ``nas profile fit NAME --bundle DIR`` checks the CSV against the
manifest (:func:`read_bundle_measurements`) and records runtime, precision and threads in the
profile. Latency does not depend on weight values, so random weights serve; int8 models are
calibrated on random raw-pixel inputs.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from nas.errors import InputError
from nas.files import atomic_write_json, atomic_write_text
from nas.search_spaces import arch_dumps, arch_to_json

BUNDLE_RUNTIMES = ("onnxruntime", "litert")
RUNNER = Path(__file__).with_name("runner.py")
# a fixed normalisation for bundle models (the same two cheap operations as exported models)
_MEAN, _STD = 0.5, 0.25

README = """Latency bundle: {n} {space} models for {runtime} ({precision}), {threads} thread(s).

On the device (Python 3 with NumPy and {package} installed; nothing else is needed):

    python3 run_bundle.py            # --help: --threads, --warmup, --repeats, --rounds

It writes latency.csv (arch,latency_ms) and latency.json (runtime, precision, threads, protocol)
into this folder. Bring the folder back and fit a profile:

    nas profile fit NAME --space {space} --bundle THIS_FOLDER --out NAME.yaml
"""


def _package(runtime: str) -> str:
    return "onnxruntime" if runtime == "onnxruntime" else "ai-edge-litert (or tflite-runtime)"


def check_runtime_available(runtime: str, int8: bool) -> None:
    """InputError (one line) when the runtime, or the converter it needs here, is not installed."""
    if runtime not in BUNDLE_RUNTIMES:
        raise InputError(f"--runtime: unknown runtime {runtime!r} (known: {', '.join(BUNDLE_RUNTIMES)})")
    import importlib.util

    need = ["onnxruntime", "onnx"] + (["tensorflow"] if runtime == "litert" else [])
    missing = [m for m in need if importlib.util.find_spec(m) is None]
    if missing:
        extra = " (pip install 'jaxnas[litert]')" if "tensorflow" in missing else ""
        raise InputError(f"runtime {runtime}: {', '.join(missing)} not installed{extra}")


def write_bundle(space_name: str, n: int, runtime: str, out, *, int8: bool = False, seed: int = 0,
                 threads: int = 1, batch_size: int = 1, calibration: int = 32, progress=None) -> Path:
    """Write a bundle of ``n`` distinct random architectures of ``space_name`` into ``out``.

    Raises InputError for a bad ``n``/``threads``/``batch_size``, an unknown or missing runtime,
    or an ``out`` that is a non-empty folder without a manifest (nothing of the user's is
    overwritten).
    """
    from flax import nnx

    from nas.export.onnx import export_onnx
    from nas.latency.calibrate import sample_distinct
    from nas.search_spaces import get_space
    from nas.search_spaces.static_net import StaticNet

    if n < 1 or threads < 1 or batch_size < 1:
        raise InputError("--n, --threads and --batch-size must be at least 1")
    check_runtime_available(runtime, int8)
    space = get_space(space_name)
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "manifest.json").is_file())):
        raise InputError(f"{out}: exists and is not an empty folder or a bundle")
    out.mkdir(parents=True, exist_ok=True)
    archs = sample_distinct(space, n, seed)
    precision = "int8" if int8 else "float32"
    ext = "tflite" if runtime == "litert" else "onnx"
    models = []
    rng = np.random.default_rng(seed)
    with_tmp = out / ".build"
    with_tmp.mkdir(exist_ok=True)
    try:
        for i, arch in enumerate(archs):
            spec = space.net_spec(arch)
            c = spec.input_shape[2]
            net = StaticNet(spec, rngs=nnx.Rngs(seed + i))
            mean, std = (_MEAN,) * c, (_STD,) * c
            calib = rng.uniform(0, 255, size=(max(calibration, batch_size), *spec.input_shape)).astype(np.float32)
            name = f"m{i:03d}.{ext}"
            if runtime == "onnxruntime":
                f = export_onnx(net, spec.input_shape, with_tmp / "float.onnx", batch=batch_size, mean=mean, std=std)
                if int8:
                    from nas.export.quantize import quantize_int8

                    f = quantize_int8(f, with_tmp / "int8.onnx", calib)
                shutil.copyfile(f, out / name)
            else:
                from nas.export.litert import convert_tflite

                (out / name).write_bytes(convert_tflite(net, batch=batch_size, mean=mean, std=std,
                                                        calibration=calib if int8 else None))
            models.append({"file": name, "arch": arch_to_json(arch)})
            if progress:
                progress(i)
    finally:
        shutil.rmtree(with_tmp, ignore_errors=True)
    shutil.copyfile(RUNNER, out / "run_bundle.py")
    atomic_write_json(out / "manifest.json", {
        "space": space_name, "runtime": runtime, "precision": precision, "threads": threads,
        "batch_size": batch_size, "seed": seed, "input": {"layout": "NHWC", "dtype": "float32",
                                                          "pixels": "raw, 0..255"},
        "models": models}, indent=1)
    atomic_write_text(out / "README.txt", README.format(n=n, space=space_name, runtime=runtime, precision=precision,
                                                        threads=threads, package=_package(runtime)))
    return out


def read_manifest(bundle) -> dict:
    """The bundle's manifest; InputError when it is missing or malformed."""
    p = Path(bundle) / "manifest.json"
    try:
        m = json.loads(p.read_text())
        if not isinstance(m.get("models"), list) or not all(isinstance(x, dict) and "arch" in x for x in m["models"]):
            raise ValueError("no model list")
        return m
    except FileNotFoundError:
        raise InputError(f"{bundle}: not a latency bundle (no manifest.json)") from None
    except (OSError, ValueError, AttributeError) as e:
        raise InputError(f"{p}: malformed bundle manifest ({e})") from None


def read_bundle_measurements(bundle, space: str, csv_path=None):
    """``(archs, latency_ms, meta)`` of a measured bundle; ``meta`` holds runtime, precision,
    threads and the protocol from ``latency.json`` (or the manifest when that is absent).

    InputError when the CSV is missing or unreadable, names an architecture that is not in the
    bundle (extra row), repeats one, or lacks one of the bundle's models (missing row).
    """
    from nas.latency.measurements import read_measurements

    bundle = Path(bundle)
    m = read_manifest(bundle)
    if m.get("space") != space:
        raise InputError(f"{bundle}: bundle of space {m.get('space')!r}, not {space!r}")
    csv_path = Path(csv_path) if csv_path else bundle / "latency.csv"
    archs, lat = read_measurements(csv_path, space)
    from nas.search_spaces import get_space

    sp = get_space(space)
    expected = [sp.from_json(x["arch"]) for x in m["models"]]
    want = {arch_dumps(a): i for i, a in enumerate(expected)}
    seen: set[str] = set()
    for a in archs:
        key = arch_dumps(a)
        if key not in want:
            raise InputError(f"{csv_path}: extra row, architecture {key} is not in the bundle")
        if key in seen:
            raise InputError(f"{csv_path}: architecture {key} appears twice")
        seen.add(key)
    if len(seen) != len(want):
        raise InputError(f"{csv_path}: {len(want) - len(seen)} of the bundle's {len(want)} models have no row")
    meta = {k: m.get(k) for k in ("runtime", "precision", "threads", "batch_size")}
    try:
        measured = json.loads((bundle / "latency.json").read_text())
        meta.update({k: measured[k] for k in ("runtime", "runtime_version", "precision", "threads", "protocol",
                                              "statistic", "warmup", "repeats", "rounds", "processor", "machine",
                                              "host", "date") if k in measured})
    except (OSError, ValueError):
        pass
    return archs, lat, meta
