"""Mode coverage on 2-D Gaussian mixtures: the data, and how many modes samples cover.

The mixtures used to study mode collapse, a ring of 8 Gaussians (`ring_modes`)
and a 5x5 grid of 25 (`grid_modes`), drawn by `sample_ring_or_grid`, and the
score of generated samples against them (`mode_coverage`). Used by
`bench/synthetic.py`.

#### References

Metz, L. et al. Unrolled Generative Adversarial Networks. ICLR 2017 (the ring
of Gaussians and counting covered modes); Srivastava, A. et al. VEEGAN.
NIPS 2017 (the grid, and "high-quality" samples within 3 standard deviations).
"""

import numpy as np

__all__ = ["grid_modes", "mode_coverage", "ring_modes", "sample_ring_or_grid"]


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


def mode_coverage(samples, centres, std: float, num_stds: float = 3.0, min_count: int = None) -> dict:
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

  squared = ((samples[:, None, :] - centres[None, :, :])**2).sum(axis=-1)  # [n, k]
  nearest = np.argmin(squared, axis=1)
  good = squared[np.arange(n), nearest] <= (num_stds * std)**2
  counts = np.bincount(nearest[good], minlength=k)
  return {
      "modes_covered": int(np.sum(counts >= min_count)),
      "high_quality_fraction": float(np.mean(good)),
      "counts": counts,
      "min_count": int(min_count),
  }


def _as_points(points, name):
  """`points` as a finite float64 `[n, 2]` array, or a ValueError naming `name`."""
  points = np.asarray(points, dtype=np.float64)
  if points.ndim != 2 or points.shape[1] != 2:
    raise ValueError(f"{name} must be [n, 2], got shape {points.shape}")
  if not np.all(np.isfinite(points)):
    raise ValueError(f"{name} has non-finite entries")
  return points
