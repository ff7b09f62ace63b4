"""Overhead of the evaluator's Inception feature extraction vs. a bare ``model.predict``.

Both arms push the same generated-size images (64x64 RGB in [-1, 1]) through the
same Inception-v3 network (random weights: the timing does not depend on them):
the evaluator's path (``keras_wgan.evaluation.extract`` with ``InceptionFeatures``:
antialiased resize to 299, pool features and softmax, batching, float64 copies)
vs. a bare ``model.predict`` on images already resized to 299. Goal: overhead at
most 20%.

Usage:
    python benchmarks/evaluate.py              # 512 images, batch 64
    python benchmarks/evaluate.py --quick
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_wgan import evaluation as ev  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.images, args.rounds = 128, 1
    images = np.random.default_rng(0).uniform(-1, 1, size=(args.images, 64, 64, 3)).astype(np.float32)
    net = ev.InceptionFeatures(weights=None)
    bare = net._model
    resized = ev.resize_for_inception(images).numpy()  # the bare arm gets its input ready-made

    def batches():
        return (images[i : i + args.batch_size] for i in range(0, len(images), args.batch_size))

    ev.extract(net, [images[: args.batch_size]], progress=False)  # warm up both
    bare.predict(resized[: args.batch_size], batch_size=args.batch_size, verbose=0)
    lib, ref = [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        ev.extract(net, batches(), total=len(images), progress=False)
        lib.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bare.predict(resized, batch_size=args.batch_size, verbose=0)
        ref.append(time.perf_counter() - t0)
    lib_ips, ref_ips = args.images / min(lib), args.images / min(ref)
    print(f"machine: {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, Keras {keras.__version__}")
    print(f"evaluator (resize + features + probabilities): {lib_ips:.1f} images/s")
    print(f"bare model.predict on pre-resized 299x299:     {ref_ips:.1f} images/s")
    print(f"evaluator overhead: {100 * (ref_ips / lib_ips - 1):.1f}% (goal <= 20%)")


if __name__ == "__main__":
    main()
