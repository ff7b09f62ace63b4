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

Usage:
    python benchmarks/backends.py              # ~10 minutes on 2 cores
    python benchmarks/backends.py --quick      # a smoke run
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


def measure(backend: str, setting: str, quick: bool) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
    cmd = [sys.executable, __file__, "--worker", setting] + (["--quick"] if quick else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"{backend} {setting} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, 32 px images: a smoke run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per backend (best kept)")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated: toy,dcgan64")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.quick)))
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
