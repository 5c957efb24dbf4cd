"""Supernet ranking fidelity: does inherited-weight accuracy rank subnets like stand-alone training?

For a finished (or at least stage-1-trained) run, draws subnets of its space: ``--stratified``
spread evenly over MACs (quantiles of 4,000 random samples) and ``--band`` more from one narrow
MACs band (±``--band-width`` around ``--band-macs``, default the median MACs), where size gives
no hint. Each gets

- its supernet accuracy as the search sees it (inherited weights, BN recalibrated, the run's
  ``search.eval_batches`` validation batches, through the run's accuracy cache), and
- its accuracy trained stand-alone from scratch with the fixed recipe :data:`RECIPE` (resumable:
  ``WORKDIR/fidelity/final/<name>``),

and the two rankings are compared: Kendall τ and Spearman ρ overall and within the band, with
95% bootstrap intervals (pairs resampled). Writes ``WORKDIR/fidelity.json`` (read by the report)
and prints a Markdown row for ``docs/benchmarks/supernet.md``; ``WORKDIR/fidelity/rows.json`` holds
the rows finished so far.

    python -m experiments.benchmarks.ranking_fidelity runs/fashion_mnist [--stratified 16 --band 8]
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

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
        out[name] = {"value": value, "ci95": [float(lo), float(hi)]}
    return out


def main(argv=None) -> int:
    from nas.errors import InputError
    from nas.files import atomic_write_json
    from nas.pipeline.candidates import Candidate
    from nas.pipeline.final import train_candidate
    from nas.pipeline.search import supernet_accuracy
    from nas.rundir import RunDir
    from search_spaces import arch_stats, get_space

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir")
    ap.add_argument("--stratified", type=int, default=16)
    ap.add_argument("--band", type=int, default=8)
    ap.add_argument("--band-macs", type=float, help="centre of the narrow band (default: median MACs)")
    ap.add_argument("--band-width", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=float, default=RECIPE["epochs"],
                    help=f"stand-alone epochs (the recipe's {RECIPE['epochs']:g} unless stated)")
    ap.add_argument("--max-steps", type=int, default=0, help="cap stand-alone steps (smoke tests only)")
    args = ap.parse_args(argv)
    run = RunDir(Path(args.workdir).resolve())
    try:
        from nas.config import config_from_dict
        from nas.files import read_json

        cfg = config_from_dict(read_json(run.config, what="config"))
    except InputError as e:
        ap.error(str(e))
    from nas.data import load_dataset

    space = get_space(cfg.space)
    dataset = load_dataset(cfg.data)
    stratified, band, centre = choose_subnets(space, args.stratified, args.band, args.band_macs,
                                              args.band_width, args.seed)
    archs = stratified + band
    t0 = time.perf_counter()
    inherited = supernet_accuracy(cfg, run.root, archs, dataset)
    t_inherited = time.perf_counter() - t0
    recipe = {**RECIPE, "epochs": args.epochs}
    final = dataclasses.replace(cfg.final, epochs=recipe["epochs"], batch_size=recipe["batch_size"],
                                learning_rate=recipe["learning_rate"], from_scratch=True, augment=recipe["augment"],
                                max_steps=args.max_steps)
    scratch_cfg = dataclasses.replace(cfg, final=final, seed=recipe["seed"])
    rows, t1 = [], time.perf_counter()
    for i, a in enumerate(archs):
        name = f"{'band' if i >= len(stratified) else 'strat'}_{i:02d}"
        info = train_candidate(scratch_cfg, Candidate(name, "searched", a.to_json()), run.fidelity_dir,
                               progress=True)
        rows.append({"name": name, "arch": a.to_json(), "macs": arch_stats(a).macs, "in_band": i >= len(stratified),
                     "supernet_accuracy": inherited[i], "standalone_val": info["val_acc"],
                     "standalone_test": info["test_acc"]})
        # the rows so far (a long run can be read, or stopped and resumed, before it ends)
        atomic_write_json(run.fidelity_dir / "rows.json", {"done": len(rows), "of": len(archs), "rows": rows})
    t_standalone = time.perf_counter() - t1
    sup = [r["supernet_accuracy"] for r in rows]
    alone = [r["standalone_test"] for r in rows]
    in_band = [r for r in rows if r["in_band"] or abs(r["macs"] - centre) <= args.band_width * centre]
    result = {
        "supernet_id": run.supernet_id(), "recipe": recipe, "max_steps": args.max_steps,
        "eval_batches": cfg.search.eval_batches, "band": {"centre_macs": centre, "width": args.band_width},
        "overall": rank_agreement(sup, alone, seed=args.seed),
        "band_only": rank_agreement([r["supernet_accuracy"] for r in in_band],
                                    [r["standalone_test"] for r in in_band], seed=args.seed),
        "macs_baseline": rank_agreement([r["macs"] for r in rows], alone, seed=args.seed),
        "seconds": {"inherited": t_inherited, "standalone": t_standalone}, "rows": rows,
    }
    atomic_write_json(run.fidelity, result)

    def cell(d):
        v, (lo, hi) = d["value"], d["ci95"]
        return f"{v:.2f} [{lo:.2f}, {hi:.2f}]"

    o, b, m = result["overall"], result["band_only"], result["macs_baseline"]
    print("| run | subnets (band) | Kendall τ | Spearman ρ | τ in band | ρ in band | τ of MACs | "
          "stand-alone recipe | cost |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {run.root.name} | {o['n']} ({b['n']}) | {cell(o['kendall_tau'])} | {cell(o['spearman_rho'])} | "
          f"{cell(b['kendall_tau'])} | {cell(b['spearman_rho'])} | {cell(m['kendall_tau'])} | "
          f"{recipe['epochs']:g} epochs{f', ≤{args.max_steps} steps' if args.max_steps else ''} | "
          f"{t_inherited:.0f} s + {t_standalone / 60:.1f} min |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
