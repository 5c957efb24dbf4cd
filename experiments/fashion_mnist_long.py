"""The longer Fashion-MNIST setting: 6 supernet epochs, 8 final epochs per network, from scratch.

    nas run fashion_mnist_long

Same space and data as `experiments/fashion_mnist.py` (the `make demo` setting, no
augmentation), but a supernet trained 6 epochs (3-subnet sandwich: largest + smallest + 1
random, in-place distillation) to reach >= 91% (largest) / >= 87% (smallest) validation accuracy
with inherited weights, the whole space searched (20 MFLOP budget: every subnet), and the chosen
networks, the hand design and the MobileNetV2 baseline trained from scratch with the same
budget. On a 2-core CPU the supernet takes about an hour (measured figures in
docs/benchmarks/training.md); the final stage (four networks, 8 epochs each) takes hours more.
`experiments/design_study.py` reuses this supernet.
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
        cfg.supernet.epochs, cfg.supernet.warmup_epochs, cfg.supernet.num_random_subnets = 6.0, 0.3, 1
        cfg.search.budgets = {"flops": 2.0e7}
        cfg.search.population, cfg.search.generations = 24, 10
        cfg.final.top_k, cfg.final.epochs, cfg.final.from_scratch = 2, 8.0, True
        cfg.final.baselines, cfg.final.train_hand_designed = ["mobilenet_v2"], True
    return cfg
