"""The shipped cluster experiments run at smoke size in their documented mode, as users run them:
`experiments/tools/local_cluster.sh` starts a two-node Ray cluster with `ray start` (head and a
worker node, docs/cluster.md) and launches `nas run EXPERIMENT --smoke` as two JAX processes
(JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID); the supernet trains on both,
the search's supernet-accuracy evaluations run on Ray actors of both nodes, final training runs
as a Ray Tune trial, then export and report.

- `imagenet_ofa`: a streamed ImageNet-layout folder of JPEGs of mixed sizes and modes (greyscale,
  CMYK, RGBA PNG, a PNG named `.JPEG`, a truncated file), training at two resolutions drawn
  within the steps (one compiled step per resolution on every process); the same command again
  finds every stage complete.
- `cifar10`: synthetic CIFAR-10 prepared as the TFDS array_record files the config reads; both
  processes are killed with SIGKILL in stage 1 and started again (`KILL_AT`), and the run ends
  with the same `summary.json` as an uninterrupted one.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nas.data.imagefolder import write_synthetic_image_folder
from nas.data.stream import step_resolution

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster")]
ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "experiments" / "tools" / "local_cluster.sh"
# XLA's cheapest CPU compilation: the two-process steps are compiled on every run (a test setting
# of this machine, not of the experiment)
XLA_FLAGS = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"


def local_cluster(workdir: Path, experiment: str, *args: str, kill_at: str = "", timeout: float = 1800):
    env = {**os.environ, "BIN": str(Path(sys.executable).parent), "XLA_FLAGS": XLA_FLAGS,
           "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "KILL_AT": kill_at}
    proc = subprocess.run(["bash", str(SCRIPT), str(workdir), experiment, *args], cwd=workdir.parent, env=env,
                          capture_output=True, text=True, timeout=timeout)
    logs = "".join(Path(f"{workdir}.process{i}.log").read_text() for i in (0, 1)
                   if Path(f"{workdir}.process{i}.log").exists())
    assert proc.returncode == 0 and "local_cluster: ok" in proc.stderr, proc.stderr[-3000:] + logs[-6000:]
    return logs


def read(path: Path):
    return json.loads(path.read_text())


def check_run(wd: Path, space: str) -> dict:
    """The report and summary of a finished run; every export checked against JAX; the search's
    supernet accuracies computed by actors on both Ray nodes."""
    summary = read(wd / "summary.json")
    assert summary["space"] == space
    for a in summary["architectures"]:
        assert 0.0 <= a["test_accuracy"] <= 1.0
        assert read(wd / a["export"] / "onnx_check.json")["max_abs_diff"] <= 1e-3
    assert (wd / "report" / "index.html").is_file()
    nodes = {}
    for result in (wd / "search").glob("*/result.json"):
        for node, n in read(result)["accuracy_nodes"].items():
            nodes[node] = nodes.get(node, 0) + n
    assert len(nodes) == 2 and all(n > 0 for n in nodes.values()), nodes  # actors of both nodes served
    supernet = read(wd / "supernet" / "result.json")
    assert supernet["result"]["steps"] >= 2
    return summary


def comparable(summary: dict) -> dict:
    """The summary without the latencies measured on this machine (timings vary run to run)."""
    for a in summary["architectures"]:
        a["deployed"].pop("latency_ms_here", None)
    return summary


def test_imagenet_ofa_two_processes_two_ray_nodes_streamed_two_resolutions(tmp_path):
    data = write_synthetic_image_folder(tmp_path / "imagenet", num_classes=4, per_class=6, test_per_class=2,
                                        sizes=(60, 300))
    bad = sorted((data / "train").rglob("*.JPEG"))[3]
    bad.write_bytes(bad.read_bytes()[:100])  # a truncated JPEG: skipped and reported
    wd = tmp_path / "run"
    logs = local_cluster(wd, "imagenet_ofa", "--smoke", "--set", f"data.path={data}")
    assert bad.name in logs and "skipped" in logs
    summary = check_run(wd, "ofa_mbv3")
    supernet = read(wd / "supernet" / "result.json")
    fp, steps = supernet["fingerprint"], supernet["result"]["steps"]
    assert fp["resolutions"] == [128, 160] and fp["input_shape"] == [160, 160, 3]
    assert {step_resolution(fp["resolutions"], fp["supernet"]["seed"], s) for s in range(steps)} == {128, 160}
    metrics = [json.loads(line) for line in (wd / "supernet" / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["step"] == steps and metrics[-1]["resolution"] in (128, 160)
    searched = [a for a in summary["architectures"] if a["kind"] == "searched"]
    assert searched and all(a["training"]["steps"] == 1 for a in searched)
    # the same command again finds every stage complete
    before = (wd / "supernet" / "result.json").read_bytes(), (wd / "chosen.json").read_bytes()
    local_cluster(wd, "imagenet_ofa", "--smoke", "--set", f"data.path={data}", timeout=900)
    assert ((wd / "supernet" / "result.json").read_bytes(), (wd / "chosen.json").read_bytes()) == before


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


def test_cifar10_every_host_killed_in_stage_1_resumes_to_the_uninterrupted_summary(tmp_path):
    _synthetic_cifar10(tmp_path / "tfds")
    args = ("--smoke", "--set", f"data.path={tmp_path / 'tfds'}")
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    local_cluster(whole, "cifar10", *args)
    logs = local_cluster(killed, "cifar10", *args, kill_at="supernet/checkpoints/1")
    assert logs.count("stage 1/4") == 2  # process 0 started twice (its log is appended to)
    resumed = read(killed / "supernet" / "result.json")["result"]
    assert resumed["resumed_from"] >= 1  # stage 1 was interrupted and continued from its checkpoint
    assert comparable(check_run(killed, "cifar_mbv3")) == comparable(check_run(whole, "cifar_mbv3"))


# a space of one's own, written in a file: RGB, two elastic stages, one of them with elastic width
OWN_SPACE = """
name: own_rgb
family: elastic_mbconv
description: a user's space for the multi-host rehearsal
input_channels: 3
num_classes: 10
stem: {width: 8, stride: 2}
first_block: {width: 8}
stages:
  - {width: 16, stride: 2, act: relu, se: false}
  - {width: 24, stride: 2, act: hswish, se: true, widths: [16, 24], kernels: [3, 5]}
kernels: [3]
expands: [2, 3]
depths: [1, 2]
resolutions: [128, 160]
head: {final_width: 32, feature_width: 0}
"""


def test_a_space_written_in_a_file_runs_multi_host_with_the_ray_search(tmp_path):
    """`nas run imagenet_ofa --smoke --set space=own.yaml`: two JAX processes train the supernet of
    a user's declared space (elastic width included) on streamed data at two resolutions, both Ray
    nodes' actors score the search from the declaration config.json records."""
    data = write_synthetic_image_folder(tmp_path / "imagenet", num_classes=3, per_class=6, test_per_class=2,
                                        sizes=(60, 200))
    space = tmp_path / "own.yaml"
    space.write_text(OWN_SPACE)
    wd = tmp_path / "run"
    local_cluster(wd, "imagenet_ofa", "--smoke", "--set", f"data.path={data}", "--set", f"space={space}",
                  "--set", "search.budgets.flops=1e9", "--set", "search.budgets.latency_ms=1e3")
    check_run(wd, "own_rgb")
    cfg = read(wd / "config.json")
    assert cfg["space_def"]["num_classes"] == 3 and cfg["space_def"]["stages"][1]["widths"] == [16, 24]
    assert read(wd / "supernet" / "result.json")["fingerprint"]["space_declaration"]
