"""Study 3: every variant on the bundled digits at 32x32 (no download), or on MNIST, several seeds.

Each variant trains with its paper's defaults (``keras_wgan.variants``: DCGAN and
the relativistic GANs Adam 2e-4 (0.5, 0.999), one critic step; WGAN RMSprop 5e-5,
clip 0.01, five critic steps; WGAN-GP Adam 1e-4 (0, 0.9), penalty weight 10,
five critic steps; the newer members as in the README's variants table) and
the DCGAN network pair of the library, made narrower for a CPU budget
(``--width``; 64 is the DCGAN paper's). ``python evaluate.py`` then
computes the digits metrics on 1797 samples (classes covered by confident
classifier predictions, KL between the class histogram and the uniform one,
classifier score, classifier-feature FID, sliced Wasserstein distance, and
precision, recall, density and coverage in the classifier's feature space).
The last row is real data: the classifier's held-out digits measured against
its training digits, the floor of every column.

With ``--data-dir DIR`` (a folder holding Keras' ``mnist.npz``) the same study
runs on MNIST (``--dataset mnist``: 28x28 zero-padded to 32x32): the metrics of
``evaluate.py`` on 10,000 samples in the feature space of the MNIST classifier
(trained once and cached, at least 99% test accuracy), and as the real-data
row the 10,000 test digits measured against 10,000 training digits.

Writes ``OUT/digits.md`` (or ``OUT/mnist.md``; the table, with this command),
``OUT/digits.json`` and, for the first seed, each variant's final samples and
loss curves and the training GIF (``OUT/figures/digits_*``, ``mnist_*``).

Usage:
    python experiments/digits.py                        # the full study
    python experiments/digits.py --quick                # minutes on 2 CPU cores
    python experiments/digits.py --data-dir DIR         # the same on MNIST (DIR holds mnist.npz)
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from keras_wgan import variants as variants_lib  # noqa: E402

VARIANTS = tuple(variants_lib.names())
EMA_DECAY = common.EMA_DECAY


def make_jobs(variants, seeds: dict, steps: int, width: int, data_dir: str | None = None) -> list[common.Job]:
    """One job per (variant, seed); ``seeds`` maps a variant to its seeds; epochs of 100 generator iterations.

    ``data_dir``: None for the bundled digits, else the folder of ``mnist.npz`` (the runs train on ``mnist``).
    """
    epoch = max(1, min(steps, 100))
    dataset = ["--dataset", "digits"] if data_dir is None else ["--dataset", "mnist", "--data-dir", data_dir]
    prefix = dataset[1]
    return [
        common.Job(
            name=f"{prefix}_{variant}_s{seed}",
            train_args=[
                *f"--variant {variant} --seed {seed} --steps {steps} --steps-per-epoch {epoch}".split(),
                *f"--width {width} --ema-decay {EMA_DECAY}".split(),
                *dataset,
            ],
            eval_args=["--seed", "0"],
            extra_evals={"ema": ["--seed", "0", "--ema"]},
            meta={"variant": variant, "seed": seed},
        )
        for variant in variants
        for seed in seeds[variant]
    ]


def real_data_metrics() -> dict:
    """The floor of the table: held-out real digits measured as if they were generated.

    The digits classifier's held-out 20% (360 images) stand in for the samples and
    its 80% training digits (1437) for the data: what real digits score on every
    column.
    """
    from keras_wgan import evaluation as ev
    from keras_wgan.data import digits_images

    images, _ = digits_images(32, 1)
    train_idx, held_idx = ev.digits_split()
    classifier, _ = ev.digits_classifier()
    # The classifier's accuracy stays NaN here, as ``digits_metrics`` reports it for a classifier it is given.
    return _held_out_as_samples(classifier, float("nan"), images[train_idx], images[held_idx])


def mnist_real_data_metrics(data_dir: str, samples: int = 10_000) -> dict:
    """The floor of the MNIST table: ``samples`` test digits measured as if generated, against training digits.

    The columns ``evaluate.py`` computes for a run on ``mnist`` (``samples`` generated
    against as many training digits), with the test digits in place of the samples.
    """
    from keras_wgan import evaluation as ev
    from keras_wgan.data import mnist

    arrays = mnist.load_mnist(data_dir)
    data = mnist.to_images(arrays["x_train"][:samples]).numpy()
    held = mnist.to_images(arrays["x_test"][:samples]).numpy()
    classifier, accuracy = ev.mnist_classifier(data_dir)
    return _held_out_as_samples(classifier, accuracy, data, held)


def _held_out_as_samples(classifier, accuracy: float, data, held) -> dict:
    """Every column of the table for real images ``held`` measured as samples against ``data``.

    The classifier metrics, the SWD (against as many of ``data``) and precision/recall and
    density/coverage in the classifier's feature space, as ``evaluate.py`` computes them.
    """
    from keras_wgan import evaluation as ev

    data_features, held_features = (ev.classifier_outputs(classifier, x)[0] for x in (data, held))
    metrics = ev.class_metrics(held, classifier, data_features, accuracy)
    metrics.update(ev.sliced_wasserstein_distance(data[: len(held)], held, seed=0))
    metrics.update(ev.precision_recall(data_features, held_features, k=3))
    metrics.update(ev.density_coverage(data_features, held_features, k=5))
    return metrics


def table(records: list[dict], variants, real: dict | None = None, real_label: str | None = None) -> str:
    """One row per variant, seeds aggregated (mean, min-max); classes covered per seed; the real-data row last."""
    rows = []
    for variant in variants:
        group = [r for r in records if r["meta"]["variant"] == variant]
        if not group:
            continue
        m = [r["metrics"] for r in group]
        ema = [r["extra_metrics"]["ema"] for r in group]
        rows.append(
            [
                variant,
                len(group),
                ", ".join(str(x["classes_covered"]) for x in m),
                common.mean_range([x["class_kl"] for x in m]),
                common.mean_range([x["classifier_score"] for x in m]),
                common.mean_range([x["classifier_fid"] for x in m]),
                common.mean_range([x["swd_avg"] for x in m]),
                *common.prdc_cells(m),
                ", ".join(str(x["classes_covered"]) for x in ema),
                common.mean_range([x["class_kl"] for x in ema]),
                common.mean_range([x["classifier_fid"] for x in ema]),
                group[0]["generator_steps"],
                f"{statistics.mean(r['train_seconds'] for r in group) / 60:.1f}",
            ]
        )
    if real is not None:
        rows.append(
            [
                real_label or "real digits (held-out 360 vs 1437 training)",
                "-",
                real["classes_covered"],
                common.mean_range([real["class_kl"]]),
                common.mean_range([real["classifier_score"]]),
                common.mean_range([real["classifier_fid"]]),
                common.mean_range([real["swd_avg"]]),
                *common.prdc_cells([real]),
                "-", "-", "-", "-", "-",
            ]
        )  # fmt: skip
    headers = [
        "variant", "seeds", "classes covered (per seed, of 10)", "class KL", "classifier score (max 10)",
        "classifier FID", "SWD (x1e3, avg)", "precision", "recall", "density", "coverage",
        "EMA G: classes", "EMA G: class KL", "EMA G: classifier FID", "generator iterations", "train minutes / run",
    ]  # fmt: skip
    return common.markdown_table(headers, rows)


def main(argv: list[str] | None = None) -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--variants", type=str, help=f"comma-separated subset of {','.join(VARIANTS)}")
    parser.add_argument("--width", type=int, help="DCGAN ngf/ndf (full: 16, quick: 8; the DCGAN paper: 64)")
    parser.add_argument("--data-dir", help="run on MNIST: the folder holding its mnist.npz (Keras' layout)")
    args = parser.parse_args(argv)
    variants = common.parse_choices(parser, args.variants, VARIANTS, "variant")
    seeds = common.seed_plan(args, variants)
    data_dir = None if args.data_dir is None else str(Path(args.data_dir).expanduser().resolve())
    dataset = "digits" if data_dir is None else "mnist"
    # MNIST: the Stacked MNIST study's budget (3000 iterations of 64: 3.2 epochs of 60,000, 16 with 5 critic steps).
    steps = args.steps or (100 if args.quick else (5000 if data_dir is None else 3000))
    width = args.width or (8 if args.quick else 16)
    stem = f"{dataset}_quick" if args.quick else dataset
    runs = args.runs / stem
    jobs = make_jobs(variants, seeds, steps, width, data_dir)
    what = f"{len(jobs)} runs of {steps} generator iterations, width {width}, {args.jobs} at a time"
    print(f"{dataset}: {what}", flush=True)
    # Seed by seed: a study stopped part-way has every variant at its first seeds.
    order = common.seed_by_seed(jobs)
    records = common.run_jobs(order, runs, args.jobs)

    out = args.out
    if data_dir is None:
        body, samples = table(records, variants, real_data_metrics()), 1797
    else:
        real_label = "real MNIST (10,000 test vs 10,000 training digits)"
        body, samples = table(records, variants, mnist_real_data_metrics(data_dir), real_label), 10_000
    settings = (
        f"DCGAN pair at 32x32, ngf = ndf = {width}, batch 64, each variant's paper optimizer and critic steps; "
        f"metrics on {samples} generated samples of the trained generator; 'EMA G' columns: its exponential moving "
        f"average (decay {EMA_DECAY}, `evaluate.py --ema`). Seeds: "
        + common.seeds_note(seeds)
        + ". "
        + common.timing_note(args.jobs)
    )
    common.publish(out, stem, settings, body, records)
    for record in records:
        if record["meta"]["seed"] != seeds[record["meta"]["variant"]][0]:
            continue
        run, variant = runs / record["name"], record["meta"]["variant"]
        common.copy_figure(run / "eval" / "samples.png", out / "figures" / f"{stem}_{variant}_samples.png")
        common.copy_figure(run / "plots" / "losses.png", out / "figures" / f"{stem}_{variant}_losses.png")
        common.copy_gif(run / "samples" / "progress.gif", out / "figures" / f"{stem}_{variant}_progress.gif")


if __name__ == "__main__":
    main()
