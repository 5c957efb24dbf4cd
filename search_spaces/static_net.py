"""A plain flax.nnx network built from any :class:`nas.search_spaces.layers.NetSpec`.

It is what gets exported (ONNX, Orbax), measured for latency, trained from scratch, and what
:func:`nas.search_spaces.extract.extract_subnet` returns. Its ``nnx.Param`` count equals
``net_stats(spec).params``; BatchNorm running statistics are ``nnx.BatchStat`` buffers.
"""
from __future__ import annotations

import jax
from flax import nnx

from nas.search_spaces.blocks import ConvBN, DenseLayer, GlobalPoolLayer, MBConvBlock, SkipLayer
from nas.search_spaces.layers import ConvBlock, Dense, GlobalPool, MBConv, NetSpec, SkipBlock, expand_ops
from nas.search_spaces.ops import resolve_backend


def build_block(b, c_in: int, *, rngs: nnx.Rngs, backend: str | None):
    """The nnx module of one layer-language block whose input has ``c_in`` channels."""
    if isinstance(b, ConvBlock):
        return ConvBN(c_in, b.c_out, b.kernel, b.stride, b.groups, b.act, rngs=rngs, backend=backend)
    if isinstance(b, MBConv):
        return MBConvBlock(c_in, b, rngs=rngs, backend=backend)
    if isinstance(b, SkipBlock):
        return SkipLayer(c_in, b, rngs=rngs, backend=backend)
    if isinstance(b, GlobalPool):
        return GlobalPoolLayer()
    if isinstance(b, Dense):
        return DenseLayer(c_in, b.c_out, b.act, b.bias, rngs=rngs)
    raise TypeError(f"unknown block {b!r}")


class StaticNet(nnx.Module):
    """The network of ``spec`` with real (unmasked) shapes.

    Args:
      spec: the network; ``spec.input_shape`` is (H, W, C) (other resolutions also run).
      rngs: parameter initialisation keys.
      backend: conv implementation (:func:`nas.search_spaces.ops.resolve_backend`); use
        ``"native"`` for export so only standard convolutions appear.

    ``__call__(x, *, train=False, bn_momentum=None)``: x float32 [N, H, W, C] -> logits
    [N, num_classes]. ``train=True`` normalises with batch statistics and updates the running
    statistics (see :class:`nas.search_spaces.blocks.BatchNorm` for ``bn_momentum``).
    """

    def __init__(self, spec: NetSpec, *, rngs: nnx.Rngs, backend: str | None = None):
        expand_ops(spec)  # validates the spec (raises ValueError on inconsistent blocks)
        self.spec = spec
        self.backend = resolve_backend(backend)
        layers, c = [], spec.input_shape[2]
        for b in spec.blocks:
            layers.append(build_block(b, c, rngs=rngs, backend=self.backend))
            if not isinstance(b, GlobalPool):
                c = b.c_out
        self.layers = nnx.List(layers)

    def __call__(self, x: jax.Array, *, train: bool = False, bn_momentum=None) -> jax.Array:
        for layer in self.layers:
            x = layer(x, train=train, momentum=bn_momentum)
        return x


def num_params(model: nnx.Module) -> int:
    """Number of trainable parameters (``nnx.Param`` elements) of a module."""
    return sum(int(v.size) for v in jax.tree.leaves(nnx.state(model, nnx.Param)))


__all__ = ["StaticNet", "build_block", "num_params"]
