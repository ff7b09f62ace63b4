"""``LossCurves``: the losses per epoch and at step resolution, ``losses.png``; ``read_history``."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import keras
import numpy as np

from keras_wgan.io_utils import atomic_write_bytes
from keras_wgan.pictures import new_figure, save_figure, smooth_curve
from keras_wgan.schedule import StepTrigger, check_every, generator_step


def _scalars(logs: dict | None) -> dict[str, float]:
    """The logged values with one number each (multi-worker logs are 1-element vectors)."""
    return {k: float(np.ravel(v)[0]) for k, v in (logs or {}).items() if np.size(v) == 1}


class LossCurves(keras.callbacks.Callback):
    """The losses over training: ``history.csv`` per epoch, a step-resolution CSV, and ``losses.png``.

    Every ``every_n_steps`` generator steps (and at each epoch end) the mean of
    each metric over the steps since the previous point goes to
    ``steps_csv_path`` (``step`` then one column per metric): the losses at step
    resolution, not only one point per epoch. ``losses.png`` has two panels,
    drawn from the step rows when there are any (from the epoch rows
    otherwise): the critic loss ``d_loss`` and the generator loss ``g_loss``,
    and the critic's Wasserstein estimate ``w_dist`` with ``gp`` where present;
    each as a faint raw line and a zero-phase smoothing of it
    (``keras_wgan.pictures.smooth_curve``: centred, so the smoothed line runs
    through the raw one instead of lagging behind it). The files are
    rewritten atomically, so they can be read while the run is in progress.
    Rows are keyed by epoch and by step: a resumed run replaces the rows from
    its first epoch (step) on and keeps the earlier ones.

    Args:
        csv_path: the per-epoch CSV (e.g. ``runs/NAME/history.csv``).
        plot_path: the PNG file (e.g. ``runs/NAME/plots/losses.png``); None: no plot.
        smoothing: the smoothing window as a fraction of the points drawn, in [0, 1) (0: none).
        every_n_steps: interval of the step rows in generator steps (None: none).
        steps_csv_path: their CSV (default: ``history_steps.csv`` beside ``csv_path``).

    Example:
    >>> curves = LossCurves("runs/demo/history.csv", "runs/demo/losses.png", every_n_steps=25)
    >>> # model.fit(ds, epochs=8, steps_per_epoch=250, callbacks=[curves])
    """

    def __init__(
        self,
        csv_path: str | os.PathLike,
        plot_path: str | os.PathLike | None = None,
        smoothing: float = 0.1,
        every_n_steps: int | None = None,
        steps_csv_path: str | os.PathLike | None = None,
    ):
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"`smoothing` must be in [0, 1). Received: smoothing={smoothing!r}")
        self.csv_path = Path(csv_path)
        self.plot_path = None if plot_path is None else Path(plot_path)
        self.smoothing = smoothing
        self.every_n_steps = check_every("every_n_steps", every_n_steps)
        self.steps_csv_path = (
            Path(steps_csv_path) if steps_csv_path is not None else self.csv_path.with_name("history_steps.csv")
        )
        self._trigger = StepTrigger(self.every_n_steps)
        self.rows: dict[int, dict[str, float]] = {}
        self.step_rows: dict[int, dict[str, float]] = {}
        self._mark: tuple[int, dict[str, float]] = (0, {})  # batches of this epoch in rows, their means
        self._last: tuple[int, dict | None] | None = None  # batches of this epoch so far, their logs

    def on_train_begin(self, logs=None):
        self.rows = read_history(self.csv_path)
        step = generator_step(self.model)
        self.step_rows = {s: r for s, r in read_history(self.steps_csv_path, key="step").items() if s <= step}
        self._trigger.reset(step)

    def on_epoch_begin(self, epoch, logs=None):
        # A resumed run restarts at `epoch`: rows from there on are recomputed.
        self.rows = {e: r for e, r in self.rows.items() if e < epoch + 1}
        self._mark = (0, {})
        self._last = None

    def _add_step_row(self, batches: int, logs: dict | None) -> None:
        """The means over the batches since the last row, from the epoch's running means."""
        means = _scalars(logs)
        done, previous = self._mark
        if batches <= done or not means:
            return
        row = {k: (v * batches - previous.get(k, 0.0) * done) / (batches - done) for k, v in means.items()}
        self.step_rows[generator_step(self.model)] = row
        self._mark = (batches, means)

    def on_train_batch_end(self, batch, logs=None):
        self._last = (batch + 1, logs)
        if self._trigger(generator_step(self.model)):
            self._add_step_row(batch + 1, logs)
            self._write_csv(self.steps_csv_path, self.step_rows, "step")

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_steps is not None and self._last is not None:
            self._add_step_row(*self._last)  # the epoch's last steps since the previous row
            self._write_csv(self.steps_csv_path, self.step_rows, "step")
        row = _scalars(logs)
        row["step"] = float(generator_step(self.model))
        self.rows[epoch + 1] = row
        self._write_csv(self.csv_path, self.rows, "epoch")
        if self.plot_path is not None:
            self.plot()

    @staticmethod
    def _write_csv(path: Path, rows: dict[int, dict[str, float]], key: str) -> None:
        keys = sorted({k for r in rows.values() for k in r} - {"step"})
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow([key, *(["step"] if key == "epoch" else []), *keys])
        for index in sorted(rows):
            r = rows[index]
            first = [index, int(r.get("step", 0))] if key == "epoch" else [index]
            writer.writerow([*first, *[repr(r[k]) if k in r else "" for k in keys]])
        atomic_write_bytes(path, buf.getvalue().encode())

    def plot(self) -> None:
        """Draws ``losses.png`` from the step rows (or the epoch rows when there are none)."""
        by_step = bool(self.step_rows)
        rows = self.step_rows if by_step else self.rows
        xs = sorted(rows)
        if not xs:
            return
        series = {
            k: np.asarray([rows[x].get(k, np.nan) for x in xs], float) for k in ("d_loss", "g_loss", "w_dist", "gp")
        }
        from matplotlib.ticker import MaxNLocator

        fig, (ax1, ax2) = new_figure(11, 4, ncols=2)
        marker = "o" if len(xs) <= 30 else None
        for ax in (ax1, ax2):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("generator step" if by_step else "epoch")
            ax.grid(alpha=0.3)
        for key, label, color in (
            ("d_loss", "critic / discriminator (d_loss)", "tab:red"),
            ("g_loss", "generator (g_loss)", "tab:blue"),
        ):
            ax1.plot(xs, series[key], color=color, alpha=0.3)
            ax1.plot(xs, smooth_curve(series[key], self.smoothing), color=color, label=label, marker=marker)
        ax1.set_title("Losses" + (" (faint: every point; solid: smoothed)" if by_step else ""))
        ax1.legend()
        ax2.plot(xs, series["w_dist"], color="tab:green", alpha=0.35, label="w_dist")
        ax2.plot(
            xs,
            smooth_curve(series["w_dist"], self.smoothing),
            color="tab:green",
            label="w_dist (smoothed)",
            marker=marker,
        )
        ax2.set_title("Critic's Wasserstein estimate")
        if np.isfinite(series["gp"]).any():
            ax3 = ax2.twinx()
            ax3.plot(xs, series["gp"], color="tab:purple", alpha=0.3)
            ax3.plot(xs, smooth_curve(series["gp"], self.smoothing), color="tab:purple", label="gp (right axis)")
            ax3.set_ylabel("gp")
            ax3.legend(loc="lower right")
        ax2.legend(loc="upper right")
        fig.tight_layout()
        save_figure(fig, self.plot_path)


def read_history(path: str | os.PathLike, key: str = "epoch") -> dict[int, dict[str, float]]:
    """Reads a CSV written by ``LossCurves`` into ``{epoch: {metric: value}}`` (``key="step"``: the step rows)."""
    path = Path(path)
    if not path.is_file():
        return {}
    rows = {}
    with path.open(newline="") as f:
        for record in csv.DictReader(f):
            index = int(record.pop(key))
            rows[index] = {k: float(v) for k, v in record.items() if v not in ("", None)}
    return rows
