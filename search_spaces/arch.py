"""Architectures as values.

An :class:`Arch` is a frozen, hashable value: the name of its search space and a flat tuple of
integer gene values (the integer-array form used for vectorised work). Each search space owns
the JSON encoding of its architectures (``space.to_json`` / ``space.from_json``).
"""
from __future__ import annotations

import json
import math
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


MAX_JSON_DEPTH = 64  # containers inside containers; every file format here needs fewer than 10


MAX_JSON_NODES = 5_000_000


def json_depth(obj) -> int:
    """Nesting depth of decoded JSON (a scalar: 0), computed without recursion; more than
    :data:`MAX_JSON_NODES` containers and values (e.g. YAML aliases expanding exponentially)
    count as too deep."""
    depth, stack, seen = 0, [(obj, 1)], 0
    while stack:
        o, d = stack.pop()
        seen += 1
        if seen > MAX_JSON_NODES:
            return MAX_JSON_DEPTH + 1
        if isinstance(o, dict):
            o = list(o.values())
        if isinstance(o, list):
            depth = max(depth, d)
            stack.extend((v, d + 1) for v in o if isinstance(v, (dict, list)))
    return depth


def loads_json(text: str, where: str):
    """``json.loads`` for untrusted text: nesting deeper than :data:`MAX_JSON_DEPTH`, integers of
    thousands of digits, NaN/Infinity and syntax errors each raise one :class:`InputError` naming
    ``where`` instead of a RecursionError, ValueError or a non-finite number."""
    def bad_constant(name):
        raise InputError(f"{where}: {name} is not a number this project accepts")
    try:
        obj = json.loads(text, parse_constant=bad_constant)
    except json.JSONDecodeError as e:
        raise InputError(f"{where}: not valid JSON ({e.msg} at position {e.pos})") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply (limit {MAX_JSON_DEPTH})") from None
    except InputError:
        raise
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise InputError(f"{where}: {str(e).split(';')[0]}") from None
    if json_depth(obj) > MAX_JSON_DEPTH:
        raise InputError(f"{where}: JSON nested too deeply or too large (limit: depth {MAX_JSON_DEPTH})")
    if _has_huge_float(obj):
        raise InputError(f"{where}: a number is out of range (overflows to infinity)")
    return obj


def _has_huge_float(obj) -> bool:
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, float) and not math.isfinite(o):
            return True
        if isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)
    return False


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
