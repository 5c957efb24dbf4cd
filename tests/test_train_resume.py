"""A supernet run killed with SIGKILL resumes and ends with the weights of an uninterrupted run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from nas.config import load_experiment
from nas.train import load_supernet, train_supernet

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"max_steps": 8, "checkpoint_every_steps": 2}
SCRIPT = """
import sys
import pytest
from nas.config import load_experiment
from nas.train import train_supernet
cfg = load_experiment("fashion_mnist", smoke=True)
cfg.supernet.max_steps, cfg.supernet.checkpoint_every_steps = {max_steps}, {checkpoint_every_steps}
print(train_supernet(cfg.space, cfg.supernet, cfg.data, sys.argv[1], progress=False))
""".format(**SETTINGS)


def run_cmd(workdir):
    return [sys.executable, "-c", SCRIPT, str(workdir)]


@pytest.mark.slow
def test_sigkill_then_rerun_matches_uninterrupted_run(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = tmp_path / "killed"
    proc = subprocess.Popen(run_cmd(killed), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first_ckpt = killed / "supernet" / "checkpoints" / "2"
    deadline = time.time() + 900
    while not first_ckpt.is_dir() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed: " + proc.stdout.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "supernet" / "result.json").exists()

    again = subprocess.run(run_cmd(killed), cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "'resumed_from': 0," not in again.stdout  # it continued from a checkpoint

    cfg = load_experiment("fashion_mnist", smoke=True)
    cfg.supernet.max_steps = SETTINGS["max_steps"]
    cfg.supernet.checkpoint_every_steps = SETTINGS["checkpoint_every_steps"]
    straight = tmp_path / "straight"
    train_supernet(cfg.space, cfg.supernet, cfg.data, straight, progress=False)
    _, a = load_supernet(killed, cfg.space, cfg.supernet, cfg.data)
    _, b = load_supernet(straight, cfg.space, cfg.supernet, cfg.data)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)
    rows = (killed / "supernet" / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == len((straight / "supernet" / "metrics.jsonl").read_text().splitlines())
