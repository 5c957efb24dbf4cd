"""Elastic MBConv spaces (Once-for-All style): kernel, expansion and depth per stage, resolution.

Encoding ``{"ks": [S*slots], "e": [S*slots], "d": [S], "r": int}``: ``slots`` genes per elastic
stage, stage-major; stage i uses its first ``d[i]`` slots (the rest are inactive). A space with
elastic width adds ``"w": [S]``, each stage's output channels (before ``r``).

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
    pin_classes: bool = False  # num_classes is the data's class count unless pinned
    # per-stage choices ((kernels, expands, depths) per stage; None: kernels, expands and depths
    # above for every stage, which are then the union of the stages' choices)
    stage_choices: tuple[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]], ...] | None = None
    # elastic width: each stage's choices of output channels (the largest is its StageDef width;
    # None: every stage at its width, no "w" genes)
    stage_widths: tuple[tuple[int, ...], ...] | None = None

    def choices_of(self, i: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """(kernels, expands, depths) of stage ``i``."""
        return self.stage_choices[i] if self.stage_choices is not None else (self.kernels, self.expands, self.depths)


class ElasticMBConvSpace(SearchSpace):
    def __init__(self, name: str, cfg: ElasticConfig, description: str = ""):
        self.name, self.cfg, self.description = name, cfg, description
        self.slots = max(cfg.depths)
        s = len(cfg.stages)
        n = s * self.slots
        per = cfg.stage_choices is not None
        stage = [cfg.choices_of(i) for i in range(s)]
        self.elastic_width = cfg.stage_widths is not None
        width_field = (Field("w", tuple(sorted({w for ws in cfg.stage_widths for w in ws})), s,
                             tuple(tuple(ws) for ws in cfg.stage_widths)),) if self.elastic_width else ()
        self.fields = (
            Field("ks", cfg.kernels, n, tuple(stage[g // self.slots][0] for g in range(n)) if per else None),
            Field("e", cfg.expands, n, tuple(stage[g // self.slots][1] for g in range(n)) if per else None),
            Field("d", cfg.depths, s, tuple(st[2] for st in stage) if per else None),
            *width_field,
            Field("r", cfg.resolutions, None),
        )

    @property
    def num_classes(self) -> int:
        return self.cfg.num_classes

    @property
    def pins_classes(self) -> bool:
        return self.cfg.pin_classes

    def with_num_classes(self, n: int) -> ElasticMBConvSpace:
        """The same space (same name) with a classifier of ``n`` outputs."""
        from dataclasses import replace

        return ElasticMBConvSpace(self.name, replace(self.cfg, num_classes=int(n)), self.description)

    def declaration(self) -> dict:
        """The declaration (:mod:`nas.search_spaces.declare`) that rebuilds this space."""
        c = self.cfg
        stages = []
        for i, st in enumerate(c.stages):
            d = {"width": st.width, "stride": st.stride, "act": st.act, "se": st.se}
            if c.stage_choices is not None:
                k, e, dep = c.stage_choices[i]
                d.update(kernels=list(k), expands=list(e), depths=list(dep))
            if c.stage_widths is not None:
                d["widths"] = list(c.stage_widths[i])
            stages.append(d)
        out = {"name": self.name, "family": "elastic_mbconv", "description": self.description,
               "input_channels": c.in_channels, "num_classes": c.num_classes, "pin_classes": c.pin_classes,
               "stem": {"width": c.stem_width, "stride": c.stem_stride}, "first_block": {"width": c.first_width},
               "stages": stages}
        if c.stage_choices is None:
            out.update(kernels=list(c.kernels), expands=list(c.expands), depths=list(c.depths))
        out.update(resolutions=list(c.resolutions),
                   head={"final_width": c.final_width, "feature_width": c.feature_width,
                         "feature_bias": c.feature_bias},
                   kernel_transform=c.kernel_transform)
        return out

    def stage_max(self):
        """Per stage, the largest kernel, expansion and depth it may choose: three int arrays [S]."""
        ch = [self.cfg.choices_of(i) for i in range(len(self.cfg.stages))]
        return tuple(np.array([max(c[k]) for c in ch], np.int64) for k in range(3))

    def supernet_arch(self) -> Arch:
        """The network whose weights hold every subnet's: every slot at the largest kernel and
        expansion of any stage, every stage at its full width (the largest subnet, unless stages
        choose differently)."""
        c, s = self.cfg, len(self.cfg.stages)
        return self.compose(np.full((s, self.slots), max(c.kernels)), np.full((s, self.slots), max(c.expands)),
                            np.full(s, self.slots), max(c.resolutions))

    def full_widths(self) -> np.ndarray:
        return np.array([st.width for st in self.cfg.stages], np.int64)

    def widths(self, arch: Arch) -> np.ndarray:
        """Each stage's output channels [S] (its full width in a space without elastic width)."""
        if not self.elastic_width:
            self._check_space(arch)
            return self.full_widths()
        s, n = len(self.cfg.stages), len(self.cfg.stages) * self.slots
        return np.asarray(arch.genes[2 * n + s:2 * n + 2 * s], np.int64)

    def compose(self, ks, e, d, r, w=None) -> Arch:
        """The architecture of these choices (``w``: stage widths, full when None)."""
        width = () if not self.elastic_width else tuple(self.full_widths() if w is None else np.asarray(w).ravel())
        return Arch(self.name, tuple(int(x) for x in (*np.asarray(ks).ravel(), *np.asarray(e).ravel(),
                                                        *np.asarray(d).ravel(), *width, r)))

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
            for k, name in enumerate(("ks", "e")):
                v = obj.get(name)
                if isinstance(v, list) and len(v) == n * self.slots:
                    obj[name] = [self.cfg.choices_of(i // self.slots)[k][0]
                                 if x == 0 and type(x) is int and i % self.slots >= d[i // self.slots]
                                 else x for i, x in enumerate(v)]
        return obj

    def canonical(self, arch: Arch) -> Arch:
        ks, e, d, r = self.decode(arch)
        active = np.arange(self.slots)[None, :] < d[:, None]
        first = [self.cfg.choices_of(i) for i in range(len(self.cfg.stages))]
        ks = np.where(active, ks, np.array([c[0][0] for c in first])[:, None])
        e = np.where(active, e, np.array([c[1][0] for c in first])[:, None])
        return self.compose(ks, e, d, r, self.widths(arch))

    def describe(self, arch: Arch) -> dict:
        """Human-level summary: depth, mean kernel and expansion of active blocks, resolution."""
        ks, e, d, r = self.decode(arch)
        active = np.arange(self.slots)[None, :] < d[:, None]
        out = {"depth": int(d.sum()), "depth_per_stage": [int(x) for x in d],
               "mean_kernel": round(float(ks[active].mean()), 2),
               "mean_expand": round(float(e[active].mean()), 2), "resolution": r}
        if self.elastic_width:
            out["widths"] = [int(x) for x in self.widths(arch)]
        return out

    def hand_designed(self) -> Arch:
        """MobileNetV2-style hand design in this space: kernel 3, expansion 6, middle depth (the
        stage's choices nearest to them where it has not those)."""
        c, s = self.cfg, len(self.cfg.stages)

        def near(values, target):
            return min(values, key=lambda v: (abs(v - target), v))

        ks, e, d = [], [], []
        for i in range(s):
            kc, ec, dc = c.choices_of(i)
            ks += [near(kc, 3)] * self.slots
            e += [near(ec, 6)] * self.slots
            d.append(dc[len(dc) // 2])
        return self.compose(ks, e, d, c.resolutions[-1])

    def num_distinct(self) -> int:
        total = len(self.cfg.resolutions)
        for i in range(len(self.cfg.stages)):
            kc, ec, dc = self.cfg.choices_of(i)
            total *= sum((len(kc) * len(ec)) ** d for d in dc)
            if self.elastic_width:
                total *= len(self.cfg.stage_widths[i])
        return total

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
        widths = self.widths(arch)
        c = self.cfg
        blocks = [ConvBlock(c.stem_width, 3, c.stem_stride, "hswish"),
                  MBConv(c.first_width, 3, 1, c.stem_width, "relu", expand=False)]
        c_in = c.first_width
        for i, st in enumerate(c.stages):
            for j in range(int(d[i])):
                mid = self.mid_channels(c_in, int(e[i, j]))
                # elastic width: a stage's first block has no residual (its input width equals its
                # output width only for some choices; the supernet's block has none either)
                skip = False if self.elastic_width and j == 0 else None
                blocks.append(MBConv(int(widths[i]), int(ks[i, j]), st.stride if j == 0 else 1, mid, st.act,
                                     self.se_channels(mid) if st.se else 0, skip=skip))
                c_in = int(widths[i])
        blocks.append(ConvBlock(c.final_width, 1, 1, "hswish"))
        blocks.append(GlobalPool())
        if c.feature_width:
            blocks.append(Dense(c.feature_width, "hswish", c.feature_bias))
        blocks.append(Dense(c.num_classes))
        return NetSpec((r, r, c.in_channels), tuple(blocks))
