"""End to end on CelebA: ``train.py --variant wgan_gp --dataset celeb_a`` next to ``train_step.py``.

Seconds per generator iteration of the real command line (the prepared
tensorflow-datasets CelebA, the default callbacks, checkpoints, the input
pipeline) against ``benchmarks/train_step.py``'s library step on one repeated
in-memory batch, in the same run. The command line's steady time per
iteration is the difference of two fresh runs, ``--steps LONG`` and
``--steps SHORT``, divided by ``LONG - SHORT``: start-up, tracing, the step-0
diagnostics and the final save cancel out. Goal: train_step / train.py >= 0.9.

Usage (after benchmarks/celeba_pipeline.py has prepared the synthetic CelebA):
    python benchmarks/celeba_train.py --data-dir /data/celeba_bench/tfds
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed_run(args: list[str]) -> float:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="tfds data dir holding the prepared celeb_a")
    parser.add_argument("--short", type=int, default=2)
    parser.add_argument("--long", type=int, default=12)
    args = parser.parse_args()

    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = [str(ROOT / "train.py"), "--variant", "wgan_gp", "--dataset", "celeb_a", "--data-dir", args.data_dir]
        base += ["--quiet"]
        short = timed_run([*base, "--steps", str(args.short), "--out", f"{tmp}/short"])
        long = timed_run([*base, "--steps", str(args.long), "--out", f"{tmp}/long"])
        config = json.loads(Path(f"{tmp}/long/config.json").read_text())
    results["train_py_s_per_iteration"] = (long - short) / (args.long - args.short)
    results["train_py_runs_s"] = {"short": short, "long": long}
    results["steps_per_epoch"] = config["steps_per_epoch"]

    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "train_step.py")], capture_output=True, text=True, check=True
    )
    found = re.search(r"keras_wgan :\s+([\d.]+) images/s\s+\(([\d.]+) s / generator iteration\)", done.stdout)
    results["train_step_s_per_iteration"] = float(found.group(2))
    results["train_step_output"] = done.stdout.strip().splitlines()
    results["ratio_train_step_over_train_py"] = (
        results["train_step_s_per_iteration"] / results["train_py_s_per_iteration"]
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
