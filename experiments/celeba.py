"""Study 4: the CelebA 64x64 recipe, with the time per generator iteration measured here.

CelebA cannot be downloaded on the machines this project is developed on, so
this study does not train on it. It measures what can be measured offline: the
wall time of one generator iteration of the exact CelebA configuration
(64x64x3, batch 64, the DCGAN pair at width 64, each variant's defaults) on
random images (the step's cost does not depend on the pixels), and turns it
into time per epoch (one pass over CelebA's 162,770 training images). It writes
``OUT/celeba.md`` with those numbers, the commands to run on a GPU machine, and
the published reference FIDs (Lucic et al. 2018), which were *not* reproduced
here.

Usage:
    python experiments/celeba.py            # times 3 iterations per variant
    python experiments/celeba.py --quick    # narrow networks, a smoke run
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

CELEBA_TRAIN_IMAGES = 162_770
VARIANTS = ("dcgan", "wgan", "wgan_gp")
# Lucic et al. 2018, "Are GANs Created Equal?", CelebA 64x64, FID of the best models
# (their protocol: center crop 160, 10k samples, the original FID Inception graph).
PUBLISHED_FID = {"dcgan": ("NS GAN", 55), "wgan": ("WGAN", 41), "wgan_gp": ("WGAN GP", 30)}


def time_iterations(variant: str, steps: int, width: int) -> tuple[float, int]:
    """Seconds per generator iteration of the CelebA configuration, and the critic steps per iteration."""
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_wgan import builders
    from keras_wgan.config import TrainConfig

    config = TrainConfig(variant=variant, dataset="celeb_a", width=width).resolve()
    keras.utils.set_random_seed(0)
    model = builders.build_model(config)
    n = config.batch_size * config.n_critic
    images = np.random.default_rng(0).uniform(-1, 1, (n, 64, 64, 3)).astype(np.float32)
    ds = tf.data.Dataset.from_tensors(images).repeat()
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)  # trace outside the timing
    t0 = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    return (time.perf_counter() - t0) / steps, config.n_critic


RECIPE = """\
### Commands (GPU machine)

```bash
python -m pip install -e ".[cuda]"
# CelebA: put img_align_celeba.zip, list_eval_partition.txt, list_attr_celeba.txt,
# list_landmarks_align_celeba.txt and identity_CelebA.txt in ~/tensorflow_datasets/downloads/manual/
# (see the README), then (25 epochs = 25 x 508 = 12,700 WGAN-GP generator iterations):
python train.py --variant wgan_gp --dataset celeb_a --crop 160 --epochs 25 --out runs/celeba_wgan_gp
python train.py --variant wgan    --dataset celeb_a --crop 160 --epochs 25 --out runs/celeba_wgan
python train.py --variant dcgan   --dataset celeb_a --crop 160 --epochs 25 --out runs/celeba_dcgan
# FID/KID/IS/SWD/prdc on 10k samples with the original FID Inception graph (downloaded once):
python evaluate.py runs/celeba_wgan_gp
python evaluate.py runs/celeba_wgan
python evaluate.py runs/celeba_dcgan
```

The budget: an epoch is one pass over the 162,770 training images, 162,770 / (64 x 5) = 508
generator iterations for WGAN and WGAN-GP (2,543 for DCGAN, one critic step), so 25 epochs are
about 12,700 WGAN-GP generator iterations. The papers these FIDs come from trained longer;
raise `--epochs` (or give `--steps`) to match a paper's budget before comparing with it.
`--crop 160` matches Lucic et al.'s protocol (the library's default is 140). `evaluate.py`
uses the original FID Inception graph (downloaded once, or `--inception-graph PATH` offline);
with `--inception-weights imagenet` (Keras' InceptionV3) the FIDs are not comparable to
published ones. Runs resume when the same command is run again.
"""


def main(argv: list[str] | None = None) -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--width", type=int, help="DCGAN ngf/ndf (default 64 as on CelebA; quick 8)")
    parser.add_argument("--variants", type=str, help=f"comma-separated subset of {','.join(VARIANTS)}")
    args = parser.parse_args(argv)
    variants = common.parse_choices(parser, args.variants, VARIANTS, "variant")
    steps = args.steps or (1 if args.quick else 3)
    width = args.width or (8 if args.quick else 64)
    stem = "celeba_quick" if args.quick else "celeba"
    rows, measured = [], {}
    for variant in variants:
        seconds, n_critic = time_iterations(variant, steps, width)
        per_epoch = CELEBA_TRAIN_IMAGES // (64 * n_critic)
        measured[variant] = {"seconds_per_iteration": seconds, "n_critic": n_critic, "iterations_per_epoch": per_epoch}
        name, fid = PUBLISHED_FID[variant]
        rows.append(
            [variant, n_critic, per_epoch, f"{seconds:.2f}", f"{seconds * per_epoch / 3600:.1f}", "not measured",
             f"{name}: {fid}", "not measured"]
        )  # fmt: skip
        print(f"{variant}: {seconds:.2f} s per generator iteration", flush=True)
    headers = [
        "variant", "critic steps", "generator iterations / epoch", "CPU s / iteration (measured here)",
        "CPU hours / epoch (extrapolated)", "GPU time / epoch", "published FID (Lucic et al. 2018)", "our FID",
    ]  # fmt: skip
    cpu = f"{os.cpu_count()} CPU cores, TensorFlow on the CPU"
    body = common.markdown_table(headers, rows)
    settings = (
        f"Measured here ({cpu}): the time of {steps} generator iterations per variant of the CelebA configuration "
        f"(64x64x3, batch 64, DCGAN pair at width {width}, each variant's defaults) on random images. "
        f"An epoch is one pass over the {CELEBA_TRAIN_IMAGES:,} training images: "
        f"{CELEBA_TRAIN_IMAGES:,} / (64 x critic steps) generator iterations. Not measured: anything on CelebA "
        f"itself (it cannot be downloaded here), GPU times, FIDs."
    )
    common.publish(args.out, stem, settings, body, measured, extra="\n" + RECIPE)


if __name__ == "__main__":
    main()
