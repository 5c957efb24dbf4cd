"""nas.train.train_static: a static network trained with the shared loop, checkpoints, metrics."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nas.config import FinalConfig
from nas.search_spaces import arch_to_json, get_space
from nas.train import TrainingDiverged, train_static

SPACE = get_space("fashion_mnist")


@pytest.mark.slow
def test_train_static_learns_and_reuses_its_result(tiny_dataset, tmp_path):
    spec = SPACE.net_spec(SPACE.smallest())
    cfg = FinalConfig(epochs=8, batch_size=32, learning_rate=0.1)
    res = train_static(spec, cfg, tiny_dataset, tmp_path, seed=0, progress=False, checkpoint_every=20)
    assert res["steps"] == 8 * (len(tiny_dataset.train) // 32) and res["resumed_from"] == 0
    # the synthetic classes are easy: a trained network is far above chance (0.1)
    assert res["val_acc"] > 0.5, res
    assert 0.0 <= res["test_acc"] <= 1.0
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == res["steps"] and np.isfinite(rows[-1]["loss"])
    assert rows[0]["loss"] > rows[-1]["loss"]
    assert list((tmp_path / "tb").iterdir())
    again = train_static(spec, cfg, tiny_dataset, tmp_path, seed=0, progress=False)
    assert again == res


def test_train_static_divergence_stops_with_clear_error(tiny_dataset, tmp_path):
    spec = SPACE.net_spec(SPACE.smallest())
    cfg = FinalConfig(epochs=4, batch_size=32, learning_rate=1e9)
    with pytest.raises(TrainingDiverged, match=r"loss diverged at step \d+ .*lower final.learning_rate"):
        train_static(spec, cfg, tiny_dataset, tmp_path, seed=0, progress=False, checkpoint_every=1,
                     warmup_epochs=0.0)
    assert not (tmp_path / "result.json").exists()


def test_reference_models_train_for_baseline_epochs():
    from nas.config import load_experiment
    from nas.pipeline.final import Candidate, training_config

    cfg = load_experiment("fashion_mnist_long")
    ref = Candidate("mobilenet_v2_0.5", "reference", model="mobilenet_v2_0.5")
    searched = Candidate("searched_0", "searched", arch_to_json(get_space("fashion_mnist").largest()))
    assert cfg.final.baseline_epochs == cfg.supernet.epochs + cfg.final.epochs
    assert training_config(cfg, ref).epochs == cfg.final.baseline_epochs
    assert training_config(cfg, searched) is cfg.final
    cfg.final.baseline_epochs = 0.0  # unset: references train like everything else
    assert training_config(cfg, ref).epochs == cfg.final.epochs


def test_final_stage_augmentation_follows_data_unless_set():
    from nas.config import load_experiment
    from nas.pipeline.final import Candidate, _static_options, final_augment

    cfg = load_experiment("fashion_mnist")
    cand = Candidate("searched_0", "searched", arch_to_json(get_space("fashion_mnist").largest()))
    assert cfg.final.augment == "data" and final_augment(cfg) is cfg.data.augment is False
    cfg.data.augment = True
    assert final_augment(cfg) is True
    cfg.final.augment = "off"
    assert final_augment(cfg) is False and _static_options(cfg, cand)["augment"] is False
    cfg.data.augment, cfg.final.augment = False, "on"
    assert final_augment(cfg) is True and _static_options(cfg, cand)["augment"] is True
    # the long setting augments its final stage only: its supernet (trained without) is reused
    long_cfg = load_experiment("fashion_mnist_long")
    assert long_cfg.data.augment is False and final_augment(long_cfg) is True
