"""Stage 1: train the weight-sharing supernet of an experiment (resumable), and load it back.

Layout under ``<workdir>/supernet/``: ``checkpoints/`` (Orbax), ``metrics.jsonl``, ``tb/``
(TensorBoard), ``result.json`` (written last: the stage is complete when it exists and matches
the configuration).

Each step trains the largest, the smallest and ``num_random_subnets`` random subnets (sandwich
rule; drawn uniformly per choice, or spread evenly over MACs with ``supernet.sampling: macs``);
subnets learn from the largest one's soft predictions when ``supernet.distill`` is set.
Subnets of step ``s`` are sampled on the host with the key ``fold_in(key(seed + 1), s)`` and
enter the jitted step as stacked int32 arrays.
"""
from __future__ import annotations

import time
from pathlib import Path

import jax
from flax import nnx

from nas.errors import InputError
from nas.files import folder_digest
from nas.rundir import RunDir
from nas.search_spaces.registry import get_space
from nas.train.checkpoint import Checkpointer
from nas.train.distributed import initialize, is_main_process, settings_from_env
from nas.train.evaluate import full_state
from nas.train.forward import stack_archs, supernet_forward
from nas.train.loop import RunSpec, fit, schedule_steps, store_result, stored_record, stored_result
from nas.train.optim import make_optimizer
from nas.train.sampling import sample_random_subnets
from nas.train.scoring import evaluate_subnet
from nas.train.sharding import make_mesh, replicate
from nas.train.step import split_model


def build_supernet(space, seed: int, kernel_transform: bool | None = None):
    """A freshly initialised ``nas.search_spaces.supernet.Supernet`` of ``space`` (a name or a
    space) with kernel transformations when ``kernel_transform`` (None: the space's default)."""
    from nas.search_spaces.supernet import Supernet

    return Supernet(get_space(space) if isinstance(space, str) else space, rngs=nnx.Rngs(seed),
                    kernel_transform=kernel_transform)


def kernel_transform_setting(supernet) -> bool | None:
    """``supernet.kernel_transform`` as :func:`build_supernet` takes it (``space``: None)."""
    return {"on": True, "off": False}.get(getattr(supernet, "kernel_transform", "space"))


def kernel_transform_entry(space_name: str, setting: bool | None) -> dict:
    """``{"kernel_transform": bool}`` for a fingerprint when the supernet's kernel transformation
    differs from its space's default, else ``{}`` (fingerprints written before the option stay valid)."""
    from nas.search_spaces.supernet import has_kernel_transform

    space = get_space(space_name)
    have = has_kernel_transform(space, setting)
    return {} if have == has_kernel_transform(space) else {"kernel_transform": have}


def with_kernel_transform(model, setting: bool | None, seed: int = 0):
    """``model`` (a Supernet) as a supernet whose kernel transformation is ``setting``: the same
    module when it already is; otherwise a new one holding ``model``'s weights, its kernel
    transformations starting at the identity (the plain centre crop, what ``model`` computes)
    when added. Removing trained transformations is refused (they are part of the function)."""
    from nas.search_spaces.supernet import has_kernel_transform

    want = has_kernel_transform(model.space, setting)
    if want == (model.kernel_transforms is not None):
        return model
    if not want:
        raise InputError("supernet.kernel_transform: off, but the supernet started from has trained kernel "
                         "transformations (leave it at 'space' or 'on')")
    target = build_supernet(model.space, seed, kernel_transform=True)
    nnx.update(target, nnx.state(model))
    return target


def trains_supernet(supernet, supernet_from: str = "") -> bool:
    """Whether stage 1 trains (False when it imports ``supernet.init`` or links ``supernet_from``;
    progressive shrinking from ``supernet.init`` trains)."""
    if supernet_from:
        return False
    return not supernet.init or supernet.schedule == "progressive"


def maybe_initialize_distributed(supernet, *, trains: bool = True) -> None:
    """Join the other processes of a multi-host run (:func:`nas.train.distributed.initialize`,
    waiting at most ``supernet.jax_init_timeout_s``) when ``JAX_NUM_PROCESSES`` is above 1, or
    when ``supernet.jax_distributed`` is set and stage 1 ``trains`` (:func:`trains_supernet`: an
    import on one machine without JAX_* variables runs as one process); otherwise nothing."""
    _, num, _ = settings_from_env()
    if (num or 1) > 1 or (supernet.jax_distributed and trains):
        initialize(timeout_s=supernet.jax_init_timeout_s)


def _dataset(data, dataset):
    if dataset is None:
        from nas.data import load_dataset

        dataset = load_dataset(data)
    return dataset


def supernet_schedule(supernet, dataset) -> tuple[int, int]:
    """``(total_steps, warmup_steps)`` of the run (``max_steps`` truncates the schedule; the
    progressive schedule's steps are its phases', :func:`phase_plan`)."""
    s = supernet
    if s.schedule == "progressive":
        return phase_plan(s, dataset).total, 0
    return schedule_steps(len(dataset.train), s.batch_size, s.epochs, s.max_steps, s.warmup_epochs)


def phase_plan(supernet, dataset):
    """The progressive schedule's :class:`nas.train.progressive.PhasePlan`; None for the sandwich rule."""
    from nas.data.pipeline import steps_per_epoch
    from nas.train.progressive import plan, resolve_phases

    phases = resolve_phases(supernet)
    return plan(phases, steps_per_epoch(len(dataset.train), supernet.batch_size), supernet.max_steps) \
        if phases else None


def training_resolutions(supernet, dataset) -> tuple[int, ...]:
    """Input resolutions the supernet trains at (one per step): ``supernet.resolutions`` on
    streamed data (``data.image_size`` when empty); the stored images' size in memory."""
    native = int(dataset.input_shape[0])
    res = tuple(int(r) for r in supernet.resolutions)
    if not dataset.streaming:
        if res and res != (native,):
            raise InputError(f"supernet.resolutions: {list(res)} needs streamed data (data.source image_folder, "
                             f"or tfds with data.stream=on); {dataset.name} is held in memory at {native}x{native}")
        return (native,)
    return res or (native,)


def _head_phase_scale(model, phases):
    """``step -> scale tree`` freezing all but the classifier in a ``head`` phase (None without one)."""
    if phases is None or not any(p.name == "head" for p in phases.phases):
        return None
    from nas.train.step import split_model
    from nas.train.transfer import classifier_scale

    params = split_model(model)[1]
    head, every = classifier_scale(params, model, True), classifier_scale(params, model, False)
    return lambda step: head if phases.phases[phases.index(step)].name == "head" else every


def supernet_fingerprint(space: str, supernet, data, dataset, init: dict | None = None) -> dict:
    """What a checkpoint must share with the running configuration to be resumed: the space's
    name, the supernet settings (:class:`nas.config.SupernetConfig`), the data settings
    (:class:`nas.config.DataConfig`) and the loaded dataset's shape; ``init``: the supernet
    training started from (``{"format", "sha256"}``, progressive shrinking from ``supernet.init``)."""
    s = supernet
    total, warmup = supernet_schedule(s, dataset)
    extra = {"resolutions": list(training_resolutions(s, dataset))} if dataset.streaming else {}
    # (each absent at its default: checkpoints written before the option stay valid)
    if s.sampling != "uniform":
        extra["sampling"] = s.sampling
    if s.schedule != "sandwich":
        extra["schedule"] = s.schedule
        extra["phases"] = [p.to_json() for p in phase_plan(s, dataset).phases]
    if init:
        extra["init"] = {"format": init["format"], "sha256": init["sha256"]}
    extra.update(kernel_transform_entry(space, kernel_transform_setting(s)))
    from nas.search_spaces.registry import space_entry

    extra.update(space_entry(space))
    return {**extra,
        "space": space, "dataset": dataset.name, "num_train": len(dataset.train),
        "input_shape": list(dataset.input_shape), "num_classes": dataset.num_classes,
        "data": {"val_size": data.val_size, "seed": data.seed, "augment": data.augment,
                 **({"val_fraction": data.val_fraction} if getattr(data, "val_fraction", 0.0) else {})},
        "supernet": {"batch_size": s.batch_size, "learning_rate": s.learning_rate,
                     "weight_decay": s.weight_decay, "label_smoothing": s.label_smoothing,
                     "num_random_subnets": s.num_random_subnets, "distill": s.distill,
                     "seed": s.seed, "total_steps": total, "warmup_steps": warmup},
    }


def subnet_sampler(model, space, num_random: int, seed: int, sampling: str = "uniform"):
    """``sample_archs(step)``: stacked arrays of [largest, smallest, num_random random subnets]
    (drawn by :func:`sample_random_subnets`)."""
    fixed = [model.arch_arrays(space.largest()), model.arch_arrays(space.smallest())]
    base = jax.random.key(seed + 1)

    def sample_archs(step: int) -> dict:
        randoms = sample_random_subnets(space, jax.random.fold_in(base, step), num_random, sampling)
        return stack_archs(fixed + [model.arch_arrays(a) for a in randoms])

    return sample_archs


def train_supernet(space_name: str, supernet, data, workdir: str | Path, dataset=None, *, progress: bool = True,
                   mesh=None, start=None) -> dict:
    """Train (or resume, or skip when complete) the supernet of the search space ``space_name``
    with the settings ``supernet`` (:class:`nas.config.SupernetConfig`) on the data ``data``
    (:class:`nas.config.DataConfig`; ``dataset``: that data already loaded) in ``workdir/supernet``.

    Returns ``{"steps", "resumed_from", "images_per_s", "train_time_s", "val_acc_largest",
    "val_acc_smallest", "final_loss"}`` (accuracies in [0, 1], after BN recalibration on
    ``supernet.bn_recalibration_batches`` training batches), also written to result.json.
    Raises InputError for bad data/config/checkpoints and TrainingDiverged on divergence.
    ``mesh``: data-parallel mesh (default: all devices of every process). On a multi-host run
    every process calls this; process 0 alone writes files and measures the accuracies
    (the other processes' records have no ``val_acc_*``).

    ``start``: ``(load, source dict)`` of the supernet training starts from (progressive
    shrinking from ``supernet.init``): ``load()`` returns its module and is called only when there
    is training left to do; None: random weights.
    """
    s = supernet
    maybe_initialize_distributed(s, trains=True)
    dataset = _dataset(data, dataset)
    directory = RunDir(workdir).supernet
    fingerprint = supernet_fingerprint(space_name, s, data, dataset, init=start[1] if start else None)
    done = stored_result(directory.result, fingerprint)
    if done is not None:
        return done
    total, warmup = supernet_schedule(s, dataset)
    space = get_space(space_name)
    setting = kernel_transform_setting(s)
    model = with_kernel_transform(start[0](), setting, s.seed) if start else \
        build_supernet(space_name, s.seed, kernel_transform=setting)
    phases = phase_plan(s, dataset)
    if phases is None:
        sampler = subnet_sampler(model, space, s.num_random_subnets, s.seed, s.sampling)
    else:
        from nas.train.progressive import phase_sampler

        sampler = phase_sampler(model, space, phases, s.num_random_subnets, s.seed, s.sampling)
    spec = RunSpec(directory.path, "supernet", s.batch_size, s.learning_rate, total, warmup, s.weight_decay,
                   s.label_smoothing, s.seed, distill=s.distill, augment=data.augment,
                   checkpoint_every=max(1, s.checkpoint_every_steps), fingerprint=fingerprint,
                   field_prefix="supernet.", resolutions=training_resolutions(s, dataset),
                   lr_schedule=phases.learning_rate if phases is not None else None,
                   param_scale=_head_phase_scale(model, phases))
    t0 = time.perf_counter()
    graphdef, params, rest, info = fit(model, supernet_forward, sampler, dataset, spec, progress=progress, mesh=mesh)
    info["train_time_s"] = time.perf_counter() - t0
    if phases is not None:
        info["phases"] = phases.describe()
    if start:
        info["started_from"] = start[1]
    if not is_main_process():
        return info
    state = jax.device_get(full_state(params, rest))  # replicated: every process holds all of it
    for name, arch in (("largest", space.largest()), ("smallest", space.smallest())):
        info[f"val_acc_{name}"] = evaluate_subnet(graphdef, state, model, arch, dataset,
                                                  batch_size=s.batch_size, bn_batches=s.bn_recalibration_batches)
    store_result(directory.result, fingerprint, info,
                 {"checkpoint": folder_digest(directory.checkpoints / str(total)), "checkpoint_step": total})
    return info


def load_supernet(workdir: str | Path, space_name: str, supernet, data, dataset=None):
    """``(graphdef, state)`` of the newest supernet checkpoint in ``workdir/supernet``, trained by
    :func:`train_supernet` with these arguments (or imported).

    ``state`` is the full ``nnx.State`` (parameters and BatchNorm statistics) on the host;
    ``nnx.merge(graphdef, state)`` gives the Supernet module. InputError when there is no
    checkpoint or it belongs to another configuration.
    """
    dataset = _dataset(data, dataset)
    directory = RunDir(workdir).supernet.checkpoints
    if not directory.is_dir():
        raise InputError(f"{directory}: no supernet checkpoint (train the supernet first)")
    record = stored_record(RunDir(workdir).supernet.result)
    fp = (record or {}).get("fingerprint") or {}
    model = build_supernet(space_name, supernet.seed, kernel_transform=fp.get("kernel_transform"))
    graphdef, params, rest = split_model(model)
    opt = make_optimizer(supernet.weight_decay)
    template = replicate((params, rest, opt.init(params)), make_mesh(jax.local_devices()))
    sums = (record or {}).get("checksums", {})
    imported = isinstance((record or {}).get("result", {}).get("source"), dict)  # supernet.init: its own fingerprint
    if "checkpoint" in sums:  # verify the trained weights before any use
        step_dir = directory / str(sums.get("checkpoint_step"))
        if not step_dir.is_dir() or folder_digest(step_dir) != sums["checkpoint"]:
            raise InputError(f"{step_dir}: damaged supernet checkpoint (checksum mismatch with "
                             f"{RunDir(workdir).supernet.result.name}); retrain in another work directory")
    ckpt = Checkpointer(directory, record["fingerprint"] if imported
                        else supernet_fingerprint(space_name, supernet, data, dataset,
                                                  init=fp.get("init") if supernet.init else None))
    try:
        step, restored = ckpt.restore(template, step=sums.get("checkpoint_step"))
    finally:
        ckpt.close()
    if restored is None:
        raise InputError(f"{directory}: no supernet checkpoint (train the supernet first)")
    return graphdef, jax.device_get(full_state(restored[0], restored[1]))
