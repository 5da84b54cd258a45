"""The machine's reference peak: the issue's 4096^3 matmul and [64,16,16,96] -> 192 conv2d.

Shared by the speed benchmarks so every ratio is taken against the same
kernels, measured the same way (best of `repeats` back-to-back runs, each
fetched to the host).
"""

import math
import statistics
import time

import tensorflow as tf

__all__ = [
    "CONV_GFLOP", "HEALTHY_FRACTION", "MATMUL_GFLOP", "chained_copies", "conv_gflops", "copies_per_call",
    "matmul_gflops", "timed_after_peaks", "timed_runs"
]

CONV_GFLOP = 2.0 * 64 * 8 * 8 * 192 * 9 * 96 / 1e9  # 3x3, stride 2, 'same': 16x16 -> 8x8
MATMUL_GFLOP = 2.0 * 4096**3 / 1e9
# The share of the reference conv rate under which the speed benches flag a
# kernel (issue 13's health check): a kernel cliff shows at once.
HEALTHY_FRACTION = 0.25
# The most runs of one kernel in a timed call (`copies_per_call`): a 10-class
# logits layer at batch 64 would need 2000 to match the reference conv's work.
MAX_COPIES = 256

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


def copies_per_call(gflop_per_run):
  """How many runs of a kernel one timed call should make: enough that the call
  does at least the reference conv's work (`CONV_GFLOP`), so the call's fixed
  cost weighs no more on the kernel than on the peak it is compared with; at
  most `MAX_COPIES`."""
  return max(1, min(MAX_COPIES, math.ceil(CONV_GFLOP / gflop_per_run)))


def chained_copies(compute, args, copies):
  """`compute(first, second)` run `copies` times back to back in one tf.function.

  Each copy has its own random `first` input (the first is `args[0]`), and
  waits for the previous copy's output, so grappler cannot merge them and
  none overlaps another. Each copy's output is fetched by one element: the
  whole output is computed, and no reduction is added to the kernel's time.

  Returns:
    (fn, fn_args): `fn(*fn_args)` returns the sum of the copies' first elements.
  """
  firsts = [args[0]] + [tf.random.normal(args[0].shape, dtype=args[0].dtype) for _ in range(copies - 1)]

  def run(second, *firsts):
    fetched = []
    for first in firsts:
      with tf.control_dependencies(fetched[-1:]):
        fetched.append(tf.reshape(compute(first, second), [-1])[0])
    return tf.add_n(fetched)

  return tf.function(run), (args[1], *firsts)


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
