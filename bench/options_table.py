"""The option table of docs/BENCHMARKS.md §1: one Bayesian-GAN setting per folder.

Each option was run with `semi_supervised.py --methods=bayes --N=100 --num_gen=2
--num_mcmc=2 --out_dir=bench/results/semi_supervised_options/<option>
--extra_flags=<its flags>` (the README's size, the test set, 3 seeds); this
prints their test error, NLL and ECE side by side as a markdown table.

  python bench/options_table.py
"""

import os

from semi_runs import load_record, mean_std  # noqa: E402  (bench/semi_runs.py)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = os.path.join(REPO, "bench", "results", "semi_supervised_options")

# folder: (label, the extra run_bgan_semi flags it was run with)
OPTIONS = {
    "default": ("the base, the `bgan_tf` recipe until 2026-12-02 02:00: logsumexp, real term once, all "
                "pairs, feature matching, discriminator batch norm, SGHMC friction 0.1, no preconditioner, "
                "T = 0.01", "--preconditioner=none,--friction=0.1"),
    "real_weight_num_gen": ("`--real_weight=num_gen` (the 2017 J-weighted real term; the default before "
                            "2026-12-01 23:30)", "--real_weight=num_gen"),
    "mean_objective":
        ("`--objective=mean --real_weight=one` (the paper's eqs. 1-2)", "--objective=mean,--real_weight=one"),
    "chain_pairing": ("`--pairing=chain` (the paper's Algorithm 1)", "--pairing=chain"),
    "no_feature_matching": ("`--feature_matching=0`", "--feature_matching=0"),
    "no_disc_norm": ("`--disc_norm=none`", "--disc_norm=none"),
    "preconditioner_adam": ("`--preconditioner=adam --friction=1` (SGHMC with the burn-in's Adam scales at "
                            "Adam's step size: the `bgan_tf` recipe since 2026-12-02 02:00)",
                            "--preconditioner=adam,--friction=1"),
    "recipe_2017": ("`--recipe=2017` (the 2017 sampler after the same burn-in)", "--recipe=2017"),
}


def table(base=BASE):
  """The markdown table of every option folder that holds a runs.json."""
  lines = ["| option | seeds | test error % | NLL | ECE % | supervised only % |", "|---|---|---|---|---|---|"]
  for folder, (label, _) in OPTIONS.items():
    path = os.path.join(base, folder, "runs.json")
    if not os.path.isfile(path):
      continue
    runs = [r for r in load_record(path)["runs"] if r["method"] == "bayes"]
    lines.append(
        f"| {label} | {len(runs)} | {mean_std([100 * r['test_error'] for r in runs])} | "
        f"{mean_std([r['test_nll'] for r in runs], 3)} | {mean_std([100 * r['test_ece'] for r in runs])} | "
        f"{mean_std([100 * r['supervised_error'] for r in runs])} |")
  return "\n".join(lines) + "\n"


if __name__ == "__main__":
  print(table(), end="")
