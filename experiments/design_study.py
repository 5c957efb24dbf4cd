"""Hardware-aware design study: one Fashion-MNIST supernet, searched for four devices.

    nas run design_study                       # one search per device profile

The supernet is the long setting's (6 epochs, about an hour on a 2-core CPU), shipped with
jaxnas as ``pretrained:fashion_mnist_sandwich``: stage 1 imports it (the measured study in
docs/benchmarks/design_study.md searched it). To search a supernet trained here
instead: ``nas run fashion_mnist_long``, then ``nas run design_study --set supernet.init=
--set supernet_from=runs/fashion_mnist_long``.

The devices are a GPU (RTX 2080 Ti, batch 1), a server CPU (Xeon Gold 6226), a phone (Pixel 2),
all shipped profiles calibrated from published measurements, and this machine (``local_cpu``).
The report (`runs/design_study/report/index.html`) shows the fronts side by side and a table
of how the architectures chosen for each device differ (depth, kernel size, expansion,
resolution, MACs). Run directly (`python -m experiments.design_study`) to print that table.
"""
import importlib.util
import json
import sys
from pathlib import Path

_FM = Path(__file__).with_name("fashion_mnist_long.py")
_spec = importlib.util.spec_from_file_location("_fashion_mnist_config", _FM)
_fm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fm)

PROFILES = ["rtx2080ti_b1", "xeon_gold6226", "pixel2", "local_cpu"]


def get_config(smoke: bool = False):
    cfg = _fm.get_config(smoke=smoke)  # same data and supernet
    cfg.name = "design_study"
    cfg.supernet.init = "pretrained:fashion_mnist_sandwich"  # the long setting's supernet, shipped
    cfg.search.profiles = list(PROFILES)
    cfg.search.budgets = {}  # no budget: each device's whole trade-off curve
    if not smoke:
        cfg.search.population, cfg.search.generations = 16, 5
    cfg.final.top_k = 2  # fastest and most accurate point of each device's front
    cfg.final.epochs, cfg.final.from_scratch = 0.5, False  # short fine-tune from inherited weights
    cfg.final.baselines, cfg.final.train_hand_designed = [], False
    return cfg


def design_table(workdir: str = "runs/design_study") -> str:
    """Markdown table of the chosen architecture per device, from a finished run's summary."""
    from nas.rundir import RunDir
    from nas.search_spaces import get_space

    summary = json.loads(RunDir(workdir).summary.read_text())
    space = get_space(summary["space"])
    lines = ["| device | depth | mean kernel | mean expansion | MACs (M) | latency there (ms) | test acc. |",
             "|---|---|---|---|---|---|---|"]
    for p in summary["profiles"]:
        for a in summary["architectures"]:
            if a["kind"] == "searched" and p in a["chosen_for"]:
                d = space.describe(space.from_json(a["arch"]))
                lines.append(f"| {p} | {d['depth']} | {d['mean_kernel']} | {d['mean_expand']} | "
                             f"{a['macs'] / 1e6:.2f} | {a['latency_ms'][p]:.3f} | {100 * a['test_accuracy']:.2f}% |")
    return "\n".join(lines)


if __name__ == "__main__":
    workdir = sys.argv[1] if len(sys.argv) > 1 else "runs/design_study"
    from nas.rundir import RunDir

    if not RunDir(workdir).summary.is_file():
        print(f"design_study: {RunDir(workdir).summary} not found: run `nas run design_study --workdir {workdir}` "
              "first (it reuses the fashion_mnist_long supernet)", file=sys.stderr)
        sys.exit(2)
    print(design_table(workdir))
