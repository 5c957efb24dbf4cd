"""Multi-host JAX: joining the processes of one training run, and who does what.

Every host runs the same command. The processes find each other the way JAX does: from
``JAX_COORDINATOR_ADDRESS`` (``host:port`` of process 0), ``JAX_NUM_PROCESSES`` and
``JAX_PROCESS_ID``; whatever is unset is left to JAX's cluster detection (SLURM, Open MPI,
Kubernetes, Cloud TPU). After :func:`initialize`, ``jax.devices()`` lists the devices of every
process, the training mesh spans them all, and each process feeds only its slice of each
global batch (:func:`process_slice`). Files are written by process 0 only
(:func:`is_main_process`); checkpoints are saved and restored by all processes together
(Orbax coordinates them). :func:`leave` ends the multi-host part: every process disconnects,
and process 0 goes on as a single-process program (stages 2-4) while the others stop.

A process that cannot reach the coordinator within ``timeout_s`` raises :class:`InputError`
naming the address instead of JAX's abort (JAX aborts the process when the coordinator is
unreachable, so the address is probed first).
"""
from __future__ import annotations

import itertools
import os
import socket
import time

from nas.errors import InputError

ENV_ADDRESS, ENV_NUM, ENV_ID = "JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"
_BARRIERS = itertools.count()  # every process calls the same barriers in the same order
LEAVE_TIMEOUT_S = 24 * 3600  # how long the other processes wait for process 0 to finish stage 1


def _env_int(environ, name: str) -> int | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InputError(f"{name}: expected an integer, got {raw!r}") from None


def settings_from_env(environ=None) -> tuple[str | None, int | None, int | None]:
    """``(coordinator_address, num_processes, process_id)`` from the environment (None: unset);
    InputError for a malformed value."""
    environ = os.environ if environ is None else environ
    address = environ.get(ENV_ADDRESS, "").strip() or None
    num, pid = _env_int(environ, ENV_NUM), _env_int(environ, ENV_ID)
    if num is not None and num < 1:
        raise InputError(f"{ENV_NUM}: must be at least 1, got {num}")
    if pid is not None and (pid < 0 or (num is not None and pid >= num)):
        raise InputError(f"{ENV_ID}: must be in 0..{(num or 1) - 1}, got {pid}")
    if address is not None:
        split_address(address)
    return address, num, pid


def split_address(address: str) -> tuple[str, int]:
    """``("host", port)`` of ``host:port`` or ``[v6]:port``; InputError naming the address."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"{ENV_ADDRESS}: expected host:port, got {address!r}")
    return host.strip("[]"), int(port)


def wait_for_coordinator(address: str, timeout_s: float) -> None:
    """Return once a TCP connection to ``address`` succeeds; InputError after ``timeout_s``."""
    host, port = split_address(address)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=min(2.0, max(0.1, timeout_s))):
                return
        except OSError as e:
            if time.monotonic() >= deadline:
                reason = e.strerror or type(e).__name__
                raise InputError(f"cannot reach the JAX coordinator at {address} within {timeout_s:g} s "
                                 f"({reason}); check {ENV_ADDRESS} and that process 0 is running") from None
            time.sleep(0.2)


def initialize(*, timeout_s: float = 300, coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
    """Join the run's processes (``jax.distributed.initialize``) unless already joined.

    Arguments override the environment (:func:`settings_from_env`). Must run before any JAX
    computation. InputError when the coordinator cannot be reached within ``timeout_s``
    seconds or JAX refuses the settings (one line)."""
    import jax

    if jax.distributed.is_initialized():
        return
    env_address, env_num, env_pid = settings_from_env()
    address = coordinator_address or env_address
    num = num_processes if num_processes is not None else env_num
    pid = process_id if process_id is not None else env_pid
    t0 = time.monotonic()
    if address is not None and pid not in (None, 0):  # process 0 hosts the coordinator itself
        wait_for_coordinator(address, timeout_s)
    remaining = max(1, int(round(timeout_s - (time.monotonic() - t0))))
    try:
        jax.distributed.initialize(address, num, pid, initialization_timeout=remaining)
    except (ValueError, TypeError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"jax.distributed.initialize: {first} (set {ENV_ADDRESS}, {ENV_NUM}, {ENV_ID}, or "
                         "supernet.jax_distributed=false for one process)") from None


def is_multihost() -> bool:
    import jax

    return jax.distributed.is_initialized() and jax.process_count() > 1


def is_main_process() -> bool:
    """Whether this process writes files and runs the single-process stages (process 0)."""
    import jax

    return jax.process_index() == 0


def process_slice(global_size: int, process_index: int, process_count: int) -> slice:
    """The rows of a global batch of ``global_size`` that process ``process_index`` of
    ``process_count`` loads and feeds: contiguous, equal parts in process order."""
    if process_count < 1 or not 0 <= process_index < process_count:
        raise ValueError(f"process {process_index} of {process_count}")
    if global_size % process_count:
        raise InputError(f"batch_size: {global_size} is not divisible by the {process_count} processes")
    local = global_size // process_count
    return slice(process_index * local, (process_index + 1) * local)


def local_rows(tree, process_index: int | None = None, process_count: int | None = None):
    """This process's slice (:func:`process_slice`) of every array in ``tree`` (first axis)."""
    import jax

    pi = jax.process_index() if process_index is None else process_index
    pc = jax.process_count() if process_count is None else process_count
    if pc == 1:
        return tree
    return jax.tree.map(lambda a: a[process_slice(len(a), pi, pc)], tree)


def wait_for_all(name: str, timeout_s: float = LEAVE_TIMEOUT_S) -> None:
    """Block until every process of a multi-host run has called ``wait_for_all(name)``.

    A barrier of JAX's coordination service, not a collective on the devices: CPU (gloo)
    collectives give up after 30 s when one process is late (still loading data, building
    the model, or scoring), the coordination service waits ``timeout_s``. A no-op on one process.
    """
    import jax
    from jax._src.distributed import global_state

    if global_state.client is not None and jax.process_count() > 1:
        global_state.client.wait_at_barrier(f"{name}_{next(_BARRIERS)}", timeout_in_ms=int(timeout_s * 1000))


def leave() -> bool:
    """End the multi-host part of a program: every process calls it at the same point; all
    disconnect, JAX's backends are reset, and this process continues as a single-process JAX
    program. Returns whether it is process 0 (which goes on); a no-op returning True when the
    program is not multi-host."""
    import jax

    if not jax.distributed.is_initialized():
        return True
    main = jax.process_index() == 0
    wait_for_all("nas_leave", LEAVE_TIMEOUT_S)  # process 0 may still be scoring the supernet
    jax.distributed.shutdown()
    import jax.extend.backend

    jax.extend.backend.clear_backends()
    try:  # Orbax caches a signaling client of the coordination service just shut down
        from orbax.checkpoint._src.futures import signaling_client

        signaling_client.get_signaling_client.cache_clear()
    except (ImportError, AttributeError):
        pass
    return main
