"""`load_dataset`: finds a data set on this machine and returns a `Dataset`.

Sources are tried in this order, and the one used is recorded in
`Dataset.source` and logged:

1. the standard files in `data_path` (MNIST IDX files, the CIFAR-10 python
   pickles, SVHN's .mat files, the CelebA folder, or `custom` .npy arrays);
2. a tensorflow-datasets build already prepared in `data_dir`
   (`tfds.load(..., download=False)`);
3. a tensorflow-datasets download, only with `allow_download=True`.

`digits` comes from package data and `synthetic` is generated, so neither
needs files. When nothing works, `DataError` says in one line which paths were
tried, which files were expected and how to get them.
"""

import os

from absl import logging
import numpy as np
import tensorflow as tf

from bgan_tf.data import formats
from bgan_tf.errors import DataError, first_line
from bgan_tf.data.dataset import Dataset
from bgan_tf.data.dataset import dataset_from_arrays
from bgan_tf.data.matlab import read_mat_arrays

__all__ = ["CELEB_ATTRIBUTES", "DATASET_NAMES", "load_dataset"]

DATASET_NAMES = ("mnist", "cifar", "svhn", "celeb", "custom", "digits",
                 "synthetic")

# CelebA classes as in the 2017 code (bgan_util.CelebDataset): the attribute
# columns 9, 15, 20, 26, 39 of list_attr_celeba.txt; class id = sum of 2**i
# over the attributes i present, so 2**5 = 32 classes.
CELEB_ATTRIBUTES = ("Blond_Hair", "Eyeglasses", "Male", "Pale_Skin", "Young")

_TFDS_NAMES = {
    "mnist": "mnist", "cifar": "cifar10", "svhn": "svhn_cropped",
    "celeb": "celeb_a"
}
_DIGIT_NAMES = tuple(str(k) for k in range(10))
_OPTIONS = {
    "celeb": {"crop_size": 108, "image_size": 64},
    "synthetic": {
        "x_dim": 100, "num_clusters": 10, "num_train": 10000, "num_test": 2000
    },
}
_MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
_CUSTOM_FILES = ("x_tr.npy", "y_tr.npy", "x_te.npy", "y_te.npy")
_HOW_TO_GET = {
    "mnist": ("train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
              "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (gzipped "
              "or not; the MNIST IDX files from yann.lecun.com/exdb/mnist or a "
              "mirror)"),
    "cifar": ("cifar-10-batches-py/ with data_batch_1..5, test_batch, "
              "batches.meta (extract cifar-10-python.tar.gz from "
              "www.cs.toronto.edu/~kriz/cifar.html)"),
    "svhn": ("train_32x32.mat and test_32x32.mat (the cropped digits from "
             "ufldl.stanford.edu/housenumbers)"),
    "celeb": ("img_align_celeba/ and list_attr_celeba.txt, optionally "
              "list_eval_partition.txt (from mmlab.ie.cuhk.edu.hk/projects/"
              "CelebA.html)"),
}


def load_dataset(name, *, data_path=None, data_dir=None, allow_download=False,
                 seed=0, **options) -> Dataset:
  """Loads a data set by name from the first source that has it.

  Args:
    name: one of `DATASET_NAMES`.
    data_path: folder with the data set's standard files (required for
      `custom`; ignored by `digits` and `synthetic`).
    data_dir: tensorflow-datasets data folder; default tfds's own
      (`$TFDS_DATA_DIR` or `~/tensorflow_datasets`).
    allow_download: let tensorflow-datasets download and prepare the data if
      no other source has it. Off by default (no network is assumed).
    seed: seed of the generated `synthetic` data; unused by the others.
    **options: per data set: `celeb`: `crop_size` (108), `image_size` (64);
      `synthetic`: `x_dim` (100), `num_clusters` (10), `num_train` (10000),
      `num_test` (2000).

  Returns:
    The loaded `Dataset`.

  Raises:
    DataError: unknown name or option, bad files, or no source found.
  """
  if name not in DATASET_NAMES:
    raise DataError(f"unknown data set {name!r}; choose one of "
                    f"{', '.join(DATASET_NAMES)}")
  defaults = _OPTIONS.get(name, {})
  unknown = sorted(set(options) - set(defaults))
  if unknown:
    allowed = ", ".join(defaults) or "none"
    raise DataError(f"unknown option(s) {', '.join(unknown)} for data set "
                    f"{name!r} (allowed: {allowed})")
  options = {**defaults, **options}
  data_path = None if data_path is None else os.fspath(data_path)
  data_dir = None if data_dir is None else os.fspath(data_dir)

  if name == "digits":
    dataset = _load_digits()
  elif name == "synthetic":
    dataset = _make_synthetic(seed, **options)
  elif name == "custom":
    dataset = _load_custom(data_path)
  else:
    dataset = _load_standard(name, data_path, data_dir, allow_download, options)
  logging.info(
      "Data set %s from %s: %d train / %d test examples of shape %s, "
      "%d classes.", dataset.name, dataset.source, dataset.train_size,
      dataset.test_size, dataset.example_shape, dataset.num_classes)
  return dataset


def _load_standard(name, data_path, data_dir, allow_download, options):
  """Files in data_path, then a prepared tfds build, then a tfds download."""
  tried = []
  if data_path is not None:
    file_loader = {
        "mnist": _mnist_from_files, "cifar": _cifar_from_files,
        "svhn": _svhn_from_files, "celeb": _celeb_from_files
    }[name]
    dataset = file_loader(data_path, tried, options)
    if dataset is not None:
      return dataset
  tfds_name = _TFDS_NAMES[name]
  dataset, tfds_note = _from_tfds(name, tfds_name, data_dir, False, options)
  if dataset is not None:
    return dataset
  if allow_download:
    logging.info("No local %s data; downloading tfds %s.", name, tfds_name)
    dataset, tfds_note = _from_tfds(name, tfds_name, data_dir, True, options)
    if dataset is not None:
      return dataset
  looked = (f"looked in {', '.join(tried)} for "
            if tried else "no data_path given, which should hold ")
  download = ("the tfds download failed"
              if allow_download else "downloads are off (allow_download=False)")
  raise DataError(
      f"no {name} data found: {looked}{_HOW_TO_GET[name]}; {tfds_note}; "
      f"{download}. Put those files in data_path, or on a machine with "
      f"internet run `tfds build {tfds_name}` (or allow_download=True) and "
      "pass its data_dir.")


def _candidates(data_path, *subfolders):
  return [os.path.join(data_path, s) if s else data_path for s in subfolders]


# ----------------------------------------------------------------- MNIST ---


def _mnist_from_files(data_path, tried, options):
  del options
  for folder in _candidates(data_path, "", "mnist", "MNIST/raw"):
    tried.append(folder)
    found = {
        key: _find_file(folder, bases) for key, bases in _MNIST_FILES.items()
    }
    keras_npz = os.path.join(folder, "mnist.npz")
    if found["train_images"] is None and os.path.isfile(keras_npz):
      return _mnist_from_keras_npz(keras_npz)
    if found["train_images"] is None:
      continue
    for key, path in found.items():
      if path is None:
        raise DataError(
            f"{folder}: has {os.path.basename(found['train_images'])} but no "
            f"{_MNIST_FILES[key][0]}.gz (or un-gzipped)")
    x_train = formats.read_idx(found["train_images"], 3)
    y_train = formats.read_idx(found["train_labels"], 1)
    x_test = formats.read_idx(found["test_images"], 3)
    y_test = formats.read_idx(found["test_labels"], 1)
    for images, labels, image_key, label_key in ((x_train, y_train,
                                                  "train_images",
                                                  "train_labels"),
                                                 (x_test, y_test, "test_images",
                                                  "test_labels")):
      if len(images) != len(labels):
        raise DataError(
            f"{found[label_key]}: {len(labels)} labels for {len(images)} "
            f"images in {os.path.basename(found[image_key])}")
      formats.check_labels(labels, 10, found[label_key])
    if x_train.shape[1:] != x_test.shape[1:]:
      raise DataError(f"{found['test_images']}: images are {x_test.shape[1:]}"
                      f", training images are {x_train.shape[1:]}")
    return dataset_from_arrays("mnist", x_train[..., None], y_train,
                               x_test[..., None], y_test, pixel_range=(0, 255),
                               source=f"IDX files in {folder}",
                               class_names=_DIGIT_NAMES)
  return None


def _mnist_from_keras_npz(path):
  arrays = _read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
  for split in ("train", "test"):
    x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
    if x.dtype != np.uint8 or x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
      raise DataError(f"{path}: x_{split} {x.dtype} {x.shape} / y_{split} "
                      f"{y.shape}, expected uint8 [n, 28, 28] and [n]")
    formats.check_labels(y, 10, path)
  return dataset_from_arrays("mnist", arrays["x_train"][..., None],
                             arrays["y_train"], arrays["x_test"][..., None],
                             arrays["y_test"], pixel_range=(0, 255),
                             source=f"Keras mnist.npz {path}",
                             class_names=_DIGIT_NAMES)


def _find_file(folder, bases):
  for base in bases:
    for file_name in (base + ".gz", base):
      path = os.path.join(folder, file_name)
      if os.path.isfile(path):
        return path
  return None


# -------------------------------------------------------------- CIFAR-10 ---


def _cifar_from_files(data_path, tried, options):
  del options
  for folder in _candidates(data_path, "cifar-10-batches-py", ""):
    tried.append(folder)
    if not os.path.isfile(os.path.join(folder, "data_batch_1")):
      continue
    train_files = [f"data_batch_{k}" for k in range(1, 6)]
    for file_name in train_files + ["test_batch"]:
      if not os.path.isfile(os.path.join(folder, file_name)):
        raise DataError(f"{os.path.join(folder, file_name)}: file not found "
                        "(CIFAR-10 needs data_batch_1..5 and test_batch)")
    parts = [
        formats.read_cifar_batch(os.path.join(folder, f)) for f in train_files
    ]
    x_test, y_test = formats.read_cifar_batch(os.path.join(
        folder, "test_batch"))
    meta = os.path.join(folder, "batches.meta")
    class_names = (formats.read_cifar_label_names(meta)
                   if os.path.isfile(meta) else _CIFAR_NAMES)
    return dataset_from_arrays("cifar", np.concatenate([p[0] for p in parts]),
                               np.concatenate([p[1] for p in parts]), x_test,
                               y_test, pixel_range=(0, 255),
                               source=f"CIFAR-10 python batches in {folder}",
                               class_names=class_names)
  return None


_CIFAR_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                "horse", "ship", "truck")

# ------------------------------------------------------------------ SVHN ---


def _svhn_from_files(data_path, tried, options):
  del options
  for folder in _candidates(data_path, "", "svhn"):
    tried.append(folder)
    train_path = os.path.join(folder, "train_32x32.mat")
    if not os.path.isfile(train_path):
      continue
    test_path = os.path.join(folder, "test_32x32.mat")
    if not os.path.isfile(test_path):
      raise DataError(f"{test_path}: file not found (SVHN needs "
                      "train_32x32.mat and test_32x32.mat)")
    x_train, y_train = _read_svhn_mat(train_path)
    x_test, y_test = _read_svhn_mat(test_path)
    return dataset_from_arrays("svhn", x_train, y_train, x_test, y_test,
                               pixel_range=(0, 255),
                               source=f"SVHN .mat files in {folder}",
                               class_names=_DIGIT_NAMES)
  return None


def _read_svhn_mat(path):
  """X (32, 32, 3, n) and y (n, 1) with 10 meaning digit 0 -> [n,32,32,3], [n]."""
  arrays = read_mat_arrays(path, names=("X", "y"))
  for key in ("X", "y"):
    if key not in arrays:
      raise DataError(f"{path}: no numeric variable '{key}'")
  x, y = arrays["X"], arrays["y"]
  if x.ndim != 4 or x.shape[:3] != (32, 32, 3):
    raise DataError(f"{path}: X has shape {x.shape}, expected (32, 32, 3, n)")
  if x.dtype != np.uint8:
    if not np.all(np.isfinite(x)):
      raise DataError(f"{path}: X has NaN or infinite pixels")
    if x.min() < 0 or x.max() > 255 or np.any(x != np.round(x)):
      raise DataError(f"{path}: X has pixels outside the integers 0..255")
    x = x.astype(np.uint8)
  if y.ndim > 2 or y.size != x.shape[3] or (y.ndim == 2 and 1 not in y.shape):
    raise DataError(f"{path}: y has shape {y.shape} for {x.shape[3]} images, "
                    "expected (n, 1)")
  y = y.reshape(-1)
  if not np.all(np.isin(y, np.arange(1, 11))):
    bad = y[~np.isin(y, np.arange(1, 11))]
    raise DataError(f"{path}: {len(bad)} labels outside 1..10 (e.g. {bad[0]})")
  y = y.astype(np.int64) % 10  # SVHN stores digit 0 as label 10.
  return np.ascontiguousarray(x.transpose(3, 0, 1, 2)), y


# ---------------------------------------------------------------- CelebA ---


def _celeb_from_files(data_path, tried, options):
  for folder in _candidates(data_path, "", "celeba", "celebA"):
    tried.append(folder)
    image_dir = os.path.join(folder, "img_align_celeba")
    attr_path = _first_file(folder, "list_attr_celeba.txt")
    if not os.path.isdir(image_dir) and attr_path is None:
      continue
    if attr_path is None:
      raise DataError(f"{folder}: has img_align_celeba/ but no "
                      "list_attr_celeba.txt (nor Anno/list_attr_celeba.txt)")
    if not os.path.isdir(image_dir):
      raise DataError(f"{image_dir}: folder not found (next to {attr_path})")
    return _celeb_dataset(folder, image_dir, attr_path, options)
  return None


def _celeb_dataset(folder, image_dir, attr_path, options):
  names, file_names, values = formats.read_celeb_attributes(attr_path)
  labels = _celeb_class_ids(names, values == 1, attr_path)
  present = set(os.listdir(image_dir))
  missing = [f for f in file_names if f not in present]
  if missing:
    raise DataError(f"{image_dir}: {len(missing)} images listed in "
                    f"{os.path.basename(attr_path)} are missing (e.g. "
                    f"{missing[0]})")
  paths = np.array([os.path.join(image_dir, f) for f in file_names])
  partition_path = _first_file(folder, "list_eval_partition.txt", "Eval")
  if partition_path is not None:
    partition = formats.read_celeb_partition(partition_path)
    unknown = [f for f in file_names if f not in partition]
    if unknown:
      raise DataError(f"{partition_path}: no partition for {len(unknown)} "
                      f"images (e.g. {unknown[0]})")
    split = np.array([partition[f] for f in file_names])
    train, test = split == 0, split == 2
    split_note = f"partition {os.path.basename(partition_path)} (0=train, 2=test)"
  else:
    # The 2017 split: the first 100,000 images train, the next 20,000 test;
    # scaled down (5/6 train, 1/6 test) for a folder of fewer images.
    num = len(file_names)
    num_train = min(100_000, num * 5 // 6)
    num_test = min(20_000, num - num_train)
    train = np.arange(num) < num_train
    test = (np.arange(num) >= num_train) & (np.arange(num)
                                            < num_train + num_test)
    split_note = "file order (2017 split: first 100k train, next 20k test)"
  loader = _celeb_file_loader(options["crop_size"], options["image_size"])
  _check_decodes(loader, paths[0])
  size = options["image_size"]
  logging.info(
      "CelebA: %d train / %d test images, split by %s; decoded, "
      "center-cropped to %d and resized to %d on the fly.", train.sum(),
      test.sum(), split_note, options["crop_size"], size)
  return Dataset(
      name="celeb",
      source=f"CelebA folder {folder}",
      example_shape=(size, size, 3),
      num_classes=2**len(CELEB_ATTRIBUTES),
      class_names=_celeb_class_names(),
      pixel_range=(0, 255),
      train_size=int(train.sum()),
      test_size=int(test.sum()),
      train_labels=labels[train],
      test_labels=labels[test],
      _train_files=paths[train],
      _test_files=paths[test],
      _file_loader=loader,
  )


def _first_file(folder, file_name, subfolder="Anno"):
  for path in (os.path.join(folder, file_name),
               os.path.join(folder, subfolder, file_name)):
    if os.path.isfile(path):
      return path
  return None


def _celeb_class_ids(attribute_names, present, path):
  """present: bool [n, num_attributes] -> int64 class ids in 0..31."""
  columns = []
  for attribute in CELEB_ATTRIBUTES:
    if attribute not in attribute_names:
      raise DataError(f"{path}: no attribute column {attribute!r}")
    columns.append(list(attribute_names).index(attribute))
  bits = np.asarray(present)[:, columns].astype(np.int64)
  return bits @ (2**np.arange(len(CELEB_ATTRIBUTES), dtype=np.int64))


def _celeb_class_names():
  names = []
  for k in range(2**len(CELEB_ATTRIBUTES)):
    on = [a for i, a in enumerate(CELEB_ATTRIBUTES) if k >> i & 1]
    names.append("+".join(on) if on else "none")
  return tuple(names)


def _celeb_file_loader(crop_size, image_size):
  """Returns a TF function: image file path -> uint8 [size, size, 3]."""

  def load(path):
    image = tf.io.decode_image(tf.io.read_file(path), channels=3,
                               expand_animations=False)
    return _celeb_preprocess(image, crop_size, image_size)

  return load


def _celeb_preprocess(image, crop_size, image_size):
  """Center crop `crop_size` (or the short side) then resize, uint8 out."""
  height, width = tf.shape(image)[0], tf.shape(image)[1]
  crop = tf.minimum(crop_size, tf.minimum(height, width))
  image = tf.image.crop_to_bounding_box(image, (height - crop) // 2,
                                        (width - crop) // 2, crop, crop)
  image = tf.image.resize(image, (image_size, image_size), method="bilinear",
                          antialias=True)
  image = tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)
  return tf.ensure_shape(image, (image_size, image_size, 3))


def _check_decodes(loader, path):
  try:
    loader(tf.constant(path))
  except tf.errors.OpError as e:
    raise DataError(f"{path}: cannot decode image ({first_line(e)})") from None


# ------------------------------------------------------------------ tfds ---


def _from_tfds(name, tfds_name, data_dir, download, options):
  """Returns (Dataset or None, a note on why not for the error message)."""
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None, "tensorflow-datasets is not installed"
  root = data_dir or tfds.core.constants.DATA_DIR
  try:
    (train_ds, test_ds), info = tfds.load(tfds_name, split=["train", "test"],
                                          data_dir=data_dir, download=download,
                                          with_info=True)
  except AssertionError:  # tfds's "could not find data in ..." when unprepared
    return None, f"no prepared tfds {tfds_name!r} in {root}"
  except Exception as e:  # pylint: disable=broad-except
    if download:
      return None, f"tfds {tfds_name!r} download into {root} failed: {first_line(e)}"
    raise DataError(
        f"tfds {tfds_name} in {root}: cannot load ({first_line(e)})") from None
  logging.info("Reading tfds %s from %s into memory.", tfds_name, root)
  if name == "celeb":
    size = options["image_size"]

    def convert(example):
      present = tf.stack([example["attributes"][a] for a in CELEB_ATTRIBUTES],
                         axis=-1)
      weights = tf.constant([2**i for i in range(len(CELEB_ATTRIBUTES))],
                            tf.int64)
      label = tf.reduce_sum(tf.cast(present, tf.int64) * weights)
      image = _celeb_preprocess(example["image"], options["crop_size"], size)
      return image, label

    class_names = _celeb_class_names()
  else:

    def convert(example):
      return example["image"], example["label"]

    class_names = tuple(info.features["label"].names)
  x_train, y_train = _tfds_to_numpy(train_ds, convert, tfds_name)
  x_test, y_test = _tfds_to_numpy(test_ds, convert, tfds_name)
  return dataset_from_arrays(name, x_train, y_train, x_test, y_test,
                             pixel_range=(0, 255),
                             source=f"tfds {tfds_name} in {root}",
                             class_names=class_names), ""


def _tfds_to_numpy(ds, convert_fn, tfds_name):
  ds = ds.map(convert_fn, num_parallel_calls=tf.data.AUTOTUNE).batch(2048)
  images, labels = [], []
  try:
    for x, y in ds.prefetch(2).as_numpy_iterator():
      images.append(x)
      labels.append(y)
  except tf.errors.OpError as e:
    raise DataError(
        f"tfds {tfds_name}: cannot read records ({first_line(e)})") from None
  if not images:
    raise DataError(f"tfds {tfds_name}: a split is empty")
  return np.concatenate(images), np.concatenate(labels).astype(np.int64)


# ---------------------------------------------------------------- custom ---


def _load_custom(data_path):
  if data_path is None:
    raise DataError("data set 'custom' needs data_path, a folder with "
                    f"{', '.join(_CUSTOM_FILES)}")
  if not os.path.isdir(data_path):
    raise DataError(f"{data_path}: folder not found (custom data needs "
                    f"{', '.join(_CUSTOM_FILES)})")
  paths = {f: os.path.join(data_path, f) for f in _CUSTOM_FILES}
  missing = [f for f, p in paths.items() if not os.path.isfile(p)]
  if missing:
    raise DataError(f"{paths[missing[0]]}: file not found (custom data needs "
                    f"{', '.join(_CUSTOM_FILES)} in {data_path})")
  x_train = _custom_images(paths["x_tr.npy"])
  x_test = _custom_images(paths["x_te.npy"])
  if x_train.shape[1:] != x_test.shape[1:]:
    raise DataError(f"{paths['x_te.npy']}: images are {x_test.shape[1:]}, "
                    f"x_tr.npy images are {x_train.shape[1:]}")
  y_train, width_train = _custom_labels(paths["y_tr.npy"], len(x_train),
                                        "x_tr.npy")
  y_test, width_test = _custom_labels(paths["y_te.npy"], len(x_test),
                                      "x_te.npy")
  widths = [w for w in (width_train, width_test) if w is not None]
  if len(set(widths)) > 1:
    raise DataError(f"{paths['y_te.npy']}: one-hot width {width_test} differs "
                    f"from y_tr.npy's {width_train}")
  num_classes = max(
      widths +
      [int(y_train.max(initial=0)) +
       1, int(y_test.max(initial=0)) + 1])
  pixel_range, x_train, x_test = _custom_pixel_range(x_train, x_test, paths)
  return dataset_from_arrays("custom", x_train, y_train, x_test, y_test,
                             pixel_range=pixel_range,
                             source=f"custom .npy arrays in {data_path}",
                             num_classes=num_classes)


def _custom_images(path):
  x = formats.read_npy(path)
  if x.ndim not in (3, 4) or 0 in x.shape:
    raise DataError(f"{path}: shape {x.shape}, expected images [n, H, W] or "
                    "[n, H, W, C] with no empty axis")
  if x.dtype == np.bool_ or not (np.issubdtype(x.dtype, np.integer) or
                                 np.issubdtype(x.dtype, np.floating)):
    raise DataError(f"{path}: dtype {x.dtype}, expected uint8 or float pixels")
  if np.issubdtype(x.dtype, np.floating):
    bad = ~np.isfinite(x)
    if bad.any():
      raise DataError(f"{path}: {int(bad.sum())} NaN or infinite pixels")
  return x[..., None] if x.ndim == 3 else x


def _custom_labels(path, num_images, images_name):
  """-> (int64 labels [n], one-hot width or None)."""
  y = formats.read_npy(path)
  width = None
  if y.ndim == 2 and y.shape[1] > 1:
    valid = (np.issubdtype(y.dtype, np.number) and
             np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))
    if not valid:
      raise DataError(f"{path}: 2-D labels {y.shape} are not one-hot rows")
    width, y = y.shape[1], np.argmax(y, axis=1)
  elif y.ndim == 2 and y.shape[1] == 1:
    y = y[:, 0]
  elif y.ndim != 1:
    raise DataError(f"{path}: shape {y.shape}, expected labels [n], [n, 1] "
                    "or one-hot [n, K]")
  if not (np.issubdtype(y.dtype, np.integer) or
          (np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and
           np.all(y == np.round(y)))):
    raise DataError(f"{path}: labels are {y.dtype} and not whole numbers")
  y = y.astype(np.int64)
  if len(y) != num_images:
    raise DataError(f"{path}: {len(y)} labels for {num_images} images in "
                    f"{images_name}")
  if len(y) and y.min() < 0:
    raise DataError(f"{path}: negative label {int(y.min())}; labels must be "
                    "class ids 0..K-1")
  return y, width


def _custom_pixel_range(x_train, x_test, paths):
  """Infers (low, high) from dtype and values; -> (range, x_train, x_test)."""
  names = ("x_tr.npy", "x_te.npy")
  kinds = {x.dtype.kind for x in (x_train, x_test)}
  if len(kinds) > 1:
    raise DataError(f"{paths['x_te.npy']}: dtype {x_test.dtype} differs from "
                    f"x_tr.npy's {x_train.dtype}")
  lows = [float(x.min()) for x in (x_train, x_test)]
  highs = [float(x.max()) for x in (x_train, x_test)]
  low, high = min(lows), max(highs)
  worst = paths[names[int(np.argmin(lows))]] if low < 0 else paths[names[int(
      np.argmax(highs))]]
  if x_train.dtype == np.uint8 and x_test.dtype == np.uint8:
    return (0, 255), x_train, x_test
  if np.issubdtype(x_train.dtype, np.integer):
    if low < 0 or high > 255:
      raise DataError(f"{worst}: integer pixels span {low:g}..{high:g}, "
                      "expected 0..255")
    return (0, 255), x_train.astype(np.uint8), x_test.astype(np.uint8)
  if 0.0 <= low and high <= 1.0:
    pixel_range = (0, 1)
  elif -1.0 <= low and high <= 1.0:
    pixel_range = (-1, 1)
  else:
    raise DataError(f"{worst}: float pixels span {low:g}..{high:g}; expected "
                    "uint8 0..255 or floats in [0, 1] or [-1, 1]")
  return pixel_range, x_train.astype(np.float32), x_test.astype(np.float32)


# ---------------------------------------------------------------- digits ---


def _load_digits():
  path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.npz")
  if not os.path.isfile(path):
    raise DataError(f"{path}: package data file not found (reinstall bgan_tf "
                    "with its package data)")
  arrays = _read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
  return dataset_from_arrays("digits", arrays["x_train"][..., None],
                             arrays["y_train"], arrays["x_test"][..., None],
                             arrays["y_test"], pixel_range=(0, 16),
                             source="package data digits.npz",
                             class_names=_DIGIT_NAMES)


def _read_npz(path, keys):
  try:
    with np.load(path, allow_pickle=False) as npz:
      missing = [k for k in keys if k not in npz.files]
      if missing:
        raise DataError(f"{path}: no array {missing[0]!r}")
      return {k: npz[k] for k in keys}
  except (ValueError, OSError, EOFError) as e:
    raise DataError(f"{path}: not a valid .npz archive ({e})") from None


# ------------------------------------------------------------- synthetic ---


def _make_synthetic(seed, x_dim, num_clusters, num_train, num_test):
  """The paper's synthetic data: clusters in 2-D, each mapped linearly to x_dim.

  Cluster k has a latent mean m_k ~ N(0, 5^2 I_2) and a map A_k ~ N(0, 5^2) of
  shape [x_dim, 2]; its points are x = A_k z with z ~ N(m_k, I_2). Features are
  standardised with the training mean and standard deviation. Labels are the
  cluster ids. (Recipe of `SynthDataset` in the 2017 `bgan_util.py`, where the
  data has 10,000 points in D = 100 dimensions.)
  """
  for option, value in (("x_dim", x_dim), ("num_clusters", num_clusters),
                        ("num_train", num_train), ("num_test", num_test)):
    if not isinstance(value, (int, np.integer)) or value < 1:
      raise DataError(f"synthetic: {option} must be a positive int, got "
                      f"{value!r}")
  if num_train < num_clusters:
    raise DataError(f"synthetic: num_train={num_train} is smaller than "
                    f"num_clusters={num_clusters}")
  rng = np.random.default_rng(seed)
  means = rng.normal(0.0, 5.0, size=(num_clusters, 2))
  maps = rng.normal(0.0, 5.0, size=(num_clusters, x_dim, 2))

  def sample(num):
    labels = np.arange(num) % num_clusters
    rng.shuffle(labels)
    z = rng.normal(size=(num, 2)) + means[labels]
    return np.einsum("ndk,nk->nd", maps[labels], z), labels

  x_train, y_train = sample(num_train)
  x_test, y_test = sample(num_test)
  mean, std = x_train.mean(axis=0), x_train.std(axis=0)
  std[std == 0] = 1.0
  x_train = ((x_train - mean) / std).astype(np.float32)
  x_test = ((x_test - mean) / std).astype(np.float32)
  return dataset_from_arrays(
      "synthetic", x_train, y_train, x_test, y_test, pixel_range=None,
      source=(f"generated synthetic data (seed={seed}, x_dim={x_dim}, "
              f"{num_clusters} clusters)"), num_classes=num_clusters)
