"""Once-for-All's Note10 problem: our search against OFA's evolutionary search, on OFA's own judge.

Judge (offline, published by OFA): accuracy = OFA's accuracy predictor (``acc_predictor.pth``,
ImageNet top-1 of the width-1.2 supernet's subnets), latency = OFA's Samsung Note10 lookup tables
(``note10/<r>_lookup_table.yaml``), space ``ofa_mbv3_w12`` at resolutions 160..224 step 16.
``DIR`` is the ``ofa`` folder of the public ``han-cai/files`` repository (it holds those files and
``ofa_specialized/note10_*``, OFA's chosen subnets); see docs/benchmarks/search.md.

Methods (evaluations = calls of the accuracy judge; the latency table is free for every method):

* ``jaxnas NSGA-II``: one multi-objective run (accuracy, latency, with the 64 ms budget as its
  constraint), population 100, no pre-screening.
* ``jaxnas NSGA-II + ridge screen``: the shipped default (``search.prescreen_factor`` 50: children
  pre-screened by a ridge surrogate of every objective).
* ``jaxnas predictor-guided``: ``search.accuracy: predictor`` (:mod:`nas.accuracy.guided`): 50
  candidate children per slot, their accuracy predicted by a predictor fitted on the judge's
  answers so far, their latency computed exactly from the table.
* ``pymoo NSGA-II`` (0.6.2, integer genes, SBX + polynomial mutation, the same 64 ms constraint),
  ``random search``.
* ``OFA EvolutionFinder``, the real ``ofa`` package (``ofa.tutorial.evolution_finder``), run once per
  constraint: at its defaults (population 100, 500 generations: ~50,000 judge calls per
  constraint), and at the equal budget split over the seven feasible constraints.

Metrics: the best judged accuracy among evaluated networks under each Note10 constraint (8, 11, 16,
22, 30, 41, 50, 64 ms), and the hypervolume of (accuracy, latency) over 8..64 ms (reference point
accuracy 70%, latency 64 ms; in points x ms), at 300, 1,000, 3,000 and 5,000 evaluations.

    python -m experiments.benchmarks.ofa_note10 --ofa-dir DIR [--seeds 5] [--methods ...]

Finished rows go to ``docs/benchmarks/ofa_note10_rows.json`` as they come (a later run continues);
the table is written into docs/benchmarks/search.md between its ``note10`` markers.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from nas.accuracy.guided import GuidedScreener  # noqa: E402
from nas.accuracy.ofa import import_ofa_predictor  # noqa: E402
from nas.errors import InputError  # noqa: E402
from nas.latency.lookup import build_lookup  # noqa: E402
from nas.search import Budget, ObjectiveSpec, hypervolume, minimize, nsga2, pareto_mask, random_search  # noqa: E402
from nas.search_spaces import arch_dumps, get_space  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks"
ROWS = DOCS / "ofa_note10_rows.json"
CONSTRAINTS = (8, 11, 16, 22, 30, 41, 50, 64)
BUDGETS = (300, 1000, 3000, 5000)
REF = (0.70, 64.0)  # hypervolume reference: accuracy, latency (ms)
SPACE = "ofa_mbv3_w12"
RESOLUTIONS = (160, 176, 192, 208, 224)  # OFA's tutorial's; the tables' and the predictor's
POP = 100
FEASIBLE = tuple(c for c in CONSTRAINTS if c >= 10)  # the smallest network takes 9.89 ms on the table


class Judge:
    """Accuracy (OFA's predictor, imported) and latency (the Note10 tables) of architectures,
    memoised; every accuracy call is counted, in call order."""

    def __init__(self, ofa_dir: Path):
        self.space = get_space(SPACE).with_resolutions(RESOLUTIONS)
        self.acc = import_ofa_predictor(ofa_dir / "acc_predictor.pth")
        self.lut = build_lookup(SPACE, sorted((ofa_dir / "note10").glob("*_lookup_table.yaml")))
        self.memo: dict = {}
        self.calls: list = []

    def latency(self, archs) -> np.ndarray:
        return np.asarray(self.lut.predict_ms(list(archs)))

    def __call__(self, archs) -> np.ndarray:
        """``[n, 2]`` of (accuracy, latency_ms), counted."""
        canon = [self.space.canonical(a) for a in archs]
        new = [a for a in dict.fromkeys(canon) if a not in self.memo]
        if new:
            acc = self.acc.predict(new)[0]
            for a, y, ms in zip(new, acc, self.latency(new)):
                self.memo[a] = (float(y), float(ms))
        out = np.array([self.memo[a] for a in canon]).reshape(-1, 2)
        self.calls += [tuple(r) for r in out]
        return out


# ------------------------------------------------------------------ methods
def run_jaxnas(judge: Judge, seed: int, n: int, mode: str) -> None:
    import jax

    space = judge.space
    spec = ObjectiveSpec(("accuracy", "latency_ms"), (("latency_ms", REF[1]),))
    screener, factor = None, 0
    if mode == "ridge":
        factor = 50
    elif mode == "guided":
        factor = 50
        screener = GuidedScreener(space, spec, lambda archs: [{"latency_ms": float(v)} for v in judge.latency(archs)],
                                  seed=seed)
    algo = nsga2(space, POP, prescreen_factor=factor, screener=screener)

    def evaluate(archs):
        y = judge(archs)
        return np.column_stack([-y[:, 0], y[:, 1]]), np.maximum(y[:, 1] / REF[1] - 1, 0), [None] * len(archs)

    minimize(algo, evaluate, Budget(evaluations=n), key=jax.random.key(seed))


def run_random(judge: Judge, seed: int, n: int) -> None:
    import jax

    def evaluate(archs):
        y = judge(archs)
        return np.column_stack([-y[:, 0], y[:, 1]]), np.zeros(len(archs)), [None] * len(archs)

    minimize(random_search(judge.space, POP), evaluate, Budget(evaluations=n), key=jax.random.key(seed))


def run_pymoo(judge: Judge, seed: int, n: int) -> None:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem as PymooProblem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.optimize import minimize as pymoo_minimize

    space = judge.space
    card = space.cardinalities

    class P(PymooProblem):
        def __init__(self):
            super().__init__(n_var=len(card), n_obj=2, n_ieq_constr=1, xl=np.zeros(len(card)), xu=card - 1,
                             vtype=int)

        def _evaluate(self, X, out, *args, **kwargs):
            y = judge([space.from_indices(r) for r in np.rint(X).astype(np.int64)])
            out["F"] = np.column_stack([-y[:, 0], y[:, 1]])
            out["G"] = y[:, 1:2] - REF[1]  # the same 64 ms budget as ours

    algo = NSGA2(pop_size=POP, sampling=IntegerRandomSampling(),
                 crossover=SBX(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
                 mutation=PM(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()), eliminate_duplicates=True)
    pymoo_minimize(P(), algo, ("n_eval", n), seed=seed, verbose=False)


MAX_DRAWS = 200_000  # OFA's finder draws until feasible, unbounded; past this many draws it "never starts"


def ofa_finder(ofa_dir: Path, judge: Judge):
    """``run(constraint, seed, population, generations) -> (best spec or None, judge calls)`` with the
    real ``ofa`` package's tutorial EvolutionFinder, its accuracy predictor (the published weights)
    and its latency tables (OFA's LatencyEstimator on the local files)."""
    import sys
    import types

    import torch
    import yaml

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    from ofa_reference import ofa_mbv3_class  # the torchvision stand-in when needed

    ofa_mbv3_class()
    import ofa.tutorial.latency_table as lt
    from ofa.tutorial.accuracy_predictor import AccuracyPredictor
    from ofa.tutorial.evolution_finder import EvolutionFinder

    lt.yaml = types.SimpleNamespace(load=yaml.safe_load)  # OFA calls yaml.load without a Loader
    tables = {r: lt.LatencyEstimator(url=str(ofa_dir / "note10" / f"{r}_lookup_table.yaml"))
              for r in (160, 176, 192, 208, 224)}
    pred = AccuracyPredictor(pretrained=False, device="cpu")
    pred.model.load_state_dict(torch.load(ofa_dir / "acc_predictor.pth", map_location="cpu", weights_only=True))

    class Counted:
        calls = 0

        def predict_accuracy(self, population):
            Counted.calls += len(population)
            return pred.predict_accuracy(population)

    class Eff:
        draws = 0

        def predict_efficiency(self, spec):
            Eff.draws += 1
            if Eff.draws > MAX_DRAWS:
                raise TimeoutError
            return tables[spec["r"][0]].predict_network_latency_given_spec(spec)

    def run(constraint, seed, population=100, generations=500):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        Counted.calls, Eff.draws = 0, 0
        finder = EvolutionFinder("note10", 30, Eff(), Counted(), population_size=population,
                                 max_time_budget=generations)
        finder.set_efficiency_constraint(constraint)  # 8, 11 and 64 lie outside its prompt's range
        try:
            import contextlib
            import io

            with contextlib.redirect_stderr(io.StringIO()):
                _, best = finder.run_evolution_search()
        except TimeoutError:
            return None, Counted.calls
        return best[1], Counted.calls

    return run


# ------------------------------------------------------------------ metrics
def metrics(points: np.ndarray) -> dict:
    """Best accuracy under each constraint and the hypervolume over 8..64 ms of ``points`` [n, 2]."""
    best = {}
    for c in CONSTRAINTS:
        ok = points[:, 1] <= c
        best[str(c)] = float(points[ok, 0].max()) if ok.any() else None
    return {"best": best, "hypervolume": hv(points)}


def hv(points: np.ndarray) -> float:
    if not len(points):
        return 0.0
    F = np.column_stack([-points[:, 0], points[:, 1]])
    F = F[pareto_mask(F)]
    return 100 * hypervolume(F, np.array([-REF[0], REF[1]]))


def run_method(method: str, judge: Judge, seed: int, finder=None) -> dict:
    judge.calls = []
    t = time.perf_counter()
    n = max(BUDGETS)
    if method.startswith("jaxnas"):
        run_jaxnas(judge, seed, n, {"jaxnas NSGA-II": "plain", "jaxnas NSGA-II + ridge screen": "ridge",
                                    "jaxnas predictor-guided": "guided"}[method])
    elif method == "pymoo NSGA-II":
        run_pymoo(judge, seed, n)
    elif method == "random search":
        run_random(judge, seed, n)
    else:
        return run_ofa(method, judge, seed, finder)
    pts = np.array(judge.calls)
    return {"method": method, "seed": seed, "seconds": round(time.perf_counter() - t, 1),
            "at": {str(k): metrics(pts[:k]) for k in BUDGETS}, "evaluations": len(pts)}


def run_ofa(method: str, judge: Judge, seed: int, finder) -> dict:
    """OFA's finder once per constraint; the union of its winners is scored as a front."""
    t = time.perf_counter()
    budgets = (None,) if method == "OFA EvolutionFinder (defaults)" else BUDGETS
    at = {}
    for total in budgets:
        winners, calls, per = [], 0, {}
        for c in CONSTRAINTS:
            if total is None:
                pop, gens = 100, 500
            else:  # the budget split evenly over the feasible constraints: pop + gens x pop calls each
                b = total // len(FEASIBLE)
                pop = min(100, max(4, b // 2))
                gens = max(1, b // pop - 1)
            spec, n = finder(c, seed, pop, gens)
            calls += n
            if spec is not None:
                arch = judge.space.from_json(spec)
                winners.append(arch)
                per[str(c)] = n
        pts = judge(winners) if winners else np.zeros((0, 2))
        m = metrics(pts)
        m["evaluations"], m["per_constraint"] = calls, per
        at[str(total or "defaults")] = m
    return {"method": method, "seed": seed, "seconds": round(time.perf_counter() - t, 1), "at": at}


# ------------------------------------------------------------------ OFA's specialized subnets
def _lat_of_name(p: Path) -> int:
    """8 of ``note10_lat-8ms_top1-71.4_finetune-25``."""
    return int(p.name.split("lat-")[1].split("ms")[0])


def specialized(ofa_dir: Path, judge: Judge) -> list[dict]:
    from nas.pretrained.ofa import arch_from_net_config

    out = []
    for d in sorted((ofa_dir / "ofa_specialized").glob("note10_*"), key=_lat_of_name):
        net = json.loads((d / "net.config").read_text())
        r = json.loads((d / "run.config").read_text())["image_size"]
        row = {"name": d.name, "resolution": r}
        try:
            arch = arch_from_net_config(net, r)
        except InputError:  # e.g. the 64 ms one runs at 260 px, outside the space and the tables
            arch = arch_from_net_config(net, 224)
            row["note"] = f"resolution {r}: outside the space and the tables"
        row.update(space=arch.space, arch=json.loads(arch_dumps(arch)))
        if arch.space == SPACE and r not in RESOLUTIONS and "note" not in row:
            row["note"] = f"resolution {r}: no Note10 table"
        if arch.space == SPACE and r in RESOLUTIONS:
            acc, ms = judge([arch])[0]
            row.update(accuracy=float(acc), latency_ms=float(ms))
        out.append(row)
    return out


# ------------------------------------------------------------------ a few-shot profile of the table
def fewshot_profile(judge: Judge, tmp, n_fit: int = 20, n_test: int = 1000, seeds=(0, 1, 2)) -> list[dict]:
    """``nas profile fit`` on ``n_fit`` table-measured subnets, then Spearman of its predictions
    against the table on ``n_test`` others, per seed: how far a 20-point profile gets on a phone."""
    from scipy.stats import spearmanr

    from nas.latency.calibrate import build_profile

    out = []
    for seed in seeds:
        archs = [a for a in judge.space.sample(np.array([seed, 99], np.uint32), n_fit + n_test)]
        lat = judge.latency(archs)
        prof = build_profile(f"note10_fit{seed}", SPACE, archs[:n_fit], lat[:n_fit], Path(tmp) / f"f{seed}.yaml",
                             device="Samsung Note10 (table)", runtime="table", source="lookup table",
                             peak_gflops=1.0e3, bandwidth_gbs=30.0)
        pred = prof.predict_ms(archs[n_fit:])
        out.append({"seed": seed, "spearman": float(spearmanr(pred, lat[n_fit:])[0]),
                    "mape": float(np.mean(np.abs(pred / lat[n_fit:] - 1)))})
    return out


# ------------------------------------------------------------------ report
METHODS = ("jaxnas predictor-guided", "jaxnas NSGA-II + ridge screen", "jaxnas NSGA-II", "pymoo NSGA-II",
           "random search", "OFA EvolutionFinder (equal budget)", "OFA EvolutionFinder (defaults)")


def _mean(vals):
    vals = [v for v in vals if v is not None]
    return (float(np.mean(vals)), float(np.std(vals)), len(vals)) if vals else None


def verdict(rows: list, ours: str = "jaxnas predictor-guided", at: str = "5000") -> str:
    """The goal, judged: our one run at ``at`` evaluations against OFA's finder at its defaults, per
    feasible constraint (mean over seeds), and the hypervolume against the union of OFA's winners."""
    mine = [r for r in rows if r["method"] == ours]
    theirs = [r for r in rows if r["method"] == "OFA EvolutionFinder (defaults)"]
    if not mine or not theirs:
        return ""
    parts, missed = [], []
    for c in FEASIBLE:
        a = _mean([100 * r["at"][at]["best"][str(c)] for r in mine if r["at"][at]["best"][str(c)] is not None])
        b = _mean([100 * r["at"]["defaults"]["best"][str(c)] for r in theirs
                   if r["at"]["defaults"]["best"][str(c)] is not None])
        if a is None:
            parts.append(f"{c} ms: none found")
            missed.append(c)
        elif b is None:
            parts.append(f"{c} ms: {a[0]:.2f} (OFA's finder never starts)")
        else:
            parts.append(f"{c} ms: {a[0] - b[0]:+.2f}")
            if a[0] < b[0] - 0.1:
                missed.append(c)
    ev = _mean([r["at"]["defaults"]["evaluations"] for r in theirs])[0]
    hv_a = _mean([r["at"][at]["hypervolume"] for r in mine])[0]
    hv_b = _mean([r["at"]["defaults"]["hypervolume"] for r in theirs])[0]
    goal = ("met" if not missed else "missed at " + ", ".join(f"{c} ms" for c in missed))
    return (f"\n\n**Goal** (one jaxnas run of at most 5,000 evaluations within 0.1 point of OFA's evolution at every "
            f"feasible constraint, 11 ms included, and a hypervolume at least that of the union of OFA's winners): "
            f"{goal}. {ours} at {int(at):,} evaluations minus OFA's finder at its defaults ({ev:,.0f} evaluations, "
            f"{ev / int(at):.0f}x more), points: " + "; ".join(parts)
            + f". Hypervolume {hv_a:.1f} vs {hv_b:.1f} ({'met' if hv_a >= hv_b else 'missed'}).")


def table(rows: list, spec_rows: list, fewshot: list | None = None) -> str:
    seeds = sorted({r["seed"] for r in rows})
    head = "| method | evaluations | " + " | ".join(f"≤{c} ms" for c in CONSTRAINTS) + " | hypervolume |"
    lines = [head, "|---|---:|" + "---:|" * (len(CONSTRAINTS) + 1)]
    for m in METHODS:
        sel = [r for r in rows if r["method"] == m]
        if not sel:
            continue
        keys = ["defaults"] if m.endswith("(defaults)") else [str(b) for b in BUDGETS]
        for k in keys:
            cells = []
            ev = _mean([r["at"][k].get("evaluations", int(k) if k.isdigit() else None) for r in sel])
            for c in CONSTRAINTS:
                s = _mean([None if r["at"][k]["best"][str(c)] is None else 100 * r["at"][k]["best"][str(c)]
                           for r in sel])
                part = "" if s is None or s[2] == len(sel) else f" ({s[2]}/{len(sel)})"
                cells.append("–" if s is None else f"{s[0]:.2f}{part}")
            h = _mean([r["at"][k]["hypervolume"] for r in sel])
            lines.append(f"| {m} | {ev[0]:,.0f} | " + " | ".join(cells) + f" | {h[0]:.1f} ± {h[1]:.1f} |")
    out = "\n".join(lines)
    out += (f"\n\nBest judged top-1 (%) among the evaluated networks under each constraint, mean over "
            f"{len(seeds)} seeds ({', '.join(map(str, seeds))}); '(k/n)': only k of n seeds found a network "
            "there. Hypervolume of (accuracy, latency) over 8..64 ms, reference 70% / 64 ms, points x ms.")
    out += verdict(rows)
    if spec_rows:
        out += ("\n\nOFA's specialized Note10 subnets on the same judge:\n\n"
                "| subnet | space | r | accuracy (%) | latency (ms) |\n|---|---|---:|---:|---:|\n")
        for s in spec_rows:
            why = s.get("note") or "width 1.0: not in the tables"
            acc = f"{100 * s['accuracy']:.2f}" if "accuracy" in s else f"– ({why})"
            lat = f"{s['latency_ms']:.2f}" if "latency_ms" in s else "–"
            out += f"| {s['name']} | {s['space']} | {s['resolution']} | {acc} | {lat} |\n"
    if fewshot:
        rho = [f["spearman"] for f in fewshot]
        mape = [100 * f["mape"] for f in fewshot]
        out += (f"\nA profile fitted by `nas profile fit` on 20 table-measured subnets instead of the table ranks "
                f"1,000 others with Spearman {np.mean(rho):.3f} (seeds: {', '.join(f'{r:.3f}' for r in rho)}), "
                f"mean absolute error {np.mean(mape):.1f}% of the table's latency.\n")
    return out


WHY = """
Why 64 ms is missed: one run spreads its 5,000 evaluations over the whole front (10 to 64 ms), so its
top end gets a small share of them, while OFA's finder spends 50,100 on that one constraint; and
near the top the fitted predictor's error (about 0.15 points of mean absolute error at 500 rows,
the accuracy-predictor table below) is as large as the differences among the best networks, so the
pre-screen cannot tell them apart there. Variants measured on seed 0 and not adopted (best at 64 ms;
the shipped setting reaches 84.90 on that seed): population 50 for 100 generations 84.41; half of each
generation picked greedily by predicted front gain 84.69; optimistic screening (mean + 1 standard
deviation) 84.26. Where this run helps most is where OFA's does not reach: 11 ms, which OFA's
finder cannot start at (its first population is drawn uniformly until feasible), and the front as
a whole (hypervolume), at a sixtieth of the evaluations.
"""


def write_doc(rows, spec_rows, args, fewshot=None) -> None:
    doc = DOCS / "search.md"
    text = doc.read_text() if doc.exists() else "# Search\n"
    block = ("<!-- note10:begin -->\n## Once-for-All's Note10 problem: jaxnas against OFA's evolutionary search\n\n"
             f"Produced by `python -m experiments.benchmarks.ofa_note10 --ofa-dir DIR --seeds {args.seeds}` on "
             f"{platform.machine()} ({os.cpu_count()} cores); rows in `ofa_note10_rows.json`. The judge and the "
             "methods are described in the module docstring. DIR is the `ofa/` folder of the public repository "
             "`han-cai/files` (`acc_predictor.pth`, `note10/`, `ofa_specialized/`); those files carry no licence "
             "statement, so jaxnas ships none of them and the tests make files of their formats. The same judge "
             "drives every method: OFA's predictor imported by `nas accuracy import-ofa` (equal to OFA's own "
             "`AccuracyPredictor` to 1e-5) and the tables as a `nas profile from-lut` profile (equal to OFA's "
             "`LatencyEstimator` to 1e-6 ms); OFA's finder runs on OFA's own code and its winners are scored by "
             "the same judge.\n\n" + table(rows, spec_rows, fewshot)
             + WHY + "<!-- note10:end -->")
    if "<!-- note10:begin -->" in text:
        a, b = text.index("<!-- note10:begin -->"), text.index("<!-- note10:end -->") + len("<!-- note10:end -->")
        text = text[:a] + block + text[b:]
    else:
        first = text.index("\n") + 1
        text = text[:first] + "\n" + block + "\n" + text[first:]
    doc.write_text(text)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ofa-dir", required=True, help="the ofa/ folder of han-cai/files")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--methods", nargs="*", default=list(METHODS))
    ap.add_argument("--rows", default=str(ROWS))
    args = ap.parse_args(argv)
    ofa_dir = Path(args.ofa_dir)
    judge = Judge(ofa_dir)
    rows_path = Path(args.rows)
    rows = json.loads(rows_path.read_text()) if rows_path.exists() else []
    finder = None
    for method in args.methods:
        for seed in range(args.seeds):
            if any(r["method"] == method and r["seed"] == seed for r in rows):
                continue
            if method.startswith("OFA") and finder is None:
                finder = ofa_finder(ofa_dir, judge)
            row = run_method(method, judge, seed, finder)
            rows.append(row)
            rows_path.write_text(json.dumps(rows, indent=1) + "\n")
            print(method, seed, row["seconds"], "s", json.dumps(row["at"][next(reversed(row["at"]))]["best"]),
                  flush=True)
    spec_rows = specialized(ofa_dir, judge)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        few = fewshot_profile(judge, tmp)
    write_doc(rows, spec_rows, args, few)
    print(table(rows, spec_rows, few))


if __name__ == "__main__":
    main()
