"""What `nas run` and `nas search` refuse before any work: no placeholder data location, no
budget that no network of the space can meet. One line on stderr, exit status 2, the work
directory untouched."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from nas.config import apply_overrides, load_experiment
from nas.errors import InputError
from nas.pipeline.search import cheapest, check_budgets_reachable
from nas.search_spaces import get_space

ROOT = Path(__file__).resolve().parent.parent


def nas(*args, home: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COORDINATOR", "JAX_NUM", "JAX_PROCESS"))}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
    env.pop("TFDS_DATA_DIR", None)
    return subprocess.run([sys.executable, "-m", "nas.cli.main", *args], capture_output=True, text=True,
                          env=env, cwd=home, timeout=300)


def one_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_imagenet_ofa_without_data_path_says_how_to_give_it(tmp_path):
    proc = nas("run", "imagenet_ofa", "--workdir", str(tmp_path / "w"), home=tmp_path)
    line = one_line(proc)
    assert "data.path" in line and "--set data.path=DIR" in line and "imagenet2012" in line
    assert "BUCKET" not in line and not (tmp_path / "w").exists()


def test_smoke_image_folder_without_path_is_refused_before_the_processes_join(tmp_path):
    line = one_line(nas("run", "imagenet_ofa", "--smoke", "--workdir", str(tmp_path / "w"), home=tmp_path))
    assert "data.path" in line and "image folder" in line and "coordinator" not in line


@pytest.mark.parametrize("command", ["run", "search"])
def test_a_budget_no_network_meets_names_it_and_the_smallest_reachable(tmp_path, command):
    proc = nas(command, "fashion_mnist", "--workdir", str(tmp_path / "w"), "--set", "search.budgets.params=10",
               home=tmp_path)
    line = one_line(proc)
    low = cheapest(get_space("fashion_mnist"), _params_evaluator(), "params")
    assert line.startswith("nas: error: search.budgets.params: no network of fashion_mnist meets 10")
    assert f"{low:,.0f}" in line and not (tmp_path / "w").exists()


def _params_evaluator():
    from nas.evaluators import EvaluatorSpec

    return EvaluatorSpec("fashion_mnist", ("params",))()


def test_the_smallest_reachable_value_is_a_floor_and_is_reached():
    from nas.evaluators import EvaluatorSpec

    space = get_space("fbnet")  # index 0 is not the cheapest choice of a layer there ("skip" is)
    ev = EvaluatorSpec("fbnet", ("macs",))()
    low = cheapest(space, ev, "macs")
    sampled = [r["macs"] for r in ev.evaluate(space.sample(jax.random.key(0), 300))]
    assert low <= min(sampled) and low < ev.evaluate([space.smallest()])[0]["macs"]
    cfg = load_experiment("fashion_mnist")
    cfg.space, cfg.search.budgets = "fbnet", {"macs": low}
    check_budgets_reachable(cfg)  # exactly reachable: accepted
    cfg.search.budgets = {"macs": low * 0.99}
    with pytest.raises(InputError, match="search.budgets.macs: no network of fbnet meets"):
        check_budgets_reachable(cfg)


def test_latency_budget_is_checked_per_profile():
    cfg = apply_overrides(load_experiment("fashion_mnist"), ["search.budgets.latency_ms=0.001"])
    with pytest.raises(InputError, match=r"search.budgets.latency_ms: .* on profile local_cpu; the smallest"):
        check_budgets_reachable(cfg)
