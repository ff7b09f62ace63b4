#!/usr/bin/env python
"""Evaluate a training run: ``python evaluate.py runs/NAME``.

Rebuilds the generator from the run folder, draws samples and writes
``runs/NAME/eval/metrics.json`` plus pictures (sample grid, latent interpolation,
nearest real neighbours). Metrics: fid, kid, is (Inception-v3), swd (no download),
toy (2D data: modes, high-quality samples, exact W1), digits (a small classifier
trained once on the bundled digits). By default, what applies to the run's data.

FIDs from Keras' ImageNet InceptionV3 are not comparable to published numbers; pass
the original FID Inception graph with --inception-savedmodel for that.

Exit codes: 0 done, 2 bad input or a metric that cannot run here (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys

from keras_wgan_cli import OneLineParser, fail, import_tensorflow_quietly

PROG = "evaluate.py"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run folder written by train.py")
    p.add_argument("--metrics", help="comma-separated subset of fid,kid,is,swd,toy,digits (default: what applies)")
    p.add_argument("--num-samples", type=int, help="samples (default 2500 toys, 1797 digits, 10000 images)")
    p.add_argument("--batch-size", type=int, default=100, help="batch size of generation and features")
    p.add_argument(
        "--inception-weights",
        default="imagenet",
        help="'imagenet' (Keras downloads them once), a local weights file, or 'random' (plumbing only)",
    )
    p.add_argument("--inception-savedmodel", help="SavedModel of the original FID Inception graph")
    p.add_argument("--ema", action="store_true", help="evaluate the EMA generator (ema_generator.keras)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    import_tensorflow_quietly()
    from keras_wgan.errors import ConfigError, DatasetError, MetricUnavailable
    from keras_wgan.evaluation.run import evaluate_run

    weights = None if args.inception_weights == "random" else args.inception_weights
    try:
        report = evaluate_run(
            args.run,
            metrics,
            args.num_samples,
            args.batch_size,
            weights,
            args.inception_savedmodel,
            args.ema,
            args.seed,
            progress=not args.quiet,
        )
    except (ConfigError, DatasetError, MetricUnavailable) as err:
        return fail(PROG, err)
    for key, value in sorted(report["results"].items()):
        print(f"{key:>22}: {value:.5g}" if isinstance(value, float) else f"{key:>22}: {value}")
    print(f"[keras_wgan] wrote {args.run.rstrip('/')}/eval/metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
