"""Pictures: the grid layout by hand, PNG and GIF files read back."""

import numpy as np
import pytest
from PIL import Image

from keras_wgan.pictures import image_grid, label_frame, read_png, smooth_curve, write_gif, write_png


def test_image_grid_layout_by_hand():
    images = np.stack([np.full((2, 3, 1), v) for v in (-1.0, 1.0, 0.0, 1.0)])
    grid = image_grid(images, 2, 2, padding=1, pad_value=-1.0)
    assert grid.shape == (2 * 2 + 3, 2 * 3 + 3, 1) and grid.dtype == np.uint8
    assert grid[1, 1, 0] == 0 and grid[1, 5, 0] == 255 and grid[4, 1, 0] == 128 and grid[0, 0, 0] == 0


def test_png_and_gif_read_back(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4, 1) * 20
    write_png(gray, tmp_path / "g.png")
    np.testing.assert_array_equal(read_png(tmp_path / "g.png"), gray[..., 0])
    frames = [label_frame(np.full((20, 30, 1), v, np.uint8), "x") for v in (0, 255)]
    assert frames[0].shape == (20, 30, 3)  # gray becomes RGB, with the label drawn
    assert write_gif(frames, tmp_path / "a.gif") == 2 and write_gif([], tmp_path / "none.gif") == 0
    gif = Image.open(tmp_path / "a.gif")
    assert gif.n_frames == 2 and gif.info.get("loop") == 0 and not (tmp_path / "none.gif").exists()


def test_the_smoothed_curve_does_not_lag():
    # What a causal moving average gets wrong (the quickstart's losses.png drew the smoothed g_loss peak
    # about 600 steps late at a third of its height): a centred smoother keeps peaks and steps in place.
    x = np.arange(300.0)
    noise = np.random.default_rng(0).normal(0.0, 0.05, x.size)
    peak = np.exp(-0.5 * ((x - 120.0) / 12.0) ** 2)
    smoothed = smooth_curve(peak + noise, width=0.1)
    assert abs(int(np.argmax(smoothed)) - 120) <= 2 and smoothed.max() > 0.85
    step = (x >= 150).astype(float)
    crossing = np.flatnonzero(smooth_curve(step, width=0.1) >= 0.5)[0]
    assert crossing == 150  # 149.5 is where the step lies between the samples
    line = 3.0 - 0.02 * x  # a trend is drawn where it is, the ends included
    np.testing.assert_allclose(smooth_curve(line, width=0.2), line, atol=1e-9)
    # An exponential moving average of the same peak (what the plot drew before) peaks late and low.
    ema, acc = [], None
    for value in peak:
        acc = value if acc is None else 0.95 * acc + 0.05 * value
        ema.append(acc)
    assert int(np.argmax(ema)) - 120 > 10 and max(ema) < 0.7


def test_the_smoothed_curve_skips_nan_and_keeps_short_curves():
    y = np.array([1.0, np.nan, 3.0, 4.0, 5.0, 6.0, 7.0])
    out = smooth_curve(y, width=0.5)
    assert np.isfinite(out).all() and out[1] == pytest.approx(2.0)  # the line through its neighbours
    np.testing.assert_array_equal(smooth_curve([1.0, 5.0], width=0.5), [1.0, 5.0])
    np.testing.assert_array_equal(smooth_curve(y, width=0.0), y)
    assert np.isnan(smooth_curve([np.nan] * 5, width=0.5)).all()
