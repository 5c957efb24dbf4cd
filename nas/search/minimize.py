"""The one driver of an ``init/ask/tell`` algorithm: tests, benchmarks and the pipeline share it.

::

    result = minimize(algorithm, evaluate, Budget(generations=10), key=jax.random.key(0))

``evaluate(archs) -> (F, cv, records)``: minimised objectives ``[n, m]``, total violations
``[n]`` and one record per architecture (anything; handed back in :class:`Generation`).
``on_generation(state, generation)`` runs after every ``tell``: the pipeline checkpoints there,
so a resumed run passes the saved ``state`` back in and continues where it stopped (the
algorithms are pure in their state and key). The loop ends when the budget is spent or the
algorithm asks for nothing (the space is exhausted).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from nas.search.algorithm import SearchAlgorithm
from nas.search_spaces import Arch


class Budget(NamedTuple):
    """Stop after ``generations`` generations in all (counted by the state, so a resumed run
    counts the ones already done) and/or once ``evaluations`` evaluations were made in this
    call; None means no limit (at least one must be set)."""

    generations: int | None = None
    evaluations: int | None = None


class Generation(NamedTuple):
    index: int  # the generation number (0-based)
    archs: list  # the architectures asked and evaluated
    F: np.ndarray  # [n, m] minimised objectives
    cv: np.ndarray  # [n] total violations
    records: list  # what ``evaluate`` returned per architecture


class MinimizeResult(NamedTuple):
    state: object  # the algorithm's final state
    archs: list  # every architecture evaluated by this call, in order
    F: np.ndarray  # [n, m]
    cv: np.ndarray  # [n]


Evaluate = Callable[[Sequence[Arch]], tuple]


def minimize(algorithm: SearchAlgorithm, evaluate: Evaluate, budget: Budget, *, key=None, state=None,
             on_generation: Callable[[object, Generation], None] | None = None) -> MinimizeResult:
    """Run ``algorithm`` from ``state`` (or ``algorithm.init(key)``) until ``budget`` is spent.

    Raises ValueError when neither a key nor a state is given or the budget sets no limit.
    """
    if budget.generations is None and budget.evaluations is None:
        raise ValueError("budget: set generations and/or evaluations")
    if state is None:
        if key is None:
            raise ValueError("minimize needs a PRNG key or a state to resume")
        state = algorithm.init(key)
    archs_all, F_all, cv_all = [], [], []

    def spent() -> bool:
        return ((budget.generations is not None and state.generation >= budget.generations)
                or (budget.evaluations is not None and len(archs_all) >= budget.evaluations))

    while not spent():
        g = state.generation
        state, archs = algorithm.ask(state)
        if not archs:
            break
        F, cv, records = evaluate(archs)
        state = algorithm.tell(state, archs, F, cv)
        F, cv = np.asarray(F, np.float64).reshape(len(archs), -1), np.asarray(cv, np.float64).reshape(-1)
        archs_all += list(archs)
        F_all.append(F)
        cv_all.append(cv)
        if on_generation is not None:
            on_generation(state, Generation(g, list(archs), F, cv, list(records)))
    F = np.concatenate(F_all) if F_all else np.zeros((0, 0))
    cv = np.concatenate(cv_all) if cv_all else np.zeros(0)
    return MinimizeResult(state, archs_all, F, cv)


def objective_evaluator(evaluator, spec) -> Evaluate:
    """``evaluate`` for :func:`minimize` from a record evaluator (``evaluate(archs) -> [dict]``)
    and an :class:`~nas.search.objectives.ObjectiveSpec`."""
    def evaluate(archs):
        records = evaluator.evaluate(archs)
        return spec.matrix(records), spec.violations(records), records

    return evaluate
