"""The paper's synthetic experiment: how well generated data covers the real.

Every `every` iterations the hook draws samples from all generator samples
(the Bayesian model's predictive is their mixture), projects them with the
real data onto the real data's first two principal components, and reports
the Jensen-Shannon divergence between kernel density estimates of the two
(`bgan_tf.metrics.pca_js_divergence`). It also writes a PCA scatter plot of
real against generated data for each evaluation.

#### References

Saatci, Y. and Wilson, A. G. Bayesian GAN. NIPS 2017, sec. 5.1 and Fig. 2.
"""

import os

import numpy as np

from bgan_tf import data as data_lib
from bgan_tf import metrics, plots
from bgan_tf.train import Hook

__all__ = ["js_divergence_hook", "write_js_curve"]

REAL_COLOUR = (31, 119, 180)
FAKE_COLOUR = (214, 39, 40)


def _real_examples(dataset, num_samples, seed):
  real = np.concatenate([x.numpy() for x, _ in data_lib.eval_batches(dataset, 1000, split="train")])
  keep = np.random.default_rng(seed).permutation(len(real))[:num_samples]
  return real, real[np.sort(keep)]


def js_divergence_hook(dataset, run_dir, every=100, num_samples=2000, seed=0) -> Hook:
  """A `train.Hook` reporting `js_divergence` and writing `pca/iter_<i>.png`.

  Args:
    dataset: the synthetic `bgan_tf.data.Dataset`.
    run_dir: the run folder (plots go to `run_dir/pca/`).
    every: iterations between evaluations (the paper: 100).
    num_samples: real and generated examples compared (equal counts, so the
      density estimates have equal bandwidth rules).
    seed: chooses the real subset.
  """
  all_real, real = _real_examples(dataset, num_samples, seed)
  pca = metrics.fit_pca(all_real, 2)
  real_2d = pca.transform(real)

  def evaluate(gan, iteration):
    per_generator = -(-num_samples // gan.config.num_generators)
    fake = gan.generate(batch_size=per_generator).numpy().reshape(-1, all_real.shape[1])[:num_samples]
    if not np.all(np.isfinite(fake)):
      return {"js_divergence": float("nan")}
    divergence = metrics.pca_js_divergence(real, fake, pca=pca)
    plots.scatter_png([(real_2d, REAL_COLOUR, "real"), (pca.transform(fake), FAKE_COLOUR, "generated")],
                      path=os.path.join(run_dir, "pca", f"iter_{iteration:07d}.png"),
                      title=f"iteration {iteration}: JS {divergence:.3f}")
    return {"js_divergence": divergence}

  return Hook(every=every, fn=evaluate)


def write_js_curve(history, path, label):
  """Plots the hook's `js_divergence` history ([[iteration, value], ...])."""
  points = np.asarray(history.get("js_divergence", []), dtype=float).reshape(-1, 2)
  plots.line_plot_png({label: (points[:, 0], points[:, 1], FAKE_COLOUR)}, path=path,
                      title="JS divergence, real vs generated (PCA space)", y_label="JS", x_label="iteration")
