"""Stage 2: one checkpointed search per hardware profile on the trained supernet.

Cheap values (analytic costs, predicted latency) are computed in process; supernet accuracy,
the expensive and profile-independent part, goes to a Ray actor pool when
``search.num_workers > 0`` (in process otherwise) behind one cache shared by every profile and
by the scoring of baselines after the search (:func:`accuracy_evaluator`), so no subnet is
evaluated twice. Each profile's search drives the core's :func:`nas.search.minimize` and is
checkpointed after every generation in ``search/<profile>/`` (:class:`nas.rundir.SearchDir`):
running the same command again resumes from ``state.json``, and a run killed at any point ends
with the same front as an uninterrupted one (algorithms are pure in their state and key,
evaluators are deterministic and cached). A state written under a different search config, or
a corrupt one, raises :class:`InputError` and is left as it is.

Row format of ``gen_*.jsonl`` and ``front.jsonl``: ``{"generation", "arch": <JSON encoding>,
<objective and budget values>, "violation", "feasible"}``; the front is the feasible
non-dominated set of everything evaluated so far, sorted by the first objective.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from nas.errors import InputError
from nas.files import atomic_write_json, read_json, write_jsonl
from nas.rundir import RunDir, SearchDir
from nas.search import AlgorithmOptions, Budget, ObjectiveSpec, hypervolume, make_algorithm, minimize, pareto_mask
from nas.search.minimize import objective_evaluator
from nas.search.objectives import MAXIMISED
from nas.search.state_codec import STATE_TYPES, decode_state, encode_state
from nas.search_spaces import SearchSpace, get_space

STATE_FORMAT = 2  # 2: JSON (nas.search.state_codec); 1 was a pickle


class SearchResult(NamedTuple):
    front: list  # feasible non-dominated rows (see module doc), best first objective first
    history: list  # every evaluated row, in evaluation order
    hypervolume: float  # of the front in minimisation form w.r.t. reference_point
    reference_point: tuple  # minimisation form, one value per objective
    generations: int
    evaluations: int
    directory: object  # pathlib.Path of search/<profile>/


def algorithm_options(search_cfg) -> AlgorithmOptions:
    return AlgorithmOptions(search_cfg.population, search_cfg.mutation_rate or None, search_cfg.prescreen_factor)


def fingerprint(space: SearchSpace, search_cfg) -> dict:
    """What fixes a search's trajectory (``generations`` excluded so a search can be extended);
    ``accuracy`` and ``resolutions`` join it when they are not the defaults."""
    fp = {"space": space.name, "algorithm": search_cfg.algorithm, "population": search_cfg.population,
          "objectives": list(search_cfg.objectives), "budgets": dict(sorted(search_cfg.budgets.items())),
          "mutation_rate": search_cfg.mutation_rate, "seed": search_cfg.seed,
          "prescreen_factor": search_cfg.prescreen_factor}
    if search_cfg.accuracy == "predictor":
        fp["accuracy"] = "predictor"
    if search_cfg.resolutions:
        fp["resolutions"] = sorted(int(r) for r in search_cfg.resolutions)
    return fp


def search_space(cfg) -> SearchSpace:
    """The run's space as its search draws it: ``search.resolutions`` only, when given."""
    space = get_space(cfg.space)
    return space.with_resolutions(cfg.search.resolutions) if cfg.search.resolutions else space


def predictor_file(cfg) -> str | None:
    """``search.accuracy`` when it names a predictor file, else None."""
    return cfg.search.accuracy if cfg.search.accuracy not in ("supernet", "predictor") else None


def profile_notes(cfg, profiles=None, loaded=None) -> list[str]:
    """One line per profile that was never measured in the run's space: its latencies there are
    its fit carried over from other spaces (the ranking carries over, the absolute level may not),
    worth knowing before an absolute latency budget is trusted."""
    if "latency_ms" not in ObjectiveSpec.from_config(cfg.search).required:
        return []
    out = []
    for p in profiles or cfg.search.profiles:
        prof = _profile(p, loaded)
        if cfg.space not in prof.spaces:
            budget = cfg.search.budgets.get("latency_ms")
            out.append(f"note: profile {p} was measured on {', '.join(prof.spaces)} only, not on {cfg.space}: its "
                       f"latencies there are carried over (rankings hold, absolute ms may not)"
                       + (f"; the {budget:g} ms budget is on that scale" if budget else "")
                       + f"; calibrate it in {cfg.space} (nas profile fit/calibrate) for absolute numbers")
    return out


def coverage_line(cfg, results: dict) -> str:
    """How much of the space the search saw, in one line: networks scored per profile against the
    space's size, and how to search more (a small default search can miss what a larger finds)."""
    space = search_space(cfg)
    size = space.num_distinct() if hasattr(space, "num_distinct") else space.size()
    scored = ", ".join(f"{r.evaluations} on {p}" for p, r in results.items())
    s = cfg.search
    return (f"  search: scored {scored} of {size:.2g} networks in {cfg.space} (population {s.population} x "
            f"{s.generations} generations); a larger search can find better ones: --set "
            f"search.generations={2 * s.generations} continues this one")


def check_profiles_cover(cfg, profiles, loaded=None) -> None:
    """InputError when the search has no profile, or a latency lookup-table
    profile has no table for a resolution the search may draw. (Without latency a search still
    needs a profile name: it labels the search's folder.)"""
    if not profiles:
        raise InputError("search.profiles: no hardware profile to search for; give --profile NAME|PROFILE.yaml")
    if "latency_ms" not in ObjectiveSpec.from_config(cfg.search).required:
        return
    space = search_space(cfg)
    for p in profiles:
        prof = _profile(p, loaded)
        lut = getattr(prof, "lut", None)
        if lut is None:
            continue
        if lut.space != cfg.space:
            raise InputError(f"profile {p}: a lookup table of space {lut.space}, not {cfg.space}")
        missing = [r for r in getattr(space.cfg, "resolutions", ()) if r not in lut.tables]
        if missing:
            have = ", ".join(map(str, sorted(lut.tables)))
            raise InputError(f"profile {p}: no lookup table for resolution {missing[0]} (it has {have}); "
                             f"set search.resolutions=[{','.join(map(str, sorted(lut.tables)))}]")


def reference_point(spec: ObjectiveSpec, rows: list) -> np.ndarray:
    """Hypervolume reference (minimisation form): 0 for accuracy (maximised), the budget for a budgeted
    objective, else 1.1 x the worst value among ``rows`` (fixed after generation 0)."""
    budgets = dict(spec.budgets)
    ref = []
    for name in spec.names:
        if name in MAXIMISED:
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


PAYLOAD_FIELDS = ("fingerprint", "state", "history", "metrics", "ref")


def save_state(d: SearchDir, payload: dict) -> None:
    """The search's checkpoint as JSON (:mod:`nas.search.state_codec`: data only, exact)."""
    atomic_write_json(d.state, {"format": STATE_FORMAT, **{k: encode_state(payload[k]) for k in PAYLOAD_FIELDS}},
                      indent=None)


def load_state(d: SearchDir, space: SearchSpace) -> dict | None:
    """The saved payload, or None when there is none; InputError (file untouched) if it is
    unreadable, incomplete, of another format, or an old pickle state (never unpickled)."""
    if d.legacy_state.exists() and not d.state.exists():
        raise InputError(f"{d.legacy_state}: search state of an older version (pickle, not read: it could run "
                         "code); move it away to start this search over")
    if not d.state.exists():
        return None
    hint = "; move it away to start the search over"
    raw = read_json(d.state, what="search state")
    if not isinstance(raw, dict) or raw.get("format") != STATE_FORMAT:
        raise InputError(f"{d.state}: not a search state of format {STATE_FORMAT}{hint}")
    missing = [k for k in PAYLOAD_FIELDS if k not in raw]
    if missing:
        raise InputError(f"{d.state}: search state lacks {', '.join(missing)}{hint}")
    payload = {k: decode_state(raw[k], space, str(d.state)) for k in PAYLOAD_FIELDS}
    if not isinstance(payload["fingerprint"], dict) or not isinstance(payload["history"], list) \
            or not isinstance(payload["metrics"], list) or type(payload["state"]).__name__ not in STATE_TYPES:
        raise InputError(f"{d.state}: malformed search state{hint}")
    return payload


def run_search(space: SearchSpace, evaluator, search_cfg, workdir, *, profile: str = "local_cpu",
               algorithm=None, cache: bool = True, fingerprint_extra: dict | None = None,
               on_generation: Callable[[dict], None] | None = None) -> SearchResult:
    """Run (or resume) ``search_cfg.generations`` generations of ``search_cfg.algorithm`` in
    ``<workdir>/search/<profile>/``.

    ``evaluator.evaluate(archs) -> list[dict]`` must provide every objective and budgeted value.
    ``on_generation`` gets each generation's metrics dict (also appended to ``metrics.jsonl``).
    ``fingerprint_extra`` (e.g. the supernet's identity) joins the config fingerprint, so a
    state computed with other objective values is refused instead of silently resumed.
    """
    import jax

    from nas.evaluators import CachedEvaluator

    d = RunDir(workdir).search(profile)
    spec = ObjectiveSpec.from_config(search_cfg)
    algo = algorithm or make_algorithm(search_cfg.algorithm, space, algorithm_options(search_cfg))
    fp = {**fingerprint(space, search_cfg), **(fingerprint_extra or {})}
    saved = load_state(d, space)
    if saved is None:
        state, history, metrics, ref = None, [], [], None
    else:
        if saved["fingerprint"] != fp:
            diff = sorted(k for k in {**fp, **saved["fingerprint"]} if saved["fingerprint"].get(k) != fp.get(k))
            raise InputError(f"{d.state}: written by a search with different {', '.join(diff)}; "
                             "use another workdir or move the state away")
        state, history, metrics, ref = saved["state"], saved["history"], saved["metrics"], saved["ref"]
    if cache:
        evaluator = CachedEvaluator(evaluator, space, d.evaluations)
    t_start = t0 = time.perf_counter()

    def record(state, gen) -> None:
        nonlocal history, metrics, ref, t0
        rows = [{"generation": gen.index, "arch": space.to_json(a), **r, "violation": float(v),
                 "feasible": bool(v <= 0)} for a, r, v in zip(gen.archs, gen.records, gen.cv)]
        history = history + rows
        if ref is None:
            ref = reference_point(spec, rows)
        front = front_rows(spec, history)
        hv = hypervolume(spec.matrix(front), ref) if front else 0.0
        best = {n: (max if n in MAXIMISED else min)(float(r[n]) for r in front) for n in spec.names} if front else {}
        metrics = metrics + [{"generation": gen.index, "evaluations": len(history), "hypervolume": hv,
                              "front_size": len(front), "feasible": int(sum(r["feasible"] for r in rows)),
                              "best": best, "seconds": time.perf_counter() - t0,
                              "generations": search_cfg.generations}]
        write_jsonl(d.generation(gen.index), rows)
        write_jsonl(d.front, front)
        write_jsonl(d.metrics, metrics)
        save_state(d, {"fingerprint": fp, "state": state, "history": history, "metrics": metrics, "ref": ref})
        if on_generation is not None:
            on_generation(dict(metrics[-1], elapsed_s=time.perf_counter() - t_start))
        t0 = time.perf_counter()

    result = minimize(algo, objective_evaluator(evaluator, spec), Budget(generations=search_cfg.generations),
                      key=jax.random.key(search_cfg.seed), state=state, on_generation=record)
    front = front_rows(spec, history)
    ref = ref if ref is not None else reference_point(spec, history)
    return SearchResult(front, history, hypervolume(spec.matrix(front), ref) if front else 0.0,
                        tuple(float(x) for x in ref), result.state.generation, len(history), d.path)


class _LazySupernetAccuracy:
    """Supernet accuracy, in process, loading the trained supernet only when first needed."""

    provides = ("accuracy",)

    def __init__(self, cfg, run: RunDir, dataset):
        self.cfg, self.run, self.dataset, self.inner = cfg, run, dataset, None

    def evaluate(self, archs):
        if self.inner is None:
            self.inner = accuracy_spec(self.cfg)(supernet_scoring(self.cfg, self.run, self.dataset))
        return self.inner.evaluate(archs)


def predictor_accuracy(cfg):
    """``(evaluator, fingerprint part)`` of ``search.accuracy`` naming a predictor file: its predictions
    are the accuracy (no supernet, no data); the fingerprint holds the file's checksum."""
    from nas.accuracy import load_predictor
    from nas.evaluators.accuracy import PredictorAccuracyEvaluator
    from nas.files import sha256_file

    path = predictor_file(cfg)
    pred = load_predictor(path, cfg.space)
    return PredictorAccuracyEvaluator(pred), {"accuracy_predictor": sha256_file(path)}


def check_accuracy_source(cfg, workdir) -> None:
    """InputError when the search scores accuracy with the supernet and ``workdir`` has none
    (checked before a command writes anything there)."""
    if "accuracy" in ObjectiveSpec.from_config(cfg.search).required and not predictor_file(cfg):
        _require_supernet(cfg, RunDir(workdir))
    elif predictor_file(cfg):
        from nas.accuracy import load_predictor

        load_predictor(predictor_file(cfg), cfg.space)


def accuracy_spec(cfg):
    from nas.evaluators import EvaluatorSpec

    return EvaluatorSpec(cfg.space, ("accuracy",), space_def=cfg.space_def or None)


def _require_supernet(cfg, run: RunDir) -> None:
    """InputError when stage 1 has not completed in ``run``."""
    if not run.supernet.result.is_file():
        raise InputError(f"{run.supernet.path}: no trained supernet (run `nas run {cfg.name} --workdir "
                         f"{run.root}` to train it first, or set search.accuracy to a predictor file)")


def supernet_scoring(cfg, run: RunDir, dataset=None, *, eval_batches: int | None = None,
                     bn_batches: int | None = None):
    """The :class:`nas.train.SupernetScoring` of the run's trained supernet, what the accuracy
    evaluator is handed (``search.eval_batches`` validation batches and
    ``supernet.bn_recalibration_batches`` recalibration batches of ``supernet.batch_size``, unless
    given); InputError when stage 1 has not completed there."""
    from nas.train import SupernetScoring, load_supernet

    _require_supernet(cfg, run)
    if dataset is None:
        from nas.data import load_dataset

        dataset = load_dataset(cfg.data)
    graphdef, state = load_supernet(run.root, cfg.space, cfg.supernet, cfg.data, dataset)
    return SupernetScoring.from_supernet(
        graphdef, state, dataset, batch_size=cfg.supernet.batch_size,
        bn_batches=cfg.supernet.bn_recalibration_batches if bn_batches is None else bn_batches,
        eval_batches=cfg.search.eval_batches if eval_batches is None else eval_batches)


def accuracy_evaluator(cfg, run: RunDir, dataset=None, *, num_workers: int = 0):
    """Supernet accuracy behind the run's shared cache (``search/accuracy_<supernet id>.jsonl``):
    a Ray pool of ``num_workers`` actors (``search.ray_address``), or in process (the supernet
    is then loaded only on the first cache miss). Close it when done."""
    from nas.evaluators import CachedEvaluator, make_evaluator

    _require_supernet(cfg, run)
    if num_workers > 0:
        s = cfg.search
        inner = make_evaluator(accuracy_spec(cfg), supernet_scoring(cfg, run, dataset), num_workers=num_workers,
                               address=s.ray_address, num_cpus_per_worker=s.cpus_per_worker,
                               num_gpus_per_worker=s.gpus_per_worker, runtime_env=s.ray_runtime_env)
    else:
        inner = _LazySupernetAccuracy(cfg, run, dataset)
    return CachedEvaluator(inner, get_space(cfg.space), run.accuracy_cache())


def supernet_accuracy(cfg, workdir, archs, dataset=None) -> list[float]:
    """Supernet accuracy of ``archs`` from the shared cache (the supernet loads only for misses)."""
    ev = accuracy_evaluator(cfg, RunDir(workdir), dataset)
    try:
        return [r["accuracy"] for r in ev.evaluate(list(archs))]
    finally:
        ev.close()


def cheapest(space: SearchSpace, evaluator, name: str, passes: int = 2) -> float:
    """The smallest value of ``name`` the space reaches (as far as ``evaluator`` says): coordinate
    descent from the space's smallest network, each gene in turn set to its best choice, ``passes``
    times over (exact for costs that are sums over genes, e.g. MACs and parameters; the predicted
    latency of a profile is nearly so)."""
    idx = np.zeros(space.num_genes, dtype=np.int64)
    best = float(evaluator.evaluate([space.from_indices(idx)])[0][name])
    for _ in range(passes):
        changed = False
        for g, card in enumerate(space.cardinalities):
            trial = np.repeat(idx[None], card, axis=0)
            trial[:, g] = np.arange(card)
            values = [float(r[name]) for r in evaluator.evaluate([space.from_indices(t) for t in trial])]
            i = int(np.argmin(values))
            if values[i] < best:
                best, idx, changed = values[i], trial[i], True
        if not changed:
            break
    return best


def check_budgets_reachable(cfg, profiles: list[str] | None = None, *, loaded=None) -> None:
    """InputError naming the budget when no network of the space can meet it, with the smallest
    value the space reaches (on that profile, for latency): checked before anything is trained
    or searched, so an impossible budget never ends in an empty front."""
    from nas.evaluators import EvaluatorSpec

    budgets, space = cfg.search.budgets, search_space(cfg)
    check_profiles_cover(cfg, profiles or cfg.search.profiles, loaded)
    checks = [(n, "") for n in budgets if n != "latency_ms"]
    if "latency_ms" in budgets:
        checks += [("latency_ms", p) for p in profiles or cfg.search.profiles]
    for name, profile in checks:
        low = cheapest(space, EvaluatorSpec(cfg.space, (name,), profile=_profile(profile, loaded))(), name)
        if low > budgets[name]:
            where = f" on profile {profile}" if profile else ""
            raise InputError(f"search.budgets.{name}: no network of {cfg.space} meets {_number(budgets[name])}{where}; "
                             f"the smallest the space reaches is {_number(low)}")


def _profile(name: str, loaded=None):
    """The hardware profile ``name`` (shipped name or YAML path; None for no name), from
    ``loaded`` (name -> Profile, :func:`nas.latency.load_profiles`) when the caller loaded it."""
    if not name:
        return None
    from nas.latency import profile_of

    return profile_of(name, loaded)


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.4g}"


def _nodes_served(accuracy) -> Counter:
    """Architectures each Ray node has evaluated so far for ``accuracy`` (empty in process)."""
    return Counter(getattr(getattr(accuracy, "inner", None), "nodes_served", None) or {})


def _recorded_nodes(path) -> Counter:
    """``accuracy_nodes`` of a search's earlier ``result.json`` (empty when missing or malformed)."""
    try:
        nodes = read_json(path, what="search result").get("accuracy_nodes")
    except (InputError, AttributeError):
        return Counter()
    return Counter({k: v for k, v in nodes.items() if type(v) is int and v > 0} if isinstance(nodes, dict) else {})


def run_stage(cfg, workdir, *, profiles: list[str] | None = None, dataset=None,
              on_generation: Callable[[str, dict], None] | None = None, loaded=None) -> dict[str, SearchResult]:
    """Search every profile of ``cfg.search.profiles`` (or ``profiles``); returns results by
    profile. ``loaded``: the profiles the caller loaded already (name -> Profile), the others are
    loaded here. InputError when accuracy is an objective and the supernet is not trained yet, or a
    profile cannot be loaded."""
    from nas.evaluators import CompositeEvaluator, EvaluatorSpec

    s, run = cfg.search, RunDir(workdir)
    space = search_space(cfg)
    spec = ObjectiveSpec.from_config(s)
    needs = spec.required
    check_profiles_cover(cfg, list(profiles or s.profiles), loaded)
    accuracy, extra = None, {}
    if "accuracy" in needs and predictor_file(cfg):
        accuracy, extra = predictor_accuracy(cfg)
    elif "accuracy" in needs:
        accuracy = accuracy_evaluator(cfg, run, dataset, num_workers=s.num_workers)
        extra = {"supernet": run.supernet_id(), "eval_batches": s.eval_batches}
    results = {}
    try:
        for profile in list(profiles or s.profiles):
            local = tuple(n for n in needs if n != "accuracy")
            prof = _profile(profile, loaded) if "latency_ms" in local else None
            cheap = EvaluatorSpec(cfg.space, local, profile=prof)() if local else None
            evaluator = CompositeEvaluator(([cheap] if cheap else []) + ([accuracy] if accuracy else []))
            cb = (lambda m, p=profile: on_generation(p, m)) if on_generation else None
            served = _nodes_served(accuracy)
            algo = None
            if s.accuracy != "supernet" and "accuracy" in spec.names and s.algorithm == "nsga2" \
                    and s.prescreen_factor > 1:  # predictor-guided (the accuracy of a predictor file as well)
                from nas.accuracy.guided import GuidedScreener

                screener = GuidedScreener(space, spec, cheap.evaluate if cheap else (lambda a: [{} for _ in a]),
                                          seed=s.seed)
                algo = make_algorithm(s.algorithm, space, algorithm_options(s)._replace(screener=screener))
            res = run_search(space, evaluator, s, workdir, profile=profile, algorithm=algo,
                             fingerprint_extra={**extra, "profile": profile}, on_generation=cb)
            if not res.front:  # budgets each reachable alone, but no evaluated network meets them all
                raise InputError(f"search.budgets: no network evaluated on {profile} meets every budget "
                                 f"({', '.join(f'{k}={_number(v)}' for k, v in s.budgets.items())}); "
                                 f"{res.evaluations} evaluated, see {res.directory}; loosen a budget")
            results[profile] = res
            path = run.search(profile).result
            before = _recorded_nodes(path)  # a resumed search adds to what its earlier runs computed
            atomic_write_json(path, {
                "profile": profile, "evaluations": res.evaluations, "hypervolume": res.hypervolume,
                "front_size": len(res.front),
                # Ray node id -> supernet accuracies computed on that node for this search (all runs)
                "accuracy_nodes": dict(before + (_nodes_served(accuracy) - served))})
        if accuracy is not None:  # the hand-designed baseline, scored while the evaluator is up
            accuracy.evaluate([space.hand_designed()])
    finally:
        if accuracy is not None:
            accuracy.close()
    return results
