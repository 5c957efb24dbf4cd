"""Does the search earn its choice? The chosen network against random ones of equal predicted latency.

For a run that has chosen its networks, draws ``--sample`` random networks of its space whose
latency predicted on the search's first profile is within ±``--tolerance`` of the chosen network's
(and that meet the search's budgets), fine-tunes each exactly as the run fine-tunes its chosen
network (the run's ``final`` settings: epochs, batch, learning rate, seed, initialisation from
the supernet's weights) in ``WORKDIR/search_check/final/random_<i>_<arch hash>`` (resumable), and
compares test accuracies. The chosen network's own result is the run's final training when it has
finished; otherwise (the run's final stage stopped or not reached) it is fine-tuned here too.
``--epochs E`` gives every network, the chosen one included, the same shorter (or longer) budget
instead, in ``WORKDIR/search_check/epochs_<E>/final/`` so trainings of different budgets never
mix. ``--workers N`` fine-tunes N networks at a time, each in its own process. The search earns
its choice when the chosen network beats the best of the sample. Each network's supernet accuracy
(what the search saw) is listed too, so a loss can be traced to the ranking.

    python -m experiments.benchmarks.search_vs_random runs/fashion_mnist [--sample 5 --tolerance 0.05]
        [--epochs 5] [--workers 2] [--rows docs/benchmarks/search_vs_random_rows.json]

Writes ``WORKDIR/search_check.json`` as each network finishes and prints a Markdown table for
docs/benchmarks/supernet.md. ``--rows FILE`` also merges each network's row into FILE as it
finishes, skips the networks FILE already holds (same supernet, network and budget: a later
sitting resumes there) and computes the comparison from FILE's rows
(:mod:`experiments.benchmarks.rows`).
"""
from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from search_spaces import arch_to_json

POOL = 20_000  # uniform samples the equal-latency networks are drawn from


def equal_latency_sample(space, records_of, target_ms: float, tolerance: float, n: int, seed: int,
                         exclude, pool_size: int = POOL) -> list:
    """``n`` distinct random architectures whose predicted latency is within ``target_ms·(1 ±
    tolerance)`` and that meet the budgets; ``records_of(archs) -> (latency_ms [n], feasible [n])``.
    ValueError when fewer exist in the pool."""
    import jax

    pool = [a for a in dict.fromkeys(space.canonical(a) for a in space.sample(jax.random.key(seed), pool_size))
            if a not in exclude]
    ms, feasible = records_of(pool)
    inside = np.flatnonzero((np.abs(ms - target_ms) <= tolerance * target_ms) & feasible)
    if len(inside) < n:
        raise ValueError(f"only {len(inside)} of {len(pool)} random networks are within ±{tolerance:.0%} of "
                         f"{target_ms:.4g} ms and the budgets; widen --tolerance or lower --sample")
    # a prefix of one permutation: a larger --sample keeps the networks already fine-tuned
    return [pool[i] for i in np.random.default_rng(seed).permutation(inside)[:n]]


def main(argv=None) -> int:
    from evaluators.analytic import AnalyticCostEvaluator
    from evaluators.latency import PredictedLatencyEvaluator
    from experiments.benchmarks.rows import load_rows, merge_row, row_key
    from nas.errors import InputError
    from nas.files import atomic_write_json, record_digest
    from nas.pipeline.candidates import Candidate
    from nas.pipeline.final import read_result, train_candidate
    from nas.pipeline.run import load_finished_run
    from nas.pipeline.search import supernet_accuracy
    from nas.rundir import RunDir
    from nas.search.objectives import ObjectiveSpec
    from search_spaces import get_space

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", help="a run that has chosen its networks (`nas run`)")
    ap.add_argument("--sample", type=int, default=5, help="random networks to fine-tune")
    ap.add_argument("--tolerance", type=float, default=0.05, help="relative predicted-latency window")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random draw")
    ap.add_argument("--pool", type=int, default=POOL, help="uniform samples the random networks are drawn from")
    ap.add_argument("--name", help="the chosen network to judge (default: the run's first searched one)")
    ap.add_argument("--epochs", type=float, help="fine-tune budget of every network, the chosen one included "
                    "(default: the run's final.epochs)")
    ap.add_argument("--workers", type=int, default=1, help="fine-tunes run at a time, each in its own process")
    ap.add_argument("--rows", metavar="FILE", help="merge each network's row into FILE as it finishes and skip "
                    "those already there (e.g. docs/benchmarks/search_vs_random_rows.json; commit it)")
    args = ap.parse_args(argv)
    if not 1 <= args.workers <= 64:
        ap.error("--workers: must be in 1..64")
    if args.epochs is not None and not 0 < args.epochs <= 1000:
        ap.error("--epochs: must be in (0, 1000]")
    if not 1 <= args.sample <= 100:
        ap.error("--sample: must be in 1..100")
    if not 10 <= args.pool <= 1_000_000:
        ap.error("--pool: must be in 10..1000000")
    if not 0 < args.tolerance < 1:
        ap.error("--tolerance: must be in (0, 1)")
    run = RunDir(Path(args.workdir).resolve())
    try:
        cfg, cands = load_finished_run(run.root, trained=False)
        searched = [c for c in cands if c.kind == "searched" and (args.name in (None, c.name))]
        if not searched:
            raise InputError(f"{run.chosen}: no searched network{f' named {args.name}' if args.name else ''}")
        chosen = searched[0]
        into = run.search_check_dir
        if args.epochs is not None and args.epochs != cfg.final.epochs:
            cfg = dataclasses.replace(cfg, final=dataclasses.replace(cfg.final, epochs=args.epochs))
            into = into / f"epochs_{args.epochs:g}"
            done = None  # the run's own result has another budget
        else:
            done = read_result(run.root, chosen.name)  # verifies its checksums; None when unfinished
        space = get_space(cfg.space)
        profile = cfg.search.profiles[0]
        latency = PredictedLatencyEvaluator.from_profile_name(profile)
    except InputError as e:
        ap.error(str(e))
    spec = ObjectiveSpec.from_config(cfg.search)
    analytic = AnalyticCostEvaluator()

    def records(archs):
        return [{**c, **lat} for c, lat in zip(analytic.evaluate(archs), latency.evaluate(archs))]

    def records_of(archs):
        recs = records(archs)
        return np.array([r["latency_ms"] for r in recs]), spec.violations(recs) <= 0

    chosen_arch = space.canonical(space.from_json(chosen.arch))
    target = records([chosen_arch])[0]
    try:
        randoms = equal_latency_sample(space, records_of, target["latency_ms"], args.tolerance, args.sample,
                                       args.seed, exclude={chosen_arch}, pool_size=args.pool)
    except ValueError as e:
        ap.error(str(e))
    archs = [chosen_arch, *randoms]
    # the folder names carry the architecture, so another draw (--seed, --tolerance, --pool) can
    # never resume a training of a different network
    names = [chosen.name] + [f"random_{i:02d}_{record_digest(arch_to_json(a))[:8]}" for i, a in enumerate(randoms)]
    try:
        sup = supernet_accuracy(cfg, run.root, archs)  # the run's cache: what its search saw (or would have)
    except InputError as e:
        ap.error(str(e))
    recs = records(archs)
    t0 = time.perf_counter()
    # each network's row: kept in --rows FILE (resumed from there) or in memory
    identity = f"{cfg.name}@{run.supernet_id()}"
    budget = {"seed": cfg.seed, **{k: getattr(cfg.final, k) for k in
                                   ("epochs", "batch_size", "learning_rate", "from_scratch", "augment", "max_steps")}}
    keys = [row_key(identity, names[i], arch_to_json(archs[i]), budget) for i in range(len(archs))]
    try:
        table = load_rows(args.rows)  # key -> row: FILE's (resumed), else this sitting's alone
    except InputError as e:
        ap.error(str(e))

    def finished(i: int, info: dict) -> None:
        nonlocal table
        row = {"name": names[i], "arch": arch_to_json(archs[i]), "chosen": i == 0, "macs": recs[i]["macs"],
               "latency_ms": recs[i]["latency_ms"], "supernet_accuracy": sup[i],
               "val_acc": info["val_acc"], "test_acc": info["test_acc"], "key": {"run": identity, "budget": budget}}
        table = merge_row(args.rows, keys[i], row) if args.rows else {**table, keys[i]: row}

    if done and keys[0] not in table:
        finished(0, done)

    def record() -> dict | None:
        """Writes the comparison over the networks finished so far, once the chosen one is."""
        if keys[0] not in table:
            return None
        rows = [table[k] for k in keys if k in table]
        best = max(rows[1:], key=lambda r: r["test_acc"]) if len(rows) > 1 else None
        result = {
            "workdir": str(run.root), "supernet_id": run.supernet_id(), "profile": profile,
            "tolerance": args.tolerance, "seed": args.seed, "sample": args.sample, "done": len(rows) - 1,
            "final": {k: getattr(cfg.final, k) for k in ("epochs", "batch_size", "learning_rate", "from_scratch")},
            "chosen_from_run": done is not None, "chosen_test_acc": rows[0]["test_acc"],
            "best_random": best and best["name"],
            "best_random_test_acc": best and best["test_acc"],
            "chosen_rank": 1 + sum(r["test_acc"] > rows[0]["test_acc"] for r in rows[1:]),
            "earned": bool(best) and len(rows) - 1 == args.sample and rows[0]["test_acc"] > best["test_acc"],
            "seconds": time.perf_counter() - t0, "rows": rows,
        }
        atomic_write_json(run.search_check, result)
        return result

    def job(i: int) -> tuple:
        return cfg, Candidate(names[i], "searched", arch_to_json(archs[i])), run.root

    todo = [i for i in range(len(archs)) if keys[i] not in table]
    if args.workers == 1:
        for i in todo:
            finished(i, train_candidate(*job(i), progress=True, into=into))
            record()
    else:  # one process per fine-tune, `--workers` at a time (each imports JAX afresh)
        with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(train_candidate, *job(i), into=into): i for i in todo}
            for f in as_completed(futures):
                finished(futures[f], f.result())
                record()
    result = record()
    rows = result["rows"]
    print(f"| network | MACs (M) | predicted {profile} (ms) | supernet accuracy | test accuracy after "
          f"fine-tuning {cfg.final.epochs:g} epochs |\n|---|---:|---:|---:|---:|")
    for r in rows:
        label = f"**{r['name']} (chosen)**" if r["chosen"] else r["name"]
        print(f"| {label} | {r['macs'] / 1e6:.2f} | {r['latency_ms']:.3f} | {100 * r['supernet_accuracy']:.2f}% | "
              f"{100 * r['test_acc']:.2f}% |")
    print(f"\nchosen ranks {result['chosen_rank']} of {len(rows)}; earned its choice: {result['earned']}; "
          f"fine-tuning took {result['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
