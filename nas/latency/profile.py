"""A hardware profile as a value: device metadata plus its fitted latency predictor.

A :class:`Profile` predicts; it never fits. Fitting happens once, at fit time
(:mod:`nas.latency.fit`, ``nas profile fit|calibrate|refit``), and every weight vector a
prediction uses is stored in the profile's YAML (:mod:`nas.latency.profile_io`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nas.errors import InputError
from nas.latency.encodings import transfer_features
from nas.latency.features import Hardware, arch_features, features_from_table, op_table
from nas.latency.lookup import LookupTable
from nas.latency.model import predict
from nas.latency.transfer import SpaceModel


@dataclass(frozen=True)
class MeasurementRef:
    space: str
    csv: Path
    column: str = "latency_ms"


@dataclass
class Profile:
    """A loaded profile. ``weights`` maps a space name or ``"default"`` to a weight vector;
    ``space_models`` maps encodable spaces to log-linear models that refine the physics
    prediction for that space (spaces without one use the physics weights alone).
    ``prior_weights`` (profiles with enough measurements) is the non-negative fit offered as a
    prior to other profiles; ``outside_weights`` (profiles with fewer) is the non-negative fit
    with the shipped profiles as prior: one of them serves networks outside the measured spaces."""

    name: str
    device: str
    runtime: str
    batch_size: int
    source: str
    spaces: tuple[str, ...]
    measurements: tuple[MeasurementRef, ...]
    hardware: Hardware
    weights: dict[str, np.ndarray]
    peak_gflops: float | None = None
    bandwidth_gbs: float | None = None
    memory_gb: float | None = None
    prior_weights: np.ndarray | None = None
    extra: dict = field(default_factory=dict)
    path: Path | None = None
    space_models: dict[str, SpaceModel] = field(default_factory=dict)
    outside_weights: np.ndarray | None = None
    # a latency lookup table (nas profile from-lut): predictions are its entries summed, nothing fitted
    lut: LookupTable | None = None

    def weights_for(self, space: str) -> np.ndarray:
        """Physics weights for ``space``: its own fit where the device was measured in it; in a
        space it was never measured in, :meth:`weights_outside` (a signed fit's corrections do
        not carry over to other spaces and can go below zero there:
        ``python -m experiments.benchmarks.latency_predictor --cross-space``)."""
        if space in self.weights:
            return self.weights[space]
        if space not in self.spaces:
            return self.weights_outside()
        return self.weights["default"]

    def weights_outside(self) -> np.ndarray:
        """Non-negative physics weights for networks outside the measured spaces (other spaces,
        reference models): ``prior_weights``, else ``outside_weights``, else (a profile written
        before outside weights were stored: re-fit it with ``nas profile refit``) the ``default`` fit."""
        for w in (self.prior_weights, self.outside_weights):
            if w is not None:
                return w
        return self.weights["default"]

    def predict_ms(self, archs) -> np.ndarray:
        """Predicted latency (ms) per architecture, input order; archs may mix spaces (a
        lookup-table profile: archs of its space only, InputError otherwise)."""
        archs = list(archs)
        if self.lut is not None:
            return self._finite(np.asarray(self._lut(lambda: self.lut.predict_ms(archs)), dtype=float))
        out = np.empty(len(archs))
        for space in {a.space for a in archs}:
            idx = [i for i, a in enumerate(archs) if a.space == space]
            sel = [archs[i] for i in idx]
            out[idx] = predict(arch_features(sel, self.hardware), self.weights_for(space))
            if space in self.space_models:
                out[idx] = self.space_models[space].predict_ms(transfer_features(sel), out[idx])
        return self._finite(out)

    def predict_specs_ms(self, specs) -> np.ndarray:
        """Predicted latency (ms) of networks given as NetSpecs outside the search spaces
        (reference models), with :meth:`weights_outside` (a signed fit of one space does not
        extrapolate to other networks)."""
        from nas.search_spaces import expand_ops

        if self.lut is not None:
            return np.asarray(self._lut(lambda: [self.lut.network_ms(s) for s in specs]), dtype=float)
        f = np.stack([features_from_table(op_table(expand_ops(s)), self.hardware) for s in specs])
        return self._finite(predict(f, self.weights_outside()))

    def _lut(self, fn):
        """``fn()``, its InputError prefixed with this profile's name and file."""
        try:
            return fn()
        except InputError as e:
            raise InputError(f"profile {self.name!r} ({self.path}): {e}") from None

    def _finite(self, ms: np.ndarray) -> np.ndarray:
        """``ms`` unless a prediction is not finite (weights that overflow): InputError naming the profile."""
        with np.errstate(over="ignore", invalid="ignore"):
            ok = np.isfinite(ms)
        if not ok.all():
            raise InputError(f"profile {self.name!r} ({self.path}): predicts a non-finite latency; "
                             "its predictor weights are out of range (re-fit it)")
        return ms
