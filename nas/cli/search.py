"""``nas search EXPERIMENT --workdir DIR [--profile NAME] [--set key=value ...]``: stage 2 alone.

Runs (or resumes) the multi-objective search of the experiment for each profile on the
supernet trained in ``DIR``; progress (generation, hypervolume, best feasible values, ETA) goes
to stderr, the Pareto front to stdout (a table, or one JSON object per line with ``--json``).
"""
from __future__ import annotations

from pathlib import Path

from nas.cli.output import emit_json


def register(sub) -> None:
    p = sub.add_parser("search", help="run stage 2 (architecture search) on a trained supernet")
    p.add_argument("experiment", help="experiment name (experiments/NAME.py) or path")
    p.add_argument("--workdir", required=True, help="work directory holding the trained supernet")
    p.add_argument("--profile", action="append", default=None,
                   help="hardware profile name or YAML path (repeatable; default: search.profiles)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--smoke", action="store_true", help="the experiment's tiny smoke variant")
    p.add_argument("--json", action="store_true", help="front as one JSON object per line")
    p.set_defaults(func=cmd_search)


def cmd_search(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from nas.cli.progress import search_progress
    from nas.files import checked_dir
    from nas.pipeline.search import (
        check_accuracy_source,
        check_budgets_reachable,
        coverage_line,
        profile_notes,
        run_stage,
    )
    from nas.pipeline.workdir import prepare, record
    from nas.rundir import RunDir

    # the work directory's config.json is the base; --set and a new --profile are recorded in it
    cfg, diff, history = prepare(args.experiment, args.workdir, args.overrides, smoke=args.smoke,
                                 profiles=args.profile)
    loaded = {}  # profiles as the commands below load them: each YAML read once
    check_budgets_reachable(cfg, args.profile, loaded=loaded)
    check_accuracy_source(cfg, args.workdir)  # nothing is written into the work directory before this
    for msg in profile_notes(cfg, args.profile, loaded):
        Console(stderr=True).print(msg, markup=False, highlight=False, soft_wrap=True)
    run = RunDir(checked_dir(Path(args.workdir).expanduser().resolve(), "work directory"))
    with search_progress(Console(stderr=True)) as on_generation:
        results = run_stage(cfg, args.workdir, profiles=args.profile, on_generation=on_generation, loaded=loaded)
    # recorded once the search has run: a search that fails (a damaged state, say) changes no setting
    line = record(cfg, run, diff, history, "nas search")
    if line:
        Console(stderr=True).print(line, markup=False, highlight=False, soft_wrap=True)
    if not args.json:
        Console(stderr=True).print(coverage_line(cfg, results).strip(), markup=False, highlight=False, soft_wrap=True)
    names = list(cfg.search.objectives)
    for profile, res in results.items():
        if args.json:
            for row in res.front:
                emit_json({"profile": profile, **row})
            continue
        table = Table(title=f"{profile}: {len(res.front)} feasible Pareto-optimal of {res.evaluations} "
                            f"evaluated, hypervolume {res.hypervolume:.4g} ({res.directory})")
        for n in names:
            table.add_column(n, justify="right")
        table.add_column("arch")
        for row in res.front:
            table.add_row(*[f"{row[n]:.4g}" for n in names], json_arch(row["arch"]))
        Console().print(table)
    return 0


def json_arch(obj) -> str:
    import json

    return json.dumps(obj, separators=(",", ":"))
