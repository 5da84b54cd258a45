"""How every random stream of a run gets its seed from the run's one seed.

The seeds form a tree. A parent seed s with up to `fan_out` children gives
child i the seed

  s * fan_out + i,    0 <= i < fan_out,

so two children of one parent never share a seed, and neither do the
descendants of two different children (their seeds lie in disjoint ranges).
The run's `--random_seed` is the root; `BayesianGAN` derives one seed per
model and sampler, each model one per weight initializer, and each SGHMC
optimizer one per variable it updates.

A None seed stays None all the way down (unseeded: fresh randomness).
"""

from typing import Iterator, Optional

__all__ = ["child_seed", "child_seeds"]


def child_seed(seed: Optional[int], index: int, fan_out: int) -> Optional[int]:
  """The seed of child `index` of `seed`, whose children number at most `fan_out`.

  Raises:
    ValueError: `index` outside [0, fan_out).
  """
  if not 0 <= index < fan_out:
    raise ValueError(f"seed child index {index} outside [0, {fan_out})")
  return None if seed is None else seed * fan_out + index


def child_seeds(seed: Optional[int], fan_out: int) -> Iterator[Optional[int]]:
  """`child_seed(seed, 0, fan_out)`, `child_seed(seed, 1, fan_out)`, ..."""
  for index in range(fan_out):
    yield child_seed(seed, index, fan_out)
