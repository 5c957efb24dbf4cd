"""Architectures as values.

An :class:`Arch` is a frozen, hashable value: the name of its search space and a flat tuple of
integer gene values (the integer-array form used for vectorised work). Each search space owns
the JSON encoding of its architectures (``space.to_json`` / ``space.from_json``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass


class InputError(ValueError):
    """Bad user input (config, architecture, CSV, profile, checkpoint, path).

    The message is one line naming the bad field or file; the CLI prints it and exits with 2.
    """


class ArchError(InputError):
    """An architecture (JSON or gene vector) does not decode in its search space."""


@dataclass(frozen=True, order=True)
class Arch:
    """A point of a search space.

    Attributes:
      space: registry name of the search space (``"ofa_mbv3"``, ...).
      genes: gene values (not indices), in the space's gene order.
    """

    space: str
    genes: tuple[int, ...]

    def to_json(self) -> dict:
        """The space's JSON encoding (a dict)."""
        from search_spaces.registry import get_space

        return get_space(self.space).to_json(self)

    def dumps(self) -> str:
        """Compact JSON string of :meth:`to_json` (the form used in CSV and JSONL files)."""
        return json.dumps(self.to_json(), separators=(",", ":"))


def parse_arch_json(text_or_obj) -> dict:
    """Parse an architecture given as a JSON string or an already decoded dict."""
    if isinstance(text_or_obj, dict):
        return text_or_obj
    if not isinstance(text_or_obj, str):
        raise ArchError(f"architecture must be a JSON object, got {type(text_or_obj).__name__}")
    try:
        obj = json.loads(text_or_obj)
    except json.JSONDecodeError as e:
        raise ArchError(f"architecture is not valid JSON: {e.msg} at position {e.pos}") from None
    if not isinstance(obj, dict):
        raise ArchError(f"architecture must be a JSON object, got {type(obj).__name__}")
    return obj
