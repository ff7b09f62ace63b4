"""Generator and critic networks as functional Keras models.

- ``build_generator`` / ``build_critic``: the DCGAN architecture (Radford et
  al. 2016, "Unsupervised Representation Learning with Deep Convolutional
  GANs") for 32, 64 and 128 px images with 1 or 3 channels: strided
  (transposed) 4x4 convolutions that double (halve) the resolution, widths
  that halve (double) at each step, tanh output in [-1, 1].
- ``build_mlp_generator`` / ``build_mlp_critic``: the fully connected pair of
  the WGAN-GP authors' 2D toy experiments (3 hidden layers of 512 ReLU units).

Options beyond the papers: the critic's normalization (``batch``, ``layer``
as in WGAN-GP, ``instance``, ``none``), and SELU activations (Klambauer et al.
2017) in place of normalization + ReLU / LeakyReLU.

``norm="spectral"`` (Miyato et al. 2018) wraps every convolution and dense layer
of a critic in ``keras_wgan.spectral_norm.SpectralNormalization`` (Keras'
layer, used as the paper's reparametrization ``W / sigma(W)``) instead of
adding normalization layers; ``spectral_layers(model)`` finds them.

Conditional networks (``num_labels=``): the generator takes ``[z, y]`` and
conditions by concatenating ``y`` to ``z`` (``label_conditioning="concat"``, the
default) or by conditional batch normalization (``"cbn"``); the critic takes ``[x, y]``
and conditions by projection (``conditioning="projection"``) or
concatenation (``"concat"``), or takes ``x`` alone and adds an auxiliary
classifier head (``"ac"``: outputs ``[score, class logits]``). ``y`` is a
float vector of ``num_labels`` entries, one-hot or multi-hot; the layers are
in ``keras_wgan.conditioning``.

``sublayers(model)`` walks the layers of a (nested) model, for code that
looks for layers of a kind (batch normalization) or with weights.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_wgan.conditioning import (
    CRITIC_CONDITIONINGS,
    DEFAULT_GENERATOR_CONDITIONING,
    GENERATOR_CONDITIONINGS,
    ConditionalAffine,
    LabelChannels,
    ProjectionScore,
)
from keras_wgan.errors import positive_int
from keras_wgan.spectral_norm import SpectralNormalization

SUPPORTED_IMAGE_SIZES = (32, 64, 128)
NORMS = ("batch", "layer", "instance", "spectral", "none")
ACTIVATIONS = ("relu", "leaky_relu", "selu")

# Radford et al. 2016: all weights from N(0, 0.02).
_DCGAN_INIT_STDDEV = 0.02


def sublayers(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """Every layer inside ``model``, depth first, entering nested models (``model`` itself excluded).

    Args:
        model: a Keras model (functional, sequential or subclassed with ``layers``).

    Returns:
        The layers in order; a nested model appears before its own layers.

    Example:
    >>> [layer.name for layer in sublayers(build_mlp_critic(width=8, depth=1))]
    ['input', 'dense_0', 'act_0', 'output']
    """
    found = []
    for layer in getattr(model, "layers", None) or []:
        found.append(layer)
        found.extend(sublayers(layer))
    return found


def batchnorm_layers(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The ``keras.layers.BatchNormalization`` layers inside ``model`` (``model`` itself included)."""
    return [layer for layer in [model, *sublayers(model)] if isinstance(layer, layers.BatchNormalization)]


def spectral_layers(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The spectral normalization layers (Keras' or this package's) inside ``model``."""
    return [layer for layer in sublayers(model) if isinstance(layer, layers.SpectralNormalization)]


def _weighted(layer: layers.Layer, norm: str) -> layers.Layer:
    """``layer`` itself, or wrapped in spectral normalization (one power iteration per training call)."""
    if norm != "spectral":
        return layer
    # The wrapper runs in the wrapped layer's dtype (it casts its output to its input's): a float32
    # score layer stays float32 under mixed precision.
    return SpectralNormalization(layer, power_iterations=1, dtype=layer.dtype_policy, name=f"sn_{layer.name}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {', '.join(choices)}. Received: {name}={value!r}")
    return value


def _num_upsamplings(image_size: int) -> int:
    if image_size not in SUPPORTED_IMAGE_SIZES:
        sizes = ", ".join(str(s) for s in SUPPORTED_IMAGE_SIZES)
        raise ValueError(f"`image_size` must be one of {sizes}. Received: image_size={image_size!r}")
    return int(math.log2(image_size // 4))


def _initializer(activation: str, seed: int | None) -> keras.initializers.Initializer:
    if activation == "selu":
        return keras.initializers.LecunNormal(seed=seed)
    return keras.initializers.RandomNormal(stddev=_DCGAN_INIT_STDDEV, seed=seed)


def _seed(seed: int | None, offset: int) -> int | None:
    return None if seed is None else seed + offset


def _norm_layer(norm: str, name: str, affine: bool = True) -> layers.Layer | None:
    """The normalization layer after a convolution (None for ``none`` and ``spectral``, which acts on weights).

    ``affine=False``: without its own scale and offset (a ``ConditionalAffine`` follows).
    """
    if norm == "batch":
        return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, center=affine, scale=affine, name=name)
    if norm == "layer":
        # As the WGAN-GP reference code's layer norm: mean and variance over all of
        # (H, W, C) of each example, then one scale and one offset per channel
        # (epsilon 1e-5). That is a group normalization with a single group
        # (LayerNormalization over (H, W, C) would learn a scale per element).
        return layers.GroupNormalization(groups=1, epsilon=1e-5, center=affine, scale=affine, name=name)
    if norm == "instance":
        return layers.GroupNormalization(groups=-1, epsilon=1e-5, center=affine, scale=affine, name=name)
    return None


def _label_input(num_labels: int | None) -> keras.KerasTensor | None:
    if num_labels is None:
        return None
    positive_int("num_labels", num_labels)
    return keras.Input((num_labels,), name="labels")


def _normalize(x: keras.KerasTensor, norm: str, name: str, labels: keras.KerasTensor | None) -> keras.KerasTensor:
    """``x`` through the norm layer ``name``; with ``labels``, conditional (its scale and offset per label)."""
    layer = _norm_layer(norm, name, affine=labels is None)
    if layer is None:
        return x
    x = layer(x)
    return x if labels is None else ConditionalAffine(name=f"{name}_cond")([x, labels])


def _activation_layer(activation: str, name: str) -> layers.Layer:
    if activation == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.2, name=name)
    return layers.Activation(activation, name=name)


def _resolve_norm(norm: str | None, activation: str, default: str) -> str:
    if norm is None:
        norm = "none" if activation == "selu" else default
    return _check_choice("norm", norm, NORMS)


def build_generator(
    latent_dim: int = 128,
    image_size: int = 64,
    channels: int = 3,
    *,
    width: int = 64,
    norm: str | None = None,
    activation: str = "relu",
    seed: int | None = None,
    num_labels: int | None = None,
    label_conditioning: str = DEFAULT_GENERATOR_CONDITIONING,
    name: str = "generator",
) -> keras.Model:
    """DCGAN generator: latent vector -> image in [-1, 1].

    A dense layer maps ``z`` to a 4x4 feature map with ``width * 2**(n-1)``
    channels (``n = log2(image_size / 4)``); each following 4x4 transposed
    convolution with stride 2 doubles the resolution and halves the width; the
    last one outputs ``channels`` maps through tanh.

    Args:
        latent_dim: size of ``z``.
        image_size: 32, 64 or 128.
        channels: 1 (grayscale) or 3 (RGB).
        width: channels of the last hidden layer (``ngf`` in DCGAN, 64).
        norm: ``batch`` (default), ``layer``, ``instance`` or ``none``;
            ``none`` by default with SELU.
        activation: ``relu`` (default), ``leaky_relu`` or ``selu``.
        seed: seed of the weight initializers (None: random).
        num_labels: None (unconditional), or the size of the label vector: the
            model then takes ``[z, y]``.
        label_conditioning: ``concat`` (``y`` appended to ``z``, Mirza &
            Osindero 2014; the default, measured: see
            ``keras_wgan.conditioning.DEFAULT_GENERATOR_CONDITIONING``) or
            ``cbn`` (every normalization's scale and offset per label:
            conditional batch normalization, as in Miyato & Koyama 2018 and
            WGAN-GP's CIFAR-10 generator).
        name: model name.

    Returns:
        A functional ``keras.Model`` from ``(latent_dim,)`` (and
        ``(num_labels,)``) to ``(image_size, image_size, channels)``.

    Example:
    >>> g = build_generator(latent_dim=64, image_size=32, channels=1, width=16)
    >>> g.output_shape
    (None, 32, 32, 1)
    """
    positive_int("latent_dim", latent_dim)
    positive_int("width", width)
    if channels not in (1, 3):
        raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels!r}")
    activation = _check_choice("activation", activation, ACTIVATIONS)
    norm = _resolve_norm(norm, activation, "batch")
    n = _num_upsamplings(image_size)
    use_bias = norm == "none"
    label_conditioning = _check_choice("label_conditioning", label_conditioning, GENERATOR_CONDITIONINGS)
    if num_labels is not None and label_conditioning == "cbn" and norm == "none":
        raise ValueError(
            "label_conditioning='cbn' conditions the generator's normalization layers, and norm='none' has none; "
            "use label_conditioning='concat'."
        )

    z = keras.Input((latent_dim,), name="z")
    y = _label_input(num_labels)
    cbn = y if label_conditioning == "cbn" else None
    h = z if y is None or cbn is not None else layers.Concatenate(name="z_and_labels")([z, y])
    x = layers.Dense(
        4 * 4 * width * 2 ** (n - 1),
        use_bias=use_bias,
        kernel_initializer=_initializer(activation, _seed(seed, 0)),
        name="project",
    )(h)
    x = layers.Reshape((4, 4, width * 2 ** (n - 1)), name="reshape")(x)
    for i in range(n - 1):
        x = _normalize(x, norm, f"norm_{i}", cbn)
        x = _activation_layer(activation, f"act_{i}")(x)
        x = layers.Conv2DTranspose(
            width * 2 ** (n - 2 - i),
            4,
            strides=2,
            padding="same",
            use_bias=use_bias,
            kernel_initializer=_initializer(activation, _seed(seed, i + 1)),
            name=f"up_{i}",
        )(x)
    x = _normalize(x, norm, f"norm_{n - 1}", cbn)
    x = _activation_layer(activation, f"act_{n - 1}")(x)
    x = layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", kernel_initializer=_initializer("relu", _seed(seed, n)), name="to_image"
    )(x)
    # tanh in float32 so mixed-precision generators still emit float32 images.
    out = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(z if y is None else [z, y], out, name=name)


def build_critic(
    image_size: int = 64,
    channels: int = 3,
    *,
    width: int = 64,
    norm: str | None = "batch",
    activation: str = "leaky_relu",
    seed: int | None = None,
    num_labels: int | None = None,
    conditioning: str = "projection",
    name: str = "critic",
) -> keras.Model:
    """DCGAN critic / discriminator: image -> one unbounded score (a logit).

    4x4 convolutions with stride 2 halve the resolution and double the width
    (starting from ``width``) down to 4x4, then a dense layer gives one score.
    No normalization after the first convolution (as in DCGAN). The output
    has no sigmoid: the classifier-style losses take logits.

    Args:
        image_size: 32, 64 or 128.
        channels: 1 or 3.
        width: channels of the first convolution (``ndf`` in DCGAN, 64).
        norm: ``batch`` (DCGAN), ``layer`` (WGAN-GP), ``instance``, ``spectral``
            (SNGAN: every convolution and the dense layer spectrally normalized, no
            normalization layers) or ``none``; None means ``none`` with SELU and
            ``batch`` otherwise.
        activation: ``leaky_relu`` (slope 0.2, default), ``relu`` or ``selu``.
        seed: seed of the weight initializers.
        num_labels: None (unconditional), or the size of the label vector.
        conditioning: with labels, ``projection`` (inputs ``[x, y]``, the score
            plus ``<y V, phi(x)>``; Miyato & Koyama 2018), ``concat`` (inputs
            ``[x, y]``, ``y`` as extra input channels) or ``ac`` (input ``x``,
            outputs ``[score, logits]``: an auxiliary classifier on the same
            features, AC-GAN).
        name: model name.

    Returns:
        A functional ``keras.Model`` from ``(image_size, image_size, channels)``
        to ``(1,)`` (see ``conditioning`` for the conditional forms).

    Example:
    >>> c = build_critic(image_size=32, channels=1, width=16, norm="layer")
    >>> c.output_shape
    (None, 1)
    """
    positive_int("width", width)
    if channels not in (1, 3):
        raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels!r}")
    activation = _check_choice("activation", activation, ACTIVATIONS)
    norm = _resolve_norm(norm, activation, "batch")
    n = _num_upsamplings(image_size)
    conditioning = _check_choice("conditioning", conditioning, CRITIC_CONDITIONINGS)

    x_in = keras.Input((image_size, image_size, channels), name="image")
    y = _label_input(num_labels)
    x = x_in if y is None or conditioning != "concat" else LabelChannels(name="label_channels")([x_in, y])
    for i in range(n):
        conv = layers.Conv2D(
            width * 2**i,
            4,
            strides=2,
            padding="same",
            kernel_initializer=_initializer(activation, _seed(seed, i)),
            name=f"down_{i}",
        )
        x = _weighted(conv, norm)(x)
        norm_layer = _norm_layer(norm, f"norm_{i}") if i > 0 else None
        if norm_layer is not None:
            x = norm_layer(x)
        x = _activation_layer(activation, f"act_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    score = layers.Dense(1, kernel_initializer=_initializer("relu", _seed(seed, n)), dtype="float32", name="score")
    return _labelled_model(x_in, y, x, _weighted(score, norm)(x), conditioning, norm, _seed(seed, n + 1), name)


def _labelled_model(
    x_in: keras.KerasTensor,
    y: keras.KerasTensor | None,
    features: keras.KerasTensor,
    score: keras.KerasTensor,
    conditioning: str,
    norm: str,
    seed: int | None,
    name: str,
) -> keras.Model:
    """The model from its input, last features and linear output, with its labels' input, term or head.

    ``concat`` (the labels already entered at the input): ``[x, y] -> output``;
    ``projection``: ``[x, y] -> output + <y V, features>``; ``ac``: ``x -> [output, class logits]``.
    """
    if y is None:
        return keras.Model(x_in, score, name=name)
    if conditioning == "concat":
        return keras.Model([x_in, y], score, name=name)
    init = keras.initializers.RandomNormal(stddev=_DCGAN_INIT_STDDEV, seed=seed)
    if conditioning == "projection":
        embed = layers.Dense(features.shape[-1], use_bias=False, kernel_initializer=init, dtype="float32", name="embed")
        label_term = ProjectionScore(_weighted(embed, norm), dtype="float32", name="projection")([features, y])
        total = layers.Add(dtype="float32", name="score_plus_projection")([score, label_term])
        return keras.Model([x_in, y], total, name=name)
    head = layers.Dense(y.shape[-1], kernel_initializer=init, dtype="float32", name="classifier")
    return keras.Model(x_in, [score, _weighted(head, norm)(features)], name=name)


def _mlp(
    in_dim: int,
    out_dim: int,
    width: int,
    depth: int,
    activation: str,
    norm: str,
    seed: int | None,
    name: str,
    labels: keras.KerasTensor | None = None,
    conditioning: str = "concat",
) -> keras.Model:
    """The MLP; with ``labels``, conditioned by ``conditioning`` (``concat`` at the input, or a critic's
    ``projection`` or ``ac`` head on the last hidden layer)."""
    positive_int("width", width)
    positive_int("depth", depth)
    activation = _check_choice("activation", activation, ACTIVATIONS)
    norm = _check_choice("norm", norm, NORMS)
    x_in = keras.Input((in_dim,), name="input")
    x = (
        x_in
        if labels is None or conditioning != "concat"
        else layers.Concatenate(name="input_and_labels")([x_in, labels])
    )
    for i in range(depth):
        init = (keras.initializers.LecunNormal if activation == "selu" else keras.initializers.GlorotUniform)(
            seed=_seed(seed, i)
        )
        x = _weighted(layers.Dense(width, kernel_initializer=init, name=f"dense_{i}"), norm)(x)
        if norm == "batch":
            x = layers.BatchNormalization(name=f"norm_{i}")(x)
        elif norm in ("layer", "instance"):
            x = layers.LayerNormalization(name=f"norm_{i}")(x)
        x = _activation_layer(activation, f"act_{i}")(x)
    output = layers.Dense(
        out_dim,
        kernel_initializer=keras.initializers.GlorotUniform(seed=_seed(seed, depth)),
        dtype="float32",
        name="output",
    )
    out = _weighted(output, norm)(x)
    return _labelled_model(x_in, labels, x, out, conditioning, norm, _seed(seed, depth + 1), name)


def build_mlp_generator(
    latent_dim: int = 2,
    out_dim: int = 2,
    *,
    width: int = 512,
    depth: int = 3,
    activation: str = "relu",
    norm: str = "none",
    seed: int | None = None,
    num_labels: int | None = None,
    name: str = "generator",
) -> keras.Model:
    """Fully connected generator for low-dimensional data (the WGAN-GP toys).

    Args:
        latent_dim: size of ``z`` (the toy script uses 2).
        out_dim: dimension of a sample (2 for the toys).
        width: units per hidden layer (512).
        depth: number of hidden layers (3).
        activation: ``relu`` (default), ``leaky_relu`` or ``selu``.
        norm: ``none`` (default), ``batch``, ``layer``; ``instance`` means
            ``layer`` for vectors.
        seed: seed of the weight initializers.
        num_labels: None (unconditional), or the size of the label vector: the
            model then takes ``[z, y]`` and concatenates them.
        name: model name.

    Returns:
        A functional ``keras.Model`` from ``(latent_dim,)`` (and ``(num_labels,)``) to ``(out_dim,)``.

    Example:
    >>> build_mlp_generator(latent_dim=2, width=32, depth=2).output_shape
    (None, 2)
    """
    positive_int("latent_dim", latent_dim)
    positive_int("out_dim", out_dim)
    return _mlp(latent_dim, out_dim, width, depth, activation, norm, seed, name, _label_input(num_labels))


def build_mlp_critic(
    in_dim: int = 2,
    *,
    width: int = 512,
    depth: int = 3,
    activation: str = "relu",
    norm: str = "none",
    seed: int | None = None,
    num_labels: int | None = None,
    conditioning: str = "projection",
    name: str = "critic",
) -> keras.Model:
    """Fully connected critic for low-dimensional data (the WGAN-GP toys).

    Args:
        in_dim: dimension of a sample (2 for the toys).
        width: units per hidden layer (512).
        depth: number of hidden layers (3; deeper critics show the gradient
            behaviour of weight clipping vs. the penalty).
        activation: ``relu`` (default), ``leaky_relu`` or ``selu``.
        norm: ``none`` (default), ``batch``, ``layer`` or ``spectral`` (every dense layer spectrally normalized).
        seed: seed of the weight initializers.
        num_labels: None (unconditional), or the size of the label vector.
        conditioning: with labels, ``projection``, ``concat`` or ``ac``, as in ``build_critic``.
        name: model name.

    Returns:
        A functional ``keras.Model`` from ``(in_dim,)`` to ``(1,)``.

    Example:
    >>> build_mlp_critic(width=32, depth=2).output_shape
    (None, 1)
    """
    positive_int("in_dim", in_dim)
    conditioning = _check_choice("conditioning", conditioning, CRITIC_CONDITIONINGS)
    return _mlp(in_dim, 1, width, depth, activation, norm, seed, name, _label_input(num_labels), conditioning)
