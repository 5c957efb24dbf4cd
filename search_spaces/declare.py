"""Search spaces declared, not coded: one format for the shipped spaces and a user's own.

A declaration is a mapping (a YAML file, or ``space_def`` in an experiment's config) naming a
``family`` and its settings. The shipped spaces are such files (``search_spaces/spaces/*.yaml``,
package data). Two families:

``elastic_mbconv`` (Once-for-All / MobileNetV3 style)::

    name: my_space                      # the name architectures and profiles refer to
    family: elastic_mbconv
    description: free text
    input_channels: 3
    num_classes: 10                     # used where no data says otherwise (space show, profiles)
    pin_classes: false                  # true: the data must have exactly num_classes classes
    stem: {width: 16, stride: 2}        # 3x3 conv, h-swish
    first_block: {width: 16}            # fixed MBConv k3 e1, ReLU
    stages:                             # elastic stages
      - {width: 24, stride: 2, act: relu, se: false}
      - {width: 40, stride: 2, act: hswish, se: true, kernels: [3, 5], depths: [2, 3]}   # own choices
    kernels: [3, 5, 7]                  # the choices of every stage that gives none of its own
    expands: [3, 4, 6]
    depths: [2, 3, 4]
    width_mults: [0.75, 1.0]            # optional: elastic width, each stage's choices of output
                                        # channels (a stage may give its own width_mults or widths)
    resolutions: [160, 192, 224]        # or {from: 128, to: 224, step: 4}
    head: {final_width: 960, feature_width: 1280, feature_bias: true}   # feature_width 0: no layer
    kernel_transform: false             # Once-for-All's learned kernel transformation

``fbnet`` (layer-wise choice of 9 MBConv/skip ops, HW-NAS-Bench's FBNet)::

    name: fbnet
    family: fbnet
    input_channels: 3
    num_classes: 100
    stem: {width: 16, stride: 1}
    stages: [{layers: 1, width: 16, stride: 1}, ...]
    head_width: 1504
    resolutions: [32]

Every error is an :class:`nas.errors.InputError` naming the file or field. A space written in
Python (a :class:`SearchSpace` subclass instance) is named ``module:attribute`` or registered
under the entry-point group ``jaxnas.spaces`` (:mod:`nas.search_spaces.registry`).
"""
from __future__ import annotations

from pathlib import Path

from nas.errors import InputError, check_mapping, loads_yaml

SHIPPED_DIR = Path(__file__).resolve().parent / "spaces"
FAMILIES = ("elastic_mbconv", "fbnet")
ACTIVATIONS = ("relu", "hswish")
_COMMON = ("name", "family", "description", "input_channels", "num_classes", "pin_classes", "resolutions")
ELASTIC_KEYS = _COMMON + ("stem", "first_block", "stages", "kernels", "expands", "depths", "width_mults", "head",
                          "kernel_transform")
FBNET_KEYS = _COMMON + ("stem", "stages", "head_width")


MAX_DECLARATION_BYTES = 1 << 20


def read_declaration(path: str | Path) -> dict:
    """The declaration in a YAML file, read with the project's bounded YAML reader
    (:func:`nas.errors.loads_yaml`); InputError naming the file when it is missing, too large,
    unreadable or not a mapping."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"{p}: no such space file")
    try:
        if p.stat().st_size > MAX_DECLARATION_BYTES:
            raise InputError(f"{p}: space file too large (limit {MAX_DECLARATION_BYTES} bytes)")
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: not a readable YAML space declaration ({type(e).__name__})") from None
    obj = loads_yaml(text, f"{p}: not a readable YAML space declaration")
    if not isinstance(obj, dict):
        raise InputError(f"{p}: a space declaration is a mapping of settings, got {type(obj).__name__}")
    return obj


def is_space_file(value: str) -> bool:
    return isinstance(value, str) and value.lower().endswith((".yaml", ".yml"))


def from_declaration(decl: dict, where: str = "space"):
    """The :class:`SearchSpace` a declaration describes; InputError naming ``where`` and the field."""
    if not isinstance(decl, dict):
        raise InputError(f"{where}: a space declaration is a mapping, got {type(decl).__name__}")
    family = decl.get("family")
    if family not in FAMILIES:
        raise InputError(f"{where}.family: {family!r} is not a space family (known: {', '.join(FAMILIES)})")
    keys = ELASTIC_KEYS if family == "elastic_mbconv" else FBNET_KEYS
    extra = sorted(set(decl) - set(keys))
    if extra:
        raise InputError(f"{where}: unknown key {extra[0]!r} for family {family} (known: {', '.join(keys)})")
    r = _Reader(decl, where)
    name = r.name()
    common = dict(description=r.text("description"), in_channels=r.positive("input_channels"),
                  num_classes=r.positive("num_classes"), pin_classes=r.flag("pin_classes", False),
                  resolutions=r.resolutions())
    if common["num_classes"] < 2:
        raise InputError(f"{where}.num_classes: a classifier needs at least 2 classes, got {common['num_classes']}")
    if family == "fbnet":
        from nas.search_spaces.fbnet import FBNetSpace

        stem = r.section("stem", ("width", "stride"))
        stages = r.stages(("layers", "width", "stride"))
        stem_stride = r.positive("stride", stem, f"{where}.stem")
        strides = [r.positive("stride", s, w) for w, s in stages]
        _check_strides(where, common["resolutions"], stem_stride, strides)
        return FBNetSpace(name, common.pop("description"), **common,
                          stem_width=r.positive("width", stem, f"{where}.stem"), stem_stride=stem_stride,
                          stage_layers=[r.positive("layers", s, w) for w, s in stages],
                          stage_widths=[r.positive("width", s, w) for w, s in stages],
                          stage_strides=strides, head_width=r.positive("head_width"))
    from nas.search_spaces.elastic_mbconv import ElasticConfig, ElasticMBConvSpace, StageDef

    stem = r.section("stem", ("width", "stride"))
    first = r.section("first_block", ("width",))
    head = r.section("head", ("final_width", "feature_width", "feature_bias"))
    stage_keys = ("width", "stride", "act", "se", "kernels", "expands", "depths", "widths", "width_mults")
    stages = r.stages(stage_keys)
    kernels, expands, depths = (r.choices(k, decl, where, odd=(k == "kernels"), optional=True)
                                for k in ("kernels", "expands", "depths"))
    mults = r.multipliers(decl, where)
    defs, own, widths = [], [], []
    for w, s in stages:
        act = s.get("act")
        if act not in ACTIVATIONS:
            raise InputError(f"{w}.act: {act!r} is not an activation (known: {', '.join(ACTIVATIONS)})")
        defs.append(StageDef(r.positive("width", s, w), r.positive("stride", s, w), act, r.flag("se", False, s, w)))
        widths.append(r.stage_widths(s, w, defs[-1].width, mults))
        per = []
        for k, default in (("kernels", kernels), ("expands", expands), ("depths", depths)):
            c = r.choices(k, s, w, odd=(k == "kernels"), optional=True) or default
            if not c:
                raise InputError(f"{w}.{k}: missing (give {where}.{k} for every stage, or the stage's own)")
            per.append(c)
        own.append(tuple(per))
    union = [tuple(sorted({v for st in own for v in st[k]})) for k in range(3)]
    same = all(st == own[0] for st in own)  # one set of choices: no per-stage entries
    cfg = ElasticConfig(
        in_channels=common["in_channels"], num_classes=common["num_classes"],
        stem_width=r.positive("width", stem, f"{where}.stem"), stem_stride=r.positive("stride", stem, f"{where}.stem"),
        first_width=r.positive("width", first, f"{where}.first_block"), stages=tuple(defs),
        final_width=r.positive("final_width", head, f"{where}.head"),
        feature_width=r.non_negative("feature_width", head, f"{where}.head"),
        kernels=union[0], expands=union[1], depths=union[2], resolutions=common["resolutions"],
        feature_bias=r.flag("feature_bias", True, head, f"{where}.head"),
        kernel_transform=r.flag("kernel_transform", False), pin_classes=common["pin_classes"],
        stage_choices=None if same else tuple(own),
        stage_widths=None if all(len(ws) == 1 for ws in widths) else tuple(widths))
    _check_strides(where, cfg.resolutions, cfg.stem_stride, [st.stride for st in cfg.stages])
    return ElasticMBConvSpace(name, cfg, common["description"])


def _check_strides(where: str, resolutions, stem_stride: int, strides) -> None:
    """Every resolution divisible by the stem's stride, and not below the network's total stride
    (the last feature map would be under one pixel)."""
    import math

    total = stem_stride * math.prod(strides)
    for res in resolutions:
        if res % stem_stride:
            raise InputError(f"{where}.resolutions: {res} px is not divisible by the stem's stride {stem_stride}")
        if res < total:
            raise InputError(f"{where}.resolutions: {res} px is below the network's total stride {total} (stem and "
                             "stages): its last feature map would be under one pixel")


LISTING_ORDER = ("fashion_mnist", "ofa_mbv3", "fbnet", "cifar_mbv3", "ofa_mbv3_w12")  # then any other file


def shipped_declarations() -> dict[str, dict]:
    """``{name: declaration}`` of the spaces shipped with the package (``nas space list``'s order)."""
    def order(p: Path):
        return LISTING_ORDER.index(p.stem) if p.stem in LISTING_ORDER else len(LISTING_ORDER), p.stem

    out = {}
    for p in sorted(SHIPPED_DIR.glob("*.yaml"), key=order):
        decl = read_declaration(p)
        out[str(decl.get("name"))] = decl
    return out


class _Reader:
    """Typed reads from a declaration with one-line errors naming the field."""

    def __init__(self, decl: dict, where: str):
        self.decl, self.where = decl, where

    def _get(self, key, obj=None, where=None):
        obj = self.decl if obj is None else obj
        where = self.where if where is None else where
        if key not in obj:
            raise InputError(f"{where}.{key}: missing")
        return obj[key], f"{where}.{key}"

    def name(self) -> str:
        v, w = self._get("name")
        if not isinstance(v, str) or not v or not all(ch.isalnum() or ch in "_-." for ch in v):
            raise InputError(f"{w}: a space name is letters, digits, '_', '-' or '.', got {v!r}")
        return v

    def text(self, key) -> str:
        v = self.decl.get(key, "")
        if not isinstance(v, str):
            raise InputError(f"{self.where}.{key}: must be text, got {v!r}")
        return v

    def positive(self, key, obj=None, where=None) -> int:
        v, w = self._get(key, obj, where)
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise InputError(f"{w}: must be a positive integer, got {v!r}")
        return v

    def non_negative(self, key, obj=None, where=None) -> int:
        v, w = self._get(key, obj, where)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(f"{w}: must be a non-negative integer, got {v!r}")
        return v

    def flag(self, key, default, obj=None, where=None) -> bool:
        obj = self.decl if obj is None else obj
        v = obj.get(key, default)
        if not isinstance(v, bool):
            raise InputError(f"{where or self.where}.{key}: must be true or false, got {v!r}")
        return v

    def section(self, key, keys) -> dict:
        v, w = self._get(key)
        return check_mapping(v, keys, w)

    def stages(self, keys) -> list[tuple[str, dict]]:
        v, w = self._get("stages")
        if not isinstance(v, list) or not v:
            raise InputError(f"{w}: must be a non-empty list of stages")
        return [(f"{w}[{i}]", check_mapping(s, keys, f"{w}[{i}]")) for i, s in enumerate(v)]

    def choices(self, key, obj, where, odd=False, optional=False):
        if key not in obj and optional:
            return None
        v, w = self._get(key, obj, where)
        if not isinstance(v, list) or not v or any(isinstance(x, bool) or not isinstance(x, int) or x <= 0 for x in v):
            raise InputError(f"{w}: must be a non-empty list of positive integers, got {v!r}")
        if len(set(v)) != len(v):
            raise InputError(f"{w}: repeats a value ({v})")
        if odd and any(x % 2 == 0 for x in v):
            raise InputError(f"{w}: kernel sizes must be odd, got {v}")
        return tuple(sorted(v))

    def multipliers(self, obj, where):
        if "width_mults" not in obj:
            return None
        v, w = self._get("width_mults", obj, where)
        if not isinstance(v, list) or not v or any(isinstance(x, bool) or not isinstance(x, (int, float))
                                                   or not 0 < x <= 1 for x in v):
            raise InputError(f"{w}: must be a non-empty list of numbers in (0, 1], got {v!r}")
        if 1 not in v:
            raise InputError(f"{w}: must include 1 (the stage's full width), got {v!r}")
        return tuple(v)

    def stage_widths(self, stage, where, width, mults) -> tuple[int, ...]:
        """A stage's width choices: its ``widths``, or its (else the space's) ``width_mults`` of its
        width rounded as MobileNets round (a multiple of 8, never 10% below), or its width alone."""
        from nas.search_spaces.layers import make_divisible

        if "widths" in stage:
            if "width_mults" in stage:
                raise InputError(f"{where}: give widths or width_mults, not both")
            ws = self.choices("widths", stage, where)
            if max(ws) != width:
                raise InputError(f"{where}.widths: the largest must be the stage's width {width}, got {list(ws)}")
            return ws
        mults = self.multipliers(stage, where) or mults
        if not mults:
            return (width,)
        return tuple(sorted({min(width, make_divisible(width * m, 8)) for m in mults}))

    def resolutions(self) -> tuple[int, ...]:
        v, w = self._get("resolutions")
        if isinstance(v, dict):
            if set(v) != {"from", "to", "step"} or any(isinstance(x, bool) or not isinstance(x, int) or x <= 0
                                                         for x in v.values()) or v["to"] < v["from"]:
                raise InputError(f"{w}: a range is {{from, to, step}} of positive integers with to >= from, got {v!r}")
            return tuple(range(v["from"], v["to"] + 1, v["step"]))
        return self.choices("resolutions", self.decl, self.where)
