"""Measurement CSV files: header ``arch,latency_ms``; ``arch`` is the space's JSON (quoted).

Shipped data files may hold several device columns; ``column`` picks one. Every error is an
InputError naming the file and, where it applies, the line.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from nas.errors import InputError
from nas.files import atomic_write_text, read_text
from nas.search_spaces import Arch, arch_dumps, get_space
from nas.search_spaces.arch import ArchError


def read_measurements(path, space: str, column: str = "latency_ms", *, min_rows: int = 1,
                      valid=lambda v: v > 0, valid_text: str = "a positive number",
                      unique: bool = False, what: str = "measurement file") -> tuple[list[Arch], np.ndarray]:
    """Architectures and values of ``column`` (by default latencies, ms, > 0; ``valid`` and
    ``valid_text`` say otherwise) from a CSV; InputError names file and line. ``unique``: an
    architecture given twice (the same network, whatever its inactive genes) is an error."""
    text = read_text(path, what=what)
    seen: dict[Arch, int] = {}
    sp = get_space(space)
    archs, lat = [], []
    try:
        with io.StringIO(text, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise InputError(f"{path}: empty file (expected header 'arch,latency_ms')")
            header = [h.strip() for h in header]
            for need in ("arch", column):
                if need not in header:
                    raise InputError(f"{path}:1: missing column {need!r} (header is {','.join(header)})")
            ia, il = header.index("arch"), header.index(column)
            for row in reader:
                line = reader.line_num
                if not row or not any(c.strip() for c in row):
                    continue
                if len(row) != len(header):
                    raise InputError(f"{path}:{line}: {len(row)} fields, header has {len(header)}")
                try:
                    archs.append(sp.from_json(row[ia]))
                except ArchError as e:
                    raise InputError(f"{path}:{line}: {e}") from None
                if unique:
                    c = sp.canonical(archs[-1])
                    if c in seen:
                        raise InputError(f"{path}:{line}: the architecture of line {seen[c]} again")
                    seen[c] = line
                try:
                    v = float(row[il])
                except ValueError:
                    raise InputError(f"{path}:{line}: {column} {row[il]!r} is not a number") from None
                if not math.isfinite(v) or not valid(v):
                    raise InputError(f"{path}:{line}: {column} must be {valid_text}, got {row[il]!r}")
                lat.append(v)
    except csv.Error as e:
        raise InputError(f"{path}: not a readable CSV file ({e})") from None
    if len(archs) < min_rows:
        raise InputError(f"{path}: {len(archs)} measurements, at least {min_rows} needed")
    return archs, np.array(lat, dtype=float)


def write_measurements(path, archs, latency_ms) -> Path:
    """Write ``arch,latency_ms`` rows; returns the path."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["arch", "latency_ms"])
    for a, v in zip(archs, latency_ms):
        w.writerow([arch_dumps(a), f"{float(v):.6g}"])
    return atomic_write_text(path, buf.getvalue())
