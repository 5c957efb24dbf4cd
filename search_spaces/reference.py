"""Reference models in the layer language (ImageNet, 224x224x3, 1000 classes).

Used for cost-model checks against published figures and as baselines in reports. Each
takes ``resolution``, ``num_classes`` and ``in_channels``; strides are the published ones at
every resolution (at 28x28 MobileNetV2 ends on a 1x1 map). ``mobilenet_v2_<width>`` are the
width-multiplier variants of the MobileNetV2 paper (its Table 6 family), so a baseline *front*
can be trained at several MAC counts.
"""
from __future__ import annotations

from functools import partial

from nas.search_spaces.layers import ConvBlock, Dense, GlobalPool, MBConv, NetSpec, make_divisible


def mobilenet_v2(resolution: int = 224, num_classes: int = 1000, in_channels: int = 3,
                 width: float = 1.0) -> NetSpec:
    """MobileNetV2 (Sandler et al. 2018); width 1.0: ~300M MACs, 3.5M parameters at 224.

    ``width`` multiplies every layer's channels (rounded to multiples of 8) except the last
    1x1 convolution, which stays at 1280 for widths below 1, as in the paper.
    """
    if not width > 0:
        raise ValueError(f"width must be positive, got {width}")
    # (expansion t, channels c, repeats n, stride s)
    cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
           (6, 160, 3, 2), (6, 320, 1, 1)]
    c_in = make_divisible(32 * width)
    blocks = [ConvBlock(c_in, 3, 2, "relu6")]
    for t, c, n, s in cfg:
        c = make_divisible(c * width)
        for i in range(n):
            blocks.append(MBConv(c, 3, s if i == 0 else 1, c_in * t, "relu6", expand=t != 1))
            c_in = c
    blocks += [ConvBlock(make_divisible(1280 * max(1.0, width)), 1, 1, "relu6"), GlobalPool(),
               Dense(num_classes)]
    return NetSpec((resolution, resolution, in_channels), tuple(blocks))


def mobilenet_v3_large(resolution: int = 224, num_classes: int = 1000, in_channels: int = 3) -> NetSpec:
    """MobileNetV3-Large 1.0 (Howard et al. 2019): ~219M MACs, 5.4M parameters at 224."""
    # (kernel, expanded, out, SE, activation, stride)
    cfg = [(3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2), (3, 72, 24, False, "relu", 1),
           (5, 72, 40, True, "relu", 2), (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
           (3, 240, 80, False, "hswish", 2), (3, 200, 80, False, "hswish", 1),
           (3, 184, 80, False, "hswish", 1), (3, 184, 80, False, "hswish", 1),
           (3, 480, 112, True, "hswish", 1), (3, 672, 112, True, "hswish", 1),
           (5, 672, 160, True, "hswish", 2), (5, 960, 160, True, "hswish", 1),
           (5, 960, 160, True, "hswish", 1)]
    blocks, c_in = [ConvBlock(16, 3, 2, "hswish")], 16
    for k, mid, c, se, act, s in cfg:
        blocks.append(MBConv(c, k, s, mid, act, make_divisible(mid // 4, 8) if se else 0,
                             expand=mid != c_in))
        c_in = c
    blocks += [ConvBlock(960, 1, 1, "hswish"), GlobalPool(), Dense(1280, "hswish"), Dense(num_classes)]
    return NetSpec((resolution, resolution, in_channels), tuple(blocks))


def efficientnet_b0(resolution: int = 224, num_classes: int = 1000, in_channels: int = 3) -> NetSpec:
    """EfficientNet-B0 (Tan & Le 2019): ~390M MACs, 5.3M parameters at 224."""
    # (expansion, kernel, stride, out, repeats); SE squeeze = c_in / 4, swish everywhere
    cfg = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
           (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]
    blocks, c_in = [ConvBlock(32, 3, 2, "swish")], 32
    for t, k, s, c, n in cfg:
        for i in range(n):
            blocks.append(MBConv(c, k, s if i == 0 else 1, c_in * t, "swish", max(1, c_in // 4),
                                 expand=t != 1, se_act="sigmoid", se_inner_act="swish"))
            c_in = c
    blocks += [ConvBlock(1280, 1, 1, "swish"), GlobalPool(), Dense(num_classes)]
    return NetSpec((resolution, resolution, in_channels), tuple(blocks))


REFERENCE_MODELS = {
    "mobilenet_v2": mobilenet_v2,
    **{f"mobilenet_v2_{w}": partial(mobilenet_v2, width=w) for w in (0.35, 0.5, 0.75, 1.4)},
    "mobilenet_v3_large": mobilenet_v3_large,
    "efficientnet_b0": efficientnet_b0,
}
