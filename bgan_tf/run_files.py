"""Files a run writes, each written whole or not at all.

Every writer here writes to a temporary file in the destination folder and
renames it into place (`os.replace` is atomic on POSIX), so a run killed
mid-write never leaves a truncated results file, flagfile or image behind.
"""

import csv
import io
import json
import os
import tempfile
from typing import Optional

import numpy as np
from PIL import Image

__all__ = [
    "atomic_write_bytes",
    "folder_problem",
    "fsync_path",
    "fsync_tree",
    "write_csv",
    "write_json",
    "write_png",
    "write_text",
]


def atomic_write_bytes(path: str, payload: bytes) -> None:
  """Writes `payload` to `path` through a temporary file and a rename."""
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  handle, tmp_path = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
  try:
    with os.fdopen(handle, "wb") as f:
      f.write(payload)
      f.flush()
      os.fsync(f.fileno())
    # mkstemp creates 0600 files; give the usual permissions of a new file.
    os.chmod(tmp_path, 0o666 & ~_umask())
    os.replace(tmp_path, path)
  except BaseException:
    if os.path.exists(tmp_path):
      os.remove(tmp_path)
    raise


def folder_problem(path: str) -> Optional[str]:
  """Why `path` cannot be written into as a folder (made if missing), or None if it can.

  The programs ask this of every output location before any work, so that a file in the way,
  a path under a file or a folder without write permission ends the program in one line at
  start-up, not in a traceback after the data set has loaded (or the run has trained).
  Permission is what `os.access` says: for root the permission bits do not block writes, and
  they do not block them here either.

  Returns:
    None, or a clause naming what is in the way: "it is a file, not a folder",
    "/abs/a_file is a file, not a folder", "it is not writable" or "/abs/parent is not
    writable" (the nearest existing folder, where `path` would be made).
  """
  target = os.path.abspath(path)
  existing = target
  while not os.path.exists(existing):
    if os.path.lexists(existing):
      return f"{_it_or(existing, target)} is a broken symbolic link"
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    return f"{_it_or(existing, target)} is a file, not a folder"
  if not os.access(existing, os.W_OK | os.X_OK):
    return f"{_it_or(existing, target)} is not writable"
  return None


def write_text(path: str, text: str) -> None:
  atomic_write_bytes(path, text.encode("utf-8"))


def write_csv(path: str, header, rows) -> None:
  """Writes a header row and data rows as CSV ("\\n" line ends), atomically."""
  buffer = io.StringIO()
  writer = csv.writer(buffer, lineterminator="\n")
  writer.writerow(header)
  writer.writerows(rows)
  write_text(path, buffer.getvalue())


def write_json(path: str, value) -> None:
  write_text(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def write_png(path: str, image: np.ndarray) -> None:
  """Writes a uint8 image [H, W] or [H, W, C] (C in 1, 3, 4) as PNG."""
  if image.ndim == 3 and image.shape[-1] == 1:
    image = image[..., 0]
  buffer = io.BytesIO()
  Image.fromarray(image).save(buffer, format="PNG")
  atomic_write_bytes(path, buffer.getvalue())


def fsync_tree(root: str) -> None:
  """Flushes every file, then every folder, of `root` to disk (before a rename publishes it)."""
  for folder, _, files in os.walk(root, topdown=False):
    for name in files:
      fsync_path(os.path.join(folder, name))
    fsync_path(folder)


def fsync_path(path: str) -> None:
  """Flushes one file or folder to disk."""
  fd = os.open(path, os.O_RDONLY)
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def _it_or(blocking: str, target: str) -> str:
  return "it" if blocking == target else blocking


def _umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask
