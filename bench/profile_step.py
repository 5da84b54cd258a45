"""Where a training iteration's time goes: a tf.profiler trace, summarised.

Profiles --iters iterations (discriminator, generator and supervised steps)
with `tf.profiler.experimental`, reads the XPlane trace it writes (TensorFlow
ships the protobuf) and sums the op events of TensorFlow's executor threads
by op type and by network (generators, discriminators, classifier, sampler
updates). Prints a table and writes JSON.

  python bench/profile_step.py --config=cifar --iters=3 --out=bench/results/profile_cifar.json
"""

import collections
import glob
import os
import sys
import tempfile
import time

from absl import app, flags

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import kernel_library  # noqa: E402  (bench/kernel_library.py; loads no TensorFlow)

# The CPU kernels the programs would run on the configs named (bench/kernel_library.py).
_DEFAULT_CONFIG = "cifar"  # --config's default; the kernel library follows the flag
kernel_library.configure_for_argv(sys.argv, "config", [_DEFAULT_CONFIG])

import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from configs import gan_config, random_input_iteration  # noqa: E402  (bench/configs.py)
from bgan_tf import run_files  # noqa: E402

CONFIG = flags.DEFINE_string("config", _DEFAULT_CONFIG, "A configuration of bench/configs.py.")
ITERS = flags.DEFINE_integer("iters", 3, "Profiled iterations.")
PRECISION = flags.DEFINE_string("precision", "float32", "float32 or mixed_bfloat16.")
OUT = flags.DEFINE_string("out", None, "Write the summary as JSON here.")


def _network(op_name):
  head = op_name.split("/", 1)[0]
  for prefix, label in (("generator_", "generators"), ("discriminator_", "discriminators"),
                        ("classifier", "classifier"), ("sghmc", "sampler updates"), ("adam", "adam updates")):
    if head.startswith(prefix):
      return label
  if "gradient_tape" in op_name or "gradients" in op_name:
    return "backward (unattributed)"
  return "other"


def summarise(xplane_path):
  """Op time (seconds) by op type and by network, from the host plane's executor threads."""
  space = xplane_pb2.XSpace()
  with open(xplane_path, "rb") as f:
    space.ParseFromString(f.read())
  by_type, by_network = collections.Counter(), collections.Counter()
  for plane in space.planes:
    if plane.name != "/host:CPU":
      continue
    for line in plane.lines:
      if not line.name.startswith("tf_Compute"):
        continue
      for event in line.events:
        name = plane.event_metadata[event.metadata_id].name
        if ":" not in name or "::" in name:
          continue  # executor bookkeeping (ExecutorState::Process, ...), not an op
        op_name, op_type = name.rsplit(":", 1)
        seconds = event.duration_ps * 1e-12
        by_type[op_type] += seconds
        # Gradient ops carry the forward op's scope after "gradient_tape/".
        by_network[_network(op_name.replace("gradient_tape/", ""))] += seconds
  return by_type, by_network


def main(argv):
  del argv
  _, iteration = random_input_iteration(gan_config(CONFIG.value, precision=PRECISION.value))
  logdir = tempfile.mkdtemp(prefix="bgan_profile_")
  tf.profiler.experimental.start(logdir)
  start = time.perf_counter()
  for _ in range(ITERS.value):
    iteration()
  wall = (time.perf_counter() - start) / ITERS.value
  tf.profiler.experimental.stop()
  by_type, by_network = summarise(sorted(glob.glob(os.path.join(logdir, "plugins/profile/*/*.xplane.pb")))[-1])
  total = sum(by_type.values())
  per_iter = {k: v / ITERS.value for k, v in by_type.most_common()}
  summary = {
      "config": CONFIG.value,
      "precision": PRECISION.value,
      "iters": ITERS.value,
      "wall_s_per_iteration": wall,
      "op_s_per_iteration": total / ITERS.value,
      "by_op_type_s": per_iter,
      "by_network_s": {k: v / ITERS.value for k, v in by_network.most_common()},
  }
  print(f"{CONFIG.value} ({PRECISION.value}): {wall:.3f} s/iteration wall, "
        f"{total / ITERS.value:.3f} s of op time on the executor threads")
  print("op type                              s/iter   share")
  for op_type, seconds in list(per_iter.items())[:15]:
    print(f"{op_type:<36} {seconds:7.3f}  {100 * seconds / (total / ITERS.value):5.1f}%")
  print("by network:", {k: round(v, 3) for k, v in summary["by_network_s"].items()})
  if OUT.value:
    run_files.write_json(OUT.value, summary)


if __name__ == "__main__":
  app.run(main)
