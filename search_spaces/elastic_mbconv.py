"""Elastic MBConv spaces (Once-for-All style): kernel, expansion and depth per stage, resolution.

Encoding ``{"ks": [S*slots], "e": [S*slots], "d": [S], "r": int}``: ``slots`` genes per elastic
stage, stage-major; stage i uses its first ``d[i]`` slots (the rest are inactive).

Once-for-All's own architecture dicts are accepted too: ``0`` in inactive slots, the resolution
as ``image_size`` or ``r`` (an int or a one-element list), and a ``wid`` key that is ``None``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nas.search_spaces.arch import Arch, parse_arch_json
from nas.search_spaces.base import Field, SearchSpace
from nas.search_spaces.layers import ConvBlock, Dense, GlobalPool, MBConv, NetSpec, make_divisible


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
    feature_bias: bool = True  # the dense layer after pooling has a bias (OFA's feature mix: none)
    # smaller depthwise kernels come from the largest through learned k'^2 x k'^2 matrices
    # (Once-for-All's kernel transformation: centre crop, then a linear map per channel)
    kernel_transform: bool = False


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

    def from_json(self, obj) -> Arch:
        """Decode (see the module doc, OFA's dicts included); ArchError naming the bad field."""
        return super().from_json(self._from_ofa_dict(parse_arch_json(obj)))

    def _from_ofa_dict(self, obj: dict) -> dict:
        """OFA's form of an architecture dict in this encoding (anything else passes unchanged)."""
        obj = dict(obj)
        if "wid" in obj and obj["wid"] is None:
            del obj["wid"]
        if "image_size" in obj and "r" not in obj:
            obj["r"] = obj.pop("image_size")
        if isinstance(obj.get("r"), list) and len(obj["r"]) == 1:
            obj["r"] = obj["r"][0]
        d, n = obj.get("d"), len(self.cfg.stages)
        if isinstance(d, list) and len(d) == n and all(type(x) is int for x in d):
            for name, default in (("ks", self.cfg.kernels[0]), ("e", self.cfg.expands[0])):
                v = obj.get(name)
                if isinstance(v, list) and len(v) == n * self.slots:
                    obj[name] = [default if x == 0 and type(x) is int and i % self.slots >= d[i // self.slots]
                                 else x for i, x in enumerate(v)]
        return obj

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

    def with_resolutions(self, resolutions) -> ElasticMBConvSpace:
        """The same space (same name: its architectures are this space's) drawing only ``resolutions``,
        a subset of its own; InputError naming one that is not."""
        from dataclasses import replace

        from nas.errors import InputError

        res = tuple(sorted({int(r) for r in resolutions}))
        bad = [r for r in res if r not in self.cfg.resolutions]
        if bad or not res:
            raise InputError(f"search.resolutions: {bad[0] if bad else '[]'} is not a resolution of {self.name} "
                             f"({', '.join(map(str, self.cfg.resolutions))})")
        return ElasticMBConvSpace(self.name, replace(self.cfg, resolutions=res), self.description)

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
            blocks.append(Dense(c.feature_width, "hswish", c.feature_bias))
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
        resolutions=tuple(range(128, 225, 4)), feature_bias=False, kernel_transform=True,
    ),
    "Once-for-All MobileNetV3 space (ImageNet, 1000 classes, resolution 128..224)",
)

# Once-for-All's width multiplier 1.2 (``ofa_mbv3_d234_e346_k357_w1.2``): every width of OFA_MBV3
# times 1.2, rounded as OFA rounds (to a multiple of 8, never more than 10% down); the same genes.
# OFA's tutorial, its accuracy predictor and its Note10 latency tables use resolutions 160..224
# step 16 of it: a search restricts itself to those with ``search.resolutions``.
OFA_MBV3_W12 = ElasticMBConvSpace(
    "ofa_mbv3_w12",
    ElasticConfig(
        in_channels=3, num_classes=1000, stem_width=24, stem_stride=2, first_width=24,
        stages=(StageDef(32, 2, "relu", False), StageDef(48, 2, "relu", True),
                StageDef(96, 2, "hswish", False), StageDef(136, 1, "hswish", True),
                StageDef(192, 2, "hswish", True)),
        final_width=1152, feature_width=1536, depths=(2, 3, 4),
        resolutions=tuple(range(128, 225, 4)), feature_bias=False, kernel_transform=True,
    ),
    "Once-for-All MobileNetV3 space at width 1.2 (ImageNet, 1000 classes, resolution 128..224): "
    "the space of OFA's accuracy predictor and Note10 latency tables",
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
