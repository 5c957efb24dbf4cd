"""Physics features of an architecture for latency prediction, built from its op list only.

Features are computed from :class:`nas.search_spaces.layers.Op` records, so they are the same for
every search space (a predictor fitted on ``fbnet`` measurements can rank ``fashion_mnist``
subnets). Given a device's batch size ``B``, peak rate ``P`` (GFLOP/s) and memory bandwidth
``W`` (GB/s), every feature is either a count (per-launch overheads) or a time in ms that an
ideal device would need, so a fitted weight is an overhead per launch (ms) or an inverse
efficiency (dimensionless) -- quantities that transfer between devices.

Per op: ``flops = 2 * macs * B``; ``bytes = B * (in_bytes + out_bytes) + weight_bytes``;
roofline time ``max(flops / P, bytes / W)``. Roofline, compute (``flops / P``) and memory
(``bytes / W``) times are summed per op class (1x1 conv, k x k conv, depthwise k=3/5/7,
squeeze-excite, other) because efficiency differs by class. Element-wise work (activations,
residual adds, h-swish) is memory traffic ``B * out_bytes / W``. ``channels_k`` counts output
channels of convolutions (per-channel overheads such as BatchNorm).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from nas.search_spaces import Arch, get_space

FEATURE_NAMES: tuple[str, ...] = (
    "const",            # 1 per network (framework overhead, input copy)
    "n_conv1x1",        # launches
    "n_convkxk",
    "n_dwconv",
    "n_se",
    "n_other",          # pool, dense, shuffle
    "n_residual",
    "n_grouped",        # grouped (non-depthwise) convs
    # per op class (1x1 conv, k x k conv, depthwise k=3/5/7, squeeze-excite, other):
    *(f"{t}_{k}_ms" for k in ("conv1x1", "convkxk", "dw3", "dw5", "dw7", "se", "other")
      for t in ("roof", "compute", "memory")),
    "elem_hswish_ms",   # element-wise memory traffic
    "elem_other_ms",
    "weights_ms",       # weight bytes / bandwidth
    "input_ms",         # input tensor bytes / bandwidth
    "channels_k",       # output channels of all convs / 1000 (per-channel overheads)
)
NUM_FEATURES = len(FEATURE_NAMES)

# op table columns
_KIND = ("conv1x1", "convkxk", "dw3", "dw5", "dw7", "se", "other")
_COLS = {k: [FEATURE_NAMES.index(f"{t}_{k}_ms") for t in ("roof", "compute", "memory")]
         for k in _KIND}


@dataclass(frozen=True)
class Hardware:
    """What features need of a device: batch size, peak GFLOP/s, bandwidth GB/s."""

    batch_size: int
    peak_gflops: float
    bandwidth_gbs: float


def _op_class(op) -> str:
    if op.kind == "dwconv":
        return f"dw{op.kernel}" if op.kernel in (3, 5, 7) else ("dw3" if op.kernel < 5 else "dw7")
    if op.kind == "conv":
        return "conv1x1" if op.kernel == 1 else "convkxk"
    if op.kind == "se":
        return "se"
    return "other"


@dataclass(frozen=True)
class OpTable:
    """Per-op arrays of one network (batch 1): class index, MACs, activation and weight bytes."""

    cls: np.ndarray        # int, index into _KIND
    macs: np.ndarray       # float
    act_bytes: np.ndarray  # in + out bytes
    out_bytes: np.ndarray
    weight_bytes: np.ndarray
    hswish: np.ndarray     # bool: op followed by an h-swish/swish activation
    counts: np.ndarray     # NUM_FEATURES vector of the count features
    input_bytes: float


def op_table(ops) -> OpTable:
    """Collect the per-op quantities of an op list (batch independent)."""
    counts = np.zeros(NUM_FEATURES)
    counts[0] = 1.0
    cls, macs, act, out, wb, hs = [], [], [], [], [], []
    for op in ops:
        c = _op_class(op)
        cls.append(_KIND.index(c))
        macs.append(op.macs)
        act.append(op.in_bytes + op.out_bytes)
        out.append(op.out_bytes * (2 if op.residual else 1) if op.act != "none" or op.residual else 0)
        wb.append(op.weight_bytes)
        hs.append(op.act in ("hswish", "swish"))
        name = {"conv1x1": "n_conv1x1", "convkxk": "n_convkxk", "se": "n_se",
                "other": "n_other"}.get(c, "n_dwconv")
        counts[FEATURE_NAMES.index(name)] += 1
        counts[FEATURE_NAMES.index("n_residual")] += op.residual
        counts[FEATURE_NAMES.index("n_grouped")] += op.kind == "conv" and op.groups > 1
        if op.kind in ("conv", "dwconv"):
            counts[FEATURE_NAMES.index("channels_k")] += op.c_out / 1000.0
    first = ops[0]
    return OpTable(np.array(cls), np.array(macs, float), np.array(act, float), np.array(out, float),
                   np.array(wb, float), np.array(hs, bool), counts, float(first.in_bytes))


def features_from_table(t: OpTable, hw: Hardware) -> np.ndarray:
    """The NUM_FEATURES vector of one network on ``hw`` (times in ms, counts unitless)."""
    b = hw.batch_size
    flop_per_ms = hw.peak_gflops * 1e6
    byte_per_ms = hw.bandwidth_gbs * 1e6
    compute = 2.0 * t.macs * b / flop_per_ms
    memory = (b * t.act_bytes + t.weight_bytes) / byte_per_ms
    roof = np.maximum(compute, memory)
    f = t.counts.copy()
    for i, k in enumerate(_KIND):
        sel = t.cls == i
        f[_COLS[k]] = roof[sel].sum(), compute[sel].sum(), memory[sel].sum()
    elem = b * t.out_bytes / byte_per_ms
    f[FEATURE_NAMES.index("elem_hswish_ms")] = elem[t.hswish].sum()
    f[FEATURE_NAMES.index("elem_other_ms")] = elem[~t.hswish].sum()
    f[FEATURE_NAMES.index("weights_ms")] = t.weight_bytes.sum() / byte_per_ms
    f[FEATURE_NAMES.index("input_ms")] = b * t.input_bytes / byte_per_ms
    return f


@lru_cache(maxsize=65536)
def arch_table(arch: Arch) -> OpTable:
    """Op table of an architecture (cached: archs are hashable values)."""
    return op_table(get_space(arch.space).layers(arch))


def arch_features(archs, hw: Hardware) -> np.ndarray:
    """Feature matrix ``[len(archs), NUM_FEATURES]`` of architectures on ``hw``."""
    return np.stack([features_from_table(arch_table(a), hw) for a in archs]) if archs else \
        np.zeros((0, NUM_FEATURES))


def flops(archs) -> np.ndarray:
    """FLOPs (2 x MACs, batch 1) of each architecture, for baselines."""
    return np.array([2.0 * arch_table(a).macs.sum() for a in archs])
