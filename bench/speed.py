"""Seconds per training iteration of the Bayesian GAN on this machine.

One iteration is what `bin/run_bgan_semi` runs per step: a discriminator
SGHMC step, a generator SGHMC step and a supervised-baseline step. Inputs are
random tensors of the right shape (the input pipeline is not measured here).

  python bench/speed.py --configs=small,cifar --iters=10 --out=bench/results/speed.json
"""

import json
import os
import platform
import statistics
import time

from absl import app, flags

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from bgan_tf.bgan import BayesianGAN  # noqa: E402
from bgan_tf.config import GANConfig, ModelConfig, SamplerConfig  # noqa: E402

CONFIG_NAMES = flags.DEFINE_string("configs", "small,cifar", "comma-separated names from CONFIGS")
ITERS = flags.DEFINE_integer("iters", 10, "timed iterations after warm-up")
WARMUP = flags.DEFINE_integer("warmup", 2, "untimed iterations (tracing) before timing")
OUT = flags.DEFINE_string("out", None, "write the results as JSON here")

# name: (example_shape, num_classes, gf_dim, df_dim, num_layers, num_gen, num_mcmc, batch, data_size)
CONFIGS = {
    "small": ((8, 8, 1), 10, 16, 16, 2, 2, 2, 32, 1437),
    "mnist": ((28, 28, 1), 10, 64, 96, 4, 10, 2, 64, 60000),
    "cifar": ((32, 32, 3), 10, 64, 96, 4, 10, 2, 64, 50000),
}


def build(name):
  shape, classes, gf, df, layers, num_gen, num_mcmc, batch, data_size = CONFIGS[name]
  model = ModelConfig(example_shape=shape, num_classes=classes, gf_dim=gf, df_dim=df, num_layers=layers)
  return GANConfig(model=model, sampler=SamplerConfig(data_size=data_size), num_gen=num_gen,
                   num_mcmc=num_mcmc, batch_size=batch, seed=0)


def time_config(config, iters, warmup):
  gan = BayesianGAN(config)
  shape, batch = config.model.example_shape, config.batch_size
  x = tf.random.uniform([batch, *shape], -1, 1)
  x_labeled = tf.random.uniform([batch, *shape], -1, 1)
  y_labeled = tf.random.uniform([batch], 0, config.model.num_classes, dtype=tf.int32)

  def iteration():
    metrics = gan.discriminator_step(x, x_labeled, y_labeled)
    metrics.update(gan.generator_step())
    metrics.update(gan.supervised_step(x_labeled, y_labeled))
    return {k: v.numpy() for k, v in metrics.items()}  # waits for the step to finish

  for _ in range(warmup):
    iteration()
  times = []
  for _ in range(iters):
    start = time.perf_counter()
    iteration()
    times.append(time.perf_counter() - start)
  traces = {k: f.experimental_get_tracing_count() for k, f in gan.step_functions().items()}
  return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
          "iters": iters, "tracing_counts": traces}


def main(argv):
  del argv
  results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
             "tensorflow": tf.__version__, "configs": {}}
  for name in CONFIG_NAMES.value.split(","):
    config = build(name)
    result = time_config(config, ITERS.value, WARMUP.value)
    result["config"] = CONFIGS[name]
    results["configs"][name] = result
    print(f"{name}: median {result['median_s']:.3f} s/iter (min {result['min_s']:.3f}, "
          f"max {result['max_s']:.3f}) over {ITERS.value} iterations; traces {result['tracing_counts']}",
          flush=True)
  if OUT.value:
    os.makedirs(os.path.dirname(OUT.value) or ".", exist_ok=True)
    with open(OUT.value, "w") as f:
      json.dump(results, f, indent=2)


if __name__ == "__main__":
  app.run(main)
