"""Accuracy predictor families on Once-for-All-labelled subnets (docs/benchmarks/search.md).

Labels: OFA's published accuracy predictor (``acc_predictor.pth``, imported with
``nas accuracy import-ofa``) on uniform random subnets of ``ofa_mbv3_w12`` at the predictor's
resolutions (160..224 step 16). Each model family (ridge, Gaussian process, MLP ensemble, and
``auto``: the family chosen by 5-fold cross-validation on the fitted rows), on the one-hot genes
alone (``onehot_v1``: plain ridge on them is the floor) or with the log-MACs column
(``onehot_macs_v1``, "+macs"), is fitted on 50, 100, 200 and 500 rows and scored on 1,000 other subnets:
Spearman, Kendall and mean absolute error (points), beside MACs alone (a ranking only).

    python -m experiments.benchmarks.accuracy_predictor --ofa-dir DIR [--seeds 3]

``DIR`` holds ``acc_predictor.pth`` (docs/benchmarks/search.md says where to get it). Rows go to
``docs/benchmarks/accuracy_predictor_rows.json`` as they finish.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

from nas.accuracy.features import features
from nas.accuracy.models import FIT, PREDICT
from nas.accuracy.ofa import import_ofa_predictor
from nas.accuracy.predictor import choose_model
from nas.search_spaces import arch_stats, get_space

ROWS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "accuracy_predictor_rows.json"
SIZES = (50, 100, 200, 500)
# model family, "+macs": with the log-MACs column (encoding onehot_macs_v1), else one-hot genes alone
MODELS = ("ridge", "gp", "mlp", "ridge+macs", "gp+macs", "mlp+macs", "auto+macs")
TEST = 1000


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ofa-dir", required=True)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rows", default=str(ROWS))
    args = ap.parse_args(argv)
    judge = import_ofa_predictor(Path(args.ofa_dir) / "acc_predictor.pth")
    space = get_space("ofa_mbv3_w12").with_resolutions((160, 176, 192, 208, 224))  # the predictor's
    rows_path = Path(args.rows)
    rows = json.loads(rows_path.read_text()) if rows_path.exists() else []
    done = {(r["seed"], r["n"], r["model"]) for r in rows}
    for seed in range(args.seeds):
        archs = _distinct(space, max(SIZES) + TEST, seed)
        y = judge.predict(archs)[0]
        Xs = {enc: features(enc, space, archs) for enc in ("onehot_v1", "onehot_macs_v1")}
        test = slice(max(SIZES), None)
        macs = np.array([arch_stats(a).macs for a in archs[test]], float)
        if (seed, 0, "macs") not in done:
            rows.append({"seed": seed, "n": 0, "model": "macs", **_scores(macs, y[test], mae=False)})
        for n in SIZES:
            for model in MODELS:
                if (seed, n, model) in done:
                    continue
                t = time.perf_counter()
                chosen, enc = model.split("+")[0], "onehot_macs_v1" if model.endswith("+macs") else "onehot_v1"
                X = Xs[enc]
                if chosen == "auto":
                    chosen, _ = choose_model(X[:n], y[:n], seed=seed)
                pred, std = PREDICT[chosen](FIT[chosen](X[:n], y[:n], seed), X[test])
                row = {"seed": seed, "n": n, "model": model, "chosen": chosen,
                       "fit_s": round(time.perf_counter() - t, 2), **_scores(pred, y[test])}
                if std is not None:  # calibration: share of held-out errors within one predicted std
                    row["within_1std"] = float(np.mean(np.abs(pred - y[test]) <= std))
                rows.append(row)
                rows_path.write_text(json.dumps(rows, indent=1) + "\n")
                print(json.dumps(row), flush=True)
    rows_path.write_text(json.dumps(rows, indent=1) + "\n")
    print(table(rows))
    write_doc(rows, args)


def write_doc(rows, args) -> None:
    """The table into docs/benchmarks/search.md between its ``accpred`` markers."""
    doc = ROWS.parent / "search.md"
    text = doc.read_text() if doc.exists() else "# Search\n"
    block = ("<!-- accpred:begin -->\n## Accuracy predictors on Once-for-All-labelled subnets\n\n"
             f"Produced by `python -m experiments.benchmarks.accuracy_predictor --ofa-dir DIR --seeds {args.seeds}`; "
             "rows in `accuracy_predictor_rows.json`. Labels: OFA's accuracy predictor on uniform random subnets of "
             "`ofa_mbv3_w12` at 160..224 step 16; each family fitted on the first n rows, scored on 1,000 others. "
             "'+macs': the one-hot genes plus the log-MACs column (`onehot_macs_v1`, what `nas accuracy fit` and "
             "the predictor-guided search use); without it, the one-hot genes alone (plain ridge on them is the "
             "floor). `auto`: the family `nas accuracy fit` picks by 5-fold cross-validated Kendall tau.\n\n"
             + table(rows) + "\n<!-- accpred:end -->")
    a, b = "<!-- accpred:begin -->", "<!-- accpred:end -->"
    if a in text and b in text:
        text = text[:text.index(a)] + block + text[text.index(b) + len(b):]
    elif "<!-- note10:end -->" in text:
        i = text.index("<!-- note10:end -->") + len("<!-- note10:end -->")
        text = text[:i] + "\n\n" + block + text[i:]
    else:
        first = text.index("\n") + 1
        text = text[:first] + "\n" + block + "\n" + text[first:]
    doc.write_text(text)


def _distinct(space, n: int, seed: int) -> list:
    out, seen, k = [], set(), 0
    while len(out) < n:
        for a in space.sample(np.array([seed, k], np.uint32), n):
            c = space.canonical(a)
            if c not in seen and len(out) < n:
                seen.add(c)
                out.append(c)
        k += 1
    return out


def _scores(pred, y, mae: bool = True) -> dict:
    out = {"spearman": float(spearmanr(pred, y)[0]), "kendall": float(kendalltau(pred, y)[0])}
    if mae:
        out["mae_points"] = float(100 * np.abs(pred - y).mean())
    return out


def table(rows) -> str:
    lines = ["| rows | model | Spearman | Kendall τ | MAE (points) | fit (s) |", "|---|---|---|---|---|---|"]
    keys = sorted({(r["n"], r["model"]) for r in rows}, key=lambda k: (k[0], (("macs",) + MODELS).index(k[1])))
    for n, m in keys:
        sel = [r for r in rows if r["n"] == n and r["model"] == m]
        def f(k, sel=sel):
            return f"{np.mean([r[k] for r in sel]):.3f}" if all(k in r for r in sel) else "–"

        mae = f"{np.mean([r['mae_points'] for r in sel]):.2f}" if "mae_points" in sel[0] else "–"
        name = "MACs alone" if m == "macs" else m
        if m.startswith("auto"):
            name += " (" + ", ".join(sorted({r["chosen"] for r in sel})) + ")"
        lines.append(f"| {n or '–'} | {name} | {f('spearman')} | {f('kendall')} | {mae} | {f('fit_s')} |")
    return "\n".join(lines) + f"\n\n{len({r['seed'] for r in rows})} seeds, {TEST} held-out subnets each."


if __name__ == "__main__":
    main()
