"""One semi-supervised run in this process, the scores of its predictive, and their records.

Shared by `semi_supervised.py` (Table 1), `choose_defaults.py` (the
validation-split pilots that chose the `bgan_tf` recipe) and
`options_table.py`.
"""

import io
import json
import os
import statistics
import time

from absl import flags

__all__ = [
    "NonFinitePredictiveError", "SHARED_SETTINGS", "baseline_rows", "choose_kernel_library", "evaluate_run",
    "load_record", "mean_std", "paired_differences", "paired_tables", "predictive_scores", "run_one"
]


def load_record(path):
  """A results JSON ({"runs": [...], ...}); an empty record where none was written yet."""
  if os.path.isfile(path):
    with open(path) as f:
      return json.load(f)
  return {"runs": []}


def mean_std(values, digits=1):
  """"mean ± sample std" of `values` (std 0 for a single value)."""
  std = statistics.stdev(values) if len(values) > 1 else 0.0
  return f"{statistics.fmean(values):.{digits}f} ± {std:.{digits}f}"


def choose_kernel_library(dataset):
  """Chooses TensorFlow's kernel library as run_bgan_semi's --onednn=auto would for `dataset`.

  Call it before TensorFlow loads: it reads the choice once, when it loads,
  and in these benches it loads in-process before the first `run_one`.
  """
  from bgan_tf import cli
  cli.configure_onednn("auto", dataset)


def run_one(args):
  """Runs run_bgan_semi with `args` in this process (fresh flag values).

  Returns:
    (last results dict, wall seconds).
  """
  from bgan_tf import cli
  values = flags.FlagValues()
  names = cli.define_flags("semi", values)
  values(["run_bgan_semi"] + list(args))
  start = time.perf_counter()
  results = cli.main_train(values, "semi", names).results
  return results, time.perf_counter() - start


def predictive_scores(probs, labels, prefix):
  """{prefix_error, prefix_nll, prefix_ece, prefix_confidence} of predictive probabilities.

  Error, ECE and confidence are fractions. The confidence is the mean
  probability of the predicted class: below 1 - error the predictive is
  underconfident, above it overconfident (the ECE has no sign).
  """
  import classifier_metrics as metrics  # bench/classifier_metrics.py
  import numpy as np
  return {
      f"{prefix}_error": metrics.error_rate(probs, labels),
      f"{prefix}_nll": metrics.negative_log_likelihood(probs, labels),
      f"{prefix}_ece": metrics.expected_calibration_error(probs, labels),
      f"{prefix}_confidence": float(np.mean(np.max(probs, axis=1)))
  }


class NonFinitePredictiveError(ValueError):
  """A run ended with finite losses but a predictive that is not a probability (its weights blew up)."""


def evaluate_run(run_dir, dataset, batch_size):
  """Test error, NLL and ECE of a run's predictive and of its supervised baseline.

  The predictive averages the softmax over `posterior_discriminators()`:
  chains plus snapshots for the Bayesian GAN, the one discriminator of the ML
  GAN, the E discriminators of the ML ensemble.

  Returns:
    dict of floats (error and ECE as fractions, NLL in nats) and the number
    of discriminators averaged.

  Raises:
    NonFinitePredictiveError: the predictive has NaN or Inf entries.
  """
  import numpy as np
  import tensorflow as tf
  from bgan_tf import data as data_lib
  from bgan_tf.run_dir import restore_run
  run = restore_run(run_dir)
  models = run.posterior_discriminators()
  probs, supervised, labels = [], [], []
  for x, y in data_lib.eval_batches(dataset, batch_size):
    per_model = [tf.nn.softmax(model(x, training=False)).numpy().astype(np.float64) for model in models]
    probs.append(np.mean(per_model, axis=0))
    supervised.append(run.gan.classifier_predict_proba(x).numpy().astype(np.float64))
    labels.append(y.numpy())
  probs, supervised, labels = np.concatenate(probs), np.concatenate(supervised), np.concatenate(labels)
  if not np.all(np.isfinite(probs)):
    raise NonFinitePredictiveError(f"non-finite predictive probabilities at iteration {run.iteration}")
  return {
      **predictive_scores(probs, labels, "test"),
      **predictive_scores(supervised, labels, "supervised"), "num_models": len(models), "iteration": run.iteration
  }


# The settings every method of one table shares (the method's own, such as
# J, M or the ensemble size, are left out): runs compared across records
# must agree on these.
SHARED_SETTINGS = ("dataset", "num_layers", "gf_dim", "df_dim", "z_dim", "batch_size", "train_iter", "lr",
                   "lr_decay", "adam_lr", "recipe")


def baseline_rows(rows, other_rows, methods):
  """The rows of `other_rows` whose method is in `methods`, checked against `rows`' settings.

  For a record that holds Bayesian runs only (a second Bayesian size), so its
  paired differences can use the baselines of the main table. Every run of
  both must share `SHARED_SETTINGS`; a difference is a ValueError naming it,
  since a paired difference across settings would mean nothing.
  """
  chosen = [r for r in other_rows if r["method"] in methods]
  seen = {}
  for r in list(rows) + chosen:
    for key in SHARED_SETTINGS:
      value = r["settings"].get(key)
      if seen.setdefault(key, value) != value:
        raise ValueError(f"the runs differ in {key} ({seen[key]!r} and {value!r}); "
                         "paired differences need the same settings")
  return chosen


def paired_tables(rows, baselines, names, method="bayes", baseline_methods=("ml_ensemble", "ml")):
  """`paired_differences` of `method` against each of `baseline_methods` that ran.

  `baselines` (from `baseline_rows`) add the runs of another record for the
  methods `rows` lack, so a record of Bayesian runs only gets its baselines
  from the main table. `names` maps each method to its display name.
  """
  own = {r["method"] for r in rows}
  pool = list(rows) + [b for b in baselines if b["method"] not in own]
  return "".join(
      paired_differences(pool, method, baseline, names[method], names[baseline])
      for baseline in baseline_methods
      if any(r["method"] == baseline for r in pool))


def paired_differences(rows, method, baseline, method_name, baseline_name):
  """A markdown table of `method` minus `baseline` per (N, seed) where both ran.

  `rows` are runs.json records of one data set (N, method, seed, test_error,
  test_nll, test_ece); the table gives the mean ± standard error over seeds.

  Seeds share the labeled subset and every stream, so the paired difference
  removes the seed's own difficulty (the largest part of the spread).
  """
  out = io.StringIO()
  out.write(f"**{method_name} minus {baseline_name}, per seed (mean ± standard error over seeds; "
            "error and ECE in points)**\n\n")
  out.write("| N | seeds | error | NLL | ECE | seeds where the error is lower / equal / higher |\n")
  out.write("|---|---|---|---|---|---|\n")
  for size in sorted({r["N"] for r in rows}):
    ours = {r["seed"]: r for r in rows if r["N"] == size and r["method"] == method}
    theirs = {r["seed"]: r for r in rows if r["N"] == size and r["method"] == baseline}
    seeds = sorted(set(ours) & set(theirs))
    if not seeds:
      continue
    cells = []
    for metric, scale, digits in (("error", 100, 2), ("nll", 1, 3), ("ece", 100, 2)):
      diffs = [scale * (ours[s][f"test_{metric}"] - theirs[s][f"test_{metric}"]) for s in seeds]
      sem = statistics.stdev(diffs) / len(diffs)**0.5 if len(diffs) > 1 else float("nan")
      cells.append(f"{statistics.fmean(diffs):+.{digits}f} ± {sem:.{digits}f}")
    # Equal test errors are equal fractions of the same test set; compare them to float tolerance.
    error_diffs = [ours[s]["test_error"] - theirs[s]["test_error"] for s in seeds]
    lower = sum(d < -1e-9 for d in error_diffs)
    higher = sum(d > 1e-9 for d in error_diffs)
    out.write(f"| {size} | {len(seeds)} | " + " | ".join(cells) +
              f" | {lower} / {len(seeds) - lower - higher} / {higher} |\n")
  out.write("\n")
  return out.getvalue()
