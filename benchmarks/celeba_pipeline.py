"""CelebA's input pipelines at full size: memory, start-up, throughput, resume.

On a synthetic CelebA with the real file names, formats and count (202,599
images, written by ``keras_wgan.data.synthetic_celeba``), for the tensorflow-datasets
path (``--dataset celeb_a``) and the image-folder path
(``--dataset folder:.../img_align_celeba --crop 140``), each measurement in a
process of its own:

- ``prepare``: the one-time tfds preparation (zip -> TFRecords) and the unzip.
- time to the first batch of a fresh start (tfds: prepared; folder: the first
  start scans the 202,599 files, the second reads the scan cache);
- steady images/s of ``make_dataset(..., repeat=True)`` (batch 64 x n_critic 5,
  64 px) as a ratio to a bare read+decode+crop+resize loop over the same files
  (TFRecords or JPEG files) measured in the same run (goal >= 0.8);
- peak RSS growth of the process from just before the pipeline is built
  (goal <= 2 GiB);
- time to the first batch when resuming at generator step 20,000
  (``start_sample = 20,000 * 64 * 5``; goal <= 10 s).

Usage:
    python benchmarks/celeba_pipeline.py --work /data/celeba_bench          # full size (~3 GB disk, ~30 min)
    python benchmarks/celeba_pipeline.py --work /tmp/cb --num-images 5000   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

BATCH, N_CRITIC, IMAGE_SIZE, CROP = 64, 5, 64, 140
RESUME_STEP = 20_000


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _drain(iterator, batches: int) -> None:
    batch = None
    for _ in range(batches):
        batch = next(iterator)
    float(batch[0, 0, 0, 0])


# ------------------------------------------------------------ workers (own process each)
def worker(args: argparse.Namespace) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from keras_wgan import data

    work = Path(args.work)
    name = "celeb_a" if args.path == "tfds" else f"folder:{work / 'folder' / 'img_align_celeba'}"
    kwargs = {"batch_size": BATCH, "n_critic": N_CRITIC, "image_size": IMAGE_SIZE, "crop": CROP, "repeat": True}
    if args.path == "tfds":
        kwargs["data_dir"] = str(work / "tfds")
    result: dict = {"measure": args.measure, "path": args.path}
    base = _rss_mb()
    if args.measure in ("start", "steady", "resume"):
        start = RESUME_STEP * BATCH * N_CRITIC if args.measure == "resume" else 0
        t0 = time.perf_counter()
        ds = data.make_dataset(name, start_sample=start, **kwargs)
        it = iter(ds)
        _drain(it, 1)
        result["first_batch_s"] = time.perf_counter() - t0
        if args.measure == "steady":
            _drain(it, 5)
            t0 = time.perf_counter()
            _drain(it, args.batches)
            result["images_per_s"] = args.batches * BATCH * N_CRITIC / (time.perf_counter() - t0)
    elif args.measure == "bare":
        # The same work without the library: read, decode, crop, resize, batch.
        def crop_resize(image):
            h, w = tf.shape(image)[0], tf.shape(image)[1]
            top, left = (h - CROP) // 2, (w - CROP) // 2
            image = tf.cast(image[top : top + CROP, left : left + CROP], tf.float32)
            return tf.image.resize(image, [IMAGE_SIZE, IMAGE_SIZE], antialias=True) / 127.5 - 1.0

        if args.path == "tfds":
            files = sorted(str(p) for p in (work / "tfds" / "celeb_a" / "2.1.0").glob("celeb_a-train.tfrecord-*"))
            spec = {"image": tf.io.FixedLenFeature([], tf.string)}
            raw = tf.data.TFRecordDataset(files, num_parallel_reads=tf.data.AUTOTUNE).repeat()
            encoded = raw.map(lambda r: tf.io.parse_single_example(r, spec)["image"])
        else:
            files = sorted(str(p) for p in (work / "folder" / "img_align_celeba").glob("*.jpg"))
            encoded = tf.data.Dataset.from_tensor_slices(files).repeat().map(tf.io.read_file)
        ds = encoded.map(lambda e: crop_resize(tf.io.decode_jpeg(e, channels=3)), num_parallel_calls=tf.data.AUTOTUNE)
        it = iter(ds.batch(BATCH * N_CRITIC).prefetch(tf.data.AUTOTUNE))
        _drain(it, 5)
        t0 = time.perf_counter()
        _drain(it, args.batches)
        result["images_per_s"] = args.batches * BATCH * N_CRITIC / (time.perf_counter() - t0)
    elif args.measure == "prepare":
        from keras_wgan.data import celeba_prepare as celeba

        t0 = time.perf_counter()
        celeba.prepare(work / "tfds")
        result["seconds"] = time.perf_counter() - t0
    result["rss_growth_mb"] = _peak_rss_mb() - base
    return result


# -------------------------------------------------------------------- driver
def run_worker(script: Path, args: argparse.Namespace, path: str, measure: str, env: dict | None = None) -> dict:
    cmd = [sys.executable, str(script), "--worker", "--work", args.work, "--path", path, "--measure", measure]
    cmd += ["--batches", str(args.batches)]
    code = "from keras_wgan.data.synthetic_celeba import accept_synthetic_checksums as a\n"
    if measure == "prepare":  # synthetic files cannot match the official checksums: that comparison only is off
        cmd = [
            sys.executable,
            "-c",
            f"{code}import runpy, sys\nsys.argv={cmd[1:]!r}\nwith a():\n"
            f"    runpy.run_path({str(script)!r}, run_name='__main__')",
        ]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"{path}/{measure} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", required=True, help="folder for the synthetic files, tfds data and unzipped images")
    parser.add_argument("--num-images", type=int, default=202_599)
    parser.add_argument("--batches", type=int, default=40, help="batches of 320 images for the steady rates")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return

    from keras_wgan.data import synthetic_celeba

    work, script = Path(args.work), Path(__file__).resolve()
    manual = work / "tfds" / "downloads" / "manual"
    results: dict = {"num_images": args.num_images}
    if not (manual / "img_align_celeba.zip").is_file():
        t0 = time.perf_counter()
        synthetic_celeba.write_celeba_files(manual, args.num_images, progress=True)
        results["generate_s"] = time.perf_counter() - t0
    if not (work / "tfds" / "celeb_a" / "2.1.0" / "dataset_info.json").is_file():
        results["tfds_prepare"] = run_worker(script, args, "tfds", "prepare")
    if not (work / "folder" / "img_align_celeba").is_dir():
        t0 = time.perf_counter()
        with zipfile.ZipFile(manual / "img_align_celeba.zip") as archive:
            archive.extractall(work / "folder")
        results["unzip_s"] = time.perf_counter() - t0

    cache = {"KERAS_WGAN_CACHE": str(work / f"scan_cache_{time.time_ns()}")}  # a fresh scan cache: first start
    results["folder_first_start"] = run_worker(script, args, "folder", "start", cache)
    results["folder_second_start"] = run_worker(script, args, "folder", "start", cache)
    for path in ("tfds", "folder"):
        env = cache if path == "folder" else None
        results[f"{path}_start"] = run_worker(script, args, path, "start", env)
        results[f"{path}_bare"] = run_worker(script, args, path, "bare", env)
        results[f"{path}_steady"] = run_worker(script, args, path, "steady", env)
        results[f"{path}_resume"] = run_worker(script, args, path, "resume", env)
        results[f"{path}_ratio"] = results[f"{path}_steady"]["images_per_s"] / results[f"{path}_bare"]["images_per_s"]
    out = work / "celeba_pipeline.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    for path in ("tfds", "folder"):
        print(
            f"{path}: first batch {results[f'{path}_start']['first_batch_s']:.1f} s, "
            f"steady {results[f'{path}_steady']['images_per_s']:.0f} img/s = {results[f'{path}_ratio']:.2f}x bare, "
            f"peak RSS growth {results[f'{path}_steady']['rss_growth_mb']:.0f} MB, "
            f"resume at step {RESUME_STEP}: {results[f'{path}_resume']['first_batch_s']:.1f} s"
        )


if __name__ == "__main__":
    main()
