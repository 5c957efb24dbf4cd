"""Progressive shrinking (supernet.schedule: progressive): phases, their subnets and learning
rates, kernel transformation added to a supernet without it, and a run killed in the middle of
a phase that resumes to the uninterrupted run's weights."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx

from nas.config import ConfigError, SupernetConfig, apply_overrides, load_experiment
from nas.search_spaces import arch_stats, get_space
from nas.train.progressive import PHASES, phase_sampler, plan, resolve_phases
from nas.train.sampling import restrict
from nas.train.supernet import build_supernet, with_kernel_transform

ROOT = Path(__file__).resolve().parent.parent


def _cfg(**kw):
    return SupernetConfig(**{"schedule": "progressive", **kw})


def test_default_phases_share_the_epochs_and_start_with_the_full_network():
    phases = resolve_phases(_cfg(epochs=10.0, learning_rate=0.2))
    assert [p.name for p in phases] == [n for n in PHASES if n != "head"]  # head: only for transfer
    assert sum(p.epochs for p in phases) == pytest.approx(10.0)
    assert phases[0].epochs == pytest.approx(4.0) and {p.learning_rate for p in phases} == {0.2}
    # from a trained network (supernet.init) the full phase is left out
    assert [p.name for p in resolve_phases(_cfg(init="pretrained:fashion_mnist"))] == ["kernel", "depth", "expand"]
    assert resolve_phases(SupernetConfig()) == []  # the sandwich rule has none


@pytest.mark.parametrize("phases, init, needle", [
    ([{"name": "kernel", "epochs": 1}], "", "starts from a trained full network"),
    ([{"name": "full", "epochs": 1}, {"name": "shrink", "epochs": 1}], "", "phases[1].name: unknown phase 'shrink'"),
    ([{"name": "depth", "epochs": 1}, {"name": "kernel", "epochs": 1}], "x", "phases[1].name: 'kernel' out of order"),
    ([{"name": "full", "epochs": 0}], "", "phases[0].epochs: must be a positive number"),
    ([{"name": "full"}], "", "phases[0].epochs: missing"),
    ([{"name": "head", "epochs": 1}, {"name": "expand", "epochs": 1}], "", "a 'head' phase trains the classifier"),
    ([{"name": "full", "epochs": 1, "lr": 0.1}], "", "phases[0]: unknown key 'lr'"),
    ([{"name": "full", "epochs": 1, "learning_rate": -1}], "", "phases[0].learning_rate: must be a positive"),
    (["full"], "", "phases[0]: a mapping"),
])
def test_bad_phases_are_one_line_naming_the_field(phases, init, needle):
    with pytest.raises(Exception) as e:
        resolve_phases(_cfg(phases=phases, init=init))
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_config_refuses_bad_schedule_and_phases_given_to_the_sandwich_rule():
    cfg = load_experiment("fashion_mnist", smoke=True)
    with pytest.raises(ConfigError, match="supernet.schedule"):
        apply_overrides(cfg, ["supernet.schedule=shrinking"])
    with pytest.raises(ConfigError, match="only the progressive schedule has phases"):
        apply_overrides(load_experiment("fashion_mnist", smoke=True),
                        ['supernet.phases=[{"name": "full", "epochs": 1}]'])
    with pytest.raises(ConfigError, match="supernet.kernel_transform"):
        apply_overrides(load_experiment("fashion_mnist", smoke=True), ["supernet.kernel_transform=yes"])


def test_plan_gives_each_phase_its_steps_and_its_own_warmup_and_cosine():
    phases = resolve_phases(_cfg(phases=[{"name": "full", "epochs": 2, "learning_rate": 0.1, "warmup_epochs": 0.5},
                                         {"name": "kernel", "epochs": 1, "learning_rate": 0.01, "warmup_epochs": 0}]))
    p = plan(phases, steps_per_epoch=10)
    assert (p.starts, p.steps, p.total) == ((0, 20), (20, 10), 30)
    assert p.learning_rate(0) == 0 and p.learning_rate(5) == pytest.approx(0.1)  # warm-up to the phase's rate
    assert p.learning_rate(19) < 0.01  # cosine to ~0 at the phase's end
    assert p.learning_rate(20) == pytest.approx(0.01)  # the next phase restarts at its own rate
    assert [p.index(s) for s in (0, 19, 20, 29, 40)] == [0, 0, 1, 1, 1]
    # a smoke run (max_steps) still passes through every phase
    short = plan(resolve_phases(_cfg()), steps_per_epoch=1000, max_steps=8)
    assert short.steps == (2, 2, 2, 2)


def _active(archs, gene):
    """``gene`` of the active blocks (slot below the stage's depth) of stacked arch arrays."""
    values, d = np.asarray(archs[gene]), np.asarray(archs["d"])
    return values[np.arange(values.shape[-1])[None, None, :] < d[:, :, None]]


def test_each_phase_trains_only_its_elastic_choices():
    space = get_space("fashion_mnist")
    model = build_supernet("fashion_mnist", 0)
    p = plan(resolve_phases(_cfg(phases=[{"name": n, "epochs": 1} for n in PHASES if n != "head"])), steps_per_epoch=3)
    for sampling in ("uniform", "macs"):
        sample = phase_sampler(model, space, p, num_random=3, seed=0, sampling=sampling)
        full = sample(0)
        assert full["ks"].shape[0] == 1 and int(full["ks"].min()) == 7 and int(full["d"].min()) == 3
        kernel = sample(3)  # largest, the phase's smallest, 3 random
        assert kernel["ks"].shape[0] == 5
        assert int(kernel["d"].min()) == 3 and int(kernel["e"].min()) == 6 and int(kernel["ks"][1].max()) == 3
        assert len({tuple(np.asarray(kernel["ks"][i]).ravel()) for i in range(2, 5)}) > 1
        depth = sample(6)
        assert _active(depth, "e").min() == 6 and int(depth["d"][1].max()) == 1
        assert len({tuple(np.asarray(depth["d"][i])) for i in range(2, 5)}) > 1
        expand = sample(9)
        assert int(expand["e"][1].max()) == 3
    a = space.sample(jax.random.key(1), 1)[0]
    r = restrict(space, a, frozenset({"kernel"}))
    assert arch_stats(r).macs >= arch_stats(a).macs and space.decode(r)[3] == space.decode(a)[3]


def test_a_kernel_transformation_added_to_a_supernet_starts_as_the_centre_crop():
    """Added at the identity, it computes exactly what the supernet without it computes."""
    plain = build_supernet("fashion_mnist", 3)
    assert plain.kernel_transforms is None
    with_kt = with_kernel_transform(plain, True)
    assert with_kt.kernel_transforms is not None and with_kernel_transform(with_kt, True) is with_kt
    space = get_space("fashion_mnist")
    x = jax.random.normal(jax.random.key(0), (4, 28, 28, 1))
    for arch in [space.smallest(), space.largest(), *space.sample(jax.random.key(2), 3)]:
        a = plain.arch_arrays(arch)
        np.testing.assert_allclose(np.asarray(plain(x, a)), np.asarray(with_kt(x, a)), rtol=1e-5, atol=1e-5)
    # trained transformations are part of the function: removing them is refused
    with pytest.raises(Exception, match="kernel_transform: off"):
        with_kernel_transform(with_kt, False)
    # a changed matrix changes the small kernels' output, not the largest's
    state = nnx.state(with_kt, nnx.Param)
    m = with_kt.kernel_transforms[0][0].matrices[0]
    m.value = m.value * 0.5
    lg = plain.arch_arrays(space.largest())
    np.testing.assert_allclose(np.asarray(plain(x, lg)), np.asarray(with_kt(x, lg)), rtol=1e-5, atol=1e-5)
    del state


SCRIPT = """
import sys
from nas.config import apply_overrides, load_experiment
from nas.train import train_supernet
cfg = apply_overrides(load_experiment("fashion_mnist", smoke=True), [
    "supernet.init=", "supernet.schedule=progressive", "supernet.kernel_transform=on", "supernet.max_steps=8",
    "supernet.checkpoint_every_steps=1", "supernet.sampling=macs"])
print(train_supernet(cfg.space, cfg.supernet, cfg.data, sys.argv[1], progress=False))
"""


@pytest.mark.slow
def test_progressive_run_killed_in_the_middle_of_a_phase_resumes_to_the_same_weights(tmp_path):
    from nas.train import load_supernet

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-c", SCRIPT, str(killed)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    mid_kernel_phase = killed / "supernet" / "checkpoints" / "3"  # phases of 2 steps: full 0-1, kernel 2-3, ...
    deadline = time.time() + 900
    while not mid_kernel_phase.is_dir() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed: " + proc.stdout.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "'resumed_from': 0," not in again.stdout
    straight = tmp_path / "straight"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(straight)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "'phases': [{'name': 'full', 'first_step': 0, 'steps': 2}, {'name': 'kernel'" in done.stdout
    cfg = apply_overrides(load_experiment("fashion_mnist", smoke=True), [
        "supernet.init=", "supernet.schedule=progressive", "supernet.kernel_transform=on", "supernet.max_steps=8",
        "supernet.checkpoint_every_steps=1", "supernet.sampling=macs"])
    g, a = load_supernet(killed, cfg.space, cfg.supernet, cfg.data)
    _, b = load_supernet(straight, cfg.space, cfg.supernet, cfg.data)
    assert nnx.merge(g, a).kernel_transforms is not None
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)
    # the last (expand) phase trains the largest, its smallest and one random subnet (the smoke's setting)
    last = json.loads((straight / "supernet" / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 8 and "loss_subnet2" in last and "loss_subnet3" not in last


@pytest.mark.slow  # progressive shrinking from the shipped sandwich supernet, as experiments/fashion_mnist_ps runs it
def test_fashion_mnist_ps_continues_from_the_shipped_supernet_and_a_finished_stage_loads_nothing(tmp_path,
                                                                                                 monkeypatch):
    from nas import api
    from nas.pretrained import init

    cfg = api.load_config("fashion_mnist_ps", smoke=True)
    info = api.supernet(cfg, tmp_path / "ps")
    rec = json.loads((tmp_path / "ps" / "supernet" / "result.json").read_text())
    assert rec["fingerprint"]["kernel_transform"] is True and rec["fingerprint"]["schedule"] == "progressive"
    assert rec["fingerprint"]["init"]["sha256"] == init.describe_source("pretrained:fashion_mnist_sandwich")["sha256"]
    assert [p["name"] for p in rec["result"]["phases"]] == ["kernel", "depth", "expand"]
    assert rec["result"]["started_from"]["name"] == "pretrained:fashion_mnist_sandwich"
    assert info.val_acc_largest > 0.5  # a trained supernet went on training, not a random one
    # the stage is complete: running it again reuses the record without loading the starting supernet
    monkeypatch.setattr(init, "load_source", lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded")))
    again = api.supernet(cfg, tmp_path / "ps")
    assert again.record == info.record
