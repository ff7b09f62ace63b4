"""Each loss equals its formula, computed by hand with NumPy, on hand-made logits."""

import numpy as np
import pytest

from keras_wgan import losses

pytestmark = pytest.mark.backends  # pure keras.ops: also run under KERAS_BACKEND=jax

REAL = np.array([[2.0], [-1.0], [0.5], [3.0]], dtype="float32")
FAKE = np.array([[-2.0], [0.0], [1.5], [-0.5]], dtype="float32")


def log_sigmoid(x):
    return -np.log1p(np.exp(-x))


def log1m_sigmoid(x):  # log(1 - sigmoid(x))
    return -np.log1p(np.exp(x))


def test_nonsaturating_critic_loss_is_binary_cross_entropy():
    r, f = REAL.ravel().astype("float64"), FAKE.ravel().astype("float64")
    expected = -np.mean(log_sigmoid(r)) - np.mean(log1m_sigmoid(f))
    assert float(losses.nonsaturating_critic_loss(REAL, FAKE)) == pytest.approx(expected, rel=1e-6)


def test_nonsaturating_generator_loss():
    expected = -np.mean(log_sigmoid(FAKE.ravel().astype("float64")))
    assert float(losses.nonsaturating_generator_loss(FAKE)) == pytest.approx(expected, rel=1e-6)


def test_nonsaturating_loss_by_hand_at_zero_logits():
    zeros = np.zeros((3, 1), "float32")
    assert float(losses.nonsaturating_critic_loss(zeros, zeros)) == pytest.approx(2 * np.log(2), rel=1e-6)
    assert float(losses.nonsaturating_generator_loss(zeros)) == pytest.approx(np.log(2), rel=1e-6)


def test_relativistic_standard_losses():
    r, f = REAL.ravel().astype("float64"), FAKE.ravel().astype("float64")
    assert float(losses.relativistic_standard_critic_loss(REAL, FAKE)) == pytest.approx(
        -np.mean(log_sigmoid(r - f)), rel=1e-6
    )
    assert float(losses.relativistic_standard_generator_loss(REAL, FAKE)) == pytest.approx(
        -np.mean(log_sigmoid(f - r)), rel=1e-6
    )


def test_relativistic_average_losses():
    r, f = REAL.ravel().astype("float64"), FAKE.ravel().astype("float64")
    d = -np.mean(log_sigmoid(r - f.mean())) - np.mean(log1m_sigmoid(f - r.mean()))
    g = -np.mean(log_sigmoid(f - r.mean())) - np.mean(log1m_sigmoid(r - f.mean()))
    assert float(losses.relativistic_average_critic_loss(REAL, FAKE)) == pytest.approx(d, rel=1e-6)
    assert float(losses.relativistic_average_generator_loss(REAL, FAKE)) == pytest.approx(g, rel=1e-6)


def test_relativistic_average_losses_with_given_means():
    # Under a strategy the means are the global batch's: here 0.3 and -0.7, not the batch's own.
    r, f = REAL.ravel().astype("float64"), FAKE.ravel().astype("float64")
    d = -np.mean(log_sigmoid(r - (-0.7))) - np.mean(log1m_sigmoid(f - 0.3))
    g = -np.mean(log_sigmoid(f - 0.3)) - np.mean(log1m_sigmoid(r - (-0.7)))
    got_d = losses.relativistic_average_critic_loss(REAL, FAKE, real_mean=0.3, fake_mean=-0.7)
    got_g = losses.relativistic_average_generator_loss(REAL, FAKE, real_mean=0.3, fake_mean=-0.7)
    assert float(got_d) == pytest.approx(d, rel=1e-6)
    assert float(got_g) == pytest.approx(g, rel=1e-6)


def test_wasserstein_losses_and_estimate():
    # mean(REAL) = 1.125, mean(FAKE) = -0.25, by hand.
    assert float(losses.wasserstein_critic_loss(REAL, FAKE)) == pytest.approx(-0.25 - 1.125)
    assert float(losses.wasserstein_generator_loss(FAKE)) == pytest.approx(0.25)
    assert float(losses.wasserstein_estimate(REAL, FAKE)) == pytest.approx(1.375)


def test_losses_accept_flat_and_column_shapes():
    a = float(losses.relativistic_average_critic_loss(REAL, FAKE))
    b = float(losses.relativistic_average_critic_loss(REAL.ravel(), FAKE.ravel()))
    assert a == pytest.approx(b)


def test_large_logits_stay_finite():
    big = np.array([[200.0], [-200.0]], "float32")
    for value in (
        losses.nonsaturating_critic_loss(big, -big),
        losses.relativistic_standard_critic_loss(big, -big),
        losses.relativistic_average_critic_loss(big, -big),
    ):
        assert np.isfinite(float(value))
