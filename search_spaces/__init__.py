"""Search spaces: architecture encodings, operators, layer lists, cost model, supernets."""
from nas.search_spaces.arch import Arch, ArchError
from nas.search_spaces.base import Field, SearchSpace, rng_from_key
from nas.search_spaces.cost import CostStats, arch_stats, net_stats
from nas.search_spaces.layers import NetSpec, Op, expand_ops
from nas.search_spaces.registry import (
    activate,
    arch_dumps,
    arch_from_json,
    arch_to_json,
    declaration_of,
    get_reference_model,
    get_space,
    list_spaces,
    load_space,
)

__all__ = [
    "Arch", "ArchError", "CostStats", "Field", "NetSpec", "Op", "SearchSpace",
    "activate", "arch_dumps", "arch_from_json", "arch_to_json", "arch_stats", "declaration_of", "load_space",
    "expand_ops", "get_reference_model", "get_space",
    "list_spaces", "net_stats", "rng_from_key",
    "StaticNet", "Supernet", "extract_subnet",
]

# networks (flax) load on first use so that encodings and the cost model stay light to import
_LAZY = {"StaticNet": "nas.search_spaces.static_net", "Supernet": "nas.search_spaces.supernet",
         "extract_subnet": "nas.search_spaces.extract"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nas.search_spaces' has no attribute {name!r}")
