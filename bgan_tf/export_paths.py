"""Where an export goes: TF Serving's folder layout, checked without TensorFlow.

`export_bgan` and `run_bgan_semi --export` check the destination before
TensorFlow loads, so a bad model name, a file in the way, a read-only folder
or a taken version fails in one line within a second of the command
starting. `bgan_tf.export` repeats the check (with models.config, which
needs TF Serving's protos) right before it writes.
"""

import os
import re
from typing import Optional, Set

from bgan_tf import run_files
from bgan_tf.errors import ExportError

__all__ = ["DEFAULT_MODEL_NAME", "check_classifier", "check_paths", "next_version", "versions"]

DEFAULT_MODEL_NAME = "bgan_classifier"
# A model name is a folder name and part of REST URLs (/v1/models/<name>:predict).
_MODEL_NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_VERSION_PATTERN = re.compile(r"[0-9]+")
# TF Serving parses a version folder's name as an int64; larger names are not versions to it.
MAX_VERSION = 2**63 - 1


def versions(model_dir: str) -> Set[int]:
  """The integer versions TF Serving would see in `model_dir`."""
  if not os.path.isdir(model_dir):
    return set()
  return {
      int(name)
      for name in os.listdir(model_dir)
      if _VERSION_PATTERN.fullmatch(name) and int(name) <= MAX_VERSION and os.path.isdir(os.path.join(model_dir, name))
  }


def next_version(model_dir: str) -> int:
  """One more than the largest version in `model_dir` (1 if none).

  Raises:
    ExportError: the largest is already TF Serving's largest (`MAX_VERSION`).
  """
  largest = max(versions(model_dir), default=0)
  if largest >= MAX_VERSION:
    raise ExportError(f"{model_dir} holds version {largest}, the largest TF Serving reads; pass --version")
  return largest + 1


def check_paths(export_base: str, model_name: str = DEFAULT_MODEL_NAME, version: Optional[int] = None) -> None:
  """Checks the model name, the version and that both folders can be written.

  Raises:
    ExportError: a bad name or version, a file in the way, a read-only
      folder, or a version that already exists.
  """
  if not _MODEL_NAME_PATTERN.fullmatch(model_name or ""):
    raise ExportError(f"model name must be letters, digits, '_', '.' or '-' (not starting with '.' "
                      f"or '-'), got {model_name!r}")
  if version is not None and (isinstance(version, bool) or not isinstance(version, int) or
                              not 1 <= version <= MAX_VERSION):
    raise ExportError(f"version must be an integer from 1 to {MAX_VERSION} (TF Serving's int64), got {version!r}")
  model_dir = os.path.join(export_base, model_name)
  for folder in (export_base, model_dir):  # models.config goes into the first, versions into the second
    problem = run_files.folder_problem(folder)
    if problem:
      raise ExportError(f"cannot write to {folder}: {problem}")
  if version is not None and version in versions(model_dir):
    raise ExportError(f"version {version} already exists in {model_dir}; existing versions are never "
                      f"replaced (the next free one is {next_version(model_dir)})")


def check_classifier(run_dir: str, num_classes: int) -> None:
  """Raises ExportError unless the run's discriminators are classifiers (K >= 2 logits)."""
  if num_classes < 2:
    raise ExportError(f"{run_dir} is not a classifier: its discriminators have {num_classes} logit "
                      "(an unsupervised run); export a run of run_bgan_semi")
