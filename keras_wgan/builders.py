"""The networks and the compiled GAN a resolved ``TrainConfig`` describes."""

from __future__ import annotations

from typing import Any

import keras

from keras_wgan import backend, networks, variants
from keras_wgan.config import TrainConfig
from keras_wgan.models import GAN


def build_networks(config: TrainConfig) -> tuple[keras.Model, keras.Model]:
    """The generator and critic a resolved config describes."""
    labels = {} if config.conditional is None else {"num_labels": len(config.class_names)}
    critic_labels = {} if config.conditional is None else {**labels, "conditioning": config.conditional}
    if config.is_toy:
        g = networks.build_mlp_generator(
            config.latent_dim,
            2,
            width=config.width,
            depth=config.depth,
            activation=config.activation,
            seed=config.seed,
            **labels,
        )
        c = networks.build_mlp_critic(
            2,
            width=config.critic_width or config.width,
            depth=config.depth,
            activation=config.activation,
            norm=config.critic_norm,
            seed=config.seed + 1000,
            **critic_labels,
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
        **labels,
        **({} if config.conditional is None else {"label_conditioning": config.generator_conditioning}),
    )
    c = networks.build_critic(
        config.image_size,
        config.channels,
        width=config.critic_width or config.width,
        norm=config.critic_norm,
        activation=config.activation,
        seed=config.seed + 1000,
        **critic_labels,
    )
    return g, c


def build_model(config: TrainConfig) -> GAN:
    """The compiled GAN a resolved config describes (call inside the strategy scope)."""
    variant = variants.get(config.variant)
    g, c = build_networks(config)
    overrides: dict[str, Any] = {"n_critic": config.n_critic, "seed": config.seed, "latent_dim": config.latent_dim}
    if variant.clip_value is not None:
        overrides["clip_value"] = config.clip_value
    if variant.penalty_weight_arg is not None:
        overrides[variant.penalty_weight_arg] = config.gp_weight
        overrides["allow_batchnorm"] = config.allow_batchnorm
    if config.penalty_power is not None:
        overrides["power"] = config.penalty_power
    if config.r2_weight is not None:
        overrides["r2_weight"] = config.r2_weight
    if config.loss is not None:
        overrides["loss"] = config.loss
    if config.conditional is not None:
        overrides["labels"] = config.dataset_spec.labels  # classes, or CelebA's attributes
    model = variant.build_model(g, c, **overrides)
    model.compile(
        g_optimizer=variant.make_optimizer(config.optimizer, config.g_lr, config.beta_1, config.beta_2),
        d_optimizer=variant.make_optimizer(config.optimizer, config.d_lr, config.beta_1, config.beta_2),
        # On JAX an uncompiled step is eager Python (for debugging only); on TensorFlow XLA is slower on CPUs.
        jit_compile=backend.is_jax() if config.jit_compile is None else config.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )
    return model
