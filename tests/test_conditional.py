"""Conditional generation: labels through the pipelines, the conditioning layers and losses by hand,
the penalty with labels, a model that learns its classes, the command line, bad input.

The critics by hand are linear in ``x``: ``C(x, y) = w.x + <V y, x>`` (projection with the input as
its features), so the input gradient of example ``i`` is ``w + V y_i``; the auxiliary classifier's
logits are ``x A``.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import run_cli

import keras_wgan
from keras_wgan import conditioning, data, labels, losses, networks
from keras_wgan.data import registry
from keras_wgan.errors import DatasetError

TOY = ["--dataset", "8gaussians", "--width", "16", "--batch-size", "32", "--quiet"]


def batches(ds, n):
    return [keras.tree.map_structure(lambda t: t.numpy(), b) for b in ds.take(n)]


# ------------------------------------------------------------------ data
def test_toy_labels_are_the_modes_of_the_same_points():
    plain = batches(data.make_dataset("8gaussians", 64, n_critic=2), 2)
    pairs = batches(data.make_dataset("8gaussians", 64, n_critic=2, labels=True), 2)
    centres = registry.get("8gaussians").toy.centres
    for x, (points, modes) in zip(plain, pairs, strict=True):
        np.testing.assert_array_equal(x, points)  # labels change nothing about the samples
        nearest = np.argmin(((points[:, None] - centres[None]) ** 2).sum(-1), axis=1)
        np.testing.assert_array_equal(modes, nearest)
    assert data.label_names("25gaussians")[-1] == "mode 24"
    with pytest.raises(DatasetError, match="swissroll has no labels"):
        data.make_dataset("swissroll", 8, labels=True)


def test_digit_labels_follow_their_images_through_shuffle_resume_and_shards():
    images, digits = data.digits_images(32, 1)
    index = {img.tobytes(): i for i, img in enumerate(images)}
    stream = batches(data.make_dataset("digits", 16, seed=3, repeat=True, labels=True), 4)
    for x, y in stream:
        np.testing.assert_array_equal(y, digits[[index[img.tobytes()] for img in x]])
    # A resumed stream (start_sample) continues with the same pairs; two shards together are the batch.
    later = batches(data.make_dataset("digits", 16, seed=3, repeat=True, labels=True, start_sample=32), 2)
    for (x, y), (x2, y2) in zip(stream[2:], later, strict=True):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    shards = [
        batches(data.make_dataset("digits", 16, seed=3, repeat=True, labels=True, num_shards=2, shard_index=i), 1)[0]
        for i in (0, 1)
    ]
    np.testing.assert_array_equal(np.sort(np.concatenate([s[1] for s in shards])), np.sort(stream[0][1]))
    np.testing.assert_array_equal(shards[0][1], stream[0][1][0::2])


def _write_class_folder(root, classes):
    from PIL import Image

    for c, (name, value) in enumerate(classes.items()):
        (root / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(root / name / f"{c}_{i}.png")


def test_folder_labels_are_the_class_subfolders(tmp_path):
    root = tmp_path / "pets"
    _write_class_folder(root, {"cat": 0, "dog": 255})
    assert data.label_names(f"folder:{root}") == ["cat", "dog"]
    x, y = batches(data.make_dataset(f"folder:{root}", 12, image_size=32, labels=True), 1)[0]
    np.testing.assert_array_equal(y, (x.mean(axis=(1, 2, 3)) > 0).astype(np.int32))  # dog pictures are white
    (root / "loose.png").write_bytes((root / "cat" / "0_0.png").read_bytes())
    with pytest.raises(DatasetError, match="one subfolder per class"):
        data.make_dataset(f"folder:{root}", 12, image_size=32, labels=True)
    one = tmp_path / "one"
    _write_class_folder(one, {"cat": 0})
    with pytest.raises(DatasetError, match="at least two class subfolders"):
        data.label_names(f"folder:{one}")


def test_attribute_names_are_checked():
    assert registry.check_attributes(["Male", "Eyeglasses"]) == ["Male", "Eyeglasses"]
    with pytest.raises(DatasetError, match="did you mean Smiling"):
        registry.check_attributes(["smiling"])
    with pytest.raises(DatasetError, match="no attribute 'Beard'"):
        registry.check_attributes(["Beard"])
    with pytest.raises(DatasetError, match="named twice"):
        registry.check_attributes(["Male", "Male"])


# ------------------------------------------------------------------ layers and losses by hand
def projection_critic(w, v):
    """``C(x, y) = w.x + <V y, x>``: a projection critic whose features are its input."""
    x, y = keras.Input((2,)), keras.Input((len(v),))
    linear = keras.layers.Dense(1, use_bias=False)
    embed = keras.layers.Dense(2, use_bias=False)
    out = keras.layers.Add()([linear(x), conditioning.ProjectionScore(embed)([x, y])])
    critic = keras.Model([x, y], out)
    linear.kernel.assign(np.asarray(w, "float32").reshape(2, 1))
    embed.kernel.assign(np.asarray(v, "float32"))  # row k: the embedding of class k
    return critic


def ac_critic(w, a):
    """``x -> [w.x, x A]``: a score and the logits of an auxiliary classifier."""
    x = keras.Input((2,))
    score, head = keras.layers.Dense(1, use_bias=False), keras.layers.Dense(len(a[0]), use_bias=False)
    critic = keras.Model(x, [score(x), head(x)])
    score.kernel.assign(np.asarray(w, "float32").reshape(2, 1))
    head.kernel.assign(np.asarray(a, "float32"))
    return critic


def conditional_generator(classes=2):
    return networks.build_mlp_generator(2, width=4, depth=1, num_labels=classes, seed=0)


def test_projection_critic_objective_and_penalty_by_hand():
    w, v = [1.0, 2.0], [[1.0, 0.0], [0.0, -2.0]]
    model = keras_wgan.WGANGP(conditional_generator(), projection_critic(w, v), gp_weight=10.0, seed=0)
    real = np.array([[1.0, 1.0], [2.0, 0.0]], "float32")
    fake = np.array([[0.0, 1.0], [1.0, -1.0]], "float32")
    y = np.array([0, 1])
    # C(x, 0) = 2 x0 + 2 x1, C(x, 1) = x0 + 0 x1: real scores 4, 2; fake scores 2, 1.
    vectors = model.label_vectors(y)
    terms = model.critic_objective((real, vectors), fake, training=False)
    assert float(terms["w_dist"]) == pytest.approx((4 + 2) / 2 - (2 + 1) / 2)
    # The input gradient at any point of example i is w + V y_i: (2, 2) and (1, 0); norms sqrt 8 and 1.
    expected_gp = ((np.sqrt(8.0) - 1) ** 2 + (1.0 - 1) ** 2) / 2
    assert float(terms["gp"]) == pytest.approx(expected_gp, rel=1e-4)
    assert float(terms["d_loss"]) == pytest.approx(-1.5 + 10 * expected_gp, rel=1e-4)
    # The generator's loss: -E[C(fake, y)].
    assert float(model.generator_objective(fake, (real, vectors), training=False)) == pytest.approx(-1.5)


def test_auxiliary_classifier_losses_by_hand():
    w, a = [1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]]  # logits = x
    model = keras_wgan.WGAN(conditional_generator(), ac_critic(w, a), clip_value=10.0, seed=0)
    assert model.critic_classifies and not model.critic_takes_labels
    real = np.array([[2.0, 0.0], [0.0, 1.0]], "float32")
    fake = np.array([[1.0, 1.0], [3.0, 0.0]], "float32")
    vectors = model.label_vectors(np.array([0, 1]))
    ce_real = (np.log(1 + np.exp(-2.0)) + np.log(1 + np.exp(-1.0))) / 2  # -log softmax of the asked class
    terms = model.critic_objective((real, vectors), fake, training=False)
    assert float(terms["ac"]) == pytest.approx(ce_real, rel=1e-5)
    w_loss = (1.0 + 3.0) / 2 - (2.0 + 0.0) / 2  # E[C(fake)] - E[C(real)]
    assert float(terms["d_loss"]) == pytest.approx(w_loss + 1.0 * ce_real, rel=1e-5)
    ce_fake = (np.log(2.0) + np.log(1 + np.exp(3.0))) / 2  # fake 0 asks class 0 (logits 1, 1), fake 1 class 1
    expected_g = -(1.0 + 3.0) / 2 + 0.1 * ce_fake
    assert float(model.generator_objective(fake, (real, vectors), training=False)) == pytest.approx(expected_g)


def test_attribute_loss_and_conditional_affine_by_hand():
    assert float(losses.attribute_classification_loss([[1.0, 0.0]], [[2.0, -1.0]])) == pytest.approx(
        np.log(1 + np.exp(-2.0)) + np.log(1 + np.exp(-1.0))
    )
    layer = conditioning.ConditionalAffine()
    x, y = np.ones((2, 3), "float32"), np.array([[1.0, 0.0], [1.0, 1.0]], "float32")
    layer.build((x.shape, y.shape))
    layer.gamma.assign(np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]], "float32"))
    layer.beta.assign(np.array([[0.0, 0.5, 0.0], [0.0, 0.0, 1.0]], "float32"))
    # Example 0: x (1 + 1) + (0, .5, 0); example 1 (both attributes): x (1 + 3) + (0, .5, 1).
    np.testing.assert_allclose(np.asarray(layer([x, y])), [[2.0, 2.5, 2.0], [4.0, 4.5, 5.0]])


def test_label_vectors_and_grid_rows():
    np.testing.assert_array_equal(labels.label_vectors(None, 4, 3, "classes").argmax(1), [0, 1, 2, 0])
    with pytest.raises(ValueError, match="from 0 to 2; got 3"):
        labels.label_vectors([0, 3], 2, 3, "classes")
    with pytest.raises(ValueError, match="given attributes"):
        labels.label_vectors(None, 2, 3, "attributes")
    with pytest.raises(ValueError, match="0 or 1"):
        labels.label_vectors(np.full((2, 2), 0.5), 2, 2, "attributes")
    rows, names = labels.grid_rows(5, "attributes", list("abcde"))
    assert len(rows) == 7 and names[0] == "none" and names[1] == "a" and names[-1] == "all"


def test_networks_and_models_refuse_what_does_not_fit():
    g = conditional_generator(3)
    with pytest.raises(ValueError, match="ignore the labels"):
        keras_wgan.WGANGP(g, networks.build_mlp_critic(width=4, depth=1))
    with pytest.raises(ValueError, match="takes 2 labels and the generator 3"):
        keras_wgan.WGANGP(g, networks.build_mlp_critic(width=4, depth=1, num_labels=2))
    with pytest.raises(ValueError, match="generator takes z alone"):
        keras_wgan.WGANGP(networks.build_mlp_generator(width=4), networks.build_mlp_critic(width=4, num_labels=2))
    with pytest.raises(ValueError, match="norm='none' has none"):
        networks.build_generator(8, 32, 1, width=4, norm="none", num_labels=2, label_conditioning="cbn")
    model = keras_wgan.WGANGP(g, networks.build_mlp_critic(width=4, depth=1, num_labels=3), seed=0)
    model.compile()
    x = np.zeros((10, 2), "float32")
    with pytest.raises(ValueError, match="fit\\(x, y\\)"):
        model.fit(x, batch_size=10)
    with pytest.raises(ValueError, match="from 0 to 2; got 7"):
        model.fit(x, np.full(10, 7), batch_size=10)
    with pytest.raises(ValueError, match="unconditional"):
        keras_wgan.WGANGP(networks.build_mlp_generator(width=4), networks.build_mlp_critic(width=4)).generate(
            2, labels=1
        )


# ------------------------------------------------------------------ learning
@pytest.mark.parametrize("conditioning_kind", ["projection", "ac"])
def test_a_conditional_wgan_gp_learns_to_put_each_class_on_its_mode(conditioning_kind):
    keras.utils.set_random_seed(0)
    g = networks.build_mlp_generator(2, width=32, depth=2, num_labels=8, seed=0)
    c = networks.build_mlp_critic(width=32, depth=2, num_labels=8, conditioning=conditioning_kind, seed=1)
    model = keras_wgan.WGANGP(g, c, n_critic=5, gp_weight=0.1, seed=0)
    model.compile(keras.optimizers.Adam(1e-3, 0.5, 0.9), keras.optimizers.Adam(1e-3, 0.5, 0.9))
    model.fit(data.make_dataset("8gaussians", 64, n_critic=5, labels=True), epochs=1, steps_per_epoch=300, verbose=0)
    asked = np.repeat(np.arange(8), 50)
    points = model.generate(len(asked), labels=asked, seed=1)
    centres = registry.get("8gaussians").toy.centres
    nearest = np.argmin(((points[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert np.mean(nearest == asked) > 0.8  # chance: 1/8


# ------------------------------------------------------------------ saving
@pytest.mark.parametrize("generator_conditioning", ["concat", "cbn"])
def test_conditional_round_trip_generates_the_same_and_trains_on_alike(tmp_path, generator_conditioning):
    g = networks.build_generator(8, 32, 1, width=4, num_labels=10, label_conditioning=generator_conditioning, seed=0)
    c = networks.build_critic(32, 1, width=4, norm="spectral", num_labels=10, seed=1)
    model = keras_wgan.SNGAN(g, c, n_critic=1, seed=0)
    model.compile()
    ds = data.make_dataset("digits", 16, labels=True)
    model.fit(ds, epochs=1, steps_per_epoch=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.labels == "classes" and loaded.num_labels == 10 and loaded.critic_takes_labels
    z = np.random.default_rng(0).normal(size=(6, 8)).astype("float32")
    np.testing.assert_allclose(loaded.generate(z, labels=3), model.generate(z, labels=3), atol=1e-6)
    assert not np.allclose(model.generate(z, labels=3), model.generate(z, labels=4))
    for m in (model, loaded):  # the same batches for both (each pass over a dataset reshuffles it)
        m.fit(data.make_dataset("digits", 16, labels=True, seed=1), epochs=1, steps_per_epoch=2, verbose=0)
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6, err_msg=a.path)


# ------------------------------------------------------------------ command line
def test_the_command_line_trains_every_callback_resumes_and_evaluates(tmp_path):
    out, straight = tmp_path / "run", tmp_path / "straight"
    common = ["--variant", "wgan_gp", "--dataset", "digits", "--conditional", "--width", "4", "--quiet"]
    common += ["--steps-per-epoch", "2", "--batch-size", "16"]
    args = [*common, "--ema-decay", "0.9", "--grad-norm-every-steps", "2", "--tensorboard-histograms"]
    args += ["--sample-every-steps", "2", "--checkpoint-every-steps", "2", "--out", out]
    assert run_cli("train.py", [*args, "--steps", "2"]).returncode == 0
    result = run_cli("train.py", [*args, "--steps", "4"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming at generator step 2" in result.stdout
    config = json.loads((out / "config.json").read_text())
    assert config["conditional"] == "projection" and config["generator_conditioning"] == "concat"
    assert config["class_names"] == [str(d) for d in range(10)]
    assert (out / "samples" / "grid_rows.txt").read_text().split() == config["class_names"]
    from PIL import Image

    grid = np.asarray(Image.open(out / "samples" / "step_00000004.png"))
    assert grid.shape[0] == 10 * 32 + 11 * 2  # one row per digit (32 px tiles, 2 px padding)
    for name in ("ema_generator.keras", "plots/grad_norms.csv", "samples/progress.gif"):
        assert (out / name).is_file(), name
    assert "ac" not in (out / "history.csv").read_text().splitlines()[0].split(",")
    # Resumed with every callback = one run without them.
    assert run_cli("train.py", [*common, "--steps", "4", "--out", straight]).returncode == 0
    a, b = (keras.saving.load_model(p / "gan.keras") for p in (out, straight))
    for x, y in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=x.path)

    evaluated = run_cli("evaluate.py", [out, "--quiet", "--num-samples", "200", "--ema"])
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    results = json.loads((out / "eval" / "metrics.json").read_text())["results"]
    assert 0.0 <= results["asked_class_accuracy"] <= 1.0
    assert set(results["per_class_classifier_fid"]) <= set(config["class_names"])
    assert results["per_class_classifier_fid_mean"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "swissroll", "--conditional"], "swissroll has no labels for a conditional run"),
        (["--dataset", "digits", "--conditional", "--attributes", "Male"], "--attributes are CelebA's"),
        (["--dataset", "digits", "--attributes", "Male"], "--attributes applies to a conditional run"),
        (["--dataset", "8gaussians", "--conditional", "--generator-conditioning", "cbn"], "toys' MLP generator"),
        (["--dataset", "digits", "--conditional", "film"], "--conditional must be one of projection, ac, concat"),
        (["--dataset", "celeb_a", "--conditional"], "name them"),
        (["--dataset", "celeb_a", "--conditional", "--attributes", "Beard"], "CelebA has no attribute 'Beard'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = run_cli("train.py", [*args, "--steps", "1", "--out", tmp_path / "run"])
    lines = [line for line in result.stderr.splitlines() if line.startswith("train.py: error:")]
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_folder_whose_classes_changed_is_not_resumed(tmp_path):
    root = tmp_path / "pets"
    _write_class_folder(root, {"cat": 0, "dog": 255})
    args = ["--dataset", f"folder:{root}", "--conditional", "--image-size", "32", "--width", "4", "--quiet"]
    args += ["--batch-size", "2", "--steps-per-epoch", "1", "--out", tmp_path / "run"]
    assert run_cli("train.py", [*args, "--steps", "1"]).returncode == 0
    _write_class_folder(root, {"eel": 128})
    result = run_cli("train.py", [*args, "--steps", "2"])
    assert result.returncode == 2 and "are cat, dog, eel; the run was started with cat, dog" in result.stderr


def test_the_gradient_penalty_holds_labels_fixed_under_jit():
    # The same hand-computed penalty inside a compiled train step's objective (tf.function).
    w, v = [1.0, 2.0], [[1.0, 0.0], [0.0, -2.0]]
    model = keras_wgan.WGANGP(conditional_generator(), projection_critic(w, v), gp_weight=1.0, seed=0)
    real = np.array([[1.0, 1.0], [2.0, 0.0]], "float32")
    fake = np.array([[0.0, 1.0], [1.0, -1.0]], "float32")

    @tf.function
    def penalty(real, y):
        return model.critic_objective((real, model.label_vectors(y)), fake, training=True)["gp"]

    # Class 0 everywhere: gradients (2, 2), norm sqrt 8; class 1: gradients (1, 0), norm 1.
    assert float(penalty(real, tf.constant([0, 0]))) == pytest.approx((np.sqrt(8.0) - 1) ** 2, rel=1e-4)
    assert float(penalty(real, tf.constant([1, 1]))) == pytest.approx(0.0, abs=1e-4)
