"""``CriticLandscape``: the critic's value over the plane with real and generated points (2D data)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_wgan.labels import label_vectors
from keras_wgan.pictures import figure_to_array, new_figure, read_png, write_gif, write_png
from keras_wgan.schedule import StepTrigger, check_every, generator_step


class CriticLandscape(keras.callbacks.Callback):
    """Contour plot of the critic over the plane, with real and generated points (2D data).

    Every ``every_n_steps`` generator steps, writes ``critic_XXXXXXXX.png`` in
    ``out_dir`` (the critic's value on a grid over ``extent``, real points in
    orange, generated points in green, as in the WGAN-GP paper's toy figures)
    and reassembles ``critic.gif`` from all of them. A conditional critic that
    takes labels is drawn as its mean over the classes; the generated points are
    of every class in turn.

    Args:
        real_points: ``(n, 2)`` real samples to draw (a few hundred).
        out_dir: folder for the images (e.g. ``runs/NAME/plots``).
        every_n_steps: interval in generator steps.
        extent: ``(xmin, xmax, ymin, ymax)``; from the real points (with a
            margin) when None.
        resolution: grid points per axis.
        n_fake: generated points per picture.
        seed: seed of the generated points' latents (fixed across pictures).
        make_gif: keep ``critic.gif`` up to date.
    """

    def __init__(
        self,
        real_points: Any,
        out_dir: str | os.PathLike,
        every_n_steps: int = 1000,
        extent: tuple[float, float, float, float] | None = None,
        resolution: int = 96,
        n_fake: int = 512,
        seed: int = 0,
        make_gif: bool = True,
    ):
        super().__init__()
        real = np.asarray(real_points, dtype=np.float32)
        if real.ndim != 2 or real.shape[1] != 2:
            raise ValueError(
                f"CriticLandscape draws 2D data: real_points must have shape (n, 2). "
                f"Received shape {real.shape}; for images use SampleGrid."
            )
        self.real = real
        self.out_dir = Path(out_dir)
        self.every_n_steps = check_every("every_n_steps", every_n_steps, allow_none=False)
        self._trigger = StepTrigger(self.every_n_steps)
        if extent is None:
            lo, hi = real.min(axis=0), real.max(axis=0)
            margin = 0.25 * (hi - lo) + 0.1
            extent = (lo[0] - margin[0], hi[0] + margin[0], lo[1] - margin[1], hi[1] + margin[1])
        self.extent = tuple(float(e) for e in extent)
        self.resolution = check_every("resolution", resolution, allow_none=False)
        self.n_fake = n_fake
        self.seed = seed
        self.make_gif = make_gif
        self._z = None

    def on_train_begin(self, logs=None):
        shape = self.model.generator.output_shape
        if len(shape) != 2 or shape[-1] != 2:
            raise ValueError(
                f"CriticLandscape needs a generator of 2D points; this one outputs {shape}. Use SampleGrid for images."
            )
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._z = self._latents()
        self._trigger.reset(generator_step(self.model))
        if generator_step(self.model) == 0:
            self.draw()

    def _latents(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        return rng.standard_normal((self.n_fake, self.model.latent_dim)).astype(np.float32)

    def frame_path(self, step: int) -> Path:
        return self.out_dir / f"critic_{step:08d}.png"

    def render(self) -> np.ndarray:
        """The landscape at the current step as a uint8 RGB image (what ``draw`` writes;
        ``GANTensorBoard(image_fn=landscape.render)`` logs it)."""
        step = generator_step(self.model)
        x0, x1, y0, y1 = self.extent
        xs, ys = np.linspace(x0, x1, self.resolution), np.linspace(y0, y1, self.resolution)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
        values = self.critic_values(grid).reshape(self.resolution, self.resolution)
        if self._z is None:
            self._z = self._latents()
        fake = self.model.generate(self._z)
        fig, ax = new_figure(5.5, 5)
        contour = ax.contourf(xs, ys, values, levels=20, cmap="coolwarm")
        fig.colorbar(contour, ax=ax, label="critic value")
        ax.scatter(self.real[:, 0], self.real[:, 1], s=4, c="orange", label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=4, c="green", label="generated")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        mean = " (mean over the classes)" if getattr(self.model, "critic_takes_labels", False) else ""
        ax.set_title(f"critic landscape{mean}, generator step {step}")
        ax.legend(loc="upper right", fontsize="small")
        fig.tight_layout()
        return figure_to_array(fig)

    def critic_values(self, points: np.ndarray) -> np.ndarray:
        """The critic's scores of ``points``; for a critic that takes labels, the mean over the classes."""
        model = self.model
        if not getattr(model, "conditional", False):
            return np.asarray(model.critic(points, training=False))
        if not model.critic_takes_labels:  # an auxiliary classifier's score head ignores the labels
            return np.asarray(model.critic_outputs(points, None)[0])
        scores = [
            np.asarray(model.critic_outputs(points, label_vectors(k, len(points), model.num_labels, "classes"))[0])
            for k in range(model.num_labels)
        ]
        return np.mean(scores, axis=0)

    def draw(self) -> Path:
        """Draws the landscape at the current step; returns the PNG path."""
        path = self.frame_path(generator_step(self.model))
        write_png(self.render(), path)
        if self.make_gif:
            write_gif(
                [read_png(p)[..., :3] for p in sorted(self.out_dir.glob("critic_*.png"))],
                self.out_dir / "critic.gif",
                duration=0.4,
            )
        return path

    def on_train_batch_end(self, batch, logs=None):
        if self._trigger(generator_step(self.model)):
            self.draw()
