"""Frozen configuration objects for the Bayesian GAN.

Each dataclass validates itself in `__post_init__`, so a bad value fails where
it is made, with a one-line `ValueError`, long before any TensorFlow work.
This module imports no TensorFlow: programs build and check configs first.
"""

import dataclasses
from typing import Optional, Tuple

from bgan_tf.errors import ConfigError

__all__ = [
    "MOMENTUM_2017",
    "GANConfig",
    "ModelConfig",
    "SamplerConfig",
    "TrainConfig",
    "check_ensemble_sizes",
    "check_preconditioner",
    "check_sghmc_settings",
    "gan_config_from_dict",
]

ARCHITECTURES = ("dcgan", "mlp")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
OUTPUT_ACTIVATIONS = ("tanh", "linear")
DISC_NORMS = ("batch", "none")
PAIRINGS = ("all", "chain")
OBJECTIVES = ("mean", "logsumexp")
REAL_WEIGHTS = ("one", "num_gen")
GEN_NORMS = ("batch", "none")
GEN_ACTIVATIONS = ("relu", "leaky_relu")
NOISE_FORMS = ("langevin", "2017")
PRIOR_FORMS = ("gaussian", "2017")
PRECONDITIONERS = ("none", "adam")
CLASSIFIERS = ("discriminator", "2017")
# The momentum of the 2017 `--optimizer=sgd` (`bgan_semi.py:206`, `MomentumOptimizer(lr, momentum=0.5)`).
MOMENTUM_2017 = 0.5


def _require(condition: bool, message: str) -> None:
  if not condition:
    raise ConfigError(message)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """Architecture of one generator and one discriminator.

  Attributes:
    example_shape: shape of one data example, `(H, W, C)` for images or `(D,)`
      for vectors.
    num_classes: K, the number of discriminator logits. 1 gives the
      unsupervised real/fake discriminator; K > 1 the semi-supervised one with
      an implicit (K+1)-th fake class.
    z_dim: dimension of the generator's noise input z.
    arch: `"dcgan"` (convolutional, images only) or `"mlp"`.
    gf_dim: generator channels at full resolution (doubling as it pools).
    df_dim: discriminator channels at full resolution (doubling as it pools).
    num_layers: convolutional layers in each network (`dcgan`).
    mlp_hidden: hidden-layer widths of the `mlp` networks.
    output_activation: `"tanh"` for data scaled to [-1, 1], `"linear"` for
      unbounded vector data.
    disc_norm: `"batch"`: the 2017 discriminator's batch norm without scale
      or shift after every hidden layer but the first, statistics per segment
      of the batch (`models.SegmentBatchNorm`); `"none"`: no normalisation.
    gen_norm: `"batch"` after every hidden generator layer, or `"none"` (the
      2017 synthetic MLP, `bgan_models.py:222-227`).
    gen_activation: the generator's hidden activation, `"relu"` (DCGAN) or
      `"leaky_relu"` (slope 0.2; the 2017 synthetic MLP).
    classifier: the supervised-only classifier's layers (semi-supervised
      only): `"discriminator"`, the discriminator's; `"2017"`, the 2017 code's
      (`models.Classifier2017`, `bgan_semi.py:362-379`; `dcgan` only).
  """

  example_shape: Tuple[int, ...]
  num_classes: int = 1
  z_dim: int = 100
  arch: str = "dcgan"
  gf_dim: int = 64
  df_dim: int = 96
  num_layers: int = 4
  mlp_hidden: Tuple[int, ...] = (128,)
  output_activation: str = "tanh"
  disc_norm: str = "batch"
  gen_norm: str = "batch"
  gen_activation: str = "relu"
  classifier: str = "discriminator"

  def __post_init__(self):
    object.__setattr__(self, "example_shape", tuple(int(s) for s in self.example_shape))
    object.__setattr__(self, "mlp_hidden", tuple(int(h) for h in self.mlp_hidden))
    _require(
        len(self.example_shape) in (1, 3) and all(s > 0 for s in self.example_shape),
        f"example_shape must be (H, W, C) or (D,) with positive sizes, got {self.example_shape}")
    _require(self.num_classes >= 1, f"num_classes must be >= 1, got {self.num_classes}")
    _require(self.z_dim >= 1, f"z_dim must be >= 1, got {self.z_dim}")
    _require(self.arch in ARCHITECTURES, f"arch must be one of {ARCHITECTURES}, got {self.arch!r}")
    _require(self.gf_dim >= 1 and self.df_dim >= 1,
             f"gf_dim and df_dim must be >= 1, got {self.gf_dim} and {self.df_dim}")
    _require(self.num_layers >= 1, f"num_layers must be >= 1, got {self.num_layers}")
    _require(all(h >= 1 for h in self.mlp_hidden), f"mlp_hidden sizes must be >= 1, got {self.mlp_hidden}")
    _require(self.output_activation in OUTPUT_ACTIVATIONS,
             f"output_activation must be one of {OUTPUT_ACTIVATIONS}, got {self.output_activation!r}")
    _require(self.disc_norm in DISC_NORMS, f"disc_norm must be one of {DISC_NORMS}, got {self.disc_norm!r}")
    _require(self.gen_norm in GEN_NORMS, f"gen_norm must be one of {GEN_NORMS}, got {self.gen_norm!r}")
    _require(self.gen_activation in GEN_ACTIVATIONS,
             f"gen_activation must be one of {GEN_ACTIVATIONS}, got {self.gen_activation!r}")
    _require(self.classifier in CLASSIFIERS,
             f"classifier must be one of {CLASSIFIERS}, got {self.classifier!r}")
    _require(self.classifier != "2017" or self.arch == "dcgan",
             "classifier '2017' is the 2017 code's convolutional classifier: it needs arch 'dcgan'")
    if self.arch == "dcgan":
      _require(
          len(self.example_shape) == 3,
          f"arch 'dcgan' needs image examples (H, W, C), got {self.example_shape}; use arch 'mlp'")

  @property
  def semi_supervised(self) -> bool:
    return self.num_classes > 1


@dataclasses.dataclass(frozen=True)
class SamplerConfig:
  """Stochastic-gradient HMC and the optimisers that stand in for it.

  The sampler targets p(theta | D) ∝ exp(-U(theta)), U = data_size * L with L
  the minibatch-mean negative log-likelihood plus (-log prior) / data_size.

  Attributes:
    data_size: N, the number of training examples the likelihood stands for.
    learning_rate: eps, the step on grad L (the paper's eta = eps / N on
      grad U).
    friction: alpha, the momentum decay per step (momentum = 1 - alpha).
    temperature: scales the injected noise; 1 samples the posterior.
    prior_std: standard deviation of the N(0, prior_std^2) prior on weights.
    add_noise: False turns SGHMC into SGD with momentum 1 - alpha.
    adam_burn_in: iterations of Adam before SGHMC takes over (the 2017 code
      used 5000); 0 disables the burn-in.
    adam_learning_rate, adam_beta_1: Adam settings for the burn-in, for the
      maximum-likelihood (`ml`) baseline and the supervised-only classifier.
    noise_form: `"langevin"`: SGHMC's noise N(0, 2 alpha eps T / N) in the
      velocity; `"2017"`: the 2017 code's noise, a loss term
      sum(theta * xi) / N with xi ~ N(0, 2 * 0.01 * 2e-4) (`bgan_semi.py:452-459`),
      so the velocity gets -eps * xi / N (see `sghmc.SGHMC`).
    prior_form: `"gaussian"`: -log N(theta; 0, prior_std^2) / N summed over
      weights; `"2017"`: sum over variables of mean(theta^2) / prior_std^2 / N
      (`bgan_semi.py:441-450`), a far weaker prior.
    supervised_learning_rate: the supervised-only classifier's constant Adam
      rate (2017: 0.05 x lr, `bgan_semi.py:339`); None: it follows the
      decayed `adam_learning_rate`.
    preconditioner: `"none"`: every weight gets the same step; `"adam"`: at
      the switch from the Adam burn-in, each weight's SGHMC step is scaled by
      Adam's 1 / sqrt(v_hat), then held fixed, so the chain samples the same
      posterior with the burn-in's geometry (`sghmc.preconditioner_from_adam`).
      It needs a burn-in. The 2017 code has no preconditioner.
    momentum_after_burn_in: the models that are not sampled, the ML baselines
      and the supervised-only classifier, switch from Adam to SGD with
      momentum `MOMENTUM_2017` after `adam_burn_in` iterations, as every model
      did under the 2017 code's `--optimizer=sgd` (`run_bgan_semi.py:164-172`
      switches all optimizers at iteration 5000; `bgan_semi.py:202-207` is the
      momentum optimizer, `bgan_semi.py:339-343` the classifier's, at its
      constant rate). The ML GANs step at `learning_rate` (decayed, without
      noise or prior), the classifier at `supervised_learning_rate`. False:
      they stay on Adam.
  """

  data_size: int
  learning_rate: float = 0.005
  friction: float = 0.01
  temperature: float = 1.0
  prior_std: float = 1.0
  add_noise: bool = True
  adam_burn_in: int = 0
  adam_learning_rate: float = 2e-4
  adam_beta_1: float = 0.5
  noise_form: str = "langevin"
  prior_form: str = "gaussian"
  supervised_learning_rate: Optional[float] = None
  preconditioner: str = "none"
  momentum_after_burn_in: bool = False

  def __post_init__(self):
    check_sghmc_settings(self.friction, self.data_size, self.temperature, self.noise_form)
    _require(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}")
    _require(self.prior_std > 0, f"prior_std must be > 0, got {self.prior_std}")
    _require(self.adam_burn_in >= 0, f"adam_burn_in must be >= 0, got {self.adam_burn_in}")
    _require(self.adam_learning_rate > 0, f"adam_learning_rate must be > 0, got {self.adam_learning_rate}")
    _require(0 <= self.adam_beta_1 < 1, f"adam_beta_1 must be in [0, 1), got {self.adam_beta_1}")
    _require(self.prior_form in PRIOR_FORMS, f"prior_form must be one of {PRIOR_FORMS}, got {self.prior_form!r}")
    _require(self.supervised_learning_rate is None or self.supervised_learning_rate > 0,
             f"supervised_learning_rate must be > 0, got {self.supervised_learning_rate}")
    check_preconditioner(self.preconditioner, self.adam_burn_in)


@dataclasses.dataclass(frozen=True)
class GANConfig:
  """The posterior ensemble and how it is trained.

  Attributes:
    model: the architecture of each generator and discriminator.
    sampler: the SGHMC and Adam settings.
    num_gen: J, generator samples (one z batch each: the Monte Carlo
      marginalisation of z).
    num_disc: J_d, discriminator samples.
    num_mcmc: M, chains per sample; the ensembles hold num_gen * num_mcmc
      generators and num_disc * num_mcmc discriminators.
    batch_size: examples per unlabeled batch, per labeled batch and per
      generator's fake batch.
    ml: maximum likelihood: one plain GAN trained with Adam, no prior and no
      sampler noise (the DCGAN baseline of the paper's tables).
    ml_ensemble: if > 0, that many independent ML GANs, each generator paired
      with its own discriminator only (the paper's DCGAN-10 column).
    wasserstein: Wasserstein critic losses with weight clipping (unsupervised
      only).
    clip_value: the weight clip of the Wasserstein critic.
    seed: seeds weight initialisation, z draws and sampler noise.
    precision: "float32", or a Keras mixed-precision policy: "mixed_bfloat16"
      (CPUs with bf16 units, TPUs) or "mixed_float16" (GPUs; adds loss
      scaling). Variables, sampler state, noise, losses and network outputs
      stay float32 in every case.
    pairing: which generator samples each discriminator sample sees, and
      vice versa. `"all"`: every one (the 2017 code); `"chain"`: the same
      chain m only, theta_g^{j,m} with theta_d^{.,m} (the paper's Algorithm 1).
    objective: how a sample's per-pair losses combine. `"mean"`: the means
      of the paper's eqs. (1)-(2); `"logsumexp"`: the 2017 code's logsumexp
      over the paired samples, of (sup + w x real + fake_j) for a
      discriminator (`bgan_semi.py:281-288`) and of (gen_k + feature
      matching_k) for a generator (`bgan_semi.py:305-318`).
    real_weight: w, the weight of the unlabeled real term in a
      discriminator's objective: `"one"`, or `"num_gen"` (J), as the 2017
      DCGAN code (`bgan_semi.py:283`, `bgan.py:277`), which with `logsumexp`
      weighs sup : real : fake as 1 : J : 1. The 2017 synthetic model used 1
      (`bgan_models.py:163`). An `ml_ensemble`'s GANs are independent
      single-generator models, so theirs is 1 either way.
    feature_matching: weight of the generator's feature-matching term: the
      mean Huber distance (delta 1) between a discriminator's penultimate
      features of the real batch and of the fakes, example by example
      (`bgan_semi.py:310-313`, `dcgan_ops.py:48-53`); 2017 used 1, 0 turns it
      off.
  """

  model: ModelConfig
  sampler: SamplerConfig
  num_gen: int = 1
  num_disc: int = 1
  num_mcmc: int = 1
  batch_size: int = 64
  ml: bool = False
  ml_ensemble: int = 0
  wasserstein: bool = False
  clip_value: float = 0.01
  seed: Optional[int] = 0
  precision: str = "float32"
  pairing: str = "all"
  objective: str = "mean"
  real_weight: str = "one"
  feature_matching: float = 0.0

  def __post_init__(self):
    _require(self.precision in PRECISIONS, f"precision must be one of {PRECISIONS}, got {self.precision!r}")
    _require(self.pairing in PAIRINGS, f"pairing must be one of {PAIRINGS}, got {self.pairing!r}")
    _require(self.objective in OBJECTIVES, f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
    _require(self.real_weight in REAL_WEIGHTS,
             f"real_weight must be one of {REAL_WEIGHTS}, got {self.real_weight!r}")
    _require(self.feature_matching >= 0, f"feature_matching must be >= 0, got {self.feature_matching}")
    for name in ("num_gen", "num_disc", "num_mcmc", "batch_size"):
      value = getattr(self, name)
      _require(value >= 1, f"{name} must be >= 1, got {value}")
    _require(self.ml_ensemble >= 0, f"ml_ensemble must be >= 0, got {self.ml_ensemble}")
    check_ensemble_sizes(self.ml, self.ml_ensemble, self.num_gen, self.num_disc, self.num_mcmc)
    if self.pairing == "chain":
      _require(not self.ml_ensemble, "ml_ensemble pairs each generator with its own discriminator; "
               "leave pairing at 'all'")
    if self.wasserstein:
      _require(self.objective == "mean" and self.real_weight == "one" and not self.feature_matching,
               "wasserstein losses take objective 'mean', real_weight 'one' and no feature matching")
      _require(not self.model.semi_supervised, "wasserstein losses are unsupervised: they need num_classes = 1")
      _require(self.clip_value > 0, f"clip_value must be > 0, got {self.clip_value}")

  @property
  def maximum_likelihood(self) -> bool:
    """True for the ML baselines: Adam only, no prior, no sampler noise."""
    return self.ml or self.ml_ensemble > 0

  @property
  def num_generators(self) -> int:
    """Generator models held: num_gen * num_mcmc."""
    return self.num_gen * self.num_mcmc

  @property
  def num_discriminators(self) -> int:
    """Discriminator models held: num_disc * num_mcmc."""
    return self.num_disc * self.num_mcmc


OPTIMIZERS = ("sghmc", "adam")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """The training loop: length, schedule, outputs.

  Attributes:
    train_iter: iterations to run (each: a discriminator step, a generator
      step and, semi-supervised, a supervised-baseline step).
    n_save: evaluate, log, write results and summaries every n_save
      iterations.
    checkpoint_every: save a checkpoint every this many iterations.
    max_checkpoints: checkpoints kept on disk.
    optimizer: `"sghmc"` samples the posterior (after `adam_burn_in`
      iterations of Adam); `"adam"` runs Adam throughout (no noise: a MAP
      ensemble). The ML baselines use Adam, and after the burn-in momentum
      SGD if `SamplerConfig.momentum_after_burn_in`.
    lr_decay: learning rates follow lr * exp(-lr_decay * min(1, it * batch / N)),
      the 2017 schedule.
    num_labeled: N labeled examples (semi-supervised); 0 otherwise.
    eval_batch_size: batch size of test-set evaluation.
    num_sample_images: images per generator in sample grids.
    tensorboard: write TensorBoard summaries.
    save_samples: write PNG sample grids per generator at every n_save.
    save_weights: write all weights as .npz at every n_save.
    data_seed: seeds the labeled subset and the order of the data streams.
    snapshot_every: after burn-in, copy the discriminator chains into the
      posterior snapshots every this many iterations (0: never).
    max_snapshots: snapshots kept (the oldest are replaced); the exported
      ensemble is the chains plus these.
    cycle_length: if > 0, after burn-in the sampler's step follows a cosine
      that restarts every cycle_length iterations, in place of the lr_decay
      schedule, and snapshots are taken only at each cycle's small steps
      (cyclical SG-MCMC, Zhang et al. 2020; `bgan_tf.schedules`). 0: off.
    cycle_peak: the step at each cycle's start, as a fraction of the
      sampler's (undecayed) learning rate.
  """

  train_iter: int = 50000
  n_save: int = 100
  checkpoint_every: int = 100
  max_checkpoints: int = 3
  optimizer: str = "sghmc"
  lr_decay: float = 3.0
  num_labeled: int = 0
  eval_batch_size: int = 500
  num_sample_images: int = 64
  tensorboard: bool = True
  save_samples: bool = False
  save_weights: bool = False
  data_seed: int = 0
  snapshot_every: int = 1000
  max_snapshots: int = 20
  cycle_length: int = 0
  cycle_peak: float = 1.0

  def __post_init__(self):
    for name in ("train_iter", "n_save", "checkpoint_every", "max_checkpoints", "eval_batch_size",
                 "num_sample_images"):
      value = getattr(self, name)
      _require(value >= 1, f"{name} must be >= 1, got {value}")
    _require(self.snapshot_every >= 0, f"snapshot_every must be >= 0, got {self.snapshot_every}")
    _require(self.max_snapshots >= 0, f"max_snapshots must be >= 0, got {self.max_snapshots}")
    _require(self.num_labeled >= 0, f"N (num_labeled) must be >= 0, got {self.num_labeled}")
    _require(self.lr_decay >= 0, f"lr_decay must be >= 0, got {self.lr_decay}")
    _require(self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
    _require(self.cycle_length >= 0, f"cycle_length must be >= 0, got {self.cycle_length}")
    _require(self.cycle_peak > 0, f"cycle_peak must be > 0, got {self.cycle_peak}")
    _require(self.cycle_length == 0 or self.optimizer == "sghmc",
             "cycle_length needs the sghmc optimizer: the cycles act on the sampler's step")


def check_ensemble_sizes(ml: bool, ml_ensemble: int, num_gen: int, num_disc: int, num_mcmc: int,
                         prefix: str = "") -> None:
  """The rule tying the ML baselines to their ensemble sizes (`GANConfig` and the programs' flags).

  Args:
    ml, ml_ensemble, num_gen, num_disc, num_mcmc: as in `GANConfig`.
    prefix: put before the option names in the message ("--" for flags).

  Raises:
    ConfigError: `ml` with more than one model, both `ml` and `ml_ensemble`,
      or an `ml_ensemble` whose sizes are not (n, n, 1).
  """
  p = prefix
  _require(not (ml and ml_ensemble), f"use either {p}ml or {p}ml_ensemble, not both")
  if ml:
    _require(
        num_gen == num_disc == num_mcmc == 1,
        f"{p}ml trains one plain GAN: num_gen, num_disc and num_mcmc must all be 1 "
        f"(got {num_gen}, {num_disc}, {num_mcmc})")
  if ml_ensemble:
    _require(
        num_gen == num_disc == ml_ensemble and num_mcmc == 1,
        f"{p}ml_ensemble={ml_ensemble} needs num_gen = num_disc = {ml_ensemble} and "
        f"num_mcmc = 1 (got {num_gen}, {num_disc}, {num_mcmc})")


def check_sghmc_settings(friction: float, data_size: float, temperature: float, noise_form: str) -> None:
  """The SGHMC settings' ranges (`SamplerConfig` and `sghmc.SGHMC`).

  Raises:
    ConfigError: friction outside (0, 1], data_size < 1, temperature < 0 or
      an unknown noise form.
  """
  _require(0 < friction <= 1, f"friction must be in (0, 1], got {friction}")
  _require(data_size >= 1, f"data_size must be >= 1, got {data_size}")
  _require(temperature >= 0, f"temperature must be >= 0, got {temperature}")
  _require(noise_form in NOISE_FORMS, f"noise_form must be one of {NOISE_FORMS}, got {noise_form!r}")


def check_preconditioner(preconditioner: str, burn_in: int, prefix: str = "",
                         burn_in_name: str = "adam_burn_in") -> None:
  """The preconditioner's rule (`SamplerConfig` and the programs' flags).

  Args:
    preconditioner, burn_in: as `SamplerConfig.preconditioner` and `adam_burn_in`.
    prefix: put before the option names in the message ("--" for flags).
    burn_in_name: the burn-in option's name in the message.

  Raises:
    ConfigError: an unknown preconditioner, or "adam" without a burn-in to
      read Adam's second moments from.
  """
  _require(preconditioner in PRECONDITIONERS,
           f"{prefix}preconditioner must be one of {PRECONDITIONERS}, got {preconditioner!r}")
  _require(
      preconditioner == "none" or burn_in > 0,
      f"{prefix}preconditioner=adam reads the Adam burn-in's second moments: it needs a burn-in "
      f"({prefix}{burn_in_name} > 0)")


def gan_config_from_dict(values) -> GANConfig:
  """Rebuilds a `GANConfig` from `dataclasses.asdict` output (e.g. a run's config.json)."""
  values = dict(values)
  model = dict(values.pop("model"))
  # Runs written before the discriminator had batch norm had none.
  model.setdefault("disc_norm", "none")
  model["example_shape"] = tuple(model["example_shape"])
  model["mlp_hidden"] = tuple(model["mlp_hidden"])
  return GANConfig(model=ModelConfig(**model), sampler=SamplerConfig(**values.pop("sampler")), **values)
