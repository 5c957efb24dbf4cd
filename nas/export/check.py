"""How an exported model is checked against the JAX network it came from: the inputs both run
on (:func:`check_input`) and the error raised when they disagree (:class:`ExportError`).
Shared by every format's exporter (:mod:`nas.export.artifacts`, :mod:`nas.export.litert`)."""
from __future__ import annotations

import numpy as np

from nas.errors import InputError


class ExportError(InputError):
    """An exported model disagrees with the JAX network beyond tolerance (the CLI prints one
    line and exits with status 2, like any bad model)."""


def check_input(input_shape, batch: int | None, *, raw_pixels: bool, seed: int) -> np.ndarray:
    """Random float32 inputs ``[n, *input_shape]`` (``n``: ``batch``, at least 2; 2 for a
    symbolic batch) seeded by ``seed``: raw pixels uniform in 0..255 for graphs that normalise
    inside, else standard normal values (inputs already normalised)."""
    n = 2 if batch is None else max(2, int(batch))
    rng = np.random.default_rng(seed)
    if raw_pixels:
        return rng.uniform(0, 255, size=(n, *input_shape)).astype(np.float32)
    return rng.normal(size=(n, *input_shape)).astype(np.float32)
