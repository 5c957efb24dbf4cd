"""A pool of Ray actors that evaluate architectures in chunks, losing nothing when one dies.

Each actor is built once from ``builder(shared)``: ``shared`` (for supernet accuracy, the
pipeline's picklable scoring builder holding the supernet weights and the examples scored, from
which each actor builds its own scoring function) is put in the object store ONCE with
``ray.put`` and every actor receives the reference, so the weights travel to each node once.
``evaluate(archs)`` splits the list into chunks, keeps every actor busy, and returns records in
input order. When an actor dies (killed, OOM, node lost) its chunk goes back to the queue and
the next free actor takes it, while a replacement actor starts wherever the cluster has room
(it takes work once it is up, so a lost node never leaves work waiting on an actor that cannot
be placed); evaluators are deterministic, so the result is the same as if nothing had happened.
Errors raised by the evaluator itself propagate. Actors are spread over the cluster's nodes
(``SPREAD``); ``nodes_served`` counts the architectures each node id evaluated.

Ray is joined or started by :func:`nas.raycluster.ensure_ray` (a local instance gets as many
CPUs as the actors need; ``runtime_env`` ships code and settings to the workers). Each actor
starts with the JAX environment of its GPU share (:func:`nas.raycluster.worker_env`: no
preallocation and a memory fraction for a fraction of a GPU, no GPU when it reserves none),
merged with ``runtime_env``'s ``env_vars``, whose values win.
"""
from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Callable, Sequence

from nas.search_spaces import Arch


class _EvalActor:
    def __init__(self, builder: Callable, shared):
        self.evaluator = builder(shared)

    def evaluate(self, archs):
        import ray

        return ray.get_runtime_context().get_node_id(), self.evaluator.evaluate(archs)

    def pid(self) -> int:
        return os.getpid()


class RayEvaluatorPool:
    """``num_workers`` actors, each holding ``builder(shared)``; same interface as an evaluator.

    ``provides`` must name the keys the built evaluator returns. ``max_failures`` bounds how
    often one chunk may lose its actor before ``RuntimeError``. Each actor reserves
    ``num_cpus_per_worker`` CPUs and ``num_gpus_per_worker`` GPUs (1, or a fraction such as
    0.25 to share a GPU) and starts with ``env_vars`` (:func:`nas.raycluster.worker_env`).
    ``runtime_env``: Ray runtime environment when this pool starts or joins Ray.
    """

    def __init__(self, builder: Callable, shared=None, *, provides: Sequence[str], num_workers: int = 2,
                 address: str = "", chunk_size: int = 4, num_cpus_per_worker: float = 1.0,
                 num_gpus_per_worker: float = 0.0, max_failures: int = 5, runtime_env: dict | None = None):
        import ray

        from nas.raycluster import ensure_ray, worker_env

        self.started_ray = ensure_ray(address, num_cpus=max(1, int(num_workers * num_cpus_per_worker + 0.999)),
                                      runtime_env=runtime_env)
        self.ray = ray
        self.provides = tuple(provides)
        self.builder, self.chunk_size, self.max_failures = builder, max(1, chunk_size), max_failures
        self.shared_ref = ray.put(shared)  # once; actors get the reference
        self.env_vars = worker_env(num_gpus_per_worker, (runtime_env or {}).get("env_vars"))
        self.actor_cls = ray.remote(num_cpus=num_cpus_per_worker, num_gpus=num_gpus_per_worker,
                                    max_restarts=0, scheduling_strategy="SPREAD",
                                    runtime_env={"env_vars": self.env_vars})(_EvalActor)
        self.actors = [self._spawn() for _ in range(num_workers)]
        self.starting: dict = {}  # ObjectRef of a replacement's pid() -> its slot, until it is up
        self.failures = 0  # actor losses survived so far
        self.nodes_served: Counter = Counter()  # node id -> architectures evaluated there

    def _spawn(self):
        return self.actor_cls.remote(self.builder, self.shared_ref)

    def pids(self) -> list[int]:
        return self.ray.get([a.pid.remote() for a in self.actors])

    def evaluate(self, archs: Sequence[Arch]) -> list[dict]:
        ray = self.ray
        archs = list(archs)
        size = min(self.chunk_size, -(-len(archs) // max(1, len(self.actors))))  # a few archs: one each
        chunks = [archs[i:i + size] for i in range(0, len(archs), max(1, size))]
        results: list = [None] * len(chunks)
        todo = deque(range(len(chunks)))
        tries = [0] * len(chunks)
        busy = set(self.starting.values())
        idle = deque(s for s in range(len(self.actors)) if s not in busy)
        running: dict = {}  # ObjectRef -> (chunk index, actor slot)
        while todo or running:
            while todo and idle:
                c, slot = todo.popleft(), idle.popleft()
                running[self.actors[slot].evaluate.remote(chunks[c])] = (c, slot)
            done, _ = ray.wait(list(running) + list(self.starting), num_returns=1)
            if done[0] in self.starting:  # a replacement actor is up (or died starting)
                slot = self.starting.pop(done[0])
                try:
                    ray.get(done[0])
                    idle.append(slot)
                except ray.exceptions.RayActorError:
                    self._replace(slot)
                continue
            c, slot = running.pop(done[0])
            try:
                node, results[c] = ray.get(done[0])
                self.nodes_served[node] += len(chunks[c])
                idle.append(slot)
            except ray.exceptions.RayActorError:
                tries[c] += 1
                self.failures += 1
                if tries[c] > self.max_failures:
                    raise RuntimeError(f"chunk of {len(chunks[c])} architectures lost its actor "
                                       f"{tries[c]} times") from None
                self._replace(slot)
                todo.appendleft(c)  # the next free actor takes it
            except ray.exceptions.RayTaskError as e:
                raise e.as_instanceof_cause() from None
        return [r for chunk in results for r in chunk]

    def _replace(self, slot: int) -> None:
        """Start a new actor in ``slot``; it takes work once its ``pid()`` answers."""
        self.ray.kill(self.actors[slot], no_restart=True)
        self.actors[slot] = self._spawn()
        self.starting[self.actors[slot].pid.remote()] = slot

    def close(self) -> None:
        for a in self.actors:
            self.ray.kill(a, no_restart=True)
        self.actors = []
        if self.started_ray:
            self.ray.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
