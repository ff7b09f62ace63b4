"""CelebA through tensorflow-datasets: preparing it from the official files, finding its records.

tensorflow-datasets' ``celeb_a`` builder (2.1.0) reads five files. It fetches
them from Google Drive, whose download quota often fails (and then shows up as
a checksum error), or takes them from its manual folder,
``<data_dir>/downloads/manual`` (``data_dir`` defaults to
``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``):

    img_align_celeba.zip  list_eval_partition.txt  list_attr_celeba.txt
    list_landmarks_align_celeba.txt  identity_CelebA.txt

``prepare(data_dir)`` builds the dataset once (it converts the zip into
TFRecord files under ``<data_dir>/celeb_a/2.1.0``) and turns every failure into
a ``DatasetError`` that names its real cause: a missing file, a file that
differs from the official one, no network, a missing Python package.
``split_files(builder, split)`` then lists the records of a split, which
``keras_wgan.data`` reads without decoding until after the shuffle.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from keras_wgan.errors import DatasetError

#: The files tensorflow-datasets' ``celeb_a`` (2.1.0) reads, by their official names.
MANUAL_FILES = (
    "img_align_celeba.zip",
    "list_eval_partition.txt",
    "list_attr_celeba.txt",
    "list_landmarks_align_celeba.txt",
    "identity_CelebA.txt",
)
#: Official sizes of the splits.
SPLIT_SIZES = {"train": 162_770, "validation": 19_867, "test": 19_962}

_NETWORK_ERRORS = ("ConnectionError", "gaierror", "Timeout", "NameResolution", "MaxRetryError", "URLError")


def data_dir_path(data_dir: str | os.PathLike | None) -> Path:
    """The tensorflow-datasets data folder: ``data_dir``, else ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``."""
    if data_dir:
        return Path(data_dir).expanduser()
    return Path(os.environ.get("TFDS_DATA_DIR", Path.home() / "tensorflow_datasets")).expanduser()


def manual_dir(data_dir: str | os.PathLike | None) -> Path:
    """Where the builder looks for the manually downloaded files: ``<data_dir>/downloads/manual``."""
    return data_dir_path(data_dir) / "downloads" / "manual"


def manual_help(data_dir: str | os.PathLike | None) -> str:
    """How to supply CelebA by hand, in one sentence."""
    return (
        f"put the five CelebA files ({', '.join(MANUAL_FILES)}) from the CelebA site in {manual_dir(data_dir)} "
        "and run again, or unzip img_align_celeba.zip and use --dataset folder:PATH/img_align_celeba --crop 140"
    )


def _chain(err: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while err is not None and err not in seen:
        seen.append(err)
        err = err.__cause__ or err.__context__
    return seen


def _is_network_error(err: BaseException) -> bool:
    return any(any(n in type(e).__name__ for n in _NETWORK_ERRORS) for e in _chain(err))


def _checksum_message(err: BaseException, data_dir: str | os.PathLike | None) -> str:
    text = str(err)
    found = re.search(r"downloaded to (\S+), has wrong checksum", text)
    path = Path(found.group(1).rstrip(",")) if found else None
    sizes = re.findall(r"size=([\d.]+ \w+)", text)
    detail = f" (size {sizes[1]}, the official file has {sizes[0]})" if len(sizes) >= 2 else ""
    if path is not None and path.parent == manual_dir(data_dir):
        return (
            f"{path} differs from the official CelebA file{detail}: its checksum does not match the one "
            "tensorflow-datasets knows. Download it again from the CelebA site (a partial or re-packed file "
            "cannot be used)."
        )
    name = path.name if path is not None else "a CelebA file"
    return (
        f"the file Google Drive returned for {name} is not the official one{detail}; this is usually Drive's "
        f"download-quota page. Instead, {manual_help(data_dir)}."
    )


@contextlib.contextmanager
def _quiet_absl() -> Iterator[None]:
    """absl (tfds' logger) at ERROR level inside the block: its warnings are not the user's business."""
    from absl import logging as absl_logging

    level, py_logger = absl_logging.get_verbosity(), logging.getLogger("absl")
    py_level = py_logger.level
    absl_logging.set_verbosity(absl_logging.ERROR)
    py_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        absl_logging.set_verbosity(level)
        py_logger.setLevel(py_level)


def _resolves(host: str, timeout: float = 10.0) -> bool:
    """Whether ``host`` resolves within ``timeout`` seconds (a quick test for a network connection)."""
    result: list[bool] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, 443)
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def prepare(data_dir: str | os.PathLike | None = None, *, verbose: bool = True) -> Any:
    """The tensorflow-datasets ``celeb_a`` builder, prepared (built once from the downloads).

    When the dataset is not prepared yet, the builder takes the five files from
    the manual folder if they are there (all five: with some missing it would
    fetch those from Google Drive, so that is refused), else downloads them.

    Args:
        data_dir: the tfds data folder (see ``data_dir_path``).
        verbose: say on stdout that a one-time preparation starts.

    Returns:
        A prepared ``tfds.core.DatasetBuilder``.

    Raises:
        DatasetError: naming the cause: missing files, a file that differs from
            the official one, no network, a missing package.
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise DatasetError(f"celeb_a needs tensorflow-datasets ({err}); pip install tensorflow-datasets") from err
    with _quiet_absl():  # "Variant folder ... has no dataset_info.json" before the first prepare
        builder = tfds.builder("celeb_a", data_dir=None if data_dir is None else str(data_dir_path(data_dir)))
        if builder.is_prepared():
            return builder
    manual = manual_dir(data_dir)
    present = [name for name in MANUAL_FILES if (manual / name).is_file()]
    missing = [name for name in MANUAL_FILES if name not in present]
    if present and missing:
        raise DatasetError(
            f"{manual} holds {', '.join(present)} but not {', '.join(missing)}; tensorflow-datasets' celeb_a "
            "reads all five files (it would fetch the missing ones from Google Drive). Add the missing ones from "
            "the CelebA site."
        )
    if not present and not _resolves("drive.google.com"):
        raise DatasetError(
            f"cannot download CelebA: no network connection to Google Drive (drive.google.com does not resolve). "
            f"Instead, {manual_help(data_dir)}."
        )
    if verbose:
        source = f"the files in {manual}" if present else "Google Drive"
        print(
            f"[keras_wgan] preparing celeb_a from {source} into {builder.data_dir} "
            "(once; about 1.4 GB of images are converted)",
            flush=True,
        )
    try:
        tfds.disable_progress_bar()  # stderr stays for errors; the line above says what is happening
        with _quiet_absl():
            builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
    except (KeyboardInterrupt, SystemExit):
        raise
    except ImportError as err:
        package = (err.name or str(err)).split(".")[0]
        raise DatasetError(
            f"preparing celeb_a needs the Python package {package!r}, which is not installed "
            f"(pip install {package}; keras_wgan's install brings it)"
        ) from err
    except Exception as err:  # tfds raises many types: checksum, network, bad files
        if type(err).__name__ == "NonMatchingChecksumError":
            raise DatasetError(_checksum_message(err, data_dir)) from err
        if not present and _is_network_error(err):
            raise DatasetError(
                f"cannot download CelebA: no network connection to Google Drive ({type(err).__name__}). "
                f"Instead, {manual_help(data_dir)}."
            ) from err
        where = f"from the files in {manual}" if present else "from Google Drive"
        raise DatasetError(
            f"preparing celeb_a {where} failed: {type(err).__name__}: {str(err)[:300]}. {manual_help(data_dir)}."
        ) from err
    return builder


def split_files(builder: Any, split: str) -> tuple[list[str], list[int], list[int]]:
    """The TFRecord files of a prepared split, with the records to skip and take in each.

    Args:
        builder: a prepared ``celeb_a`` builder.
        split: ``train``, ``validation``, ``test`` or a tfds split expression
            (``train[:10%]``, ``validation+test``).

    Returns:
        ``(paths, skips, takes)``; ``sum(takes)`` is the number of examples.

    Raises:
        DatasetError: for a split the dataset does not have.
    """
    try:
        instructions = builder.info.splits[split].file_instructions
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:
        known = ", ".join(builder.info.splits.keys())
        raise DatasetError(f"celeb_a has no split {split!r} ({known}, or expressions such as train[:10%])") from err
    paths = [str(i.filename) for i in instructions]
    skips = [int(i.skip) for i in instructions]
    takes = [int(i.take) if i.take not in (None, -1) else int(i.examples_in_shard) - int(i.skip) for i in instructions]
    return paths, skips, takes


def num_examples(data_dir: str | os.PathLike | None = None, split: str = "train") -> int:
    """Examples in a split, read from the prepared dataset (preparing it first if needed)."""
    return sum(split_files(prepare(data_dir, verbose=False), split)[2])


if __name__ == "__main__":  # pragma: no cover - a convenience: prepare once from the manual folder
    try:
        print(prepare(sys.argv[1] if len(sys.argv) > 1 else None).data_dir)
    except DatasetError as error:
        sys.stderr.write(f"celeba: error: {error}\n")
        sys.exit(2)
