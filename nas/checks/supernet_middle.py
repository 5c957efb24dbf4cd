"""Does the supernet know its middle? Inherited accuracy of its two ends and of random subnets.

A search ranks candidates by what the supernet says; a supernet that scores its middle below its
smallest subnet steers every search towards the ends. This check scores, exactly as the run's
search does (its accuracy cache and settings: ``search.eval_batches`` validation batches, BN
recalibrated on ``supernet.bn_recalibration_batches``), the smallest and the largest subnet and
``--sample`` random subnets drawn uniformly per choice plus ``--sample`` drawn spread over MACs,
and summarises:

* ``share_on_or_above``: the share of random subnets on or above the straight line from the
  smallest to the largest subnet (accuracy against log MACs);
* ``worst_below_line``: the largest distance below that line (points of accuracy, 0 when none);
* ``worst_below_smallest``: the most a random subnet scores below the smallest one;
* ``spearman``: Spearman's rho of the random subnets' accuracy against their MACs.

    nas check supernet runs/fashion_mnist [--sample 50] [--seed 0] [--rows FILE]

Writes ``WORKDIR/supernet_check.json`` (the report plots it) and prints a Markdown row. The goal
of docs/benchmarks/supernet.md: at least 80% on or above the line, none more than 0.5 points
below the smallest, Spearman at least 0.8.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

GOAL = {"share_on_or_above": 0.8, "worst_below_smallest": 0.005, "spearman": 0.8}
TOLERANCE = 1e-9  # on the line, up to float rounding
CHUNK = 10  # subnets scored between two writes of the rows


@dataclasses.dataclass(frozen=True)
class SupernetCheckOptions:
    """``sample`` random subnets of each kind (uniform, spread over MACs) drawn with ``seed``;
    the rows file (``rows``) and the result file (``out``, default WORKDIR/supernet_check.json)."""
    sample: int = 50
    seed: int = 0
    rows: str | None = None
    out: str | None = None


def line_summary(points: list[dict], smallest: dict, largest: dict) -> dict:
    """The summary (module doc) of ``points`` (``{"macs", "accuracy"}`` each; accuracies in [0, 1])
    against the line from ``smallest`` to ``largest``. Distances are in accuracy units."""
    from scipy.stats import spearmanr

    m0, m1 = np.log(smallest["macs"]), np.log(largest["macs"])
    a0, a1 = smallest["accuracy"], largest["accuracy"]
    macs = np.array([p["macs"] for p in points], float)
    acc = np.array([p["accuracy"] for p in points], float)
    line = a0 + (a1 - a0) * (np.log(macs) - m0) / (m1 - m0 if m1 != m0 else 1.0)
    below = line - acc
    rho = float(spearmanr(macs, acc)[0]) if len(points) > 2 and np.ptp(macs) > 0 and np.ptp(acc) > 0 else None
    out = {"n": len(points), "smallest": a0, "largest": a1,
           "share_on_or_above": float(np.mean(below <= TOLERANCE)) if len(points) else None,
           "worst_below_line": float(max(0.0, below.max())) if len(points) else None,
           "worst_below_smallest": float(max(0.0, (a0 - acc).max())) if len(points) else None,
           "spearman": None if rho is None or not np.isfinite(rho) else rho}
    out["meets_goal"] = bool(
        out["n"] and out["share_on_or_above"] >= GOAL["share_on_or_above"]
        and out["worst_below_smallest"] <= GOAL["worst_below_smallest"]
        and out["spearman"] is not None and out["spearman"] >= GOAL["spearman"])
    return out


def check_subnets(space, sample: int, seed: int) -> list[tuple[str, object]]:
    """``[(name, arch)]``: the two ends, ``sample`` uniform draws and ``sample`` draws spread over
    MACs (:func:`nas.train.sampling.sample_random_subnets`), distinct, in a fixed order."""
    import jax

    from nas.train.sampling import sample_random_subnets

    out, seen = [("smallest", space.smallest()), ("largest", space.largest())], set()
    seen.update(space.canonical(a) for _, a in out)
    key_u, key_m = jax.random.split(jax.random.key(seed))
    for kind, key in (("uniform", key_u), ("macs", key_m)):
        draws = sample_random_subnets(space, key, 4 * sample, kind)
        kept = 0
        for a in draws:
            c = space.canonical(a)
            if c in seen:
                continue
            seen.add(c)
            out.append((f"{kind}_{kept}", c))
            kept += 1
            if kept == sample:
                break
    return out


def check_supernet(workdir, opts: SupernetCheckOptions = SupernetCheckOptions()) -> dict:
    """Score the check's subnets on the supernet of ``workdir`` (module doc), write the result
    and return it. InputError when the work directory has no config or no trained supernet, or
    the rows file is not one."""
    from nas.checks.rows import RowStore, row_key
    from nas.config import config_from_dict
    from nas.errors import InputError
    from nas.files import atomic_write_json, read_json
    from nas.pipeline.search import supernet_accuracy
    from nas.rundir import RunDir
    from nas.search_spaces import arch_stats, arch_to_json, get_space

    run = RunDir(Path(workdir).resolve())
    if not run.config.is_file():
        raise InputError(f"{workdir}: not a work directory (no config.json)")
    cfg = config_from_dict(read_json(run.config, what="config"))
    if not run.supernet.result.is_file():
        raise InputError(f"{run.supernet.path}: no trained supernet (run `nas run {cfg.name} --workdir {workdir}` "
                         "first)")
    space = get_space(cfg.space)
    if cfg.search.resolutions and hasattr(space, "with_resolutions"):
        space = space.with_resolutions(cfg.search.resolutions)
    store = RowStore(opts.rows)
    supernet_id = run.supernet_id()
    scoring = {"eval_batches": cfg.search.eval_batches, "bn_batches": cfg.supernet.bn_recalibration_batches}
    subnets = check_subnets(space, opts.sample, opts.seed)
    # the rows' supernet: an imported one by its source's checksum (each import writes its own checkpoint)
    from nas.pretrained.init import supernet_source

    source = supernet_source(run.root)
    weights = source["sha256"][:16] if source.get("kind") == "imported" else supernet_id
    budget = {**scoring, "data": dataclasses.asdict(cfg.data)}
    keys = [row_key(f"{cfg.name}/{weights}", name, arch_to_json(a), budget) for name, a in subnets]
    missing = [i for i, k in enumerate(keys) if k not in store]
    t0 = time.perf_counter()
    dataset = None
    for start in range(0, len(missing), CHUNK):  # rows kept as they come: a stopped check resumes there
        chunk = missing[start:start + CHUNK]
        if dataset is None:
            from nas.data import load_dataset

            dataset = load_dataset(cfg.data)
        scores = supernet_accuracy(cfg, run.root, [subnets[i][1] for i in chunk], dataset)
        for i, acc in zip(chunk, scores):
            name, arch = subnets[i]
            store.put(keys[i], {"name": name, "arch": arch_to_json(arch), "macs": float(arch_stats(arch).macs),
                                "accuracy": float(acc), "supernet_id": supernet_id, **scoring})
    rows = [store[k] for k in keys]
    by = {r["name"]: r for r in rows}
    randoms = [r for r in rows if r["name"] not in ("smallest", "largest")]
    result = {"supernet_id": supernet_id, "experiment": cfg.name, "space": cfg.space, "sample": opts.sample,
              "seed": opts.seed, **scoring, "seconds": time.perf_counter() - t0,
              "summary": {"all": line_summary(randoms, by["smallest"], by["largest"]),
                          **{kind: line_summary([r for r in randoms if r["name"].startswith(kind + "_")],
                                                by["smallest"], by["largest"]) for kind in ("uniform", "macs")}},
              "rows": rows}
    atomic_write_json(Path(opts.out) if opts.out else run.supernet_check, result)
    return result


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def summary_line(result: dict) -> str:
    """One line for the terminal and the report (:func:`nas.report.build.supernet_check_line`)."""
    from nas.report.build import supernet_check_line

    return supernet_check_line(result["summary"]["all"])


def supernet_check_table(label: str, result: dict) -> str:
    """Markdown rows for docs/benchmarks/supernet.md: one per sampling kind."""
    head = ("| supernet | subnets | smallest | largest | on or above the line | worst below the line | "
            "worst below the smallest | Spearman vs MACs |\n|---|---|---|---|---|---|---|---|")
    lines = [head]
    for kind, s in result["summary"].items():
        rho = "–" if s["spearman"] is None else f"{s['spearman']:.2f}"
        lines.append(f"| {label} ({kind}) | {s['n']} | {_pct(s['smallest'])} | {_pct(s['largest'])} | "
                     f"{_pct(s['share_on_or_above'])} | {100 * (s['worst_below_line'] or 0):.2f} pt | "
                     f"{100 * (s['worst_below_smallest'] or 0):.2f} pt | {rho} |")
    return "\n".join(lines)
