"""MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1 (ports picked by the test).

1. Two workers make the same first update as one process on the same global batch
   (WGAN-GP, RaGAN whose averages must be over the global batch, and SNGAN, whose spectral
   normalization vector u each worker advances on its own).
2. The CLI trains on two workers: the chief's run folder has every artifact, the
   other worker writes nothing; kill -9 both workers after a checkpoint, start both
   again: the run ends at the exact step count with one history row per epoch and the
   weights of an uninterrupted run.
3. A lost worker stops the other with one line.
"""

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import kill_after_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (held open together so they differ)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def worker_env(ports: list[int], index: int) -> dict:
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    return {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "-1",
        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
    }


def launch(args: list[str], cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    """Starts ``python *args`` with its output in ``log``.out/.err (files, not pipes: a worker
    blocked on a full pipe would stall the collective ops of the other)."""
    with open(f"{log}.out", "w") as out, open(f"{log}.err", "w") as err:
        proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, stdout=out, stderr=err, text=True)
    proc.log = log
    return proc


def start_workers(args: list[str], cwd: Path, logs: Path, tag: str = "w") -> list[subprocess.Popen]:
    """Two workers of one cluster on 127.0.0.1, on free ports."""
    ports = free_ports(2)
    logs.mkdir(exist_ok=True)
    return [launch(args, cwd, worker_env(ports, i), logs / f"{tag}{i}") for i in range(len(ports))]


def finish(procs: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    """Waits for every process (bounded; kills all on a timeout) and returns (code, stdout, stderr)."""
    deadline = time.time() + TIMEOUT
    try:
        for p in procs:
            p.wait(timeout=max(1.0, deadline - time.time()))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [(p.returncode, Path(f"{p.log}.out").read_text(), Path(f"{p.log}.err").read_text()) for p in procs]


FIRST_STEP = textwrap.dedent(
    """
    import json, os
    import numpy as np, tensorflow as tf
    multi = "TF_CONFIG" in os.environ
    strategy = tf.distribute.MultiWorkerMirroredStrategy() if multi else tf.distribute.get_strategy()
    import keras, keras_wgan

    rng = np.random.default_rng(0)
    real = np.sort(rng.normal(size=(16, 2)).astype("float32"), axis=0)
    real[8:] += 3.0   # the halves differ, so a per-replica average is not the global one
    w0 = np.array([[0.6], [-1.3]], "float32")

    def build(cls, spectral=False, **kw):
        dense = keras.layers.Dense(1)
        layer = keras_wgan.spectral_norm.SpectralNormalization(dense) if spectral else dense
        critic = keras.Sequential([keras.Input((2,)), layer])
        dense.kernel.assign(w0)
        for v in critic.non_trainable_variables:  # spectral normalization's u: the same start everywhere
            v.assign(np.full(v.shape, 0.5, "float32"))
        # The generator ignores z (multiplies it by 0): its output is its bias, so the
        # replicas' different noise draws cannot make a difference.
        gen = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda z: 0.0 * z),
                                keras.layers.Dense(2, kernel_initializer="zeros", bias_initializer="ones")])
        model = cls(gen, critic, n_critic=1, seed=0, **kw)
        # Plain SGD: a wrong loss scaling across workers shows in the update size.
        model.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
        return model

    out = {}
    # SNGAN: spectral normalization's power-iteration vector u is per-replica state, advanced on each worker.
    members = (("wgan_gp", keras_wgan.WGANGP, {"gp_weight": 10.0}), ("ragan", keras_wgan.RaGAN, {}),
               ("sngan", keras_wgan.SNGAN, {"spectral": True}))
    for name, cls, kw in members:
        with strategy.scope():
            model = build(cls, **kw)
        # One global batch of 16, batched with drop_remainder: each worker gets 8.
        data = tf.data.Dataset.from_tensor_slices(real).batch(16, drop_remainder=True)
        history = model.fit(data, epochs=1, verbose=0)
        out[name] = {
            "weights": [v.numpy().tolist() for v in model.critic.weights + model.generator.weights],
            "d_loss": float(np.ravel(history.history["d_loss"])[0]),
        }
    print("RESULT " + json.dumps(out))
    """
)


def _result(stdout: str) -> dict:
    line = next(line for line in stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def test_two_workers_make_the_first_update_of_one_process(tmp_path):
    script = tmp_path / "first_step.py"
    script.write_text(FIRST_STEP)
    workers = start_workers([str(script)], tmp_path, tmp_path / "logs")
    alone = {k: v for k, v in worker_env([0], 0).items() if k != "TF_CONFIG"}
    single = launch([str(script)], tmp_path, alone, tmp_path / "logs" / "single")
    results = finish([*workers, single])
    for code, _, err in results:
        assert code == 0, err[-3000:]
    (w0, w1, one) = (_result(out) for _, out, _ in results)
    for name in ("wgan_gp", "ragan", "sngan"):
        reference = one[name]["weights"]
        for worker in (w0, w1):
            for a, b in zip(reference, worker[name]["weights"], strict=True):
                np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-5, atol=1e-6, err_msg=name)
            assert worker[name]["d_loss"] == pytest.approx(one[name]["d_loss"], rel=1e-5)
        # The step moved the critic kernel and the generator bias (a real update was compared).
        assert np.abs(np.array(reference[0]) - np.array([[0.6], [-1.3]])).max() > 1e-2
        assert np.abs(np.array(reference[-1]) - 1.0).max() > 1e-3
    # Spectral normalization's u (the critic's second variable) moved from 0.5 and is the same on both
    # workers as in one process (compared above with the other weights).
    assert np.abs(np.array(one["sngan"]["weights"][1]) - 0.5).max() > 1e-2


CLI = ["--strategy", "multiworker", "--dataset", "25gaussians", "--width", "16", "--batch-size", "32", "--quiet"]


def start_cli_workers(args: list[str], out: Path, cwd: Path, logs: Path, tag: str) -> list[subprocess.Popen]:
    """Two workers of ``train.py args``; the chief's --out is ``out``, the other's ``out`` + ``_w1``, so
    that anything the second writes would show."""
    ports = free_ports(2)
    logs.mkdir(exist_ok=True)
    outs = [out, out.with_name(out.name + "_w1")]
    return [launch([*args, "--out", str(outs[i])], cwd, worker_env(ports, i), logs / f"{tag}{i}") for i in range(2)]


def test_two_workers_only_the_chief_writes_and_a_kill_of_both_resumes_exactly(tmp_path):
    run, logs = tmp_path / "run", tmp_path.parent / f"{tmp_path.name}_logs"
    args = [str(ROOT / "train.py"), *CLI, "--steps", "60", "--steps-per-epoch", "20", "--checkpoint-every-steps", "5"]
    args += ["--ema-decay", "0.9"]
    procs = start_cli_workers(args, run, tmp_path, logs, "killed")
    step = kill_after_checkpoint(procs[0], run / "backup" / "state.json", min_step=25, timeout=TIMEOUT)
    procs[1].kill()
    procs[1].wait(timeout=60)
    assert 25 <= step < 60
    rows_before = list(csv.DictReader((run / "history.csv").open()))
    assert len(rows_before) == step // 20

    # The same command again, and beside it the same run without a kill, as the reference.
    resumed = start_cli_workers(args, run, tmp_path, logs, "resumed")
    uninterrupted = start_cli_workers(args, tmp_path / "reference", tmp_path, logs, "reference")
    (c0, out0, err0), (c1, out1, err1), *ref = finish([*resumed, *uninterrupted])
    assert c0 == 0, err0[-3000:]
    assert c1 == 0, err1[-3000:]
    assert [code for code, _, _ in ref] == [0, 0], ref[0][2][-3000:]
    assert f"resuming at generator step {step} of 60" in out0
    assert f"resuming at generator step {step} of 60" in out1  # the step came from the chief
    assert "finished 60 generator steps" in out0 and "finished 60 generator steps" in out1
    assert "writes nothing" in out1
    # The chief's run folder has every artifact; the other worker wrote nothing, anywhere.
    for name in (
        "config.json",
        "history.csv",
        "generator.keras",
        "gan.keras",
        "ema_generator.keras",
        "backup/state.json",
        "backup/state.weights.h5",
        "plots/losses.png",
        "plots/grad_norms.csv",
        "plots/critic.gif",
    ):
        assert (run / name).is_file(), name
    assert len(list((run / "logs" / "gan").glob("events.out.tfevents.*"))) >= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reference", "run"]
    # Both workers logged the same global metrics.
    epoch_lines = [[line for line in out.splitlines() if "epoch 3/3" in line] for out in (out0, out1)]
    assert epoch_lines[0] and epoch_lines[0][0].split("(")[0] == epoch_lines[1][0].split("(")[0]

    assert json.loads((run / "backup" / "state.json").read_text())["step"] == 60
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert rows[: len(rows_before)] == rows_before  # the rows written before the kill stay as they were
    # Exact resume: the chief broadcast its checkpoint, so both workers continued from it
    # (a worker left at its initial weights would pull the average update elsewhere).
    import keras

    got = keras.saving.load_model(run / "gan.keras").get_weights()
    want = keras.saving.load_model(tmp_path / "reference" / "gan.keras").get_weights()
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    expected = list(csv.DictReader((tmp_path / "reference" / "history.csv").open()))
    # Epochs run whole on either side of the kill log what the uninterrupted run logged (the
    # interrupted epoch's means cover only the steps after the resume).
    interrupted = step // 20
    assert [r for i, r in enumerate(rows) if i != interrupted] == [
        r for i, r in enumerate(expected) if i != interrupted
    ]


def test_a_lost_worker_stops_the_other_with_one_line(tmp_path):
    run = tmp_path / "run"
    args = [str(ROOT / "train.py"), *CLI, "--steps", "100000", "--steps-per-epoch", "20"]
    args += ["--checkpoint-every-steps", "5", "--out", str(run)]
    chief, other = start_workers(args, tmp_path, tmp_path / "logs")
    kill_after_checkpoint(other, run / "backup" / "state.json", min_step=5, timeout=TIMEOUT)
    started = time.time()
    code, _, err = finish([chief])[0]
    assert code == 4, err[-3000:]
    assert time.time() - started < 180  # TensorFlow's health check notices within about a minute
    last = err.strip().splitlines()[-1]
    assert last.startswith("train.py: worker 0 (task 1 of 2) stopped: the cluster lost a worker"), last
    assert "Start every worker again with the same command" in last
    assert "Traceback" not in err
