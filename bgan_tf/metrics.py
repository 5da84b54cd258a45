"""Evaluation metrics in plain numpy: sample quality and classifier quality.

Three families, all deterministic functions of their inputs:

* The synthetic-experiment metric of the Bayesian GAN paper: project real and
  generated samples onto the first two principal components of the *real*
  data, estimate a density of each on a common grid, and report the
  Jensen-Shannon divergence between the two (`pca_js_divergence`).
* Mode counting for the 2-D mixtures used to study mode collapse (a ring of
  8 Gaussians, a 5x5 grid of 25): `mode_coverage` with `ring_modes`,
  `grid_modes` and the sampler `sample_ring_or_grid`.
* Classifier quality for the semi-supervised experiments: error rate, mean
  negative log-likelihood, expected calibration error, and the split of
  predictive entropy into its epistemic part (`mutual_information`).

All logarithms are natural, so divergences and entropies are in nats and the
Jensen-Shannon divergence is bounded by log 2.

#### References

Saatci, Y. and Wilson, A. G. Bayesian GAN. NIPS 2017, sec. 5.1 (the PCA
Jensen-Shannon metric on synthetic data).

Metz, L. et al. Unrolled Generative Adversarial Networks. ICLR 2017 (the ring
of Gaussians and counting covered modes); Srivastava, A. et al. VEEGAN.
NIPS 2017 (the grid, and "high-quality" samples within 3 standard deviations).

Guo, C. et al. On Calibration of Modern Neural Networks. ICML 2017 (expected
calibration error with equal-width bins).

Scott, D. W. Multivariate Density Estimation. Wiley, 1992 (the bandwidth rule
n^(-1/(d+4)) * std, here d = 2).
"""

import dataclasses

import numpy as np

__all__ = [
    "Pca",
    "error_rate",
    "expected_calibration_error",
    "fit_pca",
    "grid_modes",
    "js_divergence",
    "kde_on_grid",
    "mode_coverage",
    "mutual_information",
    "negative_log_likelihood",
    "pca_js_divergence",
    "pca_transform",
    "predictive_entropy",
    "ring_modes",
    "sample_diversity",
    "sample_ring_or_grid",
    "scott_bandwidth",
]

# Fraction of the real projection's range added on each side of the KDE grid.
_GRID_PADDING = 0.1
# ... unless three real-data bandwidths is wider, so the real KDE's tails fit.
_GRID_PADDING_BANDWIDTHS = 3.0


# ----------------------------------------------------------------------------
# PCA
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Pca:
  """A fitted principal component projection.

  Attributes:
    mean: `[D]` mean of the fitting data.
    components: `[k, D]` orthonormal principal directions, by decreasing
      variance; each is signed so that its largest-magnitude loading is
      positive.
    explained_variance: `[k]` variance of the fitting data along each
      component (unbiased, divisor n - 1).
  """

  mean: np.ndarray
  components: np.ndarray
  explained_variance: np.ndarray

  @property
  def num_components(self) -> int:
    return self.components.shape[0]

  def transform(self, x) -> np.ndarray:
    """Projects `x` `[n, D]` onto the components; returns `[n, k]`."""
    x = _as_matrix(x, "x")
    if x.shape[1] != self.mean.shape[0]:
      raise ValueError(f"x has {x.shape[1]} features; the PCA was fitted on {self.mean.shape[0]}")
    return (x - self.mean) @ self.components.T


def fit_pca(x, num_components: int = 2) -> Pca:
  """Fits a PCA by the SVD of the centred data.

  The sign of a singular vector is arbitrary (LAPACK may return either), so
  each component is flipped to make its largest-magnitude loading positive;
  the same data then always gives the same projection.

  Args:
    x: `[n, D]` data, n >= 2.
    num_components: k, at most min(n, D).

  Returns:
    A `Pca` with `components` `[k, D]`.

  Raises:
    ValueError: if `x` is not a finite `[n, D]` matrix or k is out of range.
  """
  x = _as_matrix(x, "x")
  n, d = x.shape
  if n < 2:
    raise ValueError(f"fit_pca needs at least 2 rows, got {n}")
  if not 1 <= num_components <= min(n, d):
    raise ValueError(f"num_components must be in [1, {min(n, d)}], got {num_components}")
  mean = x.mean(axis=0)
  _, singular_values, vt = np.linalg.svd(x - mean, full_matrices=False)
  components = vt[:num_components].copy()
  pivot = np.argmax(np.abs(components), axis=1)
  signs = np.sign(components[np.arange(num_components), pivot])
  components *= np.where(signs == 0, 1.0, signs)[:, None]
  explained_variance = singular_values[:num_components] ** 2 / (n - 1)
  return Pca(mean=mean, components=components, explained_variance=explained_variance)


def pca_transform(pca: Pca, x) -> np.ndarray:
  """Functional form of `Pca.transform`: `[n, D]` -> `[n, k]`."""
  return pca.transform(x)


# ----------------------------------------------------------------------------
# Density estimation and Jensen-Shannon divergence
# ----------------------------------------------------------------------------


def scott_bandwidth(points) -> np.ndarray:
  """Scott's rule for a 2-D Gaussian KDE: n^(-1/6) * std, per axis.

  Args:
    points: `[n, 2]` points.

  Returns:
    `[2]` bandwidths in data units (0 on an axis with no spread).
  """
  points = _as_points(points)
  n = points.shape[0]
  std = points.std(axis=0, ddof=1) if n > 1 else np.zeros(2)
  return n ** (-1.0 / 6.0) * std


def kde_on_grid(points, grid_min, grid_max, grid_size: int = 100, bandwidth=None) -> np.ndarray:
  """A binned Gaussian kernel density estimate on a regular 2-D grid.

  The grid has `grid_size` nodes per axis from `grid_min` to `grid_max`
  inclusive. Each point's unit mass is split among the four surrounding
  nodes by bilinear weights (linear binning), and the binned counts are then
  smoothed by a Gaussian kernel, one axis at a time. This costs
  O(n + grid_size^2 * kernel width) instead of the O(n * grid_size^2) of
  evaluating every kernel at every node (about 2 ms for 10,000 points on
  100 x 100), and differs from the exact KDE by O(cell^2).

  Points outside the grid, and kernel mass that the smoothing carries past
  its edges, are dropped before the result is normalised.

  Args:
    points: `[n, 2]` points.
    grid_min: `[2]` (x, y) of the first grid node.
    grid_max: `[2]` (x, y) of the last grid node; must exceed `grid_min`.
    grid_size: nodes per axis, at least 2. Default 100.
    bandwidth: Gaussian kernel standard deviation in data units, a scalar or
      `[2]` per axis; None (default) for `scott_bandwidth(points)`. Either
      way each axis's bandwidth is raised to at least one grid cell, so a
      collapsed point set still gives a smooth (one-cell-wide) bump.

  Returns:
    `[grid_size, grid_size]` density summing to 1; entry [i, j] is at
    x = xs[i], y = ys[j] with xs, ys the node coordinates (the layout of
    `np.histogram2d`).

  Raises:
    ValueError: on bad shapes or bounds, or if no point lies on the grid.
  """
  mass = _binned_kde(points, grid_min, grid_max, grid_size, bandwidth)
  total = mass.sum()
  if not total > 0:
    raise ValueError("kde_on_grid: no point lies within the grid bounds")
  return mass / total


def js_divergence(p, q, eps: float = 1e-12) -> float:
  """Jensen-Shannon divergence between two discrete distributions, in nats.

  JS(p, q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2, which is
  symmetric and lies in [0, log 2]. Both inputs are first normalised to sum
  to 1. Entries of the normalised p (or q) at most `eps` contribute nothing to
  their KL term: p log(p / m) -> 0 as p -> 0, and dropping them keeps
  round-off in near-empty cells from producing log(0) or tiny negatives.

  Args:
    p: non-negative array of any shape with a positive sum.
    q: non-negative array of the same shape.
    eps: the threshold above. Default 1e-12.

  Returns:
    The divergence as a Python float in [0, log 2].

  Raises:
    ValueError: on mismatched shapes, negative or non-finite entries, or an
      all-zero input.
  """
  p = _as_distribution(p, "p")
  q = _as_distribution(q, "q")
  if p.shape != q.shape:
    raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
  m = 0.5 * (p + q)
  value = 0.5 * _kl_to_mixture(p, m, eps) + 0.5 * _kl_to_mixture(q, m, eps)
  return float(np.clip(value, 0.0, np.log(2.0)))


def pca_js_divergence(real, fake, grid_size: int = 100, pca: Pca = None) -> float:
  """The Bayesian GAN paper's synthetic-data metric: JS divergence after PCA.

  1. Fit a 2-component PCA on `real` (unless `pca` is given) and project both
     sets with it, so both live in the real data's principal plane.
  2. Take the bounding box of the real projection, padded on each side by the
     larger of 10% of its extent and 3 Scott bandwidths of the real points.
  3. Estimate each set's density with `kde_on_grid` on that common grid, each
     with its own Scott bandwidth.
  4. Return `js_divergence` of the two.

  Generated points the real data never reaches fall off the grid; rather than
  discard them (which would hide, say, a generator whose samples all land far
  away), each density keeps one extra cell holding the mass that fell outside
  the grid. Kernel mass that the smoothing carries past the grid's edges goes
  into that cell as well, for both sets alike.

  Args:
    real: `[n, D]` real samples, D >= 2 (or any D when `pca` is given).
    fake: `[m, D]` generated samples.
    grid_size: grid nodes per axis. Default 100.
    pca: optional `Pca` with two components to use instead of fitting one,
      e.g. to score every checkpoint of a run in the same projection.

  Returns:
    JS divergence in nats, in [0, log 2]; 0 for identical densities.
  """
  if pca is None:
    pca = fit_pca(real, num_components=2)
  elif pca.num_components != 2:
    raise ValueError(f"pca must have 2 components, got {pca.num_components}")
  real_2d = pca.transform(real)
  fake_2d = pca.transform(fake)
  if fake_2d.shape[0] == 0 or real_2d.shape[0] == 0:
    raise ValueError("pca_js_divergence needs at least one real and one fake sample")

  lo, hi = real_2d.min(axis=0), real_2d.max(axis=0)
  pad = np.maximum(_GRID_PADDING * (hi - lo), _GRID_PADDING_BANDWIDTHS * scott_bandwidth(real_2d))
  pad = np.where(pad > 0, pad, 1.0)  # All real points equal on an axis: any scale will do.
  lo, hi = lo - pad, hi + pad

  def with_outside_cell(points):
    mass = _binned_kde(points, lo, hi, grid_size, None).ravel()
    return np.append(mass, max(0.0, 1.0 - mass.sum()))

  return js_divergence(with_outside_cell(real_2d), with_outside_cell(fake_2d))


# ----------------------------------------------------------------------------
# Mode coverage on 2-D mixtures
# ----------------------------------------------------------------------------


def ring_modes(num_modes: int = 8, radius: float = 2.0) -> np.ndarray:
  """Centres of `num_modes` modes evenly spaced on a circle, the first on +x.

  Returns:
    `[num_modes, 2]` centres.
  """
  if num_modes < 1:
    raise ValueError(f"num_modes must be positive, got {num_modes}")
  angles = 2.0 * np.pi * np.arange(num_modes) / num_modes
  return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid_modes(side: int = 5, spacing: float = 2.0) -> np.ndarray:
  """Centres of a `side` x `side` square grid centred on the origin.

  The defaults give the usual 25 modes at {-4, -2, 0, 2, 4}^2.

  Returns:
    `[side * side, 2]` centres, x varying slowest.
  """
  if side < 1:
    raise ValueError(f"side must be positive, got {side}")
  axis = (np.arange(side) - (side - 1) / 2.0) * spacing
  xs, ys = np.meshgrid(axis, axis, indexing="ij")
  return np.stack([xs.ravel(), ys.ravel()], axis=1)


def sample_ring_or_grid(centres, std: float, n: int, seed: int) -> np.ndarray:
  """Draws from the equal-weight mixture of isotropic Gaussians at `centres`.

  Args:
    centres: `[k, 2]` mode centres, e.g. from `ring_modes` or `grid_modes`.
    std: standard deviation of every component.
    n: number of samples.
    seed: seed of a private `np.random.Generator` (no global state).

  Returns:
    `[n, 2]` samples.
  """
  centres = _as_points(centres, "centres")
  rng = np.random.default_rng(seed)
  which = rng.integers(centres.shape[0], size=n)
  return centres[which] + std * rng.standard_normal((n, 2))


def mode_coverage(samples, centres, std: float, num_stds: float = 3.0,
                  min_count: int = None) -> dict:
  """How many mixture modes the samples cover, and how many samples are good.

  Each sample is assigned to its nearest centre; it is *high quality* when it
  lies within `num_stds * std` of that centre (for a true 2-D Gaussian sample
  at 3 std this holds with probability 1 - exp(-4.5) ~ 0.989). A mode is
  *covered* when at least `min_count` high-quality samples are assigned to it.

  Args:
    samples: `[n, 2]` generated samples, n >= 1.
    centres: `[k, 2]` mode centres.
    std: standard deviation of each true mode.
    num_stds: radius of the high-quality disc in units of `std`. Default 3.
    min_count: high-quality samples a mode needs to count as covered. Default
      max(1, min(20, n // (10 k))): a tenth of a mode's fair share of the
      samples, capped at 20 so large sample sets do not demand more.

  Returns:
    A dict with
      `modes_covered`: int, number of covered modes (0..k);
      `high_quality_fraction`: float, fraction of all samples that are high
        quality;
      `counts`: `[k]` int array, high-quality samples per mode;
      `min_count`: int, the threshold used.
  """
  samples = _as_points(samples, "samples")
  centres = _as_points(centres, "centres")
  n, k = samples.shape[0], centres.shape[0]
  if n == 0 or k == 0:
    raise ValueError(f"mode_coverage needs samples and centres, got {n} and {k}")
  if not std > 0:
    raise ValueError(f"std must be positive, got {std}")
  if min_count is None:
    min_count = max(1, min(20, n // (10 * k)))

  squared = ((samples[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1)  # [n, k]
  nearest = np.argmin(squared, axis=1)
  good = squared[np.arange(n), nearest] <= (num_stds * std) ** 2
  counts = np.bincount(nearest[good], minlength=k)
  return {
      "modes_covered": int(np.sum(counts >= min_count)),
      "high_quality_fraction": float(np.mean(good)),
      "counts": counts,
      "min_count": int(min_count),
  }


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


# ----------------------------------------------------------------------------
# Classifier quality
# ----------------------------------------------------------------------------


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
  examples fall into bins B_b = (b / num_bins, (b + 1) / num_bins] (the first
  also takes c = 0), and

    ECE = sum_b |B_b| / n * |mean_{i in B_b} a_i - mean_{i in B_b} c_i|.

  Args:
    probs: `[n, K]` predicted class probabilities.
    labels: `[n]` integer labels in 0..K-1.
    num_bins: number of bins on [0, 1]. Default 15.

  Returns:
    ECE in [0, 1].
  """
  probs, labels = _as_predictions(probs, labels)
  if num_bins < 1:
    raise ValueError(f"num_bins must be positive, got {num_bins}")
  confidence = probs.max(axis=1)
  correct = (np.argmax(probs, axis=1) == labels).astype(np.float64)
  bins = np.clip(np.ceil(confidence * num_bins).astype(np.int64) - 1, 0, num_bins - 1)
  size = np.bincount(bins, minlength=num_bins)
  # |sum of (a - c) in a bin| / n is that bin's weight times its |acc - conf|.
  gap = np.bincount(bins, weights=correct - confidence, minlength=num_bins)
  return float(np.sum(np.abs(gap)) / max(1, size.sum()))


def predictive_entropy(probs) -> np.ndarray:
  """Entropy -sum_k p_k log p_k of each distribution, in nats.

  Args:
    probs: `[..., K]` class probabilities, each row summing to 1.

  Returns:
    `[...]` entropies (terms with p_k = 0 contribute 0).
  """
  probs = np.asarray(probs, dtype=np.float64)
  safe = np.where(probs > 0, probs, 1.0)
  return -np.sum(probs * np.log(safe), axis=-1)


def mutual_information(per_sample_probs) -> np.ndarray:
  """Epistemic uncertainty: mutual information between label and weights.

  With T posterior samples of the classifier (e.g. the discriminators of the
  Bayesian GAN), the predictive entropy of the averaged prediction splits as

    H[mean_t p_t] = mean_t H[p_t]  +  I,

  where the first term is the expected (aleatoric) entropy and I >= 0 is the
  mutual information, zero exactly when all samples agree.

  Args:
    per_sample_probs: `[n, T, K]` class probabilities of each example under
      each of the T samples.

  Returns:
    `[n]` mutual information in nats (clipped at 0 against round-off).
  """
  probs = np.asarray(per_sample_probs, dtype=np.float64)
  if probs.ndim != 3:
    raise ValueError(f"per_sample_probs must be [n, T, K], got shape {probs.shape}")
  total = predictive_entropy(probs.mean(axis=1))
  expected = predictive_entropy(probs).mean(axis=1)
  return np.maximum(total - expected, 0.0)


# ----------------------------------------------------------------------------
# Private helpers
# ----------------------------------------------------------------------------


def _as_matrix(x, name):
  x = np.asarray(x, dtype=np.float64)
  if x.ndim != 2:
    raise ValueError(f"{name} must be a [n, D] matrix, got shape {x.shape}")
  if not np.all(np.isfinite(x)):
    raise ValueError(f"{name} has non-finite entries")
  return x


def _as_points(points, name="points"):
  points = _as_matrix(points, name)
  if points.shape[1] != 2:
    raise ValueError(f"{name} must be [n, 2], got shape {points.shape}")
  return points


def _as_distribution(p, name):
  p = np.asarray(p, dtype=np.float64)
  if not np.all(np.isfinite(p)) or np.any(p < 0):
    raise ValueError(f"{name} must be finite and non-negative")
  total = p.sum()
  if not total > 0:
    raise ValueError(f"{name} sums to {total}; it needs positive mass")
  return p / total


def _kl_to_mixture(p, m, eps):
  # m >= p / 2 wherever p > 0, so the ratio is at most 2 and never divides by 0.
  keep = p > eps
  return np.sum(p[keep] * np.log(p[keep] / m[keep]))


def _as_predictions(probs, labels):
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


def _binned_kde(points, grid_min, grid_max, grid_size, bandwidth):
  """`kde_on_grid` before normalisation: each point carries mass 1 / n.

  Returns:
    `[grid_size, grid_size]` masses summing to the fraction of the total that
    stayed on the grid (<= 1).
  """
  points = _as_points(points)
  lo = np.broadcast_to(np.asarray(grid_min, dtype=np.float64), (2,))
  hi = np.broadcast_to(np.asarray(grid_max, dtype=np.float64), (2,))
  if grid_size < 2:
    raise ValueError(f"grid_size must be at least 2, got {grid_size}")
  if not np.all(hi > lo):
    raise ValueError(f"grid_max {hi} must exceed grid_min {lo} on both axes")
  n = points.shape[0]
  if n == 0:
    raise ValueError("kde_on_grid needs at least one point")
  cell = (hi - lo) / (grid_size - 1)
  if bandwidth is None:
    bandwidth = scott_bandwidth(points)
  bandwidth = np.broadcast_to(np.asarray(bandwidth, dtype=np.float64), (2,))
  if np.any(bandwidth < 0) or not np.all(np.isfinite(bandwidth)):
    raise ValueError(f"bandwidth must be finite and non-negative, got {bandwidth}")
  sigma_cells = np.maximum(bandwidth / cell, 1.0)

  # Linear binning. u is the position in cell units; the last node takes
  # points exactly on the upper edge through a weight of 1 on index G - 1.
  u = (points - lo) / cell
  inside = np.all((u >= 0) & (u <= grid_size - 1), axis=1)
  u = u[inside]
  base = np.minimum(np.floor(u).astype(np.int64), grid_size - 2)
  frac = u - base
  counts = np.zeros(grid_size * grid_size)
  for dx in (0, 1):
    wx = frac[:, 0] if dx else 1.0 - frac[:, 0]
    for dy in (0, 1):
      wy = frac[:, 1] if dy else 1.0 - frac[:, 1]
      flat = (base[:, 0] + dx) * grid_size + (base[:, 1] + dy)
      counts += np.bincount(flat, weights=wx * wy, minlength=grid_size * grid_size)
  counts = counts.reshape(grid_size, grid_size) / n

  # Separable smoothing, one axis after the other.
  return _gaussian_smooth(_gaussian_smooth(counts, sigma_cells[0], 0), sigma_cells[1], 1)


def _gaussian_smooth(values, sigma, axis):
  """Convolves `values` along `axis` with a discrete Gaussian of std `sigma` cells.

  The kernel is cut at 5 sigma and normalised there, so interior mass is
  conserved and mass carried past the edges is lost rather than folded back.
  It is applied as a sum of shifted copies, not a matrix product: on a small
  multi-core machine a 100x100 BLAS call can cost milliseconds in thread
  start-up alone, while the shifts are a few cheap array operations.
  """
  cut = int(np.ceil(5.0 * sigma))
  norm = np.sum(np.exp(-0.5 * (np.arange(-cut, cut + 1) / sigma) ** 2))
  size = values.shape[axis]
  reach = min(cut, size - 1)  # Farther offsets never land on the grid.
  moved = np.moveaxis(values, axis, 0)
  padded = np.zeros((size + 2 * reach,) + moved.shape[1:])
  padded[reach:reach + size] = moved
  out = np.zeros_like(moved)
  for offset in range(-reach, reach + 1):
    weight = np.exp(-0.5 * (offset / sigma) ** 2) / norm
    out += weight * padded[reach + offset:reach + offset + size]
  return np.moveaxis(out, 0, axis)
