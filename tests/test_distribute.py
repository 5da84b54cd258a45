"""tf.distribute: a mirrored iteration equals the single-device one (fresh process)."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


# "mean" runs with -m slow only (about 30 s): its pooling is a plain mean, and
# "2017" exercises the same mirrored steps, checkpoints and preconditioner plus
# the replica-aware logsumexp pooling and feature matching.
@pytest.mark.parametrize("objective", [pytest.param("mean", marks=pytest.mark.slow), "2017"])
def test_mirrored_iteration_equals_single_device_and_checkpoints_cross_strategies(tmp_path, objective):
  # "2017" pools per-pair losses by logsumexp: exact across replicas only with
  # the all-reduced pooling of BayesianGAN._pool. The iteration is Adam, then
  # SGHMC with the Adam preconditioner, which start_sampling assigns to every replica.
  result = subprocess.run(
      [sys.executable, os.path.join(HERE, "distribute_worker.py"),
       str(tmp_path), objective], capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  diffs = json.loads(result.stdout.strip().splitlines()[-1])
  assert diffs["iteration_max_abs_diff"] < 1e-5, diffs
  # The Adam preconditioner comes from gradients summed in another order: equal to rounding.
  assert diffs["preconditioner_max_rel_diff"] < 1e-4, diffs
  assert diffs["restored_preconditioners_diff"] == 0.0, diffs
  assert diffs["pool_gradient_diff"] < 1e-5, diffs
  assert diffs["moved_from_saved"] > 1e-4, diffs  # so the restores below have something to undo
  assert diffs["restore_mirrored_into_single"] == 0.0, diffs
  assert diffs["restore_single_into_mirrored"] == 0.0, diffs
  assert diffs["continued_max_abs_diff"] < 1e-5, diffs
