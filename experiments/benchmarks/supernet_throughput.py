"""Masked supernet vs extracted static network: throughput and achieved GFLOP/s.

``python -m experiments.benchmarks.supernet_throughput [--batch 256] [--reps 3] [--out PATH]``

In one process, on the fashion_mnist space's largest subnet: images/s of the forward pass
(eval mode) and of a train step (forward + backward + SGD update) for

* the masked supernet (cpu ops where the platform is CPU),
* the static network extracted from it, with cpu ops and with native (lax) convolutions,

and a dense float32 matmul as the machine's reference rate. GFLOP/s counts the cost model's
FLOPs (2 x MACs) per image; a train step is counted as 3x the forward FLOPs. Times are the
median of ``reps`` runs after one warm-up (compile) run. Writes a markdown table to
docs/benchmarks/supernet.md and prints it.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from nas.search_spaces import arch_stats, get_space
from nas.search_spaces.extract import extract_subnet
from nas.search_spaces.supernet import Supernet


def _median_time(fn, reps: int) -> float:
    jax.block_until_ready(fn())  # warm-up / compile
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(model, call, x, y, reps):
    """(forward seconds, train-step seconds) of ``model``; call(model, x, train) -> logits."""
    opt = nnx.Optimizer(model, optax.sgd(0.01), wrt=nnx.Param)

    @nnx.jit
    def forward(model, x):
        return call(model, x, False)

    @nnx.jit
    def train(model, opt, x, y):
        def loss_fn(m):
            return optax.softmax_cross_entropy_with_integer_labels(call(m, x, True), y).mean()
        loss, grads = nnx.value_and_grad(loss_fn)(model)
        opt.update(model, grads)
        return loss

    return (_median_time(lambda: forward(model, x), reps),
            _median_time(lambda: train(model, opt, x, y), reps))


def matmul_gflops(n: int = 1024, reps: int = 5) -> float:
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    f = jax.jit(jnp.dot)
    return 2 * n ** 3 / _median_time(lambda: f(a, b), reps) / 1e9


def run(batch: int = 256, reps: int = 3) -> str:
    space = get_space("fashion_mnist")
    arch = space.largest()
    flops = arch_stats(arch).flops  # per image, forward
    supernet = Supernet(space, rngs=nnx.Rngs(0))
    a = supernet.arch_arrays(arch)
    x = jax.random.normal(jax.random.key(2), (batch, 28, 28, 1))
    y = jax.random.randint(jax.random.key(3), (batch,), 0, 10)
    ref = matmul_gflops()
    cases = [("masked supernet (cpu ops)", supernet, lambda m, x, t: m(x, a, train=t))]
    for backend in ("cpu", "native"):
        cases.append((f"extracted static ({backend} ops)", extract_subnet(supernet, arch, backend=backend),
                      lambda m, x, t: m(x, train=t)))
    results = {}
    for name, model, call in cases:
        # native depthwise convs are dense on CPU: time them once to keep the run short
        n = 1 if "native" in name and jax.default_backend() == "cpu" else reps
        t_fwd, t_train = measure(model, call, x, y, n)
        results[name] = (t_fwd, t_train)
        print(f"{name}: forward {t_fwd * 1e3:.1f} ms, train step {t_train * 1e3:.1f} ms", flush=True)
    base_fwd, base_train = results["extracted static (cpu ops)"]
    lines = [
        f"# Supernet throughput (fashion_mnist largest subnet, batch {batch})", "",
        f"Command: `python -m experiments.benchmarks.supernet_throughput --batch {batch} --reps {reps}`",
        f"Device: {jax.devices()[0].device_kind} ({jax.default_backend()}), "
        f"{platform.processor() or platform.machine()}; jax {jax.__version__}.",
        f"Forward FLOPs per image (2 x MACs, cost model): {flops / 1e6:.2f} M; a train step "
        f"counts 3x. Dense float32 matmul (1024^3) in the same run: **{ref:.1f} GFLOP/s**.",
        "Medians of the timed runs after one warm-up (native ops on CPU: one timed run); other "
        "processes may share the CPU.", "",
        "| network | forward img/s | train img/s | forward GFLOP/s | train GFLOP/s "
        "| forward % of matmul | time vs static cpu (fwd / train) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, (t_fwd, t_train) in results.items():
        gf_f, gf_t = batch * flops / t_fwd / 1e9, 3 * batch * flops / t_train / 1e9
        lines.append(f"| {name} | {batch / t_fwd:,.0f} | {batch / t_train:,.0f} | {gf_f:.2f} | "
                     f"{gf_t:.2f} | {100 * gf_f / ref:.1f}% | {t_fwd / base_fwd:.2f}x / "
                     f"{t_train / base_train:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--out", default="docs/benchmarks/supernet.md")
    args = p.parse_args(argv)
    table = run(args.batch, args.reps)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(table)
    print(table)


if __name__ == "__main__":
    main()
