"""Shared test set-up: a persistent JAX compilation cache and a tiny in-memory dataset."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".cache" / "jax"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def synthetic_images(n: int, *, seed: int, shape=(28, 28, 1), num_classes: int = 10):
    """Learnable uint8 images: a class-specific bright square on noise; labels int32 [n]."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, n).astype(np.int32)
    h, w, c = shape
    x = rng.integers(0, 60, (n, h, w, c)).astype(np.uint8)
    for i, y in enumerate(labels):
        r, q = divmod(int(y), 4)
        x[i, 2 + 6 * r:8 + 6 * r, 2 + 6 * q:8 + 6 * q, :] = 220
    return x, labels


@pytest.fixture(scope="session")
def tiny_dataset():
    """nas.data.Dataset of 28x28x1 images, 10 classes: 192 train, 64 val, 64 test."""
    from nas.data import make_dataset

    return make_dataset("tiny", synthetic_images(256, seed=0), synthetic_images(64, seed=1),
                        num_classes=10, val_size=64, seed=0)
