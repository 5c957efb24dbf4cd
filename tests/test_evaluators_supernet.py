"""Supernet accuracy evaluator, handed nas.train's scoring function, against nas.train's
evaluate_subnet, and stage 2 on a trained (two-step) supernet end to end."""
from __future__ import annotations

import json
import pickle

import jax
import pytest
from flax import nnx

from nas.evaluators import EvaluatorSpec, SupernetAccuracyEvaluator
from nas.search_spaces import get_space

SPACE = get_space("fashion_mnist")


@pytest.mark.slow
def test_accuracy_matches_evaluate_subnet(tiny_dataset):
    from nas.train import SupernetScoring
    from nas.train.supernet import build_supernet, evaluate_subnet

    graphdef, state = nnx.split(build_supernet("fashion_mnist", 0))
    scoring = SupernetScoring.from_supernet(graphdef, state, tiny_dataset, bn_batches=2, batch_size=32,
                                            eval_batches=2)
    ev = SupernetAccuracyEvaluator(scoring())
    archs = [SPACE.largest(), SPACE.smallest()] + SPACE.sample(jax.random.key(0), 2)
    got = [r["accuracy"] for r in ev.evaluate(archs)]
    model = nnx.merge(graphdef, state)
    want = [evaluate_subnet(graphdef, state, model, a, tiny_dataset, batch_size=32, bn_batches=2) for a in archs]
    assert got == want  # one scoring, one data rule: the same numbers, not just close ones
    assert all(0.0 <= g <= 1.0 for g in got)
    # what a Ray pool ships: the builder pickles, and what it builds on the other side scores the same
    shipped = pickle.loads(pickle.dumps(scoring))
    assert [r["accuracy"] for r in EvaluatorSpec("fashion_mnist", ("accuracy",))(shipped).evaluate(archs)] == got


@pytest.mark.slow
def test_stage2_on_trained_supernet(tiny_dataset, tmp_path):
    from nas.config import ExperimentConfig, SearchConfig, SupernetConfig
    from nas.errors import InputError
    from nas.pipeline.search import run_stage
    from nas.train import train_supernet

    cfg = ExperimentConfig(name="tiny", space="fashion_mnist",
                           supernet=SupernetConfig(batch_size=32, max_steps=2, num_random_subnets=0,
                                                   bn_recalibration_batches=2),
                           search=SearchConfig(population=4, generations=2, objectives=["accuracy", "flops"],
                                               budgets={"flops": 2e7}, eval_batches=2, profiles=["analytic"]))
    with pytest.raises(InputError, match="no trained supernet"):
        run_stage(cfg, tmp_path, dataset=tiny_dataset)
    train_supernet(cfg.space, cfg.supernet, cfg.data, tmp_path, tiny_dataset, progress=False)
    res = run_stage(cfg, tmp_path, dataset=tiny_dataset)["analytic"]
    assert res.evaluations == 8 and res.front
    assert all(0 <= r["accuracy"] <= 1 and r["flops"] <= 2e7 for r in res.front)
    acc_cache = list((tmp_path / "search").glob("accuracy_*.jsonl"))
    # one line per distinct subnet evaluated, plus the hand design (scored after the search)
    space = get_space("fashion_mnist")
    lines = acc_cache[0].read_text().splitlines()
    archs = [space.canonical(space.from_json(json.loads(line)["arch"])) for line in lines]
    hand = space.canonical(space.hand_designed())
    assert len(acc_cache) == 1 and len(set(archs)) == len(archs) and hand in archs
    assert len(archs) == 8 + (hand not in archs[:8])
    # a second profile reuses every accuracy already computed
    again = run_stage(cfg, tmp_path, profiles=["analytic2"], dataset=tiny_dataset)["analytic2"]
    assert [r["accuracy"] for r in again.history] == [r["accuracy"] for r in res.history]
    assert len(acc_cache[0].read_text().splitlines()) == len(lines)
