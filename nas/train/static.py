"""Training a static network (an extracted subnet or a NetSpec) from scratch or fine-tuning it.

Same step, optimizer, checkpoints and monitoring as supernet training (:func:`nas.train.loop.fit`
with one "subnet" per step and no distillation). Used by the final-training stage for the
chosen architectures.
"""
from __future__ import annotations

import time
from pathlib import Path

import jax
from flax import nnx

from nas.data.dataset import at_resolution
from nas.rundir import TrainDir
from nas.search_spaces.layers import NetSpec
from nas.train.evaluate import evaluate_accuracy, full_state
from nas.train.forward import no_arch, static_forward
from nas.train.loop import RunSpec, fit, schedule_steps, store_result, stored_result


def build_static(spec: NetSpec, seed: int):
    """A freshly initialised ``nas.search_spaces.static_net.StaticNet`` for ``spec``."""
    from nas.search_spaces.static_net import StaticNet

    return StaticNet(spec, rngs=nnx.Rngs(seed))


def static_fingerprint(final_cfg, num_train: int, *, seed: int = 0, weight_decay: float = 3e-5,
                       label_smoothing: float = 0.1, augment: bool = True,
                       fingerprint_extra: dict | None = None) -> dict:
    """The training settings a static run's checkpoints and result record (all of its
    fingerprint but the dataset name and parameter shapes); arguments as :func:`train_static`."""
    total, _ = schedule_steps(num_train, final_cfg.batch_size, final_cfg.epochs, final_cfg.max_steps, 0.0)
    return {"num_train": num_train, "batch_size": final_cfg.batch_size, "learning_rate": final_cfg.learning_rate,
            "total_steps": total, "seed": seed, "weight_decay": weight_decay, "label_smoothing": label_smoothing,
            "augment": augment, **(fingerprint_extra or {})}


def train_static(net_or_spec, final_cfg, dataset, workdir: str | Path, *, seed: int = 0,
                 weight_decay: float = 3e-5, label_smoothing: float = 0.1, warmup_epochs: float = 0.3,
                 augment: bool = True, checkpoint_every: int = 200, progress: bool = True,
                 name: str = "static", fingerprint_extra: dict | None = None) -> dict:
    """Train ``net_or_spec`` on ``dataset.train`` per ``final_cfg`` (a :class:`nas.config.FinalConfig`).

    ``net_or_spec``: a NetSpec (trained from scratch, initialised with ``seed``) or an nnx
    module with ``__call__(x, *, train)`` such as ``extract_subnet(...)`` (fine-tuned; it is
    modified in place only through the returned state, never on disk). ``workdir`` receives
    checkpoints/, metrics.jsonl, tb/ and result.json (``fingerprint_extra``: more fields
    its checkpoints and result must match, e.g. the initialisation); a rerun resumes or returns the stored
    result. Returns ``{"steps", "resumed_from", "images_per_s", "train_time_s", "final_loss",
    "val_acc", "test_acc"}`` (accuracies in [0, 1]).
    """
    workdir = Path(workdir)
    model = build_static(net_or_spec, seed) if isinstance(net_or_spec, NetSpec) else net_or_spec
    total, warmup = schedule_steps(len(dataset.train), final_cfg.batch_size, final_cfg.epochs,
                                   final_cfg.max_steps, warmup_epochs)
    leaves = [list(map(int, x.shape)) for x in jax.tree.leaves(nnx.state(model, nnx.Param))]
    fingerprint = {"dataset": dataset.name, "param_shapes": leaves,
                   **static_fingerprint(final_cfg, len(dataset.train), seed=seed, weight_decay=weight_decay,
                                        label_smoothing=label_smoothing, augment=augment,
                                        fingerprint_extra=fingerprint_extra)}
    result_path = TrainDir(workdir).result
    done = stored_result(result_path, fingerprint)
    if done is not None:
        return done
    # streamed data is decoded at the network's own input resolution
    res = int(model.spec.input_shape[0]) if dataset.streaming else int(dataset.input_shape[0])
    spec = RunSpec(workdir, name, final_cfg.batch_size, final_cfg.learning_rate, total,
                   warmup, weight_decay, label_smoothing, seed,
                   augment=augment, checkpoint_every=max(1, checkpoint_every), fingerprint=fingerprint,
                   field_prefix="final.", resolutions=(res,))
    t0 = time.perf_counter()
    graphdef, params, rest, info = fit(model, static_forward, lambda step: no_arch(1), dataset, spec,
                                       progress=progress)
    info["train_time_s"] = time.perf_counter() - t0
    state = jax.device_get(full_state(params, rest))
    for split in ("val", "test"):
        data = at_resolution(getattr(dataset, split), res)
        info[f"{split}_acc"] = evaluate_accuracy(graphdef, state, data, mean=dataset.mean,
                                                 std=dataset.std, batch_size=final_cfg.batch_size)
    nnx.update(model, state)
    store_result(result_path, fingerprint, info)
    return info
