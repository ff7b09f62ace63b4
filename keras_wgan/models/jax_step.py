"""The GAN training step on Keras' JAX backend: the same iteration, written stateless.

``keras_wgan.models.GAN.train_step`` runs this module's ``train_step`` when
Keras runs on JAX. Keras' JAX trainer calls ``train_step(state, data)`` inside
``jax.jit`` with the model's state as arrays (trainable variables,
non-trainable variables, the optimizer's variables, the metrics' variables)
and expects the new state back; nothing may be assigned in place.

One call is one generator iteration, exactly as on TensorFlow: ``n_critic``
critic updates on disjoint chunks of the batch, then one generator update.

- The networks run with ``stateless_call`` (weights and batch-norm statistics
  passed in, the new statistics returned).
- The critic's objective is the variant's own ``critic_objective`` (its loss
  hook and its ``penalty()``) evaluated inside a ``keras.StatelessScope`` that
  binds the critic's variables and the seed state to the arrays being
  differentiated: the hooks are shared with the TensorFlow step, not copied.
  ``jax.grad`` differentiates it; the gradient penalty's input gradient is a
  ``jax.grad`` nested inside (``keras_wgan.backend_ops.input_gradient``).
- Both optimizers step with ``stateless_apply``, which also applies the
  variables' constraints (the WGAN critic's ``WeightClip``).
- The metrics update with ``stateless_update_state``.
- The random numbers (latent noise, interpolation weights) come from the
  model's ``SeedGenerator``, whose state is one of the non-trainable variables
  and advances with every draw.

Keras' JAX trainer keeps one optimizer in its state (``model.optimizer``); a
GAN has two, so under JAX ``model.optimizer`` is an ``OptimizerPair``, whose
variables are the generator's optimizer's followed by the critic's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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

    def __init__(self, model: Any, state: tuple):
        trainable, non_trainable, optimizer, metrics = state
        self.model = model
        self.trainable = list(trainable)
        self.non_trainable = list(non_trainable)
        self.g_opt, self.d_opt = model.optimizer.split(optimizer)
        self.metrics = list(metrics)
        # Where each variable's array lives: (the list, its index), in the trainer's layout.
        self._slot = {id(v): (self.trainable, i) for i, v in enumerate(model.trainable_variables)}
        self._slot.update({id(v): (self.non_trainable, i) for i, v in enumerate(model.non_trainable_variables)})
        # Each metric's variables are a slice of the metrics' arrays, in `model.metrics` order.
        self._metric_slice, start = {}, 0
        for m in model.metrics:
            self._metric_slice[id(m)] = slice(start, start + len(m.variables))
            start += len(m.variables)

    def get(self, variables: Sequence[keras.Variable]) -> list[Any]:
        return [values[i] for values, i in (self._slot[id(v)] for v in variables)]

    def set(self, variables: Sequence[keras.Variable], values: Sequence[Any]) -> None:
        for v, value in zip(variables, values, strict=True):
            arrays, i = self._slot[id(v)]
            arrays[i] = value

    def draw(self, fn: Callable[[], Any]) -> Any:
        """Runs a draw from the model's training seed generator (``fn`` calls
        ``sample_latent`` or ``sample_uniform``), advancing its state."""
        seed = self.model.seed_generator.state
        out, (new,) = _bind([(seed, self.get([seed])[0])], fn)
        self.set([seed], [new])
        return out

    def update_metric(self, metric: keras.metrics.Metric, value: Any) -> None:
        part = self._metric_slice[id(metric)]
        self.metrics[part] = metric.stateless_update_state(self.metrics[part], value)

    def logs(self) -> dict[str, Any]:
        return {m.name: m.stateless_result(self.metrics[self._metric_slice[id(m)]]) for m in self.model.metrics}

    def as_tuple(self) -> tuple:
        return self.trainable, self.non_trainable, [*self.g_opt, *self.d_opt], self.metrics


def _critic_update(model: Any, s: _State, real: Any) -> None:
    critic, generator = model.critic, model.generator
    n = real.shape[0]
    z = s.draw(lambda: model.sample_latent(n))
    g_non_trainable = s.get(generator.non_trainable_variables)
    fake, g_non_trainable = generator.stateless_call(
        s.get(generator.trainable_variables), g_non_trainable, z, training=True
    )
    s.set(generator.non_trainable_variables, g_non_trainable)
    fake = jax.lax.stop_gradient(fake)
    trainables, others = critic.trainable_variables, [*critic.non_trainable_variables, model.seed_generator.state]

    def objective(weights: list[Any], other_values: list[Any]) -> tuple[Any, tuple[dict, list[Any]]]:
        pairs = [*zip(trainables, weights, strict=True), *zip(others, other_values, strict=True)]
        terms, values = _bind(pairs, lambda: model.critic_objective(real, fake, training=True))
        return terms["d_loss"], (terms, values[len(trainables) :])

    weights = s.get(trainables)
    grads, (terms, other_values) = jax.grad(objective, has_aux=True)(weights, s.get(others))
    s.set(others, other_values)
    weights, s.d_opt = model.d_optimizer.stateless_apply(s.d_opt, grads, weights)
    s.set(trainables, weights)
    s.update_metric(model.d_loss_tracker, terms["d_loss"])
    s.update_metric(model.w_dist_tracker, terms["w_dist"])
    if model.gp_tracker is not None:
        s.update_metric(model.gp_tracker, terms["gp"])


def _generator_update(model: Any, s: _State, real: Any) -> None:
    critic, generator = model.critic, model.generator
    n = real.shape[0]
    z = s.draw(lambda: model.sample_latent(n))
    c_weights = s.get(critic.trainable_variables)

    def loss_fn(weights: list[Any], g_stats: list[Any], c_stats: list[Any]) -> tuple[Any, tuple]:
        fake, g_stats = generator.stateless_call(weights, g_stats, z, training=True)
        fake_out, c_stats = critic.stateless_call(c_weights, c_stats, fake, training=True)
        real_out = None
        if model.uses_real_in_generator_loss:
            real_out, c_stats = critic.stateless_call(c_weights, c_stats, real, training=True)
        return model.generator_loss(real_out, fake_out), (g_stats, c_stats)

    weights = s.get(generator.trainable_variables)
    (loss, (g_stats, c_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        weights, s.get(generator.non_trainable_variables), s.get(critic.non_trainable_variables)
    )
    s.set(generator.non_trainable_variables, g_stats)
    s.set(critic.non_trainable_variables, c_stats)
    weights, s.g_opt = model.g_optimizer.stateless_apply(s.g_opt, grads, weights)
    s.set(generator.trainable_variables, weights)
    s.update_metric(model.g_loss_tracker, loss)


def train_step(model: Any, state: tuple, data: Any) -> tuple[dict[str, Any], tuple]:
    """One generator iteration of ``model`` on JAX: ``(logs, new_state)`` from ``(state, data)``.

    Args:
        model: a compiled ``keras_wgan.models.GAN``.
        state: Keras' JAX trainer state ``(trainable, non_trainable, optimizer, metrics)``.
        data: the batch of ``n_critic * batch_size`` real samples (or a tuple whose first item it is).

    Returns:
        The metrics' results and the new state, in the trainer's layout.
    """
    real = model.real_batch(data)
    per_step = model.critic_chunk_size(real.shape[0])
    s = _State(model, state)
    if per_step == 0:  # a batch smaller than n_critic: skipped (critic_chunk_size warned)
        return s.logs(), state
    chunk = real
    for i in range(model.n_critic):
        chunk = real[i * per_step : (i + 1) * per_step]
        _critic_update(model, s, chunk)
    _generator_update(model, s, chunk)
    (counter,) = s.get([model.generator_iterations])
    s.set([model.generator_iterations], [counter + ops.cast(1, counter.dtype)])
    return s.logs(), s.as_tuple()


def test_step(model: Any, state: tuple, data: Any) -> tuple[dict[str, Any], tuple]:
    """Evaluates the losses on a batch (``model.evaluate``, validation) on JAX, updating only metrics.

    The evaluation draws from the model's evaluation seed stream, so the
    training stream stays where it was.

    Args:
        model: a compiled ``keras_wgan.models.GAN``.
        state: ``(trainable, non_trainable, metrics)`` arrays.
        data: a batch of real samples.

    Returns:
        The metrics' results and the new state.
    """
    trainable, non_trainable, metrics = state
    pairs = [
        *zip(model.trainable_variables, trainable, strict=True),
        *zip(model.non_trainable_variables, non_trainable, strict=True),
        *zip(model.metrics_variables, metrics, strict=True),
    ]
    logs, values = _bind(pairs, lambda: model.evaluate_batch(data))
    t, n = len(trainable), len(non_trainable)
    return logs, (values[:t], values[t : t + n], values[t + n :])
