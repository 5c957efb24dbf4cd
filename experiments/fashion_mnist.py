"""The embedded default: Fashion-MNIST on a 2-core CPU laptop, `nas run fashion_mnist`.

Data: Debian's `dataset-fashion-mnist` (`make data` installs it); 5,000 validation images are
carved from the 60,000 training images, the 10,000 test images are used only by the report.

This is the `make demo` setting, sized for a 2-core CPU and about 12 minutes: the supernet
(sandwich rule: largest + smallest + 1 random subnet per step, in-place distillation,
SGD-Nesterov with warm-up + cosine, batch 128, no augmentation: for runs this short it costs
accuracy) trains for 0.25 epoch, the search runs 5 generations of 16 under a 6 MFLOP budget
(networks that train fast), and the chosen network is fine-tuned from its inherited supernet
weights for 10 epochs. The hand-designed network is marked on the fronts with its supernet
accuracy but not trained (`final.train_hand_designed`), which would double the final stage.
`experiments/fashion_mnist_long.py` is the longer setting. Measured cost and accuracy are in
the README and docs/benchmarks/training.md.

``smoke=True``: a few hundred examples and a few steps of everything (used by tests).
"""
from nas.config import DataConfig, ExperimentConfig, FinalConfig, SearchConfig, SupernetConfig


def get_config(smoke: bool = False) -> ExperimentConfig:
    cfg = ExperimentConfig(
        name="fashion_mnist",
        space="fashion_mnist",
        data=DataConfig(source="fashion_mnist", val_size=5000, seed=0, augment=False),
        supernet=SupernetConfig(epochs=0.25, batch_size=128, learning_rate=0.1, warmup_epochs=0.05,
                                weight_decay=3e-5, label_smoothing=0.1, num_random_subnets=1,
                                distill=True, checkpoint_every_steps=100, bn_recalibration_batches=4),
        search=SearchConfig(algorithm="nsga2", population=16, generations=5,
                            objectives=["accuracy", "latency_ms"], budgets={"flops": 6.0e6},
                            profiles=["local_cpu"], num_workers=0, eval_batches=8),
        final=FinalConfig(top_k=1, epochs=10.0, batch_size=128, learning_rate=0.05, num_workers=1,
                          from_scratch=False, baselines=[], train_hand_designed=False),
    )
    if smoke:
        cfg.data.limit_train, cfg.data.limit_eval = 256, 128
        cfg.supernet.batch_size, cfg.supernet.max_steps, cfg.supernet.epochs = 16, 4, 1
        cfg.supernet.checkpoint_every_steps, cfg.supernet.bn_recalibration_batches = 2, 2
        cfg.search.population, cfg.search.generations, cfg.search.eval_batches = 4, 2, 1
        cfg.search.budgets = {"flops": 2.0e7}
        cfg.final.top_k, cfg.final.batch_size, cfg.final.max_steps, cfg.final.epochs = 1, 16, 2, 1
        cfg.final.baselines = ["mobilenet_v2"]  # the reference path (from scratch) is exercised too
        cfg.final.train_hand_designed = True
    return cfg
