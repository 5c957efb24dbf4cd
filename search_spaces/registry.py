"""Name -> search space and name -> reference model registries."""
from __future__ import annotations

import json

from nas.errors import UnknownNameError
from nas.search_spaces.arch import Arch
from nas.search_spaces.base import SearchSpace
from nas.search_spaces.elastic_mbconv import CIFAR_MBV3, FASHION_MNIST, OFA_MBV3, OFA_MBV3_W12
from nas.search_spaces.fbnet import FBNET
from nas.search_spaces.layers import NetSpec
from nas.search_spaces.reference import REFERENCE_MODELS

SPACES: dict[str, SearchSpace] = {s.name: s for s in (FASHION_MNIST, OFA_MBV3, FBNET, CIFAR_MBV3, OFA_MBV3_W12)}


def list_spaces() -> list[str]:
    return list(SPACES)


def get_space(name: str) -> SearchSpace:
    try:
        return SPACES[name]
    except KeyError:
        raise UnknownNameError(f"unknown search space {name!r} (known: {', '.join(SPACES)})") from None


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


__all__ = ["SPACES", "arch_dumps", "arch_from_json", "arch_to_json", "get_reference_model", "get_space",
           "list_spaces"]
