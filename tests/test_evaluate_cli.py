"""evaluate.py on tiny run folders: metrics.json with every requested metric, pictures, errors."""

import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli
from PIL import Image

from keras_wgan.evaluation.standin_graph import write_standin_graph

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, shared_runs):
    """Copies of the shared digits and toy runs (conftest.SHARED_RUNS), with a cache folder of this module's
    own (a test here puts an FID graph into it)."""
    root = tmp_path_factory.mktemp("runs")
    cache = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()  # module scope: undone after this module, not leaked into others
    mp.setenv("KERAS_WGAN_CACHE", str(cache))
    mp.setitem(ENV, "KERAS_WGAN_CACHE", str(cache))
    yield {name: shared_runs[name].copy(root / name) for name in ("digits", "toy")}
    mp.undo()


def evaluate(*args):
    """evaluate.py in this process (helpers.run_cli)."""
    return run_cli("evaluate.py", [*map(str, args), "--quiet"])


def test_digits_run_metrics_and_pictures(runs):
    result = evaluate(runs["digits"], "--num-samples", "200")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((runs["digits"] / "eval" / "metrics.json").read_text())
    assert report["metrics"] == ["digits", "swd", "prdc"] and report["num_samples"] == 200
    assert report["generator_step"] == 4
    res = report["results"]
    for key in (
        "classes_covered",
        "class_kl",
        "classifier_score",
        "classifier_fid",
        "classifier_accuracy",
        "swd_32",
        "swd_16",
        "swd_avg",
        "precision",
        "recall",
        "density",
        "coverage",
    ):
        assert key in res and np.isfinite(res[key]), key
    assert res["classifier_accuracy"] > 0.9 and res["prdc_features"] == "digits_classifier"
    assert Image.open(runs["digits"] / "eval" / "samples.png").size == (274, 274)
    assert Image.open(runs["digits"] / "eval" / "interpolation.png").size == (10 * 34 + 2, 8 * 34 + 2)
    assert Image.open(runs["digits"] / "eval" / "nearest_neighbours.png").size == (6 * 34 + 2, 8 * 34 + 2)


def test_inception_metrics_with_random_weights(runs):
    result = evaluate(
        runs["digits"],
        "--metrics",
        "fid,kid,is",
        "--num-samples",
        "24",
        "--batch-size",
        "12",
        "--inception-weights",
        "random",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    res = json.loads((runs["digits"] / "eval" / "metrics.json").read_text())["results"]
    assert {"fid", "kid", "kid_std", "is", "is_std"} <= set(res)
    assert res["kid_subset_size"] == 24  # 24 samples: subsets of 24 instead of 1,000, said in the report
    assert res["fid"] > 0 and res["is"] >= 1.0
    assert res["inception"] == "keras-inception-v3:random"


def test_toy_run_metrics(runs):
    result = evaluate(runs["toy"], "--num-samples", "500")
    assert result.returncode == 0, result.stderr[-3000:]
    res = json.loads((runs["toy"] / "eval" / "metrics.json").read_text())["results"]
    assert res["modes_total"] == 8 and 0 <= res["modes"] <= 8 and 0 <= res["high_quality"] <= 1
    assert res["w1"] > res["w1_true_vs_true"] > 0  # an untrained generator is far from the data
    assert res["prdc_features"] == "points" and 0 <= res["precision"] <= 1 and 0 <= res["coverage"] <= 1
    assert (runs["toy"] / "eval" / "samples.png").is_file()


def load_evaluate_module():
    spec = importlib.util.spec_from_file_location("evaluate_cli", ROOT / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT))
    return module


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{digits}", "--metrics", "fid,bogus"], "unknown metric(s) bogus"),
        (["{toy}", "--metrics", "swd"], "only the 'toy' and 'prdc' metrics apply"),
        (["{digits}", "--metrics", "toy"], "need 2D data"),
        (["/no/such/run"], "is not a run folder"),
    ],
)
def test_bad_input_exit_2(runs, args, message, capsys):
    cli = load_evaluate_module()
    assert cli.main([a.format(**runs) for a in args] + ["--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_inception_networks_through_the_cli(runs):
    # No network here: neither the FID graph (the default) nor Keras' ImageNet weights can be
    # downloaded; one line each, exit 2, naming what to pass instead.
    result = evaluate(runs["digits"], "--metrics", "fid", "--num-samples", "4")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "FID Inception graph could not be downloaded" in result.stderr and "--inception-graph" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    result = evaluate(runs["digits"], "--metrics", "fid", "--num-samples", "4", "--inception-weights", "imagenet")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "weights are not available" in result.stderr and "--inception-weights" in result.stderr
    assert "Traceback" not in result.stderr


def test_fid_graph_through_the_cli_given_or_cached(runs, tmp_path):
    graph = tmp_path / "inception-2015-12-05.tgz"
    write_standin_graph(graph)
    args = ["--metrics", "fid,kid,is,swd,prdc", "--num-samples", "24", "--batch-size", "12"]
    result = evaluate(runs["digits"], *args, "--inception-graph", str(graph))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((runs["digits"] / "eval" / "metrics.json").read_text())
    res = report["results"]
    assert res["inception"].startswith("fid-inception-graph:sha256=")
    assert res["fid"] > 0 and res["is"] >= 1.0 and res["kid_subset_size"] == 24
    assert {"precision", "recall", "density", "coverage"} <= set(res) and res["prdc_features"] == "digits_classifier"
    # Without the option: the copy in the cache folder (where a download puts it).
    cached = Path(ENV["KERAS_WGAN_CACHE"]) / "inception" / "inception-2015-12-05.tgz"
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(graph.read_bytes())
    try:
        again = evaluate(runs["digits"], *args)
        assert again.returncode == 0, again.stderr[-3000:]
        assert json.loads((runs["digits"] / "eval" / "metrics.json").read_text())["results"]["fid"] == res["fid"]
    finally:
        cached.unlink()


def test_a_generator_with_nan_weights_is_refused_in_one_line(runs, tmp_path, capsys):
    import shutil

    import keras

    run = tmp_path / "toy_nan"
    shutil.copytree(runs["toy"], run)
    shutil.rmtree(run / "eval", ignore_errors=True)  # what an earlier test evaluated
    gan = keras.saving.load_model(run / "gan.keras")
    kernel = gan.generator.trainable_weights[0]
    kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))
    gan.save(run / "gan.keras")
    cli = load_evaluate_module()
    assert cli.main([str(run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds NaN or infinite values (dense_0/kernel)" in err and "diverged" in err
    assert not (run / "eval" / "metrics.json").exists()
