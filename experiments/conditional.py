"""Study 6: conditional generation on digits and MNIST: does the sample match the asked class?

Two questions, each a table:

1. **Conditional against unconditional.** WGAN-GP (the projection critic of
   Miyato & Koyama 2018; the generator takes the labels the library's default
   way, ``DEFAULT_GENERATOR_CONDITIONING``) and
   DCGAN (an auxiliary classifier, AC-GAN, the non-Wasserstein member) on
   ``digits`` and ``mnist``, each also trained unconditionally with the same
   settings. Columns: the share of samples the dataset's classifier assigns to
   the asked class (``asked_class_accuracy``; chance is 10%), the mean over the
   classes of the per-class FID in the classifier's feature space, and the
   unconditional metrics (classes covered, class KL, classifier FID and score),
   so that the cost or gain of conditioning on them is in the same row. The
   conditional models generate for the labels of real samples (the data's class
   frequencies), so their unconditional metrics compare with the unconditional
   models'.
2. **How the generator takes the labels** (``--generator-conditioning``):
   conditional batch normalization (``cbn``) against concatenating the one-hot
   label to ``z`` (``concat``), conditional WGAN-GP on digits. The library's
   default is the one this table favours.

Each run is ``python train.py ... --conditional`` and ``python evaluate.py``;
the figures are each conditional run's class-conditional grid (one row per
class, a latent per column; ``eval/samples.png`` of the first seed).

Writes ``OUT/conditional.md`` (the tables, with this command) and
``OUT/conditional.json``; ``OUT/figures/conditional_*``.

Usage:
    python experiments/conditional.py --data-dir DIR           # the full study (DIR holds mnist.npz)
    python experiments/conditional.py --data-dir DIR --quick   # minutes on 2 CPU cores
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from keras_wgan.config import DEFAULT_GENERATOR_CONDITIONING  # noqa: E402

DATASETS = ("digits", "mnist")
#: (variant, the critic's conditioning): the Wasserstein member with a projection critic, the standard GAN
#: with an auxiliary classifier.
MODELS = (("wgan_gp", "projection"), ("dcgan", "ac"))
GENERATOR_CONDITIONINGS = ("cbn", "concat")


def make_jobs(datasets, seeds, steps: int, width: int, data_dir: str | None) -> list[common.Job]:
    """The runs of both tables (a run both need is made once): conditional and unconditional runs with the
    default generator conditioning, and WGAN-GP on digits with each generator conditioning."""
    settings = [
        (dataset, variant, critic if conditional else "none", DEFAULT_GENERATOR_CONDITIONING if conditional else None)
        for dataset in datasets
        for variant, critic in MODELS
        for conditional in (True, False)
    ]
    settings += [("digits", "wgan_gp", "projection", g) for g in GENERATOR_CONDITIONINGS]
    jobs: dict[str, common.Job] = {}
    for dataset, variant, critic, generator in settings:
        for seed in seeds:
            train = f"--variant {variant} --dataset {dataset} --seed {seed} --steps {steps} --width {width}"
            train = [*train.split(), "--steps-per-epoch", str(min(steps, 500))]
            train += [] if dataset == "digits" else ["--data-dir", data_dir]
            train += [] if generator is None else ["--conditional", critic, "--generator-conditioning", generator]
            name = f"{dataset}_{variant}_{critic}" + ("" if generator is None else f"_{generator}") + f"_s{seed}"
            meta = {"dataset": dataset, "variant": variant, "critic": critic, "generator": generator, "seed": seed}
            metric = "digits" if dataset == "digits" else "mnist"
            jobs[name] = common.Job(name, train, eval_args=["--seed", "0", "--metrics", metric], meta=meta)
    return list(jobs.values())


def _cells(group: list[dict]) -> list:
    m = [r["metrics"] for r in group]
    conditional = "asked_class_accuracy" in m[0]
    return [
        len(group),
        common.mean_range([x["asked_class_accuracy"] for x in m], 100) if conditional else "-",
        common.mean_range([x["per_class_classifier_fid_mean"] for x in m]) if conditional else "-",
        ", ".join(str(x["classes_covered"]) for x in m),
        common.mean_range([x["class_kl"] for x in m]),
        common.mean_range([x["classifier_fid"] for x in m]),
        common.mean_range([x["classifier_score"] for x in m]),
        group[0]["generator_steps"],
        f"{statistics.mean(r['train_seconds'] for r in group) / 60:.1f}",
    ]


HEADERS = [
    "seeds", "asked class % (chance 10)", "per-class classifier FID (mean)", "classes covered (per seed)",
    "class KL", "classifier FID", "classifier score (max 10)", "generator iterations", "train minutes / run",
]  # fmt: skip


def _select(records: list[dict], **meta) -> list[dict]:
    return [r for r in records if all(r["meta"][k] == v for k, v in meta.items())]


def tables(records: list[dict], datasets) -> str:
    """Both tables as markdown."""
    rows = []
    for dataset in datasets:
        for variant, critic in MODELS:
            for label, generator in ((critic, DEFAULT_GENERATOR_CONDITIONING), ("none", None)):
                group = _select(records, dataset=dataset, variant=variant, critic=label, generator=generator)
                if group:
                    what = f"conditional ({label} critic)" if label != "none" else "unconditional"
                    rows.append([dataset, variant, what, *_cells(group)])
    first = common.markdown_table(["dataset", "variant", "model", *HEADERS], rows)
    rows = []
    for generator in GENERATOR_CONDITIONINGS:
        group = _select(records, dataset="digits", variant="wgan_gp", critic="projection", generator=generator)
        if group:
            rows.append([generator, *_cells(group)])
    second = common.markdown_table(["generator conditioning (wgan_gp, projection critic, digits)", *HEADERS], rows)
    return f"{first}\n\n{second}"


def main(argv: list[str] | None = None) -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--data-dir", help="the folder holding MNIST's mnist.npz (Keras' layout); without it: digits")
    parser.add_argument("--width", type=int, help="DCGAN ngf/ndf (full: 16, quick: 8)")
    args = parser.parse_args(argv)
    datasets = DATASETS if args.data_dir else ("digits",)
    data_dir = str(Path(args.data_dir).expanduser().resolve()) if args.data_dir else None
    seeds = common.parse_list(args.seeds, (0,) if args.quick else common.FULL_SEEDS, int)
    steps = args.steps or (20 if args.quick else 2000)
    width = args.width or (8 if args.quick else 16)
    stem = "conditional_quick" if args.quick else "conditional"
    runs = args.runs / stem
    jobs = make_jobs(datasets, seeds, steps, width, data_dir)
    print(f"conditional: {len(jobs)} runs of {steps} generator iterations, width {width}, {args.jobs} at a time")

    # The generator-conditioning runs first (they decide the default), then the longer runs.
    def first(job: common.Job) -> tuple:
        deciding = job.meta["dataset"] == "digits" and job.meta["critic"] == "projection"
        return (not deciding, job.meta["variant"] != "wgan_gp")

    order = sorted(jobs, key=first)
    records = common.run_jobs(order, runs, args.jobs)
    settings = (
        f"The library's DCGAN pair at 32x32, ngf = ndf = {width}, batch 64, each variant's paper optimizer and "
        f"critic steps, {steps} generator iterations; conditional runs: the critic's conditioning as named, "
        f"the generator takes the labels by {DEFAULT_GENERATOR_CONDITIONING} (table 2: both ways); "
        f"samples generated for the labels "
        f"of real samples and scored by the dataset's classifier (1797 for digits, 10,000 for MNIST). Seeds "
        f"{', '.join(map(str, seeds))}. " + common.timing_note(args.jobs)
    )
    common.publish(args.out, stem, settings, tables(records, datasets), records)
    for record in records:
        meta = record["meta"]
        if meta["seed"] == seeds[0] and meta["generator"] is not None:
            name = record["name"].rsplit("_s", 1)[0]
            common.copy_figure(runs / record["name"] / "eval" / "samples.png", args.out / "figures" / f"{name}.png")


if __name__ == "__main__":
    main()
