"""The same WGAN-GP step under Keras' TensorFlow and JAX backends, in one run.

Two settings, each a ``keras_wgan.WGANGP`` trained through ``model.fit`` with
the library's default compilation for the backend (TensorFlow: a
``tf.function`` without XLA; JAX: ``jax.jit``, i.e. XLA):

- ``toy``: the WGAN-GP authors' toy setting, 512-wide MLPs (3 hidden layers),
  batch 256, n_critic 5, on 2D points;
- ``dcgan64``: the 64 px DCGAN pair (width 64, layer norm in the critic),
  batch 64, n_critic 5, on random images.

A backend is chosen when Keras is imported, so each measurement runs in its
own process; the rounds alternate the backends (TF, JAX, TF, JAX, ...) and the
best round of each is kept. Prints generator iterations per second and the
ratio JAX / TensorFlow (> 1: JAX is faster).

``--breakdown`` times the parts of the 64 px step separately on both backends
(compiled forward passes and gradients of each network, and the gradient of the
penalty, which differentiates through the critic's input gradient), to show
where a difference comes from.

Usage:
    python benchmarks/backends.py              # ~17 minutes on 2 cores
    python benchmarks/backends.py --quick      # a smoke run
    python benchmarks/backends.py --breakdown  # ~3 minutes
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

SETTINGS = {
    # name: (network kind, batch, steps measured, steps of warm-up)
    "toy": ("mlp", 256, 200, 20),
    "dcgan64": ("dcgan", 64, 3, 1),
}


def worker(setting: str, quick: bool) -> dict:
    """Runs in a subprocess under one backend: iterations per second of ``setting``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    import keras_wgan
    from keras_wgan import networks

    kind, batch, steps, warmup = SETTINGS[setting]
    if quick:
        steps, warmup = max(1, steps // 20), 1
    n_critic = 5
    rng = np.random.default_rng(0)
    if kind == "mlp":
        g = networks.build_mlp_generator(2, width=512, depth=3, seed=0)
        c = networks.build_mlp_critic(width=512, depth=3, seed=1)
        shape = (2,)
    else:
        size = 32 if quick else 64
        g = networks.build_generator(128, size, 3, width=64, seed=0)
        c = networks.build_critic(size, 3, width=64, norm="layer", seed=1)
        shape = (size, size, 3)
    model = keras_wgan.WGANGP(g, c, n_critic=n_critic, seed=0)
    model.compile(jit_compile=keras.backend.backend() == "jax")
    per_step = batch * n_critic

    def data(n: int):
        return rng.uniform(-1, 1, size=(n * per_step, *shape)).astype("float32")

    model.fit(data(warmup), batch_size=per_step, epochs=1, verbose=0, shuffle=False)  # compiles
    x = data(steps)
    start = time.perf_counter()
    model.fit(x, batch_size=per_step, epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    return {"backend": keras.backend.backend(), "setting": setting, "steps": steps, "seconds": seconds}


def breakdown() -> dict:
    """Runs in a subprocess under one backend: seconds per call of the parts of the 64 px step."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    from keras_wgan import networks

    g = networks.build_generator(128, 64, 3, width=64, seed=0)
    c = networks.build_critic(64, 3, width=64, norm="layer", seed=1)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 64, 64, 3)).astype("float32")
    z = rng.normal(size=(64, 128)).astype("float32")

    def seconds(fn, n: int = 3) -> float:
        np.asarray(fn())  # compiles
        start = time.perf_counter()
        for _ in range(n):
            out = fn()
        np.asarray(out)
        return (time.perf_counter() - start) / n

    if keras.backend.backend() == "jax":
        import jax
        import jax.numpy as jnp

        cw, cs = [v.value for v in c.trainable_variables], [v.value for v in c.non_trainable_variables]
        gw, gs = [v.value for v in g.trainable_variables], [v.value for v in g.non_trainable_variables]

        def critic_sum(w, x):
            return c.stateless_call(w, cs, x, training=True)[0].sum()

        def generator_sum(w, z):
            return g.stateless_call(w, gs, z, training=True)[0].sum()

        def penalty(w, x):
            grad = jax.grad(lambda x: critic_sum(w, x))(x)
            return ((jnp.sqrt((grad**2).sum((1, 2, 3)) + 1e-12) - 1) ** 2).mean()

        def squares(grads):  # every weight's gradient is needed: none is pruned as unused
            return sum(jnp.sum(g**2) for g in grads)

        parts = {
            "critic forward": (jax.jit(critic_sum), (cw, x)),
            "critic gradient": (jax.jit(lambda w, x: squares(jax.grad(critic_sum)(w, x))), (cw, x)),
            "penalty gradient": (jax.jit(lambda w, x: squares(jax.grad(penalty)(w, x))), (cw, x)),
            "generator forward": (jax.jit(generator_sum), (gw, z)),
            "generator gradient": (jax.jit(lambda w, z: squares(jax.grad(generator_sum)(w, z))), (gw, z)),
        }
        return {name: seconds(lambda f=f, a=a: f(*a)) for name, (f, a) in parts.items()}

    import tensorflow as tf

    xt, zt = tf.constant(x), tf.constant(z)

    def squares(grads):  # every weight's gradient is needed: none is pruned as unused
        return tf.add_n([tf.reduce_sum(g**2) for g in grads if g is not None])

    @tf.function
    def critic_gradient():
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(c(xt, training=True))
        return squares(tape.gradient(y, c.trainable_variables))

    @tf.function
    def penalty_gradient():
        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:
                inner.watch(xt)
                y = tf.reduce_sum(c(xt, training=True))
            grad = inner.gradient(y, xt)
            p = tf.reduce_mean((tf.sqrt(tf.reduce_sum(grad**2, [1, 2, 3]) + 1e-12) - 1) ** 2)
        return squares(tape.gradient(p, c.trainable_variables))

    @tf.function
    def generator_gradient():
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(g(zt, training=True))
        return squares(tape.gradient(y, g.trainable_variables))

    parts = {
        "critic forward": tf.function(lambda: tf.reduce_sum(c(xt, training=True))),
        "critic gradient": critic_gradient,
        "penalty gradient": penalty_gradient,
        "generator forward": tf.function(lambda: tf.reduce_sum(g(zt, training=True))),
        "generator gradient": generator_gradient,
    }
    return {name: seconds(f) for name, f in parts.items()}


def measure(backend: str, setting: str, quick: bool) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", setting] + (["--quick"] if quick else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"{backend} {setting} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, 32 px images: a smoke run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per backend (best kept)")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated: toy,dcgan64")
    parser.add_argument("--breakdown", action="store_true", help="time the parts of the 64 px step instead")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "breakdown":
        print(json.dumps(breakdown()))
        return
    if args.worker:
        print(json.dumps(worker(args.worker, args.quick)))
        return
    if args.breakdown:
        tf_parts, jax_parts = measure("tensorflow", "breakdown", False), measure("jax", "breakdown", False)
        print(f"{'64 px, batch 64':20s} {'TensorFlow s':>13s} {'JAX s':>8s} {'JAX / TF':>9s}")
        for name in tf_parts:
            print(f"{name:20s} {tf_parts[name]:13.3f} {jax_parts[name]:8.3f} {jax_parts[name] / tf_parts[name]:9.2f}")
        return
    for setting in args.settings.split(","):
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            for backend in ("tensorflow", "jax"):
                r = measure(backend, setting, args.quick)
                rate = r["steps"] / r["seconds"]
                best[backend] = max(best.get(backend, 0.0), rate)
                print(f"  {setting:8s} {backend:10s} {rate:8.3f} iterations/s ({r['steps']} in {r['seconds']:.1f} s)")
        ratio = best["jax"] / best["tensorflow"]
        print(
            f"{setting}: TensorFlow {best['tensorflow']:.3f}, JAX {best['jax']:.3f} iterations/s; "
            f"JAX / TensorFlow = {ratio:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
