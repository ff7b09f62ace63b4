"""Shapes, options and input checks of the DCGAN and MLP networks."""

import numpy as np
import pytest

import keras_wgan
from keras_wgan import networks


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_pair_shapes(size, channels):
    g = networks.build_generator(16, size, channels, width=4)
    c = networks.build_critic(size, channels, width=4, norm="layer")
    images = g(np.zeros((2, 16), "float32"))
    assert images.shape == (2, size, size, channels)
    assert c(images).shape == (2, 1)


def test_generator_output_in_tanh_range_and_width_is_configurable():
    g = networks.build_generator(8, 32, 3, width=8, seed=1)
    out = g(np.random.default_rng(0).normal(size=(4, 8)).astype("float32") * 50).numpy()
    assert out.min() >= -1.0 and out.max() <= 1.0
    # width 8 at 32 px: project to 4x4x32, then 16, 8 channels, then the image.
    assert g.get_layer("reshape").output.shape[-1] == 32
    assert g.get_layer("up_1").output.shape[-1] == 8


@pytest.mark.parametrize(
    ("norm", "layer_type"),
    [("batch", "BatchNormalization"), ("layer", "GroupNormalization"), ("instance", "GroupNormalization")],
)
def test_critic_norm_options(norm, layer_type):
    c = networks.build_critic(32, 1, width=4, norm=norm)
    kinds = {type(layer).__name__ for layer in c.layers}
    assert layer_type in kinds
    assert sum(type(layer).__name__ == layer_type for layer in c.layers) == 2  # none after the first conv


def test_no_norm_and_selu():
    c = networks.build_critic(32, 1, width=4, norm="none")
    assert not any("Normalization" in type(layer).__name__ for layer in c.layers)
    g = networks.build_generator(8, 32, 1, width=4, activation="selu")
    assert not any("Normalization" in type(layer).__name__ for layer in g.layers)
    assert any(getattr(layer, "activation", None) is not None and "selu" in str(layer.activation) for layer in g.layers)


def test_instance_norm_normalises_each_channel_of_each_example():
    c = networks.build_critic(32, 1, width=4, norm="instance")
    layer = c.get_layer("norm_1")
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(2, 8, 8, 8)).astype("float32")
    y = layer(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(1, 2)), 1.0, atol=1e-2)


def test_mlp_pair_defaults_follow_the_toy_script():
    g = networks.build_mlp_generator()
    c = networks.build_mlp_critic()
    dense = [layer for layer in c.layers if type(layer).__name__ == "Dense"]
    assert [d.units for d in dense] == [512, 512, 512, 1]
    assert g.output_shape == (None, 2)
    assert len(networks.build_mlp_critic(width=8, depth=12).layers) > 12 * 2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: networks.build_generator(8, 48, 3), "image_size"),
        (lambda: networks.build_critic(32, 2), "channels"),
        (lambda: networks.build_critic(32, 3, norm="group"), "norm"),
        (lambda: networks.build_generator(8, 32, 3, activation="gelu"), "activation"),
        (lambda: networks.build_mlp_critic(depth=0), "depth"),
        (lambda: networks.build_generator(0, 32, 3), "latent_dim"),
    ],
)
def test_bad_arguments_give_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_wgan_gp_refuses_batchnorm_critic_unless_forced():
    g = networks.build_generator(8, 32, 1, width=4)
    c = networks.build_critic(32, 1, width=4, norm="batch")
    with pytest.raises(ValueError, match="batch normalization"):
        keras_wgan.WGANGP(g, c)
    model = keras_wgan.WGANGP(g, c, allow_batchnorm=True)
    assert model.allow_batchnorm


def test_critic_layer_norm_is_the_wgan_gp_reference_one():
    # The reference normalizes each example over (H, W, C) with one scale and one
    # offset per channel (tflib Layernorm over axes [1, 2, 3] of NCHW, epsilon 1e-5).
    c = networks.build_critic(32, 3, width=4, norm="layer", seed=0)
    norm = c.get_layer("norm_1")
    gamma = np.linspace(0.5, 2.0, 8).astype("float32")
    beta = np.linspace(-1.0, 1.0, 8).astype("float32")
    norm.set_weights([gamma, beta])
    assert [w.shape for w in norm.get_weights()] == [(8,), (8,)]  # per channel, not per element
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(2, 4, 4, 8)).astype("float32")
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    var = x.var(axis=(1, 2, 3), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * gamma + beta
    np.testing.assert_allclose(np.asarray(norm(x)), expected, rtol=1e-4, atol=1e-4)
