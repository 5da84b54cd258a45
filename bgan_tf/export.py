"""The Bayesian classifier as a TF Serving SavedModel.

The semi-supervised Bayesian GAN classifies with its posterior predictive

  p(y | x, D) ~ 1/T sum_k softmax(D_k(x)),   k = 1..T,

over T discriminator weight samples: the current chains (num_disc * num_mcmc)
then the posterior snapshots (`RestoredRun.posterior_discriminators`).
`PosteriorClassifier` is a `tf.Module` holding those T discriminators and
the pixel scaling, so clients send raw pixels as the data set stores them (uint8
for MNIST, CIFAR-10, SVHN, digits) and get back

  probabilities        [batch, K]  the posterior predictive above
  classes              [batch]     int64 argmax of `probabilities`
  predictive_entropy   [batch]     H[p(y | x, D)] in nats: total uncertainty
  mutual_information   [batch]     H[p(y | x, D)] - 1/T sum_k H[softmax(D_k(x))]:
                                   the epistemic part, the disagreement of
                                   the posterior samples

from the `serving_default` signature, and `per_sample_probabilities`
[batch, T, K] (each sample's softmax) from the `per_sample` signature.

`export_version` writes TF Serving's layout:

  export/                           export_base
    models.config                   model_config_list for --model_config_file
    bgan_classifier/                --model_base_path; one folder per version
      1/
        saved_model.pb, variables/, fingerprint.pb
        assets/class_names.txt      one class name a line (an asset of the model)
        assets.extra/tf_serving_warmup_requests
      .tmp-export-*/                an export in progress (TF Serving ignores it)

A version appears whole or not at all: the SavedModel is written into a
dot-folder inside the model folder (TF Serving only loads folders named by an
integer), loaded back (by `tf.saved_model.load` and into a session, as TF
Serving loads it) and checked against the in-memory ensemble, synced to disk
and only then renamed to its version number. Any error removes the
dot-folder; existing versions are never written to.

#### References

Saatci, Y. and Wilson, A. G. Bayesian GAN. NIPS 2017 (the semi-supervised
classifier's posterior predictive).
"""

import contextlib
import gc
import logging as std_logging
import os
import re
import shutil
import tempfile
from typing import Dict, Mapping, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from bgan_tf import run_files
from bgan_tf.data.dataset import scale_to_unit_interval
from bgan_tf.train import restore_run

__all__ = [
    "CLASS_NAMES_FILE",
    "DEFAULT_MODEL_NAME",
    "ExportError",
    "INPUT_NAME",
    "MODEL_CONFIG_FILE",
    "PER_SAMPLE_SIGNATURE",
    "PosteriorClassifier",
    "SERVING_SIGNATURE",
    "WARMUP_FILE",
    "check_destination",
    "export_discriminators",
    "export_run",
    "export_version",
    "model_config_text",
    "next_version",
    "posterior_predictive_summary",
    "serving_input_dtype",
]

DEFAULT_MODEL_NAME = "bgan_classifier"
SERVING_SIGNATURE = "serving_default"
PER_SAMPLE_SIGNATURE = "per_sample"
INPUT_NAME = "images"
CLASS_NAMES_FILE = "class_names.txt"  # under the SavedModel's assets/
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")  # the name TF Serving looks for
MODEL_CONFIG_FILE = "models.config"  # under export_base
WARMUP_BATCH_SIZE = 2
# The loaded model must reproduce the in-memory ensemble to float32 round-off.
_VERIFY_TOLERANCE = 1e-5
_STAGING_PREFIX = ".tmp-export-"
# A model name is a folder name and part of REST URLs (/v1/models/<name>:predict).
_MODEL_NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_VERSION_PATTERN = re.compile(r"[0-9]+")


class ExportError(RuntimeError):
  """The export cannot be written as asked (one line for the user)."""


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


def export_discriminators(discriminators: Sequence[keras.Model],
                          dataset_info: Mapping[str, object],
                          path: str,
                          *,
                          model_name: str = DEFAULT_MODEL_NAME,
                          input_dtype=None) -> str:
  """Writes one SavedModel of the posterior classifier to `path` and checks it.

  Writes the SavedModel (signatures `serving_default` and `per_sample`), the
  class-names asset and TF Serving's warm-up requests, then loads `path` back
  and requires the warm-up request to give the in-memory ensemble's outputs.
  Not atomic: `export_version` calls this on a staging folder.

  Args:
    discriminators: the T discriminator samples (Keras models, inputs in
      [-1, 1], K logits).
    dataset_info: a run's `dataset.json` content: `example_shape`,
      `num_classes`, `class_names`, `pixel_range`.
    path: the SavedModel folder to create; must not exist.
    model_name: the TF Serving model name the warm-up request addresses.
    input_dtype: dtype of `images`; default `serving_input_dtype`.

  Returns:
    `path`.

  Raises:
    ExportError: `path` exists, no discriminators, logits that do not match
      the K classes, or a saved model that does not reproduce the ensemble.
  """
  if os.path.exists(path):
    raise ExportError(f"{path} already exists")
  if not discriminators:
    raise ExportError("no discriminator samples to export")
  example_shape = tuple(int(s) for s in dataset_info["example_shape"])
  num_classes = int(dataset_info["num_classes"])
  class_names = [str(c) for c in dataset_info["class_names"]]
  if len(class_names) != num_classes or any("\n" in c for c in class_names):
    raise ExportError(f"dataset info has {len(class_names)} class names (one line each needed) "
                      f"for {num_classes} classes")
  probe = tf.zeros([1, *example_shape])
  for k, disc in enumerate(discriminators):
    width = int(disc(probe, training=False).shape[-1])
    if width != num_classes:
      raise ExportError(f"discriminator sample {k} has {width} logit(s), not one per class of the "
                        f"{num_classes} classes: not a semi-supervised classifier")

  with tempfile.TemporaryDirectory(prefix="bgan-class-names-") as scratch:
    # The asset's source only has to live until the save copies it in.
    names_path = os.path.join(scratch, CLASS_NAMES_FILE)
    with open(names_path, "w", encoding="utf-8") as f:
      f.write("".join(f"{c}\n" for c in class_names))
    module = PosteriorClassifier(discriminators, example_shape, dataset_info.get("pixel_range"), names_path,
                                 input_dtype=input_dtype)
    tf.saved_model.save(module, path, signatures={SERVING_SIGNATURE: module.serving_default,
                                                  PER_SAMPLE_SIGNATURE: module.per_sample})
  images = _warmup_images(example_shape, module.pixel_range, module.input_dtype)
  _write_warmup_requests(os.path.join(path, WARMUP_FILE), model_name, images)
  _verify(path, module, num_classes)
  return path


def next_version(model_dir: str) -> int:
  """One more than the largest integer-named folder in `model_dir` (1 if none)."""
  return max(_versions(model_dir), default=0) + 1


def model_config_text(export_base: str, model_name: str) -> str:
  """The TF Serving model config file `export_base/models.config` after exporting `model_name`.

  The entry of `model_name` gets the absolute path of
  `export_base/model_name` as base_path; entries of other models already in
  the file are kept.

  Raises:
    ExportError: an existing file that is not a model server config.
  """
  text_format, model_server_config_pb2 = _serving_config_protos()
  path = os.path.join(export_base, MODEL_CONFIG_FILE)
  config = model_server_config_pb2.ModelServerConfig()
  if os.path.isfile(path):
    try:
      with open(path) as f:
        text_format.Parse(f.read(), config)
    except (OSError, UnicodeDecodeError, text_format.ParseError) as error:
      raise ExportError(f"{path} is not a TF Serving model config ({error}); fix or delete it") from None
    if config.WhichOneof("config") not in (None, "model_config_list"):
      raise ExportError(f"{path} holds a {config.WhichOneof('config')}, not a model_config_list; "
                        "fix or delete it")
  updated = model_server_config_pb2.ModelServerConfig()
  for other in config.model_config_list.config:
    if other.name != model_name:
      updated.model_config_list.config.add().CopyFrom(other)
  entry = updated.model_config_list.config.add()
  entry.name = model_name
  entry.base_path = os.path.abspath(os.path.join(export_base, model_name))
  entry.model_platform = "tensorflow"
  header = ("# TensorFlow Serving model config (text proto) written by bin/export_bgan:\n"
            f"#   tensorflow_model_server --model_config_file={os.path.abspath(path)} --port=8500 "
            "--rest_api_port=8501\n")
  return header + text_format.MessageToString(updated)


def export_version(discriminators: Sequence[keras.Model],
                   dataset_info: Mapping[str, object],
                   export_base: str = "export",
                   model_name: str = DEFAULT_MODEL_NAME,
                   version: Optional[int] = None,
                   *,
                   input_dtype=None) -> str:
  """Atomically adds a version `export_base/model_name/<version>/` and refreshes models.config.

  Args:
    discriminators: the T discriminator samples.
    dataset_info: a run's `dataset.json` content.
    export_base: folder of the model folders and `models.config`.
    model_name: TF Serving model name, the model folder's name.
    version: the version to write (>= 1); default `next_version`.
    input_dtype: dtype of `images`; default `serving_input_dtype`.

  Returns:
    The absolute path of the new version folder.

  Raises:
    ExportError: a bad model name or version, an existing version, a folder
      that cannot be written, or a failed check of the saved model.
  """
  config_text = check_destination(export_base, model_name, version)
  model_dir = os.path.join(export_base, model_name)
  try:
    os.makedirs(model_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=model_dir)
  except OSError as error:
    raise ExportError(f"cannot write to {model_dir}: {error.strerror or error}") from None

  try:
    saved = export_discriminators(discriminators, dataset_info, os.path.join(staging, "saved_model"),
                                  model_name=model_name, input_dtype=input_dtype)
    _fsync_tree(saved)
    target = _rename_to_version(saved, model_dir, version)
  finally:
    # After a successful rename the staging folder is empty; after any error
    # (KeyboardInterrupt included) it holds the partial export.
    shutil.rmtree(staging, ignore_errors=True)
  _fsync_path(model_dir)
  run_files.write_text(os.path.join(export_base, MODEL_CONFIG_FILE), config_text)
  logging.info("exported %d discriminator samples as %s", len(discriminators), target)
  return os.path.abspath(target)


def export_run(run_dir: str,
               export_base: str = "export",
               model_name: str = DEFAULT_MODEL_NAME,
               version: Optional[int] = None) -> str:
  """Exports a semi-supervised run's posterior classifier (chains and snapshots).

  Args:
    run_dir: a run folder of `run_bgan_semi` with a checkpoint.
    export_base: folder of the model folders and `models.config`.
    model_name: TF Serving model name.
    version: the version to write; default one more than the largest.

  Returns:
    The absolute path of the new version folder.

  Raises:
    RunError: not a run folder, or no checkpoint in it.
    ExportError: an unsupervised run (K = 1: not a classifier), or any error
      of `export_version`.
  """
  # Check the destination first: a taken version fails before the restore.
  check_destination(export_base, model_name, version)
  discriminators, dataset_info, num_classes = _restore_posterior(run_dir)
  if num_classes < 2:
    raise ExportError(f"{run_dir} is not a classifier: its discriminators have {num_classes} logit "
                      "(an unsupervised run); export a run of run_bgan_semi")
  return export_version(discriminators, dataset_info, export_base, model_name, version)


def _restore_posterior(run_dir):
  """(T discriminators, dataset info, K) of a run; the rest of the run is freed here.

  The checkpoint also holds sampler and generator state an export never
  uses; state the restored objects have not created yet (or no longer
  have) makes TensorFlow warn when the restored run is freed, possibly after
  the one-line error of a failed export. Free it now, with those warnings
  off: the discriminators themselves were matched by `restore_run`.
  """
  with _tf_warnings_off():
    restored = restore_run(run_dir)
    result = (restored.posterior_discriminators(), restored.dataset_info, restored.gan.config.model.num_classes)
    del restored
    gc.collect()
  return result


def check_destination(export_base: str, model_name: str = DEFAULT_MODEL_NAME,
                      version: Optional[int] = None) -> str:
  """Checks where an export would go, before any work; returns the new models.config text.

  `export_run` calls it before restoring the run, and `run_bgan_semi --export` before loading
  the data, so a bad name, a taken version, a file in the way, a read-only folder or a broken
  models.config costs one line at start-up instead of a traceback after the work.

  Raises:
    ExportError: any of those.
  """
  if not _MODEL_NAME_PATTERN.fullmatch(model_name or ""):
    raise ExportError(f"model name must be letters, digits, '_', '.' or '-' (not starting with '.' "
                      f"or '-'), got {model_name!r}")
  if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
    raise ExportError(f"version must be an integer >= 1, got {version!r}")
  model_dir = os.path.join(export_base, model_name)
  for folder in (export_base, model_dir):  # models.config goes into the first, versions into the second
    problem = run_files.folder_problem(folder)
    if problem:
      raise ExportError(f"cannot write to {folder}: {problem}")
  if version is not None and version in _versions(model_dir):
    raise ExportError(f"version {version} already exists in {model_dir}; existing versions are never "
                      f"replaced (the next free one is {next_version(model_dir)})")
  # A broken models.config stops the export before anything is written.
  return model_config_text(export_base, model_name)


def _tf_variable(variable):
  """The tf.Variable behind a Keras 3 variable (a tf.Variable is its own)."""
  return variable if isinstance(variable, tf.Variable) else variable.value


def _versions(model_dir):
  """The integer versions TF Serving would see in `model_dir`."""
  if not os.path.isdir(model_dir):
    return set()
  return {int(name) for name in os.listdir(model_dir)
          if _VERSION_PATTERN.fullmatch(name) and os.path.isdir(os.path.join(model_dir, name))}


def _rename_to_version(saved, model_dir, version):
  # Concurrent exports may pick the same next version: renaming onto a
  # non-empty folder fails, so an automatic version moves on to the next.
  for _ in range(100):
    chosen = next_version(model_dir) if version is None else version
    target = os.path.join(model_dir, str(chosen))
    if os.path.exists(target):
      if version is not None:
        raise ExportError(f"version {version} appeared in {model_dir} during the export; not replaced")
      continue
    try:
      os.rename(saved, target)
      return target
    except OSError as error:
      if version is not None or not os.path.exists(target):
        raise ExportError(f"cannot rename the export to {target}: {error.strerror or error}") from None
  raise ExportError(f"no free version number in {model_dir} after 100 attempts")


def _warmup_images(example_shape, pixel_range, dtype):
  """A small batch spanning the raw value range: a ramp and its reverse."""
  low, high = pixel_range if pixel_range is not None else (-1.0, 1.0)
  ramp = np.linspace(low, high, num=int(np.prod(example_shape)))
  images = np.stack([ramp, ramp[::-1]])[:WARMUP_BATCH_SIZE].reshape([WARMUP_BATCH_SIZE, *example_shape])
  if dtype.is_integer:
    images = np.round(images)
  return images.astype(dtype.as_numpy_dtype)


def _write_warmup_requests(path, model_name, images):
  """One PredictRequest of `images` as TF Serving's warm-up TFRecord."""
  try:
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise ExportError("the warm-up requests need tensorflow-serving-api: "
                      "pip install 'tensorflow-serving-api>=2.21,<2.22'") from None
  request = predict_pb2.PredictRequest()
  request.model_spec.name = model_name
  request.model_spec.signature_name = SERVING_SIGNATURE
  request.inputs[INPUT_NAME].CopyFrom(tf.make_tensor_proto(images))
  log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with tf.io.TFRecordWriter(path) as writer:
    writer.write(log.SerializeToString())


def _verify(path, module, num_classes):
  """Loads `path` the two ways TensorFlow tools do and replays its warm-up request.

  TF Serving loads a SavedModel into a session (the C++ SavedModelBundle,
  like `tf.compat.v1.saved_model.loader.load` and `saved_model_cli run`);
  Python clients use `tf.saved_model.load`. Both must reproduce the in-memory
  ensemble on the warm-up images.
  """
  from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=g-import-not-at-top
  records = list(tf.data.TFRecordDataset(os.path.join(path, WARMUP_FILE)).as_numpy_iterator())
  request = prediction_log_pb2.PredictionLog.FromString(records[0]).predict_log.request
  images = tf.make_ndarray(request.inputs[INPUT_NAME])
  expected = module.serving_default(tf.constant(images))["probabilities"].numpy()

  loaded = tf.saved_model.load(path)
  missing = {SERVING_SIGNATURE, PER_SAMPLE_SIGNATURE} - set(loaded.signatures)
  if missing:
    raise ExportError(f"{path}: saved model lacks the signature(s) {sorted(missing)}")
  outputs = {"tf.saved_model.load": loaded.signatures[SERVING_SIGNATURE](
      **{INPUT_NAME: tf.constant(images)})["probabilities"].numpy()}
  names = [n.decode("utf-8") for n in loaded.class_names().numpy()]
  if len(names) != num_classes:
    raise ExportError(f"{path}: the class-names asset holds {len(names)} names for {num_classes} classes")

  with _tf_warnings_off(), tf.Graph().as_default(), tf.compat.v1.Session() as session:
    meta_graph = tf.compat.v1.saved_model.loader.load(session, [tf.saved_model.SERVING], path)
    fetches = {}
    for name in (SERVING_SIGNATURE, PER_SAMPLE_SIGNATURE):
      signature = meta_graph.signature_def[name]
      fetches[name] = session.run({key: info.name for key, info in signature.outputs.items()},
                                  {signature.inputs[INPUT_NAME].name: images})
  outputs["a session (as TF Serving)"] = fetches[SERVING_SIGNATURE]["probabilities"]
  outputs["per_sample in a session"] = fetches[PER_SAMPLE_SIGNATURE]["per_sample_probabilities"].mean(axis=1)
  for how, probabilities in outputs.items():
    difference = float(np.max(np.abs(probabilities - expected))) if probabilities.shape == expected.shape \
        else float("inf")
    if not difference <= _VERIFY_TOLERANCE:
      raise ExportError(f"{path}: loaded with {how}, the model does not reproduce the ensemble "
                        f"(max probability difference {difference:.3g})")


@contextlib.contextmanager
def _tf_warnings_off():
  """Raises TensorFlow's Python logger to ERROR within the block."""
  tf_logger = tf.get_logger()
  level = tf_logger.level
  tf_logger.setLevel(std_logging.ERROR)
  try:
    yield
  finally:
    tf_logger.setLevel(level)


def _fsync_tree(root):
  """Flushes every file, then every folder, of `root` to disk before the rename publishes it."""
  for folder, _, files in os.walk(root, topdown=False):
    for name in files:
      _fsync_path(os.path.join(folder, name))
    _fsync_path(folder)


def _fsync_path(path):
  fd = os.open(path, os.O_RDONLY)
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def _serving_config_protos():
  try:
    from google.protobuf import text_format  # pylint: disable=g-import-not-at-top
    from tensorflow_serving.config import model_server_config_pb2  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise ExportError("writing models.config needs tensorflow-serving-api: "
                      "pip install 'tensorflow-serving-api>=2.21,<2.22'") from None
  return text_format, model_server_config_pb2
