"""The algorithm contract shared by NSGA-II, regularized evolution and random search.

An algorithm is a :class:`SearchAlgorithm`: three pure functions over an explicit NamedTuple
state (optax style)::

    state = algo.init(key)                     # key: JAX PRNG key (typed or raw uint32[2])
    state, archs = algo.ask(state)             # canonical, never-seen architectures to evaluate
    state = algo.tell(state, archs, F, cv)     # F: float [n, m] minimised objectives, cv: [n]

``ask`` draws its randomness from ``fold_in(key, generation)``, ``tell`` advances the
generation, so a state restored from a checkpoint continues exactly like the original run.
States hold only NumPy arrays, tuples of :class:`Arch` and ints, so they save as JSON (:mod:`nas.search.state_codec`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class SearchAlgorithm(NamedTuple):
    init: Callable
    ask: Callable
    tell: Callable


def raw_key(key) -> np.ndarray:
    """A JAX key (typed or raw) as a NumPy ``uint32[2]`` array."""
    import jax

    if hasattr(key, "dtype") and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.asarray(key, dtype=np.uint32).reshape(2)


def generation_rng(key: np.ndarray, generation: int) -> np.random.Generator:
    """The generator for one generation: seeded by ``fold_in(key, generation)``."""
    import jax

    folded = jax.random.fold_in(np.asarray(key, dtype=np.uint32), int(generation))
    return np.random.default_rng(np.asarray(folded, dtype=np.uint32).ravel().tolist())


def check_told(archs, F, cv, m: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``tell`` inputs; returns ``F`` as ``[n, m]`` float and ``cv`` as ``[n]``
    (a ``[n, c]`` violation matrix is summed over constraints)."""
    F = np.asarray(F, dtype=np.float64).reshape(len(archs), -1)
    if m is not None and F.shape[1] != m:
        raise ValueError(f"expected {m} objectives per architecture, got {F.shape[1]}")
    cv = np.asarray(cv, dtype=np.float64).reshape(len(archs), -1).sum(axis=1)
    if np.any(cv < 0):
        raise ValueError("violations must be >= 0")
    return F, cv
