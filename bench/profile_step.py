"""Where a training iteration's time goes: a tf.profiler trace, summarised.

Profiles --iters iterations (discriminator, generator and supervised steps)
with `tf.profiler.experimental`, reads the XPlane trace it writes (TensorFlow
ships the protobuf) and sums the op events of TensorFlow's executor threads
by op type and by network (generators, discriminators, classifier, sampler
updates, priors; `bench/op_networks.py`). Prints a table and writes JSON.

With --op_rates (the default), each step kind is then traced again with the
batch's static shapes and profiled on its own, and every convolution and
matrix product gets its FLOP rate as it runs in the step, against the
reference conv peak measured just before and after (`bench/op_rates.py`).
Ops below `peak.HEALTHY_FRACTION` (25%) of the peak are printed as WARNING
lines, and the ops are also summed by kernel (op type and shapes). This is the
in-step view of `kernel_ceiling.py`'s kernels. Under TensorFlow's default pools
two ops often run at once on two cores, each taking longer than alone;
`--inter_op_threads=1` runs them one at a time, so each op's rate is its own.

  python bench/profile_step.py --config=cifar --iters=3 --out=bench/results/profile_cifar.json
  python bench/profile_step.py --config=cifar --iters=2 --inter_op_threads=1 \
      --out=bench/results/speed/op_rates_cifar.json   # ~5 min on 2 cores
"""

import collections
import os
import sys
import time

from absl import app, flags

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import kernel_library  # noqa: E402  (bench/kernel_library.py; loads no TensorFlow)

# The CPU kernels the programs would run on the configs named (bench/kernel_library.py).
_DEFAULT_CONFIG = "cifar"  # --config's default; the kernel library follows the flag
kernel_library.configure_for_argv(sys.argv, "config", [_DEFAULT_CONFIG])

import tensorflow as tf  # noqa: E402

from configs import gan_config, random_input_iteration  # noqa: E402  (bench/configs.py)
from machine import machine_info  # noqa: E402  (bench/machine.py)
import op_networks  # noqa: E402  (bench/op_networks.py)
import op_rates  # noqa: E402  (bench/op_rates.py)
import peak  # noqa: E402  (bench/peak.py)
from bgan_tf import cli, run_files  # noqa: E402

CONFIG = flags.DEFINE_string("config", _DEFAULT_CONFIG, "A configuration of bench/configs.py.")
ITERS = flags.DEFINE_integer("iters", 3, "Profiled iterations.")
PRECISION = flags.DEFINE_string("precision", "float32", "float32 or mixed_bfloat16.")
OUT = flags.DEFINE_string("out", None, "Write the summary as JSON here.")
OP_RATES = flags.DEFINE_boolean("op_rates", True, "Also rate every conv and matmul op inside each step.")
RATE_RUNS = flags.DEFINE_integer("rate_runs", 5, "Profiled runs of each step for --op_rates.")
INTER_OP_THREADS = flags.DEFINE_integer(
    "inter_op_threads", 0, "TensorFlow's inter-op pool (0: its default). With 1, ops run one at a time, so "
    "each op's time is its own, not shared with an op beside it: the setting for --op_rates.")


def summarise(times, layers):
  """Op time (seconds) by op type and by network, from a trace's `op_rates.op_times`.

  `layers` is `op_networks.layer_networks` of the GAN that ran.
  """
  by_type = collections.Counter()
  for events in times.values():
    for op_type, seconds in events:
      by_type[op_type] += seconds
  return by_type, op_networks.by_network(times, layers)


def _calls(row):
  """The note ", N calls per run" for a loop body's op, which runs once per piece; "" for any other op."""
  return f", {row['calls_per_run']} calls per run" if row.get("calls_per_run", 1) > 1 else ""


def _print_op_rates(by_step):
  for label, result in by_step.items():
    rows, summary = result["rows"], result["summary"]
    print(f"\n{label}: {summary['rated_ops']} conv/matmul ops rated, "
          f"{summary['rated_product_s_per_run']:.3f} s per run; not rated (a shape unknown): "
          f"{summary['unrated_product_s_per_run']:.3f} s; conv peak "
          f"{summary['peak_gflops']:.0f} GFLOP/s")
    print("% of peak   GFLOP/s   median ms   s/run   op (type; input shapes)")
    for r in rows[:8]:
      print(f"{100 * r['ratio_to_peak']:8.1f}  {r['gflops']:8.1f}  {1e3 * r['median_s']:9.3f}  "
            f"{r['seconds_per_run']:6.3f}   {r['op']} ({r['trace_op_type']}; {r['input_shapes']}"
            f"{_calls(r)})")
    print("kernels by time: s/run   ops   % of peak min / median / max   op type (input shapes)")
    for k in result["kernels"][:10]:
      print(f"{'':18}{k['seconds_per_run']:6.3f}  {k['ops']:4d}   {100 * k['ratio_to_peak_min']:5.1f} / "
            f"{100 * k['ratio_to_peak_median']:5.1f} / {100 * k['ratio_to_peak_max']:5.1f}"
            f"         {k['graph_op_type']} ({k['input_shapes']})")
    for r in rows:
      if r["ratio_to_peak"] < peak.HEALTHY_FRACTION:
        print(f"WARNING: {label}: {r['op']} ({r['trace_op_type']}, {r['input_shapes']}) runs at "
              f"{100 * r['ratio_to_peak']:.1f}% of the conv peak (below {100 * peak.HEALTHY_FRACTION:.0f}%): "
              f"{r['seconds_per_run']:.4f} s per run{_calls(r)}")


def main(argv):
  del argv
  cli.configure_threads(INTER_OP_THREADS.value, 0)
  gan, iteration = random_input_iteration(gan_config(CONFIG.value, precision=PRECISION.value))
  with op_rates.recorded_op_times() as times:
    start = time.perf_counter()
    for _ in range(ITERS.value):
      iteration()
    wall = (time.perf_counter() - start) / ITERS.value
  by_type, by_network = summarise(times, op_networks.layer_networks(gan))
  total = sum(by_type.values())
  per_iter = {k: v / ITERS.value for k, v in by_type.most_common()}
  summary = {
      "config": CONFIG.value,
      "precision": PRECISION.value,
      "iters": ITERS.value,
      "machine": machine_info(),
      "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads() or "default",
      "wall_s_per_iteration": wall,
      "op_s_per_iteration": total / ITERS.value,
      "by_op_type_s": per_iter,
      "by_network_s": {k: v / ITERS.value for k, v in by_network.most_common()},
  }
  print(f"{CONFIG.value} ({PRECISION.value}): {wall:.3f} s/iteration wall, "
        f"{total / ITERS.value:.3f} s of op time on the executor threads")
  print("op type                              s/iter   share")
  for op_type, seconds in list(per_iter.items())[:15]:
    print(f"{op_type:<36} {seconds:7.3f}  {100 * seconds / (total / ITERS.value):5.1f}%")
  print("by network:", {k: round(v, 3) for k, v in summary["by_network_s"].items()})
  if OP_RATES.value:
    config = gan.config
    x = tf.random.uniform([config.batch_size, *config.model.example_shape], -1, 1)
    y = tf.random.uniform([config.batch_size], 0, config.model.num_classes, dtype=tf.int32)
    by_step = op_rates.step_op_rates(gan, x, y, RATE_RUNS.value)
    _print_op_rates(by_step)
    rows = [r for result in by_step.values() for r in result["rows"]]
    summary["op_rates"] = by_step
    summary["healthy_fraction"] = peak.HEALTHY_FRACTION
    summary["ops_below_healthy_fraction"] = sum(r["ratio_to_peak"] < peak.HEALTHY_FRACTION for r in rows)
    summary["lowest_op_ratio_to_peak"] = min((r["ratio_to_peak"] for r in rows), default=None)
  if OUT.value:
    run_files.write_json(OUT.value, summary)


if __name__ == "__main__":
  app.run(main)
