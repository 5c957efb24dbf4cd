"""The export formats (``export.formats``, ``nas export --format``): the one list of their names."""
from __future__ import annotations

from nas.errors import InputError

FORMATS = ("json", "flax", "onnx")


def check_formats(formats, field: str = "export.formats") -> tuple[str, ...]:
    """``formats`` as a tuple when every name is known and there is at least one; InputError
    naming ``field`` otherwise."""
    formats = tuple(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InputError(f"{field}: unknown format {bad[0] if bad else '(empty)'!r} (known: {', '.join(FORMATS)})")
    return formats
