"""Unsupervised Bayesian GAN: the 2017 run_bgan.py, on TensorFlow 2.

Samples the posteriors over generator and discriminator weights on any data
set, e.g.

  run_bgan --dataset=digits --num_gen=4 --num_mcmc=2 --train_iter=2000 --burn_in=1000 --save_samples
  run_bgan --dataset=mnist --data_path=DIR --ml --arch=mlp   # the Edward tutorial's MLP GAN
"""

from bgan_tf import cli

__all__ = ["main"]


def main() -> None:
  """The `run_bgan` command: flags from `sys.argv`; a user error exits 2 with one line."""
  cli.run_program("unsupervised", __doc__)


if __name__ == "__main__":
  main()
