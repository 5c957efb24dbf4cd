"""Hardware profile files: one YAML per device (+ runtime, batch size).

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
    predictor:
      model: linear_physics_v1
      batch_size: int; peak_gflops: float; bandwidth_gbs: float   # values the features use
      features: [names]         # must equal nas.latency.features.FEATURE_NAMES
      weights: {default: [floats], <space>?: [floats]}   # per-space weights win over default
      prior_weights?: [floats]  # non-negative fit offered as a prior to other profiles; also
                                # the weights for spaces the device was never measured in
      space_models?:            # log-linear models for encodable spaces (nas.latency.transfer)
        <space>: {encoding: physics_ref+onehot_v1, kind: direct|transfer, intercept: float,
                  physics_coef: float, weights: [NUM_FEATURES + enc_dim(space) floats]}
    notes?: str ; threads?: int ; runtime_memory?: mapping ; fit?: mapping  (free-form records)

Any violation raises :class:`search_spaces.arch.InputError` with one line naming the file and
field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from nas.errors import InputError
from nas.latency.encodings import ENCODING_NAME, enc_dim, transfer_features
from nas.latency.features import FEATURE_NAMES, Hardware, arch_features
from nas.latency.model import predict
from nas.latency.transfer import SpaceModel

MODEL_NAME = "linear_physics_v1"


@dataclass(frozen=True)
class MeasurementRef:
    space: str
    csv: Path
    column: str = "latency_ms"


@dataclass
class Profile:
    """A loaded profile. ``weights`` maps a space name or ``"default"`` to a weight vector;
    ``space_models`` maps encodable spaces to log-linear models that refine the physics
    prediction for that space (spaces without one use the physics weights alone)."""

    name: str
    device: str
    runtime: str
    batch_size: int
    source: str
    spaces: tuple[str, ...]
    measurements: tuple[MeasurementRef, ...]
    hardware: Hardware
    weights: dict[str, np.ndarray]
    peak_gflops: float | None = None
    bandwidth_gbs: float | None = None
    memory_gb: float | None = None
    prior_weights: np.ndarray | None = None
    extra: dict = field(default_factory=dict)
    path: Path | None = None
    space_models: dict[str, SpaceModel] = field(default_factory=dict)
    _outside: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def weights_for(self, space: str) -> np.ndarray:
        """Physics weights for ``space``: its own fit where the device was measured in it; in a
        space it was never measured in, :meth:`weights_outside` (a signed fit's corrections do
        not carry over to other spaces and can go below zero there:
        ``python -m experiments.benchmarks.latency_predictor --cross-space``)."""
        if space in self.weights:
            return self.weights[space]
        if space not in self.spaces:
            return self.weights_outside()
        return self.weights["default"]

    def weights_outside(self) -> np.ndarray:
        """Non-negative physics weights for networks outside the measured spaces (other spaces,
        reference models): ``prior_weights`` when the profile has them, else a non-negative fit
        of its own measurements with the shipped profiles' non-negative fits as prior (profiles
        calibrated on too few points for ``prior_weights``), else the ``default`` fit."""
        if self.prior_weights is not None:
            return self.prior_weights
        if self._outside is None:
            self._outside = self.weights["default"]
            try:
                from nas.latency.fit import prior_from_profiles
                from nas.latency.measurements import read_measurements
                from nas.latency.model import fit_weights

                data = [read_measurements(m.csv, m.space, m.column) for m in self.measurements]
                prior = prior_from_profiles(exclude=(self.name,))
                if data and prior is not None:
                    f = np.concatenate([arch_features(archs, self.hardware) for archs, _ in data])
                    y = np.concatenate([lat for _, lat in data])
                    self._outside = fit_weights(f, y, prior, nonneg=True)
            except InputError:  # measurements missing or unreadable: keep the default fit
                pass
        return self._outside

    def predict_ms(self, archs) -> np.ndarray:
        """Predicted latency (ms) per architecture, input order; archs may mix spaces."""
        archs = list(archs)
        out = np.empty(len(archs))
        for space in {a.space for a in archs}:
            idx = [i for i, a in enumerate(archs) if a.space == space]
            sel = [archs[i] for i in idx]
            out[idx] = predict(arch_features(sel, self.hardware), self.weights_for(space))
            if space in self.space_models:
                out[idx] = self.space_models[space].predict_ms(transfer_features(sel), out[idx])
        return out

    def to_dict(self) -> dict:
        base = self.path.parent if self.path else None

        def rel(p: Path) -> str:
            try:
                return str(p.relative_to(base)) if base else str(p)
            except ValueError:
                return str(p)

        d = {"name": self.name, "device": self.device, "runtime": self.runtime,
             "batch_size": self.batch_size}
        for k in ("peak_gflops", "bandwidth_gbs", "memory_gb"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        d["source"] = self.source
        d["spaces"] = list(self.spaces)
        d["measurements"] = [{"space": m.space, "csv": rel(m.csv), "column": m.column}
                             for m in self.measurements]
        d["predictor"] = {
            "model": MODEL_NAME, "batch_size": self.hardware.batch_size,
            "peak_gflops": float(self.hardware.peak_gflops),
            "bandwidth_gbs": float(self.hardware.bandwidth_gbs),
            "features": list(FEATURE_NAMES),
            "weights": {k: _floats(v) for k, v in self.weights.items()},
        }
        if self.prior_weights is not None:
            d["predictor"]["prior_weights"] = _floats(self.prior_weights)
        if self.space_models:
            d["predictor"]["space_models"] = {
                s: {"encoding": ENCODING_NAME, "kind": m.kind, "intercept": float(m.intercept),
                    "physics_coef": float(m.physics_coef), "weights": [float(x) for x in m.weights]}
                for s, m in self.space_models.items()}
        d.update(self.extra)
        return d

    def save(self, path) -> Path:
        """Write the YAML (measurement paths relative to it when possible)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        old, self.path = self.path, p.resolve()
        try:
            text = yaml.safe_dump(self.to_dict(), sort_keys=False, width=120)
        finally:
            self.path = old
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(p)
        self.path = p.resolve()
        return p


def _floats(v) -> list[float]:
    return [float(f"{x:.6g}") for x in v]


def _weight_list(v, what: str) -> np.ndarray:
    if not isinstance(v, list) or len(v) != len(FEATURE_NAMES) or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        raise InputError(f"{what} must be a list of {len(FEATURE_NAMES)} numbers")
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
    from search_spaces import get_space  # validates space names
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
        p = (path.parent / csv) if not Path(csv).is_absolute() else Path(csv)
        if not p.is_file():
            raise InputError(f"{w}: csv file {csv!r} not found (relative to {path.parent})")
        refs.append(MeasurementRef(space, p, str(m.get("column", "latency_ms"))))
    pr = vals["predictor"]
    pw = f"{where}: predictor"
    if pr.get("model") != MODEL_NAME:
        raise InputError(f"{pw}: field 'model' must be {MODEL_NAME!r}, got {pr.get('model')!r}")
    hw = Hardware(_positive(pr, "batch_size", pw, int), float(_positive(pr, "peak_gflops", pw)),
                  float(_positive(pr, "bandwidth_gbs", pw)))
    if list(_typed(pr, "features", list, pw)) != list(FEATURE_NAMES):
        raise InputError(f"{pw}: field 'features' does not match this version's feature list")
    weights = {}
    for k, v in _typed(pr, "weights", dict, pw).items():
        weights[str(k)] = _weight_list(v, f"{pw}: weights[{k!r}]")
    if "default" not in weights:
        raise InputError(f"{pw}: field 'weights' needs a 'default' entry")
    prior_w = (_weight_list(pr["prior_weights"], f"{pw}: prior_weights")
               if pr.get("prior_weights") is not None else None)
    space_models = _space_models(pr.get("space_models"), pw)
    known = set(_REQUIRED) | set(_OPTIONAL_NUM)
    extra = {k: v for k, v in obj.items() if k not in known}
    return Profile(vals["name"], vals["device"], vals["runtime"], vals["batch_size"], vals["source"],
                   tuple(vals["spaces"]), tuple(refs), hw, weights, opt["peak_gflops"],
                   opt["bandwidth_gbs"], opt["memory_gb"], prior_w, extra, path.resolve(), space_models)


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
        weights = m.get("weights")
        n = len(FEATURE_NAMES) + dim
        if not isinstance(weights, list) or len(weights) != n or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in weights):
            raise InputError(f"{w}: field 'weights' must be a list of {n} numbers")
        coef = [_typed(m, k, float, w) for k in ("intercept", "physics_coef")]
        out[str(s)] = SpaceModel(float(coef[0]), float(coef[1]), np.array(weights, float), kind)
    return out


def read_profile_file(path) -> Profile:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such profile file")
    try:
        obj = yaml.safe_load(p.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
        raise InputError(f"{path}: not valid YAML ({first})") from None
    return parse_profile(obj, p)
