"""Speed of one WGAN-GP generator iteration: keras_wgan vs. a plain reference.

The reference is the straightforward ``tf.function`` + ``GradientTape`` step a
tutorial would write, with the same networks (built by keras_wgan.networks,
same widths and norms), the same penalty formula and the same optimizers. Both
run ``n_critic`` critic updates on fresh real chunks and one generator update
per iteration. Timings alternate between the two in one process, and the
script prints images/second (real images consumed), the ratio
library / reference (>= 1.0 means the library is not slower) and the achieved
GFLOP/s (float operations of the library's step graph, counted by the TF
profiler, divided by time).

Usage:
    python benchmarks/train_step.py                 # 64 px, batch 64, n_critic 5
    python benchmarks/train_step.py --quick         # 32 px, narrow nets: a smoke run
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_wgan  # noqa: E402
from keras_wgan import networks  # noqa: E402


def build_pair(args, seed):
    g = networks.build_generator(args.latent_dim, args.image_size, 3, width=args.width, seed=seed)
    c = networks.build_critic(args.image_size, 3, width=args.width, norm="layer", seed=seed + 1)
    return g, c


def reference_step_fn(g, c, args):
    """A tutorial-style WGAN-GP iteration."""
    g_opt = keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9)
    d_opt = keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9)
    g_opt.build(g.trainable_variables)
    d_opt.build(c.trainable_variables)
    b, n = args.batch_size, args.n_critic

    @tf.function
    def step(real):
        for i in range(n):
            x = real[i * b : (i + 1) * b]
            z = tf.random.normal((b, args.latent_dim))
            fake = g(z, training=True)
            with tf.GradientTape() as tape:
                d_real = c(x, training=True)
                d_fake = c(fake, training=True)
                alpha = tf.random.uniform((b, 1, 1, 1))
                x_hat = alpha * x + (1 - alpha) * fake
                with tf.GradientTape() as gp_tape:
                    gp_tape.watch(x_hat)
                    d_hat = c(x_hat, training=True)
                grad = gp_tape.gradient(d_hat, x_hat)
                norm = tf.sqrt(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3]) + 1e-12)
                gp = tf.reduce_mean(tf.square(norm - 1.0))
                d_loss = tf.reduce_mean(d_fake) - tf.reduce_mean(d_real) + 10.0 * gp
            d_opt.apply(tape.gradient(d_loss, c.trainable_variables), c.trainable_variables)
        z = tf.random.normal((b, args.latent_dim))
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(c(g(z, training=True), training=True))
        g_opt.apply(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables)
        return d_loss, g_loss

    return step


def graph_gflops(concrete_fn) -> float:
    """Float operations of one call of a traced function, from the TF profiler."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    opts = option_builder.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    stats = model_analyzer.profile(concrete_fn.graph, options=opts)
    return stats.total_float_ops / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-critic", type=int, default=5)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=4, help="timed generator iterations per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of library / reference")
    parser.add_argument("--quick", action="store_true", help="32 px, width 16, 2 iterations: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.image_size, args.width, args.iterations, args.rounds, args.batch_size = 32, 16, 2, 2, 16

    keras.utils.set_random_seed(0)
    per_iter = args.batch_size * args.n_critic
    real = tf.random.uniform((per_iter, args.image_size, args.image_size, 3), -1, 1)

    model = keras_wgan.WGANGP(*build_pair(args, 0), latent_dim=args.latent_dim, n_critic=args.n_critic, seed=0)
    model.compile()
    ds = tf.data.Dataset.from_tensors(real).repeat()
    model.fit(ds, steps_per_epoch=1, epochs=1, verbose=0)  # trace and warm up

    ref = reference_step_fn(*build_pair(args, 0), args)
    ref(real)  # trace and warm up

    lib_times, ref_times = [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        model.fit(ds, steps_per_epoch=args.iterations, epochs=1, verbose=0)
        lib_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(args.iterations):
            out = ref(real)
        float(out[0])  # wait for the last step
        ref_times.append(time.perf_counter() - t0)

    lib_ips = per_iter * args.iterations / min(lib_times)
    ref_ips = per_iter * args.iterations / min(ref_times)
    # Both steps do the same work; the profiler counts it on the reference's graph.
    gflop = graph_gflops(ref.get_concrete_function(real))
    print(
        f"config: {args.image_size}px, batch {args.batch_size}, n_critic {args.n_critic}, width {args.width}, "
        f"fp32, {args.iterations} iterations x {args.rounds} rounds (best round)"
    )
    print(f"keras_wgan : {lib_ips:8.1f} images/s  ({min(lib_times) / args.iterations:.3f} s / generator iteration)")
    print(f"reference  : {ref_ips:8.1f} images/s  ({min(ref_times) / args.iterations:.3f} s / generator iteration)")
    print(f"ratio keras_wgan / reference: {lib_ips / ref_ips:.3f}")
    print(
        f"work per generator iteration: {gflop:.2f} GFLOP; keras_wgan achieves "
        f"{gflop * args.iterations / min(lib_times):.1f} GFLOP/s"
    )


if __name__ == "__main__":
    main()
