"""Sample-quality metrics as pure functions of features or samples (NumPy/SciPy).

Formulas (checked against NumPy/SciPy references in the tests):

- FID (Heusel et al. 2017): ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` on
  feature vectors (Inception-v3 pool features for images).
- KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel
  ``k(x, y) = (x.y / d + 1)^3``, mean and std over random subsets.
- IS (Salimans et al. 2016): ``exp(E_x KL(p(y|x) || p(y)))``, mean and std over splits.
- SWD (Karras et al. 2018, progressive GAN): sliced Wasserstein distance between
  7x7 patches of the Laplacian pyramid levels, 128 patches per image at positions
  drawn independently for each set, 4 x 128 random directions, per level and
  averaged, reported x1e3, in bounded memory. Needs no pretrained network.
- Precision and recall (Kynkaanniemi et al. 2019, k = 3) and density and coverage
  (Naeem et al. 2020, k = 5): k-nearest-neighbour manifolds of feature vectors;
  they tell "realistic but missing modes" from "covering but off the data".
- 2D mixtures (VEEGAN, PacGAN): a sample is high quality within 3 standard
  deviations of its nearest centre; a mode is covered when it has at least
  ``min_count`` high-quality samples; W1 between generated and true samples by
  exact optimal transport (an assignment problem) on equal-size sets.

The networks that give the features are in ``keras_wgan.evaluation.features``.
"""

from __future__ import annotations

import warnings

import numpy as np


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
#: The progressive-GAN protocol (Karras et al. 2018, their ``sliced_wasserstein.py``).
SWD_PATCHES_PER_IMAGE = 128
SWD_PATCH_SIZE = 7
SWD_REPEATS = 4
SWD_DIRECTIONS_PER_REPEAT = 128
SWD_MIN_SIZE = 16


def _blur_axis(images: np.ndarray, axis: int) -> np.ndarray:
    """The 5-tap binomial filter along one axis, mirrored edges (``d c b | a b c d | c b a``)."""
    pad = [(0, 0)] * images.ndim
    pad[axis] = (2, 2)
    padded = np.pad(images, pad, mode="reflect")
    n = images.shape[axis]

    def tap(i: int) -> np.ndarray:
        return padded[(slice(None),) * axis + (slice(i, i + n),)]

    return (
        (tap(0) + tap(4)) * np.float32(_BINOMIAL[0])
        + (tap(1) + tap(3)) * np.float32(_BINOMIAL[1])
        + tap(2) * np.float32(_BINOMIAL[2])
    )


def _blur(images: np.ndarray) -> np.ndarray:
    """The 5x5 binomial filter of OpenCV's ``pyrDown`` on ``(n, h, w, c)`` images (separable, in float32)."""
    return _blur_axis(_blur_axis(np.asarray(images, np.float32), 1), 2)


def laplacian_pyramid(images: np.ndarray, min_size: int = SWD_MIN_SIZE) -> list[np.ndarray]:
    """Laplacian pyramid levels, finest first, down to ``min_size`` (the last level is the blurred image).

    The 5x5 binomial filter with mirrored edges, as OpenCV's ``pyrDown``/``pyrUp``.

    Args:
        images: ``(n, h, w, c)`` float images.
        min_size: side of the coarsest level.

    Returns:
        A list of float32 arrays, level ``i`` of side ``h / 2**i``.
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


def swd_patch_positions(n: int, side: int, size: int, per_image: int, rng: np.random.Generator) -> np.ndarray:
    """Random top-left corners ``(n, per_image, 2)`` of ``size``-pixel patches in a ``side``-pixel level."""
    return rng.integers(0, side - size + 1, size=(n, per_image, 2), dtype=np.int32)


def _patches(level: np.ndarray, corners: np.ndarray, size: int) -> np.ndarray:
    """The patches of ``level`` at ``corners``, flat by (row, column, channel): ``(n * per_image, size**2 * c)``."""
    n, per_image = corners.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(level, (size, size), axis=(1, 2))  # (n, y, x, c, size, size)
    picked = windows[np.arange(n)[:, None], corners[..., 0], corners[..., 1]]  # (n, per_image, c, size, size)
    return np.ascontiguousarray(picked.transpose(0, 1, 3, 4, 2)).reshape(n * per_image, -1)


def swd_directions(dim: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random unit directions in ``dim`` dimensions, float32 ``(dim, count)``."""
    dirs = rng.standard_normal((dim, count))
    return (dirs / np.linalg.norm(dirs, axis=0, keepdims=True)).astype(np.float32)


def _pyramid_patches(images: np.ndarray, corners: list[np.ndarray], sizes: list[int], min_size: int, per_chunk: int):
    """Yields ``(start, [patches of level i for images start..start+k])``, ``per_chunk`` images at a time."""
    for start in range(0, len(images), per_chunk):
        levels = laplacian_pyramid(images[start : start + per_chunk], min_size)
        yield (
            start,
            [
                _patches(level, corner[start : start + len(level)], size)
                for level, corner, size in zip(levels, corners, sizes, strict=True)
            ],
        )


def sliced_wasserstein_distance(
    real: np.ndarray,
    fake: np.ndarray,
    patches_per_image: int = SWD_PATCHES_PER_IMAGE,
    patch_size: int = SWD_PATCH_SIZE,
    repeats: int = SWD_REPEATS,
    directions_per_repeat: int = SWD_DIRECTIONS_PER_REPEAT,
    min_size: int = SWD_MIN_SIZE,
    seed: int = 0,
    memory_budget: int = 384 * 2**20,
    images_per_chunk: int = 256,
) -> dict[str, float]:
    """SWD between two image sets on Laplacian-pyramid patches (x1e3), per level and averaged.

    The progressive-GAN protocol (Karras et al. 2018, "Progressive Growing of
    GANs"): a Laplacian pyramid from the full size down to 16 px; at each level
    128 random 7x7 patches per image, at positions drawn independently for the
    real and the generated images; each set's patches normalized per channel by
    their own mean and standard deviation; the sliced Wasserstein distance along
    4 repeats of 128 random unit directions; reported x1e3 per level
    (``swd_64``, ``swd_32``, ``swd_16``) and averaged (``swd_avg``). The paper used
    16,384 images; ``evaluate.py`` uses its ``--num-samples``.

    Memory: the projections of all patches on a group of directions are held at
    once (their sort is the distance), and the patches are recomputed for each
    group from the images, ``images_per_chunk`` at a time; the group is as large
    as ``memory_budget`` allows, so 10,000 64 px images stay well under 1 GiB.

    Args:
        real, fake: ``(n, h, w, c)`` images in [-1, 1] of one shape; the first
            ``min(len(real), len(fake))`` of each are used.
        patches_per_image, patch_size, repeats, directions_per_repeat, min_size: the protocol.
        seed: seed of the patch positions and the directions.
        memory_budget: bytes for the projections of one direction group.
        images_per_chunk: images whose pyramid is built at once.

    Returns:
        ``{"swd_<side>": value, ..., "swd_avg": mean}``.
    """
    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    if real.shape[1:] != fake.shape[1:] or real.ndim != 4:
        raise ValueError(f"SWD needs two image sets of one shape. Received {real.shape} and {fake.shape}")
    n = min(len(real), len(fake))
    if n < 1:
        raise ValueError("SWD needs at least one image in each set")
    sets = (real[:n], fake[:n])
    c = real.shape[-1]
    sides = [level.shape[1] for level in laplacian_pyramid(real[:1], min_size)]
    sizes = [min(patch_size, side) for side in sides]
    rows = n * patches_per_image
    # Independent positions for the two sets (set 0 real, set 1 generated), per level.
    corners = [
        [
            swd_patch_positions(n, side, size, patches_per_image, np.random.default_rng([seed, s, i]))
            for i, (side, size) in enumerate(zip(sides, sizes, strict=True))
        ]
        for s in range(2)
    ]
    # Pass 1: each set's per-channel mean and standard deviation of the patches, per level.
    stats = []
    for s, images in enumerate(sets):
        sums = np.zeros((len(sides), 2, c))
        for _, patches in _pyramid_patches(images, corners[s], sizes, min_size, images_per_chunk):
            for i, p in enumerate(patches):
                per_channel = p.reshape(-1, c).astype(np.float64)
                sums[i, 0] += per_channel.sum(axis=0)
                sums[i, 1] += (per_channel**2).sum(axis=0)
        count = rows * np.array([size * size for size in sizes], dtype=np.float64)[:, None]
        mean = sums[:, 0] / count
        std = np.sqrt(np.maximum(sums[:, 1] / count - mean**2, 0.0)) + 1e-8
        stats.append((mean.astype(np.float32), std.astype(np.float32)))
    directions = [
        np.concatenate(
            [
                swd_directions(size * size * c, directions_per_repeat, np.random.default_rng([seed, 2, i, r]))
                for r in range(repeats)
            ],
            axis=1,
        )
        for i, size in enumerate(sizes)
    ]
    total = repeats * directions_per_repeat
    group = max(1, min(total, memory_budget // (2 * len(sides) * rows * 4)))
    sums_abs = np.zeros(len(sides))
    for first in range(0, total, group):
        cols = slice(first, min(first + group, total))
        projected = [[np.empty((rows, cols.stop - cols.start), np.float32) for _ in sides] for _ in sets]
        for s, images in enumerate(sets):
            mean, std = stats[s]
            # ((p - mean) / std) @ d = p @ (d / std) - (mean / std) @ d, per channel of each patch value.
            scaled = [
                (d[:, cols].reshape(-1, c, d[:, cols].shape[1]) / std[i][:, None]) for i, d in enumerate(directions)
            ]
            offsets = [mean[i] @ sc.sum(axis=0) for i, sc in enumerate(scaled)]
            scaled = [sc.reshape(-1, sc.shape[-1]) for sc in scaled]
            for start, patches in _pyramid_patches(images, corners[s], sizes, min_size, images_per_chunk):
                for i, p in enumerate(patches):
                    at = start * patches_per_image
                    projected[s][i][at : at + len(p)] = p @ scaled[i] - offsets[i]
        for i in range(len(sides)):
            a, b = projected[0][i], projected[1][i]
            a.sort(axis=0)
            b.sort(axis=0)
            sums_abs[i] += np.abs(a - b).sum(dtype=np.float64)
        del projected
    result = {f"swd_{side}": float(1e3 * sums_abs[i] / (rows * total)) for i, side in enumerate(sides)}
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
    """Exact W1 (Euclidean ground cost) between two equal-size empirical sets.

    With equal sizes and equal weights the optimal transport is an assignment;
    it is solved as the transport problem by the network simplex of POT
    (Flamary et al., ``ot.emd2``), which gives the assignment's optimum exactly
    and is about ten times faster than ``scipy.optimize.linear_sum_assignment``
    on the near-ties of a collapsed generator (6.2 s against 0.5 s for 2,000
    points, measured here).
    """
    from scipy.spatial.distance import cdist

    from keras_wgan.evaluation.transport import exact_transport_cost

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) != len(b):
        raise ValueError("wasserstein1_exact needs two sets of the same size.")
    return exact_transport_cost(cdist(a, b))


# ------------------------------------------------------- manifold metrics
def _pairwise_distances(a: np.ndarray, b: np.ndarray, rows: int = 1024):
    """Euclidean distances between the rows of ``a`` and of ``b``, ``rows`` rows of ``a`` at a time."""
    b2 = (b**2).sum(axis=1)
    for start in range(0, len(a), rows):
        chunk = a[start : start + rows]
        squared = (chunk**2).sum(axis=1)[:, None] + b2[None, :] - 2.0 * chunk @ b.T
        yield start, np.sqrt(np.maximum(squared, 0.0))


def nearest_neighbour_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Each sample's distance to its ``k``-th nearest other sample of the same set.

    Args:
        features: ``(n, d)`` with ``n > k``.
        k: which neighbour (1 is the nearest; the sample itself does not count).

    Returns:
        ``(n,)`` float64 radii.
    """
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or len(x) <= k or k < 1:
        raise ValueError(f"need k >= 1 and more than k={k} samples of shape (n, d); received shape {x.shape}")
    radii = np.empty(len(x))
    for start, d in _pairwise_distances(x, x):
        d[np.arange(len(d)), start + np.arange(len(d))] = np.inf  # not its own neighbour
        radii[start : start + len(d)] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return radii


def _balls_containing(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each point, how many of the balls ``(centres[i], radii[i])`` contain it (distance <= radius)."""
    counts = np.zeros(len(points), dtype=np.int64)
    for start, d in _pairwise_distances(points, centres):
        counts[start : start + len(d)] = (d <= radii[None, :]).sum(axis=1)
    return counts


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric
    for Assessing Generative Models").

    Each set's manifold is the union of balls around its samples, each reaching
    the sample's ``k``-th nearest neighbour in the same set. Precision: the share
    of generated samples inside the real manifold (are the samples realistic?);
    recall: the share of real samples inside the generated manifold (is the
    data's variety covered?).

    Args:
        real, fake: feature vectors ``(n, d)`` and ``(m, d)``.
        k: the neighbour that sets the radii (3 in the paper).

    Returns:
        ``{"precision": p, "recall": r}``, each in [0, 1].
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    precision = (_balls_containing(fake, real, nearest_neighbour_radii(real, k)) > 0).mean()
    recall = (_balls_containing(real, fake, nearest_neighbour_radii(fake, k)) > 0).mean()
    return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for
    Generative Models").

    Only the real samples' ``k``-nearest-neighbour balls are used (outliers among
    the generated samples cannot inflate anything). Density: the number of real
    balls containing each generated sample, divided by ``k``, averaged (about 1
    when both sets come from the same distribution; it can exceed 1). Coverage:
    the share of real samples whose ball contains at least one generated sample.

    Args:
        real, fake: feature vectors ``(n, d)`` and ``(m, d)``.
        k: the neighbour that sets the radii (5 in the paper).

    Returns:
        ``{"density": d, "coverage": c}``.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    radii = nearest_neighbour_radii(real, k)
    density = _balls_containing(fake, real, radii).sum() / (k * len(fake))
    covered = np.zeros(len(real), dtype=bool)
    for start, d in _pairwise_distances(real, fake):
        covered[start : start + len(d)] = (d <= radii[start : start + len(d), None]).any(axis=1)
    return {"density": float(density), "coverage": float(covered.mean())}
