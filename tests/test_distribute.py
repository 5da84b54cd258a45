"""tf.distribute: a mirrored iteration equals the single-device one (fresh process)."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def test_mirrored_iteration_equals_single_device_and_checkpoints_cross_strategies(tmp_path):
  result = subprocess.run([sys.executable, os.path.join(HERE, "distribute_worker.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  diffs = json.loads(result.stdout.strip().splitlines()[-1])
  assert diffs["iteration_max_abs_diff"] < 1e-5, diffs
  assert diffs["restore_mirrored_into_single"] == 0.0, diffs
  assert diffs["restore_single_into_mirrored"] == 0.0, diffs
  assert diffs["continued_max_abs_diff"] < 1e-5, diffs
