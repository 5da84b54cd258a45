"""Loss functions against closed forms."""

import numpy as np
import pytest
import tensorflow as tf

from bgan_tf import losses


def _sigmoid(x):
  return 1 / (1 + np.exp(-x))


def test_single_logit_reduces_to_the_standard_gan_losses():
  real, fake = np.array([[0.3], [-1.2]]), np.array([[[2.0], [-0.5]]])
  expected_d = -np.mean(np.log(_sigmoid(real))) - np.mean(np.log(1 - _sigmoid(fake)))
  expected_g = -np.mean(np.log(_sigmoid(fake)))
  assert losses.bgan_discriminator_loss(real, fake).numpy() == pytest.approx(expected_d, rel=1e-6)
  assert losses.bgan_generator_loss(fake).numpy() == pytest.approx(expected_g, rel=1e-6)


def test_implicit_fake_class_probabilities():
  logits = np.array([[1.0, 2.0, -1.0]])
  z = np.exp(logits).sum()
  p_real = z / (z + 1)
  assert losses.bgan_discriminator_loss(logits, logits[None]).numpy() == pytest.approx(
      -np.log(p_real) - np.log(1 - p_real), rel=1e-6)
  # The implicit class is the (K+1)-th logit fixed at 0.
  full = np.concatenate([logits, [[0.0]]], axis=1)
  labels = np.array([1])
  expected_ce = -np.log(np.exp(full[0, 1]) / np.exp(full[0, :3]).sum())
  got = losses.semi_supervised_discriminator_loss(logits, logits[None], logits, labels).numpy()
  assert got == pytest.approx(-np.log(p_real) - np.log(1 - p_real) + expected_ce, rel=1e-6)


def test_gaussian_log_prior_is_the_full_normal_density():
  w = [np.array([0.5, -1.0]), np.array([[2.0]])]
  std = 0.7
  values = np.array([0.5, -1.0, 2.0])
  expected = np.sum(-0.5 * (values / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi))
  assert losses.gaussian_log_prior([tf.constant(v, tf.float32) for v in w], std).numpy() == pytest.approx(expected, rel=1e-6)


def test_wasserstein_losses():
  real, fake = np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]])
  assert losses.wasserstein_critic_loss(real, fake).numpy() == pytest.approx(0.5 - 2.0)
  assert losses.wasserstein_generator_loss(fake).numpy() == pytest.approx(-0.5)
