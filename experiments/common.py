"""Shared plumbing of the experiment scripts: running train.py/evaluate.py, tables, files.

The experiments are thin layers over the command line: every training run is a
``python train.py ...`` subprocess with its own run folder (so a study that is
interrupted resumes where it stopped when it is started again), every number
comes from ``python evaluate.py RUN`` (``RUN/eval/metrics.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported below

from keras_wgan import variants  # noqa: E402
from keras_wgan.io_utils import atomic_path, atomic_write_text  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = REPO / "docs" / "results"
DEFAULT_RUNS = REPO / "runs" / "experiments"
EMA_DECAY = 0.999  # the generator average the studies keep (train.py --ema-decay)


class ExperimentError(RuntimeError):
    """A training or evaluation subprocess failed (the message holds its last output lines)."""


@dataclass
class Job:
    """One training run of a study: the train.py arguments and its run folder.

    Attributes:
        name: short unique name (also the run folder's name).
        train_args: arguments of ``train.py`` after ``--out``.
        eval_args: arguments of ``evaluate.py`` after the run folder (the main metrics).
        meta: what the tables group by (variant, dataset, seed, ...).
        extra_evals: further evaluations, ``{name: evaluate.py arguments}``, kept in
            the record under ``extra_metrics[name]`` (run before the main one, so the
            run's ``eval/`` folder ends with the main evaluation's files).
    """

    name: str
    train_args: list[str]
    eval_args: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    extra_evals: dict[str, list[str]] = field(default_factory=dict)


def base_parser(description: str) -> argparse.ArgumentParser:
    """The options every study shares: ``--quick``, ``--out``, ``--runs``, ``--jobs``, ``--seeds``, ``--steps``."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the reduced version (minutes on 2 CPU cores)")
    parser.add_argument("--out", type=Path, default=DEFAULT_RESULTS, help="where tables and figures go")
    parser.add_argument("--runs", type=Path, default=DEFAULT_RUNS, help="where the run folders go")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained in parallel (one CPU thread each)")
    parser.add_argument("--seeds", type=str, help="comma-separated seeds (default depends on the study)")
    parser.add_argument("--steps", type=int, help="generator iterations per run (overrides the study's budget)")
    return parser


def parse_list(text: str | None, default: Sequence[Any], kind: Callable[[str], Any] = str) -> list[Any]:
    """``"a,b"`` -> ``[kind("a"), kind("b")]``; None -> ``list(default)``."""
    if text is None:
        return list(default)
    items = [kind(t.strip()) for t in text.split(",") if t.strip()]
    if not items:
        raise SystemExit(f"error: empty list {text!r}")
    return items


def parse_choices(parser: argparse.ArgumentParser, text: str | None, choices: Sequence[str], what: str) -> list[str]:
    """``parse_list`` of names that must be among ``choices`` (a usage error otherwise); None -> all."""
    names = parse_list(text, choices)
    for name in names:
        if name not in choices:
            parser.error(f"unknown {what} {name!r}; choose from {', '.join(choices)}")
    return names


def command_line() -> str:
    """The command that started this script, as a user would type it from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(REPO)
    except ValueError:
        pass
    return shlex.join(["python", str(script), *sys.argv[1:]])


def _env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["TF_NUM_INTRAOP_THREADS"] = str(threads)
    env["TF_NUM_INTEROP_THREADS"] = str(threads)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def run_script(script: str, args: Sequence[str], log: Path, threads: int = 1) -> float:
    """Run ``python SCRIPT ARGS`` from the repository root, output appended to ``log``.

    Args:
        script: ``train.py`` or ``evaluate.py``.
        args: its arguments.
        log: file that receives stdout and stderr.
        threads: TensorFlow intra-/inter-op threads of the subprocess.

    Returns:
        Wall seconds.

    Raises:
        ExperimentError: the subprocess exited non-zero.
    """
    cmd = [sys.executable, str(REPO / script), *map(str, args)]
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"$ {shlex.join(cmd)}\n")
        f.flush()
        code = subprocess.call(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=_env(threads))
    if code != 0:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:])
        raise ExperimentError(f"{script} exited with {code} (log: {log}):\n{tail}")
    return time.perf_counter() - t0


def train_and_evaluate(job: Job, runs_dir: Path, threads: int = 1) -> dict[str, Any]:
    """Train (or resume, or skip if finished) one job, evaluate it, return its record.

    The record (``RUN/experiment.json``) holds the job's metadata, the metrics of
    ``evaluate.py`` and the training wall time. The wall time of a run that
    needed several invocations is the sum of them.
    """
    run_dir = runs_dir / job.name
    record_path = run_dir / "experiment.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    same = record.get("train_args") == job.train_args and record.get("eval_args") == job.eval_args
    if same and record.get("extra_evals") == job.extra_evals and "metrics" in record:
        return record
    log = run_dir.parent / f"{job.name}.log"
    seconds = run_script("train.py", ["--out", run_dir, "--quiet", *job.train_args], log, threads)
    state = json.loads((run_dir / "backup" / "state.json").read_text())
    # The run folder's earlier training counts when this invocation continues it: the same arguments,
    # or the same with a larger --steps (a longer budget resumes the run where it ended).
    previous = record.get("train_seconds", 0.0) if _continues(record.get("train_args"), job.train_args) else 0.0
    record = {
        "name": job.name,
        "meta": job.meta,
        "train_args": job.train_args,
        "eval_args": job.eval_args,
        "extra_evals": job.extra_evals,
        "train_seconds": previous + seconds,
        "generator_steps": int(state["step"]),
        "extra_metrics": {},
    }
    _write_json(record_path, record)
    for name, args in job.extra_evals.items():
        run_script("evaluate.py", [run_dir, "--quiet", *args], log, threads)
        record["extra_metrics"][name] = _read_metrics(run_dir)
    run_script("evaluate.py", [run_dir, "--quiet", *job.eval_args], log, threads)
    record["metrics"] = _read_metrics(run_dir)
    _write_json(record_path, record)
    return record


def _continues(before: Sequence[str] | None, now: Sequence[str]) -> bool:
    """Whether training with ``now`` resumes a run trained with ``before``: equal but for a --steps not smaller."""

    def split(args: Sequence[str]) -> tuple[list[str], int | None]:
        args = list(args)
        if "--steps" not in args:
            return args, None
        i = args.index("--steps")
        return args[:i] + args[i + 2 :], int(args[i + 1])

    if before is None:
        return False
    (rest_before, steps_before), (rest_now, steps_now) = split(before), split(now)
    if rest_before != rest_now:
        return False
    return steps_before == steps_now or (None not in (steps_before, steps_now) and steps_now >= steps_before)


def _read_metrics(run_dir: Path) -> dict[str, Any]:
    """The ``results`` of ``RUN/eval/metrics.json`` (the file also holds what was evaluated, and how)."""
    return json.loads((run_dir / "eval" / "metrics.json").read_text())["results"]


def run_jobs(jobs: Iterable[Job], runs_dir: Path, parallel: int) -> list[dict[str, Any]]:
    """Run jobs ``parallel`` at a time (one TensorFlow thread each); records in job order.

    Prints one line per finished job. Stops at the first failure (runs already
    finished keep their records, so running the study again continues).
    """
    jobs = list(jobs)
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        raise ValueError("job names must be unique")
    runs_dir.mkdir(parents=True, exist_ok=True)
    threads = job_threads(parallel)
    done = 0

    def one(job: Job) -> dict[str, Any]:
        nonlocal done
        record = train_and_evaluate(job, runs_dir, threads)
        done += 1
        print(f"[{done}/{len(jobs)}] {job.name}: {summary(record)}", flush=True)
        return record

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(one, jobs))


def seed_by_seed(jobs: Iterable[Job]) -> list[Job]:
    """Jobs ordered seed by seed (``job.meta["seed"]``), the costliest first within a seed.

    The full studies take hours: stopped part-way, they then hold every row at its first
    seed instead of some rows at three seeds and others at none. Within a seed the runs with
    the most critic steps per iteration (:func:`critic_steps`) go first, so the parallel
    workers end together on short runs.

    Args:
        jobs: the study's jobs, each with a ``"seed"`` and a ``"variant"`` in its ``meta``.

    Returns:
        The jobs in running order (the order is stable among equal keys).
    """
    return sorted(jobs, key=lambda job: (job.meta["seed"], -critic_steps(job)))


def critic_steps(job: Job) -> float:
    """A job's cost for :func:`seed_by_seed`: its variant's paper critic steps per generator step."""
    return float(variants.get(job.meta["variant"]).paper_defaults.n_critic)


def job_threads(parallel: int) -> int:
    """TensorFlow threads of each run: one when runs share the machine, all cores for a single run."""
    return 1 if parallel > 1 else max(1, os.cpu_count() or 1)


def timing_note(parallel: int) -> str:
    """How the table's times were measured (threads per run, runs at a time)."""
    threads = job_threads(parallel)
    if parallel > 1:
        return f"Time per run with one CPU thread, {parallel} runs in parallel."
    return f"Time per run with {threads} CPU thread{'s' if threads > 1 else ''}, one run at a time."


def summary(record: dict[str, Any]) -> str:
    """One line about a finished record."""
    m = record["metrics"]
    keys = [k for k in ("modes", "high_quality", "w1", "classes_covered", "class_kl", "swd") if k in m]
    parts = [f"{k}={m[k]:.4g}" if isinstance(m[k], float) else f"{k}={m[k]}" for k in keys]
    return ", ".join(parts) + f" ({record['train_seconds']:.0f} s, {record['generator_steps']} steps)"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)


def publish(out: Path, stem: str, settings: str, body: str, data: Any, extra: str = "") -> None:
    """Write a study's results: ``OUT/STEM.md`` and ``OUT/STEM.json``, then print the table.

    The markdown holds the command that produced it, the ``settings`` line, the
    table ``body`` and any ``extra`` text; the JSON holds ``data`` (the records).
    """
    write_text(out / f"{stem}.md", f"Command: `{command_line()}`\n\n{settings}\n\n{body}{extra}")
    write_text(out / f"{stem}.json", json.dumps(data, indent=2) + "\n")
    print(body)
    print(f"wrote {out / (stem + '.md')}")


FULL_SEEDS = (0, 1, 2)  # every row of a full study: mean and spread over at least three seeds


def seed_plan(args: argparse.Namespace, keys: Sequence[str]) -> dict[str, list[int]]:
    """Seeds per row key: ``--seeds`` (or seed 0 with ``--quick``) for all, else ``FULL_SEEDS`` for all."""
    if args.seeds is not None or args.quick:
        return {k: parse_list(args.seeds, (0,), int) for k in keys}
    return {k: list(FULL_SEEDS) for k in keys}


def seeds_note(seeds: dict[str, list[int]]) -> str:
    """The seeds of a study for its settings line: ``"a 0, 1; b 0"``."""
    return "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in seeds.items())


def _write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def copy_figure(src: Path, dst: Path) -> Path:
    """Copy one picture a run wrote into the results folder."""
    if not src.exists():
        raise ExperimentError(f"expected picture {src} is missing")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def copy_gif(src: Path, dst: Path, max_frames: int = 12) -> Path:
    """Copy a run's training GIF into the results folder, keeping at most ``max_frames`` evenly spaced frames.

    The first and the last frame are always kept; each kept frame shows for 0.5 s.
    """
    from PIL import Image, ImageSequence

    if not src.exists():
        raise ExperimentError(f"expected picture {src} is missing")
    with Image.open(src) as gif:
        frames = [frame.copy() for frame in ImageSequence.Iterator(gif)]
    if len(frames) > max_frames:
        last = len(frames) - 1
        frames = [frames[round(i * last / (max_frames - 1))] for i in range(max_frames)]
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=500, loop=0)
    return dst


def prdc_cells(metrics: Sequence[dict]) -> list[str]:
    """Precision, recall, density and coverage cells over seeds ("-" for runs evaluated without ``prdc``)."""
    keys = ("precision", "recall", "density", "coverage")
    if not all(k in m for m in metrics for k in keys):
        return ["-"] * len(keys)
    return [mean_range([m[k] for m in metrics]) for k in keys]


def mean_range(values: Sequence[float], scale: float = 1.0, digits: int = 3) -> str:
    """A table cell over seeds: ``"mean (min-max)"``, or the value alone for one seed, ``digits`` significant."""
    values = [v * scale for v in values]
    if len(values) == 1:
        return f"{values[0]:.{digits}g}"
    return f"{statistics.mean(values):.{digits}g} ({min(values):.{digits}g}-{max(values):.{digits}g})"
