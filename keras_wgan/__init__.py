"""keras_wgan: the Wasserstein GAN family in Keras 3 / TensorFlow.

Public API:

- models: ``GAN`` (base), ``DCGAN``, ``RSGAN``, ``RaGAN``, ``WGAN``, ``WGANGP``, and
  their successors ``SNGAN``, ``WGANLP``, ``DRAGAN``, ``R1GAN``, ``WGANDiv``;
- ``WeightClip`` (constraint), ``gradient_penalty`` (penalty);
- modules ``losses``, ``penalties``, ``networks``, ``variants``.
"""

from keras_wgan import losses, networks, penalties, variants
from keras_wgan.constraints import WeightClip
from keras_wgan.models import DCGAN, DRAGAN, GAN, R1GAN, RSGAN, SNGAN, WGAN, WGANGP, WGANLP, RaGAN, WGANDiv
from keras_wgan.penalties import gradient_penalty

__version__ = "0.1.0"

__all__ = [
    "GAN",
    "DCGAN",
    "RSGAN",
    "RaGAN",
    "WGAN",
    "WGANGP",
    "SNGAN",
    "WGANLP",
    "DRAGAN",
    "R1GAN",
    "WGANDiv",
    "WeightClip",
    "gradient_penalty",
    "losses",
    "networks",
    "penalties",
    "variants",
    "__version__",
]
