"""Joining or starting Ray: the one place that calls ``ray.init``.

``address=""`` starts a local instance (no dashboard, ``RAY_AUTH_MODE=disabled`` unless set);
anything else joins that cluster (``"auto"``, ``"ray://host:10001"``, ``"HOST:6379"``).
``runtime_env`` (``search.ray_runtime_env``) is the job's Ray runtime environment: a
``working_dir`` or ``py_modules`` shipped to every worker node, ``env_vars``, ``pip``, ...

:func:`worker_env` is the one rule for the JAX environment of a Ray worker (search actor or
final-training trial) by the GPUs it reserves; :func:`driver_env` is the driver's.
"""
from __future__ import annotations

import os


def ensure_ray(address: str = "", *, num_cpus: int | None = None, field: str = "search.ray_address",
               runtime_env: dict | None = None) -> bool:
    """Initialise Ray in this process unless it already is; returns whether this call started
    it (the caller then owns ``ray.shutdown()``). A cluster that cannot be joined raises
    InputError naming ``field`` and the address."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from nas.quiet import configure, ray_logging_level

    configure()
    import ray

    if ray.is_initialized():
        return False
    if address:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, runtime_env=runtime_env or None,
                     logging_level=ray_logging_level())
        except (ConnectionError, ValueError, RuntimeError) as e:
            from nas.errors import InputError

            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise InputError(f"{field}: cannot join Ray at {address!r}: {first}") from None
    else:
        # "local": a new instance of this run's own, never one another program started here
        # (without it, ray.init joins any Ray instance it finds running on this machine)
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), include_dashboard=False,
                 log_to_driver=False, runtime_env=runtime_env or None, logging_level=ray_logging_level())
    return True


MEM_FRACTION_OF_SHARE = 0.9  # of a fractional GPU share: room for the CUDA context and cuDNN workspaces


def worker_env(gpus: float, user_env_vars: dict | None = None) -> dict[str, str]:
    """Environment variables for a Ray worker that reserves ``gpus`` GPUs, to be set before
    JAX starts a backend in it; ``user_env_vars`` (``search.ray_runtime_env["env_vars"]``) win.

    * ``0 < gpus < 1`` (a share of one GPU, Ray sets ``CUDA_VISIBLE_DEVICES`` to it):
      ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` and ``XLA_PYTHON_CLIENT_MEM_FRACTION`` =
      0.9 x ``gpus`` (e.g. ``"0.225"`` for 0.25), so the workers sharing a GPU neither reserve
      75% of it each at start (JAX's default) nor grow past their share.
    * ``gpus >= 1`` (whole GPUs of its own): nothing; JAX's default (preallocate 75%) is right.
    * ``gpus == 0``: ``CUDA_VISIBLE_DEVICES=""``: a worker that reserved no GPU sees none, so
      JAX runs it on the CPU instead of taking GPU memory the scheduler gave to others (Ray
      since 2.47 leaves ``CUDA_VISIBLE_DEVICES`` alone for such workers).

    A user's ``XLA_CLIENT_MEM_FRACTION`` (JAX's newer name) replaces the engine's fraction:
    jaxlib refuses both names at once.
    """
    if gpus <= 0:
        env = {"CUDA_VISIBLE_DEVICES": ""}
    elif gpus < 1:
        env = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false",
               "XLA_PYTHON_CLIENT_MEM_FRACTION": f"{MEM_FRACTION_OF_SHARE * gpus:.4g}"}
    else:
        env = {}
    user = dict(user_env_vars or {})
    if "XLA_CLIENT_MEM_FRACTION" in user:
        env.pop("XLA_PYTHON_CLIENT_MEM_FRACTION", None)
    return {**env, **user}


def driver_env(cfg) -> bool:
    """In the driver (``nas run``), before JAX starts a backend: when search actors
    (``search.num_workers`` > 0) or final trials reserve GPUs, set
    ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` unless the environment sets it, so the driver's JAX
    client, kept after stage 1, holds what it used rather than 75% of its GPU. Returns whether
    it set it (False also when a JAX backend already runs: too late to matter)."""
    s, f = cfg.search, cfg.final
    if not ((s.num_workers > 0 and s.gpus_per_worker > 0) or f.gpus_per_trial > 0):
        return False
    if "XLA_PYTHON_CLIENT_PREALLOCATE" in os.environ:
        return False
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized():
        return False
    os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    return True
