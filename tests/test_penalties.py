"""The gradient penalty against closed forms and a float64 finite-difference reference."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_wgan.penalties import gradient_penalty, interpolate


def linear_critic(w):
    w = np.asarray(w, dtype="float32").reshape(-1, 1)
    critic = keras.Sequential([keras.Input((w.shape[0],)), keras.layers.Dense(1)])
    critic.layers[0].kernel.assign(w)
    critic.layers[0].bias.assign([0.7])
    return critic


@pytest.mark.parametrize("w", [[3.0, 4.0], [0.3, 0.4], [1.0, 0.0]])
def test_linear_critic_penalty_equals_closed_form(w):
    # grad_x (w.x + b) = w for every x, so GP = (||w|| - 1)^2 exactly.
    critic = linear_critic(w)
    rng = np.random.default_rng(0)
    real = rng.normal(size=(16, 2)).astype("float32")
    fake = rng.normal(size=(16, 2)).astype("float32")
    expected = (np.linalg.norm(w) - 1.0) ** 2
    assert float(gradient_penalty(critic, real, fake, seed=3)) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert 10.0 * float(gradient_penalty(critic, real, fake, seed=3)) == pytest.approx(10 * expected, rel=1e-5)


def test_one_sided_penalty_ignores_small_norms():
    real = np.ones((4, 2), "float32")
    assert float(gradient_penalty(linear_critic([0.3, 0.4]), real, -real, one_sided=True)) == pytest.approx(0.0)
    assert float(gradient_penalty(linear_critic([3.0, 4.0]), real, -real, one_sided=True)) == pytest.approx(16.0)


def test_interpolate_uses_per_example_alpha():
    real = np.array([[1.0, 1.0], [2.0, 2.0]], "float32")
    fake = np.zeros((2, 2), "float32")
    out = interpolate(real, fake, np.array([0.25, 1.0], "float32")).numpy()
    np.testing.assert_allclose(out, [[0.25, 0.25], [2.0, 2.0]])


def test_default_alpha_is_uniform_per_example():
    # With a quadratic critic C(x) = 0.5 * x^2 (1-D), grad = x_hat = alpha * r + (1 - alpha) * f;
    # with r = 1 and f = 0 the gradient norm is alpha itself, so GP = E[(alpha - 1)^2] = 1/3 for U[0, 1].
    critic = lambda x, training=None: 0.5 * tf.reduce_sum(tf.square(x), axis=1)  # noqa: E731
    real = np.ones((20000, 1), "float32")
    fake = np.zeros((20000, 1), "float32")
    gp = float(gradient_penalty(critic, real, fake, seed=7))
    assert gp == pytest.approx(1.0 / 3.0, abs=0.01)  # a normal alpha would give E[(a-1)^2] = 2


def small_conv_critic(dtype="float32"):
    inputs = keras.Input((6, 6, 2), dtype=dtype)
    x = keras.layers.Conv2D(3, 3, strides=2, padding="same", activation="tanh", dtype=dtype)(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="softplus", dtype=dtype)(x)
    x = keras.layers.Flatten(dtype=dtype)(x)
    out = keras.layers.Dense(1, dtype=dtype)(x)
    return keras.Model(inputs, out)


def test_conv_critic_penalty_matches_float64_finite_differences():
    critic32 = small_conv_critic("float32")
    critic64 = small_conv_critic("float64")
    for v32, v64 in zip(critic32.weights, critic64.weights, strict=True):
        v64.assign(v32.numpy().astype("float64"))
    rng = np.random.default_rng(1)
    real = rng.normal(size=(3, 6, 6, 2))
    fake = rng.normal(size=(3, 6, 6, 2))
    alpha = np.array([0.1, 0.5, 0.9])
    x_hat = alpha[:, None, None, None] * real + (1 - alpha[:, None, None, None]) * fake

    # Central differences of each example's score with respect to each input element, in float64.
    h = 1e-5
    expected = []
    for i in range(3):
        base = x_hat[i : i + 1]
        grad = np.zeros(base.size)
        for j in range(base.size):
            step = np.zeros(base.size)
            step[j] = h
            step = step.reshape(base.shape)
            plus = critic64(base + step).numpy().item()
            minus = critic64(base - step).numpy().item()
            grad[j] = (plus - minus) / (2 * h)
        expected.append((np.linalg.norm(grad) - 1.0) ** 2)
    got = gradient_penalty(critic32, real.astype("float32"), fake.astype("float32"), alpha=alpha.astype("float32"))
    assert float(got) == pytest.approx(np.mean(expected), rel=1e-4)


def test_no_nan_when_real_equals_fake_or_gradient_is_zero():
    x = np.random.default_rng(2).normal(size=(8, 6, 6, 2)).astype("float32")
    critic = small_conv_critic()
    assert np.isfinite(float(gradient_penalty(critic, x, x)))

    zero = linear_critic([0.0, 0.0])  # input gradient exactly 0: sqrt needs the epsilon
    pts = np.ones((4, 2), "float32")
    with tf.GradientTape() as tape:
        gp = gradient_penalty(zero, pts, pts)
    kernel_grad = tape.gradient(gp, zero.layers[0].kernel)  # the bias does not enter the penalty
    assert float(gp) == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.isfinite(kernel_grad.numpy()))


def test_penalty_gradient_reaches_critic_weights_inside_tf_function():
    critic = linear_critic([3.0, 4.0])
    real = np.ones((4, 2), "float32")

    @tf.function
    def penalty_grads():
        with tf.GradientTape() as tape:
            gp = gradient_penalty(critic, real, -real, alpha=tf.fill([4], 0.5))
        return tape.gradient(gp, critic.layers[0].kernel)

    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 4 * [3, 4] / 5
    np.testing.assert_allclose(penalty_grads().numpy().ravel(), [4.8, 6.4], rtol=1e-5)
