"""Metrics against closed forms, hand-computed values and known-answer samples."""

import time

import numpy as np
import pytest

from bgan_tf import metrics

LOG2 = np.log(2.0)


def _gaussian_blob(n, centre, std, seed):
  return np.asarray(centre, dtype=float) + std * np.random.default_rng(seed).standard_normal((n, 2))


def _clusters(n, seed, only=None, dim=20):
  """n points from 10 well-separated clusters in `dim` dimensions (or one)."""
  means = 3.0 * np.random.default_rng(123).standard_normal((10, dim))
  rng = np.random.default_rng(seed)
  which = rng.integers(10, size=n) if only is None else np.full(n, only)
  return means[which] + 0.5 * rng.standard_normal((n, dim))


# ---------------------------------------------------------------------------
# Jensen-Shannon divergence
# ---------------------------------------------------------------------------


def test_js_of_a_distribution_with_itself_is_zero_and_scale_free():
  p = np.random.default_rng(0).random((7, 5))
  assert metrics.js_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
  assert metrics.js_divergence(p, 3.0 * p) == pytest.approx(0.0, abs=1e-12)


def test_js_is_symmetric_and_bounded_by_log_2():
  rng = np.random.default_rng(1)
  for _ in range(20):
    p, q = rng.random(30) ** 4, rng.random(30) ** 4
    value = metrics.js_divergence(p, q)
    assert value == pytest.approx(metrics.js_divergence(q, p), abs=1e-14)
    assert 0.0 <= value <= LOG2
  assert metrics.js_divergence([1.0, 0.0], [0.0, 1.0]) == pytest.approx(LOG2, abs=1e-12)


def test_js_hand_computed():
  p, q = np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.5, 0.5])
  # m = [0.25, 0.5, 0.25]; KL(p || m) = 0.5 log(0.5 / 0.25) + 0.5 log(0.5 / 0.5)
  # = 0.5 log 2, and KL(q || m) is the same by symmetry.
  kl = 0.5 * LOG2
  assert metrics.js_divergence(p, q) == pytest.approx(0.5 * kl + 0.5 * kl, rel=1e-12)


def test_js_matches_scipy():
  distance = pytest.importorskip("scipy.spatial.distance")
  rng = np.random.default_rng(2)
  for _ in range(10):
    p, q = rng.random(50), rng.random(50)
    p[rng.random(50) < 0.2] = 0.0
    assert metrics.js_divergence(p, q) == pytest.approx(distance.jensenshannon(p, q) ** 2, rel=1e-9)


@pytest.mark.parametrize("p, q", [
    ([0.5, 0.5], [1.0, 0.0, 0.0]),  # Shapes differ.
    ([-0.1, 1.1], [0.5, 0.5]),      # Negative mass.
    ([0.0, 0.0], [0.5, 0.5]),       # No mass.
    ([np.nan, 1.0], [0.5, 0.5]),
])
def test_js_rejects_invalid_input(p, q):
  with pytest.raises(ValueError):
    metrics.js_divergence(p, q)


# ---------------------------------------------------------------------------
# KDE on a grid
# ---------------------------------------------------------------------------


def test_kde_sums_to_one_and_peaks_at_the_points():
  points = _gaussian_blob(2000, (1.0, -2.0), 0.3, seed=0)
  density = metrics.kde_on_grid(points, (-4.0, -4.0), (4.0, 4.0), grid_size=81)
  assert density.shape == (81, 81)
  assert density.sum() == pytest.approx(1.0, abs=1e-12)
  assert np.all(density >= 0)
  # Node spacing 0.1; the layout is density[x index, y index].
  i, j = np.unravel_index(np.argmax(density), density.shape)
  nodes = np.linspace(-4.0, 4.0, 81)
  assert abs(nodes[i] - 1.0) <= 0.15 and abs(nodes[j] + 2.0) <= 0.15


def test_kde_matches_the_exact_gaussian_kde_at_the_nodes():
  rng = np.random.default_rng(3)
  points = np.concatenate([rng.standard_normal((400, 2)), 0.5 * rng.standard_normal((300, 2)) + 2])
  bandwidth = np.array([0.4, 0.25])
  nodes = np.linspace(-4.0, 5.0, 60)
  kx = np.exp(-0.5 * ((nodes[:, None] - points[None, :, 0]) / bandwidth[0]) ** 2)
  ky = np.exp(-0.5 * ((nodes[:, None] - points[None, :, 1]) / bandwidth[1]) ** 2)
  exact = kx @ ky.T
  exact /= exact.sum()
  binned = metrics.kde_on_grid(points, (-4.0, -4.0), (5.0, 5.0), grid_size=60, bandwidth=bandwidth)
  # Linear binning errs by O(cell^2 / bandwidth^2); the cell is 0.15 here.
  assert np.max(np.abs(binned - exact)) < 0.03 * exact.max()


def test_kde_of_a_single_repeated_point_is_a_one_cell_bump():
  density = metrics.kde_on_grid(np.zeros((50, 2)), (-1.0, -1.0), (1.0, 1.0), grid_size=21)
  assert density.sum() == pytest.approx(1.0)
  assert np.unravel_index(np.argmax(density), density.shape) == (10, 10)
  # Bandwidth floored at one cell: the neighbours get exp(-1/2) of the peak.
  assert density[11, 10] / density[10, 10] == pytest.approx(np.exp(-0.5), rel=1e-9)


def test_kde_drops_points_off_the_grid():
  inside = _gaussian_blob(500, (0.0, 0.0), 0.2, seed=4)
  with_outliers = np.concatenate([inside, [[50.0, 0.0], [0.0, -50.0]]])
  grid = ((-2.0, -2.0), (2.0, 2.0))
  a = metrics.kde_on_grid(inside, *grid, bandwidth=0.1)
  b = metrics.kde_on_grid(with_outliers, *grid, bandwidth=0.1)
  np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-15)
  with pytest.raises(ValueError, match="no point"):
    metrics.kde_on_grid(np.full((3, 2), 10.0), *grid)


def test_kde_is_fast():
  points = np.random.default_rng(5).standard_normal((10_000, 2))
  best = np.inf
  for _ in range(3):
    start = time.perf_counter()
    metrics.kde_on_grid(points, (-4.0, -4.0), (4.0, 4.0), grid_size=100)
    best = min(best, time.perf_counter() - start)
  assert best < 0.1


def test_kde_of_two_draws_of_one_distribution_agree_and_of_disjoint_clusters_do_not():
  grid = ((-6.0, -6.0), (6.0, 6.0))
  same_a = metrics.kde_on_grid(_gaussian_blob(5000, (0, 0), 1.0, seed=6), *grid)
  same_b = metrics.kde_on_grid(_gaussian_blob(5000, (0, 0), 1.0, seed=7), *grid)
  assert metrics.js_divergence(same_a, same_b) < 0.01
  left = metrics.kde_on_grid(_gaussian_blob(5000, (-3, 0), 0.5, seed=8), *grid)
  right = metrics.kde_on_grid(_gaussian_blob(5000, (3, 0), 0.5, seed=9), *grid)
  assert metrics.js_divergence(left, right) > 0.6


# ---------------------------------------------------------------------------
# PCA and the PCA JS metric
# ---------------------------------------------------------------------------


def _data_along(direction, n=500, seed=0):
  rng = np.random.default_rng(seed)
  direction = np.asarray(direction, dtype=float)
  return (5.0 + 3.0 * rng.standard_normal((n, 1)) * direction
          + 0.05 * rng.standard_normal((n, direction.size)))


def test_pca_recovers_a_known_direction():
  direction = np.array([0.0, 0.6, -0.8, 0.0])
  x = _data_along(direction)
  pca = metrics.fit_pca(x, num_components=2)
  assert pca.components.shape == (2, 4) and pca.mean.shape == (4,)
  # Largest-magnitude loading (-0.8) is made positive.
  np.testing.assert_allclose(pca.components[0], -direction, atol=0.01)
  np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(2), atol=1e-12)
  assert pca.explained_variance[0] == pytest.approx(np.var(x @ direction, ddof=1), rel=0.01)
  assert pca.explained_variance[1] < 0.01
  projected = metrics.pca_transform(pca, x)
  np.testing.assert_allclose(projected, pca.transform(x))
  np.testing.assert_allclose(projected.mean(axis=0), 0.0, atol=1e-12)


def test_pca_is_deterministic_under_sign_flips_and_row_order():
  x = np.random.default_rng(1).standard_normal((200, 6)) @ np.diag([5, 4, 3, 2, 1, 0.5])
  reference = metrics.fit_pca(x, 3).components
  # Negating the data flips the singular vectors LAPACK returns; the
  # convention must undo it.
  for variant in (x, -x, x[::-1], x + 100.0):
    np.testing.assert_allclose(metrics.fit_pca(variant, 3).components, reference, atol=1e-10)
  largest = reference[np.arange(3), np.argmax(np.abs(reference), axis=1)]
  assert np.all(largest > 0)


def test_pca_rejects_bad_input():
  with pytest.raises(ValueError):
    metrics.fit_pca(np.zeros((10, 2)), num_components=3)
  with pytest.raises(ValueError):
    metrics.fit_pca(np.zeros(10))
  pca = metrics.fit_pca(np.random.default_rng(0).standard_normal((10, 3)))
  with pytest.raises(ValueError):
    pca.transform(np.zeros((4, 5)))


def test_pca_js_of_two_draws_of_the_real_distribution_is_small():
  real = _clusters(2000, seed=1)
  assert metrics.pca_js_divergence(real, _clusters(2000, seed=2)) < 0.02


def test_pca_js_of_a_collapsed_generator_is_large():
  real = _clusters(2000, seed=1)
  # All mass on 1 of 10 separated clusters: JS = 0.53 nats in the limit.
  assert metrics.pca_js_divergence(real, _clusters(2000, seed=3, only=4)) > 0.45
  # Samples far off the real data's grid count as mass outside it, not as nothing.
  assert metrics.pca_js_divergence(real, _clusters(2000, seed=3) + 100.0) > 0.69


def test_pca_js_uses_a_given_projection():
  real, fake = _clusters(1000, seed=1), _clusters(1000, seed=5, only=0)
  pca = metrics.fit_pca(real, 2)
  assert metrics.pca_js_divergence(real, fake, pca=pca) == pytest.approx(
      metrics.pca_js_divergence(real, fake), abs=1e-12)
  with pytest.raises(ValueError):
    metrics.pca_js_divergence(real, fake, pca=metrics.fit_pca(real, 3))


# ---------------------------------------------------------------------------
# Mode coverage
# ---------------------------------------------------------------------------


def test_ring_and_grid_centres():
  ring = metrics.ring_modes(8, radius=2.0)
  assert ring.shape == (8, 2)
  np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0)
  np.testing.assert_allclose(ring[0], [2.0, 0.0])
  grid = metrics.grid_modes(5, spacing=2.0)
  assert grid.shape == (25, 2)
  assert sorted(set(grid[:, 0])) == [-4.0, -2.0, 0.0, 2.0, 4.0]
  np.testing.assert_allclose(grid.mean(axis=0), 0.0)


def test_sampler_is_seeded():
  centres = metrics.grid_modes()
  a = metrics.sample_ring_or_grid(centres, 0.05, 300, seed=7)
  np.testing.assert_array_equal(a, metrics.sample_ring_or_grid(centres, 0.05, 300, seed=7))
  assert a.shape == (300, 2)
  assert not np.array_equal(a, metrics.sample_ring_or_grid(centres, 0.05, 300, seed=8))


@pytest.mark.parametrize("centres", [metrics.ring_modes(), metrics.grid_modes()])
def test_samples_from_every_mode_cover_them_all(centres):
  samples = metrics.sample_ring_or_grid(centres, 0.02, 5000, seed=0)
  result = metrics.mode_coverage(samples, centres, std=0.02)
  assert result["modes_covered"] == len(centres)
  # P(|N(0, I_2)| <= 3) = 1 - exp(-4.5) = 0.989.
  assert result["high_quality_fraction"] > 0.97
  assert result["counts"].sum() == pytest.approx(0.989 * 5000, rel=0.01)


def test_samples_from_three_modes_cover_three():
  centres = metrics.ring_modes()
  samples = metrics.sample_ring_or_grid(centres[[0, 3, 5]], 0.02, 2000, seed=1)
  result = metrics.mode_coverage(samples, centres, std=0.02)
  assert result["modes_covered"] == 3
  assert set(np.flatnonzero(result["counts"])) == {0, 3, 5}
  assert result["high_quality_fraction"] > 0.97


def test_uniform_noise_is_low_quality():
  noise = np.random.default_rng(2).uniform(-3, 3, size=(5000, 2))
  result = metrics.mode_coverage(noise, metrics.ring_modes(), std=0.02)
  # 8 discs of radius 0.06 cover 0.25% of the square.
  assert result["high_quality_fraction"] < 0.02


def test_min_count_rule():
  centres = metrics.ring_modes()
  # Default: a tenth of each mode's fair share, capped at 20, at least 1.
  assert metrics.mode_coverage(np.zeros((100, 2)) + [2, 0], centres, 0.1)["min_count"] == 1
  assert metrics.mode_coverage(np.zeros((1200, 2)) + [2, 0], centres, 0.1)["min_count"] == 15
  assert metrics.mode_coverage(np.zeros((9000, 2)) + [2, 0], centres, 0.1)["min_count"] == 20
  # Five good samples on mode 0, one on mode 1.
  samples = np.array([[2.0, 0.0]] * 5 + [centres[1]])
  assert metrics.mode_coverage(samples, centres, 0.1, min_count=1)["modes_covered"] == 2
  assert metrics.mode_coverage(samples, centres, 0.1, min_count=2)["modes_covered"] == 1


# ---------------------------------------------------------------------------
# Classifier quality
# ---------------------------------------------------------------------------


def test_ece_of_a_calibrated_classifier_is_near_zero():
  rng = np.random.default_rng(0)
  n = 50_000
  confidence = rng.uniform(0.5, 1.0, size=n)
  predicted = rng.integers(3, size=n)
  correct = rng.random(n) < confidence
  # The wrong label is the next class over; the rest of the mass is split.
  labels = np.where(correct, predicted, (predicted + 1) % 3)
  probs = np.empty((n, 3))
  probs[:] = ((1 - confidence) / 2)[:, None]
  probs[np.arange(n), predicted] = confidence
  assert metrics.expected_calibration_error(probs, labels) < 0.02


def test_ece_of_an_over_confident_classifier_hand_computed():
  probs = np.array([[0.9, 0.1]] * 4 + [[0.3, 0.7]] * 2)
  labels = np.array([0, 0, 1, 1, 1, 1])
  # Bin (0.867, 0.933]: 4 examples, accuracy 0.5, confidence 0.9 -> gap 0.4.
  # Bin (0.667, 0.733]: 2 examples, accuracy 1.0, confidence 0.7 -> gap 0.3.
  assert metrics.expected_calibration_error(probs, labels) == pytest.approx(
      4 / 6 * 0.4 + 2 / 6 * 0.3, abs=1e-12)
  # One bin: |mean accuracy - mean confidence| = |4/6 - 5/6|.
  assert metrics.expected_calibration_error(probs, labels, num_bins=1) == pytest.approx(
      1 / 6, abs=1e-12)


def test_nll_and_error_rate_hand_computed():
  probs = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8], [0.0, 1.0]])
  labels = np.array([0, 0, 0, 0])
  expected = np.mean([-np.log(0.5), -np.log(0.9), -np.log(0.2), -np.log(1e-12)])
  assert metrics.negative_log_likelihood(probs, labels) == pytest.approx(expected, rel=1e-12)
  # Ties go to the lower index, so only rows 2 and 3 are errors.
  assert metrics.error_rate(probs, labels) == pytest.approx(0.5)
  assert metrics.error_rate(probs, np.array([1, 0, 1, 1])) == pytest.approx(0.25)


def test_classification_metrics_reject_bad_labels():
  probs = np.full((2, 3), 1 / 3)
  for labels in (np.array([0, 3]), np.array([0]), np.array([0.0, 1.0])):
    with pytest.raises(ValueError):
      metrics.negative_log_likelihood(probs, labels)


def test_predictive_entropy():
  probs = np.array([[0.25] * 4, [1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]])
  np.testing.assert_allclose(metrics.predictive_entropy(probs), [np.log(4), 0.0, LOG2], atol=1e-12)


def test_mutual_information_is_zero_when_samples_agree():
  one = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
  per_sample = np.repeat(one[:, None, :], 5, axis=1)  # [n=2, T=5, K=3]
  info = metrics.mutual_information(per_sample)
  assert info.shape == (2,)
  np.testing.assert_allclose(info, 0.0, atol=1e-12)


def test_mutual_information_is_positive_when_samples_disagree():
  # Two confident samples that disagree: the whole log 2 of the averaged
  # prediction's entropy is epistemic.
  per_sample = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.6, 0.4], [0.4, 0.6]]])
  info = metrics.mutual_information(per_sample)
  assert info[0] == pytest.approx(LOG2, abs=1e-12)
  h = lambda p: -np.sum(p * np.log(p))  # noqa: E731
  assert info[1] == pytest.approx(LOG2 - h(np.array([0.6, 0.4])), abs=1e-12)
  assert info[1] > 0


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
