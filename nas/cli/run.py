"""``nas run EXPERIMENT``: the whole pipeline (resumable) and ``nas export WORKDIR``."""
from __future__ import annotations

import json
from pathlib import Path

from nas.errors import InputError


def register(sub) -> None:
    p = sub.add_parser("run", help="supernet -> search -> final training -> export -> report (resumable)")
    p.add_argument("experiment", help="experiment name (experiments/NAME.py) or path to a config file")
    p.add_argument("--workdir", help="work directory (default: runs/EXPERIMENT)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set supernet.epochs=2 (repeatable)")
    p.add_argument("--smoke", action="store_true", help="tiny version of the experiment (tests)")
    p.set_defaults(func=cmd_run)
    e = sub.add_parser("export", help="export the chosen architectures of a finished run")
    e.add_argument("workdir")
    e.add_argument("--format", default="json,flax,onnx", help="comma-separated subset of json,flax,onnx")
    e.set_defaults(func=cmd_export)


def cmd_run(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from nas.config import apply_overrides, load_experiment
    from nas.run import run_experiment

    cfg = apply_overrides(load_experiment(args.experiment, smoke=args.smoke), args.overrides)
    workdir = Path(args.workdir or Path("runs") / cfg.name)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} gen"),
                  TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("ETA"),
                  TimeRemainingColumn(), console=console, transient=False) as progress:
        tasks = {}

        def on_generation(profile, m):
            if profile not in tasks:
                tasks[profile] = progress.add_task(f"  search {profile}", total=m["generations"], info="")
            best = " ".join(f"{k}={v:.4g}" for k, v in m["best"].items()) or "no feasible yet"
            progress.update(tasks[profile], completed=m["generation"] + 1, info=f"HV={m['hypervolume']:.4g} {best}")

        result = run_experiment(cfg, workdir, console=console, on_generation=on_generation)
    print(f"report:  {result.report}")
    print(f"summary: {result.summary}")
    return 0


def cmd_export(args) -> int:
    from nas.config import config_from_dict
    from nas.final import Candidate
    from nas.run import export_all

    workdir = Path(args.workdir)
    formats = [f for f in args.format.split(",") if f]
    bad = [f for f in formats if f not in ("json", "flax", "onnx")]
    if bad or not formats:
        raise InputError(f"--format: unknown format {bad[0] if bad else '(empty)'!r} (known: json, flax, onnx)")
    for name in ("config.json", "chosen.json"):
        if not (workdir / name).is_file():
            raise InputError(f"{workdir}: no {name} (run `nas run` first)")
    try:
        cfg = config_from_dict(json.loads((workdir / "config.json").read_text()))
        cands = [Candidate(**c) for c in json.loads((workdir / "chosen.json").read_text())]
    except (json.JSONDecodeError, TypeError) as e:
        raise InputError(f"{workdir}: config.json or chosen.json is malformed ({e})") from None
    from nas.run import data_shape

    records = export_all(cfg, workdir, cands, *data_shape(cfg, workdir), formats=formats)
    for name, rec in records.items():
        extra = f"  onnx max|diff|={rec['onnx_max_abs_diff']:.2e}" if "onnx_max_abs_diff" in rec else ""
        print(f"{name}: {workdir / 'export' / name}{extra}")
    return 0
