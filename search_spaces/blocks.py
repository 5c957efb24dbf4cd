"""flax.nnx building blocks shared by :class:`StaticNet` and the masked :class:`Supernet`.

Every block runs unmasked (static network: the weights have the subnet's real shapes) or with
masks (supernet: weights at maximum shapes, inactive kernel taps / channels zeroed). Masks are
arrays, so one compiled function serves every subnet. Parameters (``nnx.Param``) are exactly
what :mod:`nas.search_spaces.cost` counts: conv weights (no bias), BatchNorm scale and bias,
squeeze-excite and dense weights with biases (a dense layer without bias keeps a
:class:`ZeroBias` constant, not a parameter, so every dense layer exports alike). BatchNorm
running statistics are ``nnx.BatchStat`` buffers.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from nas.search_spaces.ops import activation, channel_shuffle, conv2d

_conv_init = nnx.initializers.variance_scaling(2.0, "fan_in", "truncated_normal")
_dense_init = nnx.initializers.variance_scaling(1.0, "fan_in", "truncated_normal")

BN_MOMENTUM = 0.9  # running = m * running + (1 - m) * batch  (PyTorch momentum 0.1)
BN_EPS = 1e-5


class BatchNorm(nnx.Module):
    """BatchNorm over N, H, W of NHWC input, with optional channel mask and update gate.

    Train mode normalises with the batch statistics (biased variance) and updates the running
    statistics as ``new = m * old + (1 - m) * batch`` where ``m = momentum`` (a Python float or a
    traced scalar; default :data:`BN_MOMENTUM`), only on channels where ``mask`` is true and only
    when ``update`` is true. ``m = i / (i + 1)`` for batch ``i = 0, 1, ...`` gives the cumulative
    mean of the batch statistics (BN recalibration). Eval mode uses the running statistics.
    """

    def __init__(self, c: int):
        self.scale = nnx.Param(jnp.ones((c,), jnp.float32))
        self.bias = nnx.Param(jnp.zeros((c,), jnp.float32))
        self.mean = nnx.BatchStat(jnp.zeros((c,), jnp.float32))
        self.var = nnx.BatchStat(jnp.ones((c,), jnp.float32))

    def __call__(self, x, *, train: bool, mask=None, update=True, momentum=None):
        if train:
            mean = jnp.mean(x, axis=(0, 1, 2))
            var = jnp.mean(jnp.square(x - mean), axis=(0, 1, 2))
            m = BN_MOMENTUM if momentum is None else momentum
            new_mean = m * self.mean[...] + (1.0 - m) * jax.lax.stop_gradient(mean)
            new_var = m * self.var[...] + (1.0 - m) * jax.lax.stop_gradient(var)
            keep = jnp.asarray(update, bool)
            if mask is not None:
                keep = keep & (mask > 0)
            self.mean[...] = jnp.where(keep, new_mean, self.mean[...])
            self.var[...] = jnp.where(keep, new_var, self.var[...])
        else:
            mean, var = self.mean[...], self.var[...]
        inv = jax.lax.rsqrt(var + BN_EPS) * self.scale[...]
        return (x - mean) * inv + self.bias[...]


class ConvBN(nnx.Module):
    """k x k conv (groups) + BatchNorm + activation. Masks: ``w_mask`` (broadcast to the
    weight), ``out_mask`` [c_out] (zeroes inactive output channels after the activation)."""

    def __init__(self, c_in, c_out, kernel, stride=1, groups=1, act="relu", *, rngs, backend=None):
        self.kernel, self.stride, self.groups, self.act, self.backend = kernel, stride, groups, act, backend
        self.w = nnx.Param(_conv_init(rngs.params(), (kernel, kernel, c_in // groups, c_out)))
        self.bn = BatchNorm(c_out)

    def __call__(self, x, *, train, w=None, w_mask=None, out_mask=None, active=True, momentum=None):
        """``w``: a weight of ``self.w``'s shape used instead of it (the supernet's transformed
        depthwise kernels); ``w_mask`` multiplies the weight."""
        w = self.w[...] if w is None else w
        w = w if w_mask is None else w * w_mask
        y = conv2d(x, w, stride=self.stride, groups=self.groups, backend=self.backend)
        y = activation(self.act, self.bn(y, train=train, mask=out_mask, update=active, momentum=momentum))
        return y if out_mask is None else y * out_mask


class SqueezeExcite(nnx.Module):
    """Global pool -> dense (c -> s) + inner act -> dense (s -> c) + gate -> channel scale."""

    def __init__(self, c, s, inner_act="relu", gate="hsigmoid", *, rngs):
        self.inner_act, self.gate = inner_act, gate
        self.w1 = nnx.Param(_dense_init(rngs.params(), (c, s)))
        self.b1 = nnx.Param(jnp.zeros((s,), jnp.float32))
        self.w2 = nnx.Param(_dense_init(rngs.params(), (s, c)))
        self.b2 = nnx.Param(jnp.zeros((c,), jnp.float32))

    def __call__(self, x, *, se_mask=None):
        h = activation(self.inner_act, jnp.mean(x, axis=(1, 2)) @ self.w1[...] + self.b1[...])
        if se_mask is not None:
            h = h * se_mask
        g = activation(self.gate, h @ self.w2[...] + self.b2[...])
        return x * g[:, None, None, :]


class MBConvBlock(nnx.Module):
    """Inverted residual (see :class:`nas.search_spaces.layers.MBConv`).

    ``masks`` (supernet only): dict with ``kernel`` [k,k,1,1], ``mid`` [mid], ``se`` [s] float
    masks, optionally ``out`` [c_out] (elastic width: the stage's active output channels),
    ``dw_w`` (the depthwise kernel to use, [k,k,1,mid]) and ``active`` (bool scalar: the block
    is inside the depth; else output = input and no running statistics change).
    """

    def __init__(self, c_in, b, *, rngs, backend=None):
        g = b.groups
        self.groups, self.residual = g, b.has_residual(c_in)
        self.expand = (ConvBN(c_in, b.mid, 1, 1, g, b.act, rngs=rngs, backend=backend)
                       if b.expand else None)
        self.dw = ConvBN(b.mid, b.mid, b.kernel, b.stride, b.mid, b.act, rngs=rngs, backend=backend)
        self.se = (SqueezeExcite(b.mid, b.se_mid, b.se_inner_act, b.se_act, rngs=rngs)
                   if b.se_mid else None)
        self.project = ConvBN(b.mid, b.c_out, 1, 1, g, "none", rngs=rngs, backend=backend)

    def __call__(self, x, *, train, masks=None, momentum=None):
        m = masks or {}
        active = m.get("active", True)
        kw = dict(train=train, active=active, momentum=momentum)
        h = x
        if self.expand is not None:
            h = channel_shuffle(self.expand(h, out_mask=m.get("mid"), **kw), self.groups)
        h = self.dw(h, w=m.get("dw_w"), w_mask=m.get("kernel"), out_mask=m.get("mid"), **kw)
        if self.se is not None:
            h = self.se(h, se_mask=m.get("se"))
        h = self.project(h, out_mask=m.get("out"), **kw)
        if self.residual:
            h = h + x
        return h if active is True else jnp.where(active, h, x)


class SkipLayer(nnx.Module):
    """Identity, or 1x1 conv + BN + ReLU when stride or width changes."""

    def __init__(self, c_in, b, *, rngs, backend=None):
        self.conv = (ConvBN(c_in, b.c_out, 1, b.stride, 1, "relu", rngs=rngs, backend=backend)
                     if b.stride != 1 or b.c_out != c_in else None)

    def __call__(self, x, *, train, momentum=None):
        return x if self.conv is None else self.conv(x, train=train, momentum=momentum)


class GlobalPoolLayer(nnx.Module):
    def __call__(self, x, **_):
        return jnp.mean(x, axis=(1, 2))


class ZeroBias(nnx.Variable):
    """The bias of a dense layer that has none: zeros, never trained, not a parameter."""


class DenseLayer(nnx.Module):
    """Fully connected layer with bias (a :class:`ZeroBias` when ``bias=False``) and
    activation; input [N, c_in]."""

    def __init__(self, c_in, c_out, act="none", bias=True, *, rngs):
        self.act = act
        self.w = nnx.Param(_dense_init(rngs.params(), (c_in, c_out)))
        self.b = (nnx.Param if bias else ZeroBias)(jnp.zeros((c_out,), jnp.float32))

    def __call__(self, x, **_):
        return activation(self.act, x @ self.w[...] + self.b[...])
