"""Quiet by default: what the engine's libraries print that a user did not ask for, off unless
``nas -v`` (or ``JAXNAS_VERBOSE=1``).

* Ray: its INFO lines (``Started a local Ray instance``, Tune's state-file notes), Tune's
  configuration box, "View detailed results" and TensorBoard hints (``RAY_AIR_NEW_OUTPUT=0`` with
  ``verbose=0`` prints none of them).
* JAX's ``os.fork() was called`` warning when Ray starts its processes: Ray launches them with
  ``subprocess`` and a ``preexec_fn``, a fork immediately followed by an exec of another program,
  so no JAX state is used in the child; the warning is about forks that go on running Python.
* ONNX Runtime's "Please consider to run pre-processing before quantization" (the int8 export
  quantizes graphs that jaxnas wrote itself, already shape-inferred and folded).
"""
from __future__ import annotations

import logging
import os
import warnings

_DONE = {"configured": False}


def verbose() -> bool:
    return os.environ.get("JAXNAS_VERBOSE", "") not in ("", "0")


def _not_preprocessing(record: logging.LogRecord) -> bool:
    return "pre-processing before quantization" not in record.getMessage()


def configure(loud: bool | None = None) -> None:
    """Apply the quiet settings once per process (nothing when ``loud`` or :func:`verbose`)."""
    loud = verbose() if loud is None else loud
    if loud:
        os.environ["JAXNAS_VERBOSE"] = "1"
        return
    if _DONE["configured"]:
        return
    _DONE["configured"] = True
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    for name in ("ray", "ray.tune", "ray.train", "ray.data"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger().addFilter(_not_preprocessing)
    warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)


def ray_logging_level() -> int:
    return logging.INFO if verbose() else logging.WARNING
