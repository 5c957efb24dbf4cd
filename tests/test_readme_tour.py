"""The README's tour as a newcomer runs it: the quick commands run as written, in order, in one
folder, and print what the README says they print; every other command of the tour (the long
ones: whole runs, searches, checks, imports) is accepted by the command line as written, so the
tour never names a command, option or file the tool does not know."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from nas.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent
QUICK = ("nas space", "nas arch", "nas profile list", "nas latency predict")  # seconds each: run here


def tour() -> list[tuple[str, list[str]]]:
    """``[(command, expected output lines)]`` of the README's tour block, continuation lines
    joined; the expected lines are the ``#   ...`` comments right after a command."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## A five-minute tour", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    out, pending = [], ""
    for line in block.splitlines():
        if pending:
            pending = pending[:-1] + " " + line.strip()
        elif line.startswith("nas "):
            pending = line.split("  #")[0].rstrip()
        elif re.match(r"#   \S", line) and out:
            out[-1][1].append(line[4:].strip())
            continue
        else:
            continue
        if not pending.endswith("\\"):
            out.append((pending, []))
            pending = ""
    return out


def test_the_tour_block_is_found_and_has_its_steps():
    cmds = [c for c, _ in tour()]
    assert len(cmds) >= 12
    assert any(c.startswith("nas run fashion_mnist --workdir runs/fm") for c in cmds)
    assert any(c.startswith("nas search fashion_mnist --workdir runs/fm --profile pixel2") for c in cmds)


@pytest.mark.parametrize("command", [c for c, _ in tour() if not c.startswith(QUICK)])
def test_every_long_command_of_the_tour_parses_as_written(command):
    argv = shlex.split(command.split(" > ")[0])[1:]
    args = build_parser().parse_args(argv)  # SystemExit (a failed test) for an unknown command or option
    assert callable(args.func)


def test_the_quick_commands_run_as_written_and_print_what_the_readme_says(tmp_path):
    nas = str(Path(sys.executable).with_name("nas"))
    for command, expected in tour():
        if not command.startswith(QUICK):
            continue
        shell = command.replace("nas ", shlex.quote(nas) + " ", 1)
        proc = subprocess.run(["bash", "-c", shell], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{command}: {proc.stderr[-1500:]}"
        printed = [" ".join(line.split()) for line in proc.stdout.splitlines()]
        for want in expected:
            head = " ".join(want.split("...")[0].split())  # an elided line: its beginning must match
            assert any(line.startswith(head) for line in printed), f"{command}: no line like {want!r} in {printed}"
    assert (tmp_path / "arch.jsonl").is_file()  # the file the later commands read, by the tour's name


def test_what_the_tour_writes_leaves_git_status_clean():
    """Every file or folder a tour command writes in the checkout (``> FILE``, ``--out``,
    ``--workdir``) is ignored by git, so `git status` stays clean through the tour."""
    written = set()
    for command, _ in tour():
        argv = shlex.split(command)
        written.update(argv[i + 1] for i, a in enumerate(argv[:-1]) if a in (">", "--out", "--workdir"))
    assert {"arch.jsonl", "bundle", "my_board.yaml", "runs/fm"} <= written
    proc = subprocess.run(["git", "check-ignore", "--no-index", *sorted(written)], cwd=ROOT, capture_output=True,
                          text=True)
    ignored = set(proc.stdout.split())
    assert ignored == written, f"written by the tour but not ignored: {sorted(written - ignored)}"
