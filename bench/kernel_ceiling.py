"""How fast can an iteration be with these kernels? Each FLOP-bearing kernel of one
iteration, timed alone, against the reference conv peak and the real iteration.

`flops.iteration_passes` (bench/flops.py) lists every convolution and matmul an iteration
of the paper's CIFAR-10 config runs (forward, input gradient, filter gradient,
with the TensorFlow op that computes each). This program times each distinct
kernel shape on its own (best of --repeats, random inputs, each run fetched),
right after a measurement of the reference conv2d peak, so every kernel gets
a ratio to a peak taken seconds earlier. A kernel with less work than the
reference conv runs several times per timed call, back to back in one graph on
distinct inputs (`peak.copies_per_call`): a tf.function call costs about
0.35 ms on the AVX2 EPYC, which the iteration, one graph, does not pay per
kernel, and which alone held a 0.03 GFLOP matmul to a fifth of the peak.
Summing count x time over the kernels gives the "kernel ceiling": the iteration's time if it ran nothing but these
kernels back to back at their isolated speed. The real iteration is then timed
the same way, interleaved with peaks.

  kernel ceiling / peak      what the model's shapes allow on this CPU's kernels
                             (each kernel against its own peak measurement,
                             so the CPU's drift during the run cancels)
  iteration / peak           the same for the real iteration; the difference
                             is what the training loop adds (elementwise
                             work, sampler noise, scheduling)

Each kernel is also checked against `peak.HEALTHY_FRACTION` (25%) of the conv peak
taken beside it; a slower one is printed as a WARNING line and counted in the
JSON, so the next kernel cliff shows at once (`profile_step.py --op_rates` rates the
same ops inside the steps themselves). Input and filter gradients run
the formulations the package's conv layers run on this machine
(`bgan_tf.kernel_choice`); `--input_gradient=stock --filter_gradient=stock`
times TensorFlow's own.

  python bench/kernel_ceiling.py --config=cifar --out=bench/results/speed/kernel_ceiling_cifar.json  # ~5 min
  TF_ENABLE_ONEDNN_OPTS=0 python bench/kernel_ceiling.py --rounds=1 --input_gradient=stock \
      --filter_gradient=stock   # TensorFlow's own kernels on its AVX2 default library
"""

import collections
import os
import statistics
import sys

from absl import app, flags

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import kernel_library  # noqa: E402  (bench/kernel_library.py; loads no TensorFlow)

# The CPU kernels the programs would run on the configs named (bench/kernel_library.py).
_DEFAULT_CONFIG = "cifar"  # --config's default; the kernel library follows the flag
kernel_library.configure_for_argv(sys.argv, "config", [_DEFAULT_CONFIG])

import tensorflow as tf  # noqa: E402

from configs import gan_config, random_input_iteration  # noqa: E402  (bench/configs.py)
from machine import machine_info  # noqa: E402  (bench/machine.py)
import peak  # noqa: E402  (bench/peak.py)
from bgan_tf import conv_gradients  # noqa: E402
import flops  # noqa: E402  (bench/flops.py)
from bgan_tf import kernel_choice  # noqa: E402
from bgan_tf import run_files  # noqa: E402

CONFIG = flags.DEFINE_string("config", _DEFAULT_CONFIG, "A configuration of bench/configs.py.")
REPEATS = flags.DEFINE_integer("repeats", 5, "Timed runs of each kernel (the best counts).")
ITERS = flags.DEFINE_integer("iters", 5, "Interleaved (peak, iteration) pairs per round.")
ROUNDS = flags.DEFINE_integer("rounds", 3, "Rounds of (all kernels, then the iterations); medians are reported.")
OUT = flags.DEFINE_string("out", None, "Write the results as JSON here.")
INPUT_GRADIENT = flags.DEFINE_enum(
    "input_gradient", "chosen", ("chosen",) + conv_gradients.FORMULATIONS,
    "How conv input gradients run: as the package's layers choose on this machine (bgan_tf.kernel_choice), "
    "or one formulation everywhere (stock: TensorFlow's Conv2DBackpropInput).")
FILTER_GRADIENT = flags.DEFINE_enum(
    "filter_gradient", "chosen", ("chosen",) + conv_gradients.FILTER_FORMULATIONS,
    "How conv filter gradients run: as the package's layers choose on this machine, or one formulation "
    "everywhere (stock: TensorFlow's Conv2DBackpropFilter).")


def kernel_fn(op, geometry, batch, matmul_kind=None, copies=1):
  """A traced function computing one kernel `copies` times on random inputs, and its inputs.

  `matmul_kind` ("forward", "input_grad", "filter_grad") picks which of a
  dense layer's three products to run. The copies run back to back, each on
  its own first input (`peak.chained_copies`).
  """
  g = geometry
  if op == "matmul":
    x, w = tf.random.normal([batch, g.input_channels]), tf.random.normal([g.input_channels, g.output_channels])
    dy = tf.random.normal([batch, g.output_channels])
    compute, args = {
        "forward": (lambda x, w: tf.matmul(x, w), (x, w)),
        "input_grad": (lambda dy, w: tf.matmul(dy, w, transpose_b=True), (dy, w)),
        "filter_grad": (lambda x, dy: tf.matmul(x, dy, transpose_a=True), (x, dy)),
    }[matmul_kind]
  else:
    x = tf.random.normal([batch, *g.input_hw, g.input_channels])
    w = tf.random.normal([g.kernel, g.kernel, g.input_channels, g.output_channels]) * 0.01
    dy = tf.random.normal([batch, *g.output_hw, g.output_channels])
    if op == "conv2d":
      compute, args = (lambda x, w: tf.nn.conv2d(x, w, g.stride, "SAME")), (x, w)
    elif op == "conv2d_backprop_input":
      formulation = gradient_formulation(op, g)
      compute, args = (
          lambda dy, w: conv_gradients.conv2d_input_gradient(dy, w, g.input_hw, g.stride, "same", formulation)), (
              dy, w)
    else:
      formulation = gradient_formulation(op, g)
      compute, args = (lambda x, dy: conv_gradients.conv2d_filter_gradient(x, dy, (g.kernel, g.kernel), g.stride,
                                                                            "same", formulation)), (x, dy)
  return peak.chained_copies(compute, args, copies)


_GRADIENT_OPS = {"conv2d_backprop_input": "input", "conv2d_backprop_filter": "filter"}


def gradient_formulation(op, geometry):
  """The formulation the package's conv layers run for this conv gradient (as --input_gradient and
  --filter_gradient say), or None for an op that is no conv gradient."""
  if op not in _GRADIENT_OPS:
    return None
  g = geometry
  return kernel_choice.choose(
      kernel_choice.ConvShape((g.input_hw[0], g.input_hw[1]), g.input_channels, g.output_channels,
                              (g.kernel, g.kernel), g.stride, "same", "float32"), _GRADIENT_OPS[op])


def distinct_kernels(passes):
  """Passes grouped by the kernel they run: {(op, matmul_kind, geometry, batch): (count, labels)}.

  A transposed conv's forward pass and a conv's input gradient on the same
  geometry and batch are one kernel; a dense layer's three passes are three.
  """
  kernels = collections.OrderedDict()
  for p in passes:
    key = (p.op, p.kind if p.op == "matmul" else None, p.layer.geometry, p.batch)
    count, labels = kernels.get(key, (0, []))
    kernels[key] = (count + p.count,
                    labels + [f"{p.step.replace('_step', ' step')}: {p.network} {p.layer.name} {p.kind}"])
  return kernels


def time_kernels(passes, repeats):
  """Each distinct kernel's best time, with the reference conv peak taken just before it."""
  rows = []
  for (op, matmul_kind, geometry, batch), (count, labels) in distinct_kernels(passes).items():
    gflop = batch * geometry.flops / 1e9
    copies = peak.copies_per_call(gflop)
    fn, args = kernel_fn(op, geometry, batch, matmul_kind, copies)
    conv_peak = peak.conv_gflops(10)["best"]
    best = min(peak.timed_runs(fn, args, repeats)) / copies
    formulation = gradient_formulation(op, geometry)
    rows.append({
        "op": op, "formulation": formulation, "batch": batch, "geometry": geometry._asdict(),
        "runs_per_iteration": count, "passes": labels, "gflop_per_run": gflop, "copies_per_call": copies,
        "best_s": best, "gflops": gflop / best, "conv_peak_gflops": conv_peak,
        "ratio_to_peak": gflop / best / conv_peak, "seconds_per_iteration": count * best
    })
    name = f"{op}[{formulation}]" if formulation else op
    slow = gflop / best / conv_peak < peak.HEALTHY_FRACTION
    print(
        f"{'SLOW ' if slow else '     '}{name:34s} b={batch:5d} "
        f"{geometry.input_hw[0]:>2d}x{geometry.input_channels:<4d}->"
        f"{geometry.output_hw[0]:>2d}x{geometry.output_channels:<4d} k{geometry.kernel} x{count:<3d}"
        f" {gflop / best:6.0f} GFLOP/s  {100 * gflop / best / conv_peak:5.1f}% of peak"
        f"  {count * best:6.3f} s/iter  [{labels[0]}{' ...' if len(labels) > 1 else ''}]", flush=True)
  return rows


def time_iterations(config, iters):
  """The real iteration (random inputs), each run right after a conv peak measurement."""
  _, iteration = random_input_iteration(config)
  return peak.timed_after_peaks(iteration, iters)


def one_round(config, passes, total_gflop):
  """Times every kernel, then the iteration; returns the round's summary and raw rows."""
  rows = time_kernels(passes, REPEATS.value)
  slow = [r for r in rows if r["ratio_to_peak"] < peak.HEALTHY_FRACTION]
  for r in slow:
    print(
        f"WARNING: {r['op']}{'[' + r['formulation'] + ']' if r['formulation'] else ''} "
        f"{r['geometry']['input_hw'][0]}x{r['geometry']['input_channels']}->"
        f"{r['geometry']['output_hw'][0]}x{r['geometry']['output_channels']} at batch {r['batch']} runs at "
        f"{100 * r['ratio_to_peak']:.1f}% of the conv peak (below {100 * peak.HEALTHY_FRACTION:.0f}%): "
        f"{r['seconds_per_iteration']:.3f} s per iteration", flush=True)
  ceiling_s = sum(r["seconds_per_iteration"] for r in rows)
  kernel_peak = statistics.median(r["conv_peak_gflops"] for r in rows)
  # Drift-corrected: each kernel's time in units of its own peak, i.e. the
  # FLOP-weighted harmonic mean of the kernels' ratios to the peak.
  ceiling_ratio = total_gflop / sum(
      r["runs_per_iteration"] * r["gflop_per_run"] / r["ratio_to_peak"] for r in rows)
  times, peaks = time_iterations(config, ITERS.value)
  iteration_s, iteration_peak = statistics.median(times), statistics.median(peaks)
  by_op = collections.Counter()
  for r in rows:
    by_op[r["op"]] += r["seconds_per_iteration"]
  summary = {
      "kernel_ceiling_s": ceiling_s,
      "kernel_ceiling_gflops": total_gflop / ceiling_s,
      "kernel_ceiling_ratio_to_peak": ceiling_ratio,
      "iteration_median_s": iteration_s,
      "iteration_gflops": total_gflop / iteration_s,
      "iteration_ratio_to_peak": statistics.median(total_gflop / t / p for t, p in zip(times, peaks)),
      "iteration_over_ceiling_s": iteration_s / ceiling_s,
      "median_conv_peak_gflops_during_kernels": kernel_peak,
      "median_conv_peak_gflops_during_iterations": iteration_peak,
      "ceiling_seconds_by_op": dict(by_op),
      "kernels_below_healthy_fraction": len(slow),
      "lowest_kernel_ratio_to_peak": min(r["ratio_to_peak"] for r in rows),
      "iteration_times_s": times,
      "iteration_conv_peaks_gflops": peaks,
  }
  print(
      f"kernel ceiling: {ceiling_s:.3f} s = {summary['kernel_ceiling_gflops']:.0f} GFLOP/s; "
      f"{100 * ceiling_ratio:.1f}% of the conv peak measured beside each kernel (median {kernel_peak:.0f} GFLOP/s)"
  )
  print(f"iteration: {iteration_s:.3f} s = {summary['iteration_gflops']:.0f} GFLOP/s; "
        f"{100 * summary['iteration_ratio_to_peak']:.1f}% of the conv peak measured before each iteration "
        f"(median {iteration_peak:.0f} GFLOP/s); {summary['iteration_over_ceiling_s']:.2f}x the ceiling's seconds")
  print("ceiling by op:", {k: round(v, 3) for k, v in by_op.items()}, flush=True)
  return summary, rows


def main(argv):
  del argv
  # The kernels and the iteration's layers alike.
  if INPUT_GRADIENT.value != "chosen":
    os.environ[kernel_choice.ENV_FORMULATION] = INPUT_GRADIENT.value
  if FILTER_GRADIENT.value != "chosen":
    os.environ[kernel_choice.ENV_FILTER_FORMULATION] = FILTER_GRADIENT.value
  config = gan_config(CONFIG.value)
  passes = flops.iteration_passes(config)
  total_gflop = sum(p.flops for p in passes) / 1e9
  print(f"{total_gflop:.1f} GFLOP per iteration in {len(distinct_kernels(passes))} distinct kernels.")
  rounds = []
  for index in range(ROUNDS.value):
    print(f"round {index + 1}/{ROUNDS.value}", flush=True)
    rounds.append(one_round(config, passes, total_gflop))
  summaries = [summary for summary, _ in rounds]

  def median_of(key):
    return statistics.median(s[key] for s in summaries)

  overall = {
      "gflop_per_iteration": total_gflop, "rounds": len(rounds), **{
          f"median_{key}": median_of(key)
          for key in ("kernel_ceiling_s", "kernel_ceiling_ratio_to_peak", "iteration_median_s",
                      "iteration_ratio_to_peak", "iteration_over_ceiling_s")
      }
  }
  print(f"\nover {len(rounds)} rounds: kernel ceiling {100 * overall['median_kernel_ceiling_ratio_to_peak']:.1f}% "
        f"of peak, iteration {100 * overall['median_iteration_ratio_to_peak']:.1f}% of peak (medians)")
  if OUT.value:
    run_files.write_json(
        OUT.value, {
            "machine": machine_info(), "config": CONFIG.value, "summary": overall, "round_summaries": summaries,
            "kernels_by_round": [r for _, r in rounds]
        })


if __name__ == "__main__":
  app.run(main)
