"""Which subnets a supernet step trains: uniform draws, draws spread over MACs, and the subnets
of a progressive-shrinking phase (:func:`restrict`)."""
from __future__ import annotations

import functools

import jax


def restrict(space, arch, elastic: frozenset):
    """``arch`` with every choice that is not elastic in a phase set to its maximum (kernel,
    depth, expansion, width); the resolution is kept."""
    import numpy as np

    ks, e, d, r = space.decode(arch)
    w = space.widths(arch) if "width" in elastic else None  # None: full widths
    kmax, emax, dmax = space.stage_max()  # per stage: a space may give stages their own choices
    if "kernel" not in elastic:
        ks = np.broadcast_to(kmax[:, None], ks.shape)
    if "expand" not in elastic:
        e = np.broadcast_to(emax[:, None], e.shape)
    if "depth" not in elastic:
        d = dmax
    return space.canonical(space.compose(ks, e, d, r, w))


MACS_CANDIDATES = 32  # "macs" sampling: uniform draws per random subnet, the closest to the target kept


@functools.lru_cache(maxsize=16)
def _macs_range(space, elastic=None) -> tuple[float, float]:
    """MACs of the smallest subnet and the 99th percentile of 2,000 uniform draws (the largest
    subnets are out of reach of ``MACS_CANDIDATES`` uniform draws; the largest one is trained
    every step anyway); of a progressive phase's subnets when ``elastic`` is given."""
    import numpy as np

    from nas.search_spaces import arch_stats

    draws = _restricted(space, space.sample(jax.random.key(0), 2000), elastic)
    macs = [arch_stats(a).macs for a in draws]
    return float(arch_stats(_restricted(space, [space.smallest()], elastic)[0]).macs), float(np.percentile(macs, 99))


def _restricted(space, archs, elastic):
    if elastic is None:
        return archs
    return [restrict(space, a, elastic) for a in archs]


def sample_random_subnets(space, key, n: int, sampling: str = "uniform", elastic=None) -> list:
    """``n`` random subnets: ``uniform`` draws every choice uniformly (sizes pile up around the
    median MACs); ``macs`` draws a MACs target uniformly between the smallest subnet and the 99th
    percentile of uniform draws and keeps, of ``MACS_CANDIDATES`` uniform draws, the one closest
    to it, so every size is trained about equally often (FLOPs-stratified sampling, as in
    AttentiveNAS / BigNAS). ``elastic`` (a progressive phase's elastic choices,
    :mod:`nas.train.progressive`): draws are restricted to the phase's subnets first."""
    if n == 0:
        return []
    if sampling == "uniform":
        return _restricted(space, space.sample(key, n), elastic)
    from nas.search_spaces import arch_stats

    lo, hi = _macs_range(space, elastic)
    k_target, k_pool = jax.random.split(key)
    targets = jax.random.uniform(k_target, (n,), minval=lo, maxval=hi).tolist()
    pool = _restricted(space, space.sample(k_pool, n * MACS_CANDIDATES), elastic)
    out = []
    for i, t in enumerate(targets):
        group = pool[i * MACS_CANDIDATES:(i + 1) * MACS_CANDIDATES]
        out.append(min(group, key=lambda a: abs(arch_stats(a).macs - t)))
    return out


