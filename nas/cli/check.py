"""``nas check supernet|fidelity|search-vs-random|scratch-vs-inherited WORKDIR``: analyses of a run.

Each writes its result into the work directory (where ``nas report`` finds it) and prints a
Markdown table for docs/benchmarks/; ``--rows FILE`` keeps each network's row in FILE so a
check longer than one sitting resumes there (:mod:`nas.checks.rows`). The checks themselves
live in :mod:`nas.checks`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from nas.cli.output import count, seed
from nas.errors import InputError


def register(sub) -> None:
    p = sub.add_parser("check", help="analyses of a run: the supernet's middle, supernet ranking fidelity, search "
                       "against random, scratch against inherited weights")
    csub = p.add_subparsers(dest="check_command", required=True, metavar="CHECK")
    _add_supernet(csub)
    _add_fidelity(csub)
    _add_search_vs_random(csub)
    _add_scratch_vs_inherited(csub)


def _rows_option(p, example: str) -> None:
    p.add_argument("--rows", metavar="FILE", help="merge each network's row into FILE as it finishes and skip "
                   f"those already there (e.g. docs/benchmarks/{example}; commit it)")


def _quick_option(p, what: str) -> None:
    p.add_argument("--quick", action="store_true", help=f"a rough, short version: {what} (options given "
                   "explicitly still apply)")


def _add_supernet(csub) -> None:
    p = csub.add_parser(
        "supernet", help="does the supernet know its middle? its ends and random subnets scored as the search "
        "scores them (writes WORKDIR/supernet_check.json, plotted in the report)",
        description="Scores the smallest and largest subnet and --sample random subnets drawn uniformly plus "
        "--sample drawn spread over MACs, as the run's search scores them (its accuracy cache), and prints the share "
        "on or above the straight line from the smallest to the largest (accuracy against log MACs), the worst "
        "distance below it and below the smallest, and Spearman's rho against MACs (a few minutes on a 2-core CPU "
        "for fashion_mnist at the defaults; --sample 10 for a quick look).")
    p.add_argument("workdir", help="a run whose supernet is trained or imported")
    p.add_argument("--sample", type=count(1, 10_000), help="random subnets of each kind (default 50; --quick: 10)")
    _quick_option(p, "10 random subnets of each kind")
    p.add_argument("--seed", type=seed, default=0, help="seed of the random draw")
    p.add_argument("--out", help="result file (default WORKDIR/supernet_check.json, which the report reads)")
    p.add_argument("--label", help="the table rows' label (default: the work directory's name)")
    _rows_option(p, "supernet_check_rows.json")
    p.set_defaults(func=cmd_supernet)


def _add_fidelity(csub) -> None:
    from nas.checks.ranking_fidelity import RECIPE  # NumPy and the standard library alone

    p = csub.add_parser(
        "fidelity", help="does inherited-weight accuracy rank subnets like stand-alone training? "
        "(writes WORKDIR/fidelity.json, read by the report)",
        description="Supernet ranking fidelity: subnets drawn over MACs and from one narrow MACs band are scored "
        "with inherited weights and trained stand-alone with a fixed recipe (WORKDIR/fidelity/final/, resumable); "
        "Kendall tau and Spearman rho of the two rankings, with 95% bootstrap intervals, go to WORKDIR/fidelity.json "
        "and a Markdown row is printed.")
    p.add_argument("workdir", help="a run whose supernet is trained")
    p.add_argument("--stratified", type=int, help="subnets spread evenly over MACs (default 16; --quick: 8)")
    p.add_argument("--band", type=int, help="subnets more from the narrow MACs band (default 8; --quick: 0)")
    _quick_option(p, "8 subnets over MACs, none from the band, 1 stand-alone epoch: a rough answer in a fraction "
                  "of the time (the defaults train 24 subnets 2 epochs each, about two hours on a 2-core CPU)")
    p.add_argument("--band-macs", type=float, help="centre of the narrow band (default: median MACs)")
    p.add_argument("--band-width", type=float, default=0.10, help="the band's relative half-width")
    p.add_argument("--seed", type=seed, default=0, help="seed of the subnet choice and the bootstrap")
    p.add_argument("--seeds", type=_seed_list, default=str(RECIPE["seed"]),
                   help="comma-separated stand-alone training seeds; the ground truth is their mean, and the "
                        "first two seeds' agreement is the ceiling of any supernet's τ (default: the recipe's)")
    p.add_argument("--epochs", type=float,
                   help=f"stand-alone epochs (the recipe's {RECIPE['epochs']:g} unless stated; --quick: 1)")
    p.add_argument("--max-steps", type=int, default=0, help="cap stand-alone steps (smoke tests only)")
    p.add_argument("--standalone-from", metavar="WORKDIR",
                   help="score this run's supernet on the subnets of another run's finished check, against its "
                        "stand-alone results (nothing is trained; same space and recipe)")
    p.add_argument("--eval-batches", type=count(1, 10_000), help="score the supernet on this many validation "
                   "batches (default: the run's search.eval_batches, through its cache)")
    p.add_argument("--bn-batches", type=count(1, 10_000),
                   help="BN recalibration batches for scoring (default: the run's)")
    p.add_argument("--out", help="result file (default WORKDIR/fidelity.json, which the report reads)")
    p.add_argument("--label", help="the table row's label (default: the work directory's name)")
    _rows_option(p, "ranking_fidelity_rows.json")
    p.set_defaults(func=cmd_fidelity)


def _seed_list(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(dict.fromkeys(int(x) for x in text.split(",") if x.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text[:40]!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"one or more non-negative integers, got {text[:40]!r}")
    return seeds


def _add_search_vs_random(csub) -> None:
    from nas.checks.search_vs_random import POOL  # NumPy and the standard library alone

    p = csub.add_parser(
        "search-vs-random", help="does the search earn its choice? the chosen network against random ones of "
        "equal predicted latency (writes WORKDIR/search_check.json)",
        description="The chosen network against random networks of its space within --tolerance of its predicted "
        "latency (and within the search's budgets), all fine-tuned as the run fine-tunes its chosen network "
        "(WORKDIR/search_check/, resumable). Writes WORKDIR/search_check.json as each network finishes and prints "
        "a Markdown table.")
    p.add_argument("workdir", help="a run that has chosen its networks (`nas run`)")
    p.add_argument("--sample", type=count(1, 100), help="random networks to fine-tune (default 5; --quick: 3)")
    _quick_option(p, "3 random networks, every network fine-tuned a quarter epoch")
    p.add_argument("--tolerance", type=float, default=0.05, help="relative predicted-latency window, in (0, 1)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the random draw")
    p.add_argument("--pool", type=count(10, 1_000_000), default=POOL,
                   help="uniform samples the random networks are drawn from")
    p.add_argument("--name", help="the chosen network to judge (default: the run's first searched one)")
    p.add_argument("--epochs", type=float, help="fine-tune budget of every network, the chosen one included, "
                   "in (0, 1000] (default: the run's final.epochs)")
    p.add_argument("--workers", type=count(1, 64), default=1,
                   help="fine-tunes run at a time, each in its own process")
    _rows_option(p, "search_vs_random_rows.json")
    p.set_defaults(func=cmd_search_vs_random)


def _add_scratch_vs_inherited(csub) -> None:
    p = csub.add_parser(
        "scratch-vs-inherited", help="the searched networks trained from scratch with the reference models' budget "
        "(writes WORKDIR/scratch_check.json)",
        description="Trains the named searched networks of a run from scratch with the reference models' budget "
        "(WORKDIR/scratch_check/, resumable), so architectures are compared without the supernet's head start; "
        "writes WORKDIR/scratch_check.json and prints a Markdown table.")
    p.add_argument("workdir", help="a run that has chosen its networks (`nas run`)")
    p.add_argument("names", nargs="*", help="searched networks of the run (chosen.json names; default: all) "
                   "and reference models to train here when the run has not finished them")
    p.add_argument("--references", action="store_true", help="name every reference model of the run")
    _rows_option(p, "scratch_vs_inherited_rows.json")
    p.set_defaults(func=cmd_scratch_vs_inherited)


def cmd_supernet(args) -> int:
    from nas.checks.supernet_middle import SupernetCheckOptions, check_supernet, summary_line, supernet_check_table

    sample = args.sample or (10 if args.quick else 50)
    result = check_supernet(args.workdir, SupernetCheckOptions(sample=sample, seed=args.seed, rows=args.rows,
                                                               out=args.out))
    print(summary_line(result))
    print(supernet_check_table(args.label or Path(args.workdir).resolve().name, result))
    return 0


def cmd_fidelity(args) -> int:
    from nas.checks.ranking_fidelity import RECIPE, FidelityOptions, check_fidelity, fidelity_table

    quick = args.quick
    stratified = args.stratified if args.stratified is not None else (8 if quick else 16)
    band = args.band if args.band is not None else (0 if quick else 8)
    epochs = args.epochs if args.epochs is not None else (1.0 if quick else RECIPE["epochs"])
    opts = FidelityOptions(stratified=stratified, band=band, band_macs=args.band_macs,
                           band_width=args.band_width, seed=args.seed, seeds=args.seeds, epochs=epochs,
                           max_steps=args.max_steps, standalone_from=args.standalone_from,
                           eval_batches=args.eval_batches, bn_batches=args.bn_batches, out=args.out, rows=args.rows)
    result = check_fidelity(args.workdir, opts)
    print(fidelity_table(args.label or Path(args.workdir).resolve().name, result))
    return 0


def cmd_search_vs_random(args) -> int:
    from nas.checks.search_vs_random import VsRandomOptions, check_search_vs_random, comparison_table

    if args.epochs is not None and not 0 < args.epochs <= 1000:
        raise InputError("--epochs: must be in (0, 1000]")
    sample = args.sample or (3 if args.quick else 5)
    epochs = args.epochs if args.epochs is not None else (0.25 if args.quick else None)
    if not 0 < args.tolerance < 1:
        raise InputError("--tolerance: must be in (0, 1)")
    opts = VsRandomOptions(sample=sample, tolerance=args.tolerance, seed=args.seed, pool=args.pool,
                           name=args.name, epochs=epochs, workers=args.workers, rows=args.rows)
    print(comparison_table(check_search_vs_random(args.workdir, opts)))
    return 0


def cmd_scratch_vs_inherited(args) -> int:
    from nas.checks.scratch_vs_inherited import check_scratch_vs_inherited, scratch_table

    result = check_scratch_vs_inherited(args.workdir, args.names, references=args.references, rows=args.rows)
    print(scratch_table(result))
    return 0
