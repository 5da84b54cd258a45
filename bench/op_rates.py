"""Each convolution and matrix product's FLOP rate as it runs inside a traced step.

`kernel_ceiling.py` times every kernel of an iteration alone, on random inputs
in a graph of its own, beside its harness's fetch ops. In the step a kernel
runs between the ops the model puts around it, on inputs those ops have just
written, with the fusions Grappler and oneDNN make (a product with its bias
and activation). This module measures the kernels there: a `tf.profiler`
trace of the step itself gives each op's time on TensorFlow's executor
threads, and the step's graph, traced with the batch's static shapes, gives
each op's multiply-adds.

The op time is the kernel's `Compute()`: it excludes the executor's cost of
scheduling the op, which the iteration pays once per op and
`kernel_ceiling.py` counts in. It includes whatever the other inter-op thread
runs beside it, as the iteration does.

The chosen gradient formulations run in pieces of 128 examples, in the body
of a `tf.map_fn` loop. TensorFlow lowers the loop to a call of its body per
piece, and the trace names each call's ops "<while op>/body/_<n>/<body op>",
so the same name comes back once per piece. Such an op is found in the body's
own graph, whose shapes are static when the batch's are, and rated per call:
its multiply-adds over the median of its calls' times. Ops whose multiply-adds
cannot be read (a shape unknown) are not rated; the summary reports how much
conv and matmul time that leaves out.
"""

import collections
import contextlib
import glob
import math
import os
import statistics
import tempfile

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

import peak  # bench/peak.py

__all__ = ["FLOP_OP_TYPES", "by_kernel", "op_flops", "op_times", "profiled_op_times", "rates", "recorded_op_times",
           "step_op_rates"]

# Graph op types that do a convolution's or a matrix product's multiply-adds.
FLOP_OP_TYPES = ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Conv2D", "Conv2DBackpropInput",
                 "Conv2DBackpropFilter")
# oneDNN's rewrite of a product fused with the op after it (a bias, an
# activation) keeps the last fused node's name: from there, the product is
# found among the node's inputs.
_FUSED_PREFIXES = ("_MklFused", "_MklNativeFused", "_Fused")


def _dims(tensor):
  shape = tensor.shape
  if shape.rank is None or any(d is None for d in shape.as_list()):
    return None
  return shape.as_list()


def op_flops(op):
  """Multiply-adds x 2 of one graph op, or None (not a product, or a shape unknown).

  Conv2D: 2 x |output| x kh x kw x C_in. Its two gradients do the same
  work: 2 x |dy| x kh x kw x C_in, with C_in the channels of the
  convolution's input (the filter's third dimension). MatMul and BatchMatMul:
  2 x M x N x K, K being the contracted dimension.

  TensorFlow registers "flops" statistics for these ops too
  (`tensorflow/python/profiler/internal/flops_registry.py`), but they refuse
  channels-first convolutions, which the `nchw` input-gradient formulation
  runs, and read BatchMatMulV2's adjoint from an attribute it does not have;
  the tests check this count against theirs where theirs applies.
  """
  if op.type not in FLOP_OP_TYPES:
    return None
  if op.type.startswith("Conv2D"):
    # Conv2D(input, filter) -> output; BackpropInput(sizes, filter, dy); BackpropFilter(input, sizes, dy).
    dy = op.outputs[0] if op.type == "Conv2D" else op.inputs[2]
    if op.type == "Conv2DBackpropFilter":
      kernel_shape = _dims(op.outputs[0])
    else:
      kernel_shape = _dims(op.inputs[1])
    dy_shape = _dims(dy)
    if kernel_shape is None or dy_shape is None:
      return None
    kh, kw, c_in, _ = kernel_shape
    return 2 * math.prod(dy_shape) * kh * kw * c_in
  a, out = _dims(op.inputs[0]), _dims(op.outputs[0])
  if a is None or out is None:
    return None
  adjoint_a = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
  contracted = a[-2] if adjoint_a else a[-1]
  return 2 * math.prod(out) * contracted


def _product_op(op, trace_op_type):
  """The graph op whose multiply-adds a trace event of `trace_op_type` did, or None."""
  if op.type in FLOP_OP_TYPES:
    return op
  if trace_op_type.startswith(_FUSED_PREFIXES):
    # Walk back through the fused chain (BiasAdd, then an activation) to the product.
    frontier = [op]
    for _ in range(3):
      frontier = [i.op for o in frontier for i in o.inputs]
      for candidate in frontier:
        if candidate.type in FLOP_OP_TYPES:
          return candidate
  return None


def op_times(xplane_path):
  """{op name: [(op type, seconds), ...]} of every op event on the executor threads of a trace."""
  space = xplane_pb2.XSpace()
  with open(xplane_path, "rb") as f:
    space.ParseFromString(f.read())
  times = collections.defaultdict(list)
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
        times[op_name].append((op_type, event.duration_ps * 1e-12))
  return times


_WHILE_OP_TYPES = ("While", "StatelessWhile")
_BODY_CALL = "/body/_"


def _named_op(graph, name):
  """`graph`'s op called `name`, or None."""
  try:
    return graph.get_operation_by_name(name)
  except (KeyError, ValueError):
    return None


def _graph_op(graph, name):
  """The op a trace event `name` ran: an op of `graph`, or of a loop body's graph (recursively), or None.

  A loop body's op runs as "<while op>/body/_<n>/<body op>": the while op
  is looked up in `graph`, the body op in the graph of its "body" function.
  """
  op = _named_op(graph, name)
  if op is not None:
    return op
  start = name.find(_BODY_CALL)
  while start != -1:
    loop = _named_op(graph, name[:start])
    if loop is not None and loop.type in _WHILE_OP_TYPES:
      call_number, _, inner = name[start + len(_BODY_CALL):].partition("/")
      if call_number.isdigit() and inner:
        # pylint: disable=protected-access  (the graph's function library holds the body's FuncGraph)
        body = graph._get_function(loop.get_attr("body").name)
        body_graph = getattr(body, "graph", None)  # None: a function without its Python graph
        return _graph_op(body_graph, inner) if body_graph is not None else None
    start = name.find(_BODY_CALL, start + 1)
  return None


def _is_product_type(op_type):
  return any(kind in op_type for kind in ("MatMul", "Conv2D"))


def rates(graph, times, runs, peak_gflops):
  """Each product op's median time and FLOP rate, from `op_times` of `runs` runs of `graph`.

  Args:
    graph: the `tf.Graph` of a step traced with static shapes; it ran `runs`
      times, and nothing else did, while the trace was recorded.
    times: `op_times` of that trace.
    runs: how many times the graph ran.
    peak_gflops: the reference conv rate to compare each op with.

  Returns:
    (rows, summary). A row per rated op, slowest relative to the peak first:
    op name, graph op type, the trace's op type, input shapes, GFLOP, median
    seconds, GFLOP/s, ratio to the peak, seconds per run and calls per run
    (a loop body's op: one per piece; its GFLOP and median are a call's).
    The summary sums the product ops' time per run, rated and not.
  """
  rows = []
  rated_s = unrated_s = 0.0
  unrated = collections.Counter()
  for name, events in times.items():
    trace_type = events[0][0]
    if not _is_product_type(trace_type):
      continue
    seconds = [s for _, s in events]
    per_run = sum(seconds) / runs
    op = _graph_op(graph, name)
    product = _product_op(op, trace_type) if op is not None else None
    flop = op_flops(product) if product is not None else None
    # A loop body's op runs a whole number of times per run (once per piece); any other op once.
    calls, leftover = divmod(len(events), runs)
    if flop is None or leftover or not calls or (calls > 1 and product.graph is graph):
      unrated_s += per_run
      unrated[trace_type] += per_run
      continue
    median = statistics.median(seconds)
    rows.append({
        "op": name,
        "graph_op_type": product.type,
        "trace_op_type": trace_type,
        "input_shapes": [_dims(t) for t in product.inputs],
        "gflop": flop / 1e9,
        "median_s": median,
        "gflops": flop / 1e9 / median,
        "ratio_to_peak": flop / 1e9 / median / peak_gflops,
        "seconds_per_run": per_run,
        "calls_per_run": calls,
    })
    rated_s += per_run
  rows.sort(key=lambda r: r["ratio_to_peak"])
  summary = {
      "peak_gflops": peak_gflops,
      "rated_ops": len(rows),
      "rated_product_s_per_run": rated_s,
      "unrated_product_s_per_run": unrated_s,
      "unrated_by_trace_op_type_s": dict(unrated.most_common()),
  }
  return rows, summary


def by_kernel(rows):
  """`rates` rows grouped by kernel (graph op type and input shapes), most time per run first.

  Twenty generators run the same kernel twenty times per step; grouped, a
  slow kernel shows once with its total time and the spread of its rates.

  Returns:
    A list of {"graph_op_type", "input_shapes", "ops", "seconds_per_run",
    "ratio_to_peak_min", "ratio_to_peak_median", "ratio_to_peak_max"}.
  """
  groups = collections.defaultdict(list)
  for row in rows:
    groups[(row["graph_op_type"], repr(row["input_shapes"]))].append(row)
  kernels = []
  for members in groups.values():
    ratios = [r["ratio_to_peak"] for r in members]
    kernels.append({
        "graph_op_type": members[0]["graph_op_type"],
        "input_shapes": members[0]["input_shapes"],
        "ops": len(members),
        "seconds_per_run": sum(r["seconds_per_run"] for r in members),
        "ratio_to_peak_min": min(ratios),
        "ratio_to_peak_median": statistics.median(ratios),
        "ratio_to_peak_max": max(ratios),
    })
  return sorted(kernels, key=lambda k: -k["seconds_per_run"])


def _shaped_steps(gan, x, y):
  """{step: (tf.function traced with x's static shapes, its args)}: the programs' step functions.

  The programs trace each step once with an unknown batch size
  (`input_signature`), so their graphs cannot give an op's multiply-adds.
  The same Python functions traced on these tensors run the same kernels on
  the same shapes, and their graphs know every shape.
  """
  use_adam = tf.constant(False)  # the sampler's phase, the steady state of a run
  z = gan.sample_z(x.shape[0])
  steps = {"discriminator and supervised step": ("disc_and_supervised", (use_adam, x, z, x, y))}
  gen_args = (use_adam, z, x) if gan.uses_real_in_generator_step else (use_adam, z)
  steps["generator step"] = ("gen", gen_args)
  step_fns = gan._step_fns  # pylint: disable=protected-access  (the functions the programs run)
  return {
      label: (tf.function(step_fns[kind].python_function, autograph=False), args)
      for label, (kind, args) in steps.items()
  }


@contextlib.contextmanager
def recorded_op_times():
  """Records a `tf.profiler` trace of the block; the dict it yields holds the trace's `op_times` after it."""
  logdir = tempfile.mkdtemp(prefix="bgan_trace_")
  times = {}
  tf.profiler.experimental.start(logdir)
  try:
    yield times
  finally:
    tf.profiler.experimental.stop()
  times.update(op_times(sorted(glob.glob(os.path.join(logdir, "plugins/profile/*/*.xplane.pb")))[-1]))


def profiled_op_times(fn, args, runs):
  """Runs fn(*args) `runs` times under `tf.profiler`; returns the trace's `op_times`."""
  with recorded_op_times() as times:
    for _ in range(runs):
      tf.nest.map_structure(lambda t: t.numpy(), fn(*args))  # each run finishes before the next
  return times


def step_op_rates(gan, x, y, runs):
  """Every conv and matmul op of a `BayesianGAN`'s two step kinds, rated as it runs in the step.

  Each step kind (the discriminator-and-supervised step, then the generator
  step, in the sampler's phase) is traced with the static shapes of `x`,
  run twice, then profiled for `runs` runs between two measurements of the
  reference conv peak, whose median its ops are rated against.

  Args:
    gan: a semi-supervised `BayesianGAN` (it has a supervised-only classifier).
    x: `[batch, *example_shape]` examples, the real and the labelled batch.
    y: `[batch]` int32 labels.
    runs: profiled runs of each step.

  Returns:
    {step label: {"rows", "kernels", "summary"}}: `rates`' rows and summary
    (with the two conv peaks, `conv_peaks_gflops`) and the rows `by_kernel`.
  """
  out = {}
  for label, (fn, args) in _shaped_steps(gan, x, y).items():
    for _ in range(2):  # trace, then one untraced run
      tf.nest.map_structure(lambda t: t.numpy(), fn(*args))
    before = peak.conv_gflops(10)["best"]
    times = profiled_op_times(fn, args, runs)
    after = peak.conv_gflops(10)["best"]
    rows, summary = rates(fn.get_concrete_function(*args).graph, times, runs, statistics.median([before, after]))
    summary["conv_peaks_gflops"] = [before, after]
    out[label] = {"rows": rows, "kernels": by_kernel(rows), "summary": summary}
  return out
