"""Does the search earn its choice? The chosen network against random ones of equal predicted latency.

For a run that has chosen its networks, draws ``--sample`` random networks of its space whose
latency predicted on the search's first profile is within ±``--tolerance`` of the chosen network's
(and that meet the search's budgets), fine-tunes each exactly as the run fine-tunes its chosen
network (the run's ``final`` settings: epochs, batch, learning rate, seed, initialisation from
the supernet's weights) in ``WORKDIR/search_check/final/random_<i>_<arch hash>`` (resumable), and
compares test accuracies. The chosen network's own result is the run's final training when it has
finished; otherwise (the run's final stage stopped or not reached) it is fine-tuned here too.
``--epochs E`` gives every network, the chosen one included, the same shorter (or longer) budget
instead, in ``WORKDIR/search_check/epochs_<E>/final/`` so trainings of different budgets never
mix. ``--workers N`` fine-tunes N networks at a time, each in its own process. The search earns
its choice when the chosen network beats the best of the sample. Each network's supernet accuracy
(what the search saw) is listed too, so a loss can be traced to the ranking.

    nas check search-vs-random runs/fashion_mnist [--sample 5 --tolerance 0.05]
        [--epochs 5] [--workers 2] [--rows docs/benchmarks/search_vs_random_rows.json]

Writes ``WORKDIR/search_check.json`` as each network finishes and prints a Markdown table for
docs/benchmarks/supernet.md. ``--rows FILE`` also merges each network's row into FILE as it
finishes, skips the networks FILE already holds (same supernet, network and budget: a later
sitting resumes there) and computes the comparison from FILE's rows
(:mod:`nas.checks.rows`).
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

POOL = 20_000  # uniform samples the equal-latency networks are drawn from


@dataclasses.dataclass(frozen=True)
class VsRandomOptions:
    """One comparison's settings (the options of ``nas check search-vs-random``): ``sample``
    random networks drawn with ``seed`` from ``pool`` uniform samples, within ``tolerance``
    (relative) of the chosen network's predicted latency; the chosen network judged (``name``;
    None: the run's first searched one); the fine-tune budget (``epochs``; None: the run's
    ``final.epochs``); fine-tunes at a time (``workers``); the rows file (``rows``)."""
    sample: int = 5
    tolerance: float = 0.05
    seed: int = 0
    pool: int = POOL
    name: str | None = None
    epochs: float | None = None
    workers: int = 1
    rows: str | None = None


def equal_latency_sample(space, records_of, target_ms: float, tolerance: float, n: int, seed: int,
                         exclude, pool_size: int = POOL) -> list:
    """``n`` distinct random architectures whose predicted latency is within ``target_ms·(1 ±
    tolerance)`` and that meet the budgets; ``records_of(archs) -> (latency_ms [n], feasible [n])``.
    ValueError when fewer exist in the pool."""
    import jax

    pool = [a for a in dict.fromkeys(space.canonical(a) for a in space.sample(jax.random.key(seed), pool_size))
            if a not in exclude]
    ms, feasible = records_of(pool)
    inside = np.flatnonzero((np.abs(ms - target_ms) <= tolerance * target_ms) & feasible)
    if len(inside) < n:
        raise ValueError(f"only {len(inside)} of {len(pool)} random networks are within ±{tolerance:.0%} of "
                         f"{target_ms:.4g} ms and the budgets; widen --tolerance or lower --sample")
    # a prefix of one permutation: a larger --sample keeps the networks already fine-tuned
    return [pool[i] for i in np.random.default_rng(seed).permutation(inside)[:n]]


def check_search_vs_random(workdir, opts: VsRandomOptions = VsRandomOptions()) -> dict:
    """Fine-tune random networks of the chosen network's predicted latency as the run fine-tunes
    its own, writing ``WORKDIR/search_check.json`` as each network finishes; returns the final
    comparison. InputError when the run has not chosen its networks, names no such network,
    or too few random networks fall within the window."""
    from nas.checks.rows import RowStore, row_key
    from nas.files import atomic_write_json
    from nas.rundir import RunDir

    run = RunDir(Path(workdir).resolve())
    cfg, chosen, into, done = chosen_network(run, opts.name, opts.epochs)
    profile = cfg.search.profiles[0]
    nets = draw_networks(cfg, run, chosen, profile, opts)
    t0 = time.perf_counter()
    # each network's row: kept in --rows FILE (resumed from there) or in memory
    identity = f"{cfg.name}@{run.supernet_id()}"
    budget = {"seed": cfg.seed, **{k: getattr(cfg.final, k) for k in
                                   ("epochs", "batch_size", "learning_rate", "from_scratch", "augment", "max_steps")}}
    keys = [row_key(identity, n["name"], n["arch"], budget) for n in nets]
    store = RowStore(opts.rows)

    def finished(i: int, info: dict) -> None:
        store.put(keys[i], {**nets[i], "val_acc": info["val_acc"], "test_acc": info["test_acc"],
                            "key": {"run": identity, "budget": budget}})

    def record() -> dict | None:
        """Writes the comparison over the networks finished so far, once the chosen one is."""
        if keys[0] not in store:
            return None
        rows = [store[k] for k in keys if k in store]
        result = {"workdir": str(run.root), "supernet_id": run.supernet_id(), "profile": profile,
                  "tolerance": opts.tolerance, "seed": opts.seed, "sample": opts.sample,
                  **compare(rows, opts.sample, cfg.final, done is not None),
                  "seconds": time.perf_counter() - t0, "rows": rows}
        atomic_write_json(run.search_check, result)
        return result

    if done and keys[0] not in store:
        finished(0, done)
    todo = {i: (n["name"], n["arch"]) for i, n in enumerate(nets) if keys[i] not in store}
    for i, info in fine_tunes(cfg, run, into, todo, opts.workers):
        finished(i, info)
        record()
    return record()


def chosen_network(run, name: str | None, epochs: float | None) -> tuple:
    """``(cfg, chosen, into, done)``: the run's config (its ``final.epochs`` replaced by
    ``epochs`` when given and different), its searched network ``name`` (default: the first),
    the folder the check fine-tunes into and the run's own result for the chosen network
    (None when unfinished or of another budget). InputError when there is no such network."""
    from nas.errors import InputError
    from nas.pipeline.final import read_result
    from nas.pipeline.run import load_finished_run

    cfg, cands = load_finished_run(run.root, trained=False)
    searched = [c for c in cands if c.kind == "searched" and (name in (None, c.name))]
    if not searched:
        raise InputError(f"{run.chosen}: no searched network{f' named {name}' if name else ''}")
    chosen = searched[0]
    into = run.search_check_dir
    if epochs is not None and epochs != cfg.final.epochs:
        cfg = dataclasses.replace(cfg, final=dataclasses.replace(cfg.final, epochs=epochs))
        return cfg, chosen, into / f"epochs_{epochs:g}", None  # the run's own result has another budget
    return cfg, chosen, into, read_result(run.root, chosen.name)  # verifies its checksums; None when unfinished


def draw_networks(cfg, run, chosen, profile: str, opts: VsRandomOptions) -> list[dict]:
    """The chosen network, then ``opts.sample`` random ones of its predicted latency on
    ``profile`` (see :func:`equal_latency_sample`), each with its name, architecture, MACs,
    predicted latency and supernet accuracy as the run's search sees it (its cache).
    InputError when too few random networks fall within the window."""
    from nas.files import record_digest
    from nas.pipeline.search import supernet_accuracy
    from nas.search_spaces import arch_to_json, get_space

    space = get_space(cfg.space)
    records, violations = latency_records(cfg, profile)
    chosen_arch = space.canonical(space.from_json(chosen.arch))
    randoms = _equal_latency_randoms(space, records, violations, chosen_arch, opts)
    archs = [chosen_arch, *randoms]
    # the folder names carry the architecture, so another draw (--seed, --tolerance, --pool) can
    # never resume a training of a different network
    names = [chosen.name] + [f"random_{i:02d}_{record_digest(arch_to_json(a))[:8]}" for i, a in enumerate(randoms)]
    sup = supernet_accuracy(cfg, run.root, archs)  # the run's cache: what its search saw (or would have)
    return [{"name": n, "arch": arch_to_json(a), "chosen": i == 0, "macs": r["macs"], "latency_ms": r["latency_ms"],
             "supernet_accuracy": s} for i, (n, a, r, s) in enumerate(zip(names, archs, records(archs), sup))]


def latency_records(cfg, profile: str) -> tuple:
    """``(records, violations)``: ``records(archs) -> [{"macs", ..., "latency_ms"}]``, analytic
    costs and the latency predicted on ``profile``, and ``violations(records) -> [n]``, how far
    each breaks the search's budgets (0: feasible). InputError for an unknown profile."""
    from nas.evaluators.analytic import AnalyticCostEvaluator
    from nas.evaluators.latency import PredictedLatencyEvaluator
    from nas.latency import load_profile
    from nas.search.objectives import ObjectiveSpec

    latency = PredictedLatencyEvaluator(load_profile(profile))
    analytic = AnalyticCostEvaluator()

    def records(archs):
        return [{**c, **lat} for c, lat in zip(analytic.evaluate(archs), latency.evaluate(archs))]

    return records, ObjectiveSpec.from_config(cfg.search).violations


def _equal_latency_randoms(space, records, violations, chosen_arch, opts: VsRandomOptions) -> list:
    from nas.errors import InputError

    def records_of(archs):
        recs = records(archs)
        return np.array([r["latency_ms"] for r in recs]), violations(recs) <= 0

    try:
        return equal_latency_sample(space, records_of, records([chosen_arch])[0]["latency_ms"], opts.tolerance,
                                    opts.sample, opts.seed, exclude={chosen_arch}, pool_size=opts.pool)
    except ValueError as e:
        raise InputError(str(e)) from None


def fine_tunes(cfg, run, into, networks: dict, workers: int):
    """Fine-tune ``networks`` (``{id: (name, arch JSON)}``) with ``cfg.final`` into ``into``,
    yielding ``(id, result)`` as each finishes: one at a time here, or with ``workers`` > 1 that
    many at a time, each in a process of its own (each imports JAX afresh)."""
    from nas.pipeline.candidates import Candidate
    from nas.pipeline.final import train_candidate

    jobs = {i: (cfg, Candidate(name, "searched", arch), run.root) for i, (name, arch) in networks.items()}
    if workers == 1:
        for i, job in jobs.items():
            yield i, train_candidate(*job, progress=True, into=into)
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(train_candidate, *job, into=into): i for i, job in jobs.items()}
        for f in as_completed(futures):
            yield futures[f], f.result()


def compare(rows: list[dict], sample: int, final, chosen_from_run: bool) -> dict:
    """The comparison over ``rows`` (the chosen network first, then the random ones finished so
    far) of a ``sample``-network draw fine-tuned with ``final``: the chosen network's rank, the
    best random one, and whether the search earned its choice (the sample complete and beaten)."""
    best = max(rows[1:], key=lambda r: r["test_acc"]) if len(rows) > 1 else None
    return {
        "done": len(rows) - 1,
        "final": {k: getattr(final, k) for k in ("epochs", "batch_size", "learning_rate", "from_scratch")},
        "chosen_from_run": chosen_from_run, "chosen_test_acc": rows[0]["test_acc"],
        "best_random": best and best["name"],
        "best_random_test_acc": best and best["test_acc"],
        "chosen_rank": 1 + sum(r["test_acc"] > rows[0]["test_acc"] for r in rows[1:]),
        "earned": bool(best) and len(rows) - 1 == sample and rows[0]["test_acc"] > best["test_acc"],
    }


def comparison_table(result: dict) -> str:
    """The Markdown table of ``result`` for docs/benchmarks/supernet.md, and its verdict."""
    rows = result["rows"]
    lines = [f"| network | MACs (M) | predicted {result['profile']} (ms) | supernet accuracy | test accuracy after "
             f"fine-tuning {result['final']['epochs']:g} epochs |\n|---|---:|---:|---:|---:|"]
    for r in rows:
        label = f"**{r['name']} (chosen)**" if r["chosen"] else r["name"]
        lines.append(f"| {label} | {r['macs'] / 1e6:.2f} | {r['latency_ms']:.3f} | "
                     f"{100 * r['supernet_accuracy']:.2f}% | {100 * r['test_acc']:.2f}% |")
    lines.append(f"\nchosen ranks {result['chosen_rank']} of {len(rows)}; earned its choice: {result['earned']}; "
                 f"fine-tuning took {result['seconds'] / 60:.1f} min")
    return "\n".join(lines)
