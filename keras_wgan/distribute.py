"""Training on several devices and several hosts with ``tf.distribute``.

What lives here: the strategy a run asks for (``make_strategy``), which
worker of a multi-worker cluster this process is (``worker_role``, read from
``TF_CONFIG``), the broadcast that makes every worker start from the chief's
checkpoint (``sync_from_first_replica``) and the input pipeline that gives every
replica its share of each global batch (``distribute_stream``). The
per-replica arithmetic inside a training step (``replica_scale``,
``global_mean``) is the TensorFlow backend's (``keras_wgan.backend.tensorflow``).

The conventions, for ``mirrored`` (one host) and ``multiworker`` (several):

- ``batch_size`` is global: one critic update uses ``batch_size`` samples in
  all, ``batch_size / replicas`` on each replica, and the losses are
  global-batch means (each replica's mean is scaled by ``1 / replicas`` before
  the gradients are summed across replicas).
- Every worker reads the same seeded sample stream and keeps its share of it
  (replica ``r`` of ``R`` keeps samples ``r, r + R, ...``) before anything is
  decoded, so the replicas' batches together are exactly the batch a single
  process would use, for every kind of dataset (generated toys, image files,
  TFRecords).
- The chief (worker 0, or the task of type ``chief``) writes the run folder;
  the other workers write nothing. A resumed run loads the chief's
  checkpoint on the chief and broadcasts it, so the other hosts need no
  shared file system.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import tensorflow as tf

from keras_wgan.errors import ConfigError

STRATEGIES = ("default", "mirrored", "multiworker")


@dataclass(frozen=True)
class WorkerRole:
    """This process's place in a cluster.

    Attributes:
        index: the task index among the training tasks (chief first).
        count: the number of training tasks (1 without a cluster).
        is_chief: whether this task writes the run folder.
        description: e.g. ``"worker 1 of 2"``.
    """

    index: int = 0
    count: int = 1
    is_chief: bool = True
    description: str = "the only worker"


def worker_role(strategy_name: str = "multiworker", environ: dict | None = None) -> WorkerRole:
    """The role ``TF_CONFIG`` gives this process, checked.

    Args:
        strategy_name: ``multiworker`` reads ``TF_CONFIG``; any other strategy
            is a single worker.
        environ: the environment (``os.environ`` by default).

    Returns:
        A ``WorkerRole``; without ``TF_CONFIG`` a single worker.

    Raises:
        ConfigError: ``TF_CONFIG`` is not JSON or does not describe this task
            in its cluster.
    """
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG", "")
    if strategy_name != "multiworker" or not raw.strip():
        return WorkerRole()
    try:
        spec = json.loads(raw)
        cluster, task = spec["cluster"], spec["task"]
        kind, index = task["type"], int(task["index"])
        chiefs, workers = list(cluster.get("chief", [])), list(cluster.get("worker", []))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ConfigError(
            'TF_CONFIG must be JSON like {"cluster": {"worker": ["host0:port", "host1:port"]}, '
            '"task": {"type": "worker", "index": 0}} ' + f"({type(err).__name__}: {err})"
        ) from None
    if len(chiefs) > 1:
        raise ConfigError(f"TF_CONFIG lists {len(chiefs)} chiefs; a cluster has at most one")
    tasks = {"chief": chiefs, "worker": workers}
    if kind not in tasks:
        raise ConfigError(f"TF_CONFIG task type {kind!r} does not train; use 'chief' or 'worker'")
    if not 0 <= index < len(tasks[kind]):
        raise ConfigError(f"TF_CONFIG task index {index} is not in the cluster's {len(tasks[kind])} {kind} address(es)")
    count = len(chiefs) + len(workers)
    position = index if kind == "chief" else len(chiefs) + index
    return WorkerRole(position, count, position == 0, f"{kind} {index} (task {position + 1} of {count})")


def use_jax_devices(name: str, batch_size: int) -> int:
    """On Keras' JAX backend, spreads training over the devices a run asks for; returns their number.

    ``default`` keeps one device. ``mirrored`` sets a
    ``keras.distribution.DataParallel`` over all local JAX devices (GPUs, else
    the CPU; ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` makes N CPU
    devices): the variables are replicated, each batch is split along its
    first axis, and the jitted step is one program over the global batch, so
    the batch means (losses, RaGAN's averages) are global ones. Must run
    before the model is built. ``multiworker`` is TensorFlow's
    (``tf.distribute`` with ``TF_CONFIG``) and is refused here.

    Args:
        name: the ``--strategy`` value.
        batch_size: the global batch of one critic update (a step's batch, ``n_critic`` of
            them, then divides evenly too).

    Returns:
        The number of devices a step runs on.

    Raises:
        ConfigError: ``multiworker``, an unknown name, or a batch the devices cannot share evenly.
    """
    if name == "default":
        return 1
    if name == "multiworker":
        raise ConfigError(
            "--strategy multiworker runs on TensorFlow (tf.distribute with TF_CONFIG); on JAX use --strategy "
            "mirrored for the devices of one host, or run with KERAS_BACKEND=tensorflow"
        )
    if name != "mirrored":
        raise ConfigError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    import jax
    import keras

    devices = jax.devices()
    check_global_batch(batch_size, len(devices))
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return len(devices)


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy a run asks for (TensorFlow backend).

    Args:
        name: ``default`` (one device), ``mirrored`` (all local GPUs, else all
            logical CPUs) or ``multiworker`` (``MultiWorkerMirroredStrategy``
            over the cluster in ``TF_CONFIG``).

    Returns:
        The strategy (the current default one for ``default``).

    Raises:
        ConfigError: an unknown name or a bad ``TF_CONFIG``.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if tf.config.list_logical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=cpus)
    if name == "multiworker":
        worker_role(name)  # a clear error for a malformed TF_CONFIG
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")


def check_global_batch(batch_size: int, replicas: int) -> None:
    """Raises ``ConfigError`` unless ``batch_size`` splits evenly over ``replicas``.

    Uneven per-replica batches would make the ``1 / replicas`` scaling of the
    losses (and RaGAN's global average) slightly wrong.
    """
    if replicas > 1 and batch_size % replicas:
        lower, upper = batch_size - batch_size % replicas, batch_size + replicas - batch_size % replicas
        raise ConfigError(
            f"`batch_size` {batch_size} does not split evenly over {replicas} replicas; use a multiple of "
            f"{replicas} (e.g. {lower or upper} or {upper})",
            field="batch_size",
        )


def sync_from_first_replica(strategy: tf.distribute.Strategy, variables: Sequence[tf.Variable]) -> None:
    """Gives every replica of every worker the values the first replica holds.

    Called by all workers together (it is a collective). The chief holds
    replica 0, so after it has loaded a checkpoint this makes the other
    workers continue from it without reading any file. A no-op with one
    replica.

    Args:
        strategy: the strategy the variables were created under.
        variables: mirrored variables (weights, optimizer state, counters).
    """
    if strategy.num_replicas_in_sync == 1 or not variables:
        return

    def replica_fn():
        context = tf.distribute.get_replica_context()
        first = tf.equal(context.replica_id_in_sync_group, 0)
        out = []
        for v in variables:
            value = tf.convert_to_tensor(v)
            wide = tf.cast(value, tf.float64) if value.dtype.is_integer else value  # 64-bit counters stay exact
            masked = tf.where(first, wide, tf.zeros_like(wide))
            out.append(context.all_reduce(tf.distribute.ReduceOp.SUM, masked))
        return out

    reduced = tf.function(lambda: strategy.run(replica_fn))()
    with strategy.scope():
        for v, value in zip(variables, reduced, strict=True):
            local = strategy.experimental_local_results(value)[0]
            v.assign(tf.cast(local, v.dtype))


def broadcast_ints(strategy: tf.distribute.Strategy, values: Sequence[int]) -> list[int]:
    """The first replica's ``values`` on every worker (a collective, as ``sync_from_first_replica``).

    Used for the run's plan (steps per epoch, total steps), which the chief
    may take from the run folder that only it reads.
    """
    if strategy.num_replicas_in_sync == 1:
        return [int(v) for v in values]
    with strategy.scope():
        holders = [tf.Variable(int(v), dtype=tf.int64, trainable=False) for v in values]
    sync_from_first_replica(strategy, holders)
    return [int(h.numpy()) for h in holders]


def distribute_stream(
    strategy: tf.distribute.Strategy, make_shard: Callable[[int, int], tf.data.Dataset]
) -> tf.data.Dataset | tf.distribute.DistributedDataset:
    """A dataset in which replica ``r`` of ``R`` gets shard ``r`` of the stream.

    ``make_shard(num_shards, shard_index)`` must return the batches of one
    shard (``keras_wgan.data.make_dataset(..., num_shards=R, shard_index=r)``:
    every R-th sample of the global stream, in batches of ``global / R``).
    Each worker builds the shards of its own replicas and hands them to them
    in turn, so the replicas' batches of one step together are exactly the
    global batch of one process. With one replica, ``make_shard(1, 0)``.

    Args:
        strategy: the training strategy.
        make_shard: builds one shard's batches.

    Returns:
        A ``tf.data.Dataset`` (one replica) or a ``tf.distribute.DistributedDataset``
        that ``model.fit`` takes as it is.
    """
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return make_shard(1, 0)

    def per_worker(context: tf.distribute.InputContext) -> tf.data.Dataset:
        local = replicas // context.num_input_pipelines
        first = context.input_pipeline_id * local
        shards = [make_shard(replicas, first + j) for j in range(local)]
        if local == 1:
            return shards[0]
        # Local replica j takes the j-th of every `local` consecutive elements (a batch, or a
        # (samples, labels) pair: each part stacked over the shards).
        return tf.data.Dataset.zip(tuple(shards)).flat_map(
            lambda *batches: tf.data.Dataset.from_tensor_slices(tf.nest.map_structure(lambda *p: tf.stack(p), *batches))
        )

    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return strategy.distribute_datasets_from_function(per_worker, options)
