"""``nas`` entry point: dispatches to one module per command group.

Each module in ``COMMAND_MODULES`` defines ``register(subparsers)`` adding its commands, each
with ``func(args) -> int``. Bad input raises :class:`nas.errors.InputError`: printed as one line
on stderr, exit status 2, no traceback. Usage errors are one line too. Input that defeats a
parser below the project's own checks (nesting past Python's recursion limit, bytes that are
not UTF-8, a path the system refuses) is reported the same way, as a last line of defence.

With ``--json``, stdout carries only the JSON lines of :func:`nas.cli.output.emit_json`:
anything else printed while the command runs (Ray's and JAX's messages included) goes to
stderr. SIGTERM is handled like Ctrl-C (exit status 143; Ctrl-C: 130), and a Ray instance
this process started or joined is shut down on the way out, so no Ray process outlives an
interrupted run.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys

from nas.cli.output import json_stdout
from nas.errors import InputError

COMMAND_MODULES = ("space", "arch", "run", "search", "report", "latency", "profile", "accuracy", "supernet", "check")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (subcommand parsers inherit the class)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nas", description="Hardware-aware neural architecture search on JAX.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show the libraries' own messages (Ray's and Tune's logs, their warnings)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"nas.cli.{name}").register(sub)
    return parser



def _space_by_name(args) -> None:
    """``--space FILE.yaml`` / ``module:attribute`` (and a space argument of ``nas space``): loaded,
    registered, and replaced by the space's name, the name its architectures and profiles carry."""
    from nas.search_spaces.declare import is_space_file

    value = getattr(args, "space", None)
    if isinstance(value, str) and (is_space_file(value) or ":" in value):
        from nas.search_spaces import get_space

        if getattr(args, "space_command", None) != "show":  # show reads the file itself, to print it
            args.space = get_space(value).name


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed one usage line; usage errors are status 2
        return int(e.code or 0)
    from nas.quiet import configure

    configure(args.verbose or None)
    _compilation_cache()
    previous = _terminate_as_interrupt()
    try:
        with json_stdout() if getattr(args, "json", False) else contextlib.nullcontext():
            _space_by_name(args)
            return int(args.func(args) or 0)
    except InputError as e:
        return _fail(str(e))
    except RecursionError:
        return _fail("input nested too deeply to parse")
    except UnicodeDecodeError as e:
        return _fail(f"input is not UTF-8 text (byte {e.start})")
    except OSError as e:
        if e.filename is None:
            raise
        return _fail(f"{e.filename}: {e.strerror or type(e).__name__}")
    except _Terminated:
        print("nas: terminated (SIGTERM)", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("nas: interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:  # Ray's driver turns SIGTERM into sys.exit(SIGTERM) once it has started
        if e.code != signal.SIGTERM:
            raise
        print("nas: terminated (SIGTERM)", file=sys.stderr)
        return 128 + signal.SIGTERM
    finally:
        _shutdown_ray()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _compilation_cache() -> None:
    """JAX's persistent compilation cache for every command (not only under make): the user's
    cache folder unless JAX_COMPILATION_CACHE_DIR names another; set before JAX is imported."""
    if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        os.environ["JAX_COMPILATION_CACHE_DIR"] = os.path.join(base, "jaxnas", "jax")
        if "jax" in sys.modules:  # imported already (by a command module): tell its config too
            sys.modules["jax"].config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])


def _fail(message: str) -> int:
    print(f"nas: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every ``finally`` (checkpoints, Ray shutdown) runs."""


def _terminate_as_interrupt():
    """Turn SIGTERM into :class:`_Terminated` so cleanup runs; returns the previous handler
    (None off the main thread, where handlers cannot be set)."""
    def interrupt(signum, frame):
        raise _Terminated

    try:
        return signal.signal(signal.SIGTERM, interrupt)
    except ValueError:
        return None


def _shutdown_ray() -> None:
    ray = sys.modules.get("ray")
    if ray is not None and getattr(ray, "is_initialized", lambda: False)():
        with contextlib.suppress(Exception):
            ray.shutdown()


if __name__ == "__main__":
    sys.exit(main())
