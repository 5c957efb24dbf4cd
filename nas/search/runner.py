"""Run one search (stage 2 for one hardware profile), checkpointed after every generation.

Work directory layout (``<workdir>/search/<profile>/``):

* ``state.pkl``          -- algorithm state + history + config fingerprint (see ``checkpoint``)
* ``gen_0003.jsonl``      -- the architectures evaluated in generation 3, one per line:
  ``{"generation", "arch": <JSON encoding>, <objective and budget values>, "violation", "feasible"}``
* ``front.jsonl``         -- the feasible non-dominated set of everything evaluated so far, same
  rows, sorted by the first objective; infeasible architectures are never in it
* ``metrics.jsonl``       -- one line per generation: evaluations, hypervolume, best values
* ``evaluations.jsonl``   -- the evaluation cache (``evaluators.cache``)

Running the same command again resumes from ``state.pkl``; a run killed at any point ends with
the same front as an uninterrupted one (algorithms are pure in their state and key, evaluators
are deterministic and cached). A state written under a different search config, or a corrupt
one, raises :class:`InputError` and is not touched.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from nas.search.checkpoint import load_state, save_state, write_jsonl
from nas.search.hypervolume import hypervolume
from nas.search.objectives import ObjectiveSpec
from nas.search.pareto import pareto_mask
from nas.search.registry import make_algorithm
from search_spaces import SearchSpace
from search_spaces.arch import InputError


class SearchResult(NamedTuple):
    front: list  # feasible non-dominated rows (see module doc), best first objective first
    history: list  # every evaluated row, in evaluation order
    hypervolume: float  # of the front in minimisation form w.r.t. reference_point
    reference_point: tuple  # minimisation form, one value per objective
    generations: int
    evaluations: int
    directory: Path


def fingerprint(space: SearchSpace, search_cfg) -> dict:
    """What fixes a search's trajectory (``generations`` excluded so a search can be extended)."""
    return {"space": space.name, "algorithm": search_cfg.algorithm, "population": search_cfg.population,
            "objectives": list(search_cfg.objectives), "budgets": dict(sorted(search_cfg.budgets.items())),
            "mutation_rate": search_cfg.mutation_rate, "seed": search_cfg.seed,
            "prescreen_factor": getattr(search_cfg, "prescreen_factor", 0)}


def reference_point(spec: ObjectiveSpec, rows: list) -> np.ndarray:
    """Hypervolume reference (minimisation form): 0 for accuracy, the budget for a budgeted
    objective, else 1.1 x the worst value among ``rows`` (fixed after generation 0)."""
    budgets = dict(spec.budgets)
    ref = []
    for name in spec.names:
        if name == "accuracy":
            ref.append(0.0)
        elif name in budgets:
            ref.append(budgets[name])
        else:
            worst = max((float(r[name]) for r in rows), default=1.0)
            ref.append(1.1 * worst if worst > 0 else 1.0)
    return np.array(ref) * spec.signs + 0.0  # no negative zero


def front_rows(spec: ObjectiveSpec, rows: list) -> list:
    """The feasible non-dominated rows, sorted by the first objective (best first)."""
    if not rows:
        return []
    F = spec.matrix(rows)
    cv = np.array([r["violation"] for r in rows])
    idx = np.flatnonzero(pareto_mask(F, cv))
    idx = idx[np.lexsort((idx, F[idx, 0]))]
    return [rows[i] for i in idx]


def _row(space, arch, record, violation, generation) -> dict:
    return {"generation": generation, "arch": space.to_json(arch), **record,
            "violation": float(violation), "feasible": bool(violation <= 0)}


def run_search(space: SearchSpace, evaluator, search_cfg, workdir, *, profile: str = "local_cpu",
               algorithm=None, cache: bool = True, fingerprint_extra: dict | None = None,
               on_generation: Callable[[dict], None] | None = None) -> SearchResult:
    """Run (or resume) ``search_cfg.generations`` generations of ``search_cfg.algorithm``.

    ``evaluator.evaluate(archs) -> list[dict]`` must provide every objective and budgeted value.
    ``on_generation`` gets each generation's metrics dict (also appended to ``metrics.jsonl``).
    ``fingerprint_extra`` (e.g. the supernet's identity) joins the config fingerprint, so a
    state computed with other objective values is refused instead of silently resumed.
    """
    import jax

    from evaluators.cache import CachedEvaluator

    out = Path(workdir) / "search" / profile
    spec = ObjectiveSpec.from_config(search_cfg)
    algo = algorithm or make_algorithm(space, search_cfg)
    fp = {**fingerprint(space, search_cfg), **(fingerprint_extra or {})}
    saved = load_state(out / "state.pkl")
    if saved is None:
        state, history, metrics, ref = algo.init(jax.random.key(search_cfg.seed)), [], [], None
    else:
        if saved["fingerprint"] != fp:
            diff = sorted(k for k in {**fp, **saved["fingerprint"]} if saved["fingerprint"].get(k) != fp.get(k))
            raise InputError(f"{out / 'state.pkl'}: written by a search with different {', '.join(diff)}; "
                             "use another workdir or move the state away")
        state, history, metrics, ref = saved["state"], saved["history"], saved["metrics"], saved["ref"]
    if cache:
        evaluator = CachedEvaluator(evaluator, space, out / "evaluations.jsonl")
    t_start = time.perf_counter()
    while state.generation < search_cfg.generations:
        g = state.generation
        t0 = time.perf_counter()
        state, archs = algo.ask(state)
        if not archs:
            break  # the space is exhausted
        records = evaluator.evaluate(archs)
        cv = spec.violations(records)
        state = algo.tell(state, archs, spec.matrix(records), cv)
        rows = [_row(space, a, r, v, g) for a, r, v in zip(archs, records, cv)]
        history = history + rows
        if ref is None:
            ref = reference_point(spec, rows)
        front = front_rows(spec, history)
        hv = hypervolume(spec.matrix(front), ref) if front else 0.0
        best = {n: (max if n == "accuracy" else min)(float(r[n]) for r in front) for n in spec.names} if front else {}
        metrics = metrics + [{"generation": g, "evaluations": len(history), "hypervolume": hv,
                              "front_size": len(front), "feasible": int(sum(r["feasible"] for r in rows)),
                              "best": best, "seconds": time.perf_counter() - t0,
                              "generations": search_cfg.generations}]
        write_jsonl(out / f"gen_{g:04d}.jsonl", rows)
        write_jsonl(out / "front.jsonl", front)
        write_jsonl(out / "metrics.jsonl", metrics)
        save_state(out / "state.pkl", {"fingerprint": fp, "state": state, "history": history,
                                       "metrics": metrics, "ref": ref})
        if on_generation is not None:
            on_generation(dict(metrics[-1], elapsed_s=time.perf_counter() - t_start))
    front = front_rows(spec, history)
    ref = ref if ref is not None else reference_point(spec, history)
    return SearchResult(front, history, hypervolume(spec.matrix(front), ref) if front else 0.0,
                        tuple(float(x) for x in ref), state.generation, len(history), out)
