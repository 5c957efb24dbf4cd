#!/usr/bin/env python3
"""Stand-alone latency runner of a bundle (``nas latency bundle``): NumPy + one runtime only.

Copy the bundle folder to the device and run ``python3 run_bundle.py`` there (``--help`` for
options). It reads ``manifest.json`` beside it, times every model and writes ``latency.csv``
(``arch,latency_ms``, the file ``nas profile fit --bundle`` reads) and ``latency.json`` (the
runtime, its version, precision, threads, protocol, per-model details).

Protocol:
  * every model is loaded first (ONNX Runtime session or LiteRT interpreter) with a fixed
    number of threads (``--threads``; ONNX Runtime: intra-op threads, one inter-op thread,
    sequential execution; LiteRT: ``num_threads``), and run ``--warmup`` times;
  * then ``--rounds`` rounds; each round visits all models in a new random order (seeded) and
    times ``--repeats`` back-to-back calls of each (wall clock, ``time.perf_counter``), keeping
    the round's median per model. Interleaving spreads slow drift (thermal throttling, other
    load) over all models alike instead of penalising the ones measured last;
  * ``latency_ms`` = median over rounds of the per-round medians. The input is one fixed
    random tensor of the model's input shape (latency does not depend on its values).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time

import numpy as np

PROTOCOL = ("load all models; warm up each; then rounds visiting all models in a seeded random order, "
            "timing back-to-back calls and keeping each round's median; latency_ms = median over rounds")


def load_onnxruntime(path: str, threads: int):
    """A ``call()`` running the ONNX model once on a fixed random input, and the runtime version."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    x = np.random.default_rng(0).uniform(0, 255, size=shape).astype(np.float32)
    feed = {inp.name: x}
    return (lambda: sess.run(None, feed)), f"onnxruntime {ort.__version__}"


def _litert_interpreter():
    try:
        import ai_edge_litert
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, f"ai-edge-litert {getattr(ai_edge_litert, '__version__', '?')}"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, "tflite_runtime"
    except ImportError:
        import tensorflow as tf

        return tf.lite.Interpreter, f"tensorflow.lite {tf.__version__}"


def load_litert(path: str, threads: int):
    """A ``call()`` running the .tflite model once on a fixed random input, and the runtime."""
    Interpreter, version = _litert_interpreter()
    it = Interpreter(model_path=path, num_threads=threads)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    rng = np.random.default_rng(0)
    if np.issubdtype(d["dtype"], np.integer):
        info = np.iinfo(d["dtype"])
        x = rng.integers(info.min, info.max, size=d["shape"], endpoint=True).astype(d["dtype"])
    else:
        x = rng.uniform(0, 255, size=d["shape"]).astype(d["dtype"])
    idx = d["index"]

    def call():
        it.set_tensor(idx, x)
        it.invoke()

    return call, version


LOADERS = {"onnxruntime": load_onnxruntime, "litert": load_litert}


def time_calls(call, n: int) -> np.ndarray:
    out = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        call()
        out[i] = (time.perf_counter() - t0) * 1e3
    return out


def measure(calls: list, *, warmup: int, repeats: int, rounds: int, seed: int, progress=None) -> np.ndarray:
    """Per-round medians ``[rounds, len(calls)]`` (ms) under the protocol above."""
    for call in calls:
        for _ in range(warmup):
            call()
    rng = np.random.default_rng(seed)
    med = np.empty((rounds, len(calls)))
    for r in range(rounds):
        for i in rng.permutation(len(calls)):
            med[r, i] = np.median(time_calls(calls[i], repeats))
        if progress:
            progress(r)
    return med


def write_results(folder: str, manifest: dict, med: np.ndarray, meta: dict) -> tuple[str, str]:
    """``latency.csv`` and ``latency.json`` in ``folder``; returns their paths."""
    lat = np.median(med, axis=0)
    csv_path, json_path = os.path.join(folder, "latency.csv"), os.path.join(folder, "latency.json")
    with open(csv_path + ".tmp", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["arch", "latency_ms"])
        for m, v in zip(manifest["models"], lat):
            w.writerow([json.dumps(m["arch"], separators=(",", ":")), f"{float(v):.6g}"])
    os.replace(csv_path + ".tmp", csv_path)
    rows = [{"file": m["file"], "latency_ms": float(v), "round_medians_ms": [float(x) for x in med[:, i]]}
            for i, (m, v) in enumerate(zip(manifest["models"], lat))]
    with open(json_path + ".tmp", "w") as fh:
        json.dump({**meta, "models": rows}, fh, indent=1)
    os.replace(json_path + ".tmp", json_path)
    return csv_path, json_path


def main(argv=None) -> int:
    folder = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Measure the latency of every model of this bundle.")
    ap.add_argument("--threads", type=int, default=None, help="runtime threads (default: the bundle's)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed calls per model before timing")
    ap.add_argument("--repeats", type=int, default=20, help="timed back-to-back calls per model per round")
    ap.add_argument("--rounds", type=int, default=5, help="rounds over all models (interleaved order)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the visiting order")
    ap.add_argument("--dir", default=folder, help="bundle folder (default: this script's)")
    args = ap.parse_args(argv)
    if min(args.repeats, args.rounds) < 1 or args.warmup < 0 or (args.threads is not None and args.threads < 1):
        print("run_bundle: --repeats, --rounds, --threads must be >= 1 and --warmup >= 0", file=sys.stderr)
        return 2
    try:
        with open(os.path.join(args.dir, "manifest.json")) as fh:
            manifest = json.load(fh)
        runtime = manifest["runtime"]
        loader = LOADERS[runtime]
        threads = int(args.threads or manifest.get("threads", 1))
        calls, version = [], None
        for m in manifest["models"]:
            call, version = loader(os.path.join(args.dir, m["file"]), threads)
            calls.append(call)
    except ImportError as e:
        print(f"run_bundle: runtime not installed ({e})", file=sys.stderr)
        return 2
    except Exception as e:  # any runtime's error on a missing, corrupt or foreign model file
        msg = str(e).splitlines()[0][:200] if str(e) else ""
        print(f"run_bundle: cannot load the bundle in {args.dir} ({type(e).__name__}: {msg})", file=sys.stderr)
        return 2
    t0 = time.time()
    med = measure(calls, warmup=args.warmup, repeats=args.repeats, rounds=args.rounds, seed=args.seed,
                  progress=lambda r: print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True))
    meta = {"runtime": runtime, "runtime_version": version, "precision": manifest.get("precision"),
            "threads": threads, "batch_size": manifest.get("batch_size", 1), "space": manifest.get("space"),
            "protocol": PROTOCOL, "warmup": args.warmup, "repeats": args.repeats, "rounds": args.rounds,
            "seed": args.seed, "statistic": "median over rounds of the per-round median",
            "host": platform.node(), "machine": platform.machine(), "processor": platform.processor(),
            "python": platform.python_version(), "seconds": round(time.time() - t0, 3),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    csv_path, _ = write_results(args.dir, manifest, med, meta)
    print(f"{len(calls)} models measured ({runtime}, {manifest.get('precision')}, {threads} threads): {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
