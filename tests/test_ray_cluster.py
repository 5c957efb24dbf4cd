"""The search on a real multi-node Ray cluster (``ray.cluster_utils.Cluster``: a head and a
worker node, each with its own raylet, on this machine): both nodes serve evaluations, and
removing the worker node in the middle of a generation still ends with the single-node front,
without evaluating anything twice."""
from __future__ import annotations

import sys
import threading
import time

import pytest

from nas.config import SearchConfig
from nas.evaluators import EvaluatorSpec, RayEvaluatorPool
from nas.pipeline.search import run_search
from nas.search_spaces import get_space

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]
SPACE = get_space("fashion_mnist")
SPEC = EvaluatorSpec("fashion_mnist", ("accuracy", "latency_ms", "flops"), surrogate_seed=0)
CFG = SearchConfig(population=12, generations=4, objectives=["accuracy", "latency_ms"], budgets={"flops": 3e6},
                   seed=2)


class SlowSpec:
    """SPEC's evaluator, slow enough for a node to be removed while a generation runs."""

    def __call__(self, shared):
        inner = SPEC()

        class Slow:
            provides = inner.provides

            def evaluate(self, archs):
                time.sleep(0.1 * len(archs))
                return inner.evaluate(archs)

        return Slow()


@pytest.fixture(scope="module")
def cluster():
    import ray
    from ray.cluster_utils import Cluster

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
    worker = c.add_node(num_cpus=1)
    c.wait_for_nodes()
    yield c, worker
    ray.shutdown()
    c.shutdown()


def records(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_two_nodes_serve_evaluations_and_losing_one_keeps_the_front(cluster, tmp_path):
    import ray

    c, worker = cluster
    pool = RayEvaluatorPool(SlowSpec(), None, provides=SPEC.needs, num_workers=2, chunk_size=2, address=c.address)
    try:
        head_id, worker_id = c.head_node.node_id, worker.node_id
        timers = []

        def on_generation(m):
            if m["generation"] == 0:  # both nodes have served; remove the worker during generation 1
                assert set(pool.nodes_served) == {head_id, worker_id}, pool.nodes_served
                timers.append(threading.Timer(0.3, lambda: c.remove_node(worker, allow_graceful=False)))
                timers[-1].start()

        res = run_search(SPACE, pool, CFG, tmp_path / "cluster", on_generation=on_generation)
        for t in timers:
            t.join()
        assert timers and pool.failures > 0  # the worker's chunk was lost and done again on the head
        deadline = time.time() + 90  # the head notices a killed raylet by missed health checks
        while worker_id in (alive := {n["NodeID"] for n in ray.nodes() if n["Alive"]}) and time.time() < deadline:
            time.sleep(1)
        assert worker_id not in alive
        ref = run_search(SPACE, SPEC(), CFG, tmp_path / "single")
        assert res.front and res.front == ref.front and res.history == ref.history

        # every architecture evaluated once: what the nodes returned is what the cache recorded
        cache = records(res.directory / "evaluations.jsonl")
        assert sum(pool.nodes_served.values()) == len(cache) == len(set(cache))
        served = sum(pool.nodes_served.values())
        again = run_search(SPACE, pool, CFG, tmp_path / "cluster")  # resumes: all recorded
        assert again.front == res.front and sum(pool.nodes_served.values()) == served
    finally:
        pool.close()
