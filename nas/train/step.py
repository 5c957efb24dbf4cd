"""The training step: sandwich rule with in-place distillation, as one pure jitted function.

``step(params, rest, opt_state, images, labels, archs, key, learning_rate)
-> (params, rest, opt_state, metrics)``

* ``params`` / ``rest``: the model's ``nnx.Param`` state and everything else (BatchNorm
  statistics, RNG state), from ``nnx.split(model, nnx.Param, ...)``.
* ``images`` uint8 ``[B, H, W, C]``, ``labels`` int32 ``[B]`` (sharded on the batch axis).
* ``archs``: ``{name: int32[K, ...]}``, the K subnets of this step stacked; entry 0 is the
  teacher (the largest subnet). The K subnets run in a ``lax.scan``, so the step compiles once
  for every K-tuple of subnets.
* ``key``: augmentation key of this step; ``learning_rate``: float32 scalar of this step.

Subnet 0 learns from label-smoothed hard labels; subnets 1..K-1 learn from the teacher's
softmax (stop-gradient) when ``distill`` is set, else from the hard labels too. The gradients
of the K losses are summed; ``optimizer`` (:func:`nas.train.optim.make_optimizer`) turns
them into a direction and the parameters move by ``-learning_rate`` times it. Static networks use the same step
with K = 1. ``metrics``: ``loss`` (mean over subnets), ``losses`` ``[K]``, ``grad_norm`` (of the summed
gradient), ``params_finite`` (bool: every updated parameter is finite).
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from nas.data.pipeline import augment_images, normalize


def split_model(model):
    """``(graphdef, params, rest)``: trainable parameters apart from everything else."""
    return nnx.split(model, nnx.Param, ...)


def preprocess(images, key, *, augment: bool, mean, std):
    """Augment (when set) and normalise a uint8 batch on the device."""
    if augment:
        images = augment_images(key, images)
    return normalize(images, mean, std)


def _subnet_loss(params, rest, graphdef, forward, x, labels, arch, teacher, use_teacher,
                 num_classes, label_smoothing):
    model = nnx.merge(graphdef, params, rest, copy=True)
    logits = forward(model, x, arch, train=True)
    _, _, rest = split_model(model)
    hard = optax.smooth_labels(jax.nn.one_hot(labels, num_classes), label_smoothing)
    target = jnp.where(use_teacher, teacher, hard)
    loss = optax.softmax_cross_entropy(logits, target).mean()
    return loss, (rest, jax.nn.softmax(logits))


def train_step(params, rest, opt_state, images, labels, archs, key, learning_rate, scale=None, *, graphdef, forward,
               optimizer, num_classes: int, label_smoothing: float, distill: bool, augment: bool,
               mean: tuple, std: tuple):
    """One optimizer step over the K stacked subnets (see module docstring). ``scale``: None, or a
    tree like ``params`` of float32 scalars multiplying each parameter's gradient and update (0
    freezes it: :func:`nas.train.transfer.classifier_scale`)."""
    x = preprocess(images, key, augment=augment, mean=mean, std=std)
    k = jax.tree.leaves(archs)[0].shape[0]
    grad_fn = jax.value_and_grad(_subnet_loss, has_aux=True)

    def body(carry, inp):
        grads, rest, teacher = carry
        arch, i = inp
        (loss, (rest, probs)), g = grad_fn(params, rest, graphdef, forward, x, labels, arch,
                                           teacher, distill & (i > 0), num_classes, label_smoothing)
        teacher = jnp.where(i == 0, jax.lax.stop_gradient(probs), teacher)
        return (jax.tree.map(jnp.add, grads, g), rest, teacher), loss

    zeros = jax.tree.map(jnp.zeros_like, params)
    teacher0 = jnp.zeros((labels.shape[0], num_classes), jnp.float32)
    (grads, rest, _), losses = jax.lax.scan(body, (zeros, rest, teacher0), (archs, jnp.arange(k)))
    if scale is not None:
        grads = jax.tree.map(jnp.multiply, grads, scale)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    if scale is not None:
        updates = jax.tree.map(jnp.multiply, updates, scale)
    params = optax.apply_updates(params, jax.tree.map(lambda u: -learning_rate * u, updates))
    finite = jnp.all(jnp.array([jnp.isfinite(p).all() for p in jax.tree.leaves(params)]))
    metrics = {"loss": losses.mean(), "losses": losses, "grad_norm": optax.tree.norm(grads),
               "params_finite": finite}
    return params, rest, opt_state, metrics


def make_train_step(graphdef, forward, optimizer, *, num_classes: int, label_smoothing: float,
                    distill: bool, augment: bool, mean, std):
    """:func:`train_step` with its configuration bound, jitted; state arguments are donated."""
    fn = partial(train_step, graphdef=graphdef, forward=forward, optimizer=optimizer,
                 num_classes=num_classes, label_smoothing=label_smoothing, distill=distill,
                 augment=augment, mean=tuple(mean), std=tuple(std))
    return jax.jit(fn, donate_argnums=(0, 1, 2))
