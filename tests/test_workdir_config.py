"""One configuration per work directory: later commands start from config.json, record what they
change with a history entry, and refuse (one line, nothing rewritten) a change that would
invalidate finished work. Rehearsed with the Note10 setting, which needs no supernet."""
import json

import pytest

from nas.cli.main import main
from nas.pipeline.workdir import check_invalidation, resolve
from nas.rundir import RunDir
from tests.test_ofa_judge import legacy_predictor_file, luts, write_tables


def nas(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def judge_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("judge")
    legacy_predictor_file(d / "acc_predictor.pth", seed=4)
    assert main(["accuracy", "import-ofa", str(d / "acc_predictor.pth"), "--out", str(d / "acc.npz")]) == 0
    paths = write_tables(d / "tables", seed=5)
    for name in ("phone_a", "phone_b"):
        assert main(["profile", "from-lut", name, "--space", "ofa_mbv3_w12", *[str(x) for x in luts(paths)],
                     "--out", str(d / f"{name}.yaml")]) == 0
    return d


@pytest.mark.slow
def test_a_second_device_keeps_the_budget_and_joins_the_run(judge_files, tmp_path, capsys):
    d, work = judge_files, tmp_path / "w"
    code, _, err = nas(capsys, "search", "ofa_note10", "--smoke", "--workdir", work, "--profile", d / "phone_a.yaml",
                       "--set", f"search.accuracy={d / 'acc.npz'}", "--set", "search.budgets.latency_ms=40")
    assert code == 0, err
    first = json.loads((work / "config.json").read_text())
    assert first["search"]["budgets"] == {"latency_ms": 40} and "history" not in first
    # the second device: no --set repeated, the directory's budget and accuracy source are used
    code, _, err = nas(capsys, "search", "ofa_note10", "--smoke", "--workdir", work, "--profile", d / "phone_b.yaml")
    assert code == 0, err
    cfg = json.loads((work / "config.json").read_text())
    assert cfg["search"]["budgets"] == {"latency_ms": 40}
    assert cfg["search"]["profiles"] == [str(d / "phone_a.yaml"), str(d / "phone_b.yaml")]
    assert [h["changed"] for h in cfg["history"]] == [
        {"search.profiles": [[str(d / "phone_a.yaml")], [str(d / "phone_a.yaml"), str(d / "phone_b.yaml")]]}]
    assert "search.profiles" in err and "(recorded)" in err
    for p in ("phone_a", "phone_b"):
        rows = [json.loads(line) for line in (work / "search" / p / "front.jsonl").read_text().splitlines()]
        assert rows and all(r["latency_ms"] <= 40 for r in rows)
        state = json.loads((work / "search" / p / "state.json").read_text())
        assert state["fingerprint"]["budgets"] == {"latency_ms": 40.0}
    # a change that invalidates both searches: refused, config.json as it was
    before = (work / "config.json").read_bytes()
    code, _, err = nas(capsys, "search", "ofa_note10", "--smoke", "--workdir", work, "--set",
                       "search.budgets.latency_ms=30")
    assert code == 2 and "invalidates stage 2 on phone_a" in err and err.count("\n") == 1
    assert (work / "config.json").read_bytes() == before
    # another experiment in the same directory: refused
    code, _, err = nas(capsys, "search", "fashion_mnist", "--workdir", work)
    assert code == 2 and "holds a run of experiment 'ofa_note10'" in err


def test_a_stage_1_setting_changed_after_training_is_refused(tmp_path):
    work = tmp_path / "w"
    run = RunDir(work)
    cfg, diff, history = resolve("fashion_mnist", work, ["search.generations=3"], smoke=True)
    assert diff == {} and history == []
    from nas.pipeline.workdir import record

    work.mkdir()
    record(cfg, run, diff, history, "test")
    run.supernet.path.mkdir()
    run.supernet.result.write_text("{}")  # a finished stage 1 (its marker)
    cfg2, diff2, _ = resolve("fashion_mnist", work, ["supernet.epochs=9"], smoke=True)
    assert cfg2.search.generations == 3  # the directory's earlier override is kept
    assert set(diff2) == {"supernet.epochs"}
    with pytest.raises(Exception) as e:
        check_invalidation(cfg2, run, diff2)
    assert "invalidates stage 1" in str(e.value) and "supernet_from=" in str(e.value)
    cfg3, diff3, _ = resolve("fashion_mnist", work, ["final.epochs=2"], smoke=True)
    check_invalidation(cfg3, run, diff3)  # a later stage's setting: allowed, recorded
