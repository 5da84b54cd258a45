"""One configuration's training iteration under environment variants, in fresh processes, alternating.

Some settings are fixed for a whole process when TensorFlow starts, above all
`TF_ENABLE_ONEDNN_OPTS` (oneDNN's kernels or Eigen's), so an A/B of them
cannot run in one process as `speed.py`'s A/Bs do. This program starts one
child process per (round, variant), alternating the variants within each
round so that a slow spell of the host hits them alike. Each child builds
the `bench/configs.py` configuration, runs two warm-up iterations (the
first call: build, tracing, the kernel choice if not cached), then times
--iters samples of --repeat iterations, each right after a conv peak
(`peak.timed_after_peaks`),
and reports them as one JSON line. The parent prints and saves every
child's record and, per variant, the median iteration, its ratio to the
peak and the per-round ratio to the first variant.

  python bench/env_ab.py --config=cifar --rounds=3 --iters=3 \
      --variant=eigen:TF_ENABLE_ONEDNN_OPTS=0 --variant=onednn:TF_ENABLE_ONEDNN_OPTS=1 \
      --out=bench/results/speed/onednn_ab_avx2.json

A variant is `name:NAME=value ...` (bench/readme_ab.py's syntax; flags are
not allowed here).
"""

import json
import os
import statistics
import subprocess
import sys
import time

from absl import app, flags

from readme_ab import parse_variant, save_and_show  # noqa: E402  (bench/readme_ab.py)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the parent loads TensorFlow only for machine_info

__all__ = ["summarize"]


def _define_flags():
  """Defined only when the program runs (tests import `summarize` beside other bench programs)."""
  global CONFIG, ROUNDS, ITERS, REPEAT, VARIANTS, OUT, CHILD  # pylint: disable=global-statement
  CONFIG = flags.DEFINE_string("config", "cifar", "A configuration of bench/configs.py.")
  ROUNDS = flags.DEFINE_integer("rounds", 3, "Rounds; each runs every variant once, in order.")
  ITERS = flags.DEFINE_integer("iters", 3, "Timed samples per child, each after a conv peak.")
  REPEAT = flags.DEFINE_integer("repeat", 1, "Iterations per timed sample (small configs: many); "
                                "its seconds per iteration are the sample's over this.", lower_bound=1)
  VARIANTS = flags.DEFINE_multi_string("variant", [], "name:NAME=value ... (environment variables).")
  OUT = flags.DEFINE_string("out", None, "Write the records and the summary as JSON here.")
  CHILD = flags.DEFINE_bool("child", False, "Internal: time the iterations in this process, print one JSON line.")


def summarize(records, work_gflop):
  """Per variant: median seconds per iteration, median ratio to the peak, and per-round ratios to the first.

  Args:
    records: the children's records, each {"variant", "round", "iteration_s": [...], "peaks_gflops": [...]}
      or, for a child that failed, without "iteration_s".
    work_gflop: FLOPs of one iteration, in GFLOP.
  """
  names = list(dict.fromkeys(r["variant"] for r in records))
  done = [r for r in records if r.get("iteration_s")]
  median_of = {(r["variant"], r["round"]): statistics.median(r["iteration_s"]) for r in done}
  summary = {}
  for name in names:
    mine = [r for r in done if r["variant"] == name]
    if not mine:
      summary[name] = {"children": 0}
      continue
    seconds = [t for r in mine for t in r["iteration_s"]]
    ratios = [work_gflop / t / p for r in mine for t, p in zip(r["iteration_s"], r["peaks_gflops"])]
    row = {"children": len(mine), "median_s": statistics.median(seconds), "min_s": min(seconds),
           "max_s": max(seconds), "median_ratio_to_peak": statistics.median(ratios),
           "first_call_s": [r["first_call_s"] for r in mine]}
    per_round = [median_of[(name, rnd)] / median_of[(names[0], rnd)] for (n, rnd) in median_of
                 if n == name and (names[0], rnd) in median_of]
    if name != names[0] and per_round:
      row[f"over_{names[0]}_per_round"] = per_round
    summary[name] = row
  return summary


def _child():
  # Imported here: the parent must not start TensorFlow (its settings are the children's to choose).
  from configs import gan_config, random_input_iteration  # pylint: disable=g-import-not-at-top
  import flops  # pylint: disable=g-import-not-at-top
  import peak  # pylint: disable=g-import-not-at-top
  from bgan_tf import kernel_choice  # pylint: disable=g-import-not-at-top
  config = gan_config(CONFIG.value)
  start = time.perf_counter()
  _, iteration = random_input_iteration(config)  # builds, traces, runs twice
  first_call = time.perf_counter() - start

  def sample():
    for _ in range(REPEAT.value):
      iteration()

  times, peaks = peak.timed_after_peaks(sample, ITERS.value)
  times = [t / REPEAT.value for t in times]
  print(json.dumps({"first_call_s": round(first_call, 2), "iteration_s": times, "peaks_gflops": peaks,
                    "onednn": "on" if kernel_choice.onednn_enabled() else "off",
                    "work_gflop": flops.iteration_flops(config)["total"] / 1e9}), flush=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if CHILD.value:
    _child()
    return
  try:
    variants = [parse_variant(v) for v in VARIANTS.value]
  except ValueError as error:
    raise app.UsageError(str(error))
  if not variants or any(flags_ for _, flags_, _ in variants):
    raise app.UsageError("give at least one --variant=name:NAME=value (environment variables only)")
  here = os.path.dirname(os.path.abspath(__file__))
  records, work = [], None
  for rnd in range(ROUNDS.value):
    for name, _, env in variants:
      command = [sys.executable, os.path.join(here, "env_ab.py"), "--child", f"--config={CONFIG.value}",
                 f"--iters={ITERS.value}", f"--repeat={REPEAT.value}"]
      done = subprocess.run(command, cwd=here, capture_output=True, text=True, env={**os.environ, **env})
      record = {"variant": name, "env": env, "round": rnd, "utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
      lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
      if done.returncode == 0 and lines:
        record.update(json.loads(lines[-1]))
        work = record["work_gflop"]
      else:
        record["stderr_tail"] = done.stderr[-2000:]
      records.append(record)
      print(json.dumps(record), flush=True)
  from machine import machine_info  # pylint: disable=g-import-not-at-top  (imports TensorFlow: after the children)
  # machine_info's "onednn" is this parent's TensorFlow default; each record has its child's.
  save_and_show({"machine": machine_info(), "config": CONFIG.value, "records": records,
                 "summary": summarize(records, work) if work else {}}, OUT.value)


if __name__ == "__main__":
  _define_flags()
  app.run(main)
