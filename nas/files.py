"""Atomic files: the one way this project writes a file that a killed process must not tear.

Every write goes to ``<name>.tmp`` in the same directory, is flushed and fsynced, then
``os.replace``-d over the target, so a reader (or a resumed run) sees either the old or the
new file, never a partial one. Parent directories are created.
"""
from __future__ import annotations

import json
import os
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | os.PathLike, obj, *, indent: int | None = 1) -> Path:
    """Write ``obj`` as JSON (``indent`` spaces; None: compact) atomically; returns the path."""
    return atomic_write_text(path, json.dumps(obj, indent=indent))


def write_jsonl(path: str | os.PathLike, rows) -> Path:
    """Write one compact JSON object per line, atomically; returns the path."""
    return atomic_write_text(path, "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows))
