"""train.py end to end: the run folder, resume after SIGKILL, divergence, bad input."""

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import kill_after_checkpoint, run_cli
from PIL import Image

import keras_wgan  # noqa: F401  (registers the classes for load_model)
from keras_wgan import variants

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "train.py"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
TINY_DIGITS = ["--dataset", "digits", "--width", "4", "--batch-size", "8", "--latent-dim", "8", "--quiet"]
TINY_TOY = ["--dataset", "8gaussians", "--width", "16", "--batch-size", "16", "--quiet"]


def run(args, cwd, env=None):
    """train.py in this process (helpers.run_cli); the kill test starts a real one."""
    return run_cli("train.py", args, env=env, cwd=cwd)


def load_train_module():
    spec = importlib.util.spec_from_file_location("train_cli", TRAIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_unknown_variant_is_refused_with_the_registry_s_names(tmp_path, capsys):
    # The command line keeps no list of its own: the registry's is the one list.
    cli = load_train_module()
    assert not hasattr(cli, "VARIANTS")
    assert cli.main(["--variant", "lsgan", "--dataset", "digits", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("train.py: error: unknown variant 'lsgan'") and err.count("\n") == 1
    assert all(name in err for name in variants.names())
    assert not (tmp_path / "run").exists()


def test_help_is_fast_and_does_not_import_tensorflow():
    code = (
        f"import runpy, sys; sys.argv = ['train.py', '--help']\n"
        f"try:\n    runpy.run_path({str(TRAIN)!r}, run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "assert 'tensorflow' not in sys.modules, 'imported tensorflow'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--variant" in result.stdout and "--mixed-precision" in result.stdout


def test_image_run_folder_end_to_end(shared_runs):
    # The shared digits run (conftest.SHARED_RUNS): train.py with every image callback, 4 steps.
    out, stdout = shared_runs["digits"].path, shared_runs["digits"].stdout
    assert f"run folder: {out}" in stdout and "finished 4 generator steps" in stdout
    assert "[keras_wgan] epoch 2/2 step 4" in stdout
    for rel in [
        "config.json",
        "backup/state.weights.h5",
        "backup/state.json",
        "generator.keras",
        "gan.keras",
        "samples/progress.gif",
        "samples/fixed_latent.npy",
        "samples/step_00000002.png",
        "samples/step_00000004.png",
        "plots/losses.png",
        "plots/grad_norms.png",
        "plots/grad_norms.csv",
        "history.csv",
    ]:
        assert (out / rel).is_file(), rel
    assert list((out / "logs" / "gan").glob("events.out.tfevents.*"))
    saved = json.loads((out / "config.json").read_text())
    assert saved["variant"] == "wgan_gp" and saved["n_critic"] == 5 and saved["critic_norm"] == "layer"
    assert saved["g_lr"] == 1e-4 and saved["beta_1"] == 0.0 and saved["image_size"] == 32
    generator = keras.saving.load_model(out / "generator.keras")
    assert generator.predict(np.zeros((3, 8), "float32"), verbose=0).shape == (3, 32, 32, 1)
    # With decay 0 the averaged generator is the generator itself.
    ema = keras.saving.load_model(out / "ema_generator.keras")
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    np.testing.assert_allclose(ema.predict(z, verbose=0), generator.predict(z, verbose=0), atol=1e-6)
    gan = keras.saving.load_model(out / "gan.keras")
    assert int(gan.g_optimizer.iterations) == 4 and int(gan.d_optimizer.iterations) == 20
    assert Image.open(out / "samples" / "progress.gif").n_frames == 2
    # Nothing is written outside the run folder (train.py ran in its parent).
    assert sorted(p.name for p in out.parent.iterdir()) == ["run"]


def test_toy_run_folder_end_to_end(shared_runs, tmp_path):
    # The shared toy run (conftest.SHARED_RUNS): WGAN on 8gaussians, landscapes every 2 steps.
    out = shared_runs["toy"].copy(tmp_path / "toy")  # evaluate.py writes eval/ into it
    result = shared_runs["toy"]
    for rel in [
        "plots/critic_00000000.png",
        "plots/critic_00000002.png",
        "plots/critic_00000004.png",
        "plots/critic.gif",
        "plots/losses.png",
        "generator.keras",
    ]:
        assert (out / rel).is_file(), rel
    assert not (out / "samples").exists()
    g = keras.saving.load_model(out / "generator.keras")
    assert g.predict(np.zeros((5, 2), "float32"), verbose=0).shape == (5, 2)

    # The verdict line: evaluate.py's numbers for the same generator, without a second command.
    verdict = [line for line in result.stdout.splitlines() if "verdict" in line]
    assert len(verdict) == 1 and "as evaluate.py):" in verdict[0], result.stdout[-2000:]
    evaluated = run_cli("evaluate.py", [str(out), "--quiet"])
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    res = json.loads((out / "eval" / "metrics.json").read_text())["results"]
    ratio = res["w1"] / res["w1_true_vs_true"]
    expected = (
        f"{res['modes']}/8 modes, {100 * res['high_quality']:.1f}% high quality, W1 {res['w1']:.3g} = "
        f"{ratio:.2f}x the truth-vs-truth floor {res['w1_true_vs_true']:.3g}"
    )
    assert verdict[0].endswith(expected)

    # benchmarks/quickstart.py reads the goal's numbers off this line, and the README's first command.
    spec = importlib.util.spec_from_file_location("quickstart_benchmark", ROOT / "benchmarks" / "quickstart.py")
    quickstart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quickstart)
    parsed = quickstart.VERDICT.search(verdict[0]).groupdict()
    assert (int(parsed["modes"]), int(parsed["of"])) == (res["modes"], 8)
    assert float(parsed["hq"]) == pytest.approx(100 * res["high_quality"], abs=0.05)
    assert float(parsed["ratio"]) == pytest.approx(ratio, abs=0.005)
    command = quickstart.readme_first_command()
    assert command.startswith("python -m pip install -e . && python train.py ") and "--recipe fast" in command


def _weights_checksum(path):
    gan = keras.saving.load_model(path)
    return (
        int(gan.g_optimizer.iterations),
        int(gan.d_optimizer.iterations),
        [w for w in gan.generator.get_weights()],
        [v.numpy() for v in gan.d_optimizer.variables],
    )


def test_sigkill_and_resume_matches_an_uninterrupted_run(tmp_path):
    args = [
        "--variant",
        "wgan_gp",
        *TINY_DIGITS,
        "--steps",
        "24",
        "--steps-per-epoch",
        "6",
        "--checkpoint-every-steps",
        "2",
        "--n-critic",
        "2",
    ]
    clean = run([*args, "--out", str(tmp_path / "clean")], cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr[-3000:]

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, str(TRAIN), *args, "--out", str(killed)],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state = killed / "backup" / "state.json"
    killed_at = kill_after_checkpoint(proc, state, 8)
    assert 8 <= killed_at < 24, "the run finished before it could be killed"
    # A checkpoint write cut short by the kill leaves only a temporary file, which resume ignores.
    (killed / "backup" / ".tmp-99999.weights.h5").write_bytes(b"partial garbage")

    resumed = run([*args, "--out", str(killed)], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming at generator step" in resumed.stdout

    a, b = _weights_checksum(tmp_path / "clean" / "gan.keras"), _weights_checksum(killed / "gan.keras")
    assert a[:2] == b[:2] == (24, 48)
    for x, y in zip(a[2] + a[3], b[2] + b[3], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)

    with open(killed / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4] and [int(r["step"]) for r in rows] == [6, 12, 18, 24]
    frames = sorted(p.name for p in (killed / "samples").glob("step_*.png"))
    assert frames == [f"step_{s:08d}.png" for s in (6, 12, 18, 24)]
    assert Image.open(killed / "samples" / "progress.gif").n_frames == 4
    np.testing.assert_array_equal(
        np.load(killed / "samples" / "fixed_latent.npy"), np.load(tmp_path / "clean" / "samples" / "fixed_latent.npy")
    )

    again = run([*args, "--out", str(killed)], cwd=tmp_path)  # a finished run has nothing to do
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_divergence_stops_with_metric_and_step(tmp_path):
    out = tmp_path / "nan"
    result = run(
        [
            "--variant",
            "wgan",
            *TINY_TOY,
            "--steps",
            "50",
            "--steps-per-epoch",
            "5",
            "--clip-value",
            "1e30",
            "--d-lr",
            "1e30",
            "--g-lr",
            "1e30",
            "--optimizer",
            "adam",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "training diverged:" in result.stderr and "at generator step" in result.stderr
    assert "last good checkpoint" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--variant", "lsgan"], "unknown variant 'lsgan'"),
        (["--dataset", "cifar10"], "unknown dataset 'cifar10'"),
        (["--dataset", "digits", "--image-size", "48"], "--image-size must be one of 32, 64, 128"),
        (["--dataset", "digits", "--batch-size", "0"], "--batch-size must be a positive integer"),
        (["--dataset", "digits", "--n-critic", "0"], "--n-critic must be a positive integer"),
        (["--dataset", "folder:/no/such/folder"], "Image folder not found"),
        (["--dataset", "digits", "--batch-size", "abc"], "invalid int value"),
        (["--dataset", "digits", "--mixed-precision", "fp8"], "--mixed-precision must be one of"),
        (["--variant", "wgan_gp", "--dataset", "digits", "--critic-norm", "batch"], "add --allow-batchnorm"),
        (["--dataset", "digits", "--recipe", "fast"], "the fast recipe is for the 2D toys"),
    ],
)
def test_bad_input_one_line_exit_2(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = load_train_module()
    with pytest.raises(SystemExit) as exit_info:
        sys.exit(cli.main([*args, "--out", str(tmp_path / "run"), "--quiet"]))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_unwritable_out_and_conflicting_resume(tmp_path, shared_runs):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run(["--dataset", "digits", "--out", str(blocker / "run")], cwd=tmp_path)
    assert result.returncode == 2 and "cannot write to the run folder" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1

    out = tmp_path / "run"
    shared = shared_runs["digits"]  # a finished 4-step run
    shared.copy(out)
    args = shared.args_without("--steps")  # its command, the length given anew
    conflict = run([*args, "--steps", "5", "--width", "8", "--out", str(out)], cwd=tmp_path)
    assert conflict.returncode == 2 and "conflicts with the run" in conflict.stderr and "width=8" in conflict.stderr
    refuse = run([*args, "--steps", "5", "--no-resume", "--out", str(out)], cwd=tmp_path)
    assert refuse.returncode == 2 and "already holds a run" in refuse.stderr
    extend = run([*args, "--steps", "5", "--out", str(out)], cwd=tmp_path)
    assert extend.returncode == 0 and "resuming at generator step 4 of 5" in extend.stdout


def test_celeba_failure_through_the_cli_is_one_line(tmp_path):
    # No network here: tfds cannot fetch CelebA; the CLI must say how to supply it, in one line.
    result = run(
        ["--dataset", "celeb_a", "--data-dir", str(tmp_path / "tfds"), "--out", str(tmp_path / "r")],
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "downloads/manual" in result.stderr and "folder:" in result.stderr
    assert "no network connection to Google Drive" in result.stderr  # the real cause, not a checksum story
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_allow_batchnorm_forces_a_batch_norm_critic_with_the_penalty(tmp_path):
    out = tmp_path / "run"
    args = ["--variant", "wgan_gp", *TINY_DIGITS, "--critic-norm", "batch", "--allow-batchnorm", "--steps", "1"]
    result = run([*args, "--out", str(out)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    critic = json.loads((out / "config.json").read_text())
    assert critic["allow_batchnorm"] is True and critic["critic_norm"] == "batch"
