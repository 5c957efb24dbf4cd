"""``nas run EXPERIMENT``: the whole pipeline (resumable) and ``nas export WORKDIR``."""
from __future__ import annotations

import sys
from pathlib import Path

from nas.errors import InputError


def register(sub) -> None:
    from nas.export import DEFAULT_FORMATS, FORMATS

    p = sub.add_parser("run", help="supernet -> search -> final training -> export -> report (resumable)")
    p.add_argument("experiment", help="experiment name (experiments/NAME.py) or path to a config file")
    p.add_argument("--workdir", help="work directory (default: runs/EXPERIMENT)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set supernet.epochs=2 (repeatable)")
    p.add_argument("--smoke", action="store_true", help="tiny version of the experiment (tests)")
    p.set_defaults(func=cmd_run)
    e = sub.add_parser("export", help="export the chosen architectures of a finished run (every profile's)")
    e.add_argument("workdir")
    e.add_argument("names", nargs="*", help="chosen networks to export (chosen.json names; default: all)")
    e.add_argument("--format", default=",".join(DEFAULT_FORMATS),
                   help=f"comma-separated subset of {','.join(FORMATS)} (tflite needs the litert extra)")
    e.add_argument("--int8-weight-bits", type=int, choices=(8, 7), default=None,
                   help="ONNX int8 weights: 8 (default, as LiteRT) or 7 for x86 CPUs without VNNI "
                        "(default: the run's export.int8_weight_bits)")
    e.set_defaults(func=cmd_export)


def cmd_run(args) -> int:
    from rich.console import Console

    from nas.cli.progress import search_progress
    from nas.config import load_experiment
    from nas.pipeline import run_experiment
    from nas.pipeline.workdir import prepare

    workdir = Path(args.workdir or Path("runs") / load_experiment(args.experiment, smoke=args.smoke).name)
    # the work directory's config.json, when it has one, is what the overrides apply to
    cfg, _, _ = prepare(args.experiment, workdir, args.overrides, smoke=args.smoke)
    console = Console(stderr=True)
    with search_progress(console, indent="  ") as on_generation:
        result = run_experiment(cfg, workdir, console=console, on_generation=on_generation, smoke=args.smoke)
    if result is None:  # a multi-host run's process other than 0: its part (stage 1) is done
        return 0
    print(f"report:  {result.report}")
    print(f"summary: {result.summary}")
    return 0


def unchosen_profiles(cfg, run, cands) -> list[str]:
    """One line per profile the work directory searched whose networks are not chosen yet (its
    search came after the run's final training): what to run so they are fine-tuned and exported."""
    from nas.rundir import profile_label

    chosen = {p for c in cands for p in c.chosen_for}
    lines = []
    for p in cfg.search.profiles:
        label = profile_label(p)
        if label not in chosen and run.search(p).result.is_file():
            lines.append(f"note: {label} was searched after this run's final training; `nas run {cfg.name} "
                         f"--workdir {run.root}` chooses and fine-tunes its networks (the others are kept), "
                         "then exports and reports every profile's")
    return lines


def cmd_export(args) -> int:
    from nas.data import load_dataset
    from nas.export import check_formats
    from nas.pipeline.export import export_all
    from nas.pipeline.run import load_finished_run
    from nas.rundir import RunDir

    formats = check_formats([f for f in args.format.split(",") if f], field="--format")
    from nas.export.formats import check_converters

    check_converters(formats, "--format")  # one line and status 2 before any work
    run = RunDir(args.workdir)
    cfg, cands = load_finished_run(run.root)
    unknown = [n for n in args.names if n not in {c.name for c in cands}]
    if unknown:
        raise InputError(f"{unknown[0]}: not a chosen network of {run.root} (chosen: "
                         f"{', '.join(c.name for c in cands)})")
    if args.names:
        cands = [c for c in cands if c.name in args.names]
    for line in unchosen_profiles(cfg, run, cands):
        print(line, file=sys.stderr)
    if args.int8_weight_bits is not None:
        cfg.export.int8_weight_bits = args.int8_weight_bits
    records = export_all(cfg, run.root, cands, load_dataset(cfg.data), formats=formats)
    for name, rec in records.items():
        extra = f"  onnx relative diff {rec['onnx_rel_diff']:.1e}" if "onnx_rel_diff" in rec else ""
        acc = "  ".join(f"{f} {100 * a:.2f}%" for f, a in rec.get("accuracy", {}).items())
        lat = "  ".join(f"{f} {v:.3f} ms" for f, v in rec.get("latency_ms", {}).items())
        print(f"{name}: {run.export(name).path}{extra}" + (f"\n  test accuracy: {acc}" if acc else "")
              + (f"\n  latency here: {lat}" if lat else ""))
    return 0
