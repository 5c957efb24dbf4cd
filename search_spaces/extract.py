"""``extract_subnet``: slice a masked supernet's weights into a static network (outside jit).

Every parameter and BatchNorm statistic of the subnet is the leading slice of the supernet's
array along each axis (first ``mid`` expanded channels, first ``se`` squeeze channels), except
the spatial axes of depthwise kernels, which take the centre ``k x k`` taps (or, in a space with
kernel transformation, the transformed ``k x k`` kernel). The result has the subnet's real
shapes and, in eval mode, computes what the masked supernet computes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import numpy as np
from flax import nnx

from nas.search_spaces.arch import Arch
from nas.search_spaces.static_net import StaticNet

if TYPE_CHECKING:  # pragma: no cover
    from nas.search_spaces.supernet import Supernet


def _slice_to(path, src, dst_shape):
    src = np.asarray(src)
    conv_w = getattr(path[-1], "key", None) == "w" and src.ndim == 4
    idx = []
    for ax, (n_src, n_dst) in enumerate(zip(src.shape, dst_shape)):
        start = (n_src - n_dst) // 2 if conv_w and ax < 2 else 0
        idx.append(slice(start, start + n_dst))
    out = src[tuple(idx)]
    if out.shape != tuple(dst_shape):
        raise ValueError(f"extract_subnet: cannot slice {src.shape} to {dst_shape} at {path}")
    return out


def copy_sliced(src: nnx.Module, dst: nnx.Module) -> None:
    """Copy every variable (params and batch stats) of ``src`` into ``dst``, sliced to dst's shapes.

    Both modules must have the same structure (same block class and sub-layers)."""
    src_tree = nnx.to_pure_dict(nnx.state(src))
    dst_state = nnx.state(dst)
    dst_tree = nnx.to_pure_dict(dst_state)
    new = jax.tree_util.tree_map_with_path(
        lambda p, d, s: jax.numpy.asarray(_slice_to(p, s, d.shape)), dst_tree, src_tree)
    nnx.replace_by_pure_dict(dst_state, new)
    nnx.update(dst, dst_state)


def extract_subnet(supernet: Supernet, arch: Arch, *, backend: str | None = None) -> StaticNet:
    """The static network of ``arch`` with weights and BN statistics sliced from ``supernet``.

    Args:
      supernet: a :class:`nas.search_spaces.supernet.Supernet`.
      arch: an architecture of ``supernet.space`` (ArchError otherwise).
      backend: conv implementation of the returned network (None: per platform).
    Returns a new :class:`StaticNet` for ``space.net_spec(arch)`` (input at resolution r).
    """
    space = supernet.space
    spec = space.net_spec(arch)
    # shapes only (no random initialisation): every variable is copied from the supernet below
    net = nnx.eval_shape(lambda: StaticNet(spec, rngs=nnx.Rngs(0), backend=backend))
    ks, _, d, _ = space.decode(arch)
    src = list(supernet.stem)
    transformed = []  # (position in src, kernel transform, kernel size)
    for i, stage in enumerate(supernet.stages):
        for j in range(int(d[i])):
            if supernet.kernel_transforms is not None:
                transformed.append((len(src) + j, supernet.kernel_transforms[i][j], int(ks[i, j])))
        src += list(stage)[: int(d[i])]
    src += list(supernet.head)
    if len(src) != len(net.layers):  # pragma: no cover - guarded by the space's net_spec
        raise ValueError("extract_subnet: supernet and subnet layer counts differ")
    for s, t in zip(src, net.layers):
        copy_sliced(s, t)
    for pos, transform, k in transformed:  # bake the transformed kernel in, sliced to mid channels
        w = transform.kernels(np.asarray(src[pos].dw.w[...]))[k]
        net.layers[pos].dw.w[...] = jax.numpy.asarray(w[..., : net.layers[pos].dw.w.shape[-1]])
    return net


__all__ = ["copy_sliced", "extract_subnet"]
