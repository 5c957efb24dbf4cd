"""Per-network rows of the long checks (``--rows FILE``): merged as each network finishes, resumed
across sittings, never served for another run, network or budget."""
from __future__ import annotations

import json

import pytest

from nas.checks.rows import RowStore, load_rows, merge_row, pending, row_key
from nas.cli.main import main as nas
from nas.errors import InputError
from nas.search_spaces import arch_to_json


def test_rows_accumulate_and_resume_by_run_network_and_budget(tmp_path):
    path = tmp_path / "docs" / "check_rows.json"
    path.parent.mkdir()
    budget = {"epochs": 5, "batch_size": 256, "seed": 0}
    arch = {"ks": [3, 5], "e": [4, 6]}
    keys = [row_key("fashion_mnist@abc", name, arch if name == "a" else {"model": name}, budget)
            for name in ("a", "b", "c")]
    assert load_rows(path) == {} and pending(keys, path) == [0, 1, 2]
    # a first sitting finishes b, then a, then stops
    merge_row(path, keys[1], {"name": "b", "test_acc": 0.5})
    rows = merge_row(path, keys[0], {"name": "a", "test_acc": 0.7})
    assert rows == load_rows(path) == {keys[0]: {"name": "a", "test_acc": 0.7}, keys[1]: {"name": "b", "test_acc": 0.5}}
    assert list(json.loads(path.read_text())["rows"]) == sorted(keys[:2])  # sorted: small diffs when committed
    assert [p.name for p in path.parent.iterdir()] == ["check_rows.json"]  # atomic: no temporary left behind
    # the next sitting runs only c; a row merged again replaces its own key alone
    assert pending(keys, path) == [2]
    merge_row(path, keys[2], {"name": "c", "test_acc": 0.6})
    merge_row(path, keys[1], {"name": "b", "test_acc": 0.55})
    assert pending(keys, path) == [] and load_rows(path)[keys[1]]["test_acc"] == 0.55
    assert load_rows(path)[keys[0]]["test_acc"] == 0.7
    # another supernet, architecture or budget is another row: nothing is served for it
    run = "fashion_mnist@abc"
    others = [row_key("fashion_mnist@abd", "a", arch, budget), row_key(run, "a", {**arch, "e": [4, 4]}, budget),
              row_key(run, "a", arch, {**budget, "epochs": 6}), row_key(run, "a", arch, {**budget, "seed": 1})]
    assert len(set(others + keys)) == 7 and pending(others, path) == [0, 1, 2, 3]
    # the key does not depend on the order of a budget's settings
    assert row_key(run, "a", arch, dict(reversed(budget.items()))) == keys[0]


@pytest.mark.parametrize("text", ["[1, 2]", '{"rows": [1]}', '{"rows": {"k": 3}}', "{"])
def test_a_file_that_is_not_a_rows_file_is_refused_naming_it(tmp_path, text):
    path = tmp_path / "rows.json"
    path.write_text(text)
    with pytest.raises(InputError, match="rows.json"):
        load_rows(path)
    with pytest.raises(InputError, match="rows.json"):
        merge_row(path, "k", {"x": 1})
    assert path.read_text() == text  # left as it was


def test_no_rows_file_means_nothing_is_done_yet():
    assert load_rows(None) == {} and pending(["a", "b"], None) == [0, 1]


def test_a_row_store_keeps_rows_in_its_file_or_in_memory(tmp_path):
    path = tmp_path / "rows.json"
    kept = RowStore(path)
    assert kept.put("k1", {"x": 1}) == {"x": 1} and "k1" in kept and load_rows(path) == {"k1": {"x": 1}}
    assert RowStore(path)["k1"] == {"x": 1} and RowStore(path).get("k2", {}) == {}  # a later sitting resumes
    alone = RowStore()
    alone.put("k1", {"x": 2})
    assert alone["k1"] == {"x": 2} and load_rows(path) == {"k1": {"x": 1}}  # nothing written


@pytest.mark.parametrize("argv", [["fidelity", "--seeds", "0,x"], ["fidelity", "--seeds", "-1"],
                                  ["fidelity", "--eval-batches", "0"], ["search-vs-random", "--workers", "65"],
                                  ["search-vs-random", "--sample", "0"], ["search-vs-random", "--pool", "9"],
                                  ["search-vs-random", "--tolerance", "1"], ["search-vs-random", "--epochs", "0"]])
def test_out_of_range_check_options_are_refused_before_any_work(tmp_path, capsys, argv):
    assert nas(["check", argv[0], str(tmp_path / "no_run"), *argv[1:]]) == 2
    err = capsys.readouterr().err
    assert argv[1] in err and len(err.strip().splitlines()) == 1 and "no_run" not in err


@pytest.mark.slow  # scores subnets of a supernet through the whole `nas check fidelity` command (~1 min)
def test_fidelity_check_resumes_from_its_rows_file_in_a_fresh_work_directory(tmp_path, monkeypatch, capsys):
    """nas check fidelity --rows: a sitting that stops after two trainings leaves their rows; the
    next sitting, in a fresh work directory of the same experiment, trains only the rest and takes
    the ground truth from the file; the supernet's scores are reused only for the same scoring
    (trainings and supernet scoring stubbed: nothing is trained)."""
    from nas.checks import ranking_fidelity
    from nas.config import load_experiment
    from nas.pipeline import final
    from nas.pipeline.run import save_config
    from nas.rundir import RunDir

    cfg = load_experiment("fashion_mnist", smoke=True)
    trained = []

    def train_candidate(cfg, cand, workdir, **_):
        if len(trained) == 2 and "first" in str(workdir):
            raise KeyboardInterrupt  # the machine goes back mid-measurement
        trained.append(cand.name)
        return {"val_acc": len(trained) / 10, "test_acc": len(trained) / 10}

    monkeypatch.setattr(final, "train_candidate", train_candidate)
    scored = []

    def score_supernet(cfg, run, archs, dataset, eval_batches, bn_batches):
        scored.append((run.root.name, eval_batches))
        return [0.5 + i / 100 for i in range(len(archs))]

    monkeypatch.setattr(ranking_fidelity, "score_supernet", score_supernet)
    rows_file = tmp_path / "docs" / "ranking_fidelity_rows.json"
    rows_file.parent.mkdir()
    args = ["--stratified", "3", "--band", "1", "--eval-batches", "1", "--rows", str(rows_file)]
    for sitting in ("first", "second"):
        run = RunDir(tmp_path / sitting)
        run.supernet.path.mkdir(parents=True)
        run.supernet.result.write_text("{}")
        save_config(cfg, run)
        if sitting == "first":
            assert nas(["check", "fidelity", str(run.root), *args]) == 130  # interrupted
            assert sorted(r["name"] for r in load_rows(rows_file).values()) == sorted(trained) and len(trained) == 2
        else:
            capsys.readouterr()
            assert nas(["check", "fidelity", str(run.root), *args]) == 0
            table = capsys.readouterr().out.splitlines()
            assert table[0].startswith("| run | subnets (band) | Kendall τ |") and table[2].startswith("| second | 4 (")
    assert trained == ["strat_00", "strat_01", "strat_02", "band_03"]  # each trained once, over two sittings
    rec = json.loads(RunDir(tmp_path / "second").fidelity.read_text())
    assert [r["standalone_test"] for r in rec["rows"]] == [0.1, 0.2, 0.3, 0.4]
    assert len(load_rows(rows_file)) == 4
    # a second seed later: only the new trainings, the rows gain the seed, the scores are reused
    assert nas(["check", "fidelity", str(tmp_path / "second"), *args, "--seeds", "0,1"]) == 0
    assert trained[4:] == [f"{n}_seed1" for n in trained[:4]]
    assert all(set(r["by_seed"]) == {"0", "1"} for r in load_rows(rows_file).values())
    assert scored == [("first", 1), ("second", 1)]
    # another scoring is scored afresh (the finished check's subnets and results: nothing trained),
    # and so is a retrained supernet
    again = ["check", "fidelity", str(tmp_path / "second"), "--standalone-from", str(tmp_path / "second"),
             "--eval-batches", "2", "--out", str(tmp_path / "full.json")]
    assert nas(again) == 0 and nas(again) == 0
    assert scored[2:] == [("second", 2)] and len(trained) == 8
    RunDir(tmp_path / "second").supernet.result.write_text('{"retrained": 1}')
    assert nas(again) == 0 and scored[3:] == [("second", 2)] and len(trained) == 8
    full = json.loads((tmp_path / "full.json").read_text())
    two_seeds = json.loads(RunDir(tmp_path / "second").fidelity.read_text())
    assert full["eval_batches"] == 2 and full["rows"] == two_seeds["rows"]
    assert [r["standalone_test"] for r in full["rows"]] == pytest.approx([0.3, 0.4, 0.5, 0.6])  # seed 0, 1 means


def _stub_run(root, cfg, cands):
    """A run that has chosen ``cands`` (config.json, chosen.json) with a stand-in supernet record."""
    from nas.pipeline.run import save_config
    from nas.rundir import RunDir

    run = RunDir(root)
    run.supernet.path.mkdir(parents=True)
    run.supernet.result.write_text("{}")  # the supernet id both sittings share
    save_config(cfg, run)
    run.chosen.write_text(json.dumps([c.to_dict() for c in cands]))
    return run


def test_search_and_scratch_checks_resume_from_their_rows_files_in_a_fresh_work_directory(tmp_path, monkeypatch,
                                                                                             capsys):
    """nas check search-vs-random and scratch-vs-inherited with --rows: a second sitting in a fresh
    work directory trains only what the file does not hold, and the summary comes from the file
    (trainings and supernet accuracies stubbed: nothing is trained)."""
    import jax

    from nas.config import load_experiment
    from nas.pipeline import final, search
    from nas.pipeline.candidates import Candidate
    from nas.search_spaces import get_space

    cfg = load_experiment("fashion_mnist", smoke=True)
    space = get_space(cfg.space)
    cands = [Candidate("searched_0", "searched", arch_to_json(space.canonical(space.sample(jax.random.key(3))))),
             Candidate("mobilenet_v2", "reference", model="mobilenet_v2")]
    trained = []

    def train_candidate(cfg, cand, workdir, **_):
        trained.append(cand.name)
        return {"val_acc": len(trained) / 10, "test_acc": len(trained) / 10}

    monkeypatch.setattr(final, "train_candidate", train_candidate)
    monkeypatch.setattr(search, "supernet_accuracy", lambda cfg, root, archs, *a: [0.5] * len(archs))
    docs = tmp_path / "docs"
    docs.mkdir()
    first, second = (_stub_run(tmp_path / n, cfg, cands) for n in ("first", "second"))

    draw = ["--tolerance", "0.5", "--pool", "300", "--rows", str(docs / "search_vs_random_rows.json")]
    assert nas(["check", "search-vs-random", str(first.root), "--sample", "1", *draw]) == 0
    assert trained[0] == "searched_0" and len(trained) == 2
    capsys.readouterr()
    assert nas(["check", "search-vs-random", str(second.root), "--sample", "2", *draw]) == 0  # one more random
    out = capsys.readouterr().out
    assert "| **searched_0 (chosen)** |" in out and "chosen ranks 3 of 3; earned its choice: False" in out
    assert len(trained) == 3 and trained[2].startswith("random_01_")
    check = json.loads(second.search_check.read_text())
    assert [r["test_acc"] for r in check["rows"]] == [0.1, 0.2, 0.3] and check["done"] == 2
    assert [r["name"] for r in check["rows"]] == trained
    assert len(load_rows(docs / "search_vs_random_rows.json")) == 3

    del trained[:]
    rows = ["--rows", str(docs / "scratch_vs_inherited_rows.json")]
    assert nas(["check", "scratch-vs-inherited", str(first.root), "searched_0", *rows]) == 0
    capsys.readouterr()
    assert nas(["check", "scratch-vs-inherited", str(second.root), "searched_0", "mobilenet_v2", *rows]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2].startswith("| searched_0 |") and out[3].endswith("| – | 20.00% |")
    assert nas(["check", "scratch-vs-inherited", str(second.root), "searched_9"]) == 2
    assert "searched_9: not a searched network or reference model" in capsys.readouterr().err
    assert trained == ["searched_0", "mobilenet_v2"]  # searched_0 came from the file
    check = json.loads((second.root / "scratch_check.json").read_text())
    assert [(r["name"], r["scratch_test_acc"]) for r in check["rows"]] == [("searched_0", 0.1), ("mobilenet_v2", 0.2)]
