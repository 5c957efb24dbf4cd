"""NSGA-II with constrained domination, assembled from the operators of this package.

Generation 0 samples ``population`` unique architectures: the space's smallest and largest
networks (they anchor both ends of an accuracy/cost front) and a stratified sample spread
over the cost axis (``initial="uniform"`` for plain uniform sampling). Every later generation
creates ``population`` children by binary tournament on (constrained rank, crowding), uniform
crossover (probability ``crossover_prob``) and ordinal mutation; survival keeps the best
``population`` of parents and children by constrained non-dominated sorting and crowding
distance (Deb et al. 2002). With ``prescreen_factor`` k > 1 the children are the best
``population`` of ``k * population`` candidates as ranked by a ridge-regression surrogate
fitted on every evaluation so far (:mod:`nas.search.surrogate`). The defaults were chosen on
the stand-in problem of ``experiments/benchmarks/search_efficiency.py`` with seeds other than
the reported ones.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nas.search.algorithm import SearchAlgorithm, check_told, generation_rng, raw_key
from nas.search.selection import binary_tournament, rank_and_crowding, survive
from nas.search.surrogate import Ridge, encode, prescreen
from nas.search.variation import make_offspring, ordinal_mutate, sample_unique, stratified_sample
from nas.search_spaces import Arch, SearchSpace

_NONE = np.zeros((0, 0))


class NSGA2State(NamedTuple):
    key: np.ndarray  # uint32[2]
    generation: int
    population: tuple  # tuple[Arch, ...] survivors
    F: np.ndarray  # [p, m] minimised objectives of the survivors
    cv: np.ndarray  # [p] total violation of the survivors
    seen: frozenset  # canonical architectures asked so far
    # every evaluation so far, for the surrogate (kept empty when pre-screening is off)
    archive_X: np.ndarray = _NONE  # int [n, G] gene indices
    archive_F: np.ndarray = _NONE  # [n, m]
    archive_cv: np.ndarray = np.zeros(0)  # [n]


def nsga2(space: SearchSpace, population: int = 32, *, crossover_prob: float = 0.5,
          mutation_rate: float | None = None, seed_extremes: bool = True,
          mutate=ordinal_mutate, crossover=None, initial: str = "stratified",
          prescreen_factor: int = 0, explore: float = 0.0, screener=None) -> SearchAlgorithm:
    """NSGA-II over ``space``; ``mutation_rate`` None means 1/num_genes per gene; ``mutate``
    is ``ordinal_mutate`` (local steps on long ordered genes) or ``None`` for ``space.mutate``;
    ``crossover(space, key, a, b)`` defaults to ``space.crossover`` (uniform).

    ``prescreen_factor`` k > 1 turns on surrogate pre-screening (:mod:`nas.search.surrogate`):
    each generation makes ``k * population`` candidate children, fits a ridge model per
    objective (and one for the violation) on every evaluation so far, and asks for the
    ``population`` candidates with the best predicted (rank, crowding) among parents and
    candidates, of which a share ``explore`` is drawn at random from the remaining candidates
    (0 by default: on the benchmark's tuning seeds random places only cost hypervolume, the
    children of real parents being diverse enough). Generation 0 is not screened (there is
    nothing to fit yet). The state then also keeps every evaluated ``(genes, F, cv)``.

    ``screener(archive_archs, archive_F, archive_cv, candidates) -> (F [c, m], cv [c])`` replaces
    the ridge surrogate's predictions (predictor-guided search: the pipeline hands in one that
    fits an accuracy predictor and computes cheap objectives exactly, :mod:`nas.accuracy.guided`)."""
    screen = prescreen_factor > 1

    def init(key) -> NSGA2State:
        return NSGA2State(raw_key(key), 0, (), np.zeros((0, 0)), np.zeros(0), frozenset())

    def ask(state: NSGA2State):
        rng = generation_rng(state.key, state.generation)
        if not state.population:
            first = [space.canonical(space.smallest()), space.canonical(space.largest())] if seed_extremes else []
            first = list(dict.fromkeys(a for a in first if a not in state.seen))[:population]
            sampler = stratified_sample if initial == "stratified" else sample_unique
            archs = first + sampler(space, rng, population - len(first), state.seen | set(first))
        else:
            rank, crowd = rank_and_crowding(state.F, state.cv)
            pop = state.population

            def pick_parents(r):
                i, j = binary_tournament(r, rank, crowd, 2)
                return pop[i], pop[j]

            n = population * prescreen_factor if screen else population
            archs = make_offspring(space, rng, n, pick_parents, state.seen,
                                   crossover_prob, mutation_rate, mutate=mutate, crossover=crossover)
            if screen and len(state.archive_F) >= 2:
                archs = _screen(state, archs, rng)
        return state._replace(seen=state.seen | frozenset(archs)), archs

    def _screen(state: NSGA2State, archs: list, rng) -> list:
        m = state.archive_F.shape[1]
        if screener is not None:
            F, cv = screener([space.from_indices(x) for x in state.archive_X], state.archive_F, state.archive_cv,
                             archs)
            pred = np.column_stack([np.asarray(F, np.float64).reshape(len(archs), m), np.asarray(cv, np.float64)])
        else:
            card = space.cardinalities
            model = Ridge(encode(state.archive_X, card), np.column_stack([state.archive_F, state.archive_cv]))
            pred = model.predict(encode(np.stack([space.to_indices(a) for a in archs]), card))
        pick = prescreen(rng, pred[:, :m], pred[:, m], state.F, state.cv, population,
                         int(round(explore * population)))
        return [archs[i] for i in pick]

    def tell(state: NSGA2State, archs: list[Arch], F, cv) -> NSGA2State:
        F, cv = check_told(archs, F, cv, state.F.shape[1] if len(state.population) else None)
        all_archs = state.population + tuple(archs)
        all_F = np.concatenate([state.F.reshape(-1, F.shape[1]), F]) if len(state.population) else F
        all_cv = np.concatenate([state.cv, cv])
        keep = survive(all_F, all_cv, population)
        new = state._replace(generation=state.generation + 1,
                             population=tuple(all_archs[i] for i in keep),
                             F=all_F[keep], cv=all_cv[keep])
        if screen and len(archs):
            X = np.stack([space.to_indices(a) for a in archs]).astype(np.int64)
            old = len(state.archive_F) > 0
            new = new._replace(
                archive_X=np.concatenate([state.archive_X, X]) if old else X,
                archive_F=np.concatenate([state.archive_F, F]) if old else F,
                archive_cv=np.concatenate([state.archive_cv, cv]) if old else cv)
        return new

    return SearchAlgorithm(init, ask, tell)
