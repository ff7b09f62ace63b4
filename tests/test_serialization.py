"""Saving and loading: the whole GAN with both optimizers, and the generator alone."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import keras_wgan
from keras_wgan import networks


def trained(model_cls, tiny_mlp_pair, gaussian_points, **kwargs):
    model = model_cls(*tiny_mlp_pair(), seed=3, **kwargs)
    model.compile()
    model.fit(gaussian_points, batch_size=32 * model.n_critic, epochs=1, verbose=0)
    return model


def optimizer_state(opt):
    return {v.path.split("/", 1)[-1]: v.numpy() for v in opt.variables}


@pytest.mark.parametrize("model_cls", [keras_wgan.WGANGP, keras_wgan.WGAN, keras_wgan.RaGAN])
def test_gan_round_trip_restores_networks_optimizers_and_rng(model_cls, tiny_mlp_pair, gaussian_points, tmp_path):
    model = trained(model_cls, tiny_mlp_pair, gaussian_points)
    path = tmp_path / "gan.keras"
    model.save(path)
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")  # no "compile() was not called" warning
        loaded = keras.saving.load_model(path)

    assert type(loaded) is model_cls
    assert (loaded.latent_dim, loaded.n_critic, loaded.seed) == (model.latent_dim, model.n_critic, model.seed)
    z = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    np.testing.assert_allclose(loaded.generate(z), model.generate(z), rtol=1e-6, atol=1e-6)
    x = z
    np.testing.assert_allclose(loaded.critic(x).numpy(), model.critic(x).numpy(), rtol=1e-6, atol=1e-6)
    for name in ("g_optimizer", "d_optimizer"):
        a, b = optimizer_state(getattr(model, name)), optimizer_state(getattr(loaded, name))
        assert a.keys() == b.keys()
        assert int(getattr(loaded, name).iterations) == int(getattr(model, name).iterations) > 0
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name} {key}")
        assert any(np.abs(a[k]).sum() > 0 for k in a if "iteration" not in k)  # moments are non-trivial
    np.testing.assert_array_equal(loaded.seed_generator.state.numpy(), model.seed_generator.state.numpy())

    # Training continues where it stopped, identically for both copies.
    for m in (model, loaded):
        m.fit(gaussian_points, batch_size=32 * m.n_critic, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.generator.get_weights(), loaded.generator.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


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
