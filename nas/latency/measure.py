"""Measure an architecture's latency on this machine: XLA (jit) or ONNX Runtime, CPU.

Protocol: build the extracted static network ``StaticNet(space.net_spec(arch))`` with random
weights (latency does not depend on weight values), compile / create the session once, run
``warmup`` calls, then time ``repeats`` single calls (batch ``batch_size``, wall clock,
``time.perf_counter`` around the call and ``block_until_ready``). Reported ``latency_ms`` is
the median over rounds of ``ROUND`` consecutive calls of each round's minimum: on a shared
machine other processes pre-empt single calls, and the round minimum removes most of that
while the median over rounds keeps the figure robust. ``median_ms`` (plain median of all
calls), ``p10_ms`` and ``p90_ms`` are recorded too.

Threads: ``pin_xla_threads(n)`` adds ``--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1`` to ``XLA_FLAGS`` (single thread; only effective before JAX
creates its CPU backend, so call it first: the CLI does). ONNX Runtime sessions get
``intra_op_num_threads=threads``, ``inter_op_num_threads=1``. What was in effect is recorded
in every result (``threads``).

Passes: :func:`measure_archs` compiles every network first, then times all of them in
``passes`` passes and keeps each network's smallest per-pass figure, so a burst of load from
other processes spoils one pass rather than the result.

Memory: for XLA, ``compiled.memory_analysis()`` gives argument (weights + input), output and
temporary bytes; these are recorded beside the analytic ``peak_activation_bytes``.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

RUNTIMES = ("xla", "onnxruntime")
ROUND = 5
STATISTIC = f"median over rounds of {ROUND} calls of the round minimum"
XLA_SINGLE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


@dataclass
class Measurement:
    latency_ms: float          # median of per-round minima (see module docstring)
    runtime: str
    threads: str               # what pinning was in effect
    batch_size: int
    repeats: int
    warmup: int
    median_ms: float
    p10_ms: float
    p90_ms: float
    memory: dict = field(default_factory=dict)  # bytes: runtime figures and analytic peak

    def to_dict(self) -> dict:
        return asdict(self)


def _xla_backend_started() -> bool:
    try:
        from jax._src import xla_bridge

        return bool(getattr(xla_bridge, "_backends", {}))
    except Exception:  # pragma: no cover - private API moved
        return True


def pin_xla_threads(threads: int = 1) -> str:
    """Pin XLA's CPU backend to one thread if it has not started yet; returns what applies."""
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        if _xla_backend_started():
            return "unpinned (XLA backend already started)"
        os.environ["XLA_FLAGS"] = (flags + " " + XLA_SINGLE_THREAD_FLAGS).strip()
    if "xla_cpu_multi_thread_eigen=false" in os.environ.get("XLA_FLAGS", ""):
        return "1 (XLA_FLAGS " + XLA_SINGLE_THREAD_FLAGS + ")"
    return "XLA default (all cores)"


def _time_calls(call, warmup: int, repeats: int) -> np.ndarray:
    for _ in range(warmup):
        call()
    times = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        call()
        times[i] = (time.perf_counter() - t0) * 1e3
    return times


def _result(times, runtime, threads, batch, warmup, memory) -> Measurement:
    rounds = [times[i:i + ROUND].min() for i in range(0, len(times), ROUND)]
    return Measurement(float(np.median(rounds)), runtime, threads, batch, len(times), warmup,
                       float(np.median(times)), float(np.percentile(times, 10)),
                       float(np.percentile(times, 90)), memory)


def build_net(space, arch, *, backend: str | None = None):
    """The static network of ``arch`` with random weights (seed 0)."""
    return build_spec_net(space.net_spec(arch), backend=backend)


def build_spec_net(spec, *, backend: str | None = None):
    """The static network of a NetSpec (layer language) with random weights (seed 0)."""
    from flax import nnx

    from nas.search_spaces.static_net import StaticNet

    return StaticNet(spec, rngs=nnx.Rngs(0), backend=backend)


@dataclass
class Prepared:
    """A compiled network ready to time: ``call()`` runs one forward pass to completion."""

    call: object
    runtime: str
    threads: str
    batch_size: int
    memory: dict


def prepare_xla(net, input_shape, *, batch_size: int = 1, threads: str | None = None) -> Prepared:
    """Jit-compile the forward pass of ``net`` on float32 ``[B, H, W, C]``; record XLA memory."""
    import jax
    from flax import nnx

    graphdef, state = nnx.split(net)

    def forward(state, x):
        return nnx.merge(graphdef, state)(x, train=False)

    x = jax.numpy.asarray(np.random.default_rng(0).normal(size=(batch_size, *input_shape)), jax.numpy.float32)
    compiled = jax.jit(forward).lower(state, x).compile()
    mem = {}
    try:
        ma = compiled.memory_analysis()
        mem = {k: int(getattr(ma, f"{k}_size_in_bytes")) for k in ("argument", "output", "temp", "generated_code")}
    except Exception:  # memory analysis is optional per backend
        pass
    return Prepared(lambda: compiled(state, x).block_until_ready(), "xla", threads or pin_xla_threads(1),
                    batch_size, mem)


def prepare_onnxruntime(onnx_path, input_shape, *, batch_size: int = 1, threads: int = 1) -> Prepared:
    """An ONNX Runtime CPU session with ``threads`` intra-op threads, ready to time."""
    from nas.export.onnx import ort_session

    sess = ort_session(onnx_path, threads=threads)
    name = sess.get_inputs()[0].name
    x = np.random.default_rng(0).normal(size=(batch_size, *input_shape)).astype(np.float32)
    return Prepared(lambda: sess.run(None, {name: x}), "onnxruntime", f"{threads} (intra_op_num_threads)",
                    batch_size, {})


def _prepare_spec(spec, runtime, batch_size, threads, tmpdir) -> Prepared:
    shape = spec.input_shape
    if runtime == "xla":
        return prepare_xla(build_spec_net(spec), shape, batch_size=batch_size, threads=pin_xla_threads(threads))
    from nas.export.onnx import export_onnx

    path = export_onnx(build_spec_net(spec, backend="native"), shape,
                       Path(tmpdir) / f"net{len(list(Path(tmpdir).iterdir()))}.onnx", batch=batch_size)
    return prepare_onnxruntime(path, shape, batch_size=batch_size, threads=threads)


def measure_archs(space, archs, runtime: str, **kwargs) -> list[Measurement]:
    """Measure architectures of ``space`` with ``runtime`` ("xla" or "onnxruntime"); keywords
    as :func:`measure_specs`."""
    return measure_specs([space.net_spec(a) for a in archs], runtime, **kwargs)


def measure_specs(specs, runtime: str, *, batch_size: int = 1, warmup: int = 10, repeats: int = 50,
                  threads: int = 1, passes: int = 3, workdir: str | Path | None = None,
                  progress=None) -> list[Measurement]:
    """Measure networks given as NetSpecs (any layer-language network, e.g. reference models).

    Every network is compiled once, then timed in ``passes`` passes over all networks (spread
    over time, so a burst of load from other processes spoils one pass, not the result);
    ``latency_ms`` is the smallest per-pass figure, the percentiles pool all calls.
    ``progress(i)`` is called after each network of each pass.
    """
    from nas.search_spaces.cost import net_stats

    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r} (known: {', '.join(RUNTIMES)})")
    with tempfile.TemporaryDirectory(dir=workdir) as d:
        preps = []
        for spec in specs:
            preps.append(_prepare_spec(spec, runtime, batch_size, threads, d))
        runs = [[] for _ in specs]
        for _ in range(max(1, passes)):
            for i, prep in enumerate(preps):
                runs[i].append(_time_calls(prep.call, warmup, repeats))
                if progress:
                    progress(i)
    out = []
    for spec, prep, r in zip(specs, preps, runs):
        m = _result(np.concatenate(r), prep.runtime, prep.threads, batch_size, warmup, dict(prep.memory))
        m.latency_ms = min(_result(t, prep.runtime, "", batch_size, warmup, {}).latency_ms for t in r)
        m.repeats = sum(len(t) for t in r)
        stats = net_stats(spec)
        m.memory["analytic_peak_activation_bytes"] = int(stats.peak_activation_bytes) * batch_size
        m.memory["analytic_weight_bytes"] = int(stats.params) * 4
        out.append(m)
    return out

