"""PNG plots: written whole, the requested size, and showing the given colours."""

import os

import numpy as np
import pytest
from PIL import Image

from bgan_tf import plots

RED, BLUE = (220, 20, 30), (10, 40, 200)


def _has_colour(image, colour):
  return bool(np.any(np.all(image == np.array(colour, dtype=np.uint8), axis=-1)))


def _leftovers(folder):
  return [name for name in os.listdir(folder) if name.startswith(".tmp-")]


def _two_blobs():
  rng = np.random.default_rng(0)
  return rng.standard_normal((300, 2)), rng.standard_normal((200, 2)) + 4.0


def test_scatter_writes_a_readable_png_of_the_requested_size(tmp_path):
  real, fake = _two_blobs()
  path = tmp_path / "new_folder" / "samples.png"
  image = plots.scatter_png([(real, RED, "real"), (fake, BLUE, "fake")], path=str(path), size=(320, 240),
                            title="samples")
  assert image.shape == (240, 320, 3) and image.dtype == np.uint8
  with Image.open(path) as png:
    assert png.format == "PNG" and png.size == (320, 240) and png.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(png), image)
  assert _has_colour(image, RED) and _has_colour(image, BLUE)
  assert image[0, 0].tolist() == [255, 255, 255]  # White background.
  assert not _leftovers(path.parent)


def test_scatter_places_dots_by_their_coordinates():
  # Without a legend the only blue pixels are the dots: one point at the
  # lower left of the bounds, one at the upper right.
  points = np.array([[0.1, 0.1], [0.9, 0.9]])
  image = plots.scatter_png([(points, BLUE, None)], size=(200, 200), bounds=(0, 1, 0, 1))
  rows, cols = np.nonzero(np.all(image == BLUE, axis=-1))
  assert len(rows) == 18  # Two 3x3 dots.
  lower_left = cols < 100
  assert np.all(rows[lower_left] > 100) and np.all(rows[~lower_left] < 100)


def test_scatter_leaves_out_points_beyond_the_bounds():
  points = np.array([[5.0, 5.0], [-3.0, 0.5]])
  image = plots.scatter_png([(points, RED, None)], size=(128, 128), bounds=(0, 1, 0, 1))
  assert not _has_colour(image, RED)


def test_scatter_without_path_or_points_returns_an_image(tmp_path):
  image = plots.scatter_png([(np.zeros((0, 2)), RED, "empty")], size=(100, 80))
  assert image.shape == (80, 100, 3)
  assert _has_colour(image, RED)  # The legend swatch.
  assert not os.listdir(tmp_path)


@pytest.mark.parametrize("bad", [
    dict(point_sets=[(np.zeros((3, 3)), RED, None)]),
    dict(point_sets=[(np.zeros((3, 2)), (300, 0, 0), None)]),
    dict(point_sets=[(np.zeros((3, 2)), RED, None)], bounds=(1, 0, 0, 1)),
])
def test_scatter_rejects_bad_input(bad):
  with pytest.raises(ValueError):
    plots.scatter_png(**bad)


def test_line_plot_writes_curves_and_legend(tmp_path):
  steps = np.arange(0, 5000, 100)
  js = np.exp(-steps / 1000.0) * np.log(2.0)
  baseline = np.full(steps.shape, 0.3)
  baseline[10] = np.nan  # A gap, not an error.
  path = tmp_path / "js.png"
  image = plots.line_plot_png({"bgan": (steps, js, RED), "gan": (steps, baseline, BLUE)}, path=str(path),
                              title="JS divergence", y_label="JS (nats)", x_label="step")
  assert image.shape == (400, 640, 3)
  with Image.open(path) as png:
    assert png.size == (640, 400)
    np.testing.assert_array_equal(np.asarray(png.convert("RGB")), image)
  assert _has_colour(image, RED) and _has_colour(image, BLUE)
  assert not _leftovers(tmp_path)


def test_line_plot_handles_a_constant_single_point_series():
  image = plots.line_plot_png({"one": ([3.0], [0.5], BLUE)}, size=(200, 150))
  assert image.shape == (150, 200, 3)
  assert _has_colour(image, BLUE)


def test_line_plot_rejects_mismatched_lengths():
  with pytest.raises(ValueError, match="lengths"):
    plots.line_plot_png({"bad": (np.arange(3), np.arange(4), RED)})


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
  path = tmp_path / "plot.png"
  plots.scatter_png([(np.zeros((1, 2)), RED, None)], path=str(path))
  before = path.read_bytes()

  def fail(*args):
    raise OSError("disk full")

  monkeypatch.setattr(plots.os, "replace", fail)
  with pytest.raises(OSError, match="disk full"):
    plots.scatter_png([(np.ones((5, 2)), BLUE, "new")], path=str(path))
  assert path.read_bytes() == before
  assert not _leftovers(tmp_path)
