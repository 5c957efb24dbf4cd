"""Search-space base: gene layout, JSON encoding with validation, sampling, mutation, crossover.

A space is described by a :class:`GeneLayout`: an ordered list of JSON fields, each either a
list of ``length`` genes or a scalar gene, every gene choosing among a tuple of integer values.
Random operators take an explicit JAX PRNG key (never global state) and are deterministic in it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nas.search_spaces.arch import Arch, ArchError, parse_arch_json
from nas.search_spaces.layers import NetSpec, expand_ops


@dataclass(frozen=True)
class Field:
    """A JSON field: ``length`` genes (a list) or one gene (``length=None``, a scalar). ``choices``
    are every gene's values, or the union of them when ``per_gene`` gives each gene its own."""

    name: str
    choices: tuple[int, ...]
    length: int | None = None
    per_gene: tuple[tuple[int, ...], ...] | None = None

    @property
    def size(self) -> int:
        return 1 if self.length is None else self.length

    def gene_choices(self, j: int) -> tuple[int, ...]:
        return self.per_gene[j] if self.per_gene is not None else self.choices


def rng_from_key(key) -> np.random.Generator:
    """A NumPy generator determined by a JAX PRNG key (typed or raw uint32[2])."""
    import jax

    if hasattr(key, "dtype") and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.random.default_rng(np.asarray(key, dtype=np.uint32).ravel().tolist())


class SearchSpace:
    """Base class. Subclasses set ``name``, ``fields`` and implement :meth:`net_spec`."""

    name: str = ""
    fields: tuple[Field, ...] = ()
    description: str = ""

    # ----------------------------------------------------------------- gene layout
    @property
    def choices(self) -> list[tuple[int, ...]]:
        """Per-gene tuples of allowed values, in gene order."""
        return [f.gene_choices(j) for f in self.fields for j in range(f.size)]

    @property
    def num_genes(self) -> int:
        return sum(f.size for f in self.fields)

    @property
    def cardinalities(self) -> np.ndarray:
        return np.array([len(c) for c in self.choices], dtype=np.int64)

    def num_distinct(self) -> int:
        """Number of distinct networks (subclasses refine when genes can be inactive)."""
        return int(np.prod([len(c) for c in self.choices], dtype=object))

    # ----------------------------------------------------------------- encodings
    def to_json(self, arch: Arch) -> dict:
        self._check_space(arch)
        out, i = {}, 0
        for f in self.fields:
            vals = [int(v) for v in arch.genes[i:i + f.size]]
            out[f.name] = vals[0] if f.length is None else vals
            i += f.size
        return out

    def from_json(self, obj) -> Arch:
        """Decode and validate; raises :class:`ArchError` naming the bad field."""
        obj = parse_arch_json(obj)
        names = [f.name for f in self.fields]
        for n in names:
            if n not in obj:
                raise ArchError(f"{self.name}: missing key {n!r} (expected keys {names})")
        extra = sorted(set(obj) - set(names))
        if extra:
            raise ArchError(f"{self.name}: unknown key {extra[0]!r} (expected keys {names})")
        genes: list[int] = []
        for f in self.fields:
            v = obj[f.name]
            vals = [v] if f.length is None else v
            if f.length is not None and (not isinstance(v, list) or len(v) != f.length):
                got = f"a list of length {len(v)}" if isinstance(v, list) else type(v).__name__
                raise ArchError(f"{self.name}: {f.name!r} must be a list of {f.length} ints, got {got}")
            for j, x in enumerate(vals):
                where = f.name if f.length is None else f"{f.name}[{j}]"
                if isinstance(x, bool) or not isinstance(x, int):
                    raise ArchError(f"{self.name}: {where} must be an int, got {x!r}")
                if x not in f.gene_choices(j):
                    raise ArchError(f"{self.name}: {where} = {x} is not one of {list(f.gene_choices(j))}")
            genes.extend(int(x) for x in vals)
        return Arch(self.name, tuple(genes))

    def from_indices(self, idx) -> Arch:
        ch = self.choices
        return Arch(self.name, tuple(int(ch[g][int(i)]) for g, i in enumerate(idx)))

    def to_indices(self, arch: Arch) -> np.ndarray:
        self._check_space(arch)
        return np.array([c.index(v) for c, v in zip(self.choices, arch.genes)], dtype=np.int64)

    def validate(self, arch: Arch) -> Arch:
        """Check an Arch built by hand (wrong length, out-of-range value -> ArchError)."""
        self._check_space(arch)
        if len(arch.genes) != self.num_genes:
            raise ArchError(f"{self.name}: expected {self.num_genes} genes, got {len(arch.genes)}")
        return self.from_json(self.to_json(arch))

    def describe(self, arch: Arch) -> dict:
        """Human-level summary of an architecture (depth, kernels, width...) for reports."""
        return {}

    def canonical(self, arch: Arch) -> Arch:
        """The representative of the network ``arch`` denotes (genes that do nothing reset)."""
        return arch

    def _check_space(self, arch: Arch) -> None:
        if arch.space != self.name:
            raise ArchError(f"architecture belongs to space {arch.space!r}, not {self.name!r}")

    # ----------------------------------------------------------------- operators
    def sample(self, key, n: int | None = None):
        """Uniform samples: one Arch (``n=None``) or a list of ``n``."""
        rng = rng_from_key(key)
        idx = rng.integers(0, self.cardinalities, size=(1 if n is None else n, self.num_genes))
        archs = [self.from_indices(row) for row in idx]
        return archs[0] if n is None else archs

    def mutate(self, key, arch: Arch, rate: float | None = None) -> Arch:
        """Resample each gene with probability ``rate`` (default 1/num_genes, at least one gene)."""
        rng = rng_from_key(key)
        idx = self.to_indices(arch)
        card = self.cardinalities
        rate = 1.0 / self.num_genes if rate is None else rate
        mask = rng.random(self.num_genes) < rate
        mutable = np.flatnonzero(card > 1)
        if not mask[mutable].any() and len(mutable):
            mask[rng.choice(mutable)] = True
        # draw a different value for every mutated gene with more than one choice
        shift = rng.integers(1, np.maximum(card, 2))
        new = np.where(mask & (card > 1), (idx + shift) % card, idx)
        return self.from_indices(new)

    def crossover(self, key, a: Arch, b: Arch) -> Arch:
        """Uniform crossover: each gene from ``a`` or ``b`` with probability 1/2."""
        rng = rng_from_key(key)
        ia, ib = self.to_indices(a), self.to_indices(b)
        return self.from_indices(np.where(rng.random(self.num_genes) < 0.5, ia, ib))

    # ----------------------------------------------------------------- declaration, classes
    def declaration(self) -> dict:
        """The mapping :func:`nas.search_spaces.declare.from_declaration` rebuilds this space from
        (spaces written in Python have none: they are named by ``module:attribute``)."""
        raise NotImplementedError

    @property
    def num_classes(self) -> int:
        """Outputs of the classifier (the largest subnet's last layer)."""
        return int(self.net_spec(self.largest()).num_classes)

    @property
    def pins_classes(self) -> bool:
        """Whether the class count is fixed (the data must match it) rather than taken from the data;
        spaces that cannot change their classifier (:meth:`with_num_classes`) pin it."""
        return True

    def with_num_classes(self, n: int) -> SearchSpace:
        """The same space with a classifier of ``n`` outputs."""
        raise NotImplementedError

    # ----------------------------------------------------------------- networks
    def net_spec(self, arch: Arch) -> NetSpec:
        raise NotImplementedError

    def layers(self, arch: Arch):
        """Primitive ops (:class:`nas.search_spaces.layers.Op`) of the architecture's network."""
        return expand_ops(self.net_spec(arch))

    def largest(self) -> Arch:
        return self.from_indices(self.cardinalities - 1)

    def hand_designed(self) -> Arch:
        """A conventional hand design inside the space (the baseline reports compare against)."""
        raise NotImplementedError

    def smallest(self) -> Arch:
        return self.from_indices(np.zeros(self.num_genes, dtype=np.int64))
