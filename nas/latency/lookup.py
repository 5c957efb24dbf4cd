"""Latency lookup tables in Once-for-All's format, as a hardware profile's predictor.

A table is one YAML file per input resolution, mapping an op key to its measured latency::

    Conv-input:224x224x3-output:112x112x24:            {count: 498, mean: 0.49, std: 0.01}
    expanded_conv-input:56x56x32-output:56x56x32-expand:96-kernel:3-stride:1-idskip:1-se:0-hs:0: {mean: ...}
    Conv_1-input:7x7x192-output:7x7x1152: ...   AvgPool2D-input:7x7x1152-output:1x1x1152: ...
    Conv_2-input:1x1x1152-output:1x1x1536: ...  Logits-input:1x1x1536-output:1000: ...

(the files OFA published for the Samsung Note10, ``ofa/note10/<r>_lookup_table.yaml``). A network's
latency is the sum of its ops' ``mean`` in milliseconds, added in execution order, which is what
OFA's ``LatencyEstimator.predict_network_latency_given_spec`` computes. The keys come from the
network's layer list (:mod:`nas.search_spaces.layers`), so any elastic MBConv space can have a
table; ``nas profile from-lut`` checks that the tables hold every op of every network of the space
at their resolutions before it writes a profile.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from nas.errors import InputError

MODEL_NAME = "lookup_table_v1"
LUT_RUNTIME = "lookup table"  # a profile's runtime field


def _shape(*dims) -> str:
    return "x".join(str(int(d)) for d in dims)


def op_keys(spec) -> list[str]:
    """OFA's lookup-table key of every op of ``spec`` (a NetSpec), in execution order; InputError
    for a network with ops the format has no key for (only MobileNetV3-style networks have)."""
    from nas.search_spaces.layers import ConvBlock, Dense, GlobalPool, MBConv

    h, _, c = spec.input_shape
    keys, convs, last = [], 0, len(spec.blocks) - 1
    for i, b in enumerate(spec.blocks):
        if isinstance(b, ConvBlock) and b.groups == 1:
            ho = math.ceil(h / b.stride)
            name = "Conv" if convs == 0 else f"Conv_{convs}"
            keys.append(f"{name}-input:{_shape(h, h, c)}-output:{_shape(ho, ho, b.c_out)}")
            convs, h, c = convs + 1, ho, b.c_out
        elif isinstance(b, MBConv) and b.groups == 1:
            ho = math.ceil(h / b.stride)
            skip = int(b.stride == 1 and c == b.c_out)
            keys.append(f"expanded_conv-input:{_shape(h, h, c)}-output:{_shape(ho, ho, b.c_out)}-expand:{b.mid}"
                        f"-kernel:{b.kernel}-stride:{b.stride}-idskip:{skip}-se:{int(b.se_mid > 0)}"
                        f"-hs:{int(b.act == 'hswish')}")
            h, c = ho, b.c_out
        elif isinstance(b, GlobalPool):
            keys.append(f"AvgPool2D-input:{_shape(h, h, c)}-output:{_shape(1, 1, c)}")
            h = 1
        elif isinstance(b, Dense) and i == last:
            keys.append(f"Logits-input:{_shape(1, 1, c)}-output:{b.c_out}")
            c = b.c_out
        elif isinstance(b, Dense):
            keys.append(f"Conv_{max(convs, 2)}-input:{_shape(1, 1, c)}-output:{_shape(1, 1, b.c_out)}")
            convs, c = max(convs, 2) + 1, b.c_out
        else:
            raise InputError(f"a {type(b).__name__} block has no key in OFA's lookup-table format "
                             "(only MobileNetV3-style networks have)")
    return keys


def read_ofa_table(path) -> tuple[int, dict[str, float]]:
    """``(resolution, {op key: mean ms})`` of one OFA lookup-table YAML; InputError (one line naming
    the file) when it is not one. The resolution is the input side of its first conv."""
    from nas.files import read_yaml

    p = Path(path)
    obj = read_yaml(p, what="lookup table")
    if not isinstance(obj, dict) or not obj:
        raise InputError(f"{p}: not a latency lookup table (expected a mapping of op keys to {{mean: ms}})")
    table = {}
    for k, v in obj.items():
        mean = v.get("mean") if isinstance(v, dict) else None
        if not isinstance(k, str) or isinstance(mean, bool) or not isinstance(mean, (int, float)) \
                or not math.isfinite(mean) or mean < 0:
            raise InputError(f"{p}: entry {str(k)[:80]!r} is not an op key with a finite, non-negative 'mean' (ms)")
        table[k] = float(mean)
    stems = [k for k in table if k.startswith("Conv-input:")]
    try:
        r = int(stems[0].split(":")[1].split("x")[0])
    except (IndexError, ValueError):
        raise InputError(f"{p}: not a latency lookup table of OFA's format "
                         "(no 'Conv-input:RxRx3-...' stem op)") from None
    if len(stems) > 1:
        raise InputError(f"{p}: holds stem ops of several resolutions; give one file per resolution")
    return r, table


@dataclass(frozen=True)
class LookupTable:
    """Per-resolution op tables of one space: ``tables[r][key]`` is the op's latency in ms."""

    space: str
    tables: dict[int, dict[str, float]]

    def predict_ms(self, archs) -> list[float]:
        """Latency (ms) of each architecture: its ops' table entries summed in execution order;
        InputError naming the first architecture of another space, resolution without a table
        or op missing from its table."""
        from nas.search_spaces import get_space

        space = get_space(self.space)
        out = []
        for a in archs:
            if a.space != self.space:
                raise InputError(f"the lookup table is of space {self.space}, not {a.space}")
            ks, e, d, r = space.decode(a)
            parts = None if getattr(space, "elastic_width", False) else self._parts(space, r)
            if parts is None:  # an op is missing: let network_ms name it
                out.append(self.network_ms(space.net_spec(a)))
                continue
            head, blocks, tail = parts
            total = 0.0
            for v in head:
                total += v
            for i in range(len(d)):
                for j in range(int(d[i])):
                    total += blocks[(i, j > 0, int(ks[i, j]), int(e[i, j]))]
            for v in tail:
                total += v
            out.append(total)
        return out

    def _parts(self, space, r: int):
        """``(head ms list, {(stage, later slot, kernel, expansion): ms}, tail ms list)`` at resolution
        ``r``: the same entries, added in the same order, as :meth:`network_ms` of the layer list
        (so the sums are equal), looked up once per resolution; None when one is missing."""
        cache = self.__dict__.setdefault("_cache", {})
        if r not in cache:
            table = self._table(r)
            n_stages, slots = len(space.cfg.stages), space.slots
            blocks, head, tail = {}, None, None
            try:
                for k, x in _uniform(space):
                    keys = op_keys(space.net_spec(_uniform_arch(space, k, x, r)))
                    head, tail = [table[q] for q in keys[:2]], [table[q] for q in keys[2 + n_stages * slots:]]
                    for i in range(n_stages):
                        for j in range(slots):
                            blocks[(i, j > 0, k, x)] = table[keys[2 + i * slots + j]]
                cache[r] = (head, blocks, tail)
            except KeyError:
                cache[r] = None
        return cache[r]

    def _table(self, r: int) -> dict[str, float]:
        """The table of resolution ``r``; InputError naming the resolutions there are when it has none."""
        if r not in self.tables:
            raise InputError(f"resolution {r} has no lookup table (tables: {', '.join(map(str, sorted(self.tables)))})")
        return self.tables[r]

    def network_ms(self, spec) -> float:
        r = spec.input_shape[0]
        table = self._table(r)
        total = 0.0
        for key in op_keys(spec):
            if key not in table:
                raise InputError(f"op {key} is missing from the resolution-{r} lookup table")
            total += table[key]
        return total


def _uniform(space):
    return [(k, x) for k in space.cfg.kernels for x in space.cfg.expands]


def _uniform_arch(space, k: int, x: int, resolution: int):
    """Kernel ``k`` and expansion ``x`` in every block slot, every stage at its largest depth."""
    import numpy as np

    s = len(space.cfg.stages)
    return space.compose(np.full((s, space.slots), k), np.full((s, space.slots), x), np.full(s, max(space.cfg.depths)),
                         resolution)


def required_keys(space, resolution: int) -> list[str]:
    """Every op key a network of ``space`` (an elastic MBConv space) at ``resolution`` may have:
    the keys of the nine uniform networks (one kernel, one expansion everywhere, every block
    active), which between them hold each stage position with each kernel and expansion."""
    keys: dict[str, None] = {}
    for k, x in _uniform(space):
        keys.update(dict.fromkeys(op_keys(space.net_spec(_uniform_arch(space, k, x, resolution)))))
    return list(keys)


def build_lookup(space_name: str, paths) -> LookupTable:
    """A :class:`LookupTable` of ``space_name`` from OFA table files (one per resolution), checked
    to hold every op of every network of the space at those resolutions; InputError naming a file
    of another space or resolution, a missing op or a resolution given twice."""
    from nas.search_spaces import get_space

    space = get_space(space_name)
    if not hasattr(space, "cfg"):
        raise InputError(f"--space {space_name}: lookup tables describe MobileNetV3-style (elastic MBConv) spaces only")
    tables: dict[int, dict[str, float]] = {}
    for p in paths:
        r, table = read_ofa_table(p)
        if r not in space.cfg.resolutions:
            raise InputError(f"{p}: a table for resolution {r}, which space {space_name} does not have "
                             f"(its resolutions: {', '.join(map(str, space.cfg.resolutions))})")
        if r in tables:
            raise InputError(f"{p}: a second table for resolution {r}")
        need = required_keys(space, r)
        if need[0] not in table:
            have = next(k for k in table if k.startswith("Conv-input:"))
            raise InputError(f"{p}: a table of another space (its stem op is {have}; space {space_name} "
                             f"needs {need[0]})")
        missing = [k for k in need if k not in table]
        if missing:
            raise InputError(f"{p}: op {missing[0]} of space {space_name} is missing "
                             f"({len(missing)} of its {len(need)} ops missing)")
        tables[r] = table
    if not tables:
        raise InputError("give at least one lookup table (--lut FILE)")
    return LookupTable(space_name, tables)


def parse_lookup(obj, where: str) -> LookupTable:
    """The ``predictor`` mapping of a lookup-table profile as a :class:`LookupTable`; InputError
    naming the field."""
    from nas.search_spaces import get_space

    space = obj.get("space")
    if not isinstance(space, str):
        raise InputError(f"{where}: field 'space' must name a search space")
    try:
        get_space(space)
    except InputError as e:
        raise InputError(f"{where}: space: {e}") from None
    raw = obj.get("tables")
    if not isinstance(raw, dict) or not raw:
        raise InputError(f"{where}: field 'tables' must map resolutions to {{op key: ms}} tables")
    tables = {}
    for r, t in raw.items():
        if isinstance(r, bool) or not isinstance(r, int) or not isinstance(t, dict) or not all(
                isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v) and v >= 0 for k, v in t.items()):
            raise InputError(f"{where}: tables[{r!r}] must map op keys to finite, non-negative ms")
        tables[r] = {k: float(v) for k, v in t.items()}
    return LookupTable(space, tables)


def lookup_to_dict(lut: LookupTable) -> dict:
    return {"model": MODEL_NAME, "space": lut.space,
            "tables": {int(r): dict(sorted(t.items())) for r, t in sorted(lut.tables.items())}}
