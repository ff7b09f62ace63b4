"""The base GAN model: one ``train_step`` template for the whole family.

Every variant is a subclass that overrides small hooks:

- ``critic_loss(real_out, fake_out)``: the loss the critic minimises;
- ``penalty(real, fake)``: an unweighted critic regulariser, used when the
  model is constructed with a ``penalty_weight`` (the gradient penalty of
  WGAN-GP); it is added to the critic loss as ``penalty_weight * penalty``
  and reported as ``gp``;
- ``generator_loss(real_out, fake_out)``: the loss the generator minimises
  (``real_out`` is None unless ``uses_real_in_generator_loss``).

How one training step (one call of ``train_step``) works
---------------------------------------------------------
A step is one *generator iteration* of the papers' algorithms: ``n_critic``
critic updates, each on its own fresh real batch, followed by one generator
update. The real batch given to ``train_step`` therefore holds
``n_critic * batch_size`` samples and is split into ``n_critic`` disjoint
chunks; ``keras_wgan.data.make_dataset(..., n_critic=n)`` and
``model.fit(x, batch_size=batch_size * model.n_critic)`` produce exactly that.
The generator's optimizer counts generator updates, the critic's optimizer
critic updates, so ``d_optimizer.iterations == n_critic * g_optimizer.iterations``
always holds and there is no hidden phase to restore after a resume.

Metrics (``keras.metrics.Mean``, averaged over all critic updates of the
epoch): ``d_loss`` (the full critic objective, penalty included), ``g_loss``,
``w_dist`` (``E[C(real)] - E[C(fake)]``, the critic's Wasserstein estimate)
and whatever a subclass adds (``gp`` for WGAN-GP).

Conditional models
------------------
With a generator that takes ``[z, y]`` the model is conditional (``labels="classes"``
or ``"attributes"``): batches are ``(samples, labels)``, class indices or
multi-hot attribute vectors, which the model turns into the float vectors its
networks take (``label_vectors``). Every fake of a step is generated with the
labels of the real samples it is compared with, so a penalty's pairs (real and
fake of the same label) and its interpolates keep their label fixed. The critic
either takes ``[x, y]`` (projection or concatenation: ``critic_for(labels)``
is the critic at those labels) or takes ``x`` and also classifies it (an
auxiliary classifier, AC-GAN): then the critic adds ``ac_weight`` times the
classification loss on the real samples, the generator ``ac_generator_weight``
times the loss on its samples (Gulrajani et al. 2017's CIFAR-10 model:
``ACGAN_SCALE`` 1, ``ACGAN_SCALE_G`` 0.1), logged as ``ac``.

The step itself is the backend's (``keras_wgan.models.trainer``: a
``tf.GradientTape`` step on TensorFlow, a stateless ``jax.grad`` step on JAX),
chosen once at import; this module holds what both steps run and nothing that
depends on the backend.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

import keras
import numpy as np

from keras_wgan import backend, losses
from keras_wgan import labels as label_utils
from keras_wgan.backend import Tensor
from keras_wgan.errors import positive_int
from keras_wgan.models.trainer import Trainer
from keras_wgan.networks import batchnorm_layers
from keras_wgan.paper_defaults import PaperDefaults

#: Losses any variant can take in place of its own (``GAN(..., loss=NAME)``): critic loss, generator loss.
LOSSES = {"hinge": (losses.hinge_critic_loss, lambda real_out, fake_out: losses.hinge_generator_loss(fake_out))}
#: What a conditional model's labels are: one class per sample, or independent binary attributes.
LABEL_KINDS = ("classes", "attributes")


def _inputs_and_outputs(model: keras.layers.Layer) -> tuple[int | None, int | None]:
    """How many inputs and outputs a functional model has (None when it does not say)."""
    try:
        return len(model.inputs), len(model.outputs)
    except (AttributeError, TypeError, ValueError):
        return None, None


def batch_size_of(x: Tensor) -> int | Tensor:
    """The batch size of ``x``: a Python int when static (keeps graph shapes static), else a tensor."""
    return x.shape[0] if x.shape[0] is not None else keras.ops.shape(x)[0]


def _check_model(name: str, value: Any) -> keras.Model:
    if not isinstance(value, keras.layers.Layer):
        raise TypeError(f"`{name}` must be a keras.Model (or keras.layers.Layer). Received: {name}={value!r}")
    return value


def _wrap_for_loss_scaling(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    policy = keras.config.dtype_policy()
    if policy.name == "mixed_float16" and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


@keras.saving.register_keras_serializable(package="keras_wgan")
class GAN(Trainer, keras.Model):
    """Base class of the GAN family: a generator, a critic and one training step.

    Subclasses implement the variants (``DCGAN``, ``RSGAN``, ``RaGAN``,
    ``WGAN``, ``WGANGP``); the base class itself is abstract in its losses.

    Args:
        generator: model from ``(latent_dim,)`` to samples.
        critic: model from samples to one score per sample (``(batch, 1)``);
            a logit for the classifier-style variants.
        latent_dim: size of ``z``; inferred from the generator's input when
            omitted.
        n_critic: critic updates per generator update.
        seed: seed of the model's ``keras.random.SeedGenerator`` (latent
            noise and penalty interpolation); None draws one at random.
        penalty_weight: weight of the critic regulariser ``penalty()`` in the
            critic objective; None (the default): no regulariser. A subclass
            that defines ``penalty`` passes its weight here.
        loss: None (the variant's own losses) or ``"hinge"``: the hinge loss
            (``keras_wgan.losses.hinge_*``) in place of the variant's, which any
            variant can take (``train.py --loss hinge``).
        labels: for a generator that takes ``[z, y]``: ``"classes"`` (the
            default; ``y`` one-hot, built from class indices) or
            ``"attributes"`` (``y`` multi-hot, independent binary attributes).
            None for an unconditional generator.
        ac_weight: with a critic that outputs ``[score, logits]`` (an auxiliary
            classifier), the weight of its classification loss on real samples
            (Gulrajani et al. 2017's CIFAR-10 ``ACGAN_SCALE``: 1).
        ac_generator_weight: the weight of that loss on generated samples in the
            generator's loss (their ``ACGAN_SCALE_G``: 0.1).
        **kwargs: passed to ``keras.Model`` (e.g. ``name``).

    Example:
    >>> import keras_wgan
    >>> from keras_wgan import networks
    >>> gan = keras_wgan.WGANGP(networks.build_mlp_generator(width=32),
    ...                         networks.build_mlp_critic(width=32), seed=0)
    >>> gan.compile()  # the paper's Adam(1e-4, 0.0, 0.9) for both networks
    >>> gan.generate(4).shape
    (4, 2)
    """

    #: Whether ``generator_loss`` needs the critic's outputs on real data.
    uses_real_in_generator_loss: ClassVar[bool] = False
    #: The paper's hyper-parameters, used by ``compile()`` without optimizers (None: none).
    paper_defaults: ClassVar[PaperDefaults | None] = None

    def __init__(
        self,
        generator: keras.Model,
        critic: keras.Model,
        latent_dim: int | None = None,
        n_critic: int = 1,
        seed: int | None = None,
        penalty_weight: float | None = None,
        loss: str | None = None,
        labels: str | None = None,
        ac_weight: float = 1.0,
        ac_generator_weight: float = 0.1,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if loss is not None and loss not in LOSSES:
            raise ValueError(
                f"`loss` must be None (the variant's) or one of {', '.join(LOSSES)}. Received: loss={loss!r}"
            )
        self.loss = loss
        if penalty_weight is not None:
            if not float(penalty_weight) >= 0:
                raise ValueError(f"`penalty_weight` must be >= 0. Received: penalty_weight={penalty_weight!r}")
            if type(self).penalty is GAN.penalty:
                raise ValueError(f"{type(self).__name__} has a penalty_weight but does not define penalty().")
        self.generator = _check_model("generator", generator)
        self.critic = _check_model("critic", critic)
        self._critic_mixes_examples = bool(batchnorm_layers(critic))
        self._set_up_labels(labels, float(ac_weight), float(ac_generator_weight))
        inferred = self._infer_latent_dim(generator)
        if latent_dim is None:
            if inferred is None:
                raise ValueError("Could not infer `latent_dim` from the generator; pass latent_dim=...")
            latent_dim = inferred
        positive_int("latent_dim", latent_dim)
        if inferred is not None and inferred != latent_dim:
            raise ValueError(
                f"`latent_dim` does not match the generator's input size {inferred}. Received: latent_dim={latent_dim}"
            )
        positive_int("n_critic", n_critic)
        self.latent_dim = latent_dim
        self.n_critic = n_critic
        self.seed = seed
        self.penalty_weight = None if penalty_weight is None else float(penalty_weight)
        self.seed_generator = keras.random.SeedGenerator(seed, name="train_seed")
        self.sample_seed_generator = keras.random.SeedGenerator(None if seed is None else seed + 1, name="sample_seed")
        # Evaluation (test_step) draws from its own stream, so fit(validation_data=...) leaves training as it was.
        self.eval_seed_generator = keras.random.SeedGenerator(None if seed is None else seed + 2, name="eval_seed")
        self._active_seed_generator = self.seed_generator
        # Generator iterations done: counted here, not by the optimizers, because a
        # LossScaleOptimizer skips non-finite steps without counting them.
        self.generator_iterations = keras.Variable(
            0, dtype=self.counter_dtype, trainable=False, name="generator_iterations", aggregation="only_first_replica"
        )
        self._warned_partial = False
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.w_dist_tracker = keras.metrics.Mean(name="w_dist")
        self.gp_tracker = keras.metrics.Mean(name="gp") if self.penalty_weight is not None else None
        self.ac_tracker = keras.metrics.Mean(name="ac") if self.critic_classifies else None
        self.g_optimizer: keras.optimizers.Optimizer | None = None
        self.d_optimizer: keras.optimizers.Optimizer | None = None
        self.built = True

    @staticmethod
    def _infer_latent_dim(generator: keras.Model) -> int | None:
        try:
            shape = generator.input_shape
        except (AttributeError, ValueError):
            return None
        if isinstance(shape, list) and len(shape) == 2:
            shape = shape[0]  # [z, labels]
        if isinstance(shape, tuple) and len(shape) == 2 and isinstance(shape[-1], int):
            return shape[-1]
        return None

    def _set_up_labels(self, labels: str | None, ac_weight: float, ac_generator_weight: float) -> None:
        """Reads what the networks take: whether the model is conditional, on how many labels, and how."""
        g_inputs, _ = _inputs_and_outputs(self.generator)
        c_inputs, c_outputs = _inputs_and_outputs(self.critic)
        self.num_labels: int | None = None
        if g_inputs == 2:
            self.num_labels = int(self.generator.inputs[1].shape[-1])
            labels = "classes" if labels is None else labels
        if labels is not None and labels not in LABEL_KINDS:
            raise ValueError(f"`labels` must be None, 'classes' or 'attributes'. Received: labels={labels!r}")
        if labels is not None and self.num_labels is None:
            raise ValueError(
                f"labels={labels!r} needs a generator that takes [z, labels] (networks.build_generator(..., "
                "num_labels=N)); this one takes z alone."
            )
        self.labels = labels
        self.critic_takes_labels = labels is not None and c_inputs == 2
        self.critic_classifies = labels is not None and c_outputs == 2
        if labels is not None:
            if not (self.critic_takes_labels or self.critic_classifies):
                raise ValueError(
                    "A conditional generator needs a critic that sees the labels: one that takes [x, labels] "
                    "(conditioning='projection' or 'concat') or outputs [score, class logits] (conditioning='ac'); "
                    "this critic takes x alone and outputs one score, so it would ignore the labels."
                )
            if self.critic_takes_labels and int(self.critic.inputs[1].shape[-1]) != self.num_labels:
                raise ValueError(
                    f"The critic takes {self.critic.inputs[1].shape[-1]} labels and the generator {self.num_labels}."
                )
            if self.critic_classifies and int(self.critic.outputs[1].shape[-1]) != self.num_labels:
                raise ValueError(
                    f"The critic classifies into {self.critic.outputs[1].shape[-1]} labels and the generator "
                    f"takes {self.num_labels}."
                )
        elif c_inputs == 2 or c_outputs == 2:
            raise ValueError(
                "The critic takes labels or classifies, but the generator takes z alone: build both networks with "
                "num_labels=N for a conditional model."
            )
        for name, value in (("ac_weight", ac_weight), ("ac_generator_weight", ac_generator_weight)):
            if not value >= 0:
                raise ValueError(f"`{name}` must be >= 0. Received: {name}={value!r}")
        self.ac_weight, self.ac_generator_weight = ac_weight, ac_generator_weight

    @property
    def conditional(self) -> bool:
        """Whether the model generates for given labels."""
        return self.labels is not None

    @property
    def discriminator(self) -> keras.Model:
        """Alias of ``critic``."""
        return self.critic

    # ------------------------------------------------------------------ hooks
    def critic_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        """The loss the critic minimises, from its outputs on real and fake data."""
        raise NotImplementedError(f"{type(self).__name__} must implement critic_loss")

    def generator_loss(self, real_out: Tensor | None, fake_out: Tensor) -> Tensor:
        """The loss the generator minimises (``real_out`` is None unless needed)."""
        raise NotImplementedError(f"{type(self).__name__} must implement generator_loss")

    def penalty(self, real: Tensor, fake: Tensor, training: bool = True) -> Tensor:
        """The unweighted critic regulariser (reported as ``gp``); used when ``penalty_weight`` is set.

        ``training`` is the mode of the critic's layers, the same as for the loss.
        A conditional model also passes ``labels=`` (the labels of both ``real``
        and ``fake``); score points with ``self.critic_for(labels)``.
        """
        raise NotImplementedError(f"{type(self).__name__} defines no penalty")

    # --------------------------------------------------------------- labels
    def split_labels(self, real: Any) -> tuple[Tensor, Tensor | None]:
        """``(samples, labels)`` of a real batch as ``real_batch`` gives it (labels None when unconditional)."""
        return (real[0], real[1]) if self.conditional else (real, None)

    def label_vectors(self, labels: Any) -> Tensor:
        """The float ``(n, num_labels)`` vectors the networks take, from class indices ``(n,)`` or vectors.

        Args:
            labels: class indices (integers, shape ``(n,)``), or label vectors
                ``(n, num_labels)`` (one-hot or multi-hot).
        """
        labels = keras.ops.convert_to_tensor(labels)
        if len(labels.shape) == 1 or (len(labels.shape) == 2 and labels.shape[-1] == 1 and self.num_labels != 1):
            if self.labels == "attributes":
                raise ValueError(
                    f"An attribute model takes (n, {self.num_labels}) vectors of 0/1 attributes, not class indices."
                )
            labels = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(labels, (-1,)), "int32"), self.num_labels)
        return keras.ops.cast(labels, "float32")

    def generator_output(self, z: Tensor, labels: Tensor | None, training: bool = False) -> Tensor:
        """The generator on latent vectors ``z`` (and label vectors, for a conditional model)."""
        if labels is None:
            return self.generator(z, training=training)
        return self.generator([keras.ops.convert_to_tensor(z), keras.ops.convert_to_tensor(labels)], training=training)

    def critic_outputs(self, x: Tensor, labels: Tensor | None, training: bool = False) -> tuple[Tensor, Tensor | None]:
        """The critic's scores of ``x`` (at ``labels``), and its class logits when it has an auxiliary classifier."""
        if self.critic_takes_labels:
            out = self.critic([keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(labels)], training=training)
        else:
            out = self.critic(x, training=training)
        return (out[0], out[1]) if self.critic_classifies else (out, None)

    def critic_for(self, labels: Tensor | None) -> Any:
        """The critic as a function of samples alone, its labels held at ``labels``: what a penalty differentiates.

        Returns:
            ``score(x, training=...)`` giving the critic's scores (the score head
            of an auxiliary-classifier critic).
        """

        def score(x: Tensor, training: bool = True) -> Tensor:
            return self.critic_outputs(x, labels, training=training)[0]

        return score

    def classification_loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        """The auxiliary classifier's loss: softmax cross-entropy for classes, sigmoid for attributes (a mean)."""
        if self.labels == "attributes":
            return losses.attribute_classification_loss(labels, logits)
        return losses.class_classification_loss(labels, logits)

    # ------------------------------------------------------------ objectives
    def critic_objective(self, real: Any, fake: Tensor, training: bool = True) -> dict[str, Tensor]:
        """Evaluates the critic's objective on a real and a fake batch.

        Args:
            real: real batch (``(samples, label vectors)`` for a conditional model).
            fake: generated batch of the same size (with the same labels).
            training: mode of the critic's layers.

        Returns:
            ``{"d_loss": loss + weighted penalty, "w_dist": E[C(r)] - E[C(f)]}``
            plus ``{"gp": penalty}`` for variants with a penalty and
            ``{"ac": classification loss}`` for an auxiliary-classifier critic.
            ``d_loss`` is differentiable with respect to the critic's weights.
        """
        x, labels = self.split_labels(real)
        if self._critic_mixes_examples:
            # Batch normalization: the DCGAN convention, real and fake batches normalized apart.
            real_out, real_logits = self.critic_outputs(x, labels, training=training)
            fake_out, _ = self.critic_outputs(fake, labels, training=training)
        else:
            # One call on both: the same result for a critic that takes examples one by one, one pass of its
            # layers, and one power iteration of spectral normalization per critic update.
            n = batch_size_of(x)
            both = keras.ops.concatenate([x, keras.ops.cast(fake, x.dtype)], axis=0)
            both_labels = None if labels is None else keras.ops.concatenate([labels, labels], axis=0)
            scores, logits = self.critic_outputs(both, both_labels, training=training)
            real_out, fake_out = scores[:n], scores[n:]
            real_logits = None if logits is None else logits[:n]
        critic_loss = self.critic_loss if self.loss is None else LOSSES[self.loss][0]
        terms = {
            "d_loss": critic_loss(real_out, fake_out),
            "w_dist": losses.wasserstein_estimate(real_out, fake_out),
        }
        if self.penalty_weight is not None:
            extra = {} if labels is None else {"labels": labels}
            value = self.penalty(x, fake, training=training, **extra)
            terms["gp"] = value
            terms["d_loss"] = terms["d_loss"] + self.penalty_weight * value
        if real_logits is not None:
            terms["ac"] = self.classification_loss(real_logits, labels)
            terms["d_loss"] = terms["d_loss"] + self.ac_weight * terms["ac"]
        return terms

    def generator_objective(self, fake: Tensor, real: Any, training: bool = True) -> Tensor:
        """The generator's loss on a generated batch, differentiable with respect to ``fake``.

        Args:
            fake: the generator's output (computed under the caller's tape or ``jax.grad``),
                for the labels of ``real`` when the model is conditional.
            real: a real batch of the same size (its samples are read only by losses that
                need them, ``uses_real_in_generator_loss``; its labels by a conditional model).
            training: mode of the critic's layers.

        Returns:
            The scalar ``generator_loss`` (plus ``ac_generator_weight`` times the
            auxiliary classifier's loss on ``fake``).
        """
        x, labels = self.split_labels(real)
        fake_out, fake_logits = self.critic_outputs(fake, labels, training=training)
        real_out = self.critic_outputs(x, labels, training=training)[0] if self.uses_real_in_generator_loss else None
        generator_loss = self.generator_loss if self.loss is None else LOSSES[self.loss][1]
        loss = generator_loss(real_out, fake_out)
        if fake_logits is not None:
            loss = loss + self.ac_generator_weight * self.classification_loss(fake_logits, labels)
        return loss

    # -------------------------------------------------------------- compile
    def compile(
        self,
        g_optimizer: keras.optimizers.Optimizer | str | None = None,
        d_optimizer: keras.optimizers.Optimizer | str | None = None,
        **kwargs: Any,
    ) -> None:
        """Configures the two optimizers and builds them.

        Both optimizers create their variables here, before any weights or a
        backup are restored, so a resumed run gets back their state (moments,
        iteration counts). Omitted optimizers default to the paper's
        optimizer (``paper_defaults``). Under the ``mixed_float16``
        policy both are wrapped in a ``LossScaleOptimizer``.

        Args:
            g_optimizer: the generator's optimizer (instance or identifier).
            d_optimizer: the critic's optimizer. Must not be the same object as
                ``g_optimizer``.
            **kwargs: passed to ``keras.Model.compile`` (``jit_compile``,
                ``steps_per_execution``, ``run_eagerly``). ``loss``, ``metrics``
                and ``optimizer`` are not accepted: the losses are the variant's.
        """
        for bad in ("loss", "metrics", "optimizer", "loss_weights", "weighted_metrics"):
            if kwargs.get(bad) is not None:
                raise ValueError(
                    f"{type(self).__name__}.compile() takes g_optimizer= and d_optimizer=, not `{bad}`; "
                    "the losses are defined by the variant."
                )
            kwargs.pop(bad, None)
        if g_optimizer is None or d_optimizer is None:
            if self.paper_defaults is None:
                raise ValueError(f"{type(self).__name__} has no paper defaults; pass g_optimizer and d_optimizer.")
            g_optimizer = g_optimizer if g_optimizer is not None else self.paper_defaults.make_optimizer()
            d_optimizer = d_optimizer if d_optimizer is not None else self.paper_defaults.make_optimizer()
        backend.check_backend()
        backend.check_mixed_precision(keras.config.dtype_policy().name)
        g_optimizer = _wrap_for_loss_scaling(keras.optimizers.get(g_optimizer))
        d_optimizer = _wrap_for_loss_scaling(keras.optimizers.get(d_optimizer))
        if g_optimizer is d_optimizer:
            raise ValueError("`g_optimizer` and `d_optimizer` must be two different optimizer instances.")
        kwargs.setdefault("auto_scale_loss", False)
        # The generator's optimizer is also `model.optimizer`, so Keras' step
        # counters (TensorBoard, BackupAndRestore) count generator iterations.
        super().compile(optimizer=g_optimizer, **kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.critic.trainable_variables)
        self._finish_compile(int(kwargs.get("steps_per_execution") or 1))
        self._gan_compile_kwargs = {k: v for k, v in kwargs.items() if k in ("jit_compile", "steps_per_execution")}

    def fit(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        """``keras.Model.fit``; a conditional model's NumPy labels ``y`` are checked first (one clear error).

        Class indices must be integers in ``[0, num_labels)``, attribute vectors
        0/1 of ``num_labels`` entries; a conditional model given arrays without
        ``y`` is refused. Datasets are passed through as they are.
        """
        if self.conditional and isinstance(x, np.ndarray):
            if y is None:
                raise ValueError(f"{type(self).__name__} is conditional: fit(x, y) with the samples' labels.")
            label_utils.label_vectors(np.asarray(y), len(np.asarray(y)), self.num_labels, self.labels)
        elif not self.conditional and y is not None and isinstance(x, np.ndarray):
            raise ValueError(
                f"{type(self).__name__} is unconditional and would ignore y; build the networks with num_labels=N "
                "for a conditional model."
            )
        return super().fit(x, y, *args, **kwargs)

    def get_compile_config(self) -> dict:
        if self.g_optimizer is None:
            return {}
        return {
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            **getattr(self, "_gan_compile_kwargs", {}),
        }

    def compile_from_config(self, config: dict) -> None:
        if not config:
            return
        config = dict(config)
        g_opt = keras.saving.deserialize_keras_object(config.pop("g_optimizer"))
        d_opt = keras.saving.deserialize_keras_object(config.pop("d_optimizer"))
        self.compile(g_optimizer=g_opt, d_optimizer=d_opt, **config)

    # ---------------------------------------------------------------- state
    def _rng_states(self) -> dict[str, keras.Variable]:
        return {"rng_train": self.seed_generator.state, "rng_sample": self.sample_seed_generator.state}

    def _named_state(self) -> dict[str, keras.Variable]:
        """Variables saved under their own names (the RNG states and the step counter)."""
        return {**self._rng_states(), "generator_iterations": self.generator_iterations}

    def _indexed_variables(self) -> list[keras.Variable]:
        """The model's own variables besides the named ones (a subclass may add some), in order."""
        networks = [*self.generator.variables, *self.critic.variables]
        skip = {id(v) for v in [*networks, *self._named_state().values(), self.eval_seed_generator.state]}
        return [v for v in self.variables if id(v) not in skip]

    def save_own_variables(self, store: Any) -> None:
        for i, variable in enumerate(self._indexed_variables()):
            store[f"{i}"] = variable.numpy()
        for key, variable in self._named_state().items():
            store[key] = variable.numpy()

    def load_own_variables(self, store: Any) -> None:
        for key, variable in self._named_state().items():
            variable.assign(store[key])
        for i, variable in enumerate(self._indexed_variables()):
            variable.assign(store[f"{i}"])

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "critic": keras.saving.serialize_keras_object(self.critic),
            "latent_dim": self.latent_dim,
            "n_critic": self.n_critic,
            "seed": self.seed,
            **({} if self.penalty_weight is None else {"penalty_weight": self.penalty_weight}),
            **({} if self.loss is None else {"loss": self.loss}),
            **({} if self.labels is None else self._label_config()),
        }

    def _label_config(self) -> dict:
        return {"labels": self.labels, "ac_weight": self.ac_weight, "ac_generator_weight": self.ac_generator_weight}

    @classmethod
    def from_config(cls, config: dict) -> GAN:
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["critic"] = keras.saving.deserialize_keras_object(config["critic"])
        return cls(**config)

    # ------------------------------------------------------------- training
    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        trackers = [self.d_loss_tracker, self.g_loss_tracker, self.w_dist_tracker, self.gp_tracker, self.ac_tracker]
        return [t for t in trackers if t is not None]

    def update_critic_metrics(self, terms: dict[str, Tensor]) -> None:
        """Adds one critic update's ``critic_objective`` terms to the metrics (``d_loss``, ``w_dist``, ``gp``)."""
        self.d_loss_tracker.update_state(terms["d_loss"])
        self.w_dist_tracker.update_state(terms["w_dist"])
        if self.gp_tracker is not None:
            self.gp_tracker.update_state(terms["gp"])
        if self.ac_tracker is not None:
            self.ac_tracker.update_state(terms["ac"])

    def update_generator_metrics(self, loss: Tensor) -> None:
        """Adds one generator update's loss to ``g_loss``."""
        self.g_loss_tracker.update_state(loss)

    def metric_results(self) -> dict[str, Tensor]:
        """``{name: result}`` of every metric."""
        return {m.name: m.result() for m in self.metrics}

    def call(self, inputs: Any, training: bool = False) -> Tensor:
        """Runs the generator on latent vectors ``z`` (``[z, label vectors]`` for a conditional model)."""
        return self.generator(inputs, training=training)

    def state_variables(self) -> dict[str, keras.Variable]:
        """Every floating-point variable a checkpoint holds, by a readable name.

        Both networks' weights (batch-norm statistics included) and both
        optimizers' variables (moments, learning rates, loss scales), named like
        ``"generator dense_0/kernel"`` or ``"critic's optimizer adam/..."``.
        """
        groups = (
            ("generator", self.generator.weights),
            ("critic", self.critic.weights),
            ("generator's optimizer", [] if self.g_optimizer is None else self.g_optimizer.variables),
            ("critic's optimizer", [] if self.d_optimizer is None else self.d_optimizer.variables),
        )
        named = {}
        for owner, variables in groups:
            for v in variables:
                if "float" in str(v.dtype):
                    named.setdefault(f"{owner} {v.path}", v)
        return named

    def first_nonfinite_variable(self) -> str | None:
        """The name of the first variable of ``state_variables()`` holding a NaN or an infinity, or None.

        One compiled reduction over all of them (a fraction of a millisecond for
        the toy networks, about 1.5 ms for the 32 px DCGAN pair on 2 CPU cores), so a
        training run can afford to call it every few steps: the logged losses
        do not always show a non-finite weight (a fused ``MatMul + BiasAdd +
        Relu`` kernel can turn NaN inputs into zeros).
        """
        named = self.state_variables()
        key = tuple(id(v) for v in named.values())
        if getattr(self, "_finite_check", (None,))[0] != key:
            self._finite_check = (key, backend.finite_flags_fn(list(named.values())))
        flags = self._finite_check[1]()
        bad = np.flatnonzero(~flags)
        return list(named)[int(bad[0])] if bad.size else None

    def state_is_finite(self) -> bool:
        """Whether every weight of both networks and every optimizer variable is finite.

        A checkpoint is only worth writing when this holds: the logged losses
        are computed before the update that may have produced a NaN.
        """
        return self.first_nonfinite_variable() is None

    @contextlib.contextmanager
    def _drawing_from(self, generator: keras.random.SeedGenerator) -> Iterator[None]:
        """Within the block (at trace time), ``next_seed`` draws from ``generator``."""
        saved, self._active_seed_generator = self._active_seed_generator, generator
        try:
            yield
        finally:
            self._active_seed_generator = saved

    @contextlib.contextmanager
    def preserved_state(self) -> Iterator[None]:
        """Restores the RNG states and the networks' non-trainable variables
        (batch-norm statistics) on exit, so that diagnostics run in training
        mode (e.g. in callbacks) leave the training run exactly as it was."""
        variables = [
            *self._rng_states().values(),
            self.eval_seed_generator.state,
            *self.generator.non_trainable_variables,
            *self.critic.non_trainable_variables,
        ]
        saved = [keras.ops.convert_to_numpy(v) for v in variables]
        try:
            yield
        finally:
            for variable, value in zip(variables, saved, strict=True):
                variable.assign(value)

    def real_batch(self, data: Any) -> Any:
        """The real samples of a batch as float32 (the first item of a tuple; a dict is refused).

        A conditional model takes ``(samples, labels)`` and returns
        ``(samples, label vectors)`` (``label_vectors``).
        """
        if isinstance(data, dict):
            raise ValueError("The GAN trains on samples (and labels); feed a tensor or a tuple, not a dict.")
        if not self.conditional:
            if isinstance(data, (tuple, list)):
                data = data[0]
            return keras.ops.cast(data, "float32")
        if not isinstance(data, (tuple, list)) or len(data) < 2 or data[1] is None:
            raise ValueError(
                "A conditional GAN trains on (samples, labels) batches: fit(x, y, ...) or a dataset of pairs "
                "(make_dataset(..., labels=True))."
            )
        return keras.ops.cast(data[0], "float32"), self.label_vectors(data[1])

    def _warn_partial(self) -> None:
        if not self._warned_partial:
            self._warned_partial = True
            warnings.warn(
                f"{type(self).__name__}: batches of unknown size, or a partial last batch on JAX; a batch whose "
                f"size is not a multiple of n_critic={self.n_critic} drops its "
                f"last samples, and one smaller than n_critic is skipped. Batch by batch_size * n_critic with "
                f"drop_remainder (make_dataset does) to use every sample.",
                stacklevel=3,
            )

    def _check_compiled(self) -> None:
        if self.g_optimizer is None:
            raise RuntimeError("Call compile() before training.")

    def evaluate_batch(self, data: Any) -> None:
        """``test_step``'s work: updates the metrics with the losses on a batch, in inference mode.

        The noise comes from the model's evaluation stream, so the training
        stream stays where it was (``fit(validation_data=...)`` does not change a run).
        """
        real = self.real_batch(data)
        x, labels = self.split_labels(real)
        with self._drawing_from(self.eval_seed_generator):
            fake = self.generator_output(self.sample_latent(batch_size_of(x)), labels, training=False)
            self.update_critic_metrics(self.critic_objective(real, fake, training=False))
        self.update_generator_metrics(self.generator_objective(fake, real, training=False))

    # ------------------------------------------------------------ sampling
    def generate(
        self,
        n_or_z: int | np.ndarray | Tensor,
        *,
        labels: int | np.ndarray | Tensor | None = None,
        seed: int | None = None,
        batch_size: int = 256,
    ) -> np.ndarray:
        """Generates samples (of chosen labels, for a conditional model).

        Args:
            n_or_z: a number of samples, or a batch of latent vectors of shape
                ``(n, latent_dim)``.
            labels: for a conditional model: one class index for all samples, a
                class index per sample ``(n,)``, or label vectors ``(n,
                num_labels)`` (attributes: 0/1). None: classes in turn (0, 1, ...,
                0, 1, ...); an attribute model needs them.
            seed: with a number, an int seed makes the latent draw repeatable;
                without one, the model's sampling seed generator is used.
            batch_size: samples per generator call.

        Returns:
            A NumPy float32 array of ``n`` samples (images in [-1, 1]).

        Example:
            ``model.generate(16, labels=3)``: sixteen samples of class 3.
        """
        if isinstance(n_or_z, (int, np.integer)) and not isinstance(n_or_z, bool):
            if n_or_z < 0:
                raise ValueError(f"The number of samples must be >= 0. Received: {n_or_z}")
            z = keras.random.normal(
                (int(n_or_z), self.latent_dim), seed=self.sample_seed_generator if seed is None else seed
            )
        else:
            z = keras.ops.convert_to_tensor(n_or_z, dtype="float32")
            if len(z.shape) != 2 or z.shape[-1] != self.latent_dim:
                raise ValueError(
                    f"Latent vectors must have shape (n, {self.latent_dim}). Received shape {tuple(z.shape)}"
                )
        n = int(z.shape[0])
        if self.conditional:
            y = keras.ops.convert_to_tensor(label_utils.label_vectors(labels, n, self.num_labels, self.labels))
        elif labels is not None:
            raise ValueError(f"{type(self).__name__} is unconditional; it takes no labels.")
        outputs = [
            np.asarray(
                self.generator_output(z[i : i + batch_size], None if not self.conditional else y[i : i + batch_size]),
                dtype=np.float32,
            )
            for i in range(0, n, batch_size)
        ]
        if not outputs:
            return np.zeros((0, *self.generator.output_shape[1:]), dtype=np.float32)
        return np.concatenate(outputs, axis=0)
