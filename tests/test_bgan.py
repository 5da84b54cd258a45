"""BayesianGAN training steps: exact updates, pairing, tracing, seeding."""

import numpy as np
import pytest
import tensorflow as tf

from bgan_tf import losses
from bgan_tf.bgan import BayesianGAN
from bgan_tf.config import GANConfig, ModelConfig, SamplerConfig
from bgan_tf.models import make_discriminator, make_generator
from bgan_tf.sghmc import preconditioner_from_adam

BATCH = 4


def tiny_config(num_classes=1, data_size=64, sampler=None, disc_norm="none", **kwargs):
  # disc_norm "none" by default: the exact-update tests below score examples
  # in separate passes; the batch-norm tests set "batch".
  model = ModelConfig(example_shape=(8, 8, 1), num_classes=num_classes, z_dim=6, gf_dim=4, df_dim=4, num_layers=2,
                      disc_norm=disc_norm)
  return GANConfig(model=model, sampler=SamplerConfig(data_size=data_size, **(sampler or {})), batch_size=BATCH,
                   **kwargs)


def batch(seed, n=BATCH):
  return tf.random.stateless_uniform([n, 8, 8, 1], seed=[seed, 0], minval=-1, maxval=1)


def values(variables):
  return [v.numpy().copy() for v in variables]


def assert_all_equal(a, b):
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x, y)


def test_noise_free_sghmc_discriminator_step_matches_hand_computed_update():
  config = tiny_config(num_gen=2, sampler=dict(add_noise=False, learning_rate=0.01, prior_std=0.5))
  gan = BayesianGAN(config)
  disc = gan.discriminators[0]
  x, z = batch(1), gan.sample_z()
  theta0 = values(disc.trainable_variables)
  fakes = tf.stack([g(z[i], training=True) for i, g in enumerate(gan.generators)])
  with tf.GradientTape() as tape:
    nll = losses.bgan_discriminator_loss(disc(x), disc(tf.reshape(fakes, [-1, 8, 8, 1])))
  grads = tape.gradient(nll, disc.trainable_variables)
  gan.discriminator_step(x, z=z)
  for before, grad, after in zip(theta0, grads, disc.trainable_variables):
    # grad L = grad NLL + grad(-log p)/N, and -log N(0, s^2) has gradient theta / s^2.
    expected = before - 0.01 * (grad.numpy() + before / (0.5**2 * 64))
    np.testing.assert_allclose(after.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_ml_mode_equals_a_plain_gan_step():
  config = tiny_config(ml=True, sampler=dict(adam_learning_rate=1e-3))
  gan = BayesianGAN(config)
  gen, disc = make_generator(config.model), make_discriminator(config.model)
  gen.set_weights(gan.generators[0].get_weights())
  disc.set_weights(gan.discriminators[0].get_weights())
  d_opt, g_opt = (tf.keras.optimizers.Adam(1e-3, beta_1=0.5) for _ in range(2))
  x, z1, z2 = batch(2), gan.sample_z(), gan.sample_z()

  with tf.GradientTape() as tape:  # the textbook GAN, written out independently
    d_loss = (tf.reduce_mean(tf.nn.softplus(-disc(x))) +
              tf.reduce_mean(tf.nn.softplus(disc(gen(z1[0], training=True)))))
  d_opt.apply_gradients(zip(tape.gradient(d_loss, disc.trainable_variables), disc.trainable_variables))
  with tf.GradientTape() as tape:
    g_loss = tf.reduce_mean(tf.nn.softplus(-disc(gen(z2[0], training=True))))
  g_opt.apply_gradients(zip(tape.gradient(g_loss, gen.trainable_variables), gen.trainable_variables))

  metrics = gan.discriminator_step(x, z=z1)
  gan.generator_step(z=z2)
  assert metrics["disc_losses"].numpy()[0] == pytest.approx(d_loss.numpy(), rel=1e-6)
  # Adam moves every weight by about lr = 1e-3 whatever the gradient's size,
  # so where a gradient is at rounding level (the output bias at init, where
  # the real and fake terms cancel) summation order shows up as a few 1e-6.
  # A wrong loss or a stray prior/noise term moves weights by O(lr).
  for a, b in zip(gan.discriminators[0].weights + gan.generators[0].weights, disc.weights + gen.weights):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)


def test_semi_supervised_steps_reduce_the_supervised_loss_on_a_separable_problem():
  config = tiny_config(num_classes=2, num_gen=2, sampler=dict(learning_rate=0.02))
  gan = BayesianGAN(config)
  rng = np.random.default_rng(0)
  labels = np.array([0, 1] * 4)
  pattern = np.where(np.arange(8)[:, None] < 4, 1.0, -1.0) * np.ones((8, 8))
  images = np.stack([pattern if y == 0 else -pattern for y in labels])[..., None]
  images = np.clip(images + 0.3 * rng.normal(size=images.shape), -1, 1).astype(np.float32)
  first = last = None
  for step in range(60):
    metrics = gan.discriminator_step(images, images, labels)
    gan.generator_step()
    loss = float(np.mean(metrics["disc_supervised_losses"]))
    first = loss if first is None else first
    last = loss
  assert first == pytest.approx(np.log(2), abs=0.05)
  assert last < 0.5 * first
  np.testing.assert_array_equal(np.argmax(gan.predict_proba(images), axis=1), labels)


def test_each_step_updates_only_its_own_variables():
  gan = BayesianGAN(tiny_config(num_classes=3, num_gen=2, num_mcmc=2))
  x, y = batch(3), tf.constant([0, 1, 2, 0])
  g0, d0, c0 = (values(gan.generator_variables), values(gan.discriminator_variables),
                values(gan.classifier.trainable_variables))
  gan.discriminator_step(x, x, y)
  assert_all_equal(values(gan.generator_variables), g0)
  assert_all_equal(values(gan.classifier.trainable_variables), c0)
  assert all(np.any(a != b) for a, b in zip(values(gan.discriminator_variables), d0))
  d1 = values(gan.discriminator_variables)
  gan.generator_step()
  assert_all_equal(values(gan.discriminator_variables), d1)
  gan.supervised_step(x, y)
  assert_all_equal(values(gan.discriminator_variables), d1)
  assert all(np.any(a != b) for a, b in zip(values(gan.classifier.trainable_variables), c0))


def _perturb(model):
  for v in model.trainable_variables:
    v.assign(v + 0.1)


def test_ml_ensemble_pairs_each_generator_with_its_own_discriminator():
  x = batch(4)
  gans = [BayesianGAN(tiny_config(ml_ensemble=2, num_gen=2, num_disc=2)) for _ in range(2)]
  _perturb(gans[1].generators[1])
  z = gans[0].sample_z()
  for gan in gans:
    gan.discriminator_step(x, z=z)
  assert_all_equal(values(gans[0].discriminators[0].weights), values(gans[1].discriminators[0].weights))
  assert any(
      np.any(a != b)
      for a, b in zip(values(gans[0].discriminators[1].weights), values(gans[1].discriminators[1].weights)))


def test_generator_samples_move_independently():
  config = tiny_config(num_gen=2, num_disc=2, sampler=dict(add_noise=False))
  gans = [BayesianGAN(config) for _ in range(2)]
  _perturb(gans[1].generators[1])
  z = gans[0].sample_z()
  for gan in gans:
    gan.generator_step(z=z)
  for a, b in zip(gans[0].generators[0].weights, gans[1].generators[0].weights):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_steps_are_traced_once():
  gan = BayesianGAN(tiny_config(num_classes=3, num_gen=2, sampler=dict(adam_burn_in=2)))
  y = tf.constant([0, 1, 2, 0])
  for iteration in range(4):
    use_adam = iteration < 2
    gan.set_learning_rate(sghmc_learning_rate=0.01 / (iteration + 1), adam_learning_rate=1e-4)
    gan.discriminator_step(batch(iteration), batch(10 + iteration), y, use_adam=use_adam)
    gan.generator_step(use_adam=use_adam)
    gan.supervised_step(batch(20 + iteration), y)
    gan.discriminator_and_supervised_step(batch(30 + iteration), batch(40 + iteration), y, use_adam=use_adam)
  gan.predict_proba(batch(5, n=3))
  gan.predict_proba(batch(6, n=7))  # batch size is dynamic: no retrace
  counts = {name: fn.experimental_get_tracing_count() for name, fn in gan.step_functions().items()}
  # One trace each, through both phases.
  assert counts == {"disc": 1, "gen": 1, "supervised": 1, "disc_and_supervised": 1}
  assert gan._predict_fn.experimental_get_tracing_count() == 1


def test_the_combined_discriminator_and_supervised_step_equals_the_two_steps():
  config = tiny_config(num_classes=3, num_gen=2, num_mcmc=2, disc_norm="batch", sampler=dict(adam_burn_in=1))
  separate, combined = BayesianGAN(config), BayesianGAN(config)

  def weights(gan):  # every weight the two steps move, batch-norm statistics too
    return [w for model in [*gan.discriminators, gan.classifier] for w in model.weights]

  for iteration, use_adam in enumerate([True, False]):  # the burn-in's Adam step, then SGHMC
    if not use_adam:
      for gan in (separate, combined):
        gan.start_sampling()
    y, z = tf.constant([2, 1, 0, 1]), separate.sample_z()
    before = values(separate.discriminator_variables)
    expected = separate.discriminator_step(batch(iteration), batch(10 + iteration), y, z=z, use_adam=use_adam)
    expected.update(separate.supervised_step(batch(10 + iteration), y))
    metrics = combined.discriminator_and_supervised_step(batch(iteration), batch(10 + iteration), y, z=z,
                                                         use_adam=use_adam)
    assert metrics.keys() == expected.keys()
    for name in expected:
      np.testing.assert_array_equal(metrics[name].numpy(), expected[name].numpy(), err_msg=name)
    # To the bit: the two steps update disjoint variables.
    for a, b in zip(weights(separate), weights(combined), strict=True):
      np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert any(np.any(a != b) for a, b in zip(before, values(separate.discriminator_variables)))


def test_each_phase_scales_the_loss_with_its_own_optimizer_under_mixed_float16():
  # The phase is a tensor inside one trace, so the loss scale must follow it:
  # a step scaled by one optimizer and unscaled by the other is off by the
  # ratio of their scales. Give the phase that is not stepping a different
  # scale; the step must not change.
  def run(other_scale, use_adam):
    gan = BayesianGAN(tiny_config(num_gen=2, seed=3, precision="mixed_float16",
                                  sampler=dict(add_noise=False, learning_rate=0.01)))
    other = gan.optimizers["sghmc_d" if use_adam else "adam_d"]
    if other_scale is not None:
      other.dynamic_scale.assign(other_scale)
    gan.discriminator_step(batch(1), z=gan.sample_z(), use_adam=use_adam)
    stepped = gan.optimizers["adam_d" if use_adam else "sghmc_d"]
    assert int(stepped.iterations.numpy()) == 1 and int(other.iterations.numpy()) == 0
    return values(gan.discriminator_variables)

  for use_adam in (True, False):
    assert_all_equal(run(None, use_adam), run(4.0, use_adam))


def _run(seed, iterations=2):
  gan = BayesianGAN(tiny_config(num_classes=3, num_gen=2, seed=seed))
  y = tf.constant([0, 1, 2, 0])
  for iteration in range(iterations):
    gan.discriminator_step(batch(iteration), batch(10 + iteration), y)
    gan.generator_step()
    gan.supervised_step(batch(10 + iteration), y)
  return values(gan.generator_variables + gan.discriminator_variables + gan.classifier.trainable_variables)


def test_seeded_runs_repeat_exactly_and_seeds_matter():
  first, second, other = _run(seed=11), _run(seed=11), _run(seed=12)
  assert_all_equal(first, second)
  assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_checkpoint_restores_the_whole_chain(tmp_path):
  config = tiny_config(num_classes=3, num_gen=2)
  gan = BayesianGAN(config)
  x, y = batch(7), tf.constant([0, 1, 2, 0])
  gan.discriminator_step(x, x, y)
  path = tf.train.Checkpoint(gan=gan).save(str(tmp_path / "ckpt"))
  gan.discriminator_step(x, x, y)
  gan.generator_step()
  expected = values(gan.generator_variables + gan.discriminator_variables)

  # Same configuration (the seed keys the sampler noise); weights, velocities,
  # step counts and the z generator's state all come from the checkpoint.
  restored = BayesianGAN(config)
  tf.train.Checkpoint(gan=restored).restore(path).assert_consumed()
  restored.discriminator_step(x, x, y)
  restored.generator_step()
  assert_all_equal(values(restored.generator_variables + restored.discriminator_variables), expected)


def test_predict_proba_is_the_average_of_the_discriminator_softmaxes():
  gan = BayesianGAN(tiny_config(num_classes=3, num_disc=2, num_mcmc=2))
  x = batch(8, n=5)
  expected = np.mean([tf.nn.softmax(d(x)).numpy() for d in gan.discriminators], axis=0)
  got = gan.predict_proba(x).numpy()
  np.testing.assert_allclose(got, expected, rtol=1e-6)
  np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-6)


def test_wasserstein_critic_weights_are_clipped():
  gan = BayesianGAN(tiny_config(wasserstein=True, clip_value=0.01, ml=True))
  gan.discriminator_step(batch(9))
  assert max(np.abs(v.numpy()).max() for v in gan.discriminator_variables) <= 0.01 + 1e-7


# ------------------------------------------- the 2017 options: batch norm, objectives, pairing


def _segment_logits(disc, *pieces):
  """A discriminator's training-mode logits and features, one batch-norm pass per piece."""
  outputs = [disc.logits_and_features(p, training=True, update_moving_stats=False) for p in pieces]
  return [o[0] for o in outputs], [o[1] for o in outputs]


def test_discriminator_step_with_batch_norm_equals_separate_passes_per_segment():
  config = tiny_config(num_gen=2, disc_norm="batch", sampler=dict(add_noise=False, learning_rate=0.01))
  gan = BayesianGAN(config)
  disc = gan.discriminators[0]
  x, z = batch(1), gan.sample_z()
  theta0 = values(disc.trainable_variables)
  fakes = [g(z[i], training=True) for i, g in enumerate(gan.generators)]
  with tf.GradientTape() as tape:
    (real, fake0, fake1), _ = _segment_logits(disc, x, *fakes)
    nll = losses.bgan_discriminator_loss(real, tf.stack([fake0, fake1]))
    objective = nll - losses.gaussian_log_prior(disc.trainable_variables, 1.0) / 64
  grads = tape.gradient(objective, disc.trainable_variables)
  metrics = gan.discriminator_step(x, z=z)
  assert metrics["disc_losses"].numpy()[0] == pytest.approx(nll.numpy(), rel=1e-5)
  for before, grad, after in zip(theta0, grads, disc.trainable_variables):
    np.testing.assert_allclose(after.numpy(), before - 0.01 * grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("objective,real_weight", [("mean", "one"), ("mean", "num_gen"), ("logsumexp", "num_gen"),
                                                   ("logsumexp", "one")])
def test_discriminator_objective_options(objective, real_weight):
  config = tiny_config(num_classes=3, num_gen=3, disc_norm="batch", objective=objective, real_weight=real_weight)
  gan = BayesianGAN(config)
  disc = gan.discriminators[0]
  x, xl, z = batch(1), batch(2), gan.sample_z()
  yl = tf.constant([0, 1, 2, 1])
  fakes = [g(z[i], training=True) for i, g in enumerate(gan.generators)]
  logits, _ = _segment_logits(disc, x, xl, *fakes)
  sup = losses.supervised_loss(logits[1], yl).numpy()
  real = np.mean(tf.nn.softplus(-tf.reduce_logsumexp(logits[0], -1)).numpy())
  fake = np.array([np.mean(tf.nn.softplus(tf.reduce_logsumexp(f, -1)).numpy()) for f in logits[2:]])
  w = 3.0 if real_weight == "num_gen" else 1.0
  if objective == "logsumexp":  # bgan_semi.py:281-288
    expected = np.log(np.sum(np.exp(sup + w * real + fake)))
  else:
    expected = sup + w * real + fake.mean()
  metrics = gan.discriminator_step(x, xl, yl, z=z, use_adam=True)
  assert metrics["disc_losses"].numpy()[0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("objective", ["mean", "logsumexp"])
def test_generator_loss_with_feature_matching(objective):
  config = tiny_config(num_gen=2, num_disc=2, disc_norm="batch", objective=objective, feature_matching=1.0)
  gan = BayesianGAN(config)
  x, z = batch(3), gan.sample_z()
  fakes = [g(z[i], training=True) for i, g in enumerate(gan.generators)]
  expected = []
  per_pair = np.zeros([2, 2])  # [generator, discriminator]
  for k, disc in enumerate(gan.discriminators):
    logits, features = _segment_logits(disc, x, *fakes)
    for j in range(2):
      gan_term = np.mean(tf.nn.softplus(-tf.reduce_logsumexp(logits[1 + j], -1)).numpy())
      residual = np.abs(features[1 + j].numpy() - features[0].numpy())
      huber = np.where(residual < 1.0, 0.5 * residual**2, residual - 0.5).mean()  # dcgan_ops.py:48-53
      per_pair[j, k] = gan_term + huber
  for j in range(2):
    expected.append(np.log(np.sum(np.exp(per_pair[j]))) if objective == "logsumexp" else per_pair[j].mean())
  with pytest.raises(ValueError, match="x_real"):
    gan.generator_step(z=z)
  metrics = gan.generator_step(z=z, x_real=x, use_adam=True)
  np.testing.assert_allclose(metrics["gen_losses"].numpy(), expected, rtol=1e-5)
  assert [f.experimental_get_tracing_count() for f in gan.step_functions().values()].count(1) == 1


def test_chain_pairing_pairs_generators_and_discriminators_of_the_same_chain():
  config = tiny_config(num_gen=2, num_disc=1, num_mcmc=2, disc_norm="batch", pairing="chain")
  gan = BayesianGAN(config)
  # Generator j * M + m is theta_g^{j,m}; discriminator k * M + m is theta_d^{k,m}.
  assert [gan._paired_generators(k) for k in range(2)] == [[0, 2], [1, 3]]
  assert [gan._judges(j) for j in range(4)] == [[0], [1], [0], [1]]
  everyone = BayesianGAN(tiny_config(num_gen=2, num_disc=1, num_mcmc=2))
  assert everyone._paired_generators(1) == [0, 1, 2, 3]
  x, z = batch(1), gan.sample_z()
  fakes = [g(z[i], training=True) for i, g in enumerate(gan.generators)]
  expected = []
  for k, disc in enumerate(gan.discriminators):
    (real, *fake), _ = _segment_logits(disc, x, fakes[k], fakes[k + 2])
    expected.append(losses.bgan_discriminator_loss(real, tf.stack(fake)).numpy())
  metrics = gan.discriminator_step(x, z=z, use_adam=True)
  np.testing.assert_allclose(metrics["disc_losses"].numpy(), expected, rtol=1e-5)


def test_the_2017_prior_is_a_mean_per_variable():
  config = tiny_config(num_gen=1, sampler=dict(prior_form="2017", prior_std=2.0))
  gan = BayesianGAN(config)
  disc = gan.discriminators[0]
  expected = sum(np.mean((v.numpy() / 2.0)**2) for v in disc.trainable_variables) / 64
  assert float(gan._prior_term(disc)) == pytest.approx(expected, rel=1e-5)
  gaussian = BayesianGAN(tiny_config(num_gen=1, sampler=dict(prior_std=2.0)))
  assert float(gaussian._prior_term(gaussian.discriminators[0])) != pytest.approx(expected, rel=1e-2)


def _momentum_steps(model, step, loss_fn, learning_rate, steps=2):
  """Runs `step` `steps` times and checks each update against momentum-0.5 SGD computed by hand.

  v <- 0.5 v - lr * grad, theta <- theta + v (the 2017 MomentumOptimizer's
  update at a constant rate), from v = 0.
  """
  velocity = [np.zeros_like(v.numpy()) for v in model.trainable_variables]
  for index in range(steps):
    with tf.GradientTape() as tape:
      loss = loss_fn(index)
    grads = tape.gradient(loss, model.trainable_variables)
    before = values(model.trainable_variables)
    step(index)
    velocity = [0.5 * v - learning_rate * g.numpy() for v, g in zip(velocity, grads)]
    for theta, v, after in zip(before, velocity, model.trainable_variables, strict=True):
      np.testing.assert_allclose(after.numpy(), theta + v, rtol=1e-5, atol=1e-7)


def test_the_ml_gan_takes_momentum_sgd_after_the_burn_in_under_momentum_after_burn_in():
  # The 2017 --ml with --optimizer=sgd: Adam, then MomentumOptimizer(lr, 0.5), no noise or prior.
  config = tiny_config(ml=True, sampler=dict(momentum_after_burn_in=True, learning_rate=0.01))
  gan = BayesianGAN(config)
  gan.set_learning_rate(sghmc_learning_rate=0.01, adam_learning_rate=1e-3)
  gan.discriminator_step(batch(1), use_adam=True)  # the burn-in
  adam, momentum = gan.optimizers["adam_d"], gan.optimizers["sgd_d"]
  assert (int(adam.iterations.numpy()), int(momentum.iterations.numpy())) == (1, 0)
  disc, gen = gan.discriminators[0], gan.generators[0]
  zs = [gan.sample_z() for _ in range(2)]

  def loss(index):  # the textbook GAN's discriminator loss, as in test_ml_mode_equals_a_plain_gan_step
    return (tf.reduce_mean(tf.nn.softplus(-disc(batch(2 + index)))) +
            tf.reduce_mean(tf.nn.softplus(disc(gen(zs[index][0], training=True)))))

  _momentum_steps(disc, lambda index: gan.discriminator_step(batch(2 + index), z=zs[index]), loss, 0.01)
  assert int(adam.iterations.numpy()) == 1
  # Without the option the ML GAN stays on Adam after the burn-in.
  plain = BayesianGAN(tiny_config(ml=True))
  plain.discriminator_step(batch(1), use_adam=False)
  assert int(plain.optimizers["adam_d"].iterations.numpy()) == 1 and "sgd_d" not in plain.optimizers


def test_the_classifier_takes_momentum_sgd_at_its_constant_rate_after_the_burn_in_under_momentum_after_burn_in():
  # The 2017 classifier: Adam at 0.05 x lr, then MomentumOptimizer at the same rate (bgan_semi.py:339-343).
  config = tiny_config(num_classes=3, sampler=dict(momentum_after_burn_in=True, adam_burn_in=1))
  gan = BayesianGAN(config)
  gan.set_learning_rate(sghmc_learning_rate=0.01, adam_learning_rate=1e-3, classifier_learning_rate=2e-3)
  assert float(gan.optimizers["sgd_classifier"].learning_rate.numpy()) == pytest.approx(2e-3)
  assert "sgd_d" not in gan.optimizers  # the samples take SGHMC
  y = tf.constant([0, 1, 2, 1])
  gan.supervised_step(batch(1), y, use_adam=True)
  classifier = gan.classifier

  def loss(index):
    return losses.supervised_loss(classifier(batch(2 + index), training=True), y)

  _momentum_steps(classifier, lambda index: gan.supervised_step(batch(2 + index), y), loss, 2e-3)
  assert int(gan.optimizers["adam_classifier"].iterations.numpy()) == 1
  # Without the option the classifier stays on Adam.
  plain = BayesianGAN(tiny_config(num_classes=3))
  plain.supervised_step(batch(1), y)
  assert int(plain.optimizers["adam_classifier"].iterations.numpy()) == 1
  assert "sgd_classifier" not in plain.optimizers


def test_classifier_takes_its_own_constant_learning_rate():
  gan = BayesianGAN(tiny_config(num_classes=3, num_gen=1))
  gan.set_learning_rate(sghmc_learning_rate=1e-3, adam_learning_rate=2e-3, classifier_learning_rate=5e-5)
  assert float(gan.optimizers["adam_classifier"].learning_rate.numpy()) == pytest.approx(5e-5)
  assert float(gan.optimizers["adam_d"].learning_rate.numpy()) == pytest.approx(2e-3)
  gan.set_learning_rate(adam_learning_rate=3e-3)
  assert float(gan.optimizers["adam_classifier"].learning_rate.numpy()) == pytest.approx(3e-3)


def test_an_ml_ensemble_weighs_its_real_term_once_whatever_real_weight_says():
  bayes = BayesianGAN(tiny_config(num_gen=3, real_weight="num_gen"))
  ensemble = BayesianGAN(tiny_config(num_gen=3, num_disc=3, ml_ensemble=3, real_weight="num_gen"))
  assert (bayes._real_weight, ensemble._real_weight) == (3.0, 1.0)


def test_without_feature_matching_the_generator_step_ignores_the_real_batch():
  # Training loops pass the real batch always; only feature matching reads it.
  first, second = BayesianGAN(tiny_config(num_gen=2)), BayesianGAN(tiny_config(num_gen=2))
  z = first.sample_z()
  with_real = first.generator_step(z=z, x_real=batch(4), use_adam=True)["gen_losses"].numpy()
  without = second.generator_step(z=z, use_adam=True)["gen_losses"].numpy()
  np.testing.assert_array_equal(with_real, without)
  assert_all_equal(values(first.generator_variables), values(second.generator_variables))


def test_start_sampling_sets_the_adam_preconditioner_once_and_keeps_it_on_resume(tmp_path):
  config = tiny_config(num_gen=2, sampler=dict(preconditioner="adam", adam_burn_in=2, temperature=0.01))
  gan = BayesianGAN(config)
  for step in range(2):
    gan.discriminator_step(batch(step), use_adam=True)
    gan.generator_step(use_adam=True)
  gan.start_sampling()
  expected = {
      kind: [p.numpy() for p in preconditioner_from_adam(gan.optimizers[f"adam_{kind}"], variables)]
      for kind, variables in (("d", gan.discriminator_variables), ("g", gan.generator_variables))
  }
  for kind in ("d", "g"):
    got = [p.numpy() for p in gan.optimizers[f"sghmc_{kind}"].preconditioners()]
    assert len(got) == len(expected[kind])
    for a, b in zip(got, expected[kind]):
      np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not all(np.allclose(p, 1.0) for p in got)  # Adam's scales, not the initial ones
  gan.discriminator_step(batch(5))
  gan.generator_step()
  path = tf.train.Checkpoint(gan=gan).save(str(tmp_path / "ckpt"))

  # A resumed chain keeps its P even though Adam's moments move on: P stays fixed while sampling.
  restored = BayesianGAN(config)
  tf.train.Checkpoint(gan=restored).restore(path).assert_consumed()
  restored.discriminator_step(batch(6), use_adam=True)
  restored.start_sampling()
  for a, b in zip(restored.optimizers["sghmc_d"].preconditioners(), expected["d"]):
    np.testing.assert_array_equal(a.numpy(), b)


def test_preconditioner_needs_a_burn_in_and_a_known_name():
  with pytest.raises(ValueError, match="needs a burn-in"):
    SamplerConfig(data_size=10, preconditioner="adam")
  with pytest.raises(ValueError, match="preconditioner must be one of"):
    SamplerConfig(data_size=10, preconditioner="rmsprop", adam_burn_in=5)
