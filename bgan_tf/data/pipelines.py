"""tf.data input pipelines and the balanced labeled subset.

Training streams are pure functions of `(seed, start_step)`, so training can be
resumed by iteration number without checkpointing any iterator or shuffle
buffer: epoch `e` of a stream is the permutation
`stateless_shuffle(range(n), seed=fold_in((seed, stream), e))`, the epochs are
concatenated, and batch `i` is positions `[i * b, (i + 1) * b)` of that
sequence (so a batch may span an epoch boundary, or several epochs when
`b > n`). A stream started at `start_step=i` therefore yields exactly the
batches a stream started at 0 yields after `i` batches.

Pixels are kept raw (uint8 for images) and scaled to [-1, 1] per batch with
`scale_to_unit_interval`. File-backed data (CelebA) is read, decoded, cropped
and resized per example inside the pipeline.
"""

from absl import logging
import numpy as np
import tensorflow as tf

from bgan_tf.errors import DataError
from bgan_tf.data.dataset import Dataset
from bgan_tf.data.dataset import scale_to_unit_interval

__all__ = [
    "eval_batches",
    "labeled_batches",
    "select_labeled_indices",
    "unlabeled_batches",
]

# Separate random streams derived from one user seed.
_UNLABELED_STREAM = 0
_LABELED_STREAM = 1
_LABELED_SUBSET = 2


def select_labeled_indices(dataset: Dataset, num_labeled: int,
                           seed: int) -> np.ndarray:
  """Chooses the N labeled training examples, balanced over the K classes.

  Each class gets `N // K` examples; the `N % K` remaining ones go to classes
  drawn at random (among those with an example to spare) and are logged. The
  choice is a deterministic function of `seed`.

  Args:
    dataset: the loaded data set.
    num_labeled: N, the number of labeled examples (the paper's N).
    seed: non-negative int.

  Returns:
    int64 `[num_labeled]` sorted indices into the training set.

  Raises:
    DataError: N < K, N > training set size, or a class with too few
      examples.
  """
  num_labeled = _check_int("num_labeled", num_labeled, 1)
  seed = _check_int("seed", seed, 0)
  num_classes = dataset.num_classes
  if num_labeled < num_classes:
    raise DataError(
        f"num_labeled={num_labeled} is smaller than the {num_classes} classes "
        f"of {dataset.name}: a balanced subset needs at least one per class")
  if num_labeled > dataset.train_size:
    raise DataError(
        f"num_labeled={num_labeled} exceeds the {dataset.train_size} "
        f"training examples of {dataset.name}")
  rng = np.random.default_rng([seed, _LABELED_SUBSET])
  per_class, remainder = divmod(num_labeled, num_classes)
  members = [
      np.flatnonzero(dataset.train_labels == k) for k in range(num_classes)
  ]
  for k, m in enumerate(members):
    if len(m) < per_class:
      raise DataError(
          f"{dataset.name} class {k} ({dataset.class_names[k]}) has "
          f"{len(m)} training examples, fewer than the {per_class} per class "
          f"that num_labeled={num_labeled} needs")
  counts = np.full(num_classes, per_class)
  if remainder:
    spare = np.array([k for k, m in enumerate(members) if len(m) > per_class])
    if len(spare) < remainder:
      raise DataError(
          f"num_labeled={num_labeled}: only {len(spare)} classes of "
          f"{dataset.name} have more than {per_class} examples, "
          f"{remainder} needed for the remainder")
    extra = np.sort(spare[np.argsort(rng.random(len(spare)))[:remainder]])
    counts[extra] += 1
    logging.info(
        "num_labeled=%d is not a multiple of %d classes: %d per class, one "
        "more for classes %s.", num_labeled, num_classes, per_class,
        extra.tolist())
  chosen = [
      m[np.argsort(rng.random(len(m)), kind="stable")[:c]]
      for m, c in zip(members, counts)
  ]
  return np.sort(np.concatenate(chosen)).astype(np.int64)


def unlabeled_batches(dataset: Dataset, batch_size: int, seed: int,
                      start_step: int = 0) -> tf.data.Dataset:
  """Infinite stream of training images, ignoring labels.

  Args:
    dataset: the loaded data set; the whole training set is used.
    batch_size: b.
    seed: non-negative int.
    start_step: index of the first batch (for resuming).

  Returns:
    `tf.data.Dataset` of float32 `[b, *example_shape]` in [-1, 1] (or the raw
    values when `pixel_range` is None).
  """
  batch_size = _check_int("batch_size", batch_size, 1)
  stream = _TrainStream(dataset, None, batch_size, seed, start_step,
                        _UNLABELED_STREAM)
  return stream.build(with_labels=False)


def labeled_batches(dataset: Dataset, indices, batch_size: int, seed: int,
                    start_step: int = 0) -> tf.data.Dataset:
  """Infinite stream of labeled training examples drawn from `indices`.

  Args:
    dataset: the loaded data set.
    indices: int training indices, e.g. from `select_labeled_indices`.
    batch_size: b (may exceed `len(indices)`).
    seed: non-negative int.
    start_step: index of the first batch (for resuming).

  Returns:
    `tf.data.Dataset` of `(x, y)`: float32 `[b, *example_shape]` and int32
    `[b]` class ids.
  """
  batch_size = _check_int("batch_size", batch_size, 1)
  indices = np.asarray(indices)
  if (indices.ndim != 1 or not len(indices) or
      not np.issubdtype(indices.dtype, np.integer)):
    raise DataError(f"indices must be a non-empty 1-D int array, got "
                    f"{indices.dtype} {indices.shape}")
  if indices.min() < 0 or indices.max() >= dataset.train_size:
    raise DataError(f"indices span {indices.min()}..{indices.max()}, outside "
                    f"the {dataset.train_size} training examples")
  stream = _TrainStream(dataset, indices.astype(np.int64), batch_size, seed,
                        start_step, _LABELED_STREAM)
  return stream.build(with_labels=True)


def eval_batches(dataset: Dataset, batch_size: int,
                 split: str = "test") -> tf.data.Dataset:
  """One ordered pass over a split, keeping the last partial batch.

  Args:
    dataset: the loaded data set.
    batch_size: b; the last batch has `size % b` examples if that is nonzero.
    split: "test" (default) or "train".

  Returns:
    Finite `tf.data.Dataset` of `(x, y)`: float32 `[<=b, *example_shape]` and
    int32 `[<=b]`.
  """
  batch_size = _check_int("batch_size", batch_size, 1)
  size = dataset.split_size(split)
  stored, labels = _split_tensors(dataset, split)
  pixel_range = dataset.pixel_range
  if dataset.streams_from_disk:
    loader = dataset._file_loader  # pylint: disable=protected-access
    ds = tf.data.Dataset.range(size).map(
        lambda i: (loader(tf.gather(stored, i)), tf.gather(labels, i)),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size).map(lambda x, y:
                                  (scale_to_unit_interval(x, pixel_range), y))
  else:
    ds = tf.data.Dataset.range(size).batch(
        batch_size).map(lambda idx: (scale_to_unit_interval(
            tf.gather(stored, idx), pixel_range), tf.gather(labels, idx)))
  return ds.prefetch(tf.data.AUTOTUNE)


class _TrainStream:
  """Builds one resumable training stream (see the module docstring)."""

  def __init__(self, dataset, indices, batch_size, seed, start_step, stream):
    self._dataset = dataset
    self._indices = indices
    self._batch_size = batch_size
    self._start_step = _check_int("start_step", start_step, 0)
    seed = _check_int("seed", seed, 0)
    self._seed = tf.constant([seed, stream], tf.int64)
    self._size = dataset.train_size if indices is None else len(indices)
    if self._size == 0:
      raise DataError(f"{dataset.name}: the training set is empty")
    # Keep (step + 1) * b inside int64.
    self._end_step = (2**62) // batch_size

  def _positions(self, step):
    """Indices into range(size) of batch `step`: int64 [b]."""
    b, n = self._batch_size, self._size
    start = step * b
    positions = start + tf.range(b, dtype=tf.int64)
    first_epoch = start // n
    epochs = tf.range(first_epoch, (start + b - 1) // n + 1)

    def permutation(epoch):
      seed = tf.random.experimental.stateless_fold_in(self._seed, epoch)
      return tf.random.experimental.stateless_shuffle(
          tf.range(n, dtype=tf.int64), seed=seed)

    perms = tf.map_fn(permutation, epochs,
                      fn_output_signature=tf.TensorSpec([n], tf.int64))
    where = tf.stack([positions // n - first_epoch, positions % n], axis=1)
    return tf.gather_nd(perms, where)

  def build(self, with_labels):
    stored, labels = _split_tensors(self._dataset, "train")
    pixel_range = self._dataset.pixel_range
    index_map = (None if self._indices is None else tf.constant(
        self._indices, tf.int64))

    def batch_indices(step):
      positions = self._positions(step)
      if index_map is None:
        return positions
      return tf.gather(index_map, positions)

    steps = tf.data.Dataset.range(self._start_step, self._end_step)
    if self._dataset.streams_from_disk:
      # Decode per example in parallel; order is kept, so batch i is the same.
      loader = self._dataset._file_loader  # pylint: disable=protected-access
      ds = steps.map(batch_indices).unbatch().map(
          lambda i: (loader(tf.gather(stored, i)), tf.gather(labels, i)),
          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
      ds = ds.batch(self._batch_size, drop_remainder=True)
      ds = ds.map(lambda x, y: (scale_to_unit_interval(x, pixel_range), y))
      if not with_labels:
        ds = ds.map(lambda x, y: x)
    else:

      def gather_batch(step):
        idx = batch_indices(step)
        x = scale_to_unit_interval(tf.gather(stored, idx), pixel_range)
        return (x, tf.gather(labels, idx)) if with_labels else x

      ds = steps.map(gather_batch, num_parallel_calls=tf.data.AUTOTUNE,
                     deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def _split_tensors(dataset, split):
  """(images or file paths, int32 labels) of a split as cached tensors."""
  cache = dataset._tensor_cache  # pylint: disable=protected-access
  if split not in cache:
    images = getattr(dataset, f"_{split}_images")
    stored = images if images is not None else getattr(dataset,
                                                       f"_{split}_files")
    labels = dataset.split_labels(split).astype(np.int32)
    cache[split] = (tf.convert_to_tensor(stored), tf.constant(labels))
  return cache[split]


def _check_int(name, value, minimum):
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
    raise DataError(f"{name} must be an int, got {value!r}")
  if value < minimum:
    raise DataError(f"{name} must be >= {minimum}, got {value}")
  return int(value)
