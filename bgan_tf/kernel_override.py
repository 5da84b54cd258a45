"""The conv input-gradient formulations, and the one the environment forces; no TensorFlow needed.

The programs read `BGAN_TF_CONV_INPUT_GRADIENT` here before TensorFlow
loads, so a bad value fails in one line at once. `bgan_tf.conv_gradients`
implements the formulations; `bgan_tf.kernel_choice` measures them.
"""

import os

from bgan_tf.errors import ConfigError

__all__ = ["ENV_FORMULATION", "FORMULATIONS", "forced_formulation"]

ENV_FORMULATION = "BGAN_TF_CONV_INPUT_GRADIENT"
FORMULATIONS = ("stock", "subpixel", "phases", "matmul")


def forced_formulation():
  """The formulation `BGAN_TF_CONV_INPUT_GRADIENT` forces, or None to measure.

  Raises:
    ConfigError: the variable names no formulation (the programs check it before any work).
  """
  value = os.environ.get(ENV_FORMULATION, "measure").strip().lower()
  if value in ("", "measure"):
    return None
  if value not in FORMULATIONS:
    raise ConfigError(f"{ENV_FORMULATION}={value!r}: must be one of {', '.join(FORMULATIONS + ('measure',))}")
  return value
