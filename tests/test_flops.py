"""Analytic FLOP counts against TensorFlow's own graph profiler."""

import pytest
import tensorflow as tf
from tensorflow.python.framework import graph_util, ops
from tensorflow.python.profiler import model_analyzer, option_builder

from bgan_tf import kernel_choice
from bgan_tf.config import GANConfig, ModelConfig, SamplerConfig
from bgan_tf.models import make_discriminator, make_generator

import flops  # bench/flops.py (tests/conftest.py puts bench/ on sys.path)


@pytest.fixture(autouse=True)
def _stock_gradients(monkeypatch):
  # The counts are the convolutions' own work, which TensorFlow's stock kernels
  # do; the other formulations (bgan_tf.conv_gradients) do some more (padded
  # taps, patches) and are credited with none of it.
  monkeypatch.setenv(kernel_choice.ENV_FORMULATION, "stock")
  monkeypatch.setenv(kernel_choice.ENV_FILTER_FORMULATION, "stock")


def _graph_flops(graph):
  options = option_builder.ProfileOptionBuilder.float_operation()
  return model_analyzer.profile(graph, options=options).total_float_ops


def profiled_flops(model, input_shape):
  fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(tf.TensorSpec([1, *input_shape]))
  return _graph_flops(fn.graph)


def profiled_training_flops(model, input_shape, update_weights, input_gradient):
  """FLOPs TF's profiler counts for a forward and backward pass on one example.

  The gradient graph is pruned to what its outputs need, as Grappler prunes
  it before running (the tape emits a conv's input gradient even where
  nothing uses it).
  """

  def forward_backward(x):
    with tf.GradientTape() as tape:
      if input_gradient:
        tape.watch(x)
      out = tf.reduce_sum(model(x, training=True))
    sources = (list(model.trainable_variables) if update_weights else []) + ([x] if input_gradient else [])
    return tape.gradient(out, sources)

  fn = tf.function(forward_backward).get_concrete_function(tf.TensorSpec([1, *input_shape]))
  graph_def = fn.graph.as_graph_def()
  needed = {node.name for node in graph_util.extract_sub_graph(graph_def, [t.op.name for t in fn.outputs]).node}
  total = 0
  for node in graph_def.node:
    if node.name in needed:
      try:  # The statistic the profiler sums; ops without one count zero.
        total += ops.get_stats_for_node_def(fn.graph, node, "flops").value or 0
      except ValueError:
        pass
  return total


@pytest.mark.parametrize("shape,num_layers", [((32, 32, 3), 4), ((28, 28, 1), 4), ((13, 21, 2), 3)])
def test_forward_counts_match_the_tf_profiler(shape, num_layers):
  config = ModelConfig(example_shape=shape, num_classes=10, num_layers=num_layers)  # paper widths 64, 96
  # The profiler also counts biases and batch norm, which the analytic count leaves out (< 1%).
  assert profiled_flops(make_discriminator(config),
                        shape) == pytest.approx(flops.discriminator_forward_flops(config), rel=0.01)
  assert profiled_flops(make_generator(config),
                        (config.z_dim,)) == pytest.approx(flops.generator_forward_flops(config), rel=0.01)


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


def _per_example(passes, step, network):
  chosen = [p for p in passes if p.step == step and p.network == network]
  assert chosen, (step, network)
  return sum(p.flops for p in chosen) / (chosen[0].batch * chosen[0].count)


def test_iteration_passes_match_the_tf_profiler_on_gradient_graphs():
  # Each network's kernels in each step, against TF's count of the pruned
  # forward + backward graph that step runs: catches a missing or an extra
  # gradient (e.g. the data gradient the discriminator step never computes).
  model = ModelConfig(example_shape=(32, 32, 3), num_classes=10, num_layers=4)
  config = GANConfig(model=model, sampler=SamplerConfig(data_size=50000), num_gen=2, num_mcmc=1)
  passes = flops.iteration_passes(config)
  disc, gen = make_discriminator(model), make_generator(model)
  cases = [
      ("discriminator_step", "discriminator", disc, model.example_shape, True, False),
      ("discriminator_step", "generator", gen, (model.z_dim,), False, False),
      ("generator_step", "discriminator", disc, model.example_shape, False, True),
      ("generator_step", "generator", gen, (model.z_dim,), True, False),
      ("supervised_step", "classifier", disc, model.example_shape, True, False),
  ]
  for step, network, net, shape, update_weights, input_gradient in cases:
    if not (update_weights or input_gradient):
      expected = profiled_flops(net, shape)
    else:
      expected = profiled_training_flops(net, shape, update_weights, input_gradient)
    # Biases, activations and batch norm are left out of the analytic count.
    assert _per_example(passes, step, network) == pytest.approx(expected, rel=0.01), (step, network)


def test_the_discriminator_step_skips_the_data_gradient_and_the_generator_step_does_not():
  model = ModelConfig(example_shape=(32, 32, 3), num_classes=10)
  config = GANConfig(model=model, sampler=SamplerConfig(data_size=50000), num_gen=3, num_mcmc=2)
  passes = flops.iteration_passes(config)
  first = flops.discriminator_layers(model)[0]
  kinds = {(p.step, p.kind) for p in passes if p.layer == first}
  assert ("discriminator_step", "input_grad") not in kinds
  assert ("generator_step", "input_grad") in kinds
  assert ("generator_step", "filter_grad") not in kinds
  # Real, labeled and the fakes of 3 x 2 generators, seen by each of the 2 discriminators.
  disc_step = [p for p in passes if p.step == "discriminator_step" and p.network == "discriminator"]
  assert {(p.batch, p.count) for p in disc_step} == {(64 + 64 + 6 * 64, 2)}
  transposed = [p for p in passes if p.layer.kind == "conv2d_transpose" and p.kind == "forward"]
  assert transposed and all(p.op == "conv2d_backprop_input" for p in transposed)


def test_feature_matching_adds_the_real_batch_and_chain_pairing_removes_pairs():
  model = ModelConfig(example_shape=(32, 32, 3), num_classes=10, gf_dim=64, df_dim=96, num_layers=4)
  sampler = SamplerConfig(data_size=50000)

  def disc_rows(**kwargs):
    config = GANConfig(model=model, sampler=sampler, num_gen=3, num_mcmc=2, batch_size=8, **kwargs)
    return {p.step: p.batch for p in flops.iteration_passes(config) if p.network == "discriminator"}

  assert disc_rows() == {"discriminator_step": 8 + 8 + 6 * 8, "generator_step": 6 * 8}
  assert disc_rows(feature_matching=1.0)["generator_step"] == 8 + 6 * 8
  assert disc_rows(pairing="chain") == {"discriminator_step": 8 + 8 + 3 * 8, "generator_step": 3 * 8}
  # The 2017 structure does not depend on our options.
  plain = GANConfig(model=model, sampler=sampler, num_gen=3, num_mcmc=2, batch_size=8)
  matched = GANConfig(model=model, sampler=sampler, num_gen=3, num_mcmc=2, batch_size=8, feature_matching=1.0)
  assert flops.reference_iteration_flops(plain) == flops.reference_iteration_flops(matched)
