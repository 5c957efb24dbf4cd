"""``nas run``: the whole pipeline in one work directory, each stage skipped when complete.

1. supernet training (:mod:`nas.pipeline.supernet`, resumes from Orbax checkpoints)
2. one search per hardware profile (:mod:`nas.pipeline.search`, resumes per generation)
3. final training of the chosen architectures + baselines (:mod:`nas.pipeline.final`, Ray Tune trials)
4. export (JSON, Flax, ONNX checked with ONNX Runtime), latency check, ``summary.json``
   (:mod:`nas.pipeline.export`), report (:mod:`nas.report`)

On a multi-host run (``supernet.jax_distributed``, :mod:`nas.train.distributed`) every
process runs stage 1 together; then they disconnect, process 0 alone runs stages 2-4 (search
and final training use Ray, not JAX's processes) and the others return None. Only process 0
writes files.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nas.config import ExperimentConfig
from nas.files import atomic_write_json, atomic_write_text
from nas.pipeline.candidates import Candidate, choose_architectures, hand_designed
from nas.rundir import RunDir
from search_spaces import get_space


@dataclass
class RunResult:
    report: Path
    summary: Path


def save_config(cfg: ExperimentConfig, run: RunDir) -> None:
    """Record the resolved config; keep the previous one as config.prev.json when it changed."""
    text = json.dumps(cfg.to_dict(), indent=1)
    if run.config.is_file() and run.config.read_text() != text:
        atomic_write_text(run.config_prev, run.config.read_text())
    atomic_write_text(run.config, text)


def run_experiment(cfg: ExperimentConfig, workdir, *, console=None,
                   on_generation: Callable[[str, dict], None] | None = None) -> RunResult | None:
    """Run (or resume) every stage of ``cfg`` in ``workdir``; return the report and summary
    paths (None on the processes other than process 0 of a multi-host run)."""
    from nas.data import load_dataset
    from nas.pipeline.export import export_all, latency_check, write_summary
    from nas.pipeline.final import run_final_training
    from nas.pipeline.search import run_stage, supernet_accuracy
    from nas.pipeline.supernet import run_supernet_stage
    from nas.report import build_report
    from nas.train.distributed import is_main_process, leave
    from nas.train.supernet import maybe_initialize_distributed

    maybe_initialize_distributed(cfg)  # before any JAX computation
    main = is_main_process()

    def log(msg: str) -> None:
        if console is not None and main:
            console.print(msg)

    run = RunDir(Path(workdir).resolve())
    if main:
        run.root.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run)
    dataset = load_dataset(cfg.data)

    log("[bold]stage 1/4[/] supernet training")
    info = run_supernet_stage(cfg, run.root, dataset)
    if not leave():  # multi-host: stages 2-4 run on process 0 alone
        return None
    log(f"  supernet: largest {100 * info['val_acc_largest']:.2f}%, smallest "
        f"{100 * info['val_acc_smallest']:.2f}% validation accuracy (inherited weights)")

    log(f"[bold]stage 2/4[/] search on {', '.join(cfg.search.profiles)}")
    results = run_stage(cfg, run.root, profiles=cfg.search.profiles, dataset=dataset, on_generation=on_generation)
    cands = choose_architectures(cfg, {p: r.front for p, r in results.items()})
    hand = None if cfg.final.train_hand_designed else hand_designed(cfg)  # not trained, marked on the fronts
    unscored = [c for c in cands + [hand] if c is not None and c.kind == "baseline" and c.supernet_accuracy is None]
    space = get_space(cfg.space)
    for c, acc in zip(unscored, supernet_accuracy(cfg, run.root, [space.from_json(c.arch) for c in unscored],
                                                  dataset)):
        c.supernet_accuracy = acc
    atomic_write_json(run.chosen, [c.to_dict() for c in cands])

    log(f"[bold]stage 3/4[/] final training of {len(cands)} networks (Ray Tune)")
    finals = run_final_training(cfg, run.root, cands)
    for c in cands:
        log(f"  {c.name:16s} test accuracy {100 * finals[c.name]['test_acc']:.2f}%")

    log("[bold]stage 4/4[/] export, latency check, report")
    export_all(cfg, run.root, cands, dataset.input_shape, dataset.num_classes)
    latency_check(cfg, run.root, cands)
    summary = write_summary(cfg, run.root, cands, finals, dataset, untrained=[hand] if hand else [])
    return RunResult(build_report(run.root), summary)


def load_finished_run(workdir) -> tuple[ExperimentConfig, list[Candidate]]:
    """The config and chosen candidates of a run that reached final training; InputError when
    ``config.json`` or ``chosen.json`` is missing or malformed."""
    from nas.config import config_from_dict
    from nas.errors import InputError

    run = RunDir(workdir)
    for p in (run.config, run.chosen):
        if not p.is_file():
            raise InputError(f"{run.root}: no {p.name} (run `nas run` first)")
    try:
        cfg = config_from_dict(json.loads(run.config.read_text()))
        cands = [Candidate(**c) for c in json.loads(run.chosen.read_text())]
    except (json.JSONDecodeError, TypeError) as e:
        raise InputError(f"{run.root}: config.json or chosen.json is malformed ({e})") from None
    return cfg, cands
