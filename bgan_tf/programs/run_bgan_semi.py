"""Semi-supervised Bayesian GAN: the 2017 run_bgan_semi.py, on TensorFlow 2.

Trains the Bayesian GAN's discriminator ensemble as a K-class classifier from
--N labeled examples plus the whole unlabeled training set, and the
supervised-only baseline alongside it, e.g.

  run_bgan_semi --dataset=digits --N=100 --num_gen=2 --num_mcmc=2 --train_iter=2000 --burn_in=1000
  run_bgan_semi --dataset=cifar --N=4000 --num_gen=10 --num_mcmc=2 --train_iter=75000
"""

from bgan_tf import cli

__all__ = ["main"]


def main() -> None:
  """The `run_bgan_semi` command: flags from `sys.argv`; a user error exits 2 with one line."""
  cli.run_program("semi", __doc__)


if __name__ == "__main__":
  main()
