"""The training loop behind the programs: steps, evaluation, outputs, resume.

`train` runs a `BayesianGAN` on a `bgan_tf.data.Dataset` in one run folder
(its layout: `bgan_tf.run_dir`): it checkpoints, evaluates every `n_save`
iterations (results JSON, TensorBoard scalars and sample grids, the progress
line), runs the hooks and keeps the posterior snapshots.

The data streams are pure functions of (seed, iteration) and every random
state lives in the checkpoint, so a resumed run gives the numbers of an
uninterrupted one.
"""

import io
import os
import tempfile
import time
from typing import Callable, Dict, Mapping, NamedTuple, Sequence

import numpy as np
import tensorflow as tf
from absl import logging

from bgan_tf import data as data_lib
from bgan_tf import metrics as metrics_lib
from bgan_tf import run_dir as run_dir_lib
from bgan_tf import run_files, summaries
from bgan_tf.bgan import BayesianGAN
from bgan_tf.config import GANConfig, TrainConfig
from bgan_tf.errors import NonFiniteLossError, RunError
from bgan_tf.schedules import is_snapshot_iteration, learning_rate_factor, sampler_step_factor
from bgan_tf.snapshots import PosteriorSnapshots

__all__ = [
    "Hook",
    "TrainResult",
    "evaluate_accuracy",
    "learning_rate_factor",
    "train",
]


class Hook(NamedTuple):
  """An extra evaluation every `every` iterations: fn(gan, iteration) -> {name: value}."""

  every: int
  fn: Callable[[BayesianGAN, int], Mapping[str, float]]


class TrainResult(NamedTuple):
  """What `train` returns.

  Attributes:
    results: the last results dict written (a `results_<iter>.json`).
    hook_history: every hook's values, `{name: [[iteration, value], ...]}`
      (as in `hook_metrics.json`, earlier sessions of a resumed run included).
  """

  results: Dict[str, object]
  hook_history: Dict[str, list]


def evaluate_accuracy(gan: BayesianGAN, dataset, batch_size: int, snapshots=()) -> Dict[str, float]:
  """Test accuracy of the Bayesian ensemble and of the supervised-only classifier.

  Every test example counts, the last partial batch included.

  Args:
    gan: the model.
    dataset: a `bgan_tf.data.Dataset` (its test split is scored).
    batch_size: evaluation batch size.
    snapshots: posterior snapshot discriminators; when given, also the
      accuracy of the posterior predictive over the chains and these (what
      the export serves), as `posterior_acc`.

  Returns:
    {"semi_supervised_acc": chains only (the 2017 figure), "supervised_acc",
     and "posterior_acc" with snapshots}.

  Raises:
    NonFiniteLossError: the chains' or snapshots' class probabilities are not
      finite. Weights can blow up while the losses stay finite (a sampler
      step far too large: losses of 1e15-1e18, docs/BENCHMARKS.md §0), and
      an accuracy from NaN probabilities would look like a poor classifier.
  """
  correct_semi = correct_sup = correct_posterior = total = 0
  num_chains = len(gan.discriminators)
  for x, y in data_lib.eval_batches(dataset, batch_size):
    y = y.numpy()
    chains = gan.predict_proba(x).numpy()
    if not np.all(np.isfinite(chains)):
      raise NonFiniteLossError("non-finite class probabilities from the discriminator chains")
    correct_semi += int(np.sum(np.argmax(chains, axis=1) == y))
    correct_sup += int(np.sum(np.argmax(gan.classifier_predict_proba(x).numpy(), axis=1) == y))
    if snapshots:
      total_probs = chains * num_chains + sum(tf.nn.softmax(m(x, training=False)).numpy() for m in snapshots)
      if not np.all(np.isfinite(total_probs)):
        raise NonFiniteLossError("non-finite class probabilities from the posterior snapshots")
      correct_posterior += int(np.sum(np.argmax(total_probs, axis=1) == y))
    total += len(y)
  accuracies = {"semi_supervised_acc": correct_semi / total, "supervised_acc": correct_sup / total}
  if snapshots:
    accuracies["posterior_acc"] = correct_posterior / total
  return accuracies


def train(gan_config: GANConfig, train_config: TrainConfig, dataset, run_dir: str, *, resume: bool = False,
          hooks: Sequence[Hook] = (), strategy=None) -> TrainResult:
  """Trains (or resumes) a Bayesian GAN run in `run_dir`.

  Args:
    gan_config: the model, sampler and ensemble.
    train_config: the loop's length, schedule and outputs.
    dataset: a `bgan_tf.data.Dataset` matching `gan_config.model`.
    run_dir: the run folder (created if needed).
    resume: continue from the latest checkpoint in `run_dir`.
    hooks: extra evaluations, e.g. the synthetic experiment's JS divergence.
    strategy: a `tf.distribute.Strategy` (default: one device). Under a
      multi-worker strategy only the chief writes the run folder; the others
      keep their (required) checkpoint copies in a temporary folder.

  Returns:
    A `TrainResult`: the last results and the hooks' history.

  Raises:
    RunError: `resume` without a checkpoint, or a fresh run over one.
    NonFiniteLossError: a loss, or the classifier's probabilities at an evaluation, became NaN or Inf.
  """
  loop = _Loop(gan_config, train_config, dataset, run_dir, hooks, strategy)
  loop.restore_or_start(resume)
  return loop.run()


class _Loop:
  """State of one training run; `train` is its only user."""

  def __init__(self, gan_config, train_config, dataset, run_dir, hooks, strategy):
    self.gan_config, self.train_config, self.dataset = gan_config, train_config, dataset
    self.is_chief = _is_chief(strategy)
    # Non-chief workers must still save checkpoints (saving is collective),
    # but into a folder of their own that nobody reads.
    self.shared_checkpoints = os.path.join(run_dir, run_dir_lib.CHECKPOINT_DIR)  # resume reads the chief's
    self.run_dir = run_dir if self.is_chief else tempfile.mkdtemp(prefix="bgan_worker_")
    self.hooks = tuple(hooks) if self.is_chief else ()
    self.semi = gan_config.model.semi_supervised
    self.gan = BayesianGAN(gan_config, strategy=strategy)
    self.snapshots = PosteriorSnapshots(gan_config.model, run_dir_lib.snapshot_capacity(gan_config, train_config))
    self.iteration = tf.Variable(0, dtype=tf.int64, trainable=False, name="iteration")
    self.checkpoint = run_dir_lib.make_checkpoint(self.gan, self.snapshots, self.iteration)
    self.manager = tf.train.CheckpointManager(self.checkpoint,
                                              os.path.join(self.run_dir, run_dir_lib.CHECKPOINT_DIR),
                                              max_to_keep=train_config.max_checkpoints)
    self.writer = (tf.summary.create_file_writer(os.path.join(run_dir, run_dir_lib.TENSORBOARD_DIR))
                   if train_config.tensorboard and self.is_chief else None)
    is_image = len(gan_config.model.example_shape) == 3
    self.sample_z = (tf.random.stateless_uniform(
        [gan_config.num_generators, train_config.num_sample_images, gan_config.model.z_dim],
        seed=[train_config.data_seed, 1], minval=-1.0, maxval=1.0) if is_image else None)
    # Real examples the sample diversity is measured against (as many as the grids hold).
    self.reference_images = (next(
        iter(
            data_lib.unlabeled_batches(dataset, train_config.num_sample_images, train_config.data_seed,
                                       start_step=0))).numpy() if is_image else None)
    self.last_results = {}
    self.hook_history = {}

  def restore_or_start(self, resume):
    latest = tf.train.latest_checkpoint(self.shared_checkpoints)
    if resume:
      try:
        path = run_dir_lib.restore_newest_whole(self.checkpoint, self.shared_checkpoints)
      except RunError as error:
        raise RunError(f"--resume: {error}") from None
      # The hooks' values up to the checkpoint; later ones are measured again.
      if self.is_chief:
        self.hook_history = run_dir_lib.read_hook_history(self.run_dir, up_to=int(self.iteration.numpy()))
      logging.info("resumed from %s at iteration %d", path, int(self.iteration.numpy()))
    elif latest is not None:
      raise RunError(f"{self.run_dir} already holds checkpoints; pass --resume to continue it "
                     "or choose another --run_name")

  def _streams(self, start):
    cfg, seed = self.gan_config, self.train_config.data_seed
    unlabeled = iter(data_lib.unlabeled_batches(self.dataset, cfg.batch_size, seed, start_step=start))
    labeled = None
    if self.semi:
      indices = data_lib.select_labeled_indices(self.dataset, self.train_config.num_labeled, seed)
      labeled = iter(data_lib.labeled_batches(self.dataset, indices, cfg.batch_size, seed, start_step=start))
    return unlabeled, labeled

  def run(self):
    tc, cfg = self.train_config, self.gan_config
    start = int(self.iteration.numpy())
    unlabeled, labeled = self._streams(start)
    interval_steps, step_seconds = 0, 0.0
    sampling = False
    for it in range(start, tc.train_iter):
      step_start = time.perf_counter()
      factor = learning_rate_factor(it, cfg.batch_size, cfg.sampler.data_size, tc.lr_decay)
      sampler_factor = sampler_step_factor(it, cfg.sampler.adam_burn_in, tc.cycle_length, tc.cycle_peak, factor)
      self.gan.set_learning_rate(sghmc_learning_rate=cfg.sampler.learning_rate * sampler_factor,
                                 adam_learning_rate=cfg.sampler.adam_learning_rate * factor,
                                 classifier_learning_rate=cfg.sampler.supervised_learning_rate)
      use_adam = tc.optimizer == "adam" or it < cfg.sampler.adam_burn_in
      if not use_adam and not sampling:
        self.gan.start_sampling()
        sampling = True
      x = next(unlabeled)
      if self.semi:
        x_labeled, y_labeled = next(labeled)
        metrics = self.gan.discriminator_and_supervised_step(x, x_labeled, y_labeled, use_adam=use_adam)
      else:
        metrics = self.gan.discriminator_step(x, use_adam=use_adam)
      # Feature matching compares the fakes with this same real batch, as 2017 did.
      metrics.update(self.gan.generator_step(x_real=x, use_adam=use_adam))
      metrics = {name: value.numpy() for name, value in metrics.items()}
      _check_finite(metrics, it + 1, self.manager.latest_checkpoint)
      self.iteration.assign(it + 1)
      step_seconds += time.perf_counter() - step_start
      interval_steps += 1

      done = it + 1
      # Hooks first, so the progress line can show what they measure (e.g. the JS divergence).
      self._run_hooks(done)
      if done % tc.n_save == 0 or done == tc.train_iter:
        rate = interval_steps / max(step_seconds, 1e-9)
        self._report(done, metrics, rate, sampler_factor)
        interval_steps, step_seconds = 0, 0.0
      burn_in = cfg.sampler.adam_burn_in
      if self.snapshots.capacity and is_snapshot_iteration(done, burn_in, tc.snapshot_every, tc.cycle_length):
        self.snapshots.add(self.gan.discriminators, done)
      if done % tc.checkpoint_every == 0 or done == tc.train_iter:
        self.manager.save(checkpoint_number=done)
    if self.writer:
      self.writer.flush()
    return TrainResult(self.last_results, self.hook_history)

  def _run_hooks(self, done):
    ran = False
    for hook in self.hooks:
      if done % hook.every == 0:
        values = {name: float(value) for name, value in hook.fn(self.gan, done).items()}
        for name, value in values.items():
          self.hook_history.setdefault(name, []).append([done, value])
        if self.writer:
          summaries.write_scalars(self.writer, done, values)
        ran = True
    if ran:
      run_dir_lib.write_hook_history(self.run_dir, self.hook_history)

  def _report(self, done, metrics, rate, lr_factor):
    tc, cfg = self.train_config, self.gan_config
    results = {
        "iteration": done,
        "disc_losses": [float(v) for v in metrics["disc_losses"]],
        "gen_losses": [float(v) for v in metrics["gen_losses"]],
        "learning_rate": cfg.sampler.learning_rate * lr_factor,
        "iterations_per_second": rate,
        "timestamp": time.time(),
    }
    if self.semi:
      snapshots = self.snapshots.models(exclude_iteration=done)
      try:
        results.update(evaluate_accuracy(self.gan, self.dataset, tc.eval_batch_size, snapshots))
      except NonFiniteLossError as error:
        raise NonFiniteLossError(_stop_message(str(error), done, self.manager.latest_checkpoint)) from None
      results["posterior_models"] = len(self.gan.discriminators) + len(snapshots)
      results["supervised_loss"] = float(metrics["supervised_loss"])
    images = self._samples()
    if images is not None:
      # Mode collapse shows as a diversity near 0 (real data: 1).
      results["sample_diversity"] = [metrics_lib.sample_diversity(g, self.reference_images) for g in images]
    run_files.write_json(run_dir_lib.results_path(self.run_dir, done), results)
    self.last_results = dict(results)

    eta = (tc.train_iter - done) / max(rate, 1e-9)
    line = (f"iter {done}/{tc.train_iter} | {rate:.2f} it/s | ETA {_format_seconds(eta)} | "
            f"d_loss {np.mean(results['disc_losses']):.4f} | g_loss {np.mean(results['gen_losses']):.4f}")
    if self.semi:
      line += f" | semi_acc {results['semi_supervised_acc']:.4f}"
      if "posterior_acc" in results:
        line += f" | posterior_acc {results['posterior_acc']:.4f} ({results['posterior_models']} models)"
      line += f" | sup_acc {results['supervised_acc']:.4f}"
    if "sample_diversity" in results:
      line += f" | diversity min {min(results['sample_diversity']):.2f}"
    for name, history in sorted(self.hook_history.items()):  # the latest value of each hook metric
      line += f" | {name} {history[-1][1]:.4f} (iter {history[-1][0]})"
    logging.info(line)

    grids = ({j: summaries.image_grid(g) for j, g in enumerate(images)} if images is not None and
             (self.writer or tc.save_samples) else {})
    if self.writer:
      scalars = {
          "loss/disc_mean": np.mean(results["disc_losses"]), "loss/gen_mean": np.mean(results["gen_losses"]),
          "learning_rate": results["learning_rate"], "iterations_per_second": rate
      }
      scalars.update({f"loss/disc_{k}": v for k, v in enumerate(results["disc_losses"])})
      scalars.update({f"loss/gen_{j}": v for j, v in enumerate(results["gen_losses"])})
      if self.semi:
        scalars.update({
            "accuracy/semi_supervised": results["semi_supervised_acc"],
            "accuracy/supervised": results["supervised_acc"], "loss/supervised": results["supervised_loss"]
        })
        if "posterior_acc" in results:
          scalars["accuracy/posterior_predictive"] = results["posterior_acc"]
      scalars.update({f"diversity/generator_{j}": v for j, v in enumerate(results.get("sample_diversity", []))})
      summaries.write_scalars(self.writer, done, scalars)
      summaries.write_image_grids(self.writer, done, {f"samples/generator_{j}": g for j, g in grids.items()})
    if tc.save_samples:
      for j, grid in grids.items():
        run_files.write_png(os.path.join(self.run_dir, "samples", f"iter_{done:07d}_gen_{j}.png"), grid)
    if tc.save_weights:
      self._save_weights(done)

  def _samples(self):
    """`[num_generators, num_sample_images, H, W, C]` from the fixed z, or None for vector data."""
    if self.sample_z is None:
      return None
    return self.gan.generate(self.sample_z).numpy()

  def _save_weights(self, done):
    arrays = {v.path: v.numpy() for model in self.gan.generators + self.gan.discriminators for v in model.weights}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    run_files.atomic_write_bytes(os.path.join(self.run_dir, "weights", f"iter_{done:07d}.npz"), buffer.getvalue())


def _is_chief(strategy):
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0 and
                                           "chief" not in resolver.cluster_spec().as_dict())


def _check_finite(metrics, iteration, last_checkpoint):
  bad = sorted(name for name, value in metrics.items() if not np.all(np.isfinite(value)))
  if bad:
    raise NonFiniteLossError(_stop_message(f"non-finite {', '.join(bad)}", iteration, last_checkpoint))


def _stop_message(what, iteration, last_checkpoint):
  kept = last_checkpoint or "none was written yet"
  return f"{what} at iteration {iteration}; stopped, last good checkpoint kept: {kept}"


def _format_seconds(seconds: float) -> str:
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  return f"{hours}:{minutes:02d}:{secs:02d}"
