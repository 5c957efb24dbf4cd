"""The layer language shared by search spaces, reference models, cost model and predictor.

A network is a :class:`NetSpec`: an input shape and a sequence of blocks. Blocks are the
vocabulary of MobileNet/EfficientNet-style networks:

* :class:`ConvBlock`  -- k x k convolution (optionally grouped) + BatchNorm + activation
* :class:`MBConv`     -- inverted residual: [1x1 expand (groups g) + BN + act] [channel shuffle]
                         k x k depthwise + BN + act, [squeeze-excite], 1x1 project (groups g) + BN,
                         residual add when stride == 1 and c_in == c_out
* :class:`SkipBlock`  -- identity, or 1x1 conv + BN + ReLU when stride or width changes
* :class:`GlobalPool` -- global average pooling to a vector
* :class:`Dense`      -- fully connected layer, with bias unless ``bias=False`` (+ activation)

:func:`expand_ops` turns a NetSpec into primitive :class:`Op` records carrying shapes, MACs,
parameters and the tensor sizes needed for peak-memory accounting; the cost model and the
latency predictor read only those records. Spatial padding is "same": out = ceil(in / stride).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

ACTIVATIONS = ("none", "relu", "relu6", "hswish", "swish")
BYTES_PER_ELEMENT = 4  # float32


@dataclass(frozen=True)
class ConvBlock:
    c_out: int
    kernel: int
    stride: int = 1
    act: str = "relu"
    groups: int = 1


@dataclass(frozen=True)
class MBConv:
    c_out: int
    kernel: int
    stride: int
    mid: int  # expanded channels
    act: str = "relu"
    se_mid: int = 0  # squeeze channels of squeeze-excite; 0 = no SE
    groups: int = 1  # groups of the 1x1 expand / project convs
    expand: bool = True  # False: no 1x1 expand conv (requires mid == c_in)
    se_act: str = "hsigmoid"  # gate of the SE block: "hsigmoid" (MobileNetV3) or "sigmoid"
    se_inner_act: str = "relu"
    # residual add: None derives it (stride 1 and c_in == c_out); False has none (a space with
    # elastic width: a stage's first block, whose input width may equal its output only by chance)
    skip: bool | None = None

    def has_residual(self, c_in: int) -> bool:
        return (self.stride == 1 and self.c_out == c_in) if self.skip is None else self.skip


@dataclass(frozen=True)
class SkipBlock:
    c_out: int
    stride: int = 1


@dataclass(frozen=True)
class GlobalPool:
    pass


@dataclass(frozen=True)
class Dense:
    c_out: int
    act: str = "none"
    bias: bool = True


Block = ConvBlock | MBConv | SkipBlock | GlobalPool | Dense


@dataclass(frozen=True)
class NetSpec:
    """A whole network: input shape (H, W, C) and blocks in execution order."""

    input_shape: tuple[int, int, int]
    blocks: tuple[Block, ...]

    @property
    def num_classes(self) -> int:
        return self.blocks[-1].c_out


@dataclass(frozen=True)
class Op:
    """One primitive operation with its shapes and costs (batch 1).

    kind: "conv" (dense or grouped k x k, including 1x1), "dwconv" (depthwise), "se"
    (squeeze-excite: pool, two dense layers, channel-wise multiply), "pool" (global average),
    "dense" (fully connected), "shuffle" (channel shuffle, no arithmetic).
    ``held_bytes`` are bytes of other tensors that must stay alive while this op runs (the
    input of a residual block); ``residual`` marks a project conv whose output is accumulated
    with the block input in place.
    """

    kind: str
    h_in: int
    w_in: int
    c_in: int
    h_out: int
    w_out: int
    c_out: int
    kernel: int = 1
    stride: int = 1
    groups: int = 1
    act: str = "none"
    macs: int = 0
    params: int = 0
    held_bytes: int = 0
    residual: bool = False
    block_index: int = 0

    @property
    def in_bytes(self) -> int:
        return self.h_in * self.w_in * self.c_in * BYTES_PER_ELEMENT

    @property
    def out_bytes(self) -> int:
        return self.h_out * self.w_out * self.c_out * BYTES_PER_ELEMENT

    @property
    def weight_bytes(self) -> int:
        return self.params * BYTES_PER_ELEMENT

    @property
    def live_bytes(self) -> int:
        """Bytes that must be resident while this op runs: input, output and held tensors."""
        return self.in_bytes + self.out_bytes + self.held_bytes


def _out(size: int, stride: int) -> int:
    return math.ceil(size / stride)


def _conv(h, w, c_in, c_out, k, s, groups, act, bn=True, bias=False, held=0, residual=False, bi=0):
    ho, wo = _out(h, s), _out(w, s)
    kind = "dwconv" if groups == c_in == c_out and groups > 1 else "conv"
    macs = ho * wo * k * k * (c_in // groups) * c_out
    params = k * k * (c_in // groups) * c_out + (2 * c_out if bn else 0) + (c_out if bias else 0)
    return Op(kind, h, w, c_in, ho, wo, c_out, k, s, groups, act, macs, params, held, residual, bi)


def expand_ops(spec: NetSpec) -> list[Op]:
    """Primitive ops of a network in execution order (batch 1).

    BatchNorm contributes 2 parameters per channel (scale, bias; running statistics are
    buffers, not parameters) and no MACs. MACs count multiply-accumulates of convolutions and
    dense layers, including the two dense layers of squeeze-excite.
    """
    h, w, c = spec.input_shape
    ops: list[Op] = []
    for bi, b in enumerate(spec.blocks):
        if isinstance(b, ConvBlock):
            ops.append(_conv(h, w, c, b.c_out, b.kernel, b.stride, b.groups, b.act, bi=bi))
            h, w, c = ops[-1].h_out, ops[-1].w_out, b.c_out
        elif isinstance(b, MBConv):
            if not b.expand and b.mid != c:
                raise ValueError(f"block {bi}: MBConv without expand needs mid == c_in ({b.mid} != {c})")
            residual = b.has_residual(c)
            held = h * w * c * BYTES_PER_ELEMENT if residual else 0
            if b.expand:
                # the expand conv reads the held tensor itself: nothing extra is held
                ops.append(_conv(h, w, c, b.mid, 1, 1, b.groups, b.act, bi=bi))
                if b.groups > 1:
                    ops.append(Op("shuffle", h, w, b.mid, h, w, b.mid, held_bytes=held, block_index=bi))
            dw_held = held if b.expand else 0
            ops.append(_conv(h, w, b.mid, b.mid, b.kernel, b.stride, b.mid, b.act, held=dw_held, bi=bi))
            ho, wo = ops[-1].h_out, ops[-1].w_out
            if b.se_mid:
                se_params = b.mid * b.se_mid + b.se_mid + b.se_mid * b.mid + b.mid
                ops.append(Op("se", ho, wo, b.mid, ho, wo, b.mid, act=b.se_act,
                              macs=2 * b.mid * b.se_mid, params=se_params, held_bytes=held,
                              block_index=bi))
            ops.append(_conv(ho, wo, b.mid, b.c_out, 1, 1, b.groups, "none", held=held,
                             residual=residual, bi=bi))
            h, w, c = ho, wo, b.c_out
        elif isinstance(b, SkipBlock):
            if b.stride != 1 or b.c_out != c:
                ops.append(_conv(h, w, c, b.c_out, 1, b.stride, 1, "relu", bi=bi))
                h, w, c = ops[-1].h_out, ops[-1].w_out, b.c_out
        elif isinstance(b, GlobalPool):
            ops.append(Op("pool", h, w, c, 1, 1, c, block_index=bi))
            h, w = 1, 1
        elif isinstance(b, Dense):
            ops.append(Op("dense", 1, 1, c, 1, 1, b.c_out, act=b.act, macs=c * b.c_out,
                          params=c * b.c_out + (b.c_out if b.bias else 0), block_index=bi))
            c = b.c_out
        else:  # pragma: no cover - exhaustive over Block
            raise TypeError(f"unknown block {b!r}")
    return ops


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of ``divisor`` without going below 90% (MobileNet rule)."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


__all__ = [
    "ACTIVATIONS", "BYTES_PER_ELEMENT", "Block", "ConvBlock", "Dense", "GlobalPool", "MBConv",
    "NetSpec", "Op", "SkipBlock", "expand_ops", "make_divisible",
]
