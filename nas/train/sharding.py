"""Data parallelism with ``jax.sharding``: one mesh axis ``"data"`` over all devices.

The batch is split along its first axis; parameters, BatchNorm statistics and optimizer state
are replicated. The mesh may span several processes (multi-host, nas.train.distributed):
each process then passes its own rows of every batch. Inside jit, XLA inserts the all-reduces
(gradient sum, BatchNorm batch statistics over the global batch), so a step computes the same numbers
on any device count.
"""
from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from nas.errors import InputError


def make_mesh(devices=None) -> Mesh:
    """A 1-D mesh ``("data",)`` over ``devices`` (default: all devices, every process)."""
    return Mesh(np.asarray(jax.devices() if devices is None else devices), ("data",))


def check_batch_size(batch_size: int, mesh: Mesh, field: str = "batch_size") -> None:
    n = mesh.devices.size
    if batch_size % n:
        raise InputError(f"{field}: {batch_size} is not divisible by the {n} devices")


def replicate(tree, mesh: Mesh):
    """Put every leaf of ``tree`` on all devices of ``mesh``. On a mesh spanning several
    processes each process must pass the same values (the same seed builds the same model);
    they are not compared, which would cost a collective per leaf."""
    sharding = NamedSharding(mesh, P())
    if not mesh.is_multi_process:
        return jax.device_put(tree, sharding)
    return jax.tree.map(lambda a: jax.make_array_from_process_local_data(sharding, np.asarray(a)), tree)


def shard_batch(tree, mesh: Mesh):
    """Host arrays (this process's share of the global batch) -> arrays sharded on axis 0."""
    sharding = NamedSharding(mesh, P("data"))
    return jax.tree.map(lambda a: jax.make_array_from_process_local_data(sharding, np.asarray(a)), tree)
