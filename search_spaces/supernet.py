"""Masked weight-sharing supernet for elastic MBConv spaces (``fashion_mnist``, ``ofa_mbv3``).

Parameters have the largest subnet's shapes. An architecture reaches the network only as the
fixed-shape int32 arrays of :meth:`Supernet.arch_arrays`, so one compiled train or eval step
serves every subnet (one compile per input resolution):

* kernel size: the centre ``k x k`` of the largest depthwise kernel (other taps masked to 0);
  with kernel transformation (``ofa_mbv3``'s default; any space's with
  ``supernet.kernel_transform: on``), the centre crop of the next larger kernel
  multiplied by a learned ``k^2 x k^2`` matrix per slot (:class:`KernelTransform`), selected by
  the kernel gene inside the jitted function;
* expansion: the first ``mid = space.mid_channels(c_in, e)`` expanded channels are active;
* squeeze-excite: the first ``space.se_channels(mid)`` squeeze channels are active;
* depth: slot ``j`` of stage ``i`` runs when ``j < d[i]``, else passes its input through
  (``where(active, block(x), x)``).

BatchNorm running statistics change only on active channels of active blocks. Inactive
channels are exactly zero after every masked layer, so the masked supernet computes the same
function as :func:`extract_subnet`'s static network.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from nas.search_spaces.arch import Arch
from nas.search_spaces.blocks import MBConvBlock
from nas.search_spaces.elastic_mbconv import ElasticMBConvSpace
from nas.search_spaces.layers import GlobalPool
from nas.search_spaces.ops import resolve_backend
from nas.search_spaces.static_net import build_block


def has_kernel_transform(space: ElasticMBConvSpace, setting: bool | None = None) -> bool:
    """Whether a supernet of ``space`` has kernel transformations: ``setting`` when given (any
    space with more than one kernel size may have them), else the space's own default."""
    if setting is None:
        return bool(space.cfg.kernel_transform)
    return bool(setting) and len(set(space.cfg.kernels)) > 1


class KernelTransform(nnx.Module):
    """Once-for-All's kernel transformation of one depthwise conv: for consecutive kernel sizes
    ``K > k`` (largest first), ``kernel_k = centre_k(kernel_K) @ M.T`` per channel, over the
    ``k * k`` taps flattened row-major; ``M`` [k^2, k^2] starts as the identity (plain centre
    crop). ``matrices[i]`` maps ``sizes[i]`` to ``sizes[i + 1]`` (``sizes`` descending)."""

    def __init__(self, kernels):
        self.sizes = tuple(sorted(set(int(k) for k in kernels), reverse=True))
        self.matrices = nnx.List([nnx.Param(jnp.eye(k * k, dtype=jnp.float32)) for k in self.sizes[1:]])

    def kernels(self, w) -> dict:
        """``{k: kernel [k, k, 1, C]}`` for every size, from ``w`` [K, K, 1, C] (K the largest);
        NumPy in (outside jit), NumPy out."""
        out, cur = {self.sizes[0]: w}, w
        for big, small, m in zip(self.sizes, self.sizes[1:], self.matrices):
            s, c = (big - small) // 2, cur.shape[-1]
            mat = np.asarray(m[...]) if isinstance(w, np.ndarray) else m[...]
            flat = cur[s:s + small, s:s + small].reshape(small * small, c)  # [taps, C]
            cur = (mat @ flat).reshape(small, small, 1, c)  # == (flat.T @ M.T).T
            out[small] = cur
        return out

    def padded(self, w, k):
        """The kernel of size ``k`` (a traced int) zero-padded to ``w``'s K x K."""
        big, acc = self.sizes[0], jnp.zeros_like(w)
        for size, kern in self.kernels(w).items():
            p = (big - size) // 2
            acc = jnp.where(k == size, jnp.pad(kern, ((p, p), (p, p), (0, 0), (0, 0))), acc)
        return acc


class Supernet(nnx.Module):
    """Masked supernet of an :class:`ElasticMBConvSpace`.

    ``__call__(x, arch_arrays, *, train=False, bn_momentum=None)``: x float32
    [N, r, r, C] (resize inputs to the architecture's resolution ``r`` yourself; the resolution
    is taken from x's shape), ``arch_arrays`` from :meth:`arch_arrays` -> logits
    [N, num_classes]. ``train=True`` uses batch statistics and updates running statistics of
    active channels with momentum ``bn_momentum`` (a float or traced scalar; ``new = m * old +
    (1 - m) * batch``; ``m = i / (i + 1)`` on batch i = 0, 1, ... gives the cumulative mean for
    BN recalibration; default :data:`nas.search_spaces.blocks.BN_MOMENTUM`).
    """

    def __init__(self, space: ElasticMBConvSpace, *, rngs: nnx.Rngs, backend: str | None = None,
                 kernel_transform: bool | None = None):
        if not isinstance(space, ElasticMBConvSpace):
            raise TypeError(f"Supernet needs an ElasticMBConvSpace, got {type(space).__name__}")
        self.space = space
        self.backend = resolve_backend(backend)
        self.num_stages, self.slots = len(space.cfg.stages), space.slots
        blocks = space.net_spec(space.supernet_arch()).blocks
        n_el = self.num_stages * self.slots
        c, mods = space.cfg.in_channels, []
        for b in blocks:
            mods.append(build_block(b, c, rngs=rngs, backend=self.backend))
            if not isinstance(b, GlobalPool):
                c = b.c_out
        self.stem = nnx.List(mods[:2])  # stem conv and the fixed first MBConv
        self.stages = nnx.List([nnx.List(mods[2 + i * self.slots: 2 + (i + 1) * self.slots])
                                for i in range(self.num_stages)])
        self.head = nnx.List(mods[2 + n_el:])
        self.max_kernel = max(space.cfg.kernels)
        self.kernel_transforms = (nnx.List([nnx.List([KernelTransform(space.cfg.kernels) for _ in range(self.slots)])
                                            for _ in range(self.num_stages)])
                                  if has_kernel_transform(space, kernel_transform) else None)
        self.min_depth = min(space.cfg.depths)  # slots below it always run (they may change shape)

    # ------------------------------------------------------------------ architecture arrays
    def stage_inputs(self, widths=None) -> np.ndarray:
        """Input channels of every slot, [S, slots] (``widths``: the stages' output channels, full
        when None)."""
        cfg = self.space.cfg
        widths = self.space.full_widths() if widths is None else widths
        c_in = np.empty((self.num_stages, self.slots), np.int64)
        prev = cfg.first_width
        for i in range(self.num_stages):
            c_in[i] = widths[i]
            c_in[i, 0] = prev
            prev = widths[i]
        return c_in

    def arch_arrays(self, arch: Arch) -> dict[str, jax.Array]:
        """int32 arrays of fixed shapes: ``ks``, ``e``, ``mid``, ``se`` [S, slots], ``d`` [S], and in
        a space with elastic width ``w`` [S] (each stage's output channels).

        ``mid``/``se`` are the active expanded / squeeze channels of each slot (``se`` is 0 in
        stages without squeeze-excite). Raises ArchError for an arch of another space.
        """
        ks, e, d, _ = self.space.decode(arch)
        widths = self.space.widths(arch)
        c_in = self.stage_inputs(widths)
        mid = np.vectorize(self.space.mid_channels)(c_in, e)
        has_se = np.array([st.se for st in self.space.cfg.stages])[:, None]
        se = np.where(has_se, np.vectorize(self.space.se_channels)(mid), 0)
        out = dict(ks=ks, e=e, d=d, mid=mid, se=se)
        if self.space.elastic_width:
            out["w"] = widths
        return {k: jnp.asarray(v, jnp.int32) for k, v in out.items()}

    def _masks(self, a, i: int, j: int, block: MBConvBlock) -> dict:
        kmax = self.max_kernel
        dist = jnp.abs(jnp.arange(kmax) - kmax // 2)
        half = a["ks"][i, j] // 2
        kmask = (dist[:, None] <= half) & (dist[None, :] <= half)
        mid_max = block.dw.w.shape[-1]
        masks = dict(kernel=kmask[:, :, None, None].astype(jnp.float32),
                     mid=(jnp.arange(mid_max) < a["mid"][i, j]).astype(jnp.float32),
                     active=True if j < self.min_depth else j < a["d"][i])
        if self.kernel_transforms is not None:  # the transformed kernel, zero outside k x k
            masks["dw_w"] = self.kernel_transforms[i][j].padded(block.dw.w[...], a["ks"][i, j])
            del masks["kernel"]
        if block.se is not None:
            se_max = block.se.b1.shape[0]
            masks["se"] = (jnp.arange(se_max) < a["se"][i, j]).astype(jnp.float32)
        if "w" in a:  # elastic width: the stage's first w output channels
            out_max = block.project.w.shape[-1]
            masks["out"] = (jnp.arange(out_max) < a["w"][i]).astype(jnp.float32)
        return masks

    # ------------------------------------------------------------------ forward
    def __call__(self, x: jax.Array, arch_arrays: dict, *, train: bool = False,
                 bn_momentum=None) -> jax.Array:
        kw = dict(train=train, momentum=bn_momentum)
        for layer in self.stem:
            x = layer(x, **kw)
        for i, stage in enumerate(self.stages):
            for j, block in enumerate(stage):
                x = block(x, masks=self._masks(arch_arrays, i, j, block), **kw)
        for layer in self.head:
            x = layer(x, **kw)
        return x


__all__ = ["KernelTransform", "Supernet"]
