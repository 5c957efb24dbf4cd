"""``nas report WORKDIR``: render the HTML report and figures of a finished run, or of the
searches of a work directory without one (``--mark``/``--mark-ofa`` draw other networks on them)."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("report", help="write report/index.html and PNG figures for a work directory")
    p.add_argument("workdir")
    p.add_argument("--mark", metavar="FILE.jsonl", help='networks to mark on the fronts ({"name", "arch"} per line; '
                   "a work directory without a finished run)")
    p.add_argument("--mark-ofa", metavar="DIR", help="Once-for-All's specialized networks to mark (sub-folders "
                   "with net.config and run.config)")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from nas.errors import InputError
    from nas.report import build_report
    from nas.rundir import RunDir

    marks = args.mark or args.mark_ofa
    if RunDir(Path(args.workdir)).summary.is_file() and not marks:
        index = build_report(Path(args.workdir))
    else:
        from nas.pipeline.search_report import build_search_report, file_marks, ofa_marks

        if RunDir(Path(args.workdir)).summary.is_file():
            raise InputError("--mark/--mark-ofa: marks are drawn in the report of searches without a finished run "
                             f"({args.workdir} has a summary.json)")
        found = (file_marks(args.mark) if args.mark else []) + (ofa_marks(args.mark_ofa) if args.mark_ofa else [])
        index = build_search_report(Path(args.workdir), found)
    print(index)
    return 0
