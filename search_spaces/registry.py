"""Name -> search space and name -> reference model registries."""
from __future__ import annotations

from nas.errors import UnknownNameError
from search_spaces.arch import Arch
from search_spaces.base import SearchSpace
from search_spaces.elastic_mbconv import CIFAR_MBV3, FASHION_MNIST, OFA_MBV3
from search_spaces.fbnet import FBNET
from search_spaces.layers import NetSpec
from search_spaces.reference import REFERENCE_MODELS

SPACES: dict[str, SearchSpace] = {s.name: s for s in (FASHION_MNIST, OFA_MBV3, FBNET, CIFAR_MBV3)}


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


__all__ = ["SPACES", "arch_from_json", "get_reference_model", "get_space", "list_spaces"]
