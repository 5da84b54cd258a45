"""One semi-supervised run in this process, the scores of its predictive, and their records.

Shared by `semi_supervised.py` (Table 1), `choose_defaults.py` (the
validation-split pilots that chose the `bgan_tf` recipe) and
`options_table.py`.
"""

import json
import os
import statistics
import time

from absl import flags

__all__ = ["NonFinitePredictiveError", "evaluate_run", "load_record", "mean_std", "predictive_scores", "run_one"]


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
  """{prefix_error, prefix_nll, prefix_ece} of predictive probabilities (error and ECE as fractions)."""
  import classifier_metrics as metrics  # bench/classifier_metrics.py
  return {
      f"{prefix}_error": metrics.error_rate(probs, labels),
      f"{prefix}_nll": metrics.negative_log_likelihood(probs, labels),
      f"{prefix}_ece": metrics.expected_calibration_error(probs, labels)
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
