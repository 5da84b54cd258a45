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
  # The training step's semi-supervised objective: the unsupervised terms plus the supervised one.
  got = losses.discriminator_nll(logits, logits[None], supervised=losses.supervised_loss(logits, labels)).numpy()
  assert got == pytest.approx(-np.log(p_real) - np.log(1 - p_real) + expected_ce, rel=1e-6)


def test_gaussian_log_prior_is_the_full_normal_density():
  w = [np.array([0.5, -1.0]), np.array([[2.0]])]
  std = 0.7
  values = np.array([0.5, -1.0, 2.0])
  expected = np.sum(-0.5 * (values / std)**2 - np.log(std) - 0.5 * np.log(2 * np.pi))
  assert losses.gaussian_log_prior([tf.constant(v, tf.float32) for v in w],
                                   std).numpy() == pytest.approx(expected, rel=1e-6)


def test_wasserstein_losses():
  real, fake = np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]])
  assert losses.wasserstein_critic_loss(real, fake).numpy() == pytest.approx(0.5 - 2.0)
  assert losses.wasserstein_generator_loss(fake).numpy() == pytest.approx(-0.5)


def test_pooled_objectives_reduce_to_the_paper_losses_and_pool_by_logsumexp():
  rng = np.random.default_rng(0)
  real = tf.constant(rng.normal(size=(5, 3)), tf.float32)
  fakes = tf.constant(rng.normal(size=(4, 5, 3)), tf.float32)
  np.testing.assert_allclose(
      losses.discriminator_nll(real, fakes).numpy(),
      losses.bgan_discriminator_loss(real, fakes).numpy(), rtol=1e-6)
  np.testing.assert_allclose(
      losses.generator_nll(fakes).numpy(),
      losses.bgan_generator_loss(fakes).numpy(), rtol=1e-6)
  real_term = np.mean(np.log1p(np.exp(-np.log(np.exp(real.numpy()).sum(-1)))))
  fake_terms = np.mean(np.log1p(np.exp(np.log(np.exp(fakes.numpy()).sum(-1)))), axis=1)
  expected = np.log(np.sum(np.exp(0.7 + 4.0 * real_term + fake_terms)))
  got = losses.discriminator_nll(real, fakes, supervised=0.7, real_weight=4.0, pooling="logsumexp")
  assert float(got) == pytest.approx(expected, rel=1e-5)
  with pytest.raises(ValueError, match="pooling"):
    losses.pool_over_samples(tf.ones([2]), "max")


def test_feature_matching_is_a_huber_distance_example_by_example():
  real = tf.constant([[0.0, 0.0], [1.0, 1.0]])
  fake = tf.constant([[0.5, 3.0], [1.0, 2.0]])
  # huber(0.5) = 0.125, huber(3) = 2.5, huber(0) = 0, huber(1) = 0.5; mean over 4 entries.
  assert float(losses.feature_matching_loss(real, fake)) == pytest.approx((0.125 + 2.5 + 0.0 + 0.5) / 4)
  # Example by example, not batch means: swapping the real rows changes the distance.
  assert float(losses.feature_matching_loss(real[::-1], fake)) == pytest.approx((0.125 + 1.5 + 0.5 + 1.5) / 4)
