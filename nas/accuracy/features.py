"""Features of architectures for accuracy predictors.

Encodings, each named in the predictor file that uses it:

* ``onehot_v1`` (every space): for an elastic MBConv space, per block slot the one-hot of its
  kernel and of its expansion when the slot is active (zeros when the stage's depth leaves it
  out, so an inactive gene carries nothing), the one-hot of each stage's depth and of the
  resolution; for any other space, the one-hot of every gene with more than one choice.
* ``onehot_macs_v1`` (every space, the default of ``nas accuracy fit``): ``onehot_v1`` and one more
  column, ``MACS_WEIGHT x t`` where ``t`` in [0, 1] places the network's log MACs between the
  space's smallest and largest network's. Accuracy grows with compute: with this column a predictor
  fitted on 50 rows ranks like one fitted on 200 without it (docs/benchmarks/search.md).
* ``ofa_v1`` (``ofa_mbv3`` / ``ofa_mbv3_w12``): Once-for-All's 128 features, the encoding of its
  published accuracy predictor: 20 slots x 3 kernel one-hots, 20 x 3 expansion one-hots (inactive
  slots zero), then 8 resolution one-hots at ``(r - 112) // 16``.
"""
from __future__ import annotations

import numpy as np

from nas.errors import InputError

ENCODINGS = ("onehot_v1", "onehot_macs_v1", "ofa_v1")
MACS_WEIGHT = 12.0


def _elastic(space) -> bool:
    return hasattr(space, "cfg") and hasattr(space, "slots")


def _onehot(values: np.ndarray, choices) -> np.ndarray:
    return (values[..., None] == np.asarray(choices)[None, :]).astype(np.float64)


def onehot_features(space, archs) -> np.ndarray:
    """``onehot_v1`` features ``float [n, d]`` of ``archs`` (all of ``space``)."""
    if not _elastic(space):
        X = np.stack([space.to_indices(a) for a in archs]).astype(np.int64) if archs else \
            np.zeros((0, space.num_genes), np.int64)
        cols = [_onehot(X[:, g], np.arange(c)) for g, c in enumerate(space.cardinalities) if c > 1]
        return np.concatenate(cols, axis=1) if cols else np.zeros((len(X), 0))
    c = space.cfg
    rows = []
    for a in archs:
        ks, e, d, r = space.decode(a)
        active = (np.arange(space.slots)[None, :] < d[:, None]).ravel()[:, None]
        widths = [_onehot(space.widths(a), space.fields[3].choices).ravel()] if space.elastic_width else []
        rows.append(np.concatenate([
            (_onehot(ks.ravel(), c.kernels) * active).ravel(), (_onehot(e.ravel(), c.expands) * active).ravel(),
            _onehot(d, c.depths).ravel(), *widths, _onehot(np.array([r]), c.resolutions).ravel()]))
    width = len(c.stages) * (space.slots * (len(c.kernels) + len(c.expands)) + len(c.depths)) + len(c.resolutions)
    if space.elastic_width:
        width += len(c.stages) * len(space.fields[3].choices)
    return np.stack(rows) if rows else np.zeros((0, width))


OFA_KERNELS, OFA_EXPANDS, OFA_SLOTS = (3, 5, 7), (3, 4, 6), 20


def ofa_features(space, archs) -> np.ndarray:
    """``ofa_v1`` features ``float [n, 128]``; InputError for a space or resolution it cannot encode."""
    if not _elastic(space) or space.cfg.kernels != OFA_KERNELS or space.cfg.expands != OFA_EXPANDS \
            or len(space.cfg.stages) * space.slots != OFA_SLOTS:
        raise InputError(f"space {space.name}: Once-for-All's predictor encoding describes its MobileNetV3 "
                         "spaces only (ofa_mbv3, ofa_mbv3_w12)")
    out = np.zeros((len(archs), 128))
    for i, a in enumerate(archs):
        ks, e, d, r = space.decode(a)
        active = (np.arange(space.slots)[None, :] < d[:, None]).ravel()
        slot = np.flatnonzero(active)
        out[i, slot * 3 + np.searchsorted(OFA_KERNELS, ks.ravel()[slot])] = 1
        out[i, 60 + slot * 3 + np.searchsorted(OFA_EXPANDS, e.ravel()[slot])] = 1
        if not 112 <= r < 240:
            raise InputError(f"resolution {r}: Once-for-All's predictor encodes 112..239 only")
        out[i, 120 + (r - 112) // 16] = 1
    return out


def macs_position(space, archs) -> np.ndarray:
    """``t [n]``: log MACs of each network between the space's smallest (0) and largest (1)."""
    from nas.search_spaces import arch_stats

    lo, hi = (np.log(arch_stats(a).macs) for a in (space.smallest(), space.largest()))
    lm = np.log([arch_stats(a).macs for a in archs]) if archs else np.zeros(0)
    return (lm - lo) / max(hi - lo, 1e-12)


def features(encoding: str, space, archs) -> np.ndarray:
    if encoding == "onehot_v1":
        return onehot_features(space, archs)
    if encoding == "onehot_macs_v1":
        return np.column_stack([onehot_features(space, archs), MACS_WEIGHT * macs_position(space, archs)])
    if encoding == "ofa_v1":
        return ofa_features(space, archs)
    raise InputError(f"unknown feature encoding {encoding!r} (known: {', '.join(ENCODINGS)})")
