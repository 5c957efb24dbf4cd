"""Batches on the host, augmentation and normalisation in JAX on the device.

Training batches are a pure function of ``(seed, step)``: epoch ``e`` visits the training
split in the order of a permutation seeded by ``(seed, e)`` and drops the remainder, so a run
resumed at step ``s`` sees exactly the batches an uninterrupted run sees. Evaluation batches
keep the split's order; the last one is padded and comes with a 0/1 mask.
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from nas.errors import InputError


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Full batches per epoch; InputError when the split is smaller than one batch."""
    if num_examples < batch_size:
        raise InputError(f"batch_size: {batch_size} is larger than the training split "
                         f"({num_examples} examples)")
    return num_examples // batch_size


def epoch_permutation(num_examples: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(num_examples)


def train_batches(split, batch_size: int, *, seed: int, start_step: int = 0, resolutions=None,
                  augment: bool = True, process_index: int = 0, process_count: int = 1
                  ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Endless ``(step, images uint8 [B,H,W,C], labels int32 [B])`` from ``start_step`` on.

    A streamed split (:class:`nas.data.stream.StreamSplit`) yields only this process's slice of
    each global batch (``B / process_count`` examples, decoded and augmented in its workers, at
    the step's resolution among ``resolutions``, with random-resized crops and flips when
    ``augment``); an in-memory split yields the global batch (augmented on the device).
    """
    if getattr(split, "streaming", False):
        yield from split.train_batches(batch_size, seed=seed, start_step=start_step, resolutions=resolutions,
                                       augment=augment, process_index=process_index, process_count=process_count)
        return
    spe = steps_per_epoch(len(split), batch_size)
    step, cached = start_step, (None, None)
    while True:
        epoch, i = divmod(step, spe)
        if cached[0] != epoch:
            cached = (epoch, epoch_permutation(len(split), seed, epoch))
        idx = np.sort(cached[1][i * batch_size:(i + 1) * batch_size])
        yield step, split.images[idx], split.labels[idx]
        step += 1


def eval_batches(split, batch_size: int, max_batches: int = 0
                 ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(images, labels, mask)`` in split order, every batch of size ``batch_size``.

    The last batch is padded with copies of the first example; ``mask`` (float32 ``[B]``) is
    0 on padding. ``max_batches > 0`` stops early. A streamed split decodes at its resolution.
    """
    if getattr(split, "streaming", False):
        yield from split.eval_batches(batch_size, max_batches)
        return
    n = len(split)
    count = -(-n // batch_size)
    if max_batches > 0:
        count = min(count, max_batches)
    for b in range(count):
        lo, hi = b * batch_size, min((b + 1) * batch_size, n)
        x, y = split.images[lo:hi], split.labels[lo:hi]
        mask = np.ones(batch_size, np.float32)
        if hi - lo < batch_size:
            pad = batch_size - (hi - lo)
            x = np.concatenate([x, np.repeat(split.images[:1], pad, 0)])
            y = np.concatenate([y, np.repeat(split.labels[:1], pad, 0)])
            mask[hi - lo:] = 0.0
        yield x, y, mask


def _augment_one(key, image, pad: int, flip: bool):
    h, w, _ = image.shape
    k_crop, k_flip = jax.random.split(key)
    padded = jnp.pad(image, ((pad, pad), (pad, pad), (0, 0)))
    dy, dx = jax.random.randint(k_crop, (2,), 0, 2 * pad + 1)
    out = jax.lax.dynamic_slice(padded, (dy, dx, 0), image.shape)
    if flip:
        out = jnp.where(jax.random.bernoulli(k_flip), out[:, ::-1, :], out)
    return out


def augment_images(key, images, *, pad: int = 2, flip: bool = True):
    """Random crop after zero padding by ``pad`` pixels, then random horizontal flip.

    ``images``: ``[B, H, W, C]`` (any dtype, unchanged); each example uses its own key
    ``jax.random.split(key, B)[i]``, so the result is a pure function of ``key``.
    """
    keys = jax.random.split(key, images.shape[0])
    return jax.vmap(partial(_augment_one, pad=pad, flip=flip))(keys, images)


def normalize(images, mean, std):
    """uint8 ``[B, H, W, C]`` -> float32 ``(x / 255 - mean) / std`` (per-channel mean/std)."""
    x = images.astype(jnp.float32) / 255.0
    return (x - jnp.asarray(mean, jnp.float32)) / jnp.asarray(std, jnp.float32)


augment = jax.jit(augment_images, static_argnames=("pad", "flip"))
