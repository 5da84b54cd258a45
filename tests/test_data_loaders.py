"""Tests for bgan_tf.data loaders: each native format, tfds, package data, errors.

Every fixture is a tiny file written in the real on-disk format to tmp_path.
"""

import gzip
import os
import pickle
import zlib

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from bgan_tf import data
from bgan_tf.data import DataError
from bgan_tf.data import load_dataset
from bgan_tf.data.matlab import read_mat_arrays

# ------------------------------------------------------------- writers ---


def write_idx(path, array, gz=True):
  array = np.asarray(array, np.uint8)
  header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">u4").tobytes()
  raw = header + array.tobytes()
  with open(path, "wb") as f:
    f.write(gzip.compress(raw) if gz else raw)


def write_mnist(folder, num_train=12, num_test=5, gz=True, seed=0):
  os.makedirs(folder, exist_ok=True)
  rng = np.random.default_rng(seed)
  arrays = {
      "train-images-idx3-ubyte": rng.integers(0, 256, (num_train, 28, 28)),
      "train-labels-idx1-ubyte": np.arange(num_train) % 10,
      "t10k-images-idx3-ubyte": rng.integers(0, 256, (num_test, 28, 28)),
      "t10k-labels-idx1-ubyte": np.arange(num_test) % 10,
  }
  for base, array in arrays.items():
    write_idx(os.path.join(folder, base + (".gz" if gz else "")), array, gz)
  return arrays


def write_cifar(folder, per_batch=4, num_test=3):
  os.makedirs(folder, exist_ok=True)
  rng = np.random.default_rng(1)
  batches = {}
  for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
    n = num_test if name == "test_batch" else per_batch
    batch = {
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"labels": [int(v) for v in (np.arange(n) + i) % 10], b"batch_label": name.encode()
    }
    with open(os.path.join(folder, name), "wb") as f:
      pickle.dump(batch, f, protocol=2)
    batches[name] = batch
  names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
  with open(os.path.join(folder, "batches.meta"), "wb") as f:
    pickle.dump({b"label_names": names, b"num_vis": 3072}, f, protocol=2)
  return batches


_MI_TYPES = {np.dtype("u1"): 2, np.dtype("i4"): 5, np.dtype("f8"): 9}
_MX_CLASSES = {np.dtype("u1"): 9, np.dtype("f8"): 6}


def write_mat(path, arrays, compress=False, order="<", version=0x0100):
  """Writes a MATLAB level-5 .mat file (numeric arrays only)."""

  def tag(mi_type, size):
    return np.array([mi_type, size], order + "u4").tobytes()

  def element(mi_type, payload, small_ok=False):
    if small_ok and len(payload) <= 4:
      first = np.array([(len(payload) << 16) | mi_type], order + "u4")
      return first.tobytes() + payload.ljust(4, b"\0")
    return tag(mi_type, len(payload)) + payload + b"\0" * (-len(payload) % 8)

  text = b"MATLAB 5.0 MAT-file, written by the bgan_tf tests"
  endian = b"IM" if order == "<" else b"MI"
  out = text.ljust(116, b" ") + b"\0" * 8 + np.array(version, order + "u2").tobytes() + endian
  for name, array in arrays.items():
    array = np.asarray(array)
    flags = np.array([_MX_CLASSES[array.dtype], 0], order + "u4").tobytes()
    dims = np.array(array.shape, order + "i4").tobytes()
    values = array.ravel(order="F").astype(array.dtype.newbyteorder(order))
    payload = (element(6, flags) + element(5, dims) + element(1, name.encode(), small_ok=True) +
               element(_MI_TYPES[array.dtype], values.tobytes()))
    matrix = element(14, payload)
    if compress:
      packed = zlib.compress(matrix)
      out += tag(15, len(packed)) + packed
    else:
      out += matrix
  with open(path, "wb") as f:
    f.write(out)


def svhn_arrays(n, seed, x_dtype=np.uint8):
  rng = np.random.default_rng(seed)
  x = rng.integers(0, 256, (32, 32, 3, n)).astype(x_dtype)
  y = (np.arange(n) % 10 + 1).astype(np.float64).reshape(n, 1)  # 10 = digit 0
  return x, y


def write_svhn(folder, compress=False, order="<", x_dtype=np.uint8):
  os.makedirs(folder, exist_ok=True)
  out = {}
  for split, n, seed in (("train", 11, 2), ("test", 4, 3)):
    x, y = svhn_arrays(n, seed, x_dtype)
    write_mat(os.path.join(folder, f"{split}_32x32.mat"), {"X": x, "y": y}, compress=compress, order=order)
    out[split] = (x, y)
  return out


CELEB_COLUMNS = ("Bangs", "Blond_Hair", "Eyeglasses", "Male", "Pale_Skin", "Smiling", "Young")


def write_celeb(folder, num=12, partition=True, size=(150, 120)):
  """A CelebA-style folder; image k is a flat colour, attributes vary."""
  image_dir = os.path.join(folder, "img_align_celeba")
  os.makedirs(image_dir, exist_ok=True)
  rng = np.random.default_rng(4)
  values = rng.choice([-1, 1], size=(num, len(CELEB_COLUMNS)))
  lines = [str(num), " ".join(CELEB_COLUMNS)]
  for k in range(num):
    file_name = f"{k + 1:06d}.jpg"
    colour = (20 * k % 256, 100, 200)
    Image.new("RGB", size[::-1], colour).save(os.path.join(image_dir, file_name))
    lines.append(f"{file_name}  " + " ".join(f"{v:2d}" for v in values[k]))
  with open(os.path.join(folder, "list_attr_celeba.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
  if partition:
    with open(os.path.join(folder, "list_eval_partition.txt"), "w") as f:
      for k in range(num):
        f.write(f"{k + 1:06d}.jpg {[0, 0, 1, 2][k % 4]}\n")
  bits = (values[:, [1, 2, 3, 4, 6]] == 1).astype(int)
  return bits @ (2**np.arange(5))


def write_custom(folder, x_tr, y_tr, x_te, y_te):
  os.makedirs(folder, exist_ok=True)
  for name, array in (("x_tr", x_tr), ("y_tr", y_tr), ("x_te", x_te), ("y_te", y_te)):
    np.save(os.path.join(folder, name + ".npy"), array)


def all_eval(dataset, split="test", batch_size=4):
  xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in data.eval_batches(dataset, batch_size, split)])
  return np.concatenate(xs), np.concatenate(ys)


def assert_one_line_error(excinfo, *parts):
  message = str(excinfo.value)
  assert "\n" not in message, message
  for part in parts:
    assert str(part) in message, message


# --------------------------------------------------------------- MNIST ---


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("subfolder", ["", "MNIST/raw"])
def test_mnist_idx_files(tmp_path, gz, subfolder):
  arrays = write_mnist(os.path.join(tmp_path, subfolder), gz=gz)
  dataset = load_dataset("mnist", data_path=tmp_path)
  assert dataset.source.startswith("IDX files in ")
  assert (dataset.train_size, dataset.test_size) == (12, 5)
  assert dataset.example_shape == (28, 28, 1)
  assert dataset.num_classes == 10 and dataset.pixel_range == (0, 255)
  assert dataset.train_labels.dtype == np.int64
  np.testing.assert_array_equal(dataset.train_labels, arrays["train-labels-idx1-ubyte"])
  x, y = all_eval(dataset)
  expected = arrays["t10k-images-idx3-ubyte"][..., None] / 127.5 - 1.0
  np.testing.assert_allclose(x, expected, atol=1e-6)
  np.testing.assert_array_equal(y, arrays["t10k-labels-idx1-ubyte"])


def test_mnist_keras_npz(tmp_path):
  rng = np.random.default_rng(0)
  np.savez(tmp_path / "mnist.npz", x_train=rng.integers(0, 256, (6, 28, 28),
                                                        dtype=np.uint8), y_train=np.arange(6, dtype=np.uint8),
           x_test=rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), y_test=np.arange(3, dtype=np.uint8))
  dataset = load_dataset("mnist", data_path=tmp_path)
  assert dataset.source.startswith("Keras mnist.npz")
  assert (dataset.train_size, dataset.test_size) == (6, 3)


def _corrupt_mnist(tmp_path, problem):
  write_mnist(tmp_path)
  images = tmp_path / "train-images-idx3-ubyte.gz"
  labels = tmp_path / "train-labels-idx1-ubyte.gz"
  if problem == "magic":
    raw = bytearray(gzip.decompress(images.read_bytes()))
    raw[2] = 0x0D  # float instead of unsigned byte
    images.write_bytes(gzip.compress(bytes(raw)))
    return images, "magic number"
  if problem == "truncated":
    raw = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(raw[:-100]))
    return images, "truncated"
  if problem == "bad_gzip":
    images.write_bytes(images.read_bytes()[:40])
    return images, "gzip"
  if problem == "missing_labels":
    os.remove(labels)
    return tmp_path, "train-labels-idx1-ubyte"
  if problem == "count_mismatch":
    write_idx(labels, np.arange(11) % 10)
    return labels, "11 labels for 12 images"
  if problem == "label_range":
    write_idx(labels, np.full(12, 10))
    return labels, "outside 0..9"
  raise ValueError(problem)


@pytest.mark.parametrize("problem",
                         ["magic", "truncated", "bad_gzip", "missing_labels", "count_mismatch", "label_range"])
def test_mnist_bad_files(tmp_path, problem):
  path, words = _corrupt_mnist(tmp_path, problem)
  with pytest.raises(DataError) as excinfo:
    load_dataset("mnist", data_path=tmp_path)
  assert_one_line_error(excinfo, path, words)


# ------------------------------------------------------------ CIFAR-10 ---


@pytest.mark.parametrize("point_at_folder", [False, True])
def test_cifar_pickles(tmp_path, point_at_folder):
  folder = tmp_path / "cifar-10-batches-py"
  batches = write_cifar(folder)
  dataset = load_dataset("cifar", data_path=folder if point_at_folder else tmp_path)
  assert dataset.source == f"CIFAR-10 python batches in {folder}"
  assert (dataset.train_size, dataset.test_size) == (20, 3)
  assert dataset.example_shape == (32, 32, 3)
  assert dataset.class_names[0] == "airplane"
  x, y = all_eval(dataset)
  raw = batches["test_batch"][b"data"]
  # Row layout is 1024 red, 1024 green, 1024 blue values, row-major.
  np.testing.assert_allclose(x[1, 0, 5], raw[1, [5, 1029, 2053]] / 127.5 - 1, atol=1e-6)
  np.testing.assert_array_equal(y, batches["test_batch"][b"labels"])


class _Evil:

  def __reduce__(self):
    return (os.system, ("echo pwned",))


@pytest.mark.parametrize("problem", ["missing", "shape", "labels", "pickle", "code"])
def test_cifar_bad_files(tmp_path, problem):
  write_cifar(tmp_path)
  path = tmp_path / "data_batch_3"
  words = []
  if problem == "missing":
    os.remove(path)
    words = ["file not found"]
  elif problem == "shape":
    path.write_bytes(pickle.dumps({b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4}))
    words = ["[n, 3072]"]
  elif problem == "labels":
    path.write_bytes(pickle.dumps({b"data": np.zeros((4, 3072), np.uint8), b"labels": [0, 1, 2, 12]}))
    words = ["outside 0..9"]
  elif problem == "pickle":
    path.write_bytes(b"not a pickle at all")
    words = ["not a valid CIFAR python pickle"]
  else:
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [0]}))
    words = ["refusing to load"]
  with pytest.raises(DataError) as excinfo:
    load_dataset("cifar", data_path=tmp_path)
  assert_one_line_error(excinfo, path, *words)


# ---------------------------------------------------------------- SVHN ---


@pytest.mark.parametrize("compress,order,x_dtype", [(False, "<", np.uint8), (True, "<", np.uint8),
                                                    (False, ">", np.uint8), (True, "<", np.float64)])
def test_svhn_mat(tmp_path, compress, order, x_dtype):
  arrays = write_svhn(tmp_path, compress, order, x_dtype)
  dataset = load_dataset("svhn", data_path=tmp_path)
  assert dataset.source == f"SVHN .mat files in {tmp_path}"
  assert (dataset.train_size, dataset.test_size) == (11, 4)
  assert dataset.example_shape == (32, 32, 3)
  x_train, y_train = arrays["train"]
  np.testing.assert_array_equal(dataset.train_labels, y_train[:, 0].astype(int) % 10)
  assert dataset.train_labels[9] == 0  # label 10 is digit 0
  x, _ = all_eval(dataset, "train", batch_size=5)
  np.testing.assert_allclose(x[3], x_train[..., 3] / 127.5 - 1, atol=1e-6)


def test_mat_reader_matches_scipy(tmp_path):
  sio = pytest.importorskip("scipy.io")
  x, y = svhn_arrays(5, 0)
  for compress in (False, True):
    path = tmp_path / f"s{compress}.mat"
    sio.savemat(path, {"X": x, "y": y, "note": "text is skipped", "z": np.array([[1 + 2j]])},
                do_compression=compress)
    arrays = read_mat_arrays(path)
    assert sorted(arrays) == ["X", "y"]
    np.testing.assert_array_equal(arrays["X"], x)
    np.testing.assert_array_equal(arrays["y"], y)


@pytest.mark.parametrize("problem",
                         ["truncated", "v73", "label", "count", "nan", "missing_test", "no_y", "bad_zlib"])
def test_svhn_bad_files(tmp_path, problem):
  write_svhn(tmp_path)
  path = tmp_path / "train_32x32.mat"
  x, y = svhn_arrays(11, 2)
  if problem == "truncated":
    path.write_bytes(path.read_bytes()[:5000])
    words = ["truncated"]
  elif problem == "v73":
    write_mat(path, {"X": x, "y": y}, version=0x0200)
    words = ["v7.3"]
  elif problem == "label":
    y[4] = 11
    write_mat(path, {"X": x, "y": y})
    words = ["outside 1..10"]
  elif problem == "count":
    write_mat(path, {"X": x, "y": y[:7]})
    words = ["y has shape (7, 1) for 11 images"]
  elif problem == "nan":
    x = x.astype(np.float64)
    x[0, 0, 0, 0] = np.nan
    write_mat(path, {"X": x, "y": y})
    words = ["NaN"]
  elif problem == "missing_test":
    os.remove(tmp_path / "test_32x32.mat")
    path = tmp_path / "test_32x32.mat"
    words = ["file not found"]
  elif problem == "no_y":
    write_mat(path, {"X": x})
    words = ["'y'"]
  else:
    write_mat(path, {"X": x, "y": y}, compress=True)
    raw = bytearray(path.read_bytes())
    raw[200:260] = b"\xff" * 60
    path.write_bytes(bytes(raw))
    words = ["corrupt compressed"]
  with pytest.raises(DataError) as excinfo:
    load_dataset("svhn", data_path=tmp_path)
  assert_one_line_error(excinfo, path, *words)


# -------------------------------------------------------------- CelebA ---


@pytest.mark.parametrize("partition", [True, False])
def test_celeb_folder(tmp_path, partition):
  class_ids = write_celeb(tmp_path, partition=partition)
  dataset = load_dataset("celeb", data_path=tmp_path)
  assert dataset.source == f"CelebA folder {tmp_path}"
  assert dataset.streams_from_disk
  assert dataset.example_shape == (64, 64, 3)
  assert dataset.num_classes == 32 and len(dataset.class_names) == 32
  assert dataset.class_names[0] == "none"
  assert dataset.class_names[5] == "Blond_Hair+Male"
  if partition:  # partition 0 = train, 2 = test, 1 (validation) unused
    train, test = [0, 1, 4, 5, 8, 9], [3, 7, 11]
  else:  # 2017 rule scaled down: first 5/6 train, rest test
    train, test = list(range(10)), [10, 11]
  np.testing.assert_array_equal(dataset.train_labels, class_ids[train])
  np.testing.assert_array_equal(dataset.test_labels, class_ids[test])
  x, y = all_eval(dataset, batch_size=2)
  assert x.shape == (len(test), 64, 64, 3) and y.dtype == np.int32
  # Flat-colour JPEGs stay (nearly) flat after crop and resize.
  expected = np.array([20 * test[0] % 256, 100, 200]) / 127.5 - 1
  np.testing.assert_allclose(x[0].mean(axis=(0, 1)), expected, atol=0.05)


def test_celeb_options(tmp_path):
  write_celeb(tmp_path, num=6)
  dataset = load_dataset("celeb", data_path=tmp_path, crop_size=100, image_size=32)
  assert dataset.example_shape == (32, 32, 3)
  x, _ = all_eval(dataset, "train")
  assert x.shape[1:] == (32, 32, 3)


@pytest.mark.parametrize("problem", ["no_attr", "missing_image", "count", "bad_value", "not_jpeg", "no_column"])
def test_celeb_bad_files(tmp_path, problem):
  write_celeb(tmp_path, num=6, partition=False)
  attr = tmp_path / "list_attr_celeba.txt"
  lines = attr.read_text().splitlines()
  if problem == "no_attr":
    os.remove(attr)
    path, words = tmp_path, ["list_attr_celeba.txt"]
  elif problem == "missing_image":
    os.remove(tmp_path / "img_align_celeba" / "000004.jpg")
    path, words = tmp_path / "img_align_celeba", ["000004.jpg", "missing"]
  elif problem == "count":
    attr.write_text("\n".join(lines[:-2]) + "\n")
    path, words = attr, ["header says 6 images but the file lists 4"]
  elif problem == "bad_value":
    lines[4] = lines[4].replace("-1", " 2", 1).replace(" 1", " 2", 1)
    attr.write_text("\n".join(lines) + "\n")
    path, words = attr, ["line 5"]
  elif problem == "not_jpeg":
    path = tmp_path / "img_align_celeba" / "000001.jpg"
    path.write_bytes(b"this is not an image")
    words = ["cannot decode"]
  else:
    attr.write_text("\n".join([lines[0], lines[1].replace("Male", "Mole")] + lines[2:]) + "\n")
    path, words = attr, ["'Male'"]
  with pytest.raises(DataError) as excinfo:
    load_dataset("celeb", data_path=tmp_path)
  assert_one_line_error(excinfo, path, *words)


# -------------------------------------------------------------- custom ---


@pytest.mark.parametrize("case",
                         ["uint8_nhwc", "float01_nhw", "float11", "onehot", "int64_pixels", "column_labels"])
def test_custom_arrays(tmp_path, case):
  rng = np.random.default_rng(5)
  x_tr = rng.integers(0, 256, (9, 6, 5, 3)).astype(np.uint8)
  x_te = rng.integers(0, 256, (4, 6, 5, 3)).astype(np.uint8)
  y_tr, y_te = np.arange(9) % 3, np.array([0, 1, 2, 1])
  expected = dict(pixel_range=(0, 255), example_shape=(6, 5, 3), num_classes=3)
  if case == "float01_nhw":
    x_tr, x_te = x_tr[..., 0] / 255.0, x_te[..., 0] / 255.0
    expected.update(pixel_range=(0, 1), example_shape=(6, 5, 1))
  elif case == "float11":
    x_tr = (x_tr / 127.5 - 1).astype(np.float32)
    x_te = (x_te / 127.5 - 1).astype(np.float32)
    expected.update(pixel_range=(-1, 1))
  elif case == "onehot":
    y_tr, y_te = np.eye(5)[y_tr], np.eye(5)[y_te]
    expected.update(num_classes=5)
  elif case == "int64_pixels":
    x_tr, x_te = x_tr.astype(np.int64), x_te.astype(np.int64)
  elif case == "column_labels":
    y_tr, y_te = y_tr[:, None], y_te[:, None]
  write_custom(tmp_path, x_tr, y_tr, x_te, y_te)
  dataset = load_dataset("custom", data_path=tmp_path)
  assert dataset.source == f"custom .npy arrays in {tmp_path}"
  for key, value in expected.items():
    assert getattr(dataset, key) == value, key
  np.testing.assert_array_equal(dataset.train_labels, np.arange(9) % 3)
  x, _ = all_eval(dataset)
  assert x.min() >= -1 and x.max() <= 1 and x.shape == (4,) + expected["example_shape"]


@pytest.mark.parametrize(
    "problem",
    ["missing", "nan", "range", "count", "not_onehot", "negative", "object", "shape", "dtype_mix", "rank"])
def test_custom_bad_arrays(tmp_path, problem):
  x_tr = np.zeros((6, 4, 4), np.uint8)
  x_te = np.zeros((3, 4, 4), np.uint8)
  y_tr, y_te = np.arange(6) % 2, np.arange(3) % 2
  bad, words = "x_tr.npy", []
  if problem == "nan":
    x_tr = np.zeros((6, 4, 4), np.float32)
    x_tr[1, 2, 3] = np.nan
    x_te = x_te.astype(np.float32)
    words = ["NaN"]
  elif problem == "range":
    x_tr, x_te = np.full((6, 4, 4), 3.0), np.zeros((3, 4, 4))
    words = ["float pixels span 0..3"]
  elif problem == "count":
    y_tr, bad, words = y_tr[:5], "y_tr.npy", ["5 labels for 6 images"]
  elif problem == "not_onehot":
    y_tr, bad, words = np.full((6, 3), 0.5), "y_tr.npy", ["not one-hot"]
  elif problem == "negative":
    y_te, bad, words = np.array([0, -1, 1]), "y_te.npy", ["negative label"]
  elif problem == "shape":
    x_te, bad = np.zeros((3, 5, 4), np.uint8), "x_te.npy"
  elif problem == "dtype_mix":
    x_te, bad = x_te.astype(np.float32), "x_te.npy"
  elif problem == "rank":
    x_tr, bad, words = np.zeros((6, 16), np.uint8), "x_tr.npy", ["[n, H, W]"]
  write_custom(tmp_path, x_tr, y_tr, x_te, y_te)
  if problem == "missing":
    os.remove(tmp_path / "y_te.npy")
    bad, words = "y_te.npy", ["file not found"]
  elif problem == "object":
    np.save(tmp_path / "y_tr.npy", np.array([{"a": 1}] * 6, dtype=object), allow_pickle=True)
    bad, words = "y_tr.npy", ["not a valid numeric .npy"]
  with pytest.raises(DataError) as excinfo:
    load_dataset("custom", data_path=tmp_path)
  assert_one_line_error(excinfo, tmp_path / bad, *words)


def test_custom_needs_data_path():
  with pytest.raises(DataError, match="needs data_path"):
    load_dataset("custom")


# ------------------------------------------------ digits and synthetic ---


def test_digits_package_data():
  dataset = load_dataset("digits")
  assert dataset.source == "package data digits.npz"
  assert (dataset.train_size, dataset.test_size) == (1437, 360)
  assert dataset.example_shape == (8, 8, 1)
  assert dataset.pixel_range == (0, 16) and dataset.num_classes == 10
  test_counts = np.bincount(dataset.test_labels, minlength=10)
  assert test_counts.min() >= 35 and test_counts.max() <= 37  # stratified
  x, y = all_eval(dataset, batch_size=128)
  assert x.shape == (360, 8, 8, 1) and x.min() == -1.0 and x.max() == 1.0
  package_dir = os.path.dirname(data.__file__)
  assert os.path.getsize(os.path.join(package_dir, "digits.npz")) < 200_000
  assert os.path.isfile(os.path.join(package_dir, "DIGITS_LICENSE.txt"))


def test_synthetic_is_seeded_and_standardised():
  a = load_dataset("synthetic", seed=1)
  b = load_dataset("synthetic", seed=1)
  c = load_dataset("synthetic", seed=2)
  assert a.example_shape == (100,) and a.pixel_range is None
  assert (a.train_size, a.test_size, a.num_classes) == (10000, 2000, 10)
  xa = a._train_images  # pylint: disable=protected-access
  np.testing.assert_array_equal(xa, b._train_images)  # pylint: disable=protected-access
  assert not np.allclose(xa, c._train_images)  # pylint: disable=protected-access
  np.testing.assert_allclose(xa.mean(axis=0), 0, atol=1e-4)
  np.testing.assert_allclose(xa.std(axis=0), 1, atol=1e-4)
  np.testing.assert_array_equal(np.bincount(a.train_labels), [1000] * 10)
  # Each cluster lies in a 2-D linear subspace (before standardisation too).
  centred = xa[a.train_labels == 3] - xa[a.train_labels == 3].mean(axis=0)
  singular = np.linalg.svd(centred, compute_uv=False)
  assert singular[2] < 1e-3 * singular[0]
  small = load_dataset("synthetic", x_dim=7, num_train=50, num_test=5)
  assert small.example_shape == (7,) and small.train_size == 50


# ------------------------------------------------------------------ tfds ---


@pytest.mark.parametrize("name,shape,num_classes", [("mnist", (28, 28, 1), 10), ("cifar", (32, 32, 3), 10),
                                                    ("svhn", (32, 32, 3), 10), ("celeb", (64, 64, 3), 32)])
def test_tfds_prepared_build(tmp_path, name, shape, num_classes):
  tfds = pytest.importorskip("tensorflow_datasets")
  with tfds.testing.mock_data(num_examples=6):
    dataset = load_dataset(name, data_path=tmp_path / "empty", data_dir=tmp_path)
  assert dataset.source.startswith("tfds ")
  assert dataset.source.endswith(f" in {tmp_path}")
  assert dataset.example_shape == shape
  assert dataset.num_classes == num_classes
  assert (dataset.train_size, dataset.test_size) == (6, 6)
  x, y = all_eval(dataset)
  assert x.shape == (6,) + shape and x.min() >= -1 and x.max() <= 1
  assert y.min() >= 0 and y.max() < num_classes


def test_files_take_precedence_over_tfds(tmp_path):
  tfds = pytest.importorskip("tensorflow_datasets")
  write_mnist(tmp_path)
  with tfds.testing.mock_data(num_examples=6):
    dataset = load_dataset("mnist", data_path=tmp_path, data_dir=tmp_path)
  assert dataset.source.startswith("IDX files")


def test_tfds_download_only_when_allowed(tmp_path, monkeypatch):
  tfds = pytest.importorskip("tensorflow_datasets")
  real_load, calls = tfds.load, []

  def fake_load(name, *, download, **kwargs):  # unprepared until downloaded
    calls.append(download)
    if not download:
      raise AssertionError(f"Dataset {name}: could not find data")
    with tfds.testing.mock_data(num_examples=3):
      return real_load(name, download=False, **kwargs)

  monkeypatch.setattr(tfds, "load", fake_load)
  with pytest.raises(DataError, match="allow_download=False"):
    load_dataset("mnist", data_dir=tmp_path)
  assert calls == [False]
  dataset = load_dataset("mnist", data_dir=tmp_path, allow_download=True)
  assert dataset.source == f"tfds mnist in {tmp_path}"
  assert calls == [False, False, True]

  def offline_load(name, *, download, **kwargs):
    del kwargs
    if not download:
      raise AssertionError(f"Dataset {name}: could not find data")
    raise ConnectionError("no route to host\nlong traceback text")

  monkeypatch.setattr(tfds, "load", offline_load)
  with pytest.raises(DataError) as excinfo:
    load_dataset("cifar", data_dir=tmp_path, allow_download=True)
  assert_one_line_error(excinfo, "download into", "no route to host")


@pytest.mark.parametrize("name,expected_file", [("mnist", "train-images-idx3-ubyte.gz"), ("cifar", "data_batch_1"),
                                                ("svhn", "train_32x32.mat"), ("celeb", "list_attr_celeba.txt")])
def test_nothing_found_names_paths_tried(tmp_path, name, expected_file):
  data_path, data_dir = tmp_path / "my_data", tmp_path / "tfds_dir"
  os.makedirs(data_path)
  with pytest.raises(DataError) as excinfo:
    load_dataset(name, data_path=data_path, data_dir=data_dir)
  assert_one_line_error(excinfo, data_path, data_dir, expected_file, "allow_download", "tfds build")


# ---------------------------------------------------- API and scaling ---


def test_unknown_name_and_option():
  with pytest.raises(DataError, match="unknown data set 'imagenet'"):
    load_dataset("imagenet")
  with pytest.raises(DataError, match="unknown option"):
    load_dataset("digits", x_dim=3)
  assert data.DATASET_NAMES == ("mnist", "cifar", "svhn", "celeb", "custom", "digits", "synthetic")


def test_dataset_repr_hides_arrays():
  dataset = load_dataset("digits")
  text = repr(dataset)
  assert "array" not in text and "_train_images" not in text
  assert "train_size=1437" in text
  with pytest.raises(AttributeError):
    dataset.name = "other"  # frozen


@pytest.mark.parametrize("pixel_range,low,high", [((0, 255), 0, 255), ((0, 16), 0, 16), ((0, 1), 0.0, 1.0),
                                                  ((-1, 1), -1.0, 1.0)])
def test_scale_endpoints(pixel_range, low, high):
  raw = np.array([low, high])
  np.testing.assert_array_equal(data.scale_to_unit_interval(raw, pixel_range).numpy(), [-1.0, 1.0])
  scaled = tf.function(lambda r: data.scale_to_unit_interval(r, pixel_range))(tf.constant(
      raw, tf.uint8 if high > 1 else tf.float32))
  assert scaled.dtype == tf.float32
  np.testing.assert_array_equal(scaled.numpy(), [-1.0, 1.0])


def test_scale_none_is_a_cast():
  raw = np.array([-3.5, 7.0])
  out = data.scale_to_unit_interval(raw, None)
  assert out.dtype == tf.float32
  np.testing.assert_array_equal(out.numpy(), raw.astype(np.float32))
