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
density and coverage of the points). Writes
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


def variant_args(variant: str, adam_lr: float) -> list[str]:
    """train.py options of one variant on the toys: one rule for every member of the family.

    Adam-trained members get Adam ``adam_lr`` with the toy script's (0.5, 0.9); members the
    papers train with RMSprop (``wgan``, ``r1``) keep their paper's RMSprop. Critic steps and
    the penalty come from the registry's toy defaults (``PaperDefaults.for_toys``: WGAN-GP's,
    WGAN-LP's and DRAGAN's lambda 0.1 from the toy script, the others their papers' values).
    """
    defaults = variants_lib.get(variant).paper_defaults.for_toys()
    args = ["--n-critic", str(defaults.n_critic)]
    if defaults.optimizer == "adam":
        args += ["--optimizer", "adam", "--lr", str(adam_lr), "--beta1", "0.5", "--beta2", "0.9"]
    else:
        args += ["--optimizer", defaults.optimizer, "--lr", f"{defaults.learning_rate:g}"]
    if defaults.clip_value is not None:
        args += ["--clip-value", f"{defaults.clip_value:g}"]
    if defaults.gp_weight is not None:
        args += ["--gp-weight", f"{defaults.gp_weight:g}"]
    if defaults.penalty_power is not None:
        args += ["--penalty-power", f"{defaults.penalty_power:g}"]
    return args


def make_jobs(datasets, variants, seeds: dict, steps: int, width: int, adam_lr: float) -> list[common.Job]:
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
                    "--ema-decay", str(EMA_DECAY), *variant_args(variant, adam_lr),
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


def table(records: list[dict], datasets, variants) -> str:
    """The markdown table: one row per dataset and variant, seeds aggregated (mean, min-max)."""
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
    args = parser.parse_args(argv)
    datasets = common.parse_choices(parser, args.datasets, DATASETS, "dataset")
    variants = common.parse_choices(parser, args.variants, VARIANTS, "variant")
    seeds = common.seed_plan(args, datasets)
    steps = args.steps or (300 if args.quick else 12000)
    width = args.width or (64 if args.quick else 128)
    runs = args.runs / ("toys_quick" if args.quick else "toys")
    jobs = make_jobs(datasets, variants, seeds, steps, width, args.adam_lr)
    print(f"toys: {len(jobs)} runs of {steps} generator iterations, width {width}, {args.jobs} at a time", flush=True)
    records = common.run_jobs(common.seed_by_seed(jobs), runs, args.jobs)

    out = args.out
    stem = "toys_quick" if args.quick else "toys"
    body = table(records, datasets, variants)
    settings = (
        f"MLP {width}x3 (ReLU) for both networks, batch 256, 2D latent; each variant's critic steps per generator "
        f"step and penalty from its paper (wgan_gp, wgan_lp and dragan: the toy script's lambda 0.1); wgan: "
        f"RMSprop 5e-5, clip 0.01; r1: RMSprop 1e-4; the others Adam {args.adam_lr:g} (0.5, 0.9). Main columns: "
        f"the generator's exponential moving average (decay {EMA_DECAY}, `evaluate.py --ema`); 'raw G' columns: "
        f"the trained generator itself. Evaluated on 2500 samples (exact W1 on 2000). "
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
