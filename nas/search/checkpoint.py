"""Atomic files for the search work directory.

Format choice: the search state is one pickle (``state.pkl``) of a plain dict holding the
algorithm's NamedTuple state (NumPy arrays, tuples of ``Arch``, ints), the evaluation history
and the run's config fingerprint; JSONL files next to it are the human-readable record. Every
write goes to ``<name>.tmp`` in the same directory, is fsynced, then ``os.replace``-d over the
target, so a killed process leaves either the old or the new file, never a torn one.
"""
from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

from search_spaces.arch import InputError

STATE_FORMAT = 1


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_jsonl(path: str | os.PathLike, rows) -> None:
    """Atomically write one compact JSON object per line."""
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)
    atomic_write_bytes(path, text.encode())


def save_state(path: str | os.PathLike, payload: dict) -> None:
    atomic_write_bytes(path, pickle.dumps({"format": STATE_FORMAT, **payload}, protocol=4))


def load_state(path: str | os.PathLike) -> dict | None:
    """The saved payload, or None when no state file exists.

    Raises :class:`InputError` (the file is left as it is) when it cannot be read back.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        with open(path, "rb") as f:
            payload = pickle.load(f)
    except Exception as e:  # any unpickling failure means a corrupt or foreign file
        raise InputError(f"{path}: corrupt search state ({type(e).__name__}); "
                         "move it away to start the search over") from None
    if not isinstance(payload, dict) or payload.get("format") != STATE_FORMAT:
        raise InputError(f"{path}: not a search state of format {STATE_FORMAT}; "
                         "move it away to start the search over")
    return payload
