"""Shared test setup: quiet TensorFlow, one cache folder per pytest run, tiny models, deterministic seeds."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

# One cache folder (the digits classifier, real-data statistics, folder scans) for the whole pytest
# run: set here, in the first process that loads this file, so that pytest-xdist's workers and every
# process a test starts inherit it; things made once are made once per run, and nothing is written
# to the user's ~/.cache. Removed when that first process exits.
if "KERAS_WGAN_CACHE" not in os.environ:
    os.environ["KERAS_WGAN_CACHE"] = tempfile.mkdtemp(prefix="keras_wgan_tests_cache_")
    atexit.register(shutil.rmtree, os.environ["KERAS_WGAN_CACHE"], True)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from keras_wgan import networks  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_everything():
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield


@pytest.fixture
def tiny_mlp_pair():
    """A small MLP generator/critic pair for 2D data."""

    def make(width=16, depth=2, latent_dim=2, seed=0, critic_norm="none"):
        g = networks.build_mlp_generator(latent_dim, width=width, depth=depth, seed=seed)
        c = networks.build_mlp_critic(width=width, depth=depth, norm=critic_norm, seed=seed + 100)
        return g, c

    return make


@pytest.fixture
def gaussian_points():
    rng = np.random.default_rng(0)
    return rng.normal(size=(640, 2)).astype("float32")
