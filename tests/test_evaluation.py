"""Metric formulas against NumPy/SciPy references, and the feature plumbing offline."""

import subprocess

import numpy as np
import pytest
import tensorflow as tf
from scipy import linalg

from keras_wgan import data
from keras_wgan import evaluation as ev
from keras_wgan.data import registry
from keras_wgan.evaluation.metrics import _blur
from keras_wgan.evaluation.standin_graph import write_standin_graph


def reference_fid(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.real(linalg.sqrtm(s1 @ s2))
    return np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * root)


def test_fid_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 16))
    assert ev.fid_from_features(x, x) == pytest.approx(0.0, abs=1e-6)


def test_frechet_formula_matches_scipy_reference_and_closed_form():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(400, 8))
    b = rng.normal(loc=0.5, scale=2.0, size=(400, 8)) @ rng.normal(size=(8, 8))
    assert ev.fid_from_features(a, b) == pytest.approx(reference_fid(a, b), rel=1e-6)
    # Closed form for isotropic Gaussians: |m1-m2|^2 + d (s1 - s2)^2 with covariances s^2 I.
    d = 5
    fid = ev.frechet_distance(np.zeros(d), np.eye(d) * 1.0, np.ones(d), np.eye(d) * 4.0)
    assert fid == pytest.approx(d * 1.0 + d * (1.0 - 2.0) ** 2)


def reference_mmd(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    sxx = sum(kxx[i, j] for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(kyy[i, j] for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    return sxx + syy - 2 * kxy.mean()


def test_kid_matches_direct_implementation_and_is_unbiased():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 4)), rng.normal(loc=0.3, size=(25, 4))
    assert ev.polynomial_mmd2_unbiased(x, y) == pytest.approx(reference_mmd(x, y), rel=1e-9)
    # Two samples of one distribution: the unbiased estimate averages to ~0 (a biased one would be > 0).
    a, b = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    mean, std = ev.kernel_inception_distance(a, b, n_subsets=200, subset_size=50, seed=0)
    assert abs(mean) < 3 * std / np.sqrt(200)
    shifted_mean, _ = ev.kernel_inception_distance(a, b + 1.0, n_subsets=20, subset_size=50)
    assert shifted_mean > 0.5


def test_kid_with_fewer_samples_than_a_subset_says_so():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40, 4)), rng.normal(loc=0.5, size=(30, 4))
    assert ev.kid_subset_size(1000, 40, 30) == 30
    with pytest.warns(UserWarning, match="subsets of 30 samples instead of 1000"):
        mean, std = ev.kernel_inception_distance(x, y, n_subsets=5, subset_size=1000)
    # With every fake sample in each subset, the estimate is the MMD of 30 real draws against all fakes.
    rng2 = np.random.default_rng(0)
    expected = [
        reference_mmd(x[rng2.choice(40, 30, replace=False)], y[rng2.choice(30, 30, replace=False)]) for _ in range(5)
    ]
    assert mean == pytest.approx(np.mean(expected), rel=1e-9)
    assert std == pytest.approx(np.std(expected), rel=1e-9)
    with pytest.raises(ValueError, match="at least 2 samples in each set; got 40 real and 1 generated"):
        ev.kernel_inception_distance(x, y[:1])


def test_inception_score_limits():
    uniform = np.full((1000, 10), 0.1)
    assert ev.inception_score(uniform)[0] == pytest.approx(1.0)
    onehot = np.eye(10)[np.arange(1000) % 10]
    assert ev.inception_score(onehot)[0] == pytest.approx(10.0, rel=1e-6)
    assert ev.inception_score(onehot)[1] == pytest.approx(0.0, abs=1e-6)


def test_swd_grows_with_shift():
    rng = np.random.default_rng(3)
    images = np.tanh(rng.normal(size=(64, 32, 32, 1))).astype(np.float32)
    images = _blur(images)  # some spatial structure
    same = ev.sliced_wasserstein_distance(images, images.copy())
    assert set(same) == {"swd_32", "swd_16", "swd_avg"}
    # Shift the distribution towards unstructured noise (the per-channel descriptor normalization of
    # the protocol removes plain offsets and scalings, so the shift must change the patch statistics).
    # With independent patch positions identical sets are not at 0 but at the protocol's noise floor.
    noise = np.tanh(rng.normal(size=images.shape)).astype(np.float32)
    values = [ev.sliced_wasserstein_distance(images, (1 - t) * images + t * noise)["swd_avg"] for t in (0.5, 1)]
    assert 0 < same["swd_avg"] < values[0] < values[1]


def test_laplacian_pyramid_reconstructs_the_image():
    x = np.random.default_rng(4).normal(size=(2, 32, 32, 3)).astype(np.float32)
    levels = ev.laplacian_pyramid(x, min_size=8)
    assert [lv.shape[1] for lv in levels] == [32, 16, 8]
    current = levels[-1]
    for lv in reversed(levels[:-1]):
        up = np.zeros_like(lv)
        up[:, ::2, ::2] = current
        current = lv + _blur(up) * 4.0
    np.testing.assert_allclose(current, x, atol=1e-4)


def test_mixture_metrics_on_true_and_collapsed_samples():
    true = next(iter(data.make_dataset("25gaussians", 2500, seed=0))).numpy()
    toy = registry.get("25gaussians").toy
    centres, std = toy.centres, toy.std
    m = ev.mixture_metrics(true, centres, std)
    assert m["modes"] == 25 and m["high_quality"] == pytest.approx(0.989, abs=0.01)  # chi2(2) mass within 3 sigma
    collapsed = centres[7] + std * np.random.default_rng(0).normal(size=(2500, 2))
    assert ev.mixture_metrics(collapsed, centres, std)["modes"] == 1


def test_exact_w1_against_hand_values_and_floor():
    a = np.array([[0.0, 0.0], [1.0, 0.0]])
    b = np.array([[1.0, 1.0], [0.0, 1.0]])
    assert ev.wasserstein1_exact(a, b) == pytest.approx(1.0)
    x = next(iter(data.make_dataset("8gaussians", 500, seed=1))).numpy()
    y = next(iter(data.make_dataset("8gaussians", 500, seed=2))).numpy()
    assert ev.wasserstein1_exact(x, y) < ev.wasserstein1_exact(x, y + 0.5)


def test_inception_plumbing_with_random_weights_and_stats_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_WGAN_CACHE", str(tmp_path))
    net = ev.InceptionFeatures(weights=None, image_size=75)  # small input keeps the test fast
    images = np.random.default_rng(0).uniform(-1, 1, size=(6, 32, 32, 1)).astype(np.float32)
    pool, probs = ev.extract(net, [images[:4], images[4:]], total=6, progress=False)
    assert pool.shape == (6, 2048) and probs.shape == (6, 1000)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)

    calls = []

    def compute():
        calls.append(1)
        return {"mu": pool.mean(0), "sigma": np.cov(pool, rowvar=False)}

    key = {"dataset": "digits", "split": "train", "size": 32, "count": 6, "extractor": net.identity}
    first = ev.cached_statistics(key, compute)
    second = ev.cached_statistics(key, compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(first["mu"], second["mu"])
    ev.cached_statistics({**key, "count": 7}, compute)
    assert len(calls) == 2


def test_resize_for_inception_is_antialiased():
    checker = np.indices((64, 64)).sum(0) % 2 * 2.0 - 1.0  # +-1 pixel checkerboard
    small = ev.resize_for_inception(checker[None, :, :, None].astype(np.float32), size=16).numpy()
    assert small.shape == (1, 16, 16, 3)
    assert np.abs(small).max() < 0.1  # antialiasing averages the checkerboard out


def test_missing_inception_weights_is_a_clear_error(tmp_path):
    with pytest.raises(ev.MetricUnavailable, match="not found"):
        ev.InceptionFeatures(weights=str(tmp_path / "missing.h5"))


def test_saved_model_inception_path(tmp_path):
    class Fake(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 299, 299, 3], tf.float32)])
        def __call__(self, x):
            pooled = tf.reduce_mean(x, axis=[1, 2])
            return {"pool_3": tf.tile(pooled, [1, 4]), "logits": pooled}

    module = Fake()
    tf.saved_model.save(module, str(tmp_path / "fid"), signatures={"serving_default": module.__call__})
    net = ev.InceptionFeatures(saved_model=str(tmp_path / "fid"))
    pool, probs = net(np.zeros((2, 32, 32, 3), np.float32))
    assert pool.shape == (2, 12) and probs.shape == (2, 3)
    np.testing.assert_allclose(pool, 127.5, rtol=2e-3)  # [-1, 1] zeros mapped to the uint8 range (float32 mean)


def test_digits_metrics_on_real_digits(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_WGAN_CACHE", str(tmp_path))
    classifier, accuracy = ev.digits_classifier(epochs=8)
    assert accuracy > 0.9
    images, labels = data.digits_images()
    real = ev.digits_metrics(images[:1000], classifier, real=images)
    assert real["classes_covered"] == 10 and real["class_kl"] < 0.02 and real["classifier_score"] > 6
    assert real["classifier_fid"] < 5
    ones = images[labels == 1][:100]
    collapsed = ev.digits_metrics(ones, classifier, real=images)
    assert collapsed["classes_covered"] <= 2 and collapsed["class_kl"] > 1.5
    assert collapsed["classifier_fid"] > real["classifier_fid"]


# ------------------------------------------------- precision/recall, density/coverage
def _line(*xs):
    return np.array([[x, 0.0] for x in xs])


def test_precision_recall_density_coverage_by_hand():
    # k = 1. Real radii: 0->1 (1), 1->0 (1), 3->1 (2), 7->3 (4); generated: 0.5->4.9, 4.9->0.5 (4.4), 12->4.9 (7.1).
    real, fake = _line(0, 1, 3, 7), _line(0.5, 4.9, 12)
    np.testing.assert_allclose(ev.nearest_neighbour_radii(real, 1), [1, 1, 2, 4])
    # Precision: 0.5 (ball of 0) and 4.9 (ball of 7) are inside the real manifold, 12 is not (7 + 4 < 12).
    # Recall: every real point is within 4.4 of 0.5 or 4.9.
    assert ev.precision_recall(real, fake, k=1) == {"precision": pytest.approx(2 / 3), "recall": 1.0}
    # Density: 0.5 lies in the balls of 0 and 1, 4.9 in those of 3 and 7, 12 in none: (2 + 2 + 0) / (1 * 3).
    dc = ev.density_coverage(real, fake, k=1)
    assert dc["density"] == pytest.approx(4 / 3) and dc["coverage"] == 1.0
    # Coverage: with 0.5 and 12 only the balls of 0 and 1 hold a generated point: 2 of 4.
    assert ev.density_coverage(real, _line(0.5, 12), k=1) == {"density": 1.0, "coverage": 0.5}
    # k = 2: the second nearest other point: 0->3 (at 3), 1->3 (at 2), 3->0 (at 3), 7->1 (at 6).
    np.testing.assert_allclose(ev.nearest_neighbour_radii(real, 2), [3, 2, 3, 6])


def test_manifold_metrics_separate_missing_modes_from_blur():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    real = centres[rng.integers(0, 2, 600)] + rng.normal(size=(600, 2)) * 0.5
    same = centres[rng.integers(0, 2, 600)] + rng.normal(size=(600, 2)) * 0.5
    one_mode = centres[0] + rng.normal(size=(600, 2)) * 0.5  # sharp, half the modes missing
    blurry = centres[rng.integers(0, 2, 600)] + rng.normal(size=(600, 2)) * 3.0  # covering, off the data
    pr_same, dc_same = ev.precision_recall(real, same), ev.density_coverage(real, same)
    assert pr_same["precision"] > 0.9 and pr_same["recall"] > 0.9 and 0.8 < dc_same["density"] < 1.2
    pr_one, dc_one = ev.precision_recall(real, one_mode), ev.density_coverage(real, one_mode)
    assert pr_one["precision"] > 0.9 and pr_one["recall"] < 0.6 and dc_one["coverage"] < 0.6
    pr_blur, dc_blur = ev.precision_recall(real, blurry), ev.density_coverage(real, blurry)
    assert pr_blur["precision"] < 0.5 and pr_blur["recall"] > 0.9 and dc_blur["density"] < 0.5


def test_manifold_metrics_chunking_matches_brute_force():
    from scipy.spatial.distance import cdist

    from keras_wgan.evaluation import metrics

    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(2100, 5)), rng.normal(size=(1500, 5)) + 0.3  # more rows than one chunk
    d_rr = cdist(real, real)
    np.fill_diagonal(d_rr, np.inf)
    radii = np.sort(d_rr, axis=1)[:, 4]
    np.testing.assert_allclose(metrics.nearest_neighbour_radii(real, 5), radii, rtol=1e-9)
    inside = cdist(fake, real) <= radii[None, :]
    dc = ev.density_coverage(real, fake, k=5)
    assert dc["density"] == pytest.approx(inside.sum() / (5 * len(fake)))
    assert dc["coverage"] == pytest.approx(inside.any(axis=0).mean())


def _reference_swd(real, fake, seed, per_image=16, size=7, repeats=2, per_repeat=8, min_size=16):
    """The progressive-GAN SWD written plainly in NumPy/SciPy (whole arrays, float64)."""
    from scipy import ndimage

    from keras_wgan.evaluation.metrics import swd_directions, swd_patch_positions

    g = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1])[None, :, :, None] / 256.0

    def pyramid(x):
        levels, cur = [], x.astype(np.float64)
        while cur.shape[1] > min_size:
            down = ndimage.convolve(cur, g, mode="mirror")[:, ::2, ::2]
            up = np.zeros_like(cur)
            up[:, ::2, ::2] = down
            levels.append(cur - ndimage.convolve(up, g * 4.0, mode="mirror"))
            cur = down
        return [*levels, cur]

    out = {}
    pyramids = [pyramid(real), pyramid(fake)]
    for i in range(len(pyramids[0])):
        descriptors = []
        for s in range(2):
            level = pyramids[s][i]
            n, side, _, c = level.shape
            corners = swd_patch_positions(n, side, size, per_image, np.random.default_rng([0 + seed, s, i]))
            d = np.stack([level[j, y : y + size, x : x + size].ravel() for j in range(n) for y, x in corners[j]])
            d = d.reshape(len(d), -1, c)
            d = (d - d.mean(axis=(0, 1))) / (d.std(axis=(0, 1)) + 1e-8)
            descriptors.append(d.reshape(len(d), -1))
        dim = descriptors[0].shape[1]
        dirs = np.concatenate(
            [swd_directions(dim, per_repeat, np.random.default_rng([seed, 2, i, r])) for r in range(repeats)], axis=1
        ).astype(np.float64)
        pa, pb = (np.sort(d @ dirs, axis=0) for d in descriptors)
        out[f"swd_{pyramids[0][i].shape[1]}"] = 1e3 * np.abs(pa - pb).mean()
    out["swd_avg"] = np.mean(list(out.values()))
    return out


def test_swd_matches_a_numpy_reference_in_small_memory_chunks():
    rng = np.random.default_rng(0)
    real = np.tanh(rng.normal(size=(10, 32, 32, 3))).astype(np.float32)
    fake = np.tanh(rng.normal(size=(10, 32, 32, 3)) * 1.5).astype(np.float32)
    args = {"patches_per_image": 16, "repeats": 2, "directions_per_repeat": 8, "seed": 3}
    expected = _reference_swd(real, fake, seed=3, per_image=16, repeats=2, per_repeat=8)
    whole = ev.sliced_wasserstein_distance(real, fake, **args)
    # Directions in groups of 3 and pyramids 4 images at a time: the same numbers.
    chunked = ev.sliced_wasserstein_distance(real, fake, memory_budget=3 * 2 * 2 * 160 * 4, images_per_chunk=4, **args)
    assert whole.keys() == expected.keys() == {"swd_32", "swd_16", "swd_avg"}
    for key, value in expected.items():
        assert whole[key] == pytest.approx(value, rel=1e-4) and chunked[key] == pytest.approx(value, rel=1e-4)


def test_swd_draws_patch_positions_independently_for_each_set():
    from keras_wgan.evaluation.metrics import swd_patch_positions

    a = swd_patch_positions(4, 64, 7, 128, np.random.default_rng([0, 0, 0]))
    b = swd_patch_positions(4, 64, 7, 128, np.random.default_rng([0, 1, 0]))
    assert a.shape == (4, 128, 2) and a.min() >= 0 and a.max() <= 64 - 7 and not np.array_equal(a, b)
    # So identical sets give a non-zero distance (the protocol's noise floor), below a real difference.
    rng = np.random.default_rng(1)
    x = np.tanh(rng.normal(size=(64, 32, 32, 3))).astype(np.float32)
    same = ev.sliced_wasserstein_distance(x, x.copy(), patches_per_image=32)["swd_avg"]
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(x, sigma=(0, 1.5, 1.5, 0))  # other spatial statistics
    other = ev.sliced_wasserstein_distance(x, smooth, patches_per_image=32)["swd_avg"]
    assert 0 < same < 0.6 * other


# ------------------------------------------------------ the FID Inception graph
def _reference_graph_outputs(pb_path, images):
    """The reference code's way: the graph imported as is, one image at a time into ExpandDims:0,
    pool_3:0 read, logits as the pool features times softmax/logits/MatMul's weights."""
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(ev.inception_graph.read_graph_def(pb_path), name="")
        pool = graph.get_tensor_by_name("pool_3:0")
        weights = graph.get_operation_by_name("softmax/logits/MatMul").inputs[1]
        with tf.compat.v1.Session(graph=graph) as session:
            pools = []
            for image in images:
                value, w = session.run([pool, weights], {"ExpandDims:0": image[None]})
                pools.append(value.reshape(-1))
    pools = np.array(pools, np.float64)
    logits = pools @ w
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return pools, probs / probs.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("name", ["classify_image_graph_def.pb", "inception-2015-12-05.tgz"])
def test_inception_graph_is_fed_like_the_reference_code(tmp_path, name):
    write_standin_graph(tmp_path / name)
    write_standin_graph(tmp_path / "plain.pb")  # the same graph (same seed), for the reference
    rng = np.random.default_rng(0)
    images = np.tanh(rng.normal(size=(7, 20, 20, 3))).astype(np.float32)  # any size: the graph resizes
    net = ev.InceptionGraph(tmp_path / name)
    pool, probs = net(images)
    pixels = ev.InceptionGraph.pixels(images)
    assert pixels.min() >= 0 and pixels.max() <= 255 and np.array_equal(pixels, np.round(pixels))  # 8-bit values
    ref_pool, ref_probs = _reference_graph_outputs(tmp_path / "plain.pb", pixels)
    np.testing.assert_allclose(pool, ref_pool, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs, ref_probs, rtol=1e-5, atol=1e-7)
    assert net.identity.startswith("fid-inception-graph:sha256=") and len(net.identity.split("=")[1]) == 64
    # One channel is repeated to three, as for RGB.
    gray_pool, _ = net(images[..., :1])
    np.testing.assert_allclose(gray_pool, net(np.repeat(images[..., :1], 3, axis=-1))[0])
    # FID on these features equals the formula evaluated with SciPy.
    other, _ = net(np.tanh(rng.normal(size=(7, 20, 20, 3)) * 2).astype(np.float32))
    mu1, mu2 = pool.mean(0), other.mean(0)
    s1, s2 = np.cov(pool, rowvar=False), np.cov(other, rowvar=False)
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert ev.fid_from_features(pool, other) == pytest.approx(expected, rel=1e-6)


def test_inception_graph_refuses_what_is_not_the_graph(tmp_path):
    with pytest.raises(ev.MetricUnavailable, match="not found"):
        ev.InceptionGraph(tmp_path / "missing.pb")
    (tmp_path / "page.pb").write_bytes(b"<html>quota exceeded</html>")
    with pytest.raises(ev.MetricUnavailable, match="not a readable Inception GraphDef|is not the FID Inception"):
        ev.InceptionGraph(tmp_path / "page.pb")
    graph = tf.Graph()
    with graph.as_default():
        tf.constant(1.0, name="ExpandDims")
    (tmp_path / "other.pb").write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(ev.MetricUnavailable, match="has no pool_3:0, softmax/logits/MatMul"):
        ev.InceptionGraph(tmp_path / "other.pb")


def _self_signed_certificate(folder):
    """A certificate and key for https://127.0.0.1 (the download is HTTPS only)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert]
    command += ["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run([str(c) for c in command], check=True, capture_output=True, timeout=60)
    return cert, key


def test_inception_graph_is_downloaded_once_and_a_wrong_file_is_not_kept(tmp_path, monkeypatch):
    import functools
    import http.server
    import ssl
    import threading

    from keras_wgan.evaluation import inception_graph as ig

    cert, key = _self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this server's certificate
    served = tmp_path / "served"
    write_standin_graph(served / "inception-2015-12-05.tgz")
    (served / "error.html").write_text("<html>not here</html>")
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("KERAS_WGAN_CACHE", str(tmp_path / "cache"))
        base = f"https://127.0.0.1:{server.server_address[1]}"
        cached = tmp_path / "cache" / "inception" / "inception-2015-12-05.tgz"
        monkeypatch.setattr(ig, "GRAPH_URL", f"{base}/error.html")
        with pytest.raises(ev.MetricUnavailable, match="could not be downloaded .*not the FID graph"):
            ig.inception_graph_path()
        assert not cached.exists() and list(cached.parent.iterdir()) == []  # no partial file left
        monkeypatch.setattr(ig, "GRAPH_URL", f"{base}/inception-2015-12-05.tgz")
        assert ig.inception_graph_path() == cached and cached.is_file()
        assert ig.inception_graph_path() == cached  # the second time from the cache
        assert requests.count("/inception-2015-12-05.tgz") == 1
        ev.InceptionGraph(cached)  # what was kept is the graph
    finally:
        server.shutdown()
    monkeypatch.setattr(ig, "GRAPH_URL", "https://127.0.0.1:9/nothing.tgz")  # a closed port
    monkeypatch.setenv("KERAS_WGAN_CACHE", str(tmp_path / "empty"))
    with pytest.raises(ev.MetricUnavailable, match="--inception-graph PATH"):
        ig.inception_graph_path()
