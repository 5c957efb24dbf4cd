"""The training loop shared by supernet training and static-network training.

:func:`fit` runs ``total_steps`` steps of :func:`nas.train.step.train_step`, data parallel over
a mesh, resuming from the newest checkpoint in ``<directory>/checkpoints``. Everything a step
consumes is a function of the step number (batch order, subnets, augmentation key), so a
resumed run ends with the same weights as an uninterrupted one. A non-finite or divergent loss
stops the run with :class:`TrainingDiverged`; the last checkpoint (taken before it) is kept.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jax
import numpy as np

from nas.data.pipeline import steps_per_epoch, train_batches
from nas.errors import InputError
from nas.files import atomic_write_json, read_json, record_digest
from nas.rundir import TrainDir
from nas.train.checkpoint import Checkpointer
from nas.train.distributed import is_main_process, is_multihost, local_rows, wait_for_all
from nas.train.monitor import Monitor
from nas.train.optim import make_optimizer, make_schedule
from nas.train.sharding import check_batch_size, make_mesh, replicate, shard_batch
from nas.train.step import make_train_step, split_model

DIVERGENCE_FACTOR = 20.0  # a loss above this many times ln(num_classes) counts as divergence


class TrainingDiverged(InputError):
    """The loss became non-finite or exploded (usually: learning rate too high)."""


@dataclass
class RunSpec:
    """What :func:`fit` runs. ``directory`` receives checkpoints/, metrics.jsonl and tb/."""

    directory: Path
    title: str
    batch_size: int
    learning_rate: float
    total_steps: int
    warmup_steps: int
    weight_decay: float
    label_smoothing: float
    seed: int
    distill: bool = False
    augment: bool = True
    checkpoint_every: int = 200
    log_every: int = 10
    fingerprint: dict = field(default_factory=dict)
    field_prefix: str = ""  # config section named in errors ("supernet.")
    resolutions: tuple = ()  # streamed data: training resolutions, one per step (one compiled step each)
    lr_schedule: Callable | None = None  # step -> learning rate (None: warm-up then cosine over total_steps)
    # step -> tree of float32 scalars like the params (0 freezes a parameter), or None: all train
    param_scale: Callable | None = None


def schedule_steps(num_train: int, batch_size: int, epochs: float, max_steps: int,
                   warmup_epochs: float) -> tuple[int, int]:
    """``(total_steps, warmup_steps)``: ``epochs`` of full batches, truncated by ``max_steps > 0``."""
    spe = steps_per_epoch(num_train, batch_size)
    total = max(1, math.ceil(epochs * spe))
    if max_steps > 0:
        total = min(total, max_steps)
    return total, int(round(warmup_epochs * spe))


def stored_result(path: Path, fingerprint: dict) -> dict | None:
    """The result a finished run stored at ``path`` if it was made with ``fingerprint``; None
    when there is none (or it belongs to other settings). A file that does not parse or fails
    its checksum raises InputError naming it (it is never silently replaced or reused)."""
    done = stored_record(path)
    return done["result"] if done is not None and done["fingerprint"] == fingerprint else None


def stored_record(path: Path) -> dict | None:
    """``{"fingerprint", "result", "checksums"}`` of ``path`` verified against its ``sha256``
    (records written before checksums existed have none and are read as they are)."""
    path = Path(path)
    if not path.exists():
        return None
    hint = "move it away to recompute it from the checkpoints"
    try:
        done = read_json(path, what="training result")
    except InputError as e:
        raise InputError(f"{path}: damaged training result ({str(e).removeprefix(f'{path}: ')}); {hint}") from None
    if not isinstance(done, dict) or not isinstance(done.get("result"), dict) or "fingerprint" not in done:
        raise InputError(f"{path}: damaged training result (fields missing); {hint}")
    body = {k: v for k, v in done.items() if k != "sha256"}
    if "sha256" in done and done["sha256"] != record_digest(body):
        raise InputError(f"{path}: damaged training result (checksum mismatch); {hint}")
    done.setdefault("checksums", {})
    return done


def store_result(path: Path, fingerprint: dict, result: dict, checksums: dict | None = None) -> None:
    """Write ``{"fingerprint", "result", "checksums", "sha256"}`` atomically (the marker of a
    finished run); ``checksums`` names outputs verified before reuse (e.g. the checkpoint). On
    multi-host runs only process 0 writes."""
    if not is_main_process():
        return
    body = {"fingerprint": fingerprint, "result": _finite(result), "checksums": dict(checksums or {})}
    body = json.loads(json.dumps(body))
    atomic_write_json(path, {**body, "sha256": record_digest(body)})


def _finite(result: dict) -> dict:
    """Non-finite numbers (a loss never computed on a resumed, finished run) as null: strict JSON."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in result.items()}


def diverged(loss: float, grad_norm: float, params_finite: bool, num_classes: int) -> bool:
    """Non-finite loss, gradient or parameters, or a loss above DIVERGENCE_FACTOR * ln(classes)."""
    return not (math.isfinite(loss) and math.isfinite(grad_norm) and params_finite) or \
        loss > DIVERGENCE_FACTOR * math.log(max(num_classes, 2))


def output_width(model, num_classes: int) -> int:
    """Logits per example: the network's head (a space's or spec's ``num_classes``), at least the
    data's class count (a head wider than the data's classes is allowed; its extra outputs stay unused)."""
    spec = getattr(model, "spec", None) or getattr(getattr(model, "space", None), "cfg", None)
    head = int(getattr(spec, "num_classes", 0) or 0)
    if head and num_classes > head:
        raise InputError(f"data: {num_classes} classes, but the network has {head} outputs")
    return max(num_classes, head)


def _step_function(jitted_step, compiled: dict, args, title: str):
    """The step to call on ``args``: the jitted step on one process (it compiles once per input
    shape itself); on a multi-host run the step compiled ahead of time for this batch's shape,
    compiled on first use by every process, which then start the step together (a CPU collective
    gives up when one process is still compiling)."""
    if not is_multihost():
        return jitted_step
    shape = tuple(args[3].shape)  # the images: one compiled step per resolution
    if shape not in compiled:
        compiled[shape] = jitted_step.lower(*args).compile()
        wait_for_all(f"nas_compiled_{title}_{'x'.join(map(str, shape))}")
    return compiled[shape]


def fit(model, forward, sample_archs: Callable[[int], dict], dataset, spec: RunSpec, *,
        progress: bool = True, mesh=None):
    """Train ``model`` (an nnx Module; not modified): returns ``(graphdef, params, rest, info)``.

    ``sample_archs(step)`` gives the stacked arch arrays ``{name: int[K, ...]}`` of a step.
    ``info``: ``{"steps", "resumed_from", "images_per_s", "final_loss"}``. Raises InputError
    for a bad batch size or checkpoint, TrainingDiverged when the loss explodes.
    """
    mesh = mesh or make_mesh()
    check_batch_size(spec.batch_size, mesh, f"{spec.field_prefix}batch_size")  # also divisible by hosts
    graphdef, params, rest = split_model(model)
    optimizer = make_optimizer(spec.weight_decay)
    wait_for_all(f"nas_fit_{spec.title}")  # multi-host: start the first collective together
    # a copy: the step donates its state buffers, the caller's model must stay usable
    train_state = jax.tree.map(lambda a: a.copy(), replicate((params, rest, optimizer.init(params)), mesh))
    ckpt = Checkpointer(TrainDir(spec.directory).checkpoints, spec.fingerprint)
    start, restored = ckpt.restore(train_state)
    if restored is not None:
        train_state = restored
    params, rest, opt_state = train_state
    streaming = getattr(dataset.train, "streaming", False)  # streamed data is augmented in its workers
    jitted_step = make_train_step(graphdef, forward, optimizer, num_classes=output_width(model, dataset.num_classes),
                                  label_smoothing=spec.label_smoothing, distill=spec.distill,
                                  augment=spec.augment and not streaming, mean=dataset.mean, std=dataset.std)
    compiled = {}  # multi-host: one ahead-of-time compiled step per batch shape (resolution)
    scales = {}
    schedule = spec.lr_schedule or make_schedule(spec.learning_rate, spec.total_steps, spec.warmup_steps)
    base_key = jax.random.key(spec.seed)
    monitor = Monitor(spec.directory, title=spec.title, total_steps=spec.total_steps, start_step=start,
                      batch_size=spec.batch_size, log_every=spec.log_every, progress=progress)
    last_saved, metrics = start if restored is not None else None, {"loss": float("nan")}
    pid, nproc = jax.process_index(), jax.process_count()
    batches = train_batches(dataset.train, spec.batch_size, seed=spec.seed, start_step=start,
                            resolutions=spec.resolutions or None, augment=spec.augment,
                            process_index=pid, process_count=nproc)
    try:
        for step, images, labels in batches:
            if step >= spec.total_steps:
                break
            if not streaming:  # this process's rows of the global batch (a streamed split yields only those)
                images, labels = local_rows((images, labels))
            x, y = shard_batch((images, labels), mesh)
            archs = replicate(sample_archs(step), mesh)
            lr = float(schedule(step))
            args = (params, rest, opt_state, x, y, archs, jax.random.fold_in(base_key, step), np.float32(lr))
            if spec.param_scale is not None:  # a few distinct trees (one per phase): each put on the devices once
                tree = spec.param_scale(step)
                if id(tree) not in scales:
                    scales[id(tree)] = (tree, replicate(tree, mesh))
                args += (scales[id(tree)][1],)
            params, rest, opt_state, out = _step_function(jitted_step, compiled, args, spec.title)(*args)
            metrics = {"loss": float(out["loss"]), "grad_norm": float(out["grad_norm"]), "learning_rate": lr,
                       "resolution": int(images.shape[1])}
            metrics.update({f"loss_subnet{i}": float(v) for i, v in enumerate(np.asarray(out["losses"]))})
            if diverged(metrics["loss"], metrics["grad_norm"], bool(out["params_finite"]), dataset.num_classes):
                kept = f"last good checkpoint: step {last_saved} in {ckpt.directory}" if last_saved \
                    else "no checkpoint was written"
                raise TrainingDiverged(
                    f"{spec.title}: loss diverged at step {step + 1} (loss={metrics['loss']:.4g}, "
                    f"grad_norm={metrics['grad_norm']:.4g}); {kept}; lower "
                    f"{spec.field_prefix}learning_rate (now {spec.learning_rate:g})")
            monitor.log(step, metrics)
            if (step + 1) % spec.checkpoint_every == 0 or step + 1 == spec.total_steps:
                ckpt.save(step + 1, (params, rest, opt_state))
                last_saved = step + 1
    finally:
        batches.close()
        monitor.close()
        ckpt.close()
    info = {"steps": spec.total_steps, "resumed_from": start, "images_per_s": monitor.images_per_s,
            "final_loss": metrics["loss"]}
    return graphdef, params, rest, info
