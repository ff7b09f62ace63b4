"""Keras callbacks for watching a GAN train, and the callbacks of a training run.

Every callback writes only inside the folder it is given, is safe to use with
``model.fit`` in user code, and is resume-aware: step numbers come from the
model's generator-step counter (restored on resume), frames are named by step,
and tables are rewritten by key, so a resumed run neither loses nor duplicates
anything. One module per callback family:

- ``samples``: ``SampleGrid``, fixed-noise sample grids (PNG) and ``progress.gif``.
- ``ema``: ``GeneratorEMA``, an exponential moving average of the generator.
- ``curves``: ``LossCurves``, ``history.csv`` and ``losses.png``.
- ``gradient_norms``: ``GradientNorms``, per-layer L2 norms of the critic-loss gradient.
- ``landscape``: ``CriticLandscape``, the critic over the plane for 2D data.
- ``tensorboard``: ``GANTensorBoard``, scalars, sample grids, weight histograms.
- ``run``: ``RunCheckpoint``, ``StopOnNonFinite``, ``StopAtStep``, ``EpochSummary``
  (what ``train.py`` adds around them).
"""

from keras_wgan.callbacks.curves import LossCurves, read_history
from keras_wgan.callbacks.ema import GeneratorEMA, recompute_batch_norm_statistics
from keras_wgan.callbacks.gradient_norms import GradientNorms, critic_layer_gradient_norms, make_gradient_norm_fn
from keras_wgan.callbacks.landscape import CriticLandscape
from keras_wgan.callbacks.run import (
    Divergence,
    EpochSummary,
    InjectNaN,
    RunCheckpoint,
    StopAtStep,
    StopOnNonFinite,
    state_divergence,
)
from keras_wgan.callbacks.samples import SampleGrid
from keras_wgan.callbacks.tensorboard import GANTensorBoard, drop_events_after
from keras_wgan.schedule import generator_step

__all__ = [
    "CriticLandscape",
    "Divergence",
    "EpochSummary",
    "GANTensorBoard",
    "GeneratorEMA",
    "GradientNorms",
    "InjectNaN",
    "LossCurves",
    "RunCheckpoint",
    "SampleGrid",
    "StopAtStep",
    "StopOnNonFinite",
    "critic_layer_gradient_norms",
    "drop_events_after",
    "generator_step",
    "make_gradient_norm_fn",
    "read_history",
    "recompute_batch_norm_statistics",
    "state_divergence",
]
