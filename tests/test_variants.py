"""The registry holds the papers' defaults (the variants table of the README)."""

import keras
import pytest

import keras_wgan
from keras_wgan import variants


def test_names():
    assert variants.names() == [
        "dcgan", "rsgan", "ragan", "wgan", "wgan_gp", "sngan", "wgan_lp", "dragan", "r1", "wgan_div",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "cls", "opt", "lr", "b1", "b2", "n_critic", "norm"),
    [
        ("dcgan", keras_wgan.DCGAN, "adam", 2e-4, 0.5, 0.999, 1, "batch"),
        ("rsgan", keras_wgan.RSGAN, "adam", 2e-4, 0.5, 0.999, 1, "batch"),
        ("ragan", keras_wgan.RaGAN, "adam", 2e-4, 0.5, 0.999, 1, "batch"),
        ("wgan", keras_wgan.WGAN, "rmsprop", 5e-5, None, None, 5, "batch"),
        ("wgan_gp", keras_wgan.WGANGP, "adam", 1e-4, 0.0, 0.9, 5, "layer"),
        ("sngan", keras_wgan.SNGAN, "adam", 2e-4, 0.0, 0.9, 5, "spectral"),
        ("wgan_lp", keras_wgan.WGANLP, "adam", 1e-4, 0.0, 0.9, 5, "layer"),
        ("dragan", keras_wgan.DRAGAN, "adam", 1e-4, 0.5, 0.9, 1, "layer"),
        ("r1", keras_wgan.R1GAN, "rmsprop", 1e-4, None, None, 1, "none"),
        ("wgan_div", keras_wgan.WGANDiv, "adam", 2e-4, 0.5, 0.999, 5, "layer"),
    ],
)
def test_paper_defaults(name, cls, opt, lr, b1, b2, n_critic, norm):
    v = variants.get(name)
    assert v.model_class is cls
    assert (v.optimizer, v.learning_rate, v.n_critic, v.critic_norm) == (opt, lr, n_critic, norm)
    o = v.make_optimizer()
    assert float(o.learning_rate) == pytest.approx(lr)
    if opt == "adam":
        assert isinstance(o, keras.optimizers.Adam) and (o.beta_1, o.beta_2) == (b1, b2)
    else:
        assert isinstance(o, keras.optimizers.RMSprop)


def test_variant_specific_defaults():
    assert variants.get("wgan").clip_value == 0.01 and variants.get("wgan").gp_weight is None
    assert variants.get("wgan_gp").gp_weight == 10.0 and variants.get("wgan_gp").clip_value is None
    assert variants.get("dcgan").defaults["n_critic"] == 1


def test_overrides(tiny_mlp_pair):
    v = variants.get("wgan_gp")
    model = v.build_model(*tiny_mlp_pair(), gp_weight=1.0, n_critic=2)
    assert isinstance(model, keras_wgan.WGANGP) and model.gp_weight == 1.0 and model.n_critic == 2
    assert isinstance(v.make_optimizer("adamw", learning_rate=1e-3), keras.optimizers.AdamW)
    with pytest.raises(ValueError, match="optimizer"):
        v.make_optimizer("sgd")


def test_unknown_variant_lists_the_known_ones():
    with pytest.raises(ValueError, match="wgan_gp"):
        variants.get("lsgan")


def test_compile_without_optimizers_uses_paper_defaults(tiny_mlp_pair):
    model = keras_wgan.WGAN(*tiny_mlp_pair())
    model.compile()
    assert isinstance(model.d_optimizer, keras.optimizers.RMSprop)
    assert float(model.d_optimizer.learning_rate) == pytest.approx(5e-5)
    assert model.g_optimizer is not model.d_optimizer


def test_toy_defaults_follow_the_authors_toy_script():
    from keras_wgan.config import TrainConfig

    toy = variants.get("wgan_gp").paper_defaults.for_toys()
    assert (toy.gp_weight, toy.learning_rate, toy.beta_1, toy.beta_2, toy.n_critic) == (0.1, 1e-4, 0.5, 0.9, 5)
    assert variants.get("wgan").paper_defaults.for_toys() == variants.get("wgan").paper_defaults
    c = TrainConfig(variant="wgan_gp", dataset="8gaussians").resolve()
    assert (c.gp_weight, c.g_lr, c.beta_1, c.beta_2, c.width, c.batch_size) == (0.1, 1e-4, 0.5, 0.9, 512, 256)
    images = TrainConfig(variant="wgan_gp", dataset="digits").resolve()
    assert (images.gp_weight, images.beta_1) == (10.0, 0.0)  # the paper's, off the toys
    # DRAGAN and WGAN-LP take the toy script's lambda on the toys, their papers' 10 on images.
    for name in ("dragan", "wgan_lp"):
        assert TrainConfig(variant=name, dataset="8gaussians").resolve().gp_weight == 0.1, name
        assert TrainConfig(variant=name, dataset="digits").resolve().gp_weight == 10.0, name
    assert TrainConfig(variant="dragan", dataset="swissroll", gp_weight=10.0).resolve().gp_weight == 10.0


def test_the_fast_recipe_fills_only_what_is_left_open():
    from keras_wgan.config import ConfigError, TrainConfig

    c = TrainConfig(variant="wgan_gp", dataset="25gaussians", recipe="fast").resolve()
    assert (c.width, c.g_lr, c.d_lr, c.ema_decay, c.gp_weight, c.recipe) == (64, 1e-3, 1e-3, 0.999, 0.1, "fast")
    mine = TrainConfig(variant="wgan_gp", dataset="25gaussians", recipe="fast", width=32, g_lr=2e-4).resolve()
    assert (mine.width, mine.g_lr, mine.d_lr) == (32, 2e-4, 1e-4)  # given values win; the rest: the paper's
    clip = TrainConfig(variant="wgan", dataset="25gaussians", recipe="fast").resolve()
    assert (clip.optimizer, clip.g_lr) == ("rmsprop", 5e-5)  # the Adam rate is for Adam variants only
    with pytest.raises(ConfigError, match="the fast recipe is for the 2D toys"):
        TrainConfig(dataset="digits", recipe="fast").resolve()
    with pytest.raises(ConfigError, match="unknown recipe 'slow'; choose one of fast"):
        TrainConfig(dataset="25gaussians", recipe="slow").resolve()
