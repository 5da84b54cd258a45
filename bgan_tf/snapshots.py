"""Posterior samples kept along the chain: a ring buffer of discriminators.

The Bayesian classifier's posterior predictive averages over T discriminator
samples: the current num_disc * num_mcmc chains plus snapshots of them taken
every k iterations after burn-in. The snapshots are Keras models tracked by
the training checkpoint, so a resumed run keeps them and an export reads them
back like any other weights.
"""

from typing import List, Sequence

import tensorflow as tf

from bgan_tf.config import ModelConfig
from bgan_tf.models import Discriminator, make_discriminator

__all__ = ["PosteriorSnapshots"]


class PosteriorSnapshots(tf.Module):
  """Up to `capacity` discriminator weight samples; the oldest is replaced first.

  Args:
    model_config: architecture of the discriminators to copy.
    capacity: maximum number of snapshots kept (0 keeps none).
  """

  def __init__(self, model_config: ModelConfig, capacity: int, name="posterior_snapshots"):
    super().__init__(name=name)
    if capacity < 0:
      raise ValueError(f"capacity must be >= 0, got {capacity}")
    self.capacity = capacity
    self.slots = [make_discriminator(model_config, name=f"snapshot_{i}") for i in range(capacity)]
    # Snapshots ever added; slot i holds the latest whose index % capacity == i.
    self.num_added = tf.Variable(0, dtype=tf.int64, trainable=False, name="num_added")
    # The training iteration each slot was taken at (-1: empty).
    self.slot_iterations = tf.Variable(tf.fill([max(capacity, 1)], tf.constant(-1, tf.int64)), trainable=False,
                                       name="slot_iterations")

  def add(self, discriminators: Sequence[Discriminator], iteration: int) -> None:
    """Copies each discriminator's weights into the next slot, noting `iteration`."""
    if not self.capacity:
      return
    for disc in discriminators:
      index = int(self.num_added.numpy()) % self.capacity
      for target, source in zip(self.slots[index].weights, disc.weights):
        target.assign(source)
      self.slot_iterations[index].assign(iteration)
      self.num_added.assign_add(1)

  def models(self, exclude_iteration=None) -> List[Discriminator]:
    """The filled slots, oldest first.

    Args:
      exclude_iteration: leave out snapshots taken at this iteration; pass
        the chains' current iteration, where a snapshot would only repeat
        the chains themselves.
    """
    return [self.slots[i] for i in self._kept_slots(exclude_iteration)]

  def iterations(self, exclude_iteration=None) -> List[int]:
    """The iteration each of `models(exclude_iteration)` was taken at, in the same order."""
    taken_at = self.slot_iterations.numpy()
    return [int(taken_at[i]) for i in self._kept_slots(exclude_iteration)]

  def _kept_slots(self, exclude_iteration):
    """Indices of the filled slots, oldest first, less those taken at `exclude_iteration`."""
    count = int(self.num_added.numpy())
    filled = min(count, self.capacity)
    start = count % self.capacity if count > self.capacity else 0
    order = [(start + i) % self.capacity for i in range(filled)]
    taken_at = self.slot_iterations.numpy()
    return [i for i in order if exclude_iteration is None or taken_at[i] != exclude_iteration]
