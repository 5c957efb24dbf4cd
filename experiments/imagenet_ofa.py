"""ImageNet on the Once-for-All MobileNetV3 space, for TPU/GPU pods (multi-host).

The data are not shipped and have no default location: a run without `data.path` stops at once
with one line saying how to give them. Either: `tfds build imagenet2012 --file_format=array_record
--data_dir=gs://BUCKET/tfds` (manual download of the ImageNet archives is required by TFDS), then
`--set data.path=gs://BUCKET/tfds`; or the extracted archives as a folder of JPEGs, one
sub-folder per class (`train/n01440764/*.JPEG`, `val/n01440764/*.JPEG`):
`--set data.source=image_folder data.path=/data/imagenet`. Either way the data are streamed
(`nas.data.stream`: decoded, random-resized-cropped and flipped in `data.workers` processes per
host, each host reading only its slice of every global batch); nothing is loaded into memory.

Elastic resolution: every supernet step draws one of `supernet.resolutions` (128/160/192/224)
and decodes its batch at that size; each resolution has one compiled step. Subnets are scored at
their own resolution gene, on validation images decoded at that size, after BatchNorm
recalibration on training images decoded at that size.

Multi-host JAX: run the same command on every host; ``supernet.jax_distributed`` makes the
processes join (on Cloud TPU the coordinator is discovered automatically; on GPU clusters set
JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID, or use SLURM, which JAX
detects). The supernet trains data parallel over every device of every host; process 0 then
runs stages 2-4 alone. Stages 2 and 3 run on Ray: `ray start --head` on host 0, `ray start
--address=HOST0:6379` elsewhere, and `--set search.ray_address=auto`. See docs/cluster.md.

Starting from Once-for-All's published supernet (`--set supernet.init=FILE_OR_FOLDER`) imports it
with no training when the data has ImageNet's 1,000 classes (the class count comes from the data).
Data of another class count needs its new classifier trained: docs/supernet_init.md, "transfer".
"""
from nas.config import DataConfig, ExperimentConfig, FinalConfig, SearchConfig, SupernetConfig


def get_config(smoke: bool = False) -> ExperimentConfig:
    cfg = ExperimentConfig(
        name="imagenet_ofa",
        space="ofa_mbv3",
        data=DataConfig(source="tfds", name="imagenet2012", path="", val_size=10000,
                        image_size=224, workers=16),
        supernet=SupernetConfig(epochs=180, batch_size=4096, learning_rate=2.6, warmup_epochs=5,
                                weight_decay=3e-5, label_smoothing=0.1, num_random_subnets=2,
                                checkpoint_every_steps=2000, jax_distributed=True,
                                resolutions=[128, 160, 192, 224]),
        search=SearchConfig(algorithm="nsga2", population=100, generations=50,
                            objectives=["accuracy", "latency_ms"],
                            budgets={"flops": 8.0e8, "latency_ms": 30.0},
                            profiles=["rtx2080ti_b1", "v100_b1"], num_workers=32, eval_batches=10),
        final=FinalConfig(top_k=4, epochs=150, batch_size=1024, learning_rate=0.4, num_workers=4,
                          gpus_per_trial=8.0, baselines=["mobilenet_v3_large", "efficientnet_b0"]),
    )
    if smoke:
        # The documented mode at toy size: multi-host (run it as two processes, e.g.
        # experiments/tools/local_cluster.sh), streamed JPEGs at two resolutions, Ray actors.
        # A small ImageNet-layout folder of JPEGs: --set data.path=DIR (train/<class>/, val/<class>/)
        cfg.data.source, cfg.data.name, cfg.data.workers = "image_folder", "", 1
        cfg.data.val_size, cfg.data.limit_eval, cfg.data.image_size = 8, 8, 160
        cfg.supernet.batch_size, cfg.supernet.epochs, cfg.supernet.max_steps = 4, 1, 4
        cfg.supernet.learning_rate = 0.01  # the learning rate scaled with the batch (2.6 at 4096)
        cfg.supernet.resolutions, cfg.supernet.bn_recalibration_batches = [128, 160], 1
        cfg.supernet.checkpoint_every_steps = 1
        cfg.search.population, cfg.search.generations, cfg.search.eval_batches = 2, 1, 1
        cfg.search.num_workers, cfg.search.prescreen_factor = 2, 0
        cfg.final.top_k, cfg.final.epochs, cfg.final.max_steps, cfg.final.batch_size = 1, 1, 1, 4
        cfg.final.num_workers, cfg.final.gpus_per_trial, cfg.final.baselines = 1, 0.0, []
        cfg.final.train_hand_designed = False
    return cfg
