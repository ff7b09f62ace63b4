"""The fault battery: what a run folder survives, and what it loses (the goal: nothing).

On a small WGAN-GP toy run (8gaussians, 60 generator steps, checkpoints every
5 steps, an averaged generator), each in fresh run folders:

1. kills: the run is killed with SIGKILL at random moments, and in the middle
   of a file write (``KERAS_WGAN_FAULT_KILL_IN_WRITE``), then started again,
   until it finishes. The result must equal an uninterrupted run: the same
   final weights and average, one history row per epoch, one landscape frame
   per scheduled step, every TensorBoard step once.
2. bad input: every bad-input case the README lists exits 2 with one line; and
   doctored files, each refused in one line (exit 2) without running what they
   hold: an FID Inception graph with a ``WriteFile`` node tied to ``pool_3``
   (``evaluate.py --inception-graph``; the file it would write must not appear),
   a run folder whose fixed latents are a pickled object array (the resume of
   ``train.py``), and an averaged generator that needs a ``Lambda`` layer's code
   (``evaluate.py --ema``).
3. NaN: a NaN injected after step 12 (``KERAS_WGAN_FAULT_NAN_AT_STEP``), once
   into the weights (``KERAS_WGAN_FAULT_NAN_MODE=weights``: found by the state
   check, or by the losses where the CPU's kernels let it reach them) and once
   into the losses (``loss``), exits 3 with one line naming the step, keeps the
   step-10 checkpoint and a finite average, writes no final model, and
   ``evaluate.py --ema`` then works.
4. the lock: a second trainer on the folder exits 2 naming the first; after
   the first is killed, the run resumes.

Prints one line per check and a summary; exits 1 if anything was lost.

Usage:
    python benchmarks/fault_battery.py                 # 20 random kills + 6 kills inside writes
    python benchmarks/fault_battery.py --kills 3 --write-kills 2
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
RUN = ["--variant", "wgan_gp", "--dataset", "8gaussians", "--width", "16", "--batch-size", "16", "--quiet"]
RUN += ["--steps", "60", "--steps-per-epoch", "20", "--checkpoint-every-steps", "5", "--plot-every-steps", "10"]
RUN += ["--ema-decay", "0.9"]
BAD_INPUTS = [
    ["--variant", "lsgan"],
    ["--dataset", "cifar10"],
    ["--dataset", "mnist", "--data-dir", "{tmp}/no_mnist"],
    ["--dataset", "digits", "--image-size", "48"],
    ["--dataset", "digits", "--batch-size", "0"],
    ["--dataset", "digits", "--n-critic", "0"],
    ["--dataset", "folder:/no/such/folder"],
    ["--dataset", "digits", "--batch-size", "abc"],
    ["--dataset", "digits", "--mixed-precision", "fp8"],
    ["--dataset", "digits", "--strategy", "tpu"],
    ["--dataset", "digits", "--optimizer", "sgd"],
    ["--dataset", "digits", "--critic-norm", "group"],
    ["--dataset", "digits", "--activation", "tanh"],
    ["--dataset", "digits", "--lr", "0"],
    ["--dataset", "digits", "--gp-weight", "-1"],
    ["--dataset", "digits", "--ema-decay", "1.5"],
    ["--dataset", "digits", "--epochs", "2", "--steps", "3"],
    ["--dataset", "digits", "--critic-norm", "batch"],
    ["--dataset", "digits", "--cpu-replicas", "0"],
    ["--dataset", "celeb_a", "--data-dir", "{tmp}/no_tfds"],
]


def train(args: list[str], env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args], env={**ENV, **(env or {})}, capture_output=True, text=True,
        **kwargs,
    )  # fmt: skip


def fingerprint(run: Path) -> dict:
    """What an uninterrupted run and a killed-and-resumed one must share."""
    import keras
    import numpy as np
    import tensorflow as tf
    from tensorboard.compat.proto import event_pb2

    import keras_wgan  # noqa: F401  (registers the classes)

    gan = keras.saving.load_model(run / "gan.keras")
    ema = keras.saving.load_model(run / "ema_generator.keras", compile=False)
    with open(run / "history.csv") as f:
        history = [int(r["step"]) for r in csv.DictReader(f)]
    tb = []
    for path in sorted((run / "logs" / "gan").glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            tb += [(v.tag, event.step) for v in event.summary.value]
    return {
        "weights": [w for w in gan.get_weights()],
        "ema": [w for w in ema.get_weights()],
        "ema_finite": all(np.isfinite(w).all() for w in ema.get_weights()),
        "step": int(gan.generator_iterations),
        "history": history,
        "frames": sorted(p.name for p in (run / "plots").glob("critic_*.png")),
        "tensorboard_repeats": len(tb) - len(set(tb)),
    }


def kill_until_done(run: Path, kills: int, write_kills: int, rng: random.Random) -> tuple[int, int]:
    """Kills the run at random moments (and inside writes) until it finishes; returns the kills done."""
    done_random = done_write = 0
    for attempt in range(kills + write_kills + 50):
        if done_write < write_kills and attempt % 3 == 2:
            result = train([*RUN, "--out", str(run)], env={"KERAS_WGAN_FAULT_KILL_IN_WRITE": str(rng.randint(2, 40))})
            if result.returncode == -signal.SIGKILL:
                done_write += 1
                continue
            if result.returncode == 0:
                return done_random, done_write
            raise RuntimeError(f"unexpected exit {result.returncode}: {result.stderr[-2000:]}")
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "train.py"), *RUN, "--out", str(run)],
            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        if done_random < kills:
            time.sleep(rng.uniform(0.5, 12.0))
        if proc.poll() is None and done_random < kills:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            done_random += 1
            continue
        proc.wait()
        if proc.returncode == 0:
            return done_random, done_write
        raise RuntimeError(f"unexpected exit {proc.returncode}: {proc.stderr.read()[-2000:]}")
    raise RuntimeError("the run did not finish")


def one_line_refusal(result: subprocess.CompletedProcess, says: str) -> tuple[bool, str]:
    line = result.stderr.strip()
    ok = result.returncode == 2 and "\n" not in line and says in line and "Traceback" not in result.stderr
    return ok, f"exit {result.returncode}: {line[-300:]}"


def doctored_files(tmp: Path) -> list[tuple[str, bool, str]]:
    """Files an attacker could hand over or swap into a run folder; each must be refused before it runs."""
    import numpy as np

    from keras_wgan.evaluation.standin_graph import write_standin_graph

    results = []
    run = tmp / "doctored_run"
    args = ["--variant", "dcgan", "--dataset", "digits", "--width", "4", "--batch-size", "8", "--latent-dim", "8"]
    args += ["--ema-decay", "0.5", "--quiet", "--out", str(run)]
    first = train([*args, "--steps", "1"])
    if first.returncode != 0:
        return [("a digits run to doctor", False, first.stderr[-300:])]

    payload = tmp / "written_by_the_graph.txt"
    write_standin_graph(tmp / "doctored.pb", write_file=payload)
    evaluated = evaluate(
        [str(run), "--metrics", "fid", "--num-samples", "4", "--inception-graph", str(tmp / "doctored.pb")]
    )
    ok, detail = one_line_refusal(evaluated, "'WriteFile'")
    results.append(("a graph that writes a file", ok and not payload.exists(), detail))

    latents = run / "samples" / "fixed_latent.npy"
    original = latents.read_bytes()
    np.save(latents, np.array([{"payload": 1}], dtype=object))
    results.append(("pickled fixed latents", *one_line_refusal(train([*args, "--steps", "2"]), "pickled")))
    latents.write_bytes(original)

    code = (
        "import keras, sys; m = keras.Sequential([keras.Input((8,)), keras.layers.Lambda(lambda z: z)]); "
        "m.save(sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", code, str(run / "ema_generator.keras")], env=ENV, check=True)
    results.append(("a Lambda layer in the average", *one_line_refusal(evaluate([str(run), "--ema"]), "Lambda")))
    return results


def evaluate(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "evaluate.py"), *args, "--quiet"], env=ENV, capture_output=True, text=True
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs at random moments")
    parser.add_argument("--write-kills", type=int, default=6, help="kills inside a file write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import numpy as np

    rng, problems = random.Random(args.seed), []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clean = train([*RUN, "--out", str(tmp / "clean")])
        if clean.returncode != 0:
            raise RuntimeError(clean.stderr[-3000:])
        t0 = time.perf_counter()
        random_kills, write_kills = kill_until_done(tmp / "killed", args.kills, args.write_kills, rng)
        a, b = fingerprint(tmp / "clean"), fingerprint(tmp / "killed")
        lost = []
        for key in ("step", "history", "frames"):
            if a[key] != b[key]:
                lost.append(f"{key}: {b[key]} (uninterrupted: {a[key]})")
        for key in ("weights", "ema"):
            if not all(np.allclose(x, y, rtol=1e-4, atol=1e-5) for x, y in zip(a[key], b[key], strict=True)):
                lost.append(f"{key} differ from the uninterrupted run")
        if b["tensorboard_repeats"]:
            lost.append(f"{b['tensorboard_repeats']} TensorBoard points logged twice")
        if not b["ema_finite"]:
            lost.append("the average holds non-finite values")
        print(
            f"kills: {random_kills} at random moments + {write_kills} inside writes survived "
            f"({time.perf_counter() - t0:.0f} s); lost: {'; '.join(lost) or 'nothing'}",
            flush=True,
        )
        problems += lost

        bad = 0
        for case in BAD_INPUTS:
            case = [c.replace("{tmp}", str(tmp)) for c in case]
            result = train([*case, "--out", str(tmp / "bad"), "--quiet"], timeout=300)
            if result.returncode != 2 or result.stderr.count("\n") != 1 or "Traceback" in result.stderr:
                problems.append(f"bad input {case}: exit {result.returncode}, stderr {result.stderr[-300:]!r}")
            else:
                bad += 1
        print(f"bad input: {bad} of {len(BAD_INPUTS)} cases exit 2 with one line", flush=True)
        refused = doctored_files(tmp)
        for name, ok, detail in refused:
            if not ok:
                problems.append(f"doctored file ({name}): {detail}")
        print(
            f"doctored files: {sum(ok for _, ok, _ in refused)} of {len(refused)} refused in one line, nothing run "
            f"({', '.join(name for name, _, _ in refused)})",
            flush=True,
        )

        for mode in ("weights", "loss"):
            nan_run = tmp / f"nan_{mode}"
            env = {"KERAS_WGAN_FAULT_NAN_AT_STEP": "12", "KERAS_WGAN_FAULT_NAN_MODE": mode}
            result = train([*RUN, "--out", str(nan_run)], env=env)
            state = json.loads((nan_run / "backup" / "state.json").read_text())
            evaluated = subprocess.run(
                [sys.executable, str(ROOT / "evaluate.py"), str(nan_run), "--ema", "--num-samples", "500"],
                env=ENV, capture_output=True, text=True,
            )  # fmt: skip
            line = result.stderr.strip()
            nan_ok = (
                result.returncode == 3
                and line.count("\n") == 0
                and "generator step 1" in line
                and "the last good checkpoint (step 10)" in line
                and state["step"] == 10
                and not (nan_run / "gan.keras").exists()
                and evaluated.returncode == 0
            )
            print(
                f"NaN ({mode}) after step 12: exit {result.returncode}, checkpoint kept at step {state['step']}, "
                f"evaluate.py --ema exit {evaluated.returncode}; {line[len('train.py: ') :][:150]}...",
                flush=True,
            )
            if not nan_ok:
                problems.append(f"NaN injection ({mode}): {result.stderr[-300:]} {evaluated.stderr[-300:]}")

        lock_run = tmp / "lock"
        first = subprocess.Popen(
            [sys.executable, str(ROOT / "train.py"), *RUN, "--out", str(lock_run)],
            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        while not (lock_run / "config.json").exists() and first.poll() is None:
            time.sleep(0.1)
        second = train([*RUN, "--out", str(lock_run)])
        first.send_signal(signal.SIGKILL)
        first.wait()
        third = train([*RUN, "--out", str(lock_run)])
        lock_ok = second.returncode == 2 and f"process {first.pid}" in second.stderr and third.returncode == 0
        print(
            f"lock: second trainer exit {second.returncode} ({second.stderr.strip()[:120]}...); "
            f"after kill -9 of the first, resume exit {third.returncode}",
            flush=True,
        )
        if not lock_ok:
            problems.append("lock")
    print(f"fault battery: {'PASSED' if not problems else 'FAILED: ' + ' | '.join(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
