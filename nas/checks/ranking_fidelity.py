"""Supernet ranking fidelity: does inherited-weight accuracy rank subnets like stand-alone training?

For a finished (or at least stage-1-trained) run, draws subnets of its space: ``--stratified``
spread evenly over MACs (quantiles of 4,000 random samples) and ``--band`` more from one narrow
MACs band (±``--band-width`` around ``--band-macs``, default the median MACs), where size gives
no hint. Each gets

- its supernet accuracy as the search sees it (inherited weights, BN recalibrated, the run's
  ``search.eval_batches`` validation batches, through the run's accuracy cache), and
- its accuracy trained stand-alone from scratch with the fixed recipe :data:`RECIPE` (resumable:
  ``WORKDIR/fidelity/final/<name>``), once per ``--seeds`` seed (``<name>_seed<k>`` for k > 0);
  the ground truth is the mean over seeds, and with two or more seeds the agreement of the first
  two seeds' rankings is reported too: the ceiling any supernet's τ can reach on this recipe;

and the two rankings are compared: Kendall τ and Spearman ρ overall and within the band, with
95% bootstrap intervals (pairs resampled). Writes ``WORKDIR/fidelity.json`` (read by the report)
and prints a Markdown row for ``docs/benchmarks/supernet.md``; ``WORKDIR/fidelity/rows.json`` holds
the rows finished so far.

    nas check fidelity runs/fashion_mnist [--stratified 16 --band 8]
        [--rows docs/benchmarks/ranking_fidelity_rows.json]

``--rows FILE`` merges each subnet's stand-alone results into FILE as each training finishes
(keyed by experiment, subnet and recipe; the seeds accumulate in the row), trains only what FILE
does not hold yet (a later sitting resumes there, even in a fresh work directory) and takes the
ground truth from FILE's rows (:mod:`nas.checks.rows`).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

# the stand-alone recipe, fixed here so every supernet is judged against the same ground truth
RECIPE = {"epochs": 2.0, "batch_size": 256, "learning_rate": 0.05, "augment": "off", "seed": 0}
SAMPLES = 4000


@dataclasses.dataclass(frozen=True)
class FidelityOptions:
    """One measurement's settings (the options of ``nas check fidelity``): the subnets drawn
    (``stratified`` over MACs, ``band`` more within ``band_macs·(1 ± band_width)``, default
    centre the median MACs; ``seed`` also seeds the bootstrap), the stand-alone recipe
    (``seeds``, ``epochs``, ``max_steps``: 0 uncapped), or the finished benchmark of another
    work directory to take subnets and stand-alone results from (``standalone_from``), the
    supernet's scoring (``eval_batches``/``bn_batches``: None, the run's, through its cache),
    the result file (``out``; None: ``WORKDIR/fidelity.json``) and the rows file (``rows``)."""
    stratified: int = 16
    band: int = 8
    band_macs: float | None = None
    band_width: float = 0.10
    seed: int = 0
    seeds: tuple[int, ...] = (RECIPE["seed"],)
    epochs: float = RECIPE["epochs"]
    max_steps: int = 0
    standalone_from: str | None = None
    eval_batches: int | None = None
    bn_batches: int | None = None
    out: str | None = None
    rows: str | None = None


class Subnets(NamedTuple):
    """The subnets of one measurement: architectures, names, which were drawn from the band,
    the band (centre MACs, relative width) and, when taken from another run's benchmark, its
    rows (``known``; empty otherwise)."""
    archs: list
    names: list[str]
    in_band: list[bool]
    centre: float
    width: float
    known: list[dict]


def choose_subnets(space, n_stratified: int, n_band: int, band_macs: float | None, band_width: float,
                   seed: int) -> tuple[list, list, float]:
    """``(stratified, band, band_centre)``: distinct canonical subnets, stratified over MACs and
    drawn at random from the band ``centre·(1 ± band_width)``."""
    import jax

    from nas.search_spaces import arch_stats

    pool = list(dict.fromkeys(space.canonical(a) for a in space.sample(jax.random.key(seed), SAMPLES)))
    macs = np.array([arch_stats(a).macs for a in pool], dtype=float)
    order = np.argsort(macs, kind="stable")
    picks = np.unique(np.round(np.linspace(0, len(pool) - 1, n_stratified)).astype(int))
    stratified = [pool[order[i]] for i in picks]
    centre = float(np.median(macs)) if band_macs is None else float(band_macs)
    inside = [i for i in np.flatnonzero(np.abs(macs - centre) <= band_width * centre)
              if pool[i] not in stratified]
    rng = np.random.default_rng(seed)
    band = [pool[i] for i in rng.choice(inside, size=min(n_band, len(inside)), replace=False)]
    return stratified, band, centre


def rank_agreement(x, y, *, boot: int = 2000, seed: int = 0) -> dict:
    """Kendall τ and Spearman ρ of ``x`` against ``y`` with 95% bootstrap intervals."""
    from scipy.stats import kendalltau, spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    out = {"n": int(len(x))}
    rng = np.random.default_rng(seed)
    idx = [rng.integers(0, len(x), len(x)) for _ in range(boot)]
    for name, fn in (("kendall_tau", kendalltau), ("spearman_rho", spearmanr)):
        value = float(fn(x, y)[0]) if len(x) > 2 else float("nan")
        draws = [fn(x[i], y[i])[0] for i in idx if len(np.unique(x[i])) > 1 and len(np.unique(y[i])) > 1]
        draws = np.array([d for d in draws if np.isfinite(d)])
        lo, hi = (np.percentile(draws, [2.5, 97.5]) if len(draws) else (np.nan, np.nan))
        # JSON has no NaN: an undefined statistic (fewer than 3 subnets, constant ranks) is null
        out[name] = {"value": _finite(value), "ci95": [_finite(lo), _finite(hi)]}
    return out


def _finite(x) -> float | None:
    return float(x) if np.isfinite(x) else None


def _cached_scores(path: Path, supernet_id, eval_batches: int, bn_batches: int, archs) -> list[float] | None:
    """The inherited accuracies an earlier result file at ``path`` holds for exactly these subnets,
    this supernet and this scoring; ``None`` when there is no such file (scoring is the slow part
    of re-judging a supernet against a new ground truth)."""
    from nas.files import read_json
    from nas.search_spaces import arch_to_json

    try:
        old = read_json(path, what="fidelity")
        if (old["supernet_id"], old["eval_batches"], old["bn_batches"]) != (supernet_id, eval_batches, bn_batches):
            return None
        if [r["arch"] for r in old["rows"]] != [arch_to_json(a) for a in archs]:
            return None
        return [float(r["supernet_accuracy"]) for r in old["rows"]]
    except Exception:  # no file, another format: score afresh
        return None


def standalone_rows(workdir) -> tuple[list[dict], dict]:
    """``(rows, band)`` of another run's benchmark (``WORKDIR/fidelity/rows.json``): its subnets
    with their stand-alone results, and its MACs band, so a supernet variant is judged on the
    same subnets against the same ground truth without training them again. InputError when the
    file is missing or malformed."""
    from nas.errors import InputError
    from nas.files import read_json
    from nas.rundir import RunDir

    path = RunDir(Path(workdir).resolve()).fidelity_dir / "rows.json"
    rec = read_json(path, what="fidelity rows")
    try:
        rows = [{**{k: r[k] for k in ("name", "arch", "in_band", "standalone_val", "standalone_test")},
                 "by_seed": r.get("by_seed") or {str(RECIPE["seed"]): {"val_acc": r["standalone_val"],
                                                                      "test_acc": r["standalone_test"]}}}
                for r in rec["rows"]]
        band = dict(rec.get("band") or {})
    except (KeyError, TypeError) as e:
        raise InputError(f"{path}: malformed fidelity rows ({type(e).__name__}: {e})") from None
    if not rows or rec.get("done") != rec.get("of"):
        raise InputError(f"{path}: the benchmark there has not finished ({rec.get('done')} of {rec.get('of')} "
                         "subnets); finish it first")
    return rows, band


def score_supernet(cfg, run, archs, dataset, eval_batches: int | None, bn_batches: int | None) -> list[float]:
    """Inherited-weight accuracy of ``archs``: as the run's search sees it (its cache and
    settings), or, with ``eval_batches``/``bn_batches`` given, scored afresh with those
    (validation batches; BN recalibration batches), bypassing the cache."""
    from nas.pipeline.search import accuracy_spec, supernet_accuracy, supernet_scoring

    if eval_batches is None and bn_batches is None:
        return supernet_accuracy(cfg, run.root, archs, dataset)
    ev = accuracy_spec(cfg)(supernet_scoring(cfg, run, dataset,
                                             eval_batches=eval_batches or cfg.search.eval_batches,
                                             bn_batches=bn_batches or cfg.supernet.bn_recalibration_batches))
    return [r["accuracy"] for r in ev.evaluate(list(archs))]


def ground_truth_retest(rows, centre: float, band_width: float, seed: int) -> dict | None:
    """How well the stand-alone recipe ranks the subnets against itself: Kendall τ / Spearman ρ of
    the first two seeds' test accuracies, overall and in the band (``None`` with one seed). A
    supernet cannot be shown to rank better than this."""
    seeds = [k for k in rows[0]["by_seed"] if all(k in r["by_seed"] for r in rows)][:2]
    if len(seeds) < 2:
        return None
    band = [r for r in rows if r["in_band"] or abs(r["macs"] - centre) <= band_width * centre]
    return {"seeds": seeds, **{key: rank_agreement([r["by_seed"][seeds[0]]["test_acc"] for r in rs],
                                                   [r["by_seed"][seeds[1]]["test_acc"] for r in rs], seed=seed)
                               for key, rs in (("overall", rows), ("band_only", band))}}


def cell(d) -> str:
    v, (lo, hi) = d["value"], d["ci95"]
    if v is None:
        return "–"
    return f"{v:.2f} [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else f"{v:.2f}"


TABLE_HEAD = ("| run | subnets (band) | Kendall τ | Spearman ρ | τ in band | ρ in band | τ of MACs | "
              "τ seed vs seed (in band) | stand-alone recipe | cost |\n|---|---|---|---|---|---|---|---|---|---|")


def table_row(label: str, result: dict) -> str:
    o, b, m = result["overall"], result["band_only"], result["macs_baseline"]
    recipe, sec, retest = result["recipe"], result["seconds"], result.get("ground_truth_retest")
    steps = f", ≤{result['max_steps']} steps" if result["max_steps"] else ""
    n_seeds = len(recipe.get("seeds", [recipe["seed"]]))
    seeds = f", mean of {n_seeds} seeds" if n_seeds > 1 else ""
    ceiling = "–" if not retest else \
        f"{cell(retest['overall']['kendall_tau'])} ({cell(retest['band_only']['kendall_tau'])})"
    return (f"| {label} | {o['n']} ({b['n']}) | {cell(o['kendall_tau'])} | {cell(o['spearman_rho'])} | "
            f"{cell(b['kendall_tau'])} | {cell(b['spearman_rho'])} | {cell(m['kendall_tau'])} | {ceiling} | "
            f"{recipe['epochs']:g} epochs{steps}{seeds} | "
            f"{sec['inherited']:.0f} s + {sec['standalone'] / 60:.1f} min |")


def benchmark_subnets(space, opts: FidelityOptions) -> Subnets:
    """The subnets another run's finished benchmark used, with its stand-alone rows
    (``opts.standalone_from``), else chosen afresh (``known`` empty). InputError when the other
    run's rows are missing or malformed."""
    if opts.standalone_from:
        known, band_rec = standalone_rows(opts.standalone_from)
        centre = float(band_rec["centre_macs"]) if "centre_macs" in band_rec else \
            choose_subnets(space, 0, 0, opts.band_macs, opts.band_width, opts.seed)[2]
        return Subnets([space.from_json(r["arch"]) for r in known], [r["name"] for r in known],
                       [bool(r["in_band"]) for r in known], centre, float(band_rec.get("width", opts.band_width)),
                       known)
    stratified, band, centre = choose_subnets(space, opts.stratified, opts.band, opts.band_macs,
                                              opts.band_width, opts.seed)
    in_band = [False] * len(stratified) + [True] * len(band)
    names = [f"{'band' if b else 'strat'}_{i:02d}" for i, b in enumerate(in_band)]
    return Subnets(stratified + band, names, in_band, centre, opts.band_width, [])


def check_fidelity(workdir, opts: FidelityOptions = FidelityOptions()) -> dict:
    """Measure the ranking fidelity of the supernet trained in ``workdir``: writes the result
    (``opts.out``, default ``WORKDIR/fidelity.json``) and ``WORKDIR/fidelity/rows.json``, trains
    what is missing into ``WORKDIR/fidelity/final/`` and returns the result. InputError when
    the run's config, the other run's rows or the rows file are missing or malformed."""
    from nas.checks.rows import RowStore
    from nas.config import config_from_dict
    from nas.data import load_dataset
    from nas.files import atomic_write_json, read_json
    from nas.rundir import RunDir
    from nas.search_spaces import get_space

    run = RunDir(Path(workdir).resolve())
    cfg = config_from_dict(read_json(run.config, what="config"))
    subnets = benchmark_subnets(get_space(cfg.space), opts)
    store = RowStore(opts.rows)  # FILE's rows (resumed), else this sitting's alone
    dataset = load_dataset(cfg.data)
    out = Path(opts.out) if opts.out else run.fidelity
    eval_batches = opts.eval_batches or cfg.search.eval_batches
    bn_batches = opts.bn_batches or cfg.supernet.bn_recalibration_batches
    t0 = time.perf_counter()
    inherited = _cached_scores(out, run.supernet_id(), eval_batches, bn_batches, subnets.archs)
    if inherited is None:
        inherited = score_supernet(cfg, run, subnets.archs, dataset, opts.eval_batches, opts.bn_batches)
    t1 = time.perf_counter()
    rows = standalone_results(cfg, run, subnets, inherited, opts, store)
    seconds = {"inherited": t1 - t0, "standalone": time.perf_counter() - t1}
    result = {"supernet_id": run.supernet_id(), "recipe": {**_recipe(opts), "seeds": list(rows[0]["by_seed"])},
              "max_steps": opts.max_steps, "eval_batches": eval_batches, "bn_batches": bn_batches,
              "standalone_from": str(Path(opts.standalone_from).resolve()) if opts.standalone_from else None,
              **summarise(rows, subnets.centre, subnets.width, opts.seed), "seconds": seconds, "rows": rows}
    atomic_write_json(out, result)
    return result


def _recipe(opts: FidelityOptions) -> dict:
    return {**RECIPE, "epochs": opts.epochs}


def standalone_results(cfg, run, subnets: Subnets, inherited: list[float], opts: FidelityOptions, store) -> list[dict]:
    """One row per subnet: its supernet accuracy (``inherited``) and stand-alone results, the
    other run's (``subnets.known``) or trained here per seed unless ``store`` holds them. Writes
    ``WORKDIR/fidelity/rows.json`` as each subnet finishes (with reused results, once, at the end)."""
    from nas.files import atomic_write_json
    from nas.search_spaces import arch_stats, arch_to_json

    recipe = _recipe(opts)
    final = dataclasses.replace(cfg.final, epochs=recipe["epochs"], batch_size=recipe["batch_size"],
                                learning_rate=recipe["learning_rate"], from_scratch=True, augment=recipe["augment"],
                                max_steps=opts.max_steps)
    # stand-alone results depend on the experiment's data, the subnet and the recipe, not the supernet
    budget = {**{k: recipe[k] for k in ("epochs", "batch_size", "learning_rate", "augment")},
              "max_steps": opts.max_steps}
    rows = []
    for i, (a, name) in enumerate(zip(subnets.archs, subnets.names)):
        row = {"name": name, "arch": arch_to_json(a), "macs": arch_stats(a).macs, "in_band": subnets.in_band[i]}
        by_seed = subnets.known[i]["by_seed"] if subnets.known else \
            _train_seeds(dataclasses.replace(cfg, final=final), run, row, opts.seeds, budget, store)
        rows.append({**row, "supernet_accuracy": inherited[i],
                     "standalone_val": float(np.mean([v["val_acc"] for v in by_seed.values()])),
                     "standalone_test": float(np.mean([v["test_acc"] for v in by_seed.values()])),
                     "by_seed": by_seed})
        # the rows so far (a long run can be read, or stopped and resumed, before it ends); with
        # reused results (possibly this run's own rows.json) only once, complete, at the end
        if not subnets.known or len(rows) == len(subnets.archs):
            atomic_write_json(run.fidelity_dir / "rows.json", {
                "done": len(rows), "of": len(subnets.archs), "rows": rows,
                "band": {"centre_macs": subnets.centre, "width": subnets.width}})
    return rows


def _train_seeds(cfg, run, row: dict, seeds, budget: dict, store) -> dict:
    """``{seed: {"val_acc", "test_acc"}}`` of the subnet of ``row`` trained stand-alone with
    ``cfg.final`` once per seed, each kept in ``store`` as it finishes; seeds ``store`` already
    holds are not trained again. Seed k > 0 trains in ``<name>_seed<k>``, so adding a seed keeps
    the trainings already done."""
    from nas.checks.rows import row_key
    from nas.pipeline.candidates import Candidate
    from nas.pipeline.final import train_candidate

    name = row["name"]
    key = row_key(cfg.name, name, row["arch"], budget)
    for k in seeds:
        done = store.get(key, {}).get("by_seed", {})
        if str(k) in done:
            continue
        v = train_candidate(dataclasses.replace(cfg, seed=k),
                            Candidate(name if k == RECIPE["seed"] else f"{name}_seed{k}", "searched", row["arch"]),
                            run.fidelity_dir, progress=True)
        store.put(key, {**row, "by_seed": {**done, str(k): {"val_acc": v["val_acc"], "test_acc": v["test_acc"]}},
                        "key": {"run": cfg.name, "budget": budget}})
    return {str(k): store[key]["by_seed"][str(k)] for k in seeds}


def summarise(rows: list[dict], centre: float, band_width: float, seed: int) -> dict:
    """The rankings compared: supernet accuracy against the stand-alone test accuracy overall
    (``overall``) and within the band (``band_only``), MACs against it (``macs_baseline``) and
    the stand-alone recipe against itself (``ground_truth_retest``), with the band."""
    alone = [r["standalone_test"] for r in rows]
    band = [r for r in rows if r["in_band"] or abs(r["macs"] - centre) <= band_width * centre]
    return {"band": {"centre_macs": centre, "width": band_width},
            "overall": rank_agreement([r["supernet_accuracy"] for r in rows], alone, seed=seed),
            "band_only": rank_agreement([r["supernet_accuracy"] for r in band],
                                        [r["standalone_test"] for r in band], seed=seed),
            "macs_baseline": rank_agreement([r["macs"] for r in rows], alone, seed=seed),
            "ground_truth_retest": ground_truth_retest(rows, centre, band_width, seed)}


def fidelity_table(label: str, result: dict) -> str:
    """The Markdown table (head and one row) of ``result`` for docs/benchmarks/supernet.md."""
    return f"{TABLE_HEAD}\n{table_row(label, result)}"
