"""FBNet space in the CIFAR-100 setting of HW-NAS-Bench.

Encoding ``{"ops": [22 ints in 0..8], "r": 32}`` with op index order
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
    name = "fbnet"
    description = "FBNet space, CIFAR-100 setting of HW-NAS-Bench (32x32x3, 100 classes)"
    fields = (Field("ops", tuple(range(len(OP_NAMES))), sum(STAGE_LAYERS)), Field("r", (32,), None))
    stem_width, head_width, num_classes = 16, 1504, 100

    def layer_plan(self):
        """(c_out, stride) for each of the 22 searchable layers."""
        plan = []
        for n, w, s in zip(STAGE_LAYERS, STAGE_WIDTHS, STAGE_STRIDES):
            plan += [(w, s if j == 0 else 1) for j in range(n)]
        return plan

    def net_spec(self, arch: Arch) -> NetSpec:
        self._check_space(arch)
        *ops, r = arch.genes
        blocks = [ConvBlock(self.stem_width, 3, 1, "relu")]
        c_in = self.stem_width
        for op, (c_out, stride) in zip(ops, self.layer_plan()):
            if op == SKIP:
                blocks.append(SkipBlock(c_out, stride))
            else:
                k, e, g = OP_DEFS[op]
                blocks.append(MBConv(c_out, k, stride, c_in * e, "relu", groups=g))
            c_in = c_out
        blocks += [ConvBlock(self.head_width, 1, 1, "relu"), GlobalPool(), Dense(self.num_classes)]
        return NetSpec((r, r, 3), tuple(blocks))

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
        return Arch(self.name, (OP_NAMES.index("k3_e6"),) * sum(STAGE_LAYERS) + (32,))

    def largest(self) -> Arch:
        return Arch(self.name, (LARGEST_OP,) * sum(STAGE_LAYERS) + (32,))

    def smallest(self) -> Arch:
        # skip cannot replace layers that change stride or width without a conv; the cheapest
        # network is all-skip (1x1 convs where shapes change)
        return Arch(self.name, (SKIP,) * sum(STAGE_LAYERS) + (32,))


FBNET = FBNetSpace()
