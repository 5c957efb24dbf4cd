"""Shared output helpers: JSON lines for ``--json``, reading architecture JSONL files."""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from contextvars import ContextVar

from nas.errors import InputError, loads_json
from nas.files import read_text
from nas.search_spaces import Arch, get_space
from nas.search_spaces.arch import ArchError

_JSON_OUT: ContextVar = ContextVar("json_out", default=None)


@contextlib.contextmanager
def json_stdout():
    """While active, :func:`emit_json` writes to the current stdout and every other write to
    stdout (``print``, Ray's and JAX's messages, progress bars) goes to stderr. When stdout is
    the process's file descriptor 1, that descriptor itself points at stderr meanwhile, so
    writes from C++ (XLA, Ray's core worker) and child processes are diverted too."""
    try:
        real_fd = sys.stdout.fileno() == 1
    except (AttributeError, OSError, ValueError):  # a StringIO (tests) or a closed stream
        real_fd = False
    if not real_fd:
        token = _JSON_OUT.set(sys.stdout)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                yield
        finally:
            _JSON_OUT.reset(token)
        return
    sys.stdout.flush()
    saved = os.dup(1)
    out = os.fdopen(saved, "w", buffering=1, closefd=False)
    os.dup2(2, 1)
    token = _JSON_OUT.set(out)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _JSON_OUT.reset(token)
        sys.stdout.flush()
        out.flush()
        os.dup2(saved, 1)
        out.close()
        os.close(saved)


def emit_json(obj) -> None:
    """One compact JSON object on its own line of stdout (strict JSON: no NaN or Infinity)."""
    out = _JSON_OUT.get() or sys.stdout
    out.write(json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n")
    out.flush()


def count(lo: int = 1, hi: int = 10**7):
    """argparse type: an integer in ``[lo, hi]`` (usage error, one line, otherwise)."""
    def parse(text: str) -> int:
        try:
            v = int(text) if len(text) < 30 else None
        except ValueError:
            v = None
        if v is None or not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"expected an integer from {lo} to {hi}, got {text[:30]!r}")
        return v
    parse.__name__ = "count"
    return parse


seed = count(0, 2**32 - 1)


def positive_float(text: str) -> float:
    """argparse type: a finite number in (0, 1e12]."""
    try:
        v = float(text) if len(text) < 40 else math.nan
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and 0 < v <= 1e12):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text[:40]!r}")
    return v


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
