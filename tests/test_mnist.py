"""MNIST and Stacked MNIST on synthetic files of Keras' layout: the loader's checks, the stacking, the
``modes`` metric by hand, the classifier, train.py and evaluate.py, the study's --quick path."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import run_cli

from keras_wgan import data
from keras_wgan import evaluation as ev
from keras_wgan.data import mnist
from keras_wgan.errors import DatasetError, UnsafeFile

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> Path:
    """A folder holding a synthetic ``mnist.npz``: MNIST's layout and sizes, separable digit-like patterns."""
    folder = tmp_path_factory.mktemp("mnist")
    mnist.write_synthetic_mnist(folder / "mnist.npz")
    return folder


# ------------------------------------------------------------------ the file
def test_the_file_is_read_and_checked(mnist_dir):
    arrays = data.load_mnist(mnist_dir)
    assert arrays["x_train"].shape == (60_000, 28, 28) and arrays["x_test"].dtype == np.uint8
    assert set(np.unique(arrays["y_train"])) == set(range(10))
    assert data.load_mnist(mnist_dir / "mnist.npz")["y_test"].shape == (10_000,)  # the file itself works too


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("y_test"), "is not Keras' mnist.npz: it has no y_test"),
        (lambda a: a.update(x_train=a["x_train"][:600]), r"x_train must be uint8 of shape \(60000, 28, 28\)"),
        (lambda a: a.update(x_test=a["x_test"].astype(np.float32)), "x_test must be uint8"),
        (lambda a: a.update(y_train=a["y_train"][:-1]), "y_train must be 60000 integer labels"),
        (lambda a: a["y_test"].__setitem__(0, 10), r"y_test holds labels outside 0-9 \(0 to 10\)"),
    ],
)
def test_a_wrong_file_is_refused_naming_what_is_wrong(mnist_dir, tmp_path, change, message):
    arrays = dict(np.load(mnist_dir / "mnist.npz"))
    change(arrays)
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(DatasetError, match=message):
        data.load_mnist(tmp_path)


def test_no_file_says_where_to_put_it_and_pickle_is_refused(tmp_path, monkeypatch):
    with pytest.raises(DatasetError, match=r"no mnist.npz at .*: put Keras' mnist.npz"):
        data.load_mnist(tmp_path)

    def offline(*args, **kwargs):
        import urllib.error

        raise urllib.error.URLError("no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)  # what keras.datasets.mnist.load_data calls
    with pytest.raises(DatasetError, match=r"could not be downloaded \(URLError: no network\).*--data-dir FOLDER"):
        data.load_mnist(None)
    np.savez(tmp_path / "mnist.npz", x_train=np.array([{"code": 1}], dtype=object))
    with pytest.raises(UnsafeFile, match="pickled Python objects"):
        data.load_mnist(tmp_path)


def test_the_command_line_refuses_a_wrong_file_in_one_line(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((5, 28, 28), np.uint8))
    result = run_cli("train.py", ["--dataset", "mnist", "--data-dir", tmp_path, "--out", tmp_path / "run"])
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "it has no y_train" in result.stderr
    assert not (tmp_path / "run" / "config.json").exists()  # no run was started


# ------------------------------------------------------------ the pipelines
def test_mnist_images_are_padded_and_scaled(mnist_dir):
    digits = data.load_mnist(mnist_dir)["x_train"]
    batch = next(iter(data.make_dataset("mnist", batch_size=8, seed=3, data_dir=str(mnist_dir), shuffle=False)))
    assert batch.shape == (8, 32, 32, 1)
    expected = np.pad(digits[:8].astype(np.float32) / 127.5 - 1.0, ((0, 0), (2, 2), (2, 2)), constant_values=-1.0)
    np.testing.assert_allclose(batch.numpy()[..., 0], expected, atol=1e-6)


def test_stacked_mnist_stacks_three_independent_draws(mnist_dir):
    arrays = data.load_mnist(mnist_dir)
    triples = mnist.stacked_triples(arrays["y_train"])
    assert triples.shape == (128_000, 3)
    np.testing.assert_array_equal(triples, mnist.stacked_triples(arrays["y_train"]))  # drawn once: the same set
    modes = mnist.stacked_modes(arrays["y_train"][triples])
    counts = np.bincount(modes, minlength=1000)
    # Three independent uniform draws: all 1,000 modes, about 128 examples each.
    assert counts.min() > 70 and counts.max() < 200 and abs(ev.histogram_kl(counts)) < 0.01
    # The channels are the triples' digits, in the stream's order.
    stream = data.make_dataset("stacked_mnist", 4, seed=0, data_dir=str(mnist_dir), shuffle=False)
    first = next(iter(stream)).numpy()
    np.testing.assert_allclose(first, mnist.stacked_images(arrays["x_train"], triples[:4]), atol=1e-6)
    # Resumable: the stream started at sample 12 is the stream from 0 without its first 12 samples.
    whole = data.make_dataset("stacked_mnist", 4, seed=5, data_dir=str(mnist_dir), repeat=True)
    later = data.make_dataset("stacked_mnist", 4, seed=5, data_dir=str(mnist_dir), repeat=True, start_sample=12)
    tail = np.concatenate([b.numpy() for b in later.take(2)])
    np.testing.assert_array_equal(np.concatenate([b.numpy() for b in whole.take(5)])[12:], tail)


# ------------------------------------------------------------------ metrics
def _probs(labels: np.ndarray, confidence: float = 0.95) -> np.ndarray:
    p = np.full((len(labels), 3, 10), (1.0 - confidence) / 9)
    for c in range(3):
        p[np.arange(len(labels)), c, labels[:, c]] = confidence
    return p


def test_the_modes_metric_by_hand():
    every = np.array([[i // 100, i // 10 % 10, i % 10] for i in range(1000)])
    result = ev.stacked_mnist_modes(_probs(every))
    assert result["modes"] == 1000 and result["kl"] == pytest.approx(0.0, abs=1e-12)
    assert result["confident_share"] == 1.0 and result["confident_modes"] == 1000
    one = ev.stacked_mnist_modes(_probs(np.tile([[3, 1, 4]], (50, 1))))
    assert one["modes"] == 1 and one["kl"] == pytest.approx(np.log(1000))
    # Three samples of mode 7 and one of mode 12: KL = 3/4 log(750) + 1/4 log(250).
    mixed = _probs(np.array([[0, 0, 7]] * 3 + [[0, 1, 2]]))
    mixed[3, 2] = 0.1  # the last sample's third digit: a guess (probability 0.1 everywhere)
    result = ev.stacked_mnist_modes(mixed)
    assert result["modes"] == 2 and result["kl"] == pytest.approx(0.75 * np.log(750) + 0.25 * np.log(250))
    assert result["confident_share"] == 0.75 and result["confident_modes"] == 1


def test_the_mnist_classifier_is_trained_once_and_scores_stacked_digits(mnist_dir):
    classifier, accuracy = ev.mnist_classifier(mnist_dir)
    assert accuracy >= ev.classifiers.MNIST_TARGET_ACCURACY  # the synthetic digits are easy
    again, same = ev.mnist_classifier(mnist_dir)  # from the cache
    assert same == accuracy and again is not classifier
    arrays = data.load_mnist(mnist_dir)
    triples = mnist.stacked_triples(arrays["y_test"], size=300, seed=1)
    probs = ev.classifiers.stacked_probabilities(classifier, mnist.stacked_images(arrays["x_test"], triples))
    truth = mnist.stacked_modes(arrays["y_test"][triples])
    assert probs.shape == (300, 3, 10) and (mnist.stacked_modes(probs.argmax(axis=2)) == truth).mean() > 0.95


# ------------------------------------------------------------ the command lines
def test_train_and_evaluate_stacked_mnist_and_mnist(mnist_dir, tmp_path):
    tiny = ["--width", "4", "--batch-size", "8", "--latent-dim", "8", "--steps", "2", "--quiet"]
    run = tmp_path / "stacked"
    args = ["--variant", "wgan_gp", "--dataset", "stacked_mnist", "--data-dir", mnist_dir, *tiny, "--out", run]
    trained = run_cli("train.py", args)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert json.loads((run / "config.json").read_text())["channels"] == 3
    evaluated = run_cli("evaluate.py", [run, "--num-samples", "300", "--quiet"])
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    report = json.loads((run / "eval" / "metrics.json").read_text())
    assert report["metrics"] == ["modes", "swd"] and report["num_samples"] == 300
    res = report["results"]
    assert 1 <= res["modes"] <= 300 and res["kl"] >= 0 and 0 <= res["confident_share"] <= 1
    assert res["classifier_accuracy"] >= 0.99 and res["classifier_below_target"] is False and "swd_avg" in res

    # MNIST with labels: a conditional DCGAN (an auxiliary classifier), its asked-class metrics beside the others.
    run = tmp_path / "mnist"
    args = ["--variant", "dcgan", "--dataset", "mnist", "--data-dir", mnist_dir, *tiny, "--conditional", "ac"]
    assert run_cli("train.py", [*args, "--out", run]).returncode == 0
    evaluated = run_cli("evaluate.py", [run, "--num-samples", "200", "--metrics", "mnist,prdc", "--quiet"])
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    res = json.loads((run / "eval" / "metrics.json").read_text())["results"]
    assert {"classes_covered", "class_kl", "classifier_score", "classifier_fid", "precision"} <= set(res)
    assert res["prdc_features"] == "mnist_classifier"
    assert 0 <= res["asked_class_accuracy"] <= 1 and len(res["per_class_classifier_fid"]) == 10


def test_mnist_labels_are_the_file_s_labels(mnist_dir):
    arrays = data.load_mnist(mnist_dir)
    x, y = next(iter(data.make_dataset("mnist", 50, data_dir=mnist_dir, shuffle=False, labels=True, split="test")))
    np.testing.assert_array_equal(y.numpy(), arrays["y_test"][:50])
    np.testing.assert_array_equal(x.numpy(), mnist.to_images(arrays["x_test"][:50]).numpy())
    with pytest.raises(DatasetError, match="stacked_mnist has no labels"):
        data.make_dataset("stacked_mnist", 8, data_dir=mnist_dir, labels=True)


def test_the_stacked_mnist_table_holds_the_runs_real_data_and_published_rows(mnist_dir):
    # In-process (the slow test below runs the script itself): the table from records, the real-data floor.
    sys.path.insert(0, str(ROOT / "experiments"))
    import stacked_mnist

    real = stacked_mnist.real_data_metrics(str(mnist_dir), 1000, swd_samples=200)
    # 1,000 real samples of 1,000 equally likely modes cover about 1000 * (1 - 1/e) = 632 of them.
    assert 580 < real["modes"] < 690 and real["classifier_accuracy"] >= 0.99
    run = {"modes": 400, "kl": 1.5, "confident_share": 0.8, "confident_modes": 380}
    records = [
        {"meta": {"variant": "wgan_gp", "critic_fraction": f, "seed": s}, "generator_steps": 2,
         "train_seconds": 60.0, "metrics": {**run, "modes": run["modes"] + 10 * s},
         "extra_metrics": {"swd": {"swd_avg": 20.0 + s}}}
        for f in (1, 4) for s in (0, 1)
    ]  # fmt: skip
    text = stacked_mnist.tables(records, ["wgan_gp"], {**real, "samples": 1000})
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True)) for line in lines]
    assert rows[1]["critic width"] == "1" and rows[1]["modes per seed"] == "400, 410"
    assert rows[1]["modes (of 1000)"] == "405 (400-410)" and rows[2]["critic width"] == "1/4"
    assert rows[1]["SWD (x1e3, avg)"] == "20.5 (20-21)"  # the SWD evaluation's, not the modes evaluation's
    assert rows[3]["variant"].startswith("real data") and rows[3]["modes (of 1000)"] == str(real["modes"])
    assert any(r["variant"] == "PacDCGAN2" and r["modes (of 1000)"] == "1000.0" for r in rows)


def test_the_digits_study_on_mnist_trains_on_the_file_and_has_its_real_data_row(mnist_dir):
    sys.path.insert(0, str(ROOT / "experiments"))
    import digits

    jobs = digits.make_jobs(["wgan_gp"], {"wgan_gp": [0, 1]}, 30, 8, str(mnist_dir))
    assert [j.name for j in jobs] == ["mnist_wgan_gp_s0", "mnist_wgan_gp_s1"]
    args = jobs[1].train_args
    assert args[args.index("--dataset") + 1] == "mnist" and args[args.index("--data-dir") + 1] == str(mnist_dir)
    assert args[args.index("--seed") + 1] == "1" and args[args.index("--steps-per-epoch") + 1] == "30"
    real = digits.mnist_real_data_metrics(str(mnist_dir), 2000)
    # The synthetic test digits are the training patterns: every class, an even histogram, a sharp classifier.
    assert real["classes_covered"] == 10 and real["class_kl"] < 0.05 and real["classifier_accuracy"] >= 0.99
    assert real["precision"] > 0.8 and real["recall"] > 0.8
    metrics = {"classes_covered": 10, "class_kl": 0.1, "classifier_score": 8.0, "classifier_fid": 6.0}
    metrics.update(swd_avg=12.0, precision=0.7, recall=0.8, density=0.9, coverage=0.5)
    record = {"meta": {"variant": "wgan_gp", "seed": 0}, "metrics": metrics, "extra_metrics": {"ema": metrics},
              "generator_steps": 30, "train_seconds": 60.0}  # fmt: skip
    text = digits.table([record], ["wgan_gp"], real, "real MNIST (test vs training)")
    last = [c.strip() for c in text.splitlines()[-1].strip("|").split("|")]
    assert last[0] == "real MNIST (test vs training)" and last[2] == "10"


@pytest.mark.slow  # the table and the floor: the in-process test above; training and evaluating: the test above it
def test_the_stacked_mnist_study_quick(mnist_dir, tmp_path):
    out, runs = tmp_path / "results", tmp_path / "runs"
    command = [sys.executable, str(ROOT / "experiments" / "stacked_mnist.py"), "--quick", "--data-dir", mnist_dir]
    command += ["--out", out, "--runs", runs, "--steps", "2", "--variants", "wgan_gp", "--harder-variants", "none"]
    proc = subprocess.run([str(c) for c in command], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    text = (out / "stacked_mnist_quick.md").read_text()
    assert text.startswith("Command: `python experiments/stacked_mnist.py --quick")
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True)) for line in lines[1:]]
    results = json.loads((out / "stacked_mnist_quick.json").read_text())
    metrics = json.loads((runs / "stacked_mnist_quick" / "stacked_wgan_gp_s0" / "eval" / "metrics.json").read_text())
    # The table holds evaluate.py's numbers, the real-data row and PacGAN's published rows.
    assert results["runs"][0]["metrics"] == metrics["results"] and metrics["num_samples"] == 1000
    assert rows[0]["variant"] == "wgan_gp" and rows[0]["modes (of 1000)"] == str(metrics["results"]["modes"])
    swd = results["runs"][0]["extra_metrics"]["swd"]["swd_avg"]  # its own evaluation, on the same 1,000 samples
    assert "swd_avg" not in metrics["results"] and rows[0]["SWD (x1e3, avg)"] == f"{swd:.3g}"
    # 1,000 real samples of 1,000 equally likely modes cover about 1000 * (1 - 1/e) = 632 of them.
    assert rows[1]["variant"].startswith("real data") and 580 < int(rows[1]["modes (of 1000)"]) < 690
    assert any(r["variant"] == "PacDCGAN2" and r["modes (of 1000)"] == "1000.0" for r in rows)
    assert (out / "figures" / "stacked_mnist_quick_wgan_gp_samples.png").stat().st_size > 500
