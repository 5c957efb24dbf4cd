"""``nas report WORKDIR``: render the HTML report and figures of a finished run."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("report", help="write report/index.html and PNG figures for a work directory")
    p.add_argument("workdir")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from nas.report import build_report

    index = build_report(Path(args.workdir))
    print(index)
    return 0
