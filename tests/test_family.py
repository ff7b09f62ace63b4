"""The successors of WGAN-GP: hinge loss, spectral normalization, WGAN-LP, DRAGAN, R1/R2, WGAN-div.

The penalties by hand on a linear critic ``C(x) = w.x`` (its input gradient is
``w`` everywhere), their gradients with respect to ``w`` by hand (double
back-propagation), the networks, the combinations that make no sense, and
each member through ``train.py`` with every callback and ``evaluate.py``.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import run_cli

import keras_wgan
from keras_wgan import losses, networks, penalties, variants
from keras_wgan.config import TrainConfig
from keras_wgan.spectral_norm import SpectralNormalization

NEW = ("sngan", "wgan_lp", "dragan", "r1", "wgan_div")
# The members with state or randomness of their own beyond WGAN-GP's (whose exact resume test_train_cli
# checks after a SIGKILL): SNGAN's power-iteration vectors, DRAGAN's perturbations of the real points.
# Their resumed runs are compared with an uninterrupted one; WGAN-LP and WGAN-div draw interpolates as
# WGAN-GP does and R1 draws nothing, so for them that third run would repeat WGAN-GP's check.
STATEFUL = ("sngan", "dragan")


def linear_critic(w):
    critic = keras.Sequential([keras.Input((len(w),)), keras.layers.Dense(1, use_bias=False)])
    critic.layers[0].kernel.assign(np.asarray(w, "float32").reshape(-1, 1))
    return critic


def value_and_weight_gradient(fn, critic):
    with tf.GradientTape() as tape:
        value = fn()
    (grad,) = tape.gradient(value, critic.trainable_variables)
    return float(value), np.asarray(grad).ravel()


# ------------------------------------------------------------------ losses
def test_hinge_losses_by_hand():
    real, fake = np.array([2.0, 0.5, -1.0]), np.array([-3.0, 0.0, 0.5])
    # relu(1 - r) = 0, 0.5, 2 -> mean 2.5/3; relu(1 + f) = 0, 1, 1.5 -> mean 2.5/3
    assert float(losses.hinge_critic_loss(real, fake)) == pytest.approx(5.0 / 3.0)
    assert float(losses.hinge_generator_loss(fake)) == pytest.approx(2.5 / 3.0)


# ---------------------------------------------------------------- penalties
@pytest.mark.parametrize(("w", "norm"), [((3.0, 4.0), 5.0), ((0.3, 0.4), 0.5)])
def test_wgan_lp_penalises_only_norms_above_one(w, norm):
    critic = linear_critic(w)
    x = np.random.default_rng(0).normal(size=(6, 2)).astype("float32")
    value, grad = value_and_weight_gradient(
        lambda: penalties.gradient_penalty(critic, x, -x, alpha=np.full(6, 0.3, "float32"), one_sided=True), critic
    )
    expected = max(0.0, norm - 1.0) ** 2  # 16 for ||w|| = 5; 0 for ||w|| = 0.5 (WGAN-GP would give 0.25)
    assert value == pytest.approx(expected, rel=1e-5)
    # d/dw max(0, ||w|| - 1)^2 = 2 max(0, ||w|| - 1) w / ||w||
    np.testing.assert_allclose(grad, 2 * max(0.0, norm - 1.0) * np.array(w) / norm, rtol=1e-5, atol=1e-7)


def test_dragan_penalty_and_its_points():
    critic = linear_critic((3.0, 4.0))
    real = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")
    noise = np.random.default_rng(2).random((8, 2)).astype("float32")
    perturbed = np.asarray(penalties.dragan_perturbation(real, noise))
    np.testing.assert_allclose(perturbed - real, 0.5 * real.std() * noise, rtol=1e-5, atol=1e-6)
    value, grad = value_and_weight_gradient(
        lambda: penalties.dragan_penalty(critic, real, noise=noise, alpha=np.full(8, 0.5, "float32")), critic
    )
    assert value == pytest.approx(16.0, rel=1e-5)  # (||w|| - 1)^2 wherever the points are
    np.testing.assert_allclose(grad, 2 * 4.0 * np.array([3.0, 4.0]) / 5.0, rtol=1e-5)


def test_dragan_model_draws_points_around_the_real_data(tiny_mlp_pair, monkeypatch):
    from keras_wgan.models import dragan as module

    seen = {}

    def spy(critic, real, *, noise, alpha, **kwargs):
        seen.update(real=np.asarray(real), noise=np.asarray(noise), alpha=np.asarray(alpha))
        return penalties.dragan_penalty(critic, real, noise=noise, alpha=alpha, **kwargs)

    monkeypatch.setattr(module, "dragan_penalty", spy)
    model = keras_wgan.DRAGAN(*tiny_mlp_pair(), seed=0)
    model.compile()
    real = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    model.penalty(real, real[::-1], training=True)
    assert seen["noise"].shape == (16, 2) and 0 <= seen["noise"].min() and seen["noise"].max() < 1
    assert seen["alpha"].shape == (16,) and seen["noise"].std() > 0.2  # U[0, 1): std 0.29


def test_r1_and_r2_by_hand():
    critic = linear_critic((3.0, 4.0))
    x = np.zeros((5, 2), "float32")
    value, grad = value_and_weight_gradient(lambda: penalties.r1_penalty(critic, x), critic)
    assert value == pytest.approx(12.5)  # ||w||^2 / 2
    np.testing.assert_allclose(grad, [3.0, 4.0], rtol=1e-6)  # d/dw ||w||^2 / 2 = w
    model = keras_wgan.R1GAN(networks.build_mlp_generator(width=4, depth=1), critic, r2_weight=5.0)
    # gamma 10, r2 5: gp = R1 + (5 / 10) R2 = 12.5 + 6.25, so that d_loss holds 10 * 12.5 + 5 * 12.5
    assert float(model.penalty(x, x)) == pytest.approx(18.75)
    assert model.penalty_weight == 10.0 and model.get_config()["r2_weight"] == 5.0


def test_wgan_div_penalty_by_hand():
    critic = linear_critic((0.0, 2.0))
    x = np.random.default_rng(3).normal(size=(4, 2)).astype("float32")
    value, grad = value_and_weight_gradient(lambda: penalties.wasserstein_div_penalty(critic, x, -x, power=6.0), critic)
    assert value == pytest.approx(64.0, rel=1e-5)  # ||w||^6 at real and fake points alike
    np.testing.assert_allclose(grad, 6 * 2.0**4 * np.array([0.0, 2.0]), rtol=1e-5)  # p ||w||^(p-2) w
    half, _ = value_and_weight_gradient(lambda: penalties.wasserstein_div_penalty(critic, x, -x, power=2.0), critic)
    assert half == pytest.approx(4.0, rel=1e-5)


# ----------------------------------------------------------------- networks
def test_a_spectral_critic_wraps_every_weighted_layer():
    critic = networks.build_critic(32, 1, width=4, norm="spectral", seed=0)
    wrapped = networks.spectral_layers(critic)
    assert [layer.name for layer in wrapped] == ["sn_down_0", "sn_down_1", "sn_down_2", "sn_score"]
    assert not networks.batchnorm_layers(critic) and not any(
        isinstance(layer, keras.layers.GroupNormalization) for layer in networks.sublayers(critic)
    )
    mlp = networks.build_mlp_critic(width=8, depth=2, norm="spectral")
    assert len(networks.spectral_layers(mlp)) == 3


def sigma_by_svd(kernel):
    return np.linalg.svd(np.asarray(kernel).reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_spectral_normalization_is_the_paper_s_reparametrization(kind):
    rng = np.random.default_rng(0)
    if kind == "dense":
        inner, x = keras.layers.Dense(5, activation="relu"), rng.normal(size=(3, 4)).astype("float32")
    else:
        inner, x = keras.layers.Conv2D(5, 3, padding="same"), rng.normal(size=(2, 6, 6, 3)).astype("float32")
    layer = SpectralNormalization(inner)
    layer.build(x.shape)
    kernel = np.asarray(inner.kernel).copy()
    inner.bias.assign(rng.normal(size=5).astype("float32"))
    for _ in range(50):  # training calls: power iterations converge to the largest singular value
        layer(x, training=True)
    np.testing.assert_array_equal(np.asarray(inner.kernel), kernel)  # W itself is never overwritten
    u = np.asarray(layer.vector_u).copy()
    out = np.asarray(layer(x, training=False))
    np.testing.assert_array_equal(np.asarray(layer.vector_u), u)  # an inference call stores nothing
    # The output is the wrapped layer's with W / sigma(W), sigma from NumPy's SVD.
    inner.kernel.assign(kernel / sigma_by_svd(kernel))
    np.testing.assert_allclose(out, np.asarray(inner(x)), rtol=1e-4, atol=1e-4)
    inner.kernel.assign(kernel)

    # The gradient goes through the division with u and v constant: for L = sum(C * x W / sigma),
    # G = x^T C, sigma = v W u^T: dL/dW = G / sigma - <G, W> / sigma^2 * v^T u (by hand).
    if kind == "dense":
        linear = SpectralNormalization(keras.layers.Dense(5, use_bias=False))
        linear.build(x.shape)
        weights, u = np.asarray(linear.layer.kernel), np.asarray(linear.vector_u)
        v = u @ weights.T / np.linalg.norm(u @ weights.T)
        u_next = v @ weights / np.linalg.norm(v @ weights)
        sigma = (v @ weights @ u_next.T).item()
        c = rng.normal(size=(3, 5)).astype("float32")
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.constant(c) * linear(x, training=False))
        g = x.T @ c
        expected = g / sigma - np.sum(g * weights) / sigma**2 * (v.T @ u_next)
        (grad,) = tape.gradient(loss, [linear.layer.kernel.value])
        np.testing.assert_allclose(np.asarray(grad), expected, rtol=1e-4, atol=1e-6)

    before = np.asarray(layer.vector_u).copy()
    inner.kernel.assign(rng.normal(size=kernel.shape).astype("float32"))
    layer(x, training=True)
    assert not np.allclose(np.asarray(layer.vector_u), before)  # a training call advances u


# ------------------------------------------------------------------ models
def test_combinations_that_make_no_sense_are_refused(tiny_mlp_pair):
    g = networks.build_mlp_generator(width=4, depth=1)
    spectral = networks.build_mlp_critic(width=4, depth=1, norm="spectral")
    with pytest.raises(ValueError, match="clips the critic's weights"):
        keras_wgan.WGAN(g, spectral)
    with pytest.raises(ValueError, match="no spectrally normalized layer"):
        keras_wgan.SNGAN(*tiny_mlp_pair())
    for cls in (keras_wgan.WGANLP, keras_wgan.DRAGAN, keras_wgan.R1GAN, keras_wgan.WGANDiv):
        with pytest.raises(ValueError, match="batch normalization"):
            cls(g, networks.build_mlp_critic(width=4, depth=1, norm="batch"))
    with pytest.raises(ValueError, match="`loss` must be None"):
        keras_wgan.WGANGP(*tiny_mlp_pair(), loss="least_squares")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--variant", "wgan", "--critic-norm", "spectral"], "--critic-norm spectral rescales the weights wgan clips"),
        (["--variant", "sngan", "--critic-norm", "layer"], "sngan is the hinge loss with a spectrally normalized"),
        (["--variant", "dragan", "--critic-norm", "batch"], "add --allow-batchnorm"),
        (["--variant", "dcgan", "--gp-weight", "5"], "--gp-weight does not apply: dcgan has no penalty"),
        (["--variant", "wgan_gp", "--penalty-power", "4"], "--penalty-power does not apply"),
        (["--variant", "wgan_lp", "--r2-weight", "1"], "--r2-weight does not apply"),
        (["--variant", "r1", "--loss", "least_squares"], "--loss must be one of hinge"),
    ],
)
def test_the_command_line_refuses_them_in_one_line(tmp_path, args, message):
    result = run_cli("train.py", [*args, "--dataset", "digits", "--out", tmp_path / "run"])
    assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "run" / "config.json").exists()


def test_the_registry_has_each_paper_s_defaults():
    got = {
        name: (d.optimizer, d.learning_rate, d.beta_1, d.beta_2, d.n_critic, d.critic_norm, d.gp_weight)
        for name in NEW
        for d in [variants.get(name).paper_defaults]
    }
    assert got["sngan"] == ("adam", 2e-4, 0.0, 0.9, 5, "spectral", None)
    assert got["wgan_lp"] == ("adam", 1e-4, 0.0, 0.9, 5, "layer", 10.0)
    assert got["dragan"] == ("adam", 1e-4, 0.5, 0.9, 1, "layer", 10.0)
    assert got["r1"][:2] == ("rmsprop", 1e-4) and got["r1"][4:] == (1, "none", 10.0)
    assert got["wgan_div"] == ("adam", 2e-4, 0.5, 0.999, 5, "layer", 2.0)
    assert variants.get("wgan_div").paper_defaults.penalty_power == 6.0
    assert TrainConfig(variant="sngan", dataset="25gaussians").resolve().critic_norm == "spectral"


def test_any_variant_can_take_the_hinge_loss(tiny_mlp_pair):
    model = keras_wgan.WGANGP(*tiny_mlp_pair(), loss="hinge", seed=0)
    model.compile()
    real = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    fake = model.generator(np.zeros((8, 2), "float32"))
    terms = model.critic_objective(real, fake, training=False)
    expected = losses.hinge_critic_loss(model.critic(real), model.critic(fake)) + model.penalty_weight * terms["gp"]
    assert float(terms["d_loss"]) == pytest.approx(float(expected), rel=1e-5)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    assert again.loss == "hinge"


# -------------------------------------------------------- the command lines
@pytest.mark.parametrize("variant", NEW)
def test_each_member_trains_from_the_command_line_with_every_callback_and_resumes_exactly(variant, tmp_path):
    out, straight = tmp_path / "run", tmp_path / "straight"
    common = ["--variant", variant, "--dataset", "8gaussians", "--width", "8", "--batch-size", "16", "--quiet"]
    common += ["--steps-per-epoch", "2"]
    args = [*common, "--ema-decay", "0.9", "--plot-every-steps", "2", "--grad-norm-every-steps", "2"]
    args += ["--tensorboard-histograms", "--checkpoint-every-steps", "2", "--out", out]
    first = run_cli("train.py", [*args, "--steps", "2"])
    assert first.returncode == 0, first.stderr[-3000:]
    result = run_cli("train.py", [*args, "--steps", "4"])  # the checkpoint at step 2, extended to 4
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming at generator step 2" in result.stdout
    assert "verdict (averaged generator" in result.stdout and "finished 4 generator steps" in result.stdout
    for name in ("gan.keras", "ema_generator.keras", "plots/critic_00000004.png", "plots/grad_norms.csv"):
        assert (out / name).is_file(), name
    gan = keras.saving.load_model(out / "gan.keras")
    assert type(gan) is variants.get(variant).model_class and int(gan.generator_iterations) == 4
    history = (out / "history.csv").read_text()
    assert ("gp" in history.splitlines()[0]) == (variant != "sngan")

    evaluated = run_cli("evaluate.py", [out, "--quiet", "--num-samples", "300"])
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert json.loads((out / "eval" / "metrics.json").read_text())["variant"] == variant

    if variant not in STATEFUL:
        return
    # The resumed run with every callback ends where one uninterrupted run without them ends: the
    # checkpoint holds every variable (spectral normalization's u too) and no callback moves one.
    assert run_cli("train.py", [*common, "--steps", "4", "--out", straight]).returncode == 0
    other = keras.saving.load_model(straight / "gan.keras")
    for a, b in zip(gan.weights, other.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
    for a, b in zip(gan.d_optimizer.variables, other.d_optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
