"""Architectures as values.

An :class:`Arch` is a frozen, hashable value: the name of its search space and a flat tuple of
integer gene values (the integer-array form used for vectorised work). Each search space owns
the JSON encoding of its architectures (``space.to_json`` / ``space.from_json``); an Arch alone
is encoded through the registry of spaces (:func:`nas.search_spaces.registry.arch_to_json`,
:func:`~nas.search_spaces.registry.arch_dumps`), which this module, below every space, cannot see.
"""
from __future__ import annotations

from dataclasses import dataclass

from nas.errors import InputError, loads_json


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


def parse_arch_json(text_or_obj) -> dict:
    """Parse an architecture given as a JSON string or an already decoded dict."""
    if isinstance(text_or_obj, dict):
        return text_or_obj
    if not isinstance(text_or_obj, str):
        raise ArchError(f"architecture must be a JSON object, got {type(text_or_obj).__name__}")
    try:
        obj = loads_json(text_or_obj, "architecture")
    except InputError as e:
        raise ArchError(str(e).replace("architecture: not valid JSON", "architecture is not valid JSON")) from None
    if not isinstance(obj, dict):
        raise ArchError(f"architecture must be a JSON object, got {type(obj).__name__}")
    return obj
