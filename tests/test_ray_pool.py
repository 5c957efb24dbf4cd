"""The Ray actor pool: same results as in process, shared payload by reference, and no work
lost when an actor is killed mid-generation. Two workers, one local Ray instance per module."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

from nas.config import SearchConfig
from nas.evaluators import EvaluatorSpec, RayEvaluatorPool
from nas.pipeline.search import run_search
from nas.search_spaces import get_space

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]
SPACE = get_space("fashion_mnist")
SPEC = EvaluatorSpec("fashion_mnist", ("accuracy", "latency_ms", "flops"), surrogate_seed=0)


class SlowBuilder:
    """Builds SPEC's evaluator and makes it slow enough to be killed mid-batch; checks the
    shared payload arrived as the array itself (Ray resolved the reference)."""

    def __init__(self, delay_s):
        self.delay_s = delay_s

    def __call__(self, shared):
        assert isinstance(shared, np.ndarray) and shared.shape == (256, 256)
        inner, delay = SPEC(), self.delay_s

        class Slow:
            provides = inner.provides

            def evaluate(self, archs):
                time.sleep(delay * len(archs))
                return inner.evaluate(archs)

        return Slow()


@pytest.fixture(scope="module")
def pool():
    import ray

    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    p = RayEvaluatorPool(SlowBuilder(0.05), np.ones((256, 256), np.float32), provides=SPEC.needs,
                         num_workers=2, chunk_size=2)
    yield p
    p.close()


def kill_later(delay_s, fn):
    t = threading.Timer(delay_s, fn)
    t.start()
    return t


def test_pool_matches_in_process_and_survives_kills(pool):
    import ray

    archs = SPACE.sample(np.array([0, 3], np.uint32), 24)
    expected = SPEC().evaluate(archs)
    assert pool.evaluate(archs) == expected
    before = pool.failures
    t = kill_later(0.3, lambda: ray.kill(pool.actors[0], no_restart=False))
    assert pool.evaluate(archs) == expected
    t.join()
    assert pool.failures > before
    pid = pool.pids()[1]
    before = pool.failures
    t = kill_later(0.3, lambda: os.kill(pid, signal.SIGKILL))
    assert pool.evaluate(archs) == expected
    t.join()
    assert pool.failures > before and pid not in pool.pids()


def test_search_through_pool_with_a_kill_equals_in_process(pool, tmp_path):
    import ray

    cfg = SearchConfig(population=12, generations=4, objectives=["accuracy", "latency_ms"],
                       budgets={"flops": 3e6}, seed=2)
    timers = []

    def on_generation(m):
        if m["generation"] == 0:  # kill an actor while generation 1 is being evaluated
            timers.append(kill_later(0.2, lambda: ray.kill(pool.actors[1], no_restart=False)))

    before = pool.failures
    res = run_search(SPACE, pool, cfg, tmp_path / "ray", on_generation=on_generation)
    for t in timers:
        t.join()
    ref = run_search(SPACE, SPEC(), cfg, tmp_path / "local")
    assert pool.failures > before
    assert res.front and res.front == ref.front and res.history == ref.history
