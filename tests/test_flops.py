"""Analytic FLOP counts against TensorFlow's own graph profiler."""

import pytest
import tensorflow as tf
from tensorflow.python.profiler import model_analyzer, option_builder

from bgan_tf import flops
from bgan_tf.config import GANConfig, ModelConfig, SamplerConfig
from bgan_tf.models import make_discriminator, make_generator


def profiled_flops(model, input_shape):
  fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(tf.TensorSpec([1, *input_shape]))
  options = option_builder.ProfileOptionBuilder.float_operation()
  return model_analyzer.profile(fn.graph, options=options).total_float_ops


@pytest.mark.parametrize("shape,num_layers", [((32, 32, 3), 4), ((28, 28, 1), 4), ((13, 21, 2), 3)])
def test_forward_counts_match_the_tf_profiler(shape, num_layers):
  config = ModelConfig(example_shape=shape, num_classes=10, num_layers=num_layers)  # paper widths 64, 96
  # The profiler also counts biases and batch norm, which the analytic count leaves out (< 1%).
  assert profiled_flops(make_discriminator(config), shape) == pytest.approx(
      flops.discriminator_forward_flops(config), rel=0.01)
  assert profiled_flops(make_generator(config), (config.z_dim,)) == pytest.approx(
      flops.generator_forward_flops(config), rel=0.01)


def test_the_2017_structure_costs_more_only_with_several_discriminators():
  model = ModelConfig(example_shape=(32, 32, 3), num_classes=10)
  sampler = SamplerConfig(data_size=50000)
  paper = GANConfig(model=model, sampler=sampler, num_gen=10, num_mcmc=2)
  ours, reference = flops.iteration_flops(paper), flops.reference_iteration_flops(paper)
  assert reference["total"] > 1.1 * ours["total"]
  assert ours["total"] == pytest.approx(sum(v for k, v in ours.items() if k != "total"))
  single = GANConfig(model=model, sampler=sampler, num_gen=1, num_disc=1, num_mcmc=1)
  # With one discriminator there is no pair to recompute except the real pass.
  extra = flops.reference_iteration_flops(single)["total"] - flops.iteration_flops(single)["total"]
  assert extra == pytest.approx(64 * flops.discriminator_forward_flops(model))
