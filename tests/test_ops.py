"""The cpu conv implementation equals lax's native convolution, values and gradients."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nas.search_spaces.ops import (
    ACTIVATION_NAMES,
    activation,
    channel_shuffle,
    conv2d,
    depthwise_conv2d,
    pointwise,
    resolve_backend,
)

# (H, W, C_in, k, stride, groups, C_out): depthwise (odd sizes, stride 2; weight gradient by
# scanned taps when the image is large next to the kernel, else by the spatial matrix),
# grouped and dense 1x1, strided 1x1, dense 3x3 stem
CASES = [(7, 9, 8, 3, 2, 8, 8), (10, 10, 4, 3, 1, 4, 4), (8, 8, 6, 5, 1, 6, 6), (9, 7, 4, 7, 2, 4, 4),
         (6, 6, 8, 1, 1, 2, 12), (7, 7, 5, 1, 2, 1, 3), (5, 5, 3, 3, 2, 1, 4), (4, 5, 6, 7, 1, 6, 6)]


@pytest.mark.parametrize("h,w,cin,k,s,g,cout", CASES)
def test_cpu_matches_native_values_and_grads(h, w, cin, k, s, g, cout):
    x = jax.random.normal(jax.random.key(0), (2, h, w, cin))
    wt = jax.random.normal(jax.random.key(1), (k, k, cin // g, cout))

    def loss(backend):
        return lambda x, wt: jnp.sum(jnp.sin(conv2d(x, wt, stride=s, groups=g, backend=backend)))

    yc = conv2d(x, wt, stride=s, groups=g, backend="cpu")
    yn = conv2d(x, wt, stride=s, groups=g, backend="native")
    assert yc.shape == (2, -(-h // s), -(-w // s), cout)
    np.testing.assert_allclose(yc, yn, rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.grad(loss("cpu"), (0, 1))(x, wt), jax.grad(loss("native"), (0, 1))(x, wt)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_depthwise_and_pointwise_entry_points():
    x = jax.random.normal(jax.random.key(2), (1, 6, 6, 4))
    w = jax.random.normal(jax.random.key(3), (3, 3, 1, 4))
    np.testing.assert_allclose(depthwise_conv2d(x, w, stride=2, backend="cpu"),
                               conv2d(x, w, stride=2, groups=4, backend="native"), atol=1e-5)
    w1 = jax.random.normal(jax.random.key(4), (1, 1, 4, 5))
    np.testing.assert_allclose(pointwise(x, w1), conv2d(x, w1, backend="native"), atol=1e-5)


def test_activations_and_errors():
    x = jnp.linspace(-8.0, 8.0, 33)
    for name in ACTIVATION_NAMES:
        assert activation(name, x).shape == x.shape
    np.testing.assert_allclose(activation("hswish", x), x * np.clip(x + 3, 0, 6) / 6, atol=1e-6)
    np.testing.assert_allclose(activation("relu6", x), np.clip(x, 0, 6))
    np.testing.assert_allclose(activation("hsigmoid", x), np.clip(x + 3, 0, 6) / 6, atol=1e-6)
    with pytest.raises(ValueError, match="gelu"):
        activation("gelu", x)
    with pytest.raises(ValueError, match="tpu_magic"):
        resolve_backend("tpu_magic")
    with pytest.raises(ValueError, match="odd"):
        conv2d(jnp.ones((1, 4, 4, 2)), jnp.ones((2, 2, 2, 2)))


def test_channel_shuffle_interleaves_groups():
    x = jnp.arange(6.0).reshape(1, 1, 1, 6)
    np.testing.assert_array_equal(channel_shuffle(x, 2).ravel(), [0, 3, 1, 4, 2, 5])
    np.testing.assert_array_equal(channel_shuffle(x, 1), x)
