"""Shared test setup: quiet TensorFlow, one cache folder per pytest run, tiny models, deterministic seeds."""

import atexit
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

# One cache folder (the digits classifier, real-data statistics, folder scans) for the whole pytest
# run: set here, in the first process that loads this file, so that pytest-xdist's workers and every
# process a test starts inherit it; things made once are made once per run, and nothing is written
# to the user's ~/.cache. Removed when that first process exits.
if "KERAS_WGAN_CACHE" not in os.environ:
    os.environ["KERAS_WGAN_CACHE"] = tempfile.mkdtemp(prefix="keras_wgan_tests_cache_")
    atexit.register(shutil.rmtree, os.environ["KERAS_WGAN_CACHE"], True)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from keras_wgan import networks  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_everything():
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield


@pytest.fixture
def tiny_mlp_pair():
    """A small MLP generator/critic pair for 2D data."""

    def make(width=16, depth=2, latent_dim=2, seed=0, critic_norm="none"):
        g = networks.build_mlp_generator(latent_dim, width=width, depth=depth, seed=seed)
        c = networks.build_mlp_critic(width=width, depth=depth, norm=critic_norm, seed=seed + 100)
        return g, c

    return make


@pytest.fixture
def gaussian_points():
    rng = np.random.default_rng(0)
    return rng.normal(size=(640, 2)).astype("float32")


# ---------------------------------------------------------------- shared runs
#: The run folders several tests read, trained once per pytest run (train.py's command line in-process).
# The test files that take longest, with their seconds on one pytest-xdist worker (2-core machine,
# measured 2026-11-30: the TensorFlow session, and the JAX session for the four ``backends`` files).
# pytest-xdist hands whole files to its two workers (``--dist loadfile``) in collection order
# (``--no-loadscope-reorder``); started longest first, the workers finish together instead of one
# waiting while the other runs a long file that came last. Only the order matters: a stale figure
# costs speed, never a result.
LONGEST_FILES = {
    "test_multiworker.py": 150,
    "test_family.py": 120,
    "test_experiments.py": 100,
    "test_run_folder.py": 100,
    "test_train_cli.py": 90,
    "test_models.py": 88,
    "test_training_loop.py": 86,
    "test_conditional.py": 82,
    "test_mnist.py": 80,
    "test_evaluate_cli.py": 75,
    "test_celeba.py": 74,
    "test_serialization.py": 63,
    "test_callbacks.py": 62,
    "test_backends.py": 57,
    "test_distribute.py": 52,
    "test_backends_members_cli.py": 43,
    "test_gpu_benchmark.py": 29,
    "test_backends_cli.py": 27,
}


def pytest_collection_modifyitems(items):
    """Runs the longest test files first (``LONGEST_FILES``), the rest after them in their usual order."""
    items.sort(key=lambda item: -LONGEST_FILES.get(item.path.name, 0))


SHARED_RUNS = {
    # Every artifact of an image run: sample grids, the GIF, curves, gradient norms, TensorBoard, the
    # averaged generator (decay 0: the generator itself), final models.
    "digits": ["--variant", "wgan_gp", "--dataset", "digits", "--width", "4", "--batch-size", "8", "--latent-dim", "8"]
    + ["--quiet", "--steps", "4", "--steps-per-epoch", "2", "--ema-decay", "0"],
    # A 2D run: critic landscapes every 2 steps, the verdict line.
    "toy": ["--variant", "wgan", "--dataset", "8gaussians", "--width", "16", "--batch-size", "16", "--quiet"]
    + ["--steps", "4", "--steps-per-epoch", "2", "--plot-every-steps", "2"],
}


class SharedRun:
    """A finished run folder shared by the tests of a pytest run: read it, or ``copy`` it before writing.

    Attributes:
        path: the run folder (its parent holds nothing else: the run was started there).
        args: the ``train.py`` arguments it was trained with, ``--out`` excepted.
        stdout: what ``train.py`` printed.
    """

    def __init__(self, path: Path, args: list[str], stdout: str):
        self.path, self.args, self.stdout = path, args, stdout

    def args_without(self, *flags: str) -> list[str]:
        """``args`` without the given options and their values (to give them anew)."""
        out, skip = [], False
        for arg in self.args:
            if skip:
                skip = False
            elif arg in flags:
                skip = True
            else:
                out.append(arg)
        return out

    def copy(self, dest: Path) -> Path:
        """A copy of the run folder at ``dest`` (for a test that resumes or evaluates it)."""
        shutil.copytree(self.path, dest)
        return dest


@pytest.fixture(scope="session")
def shared_runs(tmp_path_factory) -> dict[str, SharedRun]:
    """``SHARED_RUNS`` trained once per pytest run: by the first pytest-xdist worker that asks, under a
    file lock, in a folder every worker sees; the others read what it wrote."""
    from helpers import run_cli

    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared_runs"
    root.mkdir(exist_ok=True)
    runs = {}
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        for name, args in SHARED_RUNS.items():
            folder, log = root / name, root / f"{name}.stdout"
            if not log.is_file():
                folder.mkdir()
                result = run_cli("train.py", [*args, "--out", folder / "run"], cwd=folder)
                assert result.returncode == 0, result.stderr[-3000:]
                log.write_text(result.stdout)
            runs[name] = SharedRun(folder / "run", list(args), log.read_text())
    return runs
