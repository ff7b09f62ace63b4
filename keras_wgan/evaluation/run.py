"""``evaluate_run(run_dir, ...)``: rebuild a run from its folder, measure it, write ``eval/``.

Writes ``eval/metrics.json`` and pictures: ``samples.png`` (an 8x8 grid, or a
scatter plot for 2D data), ``interpolation.png`` (latent interpolation strips)
and ``nearest_neighbours.png`` (each of a few samples next to its nearest real
images in pixel space, a memorization check).

Each metric is an entry of ``METRICS``: a function of an ``Evaluation`` (the
run, its generated and real samples, the options) that returns its numbers.
Which metrics apply to a dataset, and which are measured by default, is the
dataset registry's (``keras_wgan.data.registry``).
"""

from __future__ import annotations

import functools
import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_wgan.backend import finite_flags_fn
from keras_wgan.callbacks.samples import render_grid
from keras_wgan.config import TrainConfig
from keras_wgan.data import registry
from keras_wgan.errors import ConfigError, NonFiniteModel
from keras_wgan.evaluation import classifiers, features
from keras_wgan.evaluation import metrics as formulas
from keras_wgan.evaluation.inception_graph import InceptionGraph, inception_graph_path
from keras_wgan.io_utils import atomic_write_text
from keras_wgan.labels import label_vectors
from keras_wgan.models import GAN
from keras_wgan.pictures import image_grid, new_figure, save_figure, write_png
from keras_wgan.run_dir import RunDir
from keras_wgan.safe_load import load_keras


def check_finite_generator(generator: keras.Model, source: str | os.PathLike) -> None:
    """Raises ``NonFiniteModel`` (one line, naming the weight) if ``generator`` holds NaN or infinities."""
    flags = finite_flags_fn(generator.weights)()
    if not flags.all():
        name = generator.weights[int(np.flatnonzero(~flags)[0])].path
        raise NonFiniteModel(
            f"the generator from {source} holds NaN or infinite values ({name}): its run diverged; evaluate an "
            "earlier checkpoint or train again"
        )


def default_metrics(config: TrainConfig) -> list[str]:
    """What ``evaluate.py`` measures by default for a run's dataset (the registry's choice)."""
    return list(config.dataset_spec.metrics)


def check_metrics(names: list[str], config: TrainConfig) -> None:
    """Raises ConfigError for unknown metrics or metrics that do not apply to the run's data."""
    unknown = [m for m in names if m not in registry.ALL_METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(registry.ALL_METRICS)}")
    spec = config.dataset_spec
    if spec.is_toy and any(m not in spec.applicable_metrics for m in names):
        allowed = " and ".join(f"'{m}'" for m in spec.applicable_metrics)
        raise ConfigError(f"{config.dataset} is 2D data: only the {allowed} metrics apply")
    if not spec.is_toy and "toy" in names:
        raise ConfigError("the 'toy' metrics need 2D data")
    classifier_shape = config.image_size == 32
    for metric, needs in (
        ("digits", "a run on digits"),
        ("mnist", "a run on mnist"),
        ("modes", "a run on stacked_mnist"),
    ):
        if metric in names and (metric not in spec.applicable_metrics or not classifier_shape):
            raise ConfigError(f"the '{metric}' metrics need {needs} at 32x32 (its classifier's input)")


@dataclass
class Evaluation:
    """What the metrics of one ``evaluate_run`` call share.

    Attributes:
        config: the run's config.
        fake: generated samples.
        real: as many real samples (drawn with ``seed + 1``).
        real_labels: their labels (a conditional run; else None): class indices
            or attribute vectors. The fakes were generated for the same labels.
        seed: the evaluation's seed.
        batch_size: feature-extractor batch size.
        inception: builds the Inception feature extractor (called at most once).
        progress: progress bars for feature extraction.
    """

    config: TrainConfig
    fake: np.ndarray
    real: np.ndarray
    seed: int
    batch_size: int
    inception: Callable[[], features.InceptionFeatures | InceptionGraph]
    progress: bool = True
    real_labels: np.ndarray | None = None

    def batches(self, x: np.ndarray):
        return (x[i : i + self.batch_size] for i in range(0, len(x), self.batch_size))

    @functools.cached_property
    def classifier(self) -> tuple[Any, float]:
        """The MNIST classifier (trained once on the run's MNIST file, cached) and its test accuracy."""
        return classifiers.mnist_classifier(self.config.data_dir)

    @functools.cached_property
    def inception_features(self) -> dict[str, Any]:
        """Real pool features (cached across calls), fake pool features and class probabilities."""
        net = self.inception()
        c = self.config
        key = {
            "dataset": c.dataset,
            "split": "train",
            "image_size": c.image_size,
            "channels": c.channels,
            "crop": c.crop,
            "count": len(self.real),
            "seed": self.seed + 1,
            "extractor": net.identity,
        }

        def compute() -> dict[str, np.ndarray]:
            pool, probs = features.extract(net, self.batches(self.real), len(self.real), self.progress)
            return {"pool": pool, "probs": probs}

        real = features.cached_statistics(key, compute)
        fake_pool, fake_probs = features.extract(net, self.batches(self.fake), len(self.fake), self.progress)
        return {"real_pool": real["pool"], "fake_pool": fake_pool, "fake_probs": fake_probs, "identity": net.identity}


def _toy(ev: Evaluation) -> dict[str, Any]:
    shape = ev.config.dataset_spec.toy
    n_ot = min(len(ev.fake), 2000)
    results: dict[str, Any] = {}
    if shape.centres is not None:
        results.update(formulas.mixture_metrics(ev.fake, shape.centres, shape.std))
        if ev.real_labels is not None:  # the modes the samples were asked for
            nearest = np.argmin(((ev.fake[:, None, :] - shape.centres[None]) ** 2).sum(-1), axis=1)
            results["asked_mode_accuracy"] = float(np.mean(nearest == ev.real_labels))
    other, _ = _real_samples(ev.config, n_ot, ev.seed + 2)
    results["w1"] = formulas.wasserstein1_exact(ev.fake[:n_ot], ev.real[:n_ot])
    results["w1_true_vs_true"] = formulas.wasserstein1_exact(other, ev.real[:n_ot])
    return results


def _conditional(ev: Evaluation, classifier: Any) -> dict[str, Any]:
    """The asked-class accuracy and per-class FIDs of a conditional run (nothing for an unconditional one)."""
    if ev.real_labels is None:
        return {}
    real_features = classifiers.classifier_outputs(classifier, ev.real)[0]
    return classifiers.conditional_class_metrics(
        ev.fake, ev.real_labels, classifier, real_features, ev.real_labels, ev.config.class_names
    )


def _digits(ev: Evaluation) -> dict[str, Any]:
    return {**classifiers.digits_metrics(ev.fake), **_conditional(ev, classifiers.digits_classifier()[0])}


def _mnist(ev: Evaluation) -> dict[str, Any]:
    classifier, accuracy = ev.classifier
    real_features = classifiers.classifier_outputs(classifier, ev.real)[0]
    return {
        **classifiers.class_metrics(ev.fake, classifier, real_features, accuracy),
        "classifier_below_target": accuracy < classifiers.MNIST_TARGET_ACCURACY,
        **_conditional(ev, classifier),
    }


def _modes(ev: Evaluation) -> dict[str, Any]:
    classifier, accuracy = ev.classifier
    results = classifiers.stacked_mnist_modes(classifiers.stacked_probabilities(classifier, ev.fake))
    return {
        **results,
        "classifier_accuracy": accuracy,
        "classifier_below_target": accuracy < classifiers.MNIST_TARGET_ACCURACY,
    }


def _swd(ev: Evaluation) -> dict[str, Any]:
    return formulas.sliced_wasserstein_distance(ev.real, ev.fake, seed=ev.seed)


def _prdc(ev: Evaluation) -> dict[str, Any]:
    kind = ev.config.dataset_spec.features
    if kind == "points":
        real, fake = ev.real, ev.fake
    elif kind in ("digits_classifier", "mnist_classifier"):
        classifier = classifiers.digits_classifier()[0] if kind == "digits_classifier" else ev.classifier[0]
        real = classifiers.classifier_outputs(classifier, ev.real)[0]
        fake = classifiers.classifier_outputs(classifier, ev.fake)[0]
    elif kind == "stacked_mnist_classifier":
        real = classifiers.stacked_features(ev.classifier[0], ev.real)
        fake = classifiers.stacked_features(ev.classifier[0], ev.fake)
    else:
        f = ev.inception_features
        real, fake, kind = f["real_pool"], f["fake_pool"], f["identity"]
    return {
        **formulas.precision_recall(real, fake, k=3),
        **formulas.density_coverage(real, fake, k=5),
        "prdc_features": kind,
    }


def _fid(ev: Evaluation) -> dict[str, Any]:
    f = ev.inception_features
    return {"fid": formulas.fid_from_features(f["real_pool"], f["fake_pool"]), "inception": f["identity"]}


def _kid(ev: Evaluation) -> dict[str, Any]:
    f = ev.inception_features
    real, fake = f["real_pool"], f["fake_pool"]
    results: dict[str, Any] = {
        "kid_subset_size": formulas.kid_subset_size(formulas.KID_SUBSET_SIZE, len(real), len(fake))
    }
    with warnings.catch_warnings():  # the adjustment is reported as kid_subset_size
        warnings.simplefilter("ignore")
        results["kid"], results["kid_std"] = formulas.kernel_inception_distance(real, fake, seed=ev.seed)
    results["inception"] = f["identity"]
    return results


def _inception_score(ev: Evaluation) -> dict[str, Any]:
    f = ev.inception_features
    mean, std = formulas.inception_score(f["fake_probs"])
    return {"is": mean, "is_std": std, "inception": f["identity"]}


#: metric name -> the function that measures it (in the order they run).
METRICS: dict[str, Callable[[Evaluation], dict[str, Any]]] = {
    "toy": _toy,
    "digits": _digits,
    "mnist": _mnist,
    "modes": _modes,
    "swd": _swd,
    "prdc": _prdc,
    "fid": _fid,
    "kid": _kid,
    "is": _inception_score,
}


def toy_verdict(
    config: TrainConfig, generate: Callable[..., np.ndarray], latent_dim: int, seed: int = 0
) -> tuple[dict[str, Any], str]:
    """The ``toy`` metrics of a 2D generator and a one-line verdict, as ``evaluate.py`` computes them.

    The same samples as ``evaluate.py RUN --seed SEED`` (``--ema`` when ``generate``
    is the averaged generator): the dataset's ``eval_samples`` latents from
    ``seed``, real points from ``seed + 1``, the truth-vs-truth floor from ``seed + 2``.

    Args:
        config: a toy run's resolved config.
        generate: latent vectors -> points (a generator, or a ``GeneratorEMA``); for a
            conditional run ``(latent vectors, label vectors) -> points``, given the
            real points' modes.
        latent_dim: the generator's latent size.
        seed: the evaluation seed.

    Returns:
        ``(results, line)``: the numbers and e.g. ``"25/25 modes, 94.2% high quality,
        W1 0.082 = 1.16x the truth-vs-truth floor 0.071"``.
    """
    n = config.dataset_spec.eval_samples
    z = np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)
    real, labels = _real_samples(config, n, seed + 1)
    if labels is None:
        fake = np.asarray(generate(z), dtype=np.float32)
    else:
        vectors = label_vectors(labels, n, len(config.class_names), "classes")
        fake = np.asarray(generate(z, vectors), dtype=np.float32)
    if not np.isfinite(fake).all():
        raise NonFiniteModel("the generator's samples are not finite: its weights diverged; no verdict")
    ev = Evaluation(config, fake, real, seed, 256, inception=lambda: None, real_labels=labels)
    results = _toy(ev)
    parts = []
    if "modes" in results:
        parts.append(
            f"{results['modes']}/{results['modes_total']} modes, {100 * results['high_quality']:.1f}% high quality"
        )
    if "asked_mode_accuracy" in results:
        parts.append(f"{100 * results['asked_mode_accuracy']:.1f}% in the asked mode")
    ratio = results["w1"] / results["w1_true_vs_true"]
    parts.append(f"W1 {results['w1']:.3g} = {ratio:.2f}x the truth-vs-truth floor {results['w1_true_vs_true']:.3g}")
    return results, ", ".join(parts)


def _real_samples(config: TrainConfig, n: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``n`` real samples drawn with ``seed``, and their labels (a conditional run; else None)."""
    batch = 500 if config.is_toy else 100
    ds = config.make_dataset(batch_size=batch, seed=seed, n_critic=1, cache=False, repeat=True)
    batches = [keras.tree.map_structure(lambda t: t.numpy(), b) for b in ds.take(-(-n // batch))]
    if config.conditional is None:
        return np.concatenate(batches)[:n], None
    return np.concatenate([b[0] for b in batches])[:n], np.concatenate([b[1] for b in batches])[:n]


def _interpolation(model: GAN, rows: int, steps: int, seed: int, labels: np.ndarray | None = None) -> np.ndarray:
    """Latent interpolation strips; a conditional model keeps each row's labels (``labels[row]``) fixed."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((rows, model.latent_dim))
    b = rng.standard_normal((rows, model.latent_dim))
    t = np.linspace(0.0, 1.0, steps)
    z = ((1 - t)[None, :, None] * a[:, None] + t[None, :, None] * b[:, None]).reshape(-1, model.latent_dim)
    if labels is None:
        return image_grid(model.generate(z.astype(np.float32)), rows, steps)
    return image_grid(model.generate(z.astype(np.float32), labels=np.repeat(labels[:rows], steps, axis=0)), rows, steps)


def _nearest_neighbours(fake: np.ndarray, real: np.ndarray, n_queries: int, k: int) -> np.ndarray:
    queries = fake[:n_queries]
    q = queries.reshape(len(queries), -1).astype(np.float64)
    r = real.reshape(len(real), -1).astype(np.float64)
    d = (q**2).sum(1)[:, None] + (r**2).sum(1)[None] - 2 * q @ r.T
    idx = np.argsort(d, axis=1)[:, :k]
    tiles = np.concatenate([queries[:, None], real[idx]], axis=1).reshape(-1, *fake.shape[1:])
    return image_grid(tiles, len(queries), k + 1)


def _scatter(fake: np.ndarray, real: np.ndarray, path: Path) -> None:
    fig, ax = new_figure(5, 5)
    ax.scatter(real[:, 0], real[:, 1], s=2, c="orange", label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c="green", label="generated")
    ax.set_aspect("equal")
    ax.legend(loc="upper right")
    fig.tight_layout()
    save_figure(fig, path)


def _pictures(
    model: GAN,
    config: TrainConfig,
    fake: np.ndarray,
    real: np.ndarray,
    out_dir: Path,
    seed: int,
    real_labels: np.ndarray | None = None,
) -> None:
    if config.is_toy:
        _scatter(fake, real, out_dir / "samples.png")
        return
    grid_z = np.random.default_rng(seed + 3).standard_normal((64, model.latent_dim)).astype(np.float32)
    write_png(render_grid(model, grid_z, 8, 8), out_dir / "samples.png")  # one row per label when conditional
    write_png(_interpolation(model, 8, 10, seed, real_labels), out_dir / "interpolation.png")
    write_png(_nearest_neighbours(fake, real, min(8, len(fake)), min(5, len(real))), out_dir / "nearest_neighbours.png")


def _inception(
    graph: str | os.PathLike | None, weights: str | None, saved_model: str | None
) -> features.InceptionFeatures | InceptionGraph:
    """The Inception network the options name: a SavedModel, Keras' InceptionV3, or (default) the FID graph."""
    if saved_model is not None:
        return features.InceptionFeatures(saved_model=saved_model)
    if weights is not None:
        return features.InceptionFeatures(weights=None if weights == "random" else weights)
    return InceptionGraph(inception_graph_path(graph))


def evaluate_run(
    run_dir: str | os.PathLike,
    metrics: list[str] | None = None,
    num_samples: int | None = None,
    batch_size: int = 100,
    inception_weights: str | None = None,
    inception_savedmodel: str | None = None,
    use_ema: bool = False,
    inception_graph: str | os.PathLike | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Measures a run's generator and writes ``eval/metrics.json`` and pictures.

    Args:
        run_dir: a run folder written by ``train.py`` / ``keras_wgan.training.train``.
        metrics: subset of ``fid, kid, is, swd, prdc, toy, digits``; by default
            what applies to the run's data (the dataset registry's ``metrics``).
        num_samples: generated (and real) samples; default 2500 for 2D data,
            1797 for digits, 10000 for other images (the FID protocol's count).
        batch_size: generator and feature-extractor batch size.
        inception_weights: use Keras' InceptionV3 instead of the FID graph:
            ``imagenet`` (Keras' weights, downloaded once by Keras; FIDs not
            comparable with papers), a local weights file, or ``random``
            (plumbing checks only).
        inception_savedmodel: a SavedModel exported from the FID Inception graph.
        use_ema: evaluate ``ema_generator.keras`` instead of the final generator.
        seed: seed of the samples.
        progress: progress bars for feature extraction.
        inception_graph: the FID Inception graph (``classify_image_graph_def.pb``
            or ``inception-2015-12-05.tgz``); by default the cached copy,
            downloaded once. This is the network FID, KID, IS and ``prdc`` on
            photos use unless ``inception_weights`` or ``inception_savedmodel`` is given.

    Returns:
        The dict written to ``metrics.json``.

    Raises:
        ConfigError: bad arguments or run folder; ``MetricUnavailable``:
        a metric's network or weights are missing.
    """
    run = RunDir(run_dir)
    config, model = run.load()
    names = list(metrics) if metrics else default_metrics(config)
    check_metrics(names, config)
    if num_samples is None:
        num_samples = config.dataset_spec.eval_samples
    if num_samples < 2 or batch_size < 1:
        raise ConfigError("--num-samples must be >= 2 and --batch-size >= 1")
    if use_ema:
        if not run.ema_generator_path.is_file():
            raise ConfigError(f"{run.ema_generator_path} does not exist (train with --ema-decay to keep one)")
        generator = load_keras(run.ema_generator_path, compile=False)
        model.generator.set_weights(generator.get_weights())
    check_finite_generator(model.generator, run.ema_generator_path if use_ema else run.path)

    out_dir = run.eval_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    z = np.random.default_rng(seed).standard_normal((num_samples, model.latent_dim)).astype(np.float32)
    real, real_labels = _real_samples(config, num_samples, seed + 1)
    # A conditional generator makes samples for the real samples' labels: the data's label distribution.
    fake = model.generate(z, batch_size=batch_size, **({} if real_labels is None else {"labels": real_labels}))
    _pictures(model, config, fake, real, out_dir, seed, real_labels)
    evaluation = Evaluation(
        config,
        fake,
        real,
        seed,
        batch_size,
        functools.partial(_inception, inception_graph, inception_weights, inception_savedmodel),
        progress,
        real_labels,
    )
    results: dict[str, Any] = {}
    for name, measure in METRICS.items():
        if name in names:
            results.update(measure(evaluation))
    report = {
        "run": str(run_dir),
        "variant": config.variant,
        "dataset": config.dataset,
        "generator_step": int(model.generator_iterations.numpy()),
        "generator": "ema" if use_ema else "final",
        **({} if config.conditional is None else {"conditional": config.conditional, "labels": config.class_names}),
        "num_samples": num_samples,
        "metrics": names,
        "results": results,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    atomic_write_text(out_dir / "metrics.json", json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report
