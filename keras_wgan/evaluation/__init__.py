"""Evaluation of generated samples, in three modules by job.

- ``metrics``: the metric formulas as pure functions (FID, KID, IS, SWD, 2D
  mixtures, exact W1), tested against NumPy/SciPy references.
- ``features``: the networks that give features (Inception-v3, the digits
  classifier) and the cache of real-data statistics.
- ``run``: ``evaluate_run``, which measures a run folder through a table of
  metrics (what ``evaluate.py`` calls).

The public names of ``metrics`` and ``features`` are available here too.
"""

from keras_wgan.errors import MetricUnavailable
from keras_wgan.evaluation.features import (
    InceptionFeatures,
    cached_statistics,
    classifier_outputs,
    digits_classifier,
    digits_metrics,
    extract,
    resize_for_inception,
)
from keras_wgan.evaluation.metrics import (
    KID_SUBSET_SIZE,
    feature_statistics,
    fid_from_features,
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    kid_subset_size,
    laplacian_pyramid,
    mixture_metrics,
    polynomial_mmd2_unbiased,
    sliced_wasserstein,
    sliced_wasserstein_distance,
    wasserstein1_exact,
)

__all__ = [
    "KID_SUBSET_SIZE",
    "InceptionFeatures",
    "MetricUnavailable",
    "cached_statistics",
    "classifier_outputs",
    "digits_classifier",
    "digits_metrics",
    "extract",
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "kid_subset_size",
    "laplacian_pyramid",
    "mixture_metrics",
    "polynomial_mmd2_unbiased",
    "resize_for_inception",
    "sliced_wasserstein",
    "sliced_wasserstein_distance",
    "wasserstein1_exact",
]
