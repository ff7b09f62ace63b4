"""The dataset registry: every spec agrees with the data it names."""

import numpy as np
import pytest

from keras_wgan import data
from keras_wgan.config import ConfigError, TrainConfig
from keras_wgan.data import registry


def test_digits_spec_matches_the_bundled_digits():
    spec = registry.get("digits")
    images, _ = data.digits_images(spec.image_size, spec.channels)
    assert images.shape == (spec.num_examples, 32, 32, 1)
    assert data.dataset_size("digits") == 1797 == spec.eval_samples


@pytest.mark.parametrize("name", registry.TOY_DATASETS)
def test_toy_specs(name):
    spec = registry.get(name)
    assert spec.is_toy and registry.is_toy(name) and data.dataset_size(name) is None
    assert spec.metrics == spec.applicable_metrics == ("toy", "prdc") and spec.features == "points"
    points = next(iter(data.make_dataset(name, spec.batch_size, seed=0))).numpy()
    assert points.shape == (256, 2)
    if spec.toy.centres is not None:  # every point within 5 std of a centre
        d = np.sqrt(((points[:, None] - spec.toy.centres[None]) ** 2).sum(-1)).min(axis=1)
        assert d.max() < 5 * spec.toy.std


def test_folder_names_and_errors():
    assert registry.get("folder:/data/x").kind == "folder" and registry.folder_path("folder:/data/x") == "/data/x"
    assert registry.folder_path("digits") is None
    with pytest.raises(registry.DatasetError, match="needs a path"):
        registry.get("folder:")
    for bad in ("folder", "cifar10"):
        with pytest.raises(registry.DatasetError, match=f"unknown dataset '{bad}'; choose celeb_a, folder:PATH"):
            registry.get(bad)


def test_the_config_takes_its_defaults_from_the_spec():
    for name in ("digits", "25gaussians", "celeb_a", "mnist", "stacked_mnist"):
        spec = registry.get(name)
        c = TrainConfig(dataset=name).resolve()
        assert (c.image_size, c.channels, c.batch_size, c.latent_dim, c.width) == (
            spec.image_size,
            spec.channels,
            spec.batch_size,
            spec.latent_dim,
            spec.width,
        )
    with pytest.raises(ConfigError, match="unknown dataset 'cifar10'"):
        TrainConfig(dataset="cifar10").resolve()
