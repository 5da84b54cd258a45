"""TensorBoard summaries and image grids of generator samples."""

import math
from typing import Mapping

import numpy as np
import tensorflow as tf

__all__ = ["image_grid", "write_image_grids", "write_scalars"]


def image_grid(images, columns=None) -> np.ndarray:
  """Tiles images in [-1, 1] into one uint8 picture.

  Args:
    images: `[n, H, W, C]` array with values in [-1, 1].
    columns: images per row (default: a near-square grid).

  Returns:
    uint8 array `[rows * H, columns * W, C]`.
  """
  images = np.asarray(images)
  n, height, width, channels = images.shape
  columns = columns or int(math.ceil(math.sqrt(n)))
  rows = int(math.ceil(n / columns))
  grid = np.zeros((rows * height, columns * width, channels), np.uint8)
  pixels = np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
  for index in range(n):
    row, col = divmod(index, columns)
    grid[row * height:(row + 1) * height, col * width:(col + 1) * width] = pixels[index]
  return grid


def write_scalars(writer, step: int, scalars: Mapping[str, float]) -> None:
  """Writes each named value as a TensorBoard scalar at `step`."""
  with writer.as_default(step=step):
    for name, value in scalars.items():
      tf.summary.scalar(name, value)


def write_image_grids(writer, step: int, grids: Mapping[str, np.ndarray]) -> None:
  """Writes each uint8 grid `[H, W, C]` as a TensorBoard image at `step`."""
  with writer.as_default(step=step):
    for name, grid in grids.items():
      tf.summary.image(name, grid[None], step=step)
