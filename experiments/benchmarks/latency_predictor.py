"""Leave-one-device-out accuracy of the calibrated latency predictor on the shipped data.

For every shipped profile (device column) and space it was measured on: hold out the device
(every profile of the same physical device, all batch sizes), take the non-negative fits of
the remaining devices as prior, calibrate on n randomly drawn measurements of the held-out
device, and score on all its other measurements. The model is the physics fit refined by the
transfer space model (a non-negative mix of the other devices' direct log-linear fits and the
out-of-fold physics prediction, :mod:`nas.latency.transfer`); "physics only" is the linear
physics fit alone (the previous predictor). Baselines: FLOPs fitted linearly on the same
n points, and (n >= 50) the model without prior. Prints the tables and writes them into
docs/benchmarks/latency.md between the predictor-table markers.

    python -m experiments.benchmarks.latency_predictor [--draws 10] [--no-write]

``--local HOLDOUT.csv`` instead scores the ``local_cpu`` profile (calibrated on this machine)
on other subnets measured here, beside FLOPs fitted on the profile's own calibration points,
and compares XLA's memory analysis with the analytic figures (local-table markers).

``--cross-space`` scores prediction in a space a device was never measured in: for every
device measured in both spaces, fit on one space and predict the other, with the signed fit
(the per-space weights a profile stores) and with the non-negative fit (``prior_weights``, what
``Profile.weights_for`` uses for unmeasured spaces); cross-space-table markers.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from experiments.tools.build_profiles import PROFILES, hardware_of, profile_data
from nas.latency import (
    arch_features,
    fit_flops_baseline,
    fit_weights,
    flops,
    predict,
    prediction_metrics,
    prior_from_profiles,
)
from nas.latency.encodings import transfer_features
from nas.latency.fit import space_prior_from_profiles
from nas.latency.model import MIN_MEASUREMENTS_NO_PRIOR
from nas.latency.transfer import cv_log_physics, fit_transfer

SIZES = (5, 10, 20, 50, 100)
DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "latency.md"
START, END = "<!-- predictor-table:start -->", "<!-- predictor-table:end -->"
LOCAL_START, LOCAL_END = "<!-- local-table:start -->", "<!-- local-table:end -->"
CROSS_START, CROSS_END = "<!-- cross-space-table:start -->", "<!-- cross-space-table:end -->"
METRICS = ("spearman", "kendall", "mape", "within_10pct")


def evaluate(draws: int) -> dict:
    """{(profile, space, n): {"model", "physics", "flops", "no_prior": metrics|None}}"""
    out = {}
    for name, (group, _, _) in PROFILES.items():
        group_names = tuple(p for p, v in PROFILES.items() if v[0] == group)
        prior = prior_from_profiles(exclude=group_names)
        sources = space_prior_from_profiles(exclude=group_names)
        for space, (archs, y) in profile_data(name).items():
            f, fl = arch_features(archs, hardware_of(name)), flops(archs)
            z = transfer_features(archs)
            for n in SIZES:
                rows = {"model": [], "physics": [], "flops": [], "no_prior": []}
                for seed in range(draws):
                    perm = np.random.default_rng(seed).permutation(len(y))
                    cal, test = perm[:n], perm[n:]
                    w = fit_weights(f[cal], y[cal], prior)
                    phys = predict(f[test], w)
                    rows["physics"].append(prediction_metrics(phys, y[test]))
                    sm = fit_transfer(z[cal], y[cal], sources.get(space, []),
                                      cv_log_physics(f[cal], y[cal], prior))
                    rows["model"].append(prediction_metrics(sm.predict_ms(z[test], phys), y[test]))
                    a, b = fit_flops_baseline(fl[cal], y[cal])
                    rows["flops"].append(prediction_metrics(np.maximum(a + b * fl[test], 1e-3), y[test]))
                    if n >= MIN_MEASUREMENTS_NO_PRIOR:
                        w0 = fit_weights(f[cal], y[cal], None)
                        rows["no_prior"].append(prediction_metrics(predict(f[test], w0), y[test]))
                out[(name, space, n)] = {k: ({m: float(np.mean([r[m] for r in v])) for m in METRICS}
                                             if v else None) for k, v in rows.items()}
    return out


def _summary_table(res: dict) -> list[str]:
    lines = ["| n | Spearman | Kendall | MAPE | within ±10% | tasks ρ≥0.95 & ≥90% in ±10% | "
             "physics-only Spearman | physics-only within ±10% | FLOPs-only Spearman | "
             "FLOPs-only within ±10% | "
             "no-prior Spearman |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    tasks = sorted({(p, s) for p, s, _ in res})
    for n in SIZES:
        r = [res[(p, s, n)] for p, s in tasks]
        mean = {m: np.mean([x["model"][m] for x in r]) for m in METRICS}
        hit = sum(x["model"]["spearman"] >= 0.95 and x["model"]["within_10pct"] >= 0.9 for x in r)
        ph_rho = np.mean([x["physics"]["spearman"] for x in r])
        ph_w = np.mean([x["physics"]["within_10pct"] for x in r])
        fl_rho = np.mean([x["flops"]["spearman"] for x in r])
        fl_w = np.mean([x["flops"]["within_10pct"] for x in r])
        np_rho = (f"{np.mean([x['no_prior']['spearman'] for x in r]):.3f}"
                  if r[0]["no_prior"] else "–")
        lines.append(f"| {n} | {mean['spearman']:.3f} | {mean['kendall']:.3f} | {100 * mean['mape']:.1f}% | "
                     f"{100 * mean['within_10pct']:.1f}% | {hit}/{len(r)} | {ph_rho:.3f} | {100 * ph_w:.1f}% | "
                     f"{fl_rho:.3f} | "
                     f"{100 * fl_w:.1f}% | {np_rho} |")
    return lines


def _task_table(res: dict, n: int) -> list[str]:
    from nas.latency.profile_io import load_profile

    lines = [f"Per task, n = {n} calibration measurements (last columns: the shipped profile fitted on all "
             "~5,000 measurements, in-sample -- what the features can express on that data):", "",
             "| profile | space | Spearman | Kendall | MAPE | within ±10% | physics-only Spearman | "
             "physics-only within ±10% | FLOPs-only Spearman | "
             "FLOPs-only MAPE | all-data Spearman | all-data within ±10% |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p, s in sorted({(p, s) for p, s, _ in res}, key=lambda t: (t[1], t[0])):
        x = res[(p, s, n)]
        full = load_profile(p).extra.get("fit", {}).get(s, {})
        lines.append(f"| {p} | {s} | {x['model']['spearman']:.3f} | {x['model']['kendall']:.3f} | "
                     f"{100 * x['model']['mape']:.1f}% | {100 * x['model']['within_10pct']:.1f}% | "
                     f"{x['physics']['spearman']:.3f} | {100 * x['physics']['within_10pct']:.1f}% | "
                     f"{x['flops']['spearman']:.3f} | {100 * x['flops']['mape']:.1f}% | "
                     f"{full.get('spearman', float('nan')):.3f} | "
                     f"{100 * full.get('within_10pct', float('nan')):.1f}% |")
    return lines


def render(res: dict, draws: int) -> str:
    per_space = []
    for space in ("fbnet", "ofa_mbv3"):
        for n in (10, 20):
            r = [v["model"]["spearman"] for (p, s, k), v in res.items() if s == space and k == n]
            per_space.append(f"- {space}, n = {n}: mean Spearman {np.mean(r):.3f} over {len(r)} devices")
    lines = [START, "", f"Mean over {len({(p, s) for p, s, _ in res})} (device, space) tasks, "
             f"{draws} random calibration draws each; scored on all remaining measurements.", ""]
    lines += _summary_table(res) + [""] + per_space + [""]
    for n in (10, 20):
        lines += _task_table(res, n) + [""]
    lines.append(END)
    return "\n".join(lines)


def local_report(holdout_csv: str) -> str:
    """Markdown block: local_cpu on held-out local measurements, and XLA memory vs analytic."""
    from nas.latency import read_measurements
    from nas.latency.measure import build_net, pin_xla_threads, prepare_xla
    from nas.latency.profile_io import load_profile
    from nas.search_spaces import get_space

    pin_xla_threads(1)
    prof = load_profile("local_cpu")
    ref = prof.measurements[0]
    cal_archs, cal_y = read_measurements(ref.csv, ref.space, ref.column)
    archs, y = read_measurements(holdout_csv, ref.space)
    overlap = len(set(archs) & set(cal_archs))
    model = prediction_metrics(prof.predict_ms(archs), y)
    a, b = fit_flops_baseline(flops(cal_archs), cal_y)
    base = prediction_metrics(np.maximum(a + b * flops(archs), 1e-3), y)
    lines = [LOCAL_START, "", f"`local_cpu` ({len(cal_archs)} calibration measurements) on {len(archs)} other "
             f"subnets measured here ({overlap} shared with the calibration set):", "",
             "| predictor | Spearman | Kendall | MAPE | within ±10% |", "|---|---|---|---|---|"]
    for label, m in (("local_cpu profile", model), ("FLOPs fitted on the same 20 points", base)):
        lines.append(f"| {label} | {m['spearman']:.3f} | {m['kendall']:.3f} | {100 * m['mape']:.1f}% | "
                     f"{100 * m['within_10pct']:.1f}% |")
    lines += ["", f"Measured latencies: {np.min(y):.2f}–{np.max(y):.2f} ms (median {np.median(y):.2f} ms).", "",
              "XLA memory analysis (batch 1, float32) against the analytic cost model, calibration subnets:", "",
              "| subnet MFLOPs | analytic peak activation KiB | XLA temp + output KiB | analytic weights KiB | "
              "XLA arguments KiB |", "|---|---|---|---|---|"]
    space = get_space(ref.space)
    from nas.search_spaces import arch_stats
    for arch in sorted(cal_archs[:8], key=lambda q: arch_stats(q).macs):
        mem = prepare_xla(build_net(space, arch), space.net_spec(arch).input_shape).memory
        st = arch_stats(arch)
        lines.append(f"| {st.flops / 1e6:.1f} | {st.peak_activation_bytes / 1024:.1f} | "
                     f"{(mem['temp'] + mem['output']) / 1024:.1f} | {4 * st.params / 1024:.1f} | "
                     f"{mem['argument'] / 1024:.1f} |")
    lines += ["", LOCAL_END]
    return "\n".join(lines)


def cross_space_report() -> str:
    """Markdown block: fit in one space, predict another, signed vs non-negative physics fit."""
    lines = [CROSS_START, "", "Fit on every measurement of one space, predict every architecture of "
             "the other (physics features, no space model):", "",
             "| profile | fitted on → predicted | fit | Spearman | MAPE | within ±10% | at the floor |",
             "|---|---|---|---|---|---|---|"]
    for name, (group, _, _) in PROFILES.items():
        data = profile_data(name)
        if len(data) < 2:
            continue
        hw = hardware_of(name)
        prior = prior_from_profiles(exclude=tuple(n for n in PROFILES if PROFILES[n][0] == group))
        for src, dst in (("fbnet", "ofa_mbv3"), ("ofa_mbv3", "fbnet")):
            f_src, y_src = arch_features(data[src][0], hw), np.asarray(data[src][1])
            f_dst, y_dst = arch_features(data[dst][0], hw), np.asarray(data[dst][1])
            for label, w in (("signed (with prior)", fit_weights(f_src, y_src, prior)),
                             ("non-negative", fit_weights(f_src, y_src, None, nonneg=True))):
                pred = predict(f_dst, w)
                m = prediction_metrics(pred, y_dst)
                lines.append(f"| {name} | {src} → {dst} | {label} | {m['spearman']:.3f} | "
                             f"{100 * m['mape']:.1f}% | {100 * m['within_10pct']:.1f}% | "
                             f"{100 * np.mean(pred <= 1e-3):.1f}% |")
    lines += ["", CROSS_END]
    return "\n".join(lines)


def write_doc(block: str, start: str = START, end: str = END) -> None:
    text = DOC.read_text() if DOC.is_file() else f"# Latency prediction\n\n{start}\n{end}\n"
    if start not in text:
        text += f"\n{start}\n{end}\n"
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--local", metavar="HOLDOUT.csv", help="score local_cpu on these local measurements")
    ap.add_argument("--cross-space", action="store_true", help="fit in one space, predict the other")
    args = ap.parse_args(argv)
    if args.cross_space:
        block = cross_space_report()
        print(block)
        if not args.no_write:
            write_doc(block, CROSS_START, CROSS_END)
        return
    if args.local:
        block = local_report(args.local)
        print(block)
        if not args.no_write:
            write_doc(block, LOCAL_START, LOCAL_END)
        return
    res = evaluate(args.draws)
    block = render(res, args.draws)
    print(block)
    if not args.no_write:
        write_doc(block)


if __name__ == "__main__":
    main()
