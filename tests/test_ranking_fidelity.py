"""The ranking-fidelity benchmark's choices and statistics, and the report's fidelity note."""
from __future__ import annotations

import json

import numpy as np

from experiments.benchmarks.ranking_fidelity import choose_subnets, rank_agreement
from search_spaces import arch_stats, get_space


def test_subnets_are_stratified_over_macs_plus_a_narrow_band():
    space = get_space("fashion_mnist")
    strat, band, centre = choose_subnets(space, 16, 8, None, 0.10, seed=0)
    macs = [arch_stats(a).macs for a in strat]
    assert len(strat) == 16 and macs == sorted(macs) and macs[-1] > 3 * macs[0]
    assert len(band) == 8 and all(abs(arch_stats(a).macs - centre) <= 0.10 * centre for a in band)
    assert len(set(strat + band)) == 24


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
    run.fidelity.write_text(json.dumps({**record, "supernet_id": "another"}))
    assert "measured on another supernet" in build_report(tmp_path).read_text()
