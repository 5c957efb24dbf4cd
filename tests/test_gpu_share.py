"""Ray workers that share a GPU get a JAX memory fraction and no preallocation
(:func:`nas.raycluster.worker_env`), in the search's actors and in final-training trials.

The Ray tests declare one fake GPU (``ray.init(num_gpus=1)``: Ray only schedules by it and sets
``CUDA_VISIBLE_DEVICES``), read each worker's environment from inside it, and check that JAX
there still runs on this machine's CPU."""
from __future__ import annotations

import os
import sys

import pytest

from nas.config import apply_overrides, load_experiment
from nas.raycluster import driver_env, worker_env

PREALLOC, FRACTION = "XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION"
KEYS = (PREALLOC, FRACTION, "XLA_CLIENT_MEM_FRACTION", "CUDA_VISIBLE_DEVICES", "JAXNAS_TEST_USER", "JAXNAS_TEST_JOB")


def smoke(*overrides):
    return apply_overrides(load_experiment("fashion_mnist", smoke=True), list(overrides))


def test_worker_env_rule():
    assert worker_env(0.25) == {PREALLOC: "false", FRACTION: "0.225"}
    assert worker_env(0.5)[FRACTION] == "0.45" and worker_env(0.1)[FRACTION] == "0.09"
    assert worker_env(1) == {} and worker_env(2.0) == {}
    assert worker_env(0) == {"CUDA_VISIBLE_DEVICES": ""}
    # the user's env_vars win, and are passed on
    assert worker_env(0.25, {FRACTION: "0.3", "A": "1"}) == {PREALLOC: "false", FRACTION: "0.3", "A": "1"}
    assert worker_env(0, {"CUDA_VISIBLE_DEVICES": "0"}) == {"CUDA_VISIBLE_DEVICES": "0"}
    # jaxlib refuses both spellings of the fraction at once: the user's newer name replaces ours
    assert worker_env(0.25, {"XLA_CLIENT_MEM_FRACTION": "0.2"}) == {PREALLOC: "false",
                                                                    "XLA_CLIENT_MEM_FRACTION": "0.2"}


@pytest.mark.parametrize("sets, expected", [
    ((), False),  # CPU workers only
    (("search.num_workers=2", "search.gpus_per_worker=0.25"), True),
    (("search.num_workers=0", "search.gpus_per_worker=0.25"), False),  # no actors: the setting is unused
    (("final.gpus_per_trial=1",), True),
])
def test_driver_env(monkeypatch, sets, expected):
    from jax._src import xla_bridge

    monkeypatch.setattr(xla_bridge, "backends_are_initialized", lambda: False)
    monkeypatch.setenv(PREALLOC, "unset below")  # recorded, so teardown restores the variable's absence
    monkeypatch.delenv(PREALLOC)  # (driver_env writes os.environ itself)
    cfg = smoke(*sets)
    assert driver_env(cfg) is expected
    assert os.environ.get(PREALLOC) == ("false" if expected else None)
    monkeypatch.setenv(PREALLOC, "true")  # the user's own setting stays
    assert driver_env(cfg) is False and os.environ[PREALLOC] == "true"


def report_env(backends_started_before: bool) -> dict:
    """What a worker sees: the environment variables above, JAX's platform and a computation."""
    import jax
    import jax.numpy as jnp

    return {**{k: os.environ.get(k) for k in KEYS}, "backends_started_before": backends_started_before,
            "platform": jax.default_backend(), "sum": float(jnp.arange(4.0).sum())}


class EnvEvaluator:
    """Builder of an evaluator whose records are its actor's environment."""

    provides = ("env",)

    def __call__(self, shared):
        from jax._src import xla_bridge

        started = xla_bridge.backends_are_initialized()
        outer = self

        class Reporter:
            provides = outer.provides

            def evaluate(self, archs):
                return [{"env": report_env(started)} for _ in archs]

        return Reporter()


@pytest.fixture(scope="module")
def fake_gpu_ray():
    import ray

    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray.init(address="local", num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"JAXNAS_TEST_JOB": "job"}})
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray
    ray.shutdown()


def pool_env(gpus: float, runtime_env=None) -> list[dict]:
    from nas.evaluators import RayEvaluatorPool

    with RayEvaluatorPool(EnvEvaluator(), None, provides=("env",), num_workers=2, chunk_size=1,
                          num_cpus_per_worker=0.5, num_gpus_per_worker=gpus, runtime_env=runtime_env) as pool:
        return [r["env"] for r in pool.evaluate([0, 1, 2, 3])]


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_search_actors_sharing_a_gpu(fake_gpu_ray):
    envs = pool_env(0.25)
    for env in envs:
        assert env[PREALLOC] == "false" and env[FRACTION] == "0.225"
        assert env["CUDA_VISIBLE_DEVICES"] == "0"  # Ray placed it on the (fake) GPU
        assert env["JAXNAS_TEST_JOB"] == "job"  # the job's runtime_env still reaches the actor
        assert env["platform"] == "cpu" and env["sum"] == 6.0 and not env["backends_started_before"]
    # the user's runtime_env env_vars win over the engine's
    envs = pool_env(0.5, {"env_vars": {FRACTION: "0.3", "JAXNAS_TEST_USER": "u"}})
    for env in envs:
        assert env[FRACTION] == "0.3" and env[PREALLOC] == "false" and env["JAXNAS_TEST_USER"] == "u"
    # a worker that reserves no GPU sees none
    for env in pool_env(0):
        assert env["CUDA_VISIBLE_DEVICES"] == "" and env[PREALLOC] is None and env["platform"] == "cpu"


def env_trial(config: dict) -> None:
    from jax._src import xla_bridge
    from ray import tune

    tune.report(report_env(xla_bridge.backends_are_initialized()))


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_final_trial_sharing_a_gpu(fake_gpu_ray, tmp_path):
    """The trainable run_final_training gives Tune (:func:`nas.pipeline.final.trial_trainable`),
    with a body that reports its environment instead of training."""
    from ray import tune

    from nas.pipeline.final import trial_trainable

    cfg = smoke("final.gpus_per_trial=0.25", "final.cpus_per_trial=0.5",
                'search.ray_runtime_env={"env_vars": {"JAXNAS_TEST_USER": "u"}}')
    tuner = tune.Tuner(trial_trainable(cfg, env_trial), param_space={"i": tune.grid_search([0, 1])},
                       run_config=tune.RunConfig(name="gpu_share", storage_path=str(tmp_path), verbose=0))
    results = tuner.fit()
    assert not results.errors
    for r in results:
        env = r.metrics
        assert env[PREALLOC] == "false" and env[FRACTION] == "0.225" and env["JAXNAS_TEST_USER"] == "u"
        assert env["CUDA_VISIBLE_DEVICES"] == "0" and env["JAXNAS_TEST_JOB"] == "job"
        assert env["platform"] == "cpu" and env["sum"] == 6.0 and not env["backends_started_before"]
