"""run_search: files, constrained fronts, caching, and resume after SIGKILL."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from nas.config import SearchConfig
from nas.errors import InputError
from nas.evaluators.surrogate import SurrogateEvaluator
from nas.pipeline.search import run_search
from nas.search.objectives import ObjectiveSpec
from nas.search.pareto import pareto_mask
from nas.search_spaces import get_space

ROOT = Path(__file__).resolve().parent.parent
SPACE = get_space("fashion_mnist")


class Counting:
    """Wraps an evaluator and records every architecture it is asked to evaluate."""

    def __init__(self, inner):
        self.inner, self.provides, self.seen = inner, inner.provides, []

    def evaluate(self, archs):
        self.seen += list(archs)
        return self.inner.evaluate(archs)


def cfg(**kw):
    base = dict(population=12, generations=5, budgets={"latency_ms": 0.9}, seed=1)
    base.update(kw)
    return SearchConfig(**base)


def read_jsonl(p):
    return [json.loads(line) for line in Path(p).read_text().splitlines()]


def test_files_front_and_constraints(tmp_path):
    ev = Counting(SurrogateEvaluator(SPACE))
    res = run_search(SPACE, ev, cfg(), tmp_path, profile="dev")
    d = tmp_path / "search" / "dev"
    assert res.directory == d and res.generations == 5 and res.evaluations == 60
    gens = [read_jsonl(d / f"gen_{g:04d}.jsonl") for g in range(5)]
    assert all(len(rows) == 12 and all(r["generation"] == g for r in rows) for g, rows in enumerate(gens))
    rows = [r for g in gens for r in g]
    assert any(not r["feasible"] for r in rows)  # the budget binds
    front = read_jsonl(d / "front.jsonl")
    assert front == json.loads(json.dumps(res.front))
    assert all(r["feasible"] and r["latency_ms"] <= 0.9 for r in front)
    spec = ObjectiveSpec.from_config(cfg())
    mask = pareto_mask(spec.matrix(rows), [r["violation"] for r in rows])
    expect = sorted(json.dumps(r["arch"]) for r, m in zip(rows, mask) if m)
    assert sorted(json.dumps(r["arch"]) for r in front) == expect
    assert [r["arch"] for r in front] == [r["arch"] for r in sorted(front, key=lambda r: -r["accuracy"])]
    # no architecture evaluated twice; metrics written per generation
    canon = [SPACE.canonical(a) for a in ev.seen]
    assert len(canon) == len(set(canon)) == 60
    m = read_jsonl(d / "metrics.jsonl")
    assert [x["generation"] for x in m] == list(range(5))
    assert m[-1]["hypervolume"] == pytest.approx(res.hypervolume) and res.hypervolume > 0


def test_extend_and_cache(tmp_path):
    run_search(SPACE, SurrogateEvaluator(SPACE), cfg(generations=3), tmp_path)
    ev = Counting(SurrogateEvaluator(SPACE))
    res = run_search(SPACE, ev, cfg(generations=5), tmp_path)  # resumes, only new work
    assert res.evaluations == 60 and len(ev.seen) == 24
    full = run_search(SPACE, SurrogateEvaluator(SPACE), cfg(), tmp_path / "other")
    assert res.front == full.front


def test_bad_state_is_input_error_and_kept(tmp_path):
    run_search(SPACE, SurrogateEvaluator(SPACE), cfg(generations=1), tmp_path)
    with pytest.raises(InputError, match="different seed"):
        run_search(SPACE, SurrogateEvaluator(SPACE), cfg(seed=2), tmp_path)
    state = tmp_path / "search" / "local_cpu" / "state.json"
    good = state.read_text()
    damaged = {
        "truncated": good[: len(good) // 2],
        "garbage": "\x80\x04garbage",
        "no fields": json.dumps({"format": 2}),
        "foreign arch": good.replace('"__arch__": [', '"__arch__": [99, ', 1),
        "unknown type": good.replace('"__state__": "NSGA2State"', '"__state__": "Popen"', 1),
    }
    assert all(text != good for text in damaged.values())
    for name, text in damaged.items():
        state.write_text(text)
        with pytest.raises(InputError, match="state.json") as e:
            run_search(SPACE, SurrogateEvaluator(SPACE), cfg(), tmp_path)
        assert "\n" not in str(e.value), name
        assert state.read_text() == text, name  # nothing overwritten


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # what a crafted pickle does: run code when loaded
        return (Path.touch, (Path(self.marker),))


def test_old_pickle_state_is_refused_never_loaded(tmp_path):
    import pickle

    d = tmp_path / "search" / "local_cpu"
    d.mkdir(parents=True)
    marker = tmp_path / "pwned"
    (d / "state.pkl").write_bytes(pickle.dumps({"format": 1, "x": _Payload(str(marker))}))
    with pytest.raises(InputError, match="state.pkl: search state of an older version"):
        run_search(SPACE, SurrogateEvaluator(SPACE), cfg(), tmp_path)
    assert not marker.exists()


def test_evaluation_cache_torn_and_corrupt_lines(tmp_path):
    from nas.evaluators.cache import CachedEvaluator

    path = tmp_path / "cache.jsonl"
    archs = SPACE.sample(np.array([0, 7], np.uint32), 4)
    first = CachedEvaluator(SurrogateEvaluator(SPACE), SPACE, path).evaluate(archs)
    with open(path, "a") as f:
        f.write('{"arch": {"ks"')  # torn by a kill
    again = Counting(SurrogateEvaluator(SPACE))
    assert CachedEvaluator(again, SPACE, path).evaluate(archs) == first and again.seen == []
    path.write_text("not json\n" + path.read_text())
    with pytest.raises(InputError, match="cache.jsonl:1"):
        CachedEvaluator(again, SPACE, path)


SCRIPT = textwrap.dedent("""
    import sys, time
    from nas.evaluators.surrogate import SurrogateEvaluator
    from nas.config import SearchConfig
    from nas.pipeline.search import run_search
    from nas.search_spaces import get_space

    class Slow(SurrogateEvaluator):
        def evaluate(self, archs):
            time.sleep(float(sys.argv[2]))
            return super().evaluate(archs)

    space = get_space("fashion_mnist")
    cfg = SearchConfig(population=12, generations=8, budgets={"latency_ms": 0.9}, seed=5)
    run_search(space, Slow(space), cfg, sys.argv[1])
""")


@pytest.mark.slow
def test_resume_after_sigkill_gives_same_front(tmp_path):
    script = tmp_path / "search_script.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = subprocess.Popen([sys.executable, str(script), str(killed), "0.4"], env=env, cwd=ROOT)
    out = killed / "search" / "local_cpu"
    deadline = time.time() + 120
    while not (out / "gen_0002.jsonl").exists() and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "gen_0007.jsonl").exists()  # really killed mid-search
    subprocess.run([sys.executable, str(script), str(killed), "0"], env=env, cwd=ROOT, check=True)
    subprocess.run([sys.executable, str(script), str(clean), "0"], env=env, cwd=ROOT, check=True)
    ref = clean / "search" / "local_cpu"
    assert (out / "front.jsonl").read_text() == (ref / "front.jsonl").read_text()
    for g in range(8):
        assert (out / f"gen_{g:04d}.jsonl").read_text() == (ref / f"gen_{g:04d}.jsonl").read_text()
