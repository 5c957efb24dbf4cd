"""The longer Fashion-MNIST setting: 6 supernet epochs, 2 final epochs per network, from scratch.

    nas run fashion_mnist_long

Same space, data and search as `experiments/fashion_mnist.py` (the `make demo` setting), with a
supernet trained long enough to target >= 91% (largest) / >= 87% (smallest) validation accuracy
with inherited weights, and the chosen networks and the MobileNetV2 baseline trained from
scratch with the same budget. On this 2-core CPU it takes hours (see docs/benchmarks/training.md).
"""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("_fashion_mnist_config", Path(__file__).with_name("fashion_mnist.py"))
_fm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fm)


def get_config(smoke: bool = False):
    cfg = _fm.get_config(smoke=smoke)
    cfg.name = "fashion_mnist_long"
    if not smoke:
        cfg.supernet.epochs = 6.0
        cfg.search.population, cfg.search.generations = 24, 10
        cfg.final.top_k, cfg.final.epochs, cfg.final.from_scratch = 2, 2.0, True
        cfg.final.baselines = ["mobilenet_v2"]
    return cfg
