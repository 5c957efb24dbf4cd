"""Stage 3: final training of the chosen architectures (and baselines) as Ray Tune trials.

Each candidate is one trial: its network is trained from scratch (``final.from_scratch``) or
fine-tuned from the supernet's inherited weights (reference models: always from scratch, for
``final.baseline_epochs`` when set), with Orbax checkpoints in
``final/<name>/`` (:class:`nas.rundir.RunDir`) so an interrupted trial resumes where it stopped; the checkpoint is
also reported to Tune. The test split is evaluated here and nowhere before. A finished trial
leaves ``result.json`` and is skipped on the next run.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from nas.config import ExperimentConfig, config_from_dict
from nas.errors import InputError
from nas.files import atomic_write_text, folder_digest, read_text
from nas.pipeline.candidates import Candidate
from nas.rundir import RunDir
from nas.search_spaces import get_space


def init_of(cfg: ExperimentConfig, cand: Candidate) -> str:
    """``"scratch"`` or ``"supernet"`` (inherited weights): how ``cand`` starts its final training."""
    return "scratch" if cfg.final.from_scratch or cand.arch is None else "supernet"


def _stored(workdir, name: str) -> dict | None:
    """``{"fingerprint", "result"}`` of a finished candidate: result.json verified, and its
    weights complete (``weights.sha256`` written) and matching their checksum. Weights saved
    only in part count as not finished (they are saved again from the last checkpoint);
    weights that fail their checksum raise InputError naming the folder (never reused)."""
    from nas.train.loop import stored_record

    d = RunDir(workdir).final(name)
    done = stored_record(d.result)
    if done is None or not d.weights.is_dir() or not d.weights_sha256.is_file():
        return None
    recorded = read_text(d.weights_sha256, what="weights checksum").strip()
    if folder_digest(d.weights) != recorded:
        raise InputError(f"{d.weights}: damaged weights (checksum mismatch with {d.weights_sha256.name}); "
                         f"remove {d.path} to train {name} again")
    return done


def read_result(workdir, name: str) -> dict | None:
    """Metrics of a finished candidate: its result.json and its saved weights both exist."""
    done = _stored(workdir, name)
    return done["result"] if done else None


def check_not_stale(cfg: ExperimentConfig, cand: Candidate, workdir) -> None:
    """Raise InputError when ``cand``'s finished result was trained with other settings than
    ``cfg`` asks for now (epochs, batch, learning rate, seed, regularisation, augmentation,
    initialisation) instead of reusing it silently; fields a result does not record pass."""
    from nas.train.static import static_fingerprint

    fp = (_stored(workdir, cand.name) or {}).get("fingerprint")
    if not isinstance(fp, dict) or "num_train" not in fp:
        return
    want = static_fingerprint(training_config(cfg, cand), fp["num_train"], **_static_options(cfg, cand))
    for k, v in want.items():
        if k in fp and fp[k] != v:
            raise InputError(f"{RunDir(workdir).final(cand.name).path}: trained with {k}={fp[k]!r}, the config "
                             f"now asks for {v!r}; use another work directory or remove that folder")


def _static_options(cfg: ExperimentConfig, cand: Candidate) -> dict:
    """The keyword settings ``cand`` is trained with by :func:`nas.train.train_static`."""
    return {"seed": cfg.seed, "weight_decay": cfg.supernet.weight_decay,
            "label_smoothing": cfg.supernet.label_smoothing, "augment": final_augment(cfg),
            "fingerprint_extra": {"init": init_of(cfg, cand)}}


def final_augment(cfg: ExperimentConfig) -> bool:
    """Whether the final stage augments its training batches (``final.augment``, else ``data.augment``)."""
    return cfg.data.augment if cfg.final.augment == "data" else cfg.final.augment == "on"


def training_config(cfg: ExperimentConfig, cand: Candidate):
    """The FinalConfig ``cand`` trains with: ``final``, with ``final.baseline_epochs`` as the
    epochs of reference models when it is set."""
    if cand.kind == "reference" and cfg.final.baseline_epochs > 0:
        return dataclasses.replace(cfg.final, epochs=cfg.final.baseline_epochs)
    return cfg.final


def train_candidate(cfg: ExperimentConfig, cand: Candidate, workdir, *, progress: bool = False,
                    into=None) -> dict:
    """Train one candidate to completion (resuming from its checkpoints); return its metrics.
    It inherits ``workdir``'s supernet weights unless ``cfg.final.from_scratch``, and trains in
    ``<into or workdir>/final/<name>`` (a benchmark keeps its trainings apart from the run's)."""
    from nas.data import load_dataset
    from nas.export.artifacts import save_weights
    from nas.train import train_static
    from nas.train.static import build_static

    dataset = load_dataset(cfg.data)
    spec = cand.spec(cfg, dataset.input_shape, dataset.num_classes)
    d = RunDir(into or workdir).final(cand.name)
    if d.result.is_file() and not d.weights_sha256.is_file():
        d.result.unlink()  # stopped before the weights were saved whole: restore and save them
    net = build_static(spec, cfg.seed)
    if not cfg.final.from_scratch and cand.arch is not None:
        from flax import nnx

        from nas.search_spaces.extract import extract_subnet
        from nas.train import load_supernet

        model = nnx.merge(*load_supernet(workdir, cfg.space, cfg.supernet, cfg.data, dataset))
        net = extract_subnet(model, get_space(cfg.space).from_json(cand.arch))
    info = train_static(net, training_config(cfg, cand), dataset, d.path, progress=progress, name=cand.name,
                        **_static_options(cfg, cand))
    if not d.weights_sha256.is_file():
        save_weights(net, d.weights)  # replaces any partial weights/
        atomic_write_text(d.weights_sha256, folder_digest(d.weights) + "\n")
    return info


def _trial(config: dict) -> None:
    """Ray Tune function trainable: trains one candidate and reports its metrics + checkpoint."""
    from ray import tune

    cfg = config_from_dict(config["experiment"])
    cand = Candidate.from_dict(config["candidate"], cfg.space, "final training")
    info = train_candidate(cfg, cand, config["workdir"])
    ckpt = RunDir(config["workdir"]).final(cand.name).checkpoints
    metrics = {"test_accuracy": info["test_acc"], "val_accuracy": info["val_acc"], "steps": info["steps"]}
    tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(ckpt)) if ckpt.is_dir() else None)


def trial_trainable(cfg: ExperimentConfig, body=None):
    """The Tune trainable of one final-training trial: ``body`` (default: train a candidate)
    reserving ``final.cpus_per_trial`` CPUs and ``final.gpus_per_trial`` GPUs, run after the
    trial's process environment gets :func:`nas.raycluster.worker_env` for that share (Tune
    has no per-trial ``runtime_env``; JAX reads it when the trial first starts a backend)."""
    from ray import tune

    from nas.raycluster import worker_env

    body = body or _trial
    env = worker_env(cfg.final.gpus_per_trial, cfg.search.ray_runtime_env.get("env_vars"))

    def trial(config: dict):
        import os

        os.environ.update(env)
        return body(config)

    trial.__name__ = trial.__qualname__ = body.__name__  # Tune names the trials after it
    return tune.with_resources(trial, {"cpu": cfg.final.cpus_per_trial, "gpu": cfg.final.gpus_per_trial})


def tune_storage(cfg: ExperimentConfig, run: RunDir) -> str:
    """Where Ray Tune keeps its records: ``final.storage_path`` (a folder every node shares, or
    a URI such as ``s3://bucket/path``), else ``<workdir>/final/_tune``."""
    path = cfg.final.storage_path
    return path if "://" in path else str(Path(path).resolve()) if path else str(run.tune_storage)


def tune_name(cfg: ExperimentConfig, workdir) -> str:
    """Tune's experiment name: ``final`` in the work directory's own storage, else the
    experiment's name and a hash of the work directory (runs may share a storage path)."""
    if not cfg.final.storage_path:
        return "final"
    import hashlib

    return f"{cfg.name}-final-{hashlib.sha256(str(workdir).encode()).hexdigest()[:8]}"


def run_final_training(cfg: ExperimentConfig, workdir, candidates: list[Candidate], *,
                       in_process: bool = False) -> dict[str, dict]:
    """Train every candidate without a finished result as a Ray Tune trial (``in_process``: one
    after another in this process, without Ray; the same files); return name -> metrics."""
    run = RunDir(Path(workdir).resolve())
    workdir = run.root
    for c in candidates:
        check_not_stale(cfg, c, workdir)
    todo = [c for c in candidates if read_result(workdir, c.name) is None]
    for c in todo if in_process else ():
        train_candidate(cfg, c, workdir)
    if todo and not in_process:
        from ray import tune

        from nas.raycluster import ensure_ray

        ensure_ray(cfg.search.ray_address, runtime_env=cfg.search.ray_runtime_env)
        tuner = tune.Tuner(
            trial_trainable(cfg),
            param_space={"experiment": cfg.to_dict(), "workdir": str(workdir),
                         "candidate": tune.grid_search([c.to_dict() for c in todo])},
            tune_config=tune.TuneConfig(max_concurrent_trials=max(1, cfg.final.num_workers)),
            run_config=tune.RunConfig(name=tune_name(cfg, workdir), storage_path=tune_storage(cfg, run), verbose=0,
                                      failure_config=tune.FailureConfig(max_failures=1)),
        )
        results = tuner.fit()
        errors = [r.error for r in results if r.error is not None]
        if errors:
            raise RuntimeError(f"final training failed in {len(errors)} trial(s): {errors[0]}")
    out = {}
    for c in candidates:
        res = read_result(workdir, c.name)
        if res is None:
            raise RuntimeError(f"final training of {c.name} left no result in {run.final(c.name).result}")
        out[c.name] = res
    return out
