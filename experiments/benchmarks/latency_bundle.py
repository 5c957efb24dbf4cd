"""Test-retest of the bundle protocol and a 20-point calibration of a device from a bundle.

Measure one bundle twice (``nas latency bundle`` then ``python3 run_bundle.py`` two times,
saving ``latency.csv`` after each), then:

    python -m experiments.benchmarks.latency_bundle BUNDLE RUN1.csv RUN2.csv [--calibration 20]

prints (1) test-retest: Spearman between the two runs over all models, the median and spread
of the per-model ratio run2 / run1; (2) calibration: a profile fitted on the bundle's first
``--calibration`` models of run 1 (exactly what ``nas profile fit --bundle`` does) predicting
the other models, scored against run 1 and run 2, beside FLOPs fitted linearly on the same
points, and the test-retest Spearman on those same models (the ceiling any predictor can
reach with this measurement noise); then the same over ``--draws`` random calibration subsets.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from nas.latency import fit_flops_baseline, flops, prediction_metrics, read_measurements


def _aligned(bundle: Path, space: str, csvs):
    from nas.search_spaces import get_space

    manifest = json.loads((bundle / "manifest.json").read_text())
    sp = get_space(space)
    order = [sp.from_json(m["arch"]) for m in manifest["models"]]
    out = []
    for c in csvs:
        archs, y = read_measurements(c, space)
        by = dict(zip(archs, y))
        out.append(np.array([by[a] for a in order]))
    return order, out


def report(bundle, run1, run2, n_cal: int = 20, draws: int = 0) -> str:
    from nas.latency.calibrate import build_profile

    bundle = Path(bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    space = manifest["space"]
    archs, (y1, y2) = _aligned(bundle, space, (run1, run2))
    ratio = y2 / y1
    rho_all = spearmanr(y1, y2).statistic
    cal, test = slice(0, n_cal), slice(n_cal, None)
    with tempfile.TemporaryDirectory() as d:
        prof = build_profile("bundle_device", space, archs[cal], y1[cal], Path(d) / "p.yaml", device="bench",
                             runtime=manifest["runtime"], source="bench")
        pred = prof.predict_ms(archs[test])
    a, b = fit_flops_baseline(flops(archs[cal]), y1[cal])
    base = np.maximum(a + b * flops(archs[test]), 1e-3)
    lines = [f"bundle: {len(archs)} {space} models, {manifest['runtime']} {manifest['precision']}, "
             f"{manifest['threads']} thread(s)", "",
             "| test-retest (all models) | value |", "|---|---|",
             f"| Spearman run 1 vs run 2 | {rho_all:.3f} |",
             f"| median ratio run 2 / run 1 | {np.median(ratio):.3f} |",
             f"| ratio 5th–95th percentile | {np.percentile(ratio, 5):.3f}–{np.percentile(ratio, 95):.3f} |",
             f"| largest per-model change | {100 * np.max(np.abs(ratio - 1)):.1f}% |",
             f"| latency range run 1 | {y1.min():.3f}–{y1.max():.3f} ms (median {np.median(y1):.3f}) |", "",
             f"| predictor ({n_cal} calibration models of run 1) | scored on | Spearman | Kendall | MAPE | "
             "within ±10% |", "|---|---|---|---|---|---|"]
    for label, p in (("profile (nas profile fit --bundle)", pred), (f"FLOPs fitted on the same {n_cal}", base)):
        for run, y in (("run 1", y1), ("run 2", y2)):
            m = prediction_metrics(p, y[test])
            lines.append(f"| {label} | {len(y[test])} others, {run} | {m['spearman']:.3f} | {m['kendall']:.3f} | "
                         f"{100 * m['mape']:.1f}% | {100 * m['within_10pct']:.1f}% |")
    m = prediction_metrics(y1[test], y2[test])
    lines.append(f"| run 1 itself (test-retest ceiling) | same {len(y1[test])}, run 2 | {m['spearman']:.3f} | "
                 f"{m['kendall']:.3f} | {100 * m['mape']:.1f}% | {100 * m['within_10pct']:.1f}% |")
    if draws:
        rows = {"profile": [], "flops": [], "retest": []}
        for seed in range(1, draws + 1):
            idx = np.random.default_rng(seed).permutation(len(archs))
            cal, test = idx[:n_cal], idx[n_cal:]
            ca, ta = [archs[i] for i in cal], [archs[i] for i in test]
            with tempfile.TemporaryDirectory() as d:
                prof = build_profile("bundle_device", space, ca, y1[cal], Path(d) / "p.yaml", device="bench",
                                     runtime=manifest["runtime"], source="bench")
                rows["profile"].append(spearmanr(prof.predict_ms(ta), y1[test]).statistic)
            a, b = fit_flops_baseline(flops(ca), y1[cal])
            rows["flops"].append(spearmanr(a + b * flops(ta), y1[test]).statistic)
            rows["retest"].append(spearmanr(y2[test], y1[test]).statistic)
        lines += ["", f"Over {draws} random {n_cal}-model calibration draws (scored on the other models of run 1), "
                  "Spearman mean (min–max): " + "; ".join(
                      f"{k} {np.mean(v):.3f} ({np.min(v):.3f}–{np.max(v):.3f})" for k, v in rows.items())]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle")
    ap.add_argument("run1")
    ap.add_argument("run2")
    ap.add_argument("--calibration", type=int, default=20)
    ap.add_argument("--draws", type=int, default=10, help="random calibration subsets besides the first N")
    args = ap.parse_args(argv)
    print(report(args.bundle, args.run1, args.run2, args.calibration, args.draws))


if __name__ == "__main__":
    main()
