"""Publishing the posterior classifier: atomic SavedModel versions for TF Serving.

The model itself is `bgan_tf.serving.PosteriorClassifier`. This module writes
it in TF Serving's layout:

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

The warm-up file and `models.config` are TF Serving protos: they need the
`tensorflow-serving-api` package (`pip install "bgan_tf[serving]"`). Without
it the SavedModel is still written and checked, and one warning says what
was left out.
"""

import contextlib
import functools
import gc
import logging as std_logging
import os
import shutil
import tempfile
from typing import NamedTuple, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from bgan_tf import export_paths
from bgan_tf import run_dir as run_dir_lib
from bgan_tf import run_files
from bgan_tf.errors import ExportError
from bgan_tf.export_paths import DEFAULT_MODEL_NAME, next_version
from bgan_tf.run_dir import DatasetInfo
from bgan_tf.serving import (CLASS_NAMES_FILE, INPUT_NAME, PER_SAMPLE_SIGNATURE, SERVING_SIGNATURE,
                             PosteriorClassifier)

__all__ = [
    "DEFAULT_MODEL_NAME",
    "MODEL_CONFIG_FILE",
    "SERVING_EXTRA",
    "WARMUP_FILE",
    "check_destination",
    "export_discriminators",
    "export_run",
    "export_version",
    "model_config_text",
    "next_version",
]

# What to install for the warm-up file and models.config (TF Serving's protos).
SERVING_EXTRA = "pip install 'bgan_tf[serving]' (tensorflow-serving-api)"
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")  # the name TF Serving looks for
MODEL_CONFIG_FILE = "models.config"  # under export_base
WARMUP_BATCH_SIZE = 2
# The loaded model must reproduce the in-memory ensemble to float32 round-off.
_VERIFY_TOLERANCE = 1e-5
_STAGING_PREFIX = ".tmp-export-"


def export_discriminators(discriminators: Sequence[keras.Model], dataset_info: DatasetInfo, path: str, *,
                          model_name: str = DEFAULT_MODEL_NAME, input_dtype=None) -> str:
  """Writes one SavedModel of the posterior classifier to `path` and checks it.

  Writes the SavedModel (signatures `serving_default` and `per_sample`), the
  class-names asset and, with tensorflow-serving-api installed, TF Serving's
  warm-up requests; then loads `path` back and requires the warm-up images to
  give the in-memory ensemble's outputs. Not atomic: `export_version` calls
  this on a staging folder.

  Args:
    discriminators: the T discriminator samples (Keras models, inputs in
      [-1, 1], K logits).
    dataset_info: the run's `DatasetInfo` (example shape, classes, pixel range).
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
  example_shape, num_classes = dataset_info.example_shape, dataset_info.num_classes
  class_names = dataset_info.class_names
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
    module = PosteriorClassifier(discriminators, example_shape, dataset_info.pixel_range, names_path,
                                 input_dtype=input_dtype)
    tf.saved_model.save(
        module, path,
        signatures={SERVING_SIGNATURE: module.serving_default, PER_SAMPLE_SIGNATURE: module.per_sample})
  images = _warmup_images(example_shape, module.pixel_range, module.input_dtype)
  if _serving_protos() is not None:
    _write_warmup_requests(os.path.join(path, WARMUP_FILE), model_name, images)
  _verify(path, module, num_classes, images)
  return path


def model_config_text(export_base: str, model_name: str) -> Optional[str]:
  """The TF Serving model config file `export_base/models.config` after exporting `model_name`.

  The entry of `model_name` gets the absolute path of
  `export_base/model_name` as base_path; entries of other models already in
  the file are kept.

  Returns:
    The file's text, or None without tensorflow-serving-api (no protos to
    read and write it with).

  Raises:
    ExportError: an existing file that is not a model server config.
  """
  protos = _serving_protos()
  if protos is None:
    return None
  text_format, model_server_config_pb2 = protos.text_format, protos.model_server_config_pb2
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


def export_version(discriminators: Sequence[keras.Model], dataset_info: DatasetInfo, export_base: str = "export",
                   model_name: str = DEFAULT_MODEL_NAME, version: Optional[int] = None, *,
                   input_dtype=None) -> str:
  """Atomically adds a version `export_base/model_name/<version>/` and refreshes models.config.

  Args:
    discriminators: the T discriminator samples.
    dataset_info: the run's `DatasetInfo`.
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
    run_files.fsync_tree(saved)
    target = _rename_to_version(saved, model_dir, version)
  finally:
    # After a successful rename the staging folder is empty; after any error
    # (KeyboardInterrupt included) it holds the partial export.
    shutil.rmtree(staging, ignore_errors=True)
  run_files.fsync_path(model_dir)
  if config_text is None:
    logging.warning("exported without the TF Serving warm-up file and %s: they need TF Serving's protos; "
                    "%s", MODEL_CONFIG_FILE, SERVING_EXTRA)
  else:
    run_files.write_text(os.path.join(export_base, MODEL_CONFIG_FILE), config_text)
  logging.info("exported %d discriminator samples as %s", len(discriminators), target)
  return os.path.abspath(target)


def export_run(run_dir: str, export_base: str = "export", model_name: str = DEFAULT_MODEL_NAME,
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
  export_paths.check_classifier(run_dir, num_classes)
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
    restored = run_dir_lib.restore_run(run_dir)
    result = (restored.posterior_discriminators(), restored.dataset_info, restored.gan.config.model.num_classes)
    del restored
    gc.collect()
  return result


def check_destination(export_base: str, model_name: str = DEFAULT_MODEL_NAME,
                      version: Optional[int] = None) -> Optional[str]:
  """Checks where an export would go, before any work; returns the new models.config text.

  (None without tensorflow-serving-api: `model_config_text`.)

  `export_run` calls it before restoring the run, and `run_bgan_semi --export` before loading
  the data, so a bad name, a taken version, a file in the way, a read-only folder or a broken
  models.config costs one line at start-up instead of a traceback after the work. (The programs
  run `export_paths.check_paths`, all of this but models.config, before TensorFlow loads.)

  Raises:
    ExportError: any of those.
  """
  export_paths.check_paths(export_base, model_name, version)
  # A broken models.config stops the export before anything is written.
  return model_config_text(export_base, model_name)


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
  protos = _serving_protos()
  if protos is None:
    raise ExportError(f"the warm-up requests need TF Serving's protos: {SERVING_EXTRA}")
  predict_pb2, prediction_log_pb2 = protos.predict_pb2, protos.prediction_log_pb2
  request = predict_pb2.PredictRequest()
  request.model_spec.name = model_name
  request.model_spec.signature_name = SERVING_SIGNATURE
  request.inputs[INPUT_NAME].CopyFrom(tf.make_tensor_proto(images))
  log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with tf.io.TFRecordWriter(path) as writer:
    writer.write(log.SerializeToString())


def _verify(path, module, num_classes, images):
  """Loads `path` the two ways TensorFlow tools do and runs it on the warm-up images.

  TF Serving loads a SavedModel into a session (the C++ SavedModelBundle,
  like `tf.compat.v1.saved_model.loader.load` and `saved_model_cli run`);
  Python clients use `tf.saved_model.load`. Both must reproduce the in-memory
  ensemble on the warm-up images, and a warm-up file, if written, must hold
  exactly those images.
  """
  warmup_path = os.path.join(path, WARMUP_FILE)
  if os.path.exists(warmup_path):
    records = list(tf.data.TFRecordDataset(warmup_path).as_numpy_iterator())
    request = _serving_protos().prediction_log_pb2.PredictionLog.FromString(records[0]).predict_log.request
    if not np.array_equal(tf.make_ndarray(request.inputs[INPUT_NAME]), images):
      raise ExportError(f"{path}: the warm-up request does not hold the warm-up images")
  expected = module.serving_default(tf.constant(images))["probabilities"].numpy()

  loaded = tf.saved_model.load(path)
  missing = {SERVING_SIGNATURE, PER_SAMPLE_SIGNATURE} - set(loaded.signatures)
  if missing:
    raise ExportError(f"{path}: saved model lacks the signature(s) {sorted(missing)}")
  outputs = {
      "tf.saved_model.load":
          loaded.signatures[SERVING_SIGNATURE](**{INPUT_NAME: tf.constant(images)})["probabilities"].numpy()
  }
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


class _ServingProtos(NamedTuple):
  text_format: object
  model_server_config_pb2: object
  predict_pb2: object
  prediction_log_pb2: object


@functools.lru_cache(maxsize=None)
def _serving_protos() -> Optional[_ServingProtos]:
  """TF Serving's protos from tensorflow-serving-api, or None if it is not installed.

  Looked up once per process: an export asks up to four times, and a missing package would
  otherwise be searched for on every call.
  """
  try:
    from google.protobuf import text_format  # pylint: disable=g-import-not-at-top
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2  # pylint: disable=g-import-not-at-top
    from tensorflow_serving.config import model_server_config_pb2  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None
  return _ServingProtos(text_format, model_server_config_pb2, predict_pb2, prediction_log_pb2)
