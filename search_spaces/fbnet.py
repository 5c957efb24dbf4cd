"""FBNet spaces (the shipped ``fbnet``: the CIFAR-100 setting of HW-NAS-Bench).

Encoding ``{"ops": [L ints in 0..8], "r": int}`` (``fbnet``: 22 layers, ``r`` 32) with op index order
``k3_e1, k3_e1_g2, k3_e3, k3_e6, k5_e1, k5_e1_g2, k5_e3, k5_e6, skip``.
"""
from __future__ import annotations

from nas.search_spaces.arch import Arch
from nas.search_spaces.base import Field, SearchSpace
from nas.search_spaces.layers import ConvBlock, Dense, GlobalPool, MBConv, NetSpec, SkipBlock

OP_NAMES = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
# (kernel, expansion, groups) per op index; None for skip
OP_DEFS = ((3, 1, 1), (3, 1, 2), (3, 3, 1), (3, 6, 1), (5, 1, 1), (5, 1, 2), (5, 3, 1), (5, 6, 1), None)
STAGE_LAYERS = (1, 4, 4, 4, 4, 4, 1)
STAGE_WIDTHS = (16, 24, 32, 64, 112, 184, 352)
STAGE_STRIDES = (1, 1, 2, 2, 1, 2, 1)
SKIP = OP_NAMES.index("skip")
LARGEST_OP = OP_NAMES.index("k5_e6")


class FBNetSpace(SearchSpace):
    """The FBNet layer-wise space: every searchable layer one of :data:`OP_NAMES`. Stages
    (layers, width, stride), stem, head width, classes and input are its declaration's
    (:mod:`nas.search_spaces.declare`); the defaults are HW-NAS-Bench's CIFAR-100 setting."""

    def __init__(self, name: str = "fbnet", description: str = "", *, in_channels: int = 3, num_classes: int = 100,
                 stem_width: int = 16, stem_stride: int = 1, stage_layers=STAGE_LAYERS, stage_widths=STAGE_WIDTHS,
                 stage_strides=STAGE_STRIDES, head_width: int = 1504, resolutions=(32,), pin_classes: bool = False):
        self.name, self.description = name, description
        self.in_channels, self._num_classes, self.pin_classes = int(in_channels), int(num_classes), bool(pin_classes)
        self.stem_width, self.stem_stride, self.head_width = int(stem_width), int(stem_stride), int(head_width)
        self.stage_layers = tuple(int(x) for x in stage_layers)
        self.stage_widths = tuple(int(x) for x in stage_widths)
        self.stage_strides = tuple(int(x) for x in stage_strides)
        self.resolutions = tuple(int(x) for x in resolutions)
        self.fields = (Field("ops", tuple(range(len(OP_NAMES))), sum(self.stage_layers)),
                       Field("r", self.resolutions, None))

    @property
    def pins_classes(self) -> bool:
        return self.pin_classes

    @property
    def num_classes(self) -> int:
        return self._num_classes

    def _settings(self) -> dict:
        return dict(in_channels=self.in_channels, num_classes=self.num_classes, stem_width=self.stem_width,
                    stem_stride=self.stem_stride, stage_layers=self.stage_layers, stage_widths=self.stage_widths,
                    stage_strides=self.stage_strides, head_width=self.head_width, resolutions=self.resolutions,
                    pin_classes=self.pin_classes)

    def with_num_classes(self, n: int) -> FBNetSpace:
        return FBNetSpace(self.name, self.description, **{**self._settings(), "num_classes": int(n)})

    def declaration(self) -> dict:
        """The declaration (:mod:`nas.search_spaces.declare`) that rebuilds this space."""
        return {"name": self.name, "family": "fbnet", "description": self.description,
                "input_channels": self.in_channels, "num_classes": self.num_classes, "pin_classes": self.pin_classes,
                "stem": {"width": self.stem_width, "stride": self.stem_stride},
                "stages": [{"layers": n, "width": w, "stride": s}
                           for n, w, s in zip(self.stage_layers, self.stage_widths, self.stage_strides)],
                "head_width": self.head_width, "resolutions": list(self.resolutions)}

    def layer_plan(self):
        """(c_out, stride) for each searchable layer."""
        plan = []
        for n, w, s in zip(self.stage_layers, self.stage_widths, self.stage_strides):
            plan += [(w, s if j == 0 else 1) for j in range(n)]
        return plan

    def net_spec(self, arch: Arch) -> NetSpec:
        self._check_space(arch)
        *ops, r = arch.genes
        blocks = [ConvBlock(self.stem_width, 3, self.stem_stride, "relu")]
        c_in = self.stem_width
        for op, (c_out, stride) in zip(ops, self.layer_plan()):
            if op == SKIP:
                blocks.append(SkipBlock(c_out, stride))
            else:
                k, e, g = OP_DEFS[op]
                blocks.append(MBConv(c_out, k, stride, c_in * e, "relu", groups=g))
            c_in = c_out
        blocks += [ConvBlock(self.head_width, 1, 1, "relu"), GlobalPool(), Dense(self.num_classes)]
        return NetSpec((r, r, self.in_channels), tuple(blocks))

    def describe(self, arch: Arch) -> dict:
        """Human-level summary: non-skip depth, mean kernel and expansion, grouped layers."""
        self._check_space(arch)
        used = [OP_DEFS[o] for o in arch.genes[:-1] if o != SKIP]
        def mean(xs):
            return round(sum(xs) / len(xs), 2) if xs else 0.0

        return {"depth": len(used), "mean_kernel": mean([u[0] for u in used]),
                "mean_expand": mean([u[1] for u in used]), "grouped": sum(u[2] > 1 for u in used),
                "resolution": arch.genes[-1]}

    def hand_designed(self) -> Arch:
        """MobileNetV2-style hand design: every layer k3_e6."""
        return Arch(self.name, (OP_NAMES.index("k3_e6"),) * sum(self.stage_layers) + (self.resolutions[-1],))

    def largest(self) -> Arch:
        return Arch(self.name, (LARGEST_OP,) * sum(self.stage_layers) + (self.resolutions[-1],))

    def smallest(self) -> Arch:
        # skip cannot replace layers that change stride or width without a conv; the cheapest
        # network is all-skip (1x1 convs where shapes change)
        return Arch(self.name, (SKIP,) * sum(self.stage_layers) + (self.resolutions[0],))
