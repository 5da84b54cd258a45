"""Stochastic-gradient Hamiltonian Monte Carlo as a Keras 3 optimizer."""

import math
import random

import keras
import tensorflow as tf

from bgan_tf.config import check_sghmc_settings
from bgan_tf.seeds import child_seed

__all__ = ["SGHMC", "preconditioner_from_adam"]

# The 2017 code's noise: xi ~ N(0, 2 alpha eta) with its hard-coded defaults
# alpha = 0.01 and eta = 2e-4 (bgan_semi.py:26, 58), which run_bgan_semi.py
# never overrides.
NOISE_STD_2017 = math.sqrt(2 * 0.01 * 2e-4)

# delta of the preconditioner 1 / (sqrt(v_hat) + delta) (`preconditioner_from_adam`).
# It bounds P by 1 / delta. At the end of the digits burn-in (2 x 2, 1000 Adam
# iterations) sqrt(v_hat) spans 1e-3 to 3 for every weight but the biases that
# batch norm cancels, whose gradients are rounding noise (1e-9 to 1e-7, under 1%
# of the weights). At delta = 1e-5 those biases got P ~ 1e5 and random-walked
# on the noise alone (which scales with sqrt(P)): training's batch statistics
# hide that, but the moving averages that evaluation uses lag behind, and the
# discriminator samples fell to 64-87% validation accuracy with the moving
# averages against 92-96% with batch statistics (docs/BENCHMARKS.md §0); the
# same amplified rounding made mirrored replicas drift apart. At 1e-3, P is
# within a factor 2 of Adam's scale for every weight with a real gradient and
# at most 1e3 elsewhere, and the two accuracies agree (92-93% both).
PRECONDITIONER_DELTA = 1e-3

# Variables one optimizer may update; the noise seed of variable i is
# `seeds.child_seed(seed, i, _MAX_VARIABLES)`, so every variable has its own stream.
_MAX_VARIABLES = 1 << 20


class SGHMC(keras.optimizers.Optimizer):
  """Stochastic-gradient HMC sampler (Chen, Fox & Guestrin, 2014).

  Draws theta from p(theta | D) ∝ exp(-U(theta)), where

    U(theta) = data_size * L(theta),
    L(theta) = (1/m) sum_{i in batch} -log p(x_i | theta) - log p(theta) / data_size,

  i.e. the loss handed to this optimizer is the minibatch-*mean* negative
  log-likelihood plus the negative log prior divided by the data size N. With
  learning rate eps (on grad L), friction alpha and temperature T, every
  variable theta and its velocity v are updated as

    v     <- (1 - alpha) * v - eps * grad L(theta) + n,
    n     ~  N(0, 2 * alpha * (eps / N) * T),
    theta <- theta + v.

  This is the SGD-with-momentum form of SGHMC used by the Bayesian GAN,
  v <- (1 - a) v - eta grad U + N(0, 2 a eta), with eta = eps / N (since
  grad U = N grad L) and the gradient-noise estimate beta-hat taken as 0. At
  T = 1 the chain's stationary distribution approaches the posterior as eps
  goes to 0; T != 1 samples the tempered posterior p(theta | D)^(1/T). With
  `add_noise=False` the update is SGD with momentum 1 - alpha, which
  converges to the MAP estimate.

  `noise_form="2017"` injects the 2017 code's noise instead. That code added
  sum(theta * xi) / N, xi ~ N(0, sigma^2) with sigma = `NOISE_STD_2017`, to the
  loss (`bgan_semi.py:452-479`), so the step on the weights gets

    n = -eps * xi * sqrt(T) / N,

  whose standard deviation eps * sigma / N is 1e5 to 1e6 times smaller than
  the Langevin noise at the 2017 settings: the chain is, in effect, SGD with
  momentum. With friction 0.5 the update is TF1's `MomentumOptimizer(lr,
  momentum=0.5)` (`bgan_semi.py:206`) with v = -lr * accumulator.

  The velocities, the learning rate, the temperature and the step count are
  optimizer variables, so `tf.train.Checkpoint` saves and restores the chain
  exactly, and changing the learning rate or temperature between steps never
  retraces a `tf.function`. The noise is a pure function of (seed, variable,
  step): `stateless_normal` keyed by the seed and the variable's index and the
  optimizer's step count. It needs no random state of its own, and under
  `tf.distribute` every replica draws the same noise, so mirrored copies of a
  variable stay identical.

  Args:
    learning_rate: eps, a float, a `keras.Variable`-compatible scalar or a
      `keras.optimizers.schedules.LearningRateSchedule`.
    friction: alpha in (0, 1]; the momentum decay per step.
    data_size: N, the number of examples the likelihood stands for.
    temperature: T >= 0, scales the variance of the injected noise.
    add_noise: inject the noise n (False gives SGD with momentum).
    noise_form: "langevin" (the sampler's noise) or "2017" (see above).
    preconditioned: give every variable a diagonal preconditioner P
      (initially 1, i.e. no preconditioning; see `set_preconditioner`).
    seed: integer seed of the noise; None draws one at random.
    name: optimizer name.
    **kwargs: other `keras.optimizers.Optimizer` arguments (`clipnorm`, ...).

  Raises:
    bgan_tf.errors.ConfigError (a ValueError): a setting out of range, by the
      rule `bgan_tf.config.SamplerConfig` checks too.

  #### References

  Chen, T., Fox, E. and Guestrin, C. Stochastic Gradient Hamiltonian Monte
  Carlo. ICML 2014, eq. (15).

  Saatci, Y. and Wilson, A. G. Bayesian GAN. NIPS 2017, Algorithm 1.

  Li, C., Chen, C., Carlson, D. and Carin, L. Preconditioned Stochastic
  Gradient Langevin Dynamics for Deep Neural Networks. AAAI 2016.

  Springenberg, J. T., Klein, A., Falkner, S. and Hutter, F. Bayesian
  Optimization with Robust Bayesian Neural Networks. NIPS 2016, sec. 4.
  """

  def __init__(self, learning_rate=0.005, friction=0.01, data_size=1, temperature=1.0, add_noise=True,
               noise_form="langevin", preconditioned=False, seed=None, name="SGHMC", **kwargs):
    super().__init__(learning_rate=learning_rate, name=name, **kwargs)
    check_sghmc_settings(friction, data_size, temperature, noise_form)
    self.friction = float(friction)
    self.data_size = float(data_size)
    self.add_noise = bool(add_noise)
    self.noise_form = noise_form
    self.preconditioned = bool(preconditioned)
    self.seed = int(seed) if seed is not None else random.SystemRandom().randrange(2**31)
    self._temperature = self.add_variable(shape=(), initializer=keras.initializers.Constant(float(temperature)),
                                          name="temperature")

  @property
  def temperature(self):
    """The temperature variable T; assign to it to anneal without retracing."""
    return self._temperature

  def build(self, var_list):
    """Creates one velocity per variable, initialised at zero."""
    if self.built:
      return
    super().build(var_list)
    self._velocities = [self.add_variable_from_reference(v, name="velocity") for v in var_list]
    # Only a preconditioned sampler has these, so an unpreconditioned one
    # checkpoints exactly the variables it always did.
    self._preconditioners = ([
        self.add_variable_from_reference(v, name="preconditioner", initializer="ones") for v in var_list
    ] if self.preconditioned else [])

  def set_preconditioner(self, values):
    """Assigns P, one positive tensor per built variable, in their order.

    Call it before sampling starts: the chain samples the posterior for a
    fixed P (see the class docstring).
    """
    if not self.preconditioned:
      raise ValueError("this SGHMC was built without a preconditioner (preconditioned=False)")
    if len(values) != len(self._preconditioners):
      raise ValueError(f"expected {len(self._preconditioners)} preconditioner tensors, got {len(values)}")
    for variable, value in zip(self._preconditioners, values):
      variable.assign(tf.cast(value, variable.dtype))

  def preconditioners(self):
    """The preconditioner variables (empty unless `preconditioned`)."""
    return list(self._preconditioners)

  def update_step(self, gradient, variable, learning_rate):
    """One SGHMC step for one variable (see the class docstring)."""
    dtype = variable.dtype
    eps = tf.cast(learning_rate, dtype)
    gradient = tf.convert_to_tensor(gradient)
    index = self._get_variable_index(variable)
    velocity = self._velocities[index]
    preconditioner = self._preconditioners[index] if self.preconditioned else None
    drift = eps * gradient if preconditioner is None else eps * preconditioner * gradient
    new_velocity = (1.0 - self.friction) * velocity - drift
    if self.add_noise:
      temperature = tf.cast(self._temperature, dtype)
      if self.noise_form == "2017":
        noise_std = eps * NOISE_STD_2017 * tf.sqrt(temperature) / self.data_size
        if preconditioner is not None:  # a loss term: it reaches the weights through P like a gradient
          noise_std *= preconditioner
      else:
        # Variance 2 * alpha * eta * T * P with eta = eps / N: the step on grad U.
        noise_std = tf.sqrt(2.0 * self.friction * eps * temperature / self.data_size)
        if preconditioner is not None:
          noise_std *= tf.sqrt(preconditioner)
      noise_seed = tf.stack([
          tf.constant(child_seed(self.seed, index, _MAX_VARIABLES), tf.int64),
          tf.cast(self.iterations, tf.int64)
      ])
      new_velocity += noise_std * tf.random.stateless_normal(tf.shape(variable), seed=noise_seed, dtype=dtype)
    self.assign(velocity, new_velocity)
    self.assign_add(variable, new_velocity)

  def get_config(self):
    config = super().get_config()
    config.update({
        "friction": self.friction,
        "data_size": self.data_size,
        "temperature": float(self._temperature.numpy()),
        "add_noise": self.add_noise,
        "noise_form": self.noise_form,
        "preconditioned": self.preconditioned,
        "seed": self.seed,
    })
    return config

  def velocities(self):
    """The velocity variables, in the order of the built variable list."""
    return list(self._velocities)

  @staticmethod
  def noise_std(learning_rate, friction, data_size, temperature=1.0):
    """Standard deviation of the injected noise per step (a Python float)."""
    return math.sqrt(2.0 * friction * learning_rate * temperature / data_size)


def preconditioner_from_adam(adam, variables, delta=PRECONDITIONER_DELTA):
  """SGHMC preconditioners from an Adam optimizer's second moments.

    P = 1 / (sqrt(v / (1 - beta_2^t)) + delta),

  Adam's own per-weight scale (its step is lr * m_hat * P up to delta), so
  an SGHMC chain started with this P after an Adam burn-in takes steps shaped
  like the burn-in's. Adam's bias-corrected second moment is read from its
  slot variables (Keras 3 `Adam` keeps them as `_velocities`, one per built
  variable; `tests/test_sghmc.py` pins that).

  Args:
    adam: a built `keras.optimizers.Adam` that has taken at least one step on
      `variables`.
    variables: the variables to precondition, as built in `adam`.
    delta: the floor that bounds P by 1 / delta (see `PRECONDITIONER_DELTA`).

  Returns:
    One tensor per variable, shaped like it.

  Raises:
    ValueError: `adam` has taken no step, so it has no second moments.
  """
  steps = int(adam.iterations.numpy())
  if steps == 0:
    raise ValueError("Adam has taken no step: there are no second moments to precondition with")
  correction = 1.0 - adam.beta_2**steps
  values = []
  for variable in variables:
    index = adam._get_variable_index(variable)  # pylint: disable=protected-access
    second_moment = tf.convert_to_tensor(adam._velocities[index])  # pylint: disable=protected-access
    values.append(1.0 / (tf.sqrt(second_moment / correction) + delta))
  return values
