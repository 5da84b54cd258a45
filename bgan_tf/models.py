"""Generator and discriminator networks, sized from a `ModelConfig`.

The convolutional (DCGAN-family) networks are sized the way the 2017 Bayesian
GAN code sized them:

* `num_layers` convolutions; up to four of them stride 2 ("poolings"), spread
  evenly over the layers, the rest stride 1;
* the first kernel is 5x5 and each stride-2 layer shrinks the next kernel to
  the odd size at or above ceil(k / 2) (5 -> 3 -> 3 ...);
* channels start at `df_dim` (`gf_dim` for the generator), double at every
  stride-2 layer and are capped at 512;
* the generator mirrors the discriminator: a dense layer to the coarsest
  feature map, then transposed convolutions back up to exactly `example_shape`
  (batch norm + ReLU between layers, tanh at the output);
* the discriminator uses leaky ReLUs and has a dense feature layer before the
  output layer, whose K logits are read with an implicit fake class
  (`losses.log_real_odds`).

The discriminator normalises every hidden layer but the first with
`SegmentBatchNorm`, the 2017 batch norm without scale or shift
(`bgan_semi.py:396-401`, `dcgan_ops.py:30-46`). In training each *segment* of
its input (the real batch, the labeled batch, each generator's fakes) is
normalised with its own statistics, exactly as the 2017 code's separate
discriminator calls were, so one concatenated pass equals separate passes; at
inference the moving averages are used. `disc_norm="none"` removes it, and then
every example is scored independently.
"""

import math
from typing import Iterator, List, NamedTuple, Tuple

import keras
import tensorflow as tf

from bgan_tf import conv_layers
from bgan_tf.config import ModelConfig
from bgan_tf.seeds import child_seeds

__all__ = [
    "Classifier2017",
    "ConvSpec",
    "Discriminator",
    "Generator",
    "LeakyReLU",
    "SegmentBatchNorm",
    "conv_specs",
    "make_classifier",
    "make_discriminator",
    "make_generator",
]

MAX_CHANNELS = 512
MAX_POOLINGS = 4
FIRST_KERNEL = 5
INIT_STDDEV = 0.02  # DCGAN initialisation, as the 2017 code.
# The 2017 batch norm: TF1 contrib batch_norm with decay 0.9, epsilon 1e-5
# (dcgan_ops.py:32).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


class ConvSpec(NamedTuple):
  """Sizes of one discriminator convolution (the generator runs it backwards)."""

  kernel: int
  stride: int
  channels: int
  input_hw: Tuple[int, int]
  output_hw: Tuple[int, int]


def _strides(num_layers: int) -> List[int]:
  if num_layers <= MAX_POOLINGS:
    return [2] * num_layers
  interval = num_layers // MAX_POOLINGS
  return [2 if (i % interval == 0 and i // interval < MAX_POOLINGS) else 1 for i in range(num_layers)]


def _next_odd_at_least(value: int) -> int:
  return value if value % 2 == 1 else value + 1


def conv_specs(image_hw: Tuple[int, int], base_channels: int, num_layers: int) -> List[ConvSpec]:
  """Layer-by-layer sizes of the discriminator's convolutions.

  The generator uses the same list read backwards (with its own base channel
  count), so its transposed convolutions retrace the discriminator's sizes.

  Args:
    image_hw: (height, width) of the input images.
    base_channels: channels of the first layer (`df_dim` or `gf_dim`).
    num_layers: number of convolutional layers.

  Returns:
    A list of `num_layers` `ConvSpec`s, first layer first.
  """
  specs = []
  kernel, channels, hw = FIRST_KERNEL, base_channels, tuple(image_hw)
  for stride in _strides(num_layers):
    out_hw = tuple(int(math.ceil(s / stride)) for s in hw)
    specs.append(ConvSpec(kernel, stride, min(channels, MAX_CHANNELS), hw, out_hw))
    kernel = _next_odd_at_least(int(math.ceil(kernel / stride)))
    channels = channels * stride
    hw = out_hw
  return specs


# A model's weight initializers are its seed's children (at most this many).
_MAX_INITIALIZERS = 1009


def _seed_stream(seed) -> Iterator:
  """The model seed's children (`bgan_tf.seeds`): one per weight initializer."""
  return child_seeds(seed, _MAX_INITIALIZERS)


class LeakyReLU(keras.layers.Layer):
  """max(x, alpha * x), whose gradient is computed from the output, not the input.

  For alpha > 0 the output has the sign of the input, so the gradient
  (1 where x > 0, alpha elsewhere) is the same. Reading the output instead
  of the input leaves the preceding BiasAdd with one consumer, which lets
  TensorFlow's graph optimizer fuse conv + bias + leaky ReLU into one oneDNN
  kernel. With the stock layer the backward pass also reads the BiasAdd,
  and TF 2.21's remapper aborts on that graph ("remapper failed: ...
  LeakyReluGrad exist for missing node ... BiasAdd"), printing an error and
  dropping all of its fusions for that step's graph.

  Args:
    negative_slope: alpha, in (0, 1).
  """

  def __init__(self, negative_slope=0.2, **kwargs):
    super().__init__(**kwargs)
    if not 0.0 < negative_slope < 1.0:
      raise ValueError(f"negative_slope must be in (0, 1), got {negative_slope}")
    self.negative_slope = float(negative_slope)

  def call(self, inputs):
    alpha = self.negative_slope

    @tf.custom_gradient
    def leaky_relu(x):
      y = tf.nn.leaky_relu(x, alpha)

      def gradient(dy):
        return tf.raw_ops.LeakyReluGrad(gradients=dy, features=y, alpha=alpha)

      return y, gradient

    return leaky_relu(inputs)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), "negative_slope": self.negative_slope}


def _kernel_init(seeds):
  return keras.initializers.RandomNormal(stddev=INIT_STDDEV, seed=next(seeds))


class Generator(keras.Model):
  """Maps noise z [batch, z_dim] to examples [batch, *example_shape] (float32).

  Args:
    config: the `ModelConfig`; `arch` chooses the DCGAN or MLP body.
    seed: integer seed of the weight initializers, or None.
    precision: a Keras dtype policy name for the hidden layers ("float32",
      "mixed_bfloat16", "mixed_float16"); the output is float32 regardless.
    synchronized_batch_norm: batch statistics over the global batch when
      training under a multi-replica `tf.distribute` strategy, so replicas
      compute what one device would.
  """

  def __init__(self, config: ModelConfig, seed=None, precision="float32", synchronized_batch_norm=False, **kwargs):
    super().__init__(**kwargs)
    self.config = config
    seeds = _seed_stream(seed)
    layers = []

    def norm_and_activation():
      norm = [keras.layers.BatchNormalization()] if config.gen_norm == "batch" else []
      return norm + [keras.layers.ReLU() if config.gen_activation == "relu" else LeakyReLU(0.2)]

    if config.arch == "mlp":
      for width in config.mlp_hidden:
        layers += [keras.layers.Dense(width, kernel_initializer=_kernel_init(seeds))] + norm_and_activation()
      layers += [
          keras.layers.Dense(math.prod(config.example_shape), kernel_initializer=_kernel_init(seeds)),
          keras.layers.Reshape(config.example_shape)
      ]
    else:
      height, width, num_channels = config.example_shape
      specs = conv_specs((height, width), config.gf_dim, config.num_layers)
      coarse_hw, coarse_channels = specs[-1].output_hw, specs[-1].channels
      layers += [
          keras.layers.Dense(coarse_hw[0] * coarse_hw[1] * coarse_channels, kernel_initializer=_kernel_init(seeds))
      ] + norm_and_activation()
      layers.append(keras.layers.Reshape((coarse_hw[0], coarse_hw[1], coarse_channels)))
      for index in reversed(range(len(specs))):
        spec = specs[index]
        last = index == 0
        out_channels = num_channels if last else specs[index - 1].channels
        layers.append(
            conv_layers.Conv2DTranspose(out_channels, spec.kernel, strides=spec.stride, padding="same",
                                        kernel_initializer=_kernel_init(seeds)))
        # A stride-2 'same' transposed conv doubles the size; crop the extra
        # row/column so odd sizes come out exact (e.g. 4 -> 8 -> 7).
        excess = (spec.output_hw[0] * spec.stride - spec.input_hw[0],
                  spec.output_hw[1] * spec.stride - spec.input_hw[1])
        if any(excess):
          layers.append(keras.layers.Cropping2D(((0, excess[0]), (0, excess[1]))))
        if not last:
          layers += norm_and_activation()
    # The output in float32 whatever the policy: losses and samples need it.
    _set_layer_options(layers, precision, synchronized_batch_norm)
    layers.append(keras.layers.Activation(config.output_activation, dtype="float32"))
    # A Sequential, not a Python list: tf.train.Checkpoint tracks a Keras 3
    # model's sub-layers only through attributes that are layers themselves.
    self.body = keras.Sequential(layers, name="body")

  def call(self, z, training=False):
    return self.body(z, training=training)


class SegmentBatchNorm(keras.layers.Layer):
  """Batch norm without scale or shift whose batch holds several segments.

  Training normalises each segment s of the batch with its own moments over
  the examples of s and every non-channel axis:

    y_i = (x_i - mean_s) / sqrt(var_s + epsilon),   i in segment s,

  which is what separate batch-norm passes over the segments compute (the 2017
  discriminator was called once per input: real, labeled, each generator's
  fakes). The moving averages follow segment 0 only, the real unlabeled batch
  in the training steps, because inference sees real data: a departure from
  the 2017 code, whose shared moving averages also absorbed the fakes'
  statistics. At inference y = (x - moving_mean) / sqrt(moving_var + epsilon).

  Under a multi-replica `tf.distribute` strategy the per-segment moments are
  all-reduced, so every replica normalises with the global batch's moments
  and computes what one device would.

  Args:
    momentum: m in moving <- m * moving + (1 - m) * batch moment.
    epsilon: added to the variance.
  """

  def __init__(self, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, **kwargs):
    super().__init__(**kwargs)
    self.momentum = float(momentum)
    self.epsilon = float(epsilon)

  def build(self, input_shape):
    channels = (int(input_shape[-1]),)
    self.moving_mean = self.add_weight(shape=channels, initializer="zeros", trainable=False, autocast=False,
                                       name="moving_mean")
    self.moving_variance = self.add_weight(shape=channels, initializer="ones", trainable=False, autocast=False,
                                           name="moving_variance")

  def call(self, inputs, training=False, segment_sizes=None, update_moving_stats=True):
    """Normalises `inputs` `[n, ..., C]`.

    Args:
      inputs: the batch; float32 statistics whatever its dtype.
      training: batch statistics per segment (True) or moving averages.
      segment_sizes: sizes of the consecutive segments that make up the batch
        (ints or scalar tensors summing to n); None: one segment.
      update_moving_stats: in training, move the averages toward segment 0.
    """
    x = tf.cast(inputs, tf.float32)
    if not training:
      y = (x - self.moving_mean) * tf.math.rsqrt(self.moving_variance + self.epsilon)
      return tf.cast(y, inputs.dtype)
    n = tf.shape(x)[0]
    if segment_sizes is None:
      segment_sizes = [n]
    num_segments = len(segment_sizes)
    segment_ids = tf.repeat(tf.range(num_segments), tf.stack([tf.cast(s, tf.int32) for s in segment_sizes]))
    spatial_axes = list(range(1, len(inputs.shape) - 1))
    per_example = tf.cast(tf.reduce_prod(tf.shape(x)[1:-1]), tf.float32)
    counts = tf.math.unsorted_segment_sum(tf.ones([n]), segment_ids, num_segments) * per_example
    counts = self._all_reduce(counts)
    sums = tf.math.unsorted_segment_sum(tf.reduce_sum(x, axis=spatial_axes), segment_ids, num_segments)
    means = self._all_reduce(sums) / counts[:, None]
    # Two passes (mean, then squared deviations): no cancellation in E[x^2] - E[x]^2.
    expand = [slice(None)] + [None] * len(spatial_axes) + [slice(None)]
    centered = x - tf.gather(means, segment_ids)[tuple(expand)]
    squares = tf.math.unsorted_segment_sum(tf.reduce_sum(tf.square(centered), axis=spatial_axes), segment_ids,
                                           num_segments)
    variances = self._all_reduce(squares) / counts[:, None]
    y = centered * tf.gather(tf.math.rsqrt(variances + self.epsilon), segment_ids)[tuple(expand)]
    if update_moving_stats:
      decay = 1.0 - self.momentum
      self.moving_mean.assign(self.moving_mean - decay * (self.moving_mean - tf.stop_gradient(means[0])))
      self.moving_variance.assign(self.moving_variance - decay *
                                  (self.moving_variance - tf.stop_gradient(variances[0])))
    return tf.cast(y, inputs.dtype)

  @staticmethod
  def _all_reduce(value):
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
      return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}


class Discriminator(keras.Model):
  """Maps examples [batch, *example_shape] to K float32 logits [batch, K].

  `logits_and_features(x)` also returns the penultimate (feature) layer, for
  the feature-matching loss. The same architecture serves as the
  supervised-only classifier under `ModelConfig.classifier` "discriminator"
  (the `bgan_tf` recipe's); `Classifier2017` is the 2017 code's.

  Calls take `training` and, in training, `segment_sizes` (the consecutive
  segments of the batch that `SegmentBatchNorm` normalises separately) and
  `update_moving_stats`.

  Args:
    config: the `ModelConfig`; `disc_norm` chooses the normalisation.
    seed: integer seed of the weight initializers, or None.
    precision: a Keras dtype policy name for the hidden layers; the logits
      are float32 regardless.
  """

  def __init__(self, config: ModelConfig, seed=None, precision="float32", **kwargs):
    super().__init__(**kwargs)
    self.config = config
    seeds = _seed_stream(seed)
    normalise = config.disc_norm == "batch"
    layers = []
    if config.arch == "mlp":
      layers.append(keras.layers.Flatten())
      for index, width in enumerate(config.mlp_hidden[:-1]):
        layers.append(keras.layers.Dense(width, kernel_initializer=_kernel_init(seeds)))
        if normalise and index > 0:
          layers.append(SegmentBatchNorm())
        layers.append(LeakyReLU(0.2))
      feature_dim = config.mlp_hidden[-1]
    else:
      height, width, _ = config.example_shape
      specs = conv_specs((height, width), config.df_dim, config.num_layers)
      for index, spec in enumerate(specs):
        layers.append(
            conv_layers.Conv2D(spec.channels, spec.kernel, strides=spec.stride, padding="same",
                               kernel_initializer=_kernel_init(seeds)))
        if normalise and index > 0:  # every conv but the first, as in 2017
          layers.append(SegmentBatchNorm())
        layers.append(LeakyReLU(0.2))
      layers.append(keras.layers.Flatten())
      feature_dim = specs[-1].channels
    _set_layer_options(layers, precision, False)
    self.body = keras.Sequential(layers, name="body")  # tracked; see Generator
    self.feature_layer = keras.layers.Dense(feature_dim, kernel_initializer=_kernel_init(seeds), dtype=precision)
    self.feature_activation = LeakyReLU(0.2, dtype=precision)
    self.output_layer = keras.layers.Dense(config.num_classes, kernel_initializer=_kernel_init(seeds),
                                           dtype="float32")

  def features(self, x, training=False, segment_sizes=None, update_moving_stats=True):
    """The penultimate layer's activations `[batch, feature_dim]` (hidden dtype)."""
    if segment_sizes is None and update_moving_stats:
      h = self.body(x, training=training)  # the batch norms' defaults: one segment
    else:
      h = x
      for layer in self.body.layers:
        if isinstance(layer, SegmentBatchNorm):
          h = layer(h, training=training, segment_sizes=segment_sizes, update_moving_stats=update_moving_stats)
        else:
          h = layer(h)
    return self.feature_activation(self.feature_layer(h))

  def logits_and_features(self, x, training=False, segment_sizes=None, update_moving_stats=True):
    """(logits `[batch, K]` float32, features `[batch, feature_dim]`) in one pass."""
    features = self.features(x, training=training, segment_sizes=segment_sizes,
                             update_moving_stats=update_moving_stats)
    return self.output_layer(features), features

  def call(self, x, training=False, segment_sizes=None, update_moving_stats=True):
    return self.logits_and_features(x, training=training, segment_sizes=segment_sizes,
                                    update_moving_stats=update_moving_stats)[0]


class Classifier2017(keras.Model):
  """The 2017 code's supervised-only classifier: `[batch, *example_shape]` to K float32 logits.

  `bgan_semi.py:362-379`: four 5x5 convolutions of stride 2 with df, 2 df,
  4 df and 8 df channels whatever the GAN's number of layers, batch norm
  without scale or shift after all but the first (`dcgan_ops.py:30-46`:
  momentum 0.9, epsilon 1e-5), leaky ReLU 0.2, then one linear layer to the
  logits. Its convolutions start from a normal truncated at two standard
  deviations of 0.02 (`dcgan_ops.py:64-70`), its linear layer from N(0,
  0.02^2) (`dcgan_ops.py:124-131`).

  Two departures: the 2017 layer also has a logit for the fake class, which
  no label ever names (it only adds to the softmax's normaliser); and the
  2017 code scored the classifier with each test batch's own statistics
  (`bgan_semi.py:358` keeps the batch norm's `train=True`), where this one
  evaluates with the moving averages, so a prediction does not depend on the
  rest of its batch.

  Args:
    config: the `ModelConfig` (`example_shape`, `num_classes`, `df_dim`).
    seed: integer seed of the weight initializers, or None.
    precision: a Keras dtype policy name for the hidden layers; the logits
      are float32 regardless.
  """

  def __init__(self, config: ModelConfig, seed=None, precision="float32", **kwargs):
    super().__init__(**kwargs)
    self.config = config
    seeds = _seed_stream(seed)
    layers = []
    for index in range(4):
      layers.append(
          conv_layers.Conv2D(config.df_dim * 2**index, 5, strides=2, padding="same",
                             kernel_initializer=keras.initializers.TruncatedNormal(stddev=INIT_STDDEV,
                                                                                   seed=next(seeds))))
      if index > 0:
        layers.append(SegmentBatchNorm())
      layers.append(LeakyReLU(0.2))
    layers.append(keras.layers.Flatten())
    _set_layer_options(layers, precision, False)
    self.body = keras.Sequential(layers, name="body")  # tracked; see Generator
    self.output_layer = keras.layers.Dense(config.num_classes, kernel_initializer=_kernel_init(seeds),
                                           dtype="float32")

  def call(self, x, training=False):
    return self.output_layer(self.body(x, training=training))


def make_generator(config: ModelConfig, seed=None, name=None, precision="float32",
                   synchronized_batch_norm=False) -> Generator:
  """A built `Generator` (its variables exist, so optimizers can be built)."""
  model = Generator(config, seed=seed, name=name, precision=precision,
                    synchronized_batch_norm=synchronized_batch_norm)
  model(tf.zeros([1, config.z_dim]))
  return model


def make_discriminator(config: ModelConfig, seed=None, name=None, precision="float32") -> Discriminator:
  """A built `Discriminator`."""
  model = Discriminator(config, seed=seed, name=name, precision=precision)
  model(tf.zeros([1, *config.example_shape]))
  return model


def make_classifier(config: ModelConfig, seed=None, precision="float32") -> keras.Model:
  """The built supervised-only classifier `config.classifier` names, called "classifier"."""
  if config.classifier == "2017":
    model = Classifier2017(config, seed=seed, name="classifier", precision=precision)
  else:
    model = Discriminator(config, seed=seed, name="classifier", precision=precision)
  model(tf.zeros([1, *config.example_shape]))
  return model


def _set_layer_options(hidden_layers, precision, synchronized_batch_norm):
  """Sets the hidden layers' dtype policy and batch-norm syncing (before they are built)."""
  for layer in hidden_layers:
    layer.dtype_policy = precision
    if isinstance(layer, keras.layers.BatchNormalization):
      layer.synchronized = synchronized_batch_norm
