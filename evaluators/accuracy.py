"""Supernet accuracy of subnets on the validation split: inherited weights + BN recalibration.

For every architecture: :func:`nas.train.evaluate.subnet_accuracy` (the same scoring supernet
training reports), i.e. the supernet's BatchNorm statistics re-estimated for that subnet on
``bn_batches`` training batches, then top-1 accuracy on the first ``eval_batches`` validation
batches.
The architecture reaches the compiled functions as integer arrays (``model.arch_arrays``), so
one compile serves every subnet. Deterministic: fixed batches, no randomness.

:class:`SupernetBundle` is what a Ray pool puts in the object store once: graph definition,
weights as host NumPy arrays, the validation split and the recalibration batches.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from search_spaces import Arch


@dataclass(frozen=True)
class SupernetBundle:
    graphdef: object  # flax.nnx GraphDef of the supernet
    state: object  # its full nnx.State, leaves as NumPy arrays
    val: object  # nas.data.Split (uint8 images, int32 labels)
    bn_batches: tuple  # uint8 image arrays [B, H, W, C] from the training split, no augmentation
    mean: tuple
    std: tuple
    calibration: object = None  # streamed data: the training split, decoded per resolution for recalibration
    bn_count: int = 0
    batch_size: int = 256

    @classmethod
    def from_state(cls, graphdef, state, dataset, *, bn_batches: int = 4,
                   batch_size: int = 256) -> SupernetBundle:
        """Bundle a trained supernet (``nnx.split`` pair, e.g. from :func:`nas.train.load_supernet`)
        with a :class:`nas.data.Dataset`: the first ``bn_batches`` training batches recalibrate."""
        import jax

        from nas.train.bn import calibration_batches

        state = jax.tree.map(np.asarray, jax.device_get(state))
        if getattr(dataset, "streaming", False):  # decoded at each architecture's resolution, when evaluated
            return cls(graphdef, state, dataset.val, (), tuple(dataset.mean), tuple(dataset.std),
                       dataset.train, bn_batches, batch_size)
        batches = calibration_batches(dataset.train.images, batch_size, bn_batches)
        return cls(graphdef, state, dataset.val, batches, tuple(dataset.mean), tuple(dataset.std))


def _resize(images: np.ndarray, r: int) -> np.ndarray:
    """uint8 ``[N, H, W, C]`` -> uint8 ``[N, r, r, C]`` (bilinear)."""
    import jax

    out = jax.image.resize(images.astype(np.float32), (images.shape[0], r, r, images.shape[3]), "bilinear")
    return np.clip(np.rint(np.asarray(out)), 0, 255).astype(np.uint8)


class SupernetAccuracyEvaluator:
    """``{"accuracy": top-1 in [0, 1]}`` per architecture (see module doc)."""

    provides = ("accuracy",)

    def __init__(self, bundle: SupernetBundle, *, eval_batches: int = 4, batch_size: int = 256):
        import jax
        import jax.numpy as jnp
        from flax import nnx

        self.bundle = bundle
        self.state = jax.tree.map(jnp.asarray, bundle.state)
        self.model = nnx.merge(bundle.graphdef, self.state)  # for arch_arrays only
        self.eval_batches, self.batch_size = eval_batches, batch_size
        self.space = self.model.space if hasattr(self.model, "space") else None
        self._resized: dict = {}

    def _data_at(self, arch: Arch):
        """Validation split and BN batches at the architecture's input resolution (bilinear
        resize of the stored images when it differs; cached per resolution)."""
        b = self.bundle
        if b.calibration is not None:  # streamed: decode at the architecture's own resolution
            r = int(self.space.decode(arch)[3]) if hasattr(self.space, "decode") else b.val.resolution
            if r not in self._resized:
                from nas.train.bn import calibration_batches

                while len(self._resized) >= 4:  # bounded: recalibration batches of 4 resolutions
                    self._resized.pop(next(iter(self._resized)))
                self._resized[r] = (b.val.at(r), calibration_batches(b.calibration.at(r), b.batch_size, b.bn_count))
            return self._resized[r]
        r = int(self.space.decode(arch)[3]) if hasattr(self.space, "decode") else b.val.images.shape[1]
        if r == b.val.images.shape[1]:
            return b.val, b.bn_batches
        if r not in self._resized:
            from nas.data import Split

            self._resized[r] = (Split(_resize(b.val.images, r), b.val.labels),
                                tuple(_resize(x, r) for x in b.bn_batches))
        return self._resized[r]

    def accuracy(self, arch: Arch) -> float:
        from nas.train.evaluate import subnet_accuracy

        b = self.bundle
        val, bn_batches = self._data_at(arch)
        return float(subnet_accuracy(b.graphdef, self.state, self.model.arch_arrays(arch), val, bn_batches,
                                     mean=b.mean, std=b.std, batch_size=self.batch_size,
                                     max_batches=self.eval_batches))

    def evaluate(self, archs: Sequence[Arch]) -> list[dict]:
        return [{"accuracy": self.accuracy(a)} for a in archs]
