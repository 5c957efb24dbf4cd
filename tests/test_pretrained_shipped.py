"""The supernet shipped with the package (``supernet.init="pretrained:fashion_mnist"``, what
``make demo`` searches): it is found by name, verified like any checkpoint, restores unchanged,
its subnets are trained (not random) networks (tests/test_packaging.py: a built wheel carries it)."""
import json
from pathlib import Path

import pytest

from nas.errors import InputError
from nas.files import folder_digest
from nas.pretrained.init import SHIPPED_DIR, describe_source, load_source, resolve_init, shipped_supernets

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = SHIPPED_DIR / "fashion_mnist"


def test_the_demo_supernet_is_shipped_and_verified():
    assert "fashion_mnist" in shipped_supernets()
    assert resolve_init("pretrained:fashion_mnist") == SHIPPED
    src = describe_source("pretrained:fashion_mnist")
    rec = json.loads((SHIPPED / "result.json").read_text())
    assert src["format"] == "jaxnas" and src["name"] == "pretrained:fashion_mnist"
    assert src["sha256"] == rec["checksums"]["checkpoint"] == folder_digest(
        SHIPPED / "checkpoints" / str(rec["checksums"]["checkpoint_step"]))
    assert rec["fingerprint"]["space"] == "fashion_mnist"
    assert [p.name for p in (SHIPPED / "checkpoints").iterdir()] == [str(rec["checksums"]["checkpoint_step"])]


def test_unknown_shipped_name_is_one_clear_error():
    with pytest.raises(InputError, match=r"no shipped supernet 'nope' \(shipped: .*pretrained:fashion_mnist"):
        resolve_init("pretrained:nope")
    with pytest.raises(InputError, match="no such file or folder"):
        resolve_init("/nonexistent/supernet")


def test_shipped_supernet_restores_unchanged_and_its_subnets_are_trained():
    """Restoring reads the folder only; the largest and smallest subnets classify Fashion-MNIST
    validation images far above chance (a random supernet scores ~10%)."""
    from flax import nnx

    from nas.config import DataConfig
    from nas.data import load_dataset
    from nas.search_spaces import get_space
    from nas.train.supernet import evaluate_subnet

    before = folder_digest(SHIPPED)
    model, source = load_source("pretrained:fashion_mnist", "fashion_mnist")
    assert folder_digest(SHIPPED) == before and source["name"] == "pretrained:fashion_mnist"
    data = load_dataset(DataConfig(source="fashion_mnist", val_size=5000, seed=0, limit_train=512, limit_eval=512))
    graphdef, state = nnx.split(model)
    space = get_space("fashion_mnist")
    rec = json.loads((SHIPPED / "result.json").read_text())["result"]
    for name, arch in (("largest", space.largest()), ("smallest", space.smallest())):
        acc = evaluate_subnet(graphdef, state, model, arch, data, batch_size=128, bn_batches=4)
        assert acc >= 0.85, (name, acc)
        assert abs(acc - rec[f"val_acc_{name}"]) <= 0.04, (name, acc, rec[f"val_acc_{name}"])  # 512 of 5,000 images
