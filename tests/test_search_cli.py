"""``nas search``: runs stage 2 from an experiment file, resumes, and fails cleanly."""
from __future__ import annotations

import json
import textwrap

import pytest

from nas.cli.main import main

EXPERIMENT = textwrap.dedent("""
    from nas.config import ExperimentConfig, SearchConfig

    def get_config(smoke=False):
        return ExperimentConfig(name="tiny_search", space="fashion_mnist",
                                search=SearchConfig(population=8, generations=3, seed=3))
""")


@pytest.fixture
def experiment(tmp_path):
    p = tmp_path / "tiny_search.py"
    p.write_text(EXPERIMENT)
    return str(p)


def test_needs_trained_supernet(experiment, tmp_path, capsys):
    assert main(["search", experiment, "--workdir", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no trained supernet" in err[0]


def test_analytic_objectives_json_and_resume(experiment, tmp_path, capsys):
    args = ["search", experiment, "--workdir", str(tmp_path / "w"), "--profile", "analytic",
            "--set", 'search.objectives=["flops","peak_activation_bytes"]',
            "--set", "search.budgets.params=300000", "--json"]
    assert main(args) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and all(r["profile"] == "analytic" and r["feasible"] and r["params"] <= 300000 for r in rows)
    d = tmp_path / "w" / "search" / "analytic"
    assert sorted(p.name for p in d.glob("gen_*.jsonl")) == ["gen_0000.jsonl", "gen_0001.jsonl", "gen_0002.jsonl"]
    assert [json.loads(line) for line in (d / "front.jsonl").read_text().splitlines()] == \
        [{k: v for k, v in r.items() if k != "profile"} for r in rows]
    # extending the search continues from the checkpoint
    assert main(args + ["--set", "search.generations=4"]) == 0
    capsys.readouterr()
    assert (d / "gen_0003.jsonl").exists()
    assert len((d / "evaluations.jsonl").read_text().splitlines()) == 32
    # a changed seed is refused, nothing overwritten
    before = (d / "state.json").read_bytes()
    assert main(args + ["--set", "search.seed=9"]) == 2
    assert "different seed" in capsys.readouterr().err
    assert (d / "state.json").read_bytes() == before


def test_bad_override_is_one_line(experiment, tmp_path, capsys):
    assert main(["search", experiment, "--workdir", str(tmp_path), "--set", "search.objectives=[\"speed\"]"]) == 2
    err = capsys.readouterr().err
    assert "search.objectives" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
