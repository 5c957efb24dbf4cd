"""The Python API of the main job: search space -> supernet -> search on a hardware profile ->
export, for notebooks and scripts (docs/api.md).

::

    from nas import api

    cfg = api.load_config("fashion_mnist", smoke=True)
    api.supernet(cfg, "runs/fm")                                  # stage 1: train (or reuse)
    found = api.search(cfg, "runs/fm", "local_cpu", budgets={"flops": 2e7})   # stage 2
    best = found.front[0]                                         # the most accurate feasible network
    api.predict_latency(best.arch, "pixel2")                      # ms on another device
    model = api.export(cfg, "runs/fm", best.arch)                 # stages 3-4: train, ONNX, ...

Every function runs the pipeline's own stage functions (:mod:`nas.pipeline`), as the ``nas``
CLI does, so a work directory holds the same files whichever drove it, and a call finds the
work of an earlier one (or of ``nas run``) complete and skips it. A config is never modified:
each call works on its own copy. Bad input raises :class:`InputError` (one line naming the
field or file) before any training starts, as the CLI's exit status 2 does. One process:
multi-host supernet training is ``nas run``'s (docs/cluster.md).
"""
from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from nas.config import ExperimentConfig, apply_overrides, load_experiment, validate
from nas.errors import InputError
from nas.search_spaces import Arch, SearchSpace, arch_dumps, arch_to_json, get_space

__all__ = ["Exported", "InputError", "RunOutcome", "SearchOutcome", "Solution", "SupernetInfo", "export",
           "load_config", "predict_latency", "run", "search", "space", "supernet"]

ROW_FIELDS = ("arch", "generation", "violation", "feasible")  # a search row's fields that are not values


class SupernetInfo(NamedTuple):
    """A run's trained (or imported) supernet."""

    directory: Path  # <workdir>/supernet
    val_acc_largest: float  # validation accuracy in [0, 1] of the largest subnet (BN recalibrated)
    val_acc_smallest: float  # the same for the smallest subnet
    record: dict  # the whole record of supernet/result.json (steps, times, source of an import, ...)


class Solution(NamedTuple):
    """One evaluated architecture of a search."""

    arch: Arch
    values: dict  # objective and budget values: accuracy (supernet, [0, 1]), latency_ms, flops, params, ...
    generation: int  # the generation that first evaluated it


class SearchOutcome(NamedTuple):
    """The result of one profile's search."""

    profile: str  # the profile as the run names it (a YAML path by its file's stem)
    front: list  # [Solution]: feasible, non-dominated, the best first objective first
    hypervolume: float  # of the front, in the minimisation form of the objectives
    evaluations: int  # architectures evaluated (resumed generations included)
    generations: int
    directory: Path  # <workdir>/search/<profile>/


class Exported(NamedTuple):
    """One exported network (``<workdir>/export/<name>/``, layout in :mod:`nas.export.artifacts`)."""

    name: str  # net_<digest of the architecture>: the folder name under final/ and export/
    arch: Arch
    directory: Path
    onnx: Path | None  # model.onnx: raw 0..255 pixels in (NHWC float32, normalised inside), logits out
    test_accuracy: float  # of the trained JAX network on the test split (final training)
    accuracy: dict  # test accuracy in [0, 1] per exported format ("onnx", "onnx-int8", ...)
    latency_ms_here: dict  # measured latency (ms) here per exported runtime format (export.latency)
    record: dict  # the whole export record (arch.json)


class RunOutcome(NamedTuple):
    """A finished ``run``."""

    workdir: Path
    report: Path  # report/index.html
    summary: dict  # summary.json: every trained network, its accuracies, costs, latencies, export


def load_config(name_or_path: str, overrides: Mapping | Sequence[str] | None = None, *,
                smoke: bool = False) -> ExperimentConfig:
    """The experiment config ``experiments/<name>.py`` (or a path to such a file, or a work
    directory: the config its ``config.json`` records), with ``overrides`` applied and checked as
    ``nas run --set`` does.

    Args:
      name_or_path: a shipped experiment's name (``"fashion_mnist"``), a ``.py`` path, or a work
        directory (continue a run with the settings it was run with).
      overrides: dotted field -> Python value (``{"supernet.epochs": 2, "search.budgets.flops":
        2e7}``), or ``"key=value"`` strings as the CLI takes them.
      smoke: the experiment's tiny variant (seconds of training; tests and trials).

    Raises:
      InputError (:class:`nas.config.ConfigError`) naming the file or field.
    """
    from nas.pipeline.workdir import stored_config
    from nas.rundir import RunDir

    if Path(name_or_path).is_dir():
        cfg, _ = stored_config(RunDir(Path(name_or_path)))
        if cfg is None:
            raise InputError(f"{name_or_path}: a folder without config.json (not a work directory)")
    else:
        cfg = load_experiment(str(name_or_path), smoke=smoke)
    if overrides is None:
        return cfg
    if isinstance(overrides, Mapping):
        items = []
        for key, value in overrides.items():
            try:
                items.append(f"{key}={json.dumps(value, allow_nan=False)}")
            except (TypeError, ValueError):
                raise InputError(f"overrides: {key}: {value!r} is not a JSON value") from None
    elif isinstance(overrides, (str, bytes)) or not all(isinstance(o, str) for o in overrides):
        raise InputError("overrides: a mapping or a list of 'key=value' strings")
    else:
        items = list(overrides)
    return apply_overrides(cfg, items)


def space(name: str) -> SearchSpace:
    """The search space ``name`` (``fashion_mnist``, ``ofa_mbv3``, ``fbnet``): encodings
    (``from_json``/``to_json``), ``sample(key, n)``, ``largest()``, ``smallest()``, ...; InputError
    when unknown."""
    return get_space(name)


def supernet(cfg: ExperimentConfig, workdir, *, init=None) -> SupernetInfo:
    """Stage 1: train the supernet of ``cfg`` in ``workdir`` (resuming from its checkpoints;
    skipped when complete), or import ``cfg.supernet.init`` / link ``cfg.supernet_from``.

    Args:
      workdir: the work directory (created; ``config.json`` records the config, as ``nas run``).
      init: start from this existing jaxnas supernet instead of training: a work directory, its
        ``supernet/`` folder or a folder written by ``nas supernet import-ofa`` (the same as
        ``supernet.init``; OFA's ``.pth`` file goes into the config's ``supernet.init``, since
        its ImageNet normalisation concerns every stage).

    Raises:
      InputError: bad config or data path, a data set that does not fit the space, an ``init``
      that is not a supernet of the space, damaged checkpoints.
    """
    from nas.data import load_dataset
    from nas.pipeline.run import save_config
    from nas.pipeline.supernet import check_space_fits_data, run_supernet_stage
    from nas.raycluster import driver_env

    cfg = _copy(cfg)
    if init is not None:
        if not Path(init).expanduser().is_dir():
            raise InputError(f"init: {init} is not a folder (an OFA .pth file goes into supernet.init)")
        cfg.supernet.init, cfg.supernet_from = str(init), ""
    _resolve(cfg)
    driver_env(cfg)
    dataset = load_dataset(cfg.data)
    check_space_fits_data(cfg, dataset)
    run = _workdir(workdir)
    save_config(cfg, run)
    record = dict(run_supernet_stage(cfg, run.root, dataset))
    return SupernetInfo(run.supernet.path, float(record["val_acc_largest"]), float(record["val_acc_smallest"]),
                        record)


def load_workdir_config(workdir) -> ExperimentConfig:
    """The configuration a work directory was run with (its ``config.json``); InputError when
    ``workdir`` is not a work directory or its config does not parse."""
    from nas.config import config_from_dict
    from nas.files import read_json
    from nas.rundir import RunDir

    run = RunDir(Path(workdir).expanduser())
    if not run.config.is_file():
        raise InputError(f"{workdir}: not a work directory (no config.json)")
    return config_from_dict(read_json(run.config, what="config"))


def evaluate(cfg: ExperimentConfig, workdir, archs) -> list[float]:
    """Inherited-weight accuracy (a fraction) of each of ``archs`` (Arch values or Solutions) on
    the supernet of ``workdir``, scored exactly as the run's search scores candidates (its
    validation examples and BN recalibration, through its accuracy cache); in input order.
    InputError when the run has no supernet or an architecture belongs to another space."""
    from nas.pipeline.search import supernet_accuracy

    archs = [_arch(a) for a in _sequence(archs, "archs")]
    for a in archs:
        if a.space != cfg.space:
            raise InputError(f"archs: an architecture of space {a.space}, but the run searches {cfg.space}")
    if not archs:
        return []
    return [float(x) for x in supernet_accuracy(_copy(cfg), Path(workdir).expanduser().resolve(), archs)]


def search(cfg: ExperimentConfig, workdir, profile: str | None = None, *, budgets: Mapping | None = None,
           generations: int | None = None,
           on_generation: Callable[[dict], None] | None = None) -> SearchOutcome:
    """Stage 2 on one hardware profile: the checkpointed multi-objective search of ``cfg.search``
    on the supernet trained in ``workdir`` (resumed when a search of the same settings stopped
    there; ``search/<profile>/`` as ``nas search`` writes it).

    Args:
      profile: a shipped profile's name (``nas.latency.list_profiles()``) or a profile YAML path;
        default: the first of ``search.profiles``.
      budgets: upper bounds replacing ``search.budgets``: ``latency_ms`` (ms on ``profile``),
        ``flops``, ``macs``, ``params``, ``peak_activation_bytes`` (bytes).
      generations: replaces ``search.generations`` (more than a finished search's extends it).
      on_generation: called after each generation with its metrics (``generation``,
        ``evaluations``, ``hypervolume``, ``front_size``, ``best``, ``elapsed_s``, ...).

    Returns the feasible Pareto front as :class:`Solution` values (best first objective first).

    Raises:
      InputError: unknown profile or budget, a budget no network of the space meets, no trained
      supernet in ``workdir`` (when accuracy is an objective), or a search of other settings
      (budgets, objectives, seed, ...) already in ``search/<profile>/``: use another work
      directory, sharing the supernet with ``supernet(cfg, other, init=workdir)``.
    """
    from nas.latency.profile_io import load_profiles
    from nas.pipeline.search import check_budgets_reachable, run_stage
    from nas.rundir import profile_label

    cfg = _copy(cfg)
    profile = cfg.search.profiles[0] if profile is None else profile
    if not isinstance(profile, (str, Path)):
        raise InputError(f"profile: a name or a YAML path, got {profile!r}")
    cfg.search.profiles = [str(profile)]
    if budgets is not None:
        if not isinstance(budgets, Mapping):
            raise InputError(f"budgets: a mapping of name -> upper bound, got {budgets!r}")
        cfg.search.budgets = dict(budgets)
    if generations is not None:
        cfg.search.generations = generations
    _resolve(cfg)
    loaded = load_profiles([profile])  # a profile file that does not load fails now; read once
    check_budgets_reachable(cfg, loaded=loaded)
    run = _workdir(workdir)
    cb = (lambda p, m: on_generation(m)) if on_generation is not None else None
    res = run_stage(cfg, run.root, on_generation=cb, loaded=loaded)[str(profile)]
    sp = get_space(cfg.space)
    front = [Solution(sp.from_json(r["arch"]), {k: v for k, v in r.items() if k not in ROW_FIELDS},
                      int(r["generation"])) for r in res.front]
    return SearchOutcome(profile_label(str(profile)), front, float(res.hypervolume), res.evaluations,
                         res.generations, Path(res.directory))


def predict_latency(arch, profile: str):
    """Predicted latency in ms of ``arch`` on ``profile`` (a shipped profile's name or a YAML
    path), as the search and ``nas latency predict`` compute it.

    ``arch``: an :class:`Arch` or a :class:`Solution`, giving a float; or a sequence of them,
    giving a list of floats in input order. InputError for an unknown or broken profile, or
    anything else than architectures."""
    from nas.latency.profile_io import load_profile

    one = isinstance(arch, (Arch, Solution))
    archs = [_arch(a) for a in ([arch] if one else _sequence(arch, "arch"))]
    ms = [float(v) for v in load_profile(profile).predict_ms(archs)] if archs else []
    return ms[0] if one else ms


def export(cfg: ExperimentConfig, workdir, arch, *, formats: Sequence[str] | None = None,
           ray: bool = False):
    """Stages 3-4 for architectures of your choice: final training (``cfg.final``: fine-tuned
    from the supernet of ``workdir``, or from scratch), then export of each to
    ``export/<name>/`` (JSON record, Flax weights, ONNX checked against JAX with ONNX Runtime,
    int8, LiteRT; test accuracy of every format, latency here). Trainings and exports already
    finished in ``workdir`` are reused.

    Args:
      arch: an :class:`Arch` or :class:`Solution` of ``cfg.space``, giving an :class:`Exported`;
        or a sequence of them, giving a list.
      formats: a subset of :data:`nas.export.FORMATS` (default: ``export.formats``).
      ray: train as Ray Tune trials, as ``nas run`` does (default: one after another in this
        process; the files are the same).

    Raises:
      InputError: an architecture of another space, an unknown format or a missing converter,
      no trained supernet in ``workdir`` (fine-tuning), settings that differ from a finished
      training's; ExportError (an InputError) when ONNX disagrees with JAX beyond
      ``export.onnx_tolerance``.
    """
    from nas.data import load_dataset
    from nas.export import check_formats
    from nas.export.formats import check_converters
    from nas.pipeline.candidates import Candidate
    from nas.pipeline.export import export_all
    from nas.pipeline.final import run_final_training

    cfg = _copy(cfg)
    one = isinstance(arch, (Arch, Solution))
    archs = [_arch(a) for a in ([arch] if one else _sequence(arch, "arch"))]
    sp = get_space(cfg.space)
    for a in archs:
        if a.space != cfg.space:
            raise InputError(f"arch: belongs to space {a.space!r}, the config's is {cfg.space!r}")
    archs = [sp.canonical(a) for a in archs]
    formats = check_formats(cfg.export.formats if formats is None else formats, field="formats")
    check_converters(formats, "formats")
    _resolve(cfg)
    run = _workdir(workdir)
    if not cfg.final.from_scratch and not run.supernet.result.is_file():
        raise InputError(f"{run.supernet.path}: no trained supernet to fine-tune from (call supernet() first, "
                         "or set final.from_scratch)")
    cands = list({a: Candidate(_name(a), "searched", arch_to_json(a)) for a in archs}.values())
    finals = run_final_training(cfg, run.root, cands, in_process=not ray)
    records = export_all(cfg, run.root, cands, load_dataset(cfg.data), formats=formats)
    out = {c.name: Exported(c.name, sp.from_json(c.arch), run.export(c.name).path,
                            run.export(c.name).onnx if records[c.name].get("onnx") else None,
                            float(finals[c.name]["test_acc"]), dict(records[c.name].get("accuracy", {})),
                            dict(records[c.name].get("latency_ms", {})), records[c.name]) for c in cands}
    got = [out[_name(a)] for a in archs]
    return got[0] if one else got


def run(cfg: ExperimentConfig, workdir, *, progress: bool = True) -> RunOutcome | None:
    """The whole job of ``nas run``: supernet, one search per ``search.profiles``, the chosen
    networks and baselines trained as Ray Tune trials, export, ``summary.json`` and the report;
    resumable, each stage skipped when complete. ``progress``: stage lines on stderr.

    Returns None on a multi-host run's processes other than process 0. Raises InputError for
    bad input, before anything is trained. Ray, once started, keeps running in this process."""
    from nas.pipeline import run_experiment

    console = None
    if progress:
        from rich.console import Console

        console = Console(stderr=True)
    result = run_experiment(_copy(cfg), workdir, console=console)
    if result is None:
        return None
    summary = json.loads(Path(result.summary).read_text())
    return RunOutcome(Path(result.summary).parent, Path(result.report), summary)


# --------------------------------------------------------------------------- helpers
def _copy(cfg) -> ExperimentConfig:
    if not isinstance(cfg, ExperimentConfig):
        raise InputError(f"cfg: an ExperimentConfig (from load_config), got {type(cfg).__name__}")
    return copy.deepcopy(cfg)


def _resolve(cfg: ExperimentConfig) -> None:
    """Check ``cfg`` as a config file is checked, the data's location and ``supernet.init``;
    make ``data.normalize`` definite (as ``nas run`` does)."""
    from nas.data import check_location
    from nas.pipeline.supernet import resolve_normalization

    validate(cfg)
    check_location(cfg.data)
    resolve_normalization(cfg)


def _workdir(workdir):
    from nas.files import checked_dir
    from nas.rundir import RunDir

    if not isinstance(workdir, (str, Path)) or not str(workdir):
        raise InputError(f"workdir: a folder path, got {workdir!r}")
    return RunDir(checked_dir(Path(workdir).expanduser().resolve(), "work directory"))


def _arch(a) -> Arch:
    if isinstance(a, Solution):
        return a.arch
    if isinstance(a, Arch):
        return get_space(a.space).validate(a)
    raise InputError(f"arch: an Arch or a Solution, got {type(a).__name__} (decode JSON with "
                     "space(name).from_json)")


def _sequence(x, what: str) -> list:
    if isinstance(x, (str, bytes, Mapping)) or not isinstance(x, Sequence):
        raise InputError(f"{what}: an Arch, a Solution or a sequence of them, got {type(x).__name__}")
    return list(x)


def _name(a: Arch) -> str:
    """``net_<10 hex>``: one name per network, so a folder never holds another network's files."""
    return "net_" + hashlib.sha256(f"{a.space}:{arch_dumps(a)}".encode()).hexdigest()[:10]
