"""Finished semi-supervised runs scored again from their run folders: a check, and the confidence.

For each row of a `semi_supervised.py` record whose run folder is still in
--work_dir, this program restores the run and scores its predictive and its
supervised-only classifier on the test set again (`semi_runs.evaluate_run`,
the code that scored the record). It checks error, NLL and ECE against the
record: a restored run must give the numbers it gave. It then reports which
way each method's miscalibration goes, which the ECE does not say: the mean
probability of the predicted class against the accuracy. Below the accuracy
the predictive is underconfident, above it overconfident.

The run folders are `semi_supervised.py`'s --work_dir; it keeps the last
runs of each (data set, N, method, seed), so only the seeds run last on this
machine are found. Rows without a folder are skipped and counted.

  python bench/rescore_runs.py --record=bench/results/semi_supervised/runs.json \
      --work_dir=/tmp/bgan_bench/semi10 --out=bench/results/semi_supervised/confidence.json
"""

import collections
import os
import statistics

from absl import app, flags

from machine import machine_info  # noqa: E402  (bench/machine.py)
from semi_runs import choose_kernel_library, evaluate_run, load_record  # noqa: E402  (bench/semi_runs.py)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _define_flags():
  """The program's flags; defined only when it runs, so tests can import its helpers beside
  other bench programs that define flags of the same names (--work_dir, --out)."""
  global RECORD, WORK_DIR, DATA_PATH, OUT, TOLERANCE  # pylint: disable=global-statement
  RECORD = flags.DEFINE_string("record", None, "A semi_supervised.py runs.json.", required=True)
  WORK_DIR = flags.DEFINE_string("work_dir", None, "The folder holding the record's run folders.", required=True)
  DATA_PATH = flags.DEFINE_string(
      "data_path", None, "The data the runs were trained on, as semi_supervised.py's --data_path (digits: none).")
  OUT = flags.DEFINE_string("out", None, "Write the scores and the table as JSON here.")
  TOLERANCE = flags.DEFINE_float(
      "tolerance", 1e-6,
      "Largest difference allowed between a score and the record's (error and ECE as fractions).")


EVAL_BATCH_SIZE = 500  # semi_supervised.py's --eval_batch_size default, which scored the records
CHECKED = ("test_error", "test_nll", "test_ece", "supervised_error", "supervised_nll", "supervised_ece")


def mismatches(row, scores, tolerance):
  """The checked scores that differ from the record's row by more than `tolerance`: {name: (recorded, now)}."""
  return {k: (row[k], scores[k]) for k in CHECKED if abs(row[k] - scores[k]) > tolerance}


def direction_table(rows):
  """Markdown: per (N, method) and for the supervised-only classifier, accuracy, confidence and their gap.

  `rows` are the record's rows with `test_confidence` and `supervised_confidence`
  added. The supervised-only classifier is the same in every method's run of a
  (N, seed), so it is taken once, from each seed's first row.
  """
  cells = collections.OrderedDict()
  for r in sorted(rows, key=lambda r: (r["N"], r["seed"])):
    cells.setdefault((r["N"], "supervised only"), {}).setdefault(r["seed"], ("supervised", r))
    cells.setdefault((r["N"], r["method"]), {})[r["seed"]] = ("test", r)
  out = [
      "| N | method | seeds | accuracy % | confidence % | confidence - accuracy, points (per seed) | ECE % |",
      "|---|---|---|---|---|---|---|"
  ]
  for (n, method), by_seed in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1] != "supervised only")):
    accuracy = [100 * (1 - r[f"{prefix}_error"]) for prefix, r in by_seed.values()]
    confidence = [100 * r[f"{prefix}_confidence"] for prefix, r in by_seed.values()]
    ece = [100 * r[f"{prefix}_ece"] for prefix, r in by_seed.values()]
    gaps = [c - a for c, a in zip(confidence, accuracy)]
    out.append(f"| {n} | {method} | {len(by_seed)} | {statistics.fmean(accuracy):.1f} | "
               f"{statistics.fmean(confidence):.1f} | {statistics.fmean(gaps):+.1f} "
               f"({', '.join(f'{g:+.1f}' for g in gaps)}) | {statistics.fmean(ece):.1f} |")
  return "\n".join(out) + "\n"


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if not os.path.isfile(RECORD.value):
    raise app.UsageError(f"--record: no file {RECORD.value}")
  if not os.path.isdir(WORK_DIR.value):
    raise app.UsageError(f"--work_dir: no folder {WORK_DIR.value}")
  rows = load_record(RECORD.value)["runs"]
  found = [r for r in rows if os.path.isdir(os.path.join(WORK_DIR.value, r["run_name"]))]
  if not found:
    raise app.UsageError(f"none of the record's {len(rows)} run folders is in {WORK_DIR.value}")
  datasets = {r["dataset"] for r in found}
  if len(datasets) > 1:
    raise app.UsageError(f"the run folders found hold several data sets: {sorted(datasets)}")
  dataset_name = datasets.pop()
  choose_kernel_library(dataset_name)  # before TensorFlow loads, as the bench that trained them
  from bgan_tf import data as data_lib
  from bgan_tf import run_files
  dataset = data_lib.load_dataset(dataset_name, data_path=DATA_PATH.value, seed=0)
  print(f"{len(found)} of the record's {len(rows)} runs have their folder in {WORK_DIR.value}", flush=True)
  scored, failed = [], {}
  for row in found:
    scores = evaluate_run(os.path.join(WORK_DIR.value, row["run_name"]), dataset, EVAL_BATCH_SIZE)
    differ = mismatches(row, scores, TOLERANCE.value)
    print(f"{row['run_name']}: test confidence {100 * scores['test_confidence']:.1f}% at accuracy "
          f"{100 * (1 - scores['test_error']):.1f}%" + (f"; DIFFERS from the record: {differ}" if differ else ""),
          flush=True)
    if differ:
      failed[row["run_name"]] = differ
    else:
      scored.append({**row, "test_confidence": scores["test_confidence"],
                     "supervised_confidence": scores["supervised_confidence"]})
  table = direction_table(scored) if scored else ""
  print(table, end="")
  if failed:
    print(f"{len(failed)} runs differ from the record and are left out of the table: {sorted(failed)}")
  if OUT.value:
    run_files.write_json(
        OUT.value, {
            "machine": machine_info(), "record": RECORD.value, "work_dir": WORK_DIR.value,
            "runs_in_record": len(rows), "runs_found": len(found), "differ_from_record": failed,
            "runs": [{k: r[k] for k in ("N", "method", "seed", "run_name", *CHECKED, "test_confidence",
                                        "supervised_confidence")} for r in scored],
            "table": table
        })


if __name__ == "__main__":
  _define_flags()
  app.run(main)
