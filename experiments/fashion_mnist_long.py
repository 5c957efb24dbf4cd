"""The longer Fashion-MNIST setting: 6 supernet epochs, search, the front fine-tuned 15 epochs.

    nas run fashion_mnist_long

Same space and data as `experiments/fashion_mnist.py` (the `make demo` setting), but a supernet
trained here (the demo imports this setting's supernet, shipped with jaxnas) 6 epochs
without augmentation (3-subnet sandwich: largest + smallest + 1 random,
in-place distillation) to reach >= 91% (largest) / >= 87% (smallest) validation accuracy with
inherited weights, the whole space searched (20 MFLOP budget: every subnet; 20 x 8 on the
local_cpu profile), three networks spread along the front fine-tuned 15 epochs from their
inherited weights with random crop + flip (`final.augment="on"`: the final stage only, so the
supernet is unchanged), and MobileNetV2-style baselines (widths 0.5 and 1.0, the published
strides) trained from scratch, augmented alike, for 21 epochs: as many passes over the data as
the supernet's 6 plus the fine-tune's 15 (`final.baseline_epochs`). The hand design is marked
on the fronts with its supernet accuracy, not trained. On a 2-core CPU the supernet takes
about an hour, the final stage about two hours (measured figures in
docs/benchmarks/training.md). `experiments/design_study.py` reuses this supernet.
"""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("_fashion_mnist_config", Path(__file__).with_name("fashion_mnist.py"))
_fm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fm)


def get_config(smoke: bool = False):
    cfg = _fm.get_config(smoke=smoke)
    cfg.name = "fashion_mnist_long"
    cfg.supernet.init = ""  # trains its supernet (the one shipped as pretrained:fashion_mnist_sandwich)
    cfg.search.eval_batches = 8
    cfg.final.learning_rate = 0.05
    if not smoke:
        cfg.supernet.epochs, cfg.supernet.warmup_epochs, cfg.supernet.num_random_subnets = 6.0, 0.3, 1
        cfg.search.budgets = {"flops": 2.0e7}
        cfg.search.population, cfg.search.generations = 20, 8
        cfg.final.top_k, cfg.final.epochs, cfg.final.from_scratch, cfg.final.augment = 3, 15.0, False, "on"
        cfg.final.baselines = ["mobilenet_v2_0.5", "mobilenet_v2"]
        cfg.final.baseline_epochs = cfg.supernet.epochs + cfg.final.epochs
        cfg.final.train_hand_designed, cfg.final.num_workers = False, 2
    return cfg
