"""Metric formulas against NumPy/SciPy references, and the feature plumbing offline."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import linalg

from keras_wgan import data, datasets
from keras_wgan import evaluation as ev
from keras_wgan.evaluation.metrics import _blur


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


def test_swd_zero_for_identical_and_grows_with_shift():
    rng = np.random.default_rng(3)
    images = np.tanh(rng.normal(size=(64, 32, 32, 1))).astype(np.float32)
    images = _blur(images)  # some spatial structure
    same = ev.sliced_wasserstein_distance(images, images.copy())
    assert set(same) == {"swd_32", "swd_16", "swd_avg"}
    assert same["swd_avg"] == pytest.approx(0.0, abs=1e-6)
    # Shift the distribution towards unstructured noise (the per-channel descriptor normalization of
    # the protocol removes plain offsets and scalings, so the shift must change the patch statistics).
    noise = np.tanh(rng.normal(size=images.shape)).astype(np.float32)
    values = [ev.sliced_wasserstein_distance(images, (1 - t) * images + t * noise)["swd_avg"] for t in (0.2, 0.5, 1)]
    assert 0 < values[0] < values[1] < values[2]


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
    toy = datasets.get("25gaussians").toy
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
