"""Weight constraints used by the WGAN critic."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="keras_wgan")
class WeightClip(keras.constraints.Constraint):
    """Clips every element of a variable to ``[-clip_value, clip_value]``.

    This is the Lipschitz constraint of the original WGAN (Arjovsky et al.
    2017, "Wasserstein GAN", Algorithm 1, c = 0.01). Keras optimizers apply a
    variable's ``constraint`` right after each update, so attaching this
    constraint to every critic variable clips the critic after every critic
    step without any clipping code in the training loop.

    Args:
        clip_value: positive bound ``c``.

    Example:
    >>> import numpy as np
    >>> WeightClip(0.01)(np.array([-1.0, 0.005, 2.0])).numpy().tolist()
    [-0.01, 0.005, 0.01]
    """

    def __init__(self, clip_value: float = 0.01):
        if not clip_value > 0:
            raise ValueError(f"`clip_value` must be a positive number. Received: clip_value={clip_value}")
        self.clip_value = float(clip_value)

    def __call__(self, w):
        return keras.ops.clip(w, -self.clip_value, self.clip_value)

    def get_config(self) -> dict:
        return {"clip_value": self.clip_value}
