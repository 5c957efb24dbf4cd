"""The sandwich train step: distillation semantics against a hand-written equivalent, one trace."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from nas.search_spaces import get_space
from nas.search_spaces.supernet import Supernet
from nas.train import make_optimizer, make_train_step, split_model, subnet_sampler
from nas.train.forward import supernet_forward
from nas.train.step import preprocess

SPACE = get_space("fashion_mnist")
WD, LR, MOMENTUM, LS = 3e-5, 0.1, 0.9, 0.1


@pytest.mark.slow
def test_sandwich_step_matches_hand_written_distillation(tiny_dataset):
    ds = tiny_dataset
    model = Supernet(SPACE, rngs=nnx.Rngs(0))
    graphdef, params, rest = split_model(model)
    sample = subnet_sampler(model, SPACE, 1, seed=0)
    traces = []

    def counting_forward(m, x, arch, *, train, bn_momentum=None):
        traces.append(1)
        return supernet_forward(m, x, arch, train=train, bn_momentum=bn_momentum)

    opt = make_optimizer(WD, MOMENTUM)
    step = make_train_step(graphdef, counting_forward, opt, num_classes=10, label_smoothing=LS,
                           distill=True, augment=True, mean=ds.mean, std=ds.std)
    x, y = ds.train.images[:16], ds.train.labels[:16]
    archs, key = sample(0), jax.random.key(7)

    # hand-written: teacher = largest on smoothed labels; students on the teacher's softmax
    xn = preprocess(jnp.asarray(x), key, augment=True, mean=ds.mean, std=ds.std)

    def run(p, r, arch):
        m = nnx.merge(graphdef, p, r, copy=True)
        out = m(xn, arch, train=True)
        return out, split_model(m)[2]

    def teacher_loss(p, r):
        logits, r = run(p, r, {k: v[0] for k, v in archs.items()})
        target = optax.smooth_labels(jax.nn.one_hot(y, 10), LS)
        return optax.softmax_cross_entropy(logits, target).mean(), (r, jax.nn.softmax(logits))

    (l0, (r1, probs)), g = jax.value_and_grad(teacher_loss, has_aux=True)(params, rest)
    losses, grads, r = [l0], g, r1
    for i in (1, 2):
        def student_loss(p, r, i=i):
            logits, r = run(p, r, {k: v[i] for k, v in archs.items()})
            return optax.softmax_cross_entropy(logits, probs).mean(), r  # probs: a constant
        (li, r), gi = jax.value_and_grad(student_loss, has_aux=True)(params, r)
        losses.append(li)
        grads = jax.tree.map(jnp.add, grads, gi)
    decayed = jax.tree.map(lambda gg, p: gg + WD * p * (p.ndim >= 2), grads, params)
    expected = jax.tree.map(lambda p, d: p - LR * (1 + MOMENTUM) * d, params, decayed)  # Nesterov, step 1

    copy = lambda t: jax.tree.map(jnp.copy, t)  # noqa: E731  (the step donates its inputs)
    p1, r_new, _, metrics = step(copy(params), copy(rest), opt.init(params), x, y, archs, key, np.float32(LR))
    np.testing.assert_allclose(np.asarray(metrics["losses"]), np.asarray(losses), rtol=1e-4)
    # compare the updates p1 - p0; leaves whose true gradient is 0 (a BN bias feeding another
    # BN) carry float noise only, so the tolerance is relative to the largest update overall
    updates = [(np.asarray(a) - np.asarray(p0), np.asarray(b) - np.asarray(p0), np.abs(np.asarray(p0)).max())
               for p0, a, b in zip(jax.tree.leaves(params), jax.tree.leaves(p1), jax.tree.leaves(expected))]
    largest = max(np.abs(want).max() for _, want, _ in updates)
    assert largest > 1e-3
    for got, want, scale in updates:
        resolution = 4 * np.finfo(np.float32).eps * scale  # float32 resolution of p1 - p0
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4 * largest + resolution)
    for a, b in zip(jax.tree.leaves(r_new), jax.tree.leaves(r)):  # BN statistics of all K passes
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)

    # other subnets, other learning rates: no new trace
    n = len(traces)
    state = (p1, r_new, opt.init(p1))
    for s in (1, 2, 3):
        state = step(*state, x, y, sample(s), jax.random.key(s), np.float32(LR / s))[:3]
    assert len(traces) == n
    assert not np.array_equal(sample(1)["ks"], sample(2)["ks"])  # the subnets really differ
