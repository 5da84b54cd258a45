"""Speed of the Bayesian GAN's training iteration on this machine, with FLOP accounting.

One iteration is what `bin/run_bgan_semi` runs per step: a discriminator step,
a generator step and a supervised-baseline step (SGHMC, float32 unless said).
For each configuration it reports seconds per iteration (median, min, max
over --iters after --warmup), the FLOPs of an iteration counted from the layer
shapes (`bench/flops.py`, ours and the 2017 code's structure), the effective
GFLOP/s, and their ratio to this machine's peak measured in the same run (a
4096^3 float32 matmul and a [64,16,16,96] -> 192-channel 3x3 stride-2
conv2d). It also times each step kind (where the time goes), the host
overhead of the real input pipeline and loop bookkeeping, scaling with the
number of generator samples, mixed_bfloat16 against float32, peak RSS and RSS
growth over a long run, and interleaved A/Bs of the paper CIFAR
iteration: before and after the 2017 normalisation, TensorFlow's stock
conv gradient kernels (input and filter) against the formulations
`bgan_tf.kernel_choice` picks on this machine, and (with --pairing_ab_pairs)
the 2017 code's every-pair scoring against the paper's chain pairing. The
JSON names the CPU, its flags and whether oneDNN was on.

With oneDNN off (TensorFlow's default on AVX2-only CPUs, or
TF_ENABLE_ONEDNN_OPTS=0 anywhere) the stock input gradient is the slow one:

  TF_ENABLE_ONEDNN_OPTS=0 python bench/speed.py --only_input_gradient_ab --out=...

  python bench/speed.py --out=bench/results/speed.json          # everything, ~10 min on 2 cores
  python bench/speed.py --configs=small --scaling= --nomixed --growth_iters=0   # a quick look
  python bench/speed.py --configs=cifar --only_pairing_ab --pairing_ab_pairs=3 --out=...
"""

import dataclasses
import json
import os
import resource
import statistics
import sys
import time

from absl import app, flags

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import kernel_library  # noqa: E402  (bench/kernel_library.py; loads no TensorFlow)

# The CPU kernels the programs would run on the configs named (bench/kernel_library.py).
_DEFAULT_CONFIGS = ["small", "mnist", "cifar"]  # --configs' default; the kernel library follows the flag
kernel_library.configure_for_argv(sys.argv, "configs", _DEFAULT_CONFIGS)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from bgan_tf import data as data_lib  # noqa: E402
from configs import gan_config, random_input_iteration  # noqa: E402  (bench/configs.py)
from machine import machine_info  # noqa: E402  (bench/machine.py)
import peak  # noqa: E402  (bench/peak.py)
import flops  # noqa: E402  (bench/flops.py)
from bgan_tf import kernel_choice  # noqa: E402
from bgan_tf import run_files  # noqa: E402
from bgan_tf.bgan import BayesianGAN  # noqa: E402

CONFIG_NAMES = flags.DEFINE_list("configs", _DEFAULT_CONFIGS, "Configurations from CONFIGS.")
SCALING = flags.DEFINE_list("scaling", ["1x1", "1x2", "5x1", "5x2", "10x2"],
                            "num_gen x num_mcmc settings of the cifar config (J x M = 1, 2, 5, 10, 20).")
MIXED = flags.DEFINE_bool("mixed", True, "Also time the cifar config with mixed_bfloat16.")
ITERS = flags.DEFINE_integer("iters", 10, "Timed iterations after warm-up.")
WARMUP = flags.DEFINE_integer("warmup", 2, "Untimed iterations (tracing) before timing.")
GROWTH_ITERS = flags.DEFINE_integer("growth_iters", 1000, "Iterations of the RSS-growth run.")
GROWTH_CONFIG = flags.DEFINE_string("growth_config", "small", "Configuration of the RSS-growth run.")
PAIRS = flags.DEFINE_integer("pairs", 10, "Interleaved (conv peak, cifar iteration) pairs for the peak ratio.")
NORM_AB_PAIRS = flags.DEFINE_integer(
    "norm_ab_pairs", 5, "Interleaved (before, after) pairs of cifar iterations: the cost of the discriminator "
    "batch norm and feature matching (0: skip).")
ONLY_NORM_AB = flags.DEFINE_bool("only_norm_ab", False, "Measure only the normalisation A/B (and the CPU).")
INPUT_GRADIENT_AB_PAIRS = flags.DEFINE_integer(
    "input_gradient_ab_pairs", 5, "Interleaved (stock, chosen) pairs of cifar iterations: TensorFlow's "
    "Conv2DBackpropInput and Conv2DBackpropFilter everywhere against the formulations bgan_tf.kernel_choice "
    "picks for both (0: skip).")
ONLY_INPUT_GRADIENT_AB = flags.DEFINE_bool("only_input_gradient_ab", False,
                                           "Measure only the conv-gradient A/B, with conv peaks beside it.")
PAIRING_AB_PAIRS = flags.DEFINE_integer(
    "pairing_ab_pairs", 0, "Interleaved (every pair, chain pairing) pairs of cifar iterations: the 2017 code's "
    "pairing against the paper's Algorithm 1 (0: skip).")
ONLY_PAIRING_AB = flags.DEFINE_bool("only_pairing_ab", False,
                                    "Measure only the pairing A/B, with conv peaks beside it.")
OUT = flags.DEFINE_string("out", None, "Write the results as JSON here.")


def measure_peaks():
  """GFLOP/s of the 4096^3 float32 matmul (best of 5) and of the reference conv2d (best of 30)."""
  return {
      "matmul_4096_gflops": peak.matmul_gflops(5), "conv2d_64x16x16x96_to_192_3x3_s2_gflops": peak.conv_gflops(30)
  }


def _random_dataset(config):
  """A uint8 in-memory data set of the config's shape and size (random pixels)."""
  rng = np.random.default_rng(0)
  shape, n = config.model.example_shape, config.sampler.data_size
  x = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
  y = np.arange(n) % config.model.num_classes
  return data_lib.dataset_from_arrays("bench", x, y, x[:500], y[:500], pixel_range=(0, 255))


def _timed(fn, iters, warmup):
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(iters):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return times


def time_config(config, iters, warmup, with_pipeline=True):
  """Timings of one configuration; see the module docstring."""
  gan = BayesianGAN(config)
  shape, batch, classes = config.model.example_shape, config.batch_size, config.model.num_classes
  x = tf.random.uniform([batch, *shape], -1, 1)
  xl = tf.random.uniform([batch, *shape], -1, 1)
  yl = tf.random.uniform([batch], 0, classes, dtype=tf.int32)
  z = gan.sample_z()

  steps = {
      "discriminator_step": lambda: gan.discriminator_step(x, xl, yl, z=z)["disc_losses"].numpy(),
      "generator_step": lambda: gan.generator_step(z=z, x_real=x)["gen_losses"].numpy(),
      "supervised_step": lambda: gan.supervised_step(xl, yl)["supervised_loss"].numpy(),
  }
  per_step = {name: statistics.median(_timed(fn, iters, warmup)) for name, fn in steps.items()}

  def bare_iteration():
    for fn in steps.values():
      fn()

  bare = _timed(bare_iteration, iters, 0)
  result = {
      "median_s": statistics.median(bare), "min_s": min(bare), "max_s": max(bare), "iters": iters,
      "per_step_median_s": per_step
  }

  if with_pipeline:
    # What the training loop adds: batches from tf.data (uint8 -> [-1, 1]),
    # learning-rate assignment, drawing z, fetching metrics.
    dataset = _random_dataset(config)
    unlabeled = iter(data_lib.unlabeled_batches(dataset, batch, seed=0))
    labeled = iter(data_lib.labeled_batches(dataset, np.arange(batch * 4), batch, seed=0))

    def loop_iteration():
      gan.set_learning_rate(sghmc_learning_rate=0.005, adam_learning_rate=2e-4)
      x_real = next(unlabeled)
      x_lab, y_lab = next(labeled)
      metrics = gan.discriminator_and_supervised_step(x_real, x_lab, y_lab)
      metrics.update(gan.generator_step(x_real=x_real))
      return {k: v.numpy() for k, v in metrics.items()}

    full = _timed(loop_iteration, iters, warmup)
    result["loop_median_s"] = statistics.median(full)
    result["host_overhead_fraction"] = max(0.0, 1.0 - result["median_s"] / result["loop_median_s"])

  counts = flops.iteration_flops(config)
  reference = flops.reference_iteration_flops(config)
  result.update({
      "gflop_per_iteration": counts["total"] / 1e9,
      "gflop_per_iteration_2017_structure": reference["total"] / 1e9,
      "effective_gflops": counts["total"] / result["median_s"] / 1e9,
      "per_step_gflops": {name: counts[name] / per_step[name] / 1e9 for name in per_step},
      "tracing_counts": {k: f.experimental_get_tracing_count() for k, f in gan.step_functions().items()},
  })
  return result


def interleaved_peak_ratio(config, pairs):
  """Effective GFLOP/s over the conv2d peak, each iteration paired with a peak taken just before it.

  The CPU's speed drifts on a shared or frequency-scaled machine (peaks
  measured minutes apart here differed by up to 1.8x), so each iteration is
  compared with a peak measured seconds earlier and the median ratio is
  reported.
  """
  _, iteration = random_input_iteration(config)
  work = flops.iteration_flops(config)["total"]
  times, peaks = peak.timed_after_peaks(iteration, pairs)
  rates = [work / t / 1e9 for t in times]
  ratios = [rate / conv_peak for rate, conv_peak in zip(rates, peaks)]
  return {
      "pairs": pairs, "median_ratio": statistics.median(ratios), "min_ratio": min(ratios),
      "max_ratio": max(ratios), "conv_peaks_gflops": peaks, "effective_gflops": rates
  }


def normalization_ab(pairs):
  """Paper cifar iteration before and after the 2017 normalisation, timed alternately.

  "before": no discriminator batch norm, no feature matching, the mean
  objective; "after": the recipes' batch norm (moments per segment), feature
  matching (a real segment in the generator step) and logsumexp objective.
  Alternating the two cancels the machine's drift; the median per-pair ratio
  is reported.
  """
  _, before = random_input_iteration(gan_config("cifar", normalization=False))
  _, after = random_input_iteration(gan_config("cifar", normalization=True))
  times = {"before_s": [], "after_s": []}
  for _ in range(pairs):
    for key, fn in (("before_s", before), ("after_s", after)):
      start = time.perf_counter()
      fn()
      times[key].append(time.perf_counter() - start)
  ratios = [a / b for a, b in zip(times["after_s"], times["before_s"])]
  return {
      "pairs": pairs, **times, "median_before_s": statistics.median(times["before_s"]),
      "median_after_s": statistics.median(times["after_s"]), "median_ratio": statistics.median(ratios),
      "min_ratio": min(ratios), "max_ratio": max(ratios)
  }


def _iteration_with_formulations(config, formulation):
  """`random_input_iteration` whose conv layers were built with both BGAN_TF_CONV_*_GRADIENT=formulation."""
  variables = (kernel_choice.ENV_FORMULATION, kernel_choice.ENV_FILTER_FORMULATION)
  previous = {name: os.environ.get(name) for name in variables}
  os.environ.update({name: formulation for name in variables})
  try:
    gan, iteration = random_input_iteration(config)
  finally:
    for name, value in previous.items():
      if value is None:
        os.environ.pop(name)
      else:
        os.environ[name] = value
  return gan, iteration


def chosen_formulations(gan):
  """{conv layer: "input gradient / filter gradient" formulations} of one generator and one discriminator."""
  chosen = {}
  for model in (gan.generators[0], gan.discriminators[0]):
    convs = [layer for layer in model.body.layers if hasattr(layer, "input_gradient_formulation")]
    for index, layer in enumerate(convs, 1):
      chosen[f"{model.name}/{type(layer).__name__} {index}"] = (
          f"{layer.input_gradient_formulation} / {layer.filter_gradient_formulation}")
  return chosen


def input_gradient_ab(pairs):
  """Paper cifar iteration with the stock conv gradients and with the chosen formulations, alternately.

  Stock is TensorFlow's own input and filter gradient kernels everywhere;
  chosen is what `bgan_tf.kernel_choice` picks for each, per layer shape.

  Each pair is (conv peak, stock iteration, conv peak, chosen iteration), so
  both sides also get a ratio to a peak measured seconds before them. The
  median per-pair time ratio chosen / stock is reported (below 1: faster).
  """
  config = gan_config("cifar")
  _, stock = _iteration_with_formulations(config, "stock")
  gan, chosen = _iteration_with_formulations(config, "measure")
  work = flops.iteration_flops(config)["total"] / 1e9
  times, peaks = _alternate_after_peaks((("stock_s", stock), ("chosen_s", chosen)), pairs)
  return {
      "pairs": pairs, "formulations": chosen_formulations(gan), **times, "conv_peaks_gflops": peaks,
      **_ab_summary(times, peaks, {"stock_s": work, "chosen_s": work}, "stock", "chosen")
  }


def _alternate_after_peaks(named_iterations, pairs):
  """Times each of `named_iterations` `pairs` times in turn, each right after a conv peak.

  Returns:
    ({name: [seconds]}, {name: [GFLOP/s of the peak taken just before]}).
  """
  times = {name: [] for name, _ in named_iterations}
  peaks = {name: [] for name, _ in named_iterations}
  for _ in range(pairs):
    for name, fn in named_iterations:
      (t,), (p,) = peak.timed_after_peaks(fn, 1)
      times[name].append(t)
      peaks[name].append(p)
  return times, peaks


def _ab_summary(times, peaks, gflop, base, other):
  """Medians, per-pair ratios `other` / `base` and shares of the peak, of `_alternate_after_peaks`' results.

  Args:
    times, peaks: `_alternate_after_peaks`' lists, keyed "<name>_s".
    gflop: the GFLOP of one iteration, keyed the same way.
    base, other: the two names.
  """
  ratios = [a / b for a, b in zip(times[f"{other}_s"], times[f"{base}_s"])]
  return {
      f"median_{base}_s": statistics.median(times[f"{base}_s"]),
      f"median_{other}_s": statistics.median(times[f"{other}_s"]),
      f"median_ratio_{other}_over_{base}": statistics.median(ratios), "min_ratio": min(ratios),
      "max_ratio": max(ratios),
      # Each iteration's GFLOP/s over the conv peak measured just before it, median over iterations.
      **{
          f"{name}_ratio_to_peak":
              statistics.median(gflop[f"{name}_s"] / t / p for t, p in zip(times[f"{name}_s"], peaks[f"{name}_s"]))
          for name in (base, other)
      }
  }


def pairing_ab(pairs):
  """Paper cifar iteration with every generator paired with every discriminator, and by chain, alternately.

  "all" is the 2017 code's pairing (and the other timings' here); "chain"
  the paper's Algorithm 1 (theta_g^{j,m} scored by chain m's discriminators
  only), `run_bgan_semi`'s default since 2026-12-05, which gives each
  discriminator J fake batches instead of J x M.
  Each is timed right after a conv peak. Reported: both medians, the median
  per-pair ratio chain / all, each side's FLOPs and ratio to the peak.
  """
  config = gan_config("cifar")
  chain_config = dataclasses.replace(config, pairing="chain")
  _, every_pair = random_input_iteration(config)
  _, by_chain = random_input_iteration(chain_config)
  times, peaks = _alternate_after_peaks((("all_s", every_pair), ("chain_s", by_chain)), pairs)
  work = {"all_s": flops.iteration_flops(config)["total"] / 1e9,
          "chain_s": flops.iteration_flops(chain_config)["total"] / 1e9}
  return {
      "pairs": pairs, **times, "conv_peaks_gflops": peaks, "gflop": work,
      **_ab_summary(times, peaks, work, "all", "chain")
  }


def rss_growth(config, iterations):
  """RSS (MiB) every tenth of `iterations` training iterations with the real input pipeline."""
  gan = BayesianGAN(config)
  batch = config.batch_size
  dataset = _random_dataset(config)
  unlabeled = iter(data_lib.unlabeled_batches(dataset, batch, seed=0))
  labeled = iter(data_lib.labeled_batches(dataset, np.arange(batch * 4), batch, seed=0))
  marks, every, start = {}, max(1, iterations // 10), time.perf_counter()
  for it in range(1, iterations + 1):
    x_real = next(unlabeled)
    x_lab, y_lab = next(labeled)
    gan.discriminator_and_supervised_step(x_real, x_lab, y_lab)
    gan.generator_step(x_real=x_real)["gen_losses"].numpy()
    if it % every == 0 or it == iterations:
      marks[it] = _rss_mib()
      print(
          f"  growth: iteration {it}/{iterations}, RSS {marks[it]:.1f} MiB, "
          f"{it / (time.perf_counter() - start):.2f} it/s", flush=True)
  return {
      "iterations": iterations, "rss_mib_at": marks,
      "growth_after_first_tenth_mib": marks[iterations] - marks[min(marks)],
      "tracing_counts": {k: f.experimental_get_tracing_count() for k, f in gan.step_functions().items()}
  }


def _rss_mib():
  with open("/proc/self/status") as f:
    for line in f:
      if line.startswith("VmRSS:"):
        return int(line.split()[1]) / 1024.0
  return float("nan")


def main(argv):
  del argv
  only = [
      (key, label, measure, pairs)
      for flag, key, label, measure, pairs in ((ONLY_INPUT_GRADIENT_AB, "input_gradient_ab", "conv-gradient A/B",
                                                input_gradient_ab, INPUT_GRADIENT_AB_PAIRS),
                                               (ONLY_NORM_AB, "normalization_ab", "normalisation A/B",
                                                normalization_ab, NORM_AB_PAIRS),
                                               (ONLY_PAIRING_AB, "pairing_ab", "pairing A/B", pairing_ab,
                                                PAIRING_AB_PAIRS))
      if flag.value
  ]
  if only:
    results = {"machine": machine_info()}
    for key, label, measure, pairs in only:
      results[key] = measure(pairs.value)
      print(f"{label}:", json.dumps(results[key]), flush=True)
    if OUT.value:
      run_files.write_json(OUT.value, results)
    return
  results = {"machine": machine_info(), "peaks_before": measure_peaks(), "configs": {}, "scaling": {}}
  print("peaks:", json.dumps(results["peaks_before"]), flush=True)
  for name in CONFIG_NAMES.value:
    result = time_config(gan_config(name), ITERS.value, WARMUP.value)
    results["configs"][name] = result
    print(
        f"{name}: {result['median_s']:.3f} s/iter, {result['effective_gflops']:.1f} GFLOP/s effective, "
        f"host overhead {100 * result['host_overhead_fraction']:.1f}%", flush=True)
  for setting in SCALING.value:
    num_gen, num_mcmc = (int(v) for v in setting.split("x"))
    result = time_config(gan_config("cifar", num_gen, num_mcmc), ITERS.value, WARMUP.value, with_pipeline=False)
    results["scaling"][setting] = result
    print(f"cifar {setting}: {result['median_s']:.3f} s/iter, {result['effective_gflops']:.1f} GFLOP/s",
          flush=True)
  if PAIRS.value:
    results["cifar_interleaved_peak_ratio"] = interleaved_peak_ratio(gan_config("cifar"), PAIRS.value)
    print("cifar effective / conv peak, interleaved:",
          {k: v for k, v in results["cifar_interleaved_peak_ratio"].items() if "ratio" in k}, flush=True)
  if NORM_AB_PAIRS.value:
    results["normalization_ab"] = normalization_ab(NORM_AB_PAIRS.value)
    print("normalisation A/B:", json.dumps(results["normalization_ab"]), flush=True)
  if INPUT_GRADIENT_AB_PAIRS.value:
    results["input_gradient_ab"] = input_gradient_ab(INPUT_GRADIENT_AB_PAIRS.value)
    print("conv-gradient A/B:", json.dumps(results["input_gradient_ab"]), flush=True)
  if PAIRING_AB_PAIRS.value:
    results["pairing_ab"] = pairing_ab(PAIRING_AB_PAIRS.value)
    print("pairing A/B:", json.dumps(results["pairing_ab"]), flush=True)
  if MIXED.value:
    result = time_config(gan_config("cifar", precision="mixed_bfloat16"), ITERS.value, WARMUP.value,
                         with_pipeline=False)
    results["cifar_mixed_bfloat16"] = result
    print(f"cifar mixed_bfloat16: {result['median_s']:.3f} s/iter", flush=True)
  results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
  if GROWTH_ITERS.value:
    key = f"rss_growth_{GROWTH_CONFIG.value}"
    results[key] = rss_growth(gan_config(GROWTH_CONFIG.value), GROWTH_ITERS.value)
    print("rss growth:", results[key], flush=True)
  results["peaks_after"] = measure_peaks()
  print("peaks after:", json.dumps(results["peaks_after"]), flush=True)
  if OUT.value:
    run_files.write_json(OUT.value, results)


if __name__ == "__main__":
  app.run(main)
