"""The run folder: its layout, its records, and reading a run back.

One run of a program lives in one folder, `out_dir/run_name`:

  flags.txt            absl flagfile that reproduces the run
  config.json          the frozen GAN and training configs
  dataset.json         the data set's metadata (`DatasetInfo`)
  checkpoints/         tf.train.CheckpointManager of `make_checkpoint`'s object
                       graph: model and sampler state, RNG states, posterior
                       snapshots and the iteration number
  tensorboard/         TensorBoard summaries
  results_<iter>.json  each evaluation's results
  hook_metrics.json    every hook's values by iteration (e.g. JS divergence)
  samples/, weights/   PNG grids and .npz weights, when asked for

This module is the only one that names these files, writes the records,
checks a resume against them and restores a run; the training loop, the
programs and the export all go through it. Records are written atomically
(`run_files`). TensorFlow loads only when a run is restored.
"""

import dataclasses
import json
import os
import re
from typing import TYPE_CHECKING, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from absl import logging

from bgan_tf import run_files
from bgan_tf.config import GANConfig, TrainConfig, gan_config_from_dict
from bgan_tf.errors import RunError, first_line

if TYPE_CHECKING:  # TensorFlow loads only when a run is restored
  from bgan_tf.bgan import BayesianGAN
  from bgan_tf.snapshots import PosteriorSnapshots

__all__ = [
    "CHECKPOINT_DIR",
    "CONFIG_FILE",
    "DATASET_FILE",
    "DatasetInfo",
    "FLAGFILE",
    "HOOK_METRICS_FILE",
    "RestoredRun",
    "TENSORBOARD_DIR",
    "check_fresh_or_resumable",
    "check_restorable",
    "checkpoint_paths",
    "make_checkpoint",
    "read_configs",
    "read_dataset_info",
    "read_hook_history",
    "restore_newest_whole",
    "restore_run",
    "results_path",
    "snapshot_capacity",
    "write_dataset_info",
    "write_hook_history",
    "write_run_record",
]

FLAGFILE = "flags.txt"
CONFIG_FILE = "config.json"
DATASET_FILE = "dataset.json"
CHECKPOINT_DIR = "checkpoints"
TENSORBOARD_DIR = "tensorboard"
HOOK_METRICS_FILE = "hook_metrics.json"
# tf.train.CheckpointManager's file names: its state file and each checkpoint's `ckpt-<iteration>.index`.
_CHECKPOINT_STATE = "checkpoint"
_CHECKPOINT_INDEX = re.compile(r"^ckpt-(\d+)\.index$")


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  """What a run needs to know of its data set after training: `dataset.json`.

  Attributes:
    name: the data set's name, e.g. "mnist".
    source: where the examples came from, e.g. "IDX files in /data/mnist".
    example_shape: shape of one example, `(H, W, C)` or `(D,)`.
    num_classes: K.
    class_names: the K class names.
    pixel_range: `(low, high)` of the raw values, or None (vector data).
  """

  name: str
  source: str
  example_shape: Tuple[int, ...]
  num_classes: int
  class_names: Tuple[str, ...]
  pixel_range: Optional[Tuple[float, float]] = None

  def __post_init__(self):
    object.__setattr__(self, "example_shape", tuple(int(s) for s in self.example_shape))
    object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
    if self.pixel_range is not None:
      object.__setattr__(self, "pixel_range", tuple(self.pixel_range))

  @classmethod
  def of(cls, dataset) -> "DatasetInfo":
    """The info of a loaded `bgan_tf.data.Dataset`."""
    return cls(name=dataset.name, source=dataset.source, example_shape=dataset.example_shape,
               num_classes=dataset.num_classes, class_names=dataset.class_names, pixel_range=dataset.pixel_range)

  def to_json(self) -> Dict[str, object]:
    return {
        "name": self.name, "source": self.source, "example_shape": list(self.example_shape),
        "num_classes": self.num_classes, "class_names": list(self.class_names),
        "pixel_range": None if self.pixel_range is None else list(self.pixel_range)
    }

  @classmethod
  def from_json(cls, record: Mapping[str, object]) -> "DatasetInfo":
    return cls(**{field.name: record[field.name] for field in dataclasses.fields(cls)})


def check_fresh_or_resumable(run_dir: str, resume: bool) -> None:
  """Checks that `run_dir` can start a fresh run, or (`resume`) holds one to continue.

  Raises:
    RunError: a resume without the folder, a checkpoint or a readable record; a fresh run over a
      recorded one or over checkpoints.
  """
  checkpoint_dir = os.path.join(run_dir, CHECKPOINT_DIR)
  if resume and not os.path.isdir(run_dir):
    raise RunError(f"--resume: run folder {run_dir} does not exist")
  has_checkpoint = bool(_checkpoint_files(checkpoint_dir))
  if resume and os.path.exists(os.path.join(run_dir, CONFIG_FILE)):
    read_configs(run_dir)  # a damaged record fails now, before any work
  if resume and not has_checkpoint:
    raise RunError(f"--resume: no checkpoint in {checkpoint_dir}: the run stopped before its first one; "
                   f"delete {run_dir} or start afresh under another --run_name")
  if not resume and os.path.exists(os.path.join(run_dir, CONFIG_FILE)):
    hint = ("pass --resume to continue it" if has_checkpoint else
            f"it stopped before its first checkpoint: delete {run_dir}")
    raise RunError(f"{run_dir} already holds a run; {hint} or choose another --run_name")
  if not resume and os.path.isdir(checkpoint_dir) and os.listdir(checkpoint_dir):
    # Checked here, before the record is written: a run would train over them, an export read them.
    raise RunError(f"{checkpoint_dir} already holds checkpoints; choose another --run_name")


def write_run_record(run_dir: str, flag_lines: Sequence[str], configs: Mapping[str, object], *,
                     resume: bool) -> None:
  """Writes the flagfile that reproduces the run and the configs as JSON.

  On resume the recorded configs must match the new ones (the iteration
  count may grow); a mismatch is a user error, found before any work.

  Args:
    run_dir: the run folder (made if missing).
    flag_lines: the flagfile's lines, e.g. `["--N=100", "--noexport"]`.
    configs: {"gan": GANConfig, "train": TrainConfig}.
    resume: the run continues the recorded one.

  Raises:
    RunError: `resume` without a record or with a damaged one, flags that change the recorded
      configs, a --train_iter below the iteration the run reached, or a run folder that
      cannot be made.
  """
  record = json.loads(json.dumps({name: dataclasses.asdict(config) for name, config in configs.items()}))
  config_path = os.path.join(run_dir, CONFIG_FILE)
  if resume:
    if not os.path.exists(config_path):
      raise RunError(f"--resume: {config_path} not found; is {run_dir} a run folder?")
    saved_record = _read_json_object(config_path)
    damaged = [name for name in configs if not isinstance(saved_record.get(name), dict)]
    if damaged:
      raise RunError(f"{config_path} is damaged: it holds no {' or '.join(damaged)} config")
    saved = _flatten(saved_record)
    reached = max(_checkpoint_files(os.path.join(run_dir, CHECKPOINT_DIR)).values(), default=0)
    if configs["train"].train_iter < reached:
      raise RunError(f"--resume: --train_iter={configs['train'].train_iter} is below the {reached} "
                     f"iterations the run has reached")
    current = _flatten(record)
    # A run recorded before an option existed ran at the option's default.
    newer = {key: value for key, value in _field_defaults(configs).items() if key not in saved}
    saved = {**newer, **saved}
    changed = sorted(key for key in set(saved) | set(current)
                     if key != "train.train_iter" and saved.get(key) != current.get(key))
    if changed:
      # The run's own flagfile cannot set an option newer than the run (a recipe may now fill it
      # differently), so name the values to give.
      unrecorded = [key for key in changed if key in newer]
      hint = (f"; the run predates {', '.join(unrecorded)}, which it ran at "
              f"{', '.join(json.dumps(newer[key]) for key in unrecorded)}: give their flags those values"
              if unrecorded else "")
      raise RunError(f"--resume: the flags change the run's configuration ({', '.join(changed)}); "
                     f"use --flagfile={os.path.join(run_dir, FLAGFILE)}{hint}")
  try:
    os.makedirs(run_dir, exist_ok=True)
  except OSError as error:
    raise RunError(f"cannot make the run folder {run_dir}: {error.strerror or first_line(error)}") from None
  run_files.write_text(os.path.join(run_dir, FLAGFILE), "".join(f"{line}\n" for line in flag_lines))
  run_files.write_json(config_path, record)


def write_dataset_info(run_dir: str, info: DatasetInfo) -> None:
  run_files.write_json(os.path.join(run_dir, DATASET_FILE), info.to_json())


def read_dataset_info(run_dir: str) -> DatasetInfo:
  """The run's `dataset.json`.

  Raises:
    RunError: the file is missing, not JSON, or not a data set record.
  """
  path = os.path.join(run_dir, DATASET_FILE)
  record = _read_json_object(path)
  try:
    return DatasetInfo.from_json(record)
  except (KeyError, TypeError, ValueError) as error:
    raise RunError(f"{path} is damaged: not a data set record ({_describe_record_error(error)})") from None


def read_configs(run_dir: str) -> Tuple[GANConfig, TrainConfig]:
  """The run's `config.json`: its GAN and training configs.

  Raises:
    RunError: the file is missing, not JSON, or not the configs of a run.
  """
  path = os.path.join(run_dir, CONFIG_FILE)
  record = _read_json_object(path)
  try:
    return gan_config_from_dict(record["gan"]), TrainConfig(**record["train"])
  except (KeyError, TypeError, ValueError, AttributeError) as error:  # ConfigError is a ValueError
    raise RunError(f"{path} is damaged: not a run's configs ({_describe_record_error(error)})") from None


def results_path(run_dir: str, iteration: int) -> str:
  return os.path.join(run_dir, f"results_{iteration}.json")


def read_hook_history(run_dir: str, up_to: Optional[int] = None) -> Dict[str, List[List[float]]]:
  """The hooks' values by name, `[[iteration, value], ...]` ({} if none were written).

  Args:
    run_dir: the run folder.
    up_to: keep only iterations <= this (a resumed run recomputes the rest).

  Raises:
    RunError: the file exists but is not a hook history.
  """
  path = os.path.join(run_dir, HOOK_METRICS_FILE)
  if not os.path.exists(path):
    return {}
  try:
    with open(path) as f:
      history = {
          str(name): [[int(it), float(value)] for it, value in points] for name, points in json.load(f).items()
      }
  except (OSError, ValueError, TypeError, AttributeError) as error:
    raise RunError(f"{path} is not a hook history ({first_line(error)}); fix or delete it") from None
  if up_to is not None:
    history = {name: [p for p in points if p[0] <= up_to] for name, points in history.items()}
  return history


def write_hook_history(run_dir: str, history: Mapping[str, Sequence[Sequence[float]]]) -> None:
  run_files.write_json(os.path.join(run_dir, HOOK_METRICS_FILE), history)


def snapshot_capacity(gan_config: GANConfig, train_config: TrainConfig) -> int:
  """How many posterior snapshots the checkpoint holds (its object graph depends on it)."""
  # Snapshots are posterior samples only when SGHMC samples; Adam runs keep none.
  sampling = not gan_config.maximum_likelihood and train_config.optimizer == "sghmc"
  return train_config.max_snapshots if (sampling and train_config.snapshot_every) else 0


def make_checkpoint(gan, snapshots, iteration):
  """The object graph of a run's checkpoints (training and export share it)."""
  import tensorflow as tf
  return tf.train.Checkpoint(gan=gan, snapshots=snapshots, iteration=iteration)


def checkpoint_paths(checkpoint_dir: str) -> List[str]:
  """The checkpoints of `checkpoint_dir`, newest first ([] if none).

  They are the ones the CheckpointManager's state file lists. If that file is missing or
  damaged while checkpoints remain, they are found by their `ckpt-<iteration>.index` files
  instead (with a warning), so one broken bookkeeping file does not hide intact checkpoints.
  """
  import tensorflow as tf
  try:
    state = tf.train.get_checkpoint_state(checkpoint_dir)
  except tf.errors.OpError:
    state = None
  if state is not None and state.model_checkpoint_path:
    paths = [state.model_checkpoint_path]
    return paths + [path for path in reversed(state.all_model_checkpoint_paths) if path not in paths]
  found = _checkpoint_files(checkpoint_dir)
  if found:
    logging.warning("%s is missing or unreadable; using the checkpoints found beside it",
                    os.path.join(checkpoint_dir, _CHECKPOINT_STATE))
  return [os.path.join(checkpoint_dir, name[:-len(".index")]) for name in sorted(found, key=found.get, reverse=True)]


def restore_newest_whole(checkpoint, checkpoint_dir: str, *, partial: bool = False) -> str:
  """Restores the newest checkpoint of `checkpoint_dir` whose files read back whole.

  A disk that filled up or a copy that broke off leaves a truncated data file, and TensorFlow's
  restore then fails deep inside (`IndexError: Read less bytes than requested`, or a
  `DataLossError` for a bad checksum). The CheckpointManager keeps `max_checkpoints` of them, so
  an older one is usually whole: the candidates are tried newest first, and a fallback is logged
  as a warning naming each damaged checkpoint. Each is read in full before it is restored,
  because a restore that fails half-way has already assigned some variables.

  Args:
    checkpoint: the object graph to restore into (`make_checkpoint`'s).
    checkpoint_dir: a CheckpointManager folder.
    partial: the caller uses only some of the saved objects (the export needs no optimizer
      slots): do not warn about the rest.

  Returns:
    The path of the checkpoint restored.

  Raises:
    RunError: no checkpoint, or none reads back whole (one line naming each and why).
  """
  paths = checkpoint_paths(checkpoint_dir)
  if not paths:
    raise RunError(f"no checkpoint in {checkpoint_dir}")
  damaged = []
  for path in paths:
    reason = _why_unreadable(path)
    if reason is None:
      try:
        status = checkpoint.restore(path)
      except _damage_errors() as error:  # the files changed after they were read
        reason = _describe_damage(error, path)
      else:
        status.assert_existing_objects_matched()
        if partial:
          status.expect_partial()
        if damaged:
          logging.warning("skipped damaged checkpoint%s in %s: %s; restored %s, the newest that reads whole",
                          "s" if len(damaged) > 1 else "", checkpoint_dir, "; ".join(damaged),
                          os.path.basename(path))
        return path
    damaged.append(f"{os.path.basename(path)} ({reason})")
  raise RunError(f"no checkpoint in {checkpoint_dir} reads back whole: {'; '.join(damaged)}")


class RestoredRun(NamedTuple):
  """A run folder's latest state: see `restore_run`."""

  gan: "BayesianGAN"
  snapshots: "PosteriorSnapshots"
  iteration: int
  checkpoint_path: str
  dataset_info: DatasetInfo
  train_config: TrainConfig  # as recorded (the GAN's own config is `gan.config`)

  def posterior_discriminators(self):
    """The T discriminator samples: the current chains, then the snapshots.

    A snapshot taken at the checkpoint's own iteration is left out: it is a
    copy of the chains, and would count them twice.
    """
    return list(self.gan.discriminators) + self.snapshots.models(exclude_iteration=self.iteration)


def check_restorable(run_dir: str) -> Tuple[GANConfig, TrainConfig]:
  """The run's recorded configs, if it is a run folder with a checkpoint (no TensorFlow needed).

  Raises:
    RunError: not a run folder, an unreadable record, or no checkpoint.
  """
  for name in (CONFIG_FILE, DATASET_FILE):
    if not os.path.isfile(os.path.join(run_dir, name)):
      raise RunError(f"{run_dir} is not a run folder: {name} not found")
  configs = read_configs(run_dir)
  checkpoint_dir = os.path.join(run_dir, CHECKPOINT_DIR)
  if not _checkpoint_files(checkpoint_dir):
    raise RunError(f"no checkpoint in {checkpoint_dir}")
  return configs


def restore_run(run_dir: str) -> RestoredRun:
  """Rebuilds a run's models from its config.json and newest whole checkpoint.

  A damaged newest checkpoint is skipped with a warning (`restore_newest_whole`).

  Raises:
    RunError: not a run folder, or no checkpoint in it that reads back whole.
  """
  gan_config, train_config = check_restorable(run_dir)
  import tensorflow as tf
  from bgan_tf.bgan import BayesianGAN
  from bgan_tf.snapshots import PosteriorSnapshots
  dataset_info = read_dataset_info(run_dir)
  checkpoint_dir = os.path.join(run_dir, CHECKPOINT_DIR)
  gan = BayesianGAN(gan_config)
  snapshots = PosteriorSnapshots(gan_config.model, snapshot_capacity(gan_config, train_config))
  iteration = tf.Variable(0, dtype=tf.int64, trainable=False)
  # The optimizers' slots are not needed to use the models: partial.
  path = restore_newest_whole(make_checkpoint(gan, snapshots, iteration), checkpoint_dir, partial=True)
  return RestoredRun(gan, snapshots, int(iteration.numpy()), path, dataset_info, train_config)


def _checkpoint_files(checkpoint_dir):
  """{index file name: iteration} of the checkpoints in `checkpoint_dir` ({} if none; no TensorFlow)."""
  names = os.listdir(checkpoint_dir) if os.path.isdir(checkpoint_dir) else []
  return {name: int(match.group(1)) for name in names for match in [_CHECKPOINT_INDEX.match(name)] if match}


def _read_json_object(path):
  """The JSON object in `path`.

  Raises:
    RunError: the file cannot be read, is not JSON, or holds something other than an object.
  """
  try:
    with open(path) as f:
      record = json.load(f)
  except FileNotFoundError:
    raise RunError(f"{path} not found; is {os.path.dirname(path)} a run folder?") from None
  except (OSError, ValueError) as error:
    raise RunError(f"{path} is damaged: {first_line(error)}") from None
  if not isinstance(record, dict):
    raise RunError(f"{path} is damaged: it holds a {type(record).__name__}, not a JSON object")
  return record


def _describe_record_error(error):
  return f"missing {error}" if isinstance(error, KeyError) else first_line(error)


def _damage_errors():
  """What reading a damaged checkpoint raises: IndexError for a truncated file, an OpError
  (DataLossError: bad checksum; NotFoundError: a missing shard) otherwise."""
  import tensorflow as tf
  return (IndexError, tf.errors.OpError)


def _why_unreadable(path):
  """None if every tensor of the checkpoint `path` reads back (checksums included), else why not."""
  import tensorflow as tf
  try:
    reader = tf.train.load_checkpoint(path)
    for name in reader.get_variable_to_shape_map():
      reader.get_tensor(name)
  except _damage_errors() as error:
    return _describe_damage(error, path)
  return None


def _describe_damage(error, path):
  return first_line(first_line(error).replace(path, os.path.basename(path)), max_length=160)


def _field_defaults(configs, prefix=""):
  """{"train.cycle_length": 0, ...}: the default of every config field that has one, as JSON values."""
  defaults = {}
  for name, config in configs.items():
    for field in dataclasses.fields(config):
      key = f"{prefix}{name}.{field.name}"
      value = getattr(config, field.name)
      if dataclasses.is_dataclass(value):
        defaults.update(_field_defaults({field.name: value}, f"{prefix}{name}."))
      elif field.default is not dataclasses.MISSING:
        defaults[key] = json.loads(json.dumps(field.default))
  return defaults


def _flatten(tree, prefix=""):
  """{"a": {"b": 1}} -> {"a.b": 1}."""
  flat = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      flat.update(_flatten(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat
