"""Evaluation of generated samples, in three modules by job.

- ``metrics``: the metric formulas as pure functions (FID, KID, IS, SWD, 2D
  mixtures, exact W1), tested against NumPy/SciPy references.
- ``features``: the networks that give features (Keras' Inception-v3, the
  digits classifier) and the cache of real-data statistics.
- ``inception_graph``: the original FID Inception network (the 2015-12-05
  GraphDef), fed as the reference FID and IS code feed it.
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
    digits_split,
    extract,
    resize_for_inception,
)
from keras_wgan.evaluation.inception_graph import InceptionGraph, inception_graph_path
from keras_wgan.evaluation.metrics import (
    KID_SUBSET_SIZE,
    density_coverage,
    feature_statistics,
    fid_from_features,
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    kid_subset_size,
    laplacian_pyramid,
    mixture_metrics,
    nearest_neighbour_radii,
    polynomial_mmd2_unbiased,
    precision_recall,
    sliced_wasserstein_distance,
    wasserstein1_exact,
)

__all__ = [
    "KID_SUBSET_SIZE",
    "InceptionFeatures",
    "InceptionGraph",
    "MetricUnavailable",
    "cached_statistics",
    "classifier_outputs",
    "digits_classifier",
    "density_coverage",
    "digits_metrics",
    "digits_split",
    "extract",
    "feature_statistics",
    "fid_from_features",
    "inception_graph_path",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "kid_subset_size",
    "laplacian_pyramid",
    "mixture_metrics",
    "nearest_neighbour_radii",
    "polynomial_mmd2_unbiased",
    "precision_recall",
    "resize_for_inception",
    "sliced_wasserstein_distance",
    "wasserstein1_exact",
]
