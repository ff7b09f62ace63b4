"""Helpers shared by several test modules: the command lines in-process, killing a training process,
the save/load round trip."""

import contextlib
import importlib.util
import io
import json
import os
import signal
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_CLI_MODULES: dict[str, object] = {}
# The backend tests' toy command line (WGAN-GP on 25gaussians, small and quiet).
TOY_CLI = ["--variant=wgan_gp", "--dataset=25gaussians", "--width=16", "--batch-size=32", "--quiet"]
# Tests that run once, from the JAX session (``KERAS_BACKEND=jax python -m pytest -m backends``); those that
# compare the backends start their TensorFlow side from there.
jax_session = pytest.mark.skipif(keras.backend.backend() != "jax", reason="runs from the JAX session")


@dataclass
class CliRun:
    """What a command line did: its exit code and what it printed (as ``subprocess.run`` reports)."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(script: str, args, env: dict | None = None, cwd: Path | None = None) -> CliRun:
    """Runs ``train.py``, ``evaluate.py`` or a study (``script``, relative to the repository) in this
    process: its ``main(args)``, with ``sys.argv`` as the command line would set it.

    For tests where a separate process is not what is tested (kills, fault injection that
    kills, ``--cpu-replicas``, several workers and the other backend keep real processes):
    it saves the interpreter's and TensorFlow's start-up. Keras' global state is reset
    around the call (dtype policy, the session's graphs and names), ``env`` is set for the
    call only, and ``cwd`` is the working folder during it. The exit code is the process's:
    ``main`` returning None or ``sys.exit()`` is 0.
    """
    import keras

    module = _CLI_MODULES.get(script)
    if module is None:
        spec = importlib.util.spec_from_file_location(f"cli_{Path(script).stem}", ROOT / script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _CLI_MODULES[script] = module
    out, err = io.StringIO(), io.StringIO()
    argv = [str(a) for a in args]
    saved_env, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), sys.argv
    os.environ.update({k: str(v) for k, v in (env or {}).items()})
    keras.config.set_dtype_policy("float32")
    sys.argv = [str(ROOT / script), *argv]
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = module.main(argv)
            except SystemExit as exit_:
                code = exit_.code
        code = 0 if code is None else code if isinstance(code, int) else 1
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        keras.config.set_dtype_policy("float32")
        keras.backend.clear_session()
    return CliRun(code, out.getvalue(), err.getvalue())


def kill_after_checkpoint(proc, state_path: Path, min_step: int, timeout: float = 300, linger: float = 0.0) -> int:
    """Waits until the run's ``state.json`` records a step >= ``min_step``, then SIGKILLs ``proc``.

    Args:
        proc: the ``subprocess.Popen`` of ``train.py``.
        state_path: the run's ``backup/state.json``.
        min_step: the checkpointed step to wait for.
        timeout: seconds to wait at most.
        linger: seconds to let the process run on after that checkpoint.

    Returns:
        The step of the last checkpoint when the process died.
    """
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if json.loads(state_path.read_text())["step"] >= min_step:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    time.sleep(linger)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return json.loads(state_path.read_text())["step"]


def _optimizer_state(opt) -> list[tuple[str, np.ndarray]]:
    """The optimizer's variables in order (Keras restores them by position)."""
    return [(v.path.split("/", 1)[-1], v.numpy()) for v in opt.variables]


def _same_slot(a: str, b: str) -> bool:
    # A wrapped layer (SpectralNormalization) names its inner layer's slots after
    # the wrapper when it was built by a call and after the inner layer when it
    # was built by loading: "sn_dense_0_dense_0_kernel_momentum" vs "dense_0_kernel_momentum".
    return a.endswith(b) or b.endswith(a)


def assert_save_load_round_trip(model, points: np.ndarray, path: Path):
    """Saves a trained GAN as ``.keras``, loads it, and checks that nothing was lost.

    The loaded model has the same class, constructor values, networks, both
    optimizers' state, RNG state, and continues training exactly like the
    original (one more epoch on ``points`` for both).

    Args:
        model: a compiled ``keras_wgan`` GAN on 2D points, trained for at least one step.
        points: the 2D training points.
        path: where to save (``.keras``).

    Returns:
        The loaded model.
    """
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "compile() was not called" warning
        loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config().keys() == model.get_config().keys()
    for key, value in model.get_config().items():
        if key not in ("generator", "critic"):
            assert loaded.get_config()[key] == value, key
    z = np.random.default_rng(0).normal(size=(16, model.latent_dim)).astype("float32")
    np.testing.assert_allclose(loaded.generate(z), model.generate(z), rtol=1e-6, atol=1e-6)
    x = model.generate(z)
    np.testing.assert_allclose(loaded.critic(x).numpy(), model.critic(x).numpy(), rtol=1e-6, atol=1e-6)
    for name in ("g_optimizer", "d_optimizer"):
        a, b = _optimizer_state(getattr(model, name)), _optimizer_state(getattr(loaded, name))
        assert len(a) == len(b), name
        assert int(getattr(loaded, name).iterations) == int(getattr(model, name).iterations) > 0
        for (key_a, value_a), (key_b, value_b) in zip(a, b, strict=True):
            assert _same_slot(key_a, key_b), (key_a, key_b)
            np.testing.assert_array_equal(value_a, value_b, err_msg=f"{name} {key_a}")
        assert any(np.abs(v).sum() > 0 for k, v in a if "iteration" not in k)  # moments are non-trivial
    np.testing.assert_array_equal(loaded.seed_generator.state.numpy(), model.seed_generator.state.numpy())
    assert int(loaded.generator_iterations.numpy()) == int(model.generator_iterations.numpy())

    # Training continues where it stopped, identically for both copies.
    for m in (model, loaded):
        m.fit(points, batch_size=32 * m.n_critic, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.generator.get_weights(), loaded.generator.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    return loaded
