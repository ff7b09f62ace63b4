#!/usr/bin/env python
"""Train a GAN of the Wasserstein family: ``python train.py --variant wgan_gp``.

A thin command line over ``keras_wgan.training.train``. Defaults come from the
variant's paper (``keras_wgan.variants``) and the dataset. The run folder
(``--out``, default ``runs/<variant>_<dataset>_<time>``) holds everything the
run writes; running the same command again resumes it.

Exit codes: 0 done, 2 bad input (one line on stderr), 3 training diverged,
4 a worker of a multi-worker job was lost, 130 interrupted (the last checkpoint
is kept; run the command again to resume).
"""

from __future__ import annotations

import argparse
import sys

from keras_wgan_cli import (
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    EXIT_WORKER_LOST,
    OneLineParser,
    fail,
    import_tensorflow_quietly,
)

PROG = "train.py"
EXAMPLES = """examples:
  python train.py --variant wgan_gp --dataset 25gaussians --steps 2000        # offline, minutes on a CPU
  python train.py --variant wgan_gp --dataset digits --epochs 20              # offline images, 32x32
  python train.py --variant wgan_gp --dataset celeb_a --image-size 64         # needs CelebA (see README)
  python train.py --variant dcgan --dataset folder:/data/img_align_celeba --crop 140
"""


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {value!r}")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG, description=__doc__, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    a = p.add_argument
    a("--variant", default="wgan_gp", help="the GAN variant (default wgan_gp); the variants table of README.md")
    a(
        "--dataset",
        default="celeb_a",
        help="celeb_a (default), folder:PATH, 8gaussians, 25gaussians, swissroll, digits, mnist or stacked_mnist",
    )
    a("--out", help="run folder (default runs/<variant>_<dataset>_<time>)")
    g = p.add_argument_group("schedule")
    g.add_argument("--epochs", type=int, help="epochs to train (default: the dataset's)")
    g.add_argument("--steps", type=int, help="total generator iterations (instead of --epochs)")
    g.add_argument(
        "--steps-per-epoch",
        type=int,
        help="generator iterations per epoch (default: one pass over the images, at least 100; 1000 for toys)",
    )
    g.add_argument("--batch-size", type=int, help="samples per critic update (default: the dataset's)")
    g = p.add_argument_group("data")
    g.add_argument("--image-size", type=int, help="32, 64 or 128 (default: the dataset's)")
    g.add_argument("--channels", type=int, choices=(1, 3), help="image channels (default: the dataset's)")
    g.add_argument("--crop", type=int, help="central crop side before resizing (default: the dataset's)")
    g.add_argument(
        "--data-dir",
        help="celeb_a: tensorflow-datasets' data folder; mnist, stacked_mnist: the folder holding mnist.npz "
        "(default: Keras' cache, downloaded once)",
    )
    g.add_argument("--cache", action="store_true", help="cache decoded images in memory")
    g = p.add_argument_group("conditional generation (digits, mnist, 8gaussians, 25gaussians, folder:PATH, celeb_a)")
    g.add_argument(
        "--conditional",
        nargs="?",
        const="projection",
        help="train on labels, generate chosen ones; the critic's conditioning: projection (the default), ac "
        "(an auxiliary classifier) or concat",
    )
    g.add_argument(
        "--generator-conditioning",
        help="concat (the default: y appended to z) or cbn (conditional batch norm; images only)",
    )
    g.add_argument(
        "--attributes",
        type=lambda text: [a.strip() for a in text.split(",") if a.strip()],
        help="celeb_a: the attributes to condition on, comma-separated (e.g. Male,Smiling,Eyeglasses)",
    )
    g = p.add_argument_group(
        "model (defaults: the variant's paper, then the dataset, then --recipe; --print-config shows the values)"
    )
    g.add_argument("--latent-dim", type=int, help="size of z (default: the dataset's)")
    g.add_argument("--n-critic", type=int, help="critic updates per generator update")
    g.add_argument("--optimizer", help="adam, adamw or rmsprop")
    g.add_argument("--lr", type=float, help="learning rate of both networks")
    g.add_argument("--g-lr", type=float, help="generator learning rate")
    g.add_argument("--d-lr", type=float, help="critic learning rate")
    g.add_argument("--beta1", dest="beta_1", type=float, help="Adam beta_1")
    g.add_argument("--beta2", dest="beta_2", type=float, help="Adam beta_2")
    g.add_argument(
        "--gp-weight",
        type=float,
        help="the penalty's weight: lambda (wgan_gp, wgan_lp, dragan), gamma (r1), k (wgan_div)",
    )
    g.add_argument("--penalty-power", type=float, help="wgan_div's exponent p")
    g.add_argument("--r2-weight", type=float, help="r1: also the same penalty on generated samples (R2), this weight")
    g.add_argument("--loss", help="hinge: the hinge loss in place of the variant's own")
    g.add_argument("--clip-value", type=float, help="WGAN's weight clip c")
    g.add_argument("--critic-norm", help="batch, layer, instance, spectral or none")
    g.add_argument("--activation", help="leaky_relu, relu or selu (selu drops normalization)")
    g.add_argument("--width", type=int, help="network width (DCGAN ngf/ndf; MLP units)")
    g.add_argument(
        "--critic-width", type=int, help="the critic's width when it differs from --width (e.g. a weaker critic)"
    )
    g.add_argument("--depth", type=int, help="hidden layers of the MLP pair (toys)")
    g.add_argument(
        "--allow-batchnorm",
        action="store_true",
        help="accept --critic-norm batch with the gradient penalty (it breaks the per-example penalty)",
    )
    g.add_argument("--ema-decay", type=float, help="keep an EMA generator with this decay (e.g. 0.999)")
    g.add_argument(
        "--recipe",
        help="a named set of defaults for what you leave open; fast: the 2D toys on a CPU in minutes "
        "(MLPs 64 wide, Adam 1e-3, an averaged generator)",
    )
    g.add_argument("--seed", type=int, default=0, help="seed of everything (default 0)")
    g = p.add_argument_group("outputs")
    g.add_argument("--sample-every-epochs", type=int, default=1, help="sample grid every N epochs (default 1)")
    g.add_argument("--sample-every-steps", type=int, help="also a sample grid every N generator steps")
    g.add_argument("--plot-every-steps", type=int, help="critic landscape (toys) every N steps")
    g.add_argument("--grad-norm-every-steps", type=int, help="critic gradient norms every N steps")
    g.add_argument("--checkpoint-every-steps", type=int, help="checkpoint every N steps (default min(epoch, 500))")
    g.add_argument("--tensorboard-histograms", action="store_true", help="critic weight histograms")
    g.add_argument("--quiet", action="store_true", help="no progress bar (the one-line epoch summaries stay)")
    g = p.add_argument_group("performance and scale-out")
    g.add_argument(
        "--jit-compile",
        type=_bool,
        default=None,
        help="compile the step with XLA (default: false on TensorFlow, slower on CPUs; true on JAX, where false "
        "means eager Python, for debugging)",
    )
    g.add_argument("--steps-per-execution", type=int, default=1, help="train steps per compiled call")
    g.add_argument("--mixed-precision", default="off", help="off, mixed_float16 or mixed_bfloat16")
    g.add_argument(
        "--strategy",
        default="default",
        help="default, mirrored (all local GPUs) or multiworker (the cluster in TF_CONFIG; "
        "the same command on every host, worker 0 writes the run folder)",
    )
    g.add_argument(
        "--cpu-replicas",
        type=int,
        default=None,
        help="split the CPU into N logical devices (to try --strategy mirrored without GPUs)",
    )
    g.add_argument(
        "--resume",
        dest="resume",
        action="store_true",
        default=True,
        help="resume when the run folder holds a run (default)",
    )
    g.add_argument("--no-resume", dest="resume", action="store_false", help="refuse to reuse a run folder")
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved configuration (every value and where it comes from: the paper, the dataset, the "
        "recipe, the run folder or the command line) and exit without training",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.cpu_replicas is not None and args.cpu_replicas < 1:
        return fail(PROG, "--cpu-replicas must be a positive integer")

    tf = import_tensorflow_quietly()

    if args.cpu_replicas:
        cpus = tf.config.list_physical_devices("CPU")
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(args.cpu_replicas)]
        )

    from keras_wgan.config import TrainConfig, describe_config
    from keras_wgan.errors import (
        ConfigError,
        DatasetError,
        NonFiniteModel,
        TrainingDiverged,
        UnsafeFile,
        WorkerLost,
    )
    from keras_wgan.training import train

    values = vars(args).copy()
    values.pop("cpu_replicas")
    print_config = values.pop("print_config")
    values["verbose"] = 0 if values.pop("quiet") else 1
    try:
        if print_config:
            print(describe_config(TrainConfig(**values)))
            return 0
        train(TrainConfig(**values))
    except (ConfigError, DatasetError, UnsafeFile) as err:
        return fail(PROG, parser.in_flags(str(err)))
    except (TrainingDiverged, NonFiniteModel) as err:
        return fail(PROG, err, EXIT_DIVERGED, prefix="")
    except WorkerLost as err:
        return fail(PROG, err, EXIT_WORKER_LOST, prefix="")
    except KeyboardInterrupt:
        msg = "interrupted; run the same command again to resume from the last checkpoint"
        return fail(PROG, msg, EXIT_INTERRUPTED, prefix="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
