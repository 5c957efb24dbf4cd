"""Shared output helpers: JSON lines for ``--json``, reading architecture JSONL files."""
from __future__ import annotations

import contextlib
import json
import sys
from contextvars import ContextVar

from nas.files import read_text
from search_spaces import Arch, get_space
from search_spaces.arch import ArchError, InputError, loads_json

_JSON_OUT: ContextVar = ContextVar("json_out", default=None)


@contextlib.contextmanager
def json_stdout():
    """While active, :func:`emit_json` writes to the current stdout and every other write to
    stdout (``print``, Ray's and JAX's messages, progress bars) goes to stderr."""
    token = _JSON_OUT.set(sys.stdout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _JSON_OUT.reset(token)


def emit_json(obj) -> None:
    """One compact JSON object on its own line of stdout (strict JSON: no NaN or Infinity)."""
    out = _JSON_OUT.get() or sys.stdout
    out.write(json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n")
    out.flush()


def read_arch_jsonl(path: str, space: str) -> list[Arch]:
    """Architectures of ``space`` from a JSONL file, one JSON object per line.

    A line may be the architecture itself or an object with an ``"arch"`` field. Errors name
    the file and line.
    """
    sp = get_space(space)
    archs = []
    for i, line in enumerate(read_text(path, what="architecture file").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = loads_json(line, f"{path}:{i}")
            if isinstance(obj, dict) and "arch" in obj:
                obj = obj["arch"]
            archs.append(sp.from_json(obj))
        except ArchError as e:
            raise InputError(f"{path}:{i}: {e}") from None
    if not archs:
        raise InputError(f"{path}: no architectures in file")
    return archs
