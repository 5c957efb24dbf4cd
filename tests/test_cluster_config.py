"""Cluster settings: Ray resources, runtime_env and Tune storage in configs, the multi-host
environment, each process's slice of a batch, and the conv implementation per backend."""
from __future__ import annotations

import numpy as np
import pytest

from nas.config import ConfigError, apply_overrides, config_from_dict, load_experiment
from nas.errors import InputError
from nas.pipeline.final import tune_name, tune_storage
from nas.rundir import RunDir
from nas.train.distributed import local_rows, process_slice, settings_from_env


def smoke(*overrides):
    return apply_overrides(load_experiment("fashion_mnist", smoke=True), list(overrides))


def test_cluster_fields_are_typed_and_round_trip(tmp_path):
    cfg = smoke("search.gpus_per_worker=0.5", "search.cpus_per_worker=2", "final.gpus_per_trial=1",
                "final.cpus_per_trial=4", f'search.ray_runtime_env={{"working_dir": "{tmp_path}", '
                '"py_modules": ["m"], "env_vars": {"A": "1"}}', "final.storage_path=s3://bucket/nas",
                "supernet.jax_distributed=true", "supernet.jax_init_timeout_s=30")
    assert cfg.search.gpus_per_worker == 0.5 and cfg.search.cpus_per_worker == 2.0
    assert cfg.final.gpus_per_trial == 1.0 and cfg.final.cpus_per_trial == 4.0
    assert cfg.search.ray_runtime_env["env_vars"] == {"A": "1"}
    assert config_from_dict(cfg.to_dict()) == cfg
    run = RunDir(tmp_path / "w")
    assert tune_storage(cfg, run) == "s3://bucket/nas" and tune_name(cfg, run.root).startswith("fashion_mnist-final-")
    local = smoke(f"final.storage_path={tmp_path / 'shared'}")
    assert tune_storage(local, run) == str(tmp_path / "shared")
    assert tune_storage(smoke(), run) == str(run.tune_storage) and tune_name(smoke(), run.root) == "final"


@pytest.mark.parametrize("override,msg", [
    ("search.gpus_per_worker=-1", "search.gpus_per_worker: must be a non-negative number"),
    ("search.gpus_per_worker=1.5", "search.gpus_per_worker: Ray takes a fraction below 1 or a whole number"),
    ("search.cpus_per_worker=0", "search.cpus_per_worker: must be positive"),
    ("final.gpus_per_trial=NaN", "--set final.gpus_per_trial: NaN is not a number"),
    ("final.cpus_per_trial=-2", "final.cpus_per_trial: must be"),
    ("search.ray_runtime_env=[1]", "--set search.ray_runtime_env: expected a JSON object"),
    ('search.ray_runtime_env={"workdir": "."}', "search.ray_runtime_env: unknown key 'workdir'"),
    ('search.ray_runtime_env={"working_dir": "/no/such/dir"}', "search.ray_runtime_env.working_dir: not a folder"),
    ('search.ray_runtime_env={"py_modules": "m"}', "search.ray_runtime_env.py_modules: expected a list"),
    ('search.ray_runtime_env={"env_vars": {"A": 1}}', "search.ray_runtime_env.env_vars: expected an object"),
    ("final.storage_path=s3://", "final.storage_path: malformed URI"),
    ("final.storage_path=/etc/hostname", "final.storage_path: /etc/hostname exists and is not a folder"),
    ("supernet.jax_init_timeout_s=0", "supernet.jax_init_timeout_s: must be positive"),
])
def test_bad_cluster_values_name_the_field(override, msg):
    with pytest.raises(ConfigError) as e:
        smoke(override)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_multihost_environment_is_read_and_checked():
    env = {"JAX_COORDINATOR_ADDRESS": "10.0.0.1:1234", "JAX_NUM_PROCESSES": "4", "JAX_PROCESS_ID": "3"}
    assert settings_from_env(env) == ("10.0.0.1:1234", 4, 3)
    assert settings_from_env({}) == (None, None, None)  # left to JAX's cluster detection
    for bad, msg in [({"JAX_NUM_PROCESSES": "two"}, "JAX_NUM_PROCESSES: expected an integer"),
                     ({"JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "2"}, "JAX_PROCESS_ID: must be in 0..1"),
                     ({"JAX_COORDINATOR_ADDRESS": "host"}, "JAX_COORDINATOR_ADDRESS: expected host:port")]:
        with pytest.raises(InputError, match=msg):
            settings_from_env(bad)


def test_each_process_takes_its_own_contiguous_slice_of_the_global_batch():
    batch = np.arange(12)
    parts = [batch[process_slice(12, i, 3)] for i in range(3)]
    np.testing.assert_array_equal(np.concatenate(parts), batch)  # disjoint, complete, in process order
    images, labels = local_rows((np.arange(8).reshape(4, 2), np.arange(4)), process_index=1, process_count=2)
    np.testing.assert_array_equal(labels, [2, 3]) and np.testing.assert_array_equal(images, [[4, 5], [6, 7]])
    with pytest.raises(InputError, match="batch_size: 10 is not divisible by the 4 processes"):
        process_slice(10, 0, 4)


def test_conv_implementation_follows_the_backend_in_the_training_models(monkeypatch):
    """CPU operators on the CPU, native convolutions on GPU/TPU, in the models training builds."""
    import jax

    from nas.search_spaces import get_space
    from nas.train.static import build_static
    from nas.train.supernet import build_supernet

    spec = get_space("fashion_mnist").net_spec(get_space("fashion_mnist").smallest())
    assert jax.default_backend() == "cpu"
    assert build_supernet("fashion_mnist", 0).backend == "cpu" and build_static(spec, 0).backend == "cpu"
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert build_supernet("fashion_mnist", 0).backend == "native" and build_static(spec, 0).backend == "native"
    monkeypatch.setattr(jax, "default_backend", lambda: "tpu")
    assert build_static(spec, 0).backend == "native"
