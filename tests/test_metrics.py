"""Sample diversity against hand-computed values."""

import numpy as np
import pytest

from bgan_tf import metrics


def test_sample_diversity_is_zero_for_a_collapsed_generator_and_one_for_the_data():
  rng = np.random.default_rng(0)
  real = rng.uniform(-1, 1, size=(64, 8, 8, 1))
  assert metrics.sample_diversity(real, real) == pytest.approx(1.0)
  collapsed = np.repeat(real[:1], 64, axis=0)
  assert metrics.sample_diversity(collapsed, real) == pytest.approx(0.0, abs=1e-6)
  assert metrics.sample_diversity(real * 0.5, real) == pytest.approx(0.5)
  # Pairwise distances by hand for three points.
  points = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
  assert metrics.mean_pairwise_distance(points) == pytest.approx((5.0 + 1.0 + np.sqrt(18.0)) / 3)
