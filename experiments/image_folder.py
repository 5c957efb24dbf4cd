"""Your own images: `nas run image_folder --set data.path=DIR`, a searched and exported network
with one output per class of DIR.

Data: ``DIR/<class>/*.jpg|png`` (any number of classes, any sizes, any colour modes; every 10th
image of a class is held out as the test split), or ``DIR/train/<class>/`` with
``DIR/val/<class>/``. Images are decoded, converted to grayscale and resized to 28x28 by the
streaming pipeline; 10% of the training images are the validation split.

Sized for a 2-core CPU: it starts from the supernet shipped with jaxnas
(``pretrained:fashion_mnist``, grayscale 28x28, the one that fits this input) and transfers it:
the body is kept, the classifier is replaced by one with DIR's class count (the class count
comes from the data), trained alone for one epoch (phase ``head``), then the whole supernet is
fine-tuned by the sandwich rule over the full space for two epochs (phase ``expand``). Stage 1
says so ("transfer from pretrained:fashion_mnist ..."). The search then finds the most accurate
networks under the FLOP budget on this machine's latency profile, fine-tunes the chosen one and
exports it (ONNX checked against JAX, int8, LiteRT).

For colour images at ImageNet sizes, start from Once-for-All's supernet instead (docs/supernet_init.md
gives the whole command: ``supernet.init`` = the imported OFA folder, ``space=ofa_mbv3``,
``data.channels=3``, ``data.image_size=224``, ``data.normalize=auto`` for ImageNet's statistics, and
a FLOP budget above that space's smallest network, about 83 MFLOPs).

``smoke=True``: a few dozen images and a few steps of everything (the tests' rehearsal).
"""
from nas.config import DataConfig, ExperimentConfig, FinalConfig, SearchConfig, SupernetConfig

PRETRAINED = "pretrained:fashion_mnist"
PHASES = [{"name": "head", "epochs": 1.0, "learning_rate": 0.05, "warmup_epochs": 0.0},
          {"name": "expand", "epochs": 2.0, "learning_rate": 0.01, "warmup_epochs": 0.05}]


def get_config(smoke: bool = False) -> ExperimentConfig:
    cfg = ExperimentConfig(
        name="image_folder",
        space="fashion_mnist",
        data=DataConfig(source="image_folder", path="", val_fraction=0.1, seed=0, augment=True, image_size=28,
                        channels=1, workers=1, normalize="dataset"),
        supernet=SupernetConfig(init=PRETRAINED, schedule="progressive", phases=PHASES, kernel_transform="on",
                                batch_size=64, learning_rate=0.01, weight_decay=3e-5, label_smoothing=0.1,
                                num_random_subnets=2, sampling="macs", distill=True, checkpoint_every_steps=50,
                                bn_recalibration_batches=4),
        search=SearchConfig(algorithm="nsga2", population=10, generations=3, objectives=["accuracy", "latency_ms"],
                            budgets={"flops": 1.9e7}, profiles=["local_cpu"], num_workers=0, eval_batches=8),
        final=FinalConfig(top_k=1, epochs=1.0, batch_size=64, learning_rate=0.005, num_workers=1,
                          from_scratch=False, baselines=[], train_hand_designed=False),
    )
    if smoke:
        cfg.data.limit_train, cfg.data.limit_eval = 64, 32
        cfg.supernet.batch_size, cfg.supernet.max_steps = 8, 4
        cfg.supernet.checkpoint_every_steps, cfg.supernet.bn_recalibration_batches = 2, 1
        cfg.search.population, cfg.search.generations, cfg.search.eval_batches = 4, 2, 1
        cfg.final.batch_size, cfg.final.max_steps = 8, 2
    return cfg
