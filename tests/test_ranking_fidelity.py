"""The ranking-fidelity and search-vs-random checks' choices and statistics (``nas check``), and
the report's fidelity note."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nas.checks.ranking_fidelity import choose_subnets, ground_truth_retest, rank_agreement
from nas.search_spaces import arch_stats, arch_to_json, get_space


def test_subnets_are_stratified_over_macs_plus_a_narrow_band():
    space = get_space("fashion_mnist")
    strat, band, centre = choose_subnets(space, 16, 8, None, 0.10, seed=0)
    macs = [arch_stats(a).macs for a in strat]
    assert len(strat) == 16 and macs == sorted(macs) and macs[-1] > 3 * macs[0]
    assert len(band) == 8 and all(abs(arch_stats(a).macs - centre) <= 0.10 * centre for a in band)
    assert len(set(strat + band)) == 24


def test_the_ground_truth_against_itself_needs_two_seeds():
    space = get_space("fashion_mnist")
    strat, _, _ = choose_subnets(space, 3, 0, None, 0.10, seed=0)
    rows = [{"arch": arch_to_json(a), "supernet_accuracy": 0.5 + i / 10, "macs": 1.0, "in_band": False,
             "by_seed": {"0": {"test_acc": i}, "1": {"test_acc": -i}}} for i, a in enumerate(strat)]
    # the seed-vs-seed ceiling: these two seeds rank the subnets in opposite orders
    retest = ground_truth_retest(rows, centre=1.0, band_width=0.1, seed=0)
    assert retest["seeds"] == ["0", "1"] and retest["overall"]["kendall_tau"]["value"] == pytest.approx(-1)
    assert ground_truth_retest([{**r, "by_seed": {"0": r["by_seed"]["0"]}} for r in rows], 1.0, 0.1, 0) is None


def test_rank_agreement_statistics():
    x = np.arange(12.0)
    same = rank_agreement(x, x + 0.5)
    assert abs(same["kendall_tau"]["value"] - 1) < 1e-12 and abs(same["spearman_rho"]["value"] - 1) < 1e-12
    rev = rank_agreement(x, -x)
    assert abs(rev["kendall_tau"]["value"] + 1) < 1e-12
    noisy = rank_agreement(x, x + np.random.default_rng(0).normal(0, 4, 12))
    lo, hi = noisy["kendall_tau"]["ci95"]
    assert lo <= noisy["kendall_tau"]["value"] <= hi and hi - lo > 0.1


def test_report_shows_fidelity_only_for_the_supernet_it_measured(tmp_path):
    from nas.errors import InputError
    from nas.report import build_report
    from nas.rundir import RunDir
    from nas.train.loop import store_result
    from tests.test_report import _write_workdir

    _write_workdir(tmp_path)
    run = RunDir(tmp_path)
    store_result(run.supernet.result, {"space": "fashion_mnist"}, {"val_acc_largest": 0.9}, {"checkpoint": "c0"})
    stats = {"kendall_tau": {"value": 0.61, "ci95": [0.4, 0.78]}, "spearman_rho": {"value": 0.8, "ci95": [0.6, 0.9]},
             "n": 24}
    record = {"supernet_id": run.supernet_id(), "recipe": {"epochs": 2.0}, "overall": stats,
              "band_only": {**stats, "n": 8}}
    run.fidelity.write_text(json.dumps(record))
    html = build_report(tmp_path).read_text()
    assert "Kendall τ 0.61 [95% CI 0.40, 0.78] overall (24 subnets)" in html
    assert "seed vs seed" not in html and "Search against random" not in html
    retest = {"overall": {"kendall_tau": {"value": 0.52, "ci95": [0.3, 0.7]}, "n": 24}}
    run.fidelity.write_text(json.dumps({**record, "recipe": {"epochs": 2.0, "seeds": ["0", "1"]},
                                        "ground_truth_retest": retest}))
    html = build_report(tmp_path).read_text()
    assert "2 epochs, mean of 2 seeds" in html and "(seed vs seed) τ 0.52" in html
    run.fidelity.write_text(json.dumps({**record, "supernet_id": "another"}))
    assert "measured on another supernet" in build_report(tmp_path).read_text()
    # the search-vs-random check, shown once complete and only for this supernet
    rows = [{"name": "searched_0"}, {"name": "random_00"}, {"name": "random_01"}]
    check = {"supernet_id": run.supernet_id(), "done": 2, "sample": 2, "rows": rows, "tolerance": 0.05,
             "chosen_test_acc": 0.9086, "best_random_test_acc": 0.9101, "chosen_rank": 2, "earned": False}
    run.search_check.write_text(json.dumps(check))
    html = build_report(tmp_path).read_text()
    assert "did not earn its choice" in html and "searched_0 ranks 2 of 3" in html and "91.01%" in html
    assert "fine-tuned the same way:" in html  # an older record names no budget
    run.search_check.write_text(json.dumps({**check, "final": {"epochs": 5.0}}))
    assert "fine-tuned the same way (5 epochs):" in build_report(tmp_path).read_text()
    run.search_check.write_text(json.dumps({**check, "final": {"epochs": "five"}}))
    with pytest.raises(InputError, match="search_check.json: final.epochs must be a number"):
        build_report(tmp_path)
    for changed in ({"done": 1}, {"supernet_id": "another"}):
        run.search_check.write_text(json.dumps({**check, **changed}))
        assert "Search against random" not in build_report(tmp_path).read_text()
    run.search_check.write_text(json.dumps({**check, "best_random_test_acc": "high"}))
    with pytest.raises(InputError, match="search_check.json: best_random_test_acc must be a number"):
        build_report(tmp_path)


def test_macs_sampling_spreads_subnets_over_sizes():
    """``supernet.sampling: macs`` trains small and large random subnets more evenly than uniform
    per-choice sampling, whose sizes pile up around the median."""
    import jax

    from nas.train.sampling import sample_random_subnets

    space = get_space("fashion_mnist")
    spread = {}
    for how in ("uniform", "macs"):
        macs = np.array([arch_stats(a).macs for a in sample_random_subnets(space, jax.random.key(1), 200, how)])
        q10, q90 = np.percentile(macs, [10, 90])
        spread[how] = q90 - q10
    assert spread["macs"] > 1.3 * spread["uniform"], spread
    # deterministic in the key
    a = sample_random_subnets(space, jax.random.key(2), 3, "macs")
    assert a == sample_random_subnets(space, jax.random.key(2), 3, "macs")


@pytest.mark.slow
def test_fidelity_benchmark_and_variants_end_to_end(tmp_path, capsys):
    """The check on a smoke-sized run (real supernet, real stand-alone trainings of a few steps),
    then the variants benchmark: a MACs-sampling variant judged against the same stand-alone
    results (nothing trained twice), with both scorings."""
    from experiments.benchmarks import supernet_variants
    from nas.cli.main import main as nas
    from nas.config import load_experiment
    from nas.files import read_json
    from nas.pipeline.run import save_config
    from nas.rundir import RunDir
    from nas.train import train_supernet

    cfg = load_experiment("fashion_mnist", smoke=True)
    run = RunDir(tmp_path / "base")
    run.root.mkdir()
    save_config(cfg, run)
    train_supernet(cfg.space, cfg.supernet, cfg.data, run.root, progress=False)
    args = ["--stratified", "2", "--band", "1", "--max-steps", "2"]
    assert nas(["check", "fidelity", str(run.root), *args]) == 0
    rec = read_json(run.fidelity)
    assert rec["overall"]["n"] == 3 and len(rec["rows"]) == 3
    assert all(0 <= r["supernet_accuracy"] <= 1 and 0 <= r["standalone_test"] <= 1 for r in rec["rows"])
    trained = sorted(p.name for p in (run.fidelity_dir / "final").iterdir())
    assert len(trained) == 3 and rec["ground_truth_retest"] is None
    # a second seed: only the new trainings run, the scores are reused, the ground truth is the mean
    first = rec
    assert nas(["check", "fidelity", str(run.root), *args, "--seeds", "0,1"]) == 0
    rec = read_json(run.fidelity)
    assert sorted(p.name for p in (run.fidelity_dir / "final").iterdir()) == sorted(
        trained + [f"{n}_seed1" for n in trained])
    assert [r["supernet_accuracy"] for r in rec["rows"]] == [r["supernet_accuracy"] for r in first["rows"]]
    for old, new in zip(first["rows"], rec["rows"]):
        assert new["by_seed"]["0"]["test_acc"] == old["standalone_test"]
        assert new["standalone_test"] == pytest.approx((old["standalone_test"] + new["by_seed"]["1"]["test_acc"]) / 2)
    assert rec["recipe"]["seeds"] == ["0", "1"] and rec["ground_truth_retest"]["overall"]["n"] == 3
    capsys.readouterr()
    assert supernet_variants.main([str(run.root), "--root", str(tmp_path / "v"), "--variants", "base,macs",
                                   "--full-eval-batches", "2", "--full-bn-batches", "1"]) == 0
    table = capsys.readouterr().out.rsplit("| run | subnets", 1)[1]  # the summary table at the end
    assert table.count("| macs (supernet.sampling=macs)") == 2 and table.count("| base (") == 2
    var = RunDir(tmp_path / "v" / "macs")
    assert read_json(var.supernet.result)["fingerprint"]["sampling"] == "macs"
    full = read_json(var.root / "fidelity_full.json")
    assert full["eval_batches"] == 2 and full["bn_batches"] == 1
    base_truth = {json.dumps(r["arch"], sort_keys=True): r["standalone_test"] for r in rec["rows"]}
    assert all(base_truth[json.dumps(r["arch"], sort_keys=True)] == r["standalone_test"] for r in full["rows"])
    assert not (var.fidelity_dir / "final").exists()  # the ground truth was reused, not retrained


def test_equal_latency_sample_is_a_growing_prefix_within_the_window():
    import jax

    from nas.checks.search_vs_random import equal_latency_sample

    space = get_space("fashion_mnist")

    def records_of(archs):  # MACs stand in for a latency; the budget refuses the largest networks
        macs = np.array([arch_stats(a).macs for a in archs], dtype=float)
        return macs / 1e6, macs < 3.5e6

    exclude = {space.canonical(space.sample(jax.random.key(5)))}
    three = equal_latency_sample(space, records_of, 2.0, 0.05, 3, seed=0, exclude=exclude, pool_size=2000)
    five = equal_latency_sample(space, records_of, 2.0, 0.05, 5, seed=0, exclude=exclude, pool_size=2000)
    assert five[:3] == three and len(set(five)) == 5 and not set(five) & exclude
    assert all(abs(arch_stats(a).macs / 1e6 - 2.0) <= 0.1 for a in five)
    assert equal_latency_sample(space, records_of, 2.0, 0.05, 3, seed=1, exclude=exclude, pool_size=2000) != three
    with pytest.raises(ValueError, match="widen --tolerance"):  # all over budget
        equal_latency_sample(space, records_of, 4.0, 0.05, 3, seed=0, exclude=exclude, pool_size=2000)
