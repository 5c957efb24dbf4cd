"""Joining or starting Ray: the one place that calls ``ray.init``.

``address=""`` starts a local instance (no dashboard, ``RAY_AUTH_MODE=disabled`` unless set);
anything else joins that cluster (``"auto"``, ``"ray://host:10001"``, ``"HOST:6379"``).
``runtime_env`` (``search.ray_runtime_env``) is the job's Ray runtime environment: a
``working_dir`` or ``py_modules`` shipped to every worker node, ``env_vars``, ``pip``, ...
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
    import ray

    if ray.is_initialized():
        return False
    if address:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, runtime_env=runtime_env or None)
        except (ConnectionError, ValueError, RuntimeError) as e:
            from nas.errors import InputError

            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise InputError(f"{field}: cannot join Ray at {address!r}: {first}") from None
    else:
        # "local": a new instance of this run's own, never one another program started here
        # (without it, ray.init joins any Ray instance it finds running on this machine)
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), include_dashboard=False,
                 log_to_driver=False, runtime_env=runtime_env or None)
    return True
