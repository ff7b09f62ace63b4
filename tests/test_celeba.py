"""CelebA as users get it: the five official files, tensorflow-datasets' real builder, errors, the CLI.

Everything runs offline on synthetic download files (keras_wgan.data.synthetic_celeba)
with the official names and formats; only tfds' checksum comparison is switched
off (synthetic files cannot match the official checksums), and not in the tests
that check that comparison's error.
"""

import io
import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from helpers import run_cli
from PIL import Image

from keras_wgan import data
from keras_wgan.data import celeba_prepare as celeba
from keras_wgan.data import synthetic_celeba
from keras_wgan.errors import DatasetError

ROOT = Path(__file__).resolve().parents[1]
N_IMAGES = 300  # 241 train, 29 validation, 30 test


@pytest.fixture(scope="module")
def manual_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("celeba_files")
    synthetic_celeba.write_celeba_files(out, N_IMAGES, workers=1)
    return out


@pytest.fixture(scope="module")
def prepared(manual_files, tmp_path_factory):
    """A tfds data dir with celeb_a prepared by the real builder from the synthetic files."""
    data_dir = tmp_path_factory.mktemp("tfds")
    shutil.copytree(manual_files, data_dir / "downloads" / "manual")
    with synthetic_celeba.accept_synthetic_checksums():
        builder = celeba.prepare(data_dir)
    assert builder.is_prepared()
    return data_dir


# ------------------------------------------------------- synthetic files
def test_synthetic_files_have_the_official_names_and_formats(manual_files):
    assert sorted(p.name for p in manual_files.iterdir()) == sorted(celeba.MANUAL_FILES)
    with zipfile.ZipFile(manual_files / "img_align_celeba.zip") as archive:
        names = [n for n in archive.namelist() if n.endswith(".jpg")]
        assert names[0] == "img_align_celeba/000001.jpg" and names[-1] == f"img_align_celeba/{N_IMAGES:06d}.jpg"
        encoded = archive.read(names[7])
    image = Image.open(io.BytesIO(encoded))
    assert image.format == "JPEG" and image.size == (178, 218) and image.mode == "RGB"
    assert 4_000 < len(encoded) < 12_000  # about the real 7 KB per image

    partition = (manual_files / "list_eval_partition.txt").read_bytes().decode()
    assert partition.startswith("000001.jpg 0\r\n") and partition.count("\r\n") == N_IMAGES
    counts = np.bincount([int(line.split()[1]) for line in partition.splitlines()])
    assert tuple(counts) == synthetic_celeba.split_sizes(N_IMAGES) == (241, 29, 30)

    attr = (manual_files / "list_attr_celeba.txt").read_text().splitlines()
    assert attr[0] == str(N_IMAGES) and attr[1].split() == list(synthetic_celeba.ATTRIBUTES)
    assert len(attr[1].split()) == 40 and set(attr[2].split()[1:]) <= {"-1", "1"} and len(attr) == N_IMAGES + 2
    marks = (manual_files / "list_landmarks_align_celeba.txt").read_text().splitlines()
    assert marks[1].split()[:2] == ["lefteye_x", "lefteye_y"] and len(marks[2].split()) == 11
    ident = (manual_files / "identity_CelebA.txt").read_text().splitlines()
    assert ident[0].split()[0] == "000001.jpg" and int(ident[0].split()[1]) >= 1 and len(ident) == N_IMAGES


def test_full_size_split_is_the_official_one_and_files_are_repeatable(tmp_path, monkeypatch):
    assert synthetic_celeba.split_sizes(202_599) == (162_770, 19_867, 19_962)
    assert sum(synthetic_celeba.split_sizes(1234)) == 1234
    a = synthetic_celeba.write_celeba_files(tmp_path / "a", 12, workers=1)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 86_400)  # written a day later: the same bytes
    b = synthetic_celeba.write_celeba_files(tmp_path / "b", 12, workers=2)
    monkeypatch.undo()
    for name in celeba.MANUAL_FILES:
        assert a[name].read_bytes() == b[name].read_bytes(), name
    with pytest.raises(ValueError, match="num_images"):
        synthetic_celeba.write_celeba_files(tmp_path / "c", 202_600)


# ---------------------------------------- the real tfds builder, offline
def test_real_builder_prepares_from_the_manual_folder(prepared):
    assert celeba.num_examples(prepared, "train") == 241
    assert celeba.num_examples(prepared, "validation") == 29
    assert celeba.num_examples(prepared, "train[:10%]") == 24


def test_celeba_pass_holds_every_train_image_once(prepared):
    ds = data.make_dataset("celeb_a", batch_size=241, data_dir=str(prepared), seed=0)
    images = np.concatenate([b.numpy() for b in ds])
    assert images.shape == (241, 64, 64, 3) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.std() > 0.1
    assert len({x.tobytes() for x in images}) == 241
    unshuffled = np.concatenate(
        [b.numpy() for b in data.make_dataset("celeb_a", batch_size=241, data_dir=str(prepared), shuffle=False)]
    )
    assert {x.tobytes() for x in unshuffled} == {x.tobytes() for x in images}
    assert not np.array_equal(unshuffled, images)


def test_celeba_stream_resumes_at_any_sample_and_reshuffles(prepared):
    kwargs = {"batch_size": 40, "data_dir": str(prepared), "seed": 3, "repeat": True}
    whole = np.concatenate([b.numpy() for b in data.make_dataset("celeb_a", **kwargs).take(14)])  # 2.3 passes
    later = np.concatenate([b.numpy() for b in data.make_dataset("celeb_a", start_sample=290, **kwargs).take(6)])
    np.testing.assert_array_equal(whole[290:530], later)
    first, second = whole[:241], whole[241:482]
    assert {x.tobytes() for x in first} == {x.tobytes() for x in second}
    assert not np.array_equal(first, second)


def test_celeba_attributes_travel_with_their_images(prepared):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from keras_wgan.data.celeba import record_pass

    wanted = ("Male", "Smiling", "Eyeglasses")
    builder = celeba.prepare(prepared, verbose=False)
    truth = {
        ex["image"]: [int(ex["attributes"][a]) for a in wanted]
        for ex in tfds.as_numpy(builder.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()}))
    }
    paths, skips, takes = celeba.split_files(builder, "train")
    files, skip_t, take_t = tf.constant(paths), tf.constant(skips, tf.int64), tf.constant(takes, tf.int64)
    shuffled = list(tfds.as_numpy(record_pass(files, skip_t, take_t, 3, True, tf.constant(1, tf.int64), wanted)))
    assert len(shuffled) == 241 and all(truth[image] == list(vector) for image, vector in shuffled)
    assert 0 < np.mean([v for _, v in shuffled]) < 1  # the synthetic attributes vary
    # The images of a labelled stream are those of the plain stream, in the same order.
    kwargs = {"batch_size": 40, "data_dir": str(prepared), "seed": 3, "repeat": True, "start_sample": 230}
    plain = next(iter(data.make_dataset("celeb_a", **kwargs))).numpy()
    images, attributes = next(iter(data.make_dataset("celeb_a", labels=True, attributes=wanted, **kwargs)))
    np.testing.assert_array_equal(images.numpy(), plain)
    assert attributes.shape == (40, 3) and attributes.dtype == tf.float32


def test_celeba_channels_and_splits(prepared):
    gray = next(iter(data.make_dataset("celeb_a", batch_size=4, data_dir=str(prepared), channels=1)))
    assert gray.shape == (4, 64, 64, 1)
    val = list(data.make_dataset("celeb_a", batch_size=29, split="validation", data_dir=str(prepared)))
    assert len(val) == 1
    with pytest.raises(DatasetError, match="no split 'training'"):
        data.make_dataset("celeb_a", batch_size=4, split="training", data_dir=str(prepared))


def test_resumed_celeba_stream_does_not_decode_what_it_skips(prepared, monkeypatch):
    # The shuffle and the skip must run over encoded JPEG bytes, images decoded
    # after them (tfds decodes inside its reader unless told not to). Count every
    # JPEG decode, wherever it happens, when a stream starts at sample 400 (past
    # a whole pass and more) and delivers one batch of 4.
    decoded = []

    def counting(real):
        def decode(contents, *args, **kwargs):
            contents = tf.py_function(lambda x: decoded.append(1) or x, [contents], tf.string)
            return real(tf.ensure_shape(contents, []), *args, **kwargs)

        return decode

    monkeypatch.setattr(tf.io, "decode_jpeg", counting(tf.io.decode_jpeg))
    monkeypatch.setattr(tf.image, "decode_image", counting(tf.image.decode_image))
    monkeypatch.setattr(tf.io, "decode_image", counting(tf.io.decode_image))
    ds = data.make_dataset("celeb_a", batch_size=4, data_dir=str(prepared), repeat=True, start_sample=400)
    assert next(iter(ds)).shape == (4, 64, 64, 3)
    assert 4 <= len(decoded) < 100  # read-ahead only; decoding before the skip would be > 400


# ------------------------------------------------------ errors name causes
def _manual(tmp_path, manual_files, drop=()):
    manual = tmp_path / "tfds" / "downloads" / "manual"
    manual.mkdir(parents=True)
    for name in celeba.MANUAL_FILES:
        if name not in drop:
            os.symlink(manual_files / name, manual / name)
    return tmp_path / "tfds"


def test_missing_file_is_named(tmp_path, manual_files):
    data_dir = _manual(tmp_path, manual_files, drop=("identity_CelebA.txt",))
    with pytest.raises(DatasetError) as info:
        data.make_dataset("celeb_a", batch_size=4, data_dir=str(data_dir))
    message = str(info.value)
    assert "but not identity_CelebA.txt" in message and str(data_dir / "downloads" / "manual") in message


def test_file_that_differs_from_the_official_one_is_named(tmp_path, manual_files):
    data_dir = _manual(tmp_path, manual_files)  # the real checksum comparison is on
    with pytest.raises(DatasetError) as info:
        data.make_dataset("celeb_a", batch_size=4, data_dir=str(data_dir))
    message = str(info.value)
    assert "differs from the official CelebA file" in message
    assert any(name in message for name in celeba.MANUAL_FILES)
    assert "Google Drive" not in message  # the manual file is the cause, not the download


def test_missing_package_is_named(tmp_path, monkeypatch, manual_files):
    import tensorflow_datasets as tfds

    data_dir = _manual(tmp_path, manual_files)
    builder_class = type(tfds.builder("celeb_a", data_dir=str(data_dir)))

    def fail(self, **kwargs):
        raise ModuleNotFoundError("No module named 'importlib_resources'", name="importlib_resources")

    monkeypatch.setattr(builder_class, "download_and_prepare", fail)
    with pytest.raises(DatasetError, match="needs the Python package 'importlib_resources'"):
        celeba.prepare(data_dir)


def test_the_install_brings_what_the_builder_imports():
    import importlib_resources  # noqa: F401  (tfds imports it when it prepares; declared in setup.cfg)

    assert "importlib_resources" in (ROOT / "setup.cfg").read_text()


def _bypass_then_run(script, args):
    """Runs a CLI script in this process (``helpers.run_cli``) with only tfds' checksum comparison switched off."""
    with synthetic_celeba.accept_synthetic_checksums():
        return run_cli(Path(script).name, args)


def test_cli_builds_celeba_from_the_five_files_and_trains(tmp_path, manual_files):
    data_dir = _manual(tmp_path, manual_files)
    out = tmp_path / "run"
    args = [
        "--variant",
        "wgan_gp",
        "--dataset",
        "celeb_a",
        "--data-dir",
        str(data_dir),
        "--image-size",
        "32",
        "--width",
        "8",
        "--batch-size",
        "2",
        "--n-critic",
        "1",
        "--steps",
        "3",
        "--quiet",
        "--out",
        str(out),
    ]
    result = _bypass_then_run(ROOT / "train.py", args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "preparing celeb_a from the files in" in result.stdout
    assert (data_dir / "celeb_a" / "2.1.0" / "dataset_info.json").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["steps_per_epoch"] == 120  # one pass: 241 train images // 2, from the split itself
    state = json.loads((out / "backup" / "state.json").read_text())
    assert state["step"] == 3 and (out / "generator.keras").is_file()

    # The conditional CelebA recipe of the README, on the same (now prepared) files: attributes in, a
    # grid with one row per attribute combination out, evaluate.py generating for the real attributes.
    conditional = tmp_path / "attributes"
    args = [*args[: args.index("--out")], "--conditional", "--attributes", "Male,Smiling", "--out", str(conditional)]
    args[args.index("--steps") + 1] = "2"
    result = _bypass_then_run(ROOT / "train.py", args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((conditional / "config.json").read_text())["class_names"] == ["Male", "Smiling"]
    rows = (conditional / "samples" / "grid_rows.txt").read_text().splitlines()
    assert rows == ["none", "Male", "Smiling", "Male+Smiling"]
    result = _bypass_then_run(ROOT / "evaluate.py", [str(conditional), "--metrics", "swd", "--num-samples", "20"])
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((conditional / "eval" / "metrics.json").read_text())
    assert report["labels"] == ["Male", "Smiling"] and report["results"]["swd_avg"] > 0


def test_celeba_shards_together_are_the_one_process_batches(prepared):
    kwargs = {"batch_size": 20, "data_dir": str(prepared), "seed": 1, "repeat": True, "start_sample": 230}
    whole = [b.numpy() for b in data.make_dataset("celeb_a", **kwargs).take(2)]  # crosses a pass boundary
    shards = [
        [b.numpy() for b in data.make_dataset("celeb_a", num_shards=2, shard_index=r, **kwargs).take(2)] for r in (0, 1)
    ]
    for step, batch in enumerate(whole):
        for r in (0, 1):
            np.testing.assert_array_equal(shards[r][step], batch[r::2])
