"""Callbacks: the files they write and their contents."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import keras_wgan
from keras_wgan import callbacks as cbs
from keras_wgan import data, networks


def digits_model(seed=0, variant=keras_wgan.WGANGP, **kwargs):
    g = networks.build_generator(8, 32, 1, width=4, seed=seed)
    c = networks.build_critic(32, 1, width=4, norm="layer", seed=seed + 1)
    model = variant(g, c, n_critic=2, seed=seed, **kwargs)
    model.compile(g_optimizer=keras.optimizers.Adam(2e-3, 0.5), d_optimizer=keras.optimizers.Adam(2e-3, 0.5))
    return model


def digits_ds(batch=8, n_critic=2):
    return data.make_dataset("digits", batch_size=batch, n_critic=n_critic, seed=0)


def test_sample_grid_frames_gif_and_resume(tmp_path):
    model = digits_model()
    grid = cbs.SampleGrid(tmp_path / "samples", every_n_epochs=1)
    model.fit(digits_ds(), epochs=3, steps_per_epoch=3, verbose=0, callbacks=[grid])
    frames = grid.frames()
    assert [f.name for f in frames] == ["step_00000003.png", "step_00000006.png", "step_00000009.png"]
    first = np.asarray(Image.open(frames[0]))
    assert first.shape == (8 * 32 + 9 * 2, 8 * 32 + 9 * 2)  # 8x8 tiles of 32 px plus 2 px padding
    assert not np.array_equal(first, np.asarray(Image.open(frames[-1])))  # training changes the samples
    gif = Image.open(tmp_path / "samples" / "progress.gif")
    assert gif.n_frames == 3
    latent = np.load(tmp_path / "samples" / "fixed_latent.npy")
    assert latent.shape == (64, 8)

    # A new callback on the same folder (a resumed run) reuses the saved latents and appends frames.
    resumed = cbs.SampleGrid(tmp_path / "samples", every_n_epochs=1, seed=999)
    model.fit(digits_ds(), epochs=1, steps_per_epoch=3, verbose=0, callbacks=[resumed])
    np.testing.assert_array_equal(resumed.latent, latent)
    assert len(resumed.frames()) == 4
    assert Image.open(tmp_path / "samples" / "progress.gif").n_frames == 4


def test_sample_grid_every_n_steps_best_and_ema(tmp_path):
    model = digits_model()
    ema = cbs.GeneratorEMA(decay=0.5, path=tmp_path / "ema_generator.keras")
    grid = cbs.SampleGrid(
        tmp_path / "s", rows=4, every_n_steps=2, every_n_epochs=1, generator=ema, best_metric="d_loss", best_mode="min"
    )
    model.fit(digits_ds(), epochs=2, steps_per_epoch=4, verbose=0, callbacks=[ema, grid])
    names = [f.name for f in grid.frames()]
    assert names == [f"step_{s:08d}.png" for s in (2, 4, 6, 8)]  # step and epoch renders share a frame
    assert np.asarray(Image.open(grid.frames()[0])).shape == (4 * 32 + 5 * 2,) * 2
    assert (tmp_path / "s" / "best.png").is_file() and "d_loss" in (tmp_path / "s" / "best.txt").read_text()
    loaded = keras.saving.load_model(tmp_path / "ema_generator.keras")
    z = np.random.default_rng(0).normal(size=(2, 8)).astype("float32")
    np.testing.assert_allclose(loaded(z).numpy(), ema(z), atol=1e-6)
    assert not np.allclose(ema(z), model.generator(z).numpy())


def test_generator_ema_follows_the_formula(tmp_path):
    model = digits_model()
    ema = cbs.GeneratorEMA(decay=0.9, warmup=False)
    before = [w.numpy().copy() for w in model.generator.trainable_weights]
    model.fit(digits_ds(), epochs=1, steps_per_epoch=1, verbose=0, callbacks=[ema])
    after = [w.numpy() for w in model.generator.trainable_weights]
    averaged = [w.numpy() for w in ema.ema_generator.trainable_weights]
    for b, a, e in zip(before, after, averaged, strict=True):
        np.testing.assert_allclose(e, 0.9 * b + 0.1 * a, rtol=1e-5, atol=1e-7)


def test_generator_ema_warmup_decay_and_start_step():
    ema = cbs.GeneratorEMA(decay=0.999, start_step=5)
    assert [ema.current_decay(s) for s in (0, 5)] == [0.0, 0.0]  # a plain copy up to start_step
    assert ema.current_decay(6) == pytest.approx(2 / 11) and ema.current_decay(105) == pytest.approx(101 / 110)
    assert ema.current_decay(100_000) == 0.999  # (1 + t) / (10 + t) passes 0.999 at t = 8991
    assert cbs.GeneratorEMA(decay=0.999, warmup=False).current_decay(1) == 0.999
    assert cbs.GeneratorEMA(decay=0.0).current_decay(50) == 0.0

    # Two steps with warm-up: decays 2/11 then 3/12 on the trainable weights.
    model = digits_model()
    ema = cbs.GeneratorEMA(decay=0.999)
    weights = [[w.numpy().copy() for w in model.generator.trainable_weights]]

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            weights.append([w.numpy().copy() for w in model.generator.trainable_weights])

    model.fit(digits_ds(), epochs=1, steps_per_epoch=2, verbose=0, callbacks=[Record(), ema])
    expected = weights[0]
    for step, decay in ((1, 2 / 11), (2, 3 / 12)):
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, weights[step], strict=True)]
    for e, got in zip(expected, ema.ema_generator.trainable_weights, strict=True):
        np.testing.assert_allclose(got.numpy(), e, rtol=1e-5, atol=1e-7)


def test_recompute_batch_norm_statistics_matches_numpy():
    g = networks.build_generator(8, 32, 1, width=4, seed=3)
    bns = [layer for layer in g._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    assert bns
    momenta = [layer.momentum for layer in bns]
    # The reference: per-batch mean and (biased) variance of each BN layer's input, averaged over batches.
    probe = keras.Model(g.inputs[0], [layer.input for layer in bns])
    rng = np.random.default_rng(7)
    batches = [rng.standard_normal((64, 8)).astype(np.float32) for _ in range(3)]
    inputs = []
    for z in batches:
        # Earlier BN layers normalise by batch statistics in training mode; the probe must see the same.
        inputs.append([np.asarray(x) for x in probe(z, training=True)])
    assert cbs.recompute_batch_norm_statistics(g, num_batches=3, batch_size=64, seed=7) == len(bns)
    for i, layer in enumerate(bns):
        axes = tuple(range(inputs[0][i].ndim - 1))
        mean = np.mean([x[i].mean(axis=axes) for x in inputs], axis=0)
        var = np.mean([x[i].var(axis=axes) for x in inputs], axis=0)
        np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-3, atol=1e-5)
    assert [layer.momentum for layer in bns] == momenta
    # A network without batch norm is left alone.
    assert cbs.recompute_batch_norm_statistics(networks.build_mlp_generator(2, 2, width=8, depth=2)) == 0


def test_sample_grid_refuses_2d_generators(tmp_path, tiny_mlp_pair, gaussian_points):
    model = keras_wgan.WGANGP(*tiny_mlp_pair(), n_critic=1)
    model.compile()
    with pytest.raises(ValueError, match="CriticLandscape"):
        model.fit(gaussian_points, batch_size=64, epochs=1, verbose=0, callbacks=[cbs.SampleGrid(tmp_path / "s")])


def test_loss_curves_csv_matches_history_and_resume_replaces_rows(tmp_path):
    model = digits_model()
    curves = cbs.LossCurves(tmp_path / "history.csv", tmp_path / "plots" / "losses.png")
    history = model.fit(digits_ds(), epochs=3, steps_per_epoch=2, verbose=0, callbacks=[curves])
    rows = cbs.read_history(tmp_path / "history.csv")
    assert sorted(rows) == [1, 2, 3]
    for key in ("d_loss", "g_loss", "w_dist", "gp"):
        np.testing.assert_allclose([rows[e][key] for e in (1, 2, 3)], history.history[key], rtol=1e-6)
    assert [rows[e]["step"] for e in (1, 2, 3)] == [2, 4, 6]
    png = Image.open(tmp_path / "plots" / "losses.png")
    assert png.size[0] > 500 and png.size[1] > 200

    # Resuming at epoch 2 (initial_epoch=2) recomputes epoch 3 and keeps epochs 1 and 2.
    model.fit(
        digits_ds(),
        epochs=4,
        initial_epoch=2,
        steps_per_epoch=2,
        verbose=0,
        callbacks=[cbs.LossCurves(tmp_path / "history.csv", tmp_path / "plots" / "losses.png")],
    )
    resumed = cbs.read_history(tmp_path / "history.csv")
    assert sorted(resumed) == [1, 2, 3, 4]
    assert resumed[1] == rows[1] and resumed[2] == rows[2]
    with open(tmp_path / "history.csv") as f:
        assert len(list(csv.reader(f))) == 5  # header + 4 epochs, no duplicates


class _BatchLogs(keras.callbacks.Callback):
    """Records every batch's logs (Keras' running means over the epoch so far)."""

    def __init__(self):
        super().__init__()
        self.logs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.logs.append([])

    def on_train_batch_end(self, batch, logs=None):
        self.logs[-1].append({k: float(v) for k, v in logs.items()})


def test_loss_curves_at_step_resolution_are_interval_means(tmp_path):
    model = digits_model()
    curves = cbs.LossCurves(tmp_path / "history.csv", tmp_path / "losses.png", every_n_steps=2)
    seen = _BatchLogs()
    model.fit(digits_ds(), epochs=2, steps_per_epoch=5, verbose=0, callbacks=[seen, curves])
    rows = cbs.read_history(tmp_path / "history_steps.csv", key="step")
    # Points every 2 steps and at each epoch end (steps 5 and 10).
    assert sorted(rows) == [2, 4, 5, 6, 8, 10]
    # Each point is the mean of the per-step values since the previous one, recovered independently
    # from the running means: value_b = mean_b * b - mean_(b-1) * (b - 1).
    per_step = []
    for epoch in seen.logs:
        previous = 0.0
        for b, logs in enumerate(epoch, start=1):
            per_step.append(logs["d_loss"] * b - previous * (b - 1))
            previous = logs["d_loss"]
    bounds = [0, 2, 4, 5, 6, 8, 10]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        assert rows[hi]["d_loss"] == pytest.approx(np.mean(per_step[lo:hi]), rel=1e-5), hi
    assert Image.open(tmp_path / "losses.png").size[0] > 500

    # A resumed run (from step 6) keeps the points up to its start and recomputes the rest.
    model.generator_iterations.assign(6)
    again = cbs.LossCurves(tmp_path / "history.csv", tmp_path / "losses.png", every_n_steps=2)
    model.fit(digits_ds(), epochs=3, initial_epoch=2, steps_per_epoch=2, verbose=0, callbacks=[again])
    resumed = cbs.read_history(tmp_path / "history_steps.csv", key="step")
    assert sorted(resumed) == [2, 4, 5, 6, 8]
    assert all(resumed[s] == rows[s] for s in (2, 4, 5, 6)) and resumed[8] != rows[8]


def test_gradient_norms_match_an_independent_computation(tmp_path):
    model = digits_model(variant=keras_wgan.WGAN, clip_value=0.05)
    real = next(iter(digits_ds()))[:8].numpy()
    cb = cbs.GradientNorms(real, tmp_path / "grad_norms.csv", tmp_path / "grad_norms.png", every_n_steps=2)
    model.fit(digits_ds(), epochs=2, steps_per_epoch=2, verbose=0, callbacks=[cb])
    with open(tmp_path / "grad_norms.csv") as f:
        records = list(csv.DictReader(f))
    assert [int(r["step"]) for r in records] == [0, 2, 4]
    assert (tmp_path / "grad_norms.png").is_file()

    # Independently: gradient of E[C(fake)] - E[C(real)] w.r.t. each layer's kernel and bias.
    z = tf.constant(np.random.default_rng(0).standard_normal((8, 8)), tf.float32)
    fake = model.generator(z, training=False)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model.critic(fake, training=True)) - tf.reduce_mean(model.critic(real, training=True))
    layer = model.critic.get_layer("down_1")
    g_kernel, g_bias = tape.gradient(loss, [layer.kernel, layer.bias])
    expected = np.sqrt(np.sum(g_kernel.numpy() ** 2) + np.sum(g_bias.numpy() ** 2))
    assert float(records[-1]["down_1"]) == pytest.approx(expected, rel=1e-4)
    assert set(records[-1]) >= {"down_0", "down_1", "down_2", "norm_1", "norm_2", "score"}


def test_critic_landscape_on_2d_and_refusal_of_images(tmp_path, tiny_mlp_pair):
    model = keras_wgan.WGANGP(*tiny_mlp_pair(), n_critic=2, seed=0)
    model.compile()
    real = next(iter(data.make_dataset("8gaussians", 256, seed=0))).numpy()
    cb = cbs.CriticLandscape(real[:200], tmp_path / "plots", every_n_steps=3, resolution=24, n_fake=100)
    model.fit(data.make_dataset("8gaussians", 64, n_critic=2), epochs=1, steps_per_epoch=6, verbose=0, callbacks=[cb])
    names = sorted(p.name for p in (tmp_path / "plots").glob("critic_*.png"))
    assert names == ["critic_00000000.png", "critic_00000003.png", "critic_00000006.png"]
    assert Image.open(tmp_path / "plots" / "critic.gif").n_frames == 3

    with pytest.raises(ValueError, match="shape \\(n, 2\\)"):
        cbs.CriticLandscape(np.zeros((4, 32, 32, 1)), tmp_path)
    with pytest.raises(ValueError, match="SampleGrid"):
        digits_model().fit(
            digits_ds(),
            epochs=1,
            steps_per_epoch=1,
            verbose=0,
            callbacks=[cbs.CriticLandscape(real[:10], tmp_path / "x")],
        )


def test_tensorboard_scalars_and_images(tmp_path):
    model = digits_model()
    tb = cbs.GANTensorBoard(tmp_path / "logs", every_n_steps=1, histograms=True)
    keras_tb = keras.callbacks.TensorBoard(tmp_path / "logs")
    model.fit(digits_ds(), epochs=2, steps_per_epoch=2, verbose=0, callbacks=[tb, keras_tb])
    tags, images = set(), 0
    for path in (tmp_path / "logs" / "gan").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tags.add(value.tag)
                if value.tag == "samples":
                    images += 1
    assert {"epoch_d_loss", "epoch_g_loss", "epoch_w_dist", "epoch_gp", "batch_d_loss"} <= tags
    assert images == 2
    assert any(t.startswith("critic/") for t in tags)
    assert list((tmp_path / "logs" / "train").glob("events.out.tfevents.*"))  # Keras' own callback side by side


def test_tensorboard_one_file_across_fits_and_the_critic_landscape_of_2d_data(tmp_path, tiny_mlp_pair):
    # train.py trains one fit call per epoch; the run's events go to one file, and a 2D run shows its
    # critic landscape in the Images tab as an image run shows its grids.
    model = keras_wgan.WGANGP(*tiny_mlp_pair(), n_critic=2, seed=0)
    model.compile()
    points = data.make_dataset("8gaussians", batch_size=16, n_critic=2)
    landscape = cbs.CriticLandscape(np.random.default_rng(0).normal(size=(64, 2)), tmp_path / "plots", 100)
    tb = cbs.GANTensorBoard(tmp_path / "logs", image_fn=landscape.render, keep_open=True)
    for epoch in range(3):
        model.fit(
            points, initial_epoch=epoch, epochs=epoch + 1, steps_per_epoch=2, verbose=0, callbacks=[landscape, tb]
        )
    tb.close()
    files = list((tmp_path / "logs" / "gan").glob("events.out.tfevents.*"))
    assert len(files) == 1
    pictures = []
    for event in tf.compat.v1.train.summary_iterator(str(files[0])):
        pictures += [(v.tag, event.step) for v in event.summary.value if v.tag == "critic_landscape"]
    assert pictures == [("critic_landscape", 2), ("critic_landscape", 4), ("critic_landscape", 6)]
    rgb = landscape.render()
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[-1] == 3 and rgb.std() > 0
    # Without keep_open each fit writes its own file, as Keras' TensorBoard callback does.
    tb2 = cbs.GANTensorBoard(tmp_path / "logs2")
    for epoch in range(2):
        model.fit(points, initial_epoch=epoch, epochs=epoch + 1, steps_per_epoch=1, verbose=0, callbacks=[tb2])
    assert len(list((tmp_path / "logs2" / "gan").glob("events.out.tfevents.*"))) == 2


@pytest.mark.parametrize(
    "make",
    [
        lambda p: cbs.SampleGrid(p, every_n_steps=None, every_n_epochs=None),
        lambda p: cbs.SampleGrid(p, rows=0),
        lambda p: cbs.GeneratorEMA(decay=1.0),
        lambda p: cbs.LossCurves(p / "h.csv", smoothing=2),
        lambda p: cbs.GradientNorms(np.zeros((2, 2)), p / "g.csv", every_n_steps=0),
    ],
)
def test_bad_callback_arguments(tmp_path, make):
    with pytest.raises(ValueError):
        make(tmp_path)


def test_gradient_norm_measurement_leaves_the_training_state_untouched():
    g = networks.build_generator(8, 32, 1, width=4, seed=0)
    c = networks.build_critic(32, 1, width=4, norm="batch", seed=1)
    model = keras_wgan.WGANGP(g, c, n_critic=2, seed=0, allow_batchnorm=True)
    model.compile()
    real = next(iter(digits_ds()))[:8]
    before = [v.numpy().copy() for v in model.variables]
    norms = cbs.critic_layer_gradient_norms(model, real, tf.random.normal((8, 8)))
    assert all(np.isfinite(v) and v > 0 for v in norms.values())
    for b, v in zip(before, model.variables, strict=True):
        np.testing.assert_array_equal(b, v.numpy(), err_msg=v.path)
