"""BatchNorm recalibration of one subnet: exact running averages over a few training batches."""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import nnx

from nas.data.pipeline import normalize


@partial(jax.jit, static_argnames=("graphdef", "mean", "std"))
def _bn_update(state, images, arch, momentum, *, graphdef, mean, std):
    model = nnx.merge(graphdef, state, copy=True)
    model(normalize(images, mean, std), arch, train=True, bn_momentum=momentum)
    return nnx.split(model)[1]


def recalibrate_bn(graphdef, state, arch_arrays, batches, *, mean, std):
    """BatchNorm statistics of the subnet ``arch_arrays`` re-estimated on ``batches``.

    ``batches``: iterable of uint8 ``[B, H, W, C]`` arrays (or ``(images, labels, ...)``
    tuples, labels unused), without augmentation. Batch ``i`` (from 0) updates the running
    statistics with momentum ``i / (i + 1)``, so after n batches they are the plain mean of
    the n batch statistics (the first batch replaces the old values). Pure: returns a new
    full ``nnx.State``; parameters are unchanged. Compiles once per batch shape.
    """
    for i, batch in enumerate(batches):
        images = batch[0] if isinstance(batch, tuple) else batch
        state = _bn_update(state, jnp.asarray(images), arch_arrays, jnp.float32(i / (i + 1)),
                           graphdef=graphdef, mean=tuple(mean), std=tuple(std))
    return state


def calibration_batches(images, batch_size: int, n: int) -> tuple:
    """The first ``n`` non-empty batches of ``images`` (uint8 ``[N, H, W, C]``, or a split:
    a streamed split decodes them, centre-cropped at its resolution), unaugmented: what
    :func:`recalibrate_bn` re-estimates a subnet's statistics on."""
    if getattr(images, "streaming", False):
        return images.calibration(batch_size, n)
    if hasattr(images, "images"):
        images = images.images
    return tuple(images[i * batch_size:(i + 1) * batch_size] for i in range(n) if i * batch_size < len(images))
