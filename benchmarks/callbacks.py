"""Cost of the artifact callbacks: WGAN-GP steps with all of them vs. none, in one run.

Builds the same callbacks ``train.py`` uses (``keras_wgan.training.artifact_callbacks``,
at their default frequencies for the epoch length given) and times a fixed
number of generator iterations with them and without them, alternating the
two arms. Reports the overhead in percent (goal: at most 5%).

Two settings:
- ``toy``: 25gaussians, MLP 512x3, batch 256, n_critic 5 (critic landscape,
  loss curves, gradient norms, TensorBoard);
- ``digits``: 32 px DCGAN pair on digits, batch 64, n_critic 5 (sample grid +
  GIF, loss curves, gradient norms, TensorBoard with images).

Usage:
    python benchmarks/callbacks.py --setting toy
    python benchmarks/callbacks.py --setting digits
    python benchmarks/callbacks.py --quick         # tiny, a smoke run
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from keras_wgan import data, training  # noqa: E402
from keras_wgan.config import TrainConfig  # noqa: E402


def run(config: TrainConfig, steps: int, spe: int, with_callbacks: bool, run_dir: Path) -> float:
    model = training.build_model(config)
    ds = data.make_dataset(
        config.dataset, config.batch_size, config.image_size, 0, n_critic=config.n_critic, repeat=True
    )
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)  # trace outside the timing
    callbacks = []
    if with_callbacks:
        real = next(iter(ds)).numpy()
        callbacks = training.artifact_callbacks(config, run_dir, real, spe)
    t0 = time.perf_counter()
    model.fit(ds, steps_per_epoch=spe, epochs=steps // spe, verbose=0, callbacks=callbacks)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", choices=("toy", "digits"), default="toy")
    parser.add_argument("--steps", type=int, help="timed generator iterations per arm")
    parser.add_argument("--steps-per-epoch", type=int, help="epoch length (sets the callbacks' frequencies)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.setting == "toy":
        config = TrainConfig(variant="wgan_gp", dataset="25gaussians").resolve()
        steps, spe = args.steps or 1000, args.steps_per_epoch or 500
    else:
        config = TrainConfig(variant="wgan_gp", dataset="digits").resolve()
        steps, spe = args.steps or 200, args.steps_per_epoch or 100  # train.py's digits epoch: 100 steps
    if args.quick:
        config.width = 32 if args.setting == "toy" else 8
        steps, spe, args.rounds = 40, 20, 1
    keras.utils.set_random_seed(0)
    times = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for arm in (False, True):
                times[arm].append(run(config, steps, spe, arm, Path(tmp) / f"run{r}"))
    base, full = min(times[False]), min(times[True])
    print(f"setting: {args.setting}, {steps} generator iterations, epoch {spe} steps, best of {args.rounds} rounds")
    print(f"no callbacks:  {base:.1f} s")
    print(f"all callbacks: {full:.1f} s")
    print(f"overhead: {100 * (full / base - 1):.1f}% (goal <= 5%)")


if __name__ == "__main__":
    main()
