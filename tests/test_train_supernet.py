"""train_supernet / load_supernet: outputs, checkpoint guards, divergence (smoke config)."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx

from nas.config import load_experiment
from nas.data import load_dataset
from nas.errors import InputError
from nas.search_spaces import get_space
from nas.train import TrainingDiverged, evaluate_subnet, load_supernet, train_supernet

pytestmark = pytest.mark.slow  # every test here uses a supernet trained by a module fixture

SPACE = get_space("fashion_mnist")


def smoke_cfg(**supernet):
    cfg = load_experiment("fashion_mnist", smoke=True)
    for k, v in supernet.items():
        setattr(cfg.supernet, k, v)
    return cfg


def _train(cfg, workdir, dataset):
    return train_supernet(cfg.space, cfg.supernet, cfg.data, workdir, dataset, progress=False)


def _load(workdir, cfg, dataset):
    return load_supernet(workdir, cfg.space, cfg.supernet, cfg.data, dataset)


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(smoke_cfg().data)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dataset):
    workdir = tmp_path_factory.mktemp("supernet")
    cfg = smoke_cfg()
    return cfg, workdir, _train(cfg, workdir, dataset)


def test_train_supernet_writes_results_metrics_and_checkpoints(trained, dataset):
    cfg, workdir, res = trained
    d = workdir / "supernet"
    assert res["steps"] == cfg.supernet.max_steps and res["resumed_from"] == 0
    for k in ("val_acc_largest", "val_acc_smallest"):
        assert 0.0 <= res[k] <= 1.0
    rows = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == cfg.supernet.max_steps
    assert {"loss", "loss_subnet0", "loss_subnet2", "learning_rate", "img_per_s"} <= set(rows[-1])
    assert sorted(int(p.name) for p in (d / "checkpoints").iterdir() if p.name.isdigit()) == [2, 4]
    assert list((d / "tb").iterdir())
    # a finished run is not trained again
    assert _train(cfg, workdir, dataset) == res


def test_load_supernet_gives_the_trained_weights(trained, dataset):
    cfg, workdir, res = trained
    graphdef, state = _load(workdir, cfg, dataset)
    model = nnx.merge(graphdef, state)
    acc = evaluate_subnet(graphdef, state, model, SPACE.largest(), dataset,
                          batch_size=cfg.supernet.batch_size, bn_batches=cfg.supernet.bn_recalibration_batches)
    assert acc == pytest.approx(res["val_acc_largest"], abs=1e-6)
    fresh = jax.tree.leaves(nnx.state(type(model)(SPACE, rngs=nnx.Rngs(cfg.supernet.seed)), nnx.Param))
    trained_leaves = jax.tree.leaves(nnx.state(model, nnx.Param))
    assert any(not np.allclose(a, b) for a, b in zip(fresh, trained_leaves))


def test_mismatched_or_corrupt_checkpoint_is_refused_and_kept(trained, dataset, tmp_path):
    cfg, workdir, _ = trained
    before = tree_digest(workdir)
    with pytest.raises(InputError, match=r"supernet.learning_rate: 0.1 in checkpoint, 0.2 now"):
        _train(smoke_cfg(learning_rate=0.2), workdir, dataset)
    other = smoke_cfg()
    other.space = "ofa_mbv3"
    with pytest.raises(InputError, match=r"space: \"fashion_mnist\" in checkpoint, \"ofa_mbv3\" now"):
        _load(workdir, other, dataset)
    assert tree_digest(workdir) == before

    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy)
    (copy / "supernet" / "result.json").unlink()
    for f in (copy / "supernet" / "checkpoints" / "4" / "arrays").rglob("*"):
        if f.is_file() and f.stat().st_size > 0:
            f.write_bytes(b"\0garbage" * 3)
    before = tree_digest(copy)
    with pytest.raises(InputError, match=r"checkpoints/4: corrupt checkpoint"):
        _train(smoke_cfg(), copy, dataset)
    assert tree_digest(copy) == before


def test_divergence_stops_and_keeps_the_last_good_checkpoint(dataset, tmp_path):
    cfg = smoke_cfg(learning_rate=1e9, max_steps=8, checkpoint_every_steps=1)
    with pytest.raises(TrainingDiverged, match=r"loss diverged at step (\d+).*last good checkpoint: step (\d+)") as e:
        _train(cfg, tmp_path, dataset)
    import re

    bad, good = map(int, re.search(r"step (\d+).*step (\d+)", str(e.value)).groups())
    assert good == bad - 1
    steps = sorted(int(p.name) for p in (tmp_path / "supernet" / "checkpoints").iterdir() if p.name.isdigit())
    assert steps[-1] == good
    assert not (tmp_path / "supernet" / "result.json").exists()
    # the kept checkpoint restores, with finite weights
    _, state = _load(tmp_path, cfg, dataset)
    assert all(np.isfinite(np.asarray(v)).all() for v in jax.tree.leaves(state))
