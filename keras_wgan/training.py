"""``train(config)``: one training run from a ``TrainConfig`` into a run folder.

The run folder (``config.out``)::

    config.json          resolved configuration (enough to rebuild everything)
    backup/              resume state: state.weights.h5 (both networks, both
                         optimizers, step counters, RNG) + state.json (info)
    generator.keras      final generator; gan.keras: the full GAN
    samples/             fixed-noise grids step_XXXXXXXX.png, progress.gif, fixed_latent.npy
    plots/               losses.png, grad_norms.png (+ csv), critic_XXXXXXXX.png and critic.gif (2D)
    history.csv          per-epoch metrics
    logs/                TensorBoard

An epoch is ``steps_per_epoch`` generator iterations. Checkpoints are written
atomically (write, then rename) at every epoch end and every
``checkpoint_every_steps``; the generator optimizer's iteration counter in the
checkpoint is the step, from which the epoch and the position inside it
follow, so a run killed at any moment restarts from its last checkpoint.

With ``strategy="multiworker"`` every worker runs ``train`` with the same config;
only the chief touches the run folder, and the others receive its checkpoint
and plan through ``keras_wgan.distribute`` (see that module for the batch and
data conventions).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_wgan import callbacks as cbs
from keras_wgan import celeba, distribute, faults, networks, variants
from keras_wgan import data as data_lib
from keras_wgan.config import ConfigError, TrainConfig
from keras_wgan.io_utils import atomic_path, atomic_write_text
from keras_wgan.models import GAN
from keras_wgan.run_lock import RunFolderInUse, RunLock
from keras_wgan.schedule import StepTrigger

STATE_FILE = "state.weights.h5"


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class WorkerLost(RuntimeError):
    """Multi-worker training stopped because a worker or its connection was lost."""


# ----------------------------------------------------------------- building
def default_run_name(config: TrainConfig) -> str:
    """``runs/<variant>_<dataset>_<YYYYmmdd-HHMMSS>``."""
    dataset = config.dataset
    if dataset.startswith("folder:"):  # the folder's own name: folder_img_align_celeba
        dataset = "folder_" + (Path(dataset[len("folder:") :].rstrip("/")).name or "root")
    dataset = dataset.replace("/", "_").replace(":", "_")[:40]
    return str(Path("runs") / f"{config.variant}_{dataset}_{time.strftime('%Y%m%d-%H%M%S')}")


def build_networks(config: TrainConfig) -> tuple[keras.Model, keras.Model]:
    """The generator and critic a resolved config describes."""
    if config.is_toy:
        g = networks.build_mlp_generator(
            config.latent_dim, 2, width=config.width, depth=config.depth, activation=config.activation, seed=config.seed
        )
        c = networks.build_mlp_critic(
            2,
            width=config.width,
            depth=config.depth,
            activation=config.activation,
            norm=config.critic_norm,
            seed=config.seed + 1000,
        )
        return g, c
    gen_norm = "none" if config.activation == "selu" else "batch"
    gen_act = "selu" if config.activation == "selu" else "relu"
    g = networks.build_generator(
        config.latent_dim,
        config.image_size,
        config.channels,
        width=config.width,
        norm=gen_norm,
        activation=gen_act,
        seed=config.seed,
    )
    c = networks.build_critic(
        config.image_size,
        config.channels,
        width=config.width,
        norm=config.critic_norm,
        activation=config.activation,
        seed=config.seed + 1000,
    )
    return g, c


def build_model(config: TrainConfig) -> GAN:
    """The compiled GAN a resolved config describes (call inside the strategy scope)."""
    variant = variants.get(config.variant)
    g, c = build_networks(config)
    overrides: dict[str, Any] = {"n_critic": config.n_critic, "seed": config.seed, "latent_dim": config.latent_dim}
    if variant.clip_value is not None:
        overrides["clip_value"] = config.clip_value
    if variant.gp_weight is not None:
        overrides["gp_weight"] = config.gp_weight
        overrides["allow_batchnorm"] = config.allow_batchnorm
    model = variant.build_model(g, c, **overrides)
    model.compile(
        g_optimizer=variant.make_optimizer(config.optimizer, config.g_lr, config.beta_1, config.beta_2),
        d_optimizer=variant.make_optimizer(config.optimizer, config.d_lr, config.beta_1, config.beta_2),
        jit_compile=config.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )
    return model


def dataset_size(config: TrainConfig) -> int | None:
    """Number of real samples in one pass over an image dataset (None: endless or unknown)."""
    if config.is_toy:
        return None
    if config.dataset == "digits":
        return 1797
    if config.dataset.startswith("folder:"):
        return len(data_lib.scan_folder(config.dataset[len("folder:") :]).good)
    return celeba.num_examples(config.data_dir, "train")  # prepares the dataset first if needed


def plan_steps(config: TrainConfig) -> tuple[int, int]:
    """``(steps_per_epoch, total_steps)`` for a resolved config."""
    spe = config.steps_per_epoch
    if spe is None:
        size = dataset_size(config)
        # One pass over the images, but at least 100 iterations, so that the per-epoch
        # pictures stay a small cost on small datasets such as digits.
        spe = 1000 if size is None else max(100, size // (config.batch_size * config.n_critic))
    if config.steps is not None:
        total = config.steps
    else:
        total = spe * (config.epochs if config.epochs is not None else (20 if config.is_toy else 25))
    return spe, total


# -------------------------------------------------------------- callbacks
class RunCheckpoint(keras.callbacks.Callback):
    """Atomic resume checkpoints of the whole GAN state, of finite weights only.

    A checkpoint is three writes, each through a temporary file and a rename:
    the run's averaged generator if it keeps one (``backup/ema_XXXXXXXX.keras``,
    named by its step), then ``backup/state.weights.h5`` (networks, optimizers,
    RNG, the model's generator-step counter), then ``backup/state.json``, the
    commit point, which names the step and the averaged generator of that same
    step. A kill at any moment leaves the previous checkpoint whole and
    consistent; averages of older steps are removed after the commit. Nothing
    is written while any weight or optimizer variable is non-finite (the logged
    losses are computed before the update, so they cannot tell).

    Args:
        backup_dir: the folder.
        every_n_steps: also checkpoint every N generator steps (None: epoch ends only).
        ema: the run's ``GeneratorEMA``, saved with every checkpoint.
    """

    def __init__(
        self, backup_dir: str | os.PathLike, every_n_steps: int | None = None, ema: cbs.GeneratorEMA | None = None
    ):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.every_n_steps = every_n_steps
        self.ema = ema
        self.last_step = -1
        self.refused_steps: list[int] = []
        self._trigger = StepTrigger(every_n_steps)

    @property
    def path(self) -> Path:
        return self.backup_dir / STATE_FILE

    def ema_path(self, step: int) -> Path:
        """Where the averaged generator of the checkpoint at ``step`` lives."""
        return self.backup_dir / f"ema_{step:08d}.keras"

    def read_state(self) -> dict:
        """The committed ``state.json`` ({} when there is none or it is unreadable)."""
        try:
            return json.loads((self.backup_dir / "state.json").read_text())
        except (OSError, ValueError):
            return {}

    def save(self, logs: dict | None = None) -> None:
        step = cbs.generator_step(self.model)
        if step == self.last_step:
            return
        if not self.model.state_is_finite():
            self.refused_steps.append(step)
            return
        info = {"step": step, "critic_step": step * self.model.n_critic, "time": time.time()}
        if self.ema is not None and self.ema.ema_generator is not None:
            self.ema.save(self.ema_path(step))
            info["ema"] = self.ema_path(step).name
        with atomic_path(self.path) as tmp:
            self.model.save_weights(tmp)
        atomic_write_text(self.backup_dir / "state.json", json.dumps(info) + "\n")
        for old in self.backup_dir.glob("ema_*.keras"):
            if old.name != info.get("ema"):
                old.unlink(missing_ok=True)
        self.last_step = step

    def on_train_begin(self, logs=None):
        self._trigger.reset(cbs.generator_step(self.model))

    def on_train_batch_end(self, batch, logs=None):
        due = self._trigger(cbs.generator_step(self.model))
        steps = (self.params or {}).get("steps")
        if steps and batch + 1 >= steps:
            # The epoch's last batch: on_epoch_end checkpoints after the other callbacks
            # have written the epoch's history row, so a kill in between loses nothing.
            return
        if due:
            self.save(logs)

    def on_epoch_end(self, epoch, logs=None):
        self.save(logs)


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training when a logged metric becomes NaN or infinite and remembers which and when."""

    def __init__(self):
        super().__init__()
        self.failure: tuple[str, int, float] | None = None

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if np.ndim(value) == 0 and not np.isfinite(float(value)):
                self.failure = (key, cbs.generator_step(self.model), float(value))
                self.model.stop_training = True
                return


class InjectNaN(keras.callbacks.Callback):
    """Fault injection (``KERAS_WGAN_FAULT_NAN_AT_STEP``): NaN in the generator after a given step."""

    def __init__(self, step: int):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if cbs.generator_step(self.model) >= self.step:
            weight = self.model.generator.trainable_weights[0]
            weight.assign(np.full(weight.shape, np.nan, dtype=weight.dtype))
            self.step = 2**62  # once


class StopAtStep(keras.callbacks.Callback):
    """Stops training once the generator has made ``total_steps`` updates."""

    def __init__(self, total_steps: int):
        super().__init__()
        self.total_steps = total_steps

    def on_train_batch_end(self, batch, logs=None):
        if cbs.generator_step(self.model) >= self.total_steps:
            self.model.stop_training = True


class EpochSummary(keras.callbacks.Callback):
    """Prints one line per epoch: epoch, step, metrics, time."""

    def __init__(self, total_epochs: int, stream=None):
        super().__init__()
        self.total_epochs = total_epochs
        self.stream = stream or sys.stdout
        self._t0 = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        metrics = " ".join(f"{k}={float(v):.4g}" for k, v in sorted((logs or {}).items()) if np.ndim(v) == 0)
        print(
            f"[keras_wgan] epoch {epoch + 1}/{self.total_epochs} step {cbs.generator_step(self.model)} "
            f"{metrics} ({time.perf_counter() - self._t0:.1f}s)",
            file=self.stream,
            flush=True,
        )


def artifact_callbacks(
    config: TrainConfig,
    run_dir: Path,
    real_batch: np.ndarray,
    steps_per_epoch: int,
    ema: cbs.GeneratorEMA | None = None,
) -> list[keras.callbacks.Callback]:
    """The callbacks that write a run's pictures, curves and logs, at the config's frequencies.

    Defaults: sample grid every epoch (images) or critic landscape every
    ``min(steps_per_epoch, 1000)`` steps (2D), gradient norms every
    ``min(steps_per_epoch // 4, 250)`` steps, loss curves every epoch, TensorBoard scalars
    every ``min(steps_per_epoch // 10, 100)`` steps and at epoch ends.

    Args:
        config: a resolved config.
        run_dir: the run folder.
        real_batch: real samples for the diagnostics (the first batch of the data).
        steps_per_epoch: generator iterations per epoch.
        ema: the run's ``GeneratorEMA``, if any (then included first, and the grids show it).

    Returns:
        The callbacks, in the order they must run.
    """
    result: list[keras.callbacks.Callback] = [] if ema is None else [ema]
    if config.is_toy:
        every = config.plot_every_steps or max(1, min(steps_per_epoch, 1000))
        result.append(cbs.CriticLandscape(real_batch[:512], run_dir / "plots", every_n_steps=every, seed=config.seed))
    else:
        result.append(
            cbs.SampleGrid(
                run_dir / "samples",
                every_n_epochs=config.sample_every_epochs,
                every_n_steps=config.sample_every_steps,
                seed=config.seed,
                generator=ema,
            )
        )
    result += [
        cbs.LossCurves(run_dir / "history.csv", run_dir / "plots" / "losses.png"),
        cbs.GradientNorms(
            real_batch[: 256 if config.is_toy else 32],
            run_dir / "plots" / "grad_norms.csv",
            run_dir / "plots" / "grad_norms.png",
            every_n_steps=config.grad_norm_every_steps or max(1, min(steps_per_epoch // 4, 250)),
            seed=config.seed,
        ),
        cbs.GANTensorBoard(
            run_dir / "logs",
            every_n_steps=max(1, min(steps_per_epoch // 10, 100)),
            image_every_n_epochs=None if config.is_toy else 1,
            histograms=config.tensorboard_histograms,
            seed=config.seed,
        ),
    ]
    return result


# ------------------------------------------------------------------- train
def _prepare_run_dir(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write_test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"cannot write to the run folder {run_dir}: {err.strerror or err}") from err


def _check_resume(run_dir: Path, config: TrainConfig) -> bool:
    """True if the run folder holds a run to resume; raises on a conflicting config."""
    saved_path = run_dir / "config.json"
    if not saved_path.is_file():
        return False
    if not config.resume:
        raise ConfigError(f"{run_dir} already holds a run; resume it (drop --no-resume) or choose another --out")
    saved = TrainConfig.load(saved_path)
    if config.steps_per_epoch is None:  # not given: keep the run's epoch length
        config.steps_per_epoch = saved.steps_per_epoch
    mine, theirs = config.identity(), saved.identity()
    conflicts = [f"{k}={mine[k]!r} (run has {theirs[k]!r})" for k in mine if mine[k] != theirs[k]]
    if conflicts:
        raise ConfigError(f"the command line conflicts with the run in {run_dir}: " + ", ".join(conflicts))
    return True


def train(config: TrainConfig) -> Path:
    """Trains the GAN a config describes into its run folder, resuming if it holds a run.

    Args:
        config: the configuration (resolved here).

    Returns:
        The run folder.

    Raises:
        ConfigError: bad values, unwritable folder, conflicting resume.
        keras_wgan.data.DatasetError: the dataset cannot be loaded.
        TrainingDiverged: a metric became non-finite (the last good checkpoint is kept).
    """
    config = config.resolve()
    if config.out is None:
        config.out = default_run_name(config)
    run_dir = Path(config.out)
    role = distribute.worker_role(config.strategy)
    # The strategy first: with several workers its constructor waits until the whole
    # cluster is up, so that a chief that stops below (a conflicting resume, a run
    # folder in use) is noticed by the others' health checks instead of never arriving.
    strategy = distribute.make_strategy(config.strategy)
    try:
        if not role.is_chief:
            # The run folder is the chief's; this worker only computes.
            return _train(config, run_dir, role, strategy, resuming=False)
        _prepare_run_dir(run_dir)
        lock = RunLock(run_dir)
        try:
            lock.acquire()
        except RunFolderInUse as err:
            raise ConfigError(f"{err}; wait for it to finish or choose another --out") from None
        try:
            return _train(config, run_dir, role, strategy, resuming=_check_resume(run_dir, config))
        finally:
            lock.release()
    except tf.errors.OpError as err:
        cause = _cluster_error_cause(err)
        if role.count == 1 or cause is None:
            raise
        raise WorkerLost(
            f"{role.description} stopped: the cluster lost a worker or its connection ({cause}). Start every "
            "worker again with the same command (a worker that stopped on its own says why in its output); training "
            "resumes from the chief's last checkpoint."
        ) from None


def _cluster_error_cause(err: tf.errors.OpError) -> str | None:
    """The line of an op error that says the cluster lost a worker or a connection, or None
    when the error is something else (its first line is often only "Graph execution error:")."""
    lines = [line.strip() for line in (err.message or "").splitlines() if line.strip()]
    keys = ("collective ops is aborted", "connection", "unavailable", "peer", "socket closed", "failed to connect")
    named = [line for line in lines if any(k in line.lower() for k in keys)]
    lost = (
        tf.errors.UnavailableError,
        tf.errors.AbortedError,
        tf.errors.CancelledError,
        tf.errors.DeadlineExceededError,
    )
    if not named and not isinstance(err, lost):
        return None
    cause = (named or lines or [type(err).__name__])[0]
    return cause if len(cause) <= 300 else cause[:297] + "..."


def _all_variables(model: GAN) -> list:
    """The state every worker must hold alike: weights, counters, RNG states, both optimizers."""
    seen: dict[int, Any] = {}
    for v in [*model.variables, *model.g_optimizer.variables, *model.d_optimizer.variables]:
        if getattr(v, "synchronization", None) != "on_read":  # metrics stay per replica
            seen.setdefault(id(v), v)
    return list(seen.values())


def _train(
    config: TrainConfig,
    run_dir: Path,
    role: distribute.WorkerRole,
    strategy: tf.distribute.Strategy,
    resuming: bool,
) -> Path:
    """``train`` once the chief holds the run folder's lock (other workers write nothing)."""
    chief = role.is_chief
    keras.mixed_precision.set_global_policy("float32" if config.mixed_precision == "off" else config.mixed_precision)
    keras.utils.set_random_seed(config.seed)

    replicas = strategy.num_replicas_in_sync
    distribute.check_global_batch(config.batch_size, replicas)
    distribute.check_steps_per_execution(config.steps_per_execution, replicas)
    with strategy.scope():
        model = build_model(config)

    def stream(start_sample: int, num_shards: int = 1, shard_index: int = 0) -> tf.data.Dataset:
        return data_lib.make_dataset(
            config.dataset,
            config.batch_size,
            config.image_size,
            config.seed,
            n_critic=config.n_critic,
            channels=config.channels,
            crop=config.crop,
            data_dir=config.data_dir,
            cache=config.cache,
            repeat=True,
            start_sample=start_sample,
            num_shards=num_shards,
            shard_index=shard_index,
        )

    from_start = stream(0)  # loads (and checks, or prepares) the data before anything is written
    spe, total_steps = plan_steps(config)  # after the data: a prepared dataset knows its size
    config.steps_per_epoch = spe
    backup = RunCheckpoint(run_dir / "backup", config.checkpoint_every_steps or min(spe, 500))
    if chief:
        config.save(run_dir / "config.json")
        if resuming and backup.path.is_file():
            model.load_weights(backup.path)
            if cbs.generator_step(model) == 0 and int(model.g_optimizer.iterations.numpy()) > 0:
                # A checkpoint written before the model counted its own iterations.
                model.generator_iterations.assign(int(model.g_optimizer.iterations.numpy()))
    if role.count > 1:
        # Every worker continues from the chief's state (fresh or loaded) and plan.
        spe, total_steps = distribute.broadcast_ints(strategy, [spe, total_steps])
        distribute.sync_from_first_replica(strategy, _all_variables(model))
        config.steps_per_epoch = spe
    total_epochs = math.ceil(total_steps / spe)
    step = cbs.generator_step(model)
    if chief:
        print(f"[keras_wgan] run folder: {run_dir.resolve()}", flush=True)
    else:
        print(
            f"[keras_wgan] {role.description}: the chief writes the run folder; this worker writes nothing", flush=True
        )
    if step:
        print(f"[keras_wgan] resuming at generator step {step} of {total_steps}", flush=True)
    if step >= total_steps:
        print(f"[keras_wgan] nothing to do: the run already has {step} generator steps", flush=True)
        if chief:
            _save_final(model, run_dir)
        return run_dir

    nonfinite = StopOnNonFinite()
    if config.ema_decay is not None and chief:
        # The average of the checkpointed step, named by the committed state (a fresh copy if none).
        saved = backup.read_state()
        load_from = backup.ema_path(step) if step and saved.get("step") == step and saved.get("ema") else None
        if step and load_from is None:
            print(f"[keras_wgan] no averaged generator for step {step} in the checkpoint; it restarts", flush=True)
        backup.ema = cbs.GeneratorEMA(
            config.ema_decay,
            path=run_dir / "ema_generator.keras",
            load_from=load_from,
            resume=load_from is not None,
        )
    injected = [] if faults.nan_step() is None else [InjectNaN(faults.nan_step())]
    callbacks = [*injected, nonfinite, StopAtStep(total_steps)]
    if chief:
        real_batch = next(iter(from_start.take(1))).numpy()
        callbacks += artifact_callbacks(config, run_dir, real_batch, spe, backup.ema)
    callbacks.append(EpochSummary(total_epochs))
    if chief:
        callbacks.append(backup)

    def epoch_data(step: int, steps: int) -> tf.data.Dataset | tf.distribute.DistributedDataset:
        """The next ``steps`` batches of the stream from generator step ``step``, one shard per replica."""

        def make_shard(num_shards: int, shard_index: int) -> tf.data.Dataset:
            start = step * config.batch_size * config.n_critic
            source = from_start if start == 0 and num_shards == 1 else stream(start, num_shards, shard_index)
            return source.take(steps).apply(tf.data.experimental.assert_cardinality(steps))

        return distribute.distribute_stream(strategy, make_shard)

    # One fit call per epoch, each on exactly the epoch's steps of the stream,
    # positioned at the current generator step. With steps_per_execution = k,
    # Keras runs whole executions of k steps; a finite epoch makes its last
    # execution stop where the data ends, so an epoch is spe steps (not a multiple
    # of k) and the run ends exactly at total_steps. shuffle=False: the stream is
    # shuffled already (Keras warns otherwise).
    fit_args = {"callbacks": callbacks, "verbose": config.verbose, "shuffle": False}
    while nonfinite.failure is None:
        step = cbs.generator_step(model)
        epoch = step // spe
        steps = min(spe - step % spe, total_steps - step)
        if steps <= 0:
            break
        model.fit(epoch_data(step, steps), initial_epoch=epoch, epochs=epoch + 1, steps_per_epoch=steps, **fit_args)
        if model.stop_training:
            break
    if nonfinite.failure is not None:
        key, at, value = nonfinite.failure
        kept = f"step {backup.last_step}" if backup.last_step >= 0 else "the previous checkpoint, if any"
        where = backup.backup_dir if chief else "the chief's run folder"
        raise TrainingDiverged(
            f"training diverged: {key} became {value} at generator step {at}; the last good checkpoint "
            f"({kept}) is kept in {where}. Lower the learning rate or change the variant."
        )
    if chief:
        _save_final(model, run_dir)
        where = f"run folder: {run_dir.resolve()}"
    else:
        where = f"{role.description}; the chief wrote the run folder"
    print(f"[keras_wgan] finished {cbs.generator_step(model)} generator steps; {where}", flush=True)
    return run_dir


def _save_final(model: GAN, run_dir: Path) -> None:
    for name, obj in (("generator.keras", model.generator), ("gan.keras", model)):
        with atomic_path(run_dir / name) as tmp:
            obj.save(tmp)


def load_run(run_dir: str | os.PathLike) -> tuple[TrainConfig, GAN]:
    """Rebuilds a run's model from its folder: ``gan.keras`` if present, else the backup.

    Args:
        run_dir: a run folder written by ``train``.

    Returns:
        ``(config, model)``.
    """
    run_dir = Path(run_dir)
    config = TrainConfig.load(run_dir / "config.json")
    if (run_dir / "gan.keras").is_file():
        return config, keras.saving.load_model(run_dir / "gan.keras")
    model = build_model(config)
    state = run_dir / "backup" / STATE_FILE
    if not state.is_file():
        raise ConfigError(f"{run_dir} has neither gan.keras nor a backup to load")
    model.load_weights(state)
    return config, model
