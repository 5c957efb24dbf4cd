"""Space-specific architecture encodings for the log-linear space models (:mod:`nas.latency.transfer`).

``transfer_features(archs)`` is ``[n, NUM_FEATURES + enc_dim(space)]``: the physics features of
:mod:`nas.latency.features` on a fixed reference device (``REFERENCE_HW``: batch 1, so they are
structural quantities: launch counts, MACs and bytes per op class) followed by a one-hot encoding
of the space's choices. Encodings exist for spaces with a fixed choice layout:

- ``fbnet``: one-hot of the op (9 choices) at each of the 22 positions (198 columns);
- ``ofa_mbv3``: for each of the 20 slots, one-hot of (kernel, expansion) if the slot is active
  (its stage depth reaches it), once plain and once times ``(r / 224)^2`` (360 columns), plus a
  one-hot of the resolution (25 columns).

Other spaces (e.g. ``fashion_mnist``) have no encoding: ``enc_dim`` is None and profiles predict
them with the space-agnostic physics weights only.
"""
from __future__ import annotations

import numpy as np

from nas.latency.features import Hardware, arch_features

REFERENCE_HW = Hardware(1, 1000.0, 100.0)
ENCODING_NAME = "physics_ref+onehot_v1"
_KS = {3: 0, 5: 1, 7: 2}
_E = {3: 0, 4: 1, 6: 2}
_DIMS = {"fbnet": 22 * 9, "ofa_mbv3": 2 * 20 * 9 + 25}


def enc_dim(space: str) -> int | None:
    """Number of one-hot columns of ``space``'s encoding, or None when it has none."""
    return _DIMS.get(space)


def _fbnet(g: np.ndarray) -> np.ndarray:
    x = np.zeros((len(g), 22 * 9))
    rows = np.arange(len(g))
    for p in range(22):
        x[rows, p * 9 + g[:, p]] = 1.0
    return x


def _ofa(g: np.ndarray) -> np.ndarray:
    ks, e, d, r = g[:, :20], g[:, 20:40], g[:, 40:45], g[:, 45]
    active = (np.arange(4)[None, None, :] < d[:, :, None]).reshape(len(g), 20)
    idx = np.vectorize(_KS.__getitem__)(ks) * 3 + np.vectorize(_E.__getitem__)(e)
    x = np.zeros((len(g), 180))
    rows = np.arange(len(g))
    for p in range(20):
        x[rows, p * 9 + idx[:, p]] = active[:, p]
    res = np.zeros((len(g), 25))
    res[rows, np.clip((r - 128) // 4, 0, 24)] = 1.0
    return np.hstack([x, x * ((r / 224.0) ** 2)[:, None], res])


def transfer_features(archs) -> np.ndarray:
    """``[n, NUM_FEATURES + enc_dim]`` features of same-space ``archs`` (ValueError if the space
    has no encoding or archs mix spaces)."""
    archs = list(archs)
    spaces = {a.space for a in archs}
    if len(spaces) != 1 or enc_dim(next(iter(spaces))) is None:
        raise ValueError(f"no single encodable space among {sorted(spaces)}")
    space = spaces.pop()
    g = np.array([a.genes for a in archs], dtype=np.int64)
    enc = _fbnet(g) if space == "fbnet" else _ofa(g)
    return np.hstack([arch_features(archs, REFERENCE_HW), enc])
