"""Maintainer tool: writes the package data file `bgan_tf/data/digits.npz`. Not installed.

The `digits` data set is the UCI "Optical Recognition of Handwritten Digits"
test set as distributed with scikit-learn (`sklearn.datasets.load_digits`):
1797 grayscale 8x8 images with integer values 0..16 and labels 0..9. See
bgan_tf/data/DIGITS_LICENSE.txt for the licence and citation.

The file holds a fixed, class-stratified train/test split made with numpy
alone (so it does not depend on scikit-learn's splitting code):
  * for each class c, its examples (in scikit-learn's order) are ordered by
    `np.random.default_rng(SPLIT_SEED).random(...)` drawn class by class in
    order c = 0..9;
  * class c gives `round(NUM_TEST * n_c / 1797)` examples to the test set
    (largest remainders fix the total to NUM_TEST), the first ones in that
    order; the rest go to the training set;
  * both sets keep scikit-learn's original order.
With NUM_TEST = 360 and SPLIT_SEED = 0 this gives 1437 train / 360 test.

Arrays: `x_train` uint8 [1437, 8, 8], `y_train` uint8 [1437], `x_test` uint8
[360, 8, 8], `y_test` uint8 [360], `train_index` / `test_index` int16 (rows of
`load_digits()`), `split_seed` and `num_test`.

Usage (scikit-learn needed only here):
    pip install scikit-learn
    python tools/make_digits_npz.py [--out bgan_tf/data/digits.npz]
"""

import argparse
import os

import numpy as np

NUM_TEST = 360
SPLIT_SEED = 0


def stratified_split(labels, num_test, seed):
  """Returns sorted (train_index, test_index), stratified by label."""
  classes, counts = np.unique(labels, return_counts=True)
  exact = num_test * counts / len(labels)
  take = np.floor(exact).astype(int)
  short = num_test - take.sum()
  take[np.argsort(-(exact - take), kind="stable")[:short]] += 1
  rng = np.random.default_rng(seed)
  test = []
  for c, k in zip(classes, take):
    members = np.flatnonzero(labels == c)
    order = np.argsort(rng.random(len(members)), kind="stable")
    test.append(members[order[:k]])
  test = np.sort(np.concatenate(test))
  train = np.setdiff1d(np.arange(len(labels)), test)
  return train, test


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  parser.add_argument("--out", default=os.path.join(repo, "bgan_tf", "data", "digits.npz"))
  args = parser.parse_args()
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  digits = load_digits()
  images = digits.images
  if images.shape != (1797, 8, 8) or images.min() < 0 or images.max() > 16:
    raise SystemExit(f"unexpected digits data: {images.shape}")
  images = images.astype(np.uint8)
  labels = digits.target.astype(np.uint8)
  train, test = stratified_split(labels, NUM_TEST, SPLIT_SEED)
  np.savez_compressed(args.out, x_train=images[train], y_train=labels[train], x_test=images[test],
                      y_test=labels[test], train_index=train.astype(np.int16), test_index=test.astype(np.int16),
                      split_seed=np.int64(SPLIT_SEED), num_test=np.int64(NUM_TEST))
  print(f"wrote {args.out}: {len(train)} train / {len(test)} test, "
        f"{os.path.getsize(args.out)} bytes; test per class "
        f"{np.bincount(labels[test]).tolist()}")


if __name__ == "__main__":
  main()
