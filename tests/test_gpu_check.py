"""experiments/tools/gpu_check.sh end to end in its CPU-sized mode (``--tiny``): every part runs
and prints its line, and the cifar_mbv3 loss falls. On a GPU the same script runs at full size."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from experiments.benchmarks.gpu_check import peak_of

ROOT = Path(__file__).resolve().parent.parent


def test_peak_table():
    assert peak_of("NVIDIA H100 80GB HBM3") == ("H100 SXM", 66.9, 494.7, 989.4)
    assert peak_of("NVIDIA H100 PCIe")[0] == "H100 PCIe"
    assert peak_of("NVIDIA A100-SXM4-80GB")[0] == "A100" and peak_of("NVIDIA A10")[0] == "A10"
    assert peak_of("TPU v5 lite")[0] == "TPU v5e" and peak_of("cpu") is None


@pytest.mark.slow
def test_gpu_check_tiny_runs_end_to_end():
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "GPU_CHECK_TINY": "1",  # XLA's cheapest CPU compilation:
           "XLA_FLAGS": "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true",
           "JAX_COMPILATION_CACHE_DIR": os.environ.get("JAX_COMPILATION_CACHE_DIR", str(ROOT / ".cache" / "jax"))}
    out = subprocess.run([str(ROOT / "experiments" / "tools" / "gpu_check.sh")], env=env, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    lines = {line.split(":", 1)[0]: line for line in out.stdout.splitlines() if ":" in line}
    assert "platform cpu" in lines["devices"] and "[tiny mode]" in lines["devices"]
    sandwich = next(k for k in lines if k.startswith("ofa_mbv3 sandwich step (") and not k.endswith("flops"))
    assert sandwich == "ofa_mbv3 sandwich step (4 subnets, distillation)"  # imagenet_ofa: largest, smallest, 2 random
    for name in (sandwich, "ofa_mbv3 largest static"):
        assert re.search(r"batch 2 at 32x32 px, [\d.]+ s/step, [\d.]+ img/s", lines[name])
        flops = float(re.search(r"XLA cost analysis ([\d.]+) GFLOP/step", lines[f"{name} flops"]).group(1))
        assert flops > 0 and "peak of 'cpu' not in the table" in lines[f"{name} flops"]
    assert re.search(r"stream pipeline: [\d.]+ img/s", lines["stream pipeline"])
    m = re.search(r"loss ([\d.]+) at step \d+ -> ([\d.]+) at step 40 \(falls\)", lines["cifar_mbv3 training"])
    assert m and float(m.group(2)) < float(m.group(1))
    assert lines["gpu_check"].startswith("gpu_check: ok")


def test_gpu_check_refuses_a_cpu_without_tiny():
    from experiments.benchmarks.gpu_check import main

    assert main([]) == 2  # this machine has no accelerator
