"""End-to-end tests of bin/run_bgan_semi and bin/run_bgan on tiny configs."""

import glob
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator

from bgan_tf import cli
from bgan_tf.errors import ConfigError, NonFiniteLossError, RunError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = [
    "--dataset=digits", "--num_layers=2", "--gf_dim=8", "--df_dim=8", "--z_dim=8", "--batch_size=16",
    "--eval_batch_size=100", "--burn_in=2", "--lr_decay=0"
]


def run_in_process(program, args, hooks_fn=None):
  """Parses `args` into fresh flag values and runs the program's main (with `hooks_fn`'s hooks)."""
  values = flags.FlagValues()
  names = cli.define_flags(program, values)
  values(["prog"] + list(args))
  return cli.main_train(values, program, names, hooks_fn=hooks_fn).results


def record_only(monkeypatch, program, args):
  """Runs the program up to its run record (config.json, flags.txt), with training stubbed out.

  For tests of how flags resolve into the recorded configuration: everything
  before `train` runs as in a real run.
  """
  from bgan_tf import train as train_lib
  monkeypatch.setattr(train_lib, "train", lambda *args, **kwargs: train_lib.TrainResult({}, {}))
  return run_in_process(program, args)


def run_subprocess(script, args, timeout=300, **env_vars):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **env_vars)
  return subprocess.run([sys.executable, os.path.join(REPO, "bin", script)] + list(args), capture_output=True,
                        text=True, timeout=timeout, env=env)


def start_subprocess(script, args):
  """`bin/<script> args` started, not waited for (for runs that go at once); pipes for both outputs."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.Popen([sys.executable, os.path.join(REPO, "bin", script)] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env)


def checkpoint_values(run_dir):
  reader = tf.train.load_checkpoint(os.path.join(run_dir, "checkpoints"))
  return {
      name: reader.get_tensor(name)
      for name in reader.get_variable_to_shape_map()
      if name != "_CHECKPOINTABLE_OBJECT_GRAPH" and "save_counter" not in name
  }


def test_semi_supervised_run_writes_every_output(tmp_path):
  run_dir = tmp_path / "semi"
  run_in_process(
      "semi", TINY + [
          "--N=20", "--num_gen=2", "--train_iter=4", "--n_save=2", "--save_samples", "--save_weights",
          f"--out_dir={tmp_path}", "--run_name=semi"
      ])
  for iteration in (2, 4):
    with open(run_dir / f"results_{iteration}.json") as f:
      results = json.load(f)
    assert {"disc_losses", "gen_losses", "supervised_acc", "semi_supervised_acc", "timestamp"} <= set(results)
    assert len(results["gen_losses"]) == 2 and len(results["disc_losses"]) == 1
    assert 0.0 <= results["semi_supervised_acc"] <= 1.0
    assert len(results["sample_diversity"]) == 2 and all(d >= 0 for d in results["sample_diversity"])
  pngs = sorted(glob.glob(str(run_dir / "samples" / "*.png")))
  assert len(pngs) == 4  # 2 generators x 2 reports
  assert Image.open(pngs[0]).size == (64, 64)  # 64 samples of 8x8 in an 8x8 grid
  weights = np.load(run_dir / "weights" / "iter_0000004.npz")
  assert any(key.startswith("generator_1/") for key in weights.files)

  events = glob.glob(str(run_dir / "tensorboard" / "events.out.tfevents.*"))
  accumulator = event_accumulator.EventAccumulator(events[0], size_guidance={"tensors": 0})
  accumulator.Reload()
  tags = set(accumulator.Tags()["tensors"])
  assert {
      "accuracy/semi_supervised", "accuracy/supervised", "loss/disc_0", "loss/gen_1", "learning_rate",
      "diversity/generator_0", "diversity/generator_1", "iterations_per_second", "samples/generator_0"
  } <= tags
  assert [e.step for e in accumulator.Tensors("accuracy/semi_supervised")] == [2, 4]


def test_flagfile_reproduces_the_configuration(tmp_path, monkeypatch):
  record_only(
      monkeypatch, "unsupervised",
      TINY + ["--train_iter=2", "--n_save=2", f"--out_dir={tmp_path}", "--run_name=first", "--num_mcmc=2"])
  with open(tmp_path / "first" / "config.json") as f:
    first = json.load(f)
  flagfile = tmp_path / "first" / "flags.txt"
  record_only(monkeypatch, "unsupervised", [f"--flagfile={flagfile}", "--run_name=second"])
  with open(tmp_path / "second" / "config.json") as f:
    assert json.load(f) == first


def test_resume_gives_the_numbers_of_an_uninterrupted_run(tmp_path):
  common = TINY + ["--N=20", "--num_gen=2", "--n_save=2", f"--out_dir={tmp_path}"]
  run_in_process("semi", common + ["--train_iter=6", "--run_name=straight"])
  run_in_process("semi", common + ["--train_iter=4", "--run_name=split"])
  run_in_process("semi", common + ["--train_iter=6", "--run_name=split", "--resume"])
  straight, split = checkpoint_values(tmp_path / "straight"), checkpoint_values(tmp_path / "split")
  assert straight.keys() == split.keys()
  for name in straight:
    np.testing.assert_array_equal(straight[name], split[name], err_msg=name)
  with open(tmp_path / "straight" / "results_6.json") as a, open(tmp_path / "split" / "results_6.json") as b:
    ra, rb = json.load(a), json.load(b)
  for key in ("disc_losses", "gen_losses", "semi_supervised_acc", "supervised_acc"):
    assert ra[key] == rb[key], key


def test_a_resumed_run_keeps_the_hook_history_of_the_first_session(tmp_path):
  from bgan_tf.train import Hook

  def main(args):
    values = flags.FlagValues()
    names = cli.define_flags("unsupervised", values)
    values(["prog"] + TINY + ["--n_save=2", f"--out_dir={tmp_path}", "--run_name=hooked"] + args)
    # A hook whose value is its iteration, so the history shows which iterations ran.
    return cli.main_train(values, "unsupervised", names,
                          hooks_fn=lambda dataset, run_dir: [Hook(every=2, fn=lambda gan, it: {"it": it})])

  first = main(["--train_iter=4"])
  assert first.hook_history == {"it": [[2, 2.0], [4, 4.0]]}
  second = main(["--train_iter=6", "--resume"])
  assert second.run_dir == first.run_dir
  assert second.hook_history == {"it": [[2, 2.0], [4, 4.0], [6, 6.0]]}
  with open(os.path.join(second.run_dir, "hook_metrics.json")) as f:
    assert json.load(f) == second.hook_history


def test_resume_refuses_a_changed_configuration(tmp_path):
  common = TINY + ["--train_iter=2", "--n_save=2", f"--out_dir={tmp_path}", "--run_name=r"]
  run_in_process("unsupervised", common)
  with pytest.raises(RunError, match="z_dim"):
    run_in_process("unsupervised", common + ["--resume", "--z_dim=9"])
  with pytest.raises(RunError, match="already holds a run"):
    run_in_process("unsupervised", common)


def test_recipe_2017_sets_the_original_choices_and_explicit_flags_win(tmp_path, monkeypatch):
  common = TINY[:-2] + ["--N=20", "--num_gen=2", "--train_iter=2", "--n_save=2", f"--out_dir={tmp_path}"]
  record_only(monkeypatch, "semi", common + ["--recipe=2017", "--lr=0.004", "--run_name=original"])
  with open(tmp_path / "original" / "config.json") as f:
    gan = json.load(f)["gan"]
  assert (gan["objective"], gan["real_weight"], gan["pairing"], gan["feature_matching"]) == ("logsumexp",
                                                                                             "num_gen", "all", 1.0)
  assert gan["model"]["disc_norm"] == "batch"
  sampler = gan["sampler"]
  assert (sampler["noise_form"], sampler["prior_form"], sampler["friction"],
          sampler["adam_burn_in"]) == ("2017", "2017", 0.5, 5000)
  assert sampler["adam_learning_rate"] == 0.004  # Adam at lr x decay, as 2017
  assert sampler["supervised_learning_rate"] == pytest.approx(0.05 * 0.004)
  assert sampler["momentum_after_burn_in"]  # --optimizer=sgd: the classifier and --ml switch too
  assert gan["model"]["classifier"] == "2017"
  flagfile = (tmp_path / "original" / "flags.txt").read_text()
  assert "--noise=2017" in flagfile and "--burn_in=5000" in flagfile  # the resolved values are recorded

  record_only(monkeypatch, "semi", common + ["--recipe=2017", "--pairing=chain", "--burn_in=1", "--run_name=changed"])
  with open(tmp_path / "changed" / "config.json") as f:
    gan = json.load(f)["gan"]
  assert (gan["pairing"], gan["sampler"]["adam_burn_in"], gan["objective"]) == ("chain", 1, "logsumexp")
  for recipe, arch, classifier in (("bgan_tf", "dcgan", "discriminator"), ("2017", "mlp", "discriminator")):
    # The 2017 classifier is convolutional: under --arch=mlp the recipe's gives way.
    record_only(monkeypatch, "semi",
                common + [f"--recipe={recipe}", f"--arch={arch}", f"--run_name={recipe}_{arch}"])
    with open(tmp_path / f"{recipe}_{arch}" / "config.json") as f:
      assert json.load(f)["gan"]["model"]["classifier"] == classifier
  for optimizer in ("sghmc", "adam"):  # only the 2017 --optimizer=sgd moves the classifier and --ml off Adam
    record_only(monkeypatch, "semi",
                common + ["--recipe=2017", f"--optimizer={optimizer}", f"--run_name={optimizer}"])
    with open(tmp_path / optimizer / "config.json") as f:
      assert not json.load(f)["gan"]["sampler"]["momentum_after_burn_in"]


# The package's settings before the 2017 recipe was restored: no discriminator
# batch norm or feature matching, the mean objective, SGHMC at friction 0.01
# (momentum 0.99) and T = 1 without a preconditioner or cycles, Adam at 2e-4.
_SETTINGS_BEFORE_THE_2017_RECIPE = [
    "--disc_norm=none", "--feature_matching=0", "--objective=mean", "--real_weight=one", "--friction=0.01",
    "--temperature=1", "--preconditioner=none", "--cycle_length=0", "--adam_lr=2e-4", "--pairing=all"
]


def test_several_discriminator_samples_train_without_non_finite_losses(tmp_path):
  # A test-sized version of the run that stopped on a non-finite generator
  # loss at iteration 741 before the 2017 normalisation: J_d = 2. At this size
  # the settings of that time stop on non-finite losses too (at iteration 414
  # to 431 on the AVX2 EPYC, 2026-12-05; the thread pools' rounding moves it),
  # so the check below would catch their return.
  common = [
      "--dataset=digits", "--N=100", "--num_disc=2", "--num_gen=2", "--num_mcmc=2", "--num_layers=2", "--gf_dim=8",
      "--df_dim=8", "--z_dim=8", "--batch_size=16", "--train_iter=500", "--burn_in=50", "--lr_decay=0",
      "--n_save=250", "--snapshot_every=25", "--notensorboard", f"--out_dir={tmp_path}"
  ]
  results = run_in_process("semi", common + ["--run_name=jd2"])
  assert len(results["disc_losses"]) == 4 and np.all(np.isfinite(results["disc_losses"]))
  assert np.all(np.isfinite(results["gen_losses"]))
  with pytest.raises(NonFiniteLossError, match="non-finite"):
    run_in_process("semi", common + _SETTINGS_BEFORE_THE_2017_RECIPE + ["--run_name=before"])


def test_validation_split_replaces_the_test_set(tmp_path):
  run_in_process(
      "semi", TINY + [
          "--N=20", "--train_iter=2", "--n_save=2", "--validation_size=300", f"--out_dir={tmp_path}",
          "--run_name=val"
      ])
  with open(tmp_path / "val" / "config.json") as f:
    assert json.load(f)["gan"]["sampler"]["data_size"] == 1437 - 300  # the held-out part leaves training
  result = run_subprocess("run_bgan_semi", TINY + ["--validation_size=1437", f"--out_dir={tmp_path}"], timeout=120)
  assert result.returncode == 2 and "validation split of 1437 examples" in result.stderr


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
  # Three sane Adam iterations (checkpointed), then an absurd SGHMC step size.
  with pytest.raises(NonFiniteLossError, match="at iteration 4; stopped, last good checkpoint kept"):
    run_in_process(
        "unsupervised", TINY + [
            "--burn_in=3", "--lr=1e30", "--adam_lr=2e-4", "--train_iter=50", "--n_save=1", f"--out_dir={tmp_path}",
            "--run_name=nan"
        ])
  latest = tf.train.latest_checkpoint(str(tmp_path / "nan" / "checkpoints"))
  assert latest.endswith("ckpt-3")
  values = checkpoint_values(tmp_path / "nan")
  assert all(np.all(np.isfinite(v)) for v in values.values() if np.issubdtype(np.asarray(v).dtype, np.floating))


def test_non_finite_probabilities_with_finite_losses_stop_the_run(tmp_path):
  # Weights can blow up while the losses stay finite; the evaluation must not
  # report an accuracy from NaN probabilities. A hook poisons one chain after
  # the step of iteration 4, so only the evaluation at 4 can see it.
  from bgan_tf.train import Hook

  def poison(gan, done):
    if done == 4:
      bias = gan.discriminators[0].weights[-1]
      bias.assign(tf.fill(bias.shape, float("nan")))
    return {}

  with pytest.raises(
      NonFiniteLossError, match="non-finite class probabilities from the discriminator chains at "
      "iteration 4; stopped, last good checkpoint kept: .*ckpt-2"):
    run_in_process("semi",
                   TINY + ["--N=20", "--train_iter=6", "--n_save=2", f"--out_dir={tmp_path}", "--run_name=poison"],
                   hooks_fn=lambda dataset, run_dir: [Hook(1, poison)])
  assert not os.path.exists(tmp_path / "poison" / "results_4.json")


@pytest.mark.parametrize("args,message", [
    (["--num_gen=0"], "num_gen"),
    (["--ml", "--num_gen=2"], "--ml trains one plain GAN"),
    (["--lr=-1"], "lr"),
    (["--dataset=imagenet"], "dataset"),
    (["--wasserstein"], "wasserstein"),
    (["--ml", "--ml_ensemble=3"], "either --ml or --ml_ensemble"),
    (["--mlp_hidden=128,x"], "--mlp_hidden must be a comma-separated list of positive integers"),
    (["--preconditioner=adam", "--burn_in=0"], "it needs a burn-in (--burn_in > 0)"),
    (["--intra_op_threads=-1"], "intra_op_threads"),
    (["--onednn=fast"], "onednn"),
    # TensorFlow would try to start them all before the first step.
    (["--inter_op_threads=1000000"], "not an integer in the range [0, 1024]"),
    (["--random_seed=4294967296"], "not an integer in the range [0, 4294967295]"),
    (["--dataset=digits", "--data_path=/tmp"], "--data_path: the digits and synthetic data sets are built in"),
])
def test_bad_flags_fail_with_one_line_and_exit_code_2(args, message):
  result = run_subprocess("run_bgan_semi", args, timeout=60)
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("run_bgan_semi: error:") and message in lines[0]


def test_errors_found_once_the_data_is_loaded_leave_no_run_folder(tmp_path):
  # --batch_size against the training set; TF_CONFIG as TensorFlow reads it (a task index out of range).
  cluster = json.dumps({"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 3}})
  for args, env, message in [
      (["--batch_size=5000"], {}, "--batch_size=5000 exceeds the 1437 training examples"),
      (["--strategy=multi_worker"], {"TF_CONFIG": "{bad"}, "--strategy=multi_worker: TF_CONFIG is not JSON"),
      (["--strategy=multi_worker"], {"TF_CONFIG": cluster}, "--strategy=multi_worker: TF_CONFIG: The `task_id` 3"),
  ]:
    result = subprocess.run([sys.executable, os.path.join(REPO, "bin", "run_bgan_semi"), "--dataset=digits",
                             f"--out_dir={tmp_path}", "--run_name=r"] + args, capture_output=True, text=True,
                            timeout=120, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **env))
    assert result.returncode == 2, result.stderr[-2000:]
    # TensorFlow's C++ start-up lines (`I0000 00:00:...`, before absl's log set-up) are not the program's,
    # as in test_export and test_damaged_state: where oneDNN is on, one speaks of "round-off errors".
    errors = [line for line in result.stderr.splitlines()
              if ("error" in line.lower() or "Traceback" in line) and line[1:5] != "0000"]
    assert errors == [f"run_bgan_semi: error: {errors[0].split('error: ', 1)[-1]}"] and message in errors[0], errors
    assert not os.path.exists(tmp_path / "r")


def test_ctrl_c_is_one_line_naming_the_resume(tmp_path, monkeypatch, capsys):
  from bgan_tf import train as train_lib

  def interrupted(*args, **kwargs):
    raise KeyboardInterrupt

  monkeypatch.setattr(train_lib, "train", interrupted)
  with pytest.raises(KeyboardInterrupt, match=r"interrupted; continue from the newest checkpoint with "
                     r"--flagfile=\S+/r/flags.txt --resume"):
    run_in_process("semi", TINY + ["--N=20", f"--out_dir={tmp_path}", "--run_name=r"])
  # What the programs print for it: one line, exit code 130.
  monkeypatch.setattr(sys, "argv", ["run_bgan_semi"])
  with pytest.raises(SystemExit) as exit_info:
    cli.run(lambda: (_ for _ in ()).throw(KeyboardInterrupt("interrupted; continue")))
  assert exit_info.value.code == 130
  assert capsys.readouterr().err == "run_bgan_semi: error: interrupted; continue\n"


@pytest.mark.parametrize("script", ["run_bgan_semi", "run_bgan", "bgan_synth", "export_bgan"])
def test_positional_arguments_fail_with_one_line_and_exit_code_2(script):
  # No program takes positional arguments; cli.run rejects them for all four.
  args = ["--run_dir=/nonexistent"] if script == "export_bgan" else []
  result = run_subprocess(script, args + ["stray", "words"], timeout=60)
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  assert lines == [f"{script}: error: unexpected arguments: stray words"]


@pytest.mark.parametrize("variable,choices", [
    ("BGAN_TF_CONV_INPUT_GRADIENT", "stock, subpixel, phases, matmul, nchw, measure"),
    ("BGAN_TF_CONV_FILTER_GRADIENT", "stock, matmul, measure"),
])
def test_a_bad_kernel_choice_variable_fails_with_one_line_and_exit_code_2(monkeypatch, tmp_path, variable, choices):
  monkeypatch.setenv(variable, "fastest")
  result = run_subprocess("run_bgan_semi", ["--dataset=digits", f"--out_dir={tmp_path}"], timeout=60)
  assert result.returncode == 2, result.stderr
  errors = [line for line in result.stderr.strip().splitlines() if "error:" in line]
  assert errors == [f"run_bgan_semi: error: {variable}='fastest': must be one of {choices}"]
  assert "Traceback" not in result.stderr
  assert not list(tmp_path.iterdir())  # found before any work


def test_a_forced_channels_first_gradient_without_onednn_fails_before_any_work(monkeypatch, tmp_path):
  monkeypatch.setenv("BGAN_TF_CONV_INPUT_GRADIENT", "nchw")
  result = run_subprocess("run_bgan_semi", ["--dataset=digits", "--onednn=off", f"--out_dir={tmp_path}"], timeout=120)
  assert result.returncode == 2, result.stderr
  errors = [line for line in result.stderr.strip().splitlines() if "error:" in line]
  assert errors == ["run_bgan_semi: error: BGAN_TF_CONV_INPUT_GRADIENT=nchw: TensorFlow's CPU kernel takes "
                    "channels-first tensors only in float32 with oneDNN (TF_ENABLE_ONEDNN_OPTS=1, or the "
                    "programs' --onednn=on)"]
  assert "Traceback" not in result.stderr
  assert not list(tmp_path.iterdir())  # found before any work


_WITHOUT_TENSORFLOW = """
import sys
from bgan_tf.programs import {program}
sys.argv = ["{program}"] + sys.argv[1:]
try:
  {program}.main()
finally:
  sys.stdout.write("tensorflow loaded: %s" % ("tensorflow" in sys.modules))
"""


@pytest.mark.parametrize("program,args,message", [
    ("run_bgan_semi", ["--out_dir={tmp}/a_file"], "it is a file"),
    ("run_bgan_semi", ["--export", "--export_base={tmp}/a_file"], "cannot write to {tmp}/a_file"),
    ("export_bgan", ["--run_dir={tmp}/no_run"], "not a run folder"),
    ("export_bgan", ["--run_dir={tmp}", "--export_base={tmp}/a_file"], "cannot write to {tmp}/a_file"),
])
def test_bad_paths_fail_before_tensorflow_loads(tmp_path, monkeypatch, program, args, message):
  # The one-line error comes within a second, not after TensorFlow's
  # seconds of start-up; the kernel-choice variable is read TF-free too.
  (tmp_path / "a_file").write_text("in the way\n")
  monkeypatch.setenv("BGAN_TF_CONV_INPUT_GRADIENT", "stock")
  result = subprocess.run([sys.executable, "-c", _WITHOUT_TENSORFLOW.format(program=program)] +
                          [a.format(tmp=tmp_path) for a in args], capture_output=True, text=True, timeout=60)
  assert result.returncode == 2, result.stderr
  assert message.format(tmp=tmp_path) in result.stderr
  assert result.stdout == "tensorflow loaded: False"


@pytest.mark.parametrize("args,message", [
    (["--dataset=digits", "--N=5"], "num_labeled=5"),
    (["--dataset=mnist", "--data_path=/nonexistent/mnist"], "/nonexistent/mnist"),
])
def test_bad_data_requests_fail_with_one_line_and_exit_code_2(tmp_path, args, message):
  result = run_subprocess("run_bgan_semi", args + [f"--out_dir={tmp_path}"], timeout=120)
  assert result.returncode == 2, result.stderr
  errors = [line for line in result.stderr.strip().splitlines() if "error:" in line]
  assert len(errors) == 1 and message in errors[0]
  assert "Traceback" not in result.stderr
  assert not os.listdir(tmp_path)  # nothing written before the inputs were checked


def _permission_bits_bind():
  """False for root (with CAP_DAC_OVERRIDE), who writes into a folder of mode 0555 and rightly
  passes the programs' check: an unwritable folder cannot be made with chmod then."""
  with tempfile.TemporaryDirectory() as folder:
    os.chmod(folder, 0o555)
    try:
      return not os.access(folder, os.W_OK)
    finally:
      os.chmod(folder, 0o755)


PERMISSION_BITS_BIND = _permission_bits_bind()
BAD_PATHS = {
    # case: (arguments, message in the error line). {tmp} holds a_file, and read_only/ (mode 0555).
    "out_dir_is_a_file": (["--out_dir={tmp}/a_file"], "--out_dir={tmp}/a_file: cannot write there: it is a file"),
    "out_dir_under_a_file": (["--out_dir={tmp}/a_file/runs"], "there: {tmp}/a_file is a file, not a folder"),
    "run_folder_is_a_file": (["--out_dir={tmp}",
                              "--run_name=a_file"], "run folder {tmp}/a_file: cannot write there: it is a file"),
    "resumed_run_folder_is_a_file": (["--out_dir={tmp}", "--run_name=a_file",
                                      "--resume"], "run folder {tmp}/a_file: cannot write there: it is a file"),
    "export_base_is_a_file": (["--export",
                               "--export_base={tmp}/a_file"], "cannot write to {tmp}/a_file: it is a file"),
    "export_base_under_a_file": (["--export", "--export_base={tmp}/a_file/export"],
                                 "cannot write to {tmp}/a_file/export: {tmp}/a_file is a file"),
    "model_folder_is_a_file": (["--export", "--export_base={tmp}",
                                "--model_name=a_file"], "cannot write to {tmp}/a_file: it is a file"),
    "out_dir_not_writable": (["--out_dir={tmp}/read_only/runs"], "there: {tmp}/read_only is not writable"),
    "run_folder_not_writable": (["--out_dir={tmp}", "--run_name=read_only"],
                                "run folder {tmp}/read_only: cannot write there: it is not writable"),
    "export_base_not_writable":
        (["--export", "--export_base={tmp}/read_only"], "cannot write to {tmp}/read_only: it is not writable"),
}
NEEDS_PERMISSIONS = {case for case in BAD_PATHS if case.endswith("not_writable")}


@pytest.fixture(scope="module")
def bad_path_results(tmp_path_factory):
  """Runs run_bgan_semi on every bad output path concurrently (each loads TensorFlow for seconds)."""
  tmp = tmp_path_factory.mktemp("bad_paths")
  (tmp / "a_file").write_text("in the way\n")
  (tmp / "read_only").mkdir(mode=0o555)
  processes = {}
  for case, (args, _) in BAD_PATHS.items():
    if case in NEEDS_PERMISSIONS and not PERMISSION_BITS_BIND:
      continue
    # A data set that cannot load: an error about it would mean the paths were checked too late.
    args = ["--dataset=mnist", f"--data_path={tmp}/no_data"] + [a.format(tmp=tmp) for a in args]
    processes[case] = start_subprocess("run_bgan_semi", args)
  results = {case: (p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for case, p in processes.items()}
  yield results, tmp
  os.chmod(tmp / "read_only", 0o755)


@pytest.mark.xdist_group("bad_paths")  # one process builds bad_path_results (see test_export.py)
@pytest.mark.parametrize("case", [
    pytest.param(
        case, marks=pytest.mark.skipif(
            case in NEEDS_PERMISSIONS and not PERMISSION_BITS_BIND,
            reason="this process (root) may write into a folder of mode 0555: no unwritable folder to refuse"))
    for case in BAD_PATHS
])
def test_bad_output_paths_fail_with_one_line_and_exit_code_2_before_the_data_loads(bad_path_results, case):
  results, tmp = bad_path_results
  code, _, stderr = results[case]
  assert code == 2, stderr[-2000:]
  errors = [line for line in stderr.strip().splitlines() if "error:" in line]
  assert len(errors) == 1, errors
  assert errors[0].startswith("run_bgan_semi: error: ")
  assert BAD_PATHS[case][1].format(tmp=tmp) in errors[0], errors[0]
  assert "Traceback" not in stderr
  assert sorted(os.listdir(tmp)) == ["a_file", "read_only"] and not os.listdir(tmp / "read_only")


def test_folder_problem_names_what_is_in_the_way(tmp_path, monkeypatch):
  from bgan_tf.run_files import folder_problem
  (tmp_path / "a_file").write_text("")
  (tmp_path / "folder").mkdir()
  os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
  assert folder_problem(str(tmp_path / "folder")) is None
  assert folder_problem(str(tmp_path / "new" / "deeper")) is None
  assert folder_problem(str(tmp_path / "a_file")) == "it is a file, not a folder"
  assert folder_problem(str(tmp_path / "a_file" / "x" / "y")) == f"{tmp_path}/a_file is a file, not a folder"
  assert folder_problem(str(tmp_path / "dangling" / "x")) == f"{tmp_path}/dangling is a broken symbolic link"
  # Permissions as os.access reports them (root passes every check of the bits, so fake them).
  monkeypatch.setattr(os, "access", lambda path, mode: path != str(tmp_path / "folder"))
  assert folder_problem(str(tmp_path / "folder")) == "it is not writable"
  assert folder_problem(str(tmp_path / "folder" / "new")) == f"{tmp_path}/folder is not writable"


def test_a_run_prints_its_progress_lines_but_not_tensorflows_checkpoint_timing(tmp_path):
  # TensorFlow's functional_saver.py logs "Sharding callback duration" through absl at every save.
  result = run_subprocess(
      "run_bgan",
      TINY + ["--train_iter=2", "--n_save=1", f"--out_dir={tmp_path}", "--run_name=quiet", "--notensorboard"])
  assert result.returncode == 0, result.stderr[-2000:]
  assert tf.train.latest_checkpoint(str(tmp_path / "quiet" / "checkpoints")).endswith("ckpt-2")
  assert "iter 1/2" in result.stderr and "iter 2/2" in result.stderr
  assert "Sharding callback" not in result.stderr


def test_thread_and_kernel_flags_reach_tensorflow_and_are_recorded(tmp_path):
  # The log lines read the pools and the kernel library back from TensorFlow, so they fail if the
  # flags do not reach it; --onednn=off wins over the environment's TF_ENABLE_ONEDNN_OPTS=1.
  result = run_subprocess(
      "run_bgan", TINY + ["--train_iter=1", f"--out_dir={tmp_path}", "--run_name=threads", "--notensorboard",
                          "--inter_op_threads=2", "--intra_op_threads=1", "--onednn=off"],
      TF_ENABLE_ONEDNN_OPTS="1")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "TensorFlow threads: inter-op 2, intra-op 1" in result.stderr
  assert "TensorFlow CPU kernels: Eigen (oneDNN off)" in result.stderr
  recorded = (tmp_path / "threads" / "flags.txt").read_text().split()
  assert "--inter_op_threads=2" in recorded and "--intra_op_threads=1" in recorded
  assert "--onednn=off" in recorded


def test_onednn_auto_means_the_users_variable_else_on_for_image_data_on_x86():
  assert cli.onednn_wanted("on", {"TF_ENABLE_ONEDNN_OPTS": "0"}, "x86_64", "digits") is True
  assert cli.onednn_wanted("off", {}, "x86_64", "cifar") is False
  assert cli.onednn_wanted("auto", {}, "x86_64", "cifar") is True
  assert cli.onednn_wanted("auto", {}, "AMD64", "mnist") is True
  assert cli.onednn_wanted("auto", {"TF_ENABLE_ONEDNN_OPTS": "0"}, "x86_64", "cifar") is False
  assert cli.onednn_wanted("auto", {"TF_ENABLE_ONEDNN_OPTS": "true"}, "aarch64", "digits") is True
  # TensorFlow's own default: on Arm, and where the networks are too small for oneDNN to pay.
  assert cli.onednn_wanted("auto", {}, "aarch64", "cifar") is None
  assert cli.onednn_wanted("auto", {}, "x86_64", "digits") is None
  assert cli.onednn_wanted("auto", {}, "x86_64", "synthetic") is None


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="auto turns oneDNN on for x86")
def test_onednn_auto_turns_it_on_before_tensorflow_loads():
  # In a fresh process, as the programs run: TensorFlow's own default is off on AVX2-only CPUs.
  code = ("from bgan_tf import cli; cli.configure_onednn('auto', 'cifar'); "
          "from bgan_tf import kernel_choice; print('oneDNN', kernel_choice.onednn_enabled())")
  env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(env, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 0, result.stderr[-2000:]
  assert "oneDNN True" in result.stdout


def test_onednn_asked_for_after_tensorflow_loaded_is_a_config_error():
  from bgan_tf import kernel_choice
  loaded_with = kernel_choice.onednn_enabled()
  cli.configure_onednn("on" if loaded_with else "off", "cifar")  # what it runs already: accepted
  cli.configure_onednn("auto", "cifar")  # never an error: it takes what is loaded
  with pytest.raises(ConfigError, match="--onednn=.*choose before it loads"):
    cli.configure_onednn("off" if loaded_with else "on", "cifar")


def test_thread_pools_asked_for_after_tensorflow_started_are_a_config_error():
  tf.constant(0.0) + 1.0  # the pools are fixed from here on
  started_with = tf.config.threading.get_intra_op_parallelism_threads()
  cli.configure_threads(0, 0)  # nothing asked for: nothing to check
  with pytest.raises(ConfigError, match="--intra_op_threads=.*set it before any TensorFlow work"):
    cli.configure_threads(0, started_with + 3)


@pytest.mark.slow
def test_sigkill_mid_run_leaves_a_loadable_checkpoint_and_resumes(tmp_path):
  args = TINY + [
      "--train_iter=100000", "--n_save=1000", "--checkpoint_every=3", f"--out_dir={tmp_path}", "--run_name=killed",
      "--notensorboard"
  ]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  process = subprocess.Popen([sys.executable, os.path.join(REPO, "bin", "run_bgan")] + args,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
  state_file = tmp_path / "killed" / "checkpoints" / "checkpoint"
  deadline = time.time() + 120
  while not state_file.exists() and time.time() < deadline:
    time.sleep(0.05)
  time.sleep(1.0)  # let it write a few more checkpoints: the kill lands mid-run
  process.send_signal(signal.SIGKILL)
  process.wait()
  assert state_file.exists()
  latest = tf.train.latest_checkpoint(str(tmp_path / "killed" / "checkpoints"))
  done = int(latest.rsplit("-", 1)[1])
  assert done >= 3 and done % 3 == 0
  checkpoint_values(tmp_path / "killed")  # loads
  result = run_subprocess(
      "run_bgan", [f"--flagfile={tmp_path / 'killed' / 'flags.txt'}", "--resume", f"--train_iter={done + 3}"])
  assert result.returncode == 0, result.stderr[-2000:]
  assert tf.train.latest_checkpoint(str(tmp_path / "killed" / "checkpoints")).endswith(f"-{done + 3}")


def test_synthetic_experiment_tracks_js_divergence(tmp_path):
  result = run_subprocess("bgan_synth", [
      "--numz=2", "--num_mcmc=2", "--train_iter=20", "--n_save=10", "--eval_every=10", "--num_eval_samples=200",
      f"--out_dir={tmp_path}", "--run_name=synth"
  ])
  assert result.returncode == 0, result.stderr[-2000:]
  run_dir = tmp_path / "synth"
  with open(run_dir / "hook_metrics.json") as f:
    history = json.load(f)["js_divergence"]
  assert [step for step, _ in history] == [10, 20]
  assert all(0.0 <= value <= np.log(2) + 1e-9 for _, value in history)
  # The figure the program exists for is on its progress line.
  assert "iter 20/20" in result.stderr and f"js_divergence {history[-1][1]:.4f} (iter 20)" in result.stderr
  assert Image.open(run_dir / "pca" / "iter_0000020.png").size == (480, 480)
  assert Image.open(run_dir / "js_divergence.png").size == (640, 400)
  events = glob.glob(str(run_dir / "tensorboard" / "events.out.tfevents.*"))
  accumulator = event_accumulator.EventAccumulator(events[0], size_guidance={"tensors": 0})
  accumulator.Reload()
  assert [e.step for e in accumulator.Tensors("js_divergence")] == [10, 20]


def test_posterior_snapshots_are_checkpointed_and_restored(tmp_path):
  from bgan_tf.run_dir import restore_run
  run_in_process(
      "semi", TINY + [
          "--N=20", "--num_gen=2", "--num_mcmc=2", "--train_iter=10", "--n_save=5", "--snapshot_every=2",
          "--max_snapshots=3", "--cycle_length=0", f"--out_dir={tmp_path}", "--run_name=snap"
      ])
  restored = restore_run(str(tmp_path / "snap"))
  assert restored.iteration == 10
  # Burn-in 2, then snapshots of both chains at 4, 6, 8 and 10: 8 taken, the ring keeps the last 3.
  assert int(restored.snapshots.num_added.numpy()) == 8
  kept = restored.snapshots.models()
  assert len(kept) == 3
  # The newest snapshots are the chains' state at iteration 10.
  for chain, snapshot in zip(restored.gan.discriminators, kept[-2:]):
    for a, b in zip(chain.weights, snapshot.weights):
      np.testing.assert_array_equal(a.numpy(), b.numpy())
  # The posterior leaves those out: they would count the chains twice.
  discriminators = restored.posterior_discriminators()
  assert len(discriminators) == 2 + 1 and discriminators[2] is kept[0]
  assert list(restored.dataset_info.class_names[:2]) == ["0", "1"]


def _tiny_semi_run(tmp_path, name, data_args):
  args = TINY + ["--N=20", "--train_iter=2", "--n_save=2", f"--out_dir={tmp_path}", f"--run_name={name}"]
  results = run_in_process("semi", args + data_args)
  with open(tmp_path / name / "dataset.json") as f:
    return results, json.load(f)


def test_semi_supervised_run_on_the_four_standard_mnist_files(tmp_path):
  from test_data_loaders import write_mnist
  write_mnist(tmp_path / "mnist", num_train=40, num_test=7)
  results, info = _tiny_semi_run(tmp_path, "mnist", ["--dataset=mnist", f"--data_path={tmp_path / 'mnist'}"])
  assert info["example_shape"] == [28, 28, 1] and info["source"].startswith("IDX files")
  assert 0.0 <= results["semi_supervised_acc"] <= 1.0


def test_semi_supervised_cifar_from_pickles_and_from_a_prepared_tfds_build(tmp_path):
  import tensorflow_datasets as tfds
  from test_data_loaders import write_cifar
  write_cifar(tmp_path / "data" / "cifar-10-batches-py", per_batch=8, num_test=5)
  _, info = _tiny_semi_run(tmp_path, "pickles", ["--dataset=cifar", f"--data_path={tmp_path / 'data'}"])
  assert info["example_shape"] == [32, 32, 3] and info["class_names"][0] == "airplane"
  # Mock labels are uniform at random: 200 examples leave no class empty.
  with tfds.testing.mock_data(num_examples=200):
    _, info = _tiny_semi_run(tmp_path, "tfds", ["--dataset=cifar", f"--data_dir={tmp_path}", "--N=10"])
  assert info["source"].startswith("tfds cifar10")


def test_classic_mlp_gan_and_ml_ensemble_runs(tmp_path):
  run_in_process(
      "unsupervised",
      TINY + ["--ml", "--arch=mlp", "--train_iter=2", "--n_save=2", f"--out_dir={tmp_path}", "--run_name=mlp"])
  with open(tmp_path / "mlp" / "config.json") as f:
    gan = json.load(f)["gan"]
  assert gan["ml"] and gan["model"]["arch"] == "mlp" and gan["model"]["num_classes"] == 1
  results = run_in_process(
      "semi", TINY + [
          "--N=20", "--ml_ensemble=2", "--train_iter=2", "--n_save=2", f"--out_dir={tmp_path}",
          "--run_name=ensemble"
      ])
  assert len(results["disc_losses"]) == 2 and len(results["gen_losses"]) == 2
  with open(tmp_path / "ensemble" / "config.json") as f:
    gan = json.load(f)["gan"]
  assert (gan["ml_ensemble"], gan["num_gen"], gan["num_disc"]) == (2, 2, 2)


def test_mirrored_strategy_and_bfloat16_flags_run(tmp_path):
  results = run_in_process(
      "semi", TINY + [
          "--N=20", "--train_iter=2", "--n_save=2", "--strategy=mirrored", "--precision=mixed_bfloat16",
          f"--out_dir={tmp_path}", "--run_name=bf16"
      ])
  assert np.all(np.isfinite(results["disc_losses"])) and 0.0 <= results["semi_supervised_acc"] <= 1.0
  with open(tmp_path / "bf16" / "config.json") as f:
    assert json.load(f)["gan"]["precision"] == "mixed_bfloat16"
