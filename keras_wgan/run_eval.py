"""``evaluate_run(run_dir, ...)``: rebuild a run from its folder, measure it, write ``eval/``.

Writes ``eval/metrics.json`` and pictures: ``samples.png`` (an 8x8 grid, or a
scatter plot for 2D data), ``interpolation.png`` (latent interpolation strips)
and ``nearest_neighbours.png`` (each of a few samples next to its nearest real
images in pixel space, a memorization check).
"""

from __future__ import annotations

import io
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from keras_wgan import callbacks as cbs
from keras_wgan import data as data_lib
from keras_wgan import evaluation as ev
from keras_wgan.config import ConfigError, TrainConfig
from keras_wgan.io_utils import atomic_write_bytes, atomic_write_text

ALL_METRICS = ("fid", "kid", "is", "swd", "toy", "digits")
INCEPTION_METRICS = ("fid", "kid", "is")


def default_metrics(config: TrainConfig) -> list[str]:
    """``toy`` for 2D data, ``digits, swd`` for digits, ``fid, kid, is, swd`` for other images."""
    if config.is_toy:
        return ["toy"]
    if config.dataset == "digits":
        return ["digits", "swd"]
    return ["fid", "kid", "is", "swd"]


def check_metrics(metrics: list[str], config: TrainConfig) -> None:
    """Raises ConfigError for unknown metrics or metrics that do not apply to the run's data."""
    unknown = [m for m in metrics if m not in ALL_METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(ALL_METRICS)}")
    if config.is_toy and any(m != "toy" for m in metrics):
        raise ConfigError(f"{config.dataset} is 2D data: only the 'toy' metrics apply")
    if not config.is_toy and "toy" in metrics:
        raise ConfigError("the 'toy' metrics need 2D data")
    if "digits" in metrics and (config.dataset != "digits" or config.image_size != 32 or config.channels != 1):
        raise ConfigError("the 'digits' metrics need a run on digits at 32x32 with one channel")


def _real_samples(config: TrainConfig, n: int, seed: int) -> np.ndarray:
    batch = 500 if config.is_toy else 100
    ds = data_lib.make_dataset(
        config.dataset,
        batch,
        config.image_size,
        seed,
        channels=config.channels,
        crop=config.crop,
        data_dir=config.data_dir,
        repeat=True,
    )
    out = np.concatenate([b.numpy() for b in ds.take(-(-n // batch))])
    return out[:n]


def _save_png(array: np.ndarray, path: Path) -> None:
    import imageio.v2 as imageio

    buf = io.BytesIO()
    imageio.imwrite(buf, array if array.shape[-1] == 3 else array[..., 0], format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def _interpolation(model: Any, rows: int, steps: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((rows, model.latent_dim))
    b = rng.standard_normal((rows, model.latent_dim))
    t = np.linspace(0.0, 1.0, steps)
    z = ((1 - t)[None, :, None] * a[:, None] + t[None, :, None] * b[:, None]).reshape(-1, model.latent_dim)
    return cbs.image_grid(model.generate(z.astype(np.float32)), rows, steps)


def _nearest_neighbours(fake: np.ndarray, real: np.ndarray, n_queries: int, k: int) -> np.ndarray:
    queries = fake[:n_queries]
    q = queries.reshape(len(queries), -1).astype(np.float64)
    r = real.reshape(len(real), -1).astype(np.float64)
    d = (q**2).sum(1)[:, None] + (r**2).sum(1)[None] - 2 * q @ r.T
    idx = np.argsort(d, axis=1)[:, :k]
    tiles = np.concatenate([queries[:, None], real[idx]], axis=1).reshape(-1, *fake.shape[1:])
    return cbs.image_grid(tiles, len(queries), k + 1)


def _scatter(fake: np.ndarray, real: np.ndarray, path: Path) -> None:
    fig, ax = cbs._new_figure(5, 5)
    ax.scatter(real[:, 0], real[:, 1], s=2, c="orange", label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c="green", label="generated")
    ax.set_aspect("equal")
    ax.legend(loc="upper right")
    fig.tight_layout()
    cbs._save_figure(fig, path)


def evaluate_run(
    run_dir: str | os.PathLike,
    metrics: list[str] | None = None,
    num_samples: int | None = None,
    batch_size: int = 100,
    inception_weights: str | None = "imagenet",
    inception_savedmodel: str | None = None,
    use_ema: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Measures a run's generator and writes ``eval/metrics.json`` and pictures.

    Args:
        run_dir: a run folder written by ``train.py`` / ``keras_wgan.training.train``.
        metrics: subset of ``fid, kid, is, swd, toy, digits``; by default what
            applies to the run's data (see ``default_metrics``).
        num_samples: generated (and real) samples; default 2500 for 2D data,
            1797 for digits, 10000 for other images (the FID protocol's count).
        batch_size: generator and feature-extractor batch size.
        inception_weights: ``imagenet`` (Keras' weights, downloaded once by Keras), a
            local weights file, or None for random weights (plumbing checks only).
        inception_savedmodel: a SavedModel of the original FID Inception graph.
        use_ema: evaluate ``ema_generator.keras`` instead of the final generator.
        seed: seed of the samples.
        progress: progress bars for feature extraction.

    Returns:
        The dict written to ``metrics.json``.

    Raises:
        ConfigError: bad arguments or run folder; ``evaluation.MetricUnavailable``:
        a metric's network or weights are missing.
    """
    import keras

    from keras_wgan import training

    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise ConfigError(f"{run_dir} is not a run folder (no config.json)")
    config, model = training.load_run(run_dir)
    metrics = list(metrics) if metrics else default_metrics(config)
    check_metrics(metrics, config)
    if num_samples is None:
        num_samples = 2500 if config.is_toy else (1797 if config.dataset == "digits" else 10000)
    if num_samples < 2 or batch_size < 1:
        raise ConfigError("--num-samples must be >= 2 and --batch-size >= 1")
    if use_ema:
        path = run_dir / "ema_generator.keras"
        if not path.is_file():
            raise ConfigError(f"{path} does not exist (train with --ema-decay to keep one)")
        generator = keras.saving.load_model(path, compile=False)
        model.generator.set_weights(generator.get_weights())

    out_dir = run_dir / "eval"
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    z = np.random.default_rng(seed).standard_normal((num_samples, model.latent_dim)).astype(np.float32)
    fake = model.generate(z, batch_size=batch_size)
    real = _real_samples(config, num_samples, seed + 1)
    results: dict[str, Any] = {}

    if "toy" in metrics:
        n_ot = min(num_samples, 2000)
        if config.dataset in ("8gaussians", "25gaussians"):
            results.update(
                ev.mixture_metrics(fake, data_lib.toy_centres(config.dataset), data_lib.toy_std(config.dataset))
            )
        other = _real_samples(config, n_ot, seed + 2)
        results["w1"] = ev.wasserstein1_exact(fake[:n_ot], real[:n_ot])
        results["w1_true_vs_true"] = ev.wasserstein1_exact(other, real[:n_ot])
        _scatter(fake, real, out_dir / "samples.png")
    else:
        grid_z = np.random.default_rng(seed + 3).standard_normal((64, model.latent_dim)).astype(np.float32)
        _save_png(cbs.image_grid(model.generate(grid_z), 8, 8), out_dir / "samples.png")
        _save_png(_interpolation(model, 8, 10, seed), out_dir / "interpolation.png")
        _save_png(
            _nearest_neighbours(fake, real, min(8, len(fake)), min(5, len(real))), out_dir / "nearest_neighbours.png"
        )
    if "digits" in metrics:
        results.update(ev.digits_metrics(fake))
    if "swd" in metrics:
        n_swd = min(num_samples, 4096)
        results.update(ev.sliced_wasserstein_distance(real[:n_swd], fake[:n_swd], seed=seed))
    if any(m in metrics for m in INCEPTION_METRICS):
        net = ev.InceptionFeatures(weights=inception_weights, saved_model=inception_savedmodel)

        def batches(x):
            return (x[i : i + batch_size] for i in range(0, len(x), batch_size))

        key = {
            "dataset": config.dataset,
            "split": "train",
            "image_size": config.image_size,
            "channels": config.channels,
            "crop": config.crop,
            "count": num_samples,
            "seed": seed + 1,
            "extractor": net.identity,
        }
        cached = ev.cached_statistics(
            key, lambda: dict(zip(("pool", "probs"), ev.extract(net, batches(real), len(real), progress), strict=True))
        )
        real_pool = cached["pool"]
        fake_pool, fake_probs = ev.extract(net, batches(fake), len(fake), progress)
        if "fid" in metrics:
            results["fid"] = ev.fid_from_features(real_pool, fake_pool)
        if "kid" in metrics:
            results["kid_subset_size"] = ev.kid_subset_size(ev.KID_SUBSET_SIZE, len(real_pool), len(fake_pool))
            with warnings.catch_warnings():  # the adjustment is reported as kid_subset_size
                warnings.simplefilter("ignore")
                results["kid"], results["kid_std"] = ev.kernel_inception_distance(real_pool, fake_pool, seed=seed)
        if "is" in metrics:
            results["is"], results["is_std"] = ev.inception_score(fake_probs)
        results["inception"] = net.identity
    report = {
        "run": str(run_dir),
        "variant": config.variant,
        "dataset": config.dataset,
        "generator_step": int(model.generator_iterations.numpy()),
        "generator": "ema" if use_ema else "final",
        "num_samples": num_samples,
        "metrics": metrics,
        "results": results,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    atomic_write_text(out_dir / "metrics.json", json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report
