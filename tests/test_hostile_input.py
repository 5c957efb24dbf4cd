"""Hostile input against the CLI, in process: generated (Hypothesis) and the concrete cases
found by hand. The contract for every command and every input:

- exit status 0, or 2 with exactly one line on stderr (``nas: error: ...``) and no traceback;
  nothing else ever escapes ``main``;
- with ``--json``, stdout holds only JSON objects, one per line, with finite numbers;
- a failing command changes no file that existed before it ran and leaves no temporary file.

The number of generated cases per property is ``HYPOTHESIS_EXAMPLES`` (default 60; half that for
the two damaged-work-directory properties, which are in the slow tier). The counts run and the
failures found while building this suite are in docs/hostile_input.md.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nas.cli.main import main
from nas.latency.profile_io import load_profile

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# damaging a work directory re-runs a command on a copy of it (~1-2 s a case): half as many, in the slow tier
WORKDIR_SETTINGS = settings(SETTINGS, max_examples=max(1, EXAMPLES // 2))
GOOD_ARCH = {"ks": [3, 5, 7, 3, 5, 7, 3, 5, 7, 3], "e": [3, 4, 6, 3, 4, 6, 3, 4, 6, 3], "d": [1, 2, 3, 1]}


def cli(*argv) -> tuple[int, str, str]:
    """``main(argv)`` with stdout/stderr captured; asserts the one-line error contract."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])  # anything raised here fails the test: a traceback
    out, err = out.getvalue(), err.getvalue()
    assert code in (0, 2), (code, err[-500:])
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and re.match(r"nas( [a-z]+)*: error: ", lines[0]), err[-2000:]
        assert "Traceback" not in err
    return code, out, err


def json_lines(out: str) -> list[dict]:
    rows = []
    for line in out.splitlines():
        obj = json.loads(line, parse_constant=lambda c: pytest.fail(f"non-finite number {c} on stdout"))
        assert isinstance(obj, dict)
        rows.append(obj)
    return rows


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_nothing_lost(before: dict[str, bytes], root: Path) -> None:
    after = snapshot(root)
    for name, data in before.items():
        assert after.get(name) == data, f"{name} changed or vanished"
    assert not [n for n in after if n.endswith(".tmp")], "temporary file left behind"


# ---------------------------------------------------------------- strategies
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c,
                                                                                               max_size=4),
                           max_leaves=12)
nasty_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e30", "9" * 5000, "[" * 5000,
                     "{" * 3000, '"\\ud800"', "null", "true", "[]", "{}", "\x00", "0x10", "1_000", " 1 "]),
    json_values.map(json.dumps),
)


def _mutate_arch(draw_value, key, obj):
    obj = json.loads(json.dumps(obj))
    obj[key] = draw_value
    return obj


arch_texts = st.one_of(
    nasty_text,
    st.builds(_mutate_arch, json_values, st.sampled_from(["ks", "e", "d", "r", "x"]), st.just(GOOD_ARCH)).map(
        json.dumps),
    st.builds(lambda i, v: json.dumps({**GOOD_ARCH, "ks": GOOD_ARCH["ks"][:i] + [v] + GOOD_ARCH["ks"][i + 1:]}),
              st.integers(0, 9), json_scalars),
)


# ---------------------------------------------------------------- architecture JSON
@SETTINGS
@given(arch_texts)
def test_arch_json_generated(text):
    code, out, _ = cli("arch", "stats", "fashion_mnist", "--arch", text, "--json")
    if code == 0:
        (row,) = json_lines(out)
        assert row["macs"] > 0


@SETTINGS
@given(st.lists(st.one_of(arch_texts, st.binary(max_size=30).map(lambda b: b.decode("latin-1"))),
                min_size=0, max_size=4), st.booleans())
def test_archs_file_generated(tmp_path, lines, raw_bytes):
    path = tmp_path / "archs.jsonl"
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    path.write_bytes(data if not raw_bytes else b"\xff" + data)
    code, out, _ = cli("latency", "predict", "--profile", "pixel2", "--space", "fashion_mnist",
                       "--archs", path, "--json")
    if code == 0:
        rows = json_lines(out)
        assert rows and all(r["latency_ms"] > 0 for r in rows)


# ---------------------------------------------------------------- measurement CSV
csv_rows = st.lists(st.tuples(arch_texts, nasty_text), max_size=6)


@SETTINGS
@given(st.sampled_from(["arch,latency_ms", "latency_ms,arch", "arch", "", "arch,latency_ms,extra"]), csv_rows)
def test_measurement_csv_generated(tmp_path, header, rows):
    import csv

    d = tmp_path / "case"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    buf = io.StringIO()
    w = csv.writer(buf)
    buf.write(header + "\n")
    for r in rows:
        w.writerow(r)
    (d / "m.csv").write_text(buf.getvalue())
    (d / "keep.yaml").write_text("an existing file\n")
    before = snapshot(d)
    code, _, _ = cli("profile", "fit", "mine", "--space", "fashion_mnist", "--measurements", d / "m.csv",
                     "--out", d / "keep.yaml")
    if code == 2:
        assert_nothing_lost(before, d)


# ---------------------------------------------------------------- YAML profiles
def _profile_dict(tmp: Path) -> dict:
    prof = load_profile("pixel2")
    obj = yaml.safe_load(Path(prof.path).read_text())
    src = Path(prof.measurements[0].csv)
    (tmp / "data").mkdir(exist_ok=True)
    shutil.copyfile(src, tmp / "data" / src.name)
    obj["measurements"][0]["csv"] = f"data/{src.name}"
    return obj


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            yield from _paths(v, prefix + (i,))


def _set(obj, path, value):
    if not path:
        return value
    *head, last = path
    target = obj
    try:
        for k in head:
            target = target[k]
        target[last] = value
    except (KeyError, IndexError, TypeError):  # an earlier change removed that place: nothing to set
        pass
    return obj


yaml_values = st.one_of(json_values, st.sampled_from([float("inf"), float("nan"), -1.0, 0, 1e308, -1e308, 1e-320,
                                                      "/etc/passwd", "../../../etc/passwd", [], {}, None]))


@SETTINGS
@given(st.data())
def test_profile_yaml_generated(tmp_path, data):
    d = tmp_path / "case"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    obj = _profile_dict(d)
    paths = list(_paths(obj))
    for _ in range(data.draw(st.integers(1, 3))):
        obj = _set(obj, data.draw(st.sampled_from(paths)), data.draw(yaml_values))
    text = yaml.safe_dump(obj) if data.draw(st.booleans()) else data.draw(nasty_text)
    (d / "p.yaml").write_text(text)
    (d / "a.jsonl").write_text(json.dumps(GOOD_ARCH) + "\n")
    code, out, _ = cli("latency", "predict", "--profile", d / "p.yaml", "--space", "fashion_mnist",
                       "--archs", d / "a.jsonl", "--json")
    if code == 0:
        (row,) = json_lines(out)
        assert math.isfinite(row["latency_ms"]) and row["latency_ms"] > 0


# ---------------------------------------------------------------- --set overrides
FIELDS = ["name", "space", "seed", "data", "data.source", "data.val_size", "data.seed", "data.augment",
          "data.limit_train", "supernet.epochs", "supernet.batch_size", "supernet.learning_rate", "supernet.seed",
          "supernet.num_random_subnets", "supernet.distill", "supernet.epochs.x", "search.population",
          "search.generations", "search.budgets", "search.budgets.flops", "search.budgets.accuracy",
          "search.mutation_rate", "search.algorithm", "search.eval_batches", "final.top_k", "final.epochs",
          "final.baselines", "final.augment", "final.gpus_per_trial", "export.formats", "export.onnx_tolerance",
          "nope", "final.baselines.x", ""]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    p = tmp_path_factory.mktemp("exp") / "tiny.py"
    p.write_text(textwrap.dedent("""
        from nas.config import ExperimentConfig, SearchConfig

        def get_config(smoke=False):
            return ExperimentConfig(name="tiny", space="fashion_mnist",
                                    search=SearchConfig(population=8, generations=2, seed=3))
    """))
    return p


@SETTINGS
@given(st.sampled_from(FIELDS), nasty_text)
def test_set_overrides_generated(experiment, tmp_path, key, value):
    work = tmp_path / "w"
    code, _, err = cli("search", experiment, "--workdir", work, "--set", f"{key}={value}")
    assert code == 2  # bad override, or a good one and then: no trained supernet in an empty workdir
    assert not work.exists() or not any(work.rglob("*")), "a failed command wrote into the work directory"


# ---------------------------------------------------------------- damaged work directories
@pytest.fixture(scope="module")
def searched(experiment, tmp_path_factory):
    """A finished analytic search (fast: no supernet) whose files the properties damage."""
    work = tmp_path_factory.mktemp("searched") / "w"
    args = ["search", experiment, "--workdir", work, "--profile", "analytic", "--json",
            "--set", 'search.objectives=["flops","peak_activation_bytes"]']
    assert cli(*args)[0] == 0
    return work, args


def _damage(data: bytes, how: str, at: int, junk: bytes) -> bytes:
    at = at % max(len(data), 1)
    return {"truncate": data[:at], "flip": data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:] if data else junk,
            "insert": data[:at] + junk + data[at:], "replace": junk}[how]


@pytest.mark.slow
@WORKDIR_SETTINGS
@given(st.sampled_from(["state.json", "evaluations.jsonl", "front.jsonl", "metrics.jsonl", "gen_0001.jsonl"]),
       st.sampled_from(["truncate", "flip", "insert", "replace"]), st.integers(0, 10**6), st.binary(max_size=20))
def test_damaged_search_dir_generated(searched, tmp_path, name, how, at, junk):
    src, args = searched
    work = tmp_path / "w"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(src, work)
    f = work / "search" / "analytic" / name
    f.write_bytes(_damage(f.read_bytes(), how, at, junk))
    before = snapshot(work)
    code, out, _ = cli(*[work if a == src else a for a in args], "--set", "search.generations=3")
    if code == 2:
        assert_nothing_lost(before, work)
    else:
        assert json_lines(out)


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """A work directory with what ``nas report`` reads (the report unit test's fixture)."""
    from tests.test_report import _write_workdir

    work = tmp_path_factory.mktemp("reported")
    _write_workdir(work)
    return work


@pytest.mark.slow
@WORKDIR_SETTINGS
@given(st.data())
def test_damaged_report_inputs_generated(reported, tmp_path, data):
    work = tmp_path / "w"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(reported, work)
    name = data.draw(st.sampled_from(["summary.json", "latency_check.json", "search/pa/front.jsonl",
                                      "search/pa/metrics.jsonl", "search/pb/gen_0001.jsonl"]))
    f = work / name
    if name.endswith(".json") and data.draw(st.booleans()):
        obj = json.loads(f.read_text())
        paths = list(_paths(obj))
        obj = _set(obj, data.draw(st.sampled_from(paths)), data.draw(yaml_values))
        f.write_text(json.dumps(obj))
    else:
        f.write_bytes(_damage(f.read_bytes(), data.draw(st.sampled_from(["truncate", "flip", "insert", "replace"])),
                              data.draw(st.integers(0, 10**6)), data.draw(st.binary(max_size=20))))
    shutil.rmtree(work / "report", ignore_errors=True)
    before = snapshot(work)
    code, _, _ = cli("report", work)
    if code == 2:
        assert_nothing_lost(before, work)


# ---------------------------------------------------------------- concrete regressions
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("argv,needle", [
    (["arch", "stats", "fashion_mnist", "--arch", DEEP], "nested too deeply"),
    (["space", "sample", "fashion_mnist", "--n", "2", "--seed", str(2**70)], "--seed"),
    (["space", "sample", "fashion_mnist", "--n", "9" * 5000], "--n"),
    (["run", "../../tmp/evil"], "not found"),
    (["run", "fashion_mnist", "--smoke", "--set", "supernet.epochs=NaN"], "supernet.epochs"),
    (["run", "fashion_mnist", "--smoke", "--set", "supernet.epochs=Infinity"], "supernet.epochs"),
    (["run", "fashion_mnist", "--smoke", "--set", "supernet.seed=1e30"], "out of range"),
    (["run", "fashion_mnist", "--smoke", "--set", f"supernet.seed={2**70}"], "out of range"),
    (["run", "fashion_mnist", "--smoke", "--set", "supernet.seed=" + "9" * 5000], "supernet.seed"),
    (["run", "fashion_mnist", "--smoke", "--set", "supernet.epochs=" + DEEP], "nested too deeply"),
    (["run", "fashion_mnist", "--smoke", "--set", "supernet.epochs.x=1"], "has no fields"),
    (["run", "fashion_mnist", "--smoke", "--set", "data=1"], "is a section"),
    (["run", "fashion_mnist", "--smoke", "--set", "final.baselines=[[1]]"], "final.baselines"),
    (["profile", "fit", "x", "--space", "fashion_mnist", "--measurements", "m.csv", "--out", "p.yaml",
      "--peak-gflops", "inf"], "peak"),
    (["nosuchcommand"], "invalid choice"),
    (["report", "."], "no summary.json"),
])
def test_concrete_bad_inputs(tmp_path, argv, needle):
    import csv

    with open(tmp_path / "m.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arch", "latency_ms"])
        w.writerows([json.dumps({**GOOD_ARCH, "d": [1 + i % 3, 1 + i // 3 % 3, 1, 1]}), 1 + i] for i in range(9))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code, _, err = cli(*argv, *(["--workdir", tmp_path / "w"] if argv[0] == "run" and len(argv) > 2 else []))
    finally:
        os.chdir(cwd)
    assert code == 2 and needle in err, err
    assert not (tmp_path / "w").exists(), "a config error left a work directory behind"


def test_space_of_other_data_fails_before_the_workdir_is_made(tmp_path):
    code, _, err = cli("run", "fashion_mnist", "--smoke", "--workdir", tmp_path / "w", "--set", "space=ofa_mbv3")
    assert code == 2 and "3-channel" in err and not (tmp_path / "w").exists()


@pytest.mark.parametrize("make", ["file", "in_file"])
def test_workdir_that_cannot_be_a_folder(tmp_path, make):
    (tmp_path / "f").write_text("x")
    work = tmp_path / "f" if make == "file" else tmp_path / "f" / "sub"
    code, _, err = cli("search", "fashion_mnist", "--smoke", "--workdir", work, "--profile", "analytic",
                       "--set", 'search.objectives=["flops","params"]')
    assert code == 2 and "f" in err
    assert (tmp_path / "f").read_text() == "x"


def test_experiment_file_whose_get_config_fails_or_mistypes(tmp_path):
    (tmp_path / "raises.py").write_text("def get_config(smoke=False):\n    raise RuntimeError('boom')\n")
    (tmp_path / "mistyped.py").write_text(textwrap.dedent("""
        from nas.config import ExperimentConfig
        def get_config(smoke=False):
            c = ExperimentConfig()
            c.supernet.epochs = "three"
            return c
    """))
    code, _, err = cli("search", tmp_path / "raises.py", "--workdir", tmp_path / "w")
    assert code == 2 and "boom" in err
    code, _, err = cli("search", tmp_path / "mistyped.py", "--workdir", tmp_path / "w")
    assert code == 2 and "supernet.epochs" in err


def test_profile_fit_out_is_a_folder_and_other_profiles_kept(tmp_path):
    prof = load_profile("pixel2")
    d = tmp_path / "profiles"
    (d / "data").mkdir(parents=True)
    shutil.copyfile(prof.measurements[0].csv, d / "data" / "other.csv")
    (d / "other.yaml").write_text("name: other\n")
    (d / "out.yaml").mkdir()
    before = snapshot(d)
    code, _, err = cli("profile", "fit", "other", "--space", "fbnet", "--measurements", d / "data" / "other.csv",
                       "--out", d / "out.yaml")
    assert code == 2 and "is a folder" in err
    assert_nothing_lost(before, d)


def test_json_stream_is_only_json_even_when_something_prints(tmp_path):
    """Whatever else writes to stdout during a --json command (Ray's warnings, a stray print)
    lands on stderr; stdout holds the JSON lines alone."""
    import nas.cli.space as space_cli

    original = space_cli.cmd_sample

    def noisy(args):
        print("\x1b[33m(raylet) A worker died or was killed\x1b[0m")
        return original(args)

    space_cli.cmd_sample = noisy  # the parser is built per call, so the command picks this up
    try:
        code, out, err = cli("space", "sample", "fashion_mnist", "--n", "2", "--seed", "1", "--json")
    finally:
        space_cli.cmd_sample = original
    assert code == 0 and len(json_lines(out)) == 2 and "worker died" in err


def test_summary_with_wrong_types_is_one_line(reported, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(reported, work)
    summary = json.loads((work / "summary.json").read_text())
    for bad in ({"profiles": 5}, {"profiles": ["../../etc"]}, {"space": 7},
                {"architectures": [{"name": "x", "kind": "searched", "arch": None}]}):
        (work / "summary.json").write_text(json.dumps({**summary, **bad}))
        code, _, err = cli("report", work)
        assert code == 2 and "summary.json" in err, bad


def test_accuracy_cache_with_a_word_for_a_number(tmp_path):
    from nas.errors import InputError
    from nas.evaluators.cache import CachedEvaluator
    from nas.evaluators.surrogate import SurrogateEvaluator
    from nas.search_spaces import get_space

    space = get_space("fashion_mnist")
    path = tmp_path / "accuracy.jsonl"
    path.write_text(json.dumps({"arch": GOOD_ARCH, "accuracy": "high"}) + "\n")
    with pytest.raises(InputError, match="accuracy.jsonl:1: corrupt evaluation cache line"):
        CachedEvaluator(SurrogateEvaluator(space), space, path)
    assert json.loads(path.read_text())["accuracy"] == "high"  # kept as it was


def test_damaged_training_result_is_reported_not_recomputed(tmp_path):
    from nas.errors import InputError
    from nas.train.loop import store_result, stored_result

    p = tmp_path / "result.json"
    store_result(p, {"space": "x"}, {"val_acc_largest": 0.9, "final_loss": float("nan")}, {"checkpoint": "ab"})
    assert stored_result(p, {"space": "x"}) == {"val_acc_largest": 0.9, "final_loss": None}
    assert stored_result(p, {"space": "y"}) is None  # other settings: not this run's result
    good = p.read_text()
    for damaged in (good[: len(good) // 2], good.replace("0.9", "0.99")):
        p.write_text(damaged)
        with pytest.raises(InputError, match="damaged training result"):
            stored_result(p, {"space": "x"})
        assert p.read_text() == damaged


def test_damaged_final_weights_are_reported_not_reused(tmp_path):
    from nas.errors import InputError
    from nas.files import folder_digest
    from nas.pipeline.final import read_result
    from nas.rundir import RunDir
    from nas.train.loop import store_result

    d = RunDir(tmp_path).final("net")
    (d.weights / "arrays").mkdir(parents=True)
    (d.weights / "arrays" / "w.bin").write_bytes(b"\x01" * 64)
    store_result(d.result, {}, {"test_acc": 0.9})
    assert read_result(tmp_path, "net") is None  # no checksum yet: the weights were not saved whole
    d.weights_sha256.write_text(folder_digest(d.weights) + "\n")
    assert read_result(tmp_path, "net") == {"test_acc": 0.9}
    (d.weights / "arrays" / "w.bin").write_bytes(b"\x01" * 32)  # truncated
    with pytest.raises(InputError, match="damaged weights"):
        read_result(tmp_path, "net")


@pytest.mark.slow
def test_sigterm_stops_the_command_and_the_ray_instance_it_started():
    """SIGTERM from outside is handled like Ctrl-C: exit status 143, and the local Ray instance the
    command started (GCS, raylet and their agents) is shut down, not left running. The command runs
    in its own process (a signal must never reach the test runner's workers)."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    script = textwrap.dedent("""
        import sys, time
        import psutil
        import nas.cli.space as s
        def starts_ray_then_waits(args):
            import ray
            from nas.raycluster import ensure_ray
            assert ensure_ray(num_cpus=1) and ray.is_initialized()
            pids = [p.pid for p in psutil.Process().children(recursive=True)]
            print(" ".join(map(str, pids)), flush=True)
            time.sleep(120)  # terminated long before this ends
            return 0
        s.cmd_list = starts_ray_then_waits
        from nas.cli.main import main
        sys.exit(main(["space", "list"]))
    """)
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=Path(__file__).resolve().parent.parent)
    try:
        line = proc.stdout.readline()
        ray_pids = [int(p) for p in line.split()]
        assert ray_pids, proc.stderr.read()[-2000:] if proc.poll() is not None else "no Ray processes"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err[-2000:]
    assert "terminated" in err and "Traceback" not in err
    deadline = time.time() + 30

    def alive():
        return [p for p in ray_pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]

    while time.time() < deadline and alive():
        time.sleep(0.5)
    assert not alive(), f"Ray processes left running: {[psutil.Process(p).name() for p in alive()]}"


def test_json_stream_holds_even_against_writes_to_file_descriptor_1():
    """Writes that bypass Python's sys.stdout (C++ logging, child processes) go to stderr too."""
    import subprocess
    import sys

    script = textwrap.dedent("""
        import os, subprocess, sys
        import nas.cli.space as s
        original = s.cmd_sample
        def noisy(args):
            os.write(1, b"raw write to fd 1\\n")
            subprocess.run([sys.executable, "-c", "print('a child process')"], check=True)
            return original(args)
        s.cmd_sample = noisy
        from nas.cli.main import main
        sys.exit(main(["space", "sample", "fashion_mnist", "--n", "2", "--json"]))
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parent.parent)
    assert p.returncode == 0, p.stderr[-2000:]
    assert len(json_lines(p.stdout)) == 2
    assert "raw write to fd 1" in p.stderr and "a child process" in p.stderr
