"""Time to quality on 25gaussians: WGAN-GP's averaged generator against wall-clock training time.

Three arms in one run, one after the other on the same machine:

- ``fast``: the library with ``--recipe fast`` (its width and Adam rate are the ones
  ``TrainConfig`` resolves for it: MLPs 64 wide, Adam 1e-3 (0.5, 0.9); lambda 0.1, an averaged
  generator with decay 0.999);
- ``authors``: the library with the WGAN-GP authors' toy settings (gan_toy.py: MLPs 512
  wide, Adam 1e-4 (0.5, 0.9), lambda 0.1, 5 critic steps, batch 256), the toy defaults
  of ``train.py``, plus the same averaged generator;
- ``plain``: a minimal plain-TensorFlow loop (``tf.function``, ``GradientTape``, the
  penalty through a nested tape, the average by hand) with the authors' settings.

Every ``--every`` generator steps the clock stops and the averaged generator is
measured as ``evaluate.py --ema`` measures it (2,500 samples: share within 3 standard
deviations of a mode, exact W1 on 2,000 points against the truth-vs-truth floor).
The goal: W1 <= 1.5x the floor and >= 90% high-quality samples. Writes
``benchmarks/results/time_to_quality_<date>.json`` and a plot of the curves.

Usage:
    python benchmarks/time_to_quality.py                 # up to --minutes of training per arm
    python benchmarks/time_to_quality.py --quick         # a plumbing check (seconds)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_wgan import callbacks as cbs  # noqa: E402
from keras_wgan import data, networks  # noqa: E402
from keras_wgan.config import TrainConfig  # noqa: E402
from keras_wgan.models import WGANGP  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO, GOAL_HQ = 1.5, 0.90


def quality(generate, latent_dim: int) -> dict:
    """``evaluate.py --ema``'s toy numbers (seed 0) for a latent -> points function."""
    config = TrainConfig(variant="wgan_gp", dataset="25gaussians").resolve()
    from keras_wgan.evaluation.run import toy_verdict

    results, _ = toy_verdict(config, generate, latent_dim)
    return {
        "modes": results["modes"],
        "high_quality": results["high_quality"],
        "w1_ratio": results["w1"] / results["w1_true_vs_true"],
    }


class Clock(keras.callbacks.Callback):
    """Measures training time only, and the averaged generator every ``every`` steps (clock stopped)."""

    def __init__(self, ema: cbs.GeneratorEMA, every: int, limit: float, points: list):
        super().__init__()
        self.ema, self.every, self.limit, self.points = ema, every, limit, points
        self.seconds, self._t = 0.0, None

    def on_train_batch_begin(self, batch, logs=None):
        self._t = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.seconds += time.perf_counter() - self._t
        step = cbs.generator_step(self.model)
        if step % self.every == 0:
            self.points.append({"step": step, "seconds": self.seconds, **quality(self.ema, self.model.latent_dim)})
            print(f"  step {step}: {self.points[-1]}", flush=True)
            if self.seconds > self.limit:
                self.model.stop_training = True


def library_arm(width: int, lr: float, steps: int, every: int, limit: float) -> list:
    keras.utils.set_random_seed(0)
    g = networks.build_mlp_generator(2, 2, width=width, depth=3, seed=0)
    c = networks.build_mlp_critic(2, width=width, depth=3, seed=1000)
    model = WGANGP(g, c, n_critic=5, gp_weight=0.1, seed=0)
    model.compile(g_optimizer=keras.optimizers.Adam(lr, 0.5, 0.9), d_optimizer=keras.optimizers.Adam(lr, 0.5, 0.9))
    ema = cbs.GeneratorEMA(0.999)
    points: list = []
    ds = data.make_dataset("25gaussians", 256, seed=0, n_critic=5)
    clock = Clock(ema, every, limit, points)
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False, callbacks=[ema, clock])
    return points


def plain_arm(steps: int, every: int, limit: float) -> list:
    """WGAN-GP as a hand-written loop with the authors' toy settings (512 wide, Adam 1e-4, lambda 0.1)."""
    keras.utils.set_random_seed(0)
    width, batch, n_critic, lam = 512, 256, 5, 0.1

    def mlp(out):
        hidden = [keras.layers.Dense(width, activation="relu") for _ in range(3)]
        return keras.Sequential([keras.Input((2,)), *hidden, keras.layers.Dense(out)])

    gen, critic = mlp(2), mlp(1)
    ema_gen = mlp(2)
    ema_gen.set_weights(gen.get_weights())
    g_opt, d_opt = keras.optimizers.Adam(1e-4, 0.5, 0.9), keras.optimizers.Adam(1e-4, 0.5, 0.9)
    stream = iter(data.make_dataset("25gaussians", batch, seed=0, n_critic=n_critic))

    @tf.function
    def step(real):
        for i in range(n_critic):
            x = real[i * batch : (i + 1) * batch]
            fake = gen(tf.random.normal((batch, 2)))
            alpha = tf.random.uniform((batch, 1))
            with tf.GradientTape() as tape:
                mid = alpha * x + (1 - alpha) * fake
                with tf.GradientTape() as inner:
                    inner.watch(mid)
                    out = critic(mid)
                grad = inner.gradient(out, mid)
                penalty = tf.reduce_mean((tf.norm(grad, axis=1) - 1.0) ** 2)
                loss = tf.reduce_mean(critic(fake)) - tf.reduce_mean(critic(x)) + lam * penalty
            d_opt.apply(tape.gradient(loss, critic.trainable_variables), critic.trainable_variables)
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(critic(gen(tf.random.normal((batch, 2)))))
        g_opt.apply(tape.gradient(loss, gen.trainable_variables), gen.trainable_variables)

    @tf.function
    def average(decay):
        for e, w in zip(ema_gen.trainable_variables, gen.trainable_variables, strict=True):
            e.assign(decay * e + (1 - decay) * w)

    points, seconds = [], 0.0
    for t in range(1, steps + 1):
        t0 = time.perf_counter()
        step(next(stream))
        average(tf.constant(min(0.999, (1 + t) / (10 + t)), tf.float32))
        seconds += time.perf_counter() - t0
        if t % every == 0:
            points.append({"step": t, "seconds": seconds, **quality(lambda z: ema_gen(z).numpy(), 2)})
            print(f"  step {t}: {points[-1]}", flush=True)
            if seconds > limit:
                break
    return points


def time_to_goal(points: list) -> float | None:
    for p in points:
        if p["w1_ratio"] <= GOAL_RATIO and p["high_quality"] >= GOAL_HQ:
            return p["seconds"]
    return None


def plot(results: dict, path: Path) -> None:
    from keras_wgan.pictures import new_figure, save_figure

    fig, (ax1, ax2) = new_figure(11, 4, ncols=2)
    for name, points in results.items():
        xs = [p["seconds"] / 60 for p in points]
        ax1.plot(xs, [p["w1_ratio"] for p in points], marker="o", label=name)
        ax2.plot(xs, [100 * p["high_quality"] for p in points], marker="o", label=name)
    ax1.axhline(GOAL_RATIO, color="gray", ls="--")
    ax2.axhline(100 * GOAL_HQ, color="gray", ls="--")
    ax1.set_yscale("log")
    ax1.set_ylabel("W1 / truth-vs-truth floor (averaged G)")
    ax2.set_ylabel("high-quality samples % (averaged G)")
    for ax in (ax1, ax2):
        ax.set_xlabel("training minutes (this machine)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--minutes", type=float, default=12.0, help="training minutes per arm at most")
    parser.add_argument("--every", type=int, default=250, help="generator steps between measurements")
    parser.add_argument("--arms", default="fast,authors,plain")
    args = parser.parse_args()
    steps, every, limit = (20, 10, 1e9) if args.quick else (100_000, args.every, 60 * args.minutes)
    fast = TrainConfig(variant="wgan_gp", dataset="25gaussians", recipe="fast").resolve()
    arms = {
        "fast": lambda: library_arm(fast.width, fast.g_lr, steps, every, limit),
        "authors": lambda: library_arm(512, 1e-4, steps, every, limit),
        "plain": lambda: plain_arm(steps, every, limit),
    }
    results = {}
    for name in args.arms.split(","):
        print(f"arm {name}", flush=True)
        results[name] = arms[name]()
    print("| arm | time to goal (min) | last point: step, minutes, W1/floor, high quality % |")
    print("|---|---|---|")
    for name, points in results.items():
        goal = time_to_goal(points)
        last = points[-1]
        print(
            f"| {name} | {'not reached' if goal is None else f'{goal / 60:.2f}'} | {last['step']}, "
            f"{last['seconds'] / 60:.2f}, {last['w1_ratio']:.2f}, {100 * last['high_quality']:.1f} |"
        )
    if not args.quick:
        out = ROOT / "benchmarks" / "results"
        stamp = time.strftime("%Y-%m-%d")
        (out / f"time_to_quality_{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
        plot(results, ROOT / "docs" / "results" / "figures" / "time_to_quality.png")
        print(f"wrote {out / f'time_to_quality_{stamp}.json'} and docs/results/figures/time_to_quality.png")


if __name__ == "__main__":
    sys.exit(main())
