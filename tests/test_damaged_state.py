"""Damaged run state: truncated checkpoints on resume and export, and an export killed mid-write.

A disk that fills up or a copy that breaks off leaves truncated checkpoint data files. The
programs name the damaged checkpoint and fall back to the newest older one that reads whole,
or, when none does, end with one line and exit code 2. One tiny semi-supervised run, with
checkpoints at iterations 3 and 6, is trained for the module and copied before damaging.
"""

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from bgan_tf.errors import RunError
from bgan_tf.run_dir import read_configs, restore_run, write_run_record
from test_programs import REPO, TINY, checkpoint_values, run_in_process, run_subprocess, start_subprocess

# Under pytest-xdist (the README's test command: `-n 2 --dist loadgroup`) a group's tests
# run in one process, so the module's fixtures (the whole run every case damages a copy of)
# are built once, not once per process.
pytestmark = pytest.mark.xdist_group("damaged_state")

ARGS = TINY + ["--N=20", "--n_save=3", "--notensorboard"]


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory):
  out_dir = tmp_path_factory.mktemp("runs")
  run_in_process("semi", ARGS + ["--train_iter=6", f"--out_dir={out_dir}", "--run_name=whole"])
  assert tf.train.latest_checkpoint(str(out_dir / "whole" / "checkpoints")).endswith("ckpt-6")
  return out_dir / "whole"


def _copy_with_truncated_checkpoints(whole_run, out_dir, name, iterations):
  run_dir = out_dir / name
  shutil.copytree(whole_run, run_dir)
  for iteration in iterations:
    (data,) = glob.glob(str(run_dir / "checkpoints" / f"ckpt-{iteration}.data-*"))
    os.truncate(data, os.path.getsize(data) // 2)  # a copy that broke off half-way
  return run_dir


def _resume_args(run_dir, train_iter):
  # The copy's flagfile names the original run: point it at the copy.
  return [
      f"--flagfile={run_dir / 'flags.txt'}", f"--out_dir={run_dir.parent}", f"--run_name={run_dir.name}",
      "--resume", f"--train_iter={train_iter}"
  ]


def _resume(run_dir, train_iter):
  return run_subprocess("run_bgan_semi", _resume_args(run_dir, train_iter))


def _assert_one_error_line(result, program, message):
  assert result.returncode == 2, result.stderr[-2000:]
  assert "Traceback" not in result.stderr
  # Every error or warning line of the program or TensorFlow's Python logger (not the C++ start-up lines).
  errors = [
      line for line in result.stderr.splitlines() if line[1:5] != "0000" and
      ("error" in line.lower() or line.startswith("WARNING:tensorflow") or re.match(r"[WEF]\d{4} ", line))
  ]
  assert len(errors) == 1, errors
  assert errors[0].startswith(f"{program}: error: ") and re.search(message, errors[0]), errors[0]


def test_resume_falls_back_to_the_newest_checkpoint_that_reads_whole(whole_run, tmp_path):
  damaged = _copy_with_truncated_checkpoints(whole_run, tmp_path, "damaged", [6])
  reference = tmp_path / "reference"
  shutil.copytree(whole_run, reference)
  # Both resumes at once (each spends seconds loading TensorFlow alone); each run's numbers
  # depend on its own seeds, not on what else runs.
  processes = [start_subprocess("run_bgan_semi", _resume_args(run_dir, 9)) for run_dir in (damaged, reference)]
  outputs = [p.communicate(timeout=300) for p in processes]  # (reading the pipes as they fill)
  (code, stderr), (reference_code, reference_stderr) = [(p.returncode, err) for p, (_, err) in zip(processes, outputs)]
  assert code == 0, stderr[-2000:]
  assert reference_code == 0, reference_stderr[-2000:]
  (warning,) = [line for line in stderr.splitlines() if "skipped damaged checkpoint" in line]
  assert warning.startswith("W") and f"{damaged / 'checkpoints'}: ckpt-6 (" in warning, warning
  assert "restored ckpt-3, the newest that reads whole" in warning, warning
  assert f"resumed from {damaged / 'checkpoints' / 'ckpt-3'} at iteration 3" in stderr
  # Nothing of the damaged checkpoint was used: the run is the one resumed from iteration 6.
  assert tf.train.latest_checkpoint(str(damaged / "checkpoints")).endswith("ckpt-9")
  expected, values = checkpoint_values(reference), checkpoint_values(damaged)
  assert values.keys() == expected.keys()
  for name in expected:
    np.testing.assert_array_equal(values[name], expected[name], err_msg=name)


def test_resume_with_every_checkpoint_damaged_fails_in_one_line(whole_run, tmp_path):
  damaged = _copy_with_truncated_checkpoints(whole_run, tmp_path, "damaged", [3, 6])
  files = {path: os.path.getsize(path) for path in glob.glob(str(damaged / "checkpoints" / "*"))}
  result = _resume(damaged, train_iter=9)
  _assert_one_error_line(result, "run_bgan_semi",
                         r"--resume: no checkpoint in \S+ reads back whole: ckpt-6 \(.+\); ckpt-3 \(.+\)$")
  assert {path: os.path.getsize(path) for path in glob.glob(str(damaged / "checkpoints" / "*"))} == files


def test_export_falls_back_and_fails_in_one_line_when_no_checkpoint_reads(whole_run, tmp_path):
  restored = restore_run(str(_copy_with_truncated_checkpoints(whole_run, tmp_path, "newest", [6])))
  assert restored.iteration == 3 and restored.checkpoint_path.endswith("ckpt-3")
  damaged = _copy_with_truncated_checkpoints(whole_run, tmp_path, "all", [3, 6])
  result = subprocess.run([
      sys.executable,
      os.path.join(REPO, "bin", "export_bgan"), f"--run_dir={damaged}", f"--export_base={tmp_path / 'export'}"
  ], capture_output=True, text=True, timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  _assert_one_error_line(result, "export_bgan", r"no checkpoint in \S+ reads back whole: ckpt-6 \(.+\); ckpt-3 \(")
  assert result.stdout == "" and not (tmp_path / "export").exists()


@pytest.mark.slow
def test_sigkill_mid_export_leaves_no_version_and_a_rerun_succeeds(whole_run, tmp_path):
  export_base = tmp_path / "export"
  model_dir = export_base / "bgan_classifier"
  command = [
      sys.executable,
      os.path.join(REPO, "bin", "export_bgan"), f"--run_dir={whole_run}", f"--export_base={export_base}"
  ]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
  deadline = time.time() + 240
  # The SavedModel is being written into the staging folder: kill then.
  while not glob.glob(str(model_dir / ".tmp-export-*" / "saved_model")) and time.time() < deadline:
    time.sleep(0.01)
  process.send_signal(signal.SIGKILL)
  process.wait()
  assert glob.glob(str(model_dir / ".tmp-export-*")), "the kill landed before the export began writing"
  # TF Serving serves the folders named by an integer; only the dot-folder of the killed export is left.
  assert all(name.startswith(".") for name in os.listdir(model_dir)), os.listdir(model_dir)
  assert not (export_base / "models.config").exists()

  result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip() == str(model_dir / "1")
  assert tf.saved_model.load(str(model_dir / "1")).signatures["serving_default"] is not None
  assert (export_base / "models.config").exists()


def _file_bytes(run_dir):
  return {name: (run_dir / name).read_bytes() for name in ("flags.txt", "config.json", "dataset.json")}


@pytest.mark.parametrize("name,content,message", [
    ("config.json", "{bad", r"config.json is damaged: Expecting property name"),
    ("config.json", '{"gan": 3}', r"config.json is damaged: not a run's configs"),
    ("config.json", "[1, 2]", r"config.json is damaged: it holds a list, not a JSON object"),
    ("dataset.json", "[1, 2", r"dataset.json is damaged: "),
    ("dataset.json", '{"name": "digits"}', r"dataset.json is damaged: not a data set record \(missing 'source'\)"),
])
def test_a_damaged_record_is_one_clear_error_for_resume_and_export(whole_run, tmp_path, name, content, message):
  run_dir = tmp_path / "damaged"
  shutil.copytree(whole_run, run_dir)
  (run_dir / name).write_text(content)
  with pytest.raises(RunError, match=message):
    restore_run(str(run_dir))  # what the export reads
  if name == "config.json":  # a resume reads its record before any work (it rewrites dataset.json)
    before = _file_bytes(run_dir)
    with pytest.raises(RunError, match=message):
      run_in_process("semi", _resume_args(run_dir, 9))
    assert _file_bytes(run_dir) == before
    if content == '{"gan": 3}':  # the library's own check, for callers that skip the programs' one
      gan_config, train_config = read_configs(str(whole_run))
      with pytest.raises(RunError, match="config.json is damaged: it holds no gan or train config"):
        write_run_record(str(run_dir), [], {"gan": gan_config, "train": train_config}, resume=True)
      assert _file_bytes(run_dir) == before


def test_a_damaged_checkpoint_state_file_falls_back_to_the_checkpoints_beside_it(whole_run, tmp_path):
  run_dir = tmp_path / "garbled"
  shutil.copytree(whole_run, run_dir)
  (run_dir / "checkpoints" / "checkpoint").write_text("not a CheckpointState\n")
  restored = restore_run(str(run_dir))
  assert restored.iteration == 6 and restored.checkpoint_path.endswith("ckpt-6")
  (run_dir / "checkpoints" / "checkpoint").unlink()
  assert run_in_process("semi", _resume_args(run_dir, 7))["iteration"] == 7


def test_resume_refuses_a_train_iter_below_the_run_and_leaves_its_record(whole_run, tmp_path):
  run_dir = tmp_path / "run"
  shutil.copytree(whole_run, run_dir)
  before = _file_bytes(run_dir)
  with pytest.raises(RunError, match=r"--train_iter=4 is below the 6 iterations the run has reached"):
    run_in_process("semi", _resume_args(run_dir, 4))
  assert _file_bytes(run_dir) == before


def test_a_fresh_run_neither_writes_into_checkpoints_nor_hides_a_run_without_one(whole_run, tmp_path):
  # Checkpoints without a record (e.g. copied in): refused before anything is written beside them.
  shutil.copytree(whole_run / "checkpoints", tmp_path / "leftover" / "checkpoints")
  with pytest.raises(RunError, match="leftover/checkpoints already holds checkpoints; choose another --run_name"):
    run_in_process("semi", ARGS + ["--train_iter=6", f"--out_dir={tmp_path}", "--run_name=leftover"])
  assert sorted(os.listdir(tmp_path / "leftover")) == ["checkpoints"]
  # A run stopped before its first checkpoint: neither a fresh run nor a resume can use it, and both say so.
  (tmp_path / "early").mkdir()
  for name in ("flags.txt", "config.json", "dataset.json"):
    shutil.copy(whole_run / name, tmp_path / "early" / name)
  with pytest.raises(RunError, match="stopped before its first checkpoint: delete"):
    run_in_process("semi", ARGS + ["--train_iter=6", f"--out_dir={tmp_path}", "--run_name=early"])
  with pytest.raises(RunError, match="--resume: no checkpoint in .+: the run stopped before its first one; delete"):
    run_in_process("semi", _resume_args(tmp_path / "early", 6))
