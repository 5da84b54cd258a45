"""The `Dataset` record every loader returns, and its pixel scaling.

A `Dataset` describes one data set after loading: its shapes, classes, sizes and
where it came from (`source`), plus private storage for the examples. Images
are kept in their raw dtype (uint8 for every image set shipped as bytes) and
only converted to float per batch by `scale_to_unit_interval`. Large image sets
(CelebA) keep file paths instead of pixels; the pipelines decode them on the fly.
"""

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf

from bgan_tf.errors import DataError

__all__ = [
    "Dataset",
    "dataset_from_arrays",
    "hold_out_validation",
    "scale_to_unit_interval",
]


@dataclasses.dataclass(frozen=True)
class Dataset:
  """A loaded data set: metadata plus private example storage.

  Attributes:
    name: one of `DATASET_NAMES`.
    source: where the examples came from, e.g. "IDX files in /data/mnist".
    example_shape: shape of one example after preprocessing: `(H, W, C)` for
      images, `(D,)` for vectors.
    num_classes: number of classes K; labels are 0..K-1.
    class_names: K strings.
    pixel_range: `(low, high)` of the raw stored values, e.g. `(0, 255)`;
      None when the values are already scaled (synthetic).
    train_size: number of training examples.
    test_size: number of test examples.
    train_labels: int64 `[train_size]`.
    test_labels: int64 `[test_size]`.
  """

  name: str
  source: str
  example_shape: tuple
  num_classes: int
  class_names: tuple
  pixel_range: tuple | None
  train_size: int
  test_size: int
  train_labels: np.ndarray = dataclasses.field(repr=False, compare=False)
  test_labels: np.ndarray = dataclasses.field(repr=False, compare=False)
  # Exactly one of images / files is set per split. Images: `[n, *example_shape]`
  # raw values. Files: `[n]` paths, decoded by `_file_loader(path) -> raw image`.
  _train_images: np.ndarray | None = dataclasses.field(default=None, repr=False,
                                                       compare=False)
  _test_images: np.ndarray | None = dataclasses.field(default=None, repr=False,
                                                      compare=False)
  _train_files: np.ndarray | None = dataclasses.field(default=None, repr=False,
                                                      compare=False)
  _test_files: np.ndarray | None = dataclasses.field(default=None, repr=False,
                                                     compare=False)
  _file_loader: Callable[[tf.Tensor], tf.Tensor] | None = dataclasses.field(
      default=None, repr=False, compare=False)
  _tensor_cache: dict = dataclasses.field(default_factory=dict, init=False,
                                          repr=False, compare=False)

  def __post_init__(self):
    if len(self.class_names) != self.num_classes:
      raise DataError(f"{self.source}: {len(self.class_names)} class names for "
                      f"{self.num_classes} classes")
    if self.train_size < 1:
      raise DataError(f"{self.source}: no training examples")
    for split in ("train", "test"):
      labels = getattr(self, f"{split}_labels")
      size = getattr(self, f"{split}_size")
      images = getattr(self, f"_{split}_images")
      files = getattr(self, f"_{split}_files")
      if (images is None) == (files is None):
        raise DataError(f"{self.source}: {split} split needs images or files")
      stored = images if images is not None else files
      if labels.shape != (size,) or len(stored) != size:
        raise DataError(
            f"{self.source}: {split} split has {len(stored)} examples and "
            f"labels of shape {labels.shape}, expected {size}")
      if images is not None and images.shape[1:] != tuple(self.example_shape):
        raise DataError(
            f"{self.source}: {split} images have shape {images.shape[1:]}, "
            f"expected {tuple(self.example_shape)}")
      if files is not None and self._file_loader is None:
        raise DataError(f"{self.source}: file-backed split without a loader")
      if size and (labels.min() < 0 or labels.max() >= self.num_classes):
        raise DataError(
            f"{self.source}: {split} labels span {labels.min()}..{labels.max()}"
            f", outside 0..{self.num_classes - 1}")

  def split_size(self, split: str) -> int:
    """Number of examples in `split` ("train" or "test")."""
    return getattr(self, f"{_check_split(split)}_size")

  def split_labels(self, split: str) -> np.ndarray:
    """int64 labels of `split` ("train" or "test")."""
    return getattr(self, f"{_check_split(split)}_labels")

  @property
  def streams_from_disk(self) -> bool:
    """True when images are decoded from files per batch (CelebA)."""
    return self._train_files is not None


def dataset_from_arrays(name, x_train, y_train, x_test, y_test, *, pixel_range,
                        source="in-memory arrays", class_names=None,
                        num_classes=None) -> Dataset:
  """Builds a `Dataset` from validated in-memory arrays.

  Args:
    name: data set name recorded in the result.
    x_train: `[n, *example_shape]` raw values.
    y_train: `[n]` int class ids.
    x_test: `[m, *example_shape]` raw values.
    y_test: `[m]` int class ids.
    pixel_range: `(low, high)` of the raw values, or None if already scaled.
    source: description of where the arrays came from.
    class_names: K strings; default `("0", ..., str(K - 1))`.
    num_classes: K; default `len(class_names)` or `max label + 1`.

  Returns:
    A `Dataset` holding the arrays.

  Raises:
    DataError: if shapes, sizes or labels disagree.
  """
  x_train, x_test = np.asarray(x_train), np.asarray(x_test)
  y_train = np.asarray(y_train).astype(np.int64).reshape(-1)
  y_test = np.asarray(y_test).astype(np.int64).reshape(-1)
  if x_train.ndim < 2 or x_train.shape[1:] != x_test.shape[1:]:
    raise DataError(
        f"{source}: train examples {x_train.shape[1:]} and test examples "
        f"{x_test.shape[1:]} differ in shape")
  if num_classes is None:
    if class_names is not None:
      num_classes = len(class_names)
    else:
      num_classes = int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
  if class_names is None:
    class_names = tuple(str(k) for k in range(num_classes))
  return Dataset(
      name=name,
      source=source,
      example_shape=tuple(int(d) for d in x_train.shape[1:]),
      num_classes=int(num_classes),
      class_names=tuple(str(c) for c in class_names),
      pixel_range=None if pixel_range is None else tuple(pixel_range),
      train_size=len(x_train),
      test_size=len(x_test),
      train_labels=y_train,
      test_labels=y_test,
      _train_images=x_train,
      _test_images=x_test,
  )


def hold_out_validation(dataset: Dataset, size: int, seed: int) -> Dataset:
  """The same data set with `size` training examples moved into the test split.

  Hyperparameters are chosen on such a split, never on the test set: the
  returned data set's "test" split is the held-out part of the training
  set, and its training split is the rest (labeled subsets and streams draw
  from that rest only). The real test set is not in it at all.

  Args:
    dataset: a loaded `Dataset`.
    size: examples to hold out, 1 <= size < train_size.
    seed: seeds which examples are held out (a fixed permutation).

  Returns:
    A new `Dataset`.

  Raises:
    DataError: `size` out of range.
  """
  if not 1 <= size < dataset.train_size:
    raise DataError(
        f"{dataset.source}: a validation split of {size} examples needs 1 <= size < "
        f"{dataset.train_size} (the training set)")
  order = np.random.default_rng(seed).permutation(dataset.train_size)
  held, kept = np.sort(order[:size]), np.sort(order[size:])
  stored = "_train_images" if dataset._train_images is not None else "_train_files"
  values = getattr(dataset, stored)
  test_field = stored.replace("train", "test")
  changes = {
      "source":
          f"{dataset.source} (validation: {size} examples held out of the training set, seed {seed})",
      "train_size":
          len(kept),
      "test_size":
          len(held),
      "train_labels":
          dataset.train_labels[kept],
      "test_labels":
          dataset.train_labels[held],
      stored:
          values[kept],
      test_field:
          values[held],
  }
  # The real test split is dropped, not kept beside the validation split.
  other = "_test_files" if test_field == "_test_images" else "_test_images"
  changes[other] = None
  return dataclasses.replace(dataset, **changes)


def scale_to_unit_interval(raw, pixel_range) -> tf.Tensor:
  """Maps raw values affinely from `pixel_range` to [-1, 1] (TF ops only).

  `low` maps to -1 and `high` to 1, matching the generator's tanh output. Used
  by the input pipelines and inside exported SavedModels.

  Args:
    raw: tensor or array of raw values, any real dtype and shape.
    pixel_range: `(low, high)` Python numbers, or None for data that is
      already scaled (then the values are only cast).

  Returns:
    float32 tensor of the same shape.
  """
  x = tf.cast(raw, tf.float32)
  if pixel_range is None:
    return x
  low, high = (float(v) for v in pixel_range)
  if not high > low:
    raise ValueError(f"pixel_range must have low < high, got {pixel_range}")
  return (x - low) / (high - low) * 2.0 - 1.0


def _check_split(split):
  if split not in ("train", "test"):
    raise ValueError(f"split must be 'train' or 'test', got {split!r}")
  return split
