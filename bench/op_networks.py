"""Which network an op of a traced training step belongs to, from its name.

A profile's op names carry the name scopes they were traced in. Ops of a
model called as a whole carry its name ("generator_5_1/body_1/..."). The
discriminators are also run layer by layer (their segment batch norms take
per-segment statistics), and those ops carry only the layer's scope
("conv2d_2_1/...", "segment_batch_norm_1/..."); the custom conv gradients
carry "gradient_tape/" and their layer's scope (`bgan_tf.conv_layers`). So an
op is attributed by the first part of its name that is a model's scope, an
update's or prior's scope, or the scope of a layer that belongs to one network
only (a layer's scope is its name, with "_<n>" appended when the same scope
opens again).
"""

import collections
import re

__all__ = ["by_network", "layer_networks", "network_of"]

# Scopes of whole models and of the training step's own blocks, tried on each part of a name.
_SCOPES = (
    (re.compile(r"generator_\d+(_\d+)*"), "generators"),
    (re.compile(r"discriminator_\d+(_\d+)*"), "discriminators"),
    (re.compile(r"classifier(_\d+)*"), "classifier"),
    (re.compile(r"sghmc\w*"), "sampler updates"),
    (re.compile(r"adam\w*"), "adam updates"),
    (re.compile(r"Normal(_\d+)*"), "priors"),  # TensorFlow Probability's Normal.log_prob of the weights
)
_REPEATED_SCOPE = re.compile(r"_\d+$")


def layer_networks(gan):
  """{layer name: network label} of every layer that belongs to one network of `gan` only.

  Names shared across networks (a generator's and a discriminator's "body")
  are left out: they cannot tell the two apart.
  """
  networks = [("generators", gan.generators), ("discriminators", gan.discriminators)]
  if gan.classifier is not None:
    networks.append(("classifier", [gan.classifier]))
  owners = collections.defaultdict(set)
  for label, models in networks:
    for model in models:
      stack = list(model.layers)
      while stack:
        layer = stack.pop()
        owners[layer.name].add(label)
        stack.extend(getattr(layer, "layers", []))  # a Sequential's or a nested model's own layers
  return {name: labels.pop() for name, labels in owners.items() if len(labels) == 1}


def _layer_network(part, layers):
  """The network of a layer scope `part` ("conv2d_2" or its reopening "conv2d_2_1"), or None if unclear."""
  labels = {layers[name] for name in (part, _REPEATED_SCOPE.sub("", part)) if name in layers}
  return labels.pop() if len(labels) == 1 else None


def network_of(op_name, layers):
  """The network label of a traced op's name (see the module docstring), given `layer_networks`.

  Gradient ops carry the forward op's scope after "gradient_tape/", so they
  count for the network whose forward op they differentiate. An op with no
  such part is "backward (unattributed)" if it is a gradient op, else "other".
  """
  for part in op_name.split("/"):
    for scope, label in _SCOPES:
      if scope.fullmatch(part):
        return label
    label = _layer_network(part, layers)
    if label is not None:
      return label
  if "gradient_tape" in op_name or "gradients" in op_name:
    return "backward (unattributed)"
  return "other"


def by_network(times, layers):
  """Seconds by network label, from a trace's `op_rates.op_times`."""
  seconds = collections.Counter()
  for op_name, events in times.items():
    seconds[network_of(op_name, layers)] += sum(s for _, s in events)
  return seconds
