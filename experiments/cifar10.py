"""CIFAR-10 through TFDS on GPUs: `nas run cifar10 --set data.path=/data/tfds`.

Prepare the dataset once on a machine with internet access (`tfds build cifar10
--file_format=array_record --data_dir=/data/tfds`), then point ``data.path`` at that folder on
every node. One GPU node: `nas run cifar10`. Several nodes: start Ray (`ray start --head` on
one node, `ray start --address=HEAD:6379` on the others) and pass
`--set search.ray_address=auto` so that search evaluations spread over the cluster.
"""
from nas.config import DataConfig, ExperimentConfig, FinalConfig, SearchConfig, SupernetConfig


def get_config(smoke: bool = False) -> ExperimentConfig:
    cfg = ExperimentConfig(
        name="cifar10",
        space="cifar_mbv3",
        data=DataConfig(source="tfds", name="cifar10", path="/data/tfds", val_size=5000),
        supernet=SupernetConfig(epochs=120, batch_size=512, learning_rate=0.2, warmup_epochs=5,
                                weight_decay=5e-5, num_random_subnets=2, checkpoint_every_steps=1000),
        search=SearchConfig(algorithm="nsga2", population=64, generations=30,
                            objectives=["accuracy", "latency_ms"],
                            budgets={"flops": 1.0e8, "peak_activation_bytes": 2_000_000},
                            profiles=["rtx2080ti_b1", "xeon_gold6226", "pixel2"],
                            num_workers=8, eval_batches=20),
        final=FinalConfig(top_k=4, epochs=200, batch_size=256, learning_rate=0.1, num_workers=4,
                          gpus_per_trial=1.0),
    )
    if smoke:  # a few hundred images (e.g. a synthetic CIFAR-10 in the same TFDS format), a few steps, Ray actors
        cfg.data.val_size, cfg.data.limit_train, cfg.data.limit_eval = 40, 0, 32
        cfg.supernet.batch_size, cfg.supernet.epochs, cfg.supernet.max_steps = 16, 1, 2
        cfg.supernet.checkpoint_every_steps, cfg.supernet.bn_recalibration_batches = 1, 1
        cfg.search.population, cfg.search.generations, cfg.search.eval_batches = 4, 1, 1
        cfg.search.num_workers, cfg.search.prescreen_factor = 2, 0
        cfg.final.top_k, cfg.final.epochs, cfg.final.max_steps, cfg.final.batch_size = 1, 1, 2, 16
        cfg.final.num_workers, cfg.final.gpus_per_trial = 1, 0.0
        cfg.final.baselines, cfg.final.train_hand_designed = [], False
    return cfg
