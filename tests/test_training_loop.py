"""Training-loop fidelity: partial batches, mixed-precision step counts, steps_per_execution,
validation that leaves training alone, the float16 penalty."""

import csv
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import kill_after_checkpoint, run_cli

import keras_wgan
from keras_wgan import callbacks as cbs
from keras_wgan import penalties
from keras_wgan.config import TrainConfig
from keras_wgan.schedule import StepTrigger, crossed
from keras_wgan.training import train

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}


def toy_gan(tiny_mlp_pair, n_critic=5, **kwargs):
    g, c = tiny_mlp_pair()
    model = keras_wgan.WGANGP(g, c, n_critic=n_critic, gp_weight=0.1, seed=0)
    model.compile(**kwargs)
    return model


# ------------------------------------------------------------ partial batches
def test_final_partial_batch_keeps_metrics_finite(tiny_mlp_pair):
    # 53 samples, batches of 50 = 10 per critic update x 5: the last batch holds 3,
    # fewer than one per critic update; it is skipped (before the fix: empty chunks, NaN).
    model = toy_gan(tiny_mlp_pair)
    x = np.random.default_rng(0).normal(size=(53, 2)).astype("float32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, batch_size=50, epochs=2, verbose=0)
    for key in ("d_loss", "g_loss", "w_dist", "gp"):
        assert all(np.isfinite(history.history[key])), (key, history.history[key])
    assert cbs.generator_step(model) == 2  # one full batch per epoch; the partial ones skipped
    assert int(model.d_optimizer.iterations) == 10
    assert sum("batches of unknown size" in str(w.message) for w in caught) == 1  # once, at trace time


def test_partial_batch_with_enough_samples_trains_on_equal_chunks(tiny_mlp_pair):
    model = toy_gan(tiny_mlp_pair)
    x = np.random.default_rng(0).normal(size=(58, 2)).astype("float32")  # 50 + 8: the 8 give 1 per critic update
    history = model.fit(x, batch_size=50, epochs=1, verbose=0)
    assert all(np.isfinite(v[0]) for v in history.history.values())
    assert cbs.generator_step(model) == 2 and int(model.d_optimizer.iterations) == 10


# ------------------------------------------------------- mixed precision
def test_mixed_precision_counts_every_generator_iteration(tiny_mlp_pair):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        g, c = tiny_mlp_pair()
        model = keras_wgan.WGANGP(g, c, n_critic=4, gp_weight=0.1, seed=0)
        model.compile()
        assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
        real = np.random.default_rng(0).normal(size=(4 * 16 * 4, 2)).astype("float32")
        model.fit(real, batch_size=16 * 4, epochs=1, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    # The loss-scale optimizers skip the first steps (scale 2**15 overflows) without counting them;
    # the model's own counter does not.
    assert cbs.generator_step(model) == 4
    assert int(model.g_optimizer.iterations) <= 4


def _tiny_gradient_critic(dtype_policy):
    keras.mixed_precision.set_global_policy(dtype_policy)
    try:
        critic = keras.Sequential(
            [keras.Input((8,)), keras.layers.Dense(16, use_bias=False), keras.layers.Dense(1, use_bias=False)]
        )
    finally:
        keras.mixed_precision.set_global_policy("float32")
    rng = np.random.default_rng(0)
    critic.layers[0].kernel.assign(rng.normal(size=(8, 16)) * 1e-3)
    critic.layers[1].kernel.assign(rng.normal(size=(16, 1)) * 1e-6)  # input gradient ~ 4e-9 per element: below float16
    return critic


def test_penalty_inner_gradient_does_not_underflow_in_float16():
    real = np.random.default_rng(1).normal(size=(4, 8)).astype("float32")
    fake = np.zeros_like(real)
    alpha = tf.constant([0.1, 0.4, 0.6, 0.9])
    kwargs = {"alpha": alpha, "target": 0.0, "epsilon": 0.0}
    exact = float(penalties.gradient_penalty(_tiny_gradient_critic("float32"), real, fake, **kwargs))
    half = _tiny_gradient_critic("mixed_float16")
    unscaled = float(penalties.gradient_penalty(half, real, fake, **kwargs))
    scaled = float(penalties.gradient_penalty(half, real, fake, gradient_scale=2.0**15, **kwargs))
    assert exact > 0
    assert abs(unscaled - exact) > 0.2 * exact  # float16 loses the inner gradient without a scale
    assert scaled == pytest.approx(exact, rel=0.02)


def test_wgan_gp_penalty_under_mixed_precision_uses_the_loss_scale(monkeypatch, tiny_mlp_pair):
    from keras_wgan.models import wgan_gp

    seen = []
    real_penalty = wgan_gp.gradient_penalty

    def spy(*args, gradient_scale=None, **kwargs):
        seen.append(gradient_scale)
        return real_penalty(*args, gradient_scale=gradient_scale, **kwargs)

    monkeypatch.setattr(wgan_gp, "gradient_penalty", spy)
    x = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")
    for policy in ("float32", "mixed_float16"):
        keras.mixed_precision.set_global_policy(policy)
        try:
            g, c = tiny_mlp_pair()
            model = keras_wgan.WGANGP(g, c, seed=3)
            model.compile()
        finally:
            keras.mixed_precision.set_global_policy("float32")
        model.penalty(x, x[::-1])
    assert seen[0] is None  # float32: no scaling
    assert float(seen[1]) == float(model.d_optimizer.dynamic_scale) == 2.0**15  # the critic optimizer's scale


def test_cli_mixed_precision_kill_and_resume_keeps_the_step_count(tmp_path):
    out = tmp_path / "run"
    args = [sys.executable, str(ROOT / "train.py"), "--variant", "wgan_gp", "--dataset", "8gaussians"]
    args += ["--width", "16", "--batch-size", "16", "--quiet", "--mixed-precision", "mixed_float16"]
    args += ["--steps", "24", "--steps-per-epoch", "8", "--checkpoint-every-steps", "4", "--out", str(out)]
    proc = subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / "backup" / "state.json"
    killed_at = kill_after_checkpoint(proc, state, 8)
    assert 8 <= killed_at < 24, "the run finished before it could be killed"
    resumed = run_cli("train.py", args[2:])  # the resumed run in this process
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming at generator step {killed_at}" in resumed.stdout
    assert json.loads(state.read_text())["step"] == 24
    gan = keras.saving.load_model(out / "gan.keras")
    assert int(gan.generator_iterations) == 24
    with open(out / "history.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == [8, 16, 24]


# ---------------------------------------------------- steps_per_execution
def test_step_trigger_fires_when_a_multiple_is_crossed():
    assert crossed(4, 6, 5) and not crossed(5, 9, 5) and crossed(9, 10, 5) and not crossed(3, 9, None)
    trigger = StepTrigger(3)
    trigger.reset(0)
    assert [s for s in (2, 4, 5, 7, 9, 10) if trigger(s)] == [4, 7, 9]


class _RecordGenerator(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_train_batch_end(self, batch, logs=None):
        self.weights[cbs.generator_step(self.model)] = [w.numpy().copy() for w in self.model.generator.weights]


def test_ema_accounts_for_every_step_of_an_execution(tiny_mlp_pair):
    model = toy_gan(tiny_mlp_pair, n_critic=1, steps_per_execution=3)
    ema = cbs.GeneratorEMA(decay=0.9, warmup=False)
    record = _RecordGenerator()
    start = [w.numpy().copy() for w in model.generator.weights]
    x = np.random.default_rng(0).normal(size=(6 * 16, 2)).astype("float32")
    model.fit(x, batch_size=16, epochs=1, verbose=0, callbacks=[ema, record])
    assert sorted(record.weights) == [3, 6]  # the callbacks see every third step
    d = 0.9**3  # three steps of decay 0.9 at each call
    for i, w0 in enumerate(start):
        expected = d * (d * w0 + (1 - d) * record.weights[3][i]) + (1 - d) * record.weights[6][i]
        np.testing.assert_allclose(ema.ema_generator.weights[i].numpy(), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("k", [2, 3])
def test_cli_epochs_and_schedules_with_steps_per_execution(tmp_path, k):
    out = tmp_path / "run"
    config = TrainConfig(
        variant="wgan_gp",
        dataset="8gaussians",
        width=8,
        batch_size=8,
        steps=10,
        steps_per_epoch=5,
        steps_per_execution=k,
        grad_norm_every_steps=3,
        checkpoint_every_steps=4,
        plot_every_steps=4,
        out=str(out),
        verbose=0,
    )
    train(config)
    with open(out / "history.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [5, 10]  # 5 steps an epoch, not a multiple of k
    with open(out / "plots" / "grad_norms.csv") as f:
        measured = [int(r["step"]) for r in csv.DictReader(f)]
    seen = sorted({*range(k, 5, k), 5, *range(5 + k, 10, k), 10})  # the steps the callbacks see
    expected = [0] + [s for prev, s in zip([0, *seen], seen, strict=False) if crossed(prev, s, 3)]
    assert measured == expected and len(measured) == 4  # multiples 3, 6, 9 each measured once
    frames = sorted(int(p.stem.split("_")[1]) for p in (out / "plots").glob("critic_*.png"))
    assert frames == [0] + [s for prev, s in zip([0, *seen], seen, strict=False) if crossed(prev, s, 4)]
    assert json.loads((out / "backup" / "state.json").read_text())["step"] == 10


# ------------------------------------------------------------ validation
def test_validation_leaves_the_training_run_unchanged(tiny_mlp_pair):
    x = np.random.default_rng(0).normal(size=(5 * 32 * 4, 2)).astype("float32")
    weights = []
    for validation in (None, x[:160]):
        keras.utils.set_random_seed(7)
        model = toy_gan(tiny_mlp_pair)
        model.fit(x, batch_size=160, epochs=2, verbose=0, shuffle=False, validation_data=validation)
        weights.append([w.numpy() for w in model.generator.weights + model.critic.weights])
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_evaluation_runs_the_penalty_in_inference_mode(tiny_mlp_pair):
    g, _ = tiny_mlp_pair()
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.9, seed=1), keras.layers.Dense(1)])
    model = keras_wgan.WGANGP(g, critic, gp_weight=1.0, seed=0)
    model.compile()
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    # Without dropout the critic is linear: the penalty is (||w|| - 1)^2 exactly.
    expected = (np.linalg.norm(critic.layers[-1].kernel.numpy()) - 1.0) ** 2
    got = model.evaluate(x, batch_size=64, verbose=0, return_dict=True)["gp"]
    assert got == pytest.approx(expected, rel=1e-4)
