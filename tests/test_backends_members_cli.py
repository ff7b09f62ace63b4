"""The family's newer members (and the auxiliary-classifier critic) train from ``train.py`` on JAX.

The JAX half of ``test_family.py``'s and ``test_conditional.py``'s command-line tests, which
run each with every callback and a resume on TensorFlow. Marked ``backends``; a file of its
own so that the JAX session's two pytest-xdist workers share the backend tests evenly.
"""

import keras
import numpy as np
import pytest
from helpers import TOY_CLI, run_cli

import keras_wgan

pytestmark = pytest.mark.backends

BACKEND = keras.backend.backend()


@pytest.mark.parametrize("variant", ["sngan", "wgan_lp", "dragan", "r1", "wgan_div", "wgan_gp --conditional ac"])
def test_each_newer_member_trains_from_the_command_line_on_jax(variant, tmp_path):
    # The TensorFlow session runs each with every callback and a resume (test_family.py, test_conditional.py).
    if BACKEND != "jax":
        pytest.skip("the JAX half of test_family's command-line test")
    out = tmp_path / "run"
    name, *extra = variant.split()
    proc = run_cli("train.py", [*TOY_CLI, f"--out={out}", f"--variant={name}", "--steps=2", "--ema-decay=0.9", *extra])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "finished 2 generator steps" in proc.stdout
    gan = keras.saving.load_model(out / "gan.keras")
    assert type(gan).__name__ == keras_wgan.variants.get(name).model_class.__name__
    assert all(np.isfinite(np.asarray(w)).all() for w in gan.weights)
    if extra:
        assert gan.critic_classifies and "in the asked mode" in proc.stdout
        assert gan.generate(4, labels=2).shape == (4, 2)
