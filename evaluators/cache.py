"""A persistent cache in front of an evaluator, keyed by canonical architecture.

The cache is an append-only JSONL file, one ``{"arch": <JSON encoding>, <key>: value, ...}``
per line, flushed and fsynced after every batch. JSON floats round-trip exactly, so a value
read back equals the value computed. A torn last line (the process was killed mid-write) is
dropped on load; any other unreadable line raises :class:`InputError` naming file and line, and
the file is left untouched.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from nas.errors import InputError, loads_json
from nas.files import atomic_write_text, read_text
from nas.search_spaces import Arch, SearchSpace


def _plain(v):
    """NumPy scalars to Python numbers (JSON-serialisable, exact round trip)."""
    return v.item() if hasattr(v, "item") else v


class CachedEvaluator:
    """Evaluates only architectures whose canonical form is not yet cached."""

    def __init__(self, inner, space: SearchSpace, path: str | os.PathLike | None = None):
        self.inner, self.space = inner, space
        self.provides = tuple(inner.provides)
        self.path = Path(path) if path is not None else None
        self.store: dict[Arch, dict] = {}
        self.hits = self.misses = 0
        if self.path is not None and self.path.exists():
            self._load()

    def _load(self) -> None:
        text = read_text(self.path, what="evaluation cache")
        lines = text.split("\n")
        torn = not text.endswith("\n") and text != ""
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = loads_json(line, f"{self.path}:{i}")
                if not isinstance(obj, dict):
                    raise InputError(f"{self.path}:{i}: not an object")
                arch = self.space.canonical(self.space.from_json(obj.pop("arch")))
                bad = [k for k, v in obj.items() if isinstance(v, bool) or not isinstance(v, (int, float))]
                if bad:
                    raise InputError(f"{self.path}:{i}: value {bad[0]!r} is not a number")
            except (KeyError, InputError) as e:
                if torn and i == len(lines):
                    break
                reason = str(e).removeprefix(f"{self.path}:{i}: ") if isinstance(e, InputError) else "no arch"
                raise InputError(f"{self.path}:{i}: corrupt evaluation cache line ({reason})") from None
            self.store[arch] = obj
        if torn:  # drop the torn tail so later appends start on a fresh line
            atomic_write_text(self.path, text[: text.rfind("\n") + 1])

    def evaluate(self, archs: Sequence[Arch]) -> list[dict]:
        keys = [self.space.canonical(a) for a in archs]
        todo = list(dict.fromkeys(k for k in keys if k not in self.store or
                                  any(p not in self.store[k] for p in self.provides)))
        self.hits += len(keys) - len(todo)
        self.misses += len(todo)
        if todo:
            recs = self.inner.evaluate(todo)
            new = {k: {p: _plain(v) for p, v in r.items()} for k, r in zip(todo, recs)}
            self.store.update(new)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a") as f:
                    for k, r in new.items():
                        f.write(json.dumps({"arch": self.space.to_json(k), **r}) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
        return [dict(self.store[k]) for k in keys]

    def close(self) -> None:
        getattr(self.inner, "close", lambda: None)()
