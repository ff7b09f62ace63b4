"""Sample-quality metrics as pure functions of features or samples (NumPy/SciPy).

Formulas (checked against NumPy/SciPy references in the tests):

- FID (Heusel et al. 2017): ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` on
  feature vectors (Inception-v3 pool features for images).
- KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel
  ``k(x, y) = (x.y / d + 1)^3``, mean and std over random subsets.
- IS (Salimans et al. 2016): ``exp(E_x KL(p(y|x) || p(y)))``, mean and std over splits.
- SWD (Karras et al. 2018, progressive GAN): sliced Wasserstein distance between
  7x7 patches of the Laplacian pyramid levels, 128 patches per image, 512 random
  directions, per level and averaged, reported x1e3. Needs no pretrained network.
- 2D mixtures (VEEGAN, PacGAN): a sample is high quality within 3 standard
  deviations of its nearest centre; a mode is covered when it has at least
  ``min_count`` high-quality samples; W1 between generated and true samples by
  exact optimal transport (an assignment problem) on equal-size sets.

The networks that give the features are in ``keras_wgan.evaluation.features``.
"""

from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf


# ----------------------------------------------------------------- Frechet
def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (unbiased, rows are samples) of a feature matrix, in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"Need a (n >= 2, d) feature matrix. Received shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Frechet distance between two Gaussians ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    ``||mu1 - mu2||^2 + Tr(sigma1) + Tr(sigma2) - 2 Tr((sigma1 sigma2)^(1/2))``.
    When the product is near singular, ``eps`` is added to both diagonals.

    Args:
        mu1, sigma1: mean and covariance of the first set.
        mu2, sigma2: mean and covariance of the second set.
        eps: diagonal offset used only when the square root is not finite.

    Returns:
        The distance (>= 0 up to rounding).
    """
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError("The two sets of statistics have different dimensions.")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # near-singular products are handled just below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    """FID between two feature matrices."""
    return frechet_distance(*feature_statistics(real), *feature_statistics(fake))


# --------------------------------------------------------------------- KID
def polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased MMD^2 between samples ``x`` and ``y`` with ``k(a, b) = (a.b / d + coef0)^degree``."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    d = x.shape[1]
    kxx = (x @ x.T / d + coef0) ** degree
    kyy = (y @ y.T / d + coef0) ** degree
    kxy = (x @ y.T / d + coef0) ** degree
    m, n = len(x), len(y)
    term_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    term_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(term_x + term_y - 2.0 * kxy.mean())


#: Samples per KID subset (Binkowski et al. 2018 use 1000).
KID_SUBSET_SIZE = 1000


def kid_subset_size(subset_size: int, n_real: int, n_fake: int) -> int:
    """The subset size KID uses: ``subset_size``, lowered to the smaller set's size.

    Raises:
        ValueError: a set holds fewer than 2 samples (the unbiased estimate needs pairs).
    """
    if min(n_real, n_fake) < 2:
        raise ValueError(f"KID needs at least 2 samples in each set; got {n_real} real and {n_fake} generated.")
    if subset_size < 2:
        raise ValueError(f"The KID subset size must be >= 2. Received: subset_size={subset_size}")
    return min(subset_size, n_real, n_fake)


def kernel_inception_distance(
    real: np.ndarray, fake: np.ndarray, n_subsets: int = 100, subset_size: int = KID_SUBSET_SIZE, seed: int = 0
) -> tuple[float, float]:
    """KID (Binkowski et al. 2018): mean and std of the unbiased polynomial MMD^2 over random subsets.

    With fewer samples than ``subset_size`` in a set, the subsets take the
    smaller set's size (``kid_subset_size``, reported by ``evaluate.py`` as
    ``kid_subset_size``) and a warning says so; KIDs computed with different
    subset sizes are comparable in expectation (the estimate is unbiased) but
    not in spread.

    Args:
        real, fake: feature matrices.
        n_subsets: number of random subset pairs.
        subset_size: samples per subset (1000, the paper's).
        seed: subset sampling seed.

    Returns:
        ``(mean, std)``.

    Raises:
        ValueError: a set holds fewer than 2 samples.
    """
    rng = np.random.default_rng(seed)
    size = kid_subset_size(subset_size, len(real), len(fake))
    if size < subset_size:
        warnings.warn(
            f"KID: subsets of {size} samples instead of {subset_size} (the smaller set has {size}).", stacklevel=2
        )
    values = [
        polynomial_mmd2_unbiased(
            real[rng.choice(len(real), size, replace=False)], fake[rng.choice(len(fake), size, replace=False)]
        )
        for _ in range(n_subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


# ---------------------------------------------------------------------- IS
def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """Inception Score ``exp(E_x KL(p(y|x) || p(y)))``: mean and std over ``splits`` parts.

    Args:
        probs: ``(n, classes)`` class probabilities (rows sum to 1).
        splits: number of disjoint parts.

    Returns:
        ``(mean, std)``; 1 for uniform predictions, the number of classes for
        confident predictions spread evenly over all classes.
    """
    probs = np.asarray(probs, dtype=np.float64)
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


# --------------------------------------------------------------------- SWD
_BINOMIAL = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _blur(images: np.ndarray) -> np.ndarray:
    kernel = np.outer(_BINOMIAL, _BINOMIAL).astype(np.float32)
    c = images.shape[-1]
    k = tf.constant(np.tile(kernel[:, :, None, None], (1, 1, c, 1)))
    padded = tf.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="REFLECT")
    return tf.nn.depthwise_conv2d(padded, k, [1, 1, 1, 1], "VALID").numpy()


def laplacian_pyramid(images: np.ndarray, min_size: int = 16) -> list[np.ndarray]:
    """Laplacian pyramid levels, finest first, down to ``min_size`` (the last level is the blurred image).

    Args:
        images: ``(n, h, w, c)`` float images.
        min_size: side of the coarsest level.

    Returns:
        A list of arrays, level ``i`` of side ``h / 2**i``.
    """
    levels = []
    current = np.asarray(images, dtype=np.float32)
    while current.shape[1] > min_size:
        down = _blur(current)[:, ::2, ::2]
        up = np.zeros_like(current)
        up[:, ::2, ::2] = down
        up = _blur(up) * 4.0
        levels.append(current - up)
        current = down
    levels.append(current)
    return levels


def _patches(level: np.ndarray, per_image: int, size: int, rng: np.random.Generator) -> np.ndarray:
    n, h, w, c = level.shape
    ys = rng.integers(0, h - size + 1, size=(n, per_image))
    xs = rng.integers(0, w - size + 1, size=(n, per_image))
    dy, dx = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    rows = ys[:, :, None, None] + dy
    cols = xs[:, :, None, None] + dx
    out = level[np.arange(n)[:, None, None, None], rows, cols]  # (n, per_image, size, size, c)
    return out.reshape(n * per_image, size * size * c)


def _normalize(desc: np.ndarray, c: int) -> np.ndarray:
    d = desc.reshape(len(desc), -1, c)
    d = (d - d.mean(axis=(0, 1))) / (d.std(axis=(0, 1)) + 1e-8)
    return d.reshape(len(desc), -1)


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, n_directions: int = 512, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between two equal-size point sets (rows)."""
    rng = np.random.default_rng(seed)
    dirs = rng.standard_normal((a.shape[1], n_directions))
    dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
    pa, pb = np.sort(a @ dirs, axis=0), np.sort(b @ dirs, axis=0)
    return float(np.abs(pa - pb).mean())


def sliced_wasserstein_distance(
    real: np.ndarray,
    fake: np.ndarray,
    patches_per_image: int = 128,
    patch_size: int = 7,
    n_directions: int = 512,
    min_size: int = 16,
    seed: int = 0,
) -> dict[str, float]:
    """SWD between two image sets on Laplacian-pyramid patches (x1e3), per level and averaged.

    Args:
        real, fake: ``(n, h, w, c)`` images in [-1, 1], the same ``n`` and shape.
        patches_per_image: random patches per image and level (128).
        patch_size: patch side (7).
        n_directions: random projection directions (512).
        min_size: coarsest pyramid level side (16).
        seed: seed of patches and directions.

    Returns:
        ``{"swd_<side>": value, ..., "swd_avg": mean}``.
    """
    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    if real.shape[1:] != fake.shape[1:] or real.ndim != 4:
        raise ValueError(f"SWD needs two image sets of one shape. Received {real.shape} and {fake.shape}")
    n = min(len(real), len(fake))
    c = real.shape[-1]
    result = {}
    levels = zip(laplacian_pyramid(real[:n], min_size), laplacian_pyramid(fake[:n], min_size), strict=True)
    for i, (level_r, level_f) in enumerate(levels):
        size = min(patch_size, level_r.shape[1])
        # The same patch positions in both sets: the comparison then varies only with the content.
        dr = _normalize(_patches(level_r, patches_per_image, size, np.random.default_rng([seed, i])), c)
        df = _normalize(_patches(level_f, patches_per_image, size, np.random.default_rng([seed, i])), c)
        result[f"swd_{level_r.shape[1]}"] = 1e3 * sliced_wasserstein(dr, df, n_directions, seed)
    result["swd_avg"] = float(np.mean(list(result.values())))
    return result


# -------------------------------------------------------------- 2D toys
def mixture_metrics(
    samples: np.ndarray, centres: np.ndarray, std: float, n_sigma: float = 3.0, min_count: int | None = None
) -> dict[str, float]:
    """Mode coverage and sample quality on a Gaussian mixture.

    Args:
        samples: ``(n, 2)`` generated points.
        centres: ``(k, 2)`` mode centres.
        std: the components' standard deviation.
        n_sigma: a sample is high quality within ``n_sigma * std`` of its nearest centre.
        min_count: high-quality samples a mode needs to count as covered
            (default: 20 per 2500 samples, as in PacGAN; at least 1).

    Returns:
        ``{"modes": covered modes, "modes_total": k, "high_quality": fraction in [0, 1]}``.
    """
    samples = np.asarray(samples, np.float64)
    dist = np.sqrt(((samples[:, None, :] - centres[None]) ** 2).sum(-1))
    nearest, dmin = dist.argmin(axis=1), dist.min(axis=1)
    good = dmin <= n_sigma * std
    if min_count is None:
        min_count = max(1, int(round(20 * len(samples) / 2500)))
    counts = np.bincount(nearest[good], minlength=len(centres))
    return {"modes": int((counts >= min_count).sum()), "modes_total": len(centres), "high_quality": float(good.mean())}


def wasserstein1_exact(a: np.ndarray, b: np.ndarray) -> float:
    """Exact W1 (Euclidean ground cost) between two equal-size empirical sets: an assignment problem."""
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) != len(b):
        raise ValueError("wasserstein1_exact needs two sets of the same size.")
    cost = cdist(a, b)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())
