"""bench/op_networks.py: a traced step's ops attributed to the network they belong to."""

from bgan_tf.bgan import BayesianGAN

from configs import gan_config, random_input_iteration  # bench/ (tests/conftest.py puts it on sys.path)
import op_networks
import op_rates


def _gan():
  # The README's digits config: 2 x 2, discriminator batch norm (so the discriminators also run layer by layer).
  return BayesianGAN(gan_config("small"))


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
  gan, iteration = random_input_iteration(gan_config("small"))
  with op_rates.recorded_op_times() as times:
    iteration()
  layers = op_networks.layer_networks(gan)
  seconds = op_networks.by_network(times, layers)
  for label in ("generators", "discriminators", "classifier", "sampler updates", "priors"):
    assert seconds[label] > 0, (label, seconds)
  # The discriminators' layer-by-layer ops are theirs, not "other".
  disc_conv = gan.discriminators[0].body.layers[0].name
  layer_ops = [name for name in times if name.split("/")[0].startswith(disc_conv)]
  assert layer_ops and all(op_networks.network_of(name, layers) == "discriminators" for name in layer_ops)
