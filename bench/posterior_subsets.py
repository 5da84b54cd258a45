"""Which part of a run's posterior helps: validation scores of subsets of its discriminator samples.

For pilot runs of `choose_defaults.py` (their run folders in --work_dir), this
program restores each run and scores, on the same held-out validation
examples the pilot was scored on, the posterior predictive of:

  chains      the M current chains alone;
  all         chains plus every snapshot (what the run serves);
  last<k>     chains plus the newest k snapshots;
  first4      the four oldest snapshots alone (the first after burn-in).
  each        no average: every sample scored alone, its scores then
              averaged over the samples (how calibrated the members are).
  cycles<k>   with cyclical SGHMC, the chains plus the snapshots of the last
              k cycles: what a ring of `--max_snapshots` that holds k cycles
              serves (the earlier cycles' snapshots left out as a burn-in).

It also reports each sample's own error. The test set is never read.

  python bench/posterior_subsets.py --candidates=j10_bgan_tf,j10_real_one,j10_2017
  python bench/posterior_subsets.py --report       # the table from subsets.json

Results: `subsets.json` (merged by (candidate, N, seed), so runs scored earlier
stay) and `subsets.md` in --out_dir.
"""

import os

from absl import app, flags

from machine import machine_info  # noqa: E402  (bench/machine.py)
from semi_runs import load_record, mean_std, predictive_scores  # noqa: E402  (bench/semi_runs.py)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CANDIDATES = flags.DEFINE_list("candidates", ["j10_bgan_tf", "j10_real_one", "j10_2017"],
                               "choose_defaults.py candidates whose run folders to read.")
SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds.")
N_LABELED = flags.DEFINE_integer("N", 100, "Labeled examples of the pilots.")
VALIDATION_SIZE = flags.DEFINE_integer("validation_size", 300, "The pilots' --validation_size.")
WORK_DIR = flags.DEFINE_string("work_dir", "/tmp/bgan_bench/choose_defaults", "The pilots' run folders.")
OUT_DIR = flags.DEFINE_string("out_dir", os.path.join(REPO, "bench", "results", "choose_defaults"),
                              "Results folder.")
REPORT = flags.DEFINE_bool("report", False, "Only rewrite subsets.md from subsets.json.")

SUBSETS = ("chains", "all", "last4", "last8", "last12", "first4", "cycles1", "cycles2", "cycles3", "cycles4",
           "each")


def subset_scores(run_dir, validation):
  """{subset: (error, NLL, ECE, mean confidence)} and each sample's error, on `validation`.

  The mean confidence (of the predictive's top class) against 1 - error says
  which way a miscalibration goes: below it, the predictive is underconfident.
  """
  import numpy as np
  import tensorflow as tf
  from bgan_tf import data as data_lib
  from bgan_tf import schedules
  from bgan_tf.run_dir import restore_run
  run = restore_run(run_dir)
  chains = list(run.gan.discriminators)
  snapshots = run.snapshots.models(exclude_iteration=run.iteration)  # oldest first
  xs, ys = zip(*[(x, y.numpy()) for x, y in data_lib.eval_batches(validation, 500)])
  x, labels = tf.concat(xs, 0), np.concatenate(ys)
  probs = [tf.nn.softmax(m(x, training=False)).numpy().astype(np.float64) for m in chains + snapshots]
  chain_probs, snapshot_probs = probs[:len(chains)], probs[len(chains):]

  def score(members):
    predictive = np.mean(members, axis=0)
    scores = predictive_scores(predictive, labels, "val")
    return scores["val_error"], scores["val_nll"], scores["val_ece"], scores["val_confidence"]

  scores = {"chains": score(chain_probs), "all": score(probs), "first4": score(snapshot_probs[:4])}
  for k in (4, 8, 12):
    scores[f"last{k}"] = score(chain_probs + snapshot_probs[-k:])
  burn_in, length = run.gan.config.sampler.adam_burn_in, run.train_config.cycle_length
  if length > 0 and run.iteration > burn_in:  # a run stopped within its burn-in has no cycles
    taken_at = run.snapshots.iterations(exclude_iteration=run.iteration)
    cycles = [schedules.snapshot_cycle(done, burn_in, length) for done in taken_at]
    last_cycle = schedules.snapshot_cycle(run.iteration, burn_in, length)
    for k in (1, 2, 3, 4):
      scores[f"cycles{k}"] = score(chain_probs + [p for p, c in zip(snapshot_probs, cycles) if c > last_cycle - k])
  each = [score([p]) for p in probs]
  scores["each"] = tuple(float(np.mean(column)) for column in zip(*each))
  return scores, [sample[0] for sample in each]


def _row_key(row):
  """(candidate, N, seed); rows written before N was recorded were all N = 100."""
  return row["candidate"], row.get("N", 100), row["seed"]


def markdown(rows):
  out = [
      "| candidate | N | subset | seeds | val error % | val NLL | val ECE % | val confidence % |",
      "|---|---|---|---|---|---|---|---|"
  ]
  for candidate, n in dict.fromkeys(_row_key(r)[:2] for r in rows):
    cell = [r for r in rows if _row_key(r)[:2] == (candidate, n)]
    for subset in SUBSETS:
      values = [r["scores"][subset] for r in cell if subset in r["scores"]]
      if not values:  # the cycle subsets of a run without cycles
        continue
      # Rows scored before the confidence was recorded have three entries.
      confidence = mean_std([100 * v[3] for v in values]) if all(len(v) > 3 for v in values) else "—"
      out.append(f"| {candidate} | {n} | {subset} | {len(values)} | {mean_std([100 * v[0] for v in values])} | "
                 f"{mean_std([v[1] for v in values], 3)} | {mean_std([100 * v[2] for v in values])} | "
                 f"{confidence} |")
  return "\n".join(out) + "\n"


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  from bgan_tf import data as data_lib
  from bgan_tf import run_files
  record_path = os.path.join(OUT_DIR.value, "subsets.json")
  if REPORT.value:
    table = markdown(load_record(record_path)["runs"])
    run_files.write_text(os.path.join(OUT_DIR.value, "subsets.md"), table)
    print(table, end="")
    return
  rows = []
  for candidate in CANDIDATES.value:
    for seed in (int(s) for s in SEEDS.value):
      run_dir = os.path.join(WORK_DIR.value, f"{candidate}_N{N_LABELED.value}_seed{seed}")
      if not os.path.isdir(run_dir):
        print(f"skipped {run_dir}: not there (run choose_defaults.py --candidates={candidate} first)")
        continue
      validation = data_lib.hold_out_validation(data_lib.load_dataset("digits"), VALIDATION_SIZE.value, seed)
      scores, each = subset_scores(run_dir, validation)
      rows.append(
          {"candidate": candidate, "N": N_LABELED.value, "seed": seed, "scores": scores, "sample_errors": each})
      print(f"{candidate} seed {seed}: " + ", ".join(f"{k} {100 * v[0]:.1f}%" for k, v in scores.items()),
            flush=True)
  scored = {_row_key(r) for r in rows}
  rows = [r for r in load_record(record_path)["runs"] if _row_key(r) not in scored] + rows
  table = markdown(rows)
  run_files.write_json(record_path, {"meta": machine_info(), "runs": rows})
  run_files.write_text(os.path.join(OUT_DIR.value, "subsets.md"), table)
  print(table, end="")


if __name__ == "__main__":
  app.run(main)
