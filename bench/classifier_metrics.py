"""Classifier quality of a predictive: error rate, negative log-likelihood and calibration.

Scores the semi-supervised benchmarks' predictive probabilities
(`bench/semi_runs.py`). All logarithms are natural, so the NLL is in nats.
The expected calibration error is TensorFlow Probability's
(`tfp.stats.expected_calibration_error`).

#### References

Guo, C. et al. On Calibration of Modern Neural Networks. ICML 2017 (expected
calibration error with equal-width bins).
"""

import numpy as np
import tensorflow_probability as tfp

__all__ = ["error_rate", "expected_calibration_error", "negative_log_likelihood"]


def error_rate(probs, labels) -> float:
  """Fraction of examples whose most probable class is not the label.

  Args:
    probs: `[n, K]` predicted class probabilities (or any scores: only the
      argmax is used; ties go to the lower class index).
    labels: `[n]` integer labels in 0..K-1.

  Returns:
    Error rate in [0, 1].
  """
  probs, labels = _as_predictions(probs, labels)
  return float(np.mean(np.argmax(probs, axis=1) != labels))


def negative_log_likelihood(probs, labels, eps: float = 1e-12) -> float:
  """Mean negative log probability of the true label, in nats.

  Args:
    probs: `[n, K]` predicted class probabilities.
    labels: `[n]` integer labels in 0..K-1.
    eps: floor on the label's probability, so a confident mistake costs
      -log(eps) (~27.6 nats by default) rather than infinity.

  Returns:
    The mean NLL.
  """
  probs, labels = _as_predictions(probs, labels)
  picked = probs[np.arange(labels.shape[0]), labels]
  return float(np.mean(-np.log(np.maximum(picked, eps))))


def expected_calibration_error(probs, labels, num_bins: int = 15) -> float:
  """Expected calibration error with equal-width confidence bins.

  With confidence c_i = max_k probs[i, k] and correctness a_i = [argmax = y_i],

    ECE = sum_b |B_b| / n * |mean_{i in B_b} a_i - mean_{i in B_b} c_i|,

  computed by `tfp.stats.expected_calibration_error`. Its bins are
  B_b = [b / num_bins, (b + 1) / num_bins), the last also taking c = 1 (the
  bins of `tf.histogram_fixed_width_bins`): a confidence exactly on an inner
  edge b / num_bins counts in the bin above it. (The numpy ECE this replaced
  used (b / num_bins, (b + 1) / num_bins]; the two agree wherever no
  confidence lies exactly on an inner edge.) TFP computes in float32 (it
  rejects float64 logits), so the value is good to about 1e-7.

  TFP takes logits; log(probs), floored at float32's smallest normal number so
  a zero probability stays finite, gives back `probs` under its softmax. The
  predicted class is the float64 argmax of `probs`, as in `error_rate`.

  Args:
    probs: `[n, K]` predicted class probabilities, each row summing to 1.
    labels: `[n]` integer labels in 0..K-1.
    num_bins: number of bins on [0, 1]. Default 15.

  Returns:
    ECE in [0, 1].
  """
  probs, labels = _as_predictions(probs, labels)
  if num_bins < 1:
    raise ValueError(f"num_bins must be positive, got {num_bins}")
  logits = np.log(np.maximum(probs, np.finfo(np.float32).tiny)).astype(np.float32)
  ece = tfp.stats.expected_calibration_error(num_bins, logits=logits, labels_true=labels,
                                             labels_predicted=np.argmax(probs, axis=1))
  return float(ece)


def _as_predictions(probs, labels):
  """Checked `([n, K] float64 probs, [n] int64 labels)`; a ValueError on bad input."""
  probs = np.asarray(probs, dtype=np.float64)
  labels = np.asarray(labels)
  if probs.ndim != 2:
    raise ValueError(f"probs must be [n, K], got shape {probs.shape}")
  if labels.shape != probs.shape[:1]:
    raise ValueError(f"labels must be [{probs.shape[0]}], got shape {labels.shape}")
  if labels.size and not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
  if labels.size and (labels.min() < 0 or labels.max() >= probs.shape[1]):
    raise ValueError(f"labels must lie in 0..{probs.shape[1] - 1}")
  if probs.shape[0] == 0:
    raise ValueError("no examples")
  return probs, labels.astype(np.int64)
