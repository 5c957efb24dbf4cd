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
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from nas.export.formats import FORMATS
from search_spaces.arch import InputError


class ConfigError(InputError):
    """A config file or override is invalid."""


@dataclass
class DataConfig:
    source: str = "fashion_mnist"  # a name in nas.data.SOURCES: fashion_mnist (Debian files), idx, tfds, image_folder
    name: str = ""  # TFDS dataset name (source "tfds")
    path: str = ""  # IDX folder (idx), TFDS data_dir (tfds) or folder with train/<class>/, val/<class>/ (image_folder)
    val_size: int = 5000  # examples carved from the training split (seeded)
    seed: int = 0
    augment: bool = True
    limit_train: int = 0  # use only the first N training examples (0: all); for smoke runs
    limit_eval: int = 0
    stream: Literal["auto", "on", "off"] = "auto"  # auto: small fixed-shape sets in memory, the rest streamed
    image_size: int = 224  # streamed data: side of evaluation crops (and of training crops without resolutions)
    workers: int = 2  # streamed data: Grain worker processes decoding and augmenting training batches
    channels: Literal[1, 3] = 3  # streamed data: 3 RGB, 1 grayscale (files of any mode are converted)


@dataclass
class SupernetConfig:
    epochs: float = 3.0
    batch_size: int = 256
    learning_rate: float = 0.05
    warmup_epochs: float = 0.3
    weight_decay: float = 3e-5
    label_smoothing: float = 0.1
    num_random_subnets: int = 2  # sandwich rule: largest + smallest + N random per step
    distill: bool = True  # in-place distillation from the largest subnet
    checkpoint_every_steps: int = 200
    bn_recalibration_batches: int = 4
    max_steps: int = 0  # stop after N steps (0: run all epochs); for smoke runs
    seed: int = 0
    jax_distributed: bool = False  # call jax.distributed.initialize() (multi-host TPU/GPU pods)
    resolutions: list[int] = field(default_factory=list)  # streamed data: one drawn per step ([]: data.image_size)


@dataclass
class SearchConfig:
    algorithm: str = "nsga2"  # a name in nas.search.ALGORITHMS: nsga2, evolution, random
    population: int = 32
    generations: int = 10
    objectives: list[str] = field(default_factory=lambda: ["accuracy", "latency_ms"])  # evaluators.VALUES
    budgets: dict[str, float] = field(default_factory=dict)  # upper bounds, e.g. {"flops": 6e6, "latency_ms": 1.0}
    profiles: list[str] = field(default_factory=lambda: ["local_cpu"])  # shipped names or YAML paths
    num_workers: int = 0  # Ray actors (0: evaluate in process)
    ray_address: str = ""  # "" starts a local Ray instance when num_workers > 0
    eval_batches: int = 4  # validation batches per accuracy evaluation
    mutation_rate: float = 0.0  # 0: 1/num_genes
    prescreen_factor: int = 50  # NSGA-II: children generated per slot, pre-screened by a ridge surrogate (0: off)
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
    gpus_per_trial: float = 0.0


@dataclass
class ExportConfig:
    formats: list[str] = field(default_factory=lambda: list(FORMATS))  # a subset of nas.export.FORMATS
    onnx_tolerance: float = 1e-4


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    space: str = "fashion_mnist"
    data: DataConfig = field(default_factory=DataConfig)
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    final: FinalConfig = field(default_factory=FinalConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    seed: int = 0
    supernet_from: str = ""  # reuse the trained supernet of another work directory (design studies)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


EXPERIMENTS_DIR = Path(__file__).resolve().parent.parent / "experiments"


def load_experiment(name_or_path: str, smoke: bool = False) -> ExperimentConfig:
    """Load ``experiments/<name>.py`` (or a path to such a file) and call ``get_config``."""
    p = Path(name_or_path)
    if p.suffix != ".py":
        p = EXPERIMENTS_DIR / f"{name_or_path}.py"
    if not p.is_file():
        known = sorted(q.stem for q in EXPERIMENTS_DIR.glob("*.py") if not q.stem.startswith("_"))
        raise ConfigError(f"experiment {name_or_path!r} not found (known: {', '.join(known)})")
    spec = importlib.util.spec_from_file_location(f"_experiment_{p.stem}", p)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except Exception as e:  # a broken config file is bad input, not a crash
        raise ConfigError(f"{p}: cannot load: {type(e).__name__}: {e}") from None
    if not hasattr(mod, "get_config"):
        raise ConfigError(f"{p}: defines no get_config(smoke=False)")
    cfg = mod.get_config(smoke=smoke)
    if not isinstance(cfg, ExperimentConfig):
        raise ConfigError(f"{p}: get_config must return an ExperimentConfig")
    validate(cfg)
    return cfg


def _coerce(value, tp, key: str):
    """``value`` (parsed JSON or a raw string) checked and converted to the field type ``tp``:
    bool, int, float, str, ``Literal[...]``, ``list[str]`` (also ``a,b``), ``dict[str, float]``."""
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
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"--set {key}: expected an integer, got {value!r}")
    if origin is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"--set {key}: expected a number, got {value!r}")
    if origin is str:
        return value if isinstance(value, str) else json.dumps(value)
    if origin is list:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        if not isinstance(value, list):
            raise ConfigError(f"--set {key}: expected a list, got {value!r}")
        return [_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)] if args else value
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"--set {key}: expected a JSON object, got {value!r}")
        return {k: _coerce(v, args[1], f"{key}.{k}") for k, v in value.items()} if args else value
    return value


def apply_overrides(cfg: ExperimentConfig, overrides: list[str]) -> ExperimentConfig:
    """Apply ``key=value`` overrides in place (dict fields accept ``budgets.flops=1e7``)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        obj, parts = cfg, key.split(".")
        for i, part in enumerate(parts):
            fields = {f.name: f for f in dataclasses.fields(obj)}
            if part not in fields:
                raise ConfigError(f"--set {key}: unknown field {part!r} (known: {', '.join(fields)})")
            tp = typing.get_type_hints(type(obj))[part]
            rest = parts[i + 1:]
            if not rest:
                setattr(obj, part, _coerce(value, tp, key))
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
    from evaluators.factory import VALUES, check_values
    from nas.data import check_source
    from nas.export import check_formats
    from nas.latency.profile_io import check_profiles
    from nas.search import check_algorithm
    from nas.search.objectives import MAXIMISED
    from search_spaces.registry import REFERENCE_MODELS, SPACES

    if cfg.space not in SPACES:
        raise ConfigError(f"space: unknown search space {cfg.space!r} (known: {', '.join(SPACES)})")
    try:
        check_source(cfg.data.source)
        check_algorithm(cfg.search.algorithm)
        check_values(cfg.search.objectives)
        check_formats(cfg.export.formats)
        check_profiles(cfg.search.profiles)
    except InputError as e:  # the registry's own one-line message, as a config error
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
    if cfg.data.workers < 0:
        raise ConfigError(f"data.workers: must be non-negative, got {cfg.data.workers!r}")
    for r in cfg.supernet.resolutions:
        if isinstance(r, bool) or not isinstance(r, int) or r <= 0:
            raise ConfigError(f"supernet.resolutions: must be positive integers, got {r!r}")
    _coerce(cfg.data.channels, typing.get_type_hints(DataConfig)["channels"], "data.channels")
    _coerce(cfg.data.stream, typing.get_type_hints(DataConfig)["stream"], "data.stream")
    _coerce(cfg.final.augment, typing.get_type_hints(FinalConfig)["augment"], "final.augment")


def config_from_dict(d: dict) -> ExperimentConfig:
    """Rebuild an ExperimentConfig from :meth:`ExperimentConfig.to_dict` output (e.g. in Ray workers)."""
    sections = {f.name: f.type for f in dataclasses.fields(ExperimentConfig)}
    hints = typing.get_type_hints(ExperimentConfig)
    kwargs = {}
    for name, value in d.items():
        if name not in sections:
            raise ConfigError(f"config: unknown field {name!r}")
        tp = hints[name]
        kwargs[name] = tp(**value) if dataclasses.is_dataclass(tp) else value
    cfg = ExperimentConfig(**kwargs)
    validate(cfg)
    return cfg
