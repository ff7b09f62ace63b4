"""What the training run's finiteness check of the model state costs, against a training step.

``train.py`` checks every weight and optimizer variable for NaN and infinities
(``GAN.first_nonfinite_variable``, one compiled reduction) every few generator
steps, because the logged losses do not always show a non-finite weight. This
measures, in one process and alternating the arms, the seconds of one check
and of one generator iteration through ``model.fit`` for the configurations
users train, and prints their ratio and the overhead of checking every N steps.

Settings (each a ``TrainConfig``, the library's defaults otherwise):

- ``toy_fast``: 25gaussians, the quickstart's ``--recipe fast`` (MLPs 64 wide);
- ``toy``: 25gaussians with the authors' toy settings (MLPs 512 wide);
- ``digits``: the 32 px DCGAN pair of the digits runs, batch 64;
- ``dcgan64``: the 64 px DCGAN pair of the CelebA recipe, batch 64 (random images).

Usage:
    python benchmarks/finite_check.py            # ~3 minutes on 2 cores
    python benchmarks/finite_check.py --quick    # seconds: toy_fast only, few repeats
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

SETTINGS = {
    "toy_fast": {"variant": "wgan_gp", "dataset": "25gaussians", "recipe": "fast"},
    "toy": {"variant": "wgan_gp", "dataset": "25gaussians"},
    "digits": {"variant": "wgan_gp", "dataset": "digits"},
    "dcgan64": {"variant": "wgan_gp", "dataset": "digits", "image_size": 64, "channels": 3},
}


def measure(name: str, rounds: int, steps: int, checks: int) -> dict:
    """Best-of-``rounds`` seconds per generator step and per state check for one setting."""
    from keras_wgan.builders import build_model
    from keras_wgan.config import TrainConfig

    config = TrainConfig(**SETTINGS[name]).resolve()
    model = build_model(config)
    batch = config.batch_size * config.n_critic
    shape = (2,) if config.is_toy else (config.image_size, config.image_size, config.channels)
    x = np.random.default_rng(0).uniform(-1, 1, size=(batch * steps, *shape)).astype("float32")
    model.fit(x[:batch], batch_size=batch, epochs=1, verbose=0, shuffle=False)  # trace the step
    model.first_nonfinite_variable()  # trace the check
    step_s, check_s = [], []
    for _ in range(rounds):  # alternating the arms, the best round of each kept
        t0 = time.perf_counter()
        model.fit(x, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        step_s.append((time.perf_counter() - t0) / steps)
        t0 = time.perf_counter()
        for _ in range(checks):
            assert model.first_nonfinite_variable() is None
        check_s.append((time.perf_counter() - t0) / checks)
    variables = model.state_variables().values()
    step, check = min(step_s), min(check_s)
    return {
        "setting": name,
        "state_values": int(sum(int(np.prod(v.shape)) for v in variables)),
        "variables": len(variables),
        "step_ms": round(1e3 * step, 3),
        "check_ms": round(1e3 * check, 4),
        "check_per_step": round(check / step, 5),
        "overhead_every_10_steps": round(check / (10 * step), 5),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", default="toy_fast,toy,digits,dcgan64", help="comma-separated settings")
    parser.add_argument("--quick", action="store_true", help="toy_fast only, few repeats (a smoke run)")
    parser.add_argument("--out", help="also write the JSON lines to this file")
    args = parser.parse_args(argv)
    names = ["toy_fast"] if args.quick else [n.strip() for n in args.settings.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        parser.error(f"unknown setting(s) {', '.join(unknown)}; choose from {', '.join(SETTINGS)}")
    rows = []
    for name in names:
        image = name in ("digits", "dcgan64")
        rounds, steps, checks = (1, 4, 20) if args.quick else (3, 4 if image else 200, 50 if image else 500)
        row = measure(name, rounds, steps, checks)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'setting':<10} {'values':>10} {'step ms':>10} {'check ms':>9} {'check/step':>11} {'every 10':>9}")
    for r in rows:
        print(
            f"{r['setting']:<10} {r['state_values']:>10} {r['step_ms']:>10.2f} {r['check_ms']:>9.3f} "
            f"{100 * r['check_per_step']:>10.2f}% {100 * r['overhead_every_10_steps']:>8.3f}%"
        )
    if args.out:
        Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
