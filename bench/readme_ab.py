"""The README's main command under several flag variants: accuracy and wall time, interleaved.

Reads the `run_bgan_semi` command from README.md's quick start (so it is
always the command users run), adds each variant's flags, a seed and a run
folder, and runs it as a fresh process, alternating the variants within each
seed so that a slow spell of the host hits them alike. For every run it
records the wall time (start-up included) and, from the run's last
`results_<iter>.json`, the test accuracy of the posterior predictive, of the
chains and of the supervised-only classifier, and the lowest sample
diversity of the generator samples.

  python bench/readme_ab.py --variant=float32: --variant=mixed_bfloat16:--precision=mixed_bfloat16 \
      --seeds=2222,1,2 --out=bench/results/speed/readme_bf16_ab.json

A variant is `name:words`, its words separated by spaces: flags (`--x=1`)
and environment variables for that process (`NAME=value`, e.g.
`TF_ENABLE_ONEDNN_OPTS=0` for TensorFlow's Eigen kernels). None is allowed:
the README command as it is. The README command's own `--out_dir` is
replaced by --work_dir.

  python bench/readme_ab.py --variant=eigen:TF_ENABLE_ONEDNN_OPTS=0 --variant=onednn:TF_ENABLE_ONEDNN_OPTS=1
"""

import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

from absl import app, flags

from machine import machine_info  # noqa: E402  (bench/machine.py)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README_PREFIX = "python3 -m pip install -e . && run_bgan_semi "


def _define_flags():
  """The program's flags; defined only when it runs, so tests can import its helpers beside
  other bench programs that define flags of the same names (--seeds, --out)."""
  global VARIANTS, SEEDS, WORK_DIR, OUT  # pylint: disable=global-statement
  VARIANTS = flags.DEFINE_multi_string("variant", [],
                                       "name:words, space-separated flags and NAME=value environment variables.")
  SEEDS = flags.DEFINE_list("seeds", ["2222"], "--random_seed of each round (2222 is the programs' default).")
  WORK_DIR = flags.DEFINE_string("work_dir", "/tmp/bgan_bench/readme_ab", "Run folders go here.")
  OUT = flags.DEFINE_string("out", None, "Write the runs and the summary as JSON here.")


def readme_command(readme_text: str):
  """The flags of the README's `run_bgan_semi` quick-start command, without `--out_dir`.

  Raises:
    ValueError: the README has no line starting with `README_PREFIX`.
  """
  for line in readme_text.splitlines():
    if line.startswith(README_PREFIX):
      return [f for f in shlex.split(line[len(README_PREFIX):]) if not f.startswith("--out_dir")]
  raise ValueError(f"README.md has no line starting with {README_PREFIX!r}")


_ENV_WORD = re.compile(r"^([A-Z_][A-Z0-9_]*)=(.*)$")


def parse_variant(text: str):
  """`name:words` -> (name, [flags], {environment variable: value}).

  Raises:
    ValueError: a missing name, or a word that is neither a flag nor NAME=value.
  """
  name, sep, rest = text.partition(":")
  if not sep or not name.strip():
    raise ValueError(f"--variant={text!r}: must be name:flags")
  flags_, env = [], {}
  for word in shlex.split(rest):
    match = _ENV_WORD.match(word)
    if word.startswith("--"):
      flags_.append(word)
    elif match:
      env[match.group(1)] = match.group(2)
    else:
      raise ValueError(f"--variant={text!r}: {word!r} is neither a flag nor NAME=value")
  return name.strip(), flags_, env


def last_results(run_dir: str):
  """The run's last `results_<iter>.json`, or None if it wrote none."""
  found = [(int(f[len("results_"):-len(".json")]), f)
           for f in os.listdir(run_dir) if f.startswith("results_") and f.endswith(".json")]
  if not found:
    return None
  with open(os.path.join(run_dir, max(found)[1])) as f:
    return json.load(f)


def summarize(runs):
  """Per variant: mean and spread of each figure over its runs."""
  summary = {}
  for name in dict.fromkeys(r["variant"] for r in runs):
    mine = [r for r in runs if r["variant"] == name and r["returncode"] == 0]
    row = {"runs": len(mine)}
    for key in ("wall_s", "posterior_acc", "chains_acc", "supervised_acc", "min_diversity"):
      values = [r[key] for r in mine if r.get(key) is not None]
      if values:
        row[key] = {"mean": statistics.mean(values), "min": min(values), "max": max(values)}
    summary[name] = row
  return summary


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    variants = [parse_variant(v) for v in VARIANTS.value] or [("readme", [], {})]
    with open(os.path.join(REPO, "README.md")) as f:
      base = readme_command(f.read())
  except (OSError, ValueError) as error:
    raise app.UsageError(str(error))
  runs = []
  for seed in SEEDS.value:
    for name, extra, env in variants:
      run_name = f"{name}_seed{seed}"
      command = [sys.executable, "-m", "bgan_tf.programs.run_bgan_semi", *base, *extra, f"--random_seed={seed}",
                 f"--out_dir={WORK_DIR.value}", f"--run_name={run_name}"]
      start = time.perf_counter()
      done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env={**os.environ, **env})
      wall = time.perf_counter() - start
      results = last_results(os.path.join(WORK_DIR.value, run_name)) if done.returncode == 0 else None
      record = {"variant": name, "flags": extra, "env": env, "seed": seed, "utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                "returncode": done.returncode, "wall_s": round(wall, 1)}
      if results:
        record.update(iteration=results.get("iteration"), posterior_acc=results.get("posterior_acc"),
                      chains_acc=results.get("semi_supervised_acc"), supervised_acc=results.get("supervised_acc"),
                      min_diversity=min(results.get("sample_diversity") or [float("nan")]))
      else:
        record["stderr_tail"] = done.stderr[-2000:]
      runs.append(record)
      print(json.dumps(record), flush=True)
  save_and_show({"machine": machine_info(), "readme_flags": base, "runs": runs, "summary": summarize(runs)},
                OUT.value)


def save_and_show(result, out):
  """Writes `result` as JSON to `out` (if given; atomically) and prints its summary."""
  if out:
    from bgan_tf import run_files  # pylint: disable=g-import-not-at-top
    run_files.write_json(out, result)
  print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
  _define_flags()
  app.run(main)
