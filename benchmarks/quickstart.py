"""The README's first command, timed as a new user meets it: fresh clone, fresh venv, no pip cache.

What it does, in order:

1. Measures this machine's TensorFlow speed with a matmul probe (float32 2048x2048
   matmuls, all cores, best of five rounds of ten), in its own process.
2. With ``--target-gflops G`` (Linux, root): puts the measurement under a CPU quota
   (a ``cpu`` cgroup: v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``) sized so that the probe
   gives about ``G``, and re-measures under it. This is how the quickstart is checked
   for a machine slower than the one at hand: the slowest machine this project has run
   on reached 49.5 GFLOP/s (2026-11-23), about 2.8 times slower than a 140 GFLOP/s one.
   A quota slows multi-threaded number crunching by the quota's share of the cores,
   but a single-threaded stretch (Python, small ops) only by the quota's share of one
   core: calibrated on the matmul probe, it models a machine with fewer or busier cores
   of the same speed. ``--quota-cpus 0.35`` instead gives the whole job about a third
   of one core: every kind of work about 2.8 times slower, the pessimistic model of the
   slowest machine. It stands in for a slower CPU, not for a slower network.
3. ``git clone``s the repository's committed HEAD into a temporary folder, makes a fresh
   venv there, and runs the first ```` ```bash ```` block of the README exactly as written
   (split at ``&&``, each part timed), with ``PIP_NO_CACHE_DIR=1`` so nothing comes from
   pip's cache, inside the quota when there is one.
4. Reads the verdict line ``train.py`` prints at the end of a toy run and checks the
   issue's goal: all 25 modes, >= 90% high-quality samples, W1 <= 1.5x the
   truth-vs-truth floor, in at most 10 minutes from the first command to the verdict.
   Then (not timed) runs ``python evaluate.py RUN --ema`` on the run folder and
   records its numbers beside the verdict's.

Writes ``benchmarks/results/quickstart_<date>.json``.

Usage:
    python benchmarks/quickstart.py                       # this machine as it is
    python benchmarks/quickstart.py --target-gflops 49.5   # as the slowest machine seen (as root)
    python benchmarks/quickstart.py --quota-cpus 0.35      # everything 2.8x slower (as root)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS, GOAL_MODES, GOAL_HQ, GOAL_RATIO = 600.0, 25, 90.0, 1.5
VERDICT = re.compile(
    r"verdict .*?: (?P<modes>\d+)/(?P<of>\d+) modes, (?P<hq>[\d.]+)% high quality, "
    r"W1 (?P<w1>[\d.]+) = (?P<ratio>[\d.]+)x the truth-vs-truth floor"
)

PROBE = """
import os, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
a, b = tf.random.normal((2048, 2048)), tf.random.normal((2048, 2048))
f = tf.function(lambda: tf.matmul(a, b))
f().numpy()
best = 0.0
for _ in range(5):
    t = time.perf_counter()
    for _ in range(10):
        r = f()
    r.numpy()
    best = max(best, 10 * 2 * 2048**3 / (time.perf_counter() - t) / 1e9)
print(best)
"""


class Quota:
    """A ``cpu`` cgroup with a CPU-time quota; ``enter`` moves the calling process into it."""

    PERIOD_US = 100_000

    def __init__(self, name: str):
        v2 = Path("/sys/fs/cgroup")
        controllers = (v2 / "cgroup.controllers").read_text().split() if (v2 / "cgroup.controllers").exists() else []
        if "cpu" in controllers:
            self.path, self.v2 = v2 / name, True
        elif Path("/sys/fs/cgroup/cpu").is_dir():
            self.path, self.v2 = Path("/sys/fs/cgroup/cpu") / name, False
        else:
            raise SystemExit("error: no cpu cgroup controller here; run without --target-gflops")
        try:
            if self.v2:  # let the children of the root group use the cpu controller
                (v2 / "cgroup.subtree_control").write_text("+cpu")
            self.path.mkdir(exist_ok=True)
        except PermissionError:
            raise SystemExit("error: creating a cgroup needs root; run without --target-gflops") from None

    def set(self, cpus: float) -> None:
        """Allow ``cpus`` CPUs' worth of time per period (e.g. 0.7)."""
        quota = max(1000, int(cpus * self.PERIOD_US))
        if self.v2:
            (self.path / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
        else:
            (self.path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))

    def enter(self) -> None:
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        try:
            self.path.rmdir()
        except OSError:
            pass


def run(cmd: list[str], quota: Quota | None, log: Path | None = None, **kwargs) -> tuple[float, str]:
    """Runs ``cmd`` (inside ``quota`` if given); returns (seconds, stdout+stderr). Raises on failure."""
    start = time.perf_counter()
    proc = subprocess.run(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=None if quota is None else quota.enter,
        **kwargs,
    )
    seconds = time.perf_counter() - start
    if log is not None:
        log.write_text(proc.stdout)
    if proc.returncode != 0:
        raise SystemExit(f"error: {shlex.join(cmd)} exited with {proc.returncode}:\n{proc.stdout[-3000:]}")
    return seconds, proc.stdout


def probe(quota: Quota | None) -> float:
    """GFLOP/s of float32 matmuls in a fresh process."""
    return float(run([sys.executable, "-c", PROBE], quota)[1].strip().splitlines()[-1])


def readme_first_command() -> str:
    """The first ```bash block of the README (one line)."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)\n```", text, re.S)
    if block is None:
        raise SystemExit("error: README.md has no ```bash block")
    return block.group(1).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target-gflops", type=float, help="throttle to about this matmul speed (root, Linux)")
    parser.add_argument(
        "--quota-cpus", type=float, help="throttle to this many CPUs' time instead (0.35: all work slower)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone and venv")
    args = parser.parse_args()
    if args.target_gflops is not None and args.quota_cpus is not None:
        parser.error("give --target-gflops or --quota-cpus, not both")

    record: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count()}
    record["gflops_unthrottled"] = probe(None)
    print(f"matmul probe: {record['gflops_unthrottled']:.1f} GFLOP/s", flush=True)
    throttled = args.target_gflops is not None or args.quota_cpus is not None
    quota = Quota(f"keras_wgan_quickstart_{os.getpid()}") if throttled else None
    if args.target_gflops is not None:
        cpus = os.cpu_count() * args.target_gflops / record["gflops_unthrottled"]
        for _ in range(3):  # the probe under a quota is close to linear in it; correct twice at most
            quota.set(cpus)
            measured = probe(quota)
            print(f"quota {cpus:.2f} CPUs: {measured:.1f} GFLOP/s", flush=True)
            if abs(measured / args.target_gflops - 1) <= 0.05:
                break
            cpus *= args.target_gflops / measured
        record.update(quota_cpus=cpus, gflops_throttled=measured)
    elif args.quota_cpus is not None:
        quota.set(args.quota_cpus)
        record.update(quota_cpus=args.quota_cpus, gflops_throttled=probe(quota))
        print(f"quota {args.quota_cpus:.2f} CPUs: {record['gflops_throttled']:.1f} GFLOP/s", flush=True)

    command = readme_first_command()
    record["command"] = command
    work = Path(tempfile.mkdtemp(prefix="keras_wgan_quickstart_"))
    clone = work / "keras_wgan"
    try:
        run(["git", "clone", "--quiet", str(ROOT), str(clone)], None)
        record["commit"] = run(["git", "rev-parse", "HEAD"], None, cwd=clone)[1].strip()
        venv_seconds, _ = run([sys.executable, "-m", "venv", str(work / "venv")], quota)
        env = dict(os.environ, PIP_NO_CACHE_DIR="1", PATH=f"{work / 'venv' / 'bin'}:{os.environ['PATH']}")
        env.pop("PYTHONPATH", None)
        parts, total, output = [], venv_seconds, ""
        for i, part in enumerate(command.split("&&")):
            part = part.strip()
            print(f"running: {part}", flush=True)
            seconds, out = run(["bash", "-c", part], quota, log=work / f"part{i}.log", cwd=clone, env=env)
            parts.append({"command": part, "seconds": seconds})
            total += seconds
            output += out
            print(f"  {seconds:.0f} s", flush=True)
        record.update(venv_seconds=venv_seconds, parts=parts, total_seconds=total)
        match = VERDICT.search(output)
        if match is None:
            raise SystemExit("error: the command printed no verdict line")
        verdict = {k: float(v) for k, v in match.groupdict().items()}
        record["verdict"] = verdict
        # Not timed: evaluate.py on the same run folder must give the verdict's numbers.
        words = shlex.split(command)
        run_folder = words[words.index("--out") + 1]
        venv_python = str(work / "venv" / "bin" / "python")
        run([venv_python, "evaluate.py", run_folder, "--ema", "--quiet"], quota, cwd=clone, env=env)
        results = json.loads((clone / run_folder / "eval" / "metrics.json").read_text())["results"]
        record["evaluate_py"] = {
            "modes": results["modes"],
            "hq": round(100 * results["high_quality"], 1),
            "ratio": round(results["w1"] / results["w1_true_vs_true"], 2),
        }
        record["goal_met"] = (
            total <= GOAL_SECONDS
            and verdict["modes"] >= GOAL_MODES
            and verdict["hq"] >= GOAL_HQ
            and verdict["ratio"] <= GOAL_RATIO
        )
    finally:
        if quota is not None:
            quota.remove()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"total {total / 60:.1f} min (venv {venv_seconds:.0f} s + "
        + " + ".join(f"{p['seconds']:.0f} s" for p in parts)
        + f"); verdict {int(verdict['modes'])}/{int(verdict['of'])} modes, {verdict['hq']}% high quality, "
        f"W1 {verdict['ratio']}x the floor; goal (<= 10 min, 25/25, >= 90%, <= 1.5x) "
        + ("met" if record["goal_met"] else "NOT met")
    )
    out = ROOT / "benchmarks" / "results" / f"quickstart_{time.strftime('%Y-%m-%d_%H%M')}.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
