"""Run by test_distribute.py in a fresh process: 2 logical CPUs, mirrored vs one device.

Prints one JSON line: the largest absolute difference between the variables
after one iteration under MirroredStrategy and under the default strategy,
and after restoring each one's checkpoint into the other.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from bgan_tf.bgan import BayesianGAN  # noqa: E402
from bgan_tf.config import GANConfig, ModelConfig, SamplerConfig  # noqa: E402

# "mean": the paper's objective; "2017": logsumexp pooling, J-weighted real
# term and feature matching, which need the replica-aware pooling.
OBJECTIVE = sys.argv[2] if len(sys.argv) > 2 else "mean"


def config(precision="float32"):
  model = ModelConfig(example_shape=(8, 8, 1), num_classes=3, z_dim=6, gf_dim=4, df_dim=4, num_layers=2)
  options = (dict(objective="logsumexp", real_weight="num_gen", feature_matching=1.0)
             if OBJECTIVE == "2017" else {})
  # The Adam preconditioner: start_sampling assigns it across the replicas.
  sampler = SamplerConfig(data_size=64, learning_rate=0.01, adam_burn_in=1, preconditioner="adam")
  return GANConfig(model=model, sampler=sampler, num_gen=2, num_disc=2, batch_size=8, seed=5, precision=precision,
                   **options)


def one_iteration(gan, x, xl, yl, z_d, z_g):
  gan.discriminator_step(x, xl, yl, z=z_d, use_adam=True)
  gan.generator_step(z=z_g, x_real=x, use_adam=True)
  gan.start_sampling()  # sets P once; a restored chain keeps its own
  gan.discriminator_step(x, xl, yl, z=z_d)
  gan.generator_step(z=z_g, x_real=x)
  gan.supervised_step(xl, yl)


def variables(gan):
  models = gan.generators + gan.discriminators + [gan.classifier]
  return [v.numpy() for m in models for v in m.weights]


def preconditioners(gan):
  return [p.numpy() for key in ("sghmc_d", "sghmc_g") for p in gan.optimizers[key].preconditioners()]


def max_relative_diff(a, b):
  return max(float(np.max(np.abs(x - y) / np.abs(y))) for x, y in zip(a, b))


def max_diff(a, b):
  return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def pool_gradient_diff(mirrored):
  """|gradient of the replicas' pooled losses - gradient of the pooled global losses|.

  Per-pair losses that differ a lot between the replicas' slices, so that
  pooling each replica's own means (rather than the global means) would show.
  """
  slices = tf.constant([[3.0, -1.0, 0.5], [-2.0, 4.0, 1.5]])
  with mirrored.strategy.scope():
    theta = tf.Variable([0.3, -0.7, 1.1])

  def replica_gradient():
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    with tf.GradientTape() as tape:
      per_pair = theta * tf.gather(slices, replica) + theta**2
      loss = mirrored._pool(per_pair) / mirrored.num_replicas  # pylint: disable=protected-access
    return tape.gradient(loss, theta)

  summed = mirrored.strategy.reduce(tf.distribute.ReduceOp.SUM, mirrored.strategy.run(replica_gradient), axis=None)
  exact_theta = tf.Variable(theta.numpy())
  with tf.GradientTape() as tape:
    global_losses = exact_theta * tf.reduce_mean(slices, axis=0) + exact_theta**2
    exact = tf.reduce_logsumexp(global_losses) if mirrored.config.objective == "logsumexp" else tf.reduce_mean(
        global_losses)
  return float(np.max(np.abs(summed.numpy() - tape.gradient(exact, exact_theta).numpy())))


def main(out_dir):
  x = tf.random.stateless_uniform([8, 8, 8, 1], [1, 2], -1, 1)
  xl = tf.random.stateless_uniform([8, 8, 8, 1], [3, 4], -1, 1)
  yl = tf.constant([0, 1, 2, 0, 1, 2, 0, 1])
  z_d = tf.random.stateless_uniform([2, 8, 6], [5, 6], -1, 1)
  z_g = tf.random.stateless_uniform([2, 8, 6], [7, 8], -1, 1)

  single = BayesianGAN(config())
  mirrored = BayesianGAN(config(), strategy=tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
  assert mirrored.num_replicas == 2
  one_iteration(single, x, xl, yl, z_d, z_g)
  one_iteration(mirrored, x, xl, yl, z_d, z_g)
  result = {"iteration_max_abs_diff": max_diff(variables(single), variables(mirrored))}
  result["preconditioner_max_rel_diff"] = max_relative_diff(preconditioners(single), preconditioners(mirrored))
  result["pool_gradient_diff"] = pool_gradient_diff(mirrored)

  # Checkpoints cross strategies in both directions. Each restores into the
  # other strategy's GAN, already built and traced (a fresh BayesianGAN
  # builds every variable at construction too, so a restore assigns either
  # way), and training then continues identically from the crossed states.
  mirrored_path = tf.train.Checkpoint(gan=mirrored).save(os.path.join(out_dir, "mirrored"))
  single_path = tf.train.Checkpoint(gan=single).save(os.path.join(out_dir, "single"))
  saved = {"mirrored": (variables(mirrored), preconditioners(mirrored)),
           "single": (variables(single), preconditioners(single))}
  # Step both away from the saved states first, so a restore that assigned
  # nothing would show.
  one_iteration(single, x, xl, yl, z_d, z_g)
  one_iteration(mirrored, x, xl, yl, z_d, z_g)
  result["moved_from_saved"] = min(max_diff(variables(single), saved["single"][0]),
                                   max_diff(variables(mirrored), saved["mirrored"][0]))
  tf.train.Checkpoint(gan=single).restore(mirrored_path).assert_consumed()
  tf.train.Checkpoint(gan=mirrored).restore(single_path).assert_consumed()
  result["restore_mirrored_into_single"] = max_diff(variables(single), saved["mirrored"][0])
  result["restore_single_into_mirrored"] = max_diff(variables(mirrored), saved["single"][0])
  result["restored_preconditioners_diff"] = max(max_diff(preconditioners(single), saved["mirrored"][1]),
                                                max_diff(preconditioners(mirrored), saved["single"][1]))
  one_iteration(single, x, xl, yl, z_d, z_g)
  one_iteration(mirrored, x, xl, yl, z_d, z_g)
  result["continued_max_abs_diff"] = max_diff(variables(single), variables(mirrored))
  print(json.dumps(result))


if __name__ == "__main__":
  main(sys.argv[1])
