"""``RunDir``: a run folder, its paths, and what is done to it as a whole.

A run folder (``train.py --out``)::

    config.json          resolved configuration (enough to rebuild everything)
    backup/              resume state: state.weights.h5 (both networks, both
                         optimizers, step counters, RNG), state.json (the commit
                         point) and the averaged generator of that step, if any
    generator.keras      final generator; gan.keras: the full GAN
    ema_generator.keras  the averaged generator (with --ema-decay)
    samples/             fixed-noise grids step_XXXXXXXX.png, progress.gif, fixed_latent.npy
    plots/               losses.png, grad_norms.png (+ csv), critic_XXXXXXXX.png and critic.gif (2D)
    history.csv          per-epoch metrics; history_steps.csv: means every ~tenth of an epoch
    logs/                TensorBoard
    eval/                what evaluate.py writes
    .lock                held by the process training into the folder

Only the chief of a training job writes here (``keras_wgan.training``);
``evaluate.py`` reads the config and the model and writes ``eval/``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from keras_wgan.builders import build_model
from keras_wgan.callbacks.run import STATE_FILE
from keras_wgan.config import TrainConfig
from keras_wgan.errors import ConfigError
from keras_wgan.io_utils import atomic_path
from keras_wgan.models import GAN
from keras_wgan.run_lock import RunFolderInUse, RunLock
from keras_wgan.safe_load import load_keras


class RunDir:
    """A run folder.

    Args:
        path: the folder (it need not exist yet).

    Attributes:
        path: the folder; ``config_path``, ``backup_dir``, ``state_path``,
            ``samples_dir``, ``plots_dir``, ``history_path``, ``logs_dir``,
            ``eval_dir``, ``generator_path``, ``gan_path``,
            ``ema_generator_path``: the places listed in the module docstring.

    Example:
    >>> run = RunDir("runs/demo")
    >>> run.backup_dir.as_posix(), run.state_path.name
    ('runs/demo/backup', 'state.weights.h5')
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.config_path = self.path / "config.json"
        self.backup_dir = self.path / "backup"
        self.state_path = self.backup_dir / STATE_FILE
        self.samples_dir = self.path / "samples"
        self.plots_dir = self.path / "plots"
        self.history_path = self.path / "history.csv"
        self.logs_dir = self.path / "logs"
        self.eval_dir = self.path / "eval"
        self.generator_path = self.path / "generator.keras"
        self.gan_path = self.path / "gan.keras"
        self.ema_generator_path = self.path / "ema_generator.keras"

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @staticmethod
    def default_path(config: TrainConfig) -> str:
        """``runs/<variant>_<dataset>_<YYYYmmdd-HHMMSS>`` (a folder dataset by the folder's own name)."""
        dataset = config.dataset
        if dataset.startswith("folder:"):  # the folder's own name: folder_img_align_celeba
            dataset = "folder_" + (Path(dataset[len("folder:") :].rstrip("/")).name or "root")
        dataset = dataset.replace("/", "_").replace(":", "_")[:40]
        return str(Path("runs") / f"{config.variant}_{dataset}_{time.strftime('%Y%m%d-%H%M%S')}")

    # ---------------------------------------------------------------- state
    def holds_run(self) -> bool:
        """Whether a run was started here (its ``config.json`` exists)."""
        return self.config_path.is_file()

    def prepare(self) -> None:
        """Creates the folder and checks that it is writable.

        Raises:
            ConfigError: it cannot be created or written.
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write_test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as err:
            raise ConfigError(f"cannot write to the run folder {self.path}: {err.strerror or err}") from err

    @contextlib.contextmanager
    def locked(self) -> Iterator[RunLock]:
        """Holds the folder's lock for the block (``keras_wgan.run_lock``).

        Raises:
            ConfigError: another live process holds it.
        """
        lock = RunLock(self.path)
        try:
            lock.acquire()
        except RunFolderInUse as err:
            raise ConfigError(f"{err}; wait for it to finish or choose another --out") from None
        try:
            yield lock
        finally:
            lock.release()

    def load_config(self) -> TrainConfig:
        """The run's ``config.json``.

        Raises:
            ConfigError: not a run folder, or an unreadable config.
        """
        if not self.holds_run():
            raise ConfigError(f"{self.path} is not a run folder (no config.json)")
        return TrainConfig.load(self.config_path)

    def resume_config(self, config: TrainConfig) -> TrainConfig | None:
        """The resolved config to continue the run here with, or None when the folder holds no run.

        ``config`` is the configuration as given (before ``resolve``); the run's
        saved config is the ``run folder`` source of defaults
        (``TrainConfig.resolve(run=...)``), so what ``config`` leaves open among
        the run-defining fields comes from the run, and a run resumes with its
        own values even after a default changed; what it sets must agree with
        the run. ``config`` itself is not changed.

        Raises:
            ConfigError: ``config`` does not allow a resume, or conflicts with the run.
        """
        if not self.holds_run():
            return None
        if not config.resume:
            raise ConfigError(f"{self.path} already holds a run; resume it (drop --no-resume) or choose another --out")
        saved = self.load_config()
        merged = config.resolve(run=saved)
        mine, theirs = merged.identity(), saved.identity()
        conflicts = [f"{k}={mine[k]!r} (run has {theirs[k]!r})" for k in mine if mine[k] != theirs[k]]
        if conflicts:
            raise ConfigError(f"the command line conflicts with the run in {self.path}: " + ", ".join(conflicts))
        return merged

    def load(self) -> tuple[TrainConfig, GAN]:
        """Rebuilds the run's model: ``gan.keras`` if present, else the last checkpoint.

        Returns:
            ``(config, model)``.

        Raises:
            ConfigError: not a run folder, or nothing to load.
        """
        config = self.load_config()
        if self.gan_path.is_file():
            return config, load_keras(self.gan_path)
        if not self.state_path.is_file():
            raise ConfigError(f"{self.path} has neither gan.keras nor a backup to load")
        model = build_model(config)
        model.load_weights(self.state_path)
        return config, model

    def save_final(self, model: GAN) -> None:
        """Writes ``generator.keras`` and ``gan.keras``, each atomically."""
        for path, obj in ((self.generator_path, model.generator), (self.gan_path, model)):
            with atomic_path(path) as tmp:
                obj.save(tmp)
