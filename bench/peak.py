"""The machine's reference peak: the issue's 4096^3 matmul and [64,16,16,96] -> 192 conv2d.

Shared by the speed benchmarks so every ratio is taken against the same
kernels, measured the same way (best of `repeats` back-to-back runs, each
fetched to the host).
"""

import statistics
import time

import tensorflow as tf

__all__ = ["CONV_GFLOP", "MATMUL_GFLOP", "conv_gflops", "matmul_gflops", "timed_after_peaks", "timed_runs"]

CONV_GFLOP = 2.0 * 64 * 8 * 8 * 192 * 9 * 96 / 1e9  # 3x3, stride 2, 'same': 16x16 -> 8x8
MATMUL_GFLOP = 2.0 * 4096**3 / 1e9

_conv_inputs = None
_matmul_inputs = None


@tf.function
def _conv(x, w):
  return tf.reduce_sum(tf.nn.conv2d(x, w, 2, "SAME"))


@tf.function
def _matmul(a, b):
  return tf.reduce_sum(tf.matmul(a, b))


def timed_runs(fn, args, repeats):
  """Wall seconds of `repeats` runs of `fn(*args)` after one untimed run."""
  fn(*args).numpy()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn(*args).numpy()
    times.append(time.perf_counter() - start)
  return times


def _rates(gflop, times):
  # Best time (the usual "peak") and median (comparable with our medians).
  return {"best": gflop / min(times), "median": gflop / statistics.median(times)}


def conv_gflops(repeats=10):
  """GFLOP/s of the reference conv2d over `repeats` runs: {"best", "median"}."""
  global _conv_inputs
  if _conv_inputs is None:
    _conv_inputs = (tf.random.normal([64, 16, 16, 96]), tf.random.normal([3, 3, 96, 192]))
  return _rates(CONV_GFLOP, timed_runs(_conv, _conv_inputs, repeats))


def matmul_gflops(repeats=5):
  """GFLOP/s of the 4096^3 float32 matmul over `repeats` runs: {"best", "median"}."""
  global _matmul_inputs
  if _matmul_inputs is None:
    _matmul_inputs = (tf.random.normal([4096, 4096]), tf.random.normal([4096, 4096]))
  return _rates(MATMUL_GFLOP, timed_runs(_matmul, _matmul_inputs, repeats))


def timed_after_peaks(fn, pairs):
  """Runs `fn()` `pairs` times, each right after a conv peak (best of 10).

  The CPU's speed drifts, so each run is paired with a peak taken seconds
  earlier. Returns (wall seconds of each run, the peak before each run).
  """
  times, peaks = [], []
  for _ in range(pairs):
    peaks.append(conv_gflops(10)["best"])
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return times, peaks
