"""The command-line layer shared by the programs in `bgan_tf/programs/`.

It defines the absl flags (named, and defaulted, as in the 2017
`run_bgan_semi.py`, `run_bgan.py` and `bgan_synth.py`), turns parsed flag
values into the frozen configs, and runs a program so that a user error ends
with one line on stderr and exit code 2, never a traceback. It lives in the
package so the installed programs can import it; the library below it never
reads flags: every function here takes the parsed `FlagValues` explicitly.
"""

import datetime
import functools
import json
import logging as std_logging
import os
import platform
import random
import sys
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from absl import app, flags, logging

from bgan_tf import export_paths
from bgan_tf import kernel_override
from bgan_tf import run_dir as run_dir_lib
from bgan_tf import run_files
from bgan_tf.config import (CLASSIFIERS, DISC_NORMS, GEN_ACTIVATIONS, GEN_NORMS, NOISE_FORMS, OBJECTIVES, PAIRINGS,
                            PRECONDITIONERS, PRIOR_FORMS, REAL_WEIGHTS, GANConfig, ModelConfig, SamplerConfig,
                            TrainConfig, check_ensemble_sizes, check_preconditioner)
from bgan_tf.errors import ConfigError, NonFiniteLossError, UsageError, UserError, first_line
from bgan_tf.recipes import RECIPES, recipe_values

__all__ = ["PROGRAMS", "RunOutcome", "define_flags", "main_train", "run", "run_program"]

PROGRAMS = ("semi", "unsupervised", "synth")

# Data sets that --data_path has no part in: the digits ship in the package, the synthetic one is generated.
_BUILT_IN_DATASETS = ("digits", "synthetic")

# Largest --inter_op_threads / --intra_op_threads: above any core count in use, and
# far below what TensorFlow would try to start (a million threads filled 12 GiB of
# memory in 4 minutes before any step ran).
MAX_THREADS = 1024

# Flags whose defaults come from --recipe (None until `apply_recipe`): (kind, name, help, options).
_SAMPLER_AND_OBJECTIVE_FLAGS = (
    ("float", "friction", "SGHMC friction alpha (momentum 1 - alpha).", dict(lower_bound=1e-6, upper_bound=1.0)),
    ("float", "temperature",
     "SGHMC temperature T: the noise variance scale (1 samples the posterior, < 1 a tempered one).",
     dict(lower_bound=0.0)),
    ("enum", "noise",
     "SGHMC noise: 'langevin' (N(0, 2 alpha lr T / N) in the update) or '2017' (the original's loss-term "
     "noise, 1e5-1e6 times smaller).", dict(enum_values=list(NOISE_FORMS))),
    ("enum", "preconditioner",
     "SGHMC preconditioner: 'none' (one step size for every weight) or 'adam' (each weight's step scaled by "
     "the Adam burn-in's 1/sqrt(v_hat), fixed from the switch on; needs --burn_in > 0).",
     dict(enum_values=list(PRECONDITIONERS))),
    ("integer", "cycle_length",
     "If > 0, cyclical SGHMC: after burn-in the sampler's step follows a cosine from --cycle_peak x --lr "
     "down towards 0 (in place of --lr_decay), restarting every cycle_length iterations, and snapshots are "
     "taken only in each cycle's last quarter (Zhang et al., ICLR 2020). 0: off.", dict(lower_bound=0)),
    ("float", "cycle_peak", "With --cycle_length: the step at each cycle's start, as a fraction of --lr.",
     dict(lower_bound=1e-12)),
    ("enum", "prior", "Weight prior: 'gaussian' (N(0, prior_std^2) on every weight) or '2017' (the original's "
     "mean-per-variable penalty).", dict(enum_values=list(PRIOR_FORMS))),
    ("enum", "disc_norm",
     "Discriminator normalisation: 'batch' (2017: batch norm without scale or shift after every "
     "hidden layer but the first, statistics per segment of the batch) or 'none'.",
     dict(enum_values=list(DISC_NORMS))),
    ("float", "feature_matching", "Weight of the generator's feature-matching term (2017: 1; 0: off).",
     dict(lower_bound=0.0)),
    ("enum", "objective",
     "How a sample's per-pair losses combine: 'mean' (the paper's eqs. 1-2) or 'logsumexp' (the 2017 "
     "code).", dict(enum_values=list(OBJECTIVES))),
    ("enum", "real_weight",
     "Weight of the unlabeled real term in the discriminator objective: 'one' or 'num_gen' (J, the 2017 "
     "DCGAN code).", dict(enum_values=list(REAL_WEIGHTS))),
    ("enum", "pairing",
     "Which generator samples each discriminator sample sees: 'all' (the 2017 code) or 'chain' (the "
     "paper's Algorithm 1: the same chain m; run_bgan_semi's default).", dict(enum_values=list(PAIRINGS))),
)


def define_flags(program: str, flag_values=flags.FLAGS) -> List[str]:
  """Defines the flags of `program` ("semi", "unsupervised" or "synth").

  Returns:
    The names of the flags defined, in the order they are written to a run's
    flagfile.
  """
  if program not in PROGRAMS:
    raise ValueError(f"unknown program {program!r}")
  names = []

  def define(kind, name, default, help_text, **kwargs):
    getattr(flags, f"DEFINE_{kind}")(name=name, default=default, help=help_text, flag_values=flag_values, **kwargs)
    names.append(name)

  synth = program == "synth"
  # --- 2017 flags (names, meanings and defaults of the original programs) ---
  define("string", "out_dir", "/tmp/synth_results" if synth else "runs", "Folder that holds the run folders.")
  define("integer", "n_save", 100, "Every n_save iterations: evaluate, log, write results and samples.",
         lower_bound=1)
  define("integer", "z_dim", 2 if synth else 100, "Dimension of the generator's noise z.", lower_bound=1)
  if synth:
    define("integer", "x_dim", 100, "Dimension of the synthetic data.", lower_bound=2)
    define("integer", "numz", 1, "Number of z samples (generator samples) to marginalise z with.", lower_bound=1)
  else:
    define("integer", "gf_dim", 64, "Generator channels at full resolution.", lower_bound=1)
    define("integer", "df_dim", 96, "Discriminator channels at full resolution.", lower_bound=1)
    define(
        "string", "data_path", None,
        "Folder with the data set's standard files (MNIST IDX .gz, cifar-10-batches-py/, "
        "train_32x32.mat, img_align_celeba/, or x_tr.npy... for custom).")
    define("enum", "dataset", "mnist", "Data set name.",
           enum_values=["mnist", "cifar", "svhn", "celeb", "custom", "digits", "synthetic"])
    define("integer", "num_layers", 4, "Convolutional layers of the generator and discriminator.", lower_bound=1)
    define("integer", "num_gen", 1, "J: generator samples (one z batch each).", lower_bound=1)
    define("integer", "num_disc", 1, "J_d: discriminator samples.", lower_bound=1)
  define("integer", "batch_size", 64, "Minibatch size.", lower_bound=1)
  define(
      "float", "prior_std", None if synth else 1.0,
      "Standard deviation of the Gaussian prior on every weight." + (" Default from --recipe." if synth else ""),
      lower_bound=1e-12)
  define("integer", "num_mcmc", 1, "M: MCMC chains per sample.", lower_bound=1)
  if program == "semi":
    define("integer", "N", 128, "Number of labeled training examples (class-balanced).", lower_bound=1)
    define(
        "integer", "validation_size", 0,
        "If > 0, hold this many training examples out as a validation split and evaluate on it instead "
        "of the test set (for choosing hyperparameters).", lower_bound=0)
    define("bool", "export", False, "At the end, export the classifier ensemble as a SavedModel for TF Serving.")
    define("string", "export_base", "export", "Folder of exported models: export_base/model_name/<version>/.")
    define("string", "model_name", export_paths.DEFAULT_MODEL_NAME,
           "Name of the exported model (TF Serving's model name).")
  define("integer", "train_iter", 1000 if synth else 50000, "Training iterations.", lower_bound=1)
  define("bool", "wasserstein", False, "Wasserstein losses with weight clipping (unsupervised only).")
  define("bool", "ml", False, "Maximum likelihood: one plain GAN trained with Adam, no prior or noise.")
  if not synth:
    define("integer", "ml_ensemble", 0, "If > 0, train that many independent ML GANs.", lower_bound=0)
    define("bool", "save_samples", False, "Write PNG sample grids per generator sample every n_save.")
  define("bool", "save_weights", False, "Write all weights (.npz) every n_save.")
  define("integer", "random_seed", 2222, "Seeds numpy, Python, TensorFlow and every random stream.", lower_bound=0,
         upper_bound=2**32 - 1)  # numpy's range
  define("float", "lr", 0.01 if synth else 0.005, "SGHMC learning rate eps (the step on the mean loss).",
         lower_bound=1e-12)
  define("float", "lr_decay", 3.0,
         "Learning rates decay as exp(-lr_decay * min(1, iter * batch_size / data size)).", lower_bound=0.0)
  define(
      "enum", "recipe", "bgan_tf",
      "Defaults of every flag marked 'from --recipe': 'bgan_tf' (this package's, chosen on a validation "
      "split) or '2017' (the authors' TF1 code); see bgan_tf/recipes.py.", enum_values=list(RECIPES))
  define(
      "enum", "optimizer", None,
      "'sghmc': SGHMC sampling after --burn_in Adam iterations; the ML GANs and the supervised-only "
      "classifier stay on Adam. 'sgd': the 2017 code's: the same, but those switch to momentum-0.5 SGD "
      "after the burn-in too. 'adam': Adam throughout (no noise). Default from --recipe.",
      enum_values=["sgd", "sghmc", "adam"])
  # --- flags the original lacked ---
  define("string", "run_name", None, "Run folder name under out_dir (default: "
         f"{'synthetic' if synth else '<dataset>'}_<timestamp>).")
  define("bool", "resume", False, "Continue the run in out_dir/run_name from its latest checkpoint.")
  define("integer", "checkpoint_every", None, "Checkpoint interval in iterations (default: n_save).",
         lower_bound=1)
  define("integer", "max_checkpoints", 3, "Checkpoints kept on disk.", lower_bound=1)
  define("bool", "tensorboard", True, "Write TensorBoard summaries to RUN/tensorboard.")
  define(
      "integer", "burn_in", None,
      "Adam iterations before SGHMC takes over (the 2017 semi-supervised code used 5000). Default from "
      "--recipe.", lower_bound=0)
  define(
      "float", "adam_lr", None,
      "Adam learning rate (decayed like --lr): burn-in, --ml, --ml_ensemble, --optimizer=adam. Default "
      "from --recipe (both recipes: --lr, as 2017).", lower_bound=1e-12)
  if program == "semi":
    define(
        "float", "sup_lr", None,
        "Constant rate of the supervised-only classifier. Default from --recipe (0.05 x --lr, as "
        "2017).", lower_bound=1e-12)
    define(
        "enum", "classifier", None,
        "The supervised-only classifier's layers: 'discriminator' (the discriminator's) or '2017' (the 2017 "
        "code's: four 5x5 stride-2 convolutions, batch norm, one linear layer; --arch=dcgan only). Default "
        "from --recipe.", enum_values=list(CLASSIFIERS))
  for kind, name, help_text, kwargs in _SAMPLER_AND_OBJECTIVE_FLAGS:
    define(kind, name, None, f"{help_text} Default from --recipe.", **kwargs)
  define("enum", "arch", None if synth else "dcgan",
         "Network family." + (" Default from --recipe." if synth else ""), enum_values=["dcgan", "mlp"])
  define("list", "mlp_hidden", None if synth else ["128"],
         "Hidden-layer widths of the MLP networks." + (" Default from --recipe." if synth else ""))
  flags.register_validator("mlp_hidden",
                           lambda widths: widths is None or all(w.isdigit() and int(w) > 0 for w in widths),
                           message="--mlp_hidden must be a comma-separated list of positive integers",
                           flag_values=flag_values)
  define("enum", "gen_norm", None, "Generator batch norm: 'batch' or 'none'. Default from --recipe.",
         enum_values=list(GEN_NORMS))
  define("enum", "gen_activation", None, "Generator hidden activation. Default from --recipe.",
         enum_values=list(GEN_ACTIVATIONS))
  define("integer", "eval_batch_size", 500, "Batch size of test-set evaluation.", lower_bound=1)
  define("integer", "snapshot_every", 1000,
         "After burn-in, keep a copy of the discriminator chains every this many iterations (0: never).",
         lower_bound=0)
  define(
      "enum", "strategy", "default",
      "default: one device; mirrored: all local GPUs (or CPUs) with all-reduced gradients; "
      "multi_worker: several hosts, configured by the TF_CONFIG environment variable.",
      enum_values=["default", "mirrored", "multi_worker"])
  define("integer", "inter_op_threads", 0,
         "Threads that run independent TensorFlow ops at once (0: TensorFlow's default, one per core).",
         lower_bound=0, upper_bound=MAX_THREADS)
  define("integer", "intra_op_threads", 0,
         "Threads inside one TensorFlow op (0: TensorFlow's default, one per core). 1 suits small "
         "networks on few cores: the README's digits run was 4-29% faster at 1 on 2 cores (docs/BENCHMARKS.md "
         "section 3). It changes float rounding, so the numbers change with it.", lower_bound=0,
         upper_bound=MAX_THREADS)
  define(
      "enum", "onednn", "auto",
      "TensorFlow's CPU kernels: on (oneDNN's), off (Eigen's), or auto: the environment's "
      "TF_ENABLE_ONEDNN_OPTS if set, else on for image data sets on x86 CPUs and TensorFlow's default "
      "for digits and synthetic data. TensorFlow itself turns oneDNN on only on CPUs with AVX-512-class "
      "features; on an AVX2-only AMD EPYC oneDNN ran the paper CIFAR iteration in 0.75x Eigen's time and "
      "the README's digits command in 1.08x (docs/BENCHMARKS.md section 3). It changes float rounding, "
      "so the numbers change with it.", enum_values=["auto", "on", "off"])
  define(
      "enum", "precision", "float32",
      "float32, or mixed_bfloat16 (CPUs with bf16 units, TPUs) / mixed_float16 (GPUs); variables, "
      "sampler state and noise stay float32.", enum_values=["float32", "mixed_bfloat16", "mixed_float16"])
  define("integer", "max_snapshots", 20,
         "Posterior snapshots kept (every slot is built at start-up). " +
         ("The posterior predictive and the export average the chains and the snapshots." if program == "semi"
          else "They are discriminator samples, kept in the checkpoints; only run_bgan_semi's predictive "
          "and export average them."), lower_bound=0)
  if not synth:
    define("string", "data_dir", None, "tensorflow-datasets folder with prepared builds (default: tfds's).")
    define("bool", "allow_download", False, "Let tensorflow-datasets download a data set it lacks.")

  flags.register_multi_flags_validator(
      ["ml", "num_mcmc"] + ([] if synth else ["num_gen", "num_disc", "ml_ensemble"]) + (["numz"] if synth else []),
      _check_ml_flags, message="", flag_values=flag_values)
  flags.register_multi_flags_validator(["preconditioner", "burn_in", "recipe"],
                                       functools.partial(_check_preconditioner_flags, program), message="",
                                       flag_values=flag_values)
  flags.register_multi_flags_validator(
      ["cycle_length", "optimizer", "recipe", "ml"] + ([] if synth else ["ml_ensemble"]),
      functools.partial(_check_cycle_flags, program), message="", flag_values=flag_values)
  if program == "semi":
    flags.register_multi_flags_validator(
        ["classifier", "arch"], lambda values: values["classifier"] != "2017" or values["arch"] == "dcgan",
        message="--classifier=2017 is the 2017 code's convolutional classifier: it needs --arch=dcgan",
        flag_values=flag_values)
  if not synth:
    flags.register_multi_flags_validator(
        ["dataset", "data_path"], lambda values: not (values["dataset"] in _BUILT_IN_DATASETS and values["data_path"]),
        message="--data_path: the digits and synthetic data sets are built in and read no files",
        flag_values=flag_values)
  if program == "semi":
    flags.register_validator("wasserstein", lambda value: not value,
                             message="--wasserstein is unsupervised: use bin/run_bgan", flag_values=flag_values)
  return names


def _check_preconditioner_flags(program, values):
  # Only a preconditioner asked for on the command line is checked here: a recipe's gives way
  # when there is no burn-in (apply_recipe). An unset --burn_in takes the recipe's.
  if values["preconditioner"] is None:
    return True
  burn_in = values["burn_in"]
  if burn_in is None:
    burn_in = recipe_values(values["recipe"], program, lr=1.0)["burn_in"]  # the burn-in does not depend on lr
  return _flag_check(check_preconditioner, values["preconditioner"], burn_in, prefix="--", burn_in_name="burn_in")


def _check_ml_flags(values):
  # --ml_ensemble=n sets num_gen = num_disc = n itself (build_configs), so flags left at 1 pass.
  ensemble = values.get("ml_ensemble", 0)
  sizes = (values.get("num_gen", values.get("numz", 1)), values.get("num_disc", 1), values["num_mcmc"])
  if ensemble and sizes == (1, 1, 1):
    sizes = (ensemble, ensemble, 1)
  return _flag_check(check_ensemble_sizes, values["ml"], ensemble, *sizes, prefix="--")


def _check_cycle_flags(program, values):
  # The cycles scale the sampler's step: without a sampler there is none, and the flag would do nothing.
  if not values["cycle_length"]:  # off, or left to the recipe (which gives way to Adam: apply_recipe)
    return True
  optimizer = values["optimizer"] or recipe_values(values["recipe"], program, lr=1.0)["optimizer"]
  reason = _why_no_sampler(optimizer, values["ml"], values.get("ml_ensemble"))
  if reason:
    raise flags.ValidationError(f"--cycle_length acts on the SGHMC sampler; {reason}")
  return True


def _why_no_sampler(optimizer, ml, ml_ensemble):
  """Why a run has no SGHMC step to shape, or None if it samples."""
  if ml or ml_ensemble:
    return "--ml and --ml_ensemble do not sample"
  if optimizer == "adam":  # --optimizer=adam, or bgan_synth's recipe
    return "the optimizer here is Adam throughout"
  return None


def _flag_check(check, *args, **kwargs):
  """Runs a `bgan_tf.config` check for a flag validator: its `ConfigError` becomes the validator's error."""
  try:
    check(*args, **kwargs)
  except ConfigError as error:
    raise flags.ValidationError(str(error)) from None
  return True


def run(main: Callable[[], None], doc: Optional[str] = None, flag_names: Sequence[str] = ()) -> None:
  """`absl.app.run(main)`, with one-line errors and exit code 2 for user errors.

  No program takes positional arguments: any left after the flags is a user
  error, reported here for all of them.

  Args:
    main: the program's work, called without arguments once the flags are parsed.
    doc: the program's description, shown by --help. absl shows the docstring of `__main__`,
      which for an installed command is pip's generated wrapper, so it is set here.
    flag_names: the program's flags, listed by --help. absl lists only the flags the main
      module defined, and the programs define theirs in the package.
  """
  program = os.path.basename(sys.argv[0])
  if doc is not None:
    sys.modules["__main__"].__doc__ = doc
  for name in flag_names:
    flags.FLAGS.register_key_flag_for_module(sys.argv[0], flags.FLAGS[name])
  quiet_checkpoint_timing()

  def parse(argv):
    try:
      return flags.FLAGS(argv)
    except flags.Error as error:
      _fail(program, first_line(error), code=2)

  def guarded(argv):
    if len(argv) > 1:  # before TensorFlow loads
      _fail(program, f"unexpected arguments: {' '.join(argv[1:])}", code=2)
    try:
      for gradient in kernel_override.GRADIENTS:  # a bad BGAN_TF_CONV_*_GRADIENT, before any work
        kernel_override.forced_formulation(gradient)
      main()
    except UserError as error:
      _fail(program, str(error), code=2)
    except NonFiniteLossError as error:
      _fail(program, str(error), code=1)
    except KeyboardInterrupt as interrupt:  # Ctrl-C: one line, exit 128 + SIGINT as a shell reports it
      _fail(program, str(interrupt) or "interrupted", code=130)

  app.run(guarded, flags_parser=parse)


def run_program(program: str, doc: str) -> None:
  """The whole of a training command (`run_bgan_semi`, `run_bgan`): its flags, then `main_train` under `run`."""
  flag_names = define_flags(program)
  run(lambda: main_train(flags.FLAGS, program, flag_names), doc=doc, flag_names=flag_names)


def quiet_checkpoint_timing() -> None:
  """Drops the "Sharding callback duration" INFO line TensorFlow prints at every checkpoint save.

  tensorflow/python/checkpoint/functional_saver.py logs it through absl, the logger of the
  programs' own progress lines, so the level cannot go; a filter on that one message of that
  one file keeps every other line. Idempotent.
  """
  absl_logger = logging.get_absl_logger()
  if _drop_checkpoint_timing not in absl_logger.filters:
    absl_logger.addFilter(_drop_checkpoint_timing)


def _drop_checkpoint_timing(record: std_logging.LogRecord) -> bool:
  return not (os.path.basename(record.pathname) == "functional_saver.py" and
              str(record.msg).startswith("Sharding callback duration"))


def _fail(program, message, code):
  sys.stderr.write(f"{program}: error: {' '.join(message.split())}\n")
  sys.stderr.flush()
  sys.exit(code)


# Data sets whose networks are too small for oneDNN's kernels to pay on a CPU where TensorFlow
# leaves them off: 8x8 digits and 2-D to 100-D synthetic points, where per-op overhead decides.
ONEDNN_AUTO_SKIPS = ("digits", "synthetic")


def onednn_wanted(choice: str, environ, machine: str, dataset: str):
  """What `configure_onednn` asks TensorFlow for: True (oneDNN), False (Eigen) or None (its default).

  "auto" is the user's `TF_ENABLE_ONEDNN_OPTS` if set; otherwise oneDNN on x86
  CPUs for image data sets, and TensorFlow's default for `ONEDNN_AUTO_SKIPS`
  and on other CPUs (on Arm oneDNN runs through other libraries, not measured
  here). Measured on the AVX2-only AMD EPYC, where TensorFlow's default is
  Eigen (docs/BENCHMARKS.md section 3, "oneDNN on the AVX2 machine"): the
  paper CIFAR-10 iteration took 0.75x Eigen's time with oneDNN, the
  README's digits command 1.08x.
  """
  if choice != "auto":
    return choice == "on"
  if "TF_ENABLE_ONEDNN_OPTS" in environ:
    return environ["TF_ENABLE_ONEDNN_OPTS"].strip().lower() in ("1", "true")
  if machine.lower() not in ("x86_64", "amd64") or dataset in ONEDNN_AUTO_SKIPS:
    return None
  return True


def configure_onednn(choice: str, dataset: str) -> None:
  """Chooses TensorFlow's CPU kernel library, oneDNN's or Eigen's, before TensorFlow loads.

  TensorFlow reads `TF_ENABLE_ONEDNN_OPTS` once, when it loads, and without it
  turns oneDNN on only on CPUs with AVX-512-class features. `onednn_wanted`
  says what "auto" means and why.

  Args:
    choice: "on", "off" or "auto".
    dataset: the run's --dataset ("synthetic" for bgan_synth).

  Raises:
    ConfigError: TensorFlow is already loaded with the other library (an
      in-process caller that imported it first asked for "on" or "off").
  """
  wanted = onednn_wanted(choice, os.environ, platform.machine(), dataset)
  if wanted is None:
    return
  if "tensorflow" not in sys.modules:
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1" if wanted else "0"
    return
  from bgan_tf import kernel_choice  # pylint: disable=g-import-not-at-top  (TensorFlow is loaded: check)
  if choice != "auto" and kernel_choice.onednn_enabled() != wanted:
    raise ConfigError(f"--onednn={choice}: TensorFlow already loaded with oneDNN "
                      f"{'on' if kernel_choice.onednn_enabled() else 'off'}; choose before it loads")


def configure_threads(inter_op: int, intra_op: int) -> None:
  """Sets TensorFlow's two thread pools (0 leaves a pool at TensorFlow's default).

  TensorFlow fixes its pools when its runtime starts, so this must run before
  any TensorFlow op; asking later for a different size is a user error (the
  same size is accepted, so an in-process caller may repeat it).

  Args:
    inter_op: threads that run independent ops concurrently.
    intra_op: threads that share the work of one op.

  Raises:
    ConfigError: a size asked for after TensorFlow started with another.
  """
  if not (inter_op or intra_op):
    return
  import tensorflow as tf
  for flag, size, setter, getter in (
      ("inter_op_threads", inter_op, tf.config.threading.set_inter_op_parallelism_threads,
       tf.config.threading.get_inter_op_parallelism_threads),
      ("intra_op_threads", intra_op, tf.config.threading.set_intra_op_parallelism_threads,
       tf.config.threading.get_intra_op_parallelism_threads)):
    if not size:
      continue
    try:
      setter(size)
    except RuntimeError:
      raise ConfigError(f"--{flag}={size}: TensorFlow already started with {getter() or 'its default'} "
                        "threads in that pool; set it before any TensorFlow work") from None
  logging.info("TensorFlow threads: inter-op %s, intra-op %s",
               tf.config.threading.get_inter_op_parallelism_threads() or "default",
               tf.config.threading.get_intra_op_parallelism_threads() or "default")


def seed_everything(seed: int) -> None:
  """Seeds Python, numpy and TensorFlow (the library's own streams are seeded by config)."""
  import numpy as np
  import keras
  random.seed(seed)
  np.random.seed(seed)
  keras.utils.set_random_seed(seed)


def resolve_run_dir(flag_values, program) -> str:
  """out_dir/run_name, with a timestamped default name for fresh runs."""
  name = flag_values.run_name
  if name is None:
    if flag_values.resume:
      raise UsageError("--resume needs --run_name (or --flagfile=RUN/flags.txt from the run to continue)")
    dataset = "synthetic" if program == "synth" else flag_values.dataset
    name = f"{dataset}_{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
  if os.sep in name or name in ("", ".", ".."):
    raise UsageError(f"--run_name must be a plain folder name, got {name!r}")
  return os.path.join(flag_values.out_dir, name)


def check_output_locations(flag_values, program, run_dir) -> None:
  """Fails in one line, before any work, when an output folder of the run cannot be written.

  Checks --out_dir, the run folder in it and, for `--export`, the export destination's name and
  folders (`export_paths.check_paths`, the export's own rule), so a file in the way or a
  read-only folder is reported at start-up, before TensorFlow loads, rather than as a traceback
  after the data set loaded or, for the export, after the run trained.

  Raises:
    UsageError: --out_dir or the run folder cannot be written.
    bgan_tf.errors.ExportError: the export destination cannot be written.
  """
  problem = run_files.folder_problem(flag_values.out_dir)
  if problem:
    raise UsageError(f"--out_dir={flag_values.out_dir}: cannot write there: {problem}")
  problem = run_files.folder_problem(run_dir)
  if problem:
    raise UsageError(f"run folder {run_dir}: cannot write there: {problem}")
  if program == "semi" and flag_values.export:
    # The folders now, before TensorFlow loads; models.config in `main_train`, before the data.
    export_paths.check_paths(flag_values.export_base, flag_values.model_name)


def apply_recipe(flag_values, program) -> None:
  """Sets every recipe-controlled flag left unset (None) to `--recipe`'s value.

  The resolved values are the ones the run's flagfile records, so a run
  reproduces even if a recipe's defaults change later.
  """
  fv = flag_values
  values = recipe_values(fv.recipe, program, fv.lr)
  if fv.wasserstein:  # a critic has no logsumexp, J-weighted or feature-matching form
    values.update(objective="mean", real_weight="one", feature_matching=0.0)
  burn_in = fv.burn_in if fv.burn_in is not None else values.get("burn_in", 0)
  if not burn_in:  # no Adam burn-in to read scales from: the recipe's preconditioner gives way
    values["preconditioner"] = "none"
  if _why_no_sampler(fv.optimizer or values["optimizer"], fv.ml, "ml_ensemble" in fv and fv.ml_ensemble):
    values["cycle_length"] = 0  # no sampler step to cycle: the recipe's cycles give way
  if "ml_ensemble" in fv and fv.ml_ensemble:
    values["pairing"] = "all"  # each ML GAN of the ensemble scores only its own generator already
  if "classifier" in values and fv.arch == "mlp":
    values["classifier"] = "discriminator"  # the 2017 classifier is convolutional: the recipe's gives way
  for name, value in values.items():
    if name in fv and fv[name].value is None:
      fv[name].value = value


def build_configs(flag_values, program, dataset) -> Tuple[GANConfig, TrainConfig]:
  """The frozen configs of a run, from flags (recipe applied) and the loaded data set."""
  fv = flag_values
  apply_recipe(fv, program)
  synth = program == "synth"
  semi = program == "semi"
  num_gen = fv.numz if synth else fv.num_gen
  num_disc = 1 if synth else fv.num_disc
  ml_ensemble = 0 if synth else fv.ml_ensemble
  if ml_ensemble:
    num_gen = num_disc = ml_ensemble
  model = ModelConfig(
      example_shape=dataset.example_shape,
      num_classes=dataset.num_classes if semi else 1,
      z_dim=fv.z_dim,
      arch=fv.arch,
      gf_dim=64 if synth else fv.gf_dim,
      df_dim=96 if synth else fv.df_dim,
      num_layers=4 if synth else fv.num_layers,
      mlp_hidden=tuple(int(h) for h in fv.mlp_hidden),  # validated when parsed
      output_activation="tanh" if dataset.pixel_range is not None else "linear",
      disc_norm=fv.disc_norm,
      gen_norm=fv.gen_norm,
      gen_activation=fv.gen_activation,
      classifier=fv.classifier if semi else "discriminator")
  sampler = SamplerConfig(data_size=dataset.train_size, learning_rate=fv.lr, friction=fv.friction,
                          temperature=fv.temperature, prior_std=fv.prior_std, adam_burn_in=fv.burn_in,
                          adam_learning_rate=fv.adam_lr, noise_form=fv.noise, prior_form=fv.prior,
                          supervised_learning_rate=fv.sup_lr if semi else None, preconditioner=fv.preconditioner,
                          momentum_after_burn_in=fv.optimizer == "sgd")
  gan = GANConfig(model=model, sampler=sampler, num_gen=num_gen, num_disc=num_disc, num_mcmc=fv.num_mcmc,
                  batch_size=fv.batch_size, ml=fv.ml, ml_ensemble=ml_ensemble, wasserstein=fv.wasserstein,
                  seed=fv.random_seed, precision=fv.precision, pairing=fv.pairing, objective=fv.objective,
                  real_weight=fv.real_weight, feature_matching=fv.feature_matching)
  train = TrainConfig(train_iter=fv.train_iter, n_save=fv.n_save, checkpoint_every=fv.checkpoint_every or
                      fv.n_save, max_checkpoints=fv.max_checkpoints,
                      optimizer="adam" if fv.optimizer == "adam" else "sghmc", lr_decay=fv.lr_decay,
                      num_labeled=fv.N if semi else 0, eval_batch_size=fv.eval_batch_size,
                      tensorboard=fv.tensorboard, save_samples=False if synth else fv.save_samples,
                      save_weights=fv.save_weights, data_seed=fv.random_seed, snapshot_every=fv.snapshot_every,
                      max_snapshots=fv.max_snapshots, cycle_length=fv.cycle_length, cycle_peak=fv.cycle_peak)
  return gan, train


def flagfile_lines(flag_values, flag_names, run_dir) -> List[str]:
  """The lines of the flagfile that reproduces the run (`--resume` left out, unset flags too)."""
  lines = []
  for name in flag_names:
    if name == "resume":
      continue
    value = os.path.basename(run_dir) if name == "run_name" else flag_values[name].value
    if value is None:
      continue
    if isinstance(value, bool):
      lines.append(f"--{name}" if value else f"--no{name}")
    elif isinstance(value, list):
      lines.append(f"--{name}={','.join(str(v) for v in value)}")
    else:
      lines.append(f"--{name}={value}")
  return lines


class RunOutcome(NamedTuple):
  """What `main_train` returns: the run folder, the last results and the hooks' history."""

  run_dir: str
  results: Dict[str, object]
  hook_history: Dict[str, list]


def main_train(flag_values, program, flag_names, hooks_fn=None):
  """Loads data, builds configs, writes the run record and trains.

  Args:
    flag_values: parsed flags.
    program: "semi", "unsupervised" or "synth".
    flag_names: the names `define_flags` returned.
    hooks_fn: optional fn(dataset, run_dir) -> list of `train.Hook`.

  Returns:
    A `RunOutcome`.
  """
  fv = flag_values
  run_dir = resolve_run_dir(fv, program)
  check_output_locations(fv, program, run_dir)
  run_dir_lib.check_fresh_or_resumable(run_dir, fv.resume)
  check_cluster_config(fv.strategy)
  configure_onednn(fv.onednn, "synthetic" if program == "synth" else fv.dataset)
  configure_threads(fv.inter_op_threads, fv.intra_op_threads)
  from bgan_tf import kernel_choice  # read back from TensorFlow, which has loaded by now
  logging.info("TensorFlow CPU kernels: %s", "oneDNN" if kernel_choice.onednn_enabled() else "Eigen (oneDNN off)")
  # A forced conv formulation this library or precision cannot run (nchw without oneDNN), before any work.
  kernel_choice.check_forced_formulations(fv.precision.replace("mixed_", ""))  # the convolutions' dtype
  seed_everything(fv.random_seed)
  # Before the run record is written: a cluster TensorFlow rejects leaves no half-made run.
  strategy = make_strategy(fv.strategy)
  if program == "semi" and fv.export:
    from bgan_tf import export  # noqa: imported late: TensorFlow loads here
    export.model_config_text(fv.export_base, fv.model_name)  # a broken models.config, before any work

  from bgan_tf import data as data_lib
  from bgan_tf import train as train_lib
  if program == "synth":
    dataset = data_lib.load_dataset("synthetic", seed=fv.random_seed, x_dim=fv.x_dim)
  else:
    dataset = data_lib.load_dataset(fv.dataset, data_path=fv.data_path, data_dir=fv.data_dir,
                                    allow_download=fv.allow_download, seed=fv.random_seed)
  if program == "semi" and fv.validation_size:
    dataset = data_lib.hold_out_validation(dataset, fv.validation_size, seed=fv.random_seed)
  logging.info("data: %s (%d train, %d test, example shape %s, %d classes)", dataset.source, dataset.train_size,
               dataset.test_size, dataset.example_shape, dataset.num_classes)
  gan_config, train_config = build_configs(fv, program, dataset)
  if gan_config.batch_size > dataset.train_size:
    raise UsageError(f"--batch_size={gan_config.batch_size} exceeds the {dataset.train_size} training examples")
  if program == "semi":
    try:  # checks N against the data set
      data_lib.select_labeled_indices(dataset, train_config.num_labeled, train_config.data_seed)
    except data_lib.DataError as error:  # in the flag's name: the library's is num_labeled
      raise type(error)(f"--N: {error}") from None
  if train_config.optimizer == "sghmc" and gan_config.sampler.adam_burn_in >= train_config.train_iter \
      and not gan_config.maximum_likelihood:
    logging.warning("burn_in=%d >= train_iter=%d: the whole run uses Adam, no SGHMC sampling",
                    gan_config.sampler.adam_burn_in, train_config.train_iter)
  run_dir_lib.write_run_record(run_dir, flagfile_lines(fv, flag_names, run_dir),
                               {"gan": gan_config, "train": train_config}, resume=fv.resume)
  run_dir_lib.write_dataset_info(run_dir, run_dir_lib.DatasetInfo.of(dataset))
  logging.info("run folder: %s", run_dir)
  hooks = hooks_fn(dataset, run_dir) if hooks_fn else ()
  try:
    outcome = train_lib.train(gan_config, train_config, dataset, run_dir, resume=fv.resume, hooks=hooks,
                              strategy=strategy)
  except KeyboardInterrupt:
    # Checkpoints are written whole or not at all, so the newest one is intact.
    raise KeyboardInterrupt(f"interrupted; continue from the newest checkpoint with "
                            f"--flagfile={os.path.join(run_dir, run_dir_lib.FLAGFILE)} --resume") from None
  if program == "semi" and fv.export:
    from bgan_tf import export
    logging.info("exported the classifier to %s", export.export_run(run_dir, fv.export_base, fv.model_name))
  return RunOutcome(run_dir, outcome.results, outcome.hook_history)


def check_cluster_config(strategy_name) -> None:
  """Fails in one line, before TensorFlow loads, if --strategy=multi_worker's TF_CONFIG is not a JSON object.

  Raises:
    UsageError: TF_CONFIG is set but does not parse as one.
  """
  text = os.environ.get("TF_CONFIG")
  if strategy_name != "multi_worker" or not text:
    return
  try:
    parsed = json.loads(text)
  except ValueError as error:
    raise UsageError(f"--strategy=multi_worker: TF_CONFIG is not JSON: {first_line(error)}") from None
  if not isinstance(parsed, dict):
    raise UsageError(f"--strategy=multi_worker: TF_CONFIG must be a JSON object, got {text!r}")


def make_strategy(name):
  """The `tf.distribute` strategy named by --strategy (None: the default).

  Raises:
    UsageError: TensorFlow rejects the cluster TF_CONFIG describes (e.g. a task index out of range).
  """
  import tensorflow as tf
  if name == "mirrored":
    return tf.distribute.MirroredStrategy()
  if name == "multi_worker":
    try:
      return tf.distribute.MultiWorkerMirroredStrategy()
    except ValueError as error:
      raise UsageError(f"--strategy=multi_worker: TF_CONFIG: {first_line(error)}") from None
  return None
