"""Pictures for callbacks and evaluation: image grids, PNG and GIF files, matplotlib figures.

Every file is written atomically (``keras_wgan.io_utils``), so a picture read while a
run is in progress is always whole. Figures use matplotlib's object-oriented API with
the Agg canvas: no pyplot state and no display needed.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from keras_wgan.io_utils import atomic_write_bytes


def image_grid(images: np.ndarray, rows: int, cols: int, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """Tiles images in [-1, 1] into one uint8 grid with ``padding`` pixels between and around tiles.

    Args:
        images: ``(n, h, w, c)`` with ``n >= rows * cols``, values in [-1, 1].
        rows, cols: grid layout.
        padding: pixels between tiles and at the border.
        pad_value: padding value in [-1, 1] (1 is white).

    Returns:
        uint8 array ``(rows*h + (rows+1)*padding, cols*w + (cols+1)*padding, c)``.

    Example:
    >>> image_grid(np.zeros((64, 32, 32, 1)), 8, 8).shape
    (274, 274, 1)
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"image_grid expects (n, h, w, c) images. Received shape {images.shape}")
    n, h, w, c = images.shape
    if n < rows * cols:
        raise ValueError(f"Need {rows * cols} images for a {rows}x{cols} grid. Received {n}")
    grid = np.full((rows * h + (rows + 1) * padding, cols * w + (cols + 1) * padding, c), pad_value, dtype=np.float32)
    for k in range(rows * cols):
        r, q = divmod(k, cols)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[top : top + h, left : left + w] = images[k]
    return np.round((np.clip(grid, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def label_frame(frame: np.ndarray, text: str) -> np.ndarray:
    """Writes ``text`` in the top-left corner of a uint8 frame; returns it as RGB."""
    from PIL import Image, ImageDraw

    if frame.shape[-1] == 1:
        frame = np.repeat(frame, 3, axis=-1)
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    box = draw.textbbox((2, 1), text)
    draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
    draw.text((2, 1), text, fill=(255, 255, 255))
    return np.asarray(image)


def write_png(image: np.ndarray, path: str | Path) -> None:
    """Writes a uint8 ``(h, w, 1)`` or ``(h, w, 3)`` image as a PNG, atomically."""
    import imageio.v2 as imageio

    buf = io.BytesIO()
    imageio.imwrite(buf, image if image.shape[-1] == 3 else image[..., 0], format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def read_png(path: str | Path) -> np.ndarray:
    """Reads a PNG as a uint8 array."""
    import imageio.v2 as imageio

    return np.asarray(imageio.imread(path))


def write_gif(frames: Iterable[np.ndarray], path: str | Path, duration: float = 0.3) -> int:
    """Writes uint8 RGB frames as a looping GIF, atomically. Returns the frame count."""
    import imageio.v2 as imageio

    frames = list(frames)
    if not frames:
        return 0
    buf = io.BytesIO()
    imageio.mimsave(buf, frames, format="GIF", duration=duration, loop=0)
    atomic_write_bytes(path, buf.getvalue())
    return len(frames)


def new_figure(width: float, height: float, ncols: int = 1) -> tuple[Any, Any]:
    """A matplotlib ``Figure`` of ``width x height`` inches and its ``ncols`` axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols)
    return fig, axes


def save_figure(fig: Any, path: str | Path) -> None:
    """Writes a figure as a PNG (100 dpi), atomically."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write_bytes(path, buf.getvalue())


def figure_to_array(fig: Any, dpi: int = 100) -> np.ndarray:
    """A figure rendered as a uint8 RGB array ``(height, width, 3)`` (as ``save_figure`` would draw it)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def smooth_curve(values: Any, width: float = 0.1) -> np.ndarray:
    """A zero-phase smoothing of a curve: the smoothed line runs through the points, without lag.

    At each point, a straight line is fitted by weighted least squares to the
    finite points around it, with Gaussian weights of standard deviation
    ``sigma = max(1, width * n / 4)`` points (so the window, +-2 sigma, spans
    about ``width`` of the ``n`` points), and evaluated there. In the middle of
    the curve this is a centred Gaussian average; at the ends the fitted slope
    keeps a rising or falling curve from bending towards its inner points. A
    causal moving average (an exponential one, as TensorBoard's) lags instead:
    its line runs behind the data by about its span, and its peaks come late and
    low. NaN points are skipped (a point whose whole window is NaN stays NaN).

    Args:
        values: the curve's points, equally spaced.
        width: the window as a fraction of the points; 0 returns the points.

    Returns:
        A float array of the same length.

    Example:
    >>> smooth_curve(np.arange(10.0), width=0.5).round(6).tolist() == list(np.arange(10.0))
    True
    """
    y = np.asarray(values, dtype=float)
    if width <= 0 or y.size < 3:
        return y.copy()
    n = y.size
    sigma = max(1.0, width * n / 4.0)
    reach = int(np.ceil(3 * sigma))
    out = np.full(n, np.nan)
    for i in range(n):
        j = np.arange(max(0, i - reach), min(n, i + reach + 1))
        j = j[np.isfinite(y[j])]
        if j.size == 0:
            continue
        d = (j - i).astype(float)
        w = np.exp(-0.5 * (d / sigma) ** 2)
        s0, s1, s2 = w.sum(), (w * d).sum(), (w * d * d).sum()
        t0, t1 = (w * y[j]).sum(), (w * d * y[j]).sum()
        det = s0 * s2 - s1 * s1
        out[i] = (s2 * t0 - s1 * t1) / det if det > 1e-12 * s0 * s0 else t0 / s0
    return out


def colors(n: int) -> list:
    """``n`` colours spread over the viridis map (one per line of a plot)."""
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(i / max(1, n - 1)) for i in range(n)]
