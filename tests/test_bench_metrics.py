"""The benchmarks' metrics (bench/): mode coverage on 2-D mixtures and classifier quality."""

import numpy as np
import pytest

# bench/ modules (tests/conftest.py puts bench/ on sys.path).
import classifier_metrics
import mode_coverage

# ---------------------------------------------------------------------------
# Mode coverage
# ---------------------------------------------------------------------------


def test_ring_and_grid_centres():
  ring = mode_coverage.ring_modes(8, radius=2.0)
  assert ring.shape == (8, 2)
  np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0)
  np.testing.assert_allclose(ring[0], [2.0, 0.0])
  grid = mode_coverage.grid_modes(5, spacing=2.0)
  assert grid.shape == (25, 2)
  assert sorted(set(grid[:, 0])) == [-4.0, -2.0, 0.0, 2.0, 4.0]
  np.testing.assert_allclose(grid.mean(axis=0), 0.0)


def test_sampler_is_seeded():
  centres = mode_coverage.grid_modes()
  a = mode_coverage.sample_ring_or_grid(centres, 0.05, 300, seed=7)
  np.testing.assert_array_equal(a, mode_coverage.sample_ring_or_grid(centres, 0.05, 300, seed=7))
  assert a.shape == (300, 2)
  assert not np.array_equal(a, mode_coverage.sample_ring_or_grid(centres, 0.05, 300, seed=8))


@pytest.mark.parametrize("centres", [mode_coverage.ring_modes(), mode_coverage.grid_modes()])
def test_samples_from_every_mode_cover_them_all(centres):
  samples = mode_coverage.sample_ring_or_grid(centres, 0.02, 5000, seed=0)
  result = mode_coverage.mode_coverage(samples, centres, std=0.02)
  assert result["modes_covered"] == len(centres)
  # P(|N(0, I_2)| <= 3) = 1 - exp(-4.5) = 0.989.
  assert result["high_quality_fraction"] > 0.97
  assert result["counts"].sum() == pytest.approx(0.989 * 5000, rel=0.01)


def test_samples_from_three_modes_cover_three():
  centres = mode_coverage.ring_modes()
  samples = mode_coverage.sample_ring_or_grid(centres[[0, 3, 5]], 0.02, 2000, seed=1)
  result = mode_coverage.mode_coverage(samples, centres, std=0.02)
  assert result["modes_covered"] == 3
  assert set(np.flatnonzero(result["counts"])) == {0, 3, 5}
  assert result["high_quality_fraction"] > 0.97


def test_uniform_noise_is_low_quality():
  noise = np.random.default_rng(2).uniform(-3, 3, size=(5000, 2))
  result = mode_coverage.mode_coverage(noise, mode_coverage.ring_modes(), std=0.02)
  # 8 discs of radius 0.06 cover 0.25% of the square.
  assert result["high_quality_fraction"] < 0.02


def test_min_count_rule():
  centres = mode_coverage.ring_modes()
  # Default: a tenth of each mode's fair share, capped at 20, at least 1.
  assert mode_coverage.mode_coverage(np.zeros((100, 2)) + [2, 0], centres, 0.1)["min_count"] == 1
  assert mode_coverage.mode_coverage(np.zeros((1200, 2)) + [2, 0], centres, 0.1)["min_count"] == 15
  assert mode_coverage.mode_coverage(np.zeros((9000, 2)) + [2, 0], centres, 0.1)["min_count"] == 20
  # Five good samples on mode 0, one on mode 1.
  samples = np.array([[2.0, 0.0]] * 5 + [centres[1]])
  assert mode_coverage.mode_coverage(samples, centres, 0.1, min_count=1)["modes_covered"] == 2
  assert mode_coverage.mode_coverage(samples, centres, 0.1, min_count=2)["modes_covered"] == 1


# ---------------------------------------------------------------------------
# Classifier quality
# ---------------------------------------------------------------------------


def test_ece_of_a_calibrated_classifier_is_near_zero():
  rng = np.random.default_rng(0)
  n = 50_000
  confidence = rng.uniform(0.5, 1.0, size=n)
  predicted = rng.integers(3, size=n)
  correct = rng.random(n) < confidence
  # The wrong label is the next class over; the rest of the mass is split.
  labels = np.where(correct, predicted, (predicted + 1) % 3)
  probs = np.empty((n, 3))
  probs[:] = ((1 - confidence) / 2)[:, None]
  probs[np.arange(n), predicted] = confidence
  assert classifier_metrics.expected_calibration_error(probs, labels) < 0.02


def test_ece_of_an_over_confident_classifier_hand_computed():
  probs = np.array([[0.9, 0.1]] * 4 + [[0.3, 0.7]] * 2)
  labels = np.array([0, 0, 1, 1, 1, 1])
  # TFP computes the ECE in float32 (it rejects float64 logits), hence 1e-6.
  # Bin [0.867, 0.933): 4 examples, accuracy 0.5, confidence 0.9 -> gap 0.4.
  # Bin [0.667, 0.733): 2 examples, accuracy 1.0, confidence 0.7 -> gap 0.3.
  assert classifier_metrics.expected_calibration_error(probs,
                                                       labels) == pytest.approx(4 / 6 * 0.4 + 2 / 6 * 0.3,
                                                                                abs=1e-6)
  # One bin: |mean accuracy - mean confidence| = |4/6 - 5/6|.
  assert classifier_metrics.expected_calibration_error(probs, labels, num_bins=1) == pytest.approx(1 / 6, abs=1e-6)


def test_ece_bins_are_closed_below():
  # 0.75 lies on an inner edge of 4 bins (exactly, in float32 too). TFP's bins
  # are [0.5, 0.75) and [0.75, 1]: both examples share the top bin, accuracy
  # 1/2 against confidence 0.875. Bins closed above, (0.5, 0.75] and (0.75, 1],
  # would separate them: 1/2 * 0.25 + 1/2 * 1.0 = 0.625.
  probs = np.array([[0.75, 0.25], [1.0, 0.0]])
  labels = np.array([0, 1])
  assert classifier_metrics.expected_calibration_error(probs, labels, num_bins=4) == pytest.approx(0.375, abs=1e-6)


def test_nll_and_error_rate_hand_computed():
  probs = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8], [0.0, 1.0]])
  labels = np.array([0, 0, 0, 0])
  expected = np.mean([-np.log(0.5), -np.log(0.9), -np.log(0.2), -np.log(1e-12)])
  assert classifier_metrics.negative_log_likelihood(probs, labels) == pytest.approx(expected, rel=1e-12)
  # Ties go to the lower index, so only rows 2 and 3 are errors.
  assert classifier_metrics.error_rate(probs, labels) == pytest.approx(0.5)
  assert classifier_metrics.error_rate(probs, np.array([1, 0, 1, 1])) == pytest.approx(0.25)


def test_classification_metrics_reject_bad_labels():
  probs = np.full((2, 3), 1 / 3)
  for labels in (np.array([0, 3]), np.array([0]), np.array([0.0, 1.0])):
    with pytest.raises(ValueError):
      classifier_metrics.negative_log_likelihood(probs, labels)


# ---------------------------------------------------------------------------
# The README command's A/B (bench/readme_ab.py)
# ---------------------------------------------------------------------------


def test_readme_ab_runs_the_readme_command_without_its_out_dir():
  import os
  import readme_ab
  with open(os.path.join(readme_ab.REPO, "README.md")) as f:
    flags = readme_ab.readme_command(f.read())
  assert "--dataset=digits" in flags and "--N=100" in flags
  assert not [f for f in flags if f.startswith("--out_dir")]
  with pytest.raises(ValueError, match="no line"):
    readme_ab.readme_command("# a README without the command\n")


def test_readme_ab_variants_and_summary():
  import readme_ab
  assert readme_ab.parse_variant("float32:") == ("float32", [], {})
  assert readme_ab.parse_variant("bf16:--precision=mixed_bfloat16 --intra_op_threads=2") == (
      "bf16", ["--precision=mixed_bfloat16", "--intra_op_threads=2"], {})
  assert readme_ab.parse_variant("eigen:TF_ENABLE_ONEDNN_OPTS=0 --N=50") == (
      "eigen", ["--N=50"], {"TF_ENABLE_ONEDNN_OPTS": "0"})
  for bad in ("no_colon", ":--N=5", "x:precision=float32", "x:lower_case=1", "x:-N=5"):
    with pytest.raises(ValueError):
      readme_ab.parse_variant(bad)
  runs = [{"variant": "a", "returncode": 0, "wall_s": 40.0, "posterior_acc": 0.95},
          {"variant": "b", "returncode": 0, "wall_s": 50.0, "posterior_acc": 0.97},
          {"variant": "a", "returncode": 0, "wall_s": 44.0, "posterior_acc": 0.97},
          {"variant": "b", "returncode": 1, "wall_s": 1.0}]  # a failed run counts in no figure
  summary = readme_ab.summarize(runs)
  assert list(summary) == ["a", "b"]
  assert summary["a"]["runs"] == 2 and summary["a"]["wall_s"] == {"mean": 42.0, "min": 40.0, "max": 44.0}
  assert summary["b"]["runs"] == 1 and summary["b"]["posterior_acc"]["mean"] == 0.97
  assert "chains_acc" not in summary["a"]


def test_env_ab_summary_ratios_per_round_and_failed_children():
  import env_ab
  records = [
      {"variant": "eigen", "round": 0, "iteration_s": [12.0, 10.0, 11.0], "peaks_gflops": [100.0] * 3,
       "first_call_s": 60.0},
      {"variant": "onednn", "round": 0, "iteration_s": [8.8, 9.0, 8.0], "peaks_gflops": [100.0] * 3,
       "first_call_s": 50.0},
      {"variant": "eigen", "round": 1, "iteration_s": [20.0, 20.0, 20.0], "peaks_gflops": [50.0] * 3,
       "first_call_s": 70.0},
      {"variant": "onednn", "round": 1, "stderr_tail": "killed"},  # a failed child counts in no figure
  ]
  summary = env_ab.summarize(records, work_gflop=1000.0)
  assert summary["eigen"]["children"] == 2 and summary["onednn"]["children"] == 1
  assert summary["eigen"]["median_s"] == pytest.approx(16.0)  # of all six iterations
  assert summary["onednn"]["over_eigen_per_round"] == [pytest.approx(8.8 / 11.0)]  # round 1 has no pair
  assert "over_eigen_per_round" not in summary["eigen"]
  # 1000 GFLOP in 8.8 s against a 100 GFLOP/s peak: 1.136 of the peak.
  assert summary["onednn"]["median_ratio_to_peak"] == pytest.approx(1000.0 / 8.8 / 100.0)


def test_speed_benches_choose_the_kernel_library_of_the_configs_they_are_given(monkeypatch):
  import configs
  import kernel_library
  from bgan_tf import cli

  assert set(kernel_library.CONFIG_DATASETS) == set(configs.CONFIGS)
  read = kernel_library.configs_from_argv
  assert read(["prog"], "config", ("cifar",)) == ["cifar"]
  assert read(["prog", "--config=small", "--rounds=1"], "config", ("cifar",)) == ["small"]
  assert read(["prog", "--config", "mnist"], "config", ("cifar",)) == ["mnist"]
  assert read(["prog", "--configs=small,cifar", "--configs=small"], "configs", ()) == ["small"]  # the last wins
  assert read(["prog", "--config_x=small"], "config", ("cifar",)) == ["cifar"]
  asked = []
  monkeypatch.setattr(cli, "configure_onednn", lambda choice, dataset: asked.append((choice, dataset)))
  kernel_library.configure_for_argv(["prog", "--config=small"])
  kernel_library.configure_for_argv(["prog"])
  kernel_library.configure_for_argv(["prog", "--configs=small,mnist"], "configs")
  kernel_library.configure_for_argv(["prog", "--configs=small"], "configs", ("small", "cifar"))
  # The README's digits config gets the programs' digits rule; any image config, the image rule.
  assert asked == [("auto", "digits"), ("auto", "cifar"), ("auto", "mnist"), ("auto", "digits")]


def test_paired_differences_hand_computed():
  import semi_runs

  def row(n, method, seed, error, nll, ece):
    return {"N": n, "method": method, "seed": seed, "test_error": error, "test_nll": nll, "test_ece": ece}

  rows = [
      row(50, "bayes", 0, 0.10, 0.30, 0.05), row(50, "ml", 0, 0.12, 0.40, 0.04),
      row(50, "bayes", 1, 0.20, 0.50, 0.02), row(50, "ml", 1, 0.20, 0.45, 0.03),
      row(50, "bayes", 2, 0.05, 0.20, 0.01),  # no baseline run for seed 2: left out
      row(100, "ml", 0, 0.1, 0.1, 0.1),  # no Bayesian run at N = 100: no line
  ]
  table = semi_runs.paired_differences(rows, "bayes", "ml", "B", "M")
  assert table.startswith("**B minus M, per seed")
  lines = [line for line in table.splitlines() if line.startswith("| 50") or line.startswith("| 100")]
  # Error differences -2 and 0 points: mean -1, standard error stdev([-2, 0]) / sqrt(2) = 1.
  # NLL -0.1 and +0.05: mean -0.025, standard error 0.075. ECE +1 and -1 point: 0 ± 1.
  assert lines == ["| 50 | 2 | -1.00 ± 1.00 | -0.025 ± 0.075 | +0.00 ± 1.00 | 1 / 1 / 0 |"]


def test_a_bayesian_only_record_gets_its_paired_differences_from_another_records_baselines():
  import semi_runs  # (not semi_supervised: its absl flags would clash with other bench modules')

  settings = {key: 1 for key in semi_runs.SHARED_SETTINGS}

  def row(method, seed, error, settings=settings):
    return {"dataset": "digits", "N": 50, "method": method, "seed": seed, "test_error": error, "test_nll": 0.2,
            "test_ece": 0.03, "settings": settings}

  ours = [row("bayes", 0, 0.05), row("bayes", 1, 0.10)]
  main_table = [row("ml_ensemble", 0, 0.06), row("ml_ensemble", 1, 0.10), row("bayes", 0, 0.5)]
  baselines = semi_runs.baseline_rows(ours, main_table, ("ml", "ml_ensemble"))
  assert [r["method"] for r in baselines] == ["ml_ensemble", "ml_ensemble"]  # the other record's Bayes left out
  names = {"bayes": "B", "ml_ensemble": "E", "ml": "M"}
  tables = semi_runs.paired_tables(ours, baselines, names)
  assert tables.startswith("**B minus E, per seed") and "minus M" not in tables  # no ML runs anywhere: no table
  assert "| 50 | 2 | -0.50 ± 0.50 | +0.000 ± 0.000 | +0.00 ± 0.00 | 1 / 1 / 0 |" in tables
  assert semi_runs.paired_tables(ours, [], names) == ""  # no baselines, no paired table
  # The record's own runs of a method win over the other record's.
  own_ensemble = ours + [row("ml_ensemble", 0, 0.05), row("ml_ensemble", 1, 0.10)]
  assert "| 50 | 2 | +0.00 ± 0.00 |" in semi_runs.paired_tables(own_ensemble, baselines, names)

  other = dict(settings, train_iter=2)
  with pytest.raises(ValueError, match="train_iter"):
    semi_runs.baseline_rows(ours, [row("ml", 0, 0.1, other)], ("ml",))


def test_kernel_copies_run_back_to_back_on_their_own_inputs():
  import peak
  import tensorflow as tf
  assert peak.copies_per_call(2 * peak.CONV_GFLOP) == 1
  assert peak.copies_per_call(peak.CONV_GFLOP / 10) == 10
  assert peak.copies_per_call(peak.CONV_GFLOP / 1e6) == peak.MAX_COPIES
  x, w = tf.random.normal([4, 3], seed=1), tf.random.normal([3, 5], seed=2)
  fn, args = peak.chained_copies(tf.matmul, (x, w), copies=3)
  assert args[0] is w and args[1] is x and len(args) == 4
  firsts = args[1:]
  assert all(not np.array_equal(firsts[i], firsts[j]) for i in range(3) for j in range(i))
  # Each copy's product is computed, fetched by its first element, and summed.
  expected = sum(float(tf.matmul(first, w)[0, 0]) for first in firsts)
  np.testing.assert_allclose(float(fn(*args)), expected, rtol=1e-6)
  # One op per copy in the traced graph: none merged away by tracing.
  graph = fn.get_concrete_function(*args).graph
  assert sum(op.type == "MatMul" for op in graph.get_operations()) == 3


def test_predictive_scores_give_the_mean_confidence_of_the_predicted_class():
  import semi_runs
  probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])
  scores = semi_runs.predictive_scores(probs, np.array([0, 0, 0]), "test")
  assert scores["test_confidence"] == pytest.approx((0.9 + 0.7 + 0.6) / 3)
  assert scores["test_error"] == pytest.approx(1 / 3)


def test_rescoring_checks_the_record_and_signs_the_miscalibration():
  import rescore_runs
  row = {"N": 100, "method": "bayes", "seed": 0, "test_error": 0.05, "test_nll": 0.2, "test_ece": 0.03,
         "supervised_error": 0.1, "supervised_nll": 0.4, "supervised_ece": 0.05}
  same = {**row, "test_nll": 0.2 + 1e-9}
  assert rescore_runs.mismatches(row, same, 1e-6) == {}
  assert rescore_runs.mismatches(row, {**same, "supervised_ece": 0.06}, 1e-6) == {"supervised_ece": (0.05, 0.06)}
  rows = [
      {**row, "test_confidence": 0.92, "supervised_confidence": 0.95},  # 95% accurate: 3 points under
      {**row, "seed": 1, "test_error": 0.03, "test_confidence": 0.96, "supervised_confidence": 0.91},
      {**row, "method": "ml", "test_error": 0.1, "test_confidence": 0.93, "supervised_confidence": 0.95},
  ]
  lines = rescore_runs.direction_table(rows).splitlines()
  assert lines[2] == "| 100 | supervised only | 2 | 90.0 | 93.0 | +3.0 (+5.0, +1.0) | 5.0 |"
  assert lines[3] == "| 100 | bayes | 2 | 96.0 | 94.0 | -2.0 (-3.0, -1.0) | 3.0 |"
  assert lines[4] == "| 100 | ml | 1 | 90.0 | 93.0 | +3.0 (+3.0) | 3.0 |"
  assert len(lines) == 5
