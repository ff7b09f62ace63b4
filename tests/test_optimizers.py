"""RMSpropEpsOutside steps like the WGAN reference's torch.optim.RMSprop(lr, alpha=0.99, eps=1e-8)."""

import math

import keras
import numpy as np
import pytest

from keras_wgan import optimizers, variants


def torch_rmsprop_steps(grads, lr=5e-5, alpha=0.99, eps=1e-8):
    """The reference update written out: v = a v + (1 - a) g^2; w -= lr g / (sqrt(v) + eps)."""
    w, v, out = 0.0, 0.0, []
    for g in grads:
        v = alpha * v + (1 - alpha) * g * g
        w -= lr * g / (math.sqrt(v) + eps)
        out.append(w)
    return out


@pytest.mark.parametrize("g", [1e-6, 1e-2])
def test_first_steps_match_the_reference_by_hand(g):
    # By hand, step 1: v = 0.01 g^2, w = -lr g / (0.1 |g| + 1e-8);
    # step 2: v = 0.0199 g^2, w -= lr g / (sqrt(0.0199) |g| + 1e-8).
    lr = 5e-5
    step1 = -lr * g / (0.1 * g + 1e-8)
    step2 = step1 - lr * g / (math.sqrt(0.0199) * g + 1e-8)
    assert torch_rmsprop_steps([g, g]) == pytest.approx([step1, step2], rel=1e-12)
    if g == 1e-6:
        assert step1 == pytest.approx(-lr * 1e-6 / 1.1e-7)  # 9.09 lr: the clipped-critic regime
    w = keras.Variable(np.zeros(1, np.float64), dtype="float64")
    opt = variants.get("wgan").make_optimizer()
    got = []
    for _ in range(2):
        opt.apply([keras.ops.convert_to_tensor(np.array([g]))], [w])
        got.append(float(w.numpy()[0]))
    np.testing.assert_allclose(got, [step1, step2], rtol=1e-6)  # the learning rate is stored in float32


def test_keras_rmsprop_is_hundreds_of_times_slower_at_tiny_gradients():
    # Why the variant does not use keras.optimizers.RMSprop: epsilon inside the square root.
    w = keras.Variable(np.zeros(1, np.float64), dtype="float64")
    keras.optimizers.RMSprop(5e-5, rho=0.99).apply([keras.ops.convert_to_tensor(np.array([1e-6]))], [w])
    keras_step = -float(w.numpy()[0])
    reference_step = -torch_rmsprop_steps([1e-6])[0]
    assert reference_step / keras_step > 100


def test_wgan_variant_uses_it_and_it_round_trips():
    opt = variants.get("wgan").make_optimizer()
    assert isinstance(opt, optimizers.RMSpropEpsOutside)
    assert opt.rho == 0.99 and opt.epsilon == 1e-8 and float(opt.learning_rate) == pytest.approx(5e-5)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert isinstance(again, optimizers.RMSpropEpsOutside) and again.epsilon == 1e-8


def test_centered_and_momentum_forms_by_hand():
    g, lr = 1e-3, 1e-2
    w = keras.Variable(np.zeros(1, np.float64), dtype="float64")
    opt = optimizers.RMSpropEpsOutside(lr, centered=True, momentum=0.5)
    for _ in range(2):
        opt.apply([keras.ops.convert_to_tensor(np.array([g]))], [w])
    # v1 = 0.01 g^2, m1 = 0.01 g: denom1 = sqrt(0.01 g^2 - 1e-4 g^2) + eps; b1 = lr g / denom1
    d1 = math.sqrt(0.01 * g * g - (0.01 * g) ** 2) + 1e-8
    b1 = lr * g / d1
    v2, m2 = 0.0199 * g * g, 0.0199 * g
    d2 = math.sqrt(v2 - m2 * m2) + 1e-8
    b2 = 0.5 * b1 + lr * g / d2
    np.testing.assert_allclose(float(w.numpy()[0]), -(b1 + b2), rtol=1e-6)  # the learning rate is stored in float32
