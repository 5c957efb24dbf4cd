"""Transfer: a supernet trained on other data carried to a run's data with another class count.

The body (every weight and BatchNorm statistic whose place and shape the run's supernet shares)
is copied from the trained supernet; the classifier, the one layer whose shape depends on the
class count, starts fresh (:func:`transplant`). Progressive shrinking's ``head`` phase then trains
the classifier alone (:func:`classifier_scale`: the step's gradient and update are multiplied by
1 on the classifier, 0 elsewhere) before the elastic phases fine-tune everything.
"""
from __future__ import annotations

import jax
import numpy as np


def _key(path) -> tuple:
    return tuple(getattr(k, "key", getattr(k, "idx", getattr(k, "name", None))) for k in path)


def transplant(source, target):
    """``target`` (a freshly initialised module) with every leaf of ``source``'s state that has the
    same path and shape; returns ``(target, kept)``: ``kept`` lists the paths left as initialised."""
    from flax import nnx

    have = {_key(p): leaf for p, leaf in jax.tree_util.tree_flatten_with_path(nnx.state(source))[0]}
    kept = []

    def pick(path, leaf):
        got = have.get(_key(path))
        if got is not None and np.shape(got) == np.shape(leaf) and np.asarray(got).dtype == np.asarray(leaf).dtype:
            return got
        kept.append("/".join(str(k) for k in _key(path)[:-1]))
        return leaf

    nnx.update(target, jax.tree_util.tree_map_with_path(pick, nnx.state(target)))
    return target, kept


def classifier_scale(params, model, head_only: bool):
    """A tree shaped like ``params`` of float32 scalars: 1 on the classifier (the supernet's last
    head layer) and ``0`` elsewhere when ``head_only``, else 1 everywhere."""
    last = len(model.head) - 1

    def scale(path, _):
        k = _key(path)
        return np.float32(1.0 if not head_only or k[:2] == ("head", last) else 0.0)

    return jax.tree_util.tree_map_with_path(scale, params)
