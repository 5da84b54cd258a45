"""Does padding a 3-channel image side to more channels speed its convolution input gradient?

The paper CIFAR-10 iteration has two kernels that write 3-channel images
(docs/BENCHMARKS.md §3, issue 13): the generators' last transposed conv
(16x16x64 -> 32x32x3, 5x5, stride 2, batch 64) and the discriminators' input
gradient down to the fakes (16x16x96 -> 32x32x3, batch 1344). Both are
`Conv2DBackpropInput` with 3 output channels, the slowest kernels of the
iteration relative to the conv peak. A kernel library that vectorises over
channels may run a wider output nearly as fast as a 3-channel one, so a kernel
zero-padded to C channels, with the result sliced back to 3, could be faster.

For each shape this times `tf.nn.conv2d_transpose` into C = 3, 4, 8, 16
channels followed by the slice to 3, round-robin (`--rounds` rounds of
`--repeats` runs each; the best run counts), beside the reference conv peak of
`bench/peak.py`, and reports each C's rate in useful (3-channel) GFLOP/s and as
a share of the peak. It runs the kernel library the programs run on image data
(`bgan_tf.cli.configure_onednn`).

  python bench/channel_padding.py            # writes bench/results/speed/channel_padding_<cpu kind>.json
"""

import os
import time

from absl import app, flags

from bgan_tf import cli as _cli  # noqa: E402  (loads no TensorFlow)

# The library the programs run on image data (TensorFlow reads the choice once, when it loads).
_cli.configure_onednn("auto", "cifar")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import peak  # noqa: E402  (bench/peak.py)
from machine import machine_info  # noqa: E402  (bench/machine.py)
from bgan_tf import run_files  # noqa: E402

__all__ = ["SHAPES"]

# (name, batch, channels of the 16x16 side); the image side is 32x32x3, the kernel 5x5, stride 2.
SHAPES = (("generator last transposed conv", 64, 64), ("discriminator conv1 input gradient", 1344, 96))

CHANNELS = flags.DEFINE_list("channels", ["3", "4", "8", "16"], "Channel counts of the padded image side.")
ROUNDS = flags.DEFINE_integer("rounds", 3, "Round-robin rounds over the channel counts.")
REPEATS = flags.DEFINE_integer("repeats", 3, "Timed runs per channel count and round.")
OUT = flags.DEFINE_string("out", None, "Results JSON; default bench/results/speed/channel_padding_<cpu kind>.json.")


def _padded(channels):

  @tf.function
  def run(dy, kernel):
    image = tf.nn.conv2d_transpose(dy, kernel, [dy.shape[0], 32, 32, channels], 2, "SAME")
    return tf.reduce_sum(image[..., :3])

  return run


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  channels = [int(c) for c in CHANNELS.value]
  if any(c < 3 for c in channels):
    raise app.UsageError("--channels: every count must be at least 3")
  info = machine_info()
  rng = np.random.default_rng(0)
  rows = []
  for name, batch, wide in SHAPES:
    dy = tf.constant(rng.standard_normal((batch, 16, 16, wide)), tf.float32)
    kernels = {c: tf.constant(rng.standard_normal((5, 5, c, wide)), tf.float32) for c in channels}
    runs = {c: _padded(c) for c in channels}
    best = {c: float("inf") for c in channels}
    peaks = []
    for _ in range(ROUNDS.value):
      peaks.append(peak.conv_gflops(repeats=5)["best"])
      for c in channels:
        best[c] = min(best[c], min(peak.timed_runs(runs[c], (dy, kernels[c]), REPEATS.value)))
    useful_gflop = 2.0 * batch * 16 * 16 * 25 * 3 * wide / 1e9
    conv_peak = max(peaks)
    for c in channels:
      rows.append({
          "kernel": name, "batch": batch, "channels": c, "best_s": best[c], "useful_gflops": useful_gflop / best[c],
          "useful_ratio_to_peak": useful_gflop / best[c] / conv_peak, "conv_peak_gflops": conv_peak
      })
      print(f"{name}, batch {batch}, padded to {c:2d} channels: {1e3 * best[c]:7.2f} ms, "
            f"{useful_gflop / best[c]:5.1f} useful GFLOP/s = {100 * useful_gflop / best[c] / conv_peak:4.1f}% "
            f"of the {conv_peak:.0f} GFLOP/s conv peak", flush=True)
  out = OUT.value or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "speed",
                                  f"channel_padding_{info['cpu_kind'].replace('-', '').lower()}.json")
  run_files.write_json(out, {"machine": info, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                             "rows": rows})
  print(f"wrote {out}")


if __name__ == "__main__":
  app.run(main)
