"""The command lines on both Keras backends (marked ``backends``, like ``test_backends.py``).

Files of their own (this one, ``test_backends_members_cli.py``, ``test_gpu_benchmark.py``)
so that the JAX session (``KERAS_BACKEND=jax python -m pytest -m backends``) shares them
with ``test_backends.py`` between its two pytest-xdist workers, which take whole files
(``--dist loadfile``). The test that continues a run on the other backend runs once, from
the JAX session.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import TOY_CLI, jax_session, run_cli

pytestmark = pytest.mark.backends

ROOT = Path(__file__).resolve().parents[1]
BACKEND = keras.backend.backend()
OTHER = "jax" if BACKEND == "tensorflow" else "tensorflow"


# ------------------------------------------------------------ the command line
def train_cli(out: Path, backend: str, *args: str) -> subprocess.CompletedProcess:
    """train.py under ``backend`` in a process of its own."""
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *TOY_CLI, f"--out={out}", *args],
        cwd=ROOT,
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"},
        capture_output=True,
        text=True,
        timeout=600,
    )


@jax_session
def test_cli_trains_a_toy_with_every_callback_and_resumes_across_backends(tmp_path):
    out = tmp_path / "run"
    every = ["--ema-decay=0.9", "--grad-norm-every-steps=3", "--plot-every-steps=6", "--tensorboard-histograms"]
    # This session's backend in this process; the other backend (below) in a process of its own.
    proc = run_cli("train.py", [*TOY_CLI, f"--out={out}", "--steps=12", "--steps-per-epoch=6", *every])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "finished 12 generator steps" in proc.stdout
    assert "verdict (averaged generator" in proc.stdout
    steps = [int(row.split(",")[0]) for row in (out / "plots" / "grad_norms.csv").read_text().splitlines()[1:]]
    assert steps == [0, 3, 6, 9, 12]
    norms = np.loadtxt(out / "plots" / "grad_norms.csv", delimiter=",", skiprows=1)[:, 1:]
    assert np.isfinite(norms).all() and (norms > 0).all()
    assert (out / "plots" / "critic_00000012.png").is_file() and (out / "plots" / "losses.png").is_file()
    assert json.loads((out / "backup" / "state.json").read_text())["step"] == 12
    events = list((out / "logs" / "gan").glob("events.out.tfevents.*"))
    assert events and sum(p.stat().st_size for p in events) > 1000
    ema = keras.saving.load_model(out / "ema_generator.keras")
    assert np.isfinite(np.asarray(ema(np.zeros((3, 2), "float32")))).all()
    # The same run folder goes on under the other backend: it resumes from this one's checkpoint.
    before = keras.saving.load_model(out / "gan.keras")
    proc = train_cli(out, OTHER, "--steps=15", "--steps-per-epoch=6", *every)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming at generator step 12 of 15" in proc.stdout and "finished 15 generator steps" in proc.stdout
    after = keras.saving.load_model(out / "gan.keras")
    assert int(after.generator_iterations.numpy()) == 15 and int(after.d_optimizer.iterations.numpy()) == 75
    moved = [np.abs(np.asarray(x) - np.asarray(y)).max() for x, y in zip(after.weights, before.weights, strict=True)]
    assert max(moved) > 0  # the other backend's steps trained the weights this one left
    steps = [int(row.split(",")[0]) for row in (out / "plots" / "grad_norms.csv").read_text().splitlines()[1:]]
    assert steps == [0, 3, 6, 9, 12, 15]  # the callbacks carried on too


def test_jax_refuses_what_is_tensorflow_only_in_one_line(tmp_path):
    if BACKEND != "jax":
        pytest.skip("checks the JAX backend's refusals")
    for args in (["--strategy=multiworker"], ["--mixed-precision=mixed_float16"]):
        proc = run_cli("train.py", [*TOY_CLI, f"--out={tmp_path / 'run'}", "--steps=2", *args])
        assert proc.returncode == 2, proc.stderr[-2000:]
        lines = [line for line in proc.stderr.splitlines() if line.startswith("train.py: error:")]
        assert len(lines) == 1 and "TensorFlow" in lines[0] and "Traceback" not in proc.stderr, proc.stderr
