"""Progress and metrics of a training run: rich progress bar, JSONL file, TensorBoard.

``metrics.jsonl`` gets one JSON object per logged step (``{"step": int, <name>: float, ...}``);
when a run resumes at step ``s``, lines with ``step > s`` (written after the checkpoint the
run resumed from) are dropped first, so the file describes exactly one run. TensorBoard event
files go to ``<directory>/tb``. On a multi-host run only process 0 shows progress and writes
files; the other processes' monitors do nothing.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from nas.files import atomic_write_text
from nas.rundir import TrainDir
from nas.train.distributed import is_main_process


def _truncate_jsonl(path: Path, last_step: int) -> None:
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line).get("step", 0) <= last_step:
                keep.append(line)
        except (json.JSONDecodeError, AttributeError):
            continue  # a line cut by a killed process
    atomic_write_text(path, "".join(k + "\n" for k in keep))


class Monitor:
    """Report a run of ``total_steps`` steps (resumed at ``start_step``) of ``batch_size`` images.

    ``log(step, metrics)`` after each step updates the bar (loss, img/s, ETA) and, every
    ``log_every`` steps and at the last step, writes JSONL and TensorBoard scalars.
    """

    def __init__(self, directory: str | Path, *, title: str, total_steps: int, start_step: int,
                 batch_size: int, log_every: int = 10, progress: bool = True):
        self.directory = Path(directory)
        self.writes = is_main_process()
        self.jsonl = TrainDir(self.directory).metrics
        self.total, self.batch_size, self.log_every = total_steps, batch_size, max(1, log_every)
        self.start_step, self.t0, self.images_per_s = start_step, None, float("nan")
        self.tb = None
        if self.writes:
            self.directory.mkdir(parents=True, exist_ok=True)
            _truncate_jsonl(self.jsonl, start_step)
            from tensorboardX import SummaryWriter

            self.tb = SummaryWriter(str(TrainDir(self.directory).tensorboard), purge_step=start_step)
        progress = progress and self.writes
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[ips]} img/s"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), disable=not progress)
        self.task = self.progress.add_task(title, total=total_steps, completed=start_step,
                                           loss="-", ips="-")
        self.progress.start()

    def log(self, step: int, metrics: dict) -> None:
        """Record the metrics of step ``step`` (0-based; the run has done ``step + 1`` steps)."""
        now = time.perf_counter()
        if self.t0 is None:  # the first step includes compilation: time from its end
            self.t0, self.timed_from = now, step + 1
        elif step + 1 > self.timed_from:
            self.images_per_s = (step + 1 - self.timed_from) * self.batch_size / (now - self.t0)
        ips = "-" if math.isnan(self.images_per_s) else f"{self.images_per_s:.0f}"
        self.progress.update(self.task, completed=step + 1, loss=f"{metrics['loss']:.4f}", ips=ips)
        if (step + 1) % self.log_every == 0 or step + 1 == self.total:
            self.write(step + 1, {**metrics, "img_per_s": self.images_per_s})

    def write(self, step: int, values: dict) -> None:
        """Append ``{"step": step, **values}`` to the JSONL file and TensorBoard (finite floats)."""
        if not self.writes:
            return
        row = {"step": int(step)}
        for k, v in values.items():
            v = float(v)
            row[k] = v if math.isfinite(v) else None
            if math.isfinite(v):
                self.tb.add_scalar(k, v, step)
        with self.jsonl.open("a") as f:
            f.write(json.dumps(row) + "\n")
        self.tb.flush()

    def close(self) -> None:
        self.progress.stop()
        if self.tb is not None:
            self.tb.close()
