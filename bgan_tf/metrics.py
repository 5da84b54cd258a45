"""Sample diversity: the mode-collapse signal training reports for each generator sample.

`sample_diversity` compares the spread of a generator's samples with that of
real data (mean pairwise L2 distance, `mean_pairwise_distance`); `bgan_tf.train`
logs it with every evaluation. The synthetic experiment's metric lives in
`bgan_tf.synthetic`; the benchmarks' metrics (mode coverage, classifier
quality) in `bench/`.
"""

import numpy as np

__all__ = ["mean_pairwise_distance", "sample_diversity"]


def mean_pairwise_distance(x) -> float:
  """Mean L2 distance between all pairs of distinct rows of `x` `[n, ...]` (n >= 2)."""
  flat = np.asarray(x, np.float64).reshape(len(x), -1)
  if len(flat) < 2:
    raise ValueError("mean_pairwise_distance needs at least 2 examples")
  squared = np.sum(flat**2, axis=1)
  d2 = np.maximum(squared[:, None] + squared[None, :] - 2.0 * flat @ flat.T, 0.0)
  n = len(flat)
  return float(np.sum(np.sqrt(d2)) / (n * (n - 1)))


def sample_diversity(samples, reference) -> float:
  """A generator sample's spread relative to real data: collapse shows as ~0.

  The mean pairwise L2 distance between the samples, divided by the same for
  a batch of real examples: about 1 for samples as varied as the data, near
  0 for one image repeated (mode collapse).

  Args:
    samples: `[n, ...]` samples of one generator.
    reference: `[m, ...]` real examples on the same scale.

  Returns:
    The ratio, >= 0.
  """
  return mean_pairwise_distance(samples) / max(mean_pairwise_distance(reference), 1e-12)
