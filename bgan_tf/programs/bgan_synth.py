"""The paper's synthetic experiment: the 2017 bgan_synth.py, on TensorFlow 2.

Trains a Bayesian GAN (--numz > 1) or an ML GAN (--numz=1 --ml) on the
synthetic data (10 clusters in a 2-D latent space mapped to --x_dim
dimensions) and tracks the Jensen-Shannon divergence between real and
generated data in the real data's 2-D PCA space, e.g.

  bgan_synth --numz=10 --num_mcmc=2 --train_iter=1000 --out_dir=runs
  bgan_synth --numz=1 --ml --train_iter=1000 --out_dir=runs
"""

import os

from absl import flags

from bgan_tf import cli

__all__ = ["main"]


def main() -> None:
  """The `bgan_synth` command: flags from `sys.argv`; a user error exits 2 with one line."""
  flag_names = cli.define_flags("synth")
  eval_every = flags.DEFINE_integer("eval_every", 100, "Iterations between JS-divergence evaluations.",
                                    lower_bound=1)
  num_eval_samples = flags.DEFINE_integer("num_eval_samples", 2000,
                                          "Real and generated examples per JS evaluation.", lower_bound=10)
  flag_names = flag_names + ["eval_every", "num_eval_samples"]

  def train():
    from bgan_tf import synthetic  # TensorFlow loads here, after the flags were checked.

    def hooks(dataset, run_dir):
      return [
          synthetic.js_divergence_hook(dataset, run_dir, every=eval_every.value,
                                       num_samples=num_eval_samples.value, seed=flags.FLAGS.random_seed)
      ]

    outcome = cli.main_train(flags.FLAGS, "synth", flag_names, hooks_fn=hooks)
    if outcome.hook_history:
      synthetic.write_js_curve(outcome.hook_history, os.path.join(outcome.run_dir, "js_divergence.png"),
                               label=f"numz={flags.FLAGS.numz}, num_mcmc={flags.FLAGS.num_mcmc}")

  cli.run(train, doc=__doc__, flag_names=flag_names)


if __name__ == "__main__":
  main()
