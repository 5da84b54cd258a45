"""Which CPU kernel library a speed bench runs: the one the programs would run on its config.

The programs choose oneDNN or Eigen before TensorFlow loads (`bgan_tf.cli.configure_onednn`),
by data set. A speed bench imports TensorFlow at module level, before absl parses its flags,
so it reads its config name from the command line itself and asks the same rule with that
config's data set. No TensorFlow is loaded here.

Each bench keeps one library for its whole process (TensorFlow reads the choice once). A
bench given several configs runs them all on the image-data library unless every one of
them is of a data set the rule leaves to TensorFlow's default (the README's digits config).
`TF_ENABLE_ONEDNN_OPTS`, when set, wins as it does in the programs.
"""

from bgan_tf import cli

__all__ = ["CONFIG_DATASETS", "configs_from_argv", "configure_for_argv"]

# The data set of each bench/configs.py configuration (a test keeps the two in step).
CONFIG_DATASETS = {"small": "digits", "mnist": "mnist", "cifar": "cifar"}


def configs_from_argv(argv, flag, default):
  """The configs named by the last `--flag=a,b` or `--flag a,b` in `argv` (as absl reads it), else `default`."""
  names = list(default)
  for i, word in enumerate(argv[1:], start=1):
    if word.startswith(f"--{flag}="):
      value = word.split("=", 1)[1]
    elif word == f"--{flag}" and i + 1 < len(argv):
      value = argv[i + 1]
    else:
      continue
    names = [name.strip() for name in value.split(",") if name.strip()]
  return names


def configure_for_argv(argv, flag="config", default=("cifar",)):
  """Set the kernel library for the configs the command line names; returns their names.

  An unknown config name counts as image data (the bench rejects the name itself once its
  flags are parsed).
  """
  names = configs_from_argv(argv, flag, default)
  datasets = [CONFIG_DATASETS.get(name, "cifar") for name in names] or ["cifar"]
  image = [d for d in datasets if d not in cli.ONEDNN_AUTO_SKIPS]
  cli.configure_onednn("auto", image[0] if image else datasets[0])
  return names
