"""bench/op_rates.py: each product op's multiply-adds from a traced graph, and its rate from a trace."""

import statistics

import pytest
import tensorflow as tf
from tensorflow.python.framework import ops

from bgan_tf import conv_gradients
from bgan_tf.bgan import BayesianGAN
from bgan_tf.config import GANConfig, ModelConfig, SamplerConfig

import op_rates  # bench/ (tests/conftest.py puts it on sys.path)


def _graph(fn, *specs):
  return tf.function(fn, autograph=False).get_concrete_function(*specs).graph


def _only_op(graph, op_type):
  found = [op for op in graph.get_operations() if op.type == op_type]
  assert len(found) == 1, [op.type for op in graph.get_operations()]
  return found[0]


def _conv_and_gradients(x, w, stride, padding):
  with tf.GradientTape() as tape:
    tape.watch([x, w])
    y = tf.nn.conv2d(x, w, stride, padding)
  return tape.gradient(y, [x, w], output_gradients=tf.ones_like(y))


@pytest.mark.parametrize("x_shape,kernel,stride,padding", [
    ((3, 8, 8, 5), (3, 3, 5, 7), 2, "SAME"),
    ((2, 9, 9, 3), (5, 5, 3, 4), 2, "SAME"),  # odd size: output 5x5
    ((2, 6, 6, 4), (3, 3, 4, 6), 1, "VALID"),
])
def test_a_convolution_and_both_its_gradients_count_the_forward_work(x_shape, kernel, stride, padding):
  graph = _graph(lambda x, w: _conv_and_gradients(x, w, stride, padding), tf.TensorSpec(x_shape),
                 tf.TensorSpec(kernel))
  forward = _only_op(graph, "Conv2D")
  batch, _, _, c_in = x_shape
  _, out_h, out_w, c_out = forward.outputs[0].shape.as_list()
  expected = 2 * batch * out_h * out_w * c_out * kernel[0] * kernel[1] * c_in
  for op_type in ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"):
    assert op_rates.op_flops(_only_op(graph, op_type)) == expected, op_type


def test_counts_agree_with_tensorflows_statistics_where_those_apply():
  # Stride 1, SAME: TensorFlow's gradient counts (which divide by the stride squared) are exact here.
  def fn(x, w, a, b):
    return _conv_and_gradients(x, w, 1, "SAME"), tf.matmul(a, b, transpose_a=True)

  graph = _graph(fn, tf.TensorSpec([2, 6, 6, 4]), tf.TensorSpec([3, 3, 4, 5]), tf.TensorSpec([7, 3]),
                 tf.TensorSpec([7, 11]))
  for op_type in ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MatMul"):
    op = _only_op(graph, op_type)
    theirs = ops.get_stats_for_node_def(graph, op.node_def, "flops").value
    assert op_rates.op_flops(op) == theirs, op_type


@pytest.mark.parametrize("adjoint_a", [False, True])
def test_matrix_products_count_the_contracted_dimension(adjoint_a):
  a_shape = (4, 6, 3) if adjoint_a else (4, 3, 6)
  graph = _graph(lambda a, b: (tf.matmul(a[0], b[0], transpose_a=adjoint_a), tf.matmul(a, b, adjoint_a=adjoint_a)),
                 tf.TensorSpec(a_shape), tf.TensorSpec([4, 6, 5]))
  assert op_rates.op_flops(_only_op(graph, "MatMul")) == 2 * 3 * 5 * 6
  assert op_rates.op_flops(_only_op(graph, "BatchMatMulV2")) == 2 * 4 * 3 * 5 * 6


def test_a_channels_first_input_gradient_is_counted():
  # The `nchw` formulation's op: channels-first dy and output, the kernel still HWIO.
  graph = _graph(
      lambda dy, w: tf.raw_ops.Conv2DBackpropInput(input_sizes=[2, 3, 8, 8], filter=w, out_backprop=dy,
                                                   strides=[1, 1, 2, 2], padding="SAME", data_format="NCHW"),
      tf.TensorSpec([2, 4, 4, 4]), tf.TensorSpec([5, 5, 3, 4]))
  assert op_rates.op_flops(_only_op(graph, "Conv2DBackpropInput")) == 2 * (2 * 4 * 4 * 4) * 5 * 5 * 3


def test_unknown_shapes_and_other_ops_are_not_counted():
  graph = _graph(lambda a, b: tf.nn.relu(tf.matmul(a, b)), tf.TensorSpec([None, 3]), tf.TensorSpec([3, 4]))
  assert op_rates.op_flops(_only_op(graph, "MatMul")) is None
  assert op_rates.op_flops(_only_op(graph, "Relu")) is None


def test_a_traced_step_gets_a_rate_per_product_and_per_loop_body_call():
  runs = 3

  def step(x, w, bias, pieces, unknown):
    # A dense layer (product, bias, activation: fused into one kernel by
    # Grappler or oneDNN), its gradient, a product inside a loop body, and one
    # whose shape the graph cannot know.
    with tf.GradientTape() as tape:
      tape.watch(w)
      y = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w), bias))
    grad = tape.gradient(y, w)
    looped = tf.map_fn(lambda p: tf.matmul(p, w), pieces)
    # boolean_mask's output has an unknown length, so the graph cannot know the product's rows.
    unknown_rows = tf.reshape(tf.boolean_mask(unknown, unknown > -1e9), [-1, 32])
    return y, grad, looped, tf.matmul(unknown_rows, w, name="unknown_rows_product")

  fn = tf.function(step, autograph=False)
  args = (tf.random.normal([64, 32]), tf.random.normal([32, 16]), tf.zeros([16]), tf.random.normal([4, 8, 32]),
          tf.random.normal([96]))
  fn(*args)  # traced outside the profile
  times = op_rates.profiled_op_times(fn, args, runs)
  rows, summary = op_rates.rates(fn.get_concrete_function(*args).graph, times, runs, peak_gflops=100.0)

  forward = [r for r in rows if r["input_shapes"] == [[64, 32], [32, 16]]]
  assert len(forward) == 1, rows
  assert forward[0]["gflop"] == pytest.approx(2 * 64 * 32 * 16 / 1e9)
  assert forward[0]["gflops"] == pytest.approx(forward[0]["gflop"] / forward[0]["median_s"])
  assert forward[0]["ratio_to_peak"] == pytest.approx(forward[0]["gflops"] / 100.0)
  assert forward[0]["calls_per_run"] == 1
  # The weight gradient x^T dy.
  assert any(r["input_shapes"] == [[64, 32], [64, 16]] for r in rows), rows
  # The loop body's product ran once per piece, 4 times per run: rated per call, from the body's graph.
  looped = [r for r in rows if r["input_shapes"] == [[8, 32], [32, 16]]]
  assert len(looped) == 1, rows
  assert "/body/_" in looped[0]["op"] and looped[0]["calls_per_run"] == 4
  assert looped[0]["gflop"] == pytest.approx(2 * 8 * 32 * 16 / 1e9)
  assert looped[0]["seconds_per_run"] == pytest.approx(4 * statistics.mean(
      s for _, s in times[looped[0]["op"]]))
  # The product of unknown shape was timed, not rated.
  assert any(name.endswith("unknown_rows_product") for name in times)
  assert all(not r["op"].endswith("unknown_rows_product") for r in rows)
  assert summary["unrated_product_s_per_run"] > 0
  assert summary["rated_ops"] == len(rows) == 3
  assert [r["ratio_to_peak"] for r in rows] == sorted(r["ratio_to_peak"] for r in rows)


def test_the_chosen_filter_gradients_pieces_are_rated_in_their_loop():
  runs = 2
  x = tf.random.normal([10, 8, 8, 3])
  dy = tf.random.normal([10, 4, 4, 5])
  # Ten examples in pieces of at most 4: three pieces of 4 (the last padded with zeros).
  fn = tf.function(lambda x, dy: conv_gradients.conv2d_filter_gradient(x, dy, (3, 3), 2, "same", "matmul", chunk=4),
                   autograph=False)
  fn(x, dy)
  times = op_rates.profiled_op_times(fn, (x, dy), runs)
  rows, summary = op_rates.rates(fn.get_concrete_function(x, dy).graph, times, runs, peak_gflops=100.0)
  assert len(rows) == 1 and summary["unrated_product_s_per_run"] == 0, (rows, summary)
  piece = rows[0]
  assert piece["calls_per_run"] == 3 and piece["graph_op_type"] == "MatMul"
  # patches [4 x 4 x 4, 3 x 3 x 3] contracted with dy [4 x 4 x 4, 5] over the 64 output positions.
  assert piece["input_shapes"] == [[64, 27], [64, 5]]
  assert piece["gflop"] == pytest.approx(2 * 64 * 27 * 5 / 1e9)


def test_rows_group_by_kernel_with_their_total_time_and_spread():
  def row(op_type, shapes, ratio, seconds):
    return {"graph_op_type": op_type, "input_shapes": shapes, "ratio_to_peak": ratio, "seconds_per_run": seconds}

  conv_shapes = [[4, 8, 8, 3], [3, 3, 3, 8]]
  rows = [row("Conv2D", conv_shapes, 0.5, 0.010), row("MatMul", [[4, 16], [16, 10]], 0.1, 0.001),
          row("Conv2D", conv_shapes, 0.7, 0.020), row("Conv2D", conv_shapes, 0.6, 0.015)]
  kernels = op_rates.by_kernel(rows)
  assert [k["graph_op_type"] for k in kernels] == ["Conv2D", "MatMul"]  # most time first
  conv = kernels[0]
  assert conv["ops"] == 3 and conv["seconds_per_run"] == pytest.approx(0.045)
  assert (conv["ratio_to_peak_min"], conv["ratio_to_peak_median"], conv["ratio_to_peak_max"]) == (0.5, 0.6, 0.7)


def test_a_gans_two_steps_are_rated_op_by_op():
  model = ModelConfig(example_shape=(8, 8, 1), num_classes=10, gf_dim=8, df_dim=8, num_layers=2,
                      disc_norm="batch")
  config = GANConfig(model=model, sampler=SamplerConfig(data_size=100), num_gen=2, num_mcmc=2, batch_size=4,
                     seed=0, feature_matching=1.0, objective="logsumexp", real_weight="num_gen")
  gan = BayesianGAN(config)
  x = tf.random.uniform([4, 8, 8, 1], -1, 1)
  y = tf.constant([0, 1, 2, 3])
  by_step = op_rates.step_op_rates(gan, x, y, runs=2)
  assert list(by_step) == ["discriminator and supervised step", "generator step"]
  for result in by_step.values():
    rows, summary = result["rows"], result["summary"]
    assert rows and summary["rated_ops"] == len(rows)
    assert sum(k["ops"] for k in result["kernels"]) == len(rows)
    assert len(summary["conv_peaks_gflops"]) == 2 and summary["peak_gflops"] > 0
    assert all(r["gflop"] > 0 and r["median_s"] > 0 for r in rows)
    # The discriminators' forward convolutions are rated, at their known batch.
    assert any(r["graph_op_type"] == "Conv2D" for r in rows)
  # Each discriminator's 10-class logits in the discriminator step, rated at the batch it
  # scores: the real and the labelled batch, and the fakes of all 2 x 2 generators (every
  # pair, the default), 4 + 4 + 4 x 4 = 24 rows of 16 features.
  logits = [r for r in by_step["discriminator and supervised step"]["rows"]
            if r["graph_op_type"] == "MatMul" and r["input_shapes"] == [[24, 16], [16, 10]]]
  assert len(logits) == 2, by_step["discriminator and supervised step"]["rows"]
  assert all(r["gflop"] == pytest.approx(2 * 24 * 16 * 10 / 1e9) for r in logits)
