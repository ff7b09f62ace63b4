"""The command lines on both Keras backends (marked ``backends``, like ``test_backends.py``).

A file of its own so that the JAX session (``KERAS_BACKEND=jax python -m pytest -m
backends``) runs these beside ``test_backends.py`` on its two pytest-xdist workers.
The test that continues a run on the other backend runs once, from the JAX session.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import run_cli

import keras_wgan

pytestmark = pytest.mark.backends

ROOT = Path(__file__).resolve().parents[1]
BACKEND = keras.backend.backend()
OTHER = "jax" if BACKEND == "tensorflow" else "tensorflow"
jax_session = pytest.mark.skipif(BACKEND != "jax", reason="runs from the JAX session (the TensorFlow side too)")


# ------------------------------------------------------------ the command line
TOY_CLI = ["--variant=wgan_gp", "--dataset=25gaussians", "--width=16", "--batch-size=32", "--quiet"]


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


@pytest.mark.parametrize("variant", ["sngan", "wgan_lp", "dragan", "r1", "wgan_div", "wgan_gp --conditional ac"])
def test_each_newer_member_trains_from_the_command_line_on_jax(variant, tmp_path):
    # The TensorFlow session runs each with every callback and a resume (test_family.py, test_conditional.py).
    if BACKEND != "jax":
        pytest.skip("the JAX half of test_family's command-line test")
    out = tmp_path / "run"
    name, *extra = variant.split()
    proc = run_cli("train.py", [*TOY_CLI, f"--out={out}", f"--variant={name}", "--steps=2", "--ema-decay=0.9", *extra])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "finished 2 generator steps" in proc.stdout
    gan = keras.saving.load_model(out / "gan.keras")
    assert type(gan).__name__ == keras_wgan.variants.get(name).model_class.__name__
    assert all(np.isfinite(np.asarray(w)).all() for w in gan.weights)
    if extra:
        assert gan.critic_classifies and "in the asked mode" in proc.stdout
        assert gan.generate(4, labels=2).shape == (4, 2)


def test_jax_refuses_what_is_tensorflow_only_in_one_line(tmp_path):
    if BACKEND != "jax":
        pytest.skip("checks the JAX backend's refusals")
    for args in (["--strategy=multiworker"], ["--mixed-precision=mixed_float16"]):
        proc = run_cli("train.py", [*TOY_CLI, f"--out={tmp_path / 'run'}", "--steps=2", *args])
        assert proc.returncode == 2, proc.stderr[-2000:]
        lines = [line for line in proc.stderr.splitlines() if line.startswith("train.py: error:")]
        assert len(lines) == 1 and "TensorFlow" in lines[0] and "Traceback" not in proc.stderr, proc.stderr


# ------------------------------------------------------------ the GPU benchmark, on the CPU
NO_TENSORFLOW_BENCHMARK = """
import runpy, sys
sys.modules["tensorflow"] = None  # any import of TensorFlow now fails
sys.argv = ["gpu_step.py", "--quick", "--dtypes", "bfloat16", "--out", sys.argv[1]]
try:
    runpy.run_path({path!r}, run_name="__main__")
except SystemExit as done:
    assert done.code in (0, None), done.code
print("no tensorflow:", sorted(m for m in sys.modules if m.startswith("tensorflow") and sys.modules[m]))
"""


@jax_session
def test_the_gpu_benchmark_runs_quick_on_the_cpu_without_tensorflow(tmp_path):
    out = tmp_path / "gpu_step.jsonl"
    code = NO_TENSORFLOW_BENCHMARK.format(path=str(ROOT / "benchmarks" / "gpu_step.py"))
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        cwd=ROOT,
        env={**os.environ, "KERAS_BACKEND": "jax", "CUDA_VISIBLE_DEVICES": "-1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "no tensorflow: []"
    lines = {line["arm"]: line for line in map(json.loads, out.read_text().splitlines())}
    library, plain = lines["library"], lines["jax"]
    assert library["dtype"] == "bfloat16" and library["batch"] == 4 and library["images_per_s"] > 0
    # One count of the work for every arm; the ratio is the two arms' times.
    assert library["gflop_per_iteration"] == plain["gflop_per_iteration"] > 0
    assert plain["library_ratio"] == pytest.approx(plain["seconds_per_iteration"] / library["seconds_per_iteration"])
    assert 0 < library["peak_fraction"] < 1 and "matmul measured here" in library["peak"]
    torch = lines["torch"]  # measured where PyTorch is installed, said so where it is not
    assert torch.get("skipped") == "not installed (torch)" or torch["images_per_s"] > 0
    assert "library / arm" in proc.stdout
