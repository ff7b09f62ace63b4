"""Run-folder integrity under faults: the lock, NaN kept out of checkpoints and the average,
kills inside writes, flags that would change a resumed run, TensorBoard without repeated steps."""

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import kill_after_checkpoint, run_cli

from keras_wgan import callbacks as cbs
from keras_wgan.run_lock import RunFolderInUse, RunLock

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
TOY = ["--variant", "wgan_gp", "--dataset", "8gaussians", "--width", "16", "--batch-size", "16", "--quiet"]


def train_cli(args, env=None):
    """train.py in this process (helpers.run_cli)."""
    return run_cli("train.py", args, env=env)


def train_process(args, env=None, timeout=600):
    """train.py in a process of its own (for a fault that kills it)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args],
        env={**ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def finite_model_file(path):
    model = keras.saving.load_model(path, compile=False)
    return all(np.isfinite(w).all() for w in model.get_weights())


# -------------------------------------------------------------------- lock
def test_second_trainer_on_a_folder_in_use_is_refused_with_the_holder_named(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with RunLock(out):
        result = train_cli([*TOY, "--steps", "2", "--out", str(out)])
    assert result.returncode == 2
    assert f"in use by process {os.getpid()}" in result.stderr and result.stderr.count("\n") == 1
    assert not (out / "config.json").exists()  # the refused process wrote nothing


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path):
    code = (
        "import sys, time; from keras_wgan.run_lock import RunLock; RunLock(sys.argv[1]).acquire(); "
        "print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=ENV)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunFolderInUse, match=f"process {holder.pid}"):
        RunLock(tmp_path).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    lock = RunLock(tmp_path)
    lock.acquire()  # the operating system released the dead process's lock
    lock.release()


# ------------------------------------------------------------- NaN kept out
@pytest.mark.parametrize(
    ("mode", "named"),
    [
        # The NaN stays in the weights: found by the state check at step 6 (a multiple of gcd(10, 4)),
        # before any step's losses could show it, whatever the CPU's kernels do with a NaN.
        ("weights", "generator dense_0/kernel holds NaN or infinite values after generator step 6"),
        # The NaN reaches the losses of step 7 on every CPU (the critic's output bias).
        ("loss", "d_loss became nan at generator step 7"),
    ],
)
def test_divergence_stops_at_once_keeps_the_last_good_checkpoint_and_resume_uses_it(tmp_path, mode, named):
    out = tmp_path / "run"
    args = [*TOY, "--steps", "20", "--steps-per-epoch", "10", "--checkpoint-every-steps", "4"]
    args += ["--ema-decay", "0.9", "--out", str(out)]
    env = {"KERAS_WGAN_FAULT_NAN_AT_STEP": "6", "KERAS_WGAN_FAULT_NAN_MODE": mode}
    diverged = train_cli(args, env=env)
    assert diverged.returncode == 3, diverged.stderr[-2000:]
    lines = diverged.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("train.py: training diverged: "), diverged.stderr[-2000:]
    assert named in lines[0] and "the last good checkpoint (step 4) is kept in" in lines[0]
    state = json.loads((out / "backup" / "state.json").read_text())
    assert state["step"] == 4  # step 8 never came: the run stopped where the NaN was found
    assert state["ema"] == "ema_00000004.keras"
    assert sorted(p.name for p in (out / "backup").glob("ema_*.keras")) == ["ema_00000004.keras"]
    assert finite_model_file(out / "backup" / "ema_00000004.keras")
    # Nothing after training ran on the NaN: no final models, no verdict.
    assert not (out / "gan.keras").exists() and not (out / "generator.keras").exists()
    assert "verdict" not in diverged.stdout and "finished" not in diverged.stdout
    assert "epoch 2/2" not in diverged.stdout

    if mode == "loss":
        return  # the resume is the same for both modes: once is enough
    resumed = train_cli(args)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming at generator step 4" in resumed.stdout and "restarts" not in resumed.stdout
    assert json.loads((out / "backup" / "state.json").read_text())["step"] == 20
    assert finite_model_file(out / "gan.keras") and finite_model_file(out / "ema_generator.keras")


def test_a_nan_in_the_weights_is_found_while_the_logged_losses_stay_finite(tiny_mlp_pair):
    # What a fused MatMul + BiasAdd + Relu kernel does on AVX-512 CPUs (NaN in, 0 out), without
    # depending on the CPU: the logs are finite, the state is not.
    from keras_wgan import WGANGP

    model = WGANGP(*tiny_mlp_pair(), seed=0)
    model.compile()
    guard = cbs.StopOnNonFinite(state_every_n_steps=2)
    guard.set_model(model)
    guard.on_train_begin()
    model.generator_iterations.assign(1)
    guard.on_train_batch_end(0, {"d_loss": 0.5, "g_loss": 0.1})
    assert guard.failure is None and not model.stop_training
    kernel = model.generator.trainable_weights[2]
    kernel.assign(np.where(np.arange(kernel.shape[-1]) == 3, np.nan, kernel.numpy()))
    model.generator_iterations.assign(2)
    guard.on_train_batch_end(1, {"d_loss": 0.5, "g_loss": 0.1})
    assert model.stop_training
    assert guard.failure == cbs.Divergence(2, f"generator {kernel.path}", None, "the state check")
    assert "the logged losses stayed finite" in guard.failure.describe()


def test_the_state_check_names_optimizer_variables_too(tiny_mlp_pair):
    from keras_wgan import WGANGP

    model = WGANGP(*tiny_mlp_pair(), seed=0)
    model.compile()
    assert model.first_nonfinite_variable() is None and model.state_is_finite()
    names = list(model.state_variables())
    assert names[0].startswith("generator ") and any(n.startswith("critic's optimizer ") for n in names)
    slot = model.d_optimizer.variables[-1]
    slot.assign(np.full(slot.shape, np.inf, dtype="float32"))
    assert model.first_nonfinite_variable() == f"critic's optimizer {slot.path}"


def test_checkpoint_refuses_non_finite_weights_and_stops(tmp_path, tiny_mlp_pair):
    from keras_wgan import WGANGP
    from keras_wgan.callbacks import RunCheckpoint

    g, c = tiny_mlp_pair()
    model = WGANGP(g, c, seed=0)
    model.compile()
    backup = RunCheckpoint(tmp_path / "backup")
    backup.set_model(model)
    model.generator_iterations.assign(3)
    backup.save()
    assert json.loads((tmp_path / "backup" / "state.json").read_text())["step"] == 3
    assert backup.committed_step == 3 and backup.failure is None
    model.generator_iterations.assign(4)
    kernel = model.critic.trainable_weights[0]
    kernel.assign(np.where(np.arange(kernel.shape[-1]) == 0, np.inf, kernel.numpy()))
    backup.save({"d_loss": 0.5})  # finite logs, non-finite weights
    assert json.loads((tmp_path / "backup" / "state.json").read_text())["step"] == 3
    assert backup.refused_steps == [4] and model.stop_training  # never training on without checkpoints
    assert backup.failure == cbs.Divergence(4, f"critic {kernel.path}", None, "the checkpoint")


def test_the_average_stops_training_when_the_generator_is_not_finite(tiny_mlp_pair):
    from keras_wgan import WGANGP

    model = WGANGP(*tiny_mlp_pair(), seed=0)
    model.compile()
    ema = cbs.GeneratorEMA(0.9)
    ema.set_model(model)
    ema.on_train_begin()
    model.generator.trainable_weights[0].assign(np.full(model.generator.trainable_weights[0].shape, np.nan))
    model.generator_iterations.assign(1)
    ema.on_train_batch_end(0)
    assert ema.skipped_steps == [1] and model.stop_training and ema.is_finite()


# ------------------------------------------------------------ kill in write
def test_kill_inside_a_checkpoint_write_then_resume_ends_exactly(tmp_path):
    out = tmp_path / "run"
    args = [*TOY, "--steps", "12", "--steps-per-epoch", "4", "--checkpoint-every-steps", "2", "--out", str(out)]
    killed = train_process(args, env={"KERAS_WGAN_FAULT_KILL_IN_WRITE": "9"})
    assert killed.returncode == -signal.SIGKILL
    assert list(out.rglob(".*.tmp-*")), "the kill should leave a half-written temporary file"
    resumed = train_cli(args)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((out / "backup" / "state.json").read_text())["step"] == 12
    with open(out / "history.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [4, 8, 12]


# --------------------------------------------------- flags that change a run
@pytest.mark.parametrize(("flag", "named"), [(["--cache"], "cache=True"), (["--strategy", "mirrored"], "strategy=")])
def test_resume_refuses_flags_that_change_the_sample_order_or_noise(tmp_path, flag, named, shared_runs):
    out = shared_runs["digits"].copy(tmp_path / "run")
    again = train_cli([*shared_runs["digits"].args, *flag, "--out", str(out)])
    assert again.returncode == 2 and "conflicts with the run" in again.stderr and named in again.stderr


# ------------------------------------------------------------ TensorBoard
def _scalar_steps(log_dir):
    from tensorboard.compat.proto import event_pb2

    steps = []
    for path in sorted(Path(log_dir).glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            steps += [(v.tag, event.step) for v in event.summary.value]
    return steps


def test_drop_events_after_a_step(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step in range(1, 11):
            tf.summary.scalar("x", float(step), step=step)
    writer.close()
    assert cbs.drop_events_after(tmp_path, 6) == 4
    assert [s for _, s in _scalar_steps(tmp_path)] == [1, 2, 3, 4, 5, 6]


def test_resumed_run_logs_every_step_once_to_tensorboard(tmp_path):
    out = tmp_path / "run"
    args = [*TOY, "--steps", "40", "--steps-per-epoch", "20", "--checkpoint-every-steps", "10", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args], env=ENV)
    state = out / "backup" / "state.json"
    kill_after_checkpoint(proc, state, 10, linger=1.0)  # let it log past the checkpoint
    assert json.loads(state.read_text())["step"] < 40, "the run finished before it could be killed"
    resumed = train_cli(args)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    steps = _scalar_steps(out / "logs" / "gan")
    batch = [s for tag, s in steps if tag == "batch_d_loss"]
    assert batch == sorted(set(batch)) and batch[-1] == 40  # every 2 steps (20 // 10), none twice
    assert batch == list(range(2, 41, 2))


def test_default_run_name_of_a_folder_dataset_keeps_the_folder_name():
    from keras_wgan.config import TrainConfig
    from keras_wgan.run_dir import RunDir

    folder = TrainConfig(variant="wgan_gp", dataset="folder:/data/faces/img_align_celeba/")
    assert Path(RunDir.default_path(folder)).name.startswith("wgan_gp_folder_img_align_celeba_")
    digits = TrainConfig(variant="dcgan", dataset="digits")
    assert Path(RunDir.default_path(digits)).name.startswith("dcgan_digits_")


def test_a_run_killed_before_its_first_checkpoint_leaves_no_tensorboard_points(tmp_path, tiny_mlp_pair):
    from keras_wgan import WGANGP

    writer = tf.summary.create_file_writer(str(tmp_path / "gan"))
    with writer.as_default():
        for step in (2, 4):  # logged by a process killed before it checkpointed
            tf.summary.scalar("batch_d_loss", 1.0, step=step)
    writer.close()
    model = WGANGP(*tiny_mlp_pair(), seed=0)
    model.compile()
    board = cbs.GANTensorBoard(tmp_path, image_every_n_epochs=None)
    board.set_model(model)
    board.on_train_begin()  # the run starts again at step 0
    board.on_train_end()
    assert _scalar_steps(tmp_path / "gan") == []


def test_run_dir_resume_config_returns_a_new_config(tmp_path):
    from keras_wgan.config import ConfigError, TrainConfig
    from keras_wgan.run_dir import RunDir

    run = RunDir(tmp_path / "run")
    given = TrainConfig(variant="dcgan", dataset="digits", out=str(run.path)).resolve()
    assert run.resume_config(given) is None and not run.holds_run()  # nothing to resume
    run.prepare()
    given.steps_per_epoch = 7
    given.save(run.config_path)

    again = TrainConfig(variant="dcgan", dataset="digits", out=str(run.path)).resolve()
    resumed = run.resume_config(again)
    assert resumed is not again and resumed.steps_per_epoch == 7 and again.steps_per_epoch is None
    with pytest.raises(ConfigError, match=r"seed=1 \(run has 0\)"):
        run.resume_config(TrainConfig(variant="dcgan", dataset="digits", seed=1).resolve())
    with pytest.raises(ConfigError, match="already holds a run"):
        run.resume_config(TrainConfig(variant="dcgan", dataset="digits", resume=False).resolve())
    with run.locked(), pytest.raises(ConfigError, match="in use"):
        with run.locked():
            pass
    with run.locked():  # released after the block
        pass


def test_a_run_resumes_with_its_own_values_after_a_default_changed(tmp_path):
    # A 25gaussians run written when WGAN-GP's toy defaults were the image ones (lambda 10, beta1 0).
    from keras_wgan.config import ConfigError, TrainConfig
    from keras_wgan.run_dir import RunDir

    run = RunDir(tmp_path / "run")
    run.prepare()
    old = TrainConfig(variant="wgan_gp", dataset="25gaussians", gp_weight=10.0, beta_1=0.0).resolve()
    old.steps_per_epoch = 250
    old.save(run.config_path)
    assert TrainConfig(variant="wgan_gp", dataset="25gaussians").resolve().gp_weight == 0.1  # today's default
    resumed = run.resume_config(TrainConfig(variant="wgan_gp", dataset="25gaussians", steps=500))
    assert (resumed.gp_weight, resumed.beta_1, resumed.steps_per_epoch, resumed.steps) == (10.0, 0.0, 250, 500)
    with pytest.raises(ConfigError, match=r"gp_weight=0.1 \(run has 10.0\)"):
        run.resume_config(TrainConfig(variant="wgan_gp", dataset="25gaussians", gp_weight=0.1))
    with pytest.raises(ConfigError, match=r"g_lr=0.001 \(run has 0.0001\)"):
        run.resume_config(TrainConfig(variant="wgan_gp", dataset="25gaussians", lr=1e-3))
