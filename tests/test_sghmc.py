"""The SGHMC sampler: exact single steps, and posterior moments of known targets."""

import numpy as np
import pytest
import tensorflow as tf

from bgan_tf import losses
from bgan_tf.sghmc import PRECONDITIONER_DELTA, SGHMC, preconditioner_from_adam
from toy_targets import GaussianTarget, correlated_gaussian, linear_regression, moments_with_tolerance, run_chains


def _one_step(optimizer, variable, gradient):
  optimizer.apply_gradients([(tf.constant(gradient, tf.float32), variable)])


def test_noise_free_steps_match_hand_computed_update():
  lr, friction = 0.1, 0.2
  theta = tf.Variable([1.0, -2.0])
  opt = SGHMC(learning_rate=lr, friction=friction, data_size=10, add_noise=False)
  g1, g2 = np.array([0.5, 1.0]), np.array([-1.0, 2.0])
  _one_step(opt, theta, g1)
  v1 = -lr * g1
  np.testing.assert_allclose(theta.numpy(), np.array([1.0, -2.0]) + v1, rtol=1e-6)
  _one_step(opt, theta, g2)
  v2 = (1 - friction) * v1 - lr * g2
  np.testing.assert_allclose(theta.numpy(), np.array([1.0, -2.0]) + v1 + v2, rtol=1e-6)
  np.testing.assert_allclose(opt.velocities()[0].numpy(), v2, rtol=1e-6)


@pytest.mark.parametrize("temperature", [1.0, 0.25])
def test_injected_noise_has_variance_two_alpha_eta_temperature(temperature):
  lr, friction, data_size = 0.02, 0.1, 50
  theta = tf.Variable(tf.zeros([200_000]))
  opt = SGHMC(learning_rate=lr, friction=friction, data_size=data_size, temperature=temperature, seed=0)
  _one_step(opt, theta, np.zeros(200_000))  # zero gradient: theta moves by the noise alone
  expected = np.sqrt(2 * friction * (lr / data_size) * temperature)
  assert expected == pytest.approx(SGHMC.noise_std(lr, friction, data_size, temperature))
  # Relative standard error of a sample std over n draws is 1/sqrt(2n) = 0.16%.
  assert np.std(theta.numpy()) == pytest.approx(expected, rel=0.01)
  assert abs(np.mean(theta.numpy())) < 5 * expected / np.sqrt(200_000)


def _gaussian_draws(temperature=1.0, seed=1):
  target = correlated_gaussian()
  theta = tf.Variable(np.zeros((2000, 2), np.float32))
  opt = SGHMC(learning_rate=0.1, friction=0.05, data_size=target.data_size, temperature=temperature, seed=seed)
  draws = run_chains(opt, theta, target.mean_loss, num_burn_in=1000, num_samples=300, thin=5)
  return target, moments_with_tolerance(draws)


@pytest.mark.parametrize("temperature", [1.0, 0.25])
def test_the_2017_noise_form_is_the_gradient_of_a_loss_noise_term(temperature):
  # 2017 added sum(theta * xi) / N to the loss, xi ~ N(0, 2 * 0.01 * 2e-4):
  # the first step moves theta by -eps * xi / N (bgan_semi.py:452-479).
  lr, data_size = 0.02, 50
  theta = tf.Variable(tf.zeros([200_000]))
  opt = SGHMC(learning_rate=lr, friction=0.5, data_size=data_size, temperature=temperature, noise_form="2017",
              seed=0)
  _one_step(opt, theta, np.zeros(200_000))
  expected = lr * np.sqrt(2 * 0.01 * 2e-4) * np.sqrt(temperature) / data_size
  assert np.std(theta.numpy()) == pytest.approx(expected, rel=0.01)
  # 1e4 times smaller than the Langevin noise of the same step, even here.
  assert expected < 1e-3 * SGHMC.noise_std(lr, 0.5, data_size, temperature)


def test_friction_one_half_without_noise_is_tf_momentum_sgd():
  # The 2017 --optimizer=sgd: MomentumOptimizer(lr, momentum=0.5) (bgan_semi.py:206).
  theta, reference = tf.Variable([1.0, -2.0]), tf.Variable([1.0, -2.0])
  opt = SGHMC(learning_rate=0.1, friction=0.5, data_size=10, add_noise=False)
  momentum = tf.keras.optimizers.SGD(learning_rate=0.1, momentum=0.5)
  for gradient in ([0.5, 1.0], [-1.0, 2.0], [0.3, -0.7]):
    _one_step(opt, theta, np.array(gradient))
    momentum.apply_gradients([(tf.constant(gradient), reference)])
    np.testing.assert_allclose(theta.numpy(), reference.numpy(), rtol=1e-6)


def test_correlated_gaussian_moments_match_and_wrong_targets_are_rejected():
  target, (mean, cov, mean_tol, cov_tol, ess) = _gaussian_draws()
  assert ess.min() > 20_000
  np.testing.assert_array_less(np.abs(mean - target.mean), mean_tol)
  np.testing.assert_array_less(np.abs(cov - target.cov), cov_tol)
  # Negative control: the same draws must reject a target 1.1x as wide.
  assert np.any(np.abs(cov - 1.1 * target.cov) > cov_tol)


def test_temperature_scales_the_stationary_covariance():
  target, (_, cov, _, cov_tol, _) = _gaussian_draws(temperature=0.5, seed=2)
  np.testing.assert_array_less(np.abs(cov - 0.5 * target.cov), cov_tol)
  assert np.any(np.abs(cov - target.cov) > cov_tol)


def test_bayesian_linear_regression_posterior():
  model = linear_regression()
  post_mean, post_cov = model.posterior()
  w = tf.Variable(np.zeros((2000, 3), np.float32))
  # SGHMC without a Metropolis correction is biased by O(eta * lambda_max):
  # measured +2.9% variance at eps=0.02, +1.2% at 0.01, +0.5% at 0.005 for
  # this posterior (lambda_max ~ 310, eta = eps / 64), so use the small step.
  opt = SGHMC(learning_rate=0.005, friction=0.1, data_size=model.data_size, seed=3)

  def loss(weights):
    # The library's prior term, scaled as the sampler documents: -log p / N.
    return model.mean_nll(weights) - losses.gaussian_log_prior([weights], model.prior_std) / model.data_size

  draws = run_chains(opt, w, loss, num_burn_in=1500, num_samples=200, thin=5)
  mean, cov, mean_tol, cov_tol, _ = moments_with_tolerance(draws)
  np.testing.assert_array_less(np.abs(mean - post_mean), mean_tol)
  np.testing.assert_array_less(np.abs(cov - post_cov), cov_tol)
  # A prior or likelihood factor off by 10% in the variance must show.
  assert np.any(np.abs(cov - 1.1 * post_cov) > cov_tol)


def test_without_noise_converges_to_the_map():
  model = linear_regression()
  post_mean, _ = model.posterior()  # Gaussian posterior: MAP = mean
  w = tf.Variable(np.zeros((1, 3), np.float32))
  opt = SGHMC(learning_rate=0.05, friction=0.1, data_size=model.data_size, add_noise=False)

  def loss(weights):
    return model.mean_nll(weights) - losses.gaussian_log_prior([weights], model.prior_std) / model.data_size

  draws = run_chains(opt, w, loss, num_burn_in=3000, num_samples=1)
  np.testing.assert_allclose(draws[-1, 0], post_mean, atol=1e-4)


def test_state_round_trips_through_a_checkpoint(tmp_path):
  theta = tf.Variable(tf.zeros([5]))
  opt = SGHMC(learning_rate=0.1, friction=0.1, data_size=10, seed=7)
  for _ in range(3):
    _one_step(opt, theta, np.ones(5))
  path = tf.train.Checkpoint(theta=theta, opt=opt).save(str(tmp_path / "ckpt"))
  _one_step(opt, theta, np.ones(5))
  expected = theta.numpy().copy()

  theta2 = tf.Variable(tf.zeros([5]))
  opt2 = SGHMC(learning_rate=0.1, friction=0.1, data_size=10, seed=7)  # the seed is configuration
  opt2.build([theta2])
  tf.train.Checkpoint(theta=theta2, opt=opt2).restore(path).assert_consumed()
  _one_step(opt2, theta2, np.ones(5))
  np.testing.assert_array_equal(theta2.numpy(), expected)


@pytest.mark.parametrize(
    "kwargs",
    [dict(friction=0.0), dict(friction=1.5),
     dict(data_size=0), dict(temperature=-1.0)])
def test_invalid_arguments_raise(kwargs):
  with pytest.raises(ValueError):
    SGHMC(**kwargs)


def test_noise_differs_between_steps_and_variables_but_repeats_for_a_seed():

  def draws(seed):
    a, b = tf.Variable(tf.zeros([1000])), tf.Variable(tf.zeros([1000]))
    opt = SGHMC(learning_rate=0.1, friction=0.5, data_size=1, seed=seed)
    steps = []
    for _ in range(2):
      before = [a.numpy().copy(), b.numpy().copy()]
      opt.apply_gradients([(tf.zeros([1000]), a), (tf.zeros([1000]), b)])
      steps.append([a.numpy() - before[0], b.numpy() - before[1]])
    return steps

  first, again, other = draws(3), draws(3), draws(4)
  np.testing.assert_array_equal(first[0][0], again[0][0])
  assert abs(np.corrcoef(first[0][0], first[0][1])[0, 1]) < 0.15  # variables: independent streams
  assert abs(np.corrcoef(first[0][0], first[1][0] - 0.5 * first[0][0])[0, 1]) < 0.15  # steps too
  assert not np.array_equal(first[0][0], other[0][0])


def test_bfloat16_compute_leaves_the_stationary_moments_unchanged():
  # Under mixed_bfloat16 the variables, velocities and noise stay float32 and
  # only the forward/backward pass runs in bfloat16: emulate that here.
  target = correlated_gaussian()
  precision = tf.constant(np.linalg.inv(target.cov), tf.bfloat16)
  mean = tf.constant(target.mean, tf.bfloat16)

  def bf16_loss(theta):
    centred = tf.cast(theta, tf.bfloat16) - mean
    energy = 0.5 * tf.reduce_sum(centred * tf.linalg.matvec(precision, centred), axis=-1)
    return tf.cast(tf.reduce_sum(energy), tf.float32) / target.data_size

  theta = tf.Variable(np.zeros((2000, 2), np.float32))
  opt = SGHMC(learning_rate=0.1, friction=0.05, data_size=target.data_size, seed=4)
  draws = run_chains(opt, theta, bf16_loss, num_burn_in=1000, num_samples=300, thin=5)
  assert draws.dtype == np.float32
  mean_est, cov, mean_tol, cov_tol, _ = moments_with_tolerance(draws)
  np.testing.assert_array_less(np.abs(mean_est - target.mean), mean_tol)
  np.testing.assert_array_less(np.abs(cov - target.cov), cov_tol)


# ------------------------------------------------------------ preconditioning


def test_preconditioned_step_scales_the_drift_by_p_and_the_noise_variance_by_p():
  lr, friction, data_size, n = 0.02, 0.1, 50, 200_000
  p = np.where(np.arange(n) % 2 == 0, 4.0, 0.25).astype(np.float32)
  theta = tf.Variable(tf.zeros([n]))
  opt = SGHMC(learning_rate=lr, friction=friction, data_size=data_size, preconditioned=True, seed=0)
  opt.build([theta])
  opt.set_preconditioner([p])
  _one_step(opt, theta, np.zeros(n))  # noise only: N(0, 2 alpha (eps / N) T P)
  base = SGHMC.noise_std(lr, friction, data_size)
  assert np.std(theta.numpy()[p == 4.0]) == pytest.approx(2.0 * base, rel=0.01)
  assert np.std(theta.numpy()[p == 0.25]) == pytest.approx(0.5 * base, rel=0.01)

  quiet = SGHMC(learning_rate=lr, friction=friction, data_size=data_size, preconditioned=True, add_noise=False)
  w = tf.Variable([1.0, -2.0])
  quiet.build([w])
  quiet.set_preconditioner([np.array([4.0, 0.25], np.float32)])
  g1, g2 = np.array([0.5, 1.0]), np.array([-1.0, 2.0])
  _one_step(quiet, w, g1)
  _one_step(quiet, w, g2)
  v1 = -lr * np.array([4.0, 0.25]) * g1
  v2 = (1 - friction) * v1 - lr * np.array([4.0, 0.25]) * g2
  np.testing.assert_allclose(w.numpy(), np.array([1.0, -2.0]) + v1 + v2, rtol=1e-6)


def test_preconditioned_2017_noise_is_preconditioned_like_a_gradient():
  lr, data_size = 0.02, 50
  theta = tf.Variable(tf.zeros([200_000]))
  opt = SGHMC(learning_rate=lr, friction=0.5, data_size=data_size, noise_form="2017", preconditioned=True, seed=0)
  opt.build([theta])
  opt.set_preconditioner([tf.fill([200_000], 3.0)])
  _one_step(opt, theta, np.zeros(200_000))
  assert np.std(theta.numpy()) == pytest.approx(3.0 * lr * np.sqrt(2 * 0.01 * 2e-4) / data_size, rel=0.01)


def test_a_fixed_preconditioner_leaves_the_stationary_distribution_unchanged():
  # A badly scaled target (standard deviations 0.2 and 2, correlated), with P
  # set to its marginal variances (the ideal diagonal mass) and, as a second
  # case, to a P that is neither that nor uniform: both must sample
  # N(mean, cov). (The inverse of the ideal P mixes too slowly to test: the
  # wide coordinate would relax in ~1e4 steps.)
  target = GaussianTarget(mean=np.array([1.0, -2.0]), cov=np.array([[0.04, 0.16], [0.16, 4.0]]), data_size=100)
  for p, seed in ((np.diag(target.cov), 5), (np.array([0.1, 1.0]), 6)):
    theta = tf.Variable(np.zeros((2000, 2), np.float32))
    opt = SGHMC(learning_rate=0.05, friction=0.05, data_size=target.data_size, preconditioned=True, seed=seed)
    opt.build([theta])
    opt.set_preconditioner([np.broadcast_to(p, (2000, 2)).astype(np.float32)])
    draws = run_chains(opt, theta, target.mean_loss, num_burn_in=2000, num_samples=300, thin=5)
    mean, cov, mean_tol, cov_tol, _ = moments_with_tolerance(draws)
    np.testing.assert_array_less(np.abs(mean - target.mean), mean_tol)
    np.testing.assert_array_less(np.abs(cov - target.cov), cov_tol)
    assert np.any(np.abs(cov - 1.1 * target.cov) > cov_tol)


def test_preconditioner_from_adam_is_one_over_adams_bias_corrected_rms_gradient():
  gradient = np.array([0.5, -2.0, 1e-9], np.float32)
  theta = tf.Variable(tf.zeros([3]))
  adam = tf.keras.optimizers.Adam(1e-3, beta_1=0.5)
  with pytest.raises(ValueError, match="no step"):
    adam.build([theta])
    preconditioner_from_adam(adam, [theta])
  for _ in range(7):  # a constant gradient: v_hat = g^2 exactly after bias correction
    adam.apply_gradients([(tf.constant(gradient), theta)])
  (p,) = preconditioner_from_adam(adam, [theta])
  np.testing.assert_allclose(p.numpy(), 1.0 / (np.abs(gradient) + PRECONDITIONER_DELTA), rtol=1e-4)
  assert p.numpy()[2] == pytest.approx(1.0 / PRECONDITIONER_DELTA, rel=1e-3)  # bounded where g ~ 0


def test_preconditioner_round_trips_through_a_checkpoint_and_needs_preconditioned(tmp_path):
  theta = tf.Variable(tf.zeros([4]))
  opt = SGHMC(learning_rate=0.1, friction=0.1, data_size=10, preconditioned=True, seed=1)
  opt.build([theta])
  opt.set_preconditioner([np.array([1.0, 2.0, 3.0, 4.0], np.float32)])
  path = tf.train.Checkpoint(theta=theta, opt=opt).save(str(tmp_path / "ckpt"))
  opt2 = SGHMC(learning_rate=0.1, friction=0.1, data_size=10, preconditioned=True, seed=1)
  theta2 = tf.Variable(tf.zeros([4]))
  opt2.build([theta2])
  tf.train.Checkpoint(theta=theta2, opt=opt2).restore(path).assert_consumed()
  np.testing.assert_array_equal(opt2.preconditioners()[0].numpy(), [1.0, 2.0, 3.0, 4.0])

  plain = SGHMC(learning_rate=0.1, friction=0.1, data_size=10)
  plain.build([tf.Variable(tf.zeros([4]))])
  assert plain.preconditioners() == []
  with pytest.raises(ValueError, match="without a preconditioner"):
    plain.set_preconditioner([np.ones(4, np.float32)])
