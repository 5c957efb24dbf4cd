"""The main job through the Python API (docs/api.md): Fashion-MNIST supernet -> search on a
hardware profile -> the most accurate feasible network trained and exported to ONNX.

    python experiments/api_example.py --smoke                 # seconds of training (tests)
    python experiments/api_example.py --profile pixel2 --latency-ms 5

Prints the chosen architecture, its predicted latency on the profile and where its ONNX model
is; ``--json`` adds one JSON object with all of it as the last line. As an experiment config
(``get_config``) it is ``fashion_mnist`` with another name, so ``nas run api_example`` runs the
CLI's whole pipeline on the same settings.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

_FM = Path(__file__).with_name("fashion_mnist.py")


def get_config(smoke: bool = False):
    spec = importlib.util.spec_from_file_location("_fashion_mnist_config", _FM)
    fm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fm)
    cfg = fm.get_config(smoke=smoke)
    cfg.name = "api_example"
    return cfg


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes: seconds of training")
    p.add_argument("--workdir", help="work directory (default: runs/api_example, runs/api_example_smoke)")
    p.add_argument("--profile", default="local_cpu", help="hardware profile: a shipped name or a YAML path")
    p.add_argument("--latency-ms", type=float, help="latency budget on the profile (ms)")
    p.add_argument("--json", action="store_true", help="end with one JSON object of the results")
    args = p.parse_args(argv)

    from nas import api
    from nas.search_spaces import arch_dumps, arch_to_json

    cfg = api.load_config(__file__, smoke=args.smoke)
    workdir = Path(args.workdir or f"runs/api_example{'_smoke' if args.smoke else ''}")
    space = api.space(cfg.space)
    print(f"space {space.name}: {space.num_distinct():.3g} networks")

    net = api.supernet(cfg, workdir)
    print(f"supernet: largest {100 * net.val_acc_largest:.1f}%, smallest {100 * net.val_acc_smallest:.1f}% "
          f"validation accuracy ({net.directory})")

    budgets = dict(cfg.search.budgets)
    if args.latency_ms is not None:
        budgets["latency_ms"] = args.latency_ms
    found = api.search(cfg, workdir, args.profile, budgets=budgets,
                       on_generation=lambda m: print(f"  generation {m['generation']}: hypervolume "
                                                     f"{m['hypervolume']:.4g}, front {m['front_size']}"))
    best = found.front[0]  # the front is sorted by its first objective: accuracy, best first
    latency_ms = api.predict_latency(best.arch, args.profile)
    print(f"search on {found.profile}: {len(found.front)} on the front of {found.evaluations} evaluated")
    print(f"chosen: {arch_dumps(best.arch)}")
    print(f"  supernet accuracy {100 * best.values['accuracy']:.1f}%, predicted latency on {found.profile} "
          f"{latency_ms:.3f} ms, {best.values.get('flops', 0) / 1e6:.2f} MFLOPs")

    model = api.export(cfg, workdir, best)
    print(f"exported {model.name}: {model.onnx}")
    print(f"  test accuracy: JAX {100 * model.test_accuracy:.2f}%, "
          + ", ".join(f"{f} {100 * a:.2f}%" for f, a in model.accuracy.items()))
    if args.json:
        print(json.dumps({"arch": arch_to_json(best.arch), "space": space.name, "profile": found.profile,
                          "predicted_latency_ms": latency_ms, "values": best.values,
                          "front_size": len(found.front), "name": model.name, "export": str(model.directory),
                          "onnx": str(model.onnx), "test_accuracy": model.test_accuracy,
                          "accuracy": model.accuracy, "latency_ms_here": model.latency_ms_here,
                          "supernet": {"val_acc_largest": net.val_acc_largest,
                                       "val_acc_smallest": net.val_acc_smallest}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
