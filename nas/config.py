"""Experiment configuration: typed dataclasses, loading ``experiments/<name>.py``, overrides.

An experiment file defines ``get_config(smoke: bool = False) -> ExperimentConfig``. The smoke
variant is a tiny version of the same experiment used by tests. ``--set key=value`` overrides
any field by dotted path (``supernet.epochs=2``, ``search.budgets.flops=2e7``) with the value
parsed as JSON when possible and checked against the field's type.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from nas.errors import InputError, loads_json
from nas.export.formats import DEFAULT_FORMATS


class ConfigError(InputError):
    """A config file or override is invalid."""


@dataclass
class DataConfig:
    source: str = "fashion_mnist"  # a name in nas.data.SOURCES: fashion_mnist (Debian files), idx, tfds, image_folder
    name: str = ""  # TFDS dataset name (source "tfds")
    path: str = ""  # IDX folder (idx), TFDS data_dir (tfds) or folder with train/<class>/, val/<class>/ (image_folder)
    val_size: int = 5000  # examples carved from the training split (seeded)
    val_fraction: float = 0.0  # > 0: this share of the training examples instead (a folder of unknown size)
    seed: int = 0
    augment: bool = True
    limit_train: int = 0  # use only the first N training examples (0: all); for smoke runs
    limit_eval: int = 0
    stream: Literal["auto", "on", "off"] = "auto"  # auto: small fixed-shape sets in memory, the rest streamed
    image_size: int = 224  # streamed data: side of evaluation crops (and of training crops without resolutions)
    workers: int = 2  # streamed data: Grain worker processes decoding and augmenting training batches
    channels: Literal[1, 3] = 3  # streamed data: 3 RGB, 1 grayscale (files of any mode are converted)
    # streamed data: per-channel mean/std of the first training images ("dataset"), or ImageNet's
    # (torchvision's and OFA's); "auto": ImageNet's when supernet.init is an OFA checkpoint file
    normalize: Literal["auto", "dataset", "imagenet"] = "auto"


@dataclass
class SupernetConfig:
    epochs: float = 3.0
    batch_size: int = 256
    learning_rate: float = 0.05
    warmup_epochs: float = 0.3
    weight_decay: float = 3e-5
    label_smoothing: float = 0.1
    num_random_subnets: int = 2  # sandwich rule: largest + smallest + N random per step
    sampling: Literal["uniform", "macs"] = "uniform"  # random subnets: uniform per choice, or spread over MACs
    distill: bool = True  # in-place distillation from the largest subnet
    checkpoint_every_steps: int = 200
    bn_recalibration_batches: int = 4
    max_steps: int = 0  # stop after N steps (0: run all epochs); for smoke runs
    seed: int = 0
    jax_distributed: bool = False  # multi-host: join the processes (JAX_COORDINATOR_ADDRESS etc., docs/cluster.md)
    jax_init_timeout_s: int = 300  # multi-host: give up joining the coordinator after this many seconds
    resolutions: list[int] = field(default_factory=list)  # streamed data: one drawn per step ([]: data.image_size)
    init: str = ""  # start from this supernet, not random weights: OFA's MobileNetV3 .pth or a jaxnas supernet folder
    # sandwich: every step trains largest + smallest + N random subnets for `epochs`; progressive: Once-for-All's
    # progressive shrinking, the phases below in turn (nas.train.progressive); with `init`, training continues from it
    schedule: Literal["sandwich", "progressive"] = "sandwich"
    # progressive phases, in order: [{"name": full|kernel|depth|expand, "epochs": E, "learning_rate": LR,
    # "warmup_epochs": W}] ([]: full, kernel, depth, expand sharing `epochs`); kernel adds elastic kernels to the
    # full network, depth adds depth, expand adds expansion; every elastic phase is distilled from the largest
    phases: list[dict] = field(default_factory=list)
    kernel_transform: Literal["space", "on", "off"] = "space"  # learned kernel transformation (space: its default)


@dataclass
class SearchConfig:
    algorithm: str = "nsga2"  # a name in nas.search.ALGORITHMS: nsga2, evolution, random
    population: int = 32
    generations: int = 10
    objectives: list[str] = field(default_factory=lambda: ["accuracy", "latency_ms"])  # nas.evaluators.VALUES
    budgets: dict[str, float] = field(default_factory=dict)  # upper bounds, e.g. {"flops": 6e6, "latency_ms": 1.0}
    profiles: list[str] = field(default_factory=lambda: ["local_cpu"])  # shipped names or YAML paths
    num_workers: int = 0  # Ray actors (0: evaluate in process)
    ray_address: str = ""  # "" starts a local Ray instance when num_workers > 0
    cpus_per_worker: float = 1.0  # CPUs each Ray actor reserves
    gpus_per_worker: float = 0.0  # GPUs each Ray actor reserves (1 on GPU nodes; fractions share a GPU)
    ray_runtime_env: dict = field(default_factory=dict)  # Ray runtime_env (working_dir, py_modules, env_vars, pip)
    eval_batches: int = 4  # validation batches per accuracy evaluation
    mutation_rate: float = 0.0  # 0: 1/num_genes
    prescreen_factor: int = 50  # NSGA-II: children generated per slot, pre-screened by a ridge surrogate (0: off)
    # accuracy: "supernet" (the trained supernet scores every candidate), "predictor" (predictor-guided:
    # a predictor fitted on the supernet's scores so far picks which children get scored; needs nsga2
    # and prescreen_factor > 1), or a predictor file (.npz, nas accuracy fit|import-ofa: no supernet, no data)
    accuracy: str = "supernet"
    resolutions: list[int] = field(default_factory=list)  # draw only these resolutions ([]: all of the space's)
    seed: int = 0


@dataclass
class FinalConfig:
    top_k: int = 2
    epochs: float = 3.0
    batch_size: int = 256
    learning_rate: float = 0.05
    from_scratch: bool = True  # False: fine-tune from inherited supernet weights
    max_steps: int = 0
    num_workers: int = 1  # concurrent Ray Tune trials
    baselines: list[str] = field(default_factory=lambda: ["mobilenet_v2"])  # reference models, trained from scratch
    baseline_epochs: float = 0.0  # epochs for the reference models (0: final.epochs); e.g. supernet + final
    #                               epochs, so a baseline sees the data as often as a fine-tuned subnet's weights
    train_hand_designed: bool = True  # also train the space's hand-designed network alike
    augment: Literal["data", "on", "off"] = "data"  # data: as data.augment; on/off: crop + flip in this stage only
    cpus_per_trial: float = 1.0  # CPUs each Ray Tune trial reserves
    gpus_per_trial: float = 0.0  # GPUs each Ray Tune trial reserves
    storage_path: str = ""  # Ray Tune's records: "" (<workdir>/final/_tune), a shared folder or a URI (s3://, gs://)


@dataclass
class ExportConfig:
    formats: list[str] = field(default_factory=lambda: list(DEFAULT_FORMATS))  # a subset of nas.export.FORMATS
    onnx_tolerance: float = 1e-4  # relative: max|onnx - jax| / max|jax|
    batch: int = 1  # fixed batch of the exported graphs; 0: symbolic (dynamic) batch
    calibration_images: int = 256  # training images that calibrate the int8 models
    accuracy_images: int = 0  # test images each exported format is scored on; 0: the whole split (streamed: 5,000)
    latency: bool = True  # measure float vs int8 latency of the exported models here (ONNX Runtime)
    int8_weight_bits: Literal[8, 7] = 8  # ONNX int8 weights: 8 (as LiteRT, for the targets) or 7 (x86 without VNNI)


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    # a shipped space's name, a YAML declaration file, or module:attribute (a space written in Python)
    space: str = "fashion_mnist"
    # the space declared inline (nas.search_spaces.declare); wins over ``space``. A run records here
    # the declaration of a file's space, or of a shipped space given the data's class count
    space_def: dict = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    final: FinalConfig = field(default_factory=FinalConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    seed: int = 0
    supernet_from: str = ""  # reuse the trained supernet of another work directory (design studies)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# the shipped experiment configs: experiments/ of a checkout, installed as the package nas.experiments
EXPERIMENTS_DIR = Path(importlib.util.find_spec("nas.experiments").submodule_search_locations[0])


def load_experiment(name_or_path: str, smoke: bool = False) -> ExperimentConfig:
    """Load ``experiments/<name>.py`` (or a path to such a file) and call ``get_config``."""
    p = Path(name_or_path)
    known = sorted(q.stem for q in EXPERIMENTS_DIR.glob("*.py") if not q.stem.startswith("_"))
    if p.suffix != ".py":  # a name: only the experiments shipped in experiments/
        if name_or_path not in known:
            raise ConfigError(f"experiment {name_or_path!r} not found (known: {', '.join(known)}; "
                              "or give the path of a .py file)")
        p = EXPERIMENTS_DIR / f"{name_or_path}.py"
    elif not p.is_file():
        raise ConfigError(f"experiment file {p} not found")
    spec = importlib.util.spec_from_file_location(f"_experiment_{p.stem}", p)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except Exception as e:  # a broken config file is bad input, not a crash
        raise ConfigError(f"{p}: cannot load: {_one_line(e)}") from None
    if not callable(getattr(mod, "get_config", None)):
        raise ConfigError(f"{p}: defines no get_config(smoke=False)")
    try:
        cfg = mod.get_config(smoke=smoke)
    except Exception as e:  # the user's own code failed: name it, one line
        raise ConfigError(f"{p}: get_config(smoke={smoke}) failed: {_one_line(e)}") from None
    if not isinstance(cfg, ExperimentConfig):
        raise ConfigError(f"{p}: get_config must return an ExperimentConfig, got {type(cfg).__name__}")
    check_types(cfg, where=f"{p}: ")
    validate(cfg)
    return cfg


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}" if text else type(e).__name__


MAX_INT = 2**62  # every count, size and step of a config fits far below; bigger is a typo
SEED_RANGE = 2**32  # seeds are folded into 32-bit PRNG keys


def check_types(cfg: ExperimentConfig, where: str = "") -> None:
    """Every field of every section has its declared type (as ``--set`` coerces it), numbers
    finite and in range; ConfigError naming the field. Catches an experiment file whose
    ``get_config`` sets, say, ``supernet.epochs = "3"`` or a field to ``float("nan")``."""
    hints = typing.get_type_hints(ExperimentConfig)
    for f in dataclasses.fields(ExperimentConfig):
        value, tp = getattr(cfg, f.name), hints[f.name]
        if dataclasses.is_dataclass(tp):
            if not isinstance(value, tp):
                raise ConfigError(f"{where}{f.name}: must be a {tp.__name__}, got {type(value).__name__}")
            sub_hints = typing.get_type_hints(tp)
            for g in dataclasses.fields(tp):
                key = f"{f.name}.{g.name}"
                try:
                    _coerce(getattr(value, g.name), sub_hints[g.name], key, strict=True)
                except ConfigError as e:
                    raise ConfigError(f"{where}{str(e).removeprefix('--set ')}") from None
        else:
            try:
                _coerce(value, tp, f.name, strict=True)
            except ConfigError as e:
                raise ConfigError(f"{where}{str(e).removeprefix('--set ')}") from None


def _coerce(value, tp, key: str, *, strict: bool = False):
    """``value`` (parsed JSON or a raw string) checked and converted to the field type ``tp``:
    bool, int, float, str, ``Literal[...]``, ``list[str]`` (also ``a,b``), ``dict[str, float]``.
    Numbers must be finite and in range (seeds: ``0 <= seed < 2**32``). ``strict``: a value
    already in Python form (an experiment file's), so no comma-splitting or JSON-dumping."""
    origin, args = typing.get_origin(tp) or tp, typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        raise ConfigError(f"--set {key}: {key} is a section; set one of its fields ({key}.FIELD=VALUE)")
    if origin is Literal:
        if value in args:
            return value
        names = [str(a) for a in args]
        raise ConfigError(f"{key}: must be {', '.join(names[:-1])} or {names[-1]}, got {value!r}")
    if origin is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"--set {key}: expected true/false, got {value!r}")
    if origin is int:
        if isinstance(value, float) and math.isfinite(value) and value.is_integer() and not strict:
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"--set {key}: expected an integer, got {_short(value)}")
        lo, hi = (0, SEED_RANGE - 1) if key.rsplit(".", 1)[-1] == "seed" else (-MAX_INT, MAX_INT)
        if not lo <= value <= hi:
            raise ConfigError(f"--set {key}: {_short(value)} is out of range ({lo} to {hi})")
        return value
    if origin is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"--set {key}: expected a number, got {_short(value)}")
        if isinstance(value, int) and abs(value) > MAX_INT or not math.isfinite(value) or abs(value) > 1e300:
            raise ConfigError(f"--set {key}: expected a finite number, got {_short(value)}")
        return float(value)
    if origin is str:
        if (strict and not isinstance(value, str)) or isinstance(value, (list, dict)):
            raise ConfigError(f"--set {key}: expected a string, got {_short(value)}")
        return value if isinstance(value, str) else json.dumps(value)
    if origin is list:
        if isinstance(value, str) and not strict:
            value = [v for v in value.split(",") if v]
        if not isinstance(value, list):
            raise ConfigError(f"--set {key}: expected a list, got {value!r}")
        return [_coerce(v, args[0], f"{key}[{i}]", strict=strict) for i, v in enumerate(value)] if args else value
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"--set {key}: expected a JSON object, got {value!r}")
        return {k: _coerce(v, args[1], f"{key}.{k}", strict=strict) for k, v in value.items()} if args else value
    return value


def _short(value) -> str:
    """``repr(value)`` cut to 60 characters (a 5,000-digit number is not echoed back whole)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return "an integer of thousands of digits"
    return text if len(text) <= 60 else text[:57] + "..."


def _parse_value(key: str, raw: str):
    """An override's value: JSON when it parses as JSON (bounded: depth, digits, no NaN), else
    the raw string (``--set data.name=mnist``)."""
    try:
        json.loads(raw, parse_constant=lambda c: None)
    except (json.JSONDecodeError, RecursionError, ValueError):
        if raw.strip().lower().lstrip("+-") in ("nan", "infinity", "inf"):
            raise ConfigError(f"--set {key}: expected a finite number, got {raw!r}") from None
        if not (raw.lstrip()[:1] in ("[", "{") or raw.strip().lstrip("+-").replace(".", "", 1).isdigit()):
            return raw
    try:
        return loads_json(raw, f"--set {key}")  # meant as JSON: raises the one-line reason
    except InputError as e:
        raise ConfigError(str(e)) from None


def apply_overrides(cfg: ExperimentConfig, overrides: list[str]) -> ExperimentConfig:
    """Apply ``key=value`` overrides in place (dict fields accept ``budgets.flops=1e7``)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        value = _parse_value(key, raw)
        obj, parts = cfg, key.split(".")
        for i, part in enumerate(parts):
            fields = {f.name: f for f in dataclasses.fields(obj)}
            if part not in fields:
                raise ConfigError(f"--set {key}: unknown field {part!r} (known: {', '.join(fields)})")
            tp = typing.get_type_hints(type(obj))[part]
            rest = parts[i + 1:]
            if not rest:
                setattr(obj, part, _coerce(value, tp, key))
                if key == "space":  # another space: the recorded declaration of the old one goes
                    cfg.space_def = {}
                break
            if typing.get_origin(tp) is dict:  # budgets.flops=1e7: one entry of a mapping
                if len(rest) != 1:
                    raise ConfigError(f"--set {key}: {'.'.join(parts[:i + 1])} takes one level of keys "
                                      f"(e.g. {'.'.join(parts[:i + 1])}.NAME=VALUE)")
                getattr(obj, part)[rest[0]] = _coerce(value, typing.get_args(tp)[1], key)
                break
            obj = getattr(obj, part)
            if not dataclasses.is_dataclass(obj):
                raise ConfigError(f"--set {key}: {'.'.join(parts[:i + 1])} has no fields")
    validate(cfg)
    return cfg


def validate(cfg: ExperimentConfig) -> None:
    """Check names against the registries that own them (spaces, data sources, algorithms,
    evaluator values, profiles, reference models, export formats) and values that types alone
    do not catch; raise ConfigError (or the registry's InputError) naming the field."""
    from nas.data import check_source
    from nas.evaluators.factory import VALUES, check_values
    from nas.export import check_formats
    from nas.export.formats import check_export_values
    from nas.latency.profile_io import check_profiles
    from nas.search import check_algorithm
    from nas.search.objectives import MAXIMISED
    from nas.search_spaces.registry import REFERENCE_MODELS, activate, get_space

    check_types(cfg)
    try:
        cfg.space, cfg.space_def = activate(cfg.space, cfg.space_def)
    except InputError as e:
        raise ConfigError(f"space: {str(e).removeprefix('space: ')}") from None
    try:
        check_source(cfg.data.source)
        check_algorithm(cfg.search.algorithm)
        check_values(cfg.search.objectives)
        check_formats(cfg.export.formats)
        check_export_values(cfg.export)
        check_profiles(cfg.search.profiles)
    except InputError as e:  # the registry's own one-line message, as a config error
        raise ConfigError(str(e)) from None
    acc = cfg.search.accuracy
    if acc not in ("supernet", "predictor") and not acc.endswith(".npz"):
        raise ConfigError(f"search.accuracy: {acc!r} is neither 'supernet', 'predictor' nor a predictor file (.npz)")
    if acc == "predictor" and (cfg.search.algorithm != "nsga2" or cfg.search.prescreen_factor < 2):
        raise ConfigError("search.accuracy: 'predictor' (predictor-guided search) needs search.algorithm nsga2 and "
                          "search.prescreen_factor of at least 2")
    if cfg.search.resolutions:
        space = get_space(cfg.space)
        if not hasattr(space, "with_resolutions"):
            raise ConfigError(f"search.resolutions: space {cfg.space} has no resolution gene to restrict")
        try:
            space.with_resolutions(cfg.search.resolutions)
        except InputError as e:
            raise ConfigError(str(e)) from None
    budgetable = [v for v in VALUES if v not in MAXIMISED]
    for b, v in cfg.search.budgets.items():
        if b not in budgetable:
            raise ConfigError(f"search.budgets: unknown budget {b!r} (known: {', '.join(budgetable)})")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            raise ConfigError(f"search.budgets.{b}: must be a positive number, got {v!r}")
    positive = {
        "supernet.batch_size": cfg.supernet.batch_size, "supernet.learning_rate": cfg.supernet.learning_rate,
        "search.population": cfg.search.population, "search.generations": cfg.search.generations,
        "final.batch_size": cfg.final.batch_size, "final.top_k": cfg.final.top_k,
        "search.eval_batches": cfg.search.eval_batches, "data.image_size": cfg.data.image_size,
    }
    for k, v in positive.items():
        if v <= 0:
            raise ConfigError(f"{k}: must be positive, got {v!r}")
    for m in cfg.final.baselines:
        if m not in REFERENCE_MODELS:
            raise ConfigError(f"final.baselines: unknown model {m!r} (known: {', '.join(REFERENCE_MODELS)})")
    for k, v in {"supernet.epochs": cfg.supernet.epochs, "final.epochs": cfg.final.epochs,
                 "final.baseline_epochs": cfg.final.baseline_epochs,
                 "supernet.num_random_subnets": cfg.supernet.num_random_subnets,
                 "search.num_workers": cfg.search.num_workers}.items():
        if v < 0:
            raise ConfigError(f"{k}: must be non-negative, got {v!r}")
    if not 0 <= cfg.data.val_fraction < 1:
        raise ConfigError(f"data.val_fraction: must be in [0, 1), got {cfg.data.val_fraction!r}")
    if cfg.data.workers < 0:
        raise ConfigError(f"data.workers: must be non-negative, got {cfg.data.workers!r}")
    for r in cfg.supernet.resolutions:
        if isinstance(r, bool) or not isinstance(r, int) or r <= 0:
            raise ConfigError(f"supernet.resolutions: must be positive integers, got {r!r}")
    _coerce(cfg.data.channels, typing.get_type_hints(DataConfig)["channels"], "data.channels")
    _coerce(cfg.data.stream, typing.get_type_hints(DataConfig)["stream"], "data.stream")
    _coerce(cfg.final.augment, typing.get_type_hints(FinalConfig)["augment"], "final.augment")
    _coerce(cfg.supernet.sampling, typing.get_type_hints(SupernetConfig)["sampling"], "supernet.sampling")
    _coerce(cfg.supernet.schedule, typing.get_type_hints(SupernetConfig)["schedule"], "supernet.schedule")
    _coerce(cfg.supernet.kernel_transform, typing.get_type_hints(SupernetConfig)["kernel_transform"],
            "supernet.kernel_transform")
    if cfg.supernet.schedule == "progressive" or cfg.supernet.phases:
        from nas.train.progressive import resolve_phases

        try:
            resolve_phases(cfg.supernet)
        except InputError as e:
            raise ConfigError(str(e)) from None
    _coerce(cfg.data.normalize, typing.get_type_hints(DataConfig)["normalize"], "data.normalize")
    if cfg.supernet.init and cfg.supernet_from:
        raise ConfigError("supernet.init: give supernet.init or supernet_from, not both")
    validate_cluster(cfg)


RUNTIME_ENV_KEYS = ("working_dir", "py_modules", "env_vars", "pip", "uv", "conda", "excludes", "py_executable",
                    "image_uri", "container", "nsight", "config")


def validate_cluster(cfg: ExperimentConfig) -> None:
    """Resources per Ray worker and trial, the Ray runtime_env, Tune's storage path and the
    multi-host timeout: ConfigError naming the field."""
    for k, v in {"search.cpus_per_worker": cfg.search.cpus_per_worker,
                 "search.gpus_per_worker": cfg.search.gpus_per_worker,
                 "final.cpus_per_trial": cfg.final.cpus_per_trial,
                 "final.gpus_per_trial": cfg.final.gpus_per_trial}.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < float("inf"):
            raise ConfigError(f"{k}: must be a non-negative number, got {v!r}")
        if v > 1 and v != int(v):
            raise ConfigError(f"{k}: Ray takes a fraction below 1 or a whole number, got {v!r}")
    for k in ("search.cpus_per_worker", "final.cpus_per_trial"):
        section, name = k.split(".")
        if getattr(getattr(cfg, section), name) <= 0:
            raise ConfigError(f"{k}: must be positive, got {getattr(getattr(cfg, section), name)!r}")
    env = cfg.search.ray_runtime_env
    if not isinstance(env, dict):
        raise ConfigError(f"search.ray_runtime_env: expected a JSON object, got {env!r}")
    for key, value in env.items():
        if key not in RUNTIME_ENV_KEYS:
            raise ConfigError(f"search.ray_runtime_env: unknown key {key!r} (known: {', '.join(RUNTIME_ENV_KEYS)})")
        if key == "working_dir" and (not isinstance(value, str) or not value
                                     or ("://" not in value and not Path(value).is_dir())):
            raise ConfigError(f"search.ray_runtime_env.working_dir: not a folder or URI: {value!r}")
        if key in ("py_modules", "excludes") and not (isinstance(value, list) and all(isinstance(m, str)
                                                                                      for m in value)):
            raise ConfigError(f"search.ray_runtime_env.{key}: expected a list of strings, got {value!r}")
        if key == "env_vars" and not (isinstance(value, dict) and all(isinstance(a, str) and isinstance(b, str)
                                                                      for a, b in value.items())):
            raise ConfigError(f"search.ray_runtime_env.env_vars: expected an object of strings, got {value!r}")
    path = cfg.final.storage_path
    if not isinstance(path, str) or path != path.strip() or "\n" in path:
        raise ConfigError(f"final.storage_path: expected a folder or URI, got {path!r}")
    if "://" in path:
        scheme = path.split("://", 1)[0]
        if not scheme.isalnum() or not path.split("://", 1)[1]:
            raise ConfigError(f"final.storage_path: malformed URI {path!r} (expected scheme://bucket/path)")
    elif path and Path(path).exists() and not Path(path).is_dir():
        raise ConfigError(f"final.storage_path: {path} exists and is not a folder")
    if isinstance(cfg.supernet.jax_init_timeout_s, bool) or cfg.supernet.jax_init_timeout_s <= 0:
        raise ConfigError(f"supernet.jax_init_timeout_s: must be positive, got {cfg.supernet.jax_init_timeout_s!r}")


def config_from_dict(d: dict) -> ExperimentConfig:
    """Rebuild an ExperimentConfig from :meth:`ExperimentConfig.to_dict` output (e.g. in Ray workers)."""
    sections = {f.name: f.type for f in dataclasses.fields(ExperimentConfig)}
    hints = typing.get_type_hints(ExperimentConfig)
    kwargs = {}
    if not isinstance(d, dict):
        raise ConfigError(f"config: must be a mapping, got {type(d).__name__}")
    for name, value in d.items():
        if name == "history":  # config.json's record of changes (nas.pipeline.workdir), not a setting
            continue
        if name not in sections:
            raise ConfigError(f"config: unknown field {name!r}")
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            known = {f.name for f in dataclasses.fields(tp)}
            if not isinstance(value, dict) or set(value) - known:
                bad = sorted(set(value) - known) if isinstance(value, dict) else type(value).__name__
                raise ConfigError(f"config: section {name!r} is malformed ({bad})")
            value = tp(**value)
        kwargs[name] = value
    cfg = ExperimentConfig(**kwargs)
    validate(cfg)
    return cfg
