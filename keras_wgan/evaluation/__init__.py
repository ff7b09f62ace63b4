"""Evaluation of generated samples, one module per job.

- ``metrics``: the metric formulas as pure functions (FID, KID, IS, SWD, 2D
  mixtures, exact W1), tested against NumPy/SciPy references.
- ``features``: Keras' Inception-v3 features and the cache of real-data statistics.
- ``classifiers``: the digits and MNIST classifiers (trained once, cached), the
  classifier metrics, Stacked MNIST's mode count.
- ``inception_graph``: the original FID Inception network (the 2015-12-05
  GraphDef), fed as the reference FID and IS code feed it, checked op by op.
- ``standin_graph``: a small graph with its tensor names (offline tests).
- ``run``: ``evaluate_run``, which measures a run folder through a table of
  metrics (what ``evaluate.py`` calls).

The public names of ``metrics``, ``features`` and ``classifiers`` are available here too.
"""

from keras_wgan.errors import MetricUnavailable
from keras_wgan.evaluation.classifiers import (
    class_metrics,
    classifier_outputs,
    digits_classifier,
    digits_metrics,
    digits_split,
    histogram_kl,
    mnist_classifier,
    stacked_mnist_modes,
)
from keras_wgan.evaluation.features import InceptionFeatures, cached_statistics, extract, resize_for_inception
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
    "class_metrics",
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
    "histogram_kl",
    "inception_score",
    "kernel_inception_distance",
    "kid_subset_size",
    "laplacian_pyramid",
    "mixture_metrics",
    "mnist_classifier",
    "nearest_neighbour_radii",
    "polynomial_mmd2_unbiased",
    "precision_recall",
    "resize_for_inception",
    "sliced_wasserstein_distance",
    "stacked_mnist_modes",
    "wasserstein1_exact",
]
