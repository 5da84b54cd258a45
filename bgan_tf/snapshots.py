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

  def add(self, discriminators: Sequence[Discriminator]) -> None:
    """Copies each discriminator's weights into the next slot."""
    if not self.capacity:
      return
    for disc in discriminators:
      slot = self.slots[int(self.num_added.numpy()) % self.capacity]
      for target, source in zip(slot.weights, disc.weights):
        target.assign(source)
      self.num_added.assign_add(1)

  def models(self) -> List[Discriminator]:
    """The filled slots, oldest first."""
    count = int(self.num_added.numpy())
    filled = min(count, self.capacity)
    start = count % self.capacity if count > self.capacity else 0
    return [self.slots[(start + i) % self.capacity] for i in range(filled)]
