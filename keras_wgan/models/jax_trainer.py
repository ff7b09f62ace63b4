"""The GAN training step on Keras' JAX backend: the same iteration, written stateless.

``keras_wgan.models.GAN`` inherits from the trainer of the backend Keras runs on
(``keras_wgan.models.trainer``). Keras' JAX trainer calls
``train_step(state, data)`` inside ``jax.jit`` with the model's state as arrays
(trainable variables, non-trainable variables, the optimizer's variables, the
metrics' variables) and expects the new state back; nothing may be assigned
in place.

One call is one generator iteration, exactly as on TensorFlow: ``n_critic``
critic updates on disjoint chunks of the batch, then one generator update.

- Everything the variants define runs unchanged: the critic's objective
  (``critic_objective``: its loss hook and its ``penalty()``), the generator's
  (``generator_objective``) and the metric updates (``update_critic_metrics``,
  ``update_generator_metrics``) are evaluated inside a ``keras.StatelessScope``
  that binds the variables they read to the arrays of the step's state; the
  values the scope ends with (batch-norm statistics, the seed state, the
  metrics' totals) are the new state.
- ``jax.grad`` differentiates the objectives with respect to the bound arrays
  of the network being updated; the gradient penalty's input gradient is a
  ``jax.grad`` nested inside (``keras_wgan.backend.input_gradient``).
- Both optimizers step with ``stateless_apply``, which also applies the
  variables' constraints (the WGAN critic's ``WeightClip``).
- The random numbers (latent noise, interpolation weights) come from the
  model's ``SeedGenerator``, whose state is one of the non-trainable variables
  and advances with every draw.

Keras' JAX trainer keeps one optimizer in its state (``model.optimizer``); a
GAN has two, so under JAX ``model.optimizer`` is an ``OptimizerPair``, whose
variables are the generator's optimizer's followed by the critic's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import jax
import keras
from keras import ops


class OptimizerPair:
    """The generator's and the critic's optimizers as one ``model.optimizer`` (JAX backend).

    Keras' JAX trainer carries ``model.optimizer.variables`` through its
    jitted steps; this object lists both optimizers' variables there, so the
    critic's optimizer state travels with the step too. Step counters
    (``iterations``) and ``learning_rate`` are the generator's optimizer's,
    as ``model.optimizer`` is on TensorFlow. Keras' learning-rate callbacks
    (``LearningRateScheduler``, ``ReduceLROnPlateau``) see ``optimizers`` and
    change both.

    Args:
        generator: the generator's optimizer (built).
        critic: the critic's optimizer (built).
    """

    def __init__(self, generator: keras.optimizers.Optimizer, critic: keras.optimizers.Optimizer):
        self.generator = generator
        self.critic = critic

    @property
    def optimizers(self) -> list[keras.optimizers.Optimizer]:
        """``[generator's, critic's]``."""
        return [self.generator, self.critic]

    @property
    def variables(self) -> list[keras.Variable]:
        """The generator's optimizer's variables, then the critic's."""
        return [*self.generator.variables, *self.critic.variables]

    @property
    def built(self) -> bool:
        return self.generator.built and self.critic.built

    @property
    def iterations(self) -> keras.Variable:
        """The generator's optimizer's step counter (generator updates)."""
        return self.generator.iterations

    @property
    def learning_rate(self) -> Any:
        """The generator's optimizer's learning rate."""
        return self.generator.learning_rate

    def build(self, variables: Sequence[keras.Variable]) -> None:
        """Nothing to do: ``GAN.compile`` builds both optimizers on their networks' variables."""

    def split(self, values: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        """Splits the arrays of ``variables`` into the generator's and the critic's parts."""
        n = len(self.generator.variables)
        return list(values[:n]), list(values[n:])


def _bind(pairs: Sequence[tuple[keras.Variable, Any]], fn: Callable[[], Any]) -> tuple[Any, list[Any]]:
    """Runs ``fn`` with each variable of ``pairs`` reading its array; returns ``fn``'s
    result and the variables' arrays after it (changed where ``fn`` assigned)."""
    with keras.StatelessScope(state_mapping=list(pairs)) as scope:
        out = fn()
    return out, [scope.get_current_value(v) for v, _ in pairs]


class _State:
    """The arrays of one step's state, addressed by the model's variables."""

    def __init__(self, model: Any, trainable: Sequence, non_trainable: Sequence, metrics: Sequence):
        self.model = model
        self.trainable = list(trainable)
        self.non_trainable = list(non_trainable)
        self.metrics = list(metrics)
        # Where each variable's array lives: (the list, its index), in the trainer's layout.
        self._slot = {id(v): (self.trainable, i) for i, v in enumerate(model.trainable_variables)}
        self._slot.update({id(v): (self.non_trainable, i) for i, v in enumerate(model.non_trainable_variables)})

    def get(self, variables: Sequence[keras.Variable]) -> list[Any]:
        return [values[i] for values, i in (self._slot[id(v)] for v in variables)]

    def set(self, variables: Sequence[keras.Variable], values: Sequence[Any]) -> None:
        for v, value in zip(variables, values, strict=True):
            arrays, i = self._slot[id(v)]
            arrays[i] = value

    def run(self, variables: Sequence[keras.Variable], fn: Callable[[], Any]) -> Any:
        """Runs ``fn`` with ``variables`` bound to their arrays here; keeps what it assigns; returns its result."""
        out, values = _bind(list(zip(variables, self.get(variables), strict=True)), fn)
        self.set(variables, values)
        return out

    def update_metrics(self, fn: Callable[[], Any]) -> None:
        """Runs a metric update (``GAN.update_critic_metrics``...) on the metrics' arrays."""
        _, self.metrics = _bind(list(zip(self.model.metrics_variables, self.metrics, strict=True)), fn)

    def logs(self) -> dict[str, Any]:
        out, _ = _bind(list(zip(self.model.metrics_variables, self.metrics, strict=True)), self.model.metric_results)
        return out


class JaxTrainer:
    """The training step of ``GAN`` on JAX (a mixin: ``GAN`` supplies the hooks and state)."""

    #: The dtype of ``generator_iterations`` (JAX without x64 mode has no int64).
    counter_dtype: ClassVar[str] = "int32"

    def _finish_compile(self, steps_per_execution: int) -> None:
        # Keras' JAX trainer carries `model.optimizer.variables` through the jitted step: both optimizers'.
        self.optimizer = OptimizerPair(self.g_optimizer, self.d_optimizer)

    # -------------------------------------------------------------- noise
    def sample_latent(self, n: int) -> Any:
        """Draws ``n`` latent vectors from N(0, I) from the active stream."""
        return keras.random.normal((n, self.latent_dim), seed=self._active_seed_generator)

    def sample_uniform(self, shape: int | tuple) -> Any:
        """Draws U[0, 1) numbers of ``shape`` (an int: that many) from the active stream."""
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        return keras.random.uniform(shape, seed=self._active_seed_generator)

    # -------------------------------------------------------------- batch
    def critic_chunk_size(self, size: int) -> int:
        """Samples per critic update for a batch of ``size``: ``size // n_critic``.

        Every batch has a static size on JAX, also the last, partial one of
        NumPy input; its remainder is dropped with a warning (as TensorFlow does
        for batches of unknown size) and 0 means the batch is skipped.
        """
        if size < self.n_critic or size % self.n_critic:
            self._warn_partial()
        return size // self.n_critic

    # --------------------------------------------------------------- step
    def train_step(self, state: tuple, data: Any) -> tuple[dict[str, Any], tuple]:
        """One generator iteration: ``(logs, new_state)`` from ``(state, data)``.

        Args:
            state: Keras' JAX trainer state ``(trainable, non_trainable, optimizer, metrics)``.
            data: the batch of ``n_critic * batch_size`` real samples (or a tuple whose first item it is).

        Returns:
            The metrics' results and the new state, in the trainer's layout.
        """
        self._check_compiled()
        trainable, non_trainable, optimizer, metrics = state
        real = self.real_batch(data)  # samples, or (samples, label vectors)
        per_step = self.critic_chunk_size(self.split_labels(real)[0].shape[0])
        s = _State(self, trainable, non_trainable, metrics)
        if per_step == 0:  # a batch smaller than n_critic: skipped (critic_chunk_size warned)
            return s.logs(), state
        g_opt, d_opt = self.optimizer.split(optimizer)
        chunk = real
        for i in range(self.n_critic):
            chunk = jax.tree_util.tree_map(lambda t, i=i: t[i * per_step : (i + 1) * per_step], real)
            d_opt = self._critic_update(s, d_opt, chunk)
        g_opt = self._generator_update(s, g_opt, chunk)
        (counter,) = s.get([self.generator_iterations])
        s.set([self.generator_iterations], [counter + ops.cast(1, counter.dtype)])
        return s.logs(), (s.trainable, s.non_trainable, [*g_opt, *d_opt], s.metrics)

    def _critic_update(self, s: _State, d_opt: list[Any], real: Any) -> list[Any]:
        critic, generator, seed = self.critic, self.generator, self.seed_generator.state
        samples, labels = self.split_labels(real)
        z = s.run([seed], lambda: self.sample_latent(samples.shape[0]))
        fake = s.run(generator.variables, lambda: self.generator_output(z, labels, training=True))
        fake = jax.lax.stop_gradient(fake)
        trainables, others = critic.trainable_variables, [*critic.non_trainable_variables, seed]

        def objective(weights: list[Any], other_values: list[Any]) -> tuple[Any, tuple[dict, list[Any]]]:
            pairs = [*zip(trainables, weights, strict=True), *zip(others, other_values, strict=True)]
            terms, values = _bind(pairs, lambda: self.critic_objective(real, fake, training=True))
            return terms["d_loss"], (terms, values[len(trainables) :])

        weights = s.get(trainables)
        grads, (terms, other_values) = jax.grad(objective, has_aux=True)(weights, s.get(others))
        s.set(others, other_values)
        weights, d_opt = self.d_optimizer.stateless_apply(d_opt, grads, weights)
        s.set(trainables, weights)
        s.update_metrics(lambda: self.update_critic_metrics(terms))
        return d_opt

    def _generator_update(self, s: _State, g_opt: list[Any], real: Any) -> list[Any]:
        critic, generator, seed = self.critic, self.generator, self.seed_generator.state
        samples, labels = self.split_labels(real)
        z = s.run([seed], lambda: self.sample_latent(samples.shape[0]))
        trainables = generator.trainable_variables
        others = [*generator.non_trainable_variables, *critic.variables]

        def objective(weights: list[Any], other_values: list[Any]) -> tuple[Any, tuple[Any, list[Any]]]:
            pairs = [*zip(trainables, weights, strict=True), *zip(others, other_values, strict=True)]
            loss, values = _bind(
                pairs,
                lambda: self.generator_objective(self.generator_output(z, labels, training=True), real, training=True),
            )
            return loss, (loss, values[len(trainables) :])

        weights = s.get(trainables)
        grads, (loss, other_values) = jax.grad(objective, has_aux=True)(weights, s.get(others))
        s.set(others, other_values)  # both networks' batch-norm statistics
        weights, g_opt = self.g_optimizer.stateless_apply(g_opt, grads, weights)
        s.set(trainables, weights)
        s.update_metrics(lambda: self.update_generator_metrics(loss))
        return g_opt

    def _logs(self) -> dict[str, Any]:
        return self.metric_results()

    def test_step(self, state: tuple, data: Any) -> tuple[dict[str, Any], tuple]:
        """Evaluates the losses on a batch (``model.evaluate``, validation), updating only metrics.

        Args:
            state: ``(trainable, non_trainable, metrics)`` arrays.
            data: a batch of real samples.

        Returns:
            The metrics' results and the new state.
        """
        trainable, non_trainable, metrics = state
        pairs = [
            *zip(self.trainable_variables, trainable, strict=True),
            *zip(self.non_trainable_variables, non_trainable, strict=True),
            *zip(self.metrics_variables, metrics, strict=True),
        ]

        def evaluate() -> dict[str, Any]:
            self.evaluate_batch(data)
            return self.metric_results()

        logs, values = _bind(pairs, evaluate)
        t, n = len(trainable), len(non_trainable)
        return logs, (values[:t], values[t : t + n], values[t + n :])
