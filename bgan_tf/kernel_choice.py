"""Which formulation of a convolution's gradients is fastest here: measured once per shape, cached on disk.

The speed of TensorFlow's `Conv2DBackpropInput` depends on the CPU and the
build far more than the forward conv does. With oneDNN (TensorFlow's default
on AVX-512 CPUs) it runs near the conv rate; without it (the default on
AVX2-only CPUs) maps of 8x8 and smaller run 10-50x slower
(docs/BENCHMARKS.md §3). So `bgan_tf.conv_layers` asks `choose` for each
layer shape, and `choose` times the formulations of
`bgan_tf.conv_gradients` on that shape, on this machine:

* each formulation is traced once, run once to warm up, then timed
  `REPEATS` times on a batch of `MEASURE_BATCH`, in round-robin order so that
  a spell of host noise hits every formulation alike; the best time counts;
* "stock" is kept unless another formulation is at least `MARGIN` times
  faster, so a close race never trades TensorFlow's own kernel (and its
  numerics) for a noisy win, and wherever stock takes under
  `MIN_STOCK_SECONDS` (small layers, where per-op overhead decides; stock
  is timed first, and there the others are not timed at all);
* the answer is cached in this process and in a JSON file keyed by CPU
  model, TensorFlow version, whether oneDNN is on (and its instruction-set
  cap, if one is set), so later runs on this machine (a resumed run, the
  export) make the same choice without timing again. The file is
  `$BGAN_TF_CACHE_DIR/kernel_choice.json`, by default under `$XDG_CACHE_HOME`
  or `~/.cache/bgan_tf`; if it cannot be written, the choice is kept for this
  process only.

The filter gradient (`Conv2DBackpropFilter`) is chosen the same way, apart:
with oneDNN on the AVX2 EPYC it ran the paper's 4x4 maps at 35-47% of the conv
peak, where their im2col and one matrix product ran about twice as fast
(docs/BENCHMARKS.md §3, "The filter gradient as im2col and one matrix product").
Its entries in the cache file carry the filter formulations in their key.

The input gradient's "nchw" formulation is TensorFlow's kernel on
channels-first tensors, which only oneDNN (and the GPUs) implement: it is a
candidate only where oneDNN runs (`formulations`).

`BGAN_TF_CONV_INPUT_GRADIENT=stock|subpixel|phases|matmul|nchw` and
`BGAN_TF_CONV_FILTER_GRADIENT=stock|matmul` force one formulation everywhere
(and skip the measurement); `measure`, the default, chooses. On a machine
with a GPU nothing is measured: cuDNN's kernels are used.
"""

import functools
import json
import os
import platform
import threading
import time
from typing import Dict, NamedTuple, Tuple

import tensorflow as tf
from absl import logging

from bgan_tf import conv_gradients
from bgan_tf.kernel_override import (  # the overrides, part of this API
    ENV_FILTER_FORMULATION, ENV_FORMULATION, GRADIENTS, forced_formulation)
from bgan_tf import run_files
from bgan_tf.errors import ConfigError

__all__ = [
    "ConvShape", "ENV_FILTER_FORMULATION", "ENV_FORMULATION", "MARGIN", "MIN_STOCK_SECONDS", "cache_path",
    "check_forced_formulations", "choose", "forced_formulation", "formulations", "machine_key", "measure",
    "onednn_enabled", "onednn_isa_cap"
]

ENV_CACHE_DIR = "BGAN_TF_CACHE_DIR"
# Representative of the discriminator step's big batches, which the
# formulations run in pieces of `conv_gradients.CHUNK`.
MEASURE_BATCH = 256
REPEATS = 3
MARGIN = 1.25
# Below this (stock, at MEASURE_BATCH) a layer's input gradient costs little
# either way, its timing is mostly per-op overhead and noise, and the other
# formulations' extra ops cost more than they save: the README's digits
# command ran 58.7 s with its 4x4 layer switched to "matmul" (stock 1.09 ms
# against 0.84 on the AVX-512 machine) and 48.2 s with stock.
MIN_STOCK_SECONDS = 0.005

_clock = time.perf_counter  # what `measure` times with (a test replaces it)
# How `measure` times them (part of the cache key): round-robin since 2026-12-04.
_TIMING = "round-robin"
_memory: Dict[str, str] = {}
_lock = threading.Lock()


class ConvShape(NamedTuple):
  """One convolution's shape, all a formulation's speed depends on but the batch."""
  input_hw: Tuple[int, int]
  in_channels: int
  out_channels: int
  kernel_hw: Tuple[int, int]
  stride: int
  padding: str
  dtype: str

  def key(self) -> str:
    return (f"{self.input_hw[0]}x{self.input_hw[1]}x{self.in_channels}->{self.out_channels}"
            f"_k{self.kernel_hw[0]}x{self.kernel_hw[1]}_s{self.stride}_{self.padding}_{self.dtype}")


def onednn_enabled() -> bool:
  """Whether TensorFlow runs its oneDNN kernels in this process (TF_ENABLE_ONEDNN_OPTS or the CPU's default)."""
  try:
    from tensorflow.python.util import _pywrap_util_port  # pylint: disable=g-import-not-at-top
    return bool(_pywrap_util_port.IsMklEnabled())
  except (ImportError, AttributeError):
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "") == "1"


def _cpu_model() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=None)  # fixed for the process; asked once per conv layer built
def machine_key() -> str:
  """What the measured choice depends on besides the shape: CPU, TensorFlow, oneDNN, the candidates."""
  # The formulations and the way they are timed are part of the key: adding one, or timing them
  # otherwise, measures every shape again.
  onednn = "on" if onednn_enabled() else "off"
  if onednn == "on" and onednn_isa_cap():
    onednn += f" (isa <= {onednn_isa_cap()})"  # capped, oneDNN runs another CPU kind's kernels
  return (f"{_cpu_model()} | tensorflow {tf.__version__} | onednn {onednn}"
          f" | {'/'.join(conv_gradients.FORMULATIONS)} | {_TIMING}")


def onednn_isa_cap() -> str:
  """The instruction-set cap oneDNN was given (`ONEDNN_MAX_CPU_ISA`, e.g. "AVX2"), or "" for none.

  With a cap, an AVX-512 machine runs the kernels oneDNN runs on an AVX2-only
  CPU; `bench/` uses it to measure that kind's oneDNN kernels on this one.
  """
  for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
    value = os.environ.get(name, "").strip().upper()
    if value and value != "ALL":
      return value
  return ""


def cache_path() -> str:
  base = os.environ.get(ENV_CACHE_DIR) or os.path.join(
      os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "bgan_tf")
  return os.path.join(base, "kernel_choice.json")


def _entry_key(shape: ConvShape, gradient: str) -> str:
  """The cache entry of `shape`'s `gradient` under this machine's key."""
  if gradient == "input":
    return shape.key()  # as before the filter gradient was chosen too: old caches stay valid
  return f"filter gradient ({'/'.join(conv_gradients.FILTER_FORMULATIONS)}) {shape.key()}"


def formulations(gradient: str = "input", dtype: str = "float32") -> Tuple[str, ...]:
  """The formulations of `gradient` ("input" or "filter") for `dtype` that run in this process.

  "nchw" needs oneDNN, and float32: TensorFlow 2.21's oneDNN registers no
  channels-first bfloat16 input gradient on CPUs, and Eigen's refuses it.
  """
  if gradient not in GRADIENTS:
    raise ValueError(f"gradient must be one of {tuple(GRADIENTS)}, got {gradient!r}")
  names = GRADIENTS[gradient][1]
  return names if onednn_enabled() and dtype == "float32" else tuple(name for name in names if name != "nchw")


def _require_runnable(gradient: str, formulation: str, dtype: str) -> None:
  if formulation not in formulations(gradient, dtype) and not tf.config.list_logical_devices("GPU"):
    raise ConfigError(f"{GRADIENTS[gradient][0]}={formulation}: TensorFlow's CPU kernel takes channels-first "
                      "tensors only in float32 with oneDNN (TF_ENABLE_ONEDNN_OPTS=1, or the programs' --onednn=on)")


def check_forced_formulations(dtype: str = "float32") -> None:
  """Refuses, before any work, a formulation the environment forces that cannot run in this process.

  Raises:
    ConfigError: e.g. BGAN_TF_CONV_INPUT_GRADIENT=nchw without oneDNN.
  """
  for gradient in GRADIENTS:
    forced = forced_formulation(gradient)
    if forced is not None:
      _require_runnable(gradient, forced, dtype)


def measure(shape: ConvShape, batch: int = MEASURE_BATCH, repeats: int = REPEATS, stop_below: float = None,
            gradient: str = "input") -> Dict[str, float]:
  """Best wall seconds of each formulation of `shape`'s `gradient` (random inputs, eager context).

  Args:
    shape: the convolution.
    batch: examples in the timed gradient.
    repeats: timed runs of each formulation after its warm-up one, in
      round-robin rounds; the best counts. Stock is first timed `repeats`
      times alone, to decide whether to stop, and those runs count too.
    stop_below: "stock" is timed first, and if it takes under this many
      seconds the others are not traced or timed (`_pick` keeps stock there
      anyway). None means `MIN_STOCK_SECONDS`; 0 times every formulation.
    gradient: "input" (`conv_gradients.conv2d_input_gradient`) or "filter"
      (`conv_gradients.conv2d_filter_gradient`).

  Returns:
    Seconds by formulation name: all of them, or only "stock" when it was
    fast enough to stop.
  """
  candidates = formulations(gradient, shape.dtype)
  if stop_below is None:
    stop_below = MIN_STOCK_SECONDS
  out_hw = [
      conv_gradients.output_size_and_padding(size, k, shape.stride, shape.padding)[0]
      for size, k in zip(shape.input_hw, shape.kernel_hw)
  ]
  with tf.init_scope():
    dy = tf.cast(tf.random.stateless_normal([batch, *out_hw, shape.out_channels], seed=[1, 2]), shape.dtype)
    if gradient == "input":
      other = tf.cast(
          tf.random.stateless_normal([*shape.kernel_hw, shape.in_channels, shape.out_channels], seed=[3, 4]),
          shape.dtype)
    else:
      other = tf.cast(tf.random.stateless_normal([batch, *shape.input_hw, shape.in_channels], seed=[3, 4]),
                      shape.dtype)
    fns = {}

    def result(dy, other, formulation):
      if gradient == "input":
        return conv_gradients.conv2d_input_gradient(dy, other, shape.input_hw, shape.stride, shape.padding,
                                                    formulation)
      return conv_gradients.conv2d_filter_gradient(other, dy, shape.kernel_hw, shape.stride, shape.padding,
                                                   formulation)

    def traced(formulation):
      # Fetch one element: the whole result is computed, and no copy is timed. Traced once,
      # by `get_concrete_function`: every formulation and shape is a graph of its own, and
      # calling one `tf.function` per graph made TensorFlow warn of "excessive retracing".
      return tf.function(lambda dy, other: tf.reshape(result(dy, other, formulation), [-1])[0],
                         jit_compile=False).get_concrete_function(dy, other)

    def seconds_of_one_run(formulation):
      start = _clock()
      fns[formulation](dy, other).numpy()
      return _clock() - start

    fns["stock"] = traced("stock")
    fns["stock"](dy, other).numpy()
    seconds = {"stock": min(seconds_of_one_run("stock") for _ in range(repeats))}
    # The digits layers stop here: tracing and timing the three others took
    # most of the README command's first-run measurement (about 17 s on AVX2).
    if seconds["stock"] < stop_below:
      return seconds
    for formulation in candidates:
      if formulation != "stock":
        fns[formulation] = traced(formulation)
        fns[formulation](dy, other).numpy()  # traced and warmed up before any is timed
    # Round-robin, stock included again: a host that slows down for a while slows every
    # formulation alike. Timed one after another, a slow spell during stock's runs once
    # chose subpixel for 16x16x96 -> 192 on the AVX2 machine (88 ms against 123), which
    # interleaved runs then timed 14% slower than stock (80 against 70 ms).
    for _ in range(repeats):
      for formulation in fns:
        seconds[formulation] = min(seconds.get(formulation, float("inf")), seconds_of_one_run(formulation))
  return seconds


def _pick(seconds: Dict[str, float]) -> str:
  """The formulation to use given `measure`'s seconds (which may hold only "stock")."""
  fastest = min(seconds, key=seconds.get)
  if seconds["stock"] < MIN_STOCK_SECONDS or seconds["stock"] < MARGIN * seconds[fastest]:
    return "stock"
  return fastest


def _read_cache(path):
  try:
    with open(path) as f:
      record = json.load(f)
    return record if isinstance(record, dict) else {}
  except (OSError, ValueError):
    return {}  # missing or damaged: measure again and rewrite it


def choose(shape: ConvShape, gradient: str = "input") -> str:
  """The formulation of `shape`'s `gradient` ("input" or "filter") on this machine (see the module docstring)."""
  candidates = formulations(gradient, shape.dtype)
  forced = forced_formulation(gradient)
  if forced is not None:
    _require_runnable(gradient, forced, shape.dtype)
    return forced
  if tf.config.list_logical_devices("GPU"):
    return "stock"
  machine, key = machine_key(), _entry_key(shape, gradient)
  memory_key = f"{machine} | {key}"
  with _lock:
    if memory_key in _memory:
      return _memory[memory_key]
    path = cache_path()
    record = _read_cache(path)
    entries = record.get(machine)
    entry = entries.get(key) if isinstance(entries, dict) else None
    if isinstance(entry, dict) and entry.get("choice") in candidates:
      _memory[memory_key] = entry["choice"]
      return entry["choice"]
    seconds = measure(shape, gradient=gradient)
    choice = _pick(seconds)
    _memory[memory_key] = choice
    logging.info("conv %s gradient for %s: %s (measured ms: %s)", gradient, shape.key(), choice,
                 ", ".join(f"{name} {1e3 * s:.2f}" for name, s in seconds.items()))
    record = _read_cache(path)  # another process may have added shapes meanwhile
    if not isinstance(record.get(machine), dict):
      record[machine] = {}
    record[machine][key] = {"choice": choice, "seconds": seconds}
    try:
      os.makedirs(os.path.dirname(path), exist_ok=True)
      run_files.write_json(path, record)
    except OSError as error:
      logging.warning("cannot cache the kernel choice in %s (%s); it holds for this process only", path, error)
    return choice
