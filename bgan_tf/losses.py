"""Loss functions of the Bayesian GAN: pure functions of logits and weights.

Every likelihood term here is a minibatch *mean* negative log-likelihood, the
"L" of the sampler's target U = data_size * L (see `bgan_tf.sghmc`); the prior
enters as `-gaussian_log_prior(...) / data_size`.

The discriminator emits K logits l_1..l_K. With Z = sum_k exp(l_k) and an
implicit fake class of logit 0 (Salimans et al., 2016),

  P(real | x) = Z / (Z + 1) = sigmoid(log Z),   P(fake | x) = 1 / (Z + 1),

so the unsupervised discriminator is the case K = 1, where log Z is the single
logit and P(real | x) = sigmoid(l).

#### References

Saatci, Y. and Wilson, A. G. Bayesian GAN. NIPS 2017, eqs. (1)-(2) (the
conditional posteriors of theta_g and theta_d) and sec. 3.1 (the
semi-supervised likelihood).

Salimans, T. et al. Improved Techniques for Training GANs. NIPS 2016, sec. 5.
"""

import tensorflow as tf
import tensorflow_probability as tfp

__all__ = [
    "bgan_discriminator_loss",
    "bgan_generator_loss",
    "discriminator_nll",
    "feature_matching_loss",
    "gaussian_log_prior",
    "generator_nll",
    "pool_over_samples",
    "log_real_odds",
    "prior_penalty_2017",
    "supervised_loss",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
]


def log_real_odds(logits):
  """log Z = logsumexp over the K class logits: the logit of P(real | x).

  Args:
    logits: `[..., K]` discriminator logits.

  Returns:
    `[...]` tensor; sigmoid of it is P(real | x).
  """
  return tf.reduce_logsumexp(logits, axis=-1)


def bgan_discriminator_loss(real_logits, fake_logits):
  """Mean negative log-likelihood of the discriminator, eq. (2).

  -log p(X, fakes | theta_d) per example:
    -mean_i log D(x_i) - mean_{j,i} log(1 - D(G(z_i; theta_g^j))),
  with the mean over j the Monte Carlo average over generator samples and
  their z draws (the marginalisation over theta_g and z).

  Args:
    real_logits: `[batch, K]` logits of real examples.
    fake_logits: `[num_generators, batch, K]` (or `[n, K]`) logits of fakes.

  Returns:
    Scalar loss.
  """
  real = tf.nn.softplus(-log_real_odds(real_logits))  # -log P(real | x)
  fake = tf.nn.softplus(log_real_odds(fake_logits))  # -log P(fake | G(z))
  return tf.reduce_mean(real) + tf.reduce_mean(fake)


def bgan_generator_loss(fake_logits):
  """Mean negative log-likelihood of a generator sample, eq. (1).

  -log p(z | theta_g, theta_d) = -mean_{k,i} log D(G(z_i; theta_g); theta_d^k),
  averaged over the discriminator samples k (the marginalisation over
  theta_d). This is the non-saturating generator objective.

  Args:
    fake_logits: `[num_discriminators, batch, K]` (or `[batch, K]`) logits
      that the discriminator samples give this generator's fakes.

  Returns:
    Scalar loss.
  """
  return tf.reduce_mean(tf.nn.softplus(-log_real_odds(fake_logits)))


def feature_matching_loss(real_features, fake_features, delta=1.0):
  """Mean Huber distance between real and fake discriminator features, example by example.

  The 2017 code's generator term (`bgan_semi.py:310-313`, `dcgan_ops.py:48-53`):
  mean over i and f of huber(fake_{i,f} - real_{i,f}), with
  huber(r) = r^2 / 2 for |r| < delta and delta * (|r| - delta / 2) beyond.
  Example i of the fakes is compared with example i of the real batch, not
  with the batch mean as in Salimans et al.'s feature matching.

  Args:
    real_features: `[batch, F]` penultimate features of a real batch.
    fake_features: `[..., batch, F]` features of fakes (same batch size).
    delta: where the quadratic turns linear.

  Returns:
    Scalar loss, or `[...]` losses when `fake_features` has leading axes
    (one per generator), each the mean over its own batch and features.
  """
  real = tf.cast(real_features, tf.float32)
  fake = tf.cast(fake_features, tf.float32)
  residual = tf.abs(fake - real)
  huber = tf.where(residual < delta, 0.5 * tf.square(residual), delta * residual - 0.5 * delta**2)
  return tf.reduce_mean(huber, axis=[-2, -1])


def pool_over_samples(losses, pooling):
  """Combines one sample's per-pair losses `[P]`: their mean or their logsumexp.

  "mean" is the Monte Carlo average of the paper's eqs. (1)-(2); "logsumexp"
  is what the 2017 code did (`bgan_semi.py:288, 318`), a soft maximum whose
  gradient weights each pair by its softmax share.
  """
  if pooling == "logsumexp":
    return tf.reduce_logsumexp(losses)
  if pooling == "mean":
    return tf.reduce_mean(losses)
  raise ValueError(f"pooling must be 'mean' or 'logsumexp', got {pooling!r}")


def discriminator_nll(real_logits, fake_logits, supervised=0.0, real_weight=1.0, pooling="mean", pool=None):
  """A discriminator sample's objective over its paired generators.

  pool_j (supervised + w * (-mean_i log P(real | x_i)) + (-mean_i log P(fake | G_j(z_i)))).
  With pooling "mean" and w = 1 this is `bgan_discriminator_loss` (+ the
  supervised term); the 2017 code used "logsumexp" and w = J
  (`bgan_semi.py:281-288`).

  Args:
    real_logits: `[batch, K]` logits of the unlabeled real batch.
    fake_logits: `[P, batch, K]` logits of the P paired generators' fakes.
    supervised: scalar supervised loss of the labeled batch (0 unsupervised).
    real_weight: w.
    pooling: "mean" or "logsumexp".
    pool: optional fn([P] losses) -> scalar replacing `pool_over_samples(.,
      pooling)` (the training step's replica-aware pooling).

  Returns:
    Scalar loss.
  """
  real = tf.reduce_mean(tf.nn.softplus(-log_real_odds(real_logits)))
  fake = tf.reduce_mean(tf.nn.softplus(log_real_odds(fake_logits)), axis=1)
  per_pair = supervised + real_weight * real + fake
  return pool(per_pair) if pool is not None else pool_over_samples(per_pair, pooling)


def generator_nll(fake_logits, feature_matching=None, pooling="mean", pool=None):
  """A generator sample's objective over the discriminators that judge it.

  pool_k (-mean_i log P(real | G(z_i); theta_d^k) [+ feature matching_k]);
  the mean is eq. (1) (`bgan_generator_loss`), the logsumexp with feature
  matching the 2017 code (`bgan_semi.py:305-318`).

  Args:
    fake_logits: `[D, batch, K]` logits the D judges give the fakes.
    feature_matching: optional `[D]` weighted feature-matching terms.
    pooling: "mean" or "logsumexp".
    pool: optional replacement of `pool_over_samples(., pooling)`.

  Returns:
    Scalar loss.
  """
  per_judge = tf.reduce_mean(tf.nn.softplus(-log_real_odds(fake_logits)), axis=1)
  if feature_matching is not None:
    per_judge += feature_matching
  return pool(per_judge) if pool is not None else pool_over_samples(per_judge, pooling)


def supervised_loss(logits, labels):
  """Mean cross-entropy of labeled examples over the K real classes.

  Args:
    logits: `[batch, K]` logits.
    labels: `[batch]` integer class ids in 0..K-1.

  Returns:
    Scalar loss.
  """
  return tf.reduce_mean(
      tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32), logits=logits))


def wasserstein_critic_loss(real_logits, fake_logits):
  """Wasserstein critic loss E[f(fake)] - E[f(real)] (Arjovsky et al., 2017).

  Args:
    real_logits: `[batch, 1]` critic outputs on real examples.
    fake_logits: `[..., batch, 1]` critic outputs on fakes.

  Returns:
    Scalar loss.
  """
  return tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)


def wasserstein_generator_loss(fake_logits):
  """Wasserstein generator loss -E[f(G(z))]."""
  return -tf.reduce_mean(fake_logits)


def prior_penalty_2017(variables, prior_std):
  """The 2017 code's prior term before division by N: sum over variables of mean((theta / std)^2).

  `bgan_semi.py:441-450`: a mean per variable, not a sum, and no 1/2, so a
  weight of a large variable is pulled toward 0 far less than under the
  Gaussian prior of `gaussian_log_prior`.
  """
  return tf.add_n([tf.reduce_mean(tf.square(tf.convert_to_tensor(v) / prior_std)) for v in variables])


def gaussian_log_prior(variables, prior_std):
  """log p(theta) under independent N(0, prior_std^2) priors on every weight.

  The full log density (normalising constant included), summed over all
  elements of all variables. The sampler's potential uses
  -gaussian_log_prior / data_size beside the minibatch-mean likelihood.

  Args:
    variables: iterable of weight tensors or variables.
    prior_std: the prior's standard deviation (the paper's prior_std, 1).

  Returns:
    Scalar log density.
  """
  prior = tfp.distributions.Normal(loc=0.0, scale=prior_std)
  return tf.add_n([tf.reduce_sum(prior.log_prob(tf.convert_to_tensor(v))) for v in variables])
