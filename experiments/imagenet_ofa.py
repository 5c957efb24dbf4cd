"""ImageNet on the Once-for-All MobileNetV3 space, for TPU/GPU pods (multi-host).

Data: `tfds build imagenet2012 --file_format=array_record --data_dir=gs://BUCKET/tfds` (manual
download of the ImageNet archives is required by TFDS), then `--set data.path=gs://BUCKET/tfds`.

Multi-host JAX: run the same command on every host; ``supernet.jax_distributed`` makes the
processes join (on Cloud TPU the coordinator is discovered automatically; on GPU clusters set
JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID, or use SLURM, which JAX
detects). The supernet trains data parallel over every device of every host; process 0 then
runs stages 2-4 alone. Stages 2 and 3 run on Ray: `ray start --head` on host 0, `ray start
--address=HOST0:6379` elsewhere, and `--set search.ray_address=auto`. See docs/cluster.md.
"""
from nas.config import DataConfig, ExperimentConfig, FinalConfig, SearchConfig, SupernetConfig


def get_config(smoke: bool = False) -> ExperimentConfig:
    cfg = ExperimentConfig(
        name="imagenet_ofa",
        space="ofa_mbv3",
        data=DataConfig(source="tfds", name="imagenet2012", path="gs://BUCKET/tfds", val_size=10000),
        supernet=SupernetConfig(epochs=180, batch_size=4096, learning_rate=2.6, warmup_epochs=5,
                                weight_decay=3e-5, label_smoothing=0.1, num_random_subnets=2,
                                checkpoint_every_steps=2000, jax_distributed=True),
        search=SearchConfig(algorithm="nsga2", population=100, generations=50,
                            objectives=["accuracy", "latency_ms"],
                            budgets={"flops": 8.0e8, "latency_ms": 30.0},
                            profiles=["rtx2080ti_b1", "v100_b1"], num_workers=32, eval_batches=10),
        final=FinalConfig(top_k=4, epochs=150, batch_size=1024, learning_rate=0.4, num_workers=4,
                          gpus_per_trial=8.0, baselines=["mobilenet_v3_large", "efficientnet_b0"]),
    )
    if smoke:
        cfg.supernet.epochs, cfg.supernet.max_steps, cfg.search.generations = 1, 2, 1
        cfg.supernet.jax_distributed = False  # one process on one machine
    return cfg
