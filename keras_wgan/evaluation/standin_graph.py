"""A small stand-in for the FID Inception graph, for offline tests and the fault battery.

The real graph (``inception-2015-12-05.tgz``) cannot be downloaded everywhere;
this one has its tensor names, its input convention and its structure (resize,
normalization, a convolution, ``pool_3``, ``softmax/logits/MatMul``), so that the
evaluation's plumbing, caching and security checks run on it. Its numbers mean
nothing. ``write_file`` makes a doctored copy, as an attacker would, to check
that ``keras_wgan.evaluation.inception_graph`` refuses it.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import tensorflow as tf


def write_standin_graph(
    path: str | Path, width: int = 6, classes: int = 5, side: int = 8, seed: int = 0, write_file: Path | None = None
) -> None:
    """Writes a small GraphDef with the FID graph's tensor names and structure (offline tests, the fault battery).

    ``ExpandDims`` (0..255 pixels) -> ``ResizeBilinear`` to ``side`` -> ``Sub`` 128 ->
    ``Mul`` 1/128 -> a 3x3 convolution with ``width`` channels and a ReLU ->
    ``pool_3`` (average over the whole map) -> ``pool_3/_reshape`` to ``[1, width]``
    (fixed batch 1, as in the original) -> ``softmax/logits/MatMul`` -> ``softmax``.
    A path ending in ``.tgz`` gets the release's archive layout. With ``write_file`` the
    graph is doctored as an attacker would: a ``WriteFile`` node that writes that file,
    tied to ``pool_3`` by a control dependency.
    """
    rng = np.random.default_rng(seed)
    graph = tf.Graph()
    with graph.as_default():
        pixels = tf.compat.v1.placeholder(tf.float32, [None, None, 3], name="Cast")
        x = tf.expand_dims(pixels, 0, name="ExpandDims")
        x = tf.compat.v1.image.resize_bilinear(x, [side, side], name="ResizeBilinear")
        x = tf.multiply(tf.subtract(x, 128.0, name="Sub"), 1.0 / 128.0, name="Mul")
        kernel = tf.constant(rng.normal(size=(3, 3, 3, width)).astype(np.float32))
        x = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME"))
        if write_file is not None:
            with tf.control_dependencies([tf.io.write_file(str(write_file), "written by the graph", name="payload")]):
                x = tf.identity(x)
        pool = tf.nn.avg_pool2d(x, side, 1, "VALID", name="pool_3")
        flat = tf.reshape(pool, [1, width], name="pool_3/_reshape")
        weights = tf.constant(rng.normal(size=(width, classes)).astype(np.float32), name="softmax/weights")
        logits = tf.matmul(flat, weights, name="softmax/logits/MatMul")
        tf.nn.softmax(logits + tf.constant(np.ones(classes, np.float32)), name="softmax")
    data = graph.as_graph_def().SerializeToString()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith((".tgz", ".tar.gz")):
        with tarfile.open(path, "w:gz") as archive:
            info = tarfile.TarInfo("classify_image_graph_def.pb")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    else:
        path.write_bytes(data)
