"""The project's error type and the bounded readers of untrusted text; the bottom module.

:class:`InputError` is bad user input (config, architecture, CSV, profile, checkpoint, path):
its message is one line naming the bad field or file, and the CLI prints it and exits with 2.
:func:`loads_json` and :func:`loads_yaml` decode text that did not come from this process,
with nesting and size bounded, raising InputError for anything they refuse.

This module imports nothing of the project, so every other module (``nas.search_spaces``
included) can import it; reading files is :mod:`nas.files`.
"""
from __future__ import annotations

import json
import math


class InputError(ValueError):
    """Bad user input (config, architecture, CSV, profile, checkpoint, path).

    The message is one line naming the bad field or file; the CLI prints it and exits with 2.
    """


class UnknownNameError(InputError, KeyError):
    """A name that no registry (search spaces, reference models, algorithms, ...) knows."""

    def __str__(self):  # KeyError quotes its message; keep it one clean line
        return str(self.args[0])


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


def loads_yaml(text: str, where: str):
    """``yaml.safe_load`` for untrusted text with its nesting bounded like JSON's; syntax errors,
    values YAML cannot build and nesting deeper than :data:`MAX_JSON_DEPTH` raise one
    :class:`InputError` naming ``where``. PyYAML is imported here, on first use."""
    import yaml

    try:
        obj = yaml.safe_load(text)
    except RecursionError:
        raise InputError(f"{where}: YAML nested too deeply (limit {MAX_JSON_DEPTH})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"{where}: not valid YAML{line}: {getattr(e, 'problem', None) or e}") from None
    except ValueError as e:  # a value YAML cannot build, e.g. an integer of thousands of digits
        raise InputError(f"{where}: bad YAML value ({str(e).split(';')[0]})") from None
    if json_depth(obj) > MAX_JSON_DEPTH:
        raise InputError(f"{where}: YAML nested too deeply (limit {MAX_JSON_DEPTH})")
    return obj


def check_mapping(obj, keys, where: str) -> dict:
    """``obj`` when it is a mapping whose keys are all among ``keys``; else one InputError naming
    ``where`` and the first unknown key (an entry of a decoded config or declaration)."""
    if not isinstance(obj, dict):
        raise InputError(f"{where}: a mapping ({', '.join(keys)}), got {obj!r}")
    unknown = sorted(set(obj) - set(keys))
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(keys)})")
    return obj


__all__ = ["MAX_JSON_DEPTH", "MAX_JSON_NODES", "InputError", "UnknownNameError", "check_mapping", "json_depth",
           "loads_json", "loads_yaml"]
