"""Floating-point operations of the Bayesian GAN, counted from layer shapes.

A multiply-add counts as 2 FLOPs. Only the layers that dominate are counted:
convolutions, transposed convolutions and dense layers (biases, activations,
batch norm and the sampler's updates are elementwise and left out).

Every weight layer is described by a `ConvGeometry`: the stride-s 'same'
convolution it is (a transposed convolution runs one backwards; a dense layer
is a 1x1 convolution on a 1x1 map). A training step runs three kinds of
kernel on each layer, each costing one forward pass's FLOPs:

* the forward pass;
* the input gradient, needed by every layer except a network's first when
  nothing upstream is differentiated (the discriminator step does not
  differentiate the data or the fakes);
* the filter (weight) gradient, needed only for the networks being updated.

`iteration_passes` lists the kernels of one training iteration as
`BayesianGAN` runs it, with the TensorFlow op that computes each, so a
benchmark can time them one by one; `iteration_flops` sums them by step, and
`reference_iteration_flops` applies the same counts to the structure of the
2017 code, which recomputed networks for every generator-discriminator pair.
"""

import collections
import dataclasses
import math
from typing import Dict, List, NamedTuple, Tuple

from bgan_tf.config import GANConfig, ModelConfig
from bgan_tf.models import conv_specs

__all__ = [
    "ConvGeometry",
    "Layer",
    "Pass",
    "discriminator_forward_flops",
    "discriminator_layers",
    "generator_forward_flops",
    "generator_layers",
    "iteration_flops",
    "iteration_passes",
    "reference_iteration_flops",
]

# The TensorFlow kernel that computes each pass of each kind of layer. A
# transposed convolution's forward pass is its geometry's input gradient.
_OPS = {
    "conv2d": {
        "forward": "conv2d", "input_grad": "conv2d_backprop_input", "filter_grad": "conv2d_backprop_filter"
    },
    "conv2d_transpose": {
        "forward": "conv2d_backprop_input", "input_grad": "conv2d", "filter_grad": "conv2d_backprop_filter"
    },
    "dense": {"forward": "matmul", "input_grad": "matmul", "filter_grad": "matmul"},
}


class ConvGeometry(NamedTuple):
  """A 'same' convolution from [input_hw, input_channels] to [output_hw, output_channels]."""

  input_hw: Tuple[int, int]
  input_channels: int
  output_hw: Tuple[int, int]
  output_channels: int
  kernel: int = 1
  stride: int = 1

  @property
  def flops(self) -> float:
    """FLOPs of one pass on one example: 2 * output size * kernel taps * input channels."""
    return 2.0 * self.output_hw[0] * self.output_hw[1] * self.output_channels * self.kernel**2 * self.input_channels


class Layer(NamedTuple):
  """One weight layer: `kind` is "conv2d", "conv2d_transpose" or "dense"."""

  name: str
  kind: str
  geometry: ConvGeometry


class Pass(NamedTuple):
  """One kernel of a training iteration, run `count` times on `batch` examples.

  `op` is the TensorFlow kernel that computes it: "conv2d",
  "conv2d_backprop_input", "conv2d_backprop_filter" or "matmul".
  """

  step: str
  network: str
  layer: Layer
  kind: str  # "forward", "input_grad" or "filter_grad"
  op: str
  batch: int
  count: int

  @property
  def flops(self) -> float:
    return self.count * self.batch * self.layer.geometry.flops


def _dense(name, inputs, outputs):
  return Layer(name, "dense", ConvGeometry((1, 1), inputs, (1, 1), outputs))


def discriminator_layers(config: ModelConfig) -> List[Layer]:
  """The discriminator's (and the classifier's) weight layers, input first."""
  if config.arch == "mlp":
    widths = [math.prod(config.example_shape), *config.mlp_hidden, config.num_classes]
    return [_dense(f"dense{i + 1}", a, b) for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))]
  height, width, channels = config.example_shape
  specs = conv_specs((height, width), config.df_dim, config.num_layers)
  layers, in_channels = [], channels
  for i, spec in enumerate(specs):
    layers.append(
        Layer(f"conv{i + 1}", "conv2d",
              ConvGeometry(spec.input_hw, in_channels, spec.output_hw, spec.channels, spec.kernel, spec.stride)))
    in_channels = spec.channels
  flat = specs[-1].output_hw[0] * specs[-1].output_hw[1] * specs[-1].channels
  feature_dim = specs[-1].channels
  return layers + [_dense("features", flat, feature_dim), _dense("logits", feature_dim, config.num_classes)]


def generator_layers(config: ModelConfig) -> List[Layer]:
  """The generator's weight layers, z first."""
  if config.arch == "mlp":
    widths = [config.z_dim, *config.mlp_hidden, math.prod(config.example_shape)]
    return [_dense(f"dense{i + 1}", a, b) for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))]
  height, width, channels = config.example_shape
  specs = conv_specs((height, width), config.gf_dim, config.num_layers)
  coarse = specs[-1].output_hw[0] * specs[-1].output_hw[1] * specs[-1].channels
  layers = [_dense("project", config.z_dim, coarse)]
  for index in reversed(range(len(specs))):
    spec = specs[index]
    # The transposed conv runs the discriminator-shaped conv from the
    # finer map (the previous layer's channels, the image's for the last
    # layer) to the coarser one backwards.
    finer_channels = channels if index == 0 else specs[index - 1].channels
    layers.append(
        Layer(f"deconv{len(specs) - index}", "conv2d_transpose",
              ConvGeometry(spec.input_hw, finer_channels, spec.output_hw, spec.channels, spec.kernel,
                           spec.stride)))
  return layers


def _forward_flops(layers) -> float:
  return sum(layer.geometry.flops for layer in layers)


def discriminator_forward_flops(config: ModelConfig) -> float:
  """FLOPs of one discriminator forward pass on one example."""
  return _forward_flops(discriminator_layers(config))


def generator_forward_flops(config: ModelConfig) -> float:
  """FLOPs of one generator forward pass on one z."""
  return _forward_flops(generator_layers(config))


def _network_passes(step, network, layers, batch, count, update_weights, input_gradient):
  """Forward, then (if anything is differentiated) backward kernels of one network.

  Args:
    update_weights: the filter gradients are needed (the network is trained).
    input_gradient: the gradient reaches the network's input (its first
      layer's input gradient is needed too).
  """
  passes = []

  def add(layer, kind):
    passes.append(Pass(step, network, layer, kind, _OPS[layer.kind][kind], batch, count))

  for layer in layers:
    add(layer, "forward")
  if update_weights or input_gradient:
    for index, layer in reversed(list(enumerate(layers))):
      if update_weights:
        add(layer, "filter_grad")
      if index > 0 or input_gradient:
        add(layer, "input_grad")
  return passes


def iteration_passes(config: GANConfig, labeled_batch_size=None) -> List[Pass]:
  """The FLOP-bearing kernels of one training iteration as `BayesianGAN` runs it.

  * discriminator step: every generator's fakes (forward only); each
    discriminator forward and backward (filter gradients, no data gradient)
    on [real, labeled, its paired generators' fakes];
  * generator step: every generator forward and backward; each discriminator
    forward and input gradients (down to its input) on [the real batch, with
    feature matching; the fakes it judges]: the input-gradient kernels run
    over the whole concatenated batch;
  * supervised step (semi-supervised only): the classifier forward and
    backward on the labeled batch.

  Batch norm, losses and the optimizer updates carry no convolution or
  matmul FLOPs and are not counted.
  """
  g_layers, d_layers = generator_layers(config.model), discriminator_layers(config.model)
  batch = config.batch_size
  labeled = (labeled_batch_size or batch) if config.model.semi_supervised else 0
  num_g, num_d = config.num_generators, config.num_discriminators
  if config.ml_ensemble:
    paired = 1
  elif config.pairing == "chain":
    paired = config.num_gen
  else:
    paired = num_g
  real_in_generator_step = batch if config.feature_matching > 0 else 0
  passes = (_network_passes("discriminator_step", "generator", g_layers, batch, num_g, False, False) +
            _network_passes("discriminator_step", "discriminator", d_layers, batch + labeled + paired * batch,
                            num_d, True, False) +
            _network_passes("generator_step", "generator", g_layers, batch, num_g, True, False) +
            _network_passes("generator_step", "discriminator", d_layers, real_in_generator_step + paired * batch,
                            num_d, False, True))
  if labeled:
    passes += _network_passes("supervised_step", "classifier", d_layers, labeled, 1, True, False)
  return passes


def _totals(by_step) -> Dict[str, float]:
  steps = ("discriminator_step", "generator_step", "supervised_step")
  totals = {step: float(by_step.get(step, 0.0)) for step in steps}
  totals["total"] = sum(totals.values())
  return totals


def iteration_flops(config: GANConfig, labeled_batch_size=None) -> Dict[str, float]:
  """FLOPs of one training iteration as `BayesianGAN` runs it.

  Returns:
    Dict with `discriminator_step`, `generator_step`, `supervised_step` and
    `total`.
  """
  by_step = collections.Counter()
  for p in iteration_passes(config, labeled_batch_size):
    by_step[p.step] += p.flops
  return _totals(by_step)


def reference_iteration_flops(config: GANConfig, labeled_batch_size=None) -> Dict[str, float]:
  """FLOPs of the same iteration with the 2017 code's structure.

  The 2017 graph ran every generator again for every discriminator in the
  discriminator step, and in the generator step ran, for every pair, the
  generator (forward + backward) and the discriminator on the fakes and again
  on the real batch (for the feature-matching term).
  """
  # Our structure without feature matching, every pair: the 2017 work is that plus its repeats.
  ours = iteration_flops(dataclasses.replace(config, feature_matching=0.0, pairing="all"), labeled_batch_size)
  model, batch = config.model, config.batch_size
  num_g, num_d = config.num_generators, config.num_discriminators
  g_layers = generator_layers(model)
  g_forward = batch * _forward_flops(g_layers)
  g_trained = sum(p.flops for p in _network_passes("", "", g_layers, batch, 1, True, False))
  disc_step = ours["discriminator_step"] + (num_d - 1) * num_g * g_forward
  gen_step = (ours["generator_step"] + (num_d - 1) * num_g * g_trained +
              num_g * num_d * batch * discriminator_forward_flops(model))
  return _totals(
      {"discriminator_step": disc_step, "generator_step": gen_step, "supervised_step": ours["supervised_step"]})
