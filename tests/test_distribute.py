"""MirroredStrategy on two logical CPU devices: same first update as one device (WGAN-GP, RaGAN),
replica shards, the chief's broadcast, TF_CONFIG roles, the CLI (multi-worker: test_multiworker.py)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from keras_wgan import distribute
from keras_wgan.errors import ConfigError

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

    # RaGAN compares each sample with the mean of the other set over the global batch:
    # with halves of different means, per-replica averages would give another update.
    real = np.sort(real, axis=0)
    real[8:] += 3.0
    def build_ragan():
        model = build()
        return keras_wgan.RaGAN(model.generator, model.critic, n_critic=1, seed=0)
    def ragan_step(model):
        model.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
        return one_step(model)
    single = ragan_step(build_ragan())
    with strategy.scope():
        mirrored = ragan_step(build_ragan())
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    print("same ragan update")

    # A conditional model: each replica's fakes and penalty use its own examples' labels.
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1] * 2)
    def build_conditional():
        z, y = keras.Input((2,)), keras.Input((3,))
        h = keras.layers.Concatenate()([keras.layers.Lambda(lambda t: 0.0 * t)(z), y])
        gen = keras.Model([z, y], keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")(h))
        x_in, y_in = keras.Input((2,)), keras.Input((3,))
        linear, embed = keras.layers.Dense(1), keras.layers.Dense(2, use_bias=False, kernel_initializer="ones")
        from keras_wgan.conditioning import ProjectionScore
        out = keras.layers.Add()([linear(x_in), ProjectionScore(embed)([x_in, y_in])])
        critic = keras.Model([x_in, y_in], out)
        linear.kernel.assign(w0)
        model = keras_wgan.WGANGP(gen, critic, n_critic=1, gp_weight=10.0, seed=0)
        model.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
        return model
    def conditional_step(model):
        model.fit(tf.data.Dataset.from_tensors((real, labels)), epochs=1, verbose=0)
        return [v.numpy() for v in model.critic.weights + model.generator.weights]
    single = conditional_step(build_conditional())
    with strategy.scope():
        mirrored = conditional_step(build_conditional())
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    print("same conditional update")

    # distribute_stream: replica r gets shard r of each step.
    from keras_wgan import data, distribute
    def shard(count, index):
        return data.make_dataset("8gaussians", 4, n_critic=2, seed=5, num_shards=count, shard_index=index)
    step = next(iter(distribute.distribute_stream(strategy, shard)))
    whole = next(iter(shard(1, 0))).numpy()
    parts = [t.numpy() for t in strategy.experimental_local_results(step)]
    np.testing.assert_array_equal(parts[0], whole[0::2])
    np.testing.assert_array_equal(parts[1], whole[1::2])
    def labelled(count, index):
        return data.make_dataset("digits", 4, n_critic=2, seed=5, num_shards=count, shard_index=index, labels=True)
    step = next(iter(distribute.distribute_stream(strategy, labelled)))
    whole_x, whole_y = (t.numpy() for t in next(iter(labelled(1, 0))))
    for r, (x, y) in enumerate(zip(*(strategy.experimental_local_results(t) for t in step))):
        np.testing.assert_array_equal(x.numpy(), whole_x[r::2])
        np.testing.assert_array_equal(y.numpy(), whole_y[r::2])
    print("replica shards")

    # sync_from_first_replica: every copy takes replica 0's value (floats and 64-bit counters).
    with strategy.scope():
        w = tf.Variable([1.0, 2.0])
        n = tf.Variable(0, dtype=tf.int64)
    w.values[1].assign([7.0, 8.0])
    n.values[0].assign(2**40 + 3)
    distribute.sync_from_first_replica(strategy, [w, n])
    assert [v.numpy().tolist() for v in w.values] == [[1.0, 2.0], [1.0, 2.0]]
    assert [int(v.numpy()) for v in n.values] == [2**40 + 3, 2**40 + 3]
    print("synced")
    """
)


def test_mirrored_first_step_equals_single_device():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=ENV, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for line in ("same update", "same ragan update", "same conditional update", "replica shards", "synced"):
        assert line in result.stdout


TWO_CPUS = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import train  # train.py
    common = ["--strategy", "mirrored", "--dataset", "25gaussians", "--width", "16", "--quiet"]
    out = sys.argv[2]
    runs = [  # the first call splits the CPU (--cpu-replicas 2, before TensorFlow starts); the others share it
        ["--cpu-replicas", "2", *common, "--batch-size", "16", "--steps", "3", "--steps-per-epoch", "3",
         "--out", out + "/m"],
        [*common, "--batch-size", "15", "--steps", "2", "--out", out + "/refused1"],
        [*common, "--batch-size", "16", "--steps-per-execution", "4", "--steps", "2", "--out", out + "/refused2"],
    ]
    codes = [train.main(args) for args in runs]
    print("CODES " + json.dumps(codes))

    # Spectral normalization's power-iteration vector is per-replica state: each replica holds its copy
    # of u, advances it from the same values with the same kernel, and so keeps it equal.
    import numpy as np, tensorflow as tf, keras_wgan
    from keras_wgan import data, networks
    # (A second MirroredStrategy in one process: reductions through one device, not collective ops whose
    # instance keys would collide with the first strategy's.)
    strategy = tf.distribute.MirroredStrategy(
        [d.name for d in tf.config.list_logical_devices("CPU")], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    with strategy.scope():
        critic = networks.build_mlp_critic(width=8, depth=1, norm="spectral", seed=1)
        model = keras_wgan.SNGAN(networks.build_mlp_generator(width=8, depth=1, seed=0), critic, seed=0)
        model.compile()
    u = [v for v in critic.non_trainable_variables if "vector_u" in v.path]
    before = [np.asarray(v.value).copy() for v in u]
    model.fit(data.make_dataset("25gaussians", 16, n_critic=5), steps_per_epoch=3, epochs=1, verbose=0)
    copies = [[np.asarray(x) for x in strategy.experimental_local_results(v.value)] for v in [*u, *critic.weights]]
    spread = max(float(np.abs(c - cs[0]).max()) for cs in copies for c in cs)
    moved = min(float(np.abs(np.asarray(v.value) - b).max()) for v, b in zip(u, before))
    print("SN " + json.dumps({"replicas": len(copies[0]), "spread": spread, "moved": moved}))
    """
)


def test_two_cpu_replicas_cli_runs_refusals_and_spectral_normalization_state(tmp_path):
    # One process for the three train.py calls: --cpu-replicas must come before TensorFlow starts.
    result = subprocess.run(
        [sys.executable, "-c", TWO_CPUS, str(ROOT), str(tmp_path)], capture_output=True, text=True, env=ENV, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in result.stdout.splitlines() if " " in line}
    codes = json.loads(printed["CODES"])
    assert codes == [0, 2, 2], result.stderr[-3000:]
    assert (tmp_path / "m" / "generator.keras").is_file()
    assert "finished 3 generator steps" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("train.py: error:")]
    assert errors == [
        "train.py: error: --batch-size 15 does not split evenly over 2 replicas; use a multiple of 2 (e.g. 14 or 16)",
        "train.py: error: --steps-per-execution 4 does not work with 2 replicas: Keras' multi-step loop over a "
        "distributed dataset fails at its first call; use 1 (the default)",
    ]
    assert "Traceback" not in result.stderr
    # Refused before anything was written.
    assert not (tmp_path / "refused1").exists() and not (tmp_path / "refused2").exists()
    sn = json.loads(printed["SN"])
    assert sn["replicas"] == 2 and sn["spread"] == 0.0 and sn["moved"] > 0  # updated, and alike on both replicas


@pytest.mark.parametrize(
    ("tf_config", "role"),
    [
        ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}, (0, 2, True)),
        ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}, (1, 2, False)),
        ({"cluster": {"chief": ["c:0"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}, (0, 2, True)),
        ({"cluster": {"chief": ["c:0"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}, (1, 2, False)),
    ],
)
def test_worker_role_from_tf_config(tf_config, role):
    got = distribute.worker_role("multiworker", {"TF_CONFIG": json.dumps(tf_config)})
    assert (got.index, got.count, got.is_chief) == role
    assert distribute.worker_role("mirrored", {"TF_CONFIG": json.dumps(tf_config)}).count == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "TF_CONFIG must be JSON"),
        ('{"cluster": {"worker": ["a:1"]}}', "TF_CONFIG must be JSON"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "task index 3 is not in"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "does not train"),
    ],
)
def test_bad_tf_config_is_named(raw, message):
    with pytest.raises(ConfigError, match=message):
        distribute.worker_role("multiworker", {"TF_CONFIG": raw})
