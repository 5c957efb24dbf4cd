"""Analytic cost model: MACs, FLOPs, parameters and peak activation memory of a network.

Definitions (batch 1, float32):

* ``macs``: multiply-accumulates of all convolutions and dense layers, including the two dense
  layers of squeeze-excite. BatchNorm, activations, pooling and residual adds are not counted.
* ``flops`` = 2 x ``macs``.
* ``params``: trainable parameters: conv/dense weights, biases, BatchNorm scale and bias
  (running statistics are buffers, not parameters).
* ``peak_activation_bytes``: the largest, over ops in execution order, of the bytes that must be
  live at once while the op runs: its input tensor, its output tensor, and any tensor held for
  a residual connection (the block input, held from the block's start until the project conv,
  whose output is accumulated with it in place). Weights are not counted. Squeeze-excite reads
  and writes a tensor of its input's size. 4 bytes per element.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from nas.search_spaces.layers import NetSpec, Op, expand_ops


@dataclass(frozen=True)
class CostStats:
    macs: int
    flops: int
    params: int
    peak_activation_bytes: int

    def to_dict(self) -> dict:
        return asdict(self)


def stats_from_ops(ops: list[Op]) -> CostStats:
    macs = sum(op.macs for op in ops)
    return CostStats(
        macs=macs,
        flops=2 * macs,
        params=sum(op.params for op in ops),
        peak_activation_bytes=max(op.live_bytes for op in ops),
    )


def net_stats(spec: NetSpec) -> CostStats:
    """Costs of a network given in the layer language."""
    return stats_from_ops(expand_ops(spec))


def arch_stats(arch) -> CostStats:
    """Costs of an architecture of any registered search space."""
    from nas.search_spaces.registry import get_space

    return stats_from_ops(get_space(arch.space).layers(arch))
