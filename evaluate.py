#!/usr/bin/env python
"""Evaluate a training run: ``python evaluate.py runs/NAME``.

Rebuilds the generator from the run folder, draws samples and writes
``runs/NAME/eval/metrics.json`` plus pictures (sample grid, latent interpolation,
nearest real neighbours). Metrics: fid, kid, is (Inception), swd (no download),
prdc (precision, recall, density, coverage), toy (2D data: modes, high-quality
samples, exact W1), digits and mnist (a classifier trained once on the bundled
digits or on MNIST), modes (Stacked MNIST: modes of 1,000 and KL). By default,
what applies to the run's data.

FID, KID, IS and prdc on photos use the original FID Inception graph (the
2015-12-05 release, fed as the reference FID code feeds it), downloaded once into
the cache folder, or the file given with --inception-graph. Keras' ImageNet
InceptionV3 (--inception-weights imagenet) is another network: its FIDs are not
comparable with published numbers.

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
    p.add_argument(
        "--metrics", help="comma-separated subset of fid,kid,is,swd,prdc,toy,digits,mnist,modes (default: what applies)"
    )
    p.add_argument(
        "--num-samples",
        type=int,
        help="samples (default: the dataset's: 2500 toys, 1797 digits, 26000 stacked_mnist, 10000 other images)",
    )
    p.add_argument("--batch-size", type=int, default=100, help="batch size of generation and features")
    p.add_argument(
        "--inception-graph",
        help="the FID Inception graph: classify_image_graph_def.pb or inception-2015-12-05.tgz "
        "(default: the cached copy, downloaded once)",
    )
    p.add_argument(
        "--inception-weights",
        help="use Keras' InceptionV3 instead: 'imagenet' (Keras downloads them once; not comparable with papers), "
        "a local weights file, or 'random' (plumbing only)",
    )
    p.add_argument("--inception-savedmodel", help="a SavedModel exported from the FID Inception graph")
    p.add_argument("--ema", action="store_true", help="evaluate the EMA generator (ema_generator.keras)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    import_tensorflow_quietly()
    from keras_wgan.errors import ConfigError, DatasetError, MetricUnavailable, NonFiniteModel, UnsafeFile
    from keras_wgan.evaluation.run import evaluate_run

    try:
        report = evaluate_run(
            args.run,
            metrics,
            args.num_samples,
            args.batch_size,
            inception_weights=args.inception_weights,
            inception_savedmodel=args.inception_savedmodel,
            use_ema=args.ema,
            seed=args.seed,
            progress=not args.quiet,
            inception_graph=args.inception_graph,
        )
    except (ConfigError, DatasetError, MetricUnavailable, NonFiniteModel, UnsafeFile) as err:
        return fail(PROG, parser.in_flags(str(err)))
    for key, value in sorted(report["results"].items()):
        print(f"{key:>22}: {value:.5g}" if isinstance(value, float) else f"{key:>22}: {value}")
    print(f"[keras_wgan] wrote {args.run.rstrip('/')}/eval/metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
