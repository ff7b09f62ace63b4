"""The GAN family as subclassed ``keras.Model``s sharing one training step per backend."""

from keras_wgan.models.dcgan import DCGAN
from keras_wgan.models.dragan import DRAGAN
from keras_wgan.models.gan import GAN
from keras_wgan.models.penalized import PenalizedGAN
from keras_wgan.models.r1 import R1GAN
from keras_wgan.models.relativistic import RSGAN, RaGAN
from keras_wgan.models.sngan import SNGAN
from keras_wgan.models.wgan import WGAN
from keras_wgan.models.wgan_div import WGANDiv
from keras_wgan.models.wgan_gp import WGANGP, WGANLP

__all__ = [
    "GAN",
    "PenalizedGAN",
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
]
