"""Data sets for the Bayesian GAN: loaders, a labeled subset and tf.data streams.

    dataset = load_dataset("mnist", data_path="/data/mnist")
    labeled = select_labeled_indices(dataset, num_labeled=100, seed=0)
    for x in unlabeled_batches(dataset, batch_size=64, seed=0, start_step=step):
      ...

See `loaders` for where each data set is looked for and `pipelines` for how
training streams stay resumable by step number.
"""

from bgan_tf.data.dataset import Dataset
from bgan_tf.data.dataset import dataset_from_arrays
from bgan_tf.data.dataset import hold_out_validation
from bgan_tf.data.dataset import scale_to_unit_interval
from bgan_tf.data.loaders import CELEB_ATTRIBUTES
from bgan_tf.data.loaders import DATASET_NAMES
from bgan_tf.data.loaders import load_dataset
from bgan_tf.data.pipelines import eval_batches
from bgan_tf.data.pipelines import labeled_batches
from bgan_tf.data.pipelines import select_labeled_indices
from bgan_tf.data.pipelines import unlabeled_batches
from bgan_tf.errors import DataError

__all__ = [
    "CELEB_ATTRIBUTES",
    "DATASET_NAMES",
    "DataError",
    "Dataset",
    "dataset_from_arrays",
    "eval_batches",
    "hold_out_validation",
    "labeled_batches",
    "load_dataset",
    "scale_to_unit_interval",
    "select_labeled_indices",
    "unlabeled_batches",
]
