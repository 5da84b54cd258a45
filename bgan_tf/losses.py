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
    "gaussian_log_prior",
    "log_real_odds",
    "semi_supervised_discriminator_loss",
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
  fake = tf.nn.softplus(log_real_odds(fake_logits))   # -log P(fake | G(z))
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


def semi_supervised_discriminator_loss(real_logits, fake_logits, labeled_logits, labels):
  """Semi-supervised discriminator NLL: K real classes plus the fake class.

  -mean log P(real | x_unlabeled) - mean log P(fake | G(z))
    - mean log P(y | x_labeled, real), the last the softmax over K classes.

  Args:
    real_logits: `[batch, K]` logits of unlabeled real examples.
    fake_logits: `[num_generators, batch, K]` logits of fakes.
    labeled_logits: `[labeled_batch, K]` logits of labeled examples.
    labels: `[labeled_batch]` class ids.

  Returns:
    Scalar loss.
  """
  return bgan_discriminator_loss(real_logits, fake_logits) + supervised_loss(labeled_logits, labels)


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
