"""Study 2: per-layer gradient norms of a deep critic, for every member of the family.

Starts from the situation of Gulrajani et al. 2017, Figure 1b: a 12-hidden-layer
ReLU MLP critic on swissroll, trained as a WGAN with weight clipping at
c = 0.1, 0.01 and 0.001 (RMSprop 5e-5) and as a WGAN-GP (Adam 1e-4 (0.5, 0.9),
penalty weight 0.1 as in the authors' toy script), and asks the same question of
every other variant: each with its paper's optimizer, critic steps and penalty
(the registry's toy defaults, ``PaperDefaults.for_toys``), SNGAN with every
critic layer spectrally normalized. The library's ``GradientNorms`` callback
records the L2 norm of the critic objective's gradient over each layer's weights
during training; the figure shows those norms against depth (averaged over the
last quarter of the measurements, then over seeds) on a log axis, and each run's
norms over training (first seed).

Writes ``OUT/grad_depth.md`` (table + command), ``OUT/grad_depth.json``,
``OUT/figures/grad_depth.png`` and ``RUNS/grad_depth/<setting>/grad_norms.csv``.

Usage:
    python experiments/grad_depth.py            # the full study
    python experiments/grad_depth.py --quick    # a minute on 2 CPU cores
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

# (label, variant, clip value): WGAN at three clip values, every other variant with its defaults.
SETTINGS = (
    ("clip 0.1", "wgan", 0.1),
    ("clip 0.01", "wgan", 0.01),
    ("clip 0.001", "wgan", 0.001),
    ("wgan_gp", "wgan_gp", None),
    ("wgan_lp", "wgan_lp", None),
    ("wgan_div", "wgan_div", None),
    ("sngan", "sngan", None),
    ("dragan", "dragan", None),
    ("r1", "r1", None),
    ("dcgan", "dcgan", None),
    ("rsgan", "rsgan", None),
    ("ragan", "ragan", None),
)
QUICK_SETTINGS = ("clip 0.01", "wgan_gp", "sngan")


def train_one(
    label: str, variant: str, clip: float | None, steps: int, width: int, depth: int, seed: int, run_dir: Path
) -> dict:
    """Trains one setting and returns ``{"layers": [...], "norms": [...], "history": {step: [...]}}``."""
    import keras

    from keras_wgan import callbacks, data, networks, variants

    keras.utils.set_random_seed(seed)
    v = variants.get(variant)
    defaults = v.paper_defaults.for_toys()
    generator = networks.build_mlp_generator(2, width=width, depth=3, seed=seed)
    norm = "spectral" if defaults.critic_norm == "spectral" else "none"  # the toy critics have no normalization
    critic = networks.build_mlp_critic(width=width, depth=depth, norm=norm, seed=seed + 1)
    overrides = {"n_critic": defaults.n_critic, "seed": seed}
    if clip is not None:
        overrides["clip_value"] = clip
    if defaults.gp_weight is not None:
        overrides[v.penalty_weight_arg] = defaults.gp_weight
    model = v.build_model(generator, critic, **overrides)
    model.compile(g_optimizer=defaults.make_optimizer(), d_optimizer=defaults.make_optimizer())
    ds = data.make_dataset("swissroll", batch_size=256, n_critic=defaults.n_critic, seed=seed)
    real = next(iter(data.make_dataset("swissroll", batch_size=256, seed=seed + 100)))
    every = max(1, steps // 20)
    norms_cb = callbacks.GradientNorms(
        real, run_dir / "grad_norms.csv", run_dir / "grad_norms.png", every_n_steps=every, seed=seed
    )
    t0 = time.perf_counter()
    model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[norms_cb])
    seconds = time.perf_counter() - t0
    history = {int(s): [r[k] for k in r] for s, r in sorted(norms_cb.records.items())}
    layers = list(norms_cb.records[max(norms_cb.records)])
    tail = [v for s, v in history.items() if s >= steps * 3 / 4] or list(history.values())[-1:]
    mean_log = [sum(math.log10(max(v[i], 1e-30)) for v in tail) / len(tail) for i in range(len(layers))]
    return {"label": label, "variant": variant, "clip": clip, "seed": seed, "layers": layers,
            "log10_norms": mean_log, "history": history, "seconds": seconds}  # fmt: skip


def train_or_load(label: str, variant: str, clip: float | None, args, steps: int, width: int, seed: int, stem: str):
    """``train_one``'s result, read back from its run folder when an earlier start of the study finished it."""
    run_dir = args.runs / stem / f"{label.replace(' ', '_')}_s{seed}"
    done = run_dir / "result.json"
    if done.is_file():
        result = json.loads(done.read_text())
        result["history"] = {int(k): v for k, v in result["history"].items()}
        return result
    result = train_one(label, variant, clip, steps, width, args.depth, seed, run_dir)
    common.write_text(done, json.dumps(result) + "\n")
    return result


def summarize(results: list[dict]) -> list[dict]:
    """One entry per setting: the mean over seeds of the per-layer log10 norms, and their seed range."""
    out = []
    for label, variant, _ in SETTINGS:
        group = [r for r in results if r["label"] == label]
        if not group:
            continue
        per_layer = list(zip(*(r["log10_norms"] for r in group), strict=True))
        out.append(
            {
                "label": label,
                "variant": variant,
                "seeds": [r["seed"] for r in group],
                "layers": group[0]["layers"],
                "log10_norms": [statistics.mean(v) for v in per_layer],
                "low": [min(v) for v in per_layer],
                "high": [max(v) for v in per_layer],
                "history": group[0]["history"],
                "seconds": statistics.mean(r["seconds"] for r in group),
            }
        )
    return out


def plot(summary: list[dict], path: Path) -> None:
    """Left: mean log10 norm against depth (band: seed range); right: the layers' mean log10 norm over training."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    colors = plt.get_cmap("tab20").colors
    for i, r in enumerate(summary):
        color, style = colors[(2 * i) % 20 if i < 10 else (2 * i + 1) % 20], "-" if i < 10 else "--"
        depth = list(range(1, len(r["layers"]) + 1))
        left.plot(depth, r["log10_norms"], marker="o", ms=3, color=color, ls=style, label=r["label"])
        left.fill_between(depth, r["low"], r["high"], color=color, alpha=0.15)
        steps = sorted(r["history"])
        mean_log = [statistics.mean(math.log10(max(x, 1e-30)) for x in r["history"][s]) for s in steps]
        right.plot(steps, mean_log, color=color, ls=style, label=r["label"])
    left.set_xlabel("critic layer (1 = input side, last = output)")
    left.set_ylabel("log10 gradient norm (last quarter, mean over seeds)")
    left.set_title("Per-layer gradient norm of a 12-layer critic on swissroll")
    left.grid(alpha=0.3)
    left.legend(fontsize=7, ncol=2)
    right.set_xlabel("generator iteration")
    right.set_ylabel("mean over layers of log10 gradient norm (first seed)")
    right.set_title("Over training")
    right.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--width", type=int, help="critic and generator width (full 128, quick 32)")
    parser.add_argument("--depth", type=int, default=12, help="critic hidden layers")
    labels = [label for label, _, _ in SETTINGS]
    parser.add_argument("--settings", type=str, help=f"comma-separated subset of: {', '.join(labels)}")
    args = parser.parse_args(argv)
    steps = args.steps or (40 if args.quick else 600)
    width = args.width or (32 if args.quick else 128)
    seeds = common.parse_list(args.seeds, (0,) if args.quick else common.FULL_SEEDS, int)
    default = ",".join(QUICK_SETTINGS) if args.quick else None
    chosen = common.parse_choices(parser, args.settings or default, labels, "setting")
    stem = "grad_depth_quick" if args.quick else "grad_depth"
    results = []
    for label, variant, clip in SETTINGS:
        if label not in chosen:
            continue
        for seed in seeds:
            result = train_or_load(label, variant, clip, args, steps, width, seed, stem)
            print(
                f"{label} seed {seed}: log10 norms {[round(x, 2) for x in result['log10_norms']]} "
                f"({result['seconds']:.0f} s)",
                flush=True,
            )
            results.append(result)
    summary = summarize(results)
    plot(summary, args.out / "figures" / f"{stem}.png")
    rows = []
    for r in summary:
        logs, low, high = r["log10_norms"], r["low"], r["high"]
        cells = [
            f"{logs[i]:.2f}" + (f" ({low[i]:.2f} to {high[i]:.2f})" if len(r["seeds"]) > 1 else "")
            for i in (0, len(logs) // 2, len(logs) - 2, len(logs) - 1)
        ]
        rows.append([r["label"], len(r["seeds"]), *cells, f"{max(logs) - min(logs):.2f}", f"{r['seconds'] / 60:.1f}"])
    n = len(summary[0]["layers"])
    headers = [
        "critic", "seeds", "log10 norm, layer 1 (input)", f"layer {n // 2 + 1}", f"layer {n - 1}",
        f"layer {n} (output)", "spread max-min (decades)", "train minutes",
    ]  # fmt: skip
    body = common.markdown_table(headers, rows)
    settings = (
        f"Critic: {args.depth} hidden ReLU layers of width {width} (plus the output layer: {n} layers with "
        f"weights; sngan's all spectrally normalized); generator MLP {width}x3; swissroll, batch 256, each "
        f"variant's optimizer, critic steps and penalty from its paper (the toy script's for wgan_gp and wgan_lp), "
        f"{steps} generator iterations, seeds {', '.join(map(str, seeds))}. Norms: L2 norm over each layer's "
        f"kernel and bias of the gradient of the critic objective, mean of log10 over the last quarter of "
        f"{len(summary[0]['history'])} measurements, then mean over seeds (range in brackets)."
    )
    common.publish(args.out, stem, settings, body, summary)
    with open(args.runs / stem / "summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["setting", *summary[0]["layers"]])
        for r in summary:
            writer.writerow([r["label"], *r["log10_norms"]])


if __name__ == "__main__":
    main()
