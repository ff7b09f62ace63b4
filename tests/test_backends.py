"""The core on both Keras backends: this module runs under whichever backend the session has.

CI runs it twice: inside the default (TensorFlow) session, and again with
``KERAS_BACKEND=jax python -m pytest -m backends``. The tests that compare the
two backends run TensorFlow in a subprocess; they run once, from the JAX
session. The command lines on both backends are in ``test_backends_cli.py``.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_wgan
from keras_wgan import backend, networks
from keras_wgan.penalties import DEFAULT_EPSILON, gradient_penalty

pytestmark = pytest.mark.backends

ROOT = Path(__file__).resolve().parents[1]
BACKEND = keras.backend.backend()
OTHER = "jax" if BACKEND == "tensorflow" else "tensorflow"
VARIANTS = ["DCGAN", "RSGAN", "RaGAN", "WGAN", "WGANGP", "SNGAN", "WGANLP", "DRAGAN", "R1GAN", "WGANDiv"]
# Conditional models (CLASS/critic conditioning), with 3 classes.
VARIANTS += ["WGANGP/projection", "DCGAN/ac", "WGANDiv/concat"]


# Tests that run both backends themselves (TensorFlow in a subprocess) run once, in the JAX session
# (CI's second one), which keeps the default TensorFlow session short.
both_backends = pytest.mark.skipif(BACKEND != "jax", reason="runs both backends itself; once, from the JAX session")


def run_python(code: str, backend: str, timeout: float = 600, **env) -> str:
    """Runs ``code`` in a fresh interpreter under ``backend``; returns its stdout (fails the test on an error)."""
    full_env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "-1",
        "PYTHONPATH": str(ROOT / "tests"),
        **env,
    }
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


# ------------------------------------------------------------ the penalty
def _linear_critic(w):
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    critic.layers[0].kernel.assign(np.asarray(w, dtype="float32").reshape(2, 1))
    return critic


def test_penalty_of_a_linear_critic_and_its_gradient_by_hand():
    # C(x) = w.x with w = (3, 4): the input gradient is w everywhere, ||w|| = 5,
    # GP = (5 - 1)^2 = 16, and dGP/dw = 2 (||w|| - 1) w / ||w|| = (4.8, 6.4): the
    # outer gradient goes through the inner one (double back-propagation).
    critic = _linear_critic([3.0, 4.0])
    x = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    fn = lambda: gradient_penalty(critic, x, -x, alpha=np.full(8, 0.3, "float32"))  # noqa: E731
    assert float(fn()) == pytest.approx(16.0, rel=1e-6)
    (grad,) = backend.gradients(fn, critic.trainable_variables)
    np.testing.assert_allclose(np.asarray(grad).ravel(), [4.8, 6.4], rtol=1e-5)
    one_sided = gradient_penalty(_linear_critic([0.3, 0.4]), x, -x, one_sided=True, seed=0)
    assert float(one_sided) == 0.0  # ||w|| = 0.5 < 1


def test_penalty_of_a_zero_gradient_is_finite_and_exact():
    # A constant critic: g = 0, ||g|| = sqrt(epsilon), GP = (sqrt(eps) - 1)^2, and its
    # gradient with respect to the weights is finite (the epsilon keeps the sqrt's derivative finite).
    critic = _linear_critic([0.0, 0.0])
    x = np.ones((4, 2), "float32")
    fn = lambda: gradient_penalty(critic, x, 2 * x, alpha=np.full(4, 0.5, "float32"))  # noqa: E731
    assert float(fn()) == pytest.approx((np.sqrt(DEFAULT_EPSILON) - 1) ** 2, rel=1e-6)
    (grad,) = backend.gradients(fn, critic.trainable_variables)
    assert np.isfinite(np.asarray(grad)).all()


# ------------------------------------------------------------ the clip
def test_the_weight_clip_holds_after_every_critic_update():
    g = networks.build_mlp_generator(2, width=8, depth=2, seed=0)
    c = networks.build_mlp_critic(width=8, depth=2, seed=1)
    model = keras_wgan.WGAN(g, c, clip_value=0.01, n_critic=2, seed=0)
    model.compile(keras.optimizers.SGD(1.0), keras.optimizers.SGD(1.0))  # steps far beyond the box
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32") * 5
    model.fit(x, batch_size=16, epochs=2, verbose=0, shuffle=False)
    weights = np.concatenate([np.abs(np.asarray(v)).ravel() for v in model.critic.trainable_variables])
    assert weights.max() <= 0.01 + 1e-7
    assert (weights > 0.01 - 1e-7).mean() > 0.2  # many were pushed beyond the bound and clipped to it
    assert int(model.d_optimizer.iterations.numpy()) == 2 * int(model.generator_iterations.numpy()) == 16


# ------------------------------------------------------------ one step, both backends
def one_step_weights(variant: str) -> dict[str, list]:
    """Every variable of both networks after one generator iteration with fixed weights and noise.

    The networks' weights come from NumPy and the model's latent and interpolation
    draws from a fixed table, so both backends start from and draw the same numbers.
    """
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(7)
    variant, _, conditioning = variant.partition("/")
    cls = getattr(keras_wgan, variant)
    labelled = {} if not conditioning else {"num_labels": 3}
    z_table = rng.normal(size=(64, 2)).astype("float32")
    a_table = rng.uniform(size=(64,)).astype("float32")

    class Fixed(cls):
        def sample_latent(self, n):
            return keras.ops.convert_to_tensor(z_table[:n])

        def sample_uniform(self, shape):
            shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
            return keras.ops.convert_to_tensor(np.resize(a_table, shape))

    norm = "batch" if variant == "DCGAN" else "none"  # batch norm: statistics through the step too
    g = networks.build_mlp_generator(2, width=8, depth=2, norm=norm, seed=0, **labelled)
    c_norm = "spectral" if variant == "SNGAN" else "none"
    c = networks.build_mlp_critic(
        width=8, depth=2, norm=c_norm, seed=1, **labelled, **({"conditioning": conditioning} if conditioning else {})
    )
    for v in [*g.weights, *c.weights]:
        # The trainable weights, and spectral normalization's power-iteration vector (its initializer
        # draws other numbers on each backend).
        if v.trainable or "vector_u" in v.path:
            v.assign(rng.normal(scale=0.5, size=v.shape).astype("float32"))
    kwargs = {"n_critic": 2} if cls.paper_defaults.n_critic > 1 else {}
    model = Fixed(g, c, seed=0, **kwargs)
    model.compile()
    x = rng.normal(size=(8 * model.n_critic, 2)).astype("float32")
    y = rng.integers(0, 3, size=len(x)) if conditioning else None
    history = model.fit(x, y, batch_size=8 * model.n_critic, epochs=1, verbose=0, shuffle=False)
    out = {f"g{i}": np.asarray(v).tolist() for i, v in enumerate(g.weights)}
    out.update({f"c{i}": np.asarray(v).tolist() for i, v in enumerate(c.weights)})
    out.update({f"log_{k}": v for k, v in history.history.items()})
    return out


@pytest.fixture(scope="module")
def other_backend(tmp_path_factory):
    """One subprocess under the other backend for the comparisons: its one-step weights of
    every variant, its outputs of the model this backend saved, and a model it saved."""
    folder = tmp_path_factory.mktemp("across")
    here, there = str(folder / f"{BACKEND}.keras"), str(folder / f"{OTHER}.keras")
    mine_saved = save_trained(here)
    result = run_python(
        f"""
        import json
        from test_backends import load_outputs, one_step_weights, save_trained
        steps = {{v: one_step_weights(v) for v in {VARIANTS!r}}}
        print(json.dumps([steps, load_outputs({here!r}), save_trained({there!r})]))
        """,
        OTHER,
    )
    steps, loaded_there, theirs_saved = json.loads(result.splitlines()[-1])
    return {"steps": steps, "mine": mine_saved, "loaded_there": loaded_there, "theirs": theirs_saved, "there": there}


@both_backends
def test_one_step_of_each_variant_matches_the_other_backend(other_backend):
    theirs = other_backend["steps"]
    for variant in VARIANTS:
        mine = one_step_weights(variant)
        assert mine.keys() == theirs[variant].keys()
        for key in mine:
            np.testing.assert_allclose(
                np.asarray(mine[key], dtype="float64"),
                np.asarray(theirs[variant][key], dtype="float64"),
                rtol=1e-4,
                atol=1e-5,
                err_msg=f"{variant} {key}: {BACKEND} vs {OTHER}",
            )


# ------------------------------------------------------------ saving across backends
def save_trained(path: str) -> list:
    """Trains a WGAN-GP for one step, saves it to ``path``; returns its outputs on fixed inputs."""
    g = networks.build_mlp_generator(2, width=8, depth=2, seed=0)
    c = networks.build_mlp_critic(width=8, depth=2, norm="layer", seed=1)
    model = keras_wgan.WGANGP(g, c, n_critic=2, seed=3)
    model.compile()
    x = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    model.fit(x, batch_size=16, epochs=1, verbose=0)
    model.save(path)
    return outputs(model)


def outputs(model) -> list:
    """The generator's samples and the critic's scores on fixed inputs, and the counters."""
    z = np.linspace(-2, 2, 20, dtype="float32").reshape(10, 2)
    fake = model.generate(z)
    return [
        fake.tolist(),
        np.asarray(model.critic(fake)).tolist(),
        int(model.generator_iterations.numpy()),
        int(model.d_optimizer.iterations.numpy()),
        [np.asarray(v).tolist() for v in model.d_optimizer.variables if "float" in str(v.dtype)],
    ]


def load_outputs(path: str) -> list:
    return outputs(keras.saving.load_model(path))


@both_backends
def test_a_model_saved_under_one_backend_loads_under_the_other(other_backend):
    mine, loaded_there = other_backend["mine"], other_backend["loaded_there"]
    theirs, loaded_here = other_backend["theirs"], load_outputs(other_backend["there"])
    for a, b in ((mine, loaded_there), (theirs, loaded_here)):
        np.testing.assert_allclose(a[0], b[0], rtol=1e-5, atol=1e-6)  # generator outputs
        np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-6)  # critic scores
        assert a[2:4] == b[2:4] == [2, 4]  # generator iterations, critic updates
        for x, y in zip(a[4], b[4], strict=True):  # the critic optimizer's state came along
            np.testing.assert_allclose(x, y, rtol=1e-6)


# ------------------------------------------------------------ several devices on JAX
DATA_PARALLEL = """
import json, keras, numpy as np, keras_wgan
from keras_wgan import networks
devices = {devices}
if devices > 1:
    import jax
    assert len(jax.devices()) == devices, jax.devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
rng = np.random.default_rng(0)
g = networks.build_mlp_generator(2, width=8, depth=2, seed=0)
c = networks.build_mlp_critic(width=8, depth=2, seed=1)
for v in [*g.weights, *c.weights]:
    v.assign(rng.normal(scale=0.5, size=v.shape).astype("float32"))
initial = [np.asarray(v).tolist() for v in [*g.weights, *c.weights]]
model = keras_wgan.RaGAN(g, c, seed=0)
model.compile(g_optimizer=keras.optimizers.SGD(0.05), d_optimizer=keras.optimizers.SGD(0.05))
x = rng.normal(size=(64, 2)).astype("float32")
model.fit(x, batch_size=16, epochs=2, verbose=0, shuffle=False)
print(json.dumps([initial, [np.asarray(v).tolist() for v in [*g.weights, *c.weights]]]))
"""


@both_backends
def test_jax_data_parallel_on_two_devices_matches_one_device():
    # RaGAN: its relativistic averages must be global-batch means for the two to agree.
    flags = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    start, one = json.loads(run_python(DATA_PARALLEL.format(devices=1), "jax", **flags).splitlines()[-1])
    start_two, two = json.loads(run_python(DATA_PARALLEL.format(devices=2), "jax", **flags).splitlines()[-1])
    # The devices' partial sums are added in another order than one device's: the gradients agree to
    # float32 rounding. Plain SGD keeps it that way (Adam divides by each gradient's size, which turns the
    # rounding of a near-zero gradient into a whole step in a rounding-chosen direction: one weight
    # differed by 1.1e-4 relative that way on an AVX-512 CPU), so the check holds on every CPU.
    for w0, w0_two, a, b in zip(start, start_two, one, two, strict=True):
        np.testing.assert_array_equal(w0, w0_two)
        assert np.abs(np.subtract(a, w0)).max() > 1e-4 or np.size(a) == 1  # training moved the weights
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


NO_TENSORFLOW = """
import sys
sys.modules["tensorflow"] = None  # any import of TensorFlow now fails
import keras, numpy as np
import keras_wgan
from keras_wgan import backend, losses, networks, penalties, variants
from keras_wgan.models import jax_trainer
assert keras.backend.backend() == "jax" and backend.input_gradient.__module__ == "keras_wgan.backend.jax"
assert networks.build_critic(32, 1, width=4, norm="layer").output_shape == (None, 1)
assert networks.build_generator(16, 32, 1, width=4).output_shape == (None, 32, 32, 1)
for name in ("wgan_gp", "ragan"):  # the penalty's double backprop; the global-batch means
    g, c = networks.build_mlp_generator(2, width=8, depth=1, seed=0), networks.build_mlp_critic(width=8, depth=1)
    model = variants.get(name).build_model(g, c, seed=0)
    model.compile()
    x = np.random.default_rng(0).normal(size=(8 * model.n_critic, 2)).astype("float32")
    history = model.fit(x, batch_size=8 * model.n_critic, epochs=2, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1]) and model.first_nonfinite_variable() is None
print("no tensorflow:", sorted(m for m in sys.modules if m.startswith("tensorflow") and sys.modules[m]))
"""


@both_backends
def test_the_core_imports_and_trains_without_tensorflow_on_jax():
    # Many GPU machines have JAX and Keras but no TensorFlow: the models, losses, penalties, networks and
    # registries must import and train there (the tf.data pipelines are the part that needs TensorFlow).
    out = run_python(NO_TENSORFLOW, "jax")
    assert out.strip().splitlines()[-1] == "no tensorflow: []"
