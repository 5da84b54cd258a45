"""Floating-point operations of the Bayesian GAN, counted from layer shapes.

A multiply-add counts as 2 FLOPs. Only the layers that dominate are counted:
convolutions, transposed convolutions and dense layers (biases, activations
and batch norm are elementwise, well under 1% here). A backward pass costs
about twice its forward pass (the input gradient and the weight gradient,
each as large as the forward); where only one of them is needed it costs one
forward. `iteration_flops` applies this to the three training steps, and
`reference_iteration_flops` to the structure of the 2017 code, which
recomputed networks for every generator-discriminator pair.
"""

import math
from typing import Dict

from bgan_tf.config import GANConfig, ModelConfig
from bgan_tf.models import conv_specs

__all__ = [
    "discriminator_forward_flops",
    "generator_forward_flops",
    "iteration_flops",
    "reference_iteration_flops",
]


def discriminator_forward_flops(config: ModelConfig) -> float:
  """FLOPs of one discriminator forward pass on one example."""
  if config.arch == "mlp":
    widths = [math.prod(config.example_shape), *config.mlp_hidden, config.num_classes]
    return float(sum(2 * a * b for a, b in zip(widths[:-1], widths[1:])))
  height, width, channels = config.example_shape
  flops, in_channels = 0.0, channels
  specs = conv_specs((height, width), config.df_dim, config.num_layers)
  for spec in specs:
    flops += 2.0 * spec.output_hw[0] * spec.output_hw[1] * spec.channels * spec.kernel**2 * in_channels
    in_channels = spec.channels
  flat = specs[-1].output_hw[0] * specs[-1].output_hw[1] * specs[-1].channels
  feature_dim = specs[-1].channels
  return flops + 2.0 * flat * feature_dim + 2.0 * feature_dim * config.num_classes


def generator_forward_flops(config: ModelConfig) -> float:
  """FLOPs of one generator forward pass on one z."""
  if config.arch == "mlp":
    widths = [config.z_dim, *config.mlp_hidden, math.prod(config.example_shape)]
    return float(sum(2 * a * b for a, b in zip(widths[:-1], widths[1:])))
  height, width, channels = config.example_shape
  specs = conv_specs((height, width), config.gf_dim, config.num_layers)
  coarse = specs[-1].output_hw[0] * specs[-1].output_hw[1] * specs[-1].channels
  flops = 2.0 * config.z_dim * coarse
  for index, spec in enumerate(specs):
    # The transposed conv maps output_hw x channels back to input_hw x the
    # previous layer's channels (the image's channels for the first): each
    # input element is multiplied into a k x k x out_channels patch.
    out_channels = channels if index == 0 else specs[index - 1].channels
    flops += 2.0 * spec.output_hw[0] * spec.output_hw[1] * spec.channels * spec.kernel**2 * out_channels
  return flops


def iteration_flops(config: GANConfig, labeled_batch_size=None) -> Dict[str, float]:
  """FLOPs of one training iteration as `BayesianGAN` runs it.

  Returns:
    Dict with `discriminator_step`, `generator_step`, `supervised_step` and
    `total`.
  """
  g, d = generator_forward_flops(config.model), discriminator_forward_flops(config.model)
  batch = config.batch_size
  labeled = (labeled_batch_size or batch) if config.model.semi_supervised else 0
  num_g, num_d = config.num_generators, config.num_discriminators
  paired = 1 if config.ml_ensemble else num_g
  # D step: fakes once (forward only); each D forward + backward (3x) on
  # [real, labeled, its paired generators' fakes].
  disc_step = num_g * batch * g + num_d * (batch + labeled + paired * batch) * 3 * d
  # G step: each G forward + backward; each D forward + input gradient (2x) on
  # the fakes it judges.
  gen_step = num_g * batch * 3 * g + num_d * paired * batch * 2 * d
  sup_step = labeled * 3 * d
  return {"discriminator_step": disc_step, "generator_step": gen_step, "supervised_step": sup_step,
          "total": disc_step + gen_step + sup_step}


def reference_iteration_flops(config: GANConfig, labeled_batch_size=None) -> Dict[str, float]:
  """FLOPs of the same iteration with the 2017 code's structure.

  The 2017 graph ran every generator again for every discriminator in the
  discriminator step, and in the generator step ran, for every pair, the
  generator (forward + backward) and the discriminator on the fakes and again
  on the real batch (for the feature-matching term).
  """
  ours = iteration_flops(config, labeled_batch_size)
  g, d = generator_forward_flops(config.model), discriminator_forward_flops(config.model)
  batch = config.batch_size
  num_g, num_d = config.num_generators, config.num_discriminators
  disc_step = ours["discriminator_step"] + (num_d - 1) * num_g * batch * g
  gen_step = ours["generator_step"] + (num_d - 1) * num_g * batch * 3 * g + num_g * num_d * batch * d
  return {"discriminator_step": disc_step, "generator_step": gen_step,
          "supervised_step": ours["supervised_step"],
          "total": disc_step + gen_step + ours["supervised_step"]}
