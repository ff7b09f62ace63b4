"""The GAN family as subclassed ``keras.Model``s sharing one ``train_step``."""

from keras_wgan.models.dcgan import DCGAN
from keras_wgan.models.gan import GAN
from keras_wgan.models.relativistic import RSGAN, RaGAN
from keras_wgan.models.wgan import WGAN
from keras_wgan.models.wgan_gp import WGANGP

__all__ = ["GAN", "DCGAN", "RSGAN", "RaGAN", "WGAN", "WGANGP"]
