"""Tests for bgan_tf.data pipelines: balanced subset, resumable streams, eval."""

import itertools
import os

import numpy as np
from PIL import Image
import pytest

from bgan_tf.data import DataError
from bgan_tf.data import dataset_from_arrays
from bgan_tf.data import eval_batches
from bgan_tf.data import labeled_batches
from bgan_tf.data import load_dataset
from bgan_tf.data import select_labeled_indices
from bgan_tf.data import unlabeled_batches


def index_dataset(num_train, num_test=5, num_classes=3):
  """Vector data whose single feature is the example's index (unscaled)."""
  x_train = np.arange(num_train, dtype=np.float32)[:, None]
  x_test = np.arange(num_test, dtype=np.float32)[:, None] + 1000
  return dataset_from_arrays("index", x_train,
                             np.arange(num_train) % num_classes, x_test,
                             np.arange(num_test) % num_classes, pixel_range=None, num_classes=num_classes)


def take(ds, num):
  return [tuple(t.numpy() for t in b) if isinstance(b, tuple) else b.numpy() for b in itertools.islice(ds, num)]


@pytest.fixture(scope="module")
def digits():
  return load_dataset("digits")


# ------------------------------------------------------ labeled subset ---


def test_labeled_subset_is_balanced_and_seeded(digits):
  indices = select_labeled_indices(digits, 100, seed=0)
  assert indices.dtype == np.int64 and len(indices) == 100
  assert np.all(np.diff(indices) > 0)  # sorted, unique
  np.testing.assert_array_equal(np.bincount(digits.train_labels[indices]), [10] * 10)
  np.testing.assert_array_equal(indices, select_labeled_indices(digits, 100, seed=0))
  assert not np.array_equal(indices, select_labeled_indices(digits, 100, seed=1))


def test_labeled_subset_remainder(digits):
  indices = select_labeled_indices(digits, 25, seed=3)
  counts = np.bincount(digits.train_labels[indices], minlength=10)
  assert counts.sum() == 25
  assert sorted(counts) == [2] * 5 + [3] * 5


def test_labeled_subset_errors(digits):
  with pytest.raises(DataError, match="smaller than the 10 classes"):
    select_labeled_indices(digits, 9, seed=0)
  with pytest.raises(DataError, match="exceeds the 1437 training examples"):
    select_labeled_indices(digits, 1438, seed=0)
  rare = dataset_from_arrays("rare", np.zeros((10, 2, 2), np.uint8), [0] * 8 + [1] * 2,
                             np.zeros((1, 2, 2), np.uint8), [0], pixel_range=(0, 255))
  with pytest.raises(DataError, match="class 1 .* has 2 training examples"):
    select_labeled_indices(rare, 6, seed=0)
  skewed = dataset_from_arrays("skewed", np.zeros((12, 2, 2), np.uint8), [0] * 10 + [1, 2],
                               np.zeros((1, 2, 2), np.uint8), [0], pixel_range=(0, 255))
  with pytest.raises(DataError, match="only 1 classes"):
    select_labeled_indices(skewed, 5, seed=0)  # 1 per class + 2 extra


# ------------------------------------------------------ training streams ---


@pytest.mark.parametrize("num_train,batch_size", [(10, 4), (12, 4), (7, 16)])
def test_unlabeled_stream_resumes_exactly(num_train, batch_size):
  dataset = index_dataset(num_train)
  ds = unlabeled_batches(dataset, batch_size, seed=7)
  assert ds.element_spec.shape.as_list() == [batch_size, 1]
  batches = take(ds, 9)
  for start in (1, 3, 8):
    resumed = take(unlabeled_batches(dataset, batch_size, 7, start_step=start), 9 - start)
    for a, b in zip(batches[start:], resumed):
      np.testing.assert_array_equal(a, b)


def test_unlabeled_stream_epochs_are_permutations():
  dataset = index_dataset(12)
  flat = np.concatenate(take(unlabeled_batches(dataset, 4, seed=0), 9))[:, 0]
  for epoch in range(3):  # 12 / 4 = 3 batches an epoch
    np.testing.assert_array_equal(np.sort(flat[12 * epoch:12 * (epoch + 1)]), np.arange(12))
  assert not np.array_equal(flat[:12], flat[12:24])  # reshuffled per epoch
  other = np.concatenate(take(unlabeled_batches(dataset, 4, seed=1), 3))[:, 0]
  assert not np.array_equal(flat[:12], other)


def test_batch_larger_than_data_spans_epochs():
  dataset = index_dataset(5)
  (batch,) = take(unlabeled_batches(dataset, 12, seed=2), 1)
  values = batch[:, 0]
  for epoch in range(2):
    np.testing.assert_array_equal(np.sort(values[5 * epoch:5 * epoch + 5]), np.arange(5))


def test_labeled_stream(digits):
  dataset = index_dataset(40, num_classes=4)
  indices = select_labeled_indices(dataset, 8, seed=0)
  ds = labeled_batches(dataset, indices, batch_size=6, seed=0)
  assert [s.shape.as_list() for s in ds.element_spec] == [[6, 1], [6]]
  batches = take(ds, 6)
  for x, y in batches:
    assert y.dtype == np.int32
    assert set(x[:, 0].astype(int)) <= set(indices)
    np.testing.assert_array_equal(y, dataset.train_labels[x[:, 0].astype(int)])
  seen = np.concatenate([x[:, 0] for x, _ in batches[:4]])[:8]
  np.testing.assert_array_equal(np.sort(seen), indices)  # one epoch
  for (xa, ya), (xb, yb) in zip(batches[2:], take(labeled_batches(dataset, indices, 6, 0, 2), 4)):
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(ya, yb)
  # Images are scaled; labeled and unlabeled streams use different orders.
  labeled = next(iter(labeled_batches(digits, np.arange(1437), 32, seed=0)))
  unlabeled = next(iter(unlabeled_batches(digits, 32, seed=0)))
  assert labeled[0].shape == (32, 8, 8, 1) and labeled[0].numpy().min() >= -1
  assert not np.array_equal(labeled[0].numpy(), unlabeled.numpy())


def test_stream_argument_errors(digits):
  with pytest.raises(DataError, match="batch_size"):
    unlabeled_batches(digits, 0, seed=0)
  with pytest.raises(DataError, match="start_step"):
    unlabeled_batches(digits, 4, seed=0, start_step=-1)
  with pytest.raises(DataError, match="outside the 1437 training examples"):
    labeled_batches(digits, [0, 1437], 4, seed=0)
  with pytest.raises(DataError, match="non-empty 1-D int"):
    labeled_batches(digits, [], 4, seed=0)


# ------------------------------------------------------------ evaluation ---


def test_eval_keeps_partial_last_batch(digits):
  batches = take(eval_batches(digits, 100), 10)
  assert [len(y) for _, y in batches] == [100, 100, 100, 60]
  y = np.concatenate([y for _, y in batches])
  np.testing.assert_array_equal(y, digits.test_labels)
  dataset = index_dataset(11, num_test=7)
  x = np.concatenate([x for x, _ in take(eval_batches(dataset, 3, "train"), 9)])
  np.testing.assert_array_equal(x[:, 0], np.arange(11))
  x = np.concatenate([x for x, _ in take(eval_batches(dataset, 3), 9)])
  np.testing.assert_array_equal(x[:, 0], np.arange(7) + 1000)


# ------------------------------------------- file-backed (CelebA) streams ---


def write_tiny_celeb(folder, num=8):
  """Flat-colour JPEGs (image k has red = 30 k) and a CelebA attribute file."""
  os.makedirs(folder / "img_align_celeba")
  names = ["Blond_Hair", "Eyeglasses", "Male", "Pale_Skin", "Young"]
  lines = [str(num), " ".join(names)]
  for k in range(num):
    Image.new("RGB", (40, 50), (30 * k, 0, 0)).save(folder / "img_align_celeba" / f"{k:06d}.png")
    lines.append(f"{k:06d}.png " + " ".join("1" if k >> i & 1 else "-1" for i in range(5)))
  (folder / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")


def test_file_backed_streams(tmp_path):
  write_tiny_celeb(tmp_path)
  dataset = load_dataset("celeb", data_path=tmp_path, image_size=8)
  assert dataset.streams_from_disk
  assert (dataset.train_size, dataset.test_size) == (6, 2)
  np.testing.assert_array_equal(dataset.train_labels, np.arange(6))
  ds = labeled_batches(dataset, np.arange(6), 4, seed=5)
  assert [s.shape.as_list() for s in ds.element_spec] == [[4, 8, 8, 3], [4]]
  batches = take(ds, 4)
  for x, y in batches:
    red = (x[:, 4, 4, 0] + 1) * 127.5 / 30  # image k has red 30 k
    np.testing.assert_allclose(red, y, atol=0.2)
  for (xa, _), (xb, _) in zip(batches[1:], take(labeled_batches(dataset, np.arange(6), 4, 5, 1), 3)):
    np.testing.assert_array_equal(xa, xb)
  sizes = [len(y) for _, y in take(eval_batches(dataset, 3, "train"), 5)]
  assert sizes == [3, 3]
  x = next(iter(unlabeled_batches(dataset, 5, seed=0)))
  assert x.shape == (5, 8, 8, 3)
