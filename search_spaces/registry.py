"""Name -> search space and name -> reference model registries.

Every space is a declaration (:mod:`nas.search_spaces.declare`): the shipped ones are the YAML
files in ``search_spaces/spaces/``; an experiment may name a YAML file of its own, declare one
inline (``space_def``), or name a space written in Python (``module:attribute``, or a name
registered under the entry-point group ``jaxnas.spaces``). Architectures refer to their space by
name; :func:`activate` makes a configuration's space the one this process knows by that name
(a shipped space with the class count of the run's data, for example), so workers, checks and
reports rebuilding the configuration from ``config.json`` see the same space.
"""
from __future__ import annotations

import json

from nas.errors import InputError, UnknownNameError
from nas.search_spaces.arch import Arch
from nas.search_spaces.base import SearchSpace
from nas.search_spaces.declare import (
    SHIPPED_DIR,
    from_declaration,
    is_space_file,
    read_declaration,
    shipped_declarations,
)
from nas.search_spaces.layers import NetSpec
from nas.search_spaces.reference import REFERENCE_MODELS

ENTRY_POINT_GROUP = "jaxnas.spaces"

_SHIPPED: dict[str, SearchSpace] = {}  # the shipped spaces as shipped, in listing order
_SPACES: dict[str, SearchSpace] = {}  # the spaces this process knows by name (shipped, plus registered)


def _shipped() -> dict[str, SearchSpace]:
    """The shipped spaces, read from their declarations on first use, not at import (building the
    CLI's parser, or importing the cost model, reads no file)."""
    if not _SHIPPED:
        for name, decl in shipped_declarations().items():
            _SHIPPED[name] = from_declaration(decl, f"{SHIPPED_DIR / name}.yaml")
        for name, space in _SHIPPED.items():
            _SPACES.setdefault(name, space)
    return _SHIPPED


def _spaces() -> dict[str, SearchSpace]:
    _shipped()
    return _SPACES


def __getattr__(name: str):
    """``SHIPPED`` and ``SPACES``, the two dicts above, loaded on first use."""
    if name == "SHIPPED":
        return _shipped()
    if name == "SPACES":
        return _spaces()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_PYTHON_REFS: dict[str, str] = {}  # name -> "module:attribute" of spaces written in Python
_PYTHON_SPACES: dict[str, SearchSpace] = {}  # "module:attribute" -> the space as imported


def list_spaces() -> list[str]:
    return list(_spaces())


def get_space(name: str) -> SearchSpace:
    """The space of that name, a YAML declaration file (registered under its name) or a space
    written in Python (``module:attribute``, or an entry point of the group ``jaxnas.spaces``)."""
    try:
        return _spaces()[name]
    except KeyError:
        pass
    if is_space_file(name):
        return load_space(name)
    if isinstance(name, str) and ":" in name:
        return python_space(name)
    found = _entry_point(name)
    if found is not None:
        return found
    raise UnknownNameError(f"unknown search space {name!r} (known: {', '.join(_spaces())}; or a space file "
                           "NAME.yaml, or module:attribute)")


def load_space(value: str) -> SearchSpace:
    """The space ``value`` names: a known name, a YAML declaration file, or ``module:attribute``
    (``nas space show`` and the commands that take ``--space``); the space is registered."""
    if is_space_file(value):
        space = from_declaration(read_declaration(value), value)
        _register(space, where=value)
        return space
    return get_space(value)


def python_space(ref: str) -> SearchSpace:
    """The :class:`SearchSpace` instance (or class, instantiated) at ``module:attribute``, registered
    under its name; InputError naming the reference when it is not one."""
    import importlib

    module, _, attr = ref.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as e:
        raise InputError(f"space {ref!r}: cannot import it ({type(e).__name__}: {e})") from None
    if isinstance(obj, type) and issubclass(obj, SearchSpace):
        obj = obj()
    if not isinstance(obj, SearchSpace) or not obj.name:
        raise InputError(f"space {ref!r}: not a SearchSpace with a name (got {type(obj).__name__})")
    _register(obj, where=ref)
    _PYTHON_REFS[obj.name] = ref
    _PYTHON_SPACES[ref] = obj
    return obj


def _entry_point(name: str) -> SearchSpace | None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return python_space(ep.value)
    return None


def _register(space: SearchSpace, where: str) -> None:
    """Make ``space`` the process's space of its name. A shipped name may only be re-declared with
    another class count (the data's); anything else is refused with one line."""
    shipped = _shipped().get(space.name)
    if shipped is not None and space is not shipped and not _same_but_classes(shipped, space):
        raise InputError(f"{where}: {space.name!r} is the name of a shipped space; give your space another name")
    _spaces()[space.name] = space


def _declares(space: SearchSpace):
    try:
        return space.declaration()
    except NotImplementedError:
        return None


def _same_but_classes(a: SearchSpace, b: SearchSpace) -> bool:
    da, db = _declares(a), _declares(b)
    if da is None or db is None:
        return False
    da.pop("num_classes", None), db.pop("num_classes", None)
    return da == db


def declaration_of(space: SearchSpace) -> dict:
    """What a configuration records to rebuild ``space`` anywhere: its declaration, or
    ``{"python": "module:attribute"}`` for a space written in Python."""
    if space.name in _PYTHON_REFS:
        ref = _PYTHON_REFS[space.name]
        original = _PYTHON_SPACES.get(ref)
        if original is not None and space.num_classes != original.num_classes:  # the data's class count
            return {"python": ref, "num_classes": int(space.num_classes)}
        return {"python": ref}
    return space.declaration()


def space_entry(name: str) -> dict:
    """``{"space_declaration": sha256 prefix}`` for a fingerprint when the process's space of that
    name is not a shipped space as shipped (a declared space, or a shipped one with the data's
    class count), else ``{}``: a checkpoint of one declaration never resumes under another."""
    return space_entry_of(get_space(name))


def space_entry_of(space: SearchSpace) -> dict:
    """:func:`space_entry` of a space object."""
    shipped = _shipped().get(space.name)
    if space is shipped or (shipped is not None and _declares(space) == _declares(shipped)):
        return {}
    import hashlib

    text = json.dumps(declaration_of(space), sort_keys=True, separators=(",", ":"))
    return {"space_declaration": hashlib.sha256(text.encode()).hexdigest()[:16]}


def activate(space: str, space_def: dict | None = None) -> tuple[str, dict]:
    """Make a configuration's space the process's space of its name; return ``(name, space_def)``
    as the configuration records them (``space_def`` empty for a shipped space as shipped).
    ``space`` is a name, a YAML file or ``module:attribute``; ``space_def`` a declaration (or
    ``{"python": ref}``) that wins over ``space`` when given. InputError naming the problem."""
    where = "space_def"
    if not space_def and is_space_file(space):
        space_def, where = read_declaration(space), space
    if space_def:
        if not isinstance(space_def, dict):
            raise InputError(f"space_def: a space declaration is a mapping, got {type(space_def).__name__}")
        if "python" in space_def:
            extra = sorted(set(space_def) - {"python", "num_classes"})
            if extra:
                raise InputError(f"space_def: unknown key {extra[0]!r} beside 'python' (known: num_classes)")
            sp = python_space(str(space_def["python"]))
            n = space_def.get("num_classes")
            if n is not None and n != sp.num_classes:  # the data's class count, recorded by a run
                sp = sp.with_num_classes(int(n))
                _spaces()[sp.name] = sp
            return sp.name, declaration_of(sp)
        sp = from_declaration(space_def, where)
        shipped = _shipped().get(sp.name)
        if shipped is not None and sp.declaration() == shipped.declaration():
            _spaces()[sp.name] = shipped  # the shipped space as shipped: nothing to record
            return sp.name, {}
        _register(sp, where=where)
        return sp.name, sp.declaration()
    if not isinstance(space, str) or not space:
        raise InputError(f"space: expected a space name, a space file or module:attribute, got {space!r}")
    if space in _shipped():
        _spaces()[space] = _shipped()[space]  # as shipped (another run in this process may have changed its classes)
        return space, {}
    sp = get_space(space)
    return sp.name, declaration_of(sp) if sp.name in _PYTHON_REFS else {}


def get_reference_model(name: str, **kwargs) -> NetSpec:
    try:
        return REFERENCE_MODELS[name](**kwargs)
    except KeyError:
        raise UnknownNameError(
            f"unknown model {name!r} (known: {', '.join(REFERENCE_MODELS)})") from None


def arch_from_json(space: str, obj) -> Arch:
    """Decode an architecture (JSON string or dict) of the named space; ArchError if invalid."""
    return get_space(space).from_json(obj)


def arch_to_json(arch: Arch) -> dict:
    """The JSON encoding (a dict) of ``arch`` in its space (``arch.space``)."""
    return get_space(arch.space).to_json(arch)


def arch_dumps(arch: Arch) -> str:
    """Compact JSON string of :func:`arch_to_json` (the form used in CSV and JSONL files)."""
    return json.dumps(arch_to_json(arch), separators=(",", ":"))


# (SHIPPED and SPACES are module attributes too, loaded on first use: see __getattr__)
__all__ = ["activate", "arch_dumps", "arch_from_json", "arch_to_json", "declaration_of",
           "get_reference_model", "get_space", "list_spaces", "load_space", "python_space", "space_entry",
           "space_entry_of"]
