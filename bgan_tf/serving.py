"""The Bayesian classifier as a `tf.Module` for TF Serving: the model a SavedModel export holds.

The semi-supervised Bayesian GAN classifies with its posterior predictive

  p(y | x, D) ~ 1/T sum_k softmax(D_k(x)),   k = 1..T,

over T discriminator weight samples: the current chains (num_disc * num_mcmc)
then the posterior snapshots (`run_dir.RestoredRun.posterior_discriminators`).
`PosteriorClassifier` holds those T discriminators and the pixel scaling, so
clients send raw pixels as the data set stores them (uint8 for MNIST,
CIFAR-10, SVHN, digits) and get back

  probabilities        [batch, K]  the posterior predictive above
  classes              [batch]     int64 argmax of `probabilities`
  predictive_entropy   [batch]     H[p(y | x, D)] in nats: total uncertainty
  mutual_information   [batch]     H[p(y | x, D)] - 1/T sum_k H[softmax(D_k(x))]:
                                   the epistemic part, the disagreement of
                                   the posterior samples

from the `serving_default` signature, and `per_sample_probabilities`
[batch, T, K] (each sample's softmax) from the `per_sample` signature.
Writing, versioning and checking the SavedModel is `bgan_tf.export`'s job.

#### References

Saatci, Y. and Wilson, A. G. Bayesian GAN. NIPS 2017 (the semi-supervised
classifier's posterior predictive).
"""

from typing import Dict

import tensorflow as tf

from bgan_tf.data.dataset import scale_to_unit_interval

__all__ = [
    "CLASS_NAMES_FILE",
    "INPUT_NAME",
    "PER_SAMPLE_SIGNATURE",
    "PosteriorClassifier",
    "SERVING_SIGNATURE",
    "posterior_predictive_summary",
    "serving_input_dtype",
]

SERVING_SIGNATURE = "serving_default"
PER_SAMPLE_SIGNATURE = "per_sample"
INPUT_NAME = "images"
CLASS_NAMES_FILE = "class_names.txt"  # under the SavedModel's assets/


def serving_input_dtype(pixel_range) -> tf.DType:
  """The dtype clients send: the raw dtype the data set stores.

  uint8 when `pixel_range` is integral within 0..255 (MNIST, CIFAR-10, SVHN,
  CelebA and custom uint8 data: (0, 255); digits: (0, 16)), float32 otherwise.
  The loaders keep float data as (0, 1) or (-1, 1) and vector data as None;
  (0, 1) is integral too but always means float pixels, so the range must
  also be wider than one.

  Args:
    pixel_range: `(low, high)` of the raw values, or None.

  Returns:
    `tf.uint8` or `tf.float32`.
  """
  if pixel_range is None:
    return tf.float32
  low, high = (float(v) for v in pixel_range)
  integral = low.is_integer() and high.is_integer()
  if integral and 0 <= low and high <= 255 and high - low > 1:
    return tf.uint8
  return tf.float32


def posterior_predictive_summary(per_sample_probabilities) -> Dict[str, tf.Tensor]:
  """The serving outputs from each posterior sample's class probabilities.

  Args:
    per_sample_probabilities: `[batch, T, K]` softmax of each of the T
      discriminator samples.

  Returns:
    Dict of `probabilities` `[batch, K]` (the mean over T), `classes` int64
    `[batch]`, `predictive_entropy` `[batch]` (entropy of the mean, nats) and
    `mutual_information` `[batch]` (entropy of the mean minus the mean
    entropy; clipped at 0, which it exceeds by Jensen's inequality up to
    round-off).
  """
  per_sample = tf.convert_to_tensor(per_sample_probabilities, tf.float32)
  mean = tf.reduce_mean(per_sample, axis=1)
  # xlogy(p, p) = p log p with the limit 0 at p = 0 (a softmax can underflow).
  predictive_entropy = -tf.reduce_sum(tf.math.xlogy(mean, mean), axis=-1)
  expected_entropy = -tf.reduce_mean(tf.reduce_sum(tf.math.xlogy(per_sample, per_sample), axis=-1), axis=1)
  return {
      "probabilities": mean,
      "classes": tf.argmax(mean, axis=-1, output_type=tf.int64),
      "predictive_entropy": predictive_entropy,
      "mutual_information": tf.maximum(predictive_entropy - expected_entropy, 0.0),
  }


class PosteriorClassifier(tf.Module):
  """The posterior predictive of T discriminators on raw pixels.

  Args:
    discriminators: the T discriminator samples, Keras models mapping
      `[batch, *example_shape]` floats in [-1, 1] to `[batch, K]` logits.
    example_shape: shape of one example, e.g. `(28, 28, 1)`.
    pixel_range: `(low, high)` of the raw values (scaled to [-1, 1] inside the
      model), or None for already-scaled data.
    class_names_path: a text file with the K class names, one a line; saved
      as the asset `assets/class_names.txt`.
    input_dtype: dtype of `images`; default `serving_input_dtype(pixel_range)`.

  Attributes:
    num_samples: T.
    sample_variables: `[T][num_weights]` the tf.Variables of each sample.
    serving_default: `images` `[batch, *example_shape]` -> the dict of
      `posterior_predictive_summary`.
    per_sample: `images` -> `per_sample_probabilities` `[batch, T, K]`.
    class_names: () -> string `[K]`, read from the asset.
  """

  def __init__(self, discriminators, example_shape, pixel_range, class_names_path, input_dtype=None,
               name="posterior_classifier"):
    super().__init__(name=name)
    samples = tuple(discriminators)
    if not samples:
      raise ValueError("a posterior classifier needs at least one discriminator sample")
    self.num_samples = len(samples)
    self.pixel_range = None if pixel_range is None else tuple(float(v) for v in pixel_range)
    self.input_dtype = tf.as_dtype(input_dtype or serving_input_dtype(pixel_range))
    # Track each sample's tf.Variables themselves. A Keras 3 variable wraps a
    # tf.Variable; a SavedModel that tracks only the Keras models loads in
    # TF2 (`tf.saved_model.load`) but not in a session, as TF Serving and
    # `saved_model_cli run` load it: the variables the functions capture are
    # never restored ("Could not find variable ...", keras-team/keras#20095).
    # The models stay out of the object graph: the functions close over them.
    self.sample_variables = [[_tf_variable(v) for v in d.weights] for d in samples]
    self.class_names_file = tf.saved_model.Asset(class_names_path)
    scale_range = self.pixel_range

    def per_sample_probabilities(images):
      x = scale_to_unit_interval(images, scale_range)
      return tf.stack([tf.nn.softmax(d(x, training=False), axis=-1) for d in samples], axis=1)

    def serving_default(images):
      return posterior_predictive_summary(per_sample_probabilities(images))

    def per_sample(images):
      return {"per_sample_probabilities": per_sample_probabilities(images)}

    # Batch is the only dynamic dimension; T is fixed at trace time.
    spec = tf.TensorSpec([None, *example_shape], self.input_dtype, name=INPUT_NAME)
    self.serving_default = tf.function(serving_default, input_signature=[spec])
    self.per_sample = tf.function(per_sample, input_signature=[spec])
    self.class_names = tf.function(self._class_names, input_signature=[])

  def _class_names(self):
    text = tf.strings.regex_replace(tf.io.read_file(self.class_names_file), "\n$", "")
    return tf.strings.split(text, "\n")


def _tf_variable(variable):
  """The tf.Variable behind a Keras 3 variable (a tf.Variable is its own)."""
  return variable if isinstance(variable, tf.Variable) else variable.value
