"""``train(config)``: one training run from a ``TrainConfig`` into a run folder.

What the run folder holds is described in ``keras_wgan.run_dir``.

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

import dataclasses
import math
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from keras_wgan import backend, distribute, faults
from keras_wgan import callbacks as cbs
from keras_wgan.backend.tensorflow import check_steps_per_execution
from keras_wgan.builders import build_model
from keras_wgan.config import TrainConfig
from keras_wgan.data import dataset_size, label_names
from keras_wgan.errors import ConfigError, TrainingDiverged, WorkerLost
from keras_wgan.models import GAN
from keras_wgan.run_dir import RunDir

__all__ = ["TrainingDiverged", "WorkerLost", "artifact_callbacks", "plan_steps", "train"]

#: The model's state (every weight and optimizer variable) is checked for NaN and
#: infinities every this many generator steps, and at every checkpoint step. Measured
#: in benchmarks/finite_check.py: one check costs about 5% of a step of the toys' fast
#: recipe and 0.2% of a 32 px DCGAN step, so every 10 steps costs at most about 0.5%.
STATE_CHECK_EVERY = 10


# ----------------------------------------------------------------- building
def plan_steps(config: TrainConfig) -> tuple[int, int]:
    """``(steps_per_epoch, total_steps)`` for a resolved config."""
    spe = config.steps_per_epoch
    spec = config.dataset_spec
    if spe is None:
        size = dataset_size(config.dataset, config.data_dir)  # prepares CelebA first if needed
        # One pass over the images, but at least 100 iterations, so that the per-epoch
        # pictures stay a small cost on small datasets such as digits.
        spe = 1000 if size is None else max(100, size // (config.batch_size * config.n_critic))
    if config.steps is not None:
        total = config.steps
    else:
        total = spe * (config.epochs if config.epochs is not None else spec.epochs)
    return spe, total


# -------------------------------------------------------------- callbacks
def artifact_callbacks(
    config: TrainConfig,
    run_dir: RunDir | Path,
    real_batch: Any,
    steps_per_epoch: int,
    ema: cbs.GeneratorEMA | None = None,
) -> list[keras.callbacks.Callback]:
    """The callbacks that write a run's pictures, curves and logs, at the config's frequencies.

    Defaults: sample grid every epoch (images) or critic landscape every
    ``min(steps_per_epoch, 1000)`` steps (2D), gradient norms every
    ``min(steps_per_epoch // 4, 250)`` steps, loss curves (``history_steps.csv``) and
    TensorBoard scalars every ``min(steps_per_epoch // 10, 100)`` steps and at epoch ends,
    TensorBoard pictures (the grid, or the critic landscape) every epoch. The
    TensorBoard callback keeps one event file open for the run: call its ``close()``
    after the last ``fit``.

    Args:
        config: a resolved config.
        run_dir: the run folder.
        real_batch: real samples for the diagnostics (the first batch of the data;
            ``(samples, labels)`` for a conditional run).
        steps_per_epoch: generator iterations per epoch.
        ema: the run's ``GeneratorEMA``, if any (then included first, and the grids show it).

    Returns:
        The callbacks, in the order they must run.
    """
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    every_tenth = max(1, min(steps_per_epoch // 10, 100))  # loss points and TensorBoard scalars
    result: list[keras.callbacks.Callback] = [] if ema is None else [ema]
    landscape = None
    samples = real_batch[0] if isinstance(real_batch, tuple) else real_batch
    if config.is_toy:
        every = config.plot_every_steps or max(1, min(steps_per_epoch, 1000))
        landscape = cbs.CriticLandscape(samples[:512], run.plots_dir, every_n_steps=every, seed=config.seed)
        result.append(landscape)
    else:
        result.append(
            cbs.SampleGrid(
                run.samples_dir,
                every_n_epochs=config.sample_every_epochs,
                every_n_steps=config.sample_every_steps,
                seed=config.seed,
                generator=ema,
                label_names=config.class_names,
            )
        )
    result += [
        cbs.LossCurves(run.history_path, run.plots_dir / "losses.png", every_n_steps=every_tenth),
        cbs.GradientNorms(
            keras.tree.map_structure(lambda t: t[: 256 if config.is_toy else 32], real_batch),
            run.plots_dir / "grad_norms.csv",
            run.plots_dir / "grad_norms.png",
            every_n_steps=config.grad_norm_every_steps or max(1, min(steps_per_epoch // 4, 250)),
            seed=config.seed,
        ),
        cbs.GANTensorBoard(
            run.logs_dir,
            every_n_steps=every_tenth,
            histograms=config.tensorboard_histograms,
            seed=config.seed,
            # 2D data: the critic landscape in TensorBoard's Images tab, as image runs show their grids.
            image_fn=None if landscape is None else landscape.render,
            keep_open=True,  # one event file per run (train() closes it)
        ),
    ]
    return result


# ------------------------------------------------------------------- train
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
    given = config
    config = config.resolve()
    if config.out is None:
        config.out = RunDir.default_path(config)
    given = dataclasses.replace(given, out=config.out)
    run = RunDir(config.out)
    tf_strategy = config.strategy
    if backend.is_jax():
        backend.check_mixed_precision(config.mixed_precision)  # before the run folder is touched
        # JAX: one process; "mirrored" is keras.distribution.DataParallel over the local devices.
        devices = distribute.use_jax_devices(config.strategy, config.batch_size)
        tf_strategy = "default"
        if devices > 1:
            print(f"[keras_wgan] JAX: data parallel over {devices} devices", flush=True)
    role = distribute.worker_role(tf_strategy)
    # The strategy first: with several workers its constructor waits until the whole
    # cluster is up, so that a chief that stops below (a conflicting resume, a run
    # folder in use) is noticed by the others' health checks instead of never arriving.
    strategy = distribute.make_strategy(tf_strategy)
    # What the replicas cannot run is refused before the run folder is touched.
    distribute.check_global_batch(config.batch_size, strategy.num_replicas_in_sync)
    check_steps_per_execution(config.steps_per_execution, strategy.num_replicas_in_sync)
    try:
        if not role.is_chief:
            # The run folder is the chief's; this worker only computes.
            return _train(config, run, role, strategy, resuming=False)
        run.prepare()
        with run.locked():
            resumed = run.resume_config(given)
            return _train(resumed or config, run, role, strategy, resuming=resumed is not None)
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


class _Streams:
    """The run's sample stream: from the start (opened first, so the data is loaded, checked or
    prepared before anything is written) and from any generator step, one shard per replica."""

    def __init__(self, config: TrainConfig, strategy: tf.distribute.Strategy):
        self.config = config
        self.strategy = strategy
        self.from_start = self.open(0)
        if config.conditional is not None and config.dataset_spec.kind == "folder":
            found = label_names(config.dataset)
            if found != list(config.class_names):
                raise ConfigError(
                    f"the class subfolders of {config.dataset[len('folder:') :]} are {', '.join(found)}; the run "
                    f"was started with {', '.join(config.class_names)}: its labels would change meaning"
                )

    def open(self, start_sample: int, num_shards: int = 1, shard_index: int = 0) -> tf.data.Dataset:
        return self.config.make_dataset(
            repeat=True, start_sample=start_sample, num_shards=num_shards, shard_index=shard_index
        )

    def first_batch(self) -> Any:
        """Real samples for the diagnostics (the stream's first batch; ``(samples, labels)`` when conditional)."""
        return keras.tree.map_structure(lambda t: t.numpy(), next(iter(self.from_start.take(1))))

    def epoch(self, step: int, steps: int) -> tf.data.Dataset | tf.distribute.DistributedDataset:
        """The next ``steps`` batches of the stream from generator step ``step``, one shard per replica."""
        c = self.config

        def make_shard(num_shards: int, shard_index: int) -> tf.data.Dataset:
            start = step * c.batch_size * c.n_critic
            source = self.from_start if start == 0 and num_shards == 1 else self.open(start, num_shards, shard_index)
            return source.take(steps).apply(tf.data.experimental.assert_cardinality(steps))

        return distribute.distribute_stream(self.strategy, make_shard)


def _build(config: TrainConfig, strategy: tf.distribute.Strategy) -> GAN:
    """The run's compiled model under its precision policy and seed, in the strategy's scope."""
    keras.mixed_precision.set_global_policy("float32" if config.mixed_precision == "off" else config.mixed_precision)
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        return build_model(config)


def _share_chief_state(strategy: tf.distribute.Strategy, model: GAN, plan: list[int]) -> list[int]:
    """Every worker continues from the chief's state (fresh or loaded) and plan (a collective)."""
    plan = distribute.broadcast_ints(strategy, plan)
    distribute.sync_from_first_replica(strategy, _all_variables(model))
    return plan


def _announce(run: RunDir, role: distribute.WorkerRole, step: int, total_steps: int) -> None:
    if role.is_chief:
        print(f"[keras_wgan] run folder: {run.path.resolve()}", flush=True)
    else:
        print(
            f"[keras_wgan] {role.description}: the chief writes the run folder; this worker writes nothing", flush=True
        )
    if step:
        print(f"[keras_wgan] resuming at generator step {step} of {total_steps}", flush=True)


def _averaged_generator(
    config: TrainConfig, run: RunDir, backup: cbs.RunCheckpoint, step: int, role: distribute.WorkerRole
) -> cbs.GeneratorEMA:
    """The run's ``GeneratorEMA``, resumed from the average of the checkpointed step (a fresh copy if none)."""
    saved = backup.read_state()
    load_from = backup.ema_path(step) if step and saved.get("step") == step and saved.get("ema") else None
    if step and load_from is None:
        print(f"[keras_wgan] no averaged generator for step {step} in the checkpoint; it restarts", flush=True)
    return cbs.GeneratorEMA(
        config.ema_decay,
        path=run.ema_generator_path,
        load_from=load_from,
        resume=load_from is not None,
        # Only the chief averages: with several workers a stop must come from what all of them check.
        stop_on_nonfinite=role.count == 1,
    )


def _fit_epochs(
    model: GAN,
    streams: _Streams,
    steps_per_epoch: int,
    total_steps: int,
    fit_args: dict[str, Any],
    stopped: Any,
) -> None:
    """One ``fit`` call per epoch, each on exactly the epoch's steps of the stream, positioned at the
    current generator step, until ``total_steps`` or until ``stopped()`` says a watcher stopped the run.

    With ``steps_per_execution = k`` Keras runs whole executions of k steps; a
    finite epoch makes its last execution stop where the data ends, so an epoch
    is ``steps_per_epoch`` steps (not a multiple of k) and the run ends exactly
    at ``total_steps``.
    """
    while not stopped():
        step = cbs.generator_step(model)
        epoch = step // steps_per_epoch
        steps = min(steps_per_epoch - step % steps_per_epoch, total_steps - step)
        if steps <= 0:
            return
        model.fit(streams.epoch(step, steps), initial_epoch=epoch, epochs=epoch + 1, steps_per_epoch=steps, **fit_args)
        if model.stop_training:
            return


def _train(
    config: TrainConfig,
    run: RunDir,
    role: distribute.WorkerRole,
    strategy: tf.distribute.Strategy,
    resuming: bool,
) -> Path:
    """``train`` once the chief holds the run folder's lock (other workers write nothing)."""
    chief = role.is_chief
    model = _build(config, strategy)
    streams = _Streams(config, strategy)
    spe, total_steps = plan_steps(config)  # after the data: a prepared dataset knows its size
    backup = cbs.RunCheckpoint(run.backup_dir, config.checkpoint_every_steps or min(spe, 500))
    if chief:
        config.steps_per_epoch = spe
        config.save(run.config_path)
        if resuming and backup.path.is_file():
            model.load_weights(backup.path)
    if role.count > 1:
        spe, total_steps = _share_chief_state(strategy, model, [spe, total_steps])
    config.steps_per_epoch = spe
    step = cbs.generator_step(model)
    _announce(run, role, step, total_steps)
    if step >= total_steps:
        print(f"[keras_wgan] nothing to do: the run already has {step} generator steps", flush=True)
        if chief:
            run.save_final(model)
        return run.path

    # The state is checked at every checkpoint step too (the gcd divides the checkpoint interval), on every
    # worker alike, so the chief's checkpoint never meets a non-finite state the others did not stop on.
    guard = cbs.StopOnNonFinite(math.gcd(STATE_CHECK_EVERY, backup.every_n_steps))
    if chief and config.ema_decay is not None:
        backup.ema = _averaged_generator(config, run, backup, step, role)
    callbacks: list[keras.callbacks.Callback] = []
    if faults.nan_step() is not None:
        callbacks.append(cbs.InjectNaN(faults.nan_step(), faults.nan_mode()))
    callbacks += [guard, cbs.StopAtStep(total_steps)]
    if chief:
        callbacks += artifact_callbacks(config, run, streams.first_batch(), spe, backup.ema)
    callbacks.append(cbs.EpochSummary(math.ceil(total_steps / spe)))
    if chief:
        callbacks.append(backup)
    # shuffle=False: the stream is shuffled already (Keras warns otherwise).
    fit_args = {"callbacks": callbacks, "verbose": config.verbose, "shuffle": False}
    try:
        _fit_epochs(model, streams, spe, total_steps, fit_args, lambda: _divergence(model, guard, backup) is not None)
    finally:
        for callback in callbacks:
            if isinstance(callback, cbs.GANTensorBoard):
                callback.close()  # one event file for the whole run
    _raise_if_diverged(model, guard, backup, chief)
    if chief:
        run.save_final(model)
        where = f"run folder: {run.path.resolve()}"
        if config.is_toy:
            _print_toy_verdict(config, model, backup.ema)
    else:
        where = f"{role.description}; the chief wrote the run folder"
    print(f"[keras_wgan] finished {cbs.generator_step(model)} generator steps; {where}", flush=True)
    return run.path


def _divergence(model: GAN, guard: cbs.StopOnNonFinite, backup: cbs.RunCheckpoint) -> cbs.Divergence | None:
    """The first divergence any of the run's watchers found (losses, state check, checkpoint, average)."""
    found = [d for d in (guard.failure, backup.failure) if d is not None]
    ema = backup.ema
    if ema is not None and ema.skipped_steps:
        named = cbs.state_divergence(model, "the averaged generator")
        what = named.what if named is not None else "the generator's weights"
        found.append(cbs.Divergence(ema.skipped_steps[0], what, None, "the averaged generator"))
    return min(found, key=lambda d: d.step) if found else None


def _raise_if_diverged(model: GAN, guard: cbs.StopOnNonFinite, backup: cbs.RunCheckpoint, chief: bool) -> None:
    """``TrainingDiverged`` naming the step, what became non-finite and the checkpoint kept; nothing
    after training (final save, verdict) runs then."""
    failure = _divergence(model, guard, backup) or cbs.state_divergence(model, "the final save")
    if failure is None:
        return
    if chief:
        committed = backup.committed_step
        kept = f"step {committed}" if committed is not None else "none was written"
        where = f"the last good checkpoint ({kept}) is kept in {backup.backup_dir}"
    else:
        where = "the last good checkpoint is kept in the chief's run folder"
    raise TrainingDiverged(
        f"training diverged: {failure.describe()}; {where}. Nothing after training ran (no final save, no "
        "verdict). Lower the learning rate or change the variant."
    )


def _print_toy_verdict(config: TrainConfig, model: GAN, ema: cbs.GeneratorEMA | None) -> None:
    """One line saying how close the generator came to the toy distribution (``evaluate.py``'s numbers)."""
    from keras_wgan.evaluation.run import toy_verdict

    def generate(z, labels=None):
        return model.generate(z) if labels is None else model.generate(z, labels=labels)

    generate, which, flag = (ema, "averaged generator", " --ema") if ema is not None else (generate, "generator", "")
    _, line = toy_verdict(config, generate, model.latent_dim)
    print(
        f"[keras_wgan] verdict ({which}, {config.dataset_spec.eval_samples} samples, as evaluate.py{flag}): {line}",
        flush=True,
    )
