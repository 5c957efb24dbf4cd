"""Elastic MBConv spaces (Once-for-All style): kernel, expansion and depth per stage, resolution.

Encoding ``{"ks": [S*slots], "e": [S*slots], "d": [S], "r": int}``: ``slots`` genes per elastic
stage, stage-major; stage i uses its first ``d[i]`` slots (the rest are inactive).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search_spaces.arch import Arch
from search_spaces.base import Field, SearchSpace
from search_spaces.layers import ConvBlock, Dense, GlobalPool, MBConv, NetSpec, make_divisible


@dataclass(frozen=True)
class StageDef:
    width: int
    stride: int
    act: str
    se: bool


@dataclass(frozen=True)
class ElasticConfig:
    in_channels: int
    num_classes: int
    stem_width: int
    stem_stride: int
    first_width: int  # fixed MBConv k3 e1 block after the stem
    stages: tuple[StageDef, ...]
    final_width: int  # 1x1 conv before pooling
    feature_width: int  # dense layer after pooling (0: none)
    kernels: tuple[int, ...] = (3, 5, 7)
    expands: tuple[int, ...] = (3, 4, 6)
    depths: tuple[int, ...] = (2, 3, 4)
    resolutions: tuple[int, ...] = (224,)


class ElasticMBConvSpace(SearchSpace):
    def __init__(self, name: str, cfg: ElasticConfig, description: str = ""):
        self.name, self.cfg, self.description = name, cfg, description
        self.slots = max(cfg.depths)
        n = len(cfg.stages) * self.slots
        self.fields = (
            Field("ks", cfg.kernels, n),
            Field("e", cfg.expands, n),
            Field("d", cfg.depths, len(cfg.stages)),
            Field("r", cfg.resolutions, None),
        )

    # ------------------------------------------------------------------ decoding
    def decode(self, arch: Arch):
        """(ks, e, d, r) as NumPy arrays ``[S, slots]``, ``[S, slots]``, ``[S]`` and an int."""
        self._check_space(arch)
        g = np.asarray(arch.genes, dtype=np.int64)
        s, n = len(self.cfg.stages), len(self.cfg.stages) * self.slots
        return (g[:n].reshape(s, self.slots), g[n:2 * n].reshape(s, self.slots),
                g[2 * n:2 * n + s], int(g[-1]))

    def canonical(self, arch: Arch) -> Arch:
        ks, e, d, r = self.decode(arch)
        active = np.arange(self.slots)[None, :] < d[:, None]
        ks = np.where(active, ks, self.cfg.kernels[0])
        e = np.where(active, e, self.cfg.expands[0])
        return Arch(self.name, tuple(int(x) for x in (*ks.ravel(), *e.ravel(), *d, r)))

    def describe(self, arch: Arch) -> dict:
        """Human-level summary: depth, mean kernel and expansion of active blocks, resolution."""
        ks, e, d, r = self.decode(arch)
        active = np.arange(self.slots)[None, :] < d[:, None]
        return {"depth": int(d.sum()), "depth_per_stage": [int(x) for x in d],
                "mean_kernel": round(float(ks[active].mean()), 2),
                "mean_expand": round(float(e[active].mean()), 2), "resolution": r}

    def hand_designed(self) -> Arch:
        """MobileNetV2-style hand design in this space: kernel 3, expansion 6, middle depth."""
        c, s = self.cfg, len(self.cfg.stages)
        d = c.depths[len(c.depths) // 2]
        return Arch(self.name, (3,) * s * self.slots + (6,) * s * self.slots + (d,) * s + (c.resolutions[-1],))

    def num_distinct(self) -> int:
        per_block = len(self.cfg.kernels) * len(self.cfg.expands)
        per_stage = sum(per_block ** d for d in self.cfg.depths)
        return per_stage ** len(self.cfg.stages) * len(self.cfg.resolutions)

    # ------------------------------------------------------------------ network
    def mid_channels(self, c_in: int, expand: int) -> int:
        return make_divisible(round(c_in * expand), 8)

    def se_channels(self, mid: int) -> int:
        return make_divisible(mid // 4, 8)

    def net_spec(self, arch: Arch) -> NetSpec:
        ks, e, d, r = self.decode(arch)
        c = self.cfg
        blocks = [ConvBlock(c.stem_width, 3, c.stem_stride, "hswish"),
                  MBConv(c.first_width, 3, 1, c.stem_width, "relu", expand=False)]
        c_in = c.first_width
        for i, st in enumerate(c.stages):
            for j in range(int(d[i])):
                mid = self.mid_channels(c_in, int(e[i, j]))
                blocks.append(MBConv(st.width, int(ks[i, j]), st.stride if j == 0 else 1, mid, st.act,
                                     self.se_channels(mid) if st.se else 0))
                c_in = st.width
        blocks.append(ConvBlock(c.final_width, 1, 1, "hswish"))
        blocks.append(GlobalPool())
        if c.feature_width:
            blocks.append(Dense(c.feature_width, "hswish"))
        blocks.append(Dense(c.num_classes))
        return NetSpec((r, r, c.in_channels), tuple(blocks))


OFA_MBV3 = ElasticMBConvSpace(
    "ofa_mbv3",
    ElasticConfig(
        in_channels=3, num_classes=1000, stem_width=16, stem_stride=2, first_width=16,
        stages=(StageDef(24, 2, "relu", False), StageDef(40, 2, "relu", True),
                StageDef(80, 2, "hswish", False), StageDef(112, 1, "hswish", True),
                StageDef(160, 2, "hswish", True)),
        final_width=960, feature_width=1280, depths=(2, 3, 4),
        resolutions=tuple(range(128, 225, 4)),
    ),
    "Once-for-All MobileNetV3 space (ImageNet, 1000 classes, resolution 128..224)",
)

FASHION_MNIST = ElasticMBConvSpace(
    "fashion_mnist",
    ElasticConfig(
        in_channels=1, num_classes=10, stem_width=16, stem_stride=2, first_width=16,
        stages=(StageDef(24, 2, "relu", False), StageDef(32, 1, "relu", True),
                StageDef(48, 2, "hswish", True), StageDef(64, 1, "hswish", True)),
        final_width=192, feature_width=0, depths=(1, 2, 3), resolutions=(28,),
    ),
    "MobileNetV3-style space for 28x28x1 inputs, 10 classes (the embedded default)",
)

CIFAR_MBV3 = ElasticMBConvSpace(
    "cifar_mbv3",
    ElasticConfig(
        in_channels=3, num_classes=10, stem_width=16, stem_stride=1, first_width=16,
        stages=(StageDef(24, 2, "relu", False), StageDef(40, 2, "relu", True),
                StageDef(80, 2, "hswish", False), StageDef(112, 1, "hswish", True),
                StageDef(160, 1, "hswish", True)),
        final_width=960, feature_width=1280, depths=(2, 3, 4), resolutions=(32,),
    ),
    "Once-for-All MobileNetV3 stages for 32x32x3 inputs, 10 classes (CIFAR-10 via TFDS)",
)
