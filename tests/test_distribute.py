"""MirroredStrategy on two logical CPU devices: same first update as one device, CLI trains."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}

SCRIPT = textwrap.dedent(
    """
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, keras_wgan

    rng = np.random.default_rng(0)
    real = rng.normal(size=(16, 2)).astype("float32")          # one global batch
    w0 = np.array([[0.6], [-1.3]], "float32")                   # ||w0|| != 1: the penalty pulls

    def build():
        critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        critic.layers[0].kernel.assign(w0)
        # The generator ignores z (it multiplies it by 0): its output is its bias, so the two runs'
        # different noise draws cannot make a difference.
        gen = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda z: 0.0 * z),
                                keras.layers.Dense(2, kernel_initializer="zeros", bias_initializer="ones")])
        model = keras_wgan.WGANGP(gen, critic, n_critic=1, gp_weight=10.0, seed=0)
        # Plain SGD: any wrong loss scaling across replicas shows up in the update size.
        model.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
        return model

    def one_step(model):
        model.fit(tf.data.Dataset.from_tensors(real), epochs=1, verbose=0)
        return [v.numpy() for v in model.critic.weights + model.generator.weights]

    single = one_step(build())
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        mirrored_model = build()
    mirrored = one_step(mirrored_model)
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    moved = min(np.abs(single[0] - w0).max(), np.abs(single[-1] - 1.0).max())  # critic kernel, generator bias
    assert moved > 1e-3, moved
    print("same update", moved)
    """
)


def test_mirrored_first_step_equals_single_device():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=ENV, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "same update" in result.stdout


def test_cli_trains_under_mirrored_strategy(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "--cpu-replicas",
            "2",
            "--strategy",
            "mirrored",
            "--dataset",
            "25gaussians",
            "--width",
            "16",
            "--batch-size",
            "16",
            "--steps",
            "3",
            "--steps-per-epoch",
            "3",
            "--quiet",
            "--out",
            str(tmp_path / "m"),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "m" / "generator.keras").is_file()
    assert "finished 3 generator steps" in result.stdout
