"""nas check supernet (the middle against the ends) and nas supernet eval (the search's scoring of
given subnets), on the supernet shipped with jaxnas imported into a smoke run."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nas.checks.supernet_middle import check_subnets, line_summary
from nas.cli.main import main as nas
from nas.search_spaces import arch_stats, get_space


def _p(macs, acc):
    return {"macs": macs, "accuracy": acc}


def test_line_summary_measures_the_middle_against_the_straight_line_in_log_macs():
    small, large = _p(1e6, 0.80), _p(100e6, 0.90)
    # at 10 MMACs (half-way in log) the line is at 0.85
    pts = [_p(10e6, 0.85), _p(10e6, 0.86), _p(10e6, 0.83), _p(2e6, 0.79), _p(50e6, 0.95)]
    s = line_summary(pts, small, large)
    assert s["n"] == 5 and s["share_on_or_above"] == pytest.approx(3 / 5)
    line_at_2m = 0.80 + 0.10 * np.log(2) / np.log(100)
    assert s["worst_below_line"] == pytest.approx(line_at_2m - 0.79)
    assert s["worst_below_smallest"] == pytest.approx(0.01)
    assert -1 <= s["spearman"] <= 1 and not s["meets_goal"]
    good = line_summary([_p(m, 0.82 + 0.05 * i) for i, m in enumerate((2e6, 5e6, 20e6))], small, large)
    assert good["share_on_or_above"] == 1 and good["worst_below_line"] == 0 and good["spearman"] == pytest.approx(1)
    assert good["meets_goal"]


def test_check_subnets_are_the_ends_and_distinct_draws_of_both_kinds():
    space = get_space("fashion_mnist")
    subnets = check_subnets(space, 20, seed=0)
    names = [n for n, _ in subnets]
    assert names[:2] == ["smallest", "largest"] and len(names) == 42
    assert len({a for _, a in subnets}) == 42
    assert subnets == check_subnets(space, 20, seed=0) and subnets != check_subnets(space, 20, seed=1)
    macs = {k: sorted(arch_stats(a).macs for n, a in subnets if n.startswith(k)) for k in ("uniform", "macs")}
    # spread over MACs reaches further down than uniform draws, which pile up at the median
    assert macs["macs"][2] < macs["uniform"][2]


@pytest.mark.slow  # imports the shipped supernet and scores a few subnets (~1 min)
def test_supernet_check_and_eval_score_as_the_search_does(tmp_path, capsys):
    from nas import api
    from nas.rundir import RunDir

    cfg = api.load_config("fashion_mnist", smoke=True)
    wd = tmp_path / "run"
    api.supernet(cfg, wd)
    rows = tmp_path / "rows.json"
    assert nas(["check", "supernet", str(wd), "--sample", "2", "--rows", str(rows)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "4 random subnets:" in out[0] and "on or above the line" in out[0]
    assert out[1].startswith("| supernet | subnets |") and out[3].startswith("| run (all) | 4 |")
    rec = json.loads(RunDir(wd).supernet_check.read_text())
    assert rec["supernet_id"] == RunDir(wd).supernet_id() and len(rec["rows"]) == 6
    assert len(json.loads(rows.read_text())["rows"]) == 6
    # the same subnets through nas supernet eval: the same numbers (the search's scoring, its cache)
    archs = tmp_path / "archs.jsonl"
    archs.write_text("".join(json.dumps({"arch": r["arch"]}) + "\n" for r in rec["rows"][:3]))
    assert nas(["supernet", "eval", str(wd), "--archs", str(archs), "--json"]) == 0
    got = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [g["accuracy"] for g in got] == [r["accuracy"] for r in rec["rows"][:3]]
    assert [g["macs"] for g in got] == [r["macs"] for r in rec["rows"][:3]]
    space = get_space(cfg.space)
    assert api.evaluate(cfg, wd, [space.from_json(r["arch"]) for r in rec["rows"][:2]]) == \
        [r["accuracy"] for r in rec["rows"][:2]]
    # a second sitting in a fresh work directory takes every row from the file (nothing scored)
    wd2 = tmp_path / "again"
    api.supernet(cfg, wd2)
    assert nas(["check", "supernet", str(wd2), "--sample", "2", "--rows", str(rows)]) == 0
    assert not any(f.read_text().strip() for f in (wd2 / "search").glob("accuracy_*.jsonl"))
    # the report plots it
    from nas.report.build import _supernet_check

    assert "4 random subnets" in _supernet_check(RunDir(wd))[0]


def test_bad_input_is_one_line_with_exit_2(tmp_path, capsys):
    from nas import api

    assert nas(["check", "supernet", str(tmp_path)]) == 2
    assert "not a work directory" in capsys.readouterr().err
    cfg = api.load_config("fashion_mnist", smoke=True)
    from nas.pipeline.run import save_config
    from nas.rundir import RunDir

    save_config(cfg, RunDir(tmp_path))
    assert nas(["check", "supernet", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no trained supernet" in err and len(err.strip().splitlines()) == 1
    archs = tmp_path / "a.jsonl"
    archs.write_text('{"ks": [3]}\n')
    assert nas(["supernet", "eval", str(tmp_path), "--archs", str(archs)]) == 2
    assert "a.jsonl:1" in capsys.readouterr().err
    archs.write_text(json.dumps({"ks": [3] * 12, "e": [3] * 12, "d": [1] * 4, "r": 28}) + "\n")
    assert nas(["supernet", "eval", str(tmp_path), "--archs", str(archs)]) == 2
    assert "no trained supernet" in capsys.readouterr().err


def test_quick_gives_each_long_check_its_short_settings_and_explicit_options_win(monkeypatch, capsys):
    from nas.checks import ranking_fidelity, search_vs_random, supernet_middle

    seen = {}
    monkeypatch.setattr(ranking_fidelity, "check_fidelity", lambda wd, o: seen.setdefault("fidelity", o) and 1 / 0)
    monkeypatch.setattr(search_vs_random, "check_search_vs_random", lambda wd, o: seen.setdefault("vs", o) and 1 / 0)
    monkeypatch.setattr(supernet_middle, "check_supernet", lambda wd, o: seen.setdefault("sn", o) and 1 / 0)
    for argv in (["fidelity", "w", "--quick"], ["search-vs-random", "w", "--quick"], ["supernet", "w", "--quick"]):
        with pytest.raises(ZeroDivisionError):
            nas(["check", *argv])
    assert (seen["fidelity"].stratified, seen["fidelity"].band, seen["fidelity"].epochs) == (8, 0, 1.0)
    assert (seen["vs"].sample, seen["vs"].epochs) == (3, 0.25) and seen["sn"].sample == 10
    seen.clear()
    with pytest.raises(ZeroDivisionError):
        nas(["check", "fidelity", "w", "--quick", "--epochs", "3", "--band", "2"])
    assert (seen["fidelity"].stratified, seen["fidelity"].band, seen["fidelity"].epochs) == (8, 2, 3.0)
    seen.clear()
    with pytest.raises(ZeroDivisionError):
        nas(["check", "fidelity", "w"])
    assert (seen["fidelity"].stratified, seen["fidelity"].band, seen["fidelity"].epochs) == (16, 8, 2.0)
