"""Shared output helpers: JSON lines for ``--json``, reading architecture JSONL files."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from search_spaces import Arch, get_space
from search_spaces.arch import ArchError, InputError


def emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")


def read_arch_jsonl(path: str, space: str) -> list[Arch]:
    """Architectures of ``space`` from a JSONL file, one JSON object per line.

    A line may be the architecture itself or an object with an ``"arch"`` field. Errors name
    the file and line.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    sp = get_space(space)
    archs = []
    for i, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if isinstance(obj, dict) and "arch" in obj:
                obj = obj["arch"]
            archs.append(sp.from_json(obj))
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{i}: not valid JSON ({e.msg})") from None
        except ArchError as e:
            raise InputError(f"{path}:{i}: {e}") from None
    if not archs:
        raise InputError(f"{path}: no architectures in file")
    return archs
