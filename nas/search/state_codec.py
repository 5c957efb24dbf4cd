"""Search states as data: a JSON encoding of algorithm states that reads back exactly.

A checkpointed search (:mod:`nas.pipeline.search`) must resume bit for bit, and reading a
checkpoint must never run code (a pickle can). States hold NumPy arrays, ints, floats, tuples
and frozensets of :class:`Arch` and the algorithms' NamedTuple states; this module turns them
into plain JSON values and back:

- arrays: ``{"__ndarray__": dtype, "shape": [...], "b64": <little-endian bytes>}`` (exact, NaN
  and infinities included; dtypes limited to bool/int/uint/float);
- architectures: ``{"__arch__": [genes]}`` in the search space given at decoding, validated;
- tuples and frozensets: ``{"__tuple__": [...]}``, ``{"__frozenset__": [...]}`` (sorted);
- non-finite floats: ``{"__float__": "nan" | "inf" | "-inf"}``;
- the algorithms' states: ``{"__state__": "NSGA2State", "fields": {...}}``, only the classes
  in :data:`STATE_TYPES`.

:func:`decode_state` raises :class:`StateError` (an InputError) for anything else.
"""
from __future__ import annotations

import base64
import math

import numpy as np

from nas.errors import InputError
from nas.search.evolution import EvolutionState
from nas.search.nsga2 import NSGA2State
from nas.search.random_search import RandomState
from nas.search_spaces import Arch, SearchSpace

STATE_TYPES = {cls.__name__: cls for cls in (NSGA2State, EvolutionState, RandomState)}
DTYPES = ("bool", "int32", "int64", "uint32", "uint64", "float32", "float64")


class StateError(InputError):
    """A saved search state that does not decode."""


def encode_state(obj):
    """``obj`` as JSON-ready values (see the module docstring)."""
    if isinstance(obj, tuple) and type(obj).__name__ in STATE_TYPES and type(obj) is STATE_TYPES[type(obj).__name__]:
        return {"__state__": type(obj).__name__, "fields": {k: encode_state(v) for k, v in obj._asdict().items()}}
    if isinstance(obj, Arch):
        return {"__arch__": list(obj.genes)}
    if isinstance(obj, np.generic):  # NumPy scalars as Python numbers (exact for every allowed dtype)
        return encode_state(obj.item())
    if isinstance(obj, np.ndarray):
        a = obj
        if a.dtype.name not in DTYPES:
            raise TypeError(f"cannot save an array of dtype {a.dtype}")
        return {"__ndarray__": a.dtype.name, "shape": list(a.shape),
                "b64": base64.b64encode(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).decode()}
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, str) or obj is None:
        return obj
    if isinstance(obj, frozenset):
        return {"__frozenset__": [encode_state(v) for v in sorted(obj)]}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode_state(v) for v in obj]}
    if isinstance(obj, list):
        return [encode_state(v) for v in obj]
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError("cannot save a mapping with non-string keys")
        return {k: encode_state(v) for k, v in obj.items()}
    raise TypeError(f"cannot save a {type(obj).__name__} in a search state")


def decode_state(obj, space: SearchSpace, where: str = "search state"):
    """Inverse of :func:`encode_state`; architectures are checked against ``space``."""
    try:
        return _decode(obj, space)
    except StateError as e:
        raise StateError(f"{where}: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise StateError(f"{where}: malformed ({type(e).__name__}: {e})") from None


def _decode(obj, space: SearchSpace):
    if isinstance(obj, list):
        return [_decode(v, space) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__state__" in obj:
        cls = STATE_TYPES.get(obj["__state__"])
        if cls is None:
            raise StateError(f"unknown state type {obj['__state__']!r}")
        fields = obj["fields"]
        if not isinstance(fields, dict) or not set(cls._fields) >= set(fields):
            raise StateError(f"{cls.__name__}: unexpected fields")
        return cls(**{k: _decode(v, space) for k, v in fields.items()})
    if "__arch__" in obj:
        genes = obj["__arch__"]
        if not isinstance(genes, list) or not all(isinstance(g, int) and not isinstance(g, bool) for g in genes):
            raise StateError("an architecture must be a list of ints")
        try:
            return space.validate(Arch(space.name, tuple(genes)))
        except InputError as e:
            raise StateError(f"architecture not in {space.name}: {e}") from None
    if "__ndarray__" in obj:
        dtype, shape = obj["__ndarray__"], obj["shape"]
        if dtype not in DTYPES:
            raise StateError(f"array dtype {dtype!r} not allowed")
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise StateError("array shape must be a list of non-negative ints")
        data = base64.b64decode(obj["b64"], validate=True)
        a = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<"))
        if a.size != math.prod(shape):
            raise StateError(f"array of {a.size} values cannot have shape {shape}")
        return a.astype(dtype).reshape(shape)
    if "__float__" in obj:
        text = obj["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise StateError(f"bad float {text!r}")
        return float(text)
    if "__tuple__" in obj:
        return tuple(_decode(v, space) for v in obj["__tuple__"])
    if "__frozenset__" in obj:
        return frozenset(_decode(v, space) for v in obj["__frozenset__"])
    return {k: _decode(v, space) for k, v in obj.items()}
