"""Convolutions and activations with one implementation per backend.

Layouts: activations NHWC float32, conv weights ``[k, k, c_in // groups, c_out]`` (HWIO).
Padding is symmetric ``k // 2`` on each side (odd ``k``), so ``out = ceil(in / stride)`` and
the centre ``k x k`` of a larger kernel sees exactly the pixels a ``k x k`` kernel would (the
masked supernet relies on this). The same convention as PyTorch/ONNX ``pads=[k//2]*4``.

Backends (``backend=None`` picks ``"cpu"`` when ``jax.default_backend() == "cpu"``, else
``"native"``):

* ``"native"``: ``lax.conv_general_dilated`` with ``feature_group_count`` (right for GPU/TPU
  and the form exported to ONNX);
* ``"cpu"``: XLA on CPU lowers grouped/depthwise convolutions to dense ones; here a depthwise
  conv is ``k*k`` shifted multiply-adds with a hand-written VJP, and 1x1 convs (grouped or
  not) are matmuls. Dense ``k x k`` convs (the stem) stay native.

Both backends compute the same function (tests compare values and gradients).
"""
from __future__ import annotations

from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

BACKENDS = ("cpu", "native")


def resolve_backend(backend: str | None) -> str:
    """``None`` -> "cpu" on the CPU platform, else "native"; anything else must be in BACKENDS."""
    if backend is None:
        return "cpu" if jax.default_backend() == "cpu" else "native"
    if backend not in BACKENDS:
        raise ValueError(f"unknown conv backend {backend!r} (known: {', '.join(BACKENDS)})")
    return backend


# ---------------------------------------------------------------------------- activations
def hsigmoid(x):
    return jnp.clip(x + 3.0, 0.0, 6.0) * (1.0 / 6.0)


_ACTS = {
    "none": lambda x: x,
    "relu": jax.nn.relu,
    "relu6": lambda x: jnp.clip(x, 0.0, 6.0),
    "hswish": lambda x: x * hsigmoid(x),
    "swish": jax.nn.swish,
    "hsigmoid": hsigmoid,
    "sigmoid": jax.nn.sigmoid,
}
ACTIVATION_NAMES = tuple(_ACTS)


def activation(name: str, x: jax.Array) -> jax.Array:
    """Apply the named activation (one of ACTIVATION_NAMES); ValueError for unknown names."""
    try:
        return _ACTS[name](x)
    except KeyError:
        raise ValueError(f"unknown activation {name!r} (known: {', '.join(_ACTS)})") from None


# ---------------------------------------------------------------------------- helpers
def _pads(k: int):
    if k % 2 != 1:
        raise ValueError(f"kernel size must be odd, got {k}")
    return k // 2


def _taps(xp: jax.Array, w: jax.Array, stride: int, out_hw: tuple[int, int]) -> jax.Array:
    """sum_{dy,dx} xp[:, dy + s*i, dx + s*j, :] * w[dy, dx, :] for i<out_h, j<out_w."""
    k = w.shape[0]
    oh, ow = out_hw
    acc = None
    for dy in range(k):
        for dx in range(k):
            sl = lax.slice(xp, (0, dy, dx, 0),
                           (xp.shape[0], dy + stride * (oh - 1) + 1, dx + stride * (ow - 1) + 1,
                            xp.shape[3]), (1, stride, stride, 1))
            term = sl * w[dy, dx]
            acc = term if acc is None else acc + term
    return acc


def _out_hw(x, stride):
    return -(-x.shape[1] // stride), -(-x.shape[2] // stride)


# ---------------------------------------------------------------------------- depthwise (cpu)
@partial(jax.custom_vjp, nondiff_argnums=(2,))
def _dw_shifted(x, w2, stride):
    """Depthwise conv via shifted multiply-adds. x [N,H,W,C], w2 [k,k,C]."""
    p = _pads(w2.shape[0])
    xp = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    return _taps(xp, w2, stride, _out_hw(x, stride))


def _dw_fwd(x, w2, stride):
    return _dw_shifted(x, w2, stride), (x, w2)


_DW_GRAD_CHUNK = 2  # images per scan step of the tap-wise weight gradient
_SPATIAL_MAX_RATIO = 5  # spatial-matmul weight gradient when in_pixels <= this * k * k


@lru_cache(maxsize=64)
def _tap_matrix(h: int, w: int, k: int, stride: int) -> np.ndarray:
    """0/1 matrix ``[(out_pixel, in_pixel), tap]``: output pixel p reads input pixel q via tap t."""
    p = k // 2
    oh, ow = -(-h // stride), -(-w // stride)
    i, j, dy, dx = np.meshgrid(np.arange(oh), np.arange(ow), np.arange(k), np.arange(k), indexing="ij")
    y, x = stride * i + dy - p, stride * j + dx - p
    ok = (y >= 0) & (y < h) & (x >= 0) & (x < w)
    s = np.zeros((oh * ow, h * w, k * k), np.float32)
    s[(i * ow + j)[ok], (y * w + x)[ok], (dy * k + dx)[ok]] = 1.0
    return s.reshape(oh * ow * h * w, k * k)


def _dw_weight_grad_spatial(x, g, k, stride):
    """Weight gradient through the per-channel spatial matrix: two matmuls, no per-tap passes.

    ``dM[p, q, c] = sum_n g[n, p, c] x[n, q, c]`` (a batched matmul over channels), then each
    tap sums the (p, q) pairs it connects. Cheap when the image is small next to the kernel
    (7x7 and 4x4 feature maps with 5x5/7x7 kernels), where the tap-wise form pays k*k passes.
    """
    n, h, w, c = x.shape
    _, oh, ow, _ = g.shape
    dm = jnp.einsum("npc,nqc->pqc", g.reshape(n, oh * ow, c), x.reshape(n, h * w, c))
    return (jnp.asarray(_tap_matrix(h, w, k, stride)).T @ dm.reshape(-1, c)).reshape(k, k, c)


def _dw_weight_grad(x, g, k, stride):
    """dw[dy, dx, c] = sum_{n,i,j} xp[n, dy + s*i, dx + s*j, c] * g[n, i, j, c] (xp: x padded)."""
    if x.shape[1] * x.shape[2] <= _SPATIAL_MAX_RATIO * k * k:
        return _dw_weight_grad_spatial(x, g, k, stride)
    p = k // 2
    xp = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    n, oh, ow, c = g.shape
    cs = _DW_GRAD_CHUNK
    pad_n = -n % cs
    if pad_n:  # zero cotangent rows add nothing
        xp = jnp.pad(xp, ((0, pad_n), (0, 0), (0, 0), (0, 0)))
        g = jnp.pad(g, ((0, pad_n), (0, 0), (0, 0), (0, 0)))
    xs = xp.reshape(-1, cs, *xp.shape[1:])
    gs = g.reshape(-1, cs, *g.shape[1:])

    def chunk(acc, xg):
        xc, gc = xg
        taps = [jnp.sum(lax.slice(xc, (0, dy, dx, 0),
                                  (cs, dy + stride * (oh - 1) + 1, dx + stride * (ow - 1) + 1, c),
                                  (1, stride, stride, 1)) * gc, axis=(0, 1, 2))
                for dy in range(k) for dx in range(k)]
        return acc + jnp.stack(taps).reshape(k, k, c), None

    # k*k multiply-reduces per tap, scanned over small batch chunks so the operands stay in
    # cache (one pass over the whole batch per tap is ~10x slower on CPU)
    return lax.scan(chunk, jnp.zeros((k, k, c), g.dtype), (xs, gs))[0]


def _dw_bwd(stride, res, g):
    x, w2 = res
    k = w2.shape[0]
    p = k // 2
    n, h, w, c = x.shape
    oh, ow = g.shape[1], g.shape[2]
    dw = _dw_weight_grad(x, g, k, stride)
    # input gradient: correlate the dilated, padded cotangent with the flipped kernel
    lh, lw = stride * (oh - 1) + 1, stride * (ow - 1) + 1
    gp = lax.pad(g, jnp.zeros((), g.dtype),
                 ((0, 0, 0), (k - 1 - p, p + h - lh, stride - 1),
                  (k - 1 - p, p + w - lw, stride - 1), (0, 0, 0)))
    dx_ = _taps(gp, w2[::-1, ::-1], 1, (h, w))
    return dx_, dw.astype(w2.dtype)


_dw_shifted.defvjp(_dw_fwd, _dw_bwd)
_dw_jit = jax.jit(_dw_shifted, static_argnums=2)  # compiled once per shape in eager use


# ---------------------------------------------------------------------------- public ops
def depthwise_conv2d(x: jax.Array, w: jax.Array, *, stride: int = 1,
                     backend: str | None = None) -> jax.Array:
    """Depthwise k x k conv. x [N,H,W,C], w [k,k,1,C] -> [N, ceil(H/s), ceil(W/s), C]."""
    if resolve_backend(backend) == "cpu":
        return _dw_jit(x, w[:, :, 0, :], stride)
    return _native(x, w, stride, x.shape[-1])


def pointwise(x: jax.Array, w: jax.Array, *, groups: int = 1) -> jax.Array:
    """1x1 conv as a matmul. x [..., C_in], w [1,1,C_in/groups,C_out] or [C_in/groups, C_out]."""
    w = w.reshape(w.shape[-2], w.shape[-1])
    if groups == 1:
        return jnp.dot(x, w)
    cig, cout = w.shape
    cog = cout // groups
    xg = x.reshape(*x.shape[:-1], groups, cig)
    wg = w.reshape(cig, groups, cog)
    return jnp.einsum("...gi,igo->...go", xg, wg).reshape(*x.shape[:-1], cout)


def _native(x, w, stride, groups):
    p = _pads(w.shape[0])
    return lax.conv_general_dilated(
        x, w, (stride, stride), ((p, p), (p, p)),
        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=groups)


def conv2d(x: jax.Array, w: jax.Array, *, stride: int = 1, groups: int = 1,
           backend: str | None = None) -> jax.Array:
    """k x k convolution (dense, grouped or depthwise), symmetric "same" padding, no bias.

    x [N,H,W,C_in] float32; w [k,k,C_in/groups,C_out]; returns [N,ceil(H/s),ceil(W/s),C_out].
    """
    k, _, cig, cout = w.shape
    cin = x.shape[-1]
    if cin != cig * groups or cout % groups:
        raise ValueError(f"conv2d: weight {w.shape} does not fit input channels {cin}, groups {groups}")
    if resolve_backend(backend) == "native":
        return _native(x, w, stride, groups)
    if groups == cin == cout and groups > 1:
        return _dw_jit(x, w[:, :, 0, :], stride)
    if k == 1:
        if stride > 1:
            x = x[:, ::stride, ::stride, :]
        return pointwise(x, w, groups=groups)
    return _native(x, w, stride, groups)


def channel_shuffle(x: jax.Array, groups: int) -> jax.Array:
    """ShuffleNet channel shuffle: [..., g, C/g] -> [..., C/g, g] (identity for groups == 1)."""
    if groups == 1:
        return x
    c = x.shape[-1]
    y = x.reshape(*x.shape[:-1], groups, c // groups)
    return jnp.swapaxes(y, -1, -2).reshape(x.shape)


__all__ = ["ACTIVATION_NAMES", "BACKENDS", "activation", "channel_shuffle", "conv2d",
           "depthwise_conv2d", "hsigmoid", "pointwise", "resolve_backend"]
