"""Pictures: the grid layout by hand, PNG and GIF files read back."""

import numpy as np
from PIL import Image

from keras_wgan.pictures import image_grid, label_frame, read_png, write_gif, write_png


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
