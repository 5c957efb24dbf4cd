"""``nas`` entry point: dispatches to one module per command group.

Each module in ``COMMAND_MODULES`` defines ``register(subparsers)`` adding its commands, each
with ``func(args) -> int``. Bad input raises :class:`nas.errors.InputError`: printed as one line
on stderr, exit status 2, no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from nas.errors import InputError

COMMAND_MODULES = ("space", "arch", "run", "search", "report", "latency", "profile")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nas", description="Hardware-aware neural architecture search on JAX.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"nas.cli.{name}").register(sub)
    return parser



def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed one usage line; usage errors are status 2
        return int(e.code or 0)
    try:
        return int(args.func(args) or 0)
    except InputError as e:
        print(f"nas: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
