"""Variation operators that know the search space: unique sampling and offspring creation.

Every architecture produced here is canonical (``space.canonical``) and not in ``seen`` (nor
repeated within the batch), so no network is evaluated twice within a search. Attempts are
bounded: when a space is nearly exhausted fewer architectures come back instead of looping.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nas.search_spaces import Arch, SearchSpace


def subkey(rng: np.random.Generator) -> np.ndarray:
    """A raw ``uint32[2]`` key for the space operators, drawn from ``rng``."""
    return rng.integers(0, 2**32, size=2, dtype=np.uint32)


def ordinal_mutate(space: SearchSpace, key, arch: Arch, rate: float | None = None) -> Arch:
    """Mutation for ordered choices (kernel 3<5<7, resolution 128..224, ...).

    Each gene mutates with probability ``rate`` (default 1/num_genes, at least one gene). A gene
    with at most 3 choices takes another value uniformly (as ``space.mutate``); a gene with
    more moves by a signed step of geometric length (mean 2 positions), reflected at the ends,
    so long ordered genes are fine-tuned rather than resampled. Deterministic in ``key``.
    """
    rng = np.random.default_rng(np.asarray(key, dtype=np.uint32).ravel().tolist())
    idx, card = space.to_indices(arch), space.cardinalities
    n = len(idx)
    mask = rng.random(n) < (1.0 / n if rate is None else rate)
    mutable = np.flatnonzero(card > 1)
    if len(mutable) and not mask[mutable].any():
        mask[rng.choice(mutable)] = True
    uniform = (idx + rng.integers(1, np.maximum(card, 2))) % np.maximum(card, 1)
    step = rng.geometric(0.5, n) * rng.choice([-1, 1], n)
    span = np.maximum(card - 1, 1)
    local = np.abs(idx + step) % (2 * span)  # reflect into [0, card - 1]
    local = np.where(local > span, 2 * span - local, local)
    new = np.where((card > 3) & (local != idx), local, uniform)  # a reflection may land home
    return space.from_indices(np.where(mask & (card > 1), new, idx))


def sample_unique(space: SearchSpace, rng: np.random.Generator, n: int, seen=frozenset(),
                  max_rounds: int = 20) -> list[Arch]:
    """Up to ``n`` uniformly sampled canonical architectures, distinct and not in ``seen``."""
    out: list[Arch] = []
    taken = set(seen)
    for _ in range(max_rounds):
        if len(out) >= n:
            break
        for a in space.sample(subkey(rng), n - len(out)):
            c = space.canonical(a)
            if c not in taken:
                taken.add(c)
                out.append(c)
    return out


def stratified_sample(space: SearchSpace, rng: np.random.Generator, n: int, seen=frozenset(),
                      max_rounds: int = 20) -> list[Arch]:
    """Up to ``n`` canonical, distinct, unseen architectures spread from small to large.

    Individual ``i`` gets a size level ``t_i`` (stratified in [0, 1]) and every gene the choice
    index ``Binomial(cardinality - 1, t_i)``. Where choices are ordered from cheap to expensive
    (kernel, expansion, depth, resolution of the elastic MBConv spaces) the sample covers the
    cost axis evenly instead of clustering around the median network as uniform sampling does;
    for unordered choices (``fbnet`` ops) it is merely a differently distributed sample.
    """
    out: list[Arch] = []
    taken = set(seen)
    card = space.cardinalities
    for _ in range(max_rounds):
        m = n - len(out)
        if m <= 0:
            break
        t = rng.permutation((np.arange(m) + rng.random(m)) / m)
        idx = rng.binomial(card[None, :] - 1, t[:, None])
        for row in idx:
            c = space.canonical(space.from_indices(row))
            if c not in taken:
                taken.add(c)
                out.append(c)
    return out


def make_offspring(space: SearchSpace, rng: np.random.Generator, n: int,
                   pick_parents: Callable[[np.random.Generator], tuple[Arch, Arch]],
                   seen=frozenset(), crossover_prob: float = 0.9,
                   mutation_rate: float | None = None, max_tries: int = 30,
                   mutate: Callable | None = None, crossover: Callable | None = None) -> list[Arch]:
    """``n`` children: crossover (probability ``crossover_prob``) of two parents from
    ``pick_parents(rng)``, then mutation (``mutate(space, key, arch, rate)``, default
    ``space.mutate``), then canonicalisation. A child already seen is
    redrawn up to ``max_tries`` times, then replaced by a fresh uniform sample."""
    out: list[Arch] = []
    taken = set(seen)
    mutate = mutate or (lambda sp, key, arch, rate: sp.mutate(key, arch, rate))
    crossover = crossover or (lambda sp, key, x, y: sp.crossover(key, x, y))
    for _ in range(n):
        child = None
        for _ in range(max_tries):
            a, b = pick_parents(rng)
            c = crossover(space, subkey(rng), a, b) if rng.random() < crossover_prob else a
            c = space.canonical(mutate(space, subkey(rng), c, mutation_rate))
            if c not in taken:
                child = c
                break
        if child is None:
            fresh = sample_unique(space, rng, 1, taken)
            if not fresh:
                continue
            child = fresh[0]
        taken.add(child)
        out.append(child)
    return out
