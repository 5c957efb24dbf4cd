"""The embedded default: Fashion-MNIST on a 2-core CPU laptop, `nas run fashion_mnist`.

Data: Debian's `dataset-fashion-mnist` (`make data` installs it); 5,000 validation images are
carved from the 60,000 training images, the 10,000 test images are used only by the report.

This is the `make demo` setting, sized for a 2-core CPU and under 10 minutes. It starts from
the supernet shipped with jaxnas (``supernet.init="pretrained:fashion_mnist"``: the long
setting's sandwich supernet, 6 epochs, then 3.5 epochs of progressive shrinking with kernel
transformation, ``experiments/fashion_mnist_ps.py``; see nas/pretrained/supernets/fashion_mnist/
README.md), so stage 1 imports instead of training. The search scores every candidate on the
whole validation split (the scoring that ranks subnets best, docs/benchmarks/supernet.md) under
a FLOP budget, and the chosen network is fine-tuned briefly from its inherited weights. The
hand-designed network is marked on the fronts with its supernet accuracy but not trained
(`final.train_hand_designed`).

Training the supernet here instead, from scratch, is one override away:
``nas run fashion_mnist --set supernet.init=`` trains one with the settings below (the sandwich
rule, 6 epochs, about an hour on a 2-core CPU; the shipped supernet then had 3.5 epochs of
progressive shrinking, about 50 minutes more). Measured cost and accuracy are in the
README and docs/benchmarks/training.md.

``smoke=True``: a few hundred examples and a few steps of everything (used by tests); it imports
the shipped supernet as the demo does.
"""
from nas.config import DataConfig, ExperimentConfig, FinalConfig, SearchConfig, SupernetConfig

PRETRAINED = "pretrained:fashion_mnist"  # the shipped supernet; "" trains one (supernet.* below)
WHOLE_VALIDATION = 40  # batches of 128 (supernet.batch_size): the 5,000 validation images
SEARCH_POPULATION, SEARCH_GENERATIONS = 10, 3
FLOP_BUDGET = 1.9e7
FINE_TUNE_EPOCHS, FINE_TUNE_LR = 0.5, 0.01


def get_config(smoke: bool = False) -> ExperimentConfig:
    cfg = ExperimentConfig(
        name="fashion_mnist",
        space="fashion_mnist",
        data=DataConfig(source="fashion_mnist", val_size=5000, seed=0, augment=False),
        supernet=SupernetConfig(init=PRETRAINED, epochs=6.0, batch_size=128, learning_rate=0.1, warmup_epochs=0.3,
                                weight_decay=3e-5, label_smoothing=0.1, num_random_subnets=1,
                                distill=True, checkpoint_every_steps=100, bn_recalibration_batches=4),
        search=SearchConfig(algorithm="nsga2", population=SEARCH_POPULATION, generations=SEARCH_GENERATIONS,
                            objectives=["accuracy", "latency_ms"], budgets={"flops": FLOP_BUDGET},
                            profiles=["local_cpu"], num_workers=0, eval_batches=WHOLE_VALIDATION),
        final=FinalConfig(top_k=1, epochs=FINE_TUNE_EPOCHS, batch_size=128, learning_rate=FINE_TUNE_LR,
                          num_workers=1, from_scratch=False, baselines=[], train_hand_designed=False),
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
