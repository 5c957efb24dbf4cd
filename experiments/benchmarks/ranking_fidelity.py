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

    python -m experiments.benchmarks.ranking_fidelity runs/fashion_mnist [--stratified 16 --band 8]
        [--rows docs/benchmarks/ranking_fidelity_rows.json]

``--rows FILE`` merges each subnet's stand-alone results into FILE as each training finishes
(keyed by experiment, subnet and recipe; the seeds accumulate in the row), trains only what FILE
does not hold yet (a later sitting resumes there, even in a fresh work directory) and takes the
ground truth from FILE's rows (:mod:`experiments.benchmarks.rows`).
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from search_spaces import arch_to_json

# the stand-alone recipe, fixed here so every supernet is judged against the same ground truth
RECIPE = {"epochs": 2.0, "batch_size": 256, "learning_rate": 0.05, "augment": "off", "seed": 0}
SAMPLES = 4000


def choose_subnets(space, n_stratified: int, n_band: int, band_macs: float | None, band_width: float,
                   seed: int) -> tuple[list, list, float]:
    """``(stratified, band, band_centre)``: distinct canonical subnets, stratified over MACs and
    drawn at random from the band ``centre·(1 ± band_width)``."""
    import jax

    from search_spaces import arch_stats

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
    from evaluators import EvaluatorSpec
    from nas.pipeline.search import supernet_accuracy, supernet_bundle

    if eval_batches is None and bn_batches is None:
        return supernet_accuracy(cfg, run.root, archs, dataset)
    supernet = dataclasses.replace(cfg.supernet, bn_recalibration_batches=bn_batches or
                                   cfg.supernet.bn_recalibration_batches)
    cfg = dataclasses.replace(cfg, supernet=supernet)
    ev = EvaluatorSpec(cfg.space, ("accuracy",), eval_batches=eval_batches or cfg.search.eval_batches,
                       batch_size=cfg.supernet.batch_size)(supernet_bundle(cfg, run, dataset))
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


def benchmark_subnets(space, args) -> tuple[list, list[str], list[bool], float, float, list[dict]]:
    """``(archs, names, in_band, band_centre, band_width, known_rows)``: the subnets another run's
    finished benchmark used, with its stand-alone rows (``--standalone-from``), else chosen afresh
    (``known_rows`` empty). InputError when the other run's rows are missing or malformed."""
    if args.standalone_from:
        known, band_rec = standalone_rows(args.standalone_from)
        centre = float(band_rec["centre_macs"]) if "centre_macs" in band_rec else \
            choose_subnets(space, 0, 0, args.band_macs, args.band_width, args.seed)[2]
        return ([space.from_json(r["arch"]) for r in known], [r["name"] for r in known],
                [bool(r["in_band"]) for r in known], centre, float(band_rec.get("width", args.band_width)), known)
    stratified, band, centre = choose_subnets(space, args.stratified, args.band, args.band_macs,
                                              args.band_width, args.seed)
    in_band = [False] * len(stratified) + [True] * len(band)
    names = [f"{'band' if b else 'strat'}_{i:02d}" for i, b in enumerate(in_band)]
    return stratified + band, names, in_band, centre, args.band_width, []


def main(argv=None) -> int:
    from experiments.benchmarks.rows import load_rows, merge_row, row_key
    from nas.errors import InputError
    from nas.files import atomic_write_json
    from nas.pipeline.candidates import Candidate
    from nas.pipeline.final import train_candidate
    from nas.rundir import RunDir
    from search_spaces import arch_stats, get_space

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir")
    ap.add_argument("--stratified", type=int, default=16)
    ap.add_argument("--band", type=int, default=8)
    ap.add_argument("--band-macs", type=float, help="centre of the narrow band (default: median MACs)")
    ap.add_argument("--band-width", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=0, help="seed of the subnet choice and the bootstrap")
    ap.add_argument("--seeds", default=str(RECIPE["seed"]),
                    help="comma-separated stand-alone training seeds; the ground truth is their mean, and the "
                         "first two seeds' agreement is the ceiling of any supernet's τ (default: the recipe's)")
    ap.add_argument("--epochs", type=float, default=RECIPE["epochs"],
                    help=f"stand-alone epochs (the recipe's {RECIPE['epochs']:g} unless stated)")
    ap.add_argument("--max-steps", type=int, default=0, help="cap stand-alone steps (smoke tests only)")
    ap.add_argument("--standalone-from", metavar="WORKDIR",
                    help="score this run's supernet on the subnets of another run's finished benchmark, against "
                         "its stand-alone results (nothing is trained; same space and recipe)")
    ap.add_argument("--eval-batches", type=int, help="score the supernet on this many validation batches "
                    "(default: the run's search.eval_batches, through its cache)")
    ap.add_argument("--bn-batches", type=int, help="BN recalibration batches for scoring (default: the run's)")
    ap.add_argument("--out", help="result file (default WORKDIR/fidelity.json, which the report reads)")
    ap.add_argument("--label", help="the table row's label (default: the work directory's name)")
    ap.add_argument("--rows", metavar="FILE", help="merge each stand-alone result into FILE as it finishes and "
                    "skip those already there (commit it)")
    args = ap.parse_args(argv)
    for k in ("eval_batches", "bn_batches"):
        if getattr(args, k) is not None and not 0 < getattr(args, k) <= 10_000:
            ap.error(f"--{k.replace('_', '-')}: must be in 1..10000")
    try:
        seeds = list(dict.fromkeys(int(x) for x in args.seeds.split(",") if x.strip()))
    except ValueError:
        ap.error(f"--seeds: not a comma-separated list of integers: {args.seeds!r}")
    if not seeds or min(seeds) < 0:
        ap.error(f"--seeds: one or more non-negative integers, got {args.seeds!r}")
    run = RunDir(Path(args.workdir).resolve())
    try:
        from nas.config import config_from_dict
        from nas.files import read_json

        cfg = config_from_dict(read_json(run.config, what="config"))
        space = get_space(cfg.space)
        archs, names, in_band, centre, band_width, known = benchmark_subnets(space, args)
        table = load_rows(args.rows)  # key -> row: FILE's (resumed), else this sitting's alone
    except InputError as e:
        ap.error(str(e))
    args.band_width = band_width
    from nas.data import load_dataset

    dataset = load_dataset(cfg.data)
    out = Path(args.out) if args.out else run.fidelity
    eval_batches = args.eval_batches or cfg.search.eval_batches
    bn_batches = args.bn_batches or cfg.supernet.bn_recalibration_batches
    t0 = time.perf_counter()
    inherited = _cached_scores(out, run.supernet_id(), eval_batches, bn_batches, archs)
    if inherited is None:
        inherited = score_supernet(cfg, run, archs, dataset, args.eval_batches, args.bn_batches)
    t_inherited = time.perf_counter() - t0
    recipe = {**RECIPE, "epochs": args.epochs}
    final = dataclasses.replace(cfg.final, epochs=recipe["epochs"], batch_size=recipe["batch_size"],
                                learning_rate=recipe["learning_rate"], from_scratch=True, augment=recipe["augment"],
                                max_steps=args.max_steps)
    # stand-alone results depend on the experiment's data, the subnet and the recipe, not the supernet
    budget = {**{k: recipe[k] for k in ("epochs", "batch_size", "learning_rate", "augment")},
              "max_steps": args.max_steps}
    rows, t1 = [], time.perf_counter()
    for i, (a, name) in enumerate(zip(archs, names)):
        if known:
            by_seed = known[i]["by_seed"]
        else:  # seed k > 0 trains in <name>_seed<k>, so adding a seed keeps the trainings already done
            key = row_key(cfg.name, name, arch_to_json(a), budget)
            for k in seeds:
                if str(k) in table.get(key, {}).get("by_seed", {}):
                    continue
                v = train_candidate(dataclasses.replace(cfg, final=final, seed=k),
                                    Candidate(name if k == RECIPE["seed"] else f"{name}_seed{k}", "searched",
                                              arch_to_json(a)), run.fidelity_dir, progress=True)
                row = {"name": name, "arch": arch_to_json(a), "macs": arch_stats(a).macs, "in_band": in_band[i],
                       "by_seed": {**table.get(key, {}).get("by_seed", {}),
                                   str(k): {"val_acc": v["val_acc"], "test_acc": v["test_acc"]}},
                       "key": {"run": cfg.name, "budget": budget}}
                table = merge_row(args.rows, key, row) if args.rows else {**table, key: row}
            by_seed = {str(k): table[key]["by_seed"][str(k)] for k in seeds}
        rows.append({"name": name, "arch": arch_to_json(a), "macs": arch_stats(a).macs, "in_band": in_band[i],
                     "supernet_accuracy": inherited[i],
                     "standalone_val": float(np.mean([v["val_acc"] for v in by_seed.values()])),
                     "standalone_test": float(np.mean([v["test_acc"] for v in by_seed.values()])),
                     "by_seed": by_seed})
        # the rows so far (a long run can be read, or stopped and resumed, before it ends); with
        # reused results (possibly this run's own rows.json) only once, complete, at the end
        if not known or len(rows) == len(archs):
            atomic_write_json(run.fidelity_dir / "rows.json", {
                "done": len(rows), "of": len(archs), "rows": rows,
                "band": {"centre_macs": centre, "width": args.band_width}})
    t_standalone = time.perf_counter() - t1
    sup = [r["supernet_accuracy"] for r in rows]
    alone = [r["standalone_test"] for r in rows]
    in_band = [r for r in rows if r["in_band"] or abs(r["macs"] - centre) <= args.band_width * centre]
    result = {
        "supernet_id": run.supernet_id(), "recipe": {**recipe, "seeds": list(rows[0]["by_seed"])},
        "max_steps": args.max_steps, "eval_batches": eval_batches, "bn_batches": bn_batches,
        "standalone_from": str(Path(args.standalone_from).resolve()) if args.standalone_from else None,
        "band": {"centre_macs": centre, "width": args.band_width},
        "overall": rank_agreement(sup, alone, seed=args.seed),
        "band_only": rank_agreement([r["supernet_accuracy"] for r in in_band],
                                    [r["standalone_test"] for r in in_band], seed=args.seed),
        "macs_baseline": rank_agreement([r["macs"] for r in rows], alone, seed=args.seed),
        "ground_truth_retest": ground_truth_retest(rows, centre, args.band_width, args.seed),
        "seconds": {"inherited": t_inherited, "standalone": t_standalone}, "rows": rows,
    }
    atomic_write_json(out, result)
    print(TABLE_HEAD)
    print(table_row(args.label or run.root.name, result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
