"""Overhead of the evaluator's Inception feature extraction vs. bare inference on the same network.

Both arms push the same generated-size images (64x64 RGB in [-1, 1]) through the
same Inception-v3 network (random weights: the timing does not depend on them),
for each of the evaluator's two networks:

- ``graph`` (the default for FID, IS and KID: the original FID GraphDef): the
  real graph needs a download, so the benchmark writes a stand-in with the same
  tensor names and the same work, Keras' Inception-v3 frozen into a GraphDef
  behind ``ExpandDims`` (0..255 pixels), the graph's own bilinear resize to 299 and
  scaling, with ``pool_3`` and ``softmax/logits/MatMul`` (2048 x 1008). Evaluator:
  ``keras_wgan.evaluation.extract`` with ``InceptionGraph`` (8-bit quantization,
  pool features and softmax, batching, float64 copies); bare: the imported graph's
  ``pool_3`` on the same pixels, prepared beforehand, batch by batch.
- ``keras`` (``--inception-weights``): ``InceptionFeatures`` (antialiased resize to
  299, pool features and softmax, batching, float64 copies) vs. a bare
  ``model.predict`` on images already resized to 299.

Goal: overhead at most 20%.

Usage:
    python benchmarks/evaluate.py              # 512 images, batch 64, both networks
    python benchmarks/evaluate.py --quick
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_wgan import evaluation as ev  # noqa: E402
from keras_wgan.evaluation.inception_graph import (  # noqa: E402
    INPUT_TENSOR,
    LOGITS_MATMUL,
    POOL_TENSOR,
    InceptionGraph,
    read_graph_def,
)


def write_stand_in_graph(path: Path) -> None:
    """A GraphDef with the FID graph's tensor names and about its cost (Keras' Inception-v3, random weights)."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    model = keras.applications.InceptionV3(weights=None, include_top=False, pooling="avg", input_shape=(299, 299, 3))
    spec = tf.TensorSpec([None, 299, 299, 3], tf.float32)
    frozen = convert_variables_to_constants_v2(
        tf.function(lambda x: model(x, training=False), autograph=False).get_concrete_function(spec)
    )
    graph = tf.Graph()
    with graph.as_default():
        pixels = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name=INPUT_TENSOR.split(":")[0])
        x = tf.compat.v1.image.resize_bilinear(pixels, [299, 299], name="ResizeBilinear")
        x = tf.multiply(tf.subtract(x, 128.0), 1.0 / 128.0, name="Mul")
        (pool,) = tf.compat.v1.import_graph_def(
            frozen.graph.as_graph_def(),
            input_map={frozen.inputs[0].name: x},
            return_elements=[frozen.outputs[0].name],
            name="inception",
        )
        pool = tf.reshape(pool, [-1, 1, 1, 2048], name=POOL_TENSOR.split(":")[0])
        weights = tf.constant(np.random.default_rng(0).normal(0, 0.01, (2048, 1008)).astype(np.float32))
        tf.matmul(tf.reshape(pool, [-1, 2048]), weights, name=LOGITS_MATMUL)
    path.write_bytes(graph.as_graph_def().SerializeToString())


def time_arms(lib, ref, rounds: int) -> tuple[float, float]:
    """Best seconds of ``lib()`` and ``ref()`` over alternating rounds (after one warm-up call each)."""
    lib_times, ref_times = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        lib()
        lib_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref()
        ref_times.append(time.perf_counter() - t0)
    return min(lib_times), min(ref_times)


def graph_arms(images: np.ndarray, b: int):
    """(evaluator's network, bare function) for the FID GraphDef path, on a stand-in graph."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stand_in_graph_def.pb"
        write_stand_in_graph(path)
        net = InceptionGraph(path)
        graph_def = read_graph_def(path)

    def pool(x):
        return tf.compat.v1.import_graph_def(
            graph_def, input_map={INPUT_TENSOR: x}, return_elements=[POOL_TENSOR], name="bare"
        )[0]

    pool_fn = tf.compat.v1.wrap_function(pool, [tf.TensorSpec([None, None, None, 3], tf.float32)])
    pixels = InceptionGraph.pixels(images)  # the bare arm gets its input ready-made

    def bare():
        for i in range(0, len(pixels), b):
            pool_fn(tf.constant(pixels[i : i + b])).numpy()

    return (
        net,
        bare,
        ("evaluator (InceptionGraph: 8-bit pixels + graph + softmax)", "bare graph pool_3 on ready pixels"),
    )


def keras_arms(images: np.ndarray, b: int):
    """(evaluator's network, bare function) for the Keras Inception-v3 path."""
    net = ev.InceptionFeatures(weights=None)
    model = net.network
    resized = ev.resize_for_inception(images).numpy()  # the bare arm gets its input ready-made

    def bare():
        model.predict(resized, batch_size=b, verbose=0)

    return (
        net,
        bare,
        ("evaluator (InceptionFeatures: resize + features + probabilities)", "bare model.predict, 299x299"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--networks", default="graph,keras", help="graph, keras or both (comma-separated)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.images, args.rounds = 128, 1
    images = np.random.default_rng(0).uniform(-1, 1, size=(args.images, 64, 64, 3)).astype(np.float32)
    b = args.batch_size
    batches = [images[i : i + b] for i in range(0, len(images), b)]
    arms = {"graph": graph_arms, "keras": keras_arms}
    print(f"machine: {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, Keras {keras.__version__}")
    for network in args.networks.split(","):
        if network not in arms:
            raise SystemExit(f"error: unknown network {network!r}; choose graph or keras")
        net, bare, what = arms[network](images, b)
        ev.extract(net, [images[:b]], progress=False)  # warm up both
        bare()
        lib_s, ref_s = time_arms(functools.partial(ev.extract, net, batches, len(images), False), bare, args.rounds)
        lib_ips, ref_ips = args.images / lib_s, args.images / ref_s
        print(f"[{network}] {what[0]}: {lib_ips:.1f} images/s")
        print(f"[{network}] {what[1]}: {ref_ips:.1f} images/s")
        print(f"[{network}] evaluator overhead: {100 * (ref_ips / lib_ips - 1):.1f}% (goal <= 20%)", flush=True)


if __name__ == "__main__":
    main()
