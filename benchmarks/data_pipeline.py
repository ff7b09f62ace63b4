"""Throughput of the ``folder:`` pipeline next to what WGAN-GP training consumes.

Generates a folder of 178x218 JPEGs (the size of CelebA's aligned faces),
measures how many 64x64 images per second ``make_dataset("folder:...")``
delivers (decode, crop, antialiased resize, batch), then how many real images
per second a 64 px WGAN-GP (DCGAN pair, batch 64, n_critic 5) consumes in
``fit`` on this machine, in the same run. The goal: the pipeline delivers at
least 10x what training consumes, so data never starves training.

Usage:
    python benchmarks/data_pipeline.py            # 1024 JPEGs, 3 training iterations
    python benchmarks/data_pipeline.py --quick    # smaller, for a smoke run
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

import keras_wgan  # noqa: E402
from keras_wgan import data, networks  # noqa: E402


def make_jpegs(folder: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    base = rng.integers(0, 255, size=(218, 178, 3), dtype=np.uint8)
    for i in range(n):
        # Smooth-ish content so JPEG sizes are realistic (noise would be much larger).
        img = np.roll(base, i, axis=1)
        img = (img.astype(np.float32) * 0.3 + np.linspace(0, 170, 178)[None, :, None]).astype(np.uint8)
        Image.fromarray(img).save(folder / f"{i:06d}.jpg", quality=90)


def pipeline_rate(folder: Path, batches: int, batch_size: int) -> float:
    ds = data.make_dataset(f"folder:{folder}", batch_size, image_size=64, repeat=True)
    it = iter(ds)
    for _ in range(3):  # warm up (thread pools, first decode)
        next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        batch = next(it)
    float(batch[0, 0, 0, 0])
    return batches * batch_size / (time.perf_counter() - t0)


def training_rate(iterations: int) -> float:
    model = keras_wgan.WGANGP(networks.build_generator(128, 64, 3), networks.build_critic(64, 3, norm="layer"), seed=0)
    model.compile()
    real = tf.random.uniform((64 * 5, 64, 64, 3), -1, 1)
    ds = tf.data.Dataset.from_tensors(real).repeat()
    model.fit(ds, steps_per_epoch=1, epochs=1, verbose=0)
    t0 = time.perf_counter()
    model.fit(ds, steps_per_epoch=iterations, epochs=1, verbose=0)
    return iterations * 64 * 5 / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--iterations", type=int, default=3, help="timed WGAN-GP generator iterations")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.images, args.batches, args.iterations = 256, 10, 1
    keras.utils.set_random_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["KERAS_WGAN_CACHE"] = str(Path(tmp) / "cache")
        folder = Path(tmp) / "jpegs"
        make_jpegs(folder, args.images)
        t0 = time.perf_counter()
        data.scan_folder(folder)
        scan = time.perf_counter() - t0
        supply = pipeline_rate(folder, args.batches, 64)
    demand = training_rate(args.iterations)
    print(f"machine: {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}")
    print(f"folder scan (first time, decodes every file once): {args.images / scan:.0f} files/s")
    print(f"folder pipeline, 178x218 JPEG -> 64x64: {supply:.0f} images/s")
    print(f"WGAN-GP 64 px training consumes:       {demand:.1f} real images/s (batch 64 x n_critic 5)")
    print(f"ratio supply / demand: {supply / demand:.1f}x (goal >= 10x)")


if __name__ == "__main__":
    main()
