"""Files: the one way this project writes a file that a killed process must not tear, and the
one way it reads a file it did not just write.

Every write goes to a temporary file in the same directory, is flushed and fsynced, then
``os.replace``-d over the target, so a reader (or a resumed run) sees either the old or the
new file, never a partial one; a failed write removes its temporary file. Parent directories
are created; a path that cannot be written (a file where a folder is needed, a folder where the
file should go, no permission) raises :class:`InputError` naming it.

Reads (:func:`read_text`, :func:`read_json`, :func:`read_yaml`) are bounded in size and
nesting and raise :class:`InputError` naming the file for a missing path, a folder, text that
is not UTF-8, a file too large, or JSON/YAML that does not parse.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from nas.errors import InputError, loads_json, loads_yaml

MAX_READ_BYTES = 256 << 20  # no input file of this project comes near; a bigger one is a mistake


def _oserror(path, e: OSError, doing: str) -> InputError:
    reason = e.strerror or type(e).__name__
    return InputError(f"{e.filename or path}: cannot {doing} ({reason})")


def checked_dir(path: str | os.PathLike, what: str = "folder") -> Path:
    """Create ``path`` as a folder (and its parents); InputError naming it if that cannot be done."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: {what} is a file, expected a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _oserror(path, e, f"create {what}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"{path}: {what} is not writable")
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a file")
    checked_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _oserror(path, e, "write") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise _oserror(path, e, "write") from None
        raise
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


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (checksums recorded beside stage outputs)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def folder_digest(path: str | os.PathLike) -> str:
    """Hex SHA-256 over a folder's files (relative paths and contents, sorted): the checksum
    recorded for saved weights and checkpoints and verified before they are reused."""
    root = Path(path)
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + sha256_file(f).encode() + b"\n")
    return h.hexdigest()


def record_digest(obj) -> str:
    """Hex SHA-256 of a JSON record in canonical form (sorted keys, compact)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def read_bytes(path: str | os.PathLike, *, what: str = "file", max_bytes: int = MAX_READ_BYTES) -> bytes:
    """The bytes of ``path``; InputError naming it when it is missing, a folder, unreadable or too large."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such {what}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a {what}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{path}: {what} too large ({size} bytes, limit {max_bytes})")
        return path.read_bytes()
    except OSError as e:
        raise _oserror(path, e, f"read {what}") from None


def read_text(path: str | os.PathLike, *, what: str = "file", max_bytes: int = MAX_READ_BYTES) -> str:
    """UTF-8 text of ``path`` (see :func:`read_bytes`); InputError when it is not UTF-8."""
    data = read_bytes(path, what=what, max_bytes=max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: {what} is not UTF-8 text (byte {e.start})") from None


def read_json(path: str | os.PathLike, *, what: str = "JSON file", max_bytes: int = MAX_READ_BYTES):
    """Decoded JSON of ``path``, bounded (see :func:`nas.errors.loads_json`)."""
    return loads_json(read_text(path, what=what, max_bytes=max_bytes), str(path))


def read_yaml(path: str | os.PathLike, *, what: str = "YAML file", max_bytes: int = 16 << 20):
    """Decoded YAML of ``path``, bounded (see :func:`nas.errors.loads_yaml`); InputError naming the file."""
    return loads_yaml(read_text(path, what=what, max_bytes=max_bytes), str(path))
