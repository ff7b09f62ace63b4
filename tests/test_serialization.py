"""Saving and loading: the whole GAN with both optimizers, and the generator alone."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from helpers import assert_save_load_round_trip

import keras_wgan
from keras_wgan import networks


def trained(model_cls, tiny_mlp_pair, gaussian_points, **kwargs):
    norm = "spectral" if model_cls is keras_wgan.SNGAN else "none"
    model = model_cls(*tiny_mlp_pair(critic_norm=norm), seed=3, **kwargs)
    model.compile()
    model.fit(gaussian_points, batch_size=32 * model.n_critic, epochs=1, verbose=0)
    return model


ALL_MODEL_CLASSES = [
    keras_wgan.DCGAN,
    keras_wgan.RSGAN,
    keras_wgan.RaGAN,
    keras_wgan.WGAN,
    keras_wgan.WGANGP,
    keras_wgan.SNGAN,
    keras_wgan.WGANLP,
    keras_wgan.DRAGAN,
    keras_wgan.R1GAN,
    keras_wgan.WGANDiv,
]


@pytest.mark.parametrize("model_cls", ALL_MODEL_CLASSES, ids=lambda c: c.__name__)
def test_gan_round_trip_restores_networks_optimizers_and_rng(model_cls, tiny_mlp_pair, gaussian_points, tmp_path):
    model = trained(model_cls, tiny_mlp_pair, gaussian_points)
    assert_save_load_round_trip(model, gaussian_points, tmp_path / "gan.keras")


@keras.saving.register_keras_serializable(package="keras_wgan_tests")
class CentredWGAN(keras_wgan.WGAN):
    """A user's regulariser through the one hook: penalty() with a penalty_weight (here E[C(real)]^2)."""

    def __init__(self, *args, penalty_weight=0.5, **kwargs):
        super().__init__(*args, penalty_weight=penalty_weight, **kwargs)

    def penalty(self, real, fake, training=True):
        return keras.ops.square(keras.ops.mean(self.critic(real, training=training)))


def test_a_subclass_with_its_own_penalty_round_trips(tiny_mlp_pair, gaussian_points, tmp_path):
    model = trained(CentredWGAN, tiny_mlp_pair, gaussian_points, penalty_weight=0.25)
    assert "gp" in {m.name for m in model.metrics}
    loaded = assert_save_load_round_trip(model, gaussian_points, tmp_path / "centred.keras")
    assert loaded.penalty_weight == 0.25


def test_wgan_clip_survives_reload(tiny_mlp_pair, gaussian_points, tmp_path):
    model = trained(keras_wgan.WGAN, tiny_mlp_pair, gaussian_points, clip_value=0.02)
    model.save(tmp_path / "wgan.keras")
    loaded = keras.saving.load_model(tmp_path / "wgan.keras")
    assert loaded.clip_value == 0.02
    assert all(v.constraint.clip_value == 0.02 for v in loaded.critic.trainable_variables)


def test_wgan_gp_options_survive_reload(tiny_mlp_pair, tmp_path):
    model = keras_wgan.WGANGP(*tiny_mlp_pair(), gp_weight=2.5, one_sided=True, n_critic=3)
    model.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.AdamW(2e-3))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert (loaded.gp_weight, loaded.one_sided, loaded.n_critic) == (2.5, True, 3)
    assert isinstance(loaded.d_optimizer, keras.optimizers.AdamW)
    assert float(loaded.g_optimizer.learning_rate) == pytest.approx(1e-3)


def test_generator_alone_loads_as_plain_keras_model(tmp_path):
    g = networks.build_generator(8, 32, 3, width=4, norm="instance", seed=0)
    path = tmp_path / "generator.keras"
    g.save(path)
    z = np.random.default_rng(0).normal(size=(2, 8)).astype("float32")
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "expected.npy", g(z).numpy())
    script = textwrap.dedent(
        f"""
        import numpy as np, keras
        import keras_wgan  # the only import a user needs
        g = keras.saving.load_model({str(path)!r})
        out = g.predict(np.load({str(tmp_path / "z.npy")!r}), verbose=0)
        np.testing.assert_allclose(out, np.load({str(tmp_path / "expected.npy")!r}), rtol=1e-5, atol=1e-6)
        print("ok", out.shape)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ok (2, 32, 32, 3)" in result.stdout
