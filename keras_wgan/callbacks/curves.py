"""``LossCurves``: per-epoch metrics in ``history.csv`` and ``losses.png``; ``read_history``."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import keras
import numpy as np

from keras_wgan.io_utils import atomic_write_bytes
from keras_wgan.pictures import new_figure, save_figure
from keras_wgan.schedule import generator_step


class LossCurves(keras.callbacks.Callback):
    """Per-epoch metrics in ``history.csv`` and ``losses.png``.

    ``losses.png`` has two panels: the critic loss ``d_loss`` and the
    generator loss ``g_loss`` together, and ``w_dist`` (raw and smoothed by an
    exponential moving average) with ``gp`` where present. Both files are
    rewritten atomically at each epoch end, so they can be read while the run
    is in progress. Rows are keyed by epoch: a resumed run replaces the rows
    from its first epoch on and keeps the earlier ones.

    Args:
        csv_path: the CSV file (e.g. ``runs/NAME/history.csv``).
        plot_path: the PNG file (e.g. ``runs/NAME/plots/losses.png``); None: no plot.
        smoothing: EMA factor in [0, 1) for the smoothed ``w_dist`` line.
    """

    def __init__(self, csv_path: str | os.PathLike, plot_path: str | os.PathLike | None = None, smoothing: float = 0.6):
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"`smoothing` must be in [0, 1). Received: smoothing={smoothing!r}")
        self.csv_path = Path(csv_path)
        self.plot_path = None if plot_path is None else Path(plot_path)
        self.smoothing = smoothing
        self.rows: dict[int, dict[str, float]] = {}

    def on_train_begin(self, logs=None):
        self.rows = read_history(self.csv_path)

    def on_epoch_begin(self, epoch, logs=None):
        # A resumed run restarts at `epoch`: rows from there on are recomputed.
        self.rows = {e: r for e, r in self.rows.items() if e < epoch + 1}

    def on_epoch_end(self, epoch, logs=None):
        row = {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}
        row["step"] = float(generator_step(self.model))
        self.rows[epoch + 1] = row
        self._write_csv()
        if self.plot_path is not None:
            self.plot()

    def _write_csv(self) -> None:
        keys = sorted({k for r in self.rows.values() for k in r} - {"step"})
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["epoch", "step", *keys])
        for epoch in sorted(self.rows):
            r = self.rows[epoch]
            writer.writerow([epoch, int(r.get("step", 0)), *[repr(r[k]) if k in r else "" for k in keys]])
        atomic_write_bytes(self.csv_path, buf.getvalue().encode())

    def plot(self) -> None:
        """Draws ``losses.png`` from the rows so far."""
        epochs = sorted(self.rows)
        if not epochs:
            return
        series = {k: [self.rows[e].get(k, np.nan) for e in epochs] for k in ("d_loss", "g_loss", "w_dist", "gp")}
        from matplotlib.ticker import MaxNLocator

        fig, (ax1, ax2) = new_figure(11, 4, ncols=2)
        marker = "o" if len(epochs) <= 30 else None
        for ax in (ax1, ax2):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax1.plot(epochs, series["d_loss"], label="critic / discriminator (d_loss)", color="tab:red", marker=marker)
        ax1.plot(epochs, series["g_loss"], label="generator (g_loss)", color="tab:blue", marker=marker)
        ax1.set_xlabel("epoch")
        ax1.set_title("Losses")
        ax1.legend()
        ax1.grid(alpha=0.3)
        w = np.asarray(series["w_dist"], dtype=float)
        ax2.plot(epochs, w, color="tab:green", alpha=0.35, label="w_dist")
        smooth, acc = [], None
        for value in w:
            acc = value if acc is None or not np.isfinite(acc) else self.smoothing * acc + (1 - self.smoothing) * value
            smooth.append(acc)
        ax2.plot(epochs, smooth, color="tab:green", label="w_dist (smoothed)", marker=marker)
        ax2.set_xlabel("epoch")
        ax2.set_title("Critic's Wasserstein estimate")
        if np.isfinite(np.asarray(series["gp"], dtype=float)).any():
            ax3 = ax2.twinx()
            ax3.plot(epochs, series["gp"], color="tab:purple", label="gp (right axis)")
            ax3.set_ylabel("gp")
            ax3.legend(loc="lower right")
        ax2.legend(loc="upper right")
        ax2.grid(alpha=0.3)
        fig.tight_layout()
        save_figure(fig, self.plot_path)


def read_history(path: str | os.PathLike) -> dict[int, dict[str, float]]:
    """Reads a ``history.csv`` written by ``LossCurves`` into ``{epoch: {metric: value}}``."""
    path = Path(path)
    if not path.is_file():
        return {}
    rows = {}
    with path.open(newline="") as f:
        for record in csv.DictReader(f):
            epoch = int(record.pop("epoch"))
            rows[epoch] = {k: float(v) for k, v in record.items() if v not in ("", None)}
    return rows
