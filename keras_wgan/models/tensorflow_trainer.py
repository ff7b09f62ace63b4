"""The GAN training step on Keras' TensorFlow backend: ``tf.GradientTape``, variables updated in place.

``keras_wgan.models.GAN`` inherits from the trainer of the backend Keras runs on
(``keras_wgan.models.trainer``), as ``keras.Model`` inherits from Keras' own
trainer. This one is TensorFlow's: Keras calls ``train_step(data)`` inside a
``tf.function`` (and inside each replica under a ``tf.distribute`` strategy),
and the step updates the variables in place.

One call is one generator iteration: ``n_critic`` critic updates on disjoint
chunks of the batch, each under a ``tf.GradientTape`` around the variant's
``critic_objective`` (its loss and penalty hooks; the penalty's inner gradient
is a nested tape), then one generator update around ``generator_objective``.
Under a strategy with several replicas each replica's losses are scaled by
``1 / replicas`` (the optimizers sum the replicas' gradients), so every loss is a
global-batch mean.
"""

from __future__ import annotations

from typing import Any, ClassVar

import tensorflow as tf

from keras_wgan.backend.tensorflow import (
    assert_equal_batches,
    check_steps_per_execution,
    in_multi_worker_mode,
    num_replicas,
    replica_scale,
)


def _batch_size(x: tf.Tensor) -> int | tf.Tensor:
    """A Python int when static (keeps graph shapes static), else a tensor."""
    return x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]


class TensorFlowTrainer:
    """The training step of ``GAN`` on TensorFlow (a mixin: ``GAN`` supplies the hooks and state).

    Random numbers come from the model's ``keras.random.SeedGenerator`` as
    stateless seeds (``next_seed``), with the replica id folded in under a
    strategy, so that replicas draw different noise for their parts of the
    global batch.
    """

    #: The dtype of ``generator_iterations``.
    counter_dtype: ClassVar[str] = "int64"

    def _finish_compile(self, steps_per_execution: int) -> None:
        # A ValueError (ConfigError) for a combination Keras cannot run under a strategy.
        check_steps_per_execution(steps_per_execution)

    # -------------------------------------------------------------- noise
    def next_seed(self) -> tf.Tensor:
        """The next stateless seed of the active stream, distinct per replica.

        Under a ``tf.distribute`` strategy every replica holds the same seed
        generator state; the replica id is folded into the seed so that the
        replicas draw different noise for their parts of the global batch.
        """
        seed = self._active_seed_generator.next()
        context = tf.distribute.get_replica_context()
        if context is not None and num_replicas() > 1:
            replica = tf.cast(context.replica_id_in_sync_group, seed.dtype)
            seed = seed + tf.stack([replica, tf.zeros_like(replica)])
        return tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)

    def sample_latent(self, n: int | tf.Tensor) -> tf.Tensor:
        """Draws ``n`` latent vectors from N(0, I) from the active stream."""
        return tf.random.stateless_normal((n, self.latent_dim), seed=self.next_seed())

    def sample_uniform(self, shape: int | tf.Tensor | tuple) -> tf.Tensor:
        """Draws U[0, 1) numbers of ``shape`` (an int: that many) from the active stream."""
        shape = shape if isinstance(shape, (tuple, list)) else (shape,)
        return tf.random.stateless_uniform(shape, seed=self.next_seed())

    # -------------------------------------------------------------- batch
    def critic_chunk_size(self, size: int) -> int:
        """Samples per critic update for a batch of static ``size``: ``size // n_critic``.

        Raises:
            ValueError: ``size`` is not a multiple of ``n_critic``.
        """
        if size >= self.n_critic and size % self.n_critic == 0:
            return size // self.n_critic
        raise ValueError(
            f"Each training batch holds the real samples of all {self.n_critic} critic updates, so its size "
            f"must be a multiple of n_critic={self.n_critic}. Received a batch of {size}. Use "
            f"make_dataset(..., n_critic={self.n_critic}) or fit(x, batch_size=batch_size * {self.n_critic})."
        )

    # --------------------------------------------------------------- step
    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        """One generator iteration: ``n_critic`` critic updates on disjoint chunks of the batch,
        then one generator update; returns the metrics' results."""
        self._check_compiled()
        real = self.real_batch(data)  # samples, or (samples, label vectors)
        samples, _ = self.split_labels(real)
        static = samples.shape[0]
        if static is not None:
            # A static chunk size keeps shapes static in the graph (faster kernels on CPU).
            self._iteration(real, self.critic_chunk_size(static))
        elif num_replicas() > 1:
            # Several replicas (a multi-worker input pipeline loses the static batch size):
            # no tf.cond around the updates, whose gradient all-reduce cannot run inside
            # one; instead every replica must hold the same number of samples.
            size = tf.shape(samples)[0]
            with tf.control_dependencies([assert_equal_batches(size, minimum=self.n_critic)]):
                real = tf.nest.map_structure(tf.identity, real)
            self._iteration(real, size // self.n_critic)
        else:
            # A batch of unknown size (NumPy input whose last batch is partial): each
            # critic update takes floor(n / n_critic) samples; a batch too small for
            # one sample per critic update is skipped whole (no update, no metrics).
            self._warn_partial()
            per_step = tf.shape(samples)[0] // self.n_critic
            tf.cond(per_step > 0, lambda: self._iteration(real, per_step), lambda: tf.constant(False))
        return self._logs()

    def _iteration(self, real: Any, per_step: int | tf.Tensor) -> tf.Tensor:
        chunk = real
        for i in range(self.n_critic):
            chunk = tf.nest.map_structure(lambda t, i=i: t[i * per_step : (i + 1) * per_step], real)
            self._critic_update(chunk)
        self._generator_update(chunk)
        self.generator_iterations.assign_add(1)
        return tf.constant(True)

    def _critic_update(self, real: Any) -> None:
        samples, labels = self.split_labels(real)
        fake = self.generator_output(self.sample_latent(_batch_size(samples)), labels, training=True)
        with tf.GradientTape() as tape:
            terms = self.critic_objective(real, fake, training=True)
            scaled = self.d_optimizer.scale_loss(terms["d_loss"] * replica_scale())
        variables = self.critic.trainable_variables
        self.d_optimizer.apply(tape.gradient(scaled, variables), variables)
        self.update_critic_metrics(terms)

    def _generator_update(self, real: Any) -> None:
        samples, labels = self.split_labels(real)
        z = self.sample_latent(_batch_size(samples))
        with tf.GradientTape() as tape:
            loss = self.generator_objective(self.generator_output(z, labels, training=True), real, training=True)
            scaled = self.g_optimizer.scale_loss(loss * replica_scale())
        variables = self.generator.trainable_variables
        self.g_optimizer.apply(tape.gradient(scaled, variables), variables)
        self.update_generator_metrics(loss)

    def _logs(self) -> dict[str, tf.Tensor]:
        """The metrics' results for ``fit``'s logs.

        Across several workers Keras 3 averages the replicas' logs with
        ``strategy.reduce("MEAN", value, axis=0)``, which fails on scalars
        ("Invalid reduction dimension 0 for input with 0 dimensions"), so
        there each value is given as a vector of one element.
        """
        logs = {m.name: m.result() for m in self.metrics}
        if in_multi_worker_mode():
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        """Evaluates the losses on a batch, updating only the metrics (``GAN.evaluate_batch``)."""
        self.evaluate_batch(data)
        return self._logs()
