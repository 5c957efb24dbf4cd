"""Training throughput on this machine: sandwich supernet step vs the extracted largest subnet
alone (JAX) vs the same network in PyTorch, same batch and optimizer, measured in one run.

    python -m experiments.benchmarks.train_throughput [--batch 128] [--steps 8] [--out docs/benchmarks/training.md]

Each row times ``--steps`` optimizer steps after ``--warmup`` untimed ones (compilation
excluded) on random Fashion-MNIST-shaped uint8 batches and reports images per second (an image
counts once per step, however many subnets see it). Optimizer everywhere: SGD, Nesterov
momentum 0.9, weight decay 3e-5 on kernels, label smoothing 0.1, BatchNorm in train mode;
JAX steps include augmentation (crop + flip) on device, PyTorch gets pre-normalised tensors.
Ratios in the table come from this one run. Needs ``torch`` (CPU build) for the last row.
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from nas.config import load_experiment
from nas.search_spaces import arch_stats, get_space
from nas.search_spaces.extract import extract_subnet
from nas.search_spaces.layers import ConvBlock, Dense, GlobalPool, MBConv
from nas.search_spaces.supernet import Supernet
from nas.train import make_optimizer, make_train_step, split_model, static_forward, subnet_sampler, supernet_forward
from nas.train.forward import no_arch


def compiled_train_step(model, forward, sample, images, labels, *, num_classes: int = 10,
                        mean=(0.286,), std=(0.353,)):
    """``(compiled, state)``: the shared train step (distillation on when K > 1) compiled ahead of
    time for these batches, and its first ``(params, rest, opt_state)``; ``compiled.cost_analysis()``
    gives XLA's FLOP count of one step."""
    graphdef, params, rest = split_model(model)
    params, rest = jax.tree.map(lambda a: a.copy(), (params, rest))  # the step donates its inputs
    opt = make_optimizer(3e-5)
    k = jax.tree.leaves(sample(0))[0].shape[0]
    step = make_train_step(graphdef, forward, opt, num_classes=num_classes, label_smoothing=0.1, distill=k > 1,
                           augment=True, mean=mean, std=std)
    state = (params, rest, opt.init(params))
    return step.lower(*state, images, labels, sample(0), jax.random.key(0), np.float32(0.05)).compile(), state


def time_compiled(step, state, sample, images, labels, steps: int, warmup: int) -> float:
    """Seconds per step of ``step`` over ``steps`` steps after ``warmup`` untimed ones."""
    for i in range(warmup + steps):
        if i == warmup:
            jax.block_until_ready(state)
            t0 = time.perf_counter()
        *state, out = step(*state, images, labels, sample(i), jax.random.key(i), np.float32(0.05))
    jax.block_until_ready(out)
    return (time.perf_counter() - t0) / steps


def time_jax(model, forward, sample, images, labels, steps: int, warmup: int, **step_options) -> float:
    """Seconds per step of the shared train step (``step_options``: of :func:`compiled_train_step`)."""
    step, state = compiled_train_step(model, forward, sample, images, labels, **step_options)
    return time_compiled(step, state, sample, images, labels, steps, warmup)


def torch_net(spec):
    """The NetSpec as a torch.nn.Sequential (same layers, symmetric k//2 padding)."""
    import torch.nn as tnn

    acts = {"relu": tnn.ReLU, "hswish": tnn.Hardswish, "none": tnn.Identity}

    class SE(tnn.Module):
        def __init__(self, c, s):
            super().__init__()
            self.f = tnn.Sequential(tnn.AdaptiveAvgPool2d(1), tnn.Conv2d(c, s, 1), tnn.ReLU(),
                                    tnn.Conv2d(s, c, 1), tnn.Hardsigmoid())

        def forward(self, x):
            return x * self.f(x)

    class Block(tnn.Module):
        def __init__(self, c_in, b):
            super().__init__()
            layers = []
            if b.expand:
                layers += [tnn.Conv2d(c_in, b.mid, 1, bias=False), tnn.BatchNorm2d(b.mid), acts[b.act]()]
            layers += [tnn.Conv2d(b.mid, b.mid, b.kernel, b.stride, b.kernel // 2, groups=b.mid, bias=False),
                       tnn.BatchNorm2d(b.mid), acts[b.act]()]
            if b.se_mid:
                layers.append(SE(b.mid, b.se_mid))
            layers += [tnn.Conv2d(b.mid, b.c_out, 1, bias=False), tnn.BatchNorm2d(b.c_out)]
            self.f, self.residual = tnn.Sequential(*layers), b.stride == 1 and c_in == b.c_out

        def forward(self, x):
            return x + self.f(x) if self.residual else self.f(x)

    mods, c = [], spec.input_shape[2]
    for b in spec.blocks:
        if isinstance(b, ConvBlock):
            mods += [tnn.Conv2d(c, b.c_out, b.kernel, b.stride, b.kernel // 2, bias=False),
                     tnn.BatchNorm2d(b.c_out), acts[b.act]()]
        elif isinstance(b, MBConv):
            mods.append(Block(c, b))
        elif isinstance(b, GlobalPool):
            mods += [tnn.AdaptiveAvgPool2d(1), tnn.Flatten()]
            continue
        elif isinstance(b, Dense):
            mods += [tnn.Linear(c, b.c_out), acts[b.act]()]
        c = b.c_out
    return tnn.Sequential(*mods)


def time_torch(spec, batch: int, steps: int, warmup: int) -> float:
    import torch

    net = torch_net(spec).train()
    decay = [p for p in net.parameters() if p.ndim >= 2]
    other = [p for p in net.parameters() if p.ndim < 2]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 3e-5}, {"params": other, "weight_decay": 0.0}],
                          lr=0.05, momentum=0.9, nesterov=True)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    x = torch.randn(batch, spec.input_shape[2], *spec.input_shape[:2])
    y = torch.randint(0, 10, (batch,))
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        opt.step()
    return (time.perf_counter() - t0) / steps


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--out", default="docs/benchmarks/training.md")
    args = ap.parse_args(argv)
    cfg = load_experiment("fashion_mnist")
    space = get_space(cfg.space)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.batch, 28, 28, 1), dtype=np.uint8)
    labels = rng.integers(0, 10, (args.batch,)).astype(np.int32)
    supernet = Supernet(space, rngs=nnx.Rngs(0))
    k = 2 + cfg.supernet.num_random_subnets
    rows = []
    t = time_jax(supernet, supernet_forward, subnet_sampler(supernet, space, cfg.supernet.num_random_subnets, 0),
                 images, labels, args.steps, args.warmup)
    rows.append((f"JAX sandwich step, masked supernet ({k} subnets/step, distillation)", t))
    static = extract_subnet(supernet, space.largest())
    t = time_jax(static, static_forward, lambda i: no_arch(1), images, labels, args.steps, args.warmup)
    rows.append(("JAX extracted largest subnet alone (StaticNet)", t))
    try:
        import torch

        torch.manual_seed(0)
        t = time_torch(space.net_spec(space.largest()), args.batch, args.steps, args.warmup)
        rows.append((f"PyTorch {torch.__version__} same network, eager ({torch.get_num_threads()} threads)", t))
    except ImportError:
        rows.append(("PyTorch (not installed)", float("nan")))
    base = rows[1][1]
    lines = [
        "# Training throughput (CPU)", "",
        f"Command: `python -m experiments.benchmarks.train_throughput --batch {args.batch} --steps {args.steps} "
        f"--warmup {args.warmup}`  ",
        f"Machine: {platform.processor() or platform.machine()}, {jax.device_count()} JAX device(s) "
        f"({jax.devices()[0].platform}), jax {jax.__version__}. Largest subnet: "
        f"{arch_stats(space.largest()).flops / 1e6:.1f} MFLOPs/image forward.  ",
        f"Batch {args.batch}, SGD-Nesterov + weight decay + label smoothing; {args.steps} timed steps after "
        f"{args.warmup} warm-up steps (compilation excluded). An image counts once per step.", "",
        "| training step | s/step | images/s | time vs extracted JAX net |", "|---|---:|---:|---:|",
    ]
    for name, t in rows:
        lines.append(f"| {name} | {t:.3f} | {args.batch / t:.1f} | {t / base:.2f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = out.read_text() if out.exists() else ""
    notes = previous.split("\n## ", 1)[1] if "\n## " in previous else ""
    out.write_text(text + ("\n## " + notes if notes else ""))


if __name__ == "__main__":
    main()
