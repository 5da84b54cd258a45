"""The Bayesian GAN: posterior ensembles of generators and discriminators.

`BayesianGAN` holds num_gen * num_mcmc generators and num_disc * num_mcmc
discriminators (Keras models, one per posterior sample), the samplers that
move them, and a supervised-only classifier trained alongside as the 2017
code did. Each training step kind is one `tf.function`, traced once:

* `discriminator_step`: every generator makes its fakes once (no gradient);
  every discriminator scores [real, labeled, its paired generators' fakes] in
  a single pass, so its pass over the real batch happens once per step and
  is shared by all generator pairs (the 2017 code recomputed it for each
  pair). The discriminator's batch norm takes its statistics per segment of
  that pass (`models.SegmentBatchNorm`), so the single pass computes what the
  2017 code's separate calls did.
* `generator_step`: every generator makes its fakes once (with gradient);
  every discriminator scores [real, its paired generators' fakes] in one
  pass; the real segment gives the features that feature matching compares
  the fakes' with (it is left out when feature matching is off).
* `supervised_step`: the supervised-only baseline on the labeled batch.
* `discriminator_and_supervised_step`: the two above on the same batches, as
  one call (what the training loop takes when semi-supervised).

How samples pair (`GANConfig.pairing`) and how a sample's per-pair losses
combine (`GANConfig.objective`: the paper's means or the 2017 code's
logsumexp) are options; see `GANConfig`.

Each step kind has an SGHMC variant and an Adam variant (the burn-in and the
`ml` baselines); the caller picks one per iteration with `use_adam`. With
`SamplerConfig.momentum_after_burn_in` (the 2017 `--optimizer=sgd`) the ML
baselines and the supervised-only classifier have a momentum-SGD variant in
place of the SGHMC one.

Under a `tf.distribute` strategy the steps take the *global* batch: each
replica works on its slice (of the real, labeled and z batches), its loss is
divided by the number of replicas because Keras sums gradients across
replicas, and generator batch norm uses global statistics. Every replica
draws the same sampler noise (`sghmc.SGHMC` keys it by step), so the mirrored
chains are the ones a single device would draw, up to float rounding.

#### References

Saatci, Y. and Wilson, A. G. Bayesian GAN. NIPS 2017, Algorithm 1.
"""

from typing import Dict, List, Optional

import keras
import tensorflow as tf

from bgan_tf import losses
from bgan_tf.config import MOMENTUM_2017, GANConfig
from bgan_tf.errors import ConfigError
from bgan_tf.models import make_classifier, make_discriminator, make_generator
from bgan_tf.seeds import child_seed
from bgan_tf.sghmc import SGHMC, preconditioner_from_adam

__all__ = ["BayesianGAN"]

# The run seed's children (`bgan_tf.seeds`): one per model and random stream.
# Model i of an ensemble is child kind * _MAX_MODELS + i.
_GEN_SEED, _DISC_SEED, _SUP_SEED, _Z_SEED, _G_NOISE_SEED, _D_NOISE_SEED = range(1, 7)
_MAX_MODELS = 1000
_RUN_FAN_OUT = 7919  # > 7 * _MAX_MODELS


def _offset_seed(seed, offset):
  return child_seed(seed, offset, _RUN_FAN_OUT)


def _model_seed(seed, kind, index):
  """The seed of model `index` of the ensemble `kind` (_GEN_SEED or _DISC_SEED)."""
  if not 0 <= index < _MAX_MODELS:
    raise ConfigError(f"an ensemble holds at most {_MAX_MODELS} models, asked for model {index}")
  return _offset_seed(seed, kind * _MAX_MODELS + index)


def _unscaled(optimizer):
  """The optimizer inside a `LossScaleOptimizer` (mixed float16), else itself."""
  return getattr(optimizer, "inner_optimizer", optimizer)


class BayesianGAN(tf.Module):
  """Posterior samples of a GAN's generator and discriminator weights.

  Args:
    config: the `GANConfig` (architecture, sampler, ensemble sizes, seed).
    strategy: a `tf.distribute.Strategy`; default: the current one (a single
      device unless inside a strategy scope). `batch_size` must be divisible
      by its number of replicas.

  Attributes:
    generators: list of `num_gen * num_mcmc` generator models.
    discriminators: list of `num_disc * num_mcmc` discriminator models.
    classifier: the supervised-only baseline (semi-supervised configs only).
  """

  def __init__(self, config: GANConfig, strategy: Optional[tf.distribute.Strategy] = None, name="bayesian_gan"):
    super().__init__(name=name)
    self.config = config
    self.strategy = strategy or tf.distribute.get_strategy()
    self.num_replicas = self.strategy.num_replicas_in_sync
    if config.batch_size % self.num_replicas:
      raise ConfigError(f"batch_size={config.batch_size} must be divisible by the {self.num_replicas} "
                        "replicas of the distribution strategy")
    # z is drawn eagerly, outside any replica, then sliced: keep its
    # generator off the strategy.
    self._z_rng = (tf.random.Generator.from_seed(_offset_seed(config.seed, _Z_SEED))
                   if config.seed is not None else tf.random.Generator.from_non_deterministic_state())
    with self.strategy.scope():
      self._build(config)

  def _build(self, config):
    model_cfg, sampler_cfg = config.model, config.sampler
    seed, precision = config.seed, config.precision
    self.generators = [
        make_generator(model_cfg, seed=_model_seed(seed, _GEN_SEED, i), name=f"generator_{i}", precision=precision,
                       synchronized_batch_norm=self.num_replicas > 1) for i in range(config.num_generators)
    ]
    self.discriminators = [
        make_discriminator(model_cfg, seed=_model_seed(seed, _DISC_SEED, i), name=f"discriminator_{i}",
                           precision=precision) for i in range(config.num_discriminators)
    ]
    self.classifier = (make_classifier(model_cfg, seed=_offset_seed(seed, _SUP_SEED), precision=precision)
                       if model_cfg.semi_supervised else None)

    def scaled(optimizer):
      # float16 needs loss scaling to keep small gradients; bfloat16 does not.
      return keras.optimizers.LossScaleOptimizer(optimizer) if precision == "mixed_float16" else optimizer

    def adam():
      return scaled(keras.optimizers.Adam(sampler_cfg.adam_learning_rate, beta_1=sampler_cfg.adam_beta_1))

    # One optimizer per ensemble: its slots are per variable, so every sample
    # keeps its own chain state.
    self.optimizers = {"adam_g": adam(), "adam_d": adam()}
    if not config.maximum_likelihood:
      sghmc_args = dict(learning_rate=sampler_cfg.learning_rate, friction=sampler_cfg.friction,
                        data_size=sampler_cfg.data_size, temperature=sampler_cfg.temperature,
                        add_noise=sampler_cfg.add_noise, noise_form=sampler_cfg.noise_form,
                        preconditioned=sampler_cfg.preconditioner == "adam")
      self.optimizers["sghmc_g"] = scaled(
          SGHMC(seed=_offset_seed(seed, _G_NOISE_SEED), name="sghmc_g", **sghmc_args))
      self.optimizers["sghmc_d"] = scaled(
          SGHMC(seed=_offset_seed(seed, _D_NOISE_SEED), name="sghmc_d", **sghmc_args))
    if self.classifier is not None:
      self.optimizers["adam_classifier"] = adam()
    if sampler_cfg.momentum_after_burn_in:
      # After the burn-in the 2017 --optimizer=sgd gave every model momentum-0.5
      # SGD; the samples' form of it is the SGHMC above (friction 0.5, 2017 noise).
      def momentum():
        return scaled(keras.optimizers.SGD(sampler_cfg.learning_rate, momentum=MOMENTUM_2017))

      if config.maximum_likelihood:
        self.optimizers["sgd_g"], self.optimizers["sgd_d"] = momentum(), momentum()
      if self.classifier is not None:
        self.optimizers["sgd_classifier"] = momentum()
    # Build every optimizer now: a tf.function that creates variables on its
    # first call is traced twice.
    for key, optimizer in self.optimizers.items():
      optimizer.build(self._variables_for(key))

    # The phase flags the steps take; two constants, so no Python bool is converted per call.
    self._adam_phase, self._sghmc_phase = tf.constant(True), tf.constant(False)
    # The steps hold no tensor-dependent Python control flow (their loops run
    # over the J and J_d samples, fixed at trace time), so autograph has
    # nothing to convert; skipping its source transformation cut the first
    # call of the small digits config from 15.6 s to 10.8 s on AVX2.
    self._step_fns = {}
    example_spec = tf.TensorSpec([None, *model_cfg.example_shape], tf.float32)
    z_spec = tf.TensorSpec([config.num_generators, None, model_cfg.z_dim], tf.float32)
    label_spec = tf.TensorSpec([None], tf.int32)
    # One trace per step kind: the phase (Adam burn-in or SGHMC) is a tensor,
    # and only the update differs between phases, so the forward and
    # backward passes are traced once and a tf.cond picks the optimizer.
    phase_spec = tf.TensorSpec([], tf.bool)
    if model_cfg.semi_supervised:
      self._step_fns["disc"] = tf.function(self._discriminator_update,
                                           input_signature=[phase_spec, example_spec, z_spec, example_spec, label_spec],
                                           autograph=False)
    else:
      self._step_fns["disc"] = tf.function(lambda use_adam, x, z: self._discriminator_update(use_adam, x, z),
                                           input_signature=[phase_spec, example_spec, z_spec], autograph=False)
    if self.uses_real_in_generator_step:
      self._step_fns["gen"] = tf.function(self._generator_update, input_signature=[phase_spec, z_spec, example_spec],
                                          autograph=False)
    else:
      self._step_fns["gen"] = tf.function(lambda use_adam, z: self._generator_update(use_adam, z),
                                          input_signature=[phase_spec, z_spec], autograph=False)
    if self.classifier is not None:
      self._step_fns["supervised"] = tf.function(self._supervised_update,
                                                 input_signature=[phase_spec, example_spec, label_spec],
                                                 autograph=False)
      self._step_fns["disc_and_supervised"] = tf.function(
          self._discriminator_and_supervised_update,
          input_signature=[phase_spec, example_spec, z_spec, example_spec, label_spec], autograph=False)
    self._predict_fn = tf.function(self._predict_proba, input_signature=[example_spec])
    self._classifier_predict_fn = tf.function(self._classifier_proba, input_signature=[example_spec])
    self._generate_fn = tf.function(self._generate, input_signature=[z_spec])
    # Eager, the noise and the step sizes cost more in Python dispatch than
    # in arithmetic: 1.4 ms per draw against 0.55 traced, and 1.1 ms for the
    # loop's five step-size assigns against one call. The traced draw runs
    # the same generator op on the same state: the numbers do not change.
    self._sample_z_fn = tf.function(self._draw_z, input_signature=[tf.TensorSpec([], tf.int32)], autograph=False)
    self._learning_rates = [optimizer.learning_rate for optimizer in self.optimizers.values()]
    self._assign_rates_fn = tf.function(
        self._assign_rates,
        input_signature=[tf.TensorSpec([len(self._learning_rates)], tf.float32),
                         tf.TensorSpec([len(self._learning_rates)], tf.bool)], autograph=False)

  # ----------------------------------------------------------------- public API

  def sample_z(self, batch_size: Optional[int] = None):
    """Noise for every generator: `[num_generators, batch, z_dim]`, U(-1, 1)."""
    batch_size = self.config.batch_size if batch_size is None else batch_size
    return self._sample_z_fn(tf.cast(batch_size, tf.int32))

  def _draw_z(self, batch_size):
    return self._z_rng.uniform([self.config.num_generators, batch_size, self.config.model.z_dim], minval=-1.0,
                               maxval=1.0)

  def discriminator_step(self, x_real, x_labeled=None, y_labeled=None, z=None,
                         use_adam=False) -> Dict[str, tf.Tensor]:
    """One update of every discriminator sample.

    Args:
      x_real: `[batch, *example_shape]` unlabeled real examples in [-1, 1].
      x_labeled: `[labeled_batch, *example_shape]` (semi-supervised only).
      y_labeled: `[labeled_batch]` class ids (semi-supervised only).
      z: optional `[num_generators, batch, z_dim]` noise; drawn if None.
      use_adam: take an Adam step instead of an SGHMC step (burn-in).

    Returns:
      Dict with `disc_losses` `[num_discriminators]` (likelihood part of each
      sample's loss) and, semi-supervised, `disc_supervised_losses`.
    """
    z = self.sample_z(tf.shape(x_real)[0]) if z is None else z
    fn, phase = self._step_fns["disc"], self._phase_flag(use_adam)
    if self.config.model.semi_supervised:
      if x_labeled is None or y_labeled is None:
        raise ValueError("a semi-supervised discriminator step needs x_labeled and y_labeled")
      return fn(phase, x_real, z, x_labeled, tf.cast(y_labeled, tf.int32))
    return fn(phase, x_real, z)

  @property
  def uses_real_in_generator_step(self) -> bool:
    """True when the generator step needs a real batch (feature matching)."""
    return self.config.feature_matching > 0

  def generator_step(self, z=None, x_real=None, use_adam=False) -> Dict[str, tf.Tensor]:
    """One update of every generator sample.

    Args:
      z: optional `[num_generators, batch, z_dim]` noise; drawn if None.
      x_real: `[batch, *example_shape]` real examples, the same batch size as
        z: the batch feature matching compares the fakes with (the 2017 code
        fed the discriminator step's batch again). Required with feature
        matching, ignored without it, so a training loop can always pass it.
      use_adam: an Adam step instead of an SGHMC step.

    Returns:
      Dict with `gen_losses` `[num_generators]` (each sample's likelihood
      part, feature matching included).
    """
    fn, phase = self._step_fns["gen"], self._phase_flag(use_adam)
    if self.uses_real_in_generator_step:
      if x_real is None:
        raise ValueError("feature matching needs the real batch: pass x_real to generator_step")
      z = self.sample_z(tf.shape(x_real)[0]) if z is None else z
      return fn(phase, z, tf.convert_to_tensor(x_real, tf.float32))
    z = self.sample_z() if z is None else z
    return fn(phase, z)

  def supervised_step(self, x_labeled, y_labeled, use_adam=False) -> Dict[str, tf.Tensor]:
    """One step of the supervised-only classifier; returns `supervised_loss`.

    An Adam step, unless `SamplerConfig.momentum_after_burn_in` is set and
    `use_adam` is False (after the burn-in): then a momentum-SGD step.
    """
    self._require_classifier()
    return self._step_fns["supervised"](self._phase_flag(use_adam), x_labeled, tf.cast(y_labeled, tf.int32))

  def discriminator_and_supervised_step(self, x_real, x_labeled, y_labeled, z=None,
                                        use_adam=False) -> Dict[str, tf.Tensor]:
    """`discriminator_step` and then `supervised_step`, on the same batches, in one traced call.

    The two update disjoint variables, so their numbers are those of the two
    steps called one after the other. In one graph TensorFlow runs the
    classifier's small step beside the discriminators' (its inter-op pool)
    and the loop pays one call instead of two: 1.2-2 ms of a 25-28 ms
    iteration of the README's digits config on the AVX2 machine.

    Returns:
      The entries of both steps' dicts.
    """
    self._require_classifier()
    z = self.sample_z(tf.shape(x_real)[0]) if z is None else z
    return self._step_fns["disc_and_supervised"](self._phase_flag(use_adam), x_real, z, x_labeled,
                                                 tf.cast(y_labeled, tf.int32))

  def predict_proba(self, x):
    """Posterior predictive p(y | x, D) ~ 1/T sum_k softmax(D_k(x)) over the K real classes.

    Args:
      x: `[batch, *example_shape]` examples in [-1, 1].

    Returns:
      `[batch, K]` class probabilities averaged over the discriminator samples.
    """
    self._require_classes()
    return self._predict_fn(tf.convert_to_tensor(x, tf.float32))

  def classifier_predict_proba(self, x):
    """`[batch, K]` class probabilities of the supervised-only classifier."""
    self._require_classifier()
    return self._classifier_predict_fn(tf.convert_to_tensor(x, tf.float32))

  def generate(self, z=None, batch_size=None):
    """Samples from every generator: `[num_generators, batch, *example_shape]`."""
    z = self.sample_z(batch_size) if z is None else z
    return self._generate_fn(z)

  def set_learning_rate(self, sghmc_learning_rate=None, adam_learning_rate=None, classifier_learning_rate=None):
    """Assigns new step sizes (variables, so the steps are not retraced).

    The supervised-only classifier takes `classifier_learning_rate`, or
    `adam_learning_rate` when that is None.
    """
    values = []
    for key in self.optimizers:
      if key.endswith("classifier") and classifier_learning_rate is not None:
        values.append(classifier_learning_rate)
      elif key.startswith(("sghmc", "sgd")) and not key.endswith("classifier"):
        values.append(sghmc_learning_rate)
      else:
        values.append(adam_learning_rate)
    self._assign_rates_fn(tf.constant([0.0 if v is None else v for v in values], tf.float32),
                          tf.constant([v is not None for v in values]))

  def _assign_rates(self, values, given):
    for i, variable in enumerate(self._learning_rates):
      variable.assign(tf.where(given[i], tf.cast(values[i], variable.dtype), variable))

  def start_sampling(self):
    """Prepares the samplers for their first step; the training loop calls it
    before the first SGHMC step of every session.

    With the `"adam"` preconditioner, a chain that has not taken an SGHMC
    step yet gets its P from the Adam burn-in's second moments. A resumed
    chain that already samples keeps the P its checkpoint restored: P must
    stay fixed while the chain samples.
    """
    if self.config.maximum_likelihood or self.config.sampler.preconditioner != "adam":
      return
    with self.strategy.scope():
      for kind, variables in (("d", self.discriminator_variables), ("g", self.generator_variables)):
        sghmc = _unscaled(self.optimizers[f"sghmc_{kind}"])
        if int(sghmc.iterations.numpy()) == 0:
          sghmc.set_preconditioner(preconditioner_from_adam(_unscaled(self.optimizers[f"adam_{kind}"]), variables))

  def step_functions(self) -> Dict[str, tf.types.experimental.GenericFunction]:
    """The traced step functions, keyed by kind ("disc", "gen", "supervised"); for tracing checks."""
    return dict(self._step_fns)

  @property
  def generator_variables(self) -> List[tf.Variable]:
    return [v for g in self.generators for v in g.trainable_variables]

  @property
  def discriminator_variables(self) -> List[tf.Variable]:
    return [v for d in self.discriminators for v in d.trainable_variables]

  # ------------------------------------------------------------ step internals

  def _phase_flag(self, use_adam):
    """The bool tensor the steps take: True for an Adam step.

    Always True for the ML baselines, unless they have a momentum phase.
    """
    adam_only = self.config.maximum_likelihood and not self.config.sampler.momentum_after_burn_in
    return self._adam_phase if adam_only or use_adam else self._sghmc_phase

  def _phase_optimizers(self, kind):
    """(Adam, the optimizer after the burn-in or None) of "d", "g" or "classifier".

    After the burn-in the samples take SGHMC; the ML baselines and the
    classifier take momentum SGD under `momentum_after_burn_in`, else stay on Adam (None).
    """
    later = self.optimizers.get(f"sghmc_{kind}", self.optimizers.get(f"sgd_{kind}"))
    return self.optimizers[f"adam_{kind}"], later

  def _scale_loss(self, kind, use_adam, loss):
    """The loss as the phase's optimizer scales it (mixed_float16 only; else `loss` itself)."""
    adam, later = self._phase_optimizers(kind)
    adam_scaled = adam.scale_loss(loss)
    if later is None:
      return adam_scaled
    later_scaled = later.scale_loss(loss)
    return adam_scaled if later_scaled is adam_scaled else tf.where(use_adam, adam_scaled, later_scaled)

  def _apply_phase(self, kind, use_adam, gradients, variables):
    """Applies each replica's `gradients` with the phase's optimizer, in cross-replica context.

    The apply runs in its own `strategy.run` inside the tf.cond: the
    optimizers' gradient all-reduce is a merge_call, which a cond inside a
    replica function cannot hold.
    """
    def apply(optimizer):
      self.strategy.run(lambda grads: optimizer.apply_gradients(zip(grads, variables)), args=(gradients,))
      return tf.constant(True)

    adam, later = self._phase_optimizers(kind)
    if later is None:
      apply(adam)
    else:
      tf.cond(use_adam, lambda: apply(adam), lambda: apply(later))

  def _variables_for(self, optimizer_key):
    if optimizer_key.endswith("_g"):
      return self.generator_variables
    if optimizer_key.endswith("_d"):
      return self.discriminator_variables
    return self.classifier.trainable_variables

  def _paired_generators(self, disc_index):
    """Generators whose fakes discriminator `disc_index` sees (and vice versa).

    Models are indexed sample-major as in the 2017 code (`bgan_semi.py:223-229`):
    generator j * M + m is theta_g^{j,m}, discriminator k * M + m is theta_d^{k,m}.
    """
    cfg = self.config
    if cfg.ml_ensemble:
      return [disc_index]  # Independent ML GANs: pair i with i only.
    if cfg.pairing == "chain":  # Algorithm 1: theta_g^{j,m} with theta_d^{.,m}
      chain = disc_index % cfg.num_mcmc
      return [i for i in range(cfg.num_generators) if i % cfg.num_mcmc == chain]
    return list(range(cfg.num_generators))

  @property
  def _real_weight(self):
    """w of the real term: J under real_weight "num_gen", except in an ML ensemble,
    whose GANs are independent single-generator models (J = 1 each)."""
    cfg = self.config
    return float(cfg.num_gen) if cfg.real_weight == "num_gen" and not cfg.ml_ensemble else 1.0

  def _pool(self, per_pair):
    """`losses.pool_over_samples` of per-pair losses that are means over the global batch.

    On one device that is the pooling itself. Across replicas each replica
    holds means over its slice, and the logsumexp of the global means is
    not the mean of the replicas' logsumexps. So the global means are
    all-reduced (without gradient), and each replica returns a surrogate
    whose value is their logsumexp and whose gradient is
    sum_j softmax(global)_j * grad(its own per-pair losses): summed over
    replicas (and divided by their number, as every objective here is),
    that is the gradient of the global objective.
    """
    if self.config.objective == "mean" or self.num_replicas == 1:
      return losses.pool_over_samples(per_pair, self.config.objective)
    context = tf.distribute.get_replica_context()
    global_mean = context.all_reduce(tf.distribute.ReduceOp.MEAN, tf.stop_gradient(per_pair))
    weights = tf.stop_gradient(tf.nn.softmax(global_mean))
    return tf.reduce_logsumexp(global_mean) + tf.reduce_sum(weights * (per_pair - tf.stop_gradient(per_pair)))

  def _judges(self, gen_index):
    """Discriminators that score generator `gen_index`'s fakes."""
    return [k for k in range(self.config.num_discriminators) if gen_index in self._paired_generators(k)]

  def _prior_term(self, model):
    """-log p(theta) / N for one sample (or the 2017 code's penalty); zero for the ML baselines."""
    if self.config.maximum_likelihood:
      return 0.0
    sampler = self.config.sampler
    if sampler.prior_form == "2017":
      return losses.prior_penalty_2017(model.trainable_variables, sampler.prior_std) / sampler.data_size
    return -losses.gaussian_log_prior(model.trainable_variables, sampler.prior_std) / sampler.data_size

  def _replica_slice(self, tensor, axis=0):
    """This replica's share of a global-batch tensor (all of it on one device)."""
    if self.num_replicas == 1:
      return tensor
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    size = tf.shape(tensor)[axis] // self.num_replicas
    return tf.gather(tensor, tf.range(replica * size, (replica + 1) * size), axis=axis)

  def _run_on_replicas(self, replica_fn):
    """Runs `replica_fn` on every replica and averages its metrics; "gradients" stay per replica."""
    per_replica = self.strategy.run(replica_fn)
    return {
        name: value if name == "gradients" else self.strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
        for name, value in per_replica.items()
    }

  def _discriminator_update(self, use_adam, x_real, z, x_labeled=None, y_labeled=None):
    metrics = self._run_on_replicas(
        lambda: self._discriminator_replica_gradients(use_adam, x_real, z, x_labeled, y_labeled))
    self._apply_phase("d", use_adam, metrics.pop("gradients"), self.discriminator_variables)
    if self.config.wasserstein:  # in cross-replica context: every copy gets clipped
      clip = self.config.clip_value
      for v in self.discriminator_variables:
        v.assign(tf.clip_by_value(v, -clip, clip))
    return metrics

  def _discriminator_replica_gradients(self, use_adam, x_real, z, x_labeled, y_labeled):
    cfg = self.config
    x_real, z = self._replica_slice(x_real), self._replica_slice(z, axis=1)
    if x_labeled is not None:
      x_labeled, y_labeled = self._replica_slice(x_labeled), self._replica_slice(y_labeled)
    # Each generator's fakes once per step, shared by every discriminator.
    fakes = tf.stack([g(z[i], training=True) for i, g in enumerate(self.generators)])
    batch, fake_batch = tf.shape(x_real)[0], tf.shape(z)[1]
    labeled_batch = 0 if x_labeled is None else tf.shape(x_labeled)[0]
    nll_terms, supervised_terms, objectives = [], [], []
    with tf.GradientTape() as tape:
      for k, disc in enumerate(self.discriminators):
        paired = self._paired_generators(k)
        pieces = [x_real] + ([x_labeled] if x_labeled is not None else [])
        pieces.append(tf.reshape(tf.gather(fakes, paired), [-1, *cfg.model.example_shape]))
        # One pass over [real, labeled, fakes]; batch norm takes its moments
        # per segment, and its moving averages follow the real batch.
        segments = [batch] + ([labeled_batch] if x_labeled is not None else []) + [fake_batch] * len(paired)
        logits = disc(tf.concat(pieces, axis=0), training=True, segment_sizes=segments)
        real_logits = logits[:batch]
        fake_logits = tf.reshape(logits[batch + labeled_batch:], [len(paired), fake_batch, -1])
        supervised = (losses.supervised_loss(logits[batch:batch +
                                                    labeled_batch], y_labeled) if x_labeled is not None else 0.0)
        if cfg.wasserstein:
          nll = losses.wasserstein_critic_loss(real_logits, fake_logits)
        else:
          nll = losses.discriminator_nll(real_logits, fake_logits, supervised, real_weight=self._real_weight,
                                         pool=self._pool)
        if x_labeled is not None:
          supervised_terms.append(supervised)
        nll_terms.append(nll)
        objectives.append(nll + self._prior_term(disc))
      # Each sample's objective depends on its own weights only, so the
      # gradient of the sum is every sample's own gradient. Keras sums
      # gradients over replicas: divide to get the global-batch mean.
      total = self._scale_loss("d", use_adam, tf.add_n(objectives) / self.num_replicas)
    metrics = {"disc_losses": tf.stack(nll_terms), "gradients": tape.gradient(total, self.discriminator_variables)}
    if supervised_terms:
      metrics["disc_supervised_losses"] = tf.stack(supervised_terms)
    return metrics

  def _generator_update(self, use_adam, z, x_real=None):
    metrics = self._run_on_replicas(lambda: self._generator_replica_gradients(use_adam, z, x_real))
    self._apply_phase("g", use_adam, metrics.pop("gradients"), self.generator_variables)
    return metrics

  def _generator_replica_gradients(self, use_adam, z, x_real):
    cfg = self.config
    z = self._replica_slice(z, axis=1)
    batch = tf.shape(z)[1]
    matching = x_real is not None
    if matching:
      x_real = self._replica_slice(x_real)
    with tf.GradientTape() as tape:
      fakes = [g(z[i], training=True) for i, g in enumerate(self.generators)]
      # (logits, features) that discriminator k gives generator j's fakes,
      # and discriminator k's features of the real batch.
      scored, real_features = {}, {}
      for k, disc in enumerate(self.discriminators):
        paired = self._paired_generators(k)
        pieces = ([x_real] if matching else []) + [fakes[j] for j in paired]
        segments = ([tf.shape(x_real)[0]] if matching else []) + [batch] * len(paired)
        logits, features = disc.logits_and_features(tf.concat(pieces, axis=0), training=True,
                                                    segment_sizes=segments, update_moving_stats=False)
        offset = 0
        if matching:
          real_features[k] = features[:batch]
          offset = batch
        for slot, j in enumerate(paired):
          rows = slice(offset + slot * batch, offset + (slot + 1) * batch)
          scored[k, j] = (logits[rows], features[rows])
      nll_terms, objectives = [], []
      for j, gen in enumerate(self.generators):
        judges = self._judges(j)
        fake_logits = tf.stack([scored[k, j][0] for k in judges])
        if cfg.wasserstein:
          nll = losses.wasserstein_generator_loss(fake_logits)
        else:
          matched = (cfg.feature_matching *
                     tf.stack([losses.feature_matching_loss(real_features[k], scored[k, j][1]) for k in judges])
                     if matching else None)
          nll = losses.generator_nll(fake_logits, matched, pool=self._pool)
        nll_terms.append(nll)
        objectives.append(nll + self._prior_term(gen))
      total = self._scale_loss("g", use_adam, tf.add_n(objectives) / self.num_replicas)
    return {"gen_losses": tf.stack(nll_terms), "gradients": tape.gradient(total, self.generator_variables)}

  def _discriminator_and_supervised_update(self, use_adam, x_real, z, x_labeled, y_labeled):
    return {**self._discriminator_update(use_adam, x_real, z, x_labeled, y_labeled),
            **self._supervised_update(use_adam, x_labeled, y_labeled)}

  def _supervised_update(self, use_adam, x_labeled, y_labeled):
    metrics = self._run_on_replicas(lambda: self._supervised_replica_gradients(use_adam, x_labeled, y_labeled))
    self._apply_phase("classifier", use_adam, metrics.pop("gradients"), self.classifier.trainable_variables)
    return metrics

  def _supervised_replica_gradients(self, use_adam, x_labeled, y_labeled):
    x_labeled, y_labeled = self._replica_slice(x_labeled), self._replica_slice(y_labeled)
    variables = self.classifier.trainable_variables
    with tf.GradientTape() as tape:
      loss = losses.supervised_loss(self.classifier(x_labeled, training=True), y_labeled)
      scaled_loss = self._scale_loss("classifier", use_adam, loss / self.num_replicas)
    return {"supervised_loss": loss, "gradients": tape.gradient(scaled_loss, variables)}

  def _predict_proba(self, x):
    probs = [tf.nn.softmax(d(x, training=False)) for d in self.discriminators]
    return tf.add_n(probs) / float(len(probs))

  def _classifier_proba(self, x):
    return tf.nn.softmax(self.classifier(x, training=False))

  def _generate(self, z):
    # Batch statistics, as in training (the 2017 code sampled this way too).
    return tf.stack([g(z[i], training=True) for i, g in enumerate(self.generators)])

  def _require_classifier(self):
    if self.classifier is None:
      raise ValueError("the supervised-only classifier exists only for semi-supervised configs")

  def _require_classes(self):
    if not self.config.model.semi_supervised:
      raise ValueError("predict_proba needs a semi-supervised model (num_classes > 1)")
