"""Cost of the artifact callbacks: WGAN-GP epochs with all of them vs. none, in one run.

Builds the same callbacks ``train.py`` uses (``keras_wgan.training.artifact_callbacks``,
at their default frequencies for the epoch length given) on one WGAN-GP model and
measures two things:

1. the direct cost: every hook of every callback is wrapped with a timer, and the
   seconds spent inside them during an epoch are compared with an epoch without
   callbacks. The first callback epoch includes the one-time costs (tracing the
   gradient-norm function, opening files) and is reported separately. Every
   epoch is its own ``fit`` call, so per-``fit`` costs are paid once per epoch
   here, more often than in a real run.
2. optionally (``--rounds N``), whole epochs with and without callbacks in ABBA
   order, which would also catch indirect costs; on a shared 2-core machine the
   epoch-to-epoch noise (tens of percent) is larger than the effect.

Two settings:
- ``toy``: 25gaussians, MLP 512x3, batch 256, n_critic 5, epoch of 500 steps
  (critic landscape, loss curves, gradient norms, TensorBoard);
- ``digits``: 32 px DCGAN pair on digits, batch 64, n_critic 5, epoch of 100
  steps as train.py uses (sample grid + GIF, loss curves, gradient norms,
  TensorBoard with images).

Usage:
    python benchmarks/callbacks.py --setting toy
    python benchmarks/callbacks.py --setting digits
    python benchmarks/callbacks.py --setting toy --rounds 2   # plus whole-epoch ABBA comparison
    python benchmarks/callbacks.py --quick         # tiny, a smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from keras_wgan import builders, data, training  # noqa: E402
from keras_wgan.config import TrainConfig  # noqa: E402

HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
)


def instrument(callbacks: list) -> dict[str, float]:
    """Wraps every hook of every callback with a timer; returns the live ``{callback name: seconds}`` table."""
    spent: dict[str, float] = {}
    for cb in callbacks:
        name = type(cb).__name__
        spent[name] = 0.0
        for hook in HOOKS:
            original = getattr(cb, hook)

            def timed(*args, _original=original, _name=name, **kwargs):
                t0 = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    spent[_name] += time.perf_counter() - t0

            setattr(cb, hook, timed)
    return spent


def timed_epoch(model, ds, spe: int, callbacks: list) -> float:
    """Wall seconds of one ``fit`` epoch of ``spe`` steps."""
    t0 = time.perf_counter()
    model.fit(ds, steps_per_epoch=spe, epochs=1, verbose=0, callbacks=callbacks)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", choices=("toy", "digits"), default="toy")
    parser.add_argument("--steps-per-epoch", type=int, help="epoch length (sets the callbacks' frequencies)")
    parser.add_argument("--rounds", type=int, default=1, help="ABBA rounds after the first epoch (0: none)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.setting == "toy":
        config = TrainConfig(variant="wgan_gp", dataset="25gaussians").resolve()
        spe = args.steps_per_epoch or 500
    else:
        config = TrainConfig(variant="wgan_gp", dataset="digits").resolve()
        spe = args.steps_per_epoch or 100  # train.py's digits epoch: 100 steps
    if args.quick:
        config.width = 32 if args.setting == "toy" else 8
        spe, args.rounds = 20, 1
    keras.utils.set_random_seed(0)
    model = builders.build_model(config)
    ds = data.make_dataset(
        config.dataset, config.batch_size, config.image_size, 0, n_critic=config.n_critic, repeat=True
    )
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)  # trace the step outside the timing
    print(f"setting: {args.setting}, epochs of {spe} WGAN-GP generator iterations", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        callbacks = training.artifact_callbacks(config, Path(tmp), next(iter(ds)).numpy(), spe)
        spent = instrument(callbacks)
        # 1. Direct cost: seconds spent inside the callbacks' hooks. The first epoch
        #    includes one-time costs (tracing the gradient-norm function, opening files).
        first = timed_epoch(model, ds, spe, callbacks)
        first_spent = dict(spent)
        base = timed_epoch(model, ds, spe, [])
        for key in spent:
            spent[key] = 0.0
        steady = timed_epoch(model, ds, spe, callbacks)
        steady_spent = dict(spent)
        print(f"epoch without callbacks: {base:.1f} s; with: {first:.1f} s (first), {steady:.1f} s (second)")
        print("seconds inside each callback's hooks (first epoch / second epoch):")
        for key in spent:
            print(f"  {key:16s} {first_spent[key]:6.2f} / {steady_spent[key]:6.2f}")
        direct_first, direct = sum(first_spent.values()), sum(steady_spent.values())
        print(
            f"direct cost: first epoch {direct_first:.2f} s ({100 * direct_first / base:.1f}% of an epoch "
            f"without callbacks), later epochs {direct:.2f} s ({100 * direct / base:.1f}%)",
            flush=True,
        )
        # 2. Whole-epoch comparison, ABBA-interleaved (catches indirect costs, but a
        #    shared machine's noise is of the same order as the effect).
        ratios = []
        for r in range(args.rounds):
            order = (False, True, True, False) if r % 2 == 0 else (True, False, False, True)
            got = {True: 0.0, False: 0.0}
            for arm in order:
                got[arm] += timed_epoch(model, ds, spe, callbacks if arm else [])
            ratios.append(got[True] / got[False])
            print(f"ABBA round {r + 1}: whole-epoch wall overhead {100 * (ratios[-1] - 1):+.1f}%", flush=True)
    if ratios:
        print(
            f"whole-epoch overhead, median of {len(ratios)} ABBA rounds: {100 * (statistics.median(ratios) - 1):+.1f}%"
        )
    fastest = min(base, first, steady)
    print(
        f"relative to the fastest epoch measured ({fastest:.1f} s): first epoch "
        f"{100 * direct_first / fastest:.1f}%, later epochs {100 * direct / fastest:.1f}%"
    )
    print(f"overhead (direct, steady state): {100 * direct / base:.1f}% (goal <= 5%)")


if __name__ == "__main__":
    main()
