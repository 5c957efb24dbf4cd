"""A deployment ONNX graph written directly from a :class:`~nas.search_spaces.static_net.StaticNet`.

The graph is what a runtime on a device wants, not a trace of the JAX program:

* input ``x``: float32 ``[B, H, W, C]`` raw pixels (0..255) when ``mean``/``std`` are given
  (the normalisation ``(x / 255 - mean) / std`` is the graph's first Mul + Add), else inputs
  already normalised; ``B`` is 1, a fixed batch, or the symbolic ``"B"``;
* one Transpose NHWC -> NCHW after the input, then every convolution in ONNX's native NCHW
  layout with constant OIHW weights (no per-conv transposes);
* BatchNorm folded into each convolution's weight and bias (``eps`` as in
  :data:`nas.search_spaces.blocks.BN_EPS`); depthwise convolutions are ``Conv`` with
  ``group == channels`` (converters map them to DEPTHWISE_CONV_2D);
* squeeze-excite as GlobalAveragePool -> 1x1 Conv -> act -> 1x1 Conv -> gate -> Mul;
  channel shuffle as Reshape -> Transpose -> Reshape; global pool -> Flatten; Dense -> Gemm;
* output ``logits`` ``[B, num_classes]``.

Only static shapes besides the batch, so no Shape/Gather/Concat chains appear.
"""
from __future__ import annotations

import numpy as np

INPUT_NAME = "x"
OUTPUT_NAME = "logits"
OPSET = 17


class _Graph:
    def __init__(self):
        self.nodes, self.inits, self._n = [], [], 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, value, stem="c") -> str:
        from onnx import numpy_helper

        n = self.name(stem)
        arr = np.asarray(value)
        arr = arr.astype(np.int64 if arr.dtype.kind in "iu" else np.float32)
        self.inits.append(numpy_helper.from_array(arr, n))
        return n

    def op(self, op_type: str, inputs, stem=None, **attrs) -> str:
        from onnx import helper

        out = self.name(stem or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def act(self, name: str, x: str) -> str:
        if name == "none":
            return x
        if name == "relu":
            return self.op("Relu", [x])
        if name == "relu6":
            return self.op("Clip", [x, self.const(np.float32(0)), self.const(np.float32(6))])
        if name == "hswish":
            return self.op("HardSwish", [x])
        if name == "hsigmoid":
            return self.op("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
        if name == "sigmoid":
            return self.op("Sigmoid", [x])
        if name == "swish":
            return self.op("Mul", [x, self.op("Sigmoid", [x])])
        raise ValueError(f"unknown activation {name!r}")


def folded_conv(conv) -> tuple[np.ndarray, np.ndarray]:
    """(HWIO weight, bias) of a ConvBN with its BatchNorm (running statistics) folded in."""
    from nas.search_spaces.blocks import BN_EPS

    w = np.asarray(conv.w[...], np.float64)  # HWIO (I = c_in / groups)
    bn = conv.bn
    inv = np.asarray(bn.scale[...], np.float64) / np.sqrt(np.asarray(bn.var[...], np.float64) + BN_EPS)
    bias = np.asarray(bn.bias[...], np.float64) - np.asarray(bn.mean[...], np.float64) * inv
    return (w * inv).astype(np.float32), bias.astype(np.float32)


def walk(net, ops, x):
    """Emit ``net`` (eval mode, BN folded) through ``ops`` starting from the normalised input
    ``x``; returns the logits. ``ops`` provides ``conv(x, w_hwio, b, stride, groups)``,
    ``act(name, x)``, ``add``, ``mul``, ``shuffle(x, groups, c, h, w)``, ``pool(x, keep)`` (global
    mean; ``keep``: keep the 1x1 spatial dims) and ``dense(x, w, b)``; it is the one description
    of the deployed network that every format (ONNX, LiteRT) shares."""
    from nas.search_spaces.blocks import ConvBN, DenseLayer, GlobalPoolLayer, MBConvBlock, SkipLayer

    def conv_bn(conv, x):
        w, b = folded_conv(conv)
        return ops.act(conv.act, ops.conv(x, w, b, int(conv.stride), int(conv.groups)))

    h, w = (int(v) for v in net.spec.input_shape[:2])
    for block, layer in zip(net.spec.blocks, net.layers):
        if isinstance(layer, ConvBN):
            x = conv_bn(layer, x)
            h, w = -(-h // layer.stride), -(-w // layer.stride)
        elif isinstance(layer, MBConvBlock):
            y = x
            if layer.expand is not None:
                y = ops.shuffle(conv_bn(layer.expand, y), layer.groups, block.mid, h, w)
            y = conv_bn(layer.dw, y)
            h, w = -(-h // block.stride), -(-w // block.stride)
            if layer.se is not None:
                se = layer.se
                s = ops.pool(y, True)
                s = ops.act(se.inner_act, ops.conv(s, np.asarray(se.w1[...])[None, None], np.asarray(se.b1[...]), 1, 1))
                s = ops.act(se.gate, ops.conv(s, np.asarray(se.w2[...])[None, None], np.asarray(se.b2[...]), 1, 1))
                y = ops.mul(y, s)
            y = conv_bn(layer.project, y)
            x = ops.add(y, x) if layer.residual else y
        elif isinstance(layer, SkipLayer):
            if layer.conv is not None:
                x = conv_bn(layer.conv, x)
                h, w = -(-h // layer.conv.stride), -(-w // layer.conv.stride)
        elif isinstance(layer, GlobalPoolLayer):
            x = ops.pool(x, False)
        elif isinstance(layer, DenseLayer):
            x = ops.act(layer.act, ops.dense(x, np.asarray(layer.w[...]), np.asarray(layer.b[...])))
        else:  # pragma: no cover - exhaustive over the layer language
            raise TypeError(f"cannot export layer {type(layer).__name__}")
    return x


class _OnnxOps(_Graph):
    def conv(self, x, w_hwio, b, stride, groups):
        k, p = int(w_hwio.shape[0]), int(w_hwio.shape[0]) // 2
        w = np.asarray(w_hwio).transpose(3, 2, 0, 1)
        return self.op("Conv", [x, self.const(w, "w"), self.const(b, "b")], kernel_shape=[k, k],
                       strides=[stride] * 2, pads=[p, p, p, p], group=int(groups))

    def add(self, a, b):
        return self.op("Add", [a, b])

    def mul(self, a, b):
        return self.op("Mul", [a, b])

    def shuffle(self, x, groups, c, h, w):
        if groups == 1:
            return x
        y = self.op("Reshape", [x, self.const(np.array([0, groups, c // groups, h, w]))])
        y = self.op("Transpose", [y], perm=[0, 2, 1, 3, 4])
        return self.op("Reshape", [y, self.const(np.array([0, c, h, w]))])

    def pool(self, x, keep):
        y = self.op("GlobalAveragePool", [x])
        return y if keep else self.op("Flatten", [y], axis=1)

    def dense(self, x, w, b):
        return self.op("Gemm", [x, self.const(w, "w"), self.const(b, "b")])


def build_onnx(net, *, batch: int | None = 1, mean=None, std=None, opset: int = OPSET):
    """The deployment graph (``onnx.ModelProto``) of ``net``; see the module docstring.

    ``batch``: a fixed batch size, or None for a symbolic batch ``"B"``. ``mean``/``std``: the
    per-channel normalisation in [0, 1] units (both or neither).
    """
    from onnx import TensorProto, helper

    if (mean is None) != (std is None):
        raise ValueError("give both mean and std, or neither")
    spec = net.spec
    h, w, c = (int(v) for v in spec.input_shape)
    g = _OnnxOps()
    x = INPUT_NAME
    x = g.op("Transpose", [x], perm=[0, 3, 1, 2])
    if mean is not None:
        mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
        x = g.op("Mul", [x, g.const((1.0 / (255.0 * std)).reshape(1, c, 1, 1), "scale")])
        x = g.op("Add", [x, g.const((-mean / std).reshape(1, c, 1, 1), "shift")])
    walk(net, g, x)
    g.nodes[-1].output[0] = OUTPUT_NAME
    b = "B" if batch is None else int(batch)
    hw_c = [int(v) for v in spec.input_shape]
    graph = helper.make_graph(
        g.nodes, "jaxnas_net",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [b, *hw_c])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [b, spec.num_classes])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="jaxnas")
    model.ir_version = 8
    return model
