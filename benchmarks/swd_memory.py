"""Peak memory and time of the SWD: the bounded-memory implementation against the one it replaced.

Each arm runs in a fresh process: it makes ``n`` real and ``n`` generated 64x64 RGB
images (float32, in [-1, 1]), warms TensorFlow up, notes its peak resident memory,
computes ``sliced_wasserstein_distance`` and reports the peak again (Linux: the peak
is reset through ``/proc/self/clear_refs`` just before); the difference is what the
SWD itself needs on top of its inputs (the inputs are 2 x n x 48 KiB). The
baseline is the implementation of commit ``BASELINE_COMMIT`` (float64 directions,
shared patch positions, all directions at once), read from git, at sizes that fit
this machine.

Usage:
    python benchmarks/swd_memory.py               # baseline at 4096, new at 4096 and 10000 images
    python benchmarks/swd_memory.py --quick       # 512 images, a plumbing check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_COMMIT = "b2641f4"  # the last commit with the previous SWD

ARM = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np
    import tensorflow as tf
    sys.path.insert(0, {module_dir!r})
    import {module} as m
    n = {n}
    rng = np.random.default_rng(0)
    real = np.tanh(rng.standard_normal(size=(n, 64, 64, 3), dtype=np.float32))
    fake = np.tanh(1.3 * rng.standard_normal(size=(n, 64, 64, 3), dtype=np.float32))
    m.laplacian_pyramid(real[:2])  # warm-up: the first call's one-time costs stay out of the peak

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1])  # kB

    with open("/proc/self/clear_refs", "w") as f:  # the peak (VmHWM) starts again from now
        f.write("5")
    before = status("VmRSS:")
    t0 = time.perf_counter()
    result = m.sliced_wasserstein_distance(real, fake, seed=0)
    seconds = time.perf_counter() - t0
    after = status("VmHWM:")
    print(json.dumps({{"extra_mib": (after - before) / 1024, "seconds": seconds, "swd_avg": result["swd_avg"]}}))
    """
)


def run_arm(module_dir: Path, module: str, n: int) -> dict:
    code = ARM.format(module_dir=str(module_dir), module=module, n=n)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--images", help="comma-separated image counts of the bounded arm (first: the baseline's)")
    parser.add_argument("--no-baseline", action="store_true", help="only the bounded arm")
    args = parser.parse_args()
    sizes = [512] if args.quick else [int(x) for x in (args.images or "4096,10000").split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        old = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:keras_wgan/evaluation/metrics.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (Path(tmp) / "swd_baseline.py").write_text(old)
        new_dir = ROOT / "keras_wgan" / "evaluation"
        rows = []
        baseline = None if args.no_baseline else run_arm(Path(tmp), "swd_baseline", sizes[0])
        if baseline is not None:
            rows.append(("baseline", sizes[0], baseline))
        for n in sizes:
            rows.append(("bounded", n, run_arm(new_dir, "metrics", n)))
    print("| implementation | images | extra peak memory (MiB) | seconds | swd_avg |")
    print("|---|---|---|---|---|")
    for name, n, r in rows:
        print(f"| {name} | {n} | {r['extra_mib']:.0f} | {r['seconds']:.1f} | {r['swd_avg']:.2f} |")
    if baseline is None:
        return
    same = [r for name, n, r in rows if name == "bounded" and n == sizes[0]][0]
    print(f"memory ratio bounded / baseline at {sizes[0]} images: {same['extra_mib'] / baseline['extra_mib']:.3f}")
    print(f"time ratio bounded / baseline at {sizes[0]} images: {same['seconds'] / baseline['seconds']:.2f}")


if __name__ == "__main__":
    main()
