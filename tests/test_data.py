"""The tf.data pipelines: toys against their definitions, digits, image folders (CelebA: test_celeba.py)."""

import logging
import math

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_wgan import data
from keras_wgan.data import registry


def first_batches(ds, n=2):
    return [b.numpy() for b in ds.take(n)]


# ------------------------------------------------------------------ toys
@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_gaussian_mixtures_match_their_definition(name):
    x = next(iter(data.make_dataset(name, batch_size=20000, seed=1))).numpy()
    assert x.shape == (20000, 2) and x.dtype == np.float32
    toy = registry.get(name).toy
    centres = toy.centres
    if name == "8gaussians":  # radius 2 / 1.414
        np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 2 / 1.414, rtol=1e-6)
        std = 0.02 / 1.414
    else:  # 2*(i, j) / 2.828, i, j in -2..2
        assert sorted(set(np.round(centres[:, 0] * 2.828, 4))) == [-4, -2, 0, 2, 4]
        std = 0.05 / 2.828
    assert toy.std == pytest.approx(std)
    nearest = np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    offsets = x - centres[nearest]
    np.testing.assert_allclose(offsets.mean(axis=0), 0, atol=3 * std / math.sqrt(len(x) / 25) + 1e-4)
    np.testing.assert_allclose(offsets.std(axis=0), std, rtol=0.05)
    counts = np.bincount(nearest, minlength=len(centres))
    assert counts.min() > 0.8 * len(x) / len(centres)  # modes equally likely


def test_swissroll_matches_sklearn_statistically():
    from sklearn.datasets import make_swiss_roll

    x = next(iter(data.make_dataset("swissroll", batch_size=20000, seed=2))).numpy()
    ref = make_swiss_roll(n_samples=20000, noise=0.25, random_state=0)[0][:, [0, 2]] / 7.5
    np.testing.assert_allclose(x.mean(axis=0), ref.mean(axis=0), atol=0.05)
    np.testing.assert_allclose(x.std(axis=0), ref.std(axis=0), rtol=0.05)
    np.testing.assert_allclose(
        np.percentile(np.linalg.norm(x, axis=1), [10, 50, 90]),
        np.percentile(np.linalg.norm(ref, axis=1), [10, 50, 90]),
        rtol=0.05,
    )


def test_toy_stream_is_endless_seeded_and_batched_for_n_critic():
    a = first_batches(data.make_dataset("8gaussians", 64, seed=3, n_critic=5), 3)
    b = first_batches(data.make_dataset("8gaussians", 64, seed=3, n_critic=5), 3)
    c = first_batches(data.make_dataset("8gaussians", 64, seed=4, n_critic=5), 3)
    assert a[0].shape == (320, 2)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(a[0], c[0])
    assert not np.allclose(a[0], a[1])
    assert len(list(data.make_dataset("swissroll", 8).take(500))) == 500


# ---------------------------------------------------------------- digits
def test_digits_count_range_and_shape():
    images, labels = data.digits_images()
    assert images.shape == (1797, 32, 32, 1) and labels.shape == (1797,)
    assert images.min() == pytest.approx(-1.0) and images.max() == pytest.approx(1.0, abs=0.02)
    assert set(labels.tolist()) == set(range(10))
    ds = data.make_dataset("digits", batch_size=100, seed=0)
    batches = first_batches(ds, 100)
    assert len(batches) == 17  # 1797 // 100, drop_remainder
    assert batches[0].shape == (100, 32, 32, 1) and batches[0].dtype == np.float32
    assert data.make_dataset("digits", 10, channels=3).element_spec.shape.as_list() == [10, 32, 32, 3]
    assert data.make_dataset("digits", 10, image_size=64).element_spec.shape.as_list() == [10, 64, 64, 1]


def test_digits_seed_determinism():
    a = first_batches(data.make_dataset("digits", 32, seed=5))
    b = first_batches(data.make_dataset("digits", 32, seed=5))
    c = first_batches(data.make_dataset("digits", 32, seed=6))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.allclose(a[0], c[0])


# ---------------------------------------------------------------- folder
def make_folder(root):
    rng = np.random.default_rng(0)
    good = []
    (root / "sub" / "deeper").mkdir(parents=True)
    for i, (size, ext) in enumerate(
        [
            ((218, 178), "jpg"),
            ((50, 80), "png"),
            ((64, 64), "jpeg"),
            ((40, 30), "bmp"),
            ((33, 47), "webp"),
            ((20, 20), "gif"),
        ]
    ):
        arr = rng.integers(0, 255, size=(*size, 3), dtype=np.uint8)
        path = root / ("sub" if i % 2 else "") / f"img{i}.{ext}"
        Image.fromarray(arr).save(path)
        good.append(path)
    Image.fromarray(rng.integers(0, 255, size=(30, 40), dtype=np.uint8), mode="L").save(root / "gray.png")
    Image.fromarray(rng.integers(0, 255, size=(30, 40, 4), dtype=np.uint8), mode="RGBA").save(
        root / "sub" / "deeper" / "rgba.png"
    )
    good += [root / "gray.png", root / "sub" / "deeper" / "rgba.png"]
    (root / "notes.jpg").write_text("this is not an image")
    full = (root / "img0.jpg").read_bytes()
    (root / "sub" / "truncated.jpg").write_bytes(full[: len(full) // 3])
    (root / "readme.txt").write_text("ignored: not an image extension")
    return good


def test_folder_yields_every_good_image_once_and_reports_bad(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KERAS_WGAN_CACHE", str(tmp_path / "cache"))
    good = make_folder(tmp_path / "imgs")
    with caplog.at_level(logging.WARNING, logger="keras_wgan"):
        ds = data.make_dataset(f"folder:{tmp_path / 'imgs'}", batch_size=1, image_size=32, seed=0)
        data.make_dataset(f"folder:{tmp_path / 'imgs'}", batch_size=2, image_size=32, seed=1)  # built again
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "skipped 2 of 10 files" in messages[0]  # reported once per process
    assert "notes.jpg" in messages[0] and "truncated.jpg" in messages[0]

    for _epoch in range(2):
        batches = [b.numpy() for b in ds]
        assert len(batches) == len(good)  # every good image exactly once per epoch
        stacked = np.concatenate(batches)
        assert stacked.shape == (len(good), 32, 32, 3)
        assert stacked.min() >= -1.0 and stacked.max() <= 1.0
        assert len({b.tobytes() for b in batches}) == len(good)

    # The scan is cached: a second construction reads the manifest.
    assert list((tmp_path / "cache" / "folder_scans").glob("*.json"))
    gray = data.make_dataset(f"folder:{tmp_path / 'imgs'}", batch_size=4, image_size=64, channels=1)
    assert gray.element_spec.shape.as_list() == [4, 64, 64, 1]
    assert next(iter(gray)).shape == (4, 64, 64, 1)


def test_folder_center_crop_and_resize_by_hand(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_WGAN_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "one"
    folder.mkdir()
    arr = np.zeros((40, 20, 3), np.uint8)
    arr[10:30, :, 0] = 255  # the central 20x20 square is pure red
    Image.fromarray(arr).save(folder / "a.png")
    x = next(iter(data.make_dataset(f"folder:{folder}", batch_size=1, image_size=32))).numpy()[0]
    np.testing.assert_allclose(x[..., 0], 1.0, atol=1e-5)
    np.testing.assert_allclose(x[..., 1:], -1.0, atol=1e-5)


def test_folder_cache_and_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_WGAN_CACHE", str(tmp_path / "cache"))
    make_folder(tmp_path / "imgs")
    name = f"folder:{tmp_path / 'imgs'}"
    a = first_batches(data.make_dataset(name, batch_size=2, image_size=32, seed=1), 3)
    b = first_batches(data.make_dataset(name, batch_size=2, image_size=32, seed=1), 3)
    c = first_batches(data.make_dataset(name, batch_size=2, image_size=32, seed=2), 3)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    cached = data.make_dataset(name, batch_size=2, image_size=32, seed=1, cache=str(tmp_path / "tfcache"))
    first = np.concatenate([x.numpy() for x in cached])
    second = np.concatenate([x.numpy() for x in cached])
    assert first.shape == second.shape == (8, 32, 32, 3)
    assert {r.tobytes() for r in first} == {r.tobytes() for r in second}


@pytest.mark.parametrize(
    ("name", "message"),
    [("folder:/no/such/dir", "not found"), ("folder:", "needs a path"), ("cifar10", "unknown dataset")],
)
def test_bad_dataset_names(name, message):
    with pytest.raises(data.DatasetError, match=message):
        data.make_dataset(name, batch_size=4)


def test_empty_folder_and_bad_arguments(tmp_path):
    with pytest.raises(data.DatasetError, match="No image files"):
        data.make_dataset(f"folder:{tmp_path}", batch_size=4)
    with pytest.raises(data.DatasetError, match="batch_size"):
        data.make_dataset("digits", batch_size=0)
    with pytest.raises(data.DatasetError, match="fewer than one batch"):
        data.make_dataset("digits", batch_size=2000)


# ---------------------------------------------------------------- celeb_a
# The tfds path itself (the real builder on synthetic files) is tested in test_celeba.py.
def test_celeba_crop_default_is_documented():
    assert registry.CELEBA_CROP == 140 and registry.get("celeb_a").crop == 140
    img = tf.constant(np.arange(218 * 178 * 3, dtype=np.float32).reshape(218, 178, 3) % 255, tf.uint8)
    out = data.preprocess_image(img, 64, 3, 140)
    assert out.shape == (64, 64, 3)


# ------------------------------------------------------- endless streams
def _flat(batches):
    return np.concatenate([b.numpy() for b in batches])


@pytest.mark.parametrize("name", ["digits", "folder", "8gaussians"])
def test_endless_stream_resumes_at_any_sample(name, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_WGAN_CACHE", str(tmp_path / "cache"))
    if name == "folder":
        make_folder(tmp_path / "imgs")
        name = f"folder:{tmp_path / 'imgs'}"
    kwargs = {"batch_size": 3, "image_size": 32, "seed": 4, "repeat": True}
    whole = _flat(data.make_dataset(name, **kwargs).take(12))  # several passes over the 8-image folder
    later = _flat(data.make_dataset(name, start_sample=5 * 3, **kwargs).take(7))
    np.testing.assert_array_equal(whole[15:], later)


def test_endless_image_stream_reshuffles_each_pass(tmp_path):
    images = _flat(data.make_dataset("digits", batch_size=599, repeat=True, seed=1).take(6))  # 2 passes of 1797
    first, second = images[:1797], images[1797:3594]
    assert {r.tobytes() for r in first} == {r.tobytes() for r in second}  # each pass holds every image once
    assert not np.array_equal(first, second)


# ----------------------------------------------------- replica shards
@pytest.mark.parametrize("name", ["digits", "folder", "25gaussians", "folder-cached"])
def test_shards_together_are_the_one_process_batches(name, tmp_path, monkeypatch):
    """Shard r of R holds samples r, r + R, ... of every one-process batch, from any start."""
    monkeypatch.setenv("KERAS_WGAN_CACHE", str(tmp_path / "cache"))
    kwargs = {"batch_size": 3, "image_size": 32, "seed": 2, "repeat": True, "n_critic": 2, "start_sample": 5}
    if name == "folder":
        make_folder(tmp_path / "imgs")
        name = f"folder:{tmp_path / 'imgs'}"
    if name == "folder-cached":
        name, kwargs["cache"] = "folder:" + str(tmp_path / "imgs"), True
        make_folder(tmp_path / "imgs")
    whole = first_batches(data.make_dataset(name, **kwargs), 3)
    shards = [first_batches(data.make_dataset(name, num_shards=3, shard_index=r, **kwargs), 3) for r in range(3)]
    for step, batch in enumerate(whole):
        assert batch.shape[0] == 6
        for r in range(3):
            assert shards[r][step].shape[0] == 2
            np.testing.assert_array_equal(shards[r][step], batch[r::3])


def test_shards_must_split_the_batch_evenly():
    with pytest.raises(data.DatasetError, match="cannot be split into 4 equal shards"):
        data.make_dataset("25gaussians", batch_size=5, n_critic=2, num_shards=4)
    with pytest.raises(data.DatasetError, match="shard_index"):
        data.make_dataset("25gaussians", batch_size=4, num_shards=2, shard_index=2)
