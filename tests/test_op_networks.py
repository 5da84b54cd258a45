"""bench/op_networks.py: a traced step's ops attributed to the network they belong to."""

import tensorflow as tf

from bgan_tf.bgan import BayesianGAN
from bgan_tf.config import GANConfig, ModelConfig, SamplerConfig

import op_networks  # bench/ (tests/conftest.py puts it on sys.path)
import op_rates


def _gan():
  model = ModelConfig(example_shape=(8, 8, 1), num_classes=10, gf_dim=8, df_dim=8, num_layers=2,
                      disc_norm="batch")
  config = GANConfig(model=model, sampler=SamplerConfig(data_size=100), num_gen=2, num_mcmc=2, batch_size=4,
                     seed=0)
  return BayesianGAN(config)


def test_layers_map_to_the_one_network_that_owns_them():
  gan = _gan()
  layers = op_networks.layer_networks(gan)
  disc_conv = gan.discriminators[1].body.layers[0].name
  gen_layer = gan.generators[0].body.layers[0].name
  assert layers[disc_conv] == "discriminators"
  assert layers[gen_layer] == "generators"
  assert layers[gan.discriminators[0].output_layer.name] == "discriminators"
  # Every generator and discriminator has a sublayer named "body": the name tells nothing.
  assert "body" not in layers


def test_op_names_are_attributed_by_their_first_telling_scope():
  gan = _gan()
  layers = op_networks.layer_networks(gan)
  disc_conv = gan.discriminators[1].body.layers[0].name
  cases = {
      f"{disc_conv}_1/BiasAdd": "discriminators",  # a discriminator run layer by layer, its scope reopened
      f"gradient_tape/{disc_conv}/Conv2DBackpropInput": "discriminators",
      "generator_5_1/body_1/conv2d_transpose_23_1/Conv2DBackpropInput": "generators",
      "classifier_1/dense_25_1/BiasAdd": "classifier",
      "cond/else/_1/cond/sghmc_d/Mul_31": "sampler updates",  # the sampler's branch of the Adam/SGHMC switch
      "gradient_tape/Normal_1/log_prob_2/mul_1": "priors",
      "gradient_tape/strided_slice_8": "backward (unattributed)",
      "stateful_uniform/StatelessRandomUniformV2": "other",
  }
  for name, label in cases.items():
    assert op_networks.network_of(name, layers) == label, name


def test_a_profiled_iteration_leaves_no_network_out():
  gan = _gan()
  x = tf.random.uniform([4, 8, 8, 1], -1, 1)
  y = tf.constant([0, 1, 2, 3])

  def iteration():
    gan.discriminator_and_supervised_step(x, x, y)
    gan.generator_step(x_real=x)["gen_losses"].numpy()

  iteration()
  with op_rates.recorded_op_times() as times:
    iteration()
  seconds = op_networks.by_network(times, op_networks.layer_networks(gan))
  for label in ("generators", "discriminators", "classifier", "sampler updates", "priors"):
    assert seconds[label] > 0, (label, seconds)
  # The discriminators' layer-by-layer ops are theirs, not "other".
  disc_conv = gan.discriminators[0].body.layers[0].name
  layer_ops = [name for name in times if name.split("/")[0].startswith(disc_conv)]
  assert layer_ops and all(op_networks.network_of(name, op_networks.layer_networks(gan)) == "discriminators"
                           for name in layer_ops)
