"""What transfer from Once-for-All's supernet to your own image folder costs per training step.

    python -m experiments.benchmarks.transfer_cost --ofa-folder DIR [--steps 40] \
        [--resolutions 128 160] [--batch 16] [--out PATH]
    python -m experiments.benchmarks.transfer_cost --ofa-file FILE ...   # also times the import

``DIR`` is OFA's MobileNetV3 supernet imported once with ``nas supernet import-ofa FILE --out DIR``
(docs/supernet_init.md); ``--ofa-file`` imports OFA's checkpoint ``FILE`` into the temporary
folder first and reports how long that took. Only stage 1 runs (:func:`nas.api.supernet`), once
per resolution, each in a fresh temporary work directory: the ``image_folder`` experiment with
the settings of the OFA path (``space=ofa_mbv3``, ``supernet.init=DIR``, ``data.channels=3``,
``data.image_size=supernet.resolutions=[r]``, ``data.normalize=auto``, ``search.budgets.flops=6e8``),
batch ``--batch`` and ``supernet.max_steps=--steps``: the progressive schedule gives its two
phases an equal share, ``head`` (the new 5-way classifier alone on the largest subnet; OFA's
1000-way classifier is replaced) then ``expand`` (the whole supernet, largest + smallest + 2 random
subnets per step, distilled). The data is a generated folder of 5 classes of RGB JPEGs/PNGs of
64-256 px per side (:func:`nas.data.write_synthetic_image_folder`), sized so that no run passes
its end (no epoch boundary inside the timed steps).

Per phase it reports seconds per step and images per second (``--batch`` images per step; a
step of ``expand`` trains 4 subnets on them), two ways:

* ``steps``: wall time between consecutive training steps (taken when the loop reports each
  step, after its loss has come back), the first ``--discard`` steps of each phase dropped: the
  first step of ``head`` compiles the one-subnet step, the first of ``expand`` the four-subnet one.
* ``metrics.jsonl``: from the run's own log (``img_per_s`` there is the mean since the end of the
  run's first step; a row every 10 steps and at the last: :mod:`nas.train.monitor`). Two rows
  bound an interval; a phase gets a value only when an interval lies inside it after its
  dropped steps, i.e. ``--steps`` of 40 or more with ``--steps/2`` a multiple of 10 (else n/a).

Also: the import (``--ofa-file`` only), the time stage 1 spends loading the folder and replacing
the classifier (``load``), the training time the run records (``train_time_s``, compilation
included), and stage 1's wall time (data set-up, load, and the scoring of the largest and
smallest subnets after training included).
Prints a markdown table (``--out`` also writes it).

Timings depend on what else runs: measure with the CPU otherwise idle. ``--steps 4`` (2 steps a
phase, one timed) is a check that the script runs, not a measurement.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import tempfile
import time
from pathlib import Path

CLASSES = 5
SIZES = (64, 256)  # side lengths of the generated images
PHASE_EPOCHS = 1000.0  # far more than any --steps: max_steps always truncates, an equal share per phase
LOG_EVERY = 10  # nas.train.loop.RunSpec.log_every (the supernet's metrics.jsonl cadence)


def _hooks():
    """Record the wall time of every reported training step and of every load of the source;
    returns ``(step_times, load_times, undo)``."""
    import nas.pretrained.init as init
    from nas.train.monitor import Monitor

    step_times, load_times = [], []
    log, load = Monitor.log, init.load_source

    def timed_log(self, step, metrics):
        step_times.append((int(step), time.perf_counter()))
        return log(self, step, metrics)

    def timed_load(*args, **kwargs):
        t = time.perf_counter()
        try:
            return load(*args, **kwargs)
        finally:
            load_times.append(time.perf_counter() - t)

    Monitor.log, init.load_source = timed_log, timed_load

    def undo():
        Monitor.log, init.load_source = log, load

    return step_times, load_times, undo


def _from_steps(step_times, first: int, n: int, discard: int) -> tuple[float, int]:
    """``(seconds per step, steps timed)`` of the phase of steps ``first .. first + n - 1``
    (0-based) with its first ``discard`` steps dropped."""
    t = dict(step_times)
    a, b = first + discard - 1, first + n - 1  # timed: the steps after a, up to b
    if a < 0 or a not in t or b not in t or b <= a:
        return math.nan, 0
    return (t[b] - t[a]) / (b - a), b - a


def _from_jsonl(path: Path, first: int, n: int, discard: int, batch: int) -> tuple[float, int]:
    """``(seconds per step, steps timed)`` of the same phase from metrics.jsonl: a row at step s
    (steps done) with ``img_per_s`` v puts the end of step s at (s - 1) * batch / v seconds after
    the end of step 1; the widest interval between such points inside the phase is used."""
    ends = {1: 0.0}  # steps done -> seconds since the end of step 1
    for line in path.read_text().splitlines():
        row = json.loads(line)
        s, v = int(row["step"]), row.get("img_per_s")
        if s > 1 and v:
            ends[s] = (s - 1) * batch / v
    lo = [s for s in ends if s >= first + max(discard, 1)]
    hi = [s for s in ends if s <= first + n]
    if not lo or not hi or max(hi) <= min(lo):
        return math.nan, 0
    a, b = min(lo), max(hi)
    return (ends[b] - ends[a]) / (b - a), b - a


def measure(ofa_folder: str, resolution: int, steps: int, batch: int, discard: int, root: Path) -> dict:
    """Stage 1 of the OFA transfer at ``resolution`` in a fresh work directory under ``root``."""
    from nas import api
    from nas.rundir import TrainDir

    data = root / "images"
    if not data.is_dir():  # every run of this process shares the folder
        per_class = math.ceil(steps * batch / (CLASSES * 0.9)) + 2  # 10% of it is held out for validation
        from nas.data import write_synthetic_image_folder

        write_synthetic_image_folder(data, num_classes=CLASSES, per_class=per_class, test_per_class=2, sizes=SIZES)
    phases = [{"name": "head", "epochs": PHASE_EPOCHS, "learning_rate": 0.05, "warmup_epochs": 0.0},
              {"name": "expand", "epochs": PHASE_EPOCHS, "learning_rate": 0.01, "warmup_epochs": 0.0}]
    cfg = api.load_config("image_folder", {
        "data.path": str(data), "space": "ofa_mbv3", "supernet.init": str(ofa_folder),
        "data.channels": 3, "data.image_size": resolution, "data.normalize": "auto",
        "supernet.resolutions": [resolution], "supernet.batch_size": batch, "supernet.max_steps": steps,
        "supernet.phases": phases, "supernet.checkpoint_every_steps": 10 ** 6,
        "supernet.bn_recalibration_batches": 1, "search.budgets.flops": 6e8})
    work = root / f"run_{resolution}"
    if work.exists():  # a finished stage 1 would be skipped, timing nothing
        raise SystemExit(f"{work} exists: give another --root")
    step_times, load_times, undo = _hooks()
    t0 = time.perf_counter()
    try:
        info = api.supernet(cfg, work)
    finally:
        undo()
    wall = time.perf_counter() - t0
    rec = info.record
    head = rec.get("started_from", {}).get("head", {})
    rows = []
    for p in rec["phases"]:
        sec, timed = _from_steps(step_times, p["first_step"], p["steps"], discard)
        jsec, jtimed = _from_jsonl(TrainDir(info.directory).metrics, p["first_step"], p["steps"], discard, batch)
        rows.append({"phase": p["name"], "steps": p["steps"], "timed": timed, "s_per_step": sec,
                     "img_per_s": batch / sec if sec > 0 else math.nan, "jsonl_timed": jtimed,
                     "jsonl_s_per_step": jsec, "jsonl_img_per_s": batch / jsec if jsec > 0 else math.nan})
    return {"resolution": resolution, "batch": batch, "rows": rows, "load_s": sum(load_times),
            "train_time_s": rec["train_time_s"], "stage1_s": wall, "head": head,
            "val_acc_largest": info.val_acc_largest, "val_acc_smallest": info.val_acc_smallest}


def _f(x: float, fmt: str) -> str:
    return "n/a" if not math.isfinite(x) else format(x, fmt)


def table(results: list[dict], steps: int, discard: int, import_s: float | None) -> str:
    import jax

    lines = [f"OFA transfer (`ofa_mbv3`, {CLASSES} classes), stage 1 only, `--steps {steps}` "
             f"(each phase half), first {discard} step(s) of each phase dropped; "
             f"{platform.processor() or platform.machine()}, {jax.device_count()} {jax.default_backend()} device(s)",
             "",
             "| resolution | phase | batch | steps timed | s/step | img/s | metrics.jsonl: steps | s/step | img/s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        for row in r["rows"]:
            lines.append(f"| {r['resolution']} | {row['phase']} | {r['batch']} | {row['timed']} | "
                         f"{_f(row['s_per_step'], '.3f')} | {_f(row['img_per_s'], '.1f')} | {row['jsonl_timed']} | "
                         f"{_f(row['jsonl_s_per_step'], '.3f')} | {_f(row['jsonl_img_per_s'], '.1f')} |")
    if import_s is not None:
        lines += ["", f"Import (`nas supernet import-ofa`, once): {import_s:.1f} s"]
    lines += ["", "| resolution | load (s) | train_time_s | stage 1 wall (s) | classifier |",
              "| --- | --- | --- | --- | --- |"]
    for r in results:
        h = r["head"]
        cls = f"{h['from_classes']} -> {h['to_classes']} (replaced)" if h.get("replaced") else "kept"
        lines.append(f"| {r['resolution']} | {r['load_s']:.1f} | {r['train_time_s']:.1f} | {r['stage1_s']:.1f} "
                     f"| {cls} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--ofa-folder", help="OFA's supernet imported by `nas supernet import-ofa`")
    src.add_argument("--ofa-file", help="OFA's checkpoint: imported first (timed) into the work root")
    p.add_argument("--steps", type=int, default=40, help="supernet.max_steps: both phases, half each")
    p.add_argument("--resolutions", type=int, nargs="+", default=[128, 160])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--discard", type=int, default=1, help="first steps of each phase left out (compilation; >= 1)")
    p.add_argument("--root", default="", help="keep the data and work directories here (default: a temporary one)")
    p.add_argument("--out", default="", help="also write the markdown table here")
    a = p.parse_args(argv)
    if a.discard < 1:
        p.error("--discard: at least 1 (the first step of head is timed from its end)")
    if a.steps < 2 * (a.discard + 1):
        p.error(f"--steps {a.steps}: each phase needs more than --discard {a.discard} steps (at least "
                f"{2 * (a.discard + 1)} in all)")
    if a.ofa_folder and not (Path(a.ofa_folder) / "result.json").is_file():
        p.error(f"--ofa-folder {a.ofa_folder}: no result.json (import OFA's checkpoint with "
                "`nas supernet import-ofa FILE --out DIR`)")
    with tempfile.TemporaryDirectory(prefix="transfer_cost_") as tmp:
        root = Path(a.root).expanduser().resolve() if a.root else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        folder, import_s = a.ofa_folder, None
        if a.ofa_file:
            from nas.pretrained.init import import_to_folder

            folder, t = root / "ofa_folder", time.perf_counter()
            import_to_folder(a.ofa_file, folder)
            import_s = time.perf_counter() - t
            print(f"imported {a.ofa_file}: {import_s:.1f} s", flush=True)
        results = []
        for r in a.resolutions:
            t = time.perf_counter()
            results.append(measure(folder, r, a.steps, a.batch, a.discard, root))
            print(f"resolution {r}: {time.perf_counter() - t:.0f} s", flush=True)
    text = table(results, a.steps, a.discard, import_s)
    if a.out:
        Path(a.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
