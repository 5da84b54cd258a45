"""Semi-supervised test error and calibration: the Bayesian GAN paper's Table 1.

For every labeled-set size N, seed and method, this program trains one
`run_bgan_semi` run (in this process, through `bgan_tf.cli`, one run at a
time), restores it with `bgan_tf.run_dir.restore_run`, and scores its
predictive on the whole test set:

  bayes        the Bayesian GAN (--num_gen=J --num_mcmc=M); its predictive is
               the mean softmax over `posterior_discriminators()`: the M
               current chains plus the posterior snapshots.
  ml           the maximum-likelihood DCGAN (--ml): its one discriminator.
  ml_ensemble  DCGAN-10 (--ml_ensemble=E): the mean softmax of E
               independently trained ML GANs.

The supervised-only classifier is trained alongside in every run, on the same
labeled examples (the labeled subset and its stream depend only on the seed),
and is reported from the Bayesian runs. Every setting except the method flags
is the same for all methods.

Results: `runs.json` and `runs.csv` (one record per run), `tables.md` (the
markdown tables of `--report`) and `error_vs_n.png` in --out_dir. Run folders
(checkpoints) stay in --work_dir. Records merge into an existing `runs.json`
by (dataset, N, method, seed), so one command per cell of Table 1 fills one
table:

  python bench/semi_supervised.py                        # digits, N=50,100,200, seeds 0-2
  python bench/semi_supervised.py --seeds=0,1,2,3,4      # the 5 seeds of docs/BENCHMARKS.md §1
  python bench/semi_supervised.py --quick                # the 2-minute check
  python bench/semi_supervised.py --report               # tables from runs.json only
  python bench/semi_supervised.py --report --out_dir=bench/results/semi_supervised_m10 \
      --baselines_from=bench/results/semi_supervised/runs.json   # a Bayesian-only record
  python bench/semi_supervised.py --preset=paper --dataset=cifar --data_path=DATA \
      --N=4000 --train_iter=75000 --out_dir=results/paper   # one cell, 2017 settings

#### References

Saatci, Y. and Wilson, A. G. Bayesian GAN. NIPS 2017, sec. 5.2 and Table 1.
Guo, C. et al. On Calibration of Modern Neural Networks. ICML 2017 (ECE).
"""

import gc
import io
import os
import shutil
import statistics
import sys
import time

from absl import app, flags, logging

from machine import machine_info  # noqa: E402  (bench/machine.py)
# bench/semi_runs.py
from semi_runs import (  # noqa: E402
    baseline_rows, choose_kernel_library, evaluate_run, load_record, mean_std, paired_tables, run_one)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__all__ = [
    "METHODS",
    "PRESETS",
    "QUICK",
    "markdown_tables",
    "method_flags",
]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT_DIR = os.path.join(REPO, "bench", "results", "semi_supervised")
DEFAULT_WORK_DIR = "/tmp/bgan_bench/semi_supervised"

METHODS = ("bayes", "ml", "ml_ensemble")
COLUMN_NAMES = {
    "supervised": "Supervised only", "ml": "DCGAN (ML)", "ml_ensemble": "DCGAN-{E} (ML ensemble)",
    "bayes": "Bayesian GAN ({J}x{M})"
}

# Settings by preset; any flag given explicitly overrides its preset value.
# A setting of None is left to run_bgan_semi's --recipe (bgan_tf/recipes.py).
#   digits: the embedded UCI digits on 2 CPU cores: the default recipe (the
#     2017 networks, losses and Adam schedule, lr 0.005 decayed by e^-3 over
#     the first epoch; its SGHMC settings) with the burn-in chosen on a
#     validation split (bench/choose_defaults.py): 1000 Adam iterations, then
#     500 of the recipe's cyclical SGHMC (5 cycles of 100), a snapshot every
#     10 iterations of each cycle's last quarter (3 per cycle and chain), of
#     which the ring keeps the last two cycles' 12: the first three cycles'
#     snapshots, still improving from the burn-in, raised the validation
#     ECE (docs/BENCHMARKS.md §0, "Which cycles to keep").
#     The cycles' peak stays at 0.5 x lr, the recipe's until 2026-12-05 and
#     what every digits table ran with (the best peak on the digits' validation
#     split); on real 28x28 digits it diverged, and the recipe's is 0.2 now.
#     Every pair scores every generator, as every digits and MNIST-10k table
#     ran (the recipe's pairing until 2026-12-05; it pairs by chain now).
#   paper: the 2017 run_bgan_semi defaults (DCGAN of 4 layers, gf 64, df 96,
#     batch 64, lr 0.005 decayed by e^-3 over the first epoch, 5000 Adam
#     burn-in iterations).
PRESETS = {
    "digits":
        dict(dataset="digits", N=["50", "100", "200"], num_layers=2, gf_dim=32, df_dim=32, z_dim=100,
             batch_size=32, train_iter=1500, burn_in=1000, lr=0.005, lr_decay=3.0, adam_lr=None, snapshot_every=10,
             max_snapshots=12, cycle_length=None, cycle_peak=0.5, num_gen=10, num_mcmc=2, ensemble_size=10,
             recipe="bgan_tf", pairing="all"),
    "paper":
        dict(dataset="cifar", N=["4000"], num_layers=4, gf_dim=64, df_dim=96, z_dim=100, batch_size=64,
             train_iter=50000, burn_in=5000, lr=0.005, lr_decay=3.0, adam_lr=None, snapshot_every=1000,
             max_snapshots=20, cycle_length=None, cycle_peak=None, num_gen=10, num_mcmc=2, ensemble_size=10,
             recipe="bgan_tf", pairing=None),
}
# --quick: a tiny budget that exercises every step end to end in about 2 minutes.
QUICK = dict(dataset="digits", N=["50"], seeds=["0", "1"], num_layers=2, gf_dim=16, df_dim=16, z_dim=16,
             batch_size=32, train_iter=150, burn_in=100, snapshot_every=5, cycle_length=25, num_gen=2, num_mcmc=2,
             ensemble_size=2)

PRESET = flags.DEFINE_enum("preset", "digits", list(PRESETS), "Default settings; explicit flags override them.")
QUICK_MODE = flags.DEFINE_bool("quick", False, "A ~2-minute run with a tiny budget, to check the program.")
REPORT = flags.DEFINE_bool("report", False,
                           "Only rewrite tables.md and the plot from runs.json, and print the tables.")
BASELINES_FROM = flags.DEFINE_string(
    "baselines_from", None,
    "--report: a runs.json whose ML runs (DCGAN, DCGAN-E) are the baselines of the paired differences, for a "
    "record of Bayesian runs only, such as a second Bayesian size; their settings must match.")
DATASET = flags.DEFINE_string("dataset", None, "run_bgan_semi --dataset (digits, mnist, cifar, svhn, ...).")
DATA_PATH = flags.DEFINE_string("data_path", None, "run_bgan_semi --data_path: the data set's standard files.")
DATA_DIR = flags.DEFINE_string("data_dir", None, "run_bgan_semi --data_dir: prepared tensorflow-datasets builds.")
N_LIST = flags.DEFINE_list("N", None, "Labeled-set sizes (run_bgan_semi --N), e.g. 50,100,200.")
SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds (run_bgan_semi --random_seed); one run each.")
METHOD_LIST = flags.DEFINE_list("methods", list(METHODS), f"Methods to train, from {', '.join(METHODS)}.")
NUM_GEN = flags.DEFINE_integer("num_gen", None, "Bayesian GAN: J generator samples.")
NUM_MCMC = flags.DEFINE_integer("num_mcmc", None, "Bayesian GAN: M chains per sample.")
ENSEMBLE_SIZE = flags.DEFINE_integer("ensemble_size", None, "ml_ensemble: number of ML GANs (--ml_ensemble).")
TRAIN_ITER = flags.DEFINE_integer("train_iter", None, "Iterations per run (the same for every method).")
BURN_IN = flags.DEFINE_integer("burn_in", None, "Adam iterations before SGHMC (Bayesian runs).")
BATCH_SIZE = flags.DEFINE_integer("batch_size", None, "Minibatch size.")
NUM_LAYERS = flags.DEFINE_integer("num_layers", None, "DCGAN layers of the generator and discriminator.")
GF_DIM = flags.DEFINE_integer("gf_dim", None, "Generator channels.")
DF_DIM = flags.DEFINE_integer("df_dim", None, "Discriminator channels.")
Z_DIM = flags.DEFINE_integer("z_dim", None, "Noise dimension.")
LR = flags.DEFINE_float("lr", None, "SGHMC learning rate (run_bgan_semi --lr).")
LR_DECAY = flags.DEFINE_float("lr_decay", None, "run_bgan_semi --lr_decay (0: constant rates).")
ADAM_LR = flags.DEFINE_float("adam_lr", None, "Adam learning rate (ML, ensemble, burn-in, supervised).")
SNAPSHOT_EVERY = flags.DEFINE_integer("snapshot_every", None, "Posterior snapshot interval after burn-in.")
RECIPE = flags.DEFINE_string("recipe", None, "run_bgan_semi --recipe (bgan_tf or 2017).")
EXTRA_FLAGS = flags.DEFINE_list("extra_flags", [], "More run_bgan_semi flags for every run, e.g. --pairing=chain.")
MAX_SNAPSHOTS = flags.DEFINE_integer("max_snapshots", None, "Posterior snapshots kept.")
CYCLE_LENGTH = flags.DEFINE_integer("cycle_length", None,
                                    "run_bgan_semi --cycle_length of the Bayesian runs (default: the recipe's).")
CYCLE_PEAK = flags.DEFINE_float("cycle_peak", None,
                                 "run_bgan_semi --cycle_peak of the Bayesian runs (default: the preset's, else the "
                                 "recipe's).")
EVAL_BATCH_SIZE = flags.DEFINE_integer("eval_batch_size", 500, "Test-set evaluation batch size.")
WORK_DIR = flags.DEFINE_string("work_dir", None, f"Run folders (checkpoints); default {DEFAULT_WORK_DIR}[_quick].")
OUT_DIR = flags.DEFINE_string(
    "out_dir", None, "Results folder; default bench/results/semi_supervised (--quick: WORK_DIR/results).")

_SETTING_NAMES = ("dataset", "num_layers", "gf_dim", "df_dim", "z_dim", "batch_size", "train_iter", "burn_in",
                  "lr", "lr_decay", "adam_lr", "snapshot_every", "max_snapshots", "cycle_length", "cycle_peak",
                  "num_gen", "num_mcmc", "ensemble_size", "recipe")


def resolve_settings():
  """The preset, then --quick, then explicitly given flags; returns a dict."""
  settings = dict(PRESETS[PRESET.value])
  settings["seeds"] = list(SEEDS.value)
  if QUICK_MODE.value:
    settings.update(QUICK)
  for name in _SETTING_NAMES + ("N", "seeds"):
    flag = flags.FLAGS[name]
    if flag.present:
      settings[name] = flag.value
  if settings["dataset"] != PRESETS[PRESET.value]["dataset"] and not CYCLE_PEAK.present:
    # The digits' peak of 0.5 diverged on real 28x28 digits: on another data set the recipe's applies.
    settings["cycle_peak"] = None
  settings["N"] = [int(n) for n in settings["N"]]
  settings["seeds"] = [int(s) for s in settings["seeds"]]
  settings["data_path"], settings["data_dir"] = DATA_PATH.value, DATA_DIR.value
  return settings


def method_flags(method, settings):
  """The run_bgan_semi flags that select `method`; everything else is shared."""
  if method == "bayes":
    # The cycles are the sampler's: the ML methods train with Adam and take no --cycle_length or --cycle_peak.
    cycles = [f"--{name}={settings[name]}" for name in ("cycle_length", "cycle_peak") if settings.get(name) is not None]
    return [f"--num_gen={settings['num_gen']}", f"--num_mcmc={settings['num_mcmc']}"] + cycles
  if method == "ml":
    return ["--ml"]
  if method == "ml_ensemble":
    return [f"--ml_ensemble={settings['ensemble_size']}"]
  raise ValueError(f"unknown method {method!r}; choose from {METHODS}")


def common_flags(settings, num_labeled, seed, work_dir, run_name):
  """The run_bgan_semi flags shared by every method of one (N, seed) cell."""
  s = settings
  n_save = max(1, s["train_iter"] // 5)
  args = [
      f"--dataset={s['dataset']}", f"--N={num_labeled}", f"--random_seed={seed}",
      f"--num_layers={s['num_layers']}", f"--gf_dim={s['gf_dim']}", f"--df_dim={s['df_dim']}",
      f"--z_dim={s['z_dim']}", f"--batch_size={s['batch_size']}", f"--train_iter={s['train_iter']}",
      f"--burn_in={s['burn_in']}", f"--lr={s['lr']}", f"--lr_decay={s['lr_decay']}",
      f"--snapshot_every={s['snapshot_every']}", f"--max_snapshots={s['max_snapshots']}", f"--n_save={n_save}",
      "--max_checkpoints=1", "--notensorboard", f"--eval_batch_size={EVAL_BATCH_SIZE.value}",
      f"--out_dir={work_dir}", f"--run_name={run_name}", f"--recipe={s.get('recipe') or 'bgan_tf'}"
  ]
  if s.get("adam_lr") is not None:
    args.append(f"--adam_lr={s['adam_lr']}")
  if s.get("pairing"):  # before --extra_flags, so that a --pairing there wins
    args.append(f"--pairing={s['pairing']}")
  args += list(EXTRA_FLAGS.value)
  if s["data_path"]:
    args.append(f"--data_path={s['data_path']}")
  if s["data_dir"]:
    args.append(f"--data_dir={s['data_dir']}")
  return args


def markdown_tables(record, baselines=()):
  """The markdown tables of a runs.json record (one section per data set).

  `baselines`: ML runs of another record (`baseline_rows`), used only in the
  paired differences, where the record has none of its own.
  """
  runs = record["runs"]
  out = io.StringIO()
  for dataset in sorted({r["dataset"] for r in runs}):
    rows = [r for r in runs if r["dataset"] == dataset]
    settings = rows[0]["settings"]
    names = {
        key: value.format(E=settings["ensemble_size"], J=settings["num_gen"], M=settings["num_mcmc"])
        for key, value in COLUMN_NAMES.items()
    }
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    columns = ["supervised"] + [m for m in ("ml", "ml_ensemble", "bayes") if m in methods]
    sizes = sorted({r["N"] for r in rows})
    out.write(f"**{dataset}: test error, % (mean ± std over seeds; seeds per cell in brackets)**\n\n")
    out.write("| N | " + " | ".join(names[c] for c in columns) + " |\n")
    out.write("|---" * (len(columns) + 1) + "|\n")
    for size in sizes:
      cells = [_cell([100 * v for v in _values(rows, size, c, "error")]) for c in columns]
      out.write(f"| {size} | " + " | ".join(cells) + " |\n")
    out.write(f"\n**{dataset}: calibration on the test set (mean ± std over seeds)**\n\n")
    out.write("| N | method | models averaged | error % | NLL (nats) | ECE % | in-run error % |\n")
    out.write("|---|---|---|---|---|---|---|\n")
    for size in sizes:
      for c in columns:
        source = _supervised_source(rows, size) if c == "supervised" else c
        cell_rows = [r for r in rows if r["N"] == size and r["method"] == source]
        models = "1" if c == "supervised" else "/".join(sorted({str(r["num_models"]) for r in cell_rows}))
        in_run = ("—" if c == "supervised" else _cell([100 * r["in_run_error"] for r in cell_rows]))
        error = _cell([100 * v for v in _values(rows, size, c, "error")])
        nll = _cell(_values(rows, size, c, "nll"), 3)
        ece = _cell([100 * v for v in _values(rows, size, c, "ece")])
        out.write(f"| {size} | {names[c]} | {models} | {error} | {nll} | {ece} | {in_run} |\n")
    out.write("\n")
    if "bayes" in methods:
      others = [b for b in baselines if b["dataset"] == dataset]
      ensembles = [b for b in others if b["method"] == "ml_ensemble"]
      if ensembles and "ml_ensemble" not in methods:  # name DCGAN-E by the baseline runs' own E
        names["ml_ensemble"] = COLUMN_NAMES["ml_ensemble"].format(E=ensembles[0]["settings"]["ensemble_size"])
      out.write(paired_tables(rows, others, names))
  return out.getvalue()


def _supervised_source(rows, size):
  present = [m for m in ("bayes",) + METHODS if any(r["N"] == size and r["method"] == m for r in rows)]
  return present[0] if present else None


def _values(rows, size, column, metric):
  if column == "supervised":
    source = _supervised_source(rows, size)
    return [r[f"supervised_{metric}"] for r in rows if r["N"] == size and r["method"] == source]
  return [r[f"test_{metric}"] for r in rows if r["N"] == size and r["method"] == column]


def _cell(values, digits=1):
  return f"{mean_std(values, digits)} ({len(values)})" if values else "—"


def write_plot(record, path):
  """Test error and NLL against N, mean ± std over seeds, one line per method."""
  try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
  except ImportError:
    logging.warning("matplotlib is not installed (pip install -e '.[bench]'): no plot written")
    return
  runs = record["runs"]
  for dataset in sorted({r["dataset"] for r in runs}):
    rows = [r for r in runs if r["dataset"] == dataset]
    sizes = sorted({r["N"] for r in rows})
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), dpi=80)
    for column, colour in (("supervised", "tab:gray"), ("ml", "tab:blue"), ("ml_ensemble", "tab:green"),
                           ("bayes", "tab:red")):
      for ax, metric, scale in zip(axes, ("error", "nll", "ece"), (100, 1, 100)):
        points = [(n, [scale * v for v in _values(rows, n, column, metric)]) for n in sizes]
        points = [(n, v) for n, v in points if v]
        if not points:
          continue
        means = [statistics.fmean(v) for _, v in points]
        stds = [statistics.stdev(v) if len(v) > 1 else 0.0 for _, v in points]
        ax.errorbar([n for n, _ in points], means, yerr=stds, marker="o", capsize=3, color=colour, label=column)
    for ax, label in zip(axes, ("test error %", "test NLL (nats)", "ECE %")):
      ax.set_xlabel("N labeled")
      ax.set_ylabel(label)
      ax.set_xscale("log")
      ax.minorticks_off()
      ax.set_xticks(sizes)
      ax.set_xticklabels([str(n) for n in sizes])
      ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{dataset}: mean ± std over seeds", fontsize=10)
    fig.tight_layout()
    name = os.path.basename(path) if dataset == "digits" else f"{dataset}_{os.path.basename(path)}"
    fig.savefig(os.path.join(os.path.dirname(path), name))
    plt.close(fig)


def write_outputs(record, out_dir):
  """runs.json, runs.csv, tables.md and the plot."""
  from bgan_tf import run_files
  run_files.write_json(os.path.join(out_dir, "runs.json"), record)
  fields = [
      "dataset", "N", "method", "seed", "test_error", "test_nll", "test_ece", "supervised_error", "supervised_nll",
      "supervised_ece", "in_run_error", "num_models", "train_seconds"
  ]
  run_files.write_csv(os.path.join(out_dir, "runs.csv"), fields,
                      [[row.get(f, "") for f in fields] for row in record["runs"]])
  run_files.write_text(os.path.join(out_dir, "tables.md"), markdown_tables(record))
  write_plot(record, os.path.join(out_dir, "error_vs_n.png"))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  work_dir = WORK_DIR.value or (DEFAULT_WORK_DIR + ("_quick" if QUICK_MODE.value else ""))
  out_dir = OUT_DIR.value or (os.path.join(work_dir, "results") if QUICK_MODE.value else DEFAULT_OUT_DIR)
  record_path = os.path.join(out_dir, "runs.json")
  if BASELINES_FROM.value and not REPORT.value:
    raise app.UsageError("--baselines_from is a --report option")
  if REPORT.value:
    record = load_record(record_path)
    if not record["runs"]:
      raise app.UsageError(f"no runs in {record_path}")
    baselines = []
    if BASELINES_FROM.value:
      if not os.path.isfile(BASELINES_FROM.value):
        raise app.UsageError(f"--baselines_from: no file {BASELINES_FROM.value}")
      try:
        baselines = baseline_rows(record["runs"], load_record(BASELINES_FROM.value)["runs"], ("ml", "ml_ensemble"))
      except ValueError as e:
        raise app.UsageError(f"--baselines_from: {e}")
    write_plot(record, os.path.join(out_dir, "error_vs_n.png"))
    tables = markdown_tables(record, baselines)
    from bgan_tf import run_files
    run_files.write_text(os.path.join(out_dir, "tables.md"), tables)
    print(tables, end="")
    return

  settings = resolve_settings()
  unknown = [m for m in METHOD_LIST.value if m not in METHODS]
  if unknown:
    raise app.UsageError(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
  choose_kernel_library(settings["dataset"])  # before TensorFlow loads
  import keras
  from bgan_tf import data as data_lib
  dataset = data_lib.load_dataset(settings["dataset"], data_path=settings["data_path"],
                                  data_dir=settings["data_dir"], seed=0)
  record = load_record(record_path)
  record["meta"] = machine_info()
  record["meta"]["command"] = " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])
  shared = {k: v for k, v in settings.items() if k not in ("N", "seeds", "data_path", "data_dir")}
  bench_start = time.perf_counter()
  for num_labeled in settings["N"]:
    for seed in settings["seeds"]:
      for method in METHOD_LIST.value:
        run_name = f"{settings['dataset']}_N{num_labeled}_{method}_seed{seed}"
        run_dir = os.path.join(work_dir, run_name)
        if os.path.exists(run_dir):
          shutil.rmtree(run_dir)  # Runs always start fresh: a stale folder may hold other settings.
        args = common_flags(settings, num_labeled, seed, work_dir, run_name) + method_flags(method, settings)
        logging.info("run %s: run_bgan_semi %s", run_name, " ".join(args))
        results, seconds = run_one(args)
        scores = evaluate_run(run_dir, dataset, EVAL_BATCH_SIZE.value)
        row = {
            "dataset": settings["dataset"], "N": num_labeled, "method": method, "seed": seed, "run_name": run_name,
            # Per row, since runs.json merges records measured on other machines and commits.
            "cpu_kind": record["meta"]["cpu_kind"], "git_commit": record["meta"]["git_commit"],
            "train_seconds": round(seconds, 1), "in_run_error": 1.0 - results["semi_supervised_acc"],
            "in_run_supervised_error": 1.0 - results["supervised_acc"], "settings": shared, "flags": args, **scores
        }
        record["runs"] = [
            r for r in record["runs"] if (r["dataset"], r["N"], r["method"],
                                          r["seed"]) != (row["dataset"], row["N"], row["method"], row["seed"])
        ] + [row]
        record["runs"].sort(key=lambda r: (r["dataset"], r["N"], METHODS.index(r["method"]), r["seed"]))
        record["meta"]["bench_seconds"] = round(time.perf_counter() - bench_start, 1)
        write_outputs(record, out_dir)
        print(
            f"{run_name}: error {100 * row['test_error']:.1f}% (supervised {100 * row['supervised_error']:.1f}%)"
            f" NLL {row['test_nll']:.3f} ECE {100 * row['test_ece']:.1f}% over {row['num_models']} models,"
            f" {seconds:.0f} s", flush=True)
        keras.backend.clear_session()
        gc.collect()
  print(f"total {time.perf_counter() - bench_start:.0f} s; results in {out_dir}\n", flush=True)
  print(markdown_tables(record), end="")


if __name__ == "__main__":
  app.run(main)
