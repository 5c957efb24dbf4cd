"""``nas run``: the whole pipeline in one work directory, each stage skipped when complete.

1. supernet training (:mod:`nas.pipeline.supernet`, resumes from Orbax checkpoints)
2. one search per hardware profile (:mod:`nas.pipeline.search`, resumes per generation)
3. final training of the chosen architectures + baselines (:mod:`nas.pipeline.final`, Ray Tune trials)
4. export (JSON, Flax, ONNX checked with ONNX Runtime, int8, LiteRT), latency check, ``summary.json``
   (:mod:`nas.pipeline.export`), report (:mod:`nas.report`)

On a multi-host run (``supernet.jax_distributed``, :mod:`nas.train.distributed`) every
process runs stage 1 together; then they disconnect, process 0 alone runs stages 2-4 (search
and final training use Ray, not JAX's processes) and the others return None. Only process 0
writes files. When stage 1 trains nothing (``supernet.init``, ``supernet_from``) the processes
join only when ``JAX_NUM_PROCESSES`` asks for several, and disconnect at once: process 0 alone
imports (its Orbax save would otherwise wait for the others) and the others return None.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nas.config import ExperimentConfig
from nas.files import atomic_write_json, atomic_write_text, checked_dir, read_json, read_text
from nas.pipeline.candidates import Candidate, choose_architectures, hand_designed
from nas.rundir import RunDir
from nas.search_spaces import get_space


@dataclass
class RunResult:
    report: Path
    summary: Path


def save_config(cfg: ExperimentConfig, run: RunDir, command: str = "nas run") -> str | None:
    """Record the resolved config in ``config.json`` (:mod:`nas.pipeline.workdir`: a change that
    invalidates finished work is refused, a change is recorded with a history entry; the previous
    file is kept as config.prev.json); returns the line that says what changed, if anything did."""
    from nas.pipeline.workdir import record_given

    prev = read_text(run.config, what="config.json") if run.config.is_file() else None
    line = record_given(cfg, run, command)
    if prev is not None and read_text(run.config, what="config.json") != prev:
        atomic_write_text(run.config_prev, prev)
    return line


def run_experiment(cfg: ExperimentConfig, workdir, *, console=None,
                   on_generation: Callable[[str, dict], None] | None = None, smoke: bool = False) -> RunResult | None:
    """Run (or resume) every stage of ``cfg`` in ``workdir``; return the report and summary
    paths (None on the processes other than process 0 of a multi-host run). ``smoke``: the
    experiment's smoke variant (its accuracies are marked as such in the log)."""
    from nas.data import check_location, load_dataset
    from nas.latency.profile_io import load_profiles
    from nas.pipeline.export import export_all, latency_check, latency_check_lines, write_summary
    from nas.pipeline.final import run_final_training
    from nas.pipeline.search import check_budgets_reachable, coverage_line, profile_notes, run_stage, supernet_accuracy
    from nas.pipeline.supernet import check_space_fits_data, resolve_normalization, run_supernet_stage
    from nas.raycluster import driver_env
    from nas.report import build_report
    from nas.train.distributed import is_main_process, leave
    from nas.train.supernet import maybe_initialize_distributed, trains_supernet

    check_location(cfg.data)  # a missing data path stops here, before the processes join
    resolve_normalization(cfg)
    driver_env(cfg)  # GPUs shared with Ray workers: no preallocation here (before JAX starts)
    trains = trains_supernet(cfg.supernet, cfg.supernet_from)
    maybe_initialize_distributed(cfg.supernet, trains=trains)  # before any JAX computation
    if not trains and not leave():  # nothing to train together: process 0 goes on alone
        return None
    main = is_main_process()

    def log(msg: str, markup: bool = True) -> None:
        if console is not None and main:
            console.print(msg, markup=markup, highlight=markup)

    # everything that can be checked is checked before the work directory is touched
    dataset = load_dataset(cfg.data)
    check_space_fits_data(cfg, dataset)
    # a profile file that does not load fails now, not after training; each YAML is read once and
    # every stage uses the profiles as they were when the run started
    profiles = load_profiles(cfg.search.profiles)
    check_budgets_reachable(cfg, loaded=profiles)
    run = RunDir(Path(workdir).resolve())
    if main:
        checked_dir(run.root, "work directory")
        line = save_config(cfg, run)
        for msg in ([line] if line else []) + profile_notes(cfg, loaded=profiles):
            log(msg, markup=False)

    mark = " (smoke run: a few examples and steps, the accuracies mean nothing)" if smoke else ""
    if trains:
        log(f"[bold]stage 1/4[/] supernet: {training_words(cfg.supernet)}", markup=True)
    else:
        log(f"[bold]stage 1/4[/] supernet: imported from {cfg.supernet.init or cfg.supernet_from} (no training)")
    info = run_supernet_stage(cfg, run.root, dataset)
    if not leave():  # multi-host: stages 2-4 run on process 0 alone
        return None
    log(f"  supernet: largest {100 * info['val_acc_largest']:.2f}%, smallest "
        f"{100 * info['val_acc_smallest']:.2f}% validation accuracy (inherited weights){mark}")

    log(f"[bold]stage 2/4[/] search on {', '.join(cfg.search.profiles)}")
    results = run_stage(cfg, run.root, profiles=cfg.search.profiles, dataset=dataset, on_generation=on_generation,
                        loaded=profiles)
    log(coverage_line(cfg, results), markup=False)
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
        log(f"  {c.name:16s} test accuracy {100 * finals[c.name]['test_acc']:.2f}%{mark}")

    log("[bold]stage 4/4[/] export, latency check, report")
    records = export_all(cfg, run.root, cands, dataset)
    check = latency_check(cfg, run.root, cands, loaded=profiles, records=records)
    for line in latency_check_lines(cfg, check):
        log(f"  {line}")
    summary = write_summary(cfg, run.root, cands, finals, dataset, untrained=[hand] if hand else [], loaded=profiles)
    return RunResult(build_report(run.root), summary)


def training_words(supernet) -> str:
    """What stage 1 trains, in a few words: the schedule, its phases, where it starts from."""
    if supernet.schedule != "progressive":
        return f"training (sandwich rule, {supernet.epochs:g} epochs)"
    from nas.train.progressive import resolve_phases

    given = resolve_phases(supernet)
    phases = ", ".join(f"{p.name} {p.epochs:g}" for p in given)
    start = f" from {supernet.init}" if supernet.init else ""
    if given and given[0].name == "head":  # a new classifier first: a supernet of other data carried over
        return f"transfer{start}: its classifier, then the supernet, trained on this data (phases, epochs: {phases})"
    return f"progressive shrinking{start} (phases, epochs: {phases})"


def load_finished_run(workdir, *, trained: bool = True) -> tuple[ExperimentConfig, list[Candidate]]:
    """The config and chosen candidates of a run that reached final training; InputError when
    ``config.json`` or ``chosen.json`` is missing or malformed, or (``trained``) when a chosen
    network's final training is not finished."""
    from nas.config import config_from_dict
    from nas.errors import InputError

    run = RunDir(workdir)
    for p in (run.config, run.chosen):
        if not p.is_file():
            raise InputError(f"{run.root}: no {p.name} (run `nas run` first)")
    cfg = config_from_dict(read_json(run.config))
    chosen = read_json(run.chosen)
    if not isinstance(chosen, list) or not chosen:
        raise InputError(f"{run.chosen}: must be a non-empty list of candidates")
    cands = [Candidate.from_dict(c, cfg.space, str(run.chosen)) for c in chosen]
    from nas.pipeline.final import read_result

    for c in cands if trained else ():  # verifies each network's result and weights checksums
        if read_result(run.root, c.name) is None:
            raise InputError(f"{run.final(c.name).path}: final training of {c.name} is not finished "
                             f"(run `nas run {cfg.name} --workdir {run.root}`)")
    return cfg, cands
