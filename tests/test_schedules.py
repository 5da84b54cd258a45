"""The iteration schedules (`bgan_tf.schedules`) and the training loop's use of them."""

import json
import math

import numpy as np
import pytest
from absl import flags

from bgan_tf import cli
from bgan_tf.config import TrainConfig
from bgan_tf.errors import ConfigError
from bgan_tf.schedules import is_snapshot_iteration, learning_rate_factor, sampler_step_factor, snapshot_cycle

TINY = [
    "--dataset=digits", "--num_layers=2", "--gf_dim=8", "--df_dim=8", "--z_dim=8", "--batch_size=16",
    "--eval_batch_size=100", "--lr_decay=0", "--notensorboard"
]


def test_learning_rate_factor_decays_over_the_first_epoch_then_holds():
  assert learning_rate_factor(0, 32, 320, 3.0) == 1.0
  assert learning_rate_factor(5, 32, 320, 3.0) == pytest.approx(math.exp(-1.5))
  assert learning_rate_factor(10, 32, 320, 3.0) == learning_rate_factor(1000, 32, 320, 3.0) == pytest.approx(
      math.exp(-3.0))


def test_cycles_replace_the_decay_with_a_restarting_cosine_after_burn_in():
  burn_in, length, peak, decay = 10, 8, 0.5, 0.05
  assert [sampler_step_factor(it, burn_in, length, peak, decay) for it in range(burn_in)] == [decay] * burn_in
  one_cycle = [sampler_step_factor(burn_in + k, burn_in, length, peak, decay) for k in range(length)]
  assert one_cycle[0] == peak  # a fraction of --lr, whatever the decay had reached
  assert one_cycle[length // 2] == pytest.approx(peak / 2)
  assert all(a > b for a, b in zip(one_cycle, one_cycle[1:]))  # falls through the cycle
  assert one_cycle[-1] == pytest.approx(peak * (1 + math.cos(math.pi * 7 / 8)) / 2)
  later = [sampler_step_factor(burn_in + 3 * length + k, burn_in, length, peak, decay) for k in range(length)]
  assert later == one_cycle  # every cycle restarts at the peak
  assert sampler_step_factor(500, burn_in, 0, peak, decay) == decay  # off


def test_snapshots_with_cycles_fall_in_each_cycles_last_quarter():

  def taken(snapshot_every, cycle_length, burn_in=10, end=210):
    return [
        done for done in range(1, end + 1) if is_snapshot_iteration(done, burn_in, snapshot_every, cycle_length)
    ]

  assert taken(50, 0) == [60, 110, 160, 210]
  assert taken(50, 50) == [60, 110, 160, 210]  # one per cycle, at its end
  assert taken(10, 100) == [90, 100, 110, 190, 200, 210]  # 80, 90 and 100 iterations into each cycle
  assert taken(10, 100, end=120) == [90, 100, 110]
  assert taken(0, 100) == []
  assert taken(25, 100) == [110, 210]  # 75 iterations in is not past three quarters


def test_train_config_checks_the_cycle_settings():
  with pytest.raises(ConfigError, match="cycle_length must be >= 0"):
    TrainConfig(cycle_length=-1)
  with pytest.raises(ConfigError, match="cycle_peak must be > 0"):
    TrainConfig(cycle_peak=0.0)
  with pytest.raises(ConfigError, match="needs the sghmc optimizer"):
    TrainConfig(cycle_length=10, optimizer="adam")


@pytest.mark.parametrize(
    "program,args,message",
    [
        ("semi", ["--cycle_length=10", "--ml"], "--ml and --ml_ensemble do not sample"),
        ("semi", ["--cycle_length=10", "--ml_ensemble=2"], "--ml and --ml_ensemble do not sample"),
        ("semi", ["--cycle_length=10", "--optimizer=adam"], "Adam throughout"),
        ("synth", ["--cycle_length=10"], "Adam throughout"),  # bgan_synth's recipe: Adam
        ("semi", ["--cycle_peak=0"], "cycle_peak"),
    ])
def test_cycles_without_a_sampler_are_a_flag_error(program, args, message):
  values = flags.FlagValues()
  cli.define_flags(program, values)
  with pytest.raises(flags.IllegalFlagValueError, match=message):
    values(["prog"] + args)


def test_snapshot_cycle_counts_a_cycles_last_iteration_in_that_cycle():
  burn_in, length = 10, 4
  assert [snapshot_cycle(done, burn_in, length) for done in range(11, 20)] == [0, 0, 0, 0, 1, 1, 1, 1, 2]
  for bad in ((10, burn_in, length), (12, burn_in, 0)):  # before the sampler; no cycles
    with pytest.raises(ValueError):
      snapshot_cycle(*bad)


def test_a_cyclical_run_steps_and_snapshots_on_the_schedule(tmp_path):
  from bgan_tf.run_dir import restore_run
  from bgan_tf.train import Hook

  steps = []

  def record_step(gan, done):
    steps.append(float(gan.optimizers["sghmc_d"].learning_rate.numpy()))
    return {}

  values = flags.FlagValues()
  names = cli.define_flags("semi", values)
  values(["prog"] + TINY + [
      "--N=20", "--burn_in=2", "--lr=0.01", "--train_iter=10", "--n_save=5", "--cycle_length=4",
      "--cycle_peak=0.3", "--snapshot_every=1", "--max_snapshots=10", f"--out_dir={tmp_path}", "--run_name=cyc"
  ])
  cli.main_train(values, "semi", names, hooks_fn=lambda dataset, run_dir: [Hook(1, record_step)])
  # Adam's burn-in leaves the SGHMC step at --lr (no decay); then two cycles of 4 from 0.3 x --lr.
  np.testing.assert_allclose(steps[:2], [0.01, 0.01], rtol=1e-6)
  expected = [0.01 * 0.3 * (1 + math.cos(math.pi * k / 4)) / 2 for k in (0, 1, 2, 3, 0, 1, 2, 3)]
  np.testing.assert_allclose(steps[2:], expected, rtol=1e-6)
  restored = restore_run(str(tmp_path / "cyc"))
  # One snapshot per cycle end (iterations 6 and 10), one per chain.
  assert int(restored.snapshots.num_added.numpy()) == 2
  assert sorted(set(restored.snapshots.slot_iterations.numpy().tolist()) - {-1}) == [6, 10]
  assert restored.snapshots.iterations() == [6, 10]  # in the order of models()
  assert restored.snapshots.iterations(exclude_iteration=10) == [6]
  assert [snapshot_cycle(done, 2, 4) for done in (6, 10)] == [0, 1]
  # posterior_subsets.py's cycle windows: the last cycle's only snapshot is the chains' own
  # iteration, so cycles1 is the chains alone and cycles2 everything served.
  import posterior_subsets  # bench/ (tests/conftest.py puts it on sys.path)
  from bgan_tf import data as data_lib
  validation = data_lib.hold_out_validation(data_lib.load_dataset("digits"), 50, seed=0)
  scores, sample_errors = posterior_subsets.subset_scores(str(tmp_path / "cyc"), validation)
  assert scores["cycles1"] == scores["chains"] and scores["cycles2"] == scores["all"]
  # "each" scores every sample alone and averages the scores, not the probabilities.
  assert scores["each"][0] == pytest.approx(sum(sample_errors) / len(sample_errors))
  assert scores["chains"] != scores["all"]  # the windows differ, so the equalities above can fail
  with open(tmp_path / "cyc" / "config.json") as f:
    assert json.load(f)["train"]["cycle_length"] == 4
  with open(tmp_path / "cyc" / "results_10.json") as f:
    assert json.load(f)["learning_rate"] == pytest.approx(expected[-1])


@pytest.mark.parametrize("ml", [False, True])
def test_the_2017_recipe_steps_every_model_on_the_2017_schedule(tmp_path, ml):
  # run_bgan_semi.py:158-174: every optimizer Adam for the burn-in, then --optimizer's
  # (momentum-0.5 SGD: SGHMC for the samples, plain for --ml and the classifier), all at
  # lr x decay but the classifier, which keeps 0.05 x lr (bgan_semi.py:339-343).
  from bgan_tf.train import Hook

  seen = []

  def record(gan, done):
    seen.append({key: (int(opt.iterations.numpy()), float(opt.learning_rate.numpy()))
                 for key, opt in gan.optimizers.items()})
    return {}

  values = flags.FlagValues()
  names = cli.define_flags("semi", values)
  values(["prog"] + TINY + [
      "--lr_decay=3", "--recipe=2017", "--N=20", "--burn_in=2", "--lr=0.01", "--train_iter=5", "--n_save=5",
      f"--out_dir={tmp_path}", "--run_name=r"
  ] + (["--ml"] if ml else []))
  cli.main_train(values, "semi", names, hooks_fn=lambda dataset, run_dir: [Hook(1, record)])
  later = "sgd" if ml else "sghmc"
  assert sorted(seen[0]) == sorted(["adam_d", "adam_g", "adam_classifier", f"{later}_d", f"{later}_g",
                                    "sgd_classifier"])
  for it, stepped in enumerate(seen):
    rate = 0.01 * learning_rate_factor(it, 16, 1437, 3.0)
    burn_in = it < 2
    for kind in ("d", "g"):
      (adam_steps, adam_rate), (later_steps, later_rate) = stepped[f"adam_{kind}"], stepped[f"{later}_{kind}"]
      assert (adam_steps, later_steps) == (min(it + 1, 2), max(0, it - 1))
      assert (adam_rate if burn_in else later_rate) == pytest.approx(rate)
    assert stepped["adam_classifier"] == (min(it + 1, 2), pytest.approx(0.0005))
    assert stepped["sgd_classifier"] == (max(0, it - 1), pytest.approx(0.0005))


def test_a_run_recorded_before_the_cycle_options_resumes_at_their_defaults(tmp_path):
  from bgan_tf.errors import RunError
  from bgan_tf.run_dir import CONFIG_FILE, write_run_record

  folder = str(tmp_path / "old")
  write_run_record(folder, ["--N=100"], {"train": TrainConfig()}, resume=False)
  with open(tmp_path / "old" / CONFIG_FILE) as f:
    record = json.load(f)
  del record["train"]["cycle_length"], record["train"]["cycle_peak"]  # as written before they existed
  with open(tmp_path / "old" / CONFIG_FILE, "w") as f:
    json.dump(record, f)
  write_run_record(folder, ["--N=100"], {"train": TrainConfig(train_iter=60000)}, resume=True)
  with open(tmp_path / "old" / CONFIG_FILE, "w") as f:
    json.dump(record, f)
  with pytest.raises(RunError, match="train.cycle_length") as raised:
    write_run_record(folder, ["--N=100"], {"train": TrainConfig(cycle_length=5)}, resume=True)
  # The old flagfile cannot fix it, so the error names the value the run ran at.
  assert "the run predates train.cycle_length, which it ran at 0: give their flags" in str(raised.value)
  with pytest.raises(RunError) as raised:  # a recorded option changed: no such hint
    write_run_record(folder, ["--N=100"], {"train": TrainConfig(lr_decay=1.0)}, resume=True)
  assert "predates" not in str(raised.value) and "train.lr_decay" in str(raised.value)
