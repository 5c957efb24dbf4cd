"""Searched architectures trained from scratch with the reference models' budget.

After `nas run EXPERIMENT` with reference baselines, the searched networks were fine-tuned from
inherited supernet weights while the reference models trained from scratch. This trains the
named searched networks from scratch too, with the same budget as the references
(``final.baseline_epochs``, else ``final.epochs``; same batch, learning rate, augmentation and
seed), into ``WORKDIR/scratch_check/final/<name>`` (resumable), so that architectures are
compared without the supernet's head start. The run needs only to have chosen its networks
(``chosen.json``): its own final training may be unfinished or stopped. Prints a Markdown table
(MACs, test accuracy of the run's final training where it exists, from scratch here, and the
reference models) and writes it as ``WORKDIR/scratch_check.json``.

    python -m experiments.benchmarks.scratch_vs_inherited runs/fashion_mnist_long [searched_0 ...] [mobilenet_v2 ...]

A reference model named (or all of them, ``--references``) is trained here too (from scratch,
its own budget, as the run would) when the run has not finished it itself; the others are
shown where a result exists.

``--rows FILE`` (e.g. ``docs/benchmarks/scratch_vs_inherited_rows.json``) merges each network's
row into FILE as its training finishes, skips the networks FILE already holds (same experiment,
network and budget: a later sitting resumes there) and prints the table from FILE's rows
(:mod:`experiments.benchmarks.rows`).
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from experiments.benchmarks.rows import load_rows, merge_row, row_key
from nas.errors import InputError
from nas.files import atomic_write_json
from nas.pipeline.candidates import Candidate
from nas.pipeline.final import read_result, train_candidate, training_config
from nas.pipeline.run import load_finished_run
from nas.rundir import RunDir


def main(argv=None) -> int:
    from nas.data import load_dataset
    from search_spaces.cost import net_stats

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir")
    ap.add_argument("names", nargs="*", help="searched networks of the run (chosen.json names; default: all) "
                    "and reference models to train here when the run has not finished them")
    ap.add_argument("--references", action="store_true", help="name every reference model of the run")
    ap.add_argument("--rows", metavar="FILE", help="merge each network's row into FILE as it finishes and skip "
                    "those already there (commit it)")
    args = ap.parse_args(argv)
    run = RunDir(Path(args.workdir).resolve())
    try:
        cfg, cands = load_finished_run(run.root, trained=False)
        dataset = load_dataset(cfg.data)
        table = load_rows(args.rows)  # key -> row: FILE's (resumed), else this sitting's alone
    except InputError as e:
        ap.error(str(e))
    by_name = {c.name: c for c in cands}
    references = [c for c in cands if c.kind == "reference"]
    names = args.names or [c.name for c in cands if c.kind == "searched"]
    for name in names:
        if name not in by_name or by_name[name].kind == "baseline":
            ap.error(f"{name}: not a searched network or reference model of {run.chosen}")
    to_train = set(names) | ({c.name for c in references} if args.references else set())
    names = [n for n in names if by_name[n].kind == "searched"]
    reference_final = training_config(cfg, Candidate(name="", kind="reference"))  # the references' budget
    scratch_cfg = dataclasses.replace(cfg, final=dataclasses.replace(reference_final, from_scratch=True))
    epochs = reference_final.epochs

    def macs(c) -> float:
        return net_stats(c.spec(cfg, dataset.input_shape, dataset.num_classes)).macs

    # from scratch, nothing depends on the supernet: the experiment identifies the run
    budget = {"seed": cfg.seed, **{k: getattr(scratch_cfg.final, k) for k in
                                   ("epochs", "batch_size", "learning_rate", "augment", "max_steps")}}

    def key(c) -> str:
        return row_key(cfg.name, c.name, c.arch if c.arch is not None else {"model": c.model}, budget)

    def keep(c, row: dict) -> dict:
        """``row`` merged into FILE (or this sitting's rows) when its network is trained."""
        nonlocal table
        if row["scratch_test_acc"] is None:
            return row
        row = {**row, "key": {"run": cfg.name, "budget": budget}}
        table = merge_row(args.rows, key(c), row) if args.rows else {**table, key(c): row}
        return table[key(c)]

    rows = []
    for name in names:
        c = by_name[name]
        own = read_result(run.root, name)
        if key(c) in table:  # trained in an earlier sitting; this run's own result may have come since
            row = table[key(c)]
            if own and row.get("run_test_acc") != own["test_acc"]:
                row = keep(c, {**row, "run_test_acc": own["test_acc"]})
            rows.append(row)
            continue
        info = train_candidate(scratch_cfg, c, run.scratch_check, progress=True)
        rows.append(keep(c, {"name": name, "kind": "searched", "macs": macs(c), "arch": c.arch,
                             "scratch_test_acc": info["test_acc"], "scratch_val_acc": info["val_acc"],
                             "run_test_acc": own and own["test_acc"]}))
    for c in references:
        if key(c) in table:
            rows.append(table[key(c)])
            continue
        info = read_result(run.root, c.name) or read_result(run.scratch_check, c.name)
        if info is None and c.name in to_train:
            info = train_candidate(scratch_cfg, c, run.scratch_check, progress=True)
        rows.append(keep(c, {"name": c.name, "kind": "reference", "model": c.model, "macs": macs(c),
                             "scratch_test_acc": info and info["test_acc"],
                             "scratch_val_acc": info and info["val_acc"], "run_test_acc": None}))
    try:
        supernet_id = run.supernet_id()  # the supernet the run chose with (not needed here)
    except OSError:
        supernet_id = None
    atomic_write_json(run.root / "scratch_check.json", {
        "workdir": str(run.root), "supernet_id": supernet_id,
        "final": {k: getattr(scratch_cfg.final, k) for k in ("epochs", "batch_size", "learning_rate", "augment")},
        "run_final": {k: getattr(cfg.final, k) for k in ("epochs", "from_scratch", "augment")}, "rows": rows})

    def pct(x) -> str:
        return "–" if x is None else f"{100 * x:.2f}%"

    print(f"| network | MACs (M) | test acc., run's final training ({cfg.final.epochs:g} epochs"
          f"{'' if cfg.final.from_scratch else ' from the supernet'}) | test acc., from scratch {epochs:g} epochs |")
    print("|---|---:|---:|---:|")
    for r in rows:
        label = r["name"] + (" (reference)" if r["kind"] == "reference" else "")
        print(f"| {label} | {r['macs'] / 1e6:.2f} | {pct(r['run_test_acc'])} | {pct(r['scratch_test_acc'])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
