"""Training: supernet (sandwich rule + in-place distillation), static networks, BN recalibration,
evaluation, Orbax checkpoints with resume, data parallelism over all local devices."""
from nas.train.bn import recalibrate_bn
from nas.train.checkpoint import Checkpointer
from nas.train.evaluate import evaluate_accuracy, full_state
from nas.train.forward import stack_archs, static_forward, supernet_forward
from nas.train.loop import RunSpec, TrainingDiverged, fit
from nas.train.optim import make_optimizer, make_schedule
from nas.train.scoring import SupernetScoring, evaluate_subnet
from nas.train.sharding import make_mesh, replicate, shard_batch
from nas.train.static import train_static
from nas.train.step import make_train_step, split_model, train_step
from nas.train.supernet import load_supernet, subnet_sampler, supernet_fingerprint, train_supernet

__all__ = [
    "Checkpointer", "RunSpec", "SupernetScoring", "TrainingDiverged", "evaluate_accuracy", "evaluate_subnet", "fit",
    "full_state", "load_supernet", "make_mesh", "make_optimizer", "make_schedule", "make_train_step",
    "recalibrate_bn", "replicate", "shard_batch", "split_model", "stack_archs", "static_forward",
    "subnet_sampler", "supernet_fingerprint", "supernet_forward", "train_static", "train_step",
    "train_supernet",
]
