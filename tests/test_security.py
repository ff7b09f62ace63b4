"""Nothing read from a file runs unchecked: the FID graph op by op, no pickle, Keras' safe mode."""

import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import run_cli

from keras_wgan.errors import UnsafeFile
from keras_wgan.evaluation import inception_graph
from keras_wgan.evaluation.features import cached_statistics
from keras_wgan.evaluation.standin_graph import write_standin_graph
from keras_wgan.safe_load import load_keras, load_npy, load_npz


def test_the_stand_in_graph_passes_the_op_check(tmp_path):
    write_standin_graph(tmp_path / "g.pb")
    graph_def = inception_graph.read_graph_def(tmp_path / "g.pb")
    ops = {node.op for node in graph_def.node}
    assert inception_graph.check_graph_ops(graph_def) >= 10 and ops - {"Softmax", "AddV2"} <= inception_graph.GRAPH_OPS


def test_a_graph_that_writes_a_file_is_refused_before_it_runs(tmp_path):
    payload = tmp_path / "written_by_the_graph.txt"
    doctored = tmp_path / "inception-2015-12-05.tgz"
    write_standin_graph(doctored, write_file=payload)
    # The attack is real: importing the doctored graph and asking for pool_3 writes the file.
    demo = tmp_path / "demo.pb"
    write_standin_graph(demo, write_file=tmp_path / "demo.txt")
    graph_def = tf.compat.v1.GraphDef.FromString(demo.read_bytes())
    run = tf.compat.v1.wrap_function(
        lambda x: tf.compat.v1.import_graph_def(graph_def, {"ExpandDims:0": x}, ["pool_3:0"], name="g")[0],
        [tf.TensorSpec([None, None, None, 3], tf.float32)],
    )
    run(tf.zeros([1, 8, 8, 3]))
    assert (tmp_path / "demo.txt").read_text() == "written by the graph"

    with pytest.raises(UnsafeFile, match=r"the op 'WriteFile' \(node 'payload'\)"):
        inception_graph.read_graph_def(doctored)
    with pytest.raises(UnsafeFile, match="WriteFile"):
        inception_graph.InceptionGraph(doctored)
    assert not payload.exists()


def test_evaluate_refuses_a_doctored_graph_in_one_line(tmp_path, shared_runs):
    run = shared_runs["digits"].copy(tmp_path / "run")
    payload = tmp_path / "written_by_the_graph.txt"
    write_standin_graph(tmp_path / "doctored.pb", write_file=payload)
    args = [run, "--metrics", "fid", "--num-samples", "4", "--inception-graph", tmp_path / "doctored.pb", "--quiet"]
    result = run_cli("evaluate.py", args)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "'WriteFile' (node 'payload')" in result.stderr and "Traceback" not in result.stderr
    assert not payload.exists() and not (run / "eval" / "metrics.json").exists()


def test_the_download_is_https_only():
    assert inception_graph.GRAPH_URL.startswith("https://download.tensorflow.org/")
    with pytest.raises(OSError, match="plain http: use an https URL"):
        inception_graph.download_graph(
            inception_graph.Path("/nonexistent/x.tgz"), url="http://download.tensorflow.org/x.tgz"
        )


def test_pickled_numpy_files_are_refused(tmp_path):
    np.savez(tmp_path / "ok.npz", a=np.arange(3))
    np.savez(tmp_path / "bad.npz", a=np.arange(3), b=np.array([{"code": 1}], dtype=object))
    np.save(tmp_path / "bad.npy", np.array([{"code": 1}], dtype=object))
    assert load_npz(tmp_path / "ok.npz")["a"].tolist() == [0, 1, 2]
    with pytest.raises(UnsafeFile, match=r"bad.npz holds pickled Python objects \(array 'b'\)"):
        load_npz(tmp_path / "bad.npz")
    with pytest.raises(UnsafeFile, match="bad.npy holds pickled Python objects"):
        load_npy(tmp_path / "bad.npy")


def test_a_pickled_statistics_cache_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_WGAN_CACHE", str(tmp_path))
    key = {"dataset": "x"}
    cached_statistics(key, lambda: {"pool": np.ones((2, 3))})
    (path,) = (tmp_path / "stats").glob("*.npz")
    np.savez(path, pool=np.array([object()], dtype=object))
    with pytest.raises(UnsafeFile, match="pickled Python objects"):
        cached_statistics(key, lambda: pytest.fail("the cache was there"))


def test_a_run_folder_with_pickled_latents_or_a_lambda_model_is_refused_in_one_line(tmp_path, shared_runs):
    out = shared_runs["digits"].copy(tmp_path / "run")
    args = [*shared_runs["digits"].args_without("--steps"), "--out", out]
    saved = out / "samples" / "fixed_latent.npy"
    shutil.copy(saved, tmp_path / "latent.npy")
    np.save(saved, np.array([{"code": 1}], dtype=object))
    resumed = run_cli("train.py", [*args, "--steps", "5"])
    assert resumed.returncode == 2 and resumed.stderr.count("\n") == 1, resumed.stderr
    assert "fixed_latent.npy holds pickled Python objects" in resumed.stderr
    shutil.copy(tmp_path / "latent.npy", saved)

    # A .keras file that needs a Lambda layer's code: Keras' safe mode refuses it.
    lambda_model = keras.Sequential([keras.Input((8,)), keras.layers.Lambda(lambda z: z * 0.0)])
    lambda_model.save(tmp_path / "lambda.keras")
    with pytest.raises(UnsafeFile, match="Lambda layer"):
        load_keras(tmp_path / "lambda.keras")
    shutil.copy(tmp_path / "lambda.keras", out / "ema_generator.keras")
    evaluated = run_cli("evaluate.py", [out, "--ema", "--quiet"])
    assert evaluated.returncode == 2 and "ema_generator.keras holds a Lambda layer" in evaluated.stderr
    assert evaluated.stderr.count("\n") == 1 and not (out / "eval" / "metrics.json").exists()
    assert json.loads((out / "config.json").read_text())["variant"] == "wgan_gp"
