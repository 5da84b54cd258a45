"""Analytic posteriors for testing samplers, and a vectorised chain runner."""

import dataclasses

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp


@dataclasses.dataclass(frozen=True)
class GaussianTarget:
  """theta ~ N(mean, cov) written as U = data_size * L (see bgan_tf.sghmc)."""

  mean: np.ndarray
  cov: np.ndarray
  data_size: int

  def mean_loss(self, theta):
    """L(theta) for theta [num_chains, d], summed over independent chains."""
    precision = tf.constant(np.linalg.inv(self.cov), tf.float32)
    centred = theta - tf.constant(self.mean, tf.float32)
    energy = 0.5 * tf.reduce_sum(centred * tf.linalg.matvec(precision, centred), axis=-1)
    return tf.reduce_sum(energy) / self.data_size


def correlated_gaussian(data_size=100):
  return GaussianTarget(mean=np.array([1.0, -2.0]), cov=np.array([[1.0, 0.8], [0.8, 1.0]]) * 0.5,
                        data_size=data_size)


@dataclasses.dataclass(frozen=True)
class LinearRegression:
  """y = X w + N(0, noise_std^2), w ~ N(0, prior_std^2 I): a conjugate model."""

  x: np.ndarray
  y: np.ndarray
  noise_std: float
  prior_std: float

  @property
  def data_size(self):
    return len(self.y)

  def posterior(self):
    """Analytic posterior mean [d] and covariance [d, d] of w."""
    precision = self.x.T @ self.x / self.noise_std**2 + np.eye(self.x.shape[1]) / self.prior_std**2
    cov = np.linalg.inv(precision)
    return cov @ self.x.T @ self.y / self.noise_std**2, cov

  def mean_nll(self, w):
    """Minibatch-mean Gaussian NLL for w [num_chains, d], summed over chains."""
    residual = tf.constant(self.y, tf.float32)[:, None] - tf.matmul(tf.constant(self.x, tf.float32), w,
                                                                    transpose_b=True)
    return tf.reduce_sum(tf.reduce_mean(0.5 * tf.square(residual) / self.noise_std**2, axis=0))


def linear_regression(n=64, d=3, seed=0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, d))
  w = np.array([0.5, -1.0, 2.0])[:d]
  y = x @ w + 0.5 * rng.normal(size=n)
  return LinearRegression(x=x, y=y, noise_std=0.5, prior_std=1.0)


def run_chains(optimizer, variable, loss_fn, num_burn_in, num_samples, thin=1):
  """Runs `optimizer` on `loss_fn(variable)` and returns the kept draws.

  Returns:
    numpy array [num_samples, *variable.shape].
  """

  @tf.function
  def advance(num_steps):
    for _ in tf.range(num_steps):
      with tf.GradientTape() as tape:
        loss = loss_fn(variable)
      optimizer.apply_gradients([(tape.gradient(loss, variable), variable)])

  optimizer.build([variable])
  advance(tf.constant(num_burn_in))
  draws = []
  for _ in range(num_samples):
    advance(tf.constant(thin))
    draws.append(variable.numpy().copy())
  return np.stack(draws)


def moments_with_tolerance(draws, num_sigmas=5.0):
  """Pooled mean and covariance of draws [T, chains, d], with tolerances.

  The tolerances are num_sigmas Monte Carlo standard errors, from the
  effective sample size pooled over chains (tfp.mcmc.effective_sample_size):
  se(mean_i) = sqrt(cov_ii / ess_i), and for the covariance entry (i, j)
  se = sqrt((cov_ii cov_jj + cov_ij^2) / min(ess_i, ess_j)).
  """
  flat = draws.reshape(-1, draws.shape[-1])
  mean = flat.mean(axis=0)
  cov = np.cov(flat, rowvar=False)
  ess = tfp.mcmc.effective_sample_size(tf.constant(draws, tf.float64), cross_chain_dims=1).numpy()
  var = np.diag(cov)
  mean_tol = num_sigmas * np.sqrt(var / ess)
  ess_pair = np.minimum(ess[:, None], ess[None, :])
  cov_tol = num_sigmas * np.sqrt((np.outer(var, var) + cov**2) / ess_pair)
  return mean, cov, mean_tol, cov_tol, ess
