"""Analytic cost model against published figures and hand counts."""
import pytest

from nas.search_spaces import arch_to_json, get_reference_model, get_space, net_stats
from nas.search_spaces.layers import ConvBlock, Dense, GlobalPool, MBConv, NetSpec

# published MACs and parameters of the reference models at 224x224
PUBLISHED = {
    "mobilenet_v2": (300e6, 3.5e6),
    # width multipliers (MobileNetV2 paper / TF-slim model table at 224)
    "mobilenet_v2_0.35": (59e6, 1.66e6),
    "mobilenet_v2_0.5": (97e6, 1.95e6),
    "mobilenet_v2_0.75": (209e6, 2.61e6),
    "mobilenet_v2_1.4": (582e6, 6.06e6),
    "mobilenet_v3_large": (219e6, 5.4e6),
    "efficientnet_b0": (390e6, 5.3e6),
}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_reference_models_match_published_figures(name):
    stats = net_stats(get_reference_model(name))
    macs, params = PUBLISHED[name]
    assert abs(stats.macs / macs - 1) < 0.03, stats
    assert abs(stats.params / params - 1) < 0.03, stats
    assert stats.flops == 2 * stats.macs


def test_mobilenet_v2_width_rejects_nonpositive():
    with pytest.raises(ValueError, match="width"):
        get_reference_model("mobilenet_v2", width=0.0)


def test_hand_counted_network():
    spec = NetSpec((8, 8, 3), (
        ConvBlock(4, 3, 2, "relu"),  # 4x4x4: macs 4*4*27*4=1728, params 108+8
        MBConv(4, 3, 1, 8, "relu", se_mid=2),  # residual
        GlobalPool(), Dense(10)))
    s = net_stats(spec)
    expand = 16 * 4 * 8  # 512
    dw = 16 * 9 * 8  # 1152
    se = 2 * 8 * 2  # 32
    proj = 16 * 8 * 4  # 512
    assert s.macs == 1728 + expand + dw + se + proj + 4 * 10
    assert s.params == (108 + 8) + (32 + 16) + (72 + 16) + (16 + 2 + 16 + 8) + (32 + 8) + 50
    # peak: the expand conv at 4x4 reads 4 ch and writes 8 ch (64+128 elements), while the
    # stem reads 8x8x3=192 and writes 64 -> 256 elements; dw conv: in 128 + out 128 + held 64 = 320
    assert s.peak_activation_bytes == 320 * 4


def test_peak_memory_grows_with_resolution():
    sp = get_space("ofa_mbv3")
    enc = arch_to_json(sp.largest())
    small = dict(enc, r=128)
    a, b = sp.from_json(small), sp.from_json(enc)
    from nas.search_spaces import arch_stats

    assert arch_stats(a).peak_activation_bytes < arch_stats(b).peak_activation_bytes
    assert arch_stats(a).macs < arch_stats(b).macs


def test_fbnet_skip_is_cheaper():
    from nas.search_spaces import arch_stats

    sp = get_space("fbnet")
    assert arch_stats(sp.smallest()).macs < arch_stats(sp.largest()).macs
