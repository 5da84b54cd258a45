"""Config validation: bad values fail where they are made."""

import pytest

from bgan_tf.config import GANConfig, ModelConfig, SamplerConfig

MODEL = ModelConfig(example_shape=(8, 8, 1), num_classes=10)
SAMPLER = SamplerConfig(data_size=100)


@pytest.mark.parametrize("kwargs,message", [
    (dict(num_gen=0), "num_gen"),
    (dict(ml=True, num_gen=2), "ml trains one plain GAN"),
    (dict(ml_ensemble=3, num_gen=2, num_disc=3), "ml_ensemble=3"),
    (dict(wasserstein=True), "wasserstein"),
])
def test_invalid_gan_configs(kwargs, message):
  with pytest.raises(ValueError, match=message):
    GANConfig(model=MODEL, sampler=SAMPLER, **kwargs)


@pytest.mark.parametrize("kwargs", [dict(example_shape=(8, 8)), dict(example_shape=(10,)),
                                    dict(example_shape=(8, 8, 1), arch="resnet"),
                                    dict(example_shape=(8, 8, 1), num_layers=0)])
def test_invalid_model_configs(kwargs):
  with pytest.raises(ValueError):
    ModelConfig(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(data_size=0), dict(data_size=10, learning_rate=0),
                                    dict(data_size=10, friction=0), dict(data_size=10, prior_std=-1)])
def test_invalid_sampler_configs(kwargs):
  with pytest.raises(ValueError):
    SamplerConfig(**kwargs)


def test_derived_sizes():
  config = GANConfig(model=MODEL, sampler=SAMPLER, num_gen=10, num_disc=2, num_mcmc=2)
  assert (config.num_generators, config.num_discriminators) == (20, 4)
  assert not config.maximum_likelihood
  assert GANConfig(model=MODEL, sampler=SAMPLER, ml_ensemble=2, num_gen=2, num_disc=2).maximum_likelihood
