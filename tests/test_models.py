"""Training behaviour of the GAN family: the step template, metrics, clipping, sampling."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_wgan
from keras_wgan import networks, variants

ALL_VARIANTS = variants.names()


def image_pair(channels=1, norm="layer"):
    g = networks.build_generator(8, 32, channels, width=4, seed=0)
    c = networks.build_critic(32, channels, width=4, norm=norm, seed=1)
    return g, c


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_one_epoch_at_32px_for_every_variant(name):
    variant = variants.get(name)
    norm = "spectral" if variant.critic_norm == "spectral" else "layer"
    model = variant.build_model(*image_pair(norm=norm), seed=0)
    model.compile()
    x = np.random.default_rng(0).uniform(-1, 1, size=(8 * 2 * variant.n_critic, 32, 32, 1)).astype("float32")
    history = model.fit(x, batch_size=8 * variant.n_critic, epochs=1, verbose=0)
    expected = {"d_loss", "g_loss", "w_dist"} | ({"gp"} if variant.gp_weight is not None else set())
    assert set(history.history) == expected
    assert all(np.isfinite(v[0]) for v in history.history.values())
    assert int(model.g_optimizer.iterations) == 2
    assert int(model.d_optimizer.iterations) == 2 * variant.n_critic


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_one_epoch_on_2d_data_for_every_variant(name, tiny_mlp_pair, gaussian_points):
    variant = variants.get(name)
    model = variant.build_model(*tiny_mlp_pair(critic_norm="spectral" if name == "sngan" else "none"), seed=0)
    model.compile()
    history = model.fit(gaussian_points, batch_size=32 * variant.n_critic, epochs=1, verbose=0)
    assert all(np.isfinite(v[0]) for v in history.history.values())
    assert model.generate(5).shape == (5, 2)


class ClipChecker(keras.callbacks.Callback):
    """Checks every critic variable at the end of every batch."""

    def __init__(self, clip):
        super().__init__()
        self.clip = clip
        self.max_abs = []

    def on_train_batch_end(self, batch, logs=None):
        values = np.concatenate([v.numpy().ravel() for v in self.model.critic.trainable_variables])
        self.max_abs.append(float(np.abs(values).max()))
        assert np.all(np.abs(values) <= self.clip + 1e-7), f"critic weight outside the clip box at batch {batch}"


class AssertClippedBeforeEachUpdate(keras_wgan.WGAN):
    """Asserts, inside the graph, that the critic is in the box when each critic update starts."""

    def critic_loss(self, real_out, fake_out):
        for v in self.critic.trainable_variables:
            tf.debugging.assert_less_equal(tf.reduce_max(tf.abs(v)), self.clip_value + 1e-7)
        return super().critic_loss(real_out, fake_out)


@pytest.mark.parametrize("n_critic", [1, 3])
def test_wgan_critic_stays_in_clip_box_after_every_update(n_critic, tiny_mlp_pair, gaussian_points):
    g, c = tiny_mlp_pair(critic_norm="batch")  # the BN scale and offset must be clipped too
    model = AssertClippedBeforeEachUpdate(g, c, n_critic=n_critic, clip_value=0.05, seed=0)
    assert all(isinstance(v.constraint, keras_wgan.WeightClip) for v in model.critic.trainable_variables)
    # A large learning rate so that nearly every update pushes weights past the bound.
    model.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(5.0))
    checker = ClipChecker(0.05)
    model.fit(gaussian_points, batch_size=16 * n_critic, epochs=2, verbose=0, callbacks=[checker])
    assert len(checker.max_abs) >= 8
    assert max(checker.max_abs) == pytest.approx(0.05)  # the bound was actually hit


class SampleRecorder(keras_wgan.WGANGP):
    """Counts, per sample id, how often a real sample entered a critic update."""

    def __init__(self, *args, n_ids=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = tf.Variable(tf.zeros([n_ids]), trainable=False)

    def critic_loss(self, real_out, fake_out):
        ids = tf.cast(tf.round(tf.reshape(real_out, [-1])), tf.int32)
        self.seen.scatter_nd_add(ids[:, None], tf.ones_like(ids, tf.float32))
        return super().critic_loss(real_out, fake_out)


class UpdateCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.counts = []

    def on_train_batch_end(self, batch, logs=None):
        self.counts.append((int(self.model.g_optimizer.iterations), int(self.model.d_optimizer.iterations)))


def test_generator_updated_once_per_n_critic_updates_each_on_fresh_samples(tiny_mlp_pair):
    n_critic, batch, steps = 4, 3, 5
    n_ids = n_critic * batch * steps
    # The critic reads the id in column 0 (kernel [1, 0], bias 0, learning rate 0).
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    critic.layers[0].kernel.assign([[1.0], [0.0]])
    data = np.stack([np.arange(n_ids), np.zeros(n_ids)], axis=1).astype("float32")
    model = SampleRecorder(tiny_mlp_pair()[0], critic, n_critic=n_critic, n_ids=n_ids, seed=0)
    model.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.SGD(0.0))
    counter = UpdateCounter()
    model.fit(data, batch_size=n_critic * batch, epochs=1, shuffle=True, verbose=0, callbacks=[counter])
    assert counter.counts == [(s, s * n_critic) for s in range(1, steps + 1)]
    np.testing.assert_array_equal(model.seen.numpy(), np.ones(n_ids))  # every real sample exactly once


def test_batch_not_divisible_by_n_critic_is_a_clear_error(tiny_mlp_pair, gaussian_points):
    model = keras_wgan.WGANGP(*tiny_mlp_pair(), n_critic=5)
    model.compile()
    ds = tf.data.Dataset.from_tensor_slices(gaussian_points).batch(12, drop_remainder=True)
    with pytest.raises(ValueError, match="multiple of n_critic=5"):
        model.fit(ds, epochs=1, verbose=0)


def test_metrics_average_over_critic_updates(tiny_mlp_pair):
    """With a linear critic and zero learning rates, d_loss is the mean over the n_critic chunks."""
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    critic.layers[0].kernel.assign([[1.0], [0.0]])
    critic.layers[0].bias.assign([0.0])
    gen = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, kernel_initializer="zeros")])
    model = keras_wgan.WGAN(gen, critic, n_critic=2, clip_value=10.0)
    model.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0))
    data = np.array([[1.0, 0], [3.0, 0], [10.0, 0], [20.0, 0]], "float32")
    logs = model.fit(data, batch_size=4, epochs=1, shuffle=False, verbose=0).history
    # fake = 0 so C(fake) = 0; chunk means of C(real): 2 and 15 -> d_loss = mean(-2, -15).
    assert logs["d_loss"][0] == pytest.approx(-8.5)
    assert logs["w_dist"][0] == pytest.approx(8.5)
    assert logs["g_loss"][0] == pytest.approx(0.0)


def test_generate_from_count_and_from_latents(tiny_mlp_pair):
    model = keras_wgan.DCGAN(*tiny_mlp_pair(), seed=0)
    a = model.generate(7, seed=3)
    assert a.shape == (7, 2) and a.dtype == np.float32
    np.testing.assert_allclose(a, model.generate(7, seed=3))
    assert not np.allclose(model.generate(7), model.generate(7))
    z = np.random.default_rng(0).normal(size=(300, 2)).astype("float32")
    np.testing.assert_allclose(model.generate(z, batch_size=64), model.generator(z).numpy(), rtol=1e-6, atol=1e-6)
    assert model.generate(0).shape == (0, 2)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        model.generate(np.zeros((3, 5), "float32"))


def test_seeded_models_train_identically(tiny_mlp_pair, gaussian_points):
    results = []
    for _ in range(2):
        keras.utils.set_random_seed(0)
        model = keras_wgan.WGANGP(*tiny_mlp_pair(seed=5), seed=11)
        model.compile()
        model.fit(gaussian_points, batch_size=160, epochs=1, shuffle=False, verbose=0)
        results.append(model.generator.get_weights())
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


def test_constructor_checks(tiny_mlp_pair):
    g, c = tiny_mlp_pair()
    with pytest.raises(ValueError, match="n_critic"):
        keras_wgan.WGAN(g, c, n_critic=0)
    with pytest.raises(ValueError, match="latent_dim"):
        keras_wgan.WGAN(g, c, latent_dim=7)
    with pytest.raises(TypeError, match="generator"):
        keras_wgan.WGAN("not a model", c)
    with pytest.raises(ValueError, match="clip_value"):
        keras_wgan.WGAN(g, c, clip_value=-1)
    model = keras_wgan.DCGAN(g, c)
    with pytest.raises(ValueError, match="g_optimizer"):
        model.compile(optimizer="adam")
    assert model.discriminator is model.critic


def test_mixed_float16_training_stays_finite(tiny_mlp_pair, gaussian_points):
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = keras_wgan.WGANGP(*tiny_mlp_pair(), seed=0)
        model.compile()
        assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
        logs = model.fit(gaussian_points, batch_size=160, epochs=1, verbose=0).history
    finally:
        keras.config.set_dtype_policy("float32")
    assert all(np.isfinite(v[0]) for v in logs.values())


class _MeanSquarePenaltyDCGAN(keras_wgan.DCGAN):
    """A critic regulariser added the one way: ``penalty()`` plus a ``penalty_weight``."""

    def penalty(self, real, fake, training=True):
        return keras.ops.mean(keras.ops.square(self.critic(real, training=training)))


def test_a_penalty_is_added_with_its_weight_and_logged_as_gp(tiny_mlp_pair):
    model = _MeanSquarePenaltyDCGAN(*tiny_mlp_pair(), penalty_weight=0.5)
    real = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    fake = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")
    terms = model.critic_objective(real, fake, training=False)
    r, f = model.critic(real).numpy().ravel(), model.critic(fake).numpy().ravel()
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    loss = np.mean(softplus(-r)) + np.mean(softplus(f))
    np.testing.assert_allclose(float(terms["gp"]), np.mean(r**2), rtol=1e-5)
    np.testing.assert_allclose(float(terms["d_loss"]), loss + 0.5 * np.mean(r**2), rtol=1e-5)
    assert [m.name for m in model.metrics] == ["d_loss", "g_loss", "w_dist", "gp"]
    # Without a weight the hook is not used, and no gp is logged.
    plain = _MeanSquarePenaltyDCGAN(*tiny_mlp_pair())
    assert "gp" not in plain.critic_objective(real, fake, training=False)
    assert "gp" not in [m.name for m in plain.metrics]


def test_a_penalty_weight_without_a_penalty_is_refused(tiny_mlp_pair):
    with pytest.raises(ValueError, match="does not define penalty"):
        keras_wgan.DCGAN(*tiny_mlp_pair(), penalty_weight=1.0)
