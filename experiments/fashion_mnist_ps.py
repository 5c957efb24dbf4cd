"""Progressive shrinking on Fashion-MNIST, from the sandwich-trained supernet shipped with jaxnas.

This trained the supernet shipped as ``pretrained:fashion_mnist`` (what ``make demo`` searches).
Once-for-All's recipe (``supernet.schedule="progressive"``, :mod:`nas.train.progressive`) run
after the sandwich supernet shipped as ``pretrained:fashion_mnist_sandwich`` (``nas run
fashion_mnist_long``'s), which stands for the full-network phase: elastic kernel (with kernel
transformation, which the sandwich supernet lacks), then elastic depth, then elastic expansion,
each phase distilled from the largest subnet, each step training the largest, the phase's
smallest and two random subnets spread over MACs. Search, fine-tuning and export are the
demo's (``experiments/fashion_mnist.py``).

    nas run fashion_mnist_ps --workdir runs/fashion_mnist_ps

Its supernet's compute and what ``nas check supernet`` prints of it are in
docs/benchmarks/supernet.md.
"""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("_fashion_mnist_config", Path(__file__).with_name("fashion_mnist.py"))
_fm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fm)

PHASES = [{"name": "kernel", "epochs": 1.0, "learning_rate": 0.03, "warmup_epochs": 0.05},
          {"name": "depth", "epochs": 1.0, "learning_rate": 0.03, "warmup_epochs": 0.05},
          {"name": "expand", "epochs": 1.5, "learning_rate": 0.03, "warmup_epochs": 0.05}]


def get_config(smoke: bool = False):
    cfg = _fm.get_config(smoke=smoke)
    cfg.name = "fashion_mnist_ps"
    s = cfg.supernet
    s.init = "pretrained:fashion_mnist_sandwich"  # the sandwich supernet it started from, shipped too
    s.schedule, s.phases, s.kernel_transform = "progressive", [dict(p) for p in PHASES], "on"
    s.num_random_subnets, s.sampling = 2, "macs"
    return cfg
