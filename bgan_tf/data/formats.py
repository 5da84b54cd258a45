"""Readers for the files users hold data sets in, with one-line errors.

Every reader returns plain numpy arrays and raises `DataError` naming the file
and the problem (missing, truncated, wrong magic number or shape, labels out of
range, ...) instead of letting a numpy, gzip or pickle traceback escape.
"""

import gzip
import io
import os
import pickle
import zlib

import numpy as np

from bgan_tf.errors import DataError, first_line

__all__ = [
    "check_labels",
    "read_celeb_attributes",
    "read_celeb_partition",
    "read_cifar_batch",
    "read_cifar_label_names",
    "read_idx",
    "read_npy",
]

_IDX_UBYTE = 0x08


def read_idx(path, ndim: int) -> np.ndarray:
  """Reads an IDX unsigned-byte file (MNIST), gzipped or not.

  Args:
    path: `.gz` or raw IDX file; gzip is detected from the content.
    ndim: expected number of dimensions (3 for images, 1 for labels).

  Returns:
    uint8 array with the dimensions stored in the header.

  Raises:
    DataError: missing, corrupt or truncated file, or a wrong magic number.
  """
  path = str(path)
  raw = _read_bytes(path)
  expected_magic = (_IDX_UBYTE << 8) | ndim
  if len(raw) < 4:
    raise DataError(f"{path}: truncated: {len(raw)} bytes, no IDX header")
  magic = int.from_bytes(raw[:4], "big")
  if magic != expected_magic:
    raise DataError(f"{path}: wrong magic number 0x{magic:08x}, expected "
                    f"0x{expected_magic:08x} (IDX unsigned bytes, {ndim}-D)")
  header = 4 + 4 * ndim
  if len(raw) < header:
    raise DataError(f"{path}: truncated inside the IDX header")
  dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
  count = int(np.prod(dims))
  have = len(raw) - header
  if have != count:
    problem = "truncated" if have < count else "has trailing bytes"
    raise DataError(
        f"{path}: {problem}: header shape {dims} needs {count} bytes of data, "
        f"file has {have}")
  return np.frombuffer(raw, np.uint8, count, header).reshape(dims)


def read_cifar_batch(path) -> tuple[np.ndarray, np.ndarray]:
  """Reads one CIFAR-10 python batch (`data_batch_k` or `test_batch`).

  Args:
    path: the pickled batch file.

  Returns:
    images: uint8 `[n, 32, 32, 3]`.
    labels: int64 `[n]` in 0..9.

  Raises:
    DataError: missing or corrupt file, wrong keys or shapes, bad labels.
  """
  path = str(path)
  batch = _read_pickle(path)
  if not isinstance(batch, dict):
    raise DataError(
        f"{path}: expected a pickled dict, got {type(batch).__name__}")
  data, labels = _key(batch, "data"), _key(batch, "labels")
  if data is None or labels is None:
    raise DataError(f"{path}: missing 'data' or 'labels' entry")
  data = np.asarray(data)
  if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
    raise DataError(
        f"{path}: 'data' is {data.dtype} {data.shape}, expected uint8 "
        "[n, 3072]")
  labels = _as_int_labels(labels, path)
  if len(labels) != len(data):
    raise DataError(f"{path}: {len(data)} images but {len(labels)} labels")
  check_labels(labels, 10, path)
  images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
  return np.ascontiguousarray(images), labels


def read_cifar_label_names(path) -> tuple:
  """Reads `label_names` from CIFAR-10's `batches.meta`."""
  path = str(path)
  meta = _read_pickle(path)
  names = _key(meta, "label_names") if isinstance(meta, dict) else None
  if names is None or len(names) != 10:
    raise DataError(f"{path}: expected 10 'label_names'")
  return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)


def read_celeb_attributes(path) -> tuple[tuple, list, np.ndarray]:
  """Reads CelebA's `list_attr_celeba.txt`.

  The file has a count line, a line of attribute names, then one line per
  image: file name and one +1/-1 value per attribute.

  Args:
    path: the attribute file.

  Returns:
    attribute_names: tuple of strings.
    file_names: list of image file names, in file order.
    values: int8 `[num_images, num_attributes]` of +1/-1.

  Raises:
    DataError: missing or malformed file, naming the line.
  """
  path = str(path)
  lines = _read_text(path).splitlines()
  if len(lines) < 2:
    raise DataError(f"{path}: truncated: needs a count line and a header line")
  try:
    count = int(lines[0].strip())
  except ValueError:
    raise DataError(f"{path}: line 1 should be the image count, got "
                    f"{lines[0][:40]!r}") from None
  names = tuple(lines[1].split())
  rows = [line for line in lines[2:] if line.strip()]
  if len(rows) != count:
    raise DataError(
        f"{path}: header says {count} images but the file lists {len(rows)} "
        "(truncated?)")
  file_names, values = [], np.empty((count, len(names)), np.int8)
  for i, row in enumerate(rows):
    tokens = row.split()
    if len(tokens) != len(names) + 1:
      raise DataError(f"{path}: line {i + 3} has {len(tokens) - 1} values for "
                      f"{len(names)} attributes")
    try:
      row_values = [int(t) for t in tokens[1:]]
    except ValueError:
      raise DataError(f"{path}: line {i + 3} has a non-integer value") from None
    if any(v not in (-1, 1) for v in row_values):
      raise DataError(f"{path}: line {i + 3} has a value other than -1 or 1")
    file_names.append(tokens[0])
    values[i] = row_values
  return names, file_names, values


def read_celeb_partition(path) -> dict:
  """Reads CelebA's `list_eval_partition.txt`: file name -> 0/1/2."""
  path = str(path)
  partition = {}
  for i, line in enumerate(_read_text(path).splitlines()):
    tokens = line.split()
    if not tokens:
      continue
    if len(tokens) != 2 or tokens[1] not in ("0", "1", "2"):
      raise DataError(
          f"{path}: line {i + 1} should be '<file> <0|1|2>', got {line[:40]!r}")
    partition[tokens[0]] = int(tokens[1])
  return partition


def read_npy(path) -> np.ndarray:
  """Loads a `.npy` array without pickles, as a one-line `DataError` on failure."""
  path = str(path)
  if not os.path.isfile(path):
    raise DataError(f"{path}: file not found")
  try:
    return np.load(path, allow_pickle=False)
  except ValueError as e:
    # Object arrays, bad headers and truncated data all land here.
    raise DataError(
        f"{path}: not a valid numeric .npy array ({first_line(e)})") from None
  except (OSError, EOFError) as e:
    raise DataError(f"{path}: cannot read ({e})") from None


def check_labels(labels, num_classes: int, path: str) -> None:
  """Raises `DataError` unless every label is in 0..num_classes-1."""
  if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
    bad = labels[(labels < 0) | (labels >= num_classes)]
    raise DataError(
        f"{path}: {len(bad)} labels outside 0..{num_classes - 1} (e.g. "
        f"{int(bad[0])})")


def _as_int_labels(labels, path):
  try:
    labels = np.asarray(labels)
  except ValueError:
    raise DataError(f"{path}: labels are not a flat list of ints") from None
  if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
    raise DataError(
        f"{path}: labels are {labels.dtype} {labels.shape}, expected ints [n]")
  return labels.astype(np.int64)


def _key(mapping, name):
  value = mapping.get(name.encode())
  return mapping.get(name) if value is None else value


def _read_bytes(path):
  try:
    with open(path, "rb") as f:
      raw = f.read()
  except FileNotFoundError:
    raise DataError(f"{path}: file not found") from None
  except OSError as e:
    raise DataError(f"{path}: cannot read ({e.strerror})") from None
  if raw[:2] == b"\x1f\x8b":
    try:
      raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
      raise DataError(f"{path}: corrupt or truncated gzip data ({e})") from None
  return raw


def _read_text(path):
  try:
    with open(path, encoding="utf-8", errors="replace") as f:
      return f.read()
  except FileNotFoundError:
    raise DataError(f"{path}: file not found") from None
  except OSError as e:
    raise DataError(f"{path}: cannot read ({e.strerror})") from None


class _ArrayUnpickler(pickle.Unpickler):
  """Unpickles only plain containers and numpy arrays (no arbitrary code)."""

  _ALLOWED = {
      ("numpy.core.multiarray", "_reconstruct"),
      ("numpy._core.multiarray", "_reconstruct"),
      ("numpy.core.multiarray", "scalar"),
      ("numpy._core.multiarray", "scalar"),
      ("numpy", "ndarray"),
      ("numpy", "dtype"),
      ("_codecs", "encode"),
  }

  def find_class(self, module, name):
    if (module, name) not in self._ALLOWED:
      raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
    return super().find_class(module, name)


def _read_pickle(path):
  raw = _read_bytes(path)
  try:
    return _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()
  except (pickle.UnpicklingError, EOFError, ValueError, TypeError,
          AttributeError, IndexError, KeyError) as e:
    raise DataError(f"{path}: not a valid CIFAR python pickle ({e})") from None
