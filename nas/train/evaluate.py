"""Accuracy of a supernet subnet (arch arrays given) or of a static network on a data split, and
the one scoring of a subnet with inherited weights (:func:`subnet_counts`)."""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import nnx

from nas.data.pipeline import eval_batches, normalize
from nas.train.bn import recalibrate_bn
from nas.train.forward import static_forward, supernet_forward
from nas.train.sharding import make_mesh, replicate, shard_batch


@partial(jax.jit, static_argnames=("graphdef", "forward", "mean", "std"))
def _correct(state, images, labels, mask, arch, *, graphdef, forward, mean, std):
    model = nnx.merge(graphdef, state, copy=True)
    logits = forward(model, normalize(images, mean, std), arch, train=False)
    return jnp.sum((jnp.argmax(logits, -1) == labels) * mask)


def count_correct(graphdef, state, split, *, mean, std, arch_arrays=None, batch_size: int = 256,
                  max_batches: int = 0, mesh=None) -> tuple[float, float]:
    """``(correct, total)``: top-1 hits and examples counted on ``split`` (a
    :class:`nas.data.Split` or a streamed split), eval mode; padding is not counted.

    ``state`` is the model's full ``nnx.State`` (``nnx.split(model)[1]``, or ``params, rest``
    merged). ``arch_arrays`` (from ``Supernet.arch_arrays``) selects the subnet; ``None`` means
    a static network. ``max_batches > 0`` evaluates the first batches only. One compile per
    (graphdef, batch shape). ``batch_size`` must be divisible by the device count. ``mesh``
    defaults to this process's devices (evaluation is local, also on a multi-host run).
    """
    mesh = mesh or make_mesh(jax.local_devices())
    forward = static_forward if arch_arrays is None else supernet_forward
    arch = replicate(arch_arrays if arch_arrays is not None else {}, mesh)
    state = replicate(state, mesh)
    correct, total = 0.0, 0.0
    for images, labels, mask in eval_batches(split, batch_size, max_batches):
        x, y, m = shard_batch((images, labels, mask), mesh)
        correct += float(_correct(state, x, y, m, arch, graphdef=graphdef, forward=forward,
                                  mean=tuple(mean), std=tuple(std)))
        total += float(mask.sum())
    return correct, total


def top1(correct: float, total: float) -> float:
    """Accuracy in [0, 1] from :func:`count_correct`'s pair (0 when nothing was counted)."""
    return correct / max(total, 1.0)


def evaluate_accuracy(graphdef, state, split, *, mean, std, arch_arrays=None, batch_size: int = 256,
                      max_batches: int = 0, mesh=None) -> float:
    """Top-1 accuracy in [0, 1] on ``split``; arguments as :func:`count_correct`."""
    return top1(*count_correct(graphdef, state, split, mean=mean, std=std, arch_arrays=arch_arrays,
                               batch_size=batch_size, max_batches=max_batches, mesh=mesh))


def subnet_counts(graphdef, state, arch_arrays, split, calibration, *, mean, std, batch_size: int = 256,
                  max_batches: int = 0) -> tuple[float, float]:
    """``(correct, total)`` of the subnet ``arch_arrays`` with the supernet's inherited weights
    ``state``: BatchNorm recalibrated on the ``calibration`` batches
    (:func:`nas.train.bn.calibration_batches`), then counted on ``split`` (first
    ``max_batches`` batches when > 0). The one scoring of a subnet: supernet training and the
    search's accuracy evaluator (through :mod:`nas.train.scoring`) both use it."""
    state = recalibrate_bn(graphdef, state, arch_arrays, calibration, mean=mean, std=std)
    return count_correct(graphdef, state, split, mean=mean, std=std, arch_arrays=arch_arrays,
                         batch_size=batch_size, max_batches=max_batches)


def subnet_accuracy(graphdef, state, arch_arrays, split, calibration, *, mean, std, batch_size: int = 256,
                    max_batches: int = 0) -> float:
    """Top-1 accuracy in [0, 1] of :func:`subnet_counts`."""
    return top1(*subnet_counts(graphdef, state, arch_arrays, split, calibration, mean=mean, std=std,
                               batch_size=batch_size, max_batches=max_batches))


def full_state(params, rest):
    """One ``nnx.State`` from the ``(params, rest)`` pair used by the train step."""
    return nnx.merge_state(params, rest)
