"""Study 5: mode collapse on Stacked MNIST, every variant, several seeds, beside PacGAN's published table.

Stacked MNIST (Metz et al. 2017; the protocol of Lin et al. 2018, "PacGAN",
section 5.1): three MNIST digits drawn independently as the R, G, B channels of
one 32x32 image (28x28 padded), 1,000 equally likely modes; 128,000 training
triples drawn once; 26,000 samples scored. Each channel of a sample is
classified by a CNN trained on MNIST (its test accuracy, at least 99%, in the
table's notes); a mode is the triple of digits. The columns: ``modes`` (of
1,000) and ``KL`` (generated mode histogram against the uniform one), as VEEGAN
and PacGAN compute them; beside them the share of samples whose three digits
are each recognized with probability >= 0.9 and the modes among those (blurry
samples the classifier guesses at would otherwise count as covered modes);
the sliced Wasserstein distance to the training images.

Two settings:

- the standard one (PacGAN Table 2): every variant with its paper's optimizer
  and critic steps, the library's DCGAN pair at 32x32 (``--width``, generator and
  critic alike);
- the harder one of Metz et al. (PacGAN Table 3): the critic at a quarter and
  at half the generator's width (``--critic-width``), for DCGAN and WGAN-GP.

The last rows: real data (26,000 stacked *test* digits against the classifier)
and the published numbers (PacGAN Tables 2 and 3), with the differences in
protocol said in the text.

Writes ``OUT/stacked_mnist.md`` (the tables, with this command) and
``OUT/stacked_mnist.json``, and for the first seed each variant's samples
(``OUT/figures/stacked_mnist_*``).

Usage:
    python experiments/stacked_mnist.py --data-dir DIR            # the full study (DIR holds mnist.npz)
    python experiments/stacked_mnist.py --data-dir DIR --quick    # minutes on 2 CPU cores
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from keras_wgan import variants as variants_lib  # noqa: E402

VARIANTS = tuple(variants_lib.names())
#: The harder setting's variants: the standard GAN and the Wasserstein GAN with the penalty.
HARDER_VARIANTS = ("dcgan", "wgan_gp")
#: The critic's width as a fraction of the generator's in the harder setting (PacGAN Table 3).
HARDER_FRACTIONS = (4, 2)  # a quarter, a half

#: PacGAN (Lin et al. 2018) Table 2: modes (of 1,000) and KL, 26,000 samples, the discriminator as wide
#: as the generator (their DCGAN-style networks, trained to their paper's length).
PUBLISHED_TABLE_2 = (
    ("DCGAN", 99.0, 3.40),
    ("ALI", 16.0, 5.40),
    ("Unrolled GAN", 48.7, 4.32),
    ("VEEGAN", 150.0, 2.95),
    ("PacDCGAN2", 1000.0, 0.06),
)
#: PacGAN Table 3: modes with the discriminator at 1/4 and 1/2 of the generator's size (Metz et al.'s setting).
PUBLISHED_TABLE_3 = (
    ("DCGAN", 30.6, 628.0),
    ("Unrolled GAN, 10 steps", 327.2, 817.4),
)


#: Samples of the SWD column: the sliced Wasserstein distance of 26,000 stacked samples took 11 minutes per
#: run on one CPU thread (2026-11-30), longer than the run's training; the modes are counted on all 26,000.
SWD_SAMPLES = 2048


def make_jobs(
    variants, harder, seeds, steps: int, width: int, data_dir: str, samples: int, swd_samples: int = SWD_SAMPLES
) -> list[common.Job]:
    """The runs: every variant at full critic width, and the harder setting's variants at 1/4 and 1/2.

    Each run is evaluated twice: ``modes`` on ``samples`` samples, ``swd`` on ``swd_samples``.
    """
    epoch = max(1, min(steps, 500))
    settings = [(v, 1) for v in variants] + [(v, f) for f in HARDER_FRACTIONS for v in harder]
    jobs = []
    for variant, fraction in settings:
        critic = max(1, width // fraction)
        for seed in seeds:
            suffix = "" if fraction == 1 else f"_critic1of{fraction}"
            jobs.append(
                common.Job(
                    name=f"stacked_{variant}{suffix}_s{seed}",
                    train_args=[
                        *f"--variant {variant} --dataset stacked_mnist --seed {seed} --steps {steps}".split(),
                        *f"--steps-per-epoch {epoch} --width {width} --critic-width {critic}".split(),
                        "--data-dir",
                        data_dir,
                    ],
                    eval_args=["--seed", "0", "--metrics", "modes", "--num-samples", str(samples)],
                    extra_evals={"swd": ["--seed", "0", "--metrics", "swd", "--num-samples", str(swd_samples)]},
                    meta={"variant": variant, "seed": seed, "critic_fraction": fraction},
                )
            )
    return jobs


def real_data_metrics(data_dir: str, samples: int = 26_000, swd_samples: int = SWD_SAMPLES) -> dict:
    """The floor: ``samples`` stacked MNIST *test* digits (drawn as the training triples are) scored as samples.

    The SWD compares the first ``swd_samples`` of them with as many training triples, as the runs' column does.
    """
    from keras_wgan import evaluation as ev
    from keras_wgan.data import mnist

    arrays = mnist.load_mnist(data_dir)
    triples = mnist.stacked_triples(arrays["y_test"], size=samples, seed=mnist.STACKED_SEED + 1)
    images = mnist.stacked_images(arrays["x_test"], triples)
    classifier, accuracy = ev.mnist_classifier(data_dir)
    metrics = ev.stacked_mnist_modes(ev.classifiers.stacked_probabilities(classifier, images))
    train = mnist.stacked_triples(arrays["y_train"], size=samples)
    n = min(samples, swd_samples)
    train_images = mnist.stacked_images(arrays["x_train"], train[:n])
    metrics.update(ev.sliced_wasserstein_distance(train_images, images[:n], seed=0))
    metrics["classifier_accuracy"] = accuracy
    return metrics


def _row(label: str, fraction: int, group: list[dict]) -> list:
    m = [r["metrics"] for r in group]
    return [
        label,
        "1" if fraction == 1 else f"1/{fraction}",
        len(group),
        common.mean_range([x["modes"] for x in m], digits=4),
        ", ".join(str(x["modes"]) for x in m),
        common.mean_range([x["kl"] for x in m]),
        common.mean_range([100 * x["confident_share"] for x in m]),
        common.mean_range([x["confident_modes"] for x in m], digits=4),
        common.mean_range([r["extra_metrics"]["swd"]["swd_avg"] for r in group]),
        group[0]["generator_steps"],
        f"{statistics.mean(r['train_seconds'] for r in group) / 60:.1f}",
    ]


HEADERS = [
    "variant", "critic width", "seeds", "modes (of 1000)", "modes per seed", "KL", "confident samples %",
    "modes among confident", "SWD (x1e3, avg)", "generator iterations",
    "train minutes / run",
]  # fmt: skip


def tables(records: list[dict], variants, real: dict | None) -> str:
    """The study's table (one row per variant and critic width, seeds aggregated), real data, published rows."""
    rows = []
    for fraction in (1, *HARDER_FRACTIONS):
        for variant in variants:
            group = [r for r in records if r["meta"]["variant"] == variant and r["meta"]["critic_fraction"] == fraction]
            if group:
                rows.append(_row(variant, fraction, group))
    if real is not None:
        rows.append(
            [
                f"real data: {real['samples']:,} stacked test digits", "-", "-", real["modes"], "-",
                f"{real['kl']:.3g}", f"{100 * real['confident_share']:.3g}", real["confident_modes"],
                f"{real['swd_avg']:.3g}", "-", "-",
            ]
        )  # fmt: skip
    body = common.markdown_table(HEADERS, rows)
    published = [[name, "1", "-", modes, "-", kl, "-", "-", "-", "-", "-"] for name, modes, kl in PUBLISHED_TABLE_2]
    for name, quarter, half in PUBLISHED_TABLE_3:
        published += [[name, "1/4", "-", quarter, "-", "-"] + ["-"] * 5, [name, "1/2", "-", half, "-", "-"] + ["-"] * 5]
    body += "\nPublished (PacGAN, Lin et al. 2018, Tables 2 and 3; their networks and training length):\n\n"
    body += common.markdown_table(HEADERS, published)
    return body


def main(argv: list[str] | None = None) -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--data-dir", required=True, help="the folder holding MNIST's mnist.npz (Keras' layout)")
    parser.add_argument("--variants", type=str, help=f"comma-separated subset of {','.join(VARIANTS)}")
    parser.add_argument(
        "--harder-variants",
        type=str,
        help=f"variants of the harder setting (default {','.join(HARDER_VARIANTS)}; none: no harder rows)",
    )
    parser.add_argument("--width", type=int, help="the generator's ngf and the critic's ndf (full: 16, quick: 8)")
    args = parser.parse_args(argv)
    variants = common.parse_choices(parser, args.variants, VARIANTS, "variant")
    harder = (
        []
        if args.harder_variants == "none"
        else common.parse_choices(parser, args.harder_variants, HARDER_VARIANTS, "variant")
    )
    seeds = common.parse_list(args.seeds, (0,) if args.quick else (0, 1, 2), int)
    steps = args.steps or (20 if args.quick else 3000)
    width = args.width or (8 if args.quick else 16)
    data_dir = str(Path(args.data_dir).expanduser().resolve())
    stem = "stacked_mnist_quick" if args.quick else "stacked_mnist"
    runs = args.runs / stem
    samples = 1_000 if args.quick else 26_000  # PacGAN scores 26,000
    swd_samples = min(samples, SWD_SAMPLES)
    jobs = make_jobs(variants, harder, seeds, steps, width, data_dir, samples, swd_samples)
    print(f"stacked_mnist: {len(jobs)} runs of {steps} generator iterations, width {width}, {args.jobs} at a time")
    order = common.seed_by_seed(jobs)
    records = common.run_jobs(order, runs, args.jobs)
    real = real_data_metrics(data_dir, samples, swd_samples)
    harder_note = f" (the harder rows: {width // 4} and {width // 2})" if harder else ""
    settings = (
        f"The library's DCGAN pair at 32x32x3, ngf = {width}, ndf = {width}{harder_note}, batch 64, each "
        f"variant's paper optimizer and critic steps, {steps} generator iterations "
        f"(with n_critic critic updates each), seeds {', '.join(map(str, seeds))}; {samples:,} samples of the "
        f"trained generator ({swd_samples:,} for the SWD); "
        f"the MNIST classifier's test accuracy: {real['classifier_accuracy']:.4f}. " + common.timing_note(args.jobs)
    )
    common.publish(args.out, stem, settings, tables(records, variants, real), {"runs": records, "real": real})
    for record in records:
        meta = record["meta"]
        if meta["seed"] == seeds[0] and meta["critic_fraction"] == 1:
            src = runs / record["name"] / "eval" / "samples.png"
            common.copy_figure(src, args.out / "figures" / f"{stem}_{meta['variant']}_samples.png")


if __name__ == "__main__":
    main()
