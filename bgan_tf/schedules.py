"""Per-iteration schedules of the training loop: step sizes and snapshot times.

Every schedule is a pure function of the iteration, so a resumed run follows
the schedule of an uninterrupted one. This module imports no TensorFlow.
"""

import math

__all__ = [
    "SAMPLING_STAGE_START",
    "snapshot_cycle",
    "sampler_step_factor",
    "is_snapshot_iteration",
    "learning_rate_factor",
]

# With cycles, snapshots are taken only in the last quarter of each cycle,
# where the cosine has brought the step to under 15% of the cycle's peak: the
# "sampling stage" of Zhang et al. (2020), who collect samples at the small
# steps that end each cycle, after the large steps that move the chain to a
# new region.
SAMPLING_STAGE_START = 0.75


def learning_rate_factor(iteration: int, batch_size: int, data_size: int, lr_decay: float) -> float:
  """exp(-lr_decay * min(1, iteration * batch_size / data_size)): the 2017 schedule.

  `run_bgan_semi.py:173-174` of the 2017 code decays every learning rate this
  way over the first epoch and holds it after.
  """
  return math.exp(-lr_decay * min(1.0, iteration * batch_size / float(data_size)))


def sampler_step_factor(iteration: int, burn_in: int, cycle_length: int, peak: float, decay: float) -> float:
  """The sampler's step size, as a fraction of `--lr`, with or without cycles.

  Without cycles (`cycle_length` 0), and before `burn_in`, it is `decay`,
  the 2017 schedule's factor (`learning_rate_factor`). With cycles, from
  iteration `burn_in` on (the first sampler step is iteration `burn_in`,
  0-based) the cycles replace that schedule:

    peak * (1 + cos(pi * k / L)) / 2,   k = (iteration - burn_in) mod L,

  a cosine that starts each cycle of L iterations at `peak` times `--lr` and
  falls towards 0 (Zhang et al., 2020, eq. 3, with alpha_0 = peak * lr).
  Large steps at a cycle's start move the chain out of the mode it sits in;
  the small steps at its end let it settle where the samples are taken
  (`is_snapshot_iteration`). The SGHMC noise variance is proportional to the
  step, so at every step the update is still the sampler's, at a smaller or
  larger discretization step. The peak is relative to the undecayed `--lr`,
  not to the decayed step, so that `--lr_decay` does not move it: at the
  digits benchmark's lr 0.005 with decay e^-3, peak 0.5 is 10 times the
  decayed step, and with `--lr_decay=0` the same peak is half the step.

  Args:
    iteration: the 0-based iteration about to run.
    burn_in: iterations before the sampler starts.
    cycle_length: L, iterations per cycle; 0 turns cycles off.
    peak: the step at each cycle's first iteration, as a fraction of `--lr`.
    decay: the factor without cycles, `learning_rate_factor(iteration, ...)`.

  Returns:
    The factor to multiply `--lr` by.

  #### References

  Zhang, R., Li, C., Zhang, J., Chen, C. and Wilson, A. G. Cyclical
  Stochastic Gradient MCMC for Bayesian Deep Learning. ICLR 2020.
  """
  if cycle_length <= 0 or iteration < burn_in:
    return decay
  position = (iteration - burn_in) % cycle_length
  return peak * 0.5 * (1.0 + math.cos(math.pi * position / cycle_length))


def is_snapshot_iteration(done: int, burn_in: int, snapshot_every: int, cycle_length: int) -> bool:
  """Whether the posterior snapshots take a copy after `done` iterations.

  Every `snapshot_every` iterations after `burn_in`. With cycles, only those
  that fall in the last quarter of a cycle (`SAMPLING_STAGE_START`); with
  `snapshot_every` equal to the cycle length, that is one snapshot at the end
  of each cycle.

  Args:
    done: iterations completed.
    burn_in: iterations before the sampler starts.
    snapshot_every: the snapshot period; 0 turns snapshots off.
    cycle_length: as in `sampler_step_factor` (0: no cycles).

  Returns:
    True if a snapshot is due.
  """
  if snapshot_every <= 0 or done <= burn_in:
    return False
  since = done - burn_in
  if since % snapshot_every:
    return False
  if cycle_length <= 0:
    return True
  iterations_into_cycle = (since - 1) % cycle_length + 1  # 1..L
  return iterations_into_cycle > SAMPLING_STAGE_START * cycle_length


def snapshot_cycle(done: int, burn_in: int, cycle_length: int) -> int:
  """The 0-based cycle a snapshot taken after `done` iterations belongs to.

  Cycle c covers iterations burn_in + c L + 1 .. burn_in + (c + 1) L done,
  so a snapshot at a cycle's last iteration counts in that cycle.

  Args:
    done: iterations completed when the snapshot was taken (> burn_in).
    burn_in: iterations before the sampler starts.
    cycle_length: L > 0.

  Returns:
    The cycle's index.
  """
  if cycle_length <= 0 or done <= burn_in:
    raise ValueError(f"no cycle: done={done}, burn_in={burn_in}, cycle_length={cycle_length}")
  return (done - burn_in - 1) // cycle_length
