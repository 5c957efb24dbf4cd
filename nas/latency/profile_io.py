"""Profile YAML files: schema, validation, reading and writing, and the shipped profiles.

The shipped profiles are the data package :mod:`nas.hardware_profiles` (YAML, CSV, licences; no
code): ``load_profile(name_or_path)`` accepts a shipped name (``pixel2``) or a path to a YAML
file, ``list_profiles()`` names the shipped ones.

One YAML per device (+ runtime, batch size).

Schema (``?`` = optional; paths relative to the YAML file)::

    name: str                   # profile name, e.g. rtx2080ti_b1
    device: str                 # human-readable device
    runtime: str                # framework / runtime the latencies were measured with
    batch_size: int >= 1
    peak_gflops?: float > 0     # device peak FP32 rate (spec sheet) when known
    bandwidth_gbs?: float > 0   # device memory bandwidth when known
    memory_gb?: float > 0       # device memory capacity when known
    source: str                 # who measured, with credit and licence
    spaces: [str, ...]          # search spaces measured
    measurements:               # the data the predictor was fitted on
      - {space: str, csv: path, column?: str (default latency_ms)}
    predictor:                  # a latency lookup table instead (nas profile from-lut, nas.latency.lookup):
                                #   {model: lookup_table_v1, space: str, tables: {resolution: {op key: ms}}}
      model: linear_physics_v1
      batch_size: int; peak_gflops: float; bandwidth_gbs: float   # values the features use
      features: [names]         # must equal nas.latency.features.FEATURE_NAMES
      weights: {default: [floats], <space>?: [floats]}   # per-space weights win over default
      prior_weights?: [floats]  # non-negative fit offered as a prior to other profiles; also
                                # the weights for spaces the device was never measured in
      outside_weights?: [floats]  # non-negative fit with the shipped profiles as prior, for
                                # profiles without prior_weights (too few measurements)
      space_models?:            # log-linear models for encodable spaces (nas.latency.transfer)
        <space>: {encoding: physics_ref+onehot_v1, kind: direct|transfer, intercept: float,
                  physics_coef: float, weights: [NUM_FEATURES + enc_dim(space) floats]}
    notes?: str ; threads?: int ; runtime_memory?: mapping ; fit?: mapping  (free-form records)

Any violation raises :class:`nas.errors.InputError` with one line naming the file and
field.
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import yaml

from nas.errors import InputError
from nas.files import atomic_write_bytes, atomic_write_text, read_bytes, read_yaml
from nas.latency.encodings import ENCODING_NAME, enc_dim
from nas.latency.features import FEATURE_NAMES, Hardware
from nas.latency.lookup import MODEL_NAME as LUT_MODEL
from nas.latency.lookup import lookup_to_dict, parse_lookup
from nas.latency.profile import MeasurementRef, Profile
from nas.latency.transfer import SpaceModel
from nas.rundir import is_profile_path, profile_label

MODEL_NAME = "linear_physics_v1"
LUT_HARDWARE = Hardware(1, 1.0, 1.0)  # a lookup-table profile computes no features: a placeholder


def calibrate_command(name: str, runtime: str, space: str) -> str:
    """The ``nas profile calibrate`` command that measures a profile named ``<name>_here`` on this
    machine with ``runtime`` (XLA, else ONNX Runtime, the runtimes calibration measures with)."""
    rt = runtime if runtime in ("xla", "onnxruntime") else "onnxruntime"
    return f"nas profile calibrate {name}_here --space {space} --runtime {rt} --n 40 --out my_profiles/{name}_here.yaml"


def _floats(v) -> list[float]:
    return [float(f"{x:.6g}") for x in v]


MAX_ABS = 1e12  # no fitted coefficient or hardware figure comes near; larger overflows predictions


def _number(x) -> bool:
    """A finite int/float (not bool) of magnitude at most :data:`MAX_ABS`."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and abs(x) <= MAX_ABS


def _weight_list(v, what: str, n: int = len(FEATURE_NAMES)) -> np.ndarray:
    if not isinstance(v, list) or len(v) != n or not all(_number(x) for x in v):
        raise InputError(f"{what} must be a list of {n} finite numbers (magnitude at most {MAX_ABS:g})")
    return np.array(v, dtype=float)


_REQUIRED = {"name": str, "device": str, "runtime": str, "batch_size": int, "source": str,
             "spaces": list, "measurements": list, "predictor": dict}
_OPTIONAL_NUM = ("peak_gflops", "bandwidth_gbs", "memory_gb")


def _typed(d: dict, key: str, typ, where: str):
    if key not in d:
        raise InputError(f"{where}: missing field {key!r}")
    v = d[key]
    ok = isinstance(v, typ) and not isinstance(v, bool) if typ in (int, float) else isinstance(v, typ)
    if typ is float and isinstance(v, int) and not isinstance(v, bool):
        ok = True
    if not ok:
        raise InputError(f"{where}: field {key!r} must be {typ.__name__}, got {type(v).__name__}")
    if typ in (int, float) and not _number(v):
        raise InputError(f"{where}: field {key!r} must be a finite number of magnitude at most {MAX_ABS:g}, got {v}")
    return v


def _positive(d: dict, key: str, where: str, typ=float):
    v = _typed(d, key, typ, where)
    if not v > 0:
        raise InputError(f"{where}: field {key!r} must be positive, got {v}")
    return v


def parse_profile(obj, path: Path) -> Profile:
    """Validate a decoded YAML mapping; ``path`` resolves relative CSV paths and names errors."""
    where = str(path)
    if not isinstance(obj, dict):
        raise InputError(f"{where}: a profile must be a YAML mapping, got {type(obj).__name__}")
    vals = {k: _typed(obj, k, t, where) for k, t in _REQUIRED.items()}
    _positive(obj, "batch_size", where, int)
    opt = {k: (_positive(obj, k, where) if obj.get(k) is not None else None) for k in _OPTIONAL_NUM}
    from nas.search_spaces import get_space  # validates space names
    for s in vals["spaces"]:
        if not isinstance(s, str):
            raise InputError(f"{where}: field 'spaces' must list names, got {s!r}")
        try:
            get_space(s)
        except InputError as e:
            raise InputError(f"{where}: spaces: {e}") from None
    refs = []
    for i, m in enumerate(vals["measurements"]):
        w = f"{where}: measurements[{i}]"
        if not isinstance(m, dict):
            raise InputError(f"{w} must be a mapping with 'space' and 'csv'")
        space, csv = _typed(m, "space", str, w), _typed(m, "csv", str, w)
        p = _beside(path, csv, w)
        if not p.is_file():
            raise InputError(f"{w}: csv file {csv!r} not found (relative to {path.parent})")
        refs.append(MeasurementRef(space, p, str(m.get("column", "latency_ms"))))
    pr = vals["predictor"]
    pw = f"{where}: predictor"
    known = set(_REQUIRED) | set(_OPTIONAL_NUM)
    extra = {k: v for k, v in obj.items() if k not in known}
    if pr.get("model") == LUT_MODEL:
        lut = parse_lookup(pr, pw)
        if list(vals["spaces"]) != [lut.space]:
            raise InputError(f"{where}: field 'spaces' must be [{lut.space}], the space of its lookup table")
        return Profile(vals["name"], vals["device"], vals["runtime"], vals["batch_size"], vals["source"],
                       (lut.space,), tuple(refs), LUT_HARDWARE, {}, opt["peak_gflops"], opt["bandwidth_gbs"],
                       opt["memory_gb"], None, extra, path.resolve(), lut=lut)
    if pr.get("model") != MODEL_NAME:
        raise InputError(f"{pw}: field 'model' must be {MODEL_NAME!r} or {LUT_MODEL!r}, got {pr.get('model')!r}")
    hw = Hardware(_positive(pr, "batch_size", pw, int), float(_positive(pr, "peak_gflops", pw)),
                  float(_positive(pr, "bandwidth_gbs", pw)))
    if list(_typed(pr, "features", list, pw)) != list(FEATURE_NAMES):
        raise InputError(f"{pw}: field 'features' does not match this version's feature list")
    weights = {}
    for k, v in _typed(pr, "weights", dict, pw).items():
        weights[str(k)] = _weight_list(v, f"{pw}: weights[{k!r}]")
    if "default" not in weights:
        raise InputError(f"{pw}: field 'weights' needs a 'default' entry")
    prior_w, outside_w = (_weight_list(pr[k], f"{pw}: {k}") if pr.get(k) is not None else None
                          for k in ("prior_weights", "outside_weights"))
    space_models = _space_models(pr.get("space_models"), pw)
    return Profile(vals["name"], vals["device"], vals["runtime"], vals["batch_size"], vals["source"],
                   tuple(vals["spaces"]), tuple(refs), hw, weights, opt["peak_gflops"],
                   opt["bandwidth_gbs"], opt["memory_gb"], prior_w, extra, path.resolve(), space_models, outside_w)


def _space_models(obj, pw: str) -> dict[str, SpaceModel]:
    """Validate ``predictor.space_models`` (absent in older profiles: no space models)."""
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise InputError(f"{pw}: field 'space_models' must be a mapping of space -> model")
    out = {}
    for s, m in obj.items():
        w = f"{pw}: space_models[{s!r}]"
        dim = enc_dim(str(s))
        if dim is None:
            raise InputError(f"{w}: space has no encoding")
        if not isinstance(m, dict) or m.get("encoding") != ENCODING_NAME:
            raise InputError(f"{w}: field 'encoding' must be {ENCODING_NAME!r}")
        kind = m.get("kind", "direct")
        if kind not in ("direct", "transfer"):
            raise InputError(f"{w}: field 'kind' must be 'direct' or 'transfer', got {kind!r}")
        weights = _weight_list(m.get("weights"), f"{w}: field 'weights'", len(FEATURE_NAMES) + dim)
        coef = [_typed(m, k, float, w) for k in ("intercept", "physics_coef")]
        out[str(s)] = SpaceModel(float(coef[0]), float(coef[1]), weights, kind)
    return out


def _beside(profile: Path, csv: str, where: str) -> Path:
    """The measurement file ``csv`` of ``profile``: a relative path inside the profile's folder
    (a profile is data and may not point at other files of the machine)."""
    p = Path(csv)
    folder = profile.resolve().parent
    target = (folder / p).resolve()
    if p.is_absolute() or not target.is_relative_to(folder):
        raise InputError(f"{where}: csv {csv!r} must be a relative path inside the profile's folder ({folder})")
    return target


def read_profile_file(path) -> Profile:
    p = Path(path)
    return parse_profile(read_yaml(p, what="profile file"), p)


def profile_to_dict(prof: Profile, base: Path | None = None) -> dict:
    """The YAML mapping of ``prof``; measurement paths relative to ``base`` when possible."""
    def rel(p: Path) -> str:
        try:
            return str(p.relative_to(base)) if base else str(p)
        except ValueError:
            return str(p)

    d = {"name": prof.name, "device": prof.device, "runtime": prof.runtime, "batch_size": prof.batch_size}
    for k in _OPTIONAL_NUM:
        if getattr(prof, k) is not None:
            d[k] = getattr(prof, k)
    d["source"] = prof.source
    d["spaces"] = list(prof.spaces)
    d["measurements"] = [{"space": m.space, "csv": rel(m.csv), "column": m.column} for m in prof.measurements]
    if prof.lut is not None:
        d["predictor"] = lookup_to_dict(prof.lut)
        d.update(prof.extra)
        return d
    d["predictor"] = {
        "model": MODEL_NAME, "batch_size": prof.hardware.batch_size,
        "peak_gflops": float(prof.hardware.peak_gflops), "bandwidth_gbs": float(prof.hardware.bandwidth_gbs),
        "features": list(FEATURE_NAMES), "weights": {k: _floats(v) for k, v in prof.weights.items()},
    }
    for k in ("prior_weights", "outside_weights"):
        if getattr(prof, k) is not None:
            d["predictor"][k] = _floats(getattr(prof, k))
    if prof.space_models:
        d["predictor"]["space_models"] = {
            s: {"encoding": ENCODING_NAME, "kind": m.kind, "intercept": float(m.intercept),
                "physics_coef": float(m.physics_coef), "weights": [float(x) for x in m.weights]}
            for s, m in prof.space_models.items()}
    d.update(prof.extra)
    return d


def check_profile_out(path, field: str = "--out") -> Path:
    """``path`` as a Path when it names a profile file (``.yaml``/``.yml``); InputError otherwise."""
    p = Path(path)
    if p.suffix not in (".yaml", ".yml"):
        raise InputError(f"{field} {p}: a profile file must end in .yaml")
    if p.is_dir():
        raise InputError(f"{field} {p}: is a folder, expected a profile file")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{field} {p}: {parent} is a file, expected a folder")
            break
    return p


def save_profile(prof: Profile, path) -> Path:
    """Write ``prof`` as YAML to ``path`` atomically (measurement paths relative to it when
    possible) and set ``prof.path``; returns the path."""
    p = check_profile_out(path, "profile file")
    folder = p.resolve().parent
    refs = []
    for m in prof.measurements:  # a profile may only reference files beside it: copy the others there
        if not Path(m.csv).resolve().is_relative_to(folder):
            data = read_bytes(m.csv, what="measurement file")
            dst = folder / "data" / Path(m.csv).name
            if dst.exists() and read_bytes(dst, what="measurement file") != data:
                raise InputError(f"{dst}: exists with other measurements; save the profile elsewhere")
            atomic_write_bytes(dst, data)
            m = MeasurementRef(m.space, dst, m.column)
        refs.append(m)
    prof.measurements = tuple(refs)
    text = yaml.safe_dump(profile_to_dict(prof, folder), sort_keys=False, width=120)
    atomic_write_text(p, text)
    prof.path = p.resolve()
    return p


PROFILE_DIR = Path(importlib.util.find_spec("nas.hardware_profiles").submodule_search_locations[0])


def list_profiles() -> list[str]:
    """Names of the shipped profiles, sorted."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def profile_path(name: str) -> Path:
    """Where the shipped profile ``name`` lives (whether or not it exists)."""
    return PROFILE_DIR / f"{name}.yaml"


def check_profiles(profiles, field: str = "search.profiles") -> None:
    """InputError naming ``field`` when an entry is neither a shipped profile's name nor a YAML
    path (:func:`nas.rundir.is_profile_path`; a path's file is checked when it is loaded), or
    when two entries share a run's name for them (:func:`nas.rundir.profile_label`: a path's
    file stem, which must be a plain folder name)."""
    shipped = list_profiles()
    seen = {}
    for p in profiles:
        if not is_profile_path(p) and p not in shipped:
            raise InputError(f"{field}: unknown profile {p!r} (shipped: {', '.join(shipped)}; "
                             "or give a path to a .yaml file)")
        label = profile_label(p)
        if label in ("", ".", "..") or label.startswith(".") or profile_label(label) != label:
            raise InputError(f"{field}: {p!r}: a profile file is named by its stem, {label!r} cannot name a "
                             "folder; rename the file")
        if label in seen:
            raise InputError(f"{field}: {seen[label]!r} and {p!r} are both named {label!r} (a path by its "
                             "file's stem); rename one file")
        seen[label] = p


def load_profile(name_or_path) -> Profile:
    """A shipped profile by name, or a profile YAML by path; InputError (one line) if bad."""
    s = str(name_or_path)
    if is_profile_path(s):
        return read_profile_file(s)
    check_profiles([s], field="profile")
    return read_profile_file(profile_path(s))


def load_profiles(names) -> dict[str, Profile]:
    """Each profile of ``names`` loaded once, keyed by the name or path as given: what a run
    loads before any work and hands down (:func:`profile_of`), so every stage uses the profile as
    it was when the run started and a YAML is read once."""
    return {s: load_profile(s) for s in dict.fromkeys(map(str, names))}


def profile_of(name_or_path, loaded: dict[str, Profile] | None = None) -> Profile:
    """``loaded[name_or_path]`` when the caller loaded it already, else :func:`load_profile`'s,
    added to ``loaded`` (a dict the caller keeps across calls: each YAML is read once)."""
    s = str(name_or_path)
    if loaded is None:
        return load_profile(s)
    if s not in loaded:
        loaded[s] = load_profile(s)
    return loaded[s]
