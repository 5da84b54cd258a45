"""The synthetic experiment's metric: PCA, kernel density estimates and JS divergence."""

import numpy as np
import pytest
import tensorflow_probability as tfp

from bgan_tf import synthetic

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
  assert synthetic.js_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
  assert synthetic.js_divergence(p, 3.0 * p) == pytest.approx(0.0, abs=1e-12)


def test_js_is_symmetric_and_bounded_by_log_2():
  rng = np.random.default_rng(1)
  for _ in range(20):
    p, q = rng.random(30)**4, rng.random(30)**4
    value = synthetic.js_divergence(p, q)
    assert value == pytest.approx(synthetic.js_divergence(q, p), abs=1e-14)
    assert 0.0 <= value <= LOG2
  assert synthetic.js_divergence([1.0, 0.0], [0.0, 1.0]) == pytest.approx(LOG2, abs=1e-12)


def test_js_hand_computed():
  p, q = np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.5, 0.5])
  # m = [0.25, 0.5, 0.25]; KL(p || m) = 0.5 log(0.5 / 0.25) + 0.5 log(0.5 / 0.5)
  # = 0.5 log 2, and KL(q || m) is the same by symmetry.
  kl = 0.5 * LOG2
  assert synthetic.js_divergence(p, q) == pytest.approx(0.5 * kl + 0.5 * kl, rel=1e-12)


def test_js_matches_scipy():
  distance = pytest.importorskip("scipy.spatial.distance")
  rng = np.random.default_rng(2)
  for _ in range(10):
    p, q = rng.random(50), rng.random(50)
    p[rng.random(50) < 0.2] = 0.0
    assert synthetic.js_divergence(p, q) == pytest.approx(distance.jensenshannon(p, q)**2, rel=1e-9)


@pytest.mark.parametrize(
    "p, q",
    [
        ([0.5, 0.5], [1.0, 0.0, 0.0]),  # Shapes differ.
        ([-0.1, 1.1], [0.5, 0.5]),  # Negative mass.
        ([0.0, 0.0], [0.5, 0.5]),  # No mass.
        ([np.nan, 1.0], [0.5, 0.5]),
    ])
def test_js_rejects_invalid_input(p, q):
  with pytest.raises(ValueError):
    synthetic.js_divergence(p, q)


# ---------------------------------------------------------------------------
# KDE on a grid
# ---------------------------------------------------------------------------


def test_kde_sums_to_one_and_peaks_at_the_points():
  points = _gaussian_blob(2000, (1.0, -2.0), 0.3, seed=0)
  density = synthetic.kde_on_grid(points, (-4.0, -4.0), (4.0, 4.0), grid_size=81)
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
  kx = np.exp(-0.5 * ((nodes[:, None] - points[None, :, 0]) / bandwidth[0])**2)
  ky = np.exp(-0.5 * ((nodes[:, None] - points[None, :, 1]) / bandwidth[1])**2)
  exact = kx @ ky.T
  exact /= exact.sum()
  estimate = synthetic.kde_on_grid(points, (-4.0, -4.0), (5.0, 5.0), grid_size=60, bandwidth=bandwidth)
  # The kernels are evaluated at the nodes, so this holds to round-off; the
  # bound is the one the binned smoother it replaced (O(cell^2) off) met.
  assert np.max(np.abs(estimate - exact)) < 0.03 * exact.max()


def test_kde_is_the_tfp_mixture_of_diagonal_gaussians_at_the_nodes():
  points = _gaussian_blob(40, (0.5, -0.5), 0.8, seed=10)
  bandwidth = np.array([0.3, 0.5])
  mixture = tfp.distributions.MixtureSameFamily(
      mixture_distribution=tfp.distributions.Categorical(logits=np.zeros(len(points))),
      components_distribution=tfp.distributions.MultivariateNormalDiag(
          loc=points, scale_diag=np.broadcast_to(bandwidth, points.shape)))
  nodes = np.linspace(-3.0, 3.0, 25)  # Cell 0.25, below both bandwidths.
  grid = np.stack(np.meshgrid(nodes, nodes, indexing="ij"), axis=-1)  # [i, j] at (xs[i], ys[j]).
  expected = np.exp(mixture.log_prob(grid).numpy())
  expected /= expected.sum()
  estimate = synthetic.kde_on_grid(points, (-3.0, -3.0), (3.0, 3.0), grid_size=25, bandwidth=bandwidth)
  np.testing.assert_allclose(estimate, expected, rtol=1e-9, atol=1e-15)


def test_kde_of_a_single_repeated_point_is_a_one_cell_bump():
  density = synthetic.kde_on_grid(np.zeros((50, 2)), (-1.0, -1.0), (1.0, 1.0), grid_size=21)
  assert density.sum() == pytest.approx(1.0)
  assert np.unravel_index(np.argmax(density), density.shape) == (10, 10)
  # Bandwidth floored at one cell: the neighbours get exp(-1/2) of the peak.
  assert density[11, 10] / density[10, 10] == pytest.approx(np.exp(-0.5), rel=1e-9)


def test_kde_drops_points_off_the_grid():
  inside = _gaussian_blob(500, (0.0, 0.0), 0.2, seed=4)
  with_outliers = np.concatenate([inside, [[50.0, 0.0], [0.0, -50.0]]])
  grid = ((-2.0, -2.0), (2.0, 2.0))
  a = synthetic.kde_on_grid(inside, *grid, bandwidth=0.1)
  b = synthetic.kde_on_grid(with_outliers, *grid, bandwidth=0.1)
  np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-15)
  with pytest.raises(ValueError, match="no point"):
    synthetic.kde_on_grid(np.full((3, 2), 10.0), *grid)


def test_kde_of_two_draws_of_one_distribution_agree_and_of_disjoint_clusters_do_not():
  grid = ((-6.0, -6.0), (6.0, 6.0))
  same_a = synthetic.kde_on_grid(_gaussian_blob(5000, (0, 0), 1.0, seed=6), *grid)
  same_b = synthetic.kde_on_grid(_gaussian_blob(5000, (0, 0), 1.0, seed=7), *grid)
  assert synthetic.js_divergence(same_a, same_b) < 0.01
  left = synthetic.kde_on_grid(_gaussian_blob(5000, (-3, 0), 0.5, seed=8), *grid)
  right = synthetic.kde_on_grid(_gaussian_blob(5000, (3, 0), 0.5, seed=9), *grid)
  assert synthetic.js_divergence(left, right) > 0.6


# ---------------------------------------------------------------------------
# PCA and the PCA JS metric
# ---------------------------------------------------------------------------


def _data_along(direction, n=500, seed=0):
  rng = np.random.default_rng(seed)
  direction = np.asarray(direction, dtype=float)
  return (5.0 + 3.0 * rng.standard_normal((n, 1)) * direction + 0.05 * rng.standard_normal((n, direction.size)))


def test_pca_recovers_a_known_direction():
  direction = np.array([0.0, 0.6, -0.8, 0.0])
  x = _data_along(direction)
  pca = synthetic.fit_pca(x, num_components=2)
  assert pca.components.shape == (2, 4) and pca.mean.shape == (4,)
  # Largest-magnitude loading (-0.8) is made positive.
  np.testing.assert_allclose(pca.components[0], -direction, atol=0.01)
  np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(2), atol=1e-12)
  assert pca.explained_variance[0] == pytest.approx(np.var(x @ direction, ddof=1), rel=0.01)
  assert pca.explained_variance[1] < 0.01
  projected = synthetic.pca_transform(pca, x)
  np.testing.assert_allclose(projected, pca.transform(x))
  np.testing.assert_allclose(projected.mean(axis=0), 0.0, atol=1e-12)


def test_pca_is_deterministic_under_sign_flips_and_row_order():
  x = np.random.default_rng(1).standard_normal((200, 6)) @ np.diag([5, 4, 3, 2, 1, 0.5])
  reference = synthetic.fit_pca(x, 3).components
  # Negating the data flips the singular vectors LAPACK returns; the
  # convention must undo it.
  for variant in (x, -x, x[::-1], x + 100.0):
    np.testing.assert_allclose(synthetic.fit_pca(variant, 3).components, reference, atol=1e-10)
  largest = reference[np.arange(3), np.argmax(np.abs(reference), axis=1)]
  assert np.all(largest > 0)


def test_pca_rejects_bad_input():
  with pytest.raises(ValueError):
    synthetic.fit_pca(np.zeros((10, 2)), num_components=3)
  with pytest.raises(ValueError):
    synthetic.fit_pca(np.zeros(10))
  pca = synthetic.fit_pca(np.random.default_rng(0).standard_normal((10, 3)))
  with pytest.raises(ValueError):
    pca.transform(np.zeros((4, 5)))


def test_pca_js_of_two_draws_of_the_real_distribution_is_small():
  real = _clusters(2000, seed=1)
  assert synthetic.pca_js_divergence(real, _clusters(2000, seed=2)) < 0.02


def test_pca_js_of_a_collapsed_generator_is_large():
  real = _clusters(2000, seed=1)
  # All mass on 1 of 10 separated clusters: JS = 0.53 nats in the limit.
  assert synthetic.pca_js_divergence(real, _clusters(2000, seed=3, only=4)) > 0.45
  # Samples far off the real data's grid count as mass outside it, not as nothing.
  assert synthetic.pca_js_divergence(real, _clusters(2000, seed=3) + 100.0) > 0.69


def test_pca_js_uses_a_given_projection():
  real, fake = _clusters(1000, seed=1), _clusters(1000, seed=5, only=0)
  pca = synthetic.fit_pca(real, 2)
  assert synthetic.pca_js_divergence(real, fake, pca=pca) == pytest.approx(synthetic.pca_js_divergence(real, fake),
                                                                           abs=1e-12)
  with pytest.raises(ValueError):
    synthetic.pca_js_divergence(real, fake, pca=synthetic.fit_pca(real, 3))


def test_js_hook_compares_as_many_fakes_as_real_examples_when_asked_for_more(tmp_path):
  import types
  import tensorflow as tf
  from bgan_tf import data as data_lib
  dataset = data_lib.load_dataset("synthetic", seed=0, x_dim=5, num_train=300, num_test=10)
  asked = []

  def generate(batch_size):
    asked.append(batch_size)
    return tf.random.stateless_normal([2, batch_size, 5], seed=[0, 1])

  gan = types.SimpleNamespace(config=types.SimpleNamespace(num_generators=2), generate=generate)
  hook = synthetic.js_divergence_hook(dataset, str(tmp_path), num_samples=50000)
  assert 0.0 <= hook.fn(gan, 1)["js_divergence"] <= np.log(2)
  assert asked == [150]  # 2 generators x 150 = the 300 real examples, not 50000
