"""Study 2: per-layer gradient norms of a deep critic, weight clipping vs. gradient penalty.

Reproduces the situation of Gulrajani et al. 2017, Figure 1b: a 12-hidden-layer
ReLU MLP critic on swissroll, trained as a WGAN with weight clipping at
c = 0.1, 0.01 and 0.001 (RMSprop 5e-5) and as a WGAN-GP (Adam 1e-4 (0.5, 0.9),
penalty weight 0.1 as in the authors' toy script), five critic steps per
generator step. The library's ``GradientNorms`` callback records the L2 norm of
the critic objective's gradient over each layer's weights during training; the
figure shows those norms against depth (averaged over the last quarter of the
measurements) on a log axis, and each run's norms over training.

Writes ``OUT/grad_depth.md`` (table + command), ``OUT/grad_depth.json``,
``OUT/figures/grad_depth.png`` and ``RUNS/grad_depth/<setting>/grad_norms.csv``.

Usage:
    python experiments/grad_depth.py            # the full study
    python experiments/grad_depth.py --quick    # a minute on 2 CPU cores
"""

from __future__ import annotations

import csv
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SETTINGS = (("clip 0.1", 0.1), ("clip 0.01", 0.01), ("clip 0.001", 0.001), ("gradient penalty", None))


def train_one(label: str, clip: float | None, steps: int, width: int, depth: int, seed: int, run_dir: Path) -> dict:
    """Trains one setting and returns ``{"layers": [...], "norms": [...], "history": {step: [...]}}``."""
    import keras

    import keras_wgan
    from keras_wgan import callbacks, data, networks

    keras.utils.set_random_seed(seed)
    generator = networks.build_mlp_generator(2, width=width, depth=3, seed=seed)
    critic = networks.build_mlp_critic(width=width, depth=depth, seed=seed + 1)
    if clip is None:
        model = keras_wgan.WGANGP(generator, critic, n_critic=5, gp_weight=0.1, seed=seed)
        make = lambda: keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)  # noqa: E731
    else:
        model = keras_wgan.WGAN(generator, critic, n_critic=5, clip_value=clip, seed=seed)
        make = lambda: keras.optimizers.RMSprop(5e-5, rho=0.99)  # noqa: E731
    model.compile(g_optimizer=make(), d_optimizer=make())
    ds = data.make_dataset("swissroll", batch_size=256, n_critic=5, seed=seed)
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
    return {"label": label, "clip": clip, "layers": layers, "log10_norms": mean_log, "history": history,
            "seconds": seconds}  # fmt: skip


def plot(results: list[dict], path: Path) -> None:
    """Left: log10 norm against layer depth; right: every layer's norm over training, one colour per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = ["tab:red", "tab:orange", "tab:purple", "tab:green"]
    for color, r in zip(colors, results, strict=False):
        depth = list(range(1, len(r["layers"]) + 1))
        left.plot(depth, r["log10_norms"], marker="o", color=color, label=r["label"])
        steps = sorted(r["history"])
        for i in range(len(r["layers"])):
            right.plot(steps, [max(r["history"][s][i], 1e-30) for s in steps], color=color, alpha=0.5, lw=1)
        right.plot([], [], color=color, label=r["label"])
    left.set_xlabel("critic layer (1 = input side, last = output)")
    left.set_ylabel("log10 gradient norm (mean over the last quarter)")
    left.set_title("Per-layer gradient norm of a 12-layer critic on swissroll")
    left.grid(alpha=0.3)
    left.legend()
    right.set_yscale("log")
    right.set_xlabel("generator iteration")
    right.set_ylabel("gradient norm (one line per layer)")
    right.set_title("Over training")
    right.grid(alpha=0.3)
    right.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--width", type=int, help="critic and generator width (full 128, quick 32)")
    parser.add_argument("--depth", type=int, default=12, help="critic hidden layers")
    args = parser.parse_args(argv)
    steps = args.steps or (40 if args.quick else 600)
    width = args.width or (32 if args.quick else 128)
    seed = common.parse_list(args.seeds, (0,), int)[0]
    stem = "grad_depth_quick" if args.quick else "grad_depth"
    results = []
    for label, clip in SETTINGS:
        run_dir = args.runs / stem / label.replace(" ", "_")
        result = train_one(label, clip, steps, width, args.depth, seed, run_dir)
        print(f"{label}: log10 norms {[round(x, 2) for x in result['log10_norms']]} ({result['seconds']:.0f} s)")
        results.append(result)
    plot(results, args.out / "figures" / f"{stem}.png")
    rows = []
    for r in results:
        logs = r["log10_norms"]
        rows.append(
            [r["label"], f"{logs[0]:.2f}", f"{logs[len(logs) // 2]:.2f}", f"{logs[-2]:.2f}", f"{logs[-1]:.2f}",
             f"{max(logs) - min(logs):.2f}", f"{r['seconds'] / 60:.1f}"]
        )  # fmt: skip
    headers = [
        "critic", "log10 norm, layer 1 (input)", f"layer {len(logs) // 2 + 1}", f"layer {len(logs) - 1}",
        f"layer {len(logs)} (output)", "spread max-min (decades)", "train minutes",
    ]  # fmt: skip
    body = common.markdown_table(headers, rows)
    settings = (
        f"Critic: {args.depth} hidden ReLU layers of width {width} (plus the output layer: {len(logs)} layers with "
        f"weights); generator MLP {width}x3; swissroll, batch 256, 5 critic steps per generator step, "
        f"{steps} generator iterations, seed {seed}. Norms: L2 norm over each layer's kernel and bias of the "
        f"gradient of the critic objective, mean of log10 over the last quarter of {len(results[0]['history'])} "
        f"measurements."
    )
    common.publish(args.out, stem, settings, body, results)
    with open(args.runs / stem / "summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["setting", *results[0]["layers"]])
        for r in results:
            writer.writerow([r["label"], *r["log10_norms"]])


if __name__ == "__main__":
    main()
