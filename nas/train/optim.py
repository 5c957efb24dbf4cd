"""Optimizer: SGD with Nesterov momentum, L2 weight decay on kernels, warm-up + cosine schedule.

The learning rate is not baked into the compiled step: :func:`make_optimizer` gives the
direction (weight decay + Nesterov momentum, ``optax.sgd`` without its final scaling) and the
step multiplies it by ``-learning_rate``, a scalar argument the host reads from
:func:`make_schedule`. The result equals ``optax.sgd(schedule, momentum, nesterov=True)``
after ``add_decayed_weights``, and one compiled step serves every learning rate.

SGD-momentum is the optimizer of the once-for-all / BigNAS supernet recipes for MobileNet-style
spaces; with the gradients of several subnets summed per step it is stable at the usual
learning rates (0.05-0.1 for batch 256). Weight decay applies to parameters with two or more
dimensions (conv and dense kernels), not to BatchNorm scales/biases or dense biases.
"""
from __future__ import annotations

import jax
import optax


def make_schedule(learning_rate: float, total_steps: int, warmup_steps: int) -> optax.Schedule:
    """Linear warm-up from 0 to ``learning_rate`` over ``warmup_steps``, then cosine to 0."""
    total_steps = max(int(total_steps), 1)
    warmup_steps = min(max(int(warmup_steps), 0), total_steps - 1)
    return optax.warmup_cosine_decay_schedule(0.0, learning_rate, warmup_steps, total_steps, 0.0)


def decay_mask(params):
    """True for leaves with ``ndim >= 2`` (kernels): those get weight decay."""
    return jax.tree.map(lambda p: p.ndim >= 2, params)


def make_optimizer(weight_decay: float, momentum: float = 0.9) -> optax.GradientTransformation:
    """``add_decayed_weights`` (masked) then Nesterov momentum; scale by ``-lr`` afterwards."""
    return optax.chain(
        optax.add_decayed_weights(weight_decay, mask=decay_mask),
        optax.trace(decay=momentum, nesterov=True),
    )
