"""Slow: WGAN-GP with the MLP pair learns the 25-Gaussians mixture (run with ``pytest -m slow``)."""

import keras
import pytest

import keras_wgan
from keras_wgan import data, evaluation, networks
from keras_wgan.data import registry


@pytest.mark.slow
def test_wgan_gp_moves_most_samples_onto_the_25_modes():
    keras.utils.set_random_seed(0)
    model = keras_wgan.WGANGP(
        networks.build_mlp_generator(2, width=128, seed=0),
        networks.build_mlp_critic(width=128, seed=1),
        n_critic=5,
        gp_weight=0.1,  # the WGAN-GP authors' toy-script value
        seed=0,
    )
    model.compile(g_optimizer=keras.optimizers.Adam(1e-3, 0.5, 0.9), d_optimizer=keras.optimizers.Adam(1e-3, 0.5, 0.9))
    ds = data.make_dataset("25gaussians", batch_size=256, n_critic=5, seed=0)
    toy = registry.get("25gaussians").toy
    centres, std = toy.centres, toy.std
    before = evaluation.mixture_metrics(model.generate(2500, seed=1), centres, std)
    model.fit(ds, epochs=1, steps_per_epoch=STEPS, verbose=0)
    after = evaluation.mixture_metrics(model.generate(2500, seed=1), centres, std)
    print("before", before, "after", after)
    assert before["modes"] <= 5  # the untrained generator sits near the centre
    assert after["high_quality"] > 0.5, after
    assert after["modes"] >= 20, after


STEPS = 6000
