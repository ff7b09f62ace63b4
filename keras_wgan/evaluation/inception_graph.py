"""The original FID Inception network: the frozen GraphDef of the 2015-12-05 Inception release.

The FID code of Heusel et al. (TTUR) and the Inception Score code of Salimans et
al. both use ``classify_image_graph_def.pb`` from ``inception-2015-12-05.tgz``.
They feed images at their own resolution, as float pixel values 0..255, into the
tensor ``ExpandDims:0``; the graph itself resizes them to 299x299 (bilinear,
no antialiasing) and normalizes them. FID reads the 2048 pool features
``pool_3:0``; the Inception Score takes the logits as the pool features times
the weights of ``softmax/logits/MatMul`` (1008 classes, no bias) and their
softmax. ``InceptionGraph`` does the same, batched, in TensorFlow 2, on images
quantized to 8 bits as a saved PNG would hold them, so its numbers are
comparable with papers that used that code.

``inception_graph_path()`` finds the file: a path you give (the ``.pb`` or the
``.tgz``), else the copy in the cache folder, else it downloads the ``.tgz``
once into the cache folder, over HTTPS.

A GraphDef is a program: besides the Inception layers it could hold ops that
read or write files (``ReadFile``, ``WriteFile``, ``Save``, ...), tied to
``pool_3`` by a control dependency, and importing the graph and asking for
``pool_3`` would run them. No public source states the file's checksum, so its
content is checked instead, whatever its origin (downloaded, cached or given):
before anything is imported, ``check_graph_ops`` walks every node the requested
outputs depend on (data and control inputs, back to the input ``ExpandDims:0``)
and refuses any op type outside ``GRAPH_OPS``, naming the op and the node.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_wgan.cache import cache_dir
from keras_wgan.errors import MetricUnavailable, UnsafeFile

GRAPH_URL = "https://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
ARCHIVE_NAME = "inception-2015-12-05.tgz"
GRAPH_NAME = "classify_image_graph_def.pb"
INPUT_TENSOR = "ExpandDims:0"
POOL_TENSOR = "pool_3:0"
LOGITS_MATMUL = "softmax/logits/MatMul"

#: The op types of the 2015-12-05 Inception graph's path from its input to ``pool_3`` and the logits'
#: weights: the constants and the JPEG decoding in front of ``ExpandDims``, the resize and the
#: normalization (``Sub``, ``Mul``), the convolutions with the old batch normalization
#: (``BatchNormWithGlobalNormalization``, GraphDef versions before 9) and ReLUs, the pools, the
#: Inception blocks' concatenations, the reshape of ``pool_3`` and the logits (``MatMul``, then the
#: bias and the softmax). ``Identity``, ``Placeholder``, ``ConcatV2``, ``AddV2`` and ``BiasAdd`` are
#: the same arithmetic as written by later exporters. None of them reads or writes anything but tensors.
GRAPH_OPS = frozenset(
    {
        "Const",
        "Placeholder",
        "Identity",
        "DecodeJpeg",
        "Cast",
        "ExpandDims",
        "ResizeBilinear",
        "Sub",
        "Mul",
        "Add",
        "AddV2",
        "BiasAdd",
        "Conv2D",
        "BatchNormWithGlobalNormalization",
        "Relu",
        "MaxPool",
        "AvgPool",
        "Concat",
        "ConcatV2",
        "Reshape",
        "MatMul",
        "Softmax",
    }
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_graph_def(path: str | os.PathLike) -> tf.compat.v1.GraphDef:
    """Reads the frozen GraphDef from the ``.pb`` file or from the release's ``.tgz``.

    Raises:
        MetricUnavailable: the file is missing, unreadable, or holds no GraphDef.
    """
    path = Path(path)
    if not path.is_file():
        raise MetricUnavailable(f"Inception graph not found: {path}")
    try:
        if tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                members = [m for m in archive.getmembers() if Path(m.name).name == GRAPH_NAME]
                if not members:
                    raise MetricUnavailable(f"{path} holds no {GRAPH_NAME}")
                data = archive.extractfile(members[0]).read()
        else:
            data = path.read_bytes()
        graph_def = tf.compat.v1.GraphDef()
        graph_def.ParseFromString(data)
    except MetricUnavailable:
        raise
    except Exception as err:  # a truncated download, an HTML error page, ...
        raise MetricUnavailable(f"{path} is not a readable Inception GraphDef ({type(err).__name__}: {err})") from None
    names = {node.name for node in graph_def.node}
    missing = [t for t in (INPUT_TENSOR, POOL_TENSOR, LOGITS_MATMUL) if t.split(":")[0] not in names]
    if missing:
        raise MetricUnavailable(f"{path} is not the FID Inception graph: it has no {', '.join(missing)}")
    check_graph_ops(graph_def, path)
    return graph_def


def check_graph_ops(graph_def: tf.compat.v1.GraphDef, source: str | os.PathLike = "the graph") -> int:
    """Refuses a graph whose outputs depend on an op the FID Inception graph does not have.

    Walks from ``pool_3`` and ``softmax/logits/MatMul`` through every data and
    control input. ``ExpandDims:0`` is replaced by the images when the graph is
    imported, so the walk stops at a data input from it; a control input from
    ``ExpandDims`` would run it, so the walk goes on through it then.

    Args:
        graph_def: the parsed graph.
        source: where it came from, for the message.

    Returns:
        The number of nodes the outputs depend on.

    Raises:
        UnsafeFile: an op type outside ``GRAPH_OPS``, naming the op and the node; or an input that
            names no node of the graph.
    """
    nodes = {node.name: node for node in graph_def.node}
    input_node = INPUT_TENSOR.split(":")[0]
    seen: set[str] = set()
    stack = [POOL_TENSOR.split(":")[0], LOGITS_MATMUL]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = nodes.get(name)
        if node is None:
            raise UnsafeFile(f"{source}: an input names {name!r}, which is no node of the graph; refusing to run it")
        if node.op not in GRAPH_OPS:
            raise UnsafeFile(
                f"{source} is not the FID Inception graph as published: its outputs depend on the op {node.op!r} "
                f"(node {node.name!r}), which that graph does not have; refusing to run it (a GraphDef is a "
                "program, and a doctored one can read or write files)"
            )
        for edge in node.input:
            control = edge.startswith("^")
            target, _, port = edge.lstrip("^").partition(":")
            if not control and target == input_node and port in ("", "0"):
                continue  # replaced by the images
            stack.append(target)
    return len(seen)


def inception_graph_path(path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The FID Inception graph file: ``path`` if given, else the cached ``.tgz`` (downloaded once).

    Args:
        path: a ``classify_image_graph_def.pb`` or ``inception-2015-12-05.tgz``.
        download: fetch the ``.tgz`` into the cache folder when it is not there.

    Returns:
        The file to read.

    Raises:
        MetricUnavailable: not given, not cached, and it cannot be downloaded.
    """
    if path is not None:
        return Path(path)
    cached = cache_dir("inception", ARCHIVE_NAME)
    if cached.is_file():
        return cached
    help_text = (
        f"download {GRAPH_URL} on a machine with a network and pass it with --inception-graph PATH "
        f"(or put it at {cached}), or use --inception-weights imagenet (Keras' network; its FIDs are not "
        "comparable with papers), or choose metrics that need no download (swd, toy, digits)"
    )
    if not download:
        raise MetricUnavailable(f"the FID Inception graph is not in the cache; {help_text}")
    try:
        download_graph(cached)
    except OSError as err:
        raise MetricUnavailable(f"the FID Inception graph could not be downloaded ({err}); {help_text}") from None
    return cached


def download_graph(target: Path, url: str | None = None, timeout: float = 60.0) -> None:
    """Downloads the release's ``.tgz`` to ``target``, keeping it only if it holds the FID graph.

    Written to a temporary file and renamed when whole and readable, so an
    interrupted or wrong download (a proxy's error page) never takes the
    cached file's place.

    Raises:
        OSError: the download failed or did not give the graph.
    """
    import urllib.request

    import keras

    url = url or GRAPH_URL
    if not url.startswith("https://"):
        raise OSError(f"refusing to download the FID Inception graph over plain {url.split(':')[0]}: use an https URL")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    print(f"[keras_wgan] downloading the FID Inception graph from {url}", flush=True)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, tmp.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            bar = keras.utils.Progbar(total, unit_name="byte")
            done = 0
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                done += len(block)
                bar.update(done)
        try:
            read_graph_def(tmp)
        except (MetricUnavailable, UnsafeFile) as err:
            raise OSError(f"the file at {url} is not the FID graph: {err}") from None
        os.replace(tmp, target)
    except OSError as err:
        raise OSError(str(getattr(err, "reason", None) or err)) from None
    finally:
        tmp.unlink(missing_ok=True)


class InceptionGraph:
    """Pool features and class probabilities from the original FID Inception graph.

    Args:
        path: the ``.pb`` or ``.tgz`` (see ``inception_graph_path``).

    Attributes:
        identity: names the file by its SHA-256, for the statistics cache and ``metrics.json``.

    Example:
    >>> net = InceptionGraph(inception_graph_path())  # doctest: +SKIP
    >>> pool, probs = net(images_in_minus_one_to_one)  # (n, 2048), (n, 1008)  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        graph_def = read_graph_def(path)
        self.path = path
        self.identity = f"fid-inception-graph:sha256={_sha256(path)}"

        def features(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            pool, matmul = tf.compat.v1.import_graph_def(
                graph_def, input_map={INPUT_TENSOR: images}, return_elements=[POOL_TENSOR, LOGITS_MATMUL], name="fid"
            )
            pool = tf.reshape(pool, [tf.shape(pool)[0], -1])
            logits = tf.matmul(pool, matmul.inputs[1])
            return pool, tf.nn.softmax(logits)

        self._fn = tf.compat.v1.wrap_function(features, [tf.TensorSpec([None, None, None, 3], tf.float32)])

    @staticmethod
    def pixels(images: np.ndarray) -> np.ndarray:
        """Images in [-1, 1] as the reference code reads them: 8-bit values 0..255 (as float32), RGB."""
        images = np.asarray(images, dtype=np.float32)
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        return np.round((np.clip(images, -1.0, 1.0) + 1.0) * 127.5).astype(np.float32)

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pool features ``(n, 2048)`` and class probabilities ``(n, 1008)`` of images in [-1, 1]."""
        pool, probs = self._fn(tf.constant(self.pixels(images)))
        return pool.numpy().astype(np.float64), probs.numpy().astype(np.float64)
