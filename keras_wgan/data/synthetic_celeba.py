"""Synthetic CelebA download files, with the official names, layout and formats.

CelebA cannot be downloaded on every machine (offline CI, Google Drive quota),
but the code that reads it must still be exercised on files that look exactly
like the real ones. ``write_celeba_files(out_dir, num_images)`` writes the five
files tensorflow-datasets' ``celeb_a`` builder (2.1.0) reads from its manual
folder:

- ``img_align_celeba.zip`` holding ``img_align_celeba/000001.jpg`` ... : 178x218
  RGB JPEGs of about the real size (the real zip holds 202,599 JPEGs in
  1.44 GB, about 7 KB each);
- ``list_eval_partition.txt``: ``000001.jpg 0`` per image (0 train, 1
  validation, 2 test), the real 162,770 / 19,867 / 19,962 split at full size,
  the same proportions when smaller;
- ``list_attr_celeba.txt``: the image count, the 40 attribute names, then one
  row of -1/1 per image;
- ``list_landmarks_align_celeba.txt``: the count, the 10 landmark names, then
  one row of pixel coordinates per image;
- ``identity_CelebA.txt``: ``000001.jpg 2880`` per image, no header.

The text files use CRLF line ends, as the official ones do. The pictures are
not faces: a coloured background, a skin-toned ellipse with darker eyes and
mouth at the real landmark positions, and grain, so that JPEG sizes and
decode costs are realistic. Checksums cannot match the official files.

Command line (any number of images up to 202,599)::

    python -m keras_wgan.data.synthetic_celeba ~/tensorflow_datasets/downloads/manual --num-images 500
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from keras_wgan.data import registry
from keras_wgan.data.celeba_prepare import MANUAL_FILES, SPLIT_SIZES

#: Image count of the real CelebA, and its official partition sizes.
FULL_SIZE = 202_599
OFFICIAL_SPLIT = (SPLIT_SIZES["train"], SPLIT_SIZES["validation"], SPLIT_SIZES["test"])
WIDTH, HEIGHT = 178, 218
#: The five files the tensorflow-datasets builder reads (2.1.0).
FILE_NAMES = MANUAL_FILES
ATTRIBUTES = registry.CELEBA_ATTRIBUTES
LANDMARKS = (
    "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
).split()
#: Mean landmark positions of the aligned faces (x, y pairs, pixels).
_MEAN_LANDMARKS = np.array([69, 111, 107, 111, 88, 135, 72, 152, 104, 152])
_CRLF = "\r\n"
_GRID = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
#: Standard deviation of the grain: sets the JPEG size (about 7 KB at quality 90, as the real files).
_GRAIN = 3.5
_RAMP = (_GRID[0] / HEIGHT)[..., None]
#: Pre-drawn grain, rolled by a random offset per image (drawing fresh noise per image is most of the cost).
_GRAIN_BANK = np.random.default_rng(12345).standard_normal((4, HEIGHT, WIDTH, 3), dtype=np.float32) * _GRAIN


def split_sizes(num_images: int) -> tuple[int, int, int]:
    """Train, validation and test counts: the official ones at full size, the same proportions below.

    Args:
        num_images: 1 .. 202,599.

    Returns:
        ``(train, validation, test)`` adding up to ``num_images``.
    """
    if num_images == FULL_SIZE:
        return OFFICIAL_SPLIT
    validation = round(num_images * OFFICIAL_SPLIT[1] / FULL_SIZE)
    test = round(num_images * OFFICIAL_SPLIT[2] / FULL_SIZE)
    return num_images - validation - test, validation, test


def image_name(index: int) -> str:
    """The official file name of image ``index`` (0-based): ``000001.jpg`` for 0."""
    return f"{index + 1:06d}.jpg"


def _landmarks(rng: np.random.Generator) -> np.ndarray:
    return _MEAN_LANDMARKS + rng.integers(-4, 5, size=_MEAN_LANDMARKS.shape)


def _disc(img: np.ndarray, cx: float, cy: float, rx: float, ry: float, colour: np.ndarray) -> None:
    """Paints a filled ellipse into ``img`` in place, touching only its bounding box."""
    y0, y1 = max(0, int(cy - ry)), min(HEIGHT, int(cy + ry) + 1)
    x0, x1 = max(0, int(cx - rx)), min(WIDTH, int(cx + rx) + 1)
    yy, xx = _GRID[0][y0:y1, x0:x1], _GRID[1][y0:y1, x0:x1]
    img[y0:y1, x0:x1][((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1.0] = colour


def render_image(index: int, seed: int = 0) -> np.ndarray:
    """The synthetic picture of image ``index``: uint8 ``(218, 178, 3)``, repeatable from (seed, index)."""
    rng = np.random.default_rng([seed, index])
    marks = _landmarks(rng)
    top, bottom = rng.uniform(30, 225, size=3), rng.uniform(30, 225, size=3)
    img = (top * (1 - _RAMP) + bottom * _RAMP).astype(np.float32)
    _disc(
        img,
        marks[4],
        marks[5] - 10,
        rng.uniform(38, 48),
        rng.uniform(52, 62),
        rng.uniform([150, 100, 80], [245, 200, 170]),
    )
    for x, y in ((marks[0], marks[1]), (marks[2], marks[3])):
        _disc(img, x, y, 5, 5, rng.uniform(20, 80, size=3))
    _disc(
        img,
        (marks[6] + marks[8]) / 2,
        (marks[7] + marks[9]) / 2,
        (marks[8] - marks[6]) / 2,
        3,
        rng.uniform([120, 30, 30], [200, 80, 80]),
    )
    grain = _GRAIN_BANK[rng.integers(len(_GRAIN_BANK))]
    shift = rng.integers(0, HEIGHT * WIDTH * 3)
    img += np.roll(grain.ravel(), shift).reshape(img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _encode_range(args: tuple[int, int, int, int]) -> list[bytes]:
    from PIL import Image

    start, stop, seed, quality = args
    out = []
    for i in range(start, stop):
        buffer = io.BytesIO()
        Image.fromarray(render_image(i, seed)).save(buffer, format="JPEG", quality=quality)
        out.append(buffer.getvalue())
    return out


def _encoded_images(num_images: int, seed: int, quality: int, workers: int) -> Iterator[bytes]:
    chunk = 500
    jobs = [(s, min(s + chunk, num_images), seed, quality) for s in range(0, num_images, chunk)]
    if workers <= 1:
        for job in jobs:
            yield from _encode_range(job)
        return
    with ProcessPoolExecutor(workers) as pool:
        for encoded in pool.map(_encode_range, jobs):
            yield from encoded


def _write_lines(path: Path, lines: Iterator[str]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        for line in lines:
            f.write(line + _CRLF)
    os.replace(tmp, path)


def write_celeba_files(
    out_dir: str | os.PathLike,
    num_images: int = 500,
    *,
    seed: int = 0,
    quality: int = 90,
    workers: int | None = None,
    progress: bool = False,
) -> dict[str, Path]:
    """Writes the five CelebA download files for ``num_images`` synthetic images.

    Args:
        out_dir: the folder (created), e.g. a tfds ``downloads/manual`` folder.
        num_images: 1 .. 202,599 (the real count).
        seed: content seed; the same seed gives byte-identical files.
        quality: JPEG quality (90 gives about the real file size).
        workers: processes that encode JPEGs (default: all cores).
        progress: print a progress line every 20,000 images.

    Returns:
        ``{file name: path}`` of the five files.

    Example:
    >>> paths = write_celeba_files("/tmp/celeba_manual", 300)  # doctest: +SKIP
    >>> sorted(paths)[0]  # doctest: +SKIP
    'identity_CelebA.txt'
    """
    if isinstance(num_images, bool) or not isinstance(num_images, int) or not 1 <= num_images <= FULL_SIZE:
        raise ValueError(f"`num_images` must be an integer in 1..{FULL_SIZE}. Received: num_images={num_images!r}")
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in FILE_NAMES}
    names = [image_name(i) for i in range(num_images)]
    train, validation, _ = split_sizes(num_images)
    partition = [0 if i < train else 1 if i < train + validation else 2 for i in range(num_images)]
    rng = np.random.default_rng([seed, 1])
    attrs = np.where(rng.random((num_images, len(ATTRIBUTES))) < 0.3, 1, -1)
    marks = np.stack([_landmarks(rng) for _ in range(num_images)])
    identity = rng.integers(1, 10_178, size=num_images)

    _write_lines(paths["list_eval_partition.txt"], (f"{n} {p}" for n, p in zip(names, partition, strict=True)))
    _write_lines(
        paths["list_attr_celeba.txt"],
        iter(
            [str(num_images), " ".join(ATTRIBUTES) + " "]
            + [n + "".join(f"{v:3d}" for v in row) for n, row in zip(names, attrs, strict=True)]
        ),
    )
    _write_lines(
        paths["list_landmarks_align_celeba.txt"],
        iter(
            [str(num_images), " ".join(LANDMARKS)]
            + [n + "".join(f"{v:5d}" for v in row) for n, row in zip(names, marks, strict=True)]
        ),
    )
    _write_lines(paths["identity_CelebA.txt"], (f"{n} {i}" for n, i in zip(names, identity, strict=True)))

    zip_path = paths["img_align_celeba.zip"]
    tmp = zip_path.with_name(f".{zip_path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(zipfile.ZipInfo("img_align_celeba/"), b"")
        for i, encoded in enumerate(_encoded_images(num_images, seed, quality, workers or os.cpu_count() or 1)):
            # A ZipInfo keeps the entry's date fixed (1980-01-01): a name alone would stamp the current
            # time, and two archives written a few seconds apart would differ.
            archive.writestr(zipfile.ZipInfo(f"img_align_celeba/{names[i]}"), encoded)
            if progress and (i + 1) % 20_000 == 0:
                print(f"synthetic_celeba: {i + 1} of {num_images} images", flush=True)
    os.replace(tmp, zip_path)
    return paths


@contextlib.contextmanager
def accept_synthetic_checksums() -> Iterator[None]:
    """Within this block, tensorflow-datasets accepts files whose checksums differ from the official ones.

    Synthetic files cannot match the official checksums; this switches off that
    one comparison (the downloaded files' sizes and checksums are still
    recorded) and nothing else, for tests and benchmarks on synthetic CelebA.
    Never use it on real downloads: the comparison is what catches a Google
    Drive quota page saved as ``img_align_celeba.zip``.
    """
    from tensorflow_datasets.core.download import download_manager

    manager = download_manager.DownloadManager
    original = manager._register_or_validate_checksums

    def record_only(self, url, url_info, path):
        self._recorded_url_infos[url] = url_info

    manager._register_or_validate_checksums = record_only
    try:
        yield
    finally:
        manager._register_or_validate_checksums = original


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m keras_wgan.data.synthetic_celeba OUT_DIR --num-images N``."""
    parser = argparse.ArgumentParser(
        prog="python -m keras_wgan.data.synthetic_celeba", description=__doc__.split("\n")[0]
    )
    parser.add_argument("out_dir", help="folder for the five files (e.g. ~/tensorflow_datasets/downloads/manual)")
    parser.add_argument("--num-images", type=int, default=500, help=f"1..{FULL_SIZE} (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        paths = write_celeba_files(args.out_dir, args.num_images, seed=args.seed, progress=True)
    except (ValueError, OSError) as err:
        sys.stderr.write(f"synthetic_celeba: error: {err}\n")
        return 2
    for name, path in paths.items():
        print(f"{name}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
