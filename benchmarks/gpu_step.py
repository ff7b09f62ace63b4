"""Speed of one WGAN-GP generator iteration on Keras' JAX backend against plain JAX and plain PyTorch.

The question a user with a GPU asks: how many images per second does the
library train on this device, against the step I would write myself, and how
far is that from what the chip can do? Three arms, in one process, alternating
round by round, on the same problem:

- ``library``: ``keras_wgan.WGANGP`` through ``model.fit`` on Keras' JAX
  backend (``jax.jit``), fed NumPy batches from a Python generator;
- ``jax``: a plain JAX step written here: the same networks with ``jax.lax``
  convolutions, ``jax.grad`` with a nested ``jax.grad`` for the penalty, Adam
  (optax's where it is installed, else the same update written out), one
  ``jax.jit`` for the whole generator iteration;
- ``torch``: a plain PyTorch step written here: the same networks as
  ``torch.nn`` modules, the penalty by ``torch.autograd.grad(create_graph=True)``,
  ``torch.optim.Adam``; ``torch.compile`` on the generator where it helps
  (CUDA; the critic's penalty needs a double backward, which compiled graphs
  do not give).

The problem: one generator iteration of WGAN-GP (n_critic 5, lambda 10, Adam
1e-4 (0.0, 0.9)) with the 64 px DCGAN pair of the CelebA recipe (width 64, a
layer-norm critic, a batch-norm generator), on random images in [-1, 1] held
in host memory (every arm copies its batch to the device each step, as a user's
input pipeline does). fp32 and bf16 (``mixed_bfloat16``), batch 64 and 512.

Reported per arm: images/s (real images consumed: ``n_critic * batch`` per
iteration), the library's ratio to each plain arm, and the achieved FLOP/s:
the floating-point operations of one iteration as XLA counts them for the plain
JAX step (``cost_analysis``; the same work for every arm), divided by the
time, and that as a fraction of the device's peak for the dtype
(``PEAK_TFLOPS``; on a CPU, of a large matmul measured here).

Runs without TensorFlow: the library's models, losses, penalty and networks
import none on the JAX backend, and every arm takes NumPy arrays.

Usage:
    KERAS_BACKEND=jax python benchmarks/gpu_step.py            # GPU: 64 px, batch 64 and 512, fp32 and bf16
    KERAS_BACKEND=jax python benchmarks/gpu_step.py --quick    # CPU smoke run: 32 px, narrow nets
    python benchmarks/gpu_step.py --out results/gpu_step.jsonl  # JSON lines too
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if os.environ.setdefault("KERAS_BACKEND", "jax") != "jax":
    sys.exit("gpu_step.py: error: this benchmark runs on Keras' JAX backend; unset KERAS_BACKEND or set it to jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

#: Dense peak TFLOP/s by device (NVIDIA datasheets, SXM parts): float32 (CUDA cores), tf32 and bfloat16 (tensor
#: cores, without sparsity). JAX multiplies float32 matrices in TF32 on these GPUs by default.
PEAK_TFLOPS = {
    "H200": {"float32": 67.0, "tf32": 494.7, "bfloat16": 989.4},
    "H100": {"float32": 67.0, "tf32": 494.7, "bfloat16": 989.4},
    "A100": {"float32": 19.5, "tf32": 156.0, "bfloat16": 312.0},
    "L4": {"float32": 30.3, "tf32": 60.0, "bfloat16": 121.0},
    "A10G": {"float32": 31.2, "tf32": 62.5, "bfloat16": 125.0},
}
LEARNING_RATE, BETA_1, BETA_2, GP_WEIGHT = 1e-4, 0.0, 0.9, 10.0  # Gulrajani et al. 2017, Algorithm 1


# ------------------------------------------------------------------ the problem
def layer_plan(image_size: int, width: int) -> tuple[int, list[int], list[int]]:
    """The DCGAN pair's widths (as ``keras_wgan.networks``): generator start width and up widths, critic widths."""
    n = int(np.log2(image_size // 4))
    start = width * 2 ** (n - 1)
    ups = [width * 2 ** (n - 2 - i) for i in range(n - 1)]
    downs = [width * 2**i for i in range(n)]
    return start, ups, downs


def host_batches(args: argparse.Namespace, batch: int, channels_first: bool = False) -> list[np.ndarray]:
    """Two host batches of ``n_critic * batch`` random images in [-1, 1] (NHWC, or NCHW for PyTorch)."""
    rng = np.random.default_rng(0)
    shape = (args.n_critic * batch, args.image_size, args.image_size, 3)
    out = [rng.uniform(-1, 1, size=shape).astype(np.float32) for _ in range(2)]
    return [np.ascontiguousarray(x.transpose(0, 3, 1, 2)) for x in out] if channels_first else out


# ------------------------------------------------------------------ the library
def library_arm(args: argparse.Namespace, batch: int, dtype: str) -> Callable[[int], None]:
    """``run(iterations)``: that many generator iterations of ``keras_wgan.WGANGP`` through ``model.fit``."""
    import keras

    import keras_wgan
    from keras_wgan import networks

    keras.config.set_dtype_policy("mixed_bfloat16" if dtype == "bfloat16" else "float32")
    try:
        g = networks.build_generator(args.latent_dim, args.image_size, 3, width=args.width, seed=0)
        c = networks.build_critic(args.image_size, 3, width=args.width, norm="layer", seed=1)
        model = keras_wgan.WGANGP(g, c, n_critic=args.n_critic, gp_weight=GP_WEIGHT, seed=0)
        model.compile(jit_compile=True)  # the paper's Adam for both networks
    finally:
        keras.config.set_dtype_policy("float32")
    batches = host_batches(args, batch)

    def stream():
        k = 0
        while True:
            yield (batches[k % 2],)
            k += 1

    def run(iterations: int) -> None:
        model.fit(stream(), steps_per_epoch=iterations, epochs=1, verbose=0, shuffle=False)

    return run


# ------------------------------------------------------------------ plain JAX
def _adam() -> tuple[Callable, Callable]:
    """``(init, update)`` of Adam(1e-4, 0.0, 0.9): optax's, or the same update written out."""
    try:
        import optax

        opt = optax.adam(LEARNING_RATE, b1=BETA_1, b2=BETA_2, eps=1e-7)

        def update(grads, state, params):
            updates, state = opt.update(grads, state, params)
            return optax.apply_updates(params, updates), state

        return opt.init, update
    except ImportError:

        def init(params):
            zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
            return (jnp.zeros((), jnp.int32), zeros, zeros)

        def update(grads, state, params):
            t, m, v = state
            t = t + 1
            m = jax.tree_util.tree_map(lambda m, g: BETA_1 * m + (1 - BETA_1) * g, m, grads)
            v = jax.tree_util.tree_map(lambda v, g: BETA_2 * v + (1 - BETA_2) * g * g, v, grads)
            scale = LEARNING_RATE * jnp.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
            params = jax.tree_util.tree_map(lambda p, m, v: p - scale * m / (jnp.sqrt(v) + 1e-7), params, m, v)
            return params, (t, m, v)

        return init, update


def jax_networks(args: argparse.Namespace, key: jax.Array) -> tuple[dict, dict, Callable, Callable]:
    """Parameters and forward functions of the DCGAN pair in plain JAX (NHWC, HWIO kernels)."""
    start, ups, downs = layer_plan(args.image_size, args.width)
    keys = iter(jax.random.split(key, 32))

    def normal(shape):
        return 0.02 * jax.random.normal(next(keys), shape, jnp.float32)

    gen = {"project": normal((args.latent_dim, 4 * 4 * start)), "bn": [], "up": []}
    widths = [start, *ups]
    for i, out in enumerate([*ups, 3]):
        gen["bn"].append((jnp.ones(widths[i]), jnp.zeros(widths[i])))
        gen["up"].append(normal((4, 4, widths[i], out)))
    gen["to_image_bias"] = jnp.zeros(3)
    critic = {"down": [], "ln": []}
    previous = 3
    for i, out in enumerate(downs):
        critic["down"].append((normal((4, 4, previous, out)), jnp.zeros(out)))
        if i > 0:
            critic["ln"].append((jnp.ones(out), jnp.zeros(out)))
        previous = out
    critic["score"] = (normal((4 * 4 * downs[-1], 1)), jnp.zeros(1))
    dn = ("NHWC", "HWIO", "NHWC")

    def generator(p, z, compute):
        x = (z.astype(compute) @ p["project"].astype(compute)).reshape(-1, 4, 4, start)
        for i, kernel in enumerate(p["up"]):
            gamma, beta = p["bn"][i]
            xf = x.astype(jnp.float32)
            mean, var = xf.mean((0, 1, 2)), xf.var((0, 1, 2))
            x = (((xf - mean) * jax.lax.rsqrt(var + 1e-5)) * gamma + beta).astype(compute)
            x = jax.nn.relu(x)
            # A stride-2 transposed convolution (the kernel unflipped: the same work as Keras' Conv2DTranspose).
            x = jax.lax.conv_transpose(x, kernel.astype(compute), (2, 2), "SAME", dimension_numbers=dn)
        return jnp.tanh((x + p["to_image_bias"].astype(compute)).astype(jnp.float32))

    def critic_fn(p, x, compute):
        x = x.astype(compute)
        for i, (kernel, bias) in enumerate(p["down"]):
            x = jax.lax.conv_general_dilated(x, kernel.astype(compute), (2, 2), "SAME", dimension_numbers=dn)
            x = x + bias.astype(compute)
            if i > 0:  # layer norm over (H, W, C) of each example, a scale and an offset per channel
                gamma, beta = p["ln"][i - 1]
                xf = x.astype(jnp.float32)
                mean, var = xf.mean((1, 2, 3), keepdims=True), xf.var((1, 2, 3), keepdims=True)
                x = (((xf - mean) * jax.lax.rsqrt(var + 1e-5)) * gamma + beta).astype(compute)
            x = jax.nn.leaky_relu(x, 0.2)
        kernel, bias = p["score"]
        return (x.reshape(x.shape[0], -1) @ kernel.astype(compute) + bias.astype(compute)).astype(jnp.float32)

    return gen, critic, generator, critic_fn


def jax_step_fn(args: argparse.Namespace, batch: int, dtype: str) -> tuple[Callable, tuple]:
    """The jitted plain-JAX generator iteration ``step(state, images) -> state`` and its initial state."""
    compute = jnp.bfloat16 if dtype == "bfloat16" else jnp.float32
    gen, critic, generator, critic_fn = jax_networks(args, jax.random.PRNGKey(0))
    init, update = _adam()
    n, b = args.n_critic, batch

    def critic_loss(c_params, g_params, real, key):
        kz, ka = jax.random.split(key)
        fake = jax.lax.stop_gradient(generator(g_params, jax.random.normal(kz, (b, args.latent_dim)), compute))
        scores = critic_fn(c_params, jnp.concatenate([real, fake]), compute)
        alpha = jax.random.uniform(ka, (b, 1, 1, 1))
        x_hat = alpha * real + (1 - alpha) * fake
        grads = jax.grad(lambda x: critic_fn(c_params, x, compute).sum())(x_hat)  # the nested gradient
        norms = jnp.sqrt(jnp.sum(jnp.square(grads.astype(jnp.float32)), axis=(1, 2, 3)) + 1e-10)
        return scores[b:].mean() - scores[:b].mean() + GP_WEIGHT * jnp.mean((norms - 1.0) ** 2)

    def generator_loss(g_params, c_params, key):
        fake = generator(g_params, jax.random.normal(key, (b, args.latent_dim)), compute)
        return -critic_fn(c_params, fake, compute).mean()

    @jax.jit
    def step(state, images):
        g_params, c_params, g_opt, c_opt, key = state
        for i in range(n):
            key, sub = jax.random.split(key)
            grads = jax.grad(critic_loss)(c_params, g_params, images[i * b : (i + 1) * b], sub)
            c_params, c_opt = update(grads, c_opt, c_params)
        key, sub = jax.random.split(key)
        grads = jax.grad(generator_loss)(g_params, c_params, sub)
        g_params, g_opt = update(grads, g_opt, g_params)
        return g_params, c_params, g_opt, c_opt, key

    return step, (gen, critic, init(gen), init(critic), jax.random.PRNGKey(1))


def jax_arm(args: argparse.Namespace, batch: int, dtype: str) -> Callable[[int], None]:
    """``run(iterations)``: that many plain-JAX generator iterations, a host batch copied in for each."""
    step, state = jax_step_fn(args, batch, dtype)
    batches = host_batches(args, batch)
    holder = [state]

    def run(iterations: int) -> None:
        state = holder[0]
        for k in range(iterations):
            state = step(state, jax.device_put(batches[k % 2]))
        jax.block_until_ready(state)
        holder[0] = state

    return run


def flops_per_iteration(args: argparse.Namespace, batch: int, dtype: str) -> float | None:
    """XLA's count of the floating-point operations of one plain-JAX generator iteration (None: unavailable)."""
    step, state = jax_step_fn(args, batch, dtype)
    images = jax.ShapeDtypeStruct((args.n_critic * batch, args.image_size, args.image_size, 3), jnp.float32)
    analysis = step.lower(state, images).compile().cost_analysis()
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0] if analysis else {}
    flops = (analysis or {}).get("flops")
    return float(flops) if flops else None


# ------------------------------------------------------------------ plain PyTorch
def torch_arm(args: argparse.Namespace, batch: int, dtype: str) -> Callable[[int], None]:
    """``run(iterations)``: that many plain-PyTorch generator iterations (NCHW), a host batch copied in for each."""
    import torch
    from torch import nn

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    start, ups, downs = layer_plan(args.image_size, args.width)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Linear(args.latent_dim, 4 * 4 * start, bias=False)
            widths = [start, *ups]
            self.body = nn.Sequential(
                *[
                    layer
                    for i, out in enumerate([*ups, 3])
                    for layer in (
                        nn.BatchNorm2d(widths[i], eps=1e-5),
                        nn.ReLU(),
                        nn.ConvTranspose2d(widths[i], out, 4, 2, 1, bias=out == 3),
                    )
                ],
                nn.Tanh(),
            )

        def forward(self, z):
            return self.body(self.project(z).view(-1, start, 4, 4))

    layers, previous = [], 3
    for i, out in enumerate(downs):
        layers += [nn.Conv2d(previous, out, 4, 2, 1)]
        layers += [nn.GroupNorm(1, out, eps=1e-5)] if i > 0 else []
        layers += [nn.LeakyReLU(0.2)]
        previous = out
    critic = nn.Sequential(*layers, nn.Flatten(), nn.Linear(4 * 4 * downs[-1], 1)).to(device)
    generator = Generator().to(device)
    for module in [*generator.modules(), *critic.modules()]:
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, 0.02)
    g_opt = torch.optim.Adam(generator.parameters(), LEARNING_RATE, betas=(BETA_1, BETA_2))
    c_opt = torch.optim.Adam(critic.parameters(), LEARNING_RATE, betas=(BETA_1, BETA_2))
    use_compile = args.torch_compile == "on" or (args.torch_compile == "auto" and device.type == "cuda")
    g_forward = torch.compile(generator) if use_compile else generator
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == "bfloat16")
    batches = host_batches(args, batch, channels_first=True)
    b = batch

    def iteration(images):
        for i in range(args.n_critic):
            real = images[i * b : (i + 1) * b]
            with torch.no_grad(), autocast:
                fake = g_forward(torch.randn(b, args.latent_dim, device=device))
            fake = fake.float()
            with autocast:
                scores = critic(torch.cat([real, fake])).float()
            alpha = torch.rand(b, 1, 1, 1, device=device)
            x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            with autocast:
                hat_scores = critic(x_hat).float()
            (grads,) = torch.autograd.grad(hat_scores.sum(), x_hat, create_graph=True)
            norms = torch.sqrt(grads.float().pow(2).sum(dim=(1, 2, 3)) + 1e-10)
            loss = scores[b:].mean() - scores[:b].mean() + GP_WEIGHT * ((norms - 1) ** 2).mean()
            c_opt.zero_grad(set_to_none=True)
            loss.backward()
            c_opt.step()
        with autocast:
            g_loss = -critic(g_forward(torch.randn(b, args.latent_dim, device=device))).float().mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()

    def run(iterations: int) -> None:
        for k in range(iterations):
            iteration(torch.from_numpy(batches[k % 2]).to(device, non_blocking=True))
        if device.type == "cuda":
            torch.cuda.synchronize()

    return run


# ------------------------------------------------------------------ the measurement
def device_peak(dtype: str) -> tuple[str, float | None, str]:
    """``(device name, peak FLOP/s for the dtype, what the peak is)``; on a CPU, a large matmul measured here."""
    device = jax.devices()[0]
    name = getattr(device, "device_kind", str(device))
    for key, peaks in PEAK_TFLOPS.items():
        if key.lower() in name.lower():
            return name, peaks[dtype] * 1e12, f"{key} datasheet, {dtype}"
    if device.platform == "cpu":
        n = 2048
        a = jnp.ones((n, n), jnp.bfloat16 if dtype == "bfloat16" else jnp.float32)
        matmul = jax.jit(lambda x: x @ x)
        jax.block_until_ready(matmul(a))
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            jax.block_until_ready(matmul(a))
            times.append(time.perf_counter() - t0)
        return name, 2 * n**3 / min(times), f"a {n}x{n} {dtype} matmul measured here (JAX)"
    return name, None, "unknown device: add it to PEAK_TFLOPS"


def measure(arms: dict[str, Callable[[int], None]], iterations: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per iteration of each arm, ``rounds`` rounds alternating the arms (after one warm-up call each)."""
    for run in arms.values():
        run(2)  # compile and warm up
    seconds: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(rounds):
        for name, run in arms.items():
            t0 = time.perf_counter()
            run(iterations)
            seconds[name].append((time.perf_counter() - t0) / iterations)
    return seconds


def build_arms(args: argparse.Namespace, batch: int, dtype: str) -> tuple[dict[str, Callable[[int], None]], dict]:
    """The arms asked for; arms that cannot run here are skipped with the reason."""
    makers = {"library": library_arm, "jax": jax_arm, "torch": torch_arm}
    arms, skipped = {}, {}
    for name in args.arms:
        try:
            arms[name] = makers[name](args, batch, dtype)
        except ImportError as err:
            skipped[name] = f"not installed ({err.name})"
    return arms, skipped


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gpu_step.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a CPU smoke run: 32 px, width 8, batch 4, 1 round")
    parser.add_argument("--batch-sizes", type=str, help="comma-separated (default 64,512; quick 4)")
    parser.add_argument("--dtypes", type=str, help="float32 and/or bfloat16 (default both)")
    parser.add_argument("--arms", type=str, default="library,jax,torch", help="library, jax, torch")
    parser.add_argument("--iterations", type=int, help="generator iterations per timed call (default 20; quick 2)")
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 3; quick 1)")
    parser.add_argument("--image-size", type=int, help="64 (quick: 32)")
    parser.add_argument("--width", type=int, help="the pair's width (64; quick: 8)")
    parser.add_argument("--latent-dim", type=int, default=128)
    parser.add_argument("--n-critic", type=int, default=5)
    parser.add_argument("--torch-compile", choices=("auto", "on", "off"), default="auto")
    parser.add_argument("--out", type=Path, help="also write the JSON lines to this file")
    args = parser.parse_args(argv)
    quick = args.quick
    args.batch_sizes = [int(b) for b in (args.batch_sizes or ("4" if quick else "64,512")).split(",")]
    args.dtypes = (args.dtypes or "float32,bfloat16").split(",")
    args.arms = args.arms.split(",")
    args.iterations = args.iterations or (2 if quick else 20)
    args.rounds = args.rounds or (1 if quick else 3)
    args.image_size = args.image_size or (32 if quick else 64)
    args.width = args.width or (8 if quick else 64)
    for name in args.arms:
        if name not in ("library", "jax", "torch"):
            parser.error(f"unknown arm {name!r}; choose library, jax, torch")
    for dtype in args.dtypes:
        if dtype not in ("float32", "bfloat16"):
            parser.error(f"unknown dtype {dtype!r}; choose float32, bfloat16")
    if args.image_size not in (32, 64, 128):
        parser.error("--image-size must be 32, 64 or 128")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lines = []
    for dtype in args.dtypes:
        name, peak, peak_source = device_peak(dtype)
        for batch in args.batch_sizes:
            flops = flops_per_iteration(args, batch, dtype)
            arms, skipped = build_arms(args, batch, dtype)
            seconds = measure(arms, args.iterations, args.rounds)
            base = {"device": name, "dtype": dtype, "batch": batch, "image_size": args.image_size}
            base.update(width=args.width, n_critic=args.n_critic, gflop_per_iteration=flops and flops / 1e9)
            best = {arm: min(times) for arm, times in seconds.items()}
            for arm, times in seconds.items():
                line = {**base, "arm": arm, "seconds_per_iteration": best[arm]}
                line["images_per_s"] = args.n_critic * batch / best[arm]
                line["rounds"] = [round(t, 6) for t in times]
                line["median_seconds_per_iteration"] = statistics.median(times)
                if flops:
                    line["tflops"] = flops / best[arm] / 1e12
                    if peak:
                        line["peak_fraction"] = flops / best[arm] / peak
                        line["peak"] = peak_source
                if arm != "library" and "library" in best:
                    line["library_ratio"] = best[arm] / best["library"]  # > 1: the library is faster
                lines.append(line)
            for arm, why in skipped.items():
                lines.append({**base, "arm": arm, "skipped": why})
    for line in lines:
        print(json.dumps(line))
    print()
    print(f"{'dtype':<9} {'batch':>5} {'arm':<8} {'images/s':>10} {'library / arm':>13} {'TFLOP/s':>8} {'of peak':>8}")
    for line in lines:
        if "skipped" in line:
            print(f"{line['dtype']:<9} {line['batch']:>5} {line['arm']:<8} skipped: {line['skipped']}")
            continue
        ratio = f"{line['library_ratio']:.2f}" if "library_ratio" in line else "-"
        tflops = f"{line['tflops']:.3f}" if "tflops" in line else "-"
        fraction = f"{100 * line['peak_fraction']:.1f}%" if "peak_fraction" in line else "-"
        print(
            f"{line['dtype']:<9} {line['batch']:>5} {line['arm']:<8} {line['images_per_s']:>10.1f} {ratio:>13} "
            f"{tflops:>8} {fraction:>8}"
        )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
