"""Per-network rows of a long check, kept in a small JSON file beside its docs page.

A check that trains many networks (``nas check fidelity``, ``search-vs-random``,
``scratch-vs-inherited``) can outlast one sitting of the machine, and its work directory may
not survive to the next. With ``--rows FILE`` each network's row is merged into FILE
(atomically) as soon as that network finishes; a later sitting running the same command skips
every network whose row FILE already holds, and the check's summary is computed from FILE's
rows. Committing FILE after each sitting makes the measurement accumulate.

A row's key is what makes its number: the run's identity (experiment and the supernet whose
weights or accuracies the row depends on), the network (name and architecture digest) and the
training budget (digest of the settings that change the result). A row of another supernet,
network or budget is never served for this one. FILE::

    {"rows": {"<run>/<network>/<arch digest>/<budget digest>": {..., "key": {...}}}}
"""
from __future__ import annotations

from pathlib import Path

from nas.errors import InputError
from nas.files import atomic_write_json, read_json, record_digest


def row_key(run: str, network: str, arch, budget: dict) -> str:
    """The key of ``network`` (architecture ``arch``: its JSON, or any JSON naming a fixed model)
    trained with ``budget`` (JSON settings) for the run identified by ``run``."""
    return f"{run}/{network}/{record_digest(arch)[:10]}/{record_digest(budget)[:10]}"


def load_rows(path: str | Path | None) -> dict[str, dict]:
    """The rows of ``path`` by key; ``{}`` when ``path`` is None or does not exist yet.
    InputError naming the file when it is not a rows file."""
    if path is None or not Path(path).exists():
        return {}
    rec = read_json(path, what="benchmark rows")
    rows = rec.get("rows") if isinstance(rec, dict) else None
    if not isinstance(rows, dict) or not all(isinstance(r, dict) for r in rows.values()):
        raise InputError(f"{path}: not a rows file (expected {{\"rows\": {{key: row}}}})")
    return rows


def merge_row(path: str | Path, key: str, row: dict) -> dict[str, dict]:
    """Merge ``row`` under ``key`` into ``path`` (replacing a row of that key; the others kept,
    keys sorted so commits show small diffs), written atomically; returns all rows."""
    rows = load_rows(path)
    rows[key] = row
    atomic_write_json(path, {"rows": dict(sorted(rows.items()))})
    return rows


class RowStore:
    """The rows of one check by key: FILE's (each new row merged into FILE as it arrives) with
    ``path``, else this sitting's alone (in memory). InputError naming FILE when it is not a
    rows file."""

    def __init__(self, path: str | Path | None = None):
        self.path = path
        self.rows = load_rows(path)

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def __getitem__(self, key: str) -> dict:
        return self.rows[key]

    def get(self, key: str, default=None):
        return self.rows.get(key, default)

    def put(self, key: str, row: dict) -> dict:
        """Keep ``row`` under ``key`` (merged into FILE at once when there is one); returns it
        as stored."""
        self.rows = merge_row(self.path, key, row) if self.path else {**self.rows, key: row}
        return self.rows[key]


def pending(keys, path: str | Path | None) -> list[int]:
    """Indices of ``keys`` that ``path`` holds no row for (the networks still to run)."""
    done = load_rows(path)
    return [i for i, k in enumerate(keys) if k not in done]
