"""Adversarial losses as pure functions of critic outputs.

Every function takes the critic's raw outputs (logits for the classifier-style
losses, unbounded scores for the Wasserstein ones) of shape ``(batch,)`` or
``(batch, 1)`` and returns a scalar: the batch mean of the loss that the
corresponding network *minimises*.

The names follow the literature:

- ``nonsaturating_*``: Goodfellow et al. 2014, "Generative Adversarial Nets",
  with the non-saturating generator loss; used by DCGAN (Radford et al. 2016).
- ``relativistic_standard_*`` and ``relativistic_average_*``:
  Jolicoeur-Martineau 2019, "The relativistic discriminator: a key element
  missing from standard GAN" (RSGAN and RaGAN).
- ``wasserstein_*``: Arjovsky et al. 2017, "Wasserstein GAN", also used with
  the gradient penalty of Gulrajani et al. 2017 (and WGAN-LP, WGAN-div).
- ``hinge_*``: the hinge loss of Lim & Ye 2017 ("Geometric GAN") and Tran et al.
  2017, which Miyato et al. 2018 train their spectrally normalized GANs with.
- ``*_classification_loss``: the auxiliary classifier's losses of conditional
  critics (AC-GAN, Odena et al. 2017), on classes and on binary attributes.

All losses are computed in float32 whatever the compute dtype, so they behave
the same under mixed precision. They are written with ``keras.ops``, so the same
functions serve the TensorFlow and the JAX backend.
"""

from __future__ import annotations

from keras import ops

from keras_wgan.backend import Tensor


def _flat32(x: Tensor) -> Tensor:
    return ops.reshape(ops.cast(x, "float32"), [-1])


def nonsaturating_critic_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Binary cross-entropy of the discriminator (real -> 1, fake -> 0).

    ``L_D = -E[log sigmoid(D(x_r))] - E[log(1 - sigmoid(D(x_f)))]``
    ``    = E[softplus(-D(x_r))] + E[softplus(D(x_f))]``

    Args:
        real_logits: discriminator logits on real samples.
        fake_logits: discriminator logits on generated samples.

    Returns:
        Scalar float32 loss.
    """
    return ops.mean(ops.softplus(-_flat32(real_logits))) + ops.mean(ops.softplus(_flat32(fake_logits)))


def nonsaturating_generator_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss ``L_G = -E[log sigmoid(D(x_f))] = E[softplus(-D(x_f))]``.

    Args:
        fake_logits: discriminator logits on generated samples.

    Returns:
        Scalar float32 loss.
    """
    return ops.mean(ops.softplus(-_flat32(fake_logits)))


def relativistic_standard_critic_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """RSGAN critic loss ``L_D = -E[log sigmoid(C(x_r) - C(x_f))]``.

    Real and fake samples are paired element-wise, so both batches must have
    the same size.

    Args:
        real_logits: critic outputs on real samples.
        fake_logits: critic outputs on generated samples.

    Returns:
        Scalar float32 loss.
    """
    return ops.mean(ops.softplus(-(_flat32(real_logits) - _flat32(fake_logits))))


def relativistic_standard_generator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """RSGAN generator loss ``L_G = -E[log sigmoid(C(x_f) - C(x_r))]``.

    Args:
        real_logits: critic outputs on real samples.
        fake_logits: critic outputs on generated samples.

    Returns:
        Scalar float32 loss.
    """
    return ops.mean(ops.softplus(-(_flat32(fake_logits) - _flat32(real_logits))))


def relativistic_average_critic_loss(
    real_logits: Tensor,
    fake_logits: Tensor,
    real_mean: Tensor | None = None,
    fake_mean: Tensor | None = None,
) -> Tensor:
    """RaGAN critic loss (the paper's equation, without the code's factor 1/2).

    ``L_D = -E_r[log sigmoid(C(x_r) - E_f C(x_f))] - E_f[log(1 - sigmoid(C(x_f) - E_r C(x_r)))]``

    Args:
        real_logits: critic outputs on real samples.
        fake_logits: critic outputs on generated samples.
        real_mean: ``E_r C(x_r)``, the average the fakes are compared with;
            the mean of ``real_logits`` by default. Under a distribution
            strategy pass the global-batch mean (``keras_wgan.backend.global_mean``).
        fake_mean: ``E_f C(x_f)``, likewise.

    Returns:
        Scalar float32 loss.
    """
    r, f = _flat32(real_logits), _flat32(fake_logits)
    real_mean = ops.mean(r) if real_mean is None else ops.cast(real_mean, "float32")
    fake_mean = ops.mean(f) if fake_mean is None else ops.cast(fake_mean, "float32")
    return ops.mean(ops.softplus(-(r - fake_mean))) + ops.mean(ops.softplus(f - real_mean))


def relativistic_average_generator_loss(
    real_logits: Tensor,
    fake_logits: Tensor,
    real_mean: Tensor | None = None,
    fake_mean: Tensor | None = None,
) -> Tensor:
    """RaGAN generator loss: the critic loss with the roles of real and fake swapped.

    ``L_G = -E_f[log sigmoid(C(x_f) - E_r C(x_r))] - E_r[log(1 - sigmoid(C(x_r) - E_f C(x_f)))]``

    Args:
        real_logits: critic outputs on real samples.
        fake_logits: critic outputs on generated samples.
        real_mean: ``E_r C(x_r)`` (default: the mean of ``real_logits``).
        fake_mean: ``E_f C(x_f)`` (default: the mean of ``fake_logits``).

    Returns:
        Scalar float32 loss.
    """
    return relativistic_average_critic_loss(fake_logits, real_logits, fake_mean, real_mean)


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Wasserstein critic loss ``L_C = E[C(x_f)] - E[C(x_r)]`` (the negated W1 estimate).

    Args:
        real_scores: critic outputs on real samples.
        fake_scores: critic outputs on generated samples.

    Returns:
        Scalar float32 loss.
    """
    return ops.mean(_flat32(fake_scores)) - ops.mean(_flat32(real_scores))


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """Wasserstein generator loss ``L_G = -E[C(x_f)]``.

    Args:
        fake_scores: critic outputs on generated samples.

    Returns:
        Scalar float32 loss.
    """
    return -ops.mean(_flat32(fake_scores))


def wasserstein_estimate(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """The critic's estimate of the Wasserstein-1 distance, ``E[C(x_r)] - E[C(x_f)]``.

    Only a true W1 estimate when the critic is (close to) 1-Lipschitz; for the
    classifier-style variants it is the gap between mean logits, still a
    useful indicator of how well the critic separates the two sets.

    Args:
        real_scores: critic outputs on real samples.
        fake_scores: critic outputs on generated samples.

    Returns:
        Scalar float32 value.
    """
    return ops.mean(_flat32(real_scores)) - ops.mean(_flat32(fake_scores))


def hinge_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Hinge loss of the critic ``L_C = E[max(0, 1 - C(x_r))] + E[max(0, 1 + C(x_f))]``.

    Real scores above 1 and fake scores below -1 cost nothing: the critic stops
    pushing samples it already separates by a margin.

    Args:
        real_scores: critic outputs on real samples.
        fake_scores: critic outputs on generated samples.

    Returns:
        Scalar float32 loss.

    Example:
    >>> float(hinge_critic_loss([2.0, 0.5], [-3.0, 0.0]))  # (0 + 0.5) / 2 + (0 + 1) / 2
    0.75
    """
    return ops.mean(ops.relu(1.0 - _flat32(real_scores))) + ops.mean(ops.relu(1.0 + _flat32(fake_scores)))


def hinge_generator_loss(fake_scores: Tensor) -> Tensor:
    """The generator's loss with the hinge critic, ``L_G = -E[C(x_f)]`` (as the Wasserstein generator's).

    Args:
        fake_scores: critic outputs on generated samples.

    Returns:
        Scalar float32 loss.
    """
    return wasserstein_generator_loss(fake_scores)


def class_classification_loss(labels: Tensor, logits: Tensor) -> Tensor:
    """An auxiliary classifier's loss on classes: the batch mean of the softmax cross-entropy.

    The AC-GAN term (Odena et al. 2017) that WGAN-GP's CIFAR-10 model adds to
    both networks' losses (Gulrajani et al. 2017, section 5).

    Args:
        labels: one-hot label vectors ``(batch, classes)``.
        logits: the classifier's logits ``(batch, classes)``.

    Returns:
        Scalar float32 loss.

    Example:
    >>> round(float(class_classification_loss([[0.0, 1.0]], [[0.0, 0.0]])), 4)  # log 2
    0.6931
    """
    labels, logits = ops.cast(labels, "float32"), ops.cast(logits, "float32")
    return ops.mean(-ops.sum(labels * ops.log_softmax(logits, axis=-1), axis=-1))


def attribute_classification_loss(labels: Tensor, logits: Tensor) -> Tensor:
    """An auxiliary classifier's loss on binary attributes: sigmoid cross-entropy, summed over
    attributes, averaged over the batch.

    Args:
        labels: 0/1 attribute vectors ``(batch, attributes)``.
        logits: one logit per attribute ``(batch, attributes)``.

    Returns:
        Scalar float32 loss.

    Example:
    >>> round(float(attribute_classification_loss([[1.0, 0.0]], [[0.0, 0.0]])), 4)  # 2 log 2
    1.3863
    """
    labels, logits = ops.cast(labels, "float32"), ops.cast(logits, "float32")
    per_attribute = ops.softplus(logits) - labels * logits  # -y log s(l) - (1 - y) log(1 - s(l))
    return ops.mean(ops.sum(per_attribute, axis=-1))
