"""Study 1: every variant on the 2D toys (8gaussians, 25gaussians, swissroll), several seeds.

Settings follow the WGAN-GP authors' toy script (Gulrajani et al. 2017,
``gan_toy.py``): ReLU MLPs with 3 hidden layers for both networks, batch 256,
2D latent, five critic steps per generator step for the Wasserstein variants
(one for the others), penalty weight 0.1 for WGAN-GP on the toys (WGAN-LP and DRAGAN
take it too), weight
clipping at 0.01 with RMSprop 5e-5 for WGAN; the newer members take their critic
steps, penalty and (for R1) RMSprop from their papers. Two things are changed to fit a
CPU budget, and the table says so: the width (``--width``, 512 in the paper's
script) and the Adam learning rate (``--adam-lr``, 1e-4 in the script). The
main columns evaluate an exponential moving average of the generator (decay
0.999, Yazici et al. 2019), which removes most of the iterate-to-iterate
oscillation of a constant learning rate; the "raw G" columns evaluate the
trained generator itself.

Each run is ``python train.py`` + ``python evaluate.py`` (modes covered, share of
high-quality samples within 3 standard deviations of a mode, exact W1 to real
samples and the W1 between two real sample sets as the floor; precision, recall,
density and coverage of the points). Each dataset's last row measures real points
the same way (``truth_metrics``): the floor of every column. Writes
``OUT/toys.md`` (the table, with this command), ``OUT/toys.json`` and the final
critic landscapes (``OUT/figures/toys_*``).

Usage:
    python experiments/toys.py            # the full study
    python experiments/toys.py --quick    # minutes on 2 CPU cores
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from keras_wgan import variants as variants_lib  # noqa: E402

VARIANTS = tuple(variants_lib.names())
DATASETS = ("25gaussians", "8gaussians", "swissroll")
EMA_DECAY = common.EMA_DECAY


BETAS = ("toy", "paper")


def variant_args(variant: str, adam_lr: float, betas: str = "toy") -> list[str]:
    """train.py options of one variant on the toys: one rule for every member of the family.

    Adam-trained members get Adam ``adam_lr`` with the toy script's (0.5, 0.9) (``betas="toy"``)
    or with their own paper's betas (``betas="paper"``: SNGAN's (0.0, 0.9), WGAN-div's and the
    DCGAN family's (0.5, 0.999)); members the papers train with RMSprop (``wgan``, ``r1``) keep
    their paper's RMSprop. Critic steps and the penalty come from the registry's toy defaults
    (``PaperDefaults.for_toys``: WGAN-GP's, WGAN-LP's and DRAGAN's lambda 0.1 from the toy
    script, the others their papers' values).
    """
    defaults = variants_lib.get(variant).paper_defaults.for_toys()
    args = ["--n-critic", str(defaults.n_critic)]
    if defaults.optimizer == "adam":
        beta_1, beta_2 = (0.5, 0.9) if betas == "toy" else (defaults.beta_1, defaults.beta_2)
        args += ["--optimizer", "adam", "--lr", str(adam_lr), "--beta1", f"{beta_1:g}", "--beta2", f"{beta_2:g}"]
    else:
        args += ["--optimizer", defaults.optimizer, "--lr", f"{defaults.learning_rate:g}"]
    if defaults.clip_value is not None:
        args += ["--clip-value", f"{defaults.clip_value:g}"]
    if defaults.gp_weight is not None:
        args += ["--gp-weight", f"{defaults.gp_weight:g}"]
    if defaults.penalty_power is not None:
        args += ["--penalty-power", f"{defaults.penalty_power:g}"]
    return args


def make_jobs(
    datasets, variants, seeds: dict, steps: int, width: int, adam_lr: float, betas: str = "toy"
) -> list[common.Job]:
    """One job per (dataset, variant, seed); ``seeds`` maps a dataset to its seeds."""
    jobs = []
    epoch = max(1, min(steps, 1000))
    for dataset in datasets:
        for variant in variants:
            for seed in seeds[dataset]:
                train = [
                    "--variant", variant, "--dataset", dataset, "--seed", str(seed),
                    "--steps", str(steps), "--steps-per-epoch", str(epoch),
                    "--width", str(width), "--depth", "3", "--batch-size", "256",
                    "--ema-decay", str(EMA_DECAY), *variant_args(variant, adam_lr, betas),
                ]  # fmt: skip
                jobs.append(
                    common.Job(
                        name=f"{dataset}_{variant}_s{seed}",
                        train_args=train,
                        eval_args=["--seed", "0", "--ema"],
                        extra_evals={"raw": ["--seed", "0"]},
                        meta={"dataset": dataset, "variant": variant, "seed": seed},
                    )
                )
    return jobs


def truth_metrics(dataset: str, samples: int = 2500) -> dict:
    """The floor of a dataset's columns: real points measured as if they were generated.

    ``samples`` points of the dataset's stream with seed 2 stand in for the samples and as
    many with seed 1 for the data, measured as ``evaluate.py`` measures a toy run (modes and
    high quality on the mixtures, exact W1 on 2000 points, precision/recall with k = 3 and
    density/coverage with k = 5 on the points). A real 2D Gaussian has
    ``1 - exp(-4.5) = 98.9%`` of its points within 3 standard deviations of its centre, so
    that is the ceiling of the high-quality column.

    Returns:
        The metrics, with the keys of a run's ``eval/metrics.json``.
    """
    import numpy as np

    from keras_wgan import evaluation as ev
    from keras_wgan.data import registry, toy_dataset

    def draw(seed: int) -> np.ndarray:
        batches = toy_dataset(dataset, 500, seed=seed).take(-(-samples // 500)).as_numpy_iterator()
        return np.concatenate(list(batches))[:samples]

    data, held = draw(1), draw(2)
    shape = registry.get(dataset).toy
    metrics: dict = {}
    if shape.centres is not None:
        metrics.update(ev.mixture_metrics(held, shape.centres, shape.std))
    n_ot = min(samples, 2000)
    metrics["w1"] = ev.wasserstein1_exact(held[:n_ot], data[:n_ot])
    metrics.update(ev.precision_recall(data, held, k=3))
    metrics.update(ev.density_coverage(data, held, k=5))
    return metrics


def table(records: list[dict], datasets, variants, truth: dict | None = None) -> str:
    """The markdown table: one row per dataset and variant, seeds aggregated (mean, min-max).

    ``truth`` maps a dataset to its ``truth_metrics``: a last row per dataset, the floor
    of every column (its W1 / floor divides by the variants' mean floor).
    """
    rows = []
    for dataset in datasets:
        for variant in variants:
            group = [r for r in records if r["meta"]["dataset"] == dataset and r["meta"]["variant"] == variant]
            if not group:
                continue
            m = [r["metrics"] for r in group]
            modes = "-" if "modes" not in m[0] else ", ".join(f"{x['modes']}/{x['modes_total']}" for x in m)
            hq = "-" if "high_quality" not in m[0] else common.mean_range([x["high_quality"] for x in m], 100)
            ratio = [x["w1"] / x["w1_true_vs_true"] for x in m]
            raw = [r["extra_metrics"]["raw"] for r in group]
            raw_hq = "-" if "high_quality" not in raw[0] else common.mean_range([x["high_quality"] for x in raw], 100)
            raw_ratio = common.mean_range([x["w1"] / x["w1_true_vs_true"] for x in raw])
            rows.append(
                [
                    dataset,
                    variant,
                    len(group),
                    modes,
                    hq,
                    common.mean_range([x["w1"] for x in m]),
                    common.mean_range([x["w1_true_vs_true"] for x in m]),
                    common.mean_range(ratio),
                    *common.prdc_cells(m),
                    raw_hq,
                    raw_ratio,
                    group[0]["generator_steps"],
                    f"{statistics.mean(r['train_seconds'] for r in group) / 60:.1f}",
                ]
            )
        if truth is not None and dataset in truth:
            t = truth[dataset]
            floors = [r["metrics"]["w1_true_vs_true"] for r in records if r["meta"]["dataset"] == dataset]
            modes = f"{t['modes']}/{t['modes_total']}" if "modes" in t else "-"
            hq = common.mean_range([t["high_quality"]], 100) if "high_quality" in t else "-"
            ratio = common.mean_range([t["w1"] / statistics.mean(floors)]) if floors else "-"
            cells = [modes, hq, common.mean_range([t["w1"]]), "-", ratio, *common.prdc_cells([t])]
            rows.append([dataset, "truth (2500 other real points)", "-", *cells, "-", "-", "-", "-"])
    headers = [
        "dataset", "variant", "seeds", "modes covered (per seed)", "high-quality %",
        "W1 to truth", "W1 floor (truth vs truth)", "W1 / floor", "precision", "recall", "density", "coverage",
        "raw G: high-quality %", "raw G: W1 / floor",
        "generator iterations", "train minutes / run",
    ]  # fmt: skip
    return common.markdown_table(headers, rows)


def main(argv: list[str] | None = None) -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--datasets", type=str, help=f"comma-separated subset of {','.join(DATASETS)}")
    parser.add_argument("--variants", type=str, help=f"comma-separated subset of {','.join(VARIANTS)}")
    parser.add_argument("--width", type=int, help="MLP width (full: 128, quick: 64; the paper's script: 512)")
    parser.add_argument("--adam-lr", type=float, default=1e-3, help="Adam learning rate (paper's script: 1e-4)")
    parser.add_argument(
        "--betas",
        choices=BETAS,
        default="toy",
        help="Adam's betas: the toy script's (0.5, 0.9) for every Adam member (default), or each member's paper's",
    )
    args = parser.parse_args(argv)
    datasets = common.parse_choices(parser, args.datasets, DATASETS, "dataset")
    variants = common.parse_choices(parser, args.variants, VARIANTS, "variant")
    seeds = common.seed_plan(args, datasets)
    steps = args.steps or (300 if args.quick else 12000)
    width = args.width or (64 if args.quick else 128)
    stem = "toys_quick" if args.quick else "toys"
    # Runs with the papers' betas live beside the default study's, never in place of them.
    runs = args.runs / (stem + ("_paper_betas" if args.betas == "paper" else ""))
    jobs = make_jobs(datasets, variants, seeds, steps, width, args.adam_lr, args.betas)
    print(f"toys: {len(jobs)} runs of {steps} generator iterations, width {width}, {args.jobs} at a time", flush=True)
    records = common.run_jobs(common.seed_by_seed(jobs), runs, args.jobs)

    out = args.out
    body = table(records, datasets, variants, {d: truth_metrics(d) for d in datasets})
    betas_note = "(0.5, 0.9)"
    if args.betas == "paper":
        betas_note = "with each paper's betas (sngan 0.0, 0.9; the others 0.5, 0.9 or 0.999)"
    settings = (
        f"MLP {width}x3 (ReLU) for both networks, batch 256, 2D latent; each variant's critic steps per generator "
        f"step and penalty from its paper (wgan_gp, wgan_lp and dragan: the toy script's lambda 0.1); wgan: "
        f"RMSprop 5e-5, clip 0.01; r1: RMSprop 1e-4; the others Adam {args.adam_lr:g} {betas_note}. Main columns: "
        f"the generator's exponential moving average (decay {EMA_DECAY}, `evaluate.py --ema`); 'raw G' columns: "
        f"the trained generator itself. Evaluated on 2500 samples (exact W1 on 2000); each dataset's last row: "
        f"2500 real points measured the same way, the floor of every column. "
        f"Seeds: {common.seeds_note(seeds)}. " + common.timing_note(args.jobs)
    )
    common.publish(out, stem, settings, body, records)
    # The final critic landscape of each variant on each dataset (first seed).
    for record in records:
        meta = record["meta"]
        if meta["seed"] != seeds[meta["dataset"]][0]:
            continue
        pictures = sorted((runs / record["name"] / "plots").glob("critic_[0-9]*.png"))
        if pictures:
            name = f"{stem}_{meta['dataset']}_{meta['variant']}.png"
            common.copy_figure(pictures[-1], out / "figures" / name)


if __name__ == "__main__":
    main()
