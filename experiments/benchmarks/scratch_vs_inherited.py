"""Searched architectures trained from scratch with the reference models' budget.

After `nas run EXPERIMENT` with reference baselines, the searched networks were fine-tuned from
inherited supernet weights while the reference models trained from scratch. This trains the
named searched networks from scratch too, with the same budget as the references
(``final.baseline_epochs``, else ``final.epochs``), into ``WORKDIR/scratch_check/final/<name>``,
so that architectures are compared without the supernet's head start. Prints a Markdown
table: MACs, test accuracy fine-tuned (from the run), from scratch (here), and the reference
models.

    python -m experiments.benchmarks.scratch_vs_inherited runs/fashion_mnist_long searched_0 [searched_1 ...]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from nas.errors import InputError
from nas.pipeline.candidates import Candidate
from nas.pipeline.final import train_candidate, training_config
from nas.pipeline.run import load_finished_run
from nas.rundir import RunDir


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir")
    ap.add_argument("names", nargs="+", help="searched candidates of the run (chosen.json names)")
    args = ap.parse_args(argv)
    wd = Path(args.workdir)
    try:
        cfg, cands = load_finished_run(wd)
        chosen = {c.name: c for c in cands}
        summary = {a["name"]: a for a in json.loads(RunDir(wd).summary.read_text())["architectures"]}
    except (OSError, ValueError, KeyError, TypeError, InputError) as e:
        ap.error(f"{wd}: not a finished run's work directory ({type(e).__name__}: {e})")
    reference_final = training_config(cfg, Candidate(name="", kind="reference"))  # the references' budget
    epochs = reference_final.epochs
    scratch_cfg = dataclasses.replace(cfg, final=dataclasses.replace(reference_final, from_scratch=True))
    rows = ["| network | MACs (M) | test acc., run's final training | test acc., from scratch "
            f"{epochs:g} epochs |", "|---|---:|---:|---:|"]
    for name in args.names:
        if name not in chosen or chosen[name].kind != "searched":
            ap.error(f"{name}: not a searched candidate of {wd}")
        info = train_candidate(scratch_cfg, chosen[name], RunDir(wd).scratch_check, progress=True)
        a = summary[name]
        rows.append(f"| {name} | {a['macs'] / 1e6:.2f} | {100 * a['test_accuracy']:.2f}% "
                    f"({a['training']['epochs']:g} epochs from {a['training']['init']}) | "
                    f"{100 * info['test_acc']:.2f}% |")
    for a in summary.values():
        if a["kind"] == "reference":
            rows.append(f"| {a['name']} (reference) | {a['macs'] / 1e6:.2f} | {100 * a['test_accuracy']:.2f}% "
                        f"({a['training']['epochs']:g} epochs from scratch) | |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
