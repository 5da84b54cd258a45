"""Small PNG plots drawn with Pillow: 2-D scatters and metric curves.

They are for run folders and docs (samples against the real data, JS
divergence over training), not publication, so there is no plotting library
behind them: a white canvas, an axis box with a few "nice" tick labels,
one-pixel-exact colours, Pillow's default font for the text. Both functions
return the image as a `[height, width, 3]` uint8 array and, given a path,
also write it as a PNG that appears whole or not at all.
"""

import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bgan_tf import run_files

__all__ = ["line_plot_png", "scatter_png"]

_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)
_GREY = (128, 128, 128)
_TICK_LENGTH = 4
_NUM_TICKS = 5  # Roughly: the tick step is the nice number nearest range / 5.


def scatter_png(point_sets, path=None, size=(480, 480), bounds=None, title=None) -> np.ndarray:
  """Draws sets of 2-D points as coloured dots.

  Dots are 3x3-pixel squares painted in list order, so later sets are drawn
  over earlier ones; points outside `bounds` are not drawn.

  Args:
    point_sets: list of `(points, colour, label)`: `points` `[n, 2]` (n may be
      0), `colour` an `(r, g, b)` tuple of ints in 0..255, `label` a string
      for the legend or None to leave the set out of it.
    path: if given, where to write the PNG (its folder is created if needed).
    size: `(width, height)` in pixels, as in PIL. Default (480, 480).
    bounds: `(x_min, x_max, y_min, y_max)` of the plotted region; default the
      joint bounding box of all points padded by 5% of its extent.
    title: optional text above the plot.

  Returns:
    `[height, width, 3]` uint8 image.
  """
  sets = [(_as_xy(points), _as_colour(colour), label) for points, colour, label in point_sets]
  if bounds is None:
    joint = np.concatenate([points for points, _, _ in sets] + [np.zeros((0, 2))], axis=0)
    x_range = _padded_range(joint[:, 0], 0.05)
    y_range = _padded_range(joint[:, 1], 0.05)
  else:
    x_min, x_max, y_min, y_max = (float(b) for b in bounds)
    if not (x_max > x_min and y_max > y_min):
      raise ValueError(f"bounds must be (x_min, x_max, y_min, y_max) with max > min, got {bounds}")
    x_range, y_range = (x_min, x_max), (y_min, y_max)

  font = ImageFont.load_default()
  image = Image.new("RGB", _as_size(size), _WHITE)
  box = _plot_box(image.size, font, title=title, x_label=None, y_label=None)

  # Paint the dots straight into the pixel array: one vectorised write per set
  # and offset instead of one ellipse call per point.
  pixels = np.array(image)
  x0, y0, x1, y1 = box
  for points, colour, _ in sets:
    px = np.rint(_to_pixel(points[:, 0], x_range, x0, x1)).astype(np.int64)
    py = np.rint(_to_pixel(points[:, 1], y_range, y1, y0)).astype(np.int64)
    for dx in (-1, 0, 1):
      for dy in (-1, 0, 1):
        cx, cy = px + dx, py + dy
        inside = (cx > x0) & (cx < x1) & (cy > y0) & (cy < y1)
        pixels[cy[inside], cx[inside]] = colour
  image = Image.fromarray(pixels)

  draw = ImageDraw.Draw(image)
  _draw_axes(draw, box, x_range, y_range, font)
  _draw_legend(draw, box, [(label, colour) for _, colour, label in sets if label], font)
  _draw_title(draw, image.size, title, font)
  return _finish(image, path)


def line_plot_png(series, path=None, size=(640, 400), title=None, y_label=None, x_label=None) -> np.ndarray:
  """Draws named curves, e.g. JS divergence against training step.

  Non-finite y values break a curve into separate pieces instead of being
  drawn; the x axis spans the data exactly, the y axis with 5% padding.

  Args:
    series: dict `name -> (x, y, colour)` with `x`, `y` `[n]` arrays and
      `colour` an `(r, g, b)` tuple; drawn, and listed in the legend, in
      insertion order.
    path: if given, where to write the PNG (its folder is created if needed).
    size: `(width, height)` in pixels. Default (640, 400).
    title: optional text above the plot.
    y_label: optional y-axis name, written above the axis' top end.
    x_label: optional x-axis name, written under the x tick labels.

  Returns:
    `[height, width, 3]` uint8 image.
  """
  curves = []
  for name, (x, y, colour) in series.items():
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
      raise ValueError(f"series {name!r}: x and y lengths differ ({x.size} vs {y.size})")
    curves.append((str(name), x, y, _as_colour(colour)))
  finite = [(x[np.isfinite(x) & np.isfinite(y)], y[np.isfinite(x) & np.isfinite(y)]) for _, x, y, _ in curves]
  x_range = _padded_range(np.concatenate([fx for fx, _ in finite] + [np.zeros(0)]), 0.0)
  y_range = _padded_range(np.concatenate([fy for _, fy in finite] + [np.zeros(0)]), 0.05)

  font = ImageFont.load_default()
  image = Image.new("RGB", _as_size(size), _WHITE)
  box = _plot_box(image.size, font, title=title, x_label=x_label, y_label=y_label)
  x0, y0, x1, y1 = box
  draw = ImageDraw.Draw(image)
  _draw_axes(draw, box, x_range, y_range, font)

  for _, x, y, colour in curves:
    px = _to_pixel(x, x_range, x0, x1)
    py = _to_pixel(y, y_range, y1, y0)
    ok = np.isfinite(px) & np.isfinite(py)
    # Every non-finite point starts a new piece (and is then dropped from it).
    for piece in np.split(np.arange(ok.size), np.flatnonzero(~ok)):
      piece = piece[ok[piece]]
      run = list(zip(px[piece].tolist(), py[piece].tolist()))
      if len(run) == 1:
        (cx, cy), = run
        draw.rectangle([cx - 1, cy - 1, cx + 1, cy + 1], fill=colour)
      elif run:
        draw.line(run, fill=colour, width=2, joint="curve")

  if y_label:
    _text(draw, (x0, y0 - 4), str(y_label), font, "ld")
  if x_label:
    _text(draw, ((x0 + x1) / 2, image.size[1] - 4), str(x_label), font, "md")
  _draw_legend(draw, box, [(name, colour) for name, _, _, colour in curves], font)
  _draw_title(draw, image.size, title, font)
  return _finish(image, path)


# ----------------------------------------------------------------------------
# Private helpers
# ----------------------------------------------------------------------------


def _as_xy(points):
  points = np.asarray(points, dtype=np.float64)
  if points.size == 0:
    return np.zeros((0, 2))
  if points.ndim != 2 or points.shape[1] != 2:
    raise ValueError(f"points must be [n, 2], got shape {points.shape}")
  return points[np.all(np.isfinite(points), axis=1)]


def _as_colour(colour):
  rgb = tuple(int(c) for c in colour)
  if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
    raise ValueError(f"colour must be (r, g, b) with ints in 0..255, got {colour}")
  return rgb


def _as_size(size):
  width, height = (int(s) for s in size)
  if width < 64 or height < 64:
    raise ValueError(f"size must be at least 64x64 pixels, got {size}")
  return width, height


def _padded_range(values, fraction):
  """(lo, hi) of `values` widened by `fraction` of the extent on each side."""
  if values.size == 0:
    return -1.0, 1.0
  lo, hi = float(values.min()), float(values.max())
  if hi == lo:  # A single value: centre it in a unit-ish window.
    half = max(0.5, 0.1 * abs(lo))
    return lo - half, hi + half
  pad = fraction * (hi - lo)
  return lo - pad, hi + pad


def _to_pixel(values, value_range, pixel_at_lo, pixel_at_hi):
  lo, hi = value_range
  return pixel_at_lo + (values - lo) / (hi - lo) * (pixel_at_hi - pixel_at_lo)


def _text_size(font, text):
  left, top, right, bottom = font.getbbox(text)
  return right - left, bottom - top


def _text(draw, xy, text, font, anchor):
  """Draws black `text` placed by a two-letter anchor as in PIL ("mt": middle, top).

  The placement is computed here from the text's box rather than passed as
  PIL's `anchor=`, which the bitmap fallback of `load_default` rejects.
  """
  left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
  horizontal = {"l": left, "m": (left + right) / 2, "r": right}[anchor[0]]
  vertical = {"t": top, "m": (top + bottom) / 2, "d": bottom}[anchor[1]]
  draw.text((round(xy[0] - horizontal), round(xy[1] - vertical)), text, fill=_BLACK, font=font)


def _plot_box(size, font, title, x_label, y_label):
  """(x0, y0, x1, y1) of the axis box, leaving room for the text around it."""
  width, height = size
  line = _text_size(font, "0.0e+00")[1] + 4
  top = 8 + (line + 4 if title else 0) + (line if y_label else 0)
  bottom = height - (8 + _TICK_LENGTH + line + (line + 2 if x_label else 0))
  left = 8 + _TICK_LENGTH + _text_size(font, "-0.0000")[0]
  right = width - 16
  return left, top, right, bottom


def _nice_ticks(lo, hi):
  """Tick values at multiples of 1, 2 or 5 x 10^k within [lo, hi]."""
  raw = (hi - lo) / _NUM_TICKS
  magnitude = 10.0**math.floor(math.log10(raw))
  step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
  first = math.ceil(lo / step - 1e-9)
  last = math.floor(hi / step + 1e-9)
  # Rounding to the step's precision turns 0.30000000000000004 into 0.3.
  digits = max(0, -math.floor(math.log10(step)) + 1)
  # Adding 0.0 turns -0.0 into 0.0, so no "-0" label.
  return [round(i * step, digits) + 0.0 for i in range(first, last + 1)]


def _draw_axes(draw, box, x_range, y_range, font):
  x0, y0, x1, y1 = box
  draw.rectangle([x0, y0, x1, y1], outline=_BLACK, width=1)
  for value in _nice_ticks(*x_range):
    px = _to_pixel(value, x_range, x0, x1)
    draw.line([(px, y1), (px, y1 + _TICK_LENGTH)], fill=_BLACK)
    _text(draw, (px, y1 + _TICK_LENGTH + 2), f"{value:g}", font, "mt")
  for value in _nice_ticks(*y_range):
    py = _to_pixel(value, y_range, y1, y0)
    draw.line([(x0 - _TICK_LENGTH, py), (x0, py)], fill=_BLACK)
    _text(draw, (x0 - _TICK_LENGTH - 2, py), f"{value:g}", font, "rm")


def _draw_legend(draw, box, entries, font):
  """Colour swatches and labels in a framed block at the top right of `box`."""
  if not entries:
    return
  swatch, gap = 8, 4
  line = max(swatch, max(_text_size(font, str(label))[1] for label, _ in entries)) + gap
  text_width = max(_text_size(font, str(label))[0] for label, _ in entries)
  right, top = box[2] - 6, box[1] + 6
  left = right - (gap + swatch + gap + text_width + gap)
  bottom = top + gap + line * len(entries)
  draw.rectangle([left, top, right, bottom], fill=_WHITE, outline=_GREY)
  for i, (label, colour) in enumerate(entries):
    y = top + gap + i * line
    draw.rectangle([left + gap, y, left + gap + swatch, y + swatch], fill=colour)
    _text(draw, (left + 2 * gap + swatch, y + swatch / 2), str(label), font, "lm")


def _draw_title(draw, size, title, font):
  if title:
    _text(draw, (size[0] / 2, 6), str(title), font, "mt")


def _finish(image, path):
  array = np.array(image, dtype=np.uint8)
  if path is not None:
    run_files.write_png(os.fspath(path), array)
  return array
