"""The conv gradient formulations, and the ones the environment forces; no TensorFlow needed.

The programs read `BGAN_TF_CONV_INPUT_GRADIENT` and
`BGAN_TF_CONV_FILTER_GRADIENT` here before TensorFlow loads, so a bad value
fails in one line at once. `bgan_tf.conv_gradients` implements the
formulations; `bgan_tf.kernel_choice` measures them.
"""

import os

from bgan_tf.errors import ConfigError

__all__ = [
    "ENV_FILTER_FORMULATION", "ENV_FORMULATION", "FILTER_FORMULATIONS", "FORMULATIONS", "GRADIENTS",
    "forced_formulation"
]

ENV_FORMULATION = "BGAN_TF_CONV_INPUT_GRADIENT"
FORMULATIONS = ("stock", "subpixel", "phases", "matmul", "nchw")
ENV_FILTER_FORMULATION = "BGAN_TF_CONV_FILTER_GRADIENT"
FILTER_FORMULATIONS = ("stock", "matmul")
# Which gradient of a convolution: (the variable that forces its formulation, the formulations).
GRADIENTS = {"input": (ENV_FORMULATION, FORMULATIONS), "filter": (ENV_FILTER_FORMULATION, FILTER_FORMULATIONS)}


def forced_formulation(gradient="input"):
  """The formulation the environment forces for a conv's `gradient` ("input" or "filter"), or None to measure.

  Raises:
    ConfigError: the variable names no formulation (the programs check it before any work).
  """
  variable, formulations = GRADIENTS[gradient]
  value = os.environ.get(variable, "measure").strip().lower()
  if value in ("", "measure"):
    return None
  if value not in formulations:
    raise ConfigError(f"{variable}={value!r}: must be one of {', '.join(formulations + ('measure',))}")
  return value
