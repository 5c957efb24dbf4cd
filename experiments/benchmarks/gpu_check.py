"""GPU check: is this accelerator ready for jaxnas, and how fast is it? One run, under 8 minutes.

    python -m experiments.benchmarks.gpu_check [--tiny] [--batch 128] [--resolution 224]
    experiments/tools/gpu_check.sh [--tiny]          # the same (GPU_CHECK_TINY=1 for --tiny)

Prints, one ``name: value`` line each (the test reads them):

1. ``devices``: ``jax.devices()`` and the device kind;
2. ``ofa_mbv3 sandwich step`` and ``ofa_mbv3 largest static``: training throughput at 224 px
   of the masked supernet's sandwich step (largest, smallest and ``imagenet_ofa``'s random
   subnets, distillation) and of the extracted largest subnet alone, both through the shared
   train step (:func:`experiments.benchmarks.train_throughput.compiled_train_step`): images/s
   and XLA's FLOP count of the compiled step (``compiled.cost_analysis()``) per second, as a
   share of the device's peak (:data:`PEAK_TFLOPS`). XLA counts a while loop's body once, so
   the sandwich step's count is multiplied by its number of subnets (their ``lax.scan``) when
   the compiled step still has a loop; the line shows the loop count. The steps run in float32 (parameters,
   activations, optimizer) at XLA's default precision, which on NVIDIA Ampere/Hopper GPUs lets
   convolutions and matmuls use TF32 tensor cores and on TPUs bfloat16 passes: the share is
   given against that peak and, on NVIDIA GPUs, against the plain fp32 peak too;
3. ``stream pipeline``: images/s of the streaming input pipeline (:mod:`nas.data.stream`,
   random-resized crops at 224 from a generated JPEG folder,
   :mod:`experiments.benchmarks.data_pipeline` in a child process);
4. ``cifar_mbv3 training``: 300 steps of the ``cifar_mbv3`` space's largest network through
   :func:`nas.train.train_static` on generated 32x32 images; its first and last logged loss.
   The check fails (exit status 1) when the loss does not fall.

``--tiny`` shrinks batch, resolution, steps and image counts so the whole check runs on a CPU
in a few minutes (``tests/test_gpu_check.py``); without it, a run that finds no accelerator
stops with exit status 2.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

# (device kind substring, label, dense TFLOP/s: fp32 without tensor cores, tf32, bf16); first match wins
PEAK_TFLOPS = [
    ("H100 PCIe", "H100 PCIe", 51.2, 378.0, 756.0),
    ("H100 NVL", "H100 NVL", 60.0, 417.5, 835.0),
    ("H100", "H100 SXM", 66.9, 494.7, 989.4),
    ("H200", "H200", 66.9, 494.7, 989.4),
    ("A100", "A100", 19.5, 156.0, 312.0),
    ("L40S", "L40S", 91.6, 183.0, 362.0),
    ("L4", "L4", 30.3, 60.0, 121.0),
    ("A10", "A10", 31.2, 62.5, 125.0),
    ("V100", "V100", 15.7, None, 125.0),  # no TF32: float32 runs on the CUDA cores
    ("TPU v4", "TPU v4", None, None, 275.0),
    ("TPU v5 lite", "TPU v5e", None, None, 197.0),
    ("TPU v5", "TPU v5p", None, None, 459.0),
    ("TPU v6 lite", "TPU v6e", None, None, 918.0),
]


@dataclass
class Sizes:
    batch: int
    resolution: int
    steps: int  # timed training steps
    warmup: int
    stream_images: int
    stream_resolution: int
    stream_batch: int
    stream_steps: int
    cifar_steps: int
    cifar_batch: int


FULL = Sizes(batch=128, resolution=224, steps=10, warmup=2, stream_images=3000, stream_resolution=224,
             stream_batch=128, stream_steps=15, cifar_steps=300, cifar_batch=128)
TINY = Sizes(batch=2, resolution=32, steps=1, warmup=1, stream_images=300, stream_resolution=64,
             stream_batch=16, stream_steps=3, cifar_steps=40, cifar_batch=16)


def peak_of(device_kind: str) -> tuple[str, float | None, float | None, float | None] | None:
    """``(label, fp32, tf32, bf16)`` dense TFLOP/s of a device kind, None when not in the table."""
    for key, *row in PEAK_TFLOPS:
        if key.lower() in device_kind.lower():
            return tuple(row)
    return None


def peak_share(flops_per_s: float, device) -> str:
    """The achieved rate as a share of the device's peak for the precision the step runs in."""
    peak = peak_of(device.device_kind)
    if peak is None:
        return f"peak of {device.device_kind!r} not in the table"
    label, fp32, tf32, bf16 = peak
    if device.platform == "tpu":
        return f"{100 * flops_per_s / (bf16 * 1e12):.1f}% of {label} bf16 peak {bf16:g} TFLOP/s"
    parts = []
    if tf32:
        parts.append(f"{100 * flops_per_s / (tf32 * 1e12):.1f}% of {label} TF32 dense peak {tf32:g} TFLOP/s")
    parts.append(f"{100 * flops_per_s / (fp32 * 1e12):.1f}% of its fp32 peak {fp32:g} TFLOP/s")
    return ", ".join(parts)


def step_flops(compiled) -> float:
    """XLA's FLOP count of one call of a compiled function (0 when it gives none)."""
    cost = compiled.cost_analysis()
    if isinstance(cost, (list, tuple)):  # older JAX: one dict per computation
        cost = cost[0] if cost else {}
    return float((cost or {}).get("flops", 0.0))


def training_throughput(sizes: Sizes) -> None:
    """The sandwich step of the ofa_mbv3 supernet and the extracted largest subnet's step."""
    import jax
    from flax import nnx

    from experiments.benchmarks.train_throughput import compiled_train_step, time_compiled
    from nas.config import load_experiment
    from nas.search_spaces import get_space
    from nas.search_spaces.cost import net_stats
    from nas.search_spaces.extract import extract_subnet
    from nas.search_spaces.supernet import Supernet
    from nas.train import static_forward, subnet_sampler, supernet_forward
    from nas.train.forward import no_arch

    space, cfg = get_space("ofa_mbv3"), load_experiment("imagenet_ofa")
    rng = np.random.default_rng(0)
    b, r = sizes.batch, sizes.resolution
    images = rng.integers(0, 256, (b, r, r, 3), dtype=np.uint8)
    labels = rng.integers(0, space.cfg.num_classes, (b,)).astype(np.int32)
    options = {"num_classes": space.cfg.num_classes, "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
    supernet = Supernet(space, rngs=nnx.Rngs(0))
    k = 2 + cfg.supernet.num_random_subnets
    spec = space.net_spec(space.largest())
    largest_flops = net_stats(dataclasses.replace(spec, input_shape=(r, r, spec.input_shape[2]))).flops
    cases = [(f"ofa_mbv3 sandwich step ({k} subnets, distillation)", supernet, supernet_forward,
              subnet_sampler(supernet, space, cfg.supernet.num_random_subnets, 0), k),
             ("ofa_mbv3 largest static", extract_subnet(supernet, space.largest()), static_forward,
              lambda i: no_arch(1), 1)]
    device = jax.devices()[0]
    for name, model, forward, sample, n_subnets in cases:
        t0 = time.perf_counter()
        step, state = compiled_train_step(model, forward, sample, images, labels, **options)
        compile_s = time.perf_counter() - t0
        flops = step_flops(step)
        loops = step.as_text().count(" while(")
        if loops and n_subnets > 1:  # XLA counts a loop's body once: the K subnets run in a lax.scan
            flops *= n_subnets
        seconds = time_compiled(step, state, sample, images, labels, sizes.steps, sizes.warmup)
        # the masked supernet computes every subnet at the largest one's shapes: 3x forward each
        model_flops = 3 * n_subnets * largest_flops * b
        print(f"{name}: batch {b} at {r}x{r} px, {seconds:.4f} s/step, {b / seconds:.1f} img/s, "
              f"compiled in {compile_s:.1f} s", flush=True)
        scaled = f", x{n_subnets} for the scan over subnets" if loops and n_subnets > 1 else ""
        print(f"{name} flops: XLA cost analysis {flops / 1e9:.2f} GFLOP/step ({loops} while loops in the "
              f"compiled step, each body counted once{scaled}; cost model, 3x forward of the largest per subnet: "
              f"{model_flops / 1e9:.2f}), {flops / seconds / 1e12:.3f} TFLOP/s, "
              f"{peak_share(flops / seconds, device)}", flush=True)


def stream_throughput(sizes: Sizes, workdir: str) -> None:
    """The streaming pipeline's images/s on a generated JPEG folder, measured in a child process."""
    from experiments.benchmarks.data_pipeline import generate

    root = os.path.join(workdir, "jpegs")
    t0 = time.perf_counter()
    generate(root, sizes.stream_images)
    gen_s = time.perf_counter() - t0
    workers = max(1, min(8, (os.cpu_count() or 2) // 2))
    env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}  # this process holds the GPU already
    out = subprocess.run([sys.executable, "-m", "experiments.benchmarks.data_pipeline", "measure", root,
                          "--workers", str(workers), "--steps", str(sizes.stream_steps), "--batch",
                          str(sizes.stream_batch), "--resolution", str(sizes.stream_resolution)],
                         env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"stream pipeline measurement failed:\n{out.stderr[-2000:]}")
    m = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"stream pipeline: {m['images_per_s']} img/s ({m['images_per_s_per_worker']} per worker, {workers} "
          f"workers, batch {m['batch']} at {m['resolution']} px, {m['train_images']} training JPEGs generated "
          f"in {gen_s:.1f} s)", flush=True)


def learnable_images(n: int, res: int, num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 ``[n, res, res, 3]`` images whose class is their mean colour, under noise; int32 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, n).astype(np.int32)
    palette = np.random.default_rng(1234).integers(30, 226, (num_classes, 3))
    noise = rng.normal(0.0, 40.0, (n, res, res, 3))
    return np.clip(palette[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8), labels


def cifar_training(sizes: Sizes, workdir: str) -> bool:
    """Train cifar_mbv3's largest network on generated data; print first/last loss; True if it fell."""
    from nas.config import FinalConfig
    from nas.data import make_dataset
    from nas.search_spaces import get_space
    from nas.train import train_static

    space = get_space("cifar_mbv3")
    res = space.net_spec(space.largest()).input_shape[0]
    n = max(1024, 4 * sizes.cifar_batch)
    dataset = make_dataset("generated", learnable_images(n, res, 10, 0), learnable_images(256, res, 10, 1),
                           num_classes=10, val_size=256, seed=0)
    final = FinalConfig(epochs=1000.0, max_steps=sizes.cifar_steps, batch_size=sizes.cifar_batch, learning_rate=0.05)
    d = os.path.join(workdir, "cifar_mbv3")
    info = train_static(space.net_spec(space.largest()), final, dataset, d, augment=False, progress=False,
                        checkpoint_every=10**9, name="cifar_mbv3")
    with open(os.path.join(d, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if '"loss"' in line]
    (s0, first), (s1, last) = (rows[0]["step"], rows[0]["loss"]), (rows[-1]["step"], rows[-1]["loss"])
    fell = first is not None and last is not None and last < 0.9 * first
    print(f"cifar_mbv3 training: {info['steps']} steps, batch {sizes.cifar_batch}, loss {first:.4f} at step {s0} "
          f"-> {last:.4f} at step {s1} ({'falls' if fell else 'DOES NOT FALL'}), {info['images_per_s']:.0f} img/s, "
          f"validation accuracy {100 * info['val_acc']:.1f}%", flush=True)
    return fell


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", default=os.environ.get("GPU_CHECK_TINY", "") not in ("", "0"),
                   help="CPU-sized run (small batch, resolution and step counts); also GPU_CHECK_TINY=1")
    p.add_argument("--batch", type=int, help="ofa_mbv3 training batch (128; tiny 2)")
    p.add_argument("--resolution", type=int, help="ofa_mbv3 training resolution (224; tiny 32)")
    args = p.parse_args(argv)
    sizes = TINY if args.tiny else FULL
    sizes = dataclasses.replace(sizes, batch=args.batch or sizes.batch, resolution=args.resolution or sizes.resolution)
    import jax

    t0 = time.perf_counter()
    devices = jax.devices()
    print(f"devices: {devices} (kind {devices[0].device_kind!r}, platform {devices[0].platform}, "
          f"jax {jax.__version__}){' [tiny mode]' if args.tiny else ''}", flush=True)
    if devices[0].platform == "cpu" and not args.tiny:
        print("gpu_check: error: no GPU or TPU found by JAX (install `.[cuda]` or `.[tpu]`; --tiny runs on a CPU)",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as workdir:
        training_throughput(sizes)
        stream_throughput(sizes, workdir)
        fell = cifar_training(sizes, workdir)
    print(f"gpu_check: {'ok' if fell else 'FAILED (loss did not fall)'} in {time.perf_counter() - t0:.0f} s")
    return 0 if fell else 1


if __name__ == "__main__":
    sys.exit(main())
