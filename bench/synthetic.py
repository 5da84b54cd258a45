"""Mode coverage of the Bayesian GAN against maximum likelihood, on synthetic data.

Two experiments, each a run at a time in this process, several seeds each:

1. The paper's synthetic experiment (`bgan_synth`, run through `bgan_tf.cli`
   with its defaults: x_dim 100, z_dim 2, 1000 iterations): the
   Jensen-Shannon divergence between real and generated data in the real
   data's PCA plane, every --eval_every iterations. Methods:
     bayes        --numz=J --num_mcmc=M (SGHMC, the program's lr 0.01, lr_decay 3)
     ml           --numz=1 --ml (Adam 2e-4, lr_decay 3)
     bayes_const  bayes with constant rates: --lr_decay=0 --lr=--const_lr
     ml_const     ml with a constant Adam rate: --lr_decay=0
     bayes_2017   --recipe=2017 --numz=J --num_mcmc=1: the 2017 setup (1000-unit
                  leaky-ReLU MLPs, no batch norm in G, one discriminator, Adam
                  at lr 0.01 decayed, logsumexp over generators; bgan_synth.py,
                  bgan_models.py)
     ml_2017      --recipe=2017 --numz=1 --ml: the 2017 ML GAN (ml = numz == 1)
     bayes_2017_sghmc  bayes_2017 with a sampler: Adam for the first two
                  thirds, then run_bgan_semi's SGHMC (preconditioned by the
                  burn-in's Adam scales, friction 1, T 0.01, Langevin noise,
                  cycles of 100 iterations, here from the burn-in's last Adam
                  step, 0.05 x lr, see SAMPLER_2017_SGHMC): is the coverage
                  the networks' and objective's, or does the sampler keep it?
   The `_const` pair is a control: lr_decay 3 shrinks every rate by e^-3
   within the first epoch (156 iterations at batch 64 on 10,000 examples).
2. A ring of 8 2-D Gaussians (std 0.02, radius 2) and a 5x5 grid of 25
   (std 0.05, spacing 2), built with `mode_coverage.sample_ring_or_grid` (bench/)
   and trained with `bgan_tf.train.train` (MLP networks, linear generator
   output, constant rates: SGHMC --mode_lr, Adam --mode_adam_lr): modes covered and the fraction of high-quality
   samples (within 3 std of a mode), from samples of all generator samples. The
   `_2017` methods train the same data with the 2017 synthetic setup instead
   (the networks and Adam schedule of bgan_synth --recipe=2017);
   `bayes_burnin` runs Adam for two thirds of the run, then the default
   recipe's SGHMC (friction 0.1, T 0.01); `bayes_2017_sghmc` the 2017 setup
   with the sampler, as in experiment 1.

Results in --out_dir: `js_divergence.{json,csv,png}`, `pca_<method>_seed<s>.png`,
`mode_coverage.{json,csv}`, `mode_samples.png`, `mode_coverage_curves.png`
and `tables.md` (the markdown tables of `--report`).

  python bench/synthetic.py              # both experiments, 3 seeds
  python bench/synthetic.py --quick      # the 2-minute check
  python bench/synthetic.py --report     # tables from the JSON only

#### References

Saatci, Y. and Wilson, A. G. Bayesian GAN. NIPS 2017, sec. 5.1 and Fig. 2.
Metz, L. et al. Unrolled Generative Adversarial Networks. ICLR 2017 (the ring).
Srivastava, A. et al. VEEGAN. NIPS 2017 (the grid; high-quality samples).
"""

import gc
import io
import json
import math
import os
import shutil
import statistics
import sys
import time

from absl import app, flags, logging

from machine import machine_info  # noqa: E402  (bench/machine.py)
from bgan_tf.errors import NonFiniteLossError  # noqa: E402  (no TensorFlow import)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__all__ = [
    "MIXTURES",
    "PAPER_METHODS",
    "markdown_tables",
    "mixture_dataset",
    "run_mixture",
    "run_paper",
]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT_DIR = os.path.join(REPO, "bench", "results", "synthetic")
DEFAULT_WORK_DIR = "/tmp/bgan_bench/synthetic"

PAPER_METHODS = ("bayes", "ml", "bayes_const", "ml_const", "bayes_2017", "ml_2017", "bayes_2017_sghmc")
MODE_METHODS = ("bayes", "ml", "bayes_burnin", "bayes_2017", "ml_2017", "bayes_2017_sghmc")
# bayes_2017_sghmc's sampler after its Adam burn-in: run_bgan_semi's under the bgan_tf recipe,
# but with each cycle starting at the burn-in's last Adam step (lr x e^-3 = 0.05 x lr, after the
# 2017 decay) where run_bgan_semi starts at 0.5 x lr. With 0.5 (10x the last Adam step) the
# paper experiment's losses went non-finite 7 iterations into the sampler, on every seed tried
# (docs/BENCHMARKS.md §2).
SAMPLER_2017_SGHMC = dict(preconditioner="adam", friction=1.0, temperature=0.01, noise="langevin", cycle_length=100,
                          cycle_peak=0.05)
# name: (centres function, its arguments, mode std), as in Metz et al. and VEEGAN.
MIXTURES = {
    "ring": ("ring_modes", dict(num_modes=8, radius=2.0), 0.02), "grid": ("grid_modes", dict(side=5,
                                                                                             spacing=2.0), 0.05)
}
COLOURS = {
    "bayes": "tab:red", "ml": "tab:blue", "bayes_const": "tab:orange", "ml_const": "tab:cyan",
    "bayes_2017": "tab:purple", "ml_2017": "tab:green", "bayes_burnin": "tab:olive", "bayes_2017_sghmc": "tab:brown"
}

QUICK = dict(seeds=["0", "1"], train_iter=60, eval_every=20, numz=4, num_mcmc=1, mode_iter=100, mode_eval_every=50,
             mode_num_gen=4, mode_num_mcmc=1, num_eval_samples=500, num_mode_samples=500)

SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds: --random_seed of each run (and of its data).")
PARTS = flags.DEFINE_list("parts", ["paper", "modes"], "Experiments: paper (JS divergence), modes (ring/grid).")
METHODS_FLAG = flags.DEFINE_list(
    "methods",
    list(PAPER_METHODS) + ["bayes_burnin"],
    f"Paper-experiment methods, from {', '.join(PAPER_METHODS)}; the ring/grid "
    "runs use those of MODE_METHODS that are listed.")
NUMZ = flags.DEFINE_integer("numz", 10, "Bayesian: J generator samples (bgan_synth --numz).")
NUM_MCMC = flags.DEFINE_integer("num_mcmc", 2, "Bayesian: M chains per sample.")
TRAIN_ITER = flags.DEFINE_integer("train_iter", 1000, "Paper experiment: iterations per run.")
X_DIM = flags.DEFINE_integer("x_dim", 100, "Paper experiment: data dimension.")
Z_DIM = flags.DEFINE_integer("z_dim", 2, "Paper experiment: noise dimension.")
EVAL_EVERY = flags.DEFINE_integer("eval_every", 100, "Paper experiment: iterations between JS evaluations.")
NUM_EVAL_SAMPLES = flags.DEFINE_integer("num_eval_samples", 2000, "Real and generated points per JS evaluation.")
CONST_LR = flags.DEFINE_float(
    "const_lr", 0.0005, "SGHMC rate of bayes_const (0.01 * e^-3 ~ 5e-4: the rate lr_decay 3 reaches after "
    "one epoch).")
MIXTURE_LIST = flags.DEFINE_list("mixtures", list(MIXTURES), "2-D mixtures: ring, grid.")
MODE_ITER = flags.DEFINE_integer("mode_iter", 3000, "Ring/grid: iterations per run.")
MODE_EVAL_EVERY = flags.DEFINE_integer("mode_eval_every", 500, "Ring/grid: iterations between coverage counts.")
MODE_NUM_GEN = flags.DEFINE_integer("mode_num_gen", 10, "Ring/grid Bayesian: J generator samples.")
MODE_NUM_MCMC = flags.DEFINE_integer("mode_num_mcmc", 2, "Ring/grid Bayesian: M chains per sample.")
MODE_Z_DIM = flags.DEFINE_integer("mode_z_dim", 16, "Ring/grid: noise dimension.")
MODE_HIDDEN = flags.DEFINE_list("mode_hidden", ["128", "128"], "Ring/grid: MLP hidden widths (both networks).")
MODE_BATCH_SIZE = flags.DEFINE_integer("mode_batch_size", 64, "Ring/grid: minibatch size.")
MODE_LR = flags.DEFINE_float("mode_lr", 0.005, "Ring/grid: constant SGHMC rate (Bayesian).")
MODE_ADAM_LR = flags.DEFINE_float("mode_adam_lr", 2e-4, "Ring/grid: Adam rate (ML).")
MODE_PRIOR_STD = flags.DEFINE_float("mode_prior_std", 10.0, "Ring/grid: prior std (bgan_synth's default).")
MODE_FRICTION = flags.DEFINE_float("mode_friction", 0.1, "Ring/grid: SGHMC friction (bgan_synth's default).")
NUM_TRAIN = flags.DEFINE_integer("num_train", 10000, "Ring/grid: training points drawn from the mixture.")
NUM_MODE_SAMPLES = flags.DEFINE_integer("num_mode_samples", 2500, "Ring/grid: generated points scored.")
QUICK_MODE = flags.DEFINE_bool("quick", False, "A ~2-minute run with a tiny budget, to check the program.")
REPORT = flags.DEFINE_bool("report", False,
                           "Only rewrite tables.md and the plots from the JSON, and print the tables.")
WORK_DIR = flags.DEFINE_string("work_dir", None, f"Run folders; default {DEFAULT_WORK_DIR}[_quick].")
OUT_DIR = flags.DEFINE_string("out_dir", None, "Results folder; default bench/results/synthetic "
                              "(--quick: WORK_DIR/results).")


def setting(name):
  """A flag's value, replaced by its --quick value unless given explicitly."""
  flag = flags.FLAGS[name]
  if QUICK_MODE.value and name in QUICK and not flag.present:
    return QUICK[name]
  return flag.value


def paper_method_flags(method):
  """bgan_synth flags of a paper-experiment method."""
  if method not in PAPER_METHODS:
    raise ValueError(f"unknown method {method!r}; choose from {PAPER_METHODS}")
  if method == "bayes_2017":  # the 2017 script had M = 1 (bgan_synth.py:90)
    return ["--recipe=2017", f"--numz={setting('numz')}", "--num_mcmc=1"]
  if method == "ml_2017":
    return ["--recipe=2017", "--numz=1", "--ml"]
  if method == "bayes_2017_sghmc":
    return ["--recipe=2017", f"--numz={setting('numz')}", "--num_mcmc=1", "--optimizer=sghmc",
            f"--burn_in={2 * setting('train_iter') // 3}"] + [f"--{k}={v}" for k, v in SAMPLER_2017_SGHMC.items()]
  base = (["--numz=1", "--ml"]
          if method.startswith("ml") else [f"--numz={setting('numz')}", f"--num_mcmc={setting('num_mcmc')}"])
  if method == "bayes_const":
    base += ["--lr_decay=0", f"--lr={CONST_LR.value}"]
  elif method == "ml_const":
    base += ["--lr_decay=0"]
  return base


def run_paper(method, seed, work_dir):
  """One bgan_synth run with the JS-divergence hook, in this process.

  Returns:
    (run folder, [[iteration, js], ...], wall seconds, bgan_synth arguments).
  """
  from bgan_tf import cli, synthetic
  train_iter = setting("train_iter")
  run_name = f"paper_{method}_seed{seed}"
  run_dir = os.path.join(work_dir, run_name)
  if os.path.exists(run_dir):
    shutil.rmtree(run_dir)
  args = [
      f"--x_dim={X_DIM.value}", f"--z_dim={Z_DIM.value}", f"--train_iter={train_iter}", f"--random_seed={seed}",
      f"--n_save={max(1, train_iter // 5)}", "--max_checkpoints=1", "--notensorboard", f"--out_dir={work_dir}",
      f"--run_name={run_name}"
  ] + paper_method_flags(method)
  values = flags.FlagValues()
  names = cli.define_flags("synth", values)
  values(["bgan_synth"] + args)
  every, num_samples = setting("eval_every"), setting("num_eval_samples")

  def hooks(dataset, hook_run_dir):
    return [synthetic.js_divergence_hook(dataset, hook_run_dir, every=every, num_samples=num_samples, seed=seed)]

  start = time.perf_counter()
  outcome = cli.main_train(values, "synth", names, hooks_fn=hooks)
  seconds = time.perf_counter() - start
  return outcome.run_dir, outcome.hook_history["js_divergence"], seconds, args


def mixture_dataset(name, num_train, seed):
  """The ring or grid as a `bgan_tf.data.Dataset` of 2-D vectors (already scaled)."""
  import numpy as np
  from bgan_tf import data as data_lib
  import mode_coverage  # bench/mode_coverage.py
  centres_fn, kwargs, std = MIXTURES[name]
  centres = getattr(mode_coverage, centres_fn)(**kwargs)
  x_train = mode_coverage.sample_ring_or_grid(centres, std, num_train, seed).astype(np.float32)
  x_test = mode_coverage.sample_ring_or_grid(centres, std, 500, seed + 10_000).astype(np.float32)
  dataset = data_lib.dataset_from_arrays(name, x_train, np.zeros(num_train), x_test, np.zeros(500),
                                         pixel_range=None,
                                         source=f"{name} of {len(centres)} Gaussians (std {std}, seed {seed})",
                                         num_classes=1)
  return dataset, centres, std


def mixture_configs(method, dataset, seed):
  """The frozen configs of one ring/grid run."""
  from bgan_tf.config import GANConfig, ModelConfig, SamplerConfig, TrainConfig
  from bgan_tf.recipes import recipe_values
  ml = method.startswith("ml")
  train_iter = setting("mode_iter")
  if "_2017" in method:
    # bgan_synth --recipe=2017 on the mixture: its networks, objective, prior
    # and Adam at lr 0.01 with the 2017 decay; one discriminator, M = 1. With
    # _sghmc, Adam for the first two thirds, then SAMPLER_2017_SGHMC.
    r = recipe_values("2017", "synth", 0.01)
    model = ModelConfig(example_shape=(2,), num_classes=1, z_dim=MODE_Z_DIM.value, arch="mlp",
                        mlp_hidden=tuple(int(h) for h in r["mlp_hidden"]), output_activation="linear",
                        disc_norm=r["disc_norm"], gen_norm=r["gen_norm"], gen_activation=r["gen_activation"])
    sampler_kw = dict(prior_form=r["prior"], noise_form=r["noise"])
    train_kw = dict(optimizer=r["optimizer"])
    if method.endswith("_sghmc"):
      sampler_kw = dict(prior_form=r["prior"], noise_form=SAMPLER_2017_SGHMC["noise"],
                        preconditioner=SAMPLER_2017_SGHMC["preconditioner"], friction=SAMPLER_2017_SGHMC["friction"],
                        temperature=SAMPLER_2017_SGHMC["temperature"], adam_burn_in=2 * train_iter // 3)
      train_kw = dict(optimizer="sghmc", cycle_length=SAMPLER_2017_SGHMC["cycle_length"],
                      cycle_peak=SAMPLER_2017_SGHMC["cycle_peak"])
    sampler = SamplerConfig(data_size=dataset.train_size, learning_rate=0.01, prior_std=r["prior_std"],
                            adam_learning_rate=r["adam_lr"], **sampler_kw)
    gan = GANConfig(model=model, sampler=sampler, num_gen=1 if ml else setting("mode_num_gen"), num_mcmc=1,
                    batch_size=MODE_BATCH_SIZE.value, ml=ml, seed=seed, objective=r["objective"],
                    real_weight=r["real_weight"], feature_matching=r["feature_matching"])
    train = TrainConfig(train_iter=train_iter, n_save=max(1, train_iter // 5), checkpoint_every=train_iter,
                        max_checkpoints=1, lr_decay=3.0, tensorboard=False, data_seed=seed, snapshot_every=0,
                        max_snapshots=0, **train_kw)
    return gan, train
  model = ModelConfig(example_shape=(2,), num_classes=1, z_dim=MODE_Z_DIM.value, arch="mlp",
                      mlp_hidden=tuple(int(h) for h in MODE_HIDDEN.value), output_activation="linear",
                      disc_norm="none")
  if method == "bayes_burnin":
    # The semi-supervised default's schedule: Adam (the ML GAN's rate) for the
    # first two thirds, then SGHMC with the bgan_tf recipe's friction 0.1 and T 0.01.
    r = recipe_values("bgan_tf", "semi", MODE_LR.value)
    sampler = SamplerConfig(data_size=dataset.train_size, learning_rate=MODE_LR.value, friction=r["friction"],
                            temperature=r["temperature"], prior_std=MODE_PRIOR_STD.value,
                            adam_learning_rate=MODE_ADAM_LR.value, adam_burn_in=2 * train_iter // 3)
  else:
    sampler = SamplerConfig(data_size=dataset.train_size, learning_rate=MODE_LR.value,
                            friction=MODE_FRICTION.value, prior_std=MODE_PRIOR_STD.value,
                            adam_learning_rate=MODE_ADAM_LR.value)
  gan = GANConfig(model=model, sampler=sampler, num_gen=1 if ml else setting("mode_num_gen"),
                  num_mcmc=1 if ml else setting("mode_num_mcmc"), batch_size=MODE_BATCH_SIZE.value, ml=ml,
                  seed=seed)
  train = TrainConfig(train_iter=train_iter, n_save=max(1, train_iter // 5), checkpoint_every=train_iter,
                      max_checkpoints=1, lr_decay=0.0, tensorboard=False, data_seed=seed, snapshot_every=0,
                      max_snapshots=0)
  return gan, train


def generated_points(gan, num_samples):
  """`num_samples` points drawn evenly from all generator samples: `[n, 2]`."""
  per_generator = -(-num_samples // gan.config.num_generators)
  return gan.generate(batch_size=per_generator).numpy().reshape(-1, 2)[:num_samples]


def run_mixture(mixture, method, seed, work_dir):
  """Trains on a ring or grid with `bgan_tf.train.train`; scores mode coverage.

  Returns:
    dict with the final `modes_covered`, `high_quality_fraction`, `counts`,
    the coverage curve, the final samples and the wall seconds.
  """
  import numpy as np
  import mode_coverage  # bench/mode_coverage.py
  from bgan_tf import train as train_lib
  dataset, centres, std = mixture_dataset(mixture, NUM_TRAIN.value, seed)
  gan_config, train_config = mixture_configs(method, dataset, seed)
  run_dir = os.path.join(work_dir, f"{mixture}_{method}_seed{seed}")
  if os.path.exists(run_dir):
    shutil.rmtree(run_dir)
  num_samples = setting("num_mode_samples")
  final = {}

  def coverage(gan, iteration):
    points = generated_points(gan, num_samples)
    if not np.all(np.isfinite(points)):
      return {"modes_covered": float("nan"), "high_quality_fraction": float("nan")}
    scores = mode_coverage.mode_coverage(points, centres, std)
    final.update(points=points, counts=scores["counts"].tolist(), min_count=scores["min_count"])
    return {"modes_covered": scores["modes_covered"], "high_quality_fraction": scores["high_quality_fraction"]}

  start = time.perf_counter()
  history = train_lib.train(gan_config, train_config, dataset, run_dir,
                            hooks=[train_lib.Hook(every=setting("mode_eval_every"), fn=coverage)]).hook_history
  seconds = time.perf_counter() - start
  # The last evaluation is the end of training (main checks mode_iter % mode_eval_every == 0).
  return {
      "mixture": mixture, "method": method, "seed": seed, "num_modes": len(centres), "mode_std": std,
      "modes_covered": int(history["modes_covered"][-1][1]),
      "high_quality_fraction": history["high_quality_fraction"][-1]
                               [1], "counts": final.get("counts"), "min_count": final.get("min_count"),
      "curve": history, "train_seconds": round(seconds, 1), "points": final.get("points")
  }


def _stats(values, digits=3, scale=1.0):
  values = [scale * v for v in values if v is not None and math.isfinite(v)]
  if not values:
    return "—"
  std = statistics.stdev(values) if len(values) > 1 else 0.0
  return (f"{statistics.fmean(values):.{digits}f} ± {std:.{digits}f} "
          f"[{min(values):.{digits}f}–{max(values):.{digits}f}]")


def markdown_tables(js_record, mode_record):
  """The markdown tables of the two JSON records (either may be None)."""
  out = io.StringIO()
  if js_record and js_record.get("curves"):
    curves = js_record["curves"]
    iterations = sorted({int(it) for runs in curves.values() for curve in runs.values() for it, _ in curve})
    shown = sorted({iterations[0], iterations[len(iterations) // 2 - 1], iterations[-1]})
    out.write("**Paper experiment: JS divergence (nats, max ln 2 = 0.693), mean ± std [min–max] over seeds**\n\n")
    out.write("| method | " + " | ".join(f"iter {it}" for it in shown) + " | lowest in the run | seconds/run |\n")
    out.write("|---" * (len(shown) + 3) + "|\n")
    for method in [m for m in PAPER_METHODS if m in curves]:
      runs = curves[method]
      cells = [_stats([dict((int(i), v) for i, v in curve).get(it) for curve in runs.values()]) for it in shown]
      best = _stats([min(v for _, v in curve) for curve in runs.values()])
      seconds = statistics.fmean(js_record["seconds"][method].values())
      out.write(f"| {js_record['labels'].get(method, method)} | " + " | ".join(cells) +
                f" | {best} | {seconds:.0f} |\n")
    out.write("\n")
  for record in (js_record, mode_record):
    for stop in (record or {}).get("stopped", []):
      where = f"{stop['mixture']} " if "mixture" in stop else "paper experiment, "
      label = record["labels"].get(stop["method"], stop["method"])
      out.write(f"- Stopped, left out of the table: {where}{label}, seed {stop['seed']}: {stop['message']}\n")
  if any((record or {}).get("stopped") for record in (js_record, mode_record)):
    out.write("\n")
  if mode_record and mode_record.get("runs"):
    runs = mode_record["runs"]
    out.write("**Ring and grid: modes covered and high-quality samples at the end of training, "
              "mean ± std [min–max] over seeds**\n\n")
    out.write("| mixture | method | modes covered | high-quality samples % | modes per seed | seconds/run |\n")
    out.write("|---|---|---|---|---|---|\n")
    for mixture in [m for m in MIXTURES if any(r["mixture"] == m for r in runs)]:
      for method in [m for m in MODE_METHODS if any(r["method"] == m for r in runs)]:
        rows = [r for r in runs if r["mixture"] == mixture and r["method"] == method]
        per_seed = ", ".join(str(r["modes_covered"]) for r in rows)
        out.write(f"| {mixture} ({rows[0]['num_modes']} modes) | {mode_record['labels'].get(method, method)} | "
                  f"{_stats([r['modes_covered'] for r in rows], 1)} | "
                  f"{_stats([r['high_quality_fraction'] for r in rows], 1, 100.0)} | {per_seed} | "
                  f"{statistics.fmean(r['train_seconds'] for r in rows):.0f} |\n")
    out.write("\n")
  return out.getvalue()


def _pyplot():
  try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt
  except ImportError:
    logging.warning("matplotlib is not installed (pip install -e '.[bench]'): no plot written")
    return None


def write_js_plot(js_record, path):
  """Mean JS divergence against iteration with a min–max band per method."""
  import numpy as np
  plt = _pyplot()
  if plt is None:
    return
  fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=80)
  for method, runs in js_record["curves"].items():
    iterations = sorted({int(it) for curve in runs.values() for it, _ in curve})
    table = np.array(
        [[dict((int(i), v) for i, v in curve).get(it, np.nan) for it in iterations] for curve in runs.values()],
        dtype=float)
    colour = COLOURS.get(method)
    ax.plot(iterations, np.nanmean(table, axis=0), color=colour, marker="o", markersize=3,
            label=f"{js_record['labels'].get(method, method)} ({len(runs)} seeds)")
    ax.fill_between(iterations, np.nanmin(table, axis=0), np.nanmax(table, axis=0), color=colour, alpha=0.2)
  ax.set_xlabel("iteration")
  ax.set_ylabel("JS divergence (nats)")
  ax.set_ylim(bottom=0)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  ax.set_title("Synthetic data, PCA plane: mean and min–max over seeds", fontsize=9)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def write_mode_plots(mode_record, samples, out_dir):
  """Final samples of the first seed over the real modes, and coverage curves."""
  import numpy as np
  import mode_coverage  # bench/mode_coverage.py
  plt = _pyplot()
  if plt is None:
    return
  runs = mode_record["runs"]
  mixtures = [m for m in MIXTURES if any(r["mixture"] == m for r in runs)]
  methods = [m for m in MODE_METHODS if any(r["method"] == m for r in runs)]
  if samples:
    fig, axes = plt.subplots(len(mixtures), len(methods), figsize=(3 * len(methods), 3 * len(mixtures)), dpi=80,
                             squeeze=False)
    for i, mixture in enumerate(mixtures):
      centres_fn, kwargs, std = MIXTURES[mixture]
      centres = getattr(mode_coverage, centres_fn)(**kwargs)
      for j, method in enumerate(methods):
        ax = axes[i][j]
        entry = samples.get((mixture, method))
        if entry is not None:
          seed, points = entry
          ax.scatter(points[:, 0], points[:, 1], s=2, color=COLOURS[method], alpha=0.5)
          row = next(r for r in runs if (r["mixture"], r["method"], r["seed"]) == (mixture, method, seed))
          ax.set_title(
              f"{mixture}, {mode_record['labels'].get(method, method)}, seed {seed}\n"
              f"{row['modes_covered']}/{len(centres)} modes, "
              f"{100 * row['high_quality_fraction']:.0f}% high quality", fontsize=7)
        ax.scatter(centres[:, 0], centres[:, 1], marker="x", s=25, color="black")
        for c in centres:
          ax.add_patch(plt.Circle(c, 3 * std, fill=False, color="black", linewidth=0.5))
        limit = np.abs(centres).max() + 1.0
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "mode_samples.png"))
    plt.close(fig)

  fig, axes = plt.subplots(1, 2 * len(mixtures), figsize=(3.2 * 2 * len(mixtures), 3), dpi=80, squeeze=False)
  for i, mixture in enumerate(mixtures):
    for k, metric in enumerate(("modes_covered", "high_quality_fraction")):
      ax = axes[0][2 * i + k]
      for method in methods:
        rows = [r for r in runs if r["mixture"] == mixture and r["method"] == method]
        iterations = [int(it) for it, _ in rows[0]["curve"][metric]]
        table = np.array([[v for _, v in r["curve"][metric]] for r in rows], dtype=float)
        if metric == "high_quality_fraction":
          table = 100 * table
        ax.plot(iterations, table.mean(axis=0), color=COLOURS[method], marker="o", markersize=3,
                label=mode_record["labels"].get(method, method))
        ax.fill_between(iterations, table.min(axis=0), table.max(axis=0), color=COLOURS[method], alpha=0.2)
      ax.set_title(f"{mixture}: {'modes covered' if k == 0 else 'high-quality %'}", fontsize=8)
      ax.set_xlabel("iteration", fontsize=7)
      ax.tick_params(labelsize=6)
      ax.grid(alpha=0.3)
  axes[0][0].legend(fontsize=6)
  fig.tight_layout()
  fig.savefig(os.path.join(out_dir, "mode_coverage_curves.png"))
  plt.close(fig)


def _load(path):
  if os.path.isfile(path):
    with open(path) as f:
      return json.load(f)
  return None


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  work_dir = WORK_DIR.value or (DEFAULT_WORK_DIR + ("_quick" if QUICK_MODE.value else ""))
  out_dir = OUT_DIR.value or (os.path.join(work_dir, "results") if QUICK_MODE.value else DEFAULT_OUT_DIR)
  js_path, mode_path = os.path.join(out_dir, "js_divergence.json"), os.path.join(out_dir, "mode_coverage.json")
  if REPORT.value:
    js_record, mode_record = _load(js_path), _load(mode_path)
    if not (js_record or mode_record):
      raise app.UsageError(f"neither {js_path} nor {mode_path} exists")
    if js_record:
      write_js_plot(js_record, os.path.join(out_dir, "js_divergence.png"))
    if mode_record:
      write_mode_plots(mode_record, {}, out_dir)
    tables = markdown_tables(js_record, mode_record)
    from bgan_tf import run_files
    run_files.write_text(os.path.join(out_dir, "tables.md"), tables)
    print(tables, end="")
    return

  all_methods = PAPER_METHODS + tuple(m for m in MODE_METHODS if m not in PAPER_METHODS)
  for name, values, allowed in (("parts", PARTS.value, ("paper", "modes")),
                                ("methods", METHODS_FLAG.value, all_methods), ("mixtures", MIXTURE_LIST.value,
                                                                               tuple(MIXTURES))):
    unknown = [v for v in values if v not in allowed]
    if unknown:
      raise app.UsageError(f"unknown --{name} {unknown}; choose from {', '.join(allowed)}")
  if setting("mode_iter") % setting("mode_eval_every"):
    raise app.UsageError("--mode_iter must be a multiple of --mode_eval_every (the last count is the final one)")
  import keras
  from bgan_tf import run_files
  seeds = [int(s) for s in setting("seeds")]
  meta = machine_info()
  meta["command"] = " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])
  os.makedirs(out_dir, exist_ok=True)
  start = time.perf_counter()
  js_record = mode_record = None

  if "paper" in PARTS.value:
    labels = {
        "bayes": f"Bayesian (numz {setting('numz')} x mcmc {setting('num_mcmc')}, lr_decay 3)",
        "ml": "ML (numz 1, lr_decay 3)",
        "bayes_const": f"Bayesian (numz {setting('numz')} x mcmc {setting('num_mcmc')}, "
                       f"constant lr {CONST_LR.value})", "ml_const": "ML (numz 1, constant Adam lr)",
        "bayes_2017": f"Bayesian, 2017 setup (numz {setting('numz')}, Adam)",
        "ml_2017": "ML, 2017 setup (numz 1, Adam)",
        "bayes_2017_sghmc": f"Bayesian, 2017 setup (numz {setting('numz')}), Adam burn-in, then "
                            "run_bgan_semi's cyclical preconditioned SGHMC"
    }
    js_record = {
        "meta": meta, "labels": labels, "curves": {}, "seconds": {}, "flags": {}, "settings": {
            "x_dim": X_DIM.value, "z_dim": Z_DIM.value, "train_iter": setting("train_iter"),
            "eval_every": setting("eval_every"), "num_eval_samples": setting("num_eval_samples"), "seeds": seeds
        }
    }
    rows = []
    for seed in seeds:
      for method in [m for m in METHODS_FLAG.value if m in PAPER_METHODS]:
        try:
          run_dir, curve, seconds, args = run_paper(method, seed, work_dir)
        except NonFiniteLossError as error:  # a diverged run is a result: say so, run the others
          js_record.setdefault("stopped", []).append({"method": method, "seed": seed, "message": str(error)})
          print(f"paper {method} seed {seed}: {error}", flush=True)
          keras.backend.clear_session()
          continue
        js_record["curves"].setdefault(method, {})[str(seed)] = curve
        js_record["seconds"].setdefault(method, {})[str(seed)] = round(seconds, 1)
        js_record["flags"][method] = [
            a for a in args if not a.startswith(("--random_seed", "--run_name", "--out_dir"))
        ]
        rows += [(method, seed, it, value) for it, value in curve]
        pca_png = os.path.join(run_dir, "pca", f"iter_{setting('train_iter'):07d}.png")
        if seed == seeds[0] and os.path.isfile(pca_png):
          shutil.copyfile(pca_png, os.path.join(out_dir, f"pca_{method}_seed{seed}.png"))
        print(f"paper {method} seed {seed}: JS {' '.join(f'{v:.3f}' for _, v in curve)} ({seconds:.0f} s)",
              flush=True)
        keras.backend.clear_session()
        gc.collect()
    js_record["meta"]["seconds"] = round(time.perf_counter() - start, 1)
    run_files.write_json(js_path, js_record)
    run_files.write_csv(os.path.join(out_dir, "js_divergence.csv"),
                        ("method", "seed", "iteration", "js_divergence"), rows)
    write_js_plot(js_record, os.path.join(out_dir, "js_divergence.png"))

  if "modes" in PARTS.value:
    mode_start = time.perf_counter()
    methods = [m for m in MODE_METHODS if m in METHODS_FLAG.value]
    labels = {
        "bayes": f"Bayesian ({setting('mode_num_gen')} x {setting('mode_num_mcmc')})", "ml": "ML",
        "bayes_2017": f"Bayesian, 2017 setup ({setting('mode_num_gen')} x 1, Adam)",
        "ml_2017": "ML, 2017 setup (Adam)",
        "bayes_burnin": f"Bayesian ({setting('mode_num_gen')} x {setting('mode_num_mcmc')}), Adam burn-in, "
                        "then SGHMC friction 0.1, T 0.01",
        "bayes_2017_sghmc": f"Bayesian, 2017 setup ({setting('mode_num_gen')} x 1), Adam burn-in, then "
                            "run_bgan_semi's cyclical preconditioned SGHMC"
    }
    mode_record = {
        "meta": dict(meta), "labels": labels, "runs": [], "settings": {
            "train_iter": setting("mode_iter"), "eval_every": setting("mode_eval_every"),
            "num_gen": setting("mode_num_gen"), "num_mcmc": setting("mode_num_mcmc"), "z_dim": MODE_Z_DIM.value,
            "mlp_hidden": [int(h) for h in MODE_HIDDEN.value], "batch_size": MODE_BATCH_SIZE.value,
            "sghmc_lr": MODE_LR.value, "adam_lr": MODE_ADAM_LR.value, "friction": MODE_FRICTION.value,
            "prior_std": MODE_PRIOR_STD.value, "lr_decay": 0.0, "num_train": NUM_TRAIN.value,
            "num_samples": setting("num_mode_samples"), "seeds": seeds
        }
    }
    samples = {}
    for mixture in MIXTURE_LIST.value:
      for seed in seeds:
        for method in methods:
          try:
            result = run_mixture(mixture, method, seed, work_dir)
          except NonFiniteLossError as error:
            mode_record.setdefault("stopped", []).append({"mixture": mixture, "method": method, "seed": seed,
                                                          "message": str(error)})
            print(f"{mixture} {method} seed {seed}: {error}", flush=True)
            keras.backend.clear_session()
            continue
          points = result.pop("points")
          if seed == seeds[0] and points is not None:
            samples[(mixture, method)] = (seed, points)
          mode_record["runs"].append(result)
          print(
              f"{mixture} {method} seed {seed}: {result['modes_covered']}/{result['num_modes']} modes, "
              f"{100 * result['high_quality_fraction']:.1f}% high quality ({result['train_seconds']:.0f} s)",
              flush=True)
          keras.backend.clear_session()
          gc.collect()
    mode_record["meta"]["seconds"] = round(time.perf_counter() - mode_start, 1)
    run_files.write_json(mode_path, mode_record)
    fields = ("mixture", "method", "seed", "modes_covered", "num_modes", "high_quality_fraction", "train_seconds")
    run_files.write_csv(os.path.join(out_dir, "mode_coverage.csv"), fields,
                        [[r[f] for f in fields] for r in mode_record["runs"]])
    write_mode_plots(mode_record, samples, out_dir)

  tables = markdown_tables(_load(js_path), _load(mode_path))
  run_files.write_text(os.path.join(out_dir, "tables.md"), tables)
  print(f"total {time.perf_counter() - start:.0f} s; results in {out_dir}\n", flush=True)
  print(tables, end="")


if __name__ == "__main__":
  app.run(main)
