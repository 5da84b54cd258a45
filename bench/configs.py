"""The configurations the speed benchmarks time (no flags: imported by several programs)."""

import tensorflow as tf

from bgan_tf.bgan import BayesianGAN
from bgan_tf.config import GANConfig, ModelConfig, SamplerConfig

__all__ = ["CONFIGS", "gan_config", "random_input_iteration"]

# name: (example_shape, num_classes, gf_dim, df_dim, num_layers, num_gen, num_mcmc, batch, data_size)
CONFIGS = {
    "small": ((8, 8, 1), 10, 32, 32, 2, 2, 2, 32, 1437),  # the README's digits command
    "mnist": ((28, 28, 1), 10, 64, 96, 4, 10, 2, 64, 60000),
    "cifar": ((32, 32, 3), 10, 64, 96, 4, 10, 2, 64, 50000),  # the paper's CIFAR-10 setting
}


def gan_config(name, num_gen=None, num_mcmc=None, precision="float32", normalization=True):
  """The GANConfig of CONFIGS[name].

  `normalization=True` gives the recipes' networks and losses (discriminator
  batch norm, feature matching, the 2017 logsumexp objective) with the 2017
  code's every-pair scoring, the work every speed figure was measured on
  (`run_bgan_semi` pairs by chain since 2026-12-05: speed.py's pairing
  A/B times both); False the
  package before the 2017 normalisation was restored (no batch norm, no
  feature matching, the mean objective), for the A/B in speed.py.
  """
  shape, classes, gf, df, layers, default_gen, default_mcmc, batch, data_size = CONFIGS[name]
  model = ModelConfig(example_shape=shape, num_classes=classes, gf_dim=gf, df_dim=df, num_layers=layers,
                      disc_norm="batch" if normalization else "none")
  losses = (dict(feature_matching=1.0, objective="logsumexp", real_weight="num_gen") if normalization else dict(
      feature_matching=0.0, objective="mean", real_weight="one"))
  return GANConfig(model=model, sampler=SamplerConfig(data_size=data_size), num_gen=num_gen or default_gen,
                   num_mcmc=num_mcmc or default_mcmc, batch_size=batch, seed=0, precision=precision, **losses)


def random_input_iteration(config):
  """A `BayesianGAN` for `config` and a function running one iteration on fixed random inputs.

  The iteration is the training loop's: a discriminator and supervised step
  (one call), then a generator step, and it waits for them to finish. It is
  run (warmed up) twice before returning.
  """
  gan = BayesianGAN(config)
  shape, batch, classes = config.model.example_shape, config.batch_size, config.model.num_classes
  x = tf.random.uniform([batch, *shape], -1, 1)
  y = tf.random.uniform([batch], 0, classes, dtype=tf.int32)

  def iteration():
    gan.discriminator_and_supervised_step(x, x, y)
    gan.generator_step(x_real=x)["gen_losses"].numpy()

  iteration()
  iteration()
  return gan, iteration
