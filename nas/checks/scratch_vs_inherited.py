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

    nas check scratch-vs-inherited runs/fashion_mnist_long [searched_0 ...] [mobilenet_v2 ...]

A reference model named (or all of them, ``--references``) is trained here too (from scratch,
its own budget, as the run would) when the run has not finished it itself; the others are
shown where a result exists.

``--rows FILE`` (e.g. ``docs/benchmarks/scratch_vs_inherited_rows.json``) merges each network's
row into FILE as its training finishes, skips the networks FILE already holds (same experiment,
network and budget: a later sitting resumes there) and prints the table from FILE's rows
(:mod:`nas.checks.rows`).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from nas.errors import InputError


def check_scratch_vs_inherited(workdir, names=(), *, references: bool = False, rows: str | None = None) -> dict:
    """Train the run's searched networks ``names`` (default: all) from scratch with the
    reference models' budget into ``WORKDIR/scratch_check`` (resumable), and the reference
    models named in ``names`` (all with ``references``) when the run has not finished them;
    writes and returns ``WORKDIR/scratch_check.json``. ``rows``: the rows file (see
    :mod:`nas.checks.rows`). InputError when the run has not chosen its networks or ``names``
    holds something that is neither a searched network nor a reference model of it."""
    from nas.checks.rows import RowStore
    from nas.data import load_dataset
    from nas.files import atomic_write_json
    from nas.pipeline.run import load_finished_run
    from nas.rundir import RunDir

    run = RunDir(Path(workdir).resolve())
    cfg, cands = load_finished_run(run.root, trained=False)
    scratch = _Retraining(run, cfg, load_dataset(cfg.data), RowStore(rows))  # FILE's rows, else this sitting's
    by_name = {c.name: c for c in cands}
    names = list(names) or [c.name for c in cands if c.kind == "searched"]
    for name in names:
        if name not in by_name or by_name[name].kind == "baseline":
            raise InputError(f"{name}: not a searched network or reference model of {run.chosen}")
    refs = [c for c in cands if c.kind == "reference"]
    to_train = set(names) | ({c.name for c in refs} if references else set())
    out = [scratch.searched(by_name[n]) for n in names if by_name[n].kind == "searched"]
    out += [scratch.reference(c, train=c.name in to_train) for c in refs]
    try:
        supernet_id = run.supernet_id()  # the supernet the run chose with (not needed here)
    except OSError:
        supernet_id = None
    result = {"workdir": str(run.root), "supernet_id": supernet_id,
              "final": {k: getattr(scratch.cfg.final, k) for k in ("epochs", "batch_size", "learning_rate", "augment")},
              "run_final": {k: getattr(cfg.final, k) for k in ("epochs", "from_scratch", "augment")}, "rows": out}
    atomic_write_json(run.root / "scratch_check.json", result)
    return result


class _Retraining:
    """The check's networks of one run, each trained from scratch with the references' budget
    (``cfg``) unless ``store`` holds its row; a row is kept in ``store`` once its network is
    trained."""

    def __init__(self, run, run_cfg, dataset, store):
        from nas.pipeline.candidates import Candidate
        from nas.pipeline.final import training_config

        reference_final = training_config(run_cfg, Candidate(name="", kind="reference"))  # the references' budget
        self.run, self.run_cfg, self.dataset, self.store = run, run_cfg, dataset, store
        self.cfg = dataclasses.replace(run_cfg, final=dataclasses.replace(reference_final, from_scratch=True))
        # from scratch, nothing depends on the supernet: the experiment identifies the run
        self.budget = {"seed": run_cfg.seed, **{k: getattr(self.cfg.final, k) for k in
                                                ("epochs", "batch_size", "learning_rate", "augment", "max_steps")}}

    def key(self, c) -> str:
        from nas.checks.rows import row_key

        return row_key(self.run_cfg.name, c.name, c.arch if c.arch is not None else {"model": c.model}, self.budget)

    def keep(self, c, row: dict) -> dict:
        """``row`` kept in the store when its network is trained."""
        if row["scratch_test_acc"] is None:
            return row
        return self.store.put(self.key(c), {**row, "key": {"run": self.run_cfg.name, "budget": self.budget}})

    def macs(self, c) -> float:
        from nas.search_spaces.cost import net_stats

        return net_stats(c.spec(self.run_cfg, self.dataset.input_shape, self.dataset.num_classes)).macs

    def searched(self, c) -> dict:
        """The row of searched network ``c``: trained here, and the run's own result where it exists."""
        from nas.pipeline.final import read_result, train_candidate

        own = read_result(self.run.root, c.name)
        if self.key(c) in self.store:  # trained in an earlier sitting; the run's own result may have come since
            row = self.store[self.key(c)]
            if own and row.get("run_test_acc") != own["test_acc"]:
                row = self.keep(c, {**row, "run_test_acc": own["test_acc"]})
            return row
        info = train_candidate(self.cfg, c, self.run.scratch_check, progress=True)
        return self.keep(c, {"name": c.name, "kind": "searched", "macs": self.macs(c), "arch": c.arch,
                             "scratch_test_acc": info["test_acc"], "scratch_val_acc": info["val_acc"],
                             "run_test_acc": own and own["test_acc"]})

    def reference(self, c, *, train: bool) -> dict:
        """The row of reference model ``c``: the run's result, else this check's, else (with
        ``train``) trained here; its accuracies None when there is none."""
        from nas.pipeline.final import read_result, train_candidate

        if self.key(c) in self.store:
            return self.store[self.key(c)]
        info = read_result(self.run.root, c.name) or read_result(self.run.scratch_check, c.name)
        if info is None and train:
            info = train_candidate(self.cfg, c, self.run.scratch_check, progress=True)
        return self.keep(c, {"name": c.name, "kind": "reference", "model": c.model, "macs": self.macs(c),
                             "scratch_test_acc": info and info["test_acc"],
                             "scratch_val_acc": info and info["val_acc"], "run_test_acc": None})


def scratch_table(result: dict) -> str:
    """The Markdown table of ``result`` (docs/benchmarks/training.md)."""
    run_final, epochs = result["run_final"], result["final"]["epochs"]

    def pct(x) -> str:
        return "–" if x is None else f"{100 * x:.2f}%"

    lines = [f"| network | MACs (M) | test acc., run's final training ({run_final['epochs']:g} epochs"
             f"{'' if run_final['from_scratch'] else ' from the supernet'}) | test acc., from scratch {epochs:g} "
             "epochs |", "|---|---:|---:|---:|"]
    for r in result["rows"]:
        label = r["name"] + (" (reference)" if r["kind"] == "reference" else "")
        lines.append(f"| {label} | {r['macs'] / 1e6:.2f} | {pct(r['run_test_acc'])} | {pct(r['scratch_test_acc'])} |")
    return "\n".join(lines)
