"""Scoring subnets of a trained supernet with inherited weights, for stage 1 and for the search.

The one rule for a subnet's data (:func:`subnet_inputs`): the validation split and the first
``bn_batches`` training batches (BatchNorm recalibration, no augmentation), both at the
architecture's own input resolution as the data delivers it (:func:`nas.data.at_resolution`:
streamed splits are decoded at the resolution gene; in-memory arrays are used as stored).
Supernet training's scores (:func:`evaluate_subnet`: ``val_acc_largest``/``val_acc_smallest``)
and the function the pipeline hands to the search's accuracy evaluator (:class:`SupernetScoring`)
both go through it and through :func:`nas.train.evaluate.subnet_counts`, so they agree exactly.

:class:`SupernetScoring` is a picklable value (graph definition, weights as host NumPy arrays, the
validation examples scored and the training examples recalibrated on); calling it builds, where
it runs (in process, or once in each Ray actor), the scoring function
``score(arch) -> (correct, total)`` (:class:`SubnetScorer`). The architecture reaches the compiled
functions as integer arrays (``Supernet.arch_arrays``), so one compile serves every subnet of a
resolution. Deterministic: fixed batches, no randomness.
"""
from __future__ import annotations

from dataclasses import dataclass

from nas.data.dataset import at_resolution
from nas.train.bn import calibration_batches
from nas.train.evaluate import subnet_accuracy, subnet_counts

RESOLUTIONS_HELD = 4  # a scorer keeps the inputs of this many resolutions (recalibration batches decoded)


def input_resolution(space, arch) -> int:
    """The input side of ``arch``'s network (its resolution gene)."""
    return int(space.net_spec(arch).input_shape[0])


def subnet_inputs(split, train, resolution: int, *, batch_size: int, bn_batches: int) -> tuple:
    """``(split, calibration batches)`` a subnet of input side ``resolution`` is scored on: ``split``
    and the first ``bn_batches`` batches of ``train``, both by :func:`nas.data.at_resolution`."""
    return (at_resolution(split, resolution),
            calibration_batches(at_resolution(train, resolution), batch_size, bn_batches))


def evaluate_subnet(graphdef, state, model, arch, dataset, *, batch_size: int, bn_batches: int,
                    split: str = "val") -> float:
    """Accuracy of ``arch`` with inherited weights after BN recalibration on the first
    ``bn_batches`` training batches, on the whole ``split`` of ``dataset`` (:func:`subnet_inputs`)."""
    data, calibration = subnet_inputs(getattr(dataset, split), dataset.train, input_resolution(model.space, arch),
                                      batch_size=batch_size, bn_batches=bn_batches)
    return subnet_accuracy(graphdef, state, model.arch_arrays(arch), data, calibration,
                           mean=dataset.mean, std=dataset.std, batch_size=batch_size)


@dataclass(frozen=True)
class SupernetScoring:
    """What scoring subnets of one trained supernet needs, as host data (see module doc): build it
    with :meth:`from_supernet`, call it to get the scoring function."""

    graphdef: object  # flax.nnx GraphDef of the supernet
    state: object  # its full nnx.State, leaves as NumPy arrays
    val: object  # the validation examples scored (a nas.data.Split, or a streamed split)
    train: object  # the training examples BatchNorm is recalibrated on (first bn_batches batches)
    mean: tuple
    std: tuple
    batch_size: int = 256
    bn_batches: int = 4
    eval_batches: int = 4  # validation batches scored (0: all)

    @classmethod
    def from_supernet(cls, graphdef, state, dataset, *, batch_size: int = 256, bn_batches: int = 4,
                      eval_batches: int = 4) -> SupernetScoring:
        """A trained supernet (``nnx.split`` pair, e.g. from :func:`nas.train.load_supernet`) and a
        :class:`nas.data.Dataset`; only the examples used are kept (the first ``eval_batches``
        validation batches, the first ``bn_batches`` training batches)."""
        import jax
        import numpy as np

        state = jax.tree.map(np.asarray, jax.device_get(state))
        return cls(graphdef, state, dataset.val.take(eval_batches * batch_size),
                   dataset.train.take(bn_batches * batch_size), tuple(dataset.mean), tuple(dataset.std),
                   batch_size, bn_batches, eval_batches)

    def __call__(self) -> SubnetScorer:
        return SubnetScorer(self)


class SubnetScorer:
    """``score(arch) -> (correct, total)``: top-1 hits and examples counted for ``arch`` with the
    supernet's weights (on this process's devices) after BN recalibration, on its inputs by
    :func:`subnet_inputs` (kept for the last :data:`RESOLUTIONS_HELD` resolutions)."""

    def __init__(self, scoring: SupernetScoring):
        import jax
        import jax.numpy as jnp
        from flax import nnx

        self.scoring = scoring
        self.state = jax.tree.map(jnp.asarray, scoring.state)
        self.model = nnx.merge(scoring.graphdef, self.state)  # for space and arch_arrays only
        self._inputs: dict = {}

    def inputs(self, arch) -> tuple:
        s = self.scoring
        r = input_resolution(self.model.space, arch)
        if r not in self._inputs:
            while len(self._inputs) >= RESOLUTIONS_HELD:
                self._inputs.pop(next(iter(self._inputs)))
            self._inputs[r] = subnet_inputs(s.val, s.train, r, batch_size=s.batch_size, bn_batches=s.bn_batches)
        return self._inputs[r]

    def __call__(self, arch) -> tuple[float, float]:
        s = self.scoring
        split, calibration = self.inputs(arch)
        return subnet_counts(s.graphdef, self.state, self.model.arch_arrays(arch), split, calibration,
                             mean=s.mean, std=s.std, batch_size=s.batch_size, max_batches=s.eval_batches)
