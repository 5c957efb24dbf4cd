"""How a model is called: the one place that knows supernet vs static-network signatures.

``forward(model, x, arch, *, train, bn_momentum=None) -> logits``. The supernet takes the
architecture as int32 arrays (``Supernet.__call__(x, arch_arrays, train=, bn_momentum=)``);
a static network ignores ``arch`` (``StaticNet.__call__(x, train=)``).
"""
from __future__ import annotations

import numpy as np


def supernet_forward(model, x, arch, *, train: bool, bn_momentum=None):
    return model(x, arch, train=train, bn_momentum=bn_momentum)


def static_forward(model, x, arch, *, train: bool, bn_momentum=None):
    del arch, bn_momentum
    return model(x, train=train)


def no_arch(k: int = 1) -> dict:
    """Placeholder stacked architecture arrays for static networks (``k`` identical entries)."""
    return {"none": np.zeros((k,), np.int32)}


def stack_archs(arch_arrays: list[dict]) -> dict:
    """List of per-subnet ``{name: array}`` -> ``{name: array[K, ...]}`` (host NumPy)."""
    return {k: np.stack([np.asarray(a[k]) for a in arch_arrays]) for k in arch_arrays[0]}

