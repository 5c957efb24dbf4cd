"""The ImageNet and CIFAR-10 experiment configs at smoke size, end to end through `nas run`, on data
made here: a folder of variable-size JPEGs in the ImageNet layout (streamed), and a synthetic
CIFAR-10 prepared as the TFDS array_record files the `cifar10` config reads (in memory)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nas.data.imagefolder import write_synthetic_image_folder

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]


def nas(*args, cwd=None, timeout=1500):
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    return subprocess.run([sys.executable, "-m", "nas.cli.main", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def _check_summary(wd: Path, space: str) -> dict:
    summary = json.loads((wd / "summary.json").read_text())
    assert summary["space"] == space
    for a in summary["architectures"]:
        assert 0.0 <= a["test_accuracy"] <= 1.0
        check = json.loads((wd / a["export"] / "onnx_check.json").read_text())
        assert check["max_abs_diff"] <= 1e-3
    assert (wd / "report" / "index.html").is_file()
    return summary


def test_imagenet_ofa_smoke_on_a_jpeg_folder(tmp_path):
    data = write_synthetic_image_folder(tmp_path / "imagenet", num_classes=4, per_class=6, test_per_class=2,
                                        sizes=(60, 300))
    bad = sorted((data / "train").rglob("*.JPEG"))[3]
    bad.write_bytes(bad.read_bytes()[:100])  # a truncated JPEG: skipped and reported
    wd = tmp_path / "run"
    proc = nas("run", "imagenet_ofa", "--smoke", "--workdir", str(wd), "--set", f"data.path={data}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert bad.name in proc.stderr and "skipped" in proc.stderr
    summary = _check_summary(wd, "ofa_mbv3")
    fp = json.loads((wd / "supernet" / "result.json").read_text())["fingerprint"]
    assert fp["resolutions"] == [128, 160] and fp["input_shape"] == [160, 160, 3]
    searched = [a for a in summary["architectures"] if a["kind"] == "searched"]
    assert searched and all(a["training"]["steps"] == 1 for a in searched)
    # a second run finds every stage complete
    again = nas("run", "imagenet_ofa", "--smoke", "--workdir", str(wd), "--set", f"data.path={data}",
                cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]


def _synthetic_cifar10(data_dir: Path) -> None:
    """32x32 RGB images and 10 labels written where `tfds.data_source("cifar10", data_dir)` reads them
    (the real builder's features and version, synthetic examples instead of the download)."""
    import tensorflow_datasets as tfds

    from tests.conftest import synthetic_images

    class SyntheticCifar10(tfds.builder_cls("cifar10"), skip_registration=True):
        name = "cifar10"

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(240, 0), "test": self._generate_examples(48, 1)}

        def _generate_examples(self, n, seed):
            x, y = synthetic_images(n, seed=seed, shape=(32, 32, 3))
            for i in range(n):
                yield i, {"id": f"{seed}_{i}", "image": x[i], "label": int(y[i])}

    SyntheticCifar10(data_dir=str(data_dir), file_format="array_record").download_and_prepare()


def test_cifar10_smoke_in_memory(tmp_path):
    _synthetic_cifar10(tmp_path / "tfds")
    from nas.config import DataConfig
    from nas.data import load_dataset

    ds = load_dataset(DataConfig(source="tfds", name="cifar10", path=str(tmp_path / "tfds"), val_size=40))
    assert not ds.streaming and ds.input_shape == (32, 32, 3) and ds.num_classes == 10  # small: in memory
    assert ds.train.images.dtype == np.uint8 and len(ds.train) == 200
    wd = tmp_path / "run"
    proc = nas("run", "cifar10", "--smoke", "--workdir", str(wd), "--set", f"data.path={tmp_path / 'tfds'}",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_summary(wd, "cifar_mbv3")
