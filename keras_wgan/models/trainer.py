"""The training step for the backend Keras runs on, chosen once at import (as Keras picks its trainer).

``Trainer`` is ``TensorFlowTrainer`` (``keras_wgan.models.tensorflow_trainer``)
or ``JaxTrainer`` (``keras_wgan.models.jax_trainer``); ``GAN`` inherits from it.
Both run the same hooks of ``GAN`` (``critic_objective``, ``generator_objective``,
``update_critic_metrics``, ``update_generator_metrics``); neither branches on the backend.
"""

from __future__ import annotations

from keras_wgan import backend

if backend.is_jax():
    from keras_wgan.models.jax_trainer import JaxTrainer as Trainer
else:
    from keras_wgan.models.tensorflow_trainer import TensorFlowTrainer as Trainer

__all__ = ["Trainer"]
