"""The configurations the speed benchmarks time (no flags: imported by several programs)."""

from bgan_tf.config import GANConfig, ModelConfig, SamplerConfig

__all__ = ["CONFIGS", "gan_config"]

# name: (example_shape, num_classes, gf_dim, df_dim, num_layers, num_gen, num_mcmc, batch, data_size)
CONFIGS = {
    "small": ((8, 8, 1), 10, 32, 32, 2, 2, 2, 32, 1437),     # the README's digits command
    "mnist": ((28, 28, 1), 10, 64, 96, 4, 10, 2, 64, 60000),
    "cifar": ((32, 32, 3), 10, 64, 96, 4, 10, 2, 64, 50000),  # the paper's CIFAR-10 setting
}


def gan_config(name, num_gen=None, num_mcmc=None, precision="float32"):
  shape, classes, gf, df, layers, default_gen, default_mcmc, batch, data_size = CONFIGS[name]
  model = ModelConfig(example_shape=shape, num_classes=classes, gf_dim=gf, df_dim=df, num_layers=layers)
  return GANConfig(model=model, sampler=SamplerConfig(data_size=data_size), num_gen=num_gen or default_gen,
                   num_mcmc=num_mcmc or default_mcmc, batch_size=batch, seed=0, precision=precision)
