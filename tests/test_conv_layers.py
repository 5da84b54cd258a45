"""The conv gradient formulations, the layers that use them, and the measured choice."""

import json
import logging
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from bgan_tf import conv_gradients
from bgan_tf import conv_layers
from bgan_tf import kernel_choice
from bgan_tf import models
from bgan_tf.config import ModelConfig
from bgan_tf.errors import ConfigError

# "nchw" runs only where oneDNN does; test_channels_first_... checks it under oneDNN on every CPU kind.
FORMULATIONS = tuple(name for name in kernel_choice.formulations() if name != "stock")
PIECEWISE_FORMULATIONS = ("subpixel", "phases", "matmul")  # the ones run in pieces (TensorFlow's kernels are not)

# (batch, in_h, in_w, c_in, c_out, kernel, stride, padding): odd and even
# sizes, kernels smaller and larger than the stride, non-square maps, both paddings.
GEOMETRIES = [
    (3, 4, 4, 5, 7, 3, 2, "same"),  # the paper's 4x4 -> 2x2 layer, shrunk
    (2, 7, 7, 3, 4, 5, 2, "same"),
    (2, 8, 6, 3, 4, 5, 2, "same"),
    (2, 9, 9, 3, 4, 3, 1, "same"),
    (2, 9, 8, 2, 3, 3, 2, "valid"),
    (2, 10, 10, 2, 3, 4, 2, "same"),  # even kernel: asymmetric padding
    (2, 6, 7, 2, 3, 3, 3, "same"),
    (2, 5, 5, 2, 3, 1, 2, "same"),
    (1, 3, 3, 2, 2, 5, 2, "same"),  # kernel larger than the map
]


def _tensorflows_gradients(geometry):
  """x, kernel and dy of a conv of `geometry`, and TensorFlow's own dx and dkernel for them."""
  batch, in_h, in_w, c_in, c_out, k, stride, padding = geometry
  x = tf.random.stateless_normal([batch, in_h, in_w, c_in], seed=[0, 1])
  kernel = tf.random.stateless_normal([k, k, c_in, c_out], seed=[0, 2])
  with tf.GradientTape() as tape:
    tape.watch([x, kernel])
    y = tf.nn.conv2d(x, kernel, stride, padding.upper())
  dy = tf.random.stateless_normal(y.shape, seed=[0, 3])
  dx, dkernel = tape.gradient(y, [x, kernel], output_gradients=dy)
  return x, kernel, dy, dx, dkernel


@pytest.mark.parametrize("formulation", FORMULATIONS)
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_each_formulation_equals_tensorflows_input_gradient(geometry, formulation):
  _, in_h, in_w, _, _, _, stride, padding = geometry
  _, kernel, dy, expected, _ = _tensorflows_gradients(geometry)
  got = conv_gradients.conv2d_input_gradient(dy, kernel, (in_h, in_w), stride, padding, formulation)
  assert got.shape == expected.shape
  np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_the_matmul_filter_gradient_equals_tensorflows(geometry):
  k, stride, padding = geometry[5:]
  x, _, dy, _, expected = _tensorflows_gradients(geometry)
  got = conv_gradients.conv2d_filter_gradient(x, dy, (k, k), stride, padding, "matmul")
  assert got.shape == expected.shape
  np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_a_filter_gradient_summed_over_pieces_equals_the_whole():
  # 7 examples in pieces of at most 3: three pieces of 3, the last padded with 2 zero examples.
  x = tf.random.stateless_normal([7, 4, 4, 5], seed=[6, 1])
  dy = tf.random.stateless_normal([7, 2, 2, 4], seed=[6, 2])
  whole = conv_gradients.conv2d_filter_gradient(x, dy, (3, 3), 2, "same", "matmul", chunk=0)
  in_pieces = tf.function(lambda x, dy: conv_gradients.conv2d_filter_gradient(x, dy, (3, 3), 2, "same", "matmul",
                                                                              chunk=3))
  pieces = in_pieces(x, dy)
  ops = {op.type for op in in_pieces.get_concrete_function(x, dy).graph.get_operations()}
  assert ops & {"While", "StatelessWhile"}  # really run piece by piece
  assert pieces.shape == whole.shape == (3, 3, 5, 4)
  np.testing.assert_allclose(pieces.numpy(), whole.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("formulation", PIECEWISE_FORMULATIONS)
def test_a_batch_run_in_pieces_equals_the_whole(formulation):
  # 7 examples in pieces of at most 3: three pieces of 3, the last padded with 2.
  dy = tf.random.stateless_normal([7, 2, 2, 4], seed=[4, 1])
  kernel = tf.random.stateless_normal([3, 3, 5, 4], seed=[4, 2])
  whole = conv_gradients.conv2d_input_gradient(dy, kernel, (4, 4), 2, "same", formulation, chunk=0)
  in_pieces = tf.function(lambda dy, kernel: conv_gradients.conv2d_input_gradient(  # pieces only in a graph
      dy, kernel, (4, 4), 2, "same", formulation, chunk=3))
  pieces = in_pieces(dy, kernel)
  ops = {op.type for op in in_pieces.get_concrete_function(dy, kernel).graph.get_operations()}
  assert ops & {"While", "StatelessWhile"}  # really run piece by piece
  assert pieces.shape == whole.shape == (7, 4, 4, 5)
  np.testing.assert_allclose(pieces.numpy(), whole.numpy(), rtol=1e-6, atol=1e-6)


def test_an_unknown_formulation_is_refused():
  with pytest.raises(ValueError, match="formulation must be one of"):
    conv_gradients.conv2d_input_gradient(tf.zeros([1, 2, 2, 1]), tf.zeros([3, 3, 1, 1]), (4, 4), 2, "same", "fft")
  with pytest.raises(ValueError, match="formulation must be one of"):  # subpixel is an input-gradient formulation
    conv_gradients.conv2d_filter_gradient(tf.zeros([1, 4, 4, 1]), tf.zeros([1, 2, 2, 1]), (3, 3), 2, "same",
                                          "subpixel")


def _forced(monkeypatch, formulation, filter_formulation="stock"):
  monkeypatch.setenv(kernel_choice.ENV_FORMULATION, formulation)
  monkeypatch.setenv(kernel_choice.ENV_FILTER_FORMULATION, filter_formulation)


def _values_and_gradients(layer, x):
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = layer(x)
    loss = tf.reduce_sum(y * tf.random.stateless_normal(y.shape, seed=[5, 5]))
  return [y] + tape.gradient(loss, [x] + layer.trainable_variables)


@pytest.mark.parametrize("formulation,filter_formulation", [(f, "stock") for f in FORMULATIONS] +
                         [("stock", "matmul"), ("matmul", "matmul")])
@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "transposed"])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_the_layers_equal_the_stock_keras_layers_in_values_and_gradients(monkeypatch, formulation, filter_formulation,
                                                                         transposed, padding):
  _forced(monkeypatch, formulation, filter_formulation)
  stock_class, our_class = ((keras.layers.Conv2DTranspose, conv_layers.Conv2DTranspose) if transposed else
                            (keras.layers.Conv2D, conv_layers.Conv2D))
  x = tf.random.stateless_normal([3, 5, 6, 4] if transposed else [3, 9, 10, 4], seed=[1, 1])
  stock = stock_class(6, 3, strides=2, padding=padding, bias_initializer="random_normal")
  ours = our_class(6, 3, strides=2, padding=padding)
  stock.build(x.shape)
  ours.build(x.shape)
  assert (ours.input_gradient_formulation, ours.filter_gradient_formulation) == (formulation, filter_formulation)
  for target, source in zip(ours.weights, stock.weights):
    target.assign(source)
  for got, expected in zip(_values_and_gradients(ours, x), _values_and_gradients(stock, x)):
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_the_stock_formulation_runs_the_keras_code(monkeypatch):
  _forced(monkeypatch, "stock")
  layer = conv_layers.Conv2D(4, 3, strides=2, padding="same")
  x = tf.ones([1, 8, 8, 2])

  @tf.function
  def gradient(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = layer(x)
    return tape.gradient(y, x)

  gradient(x)
  ops = {op.type for op in gradient.get_concrete_function(x).graph.get_operations()}
  assert "Conv2DBackpropInput" in ops and "IdentityN" not in ops  # no custom gradient
  _forced(monkeypatch, "stock", "matmul")  # a filter formulation alone takes the custom gradient
  layer = conv_layers.Conv2D(4, 3, strides=2, padding="same")
  gradient = tf.function(gradient.python_function)
  gradient(x)
  assert "IdentityN" in {op.type for op in gradient.get_concrete_function(x).graph.get_operations()}


@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "transposed"])
def test_the_custom_gradients_ops_carry_the_layers_scope_after_gradient_tape(monkeypatch, transposed):
  # As TensorFlow names its own gradients' ops, so a profile can tell which layer they belong to.
  _forced(monkeypatch, "matmul", "matmul")
  layer = (conv_layers.Conv2DTranspose if transposed else conv_layers.Conv2D)(4, 3, strides=2, padding="same",
                                                                              name="scoped_conv")
  x = tf.ones([2, 4, 4, 3] if transposed else [2, 8, 8, 3])

  @tf.function
  def gradients(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = layer(x)
    return tape.gradient(y, [x, layer.kernel])

  gradients(x)
  graph = gradients.get_concrete_function(x).graph
  backward = [op for op in graph.get_operations()
              if op.type in ("MatMul", "Conv2D", "While", "StatelessWhile") and "IdentityN" not in op.name]
  forward_scope = "scoped_conv"
  assert backward
  for op in backward:
    if op.name.startswith(forward_scope):
      continue  # the forward pass's own op
    assert op.name.startswith("gradient_tape/" + forward_scope), op.name


@pytest.mark.parametrize("formulation,filter_formulation", [(f, "stock") for f in FORMULATIONS] +
                         [("stock", "matmul")])
def test_a_gan_trains_the_same_with_every_formulation(monkeypatch, formulation, filter_formulation):
  config = ModelConfig(example_shape=(16, 16, 3), num_classes=10, df_dim=8, gf_dim=8, num_layers=3,
                       disc_norm="batch")

  def values_and_gradients():
    generator = models.make_generator(config, seed=0)
    discriminator = models.make_discriminator(config, seed=1)
    z = tf.random.stateless_normal([4, config.z_dim], seed=[0, 1])
    with tf.GradientTape() as tape:
      x = generator(z, training=True)
      logits = discriminator(x, training=True)
      loss = tf.reduce_sum(logits * tf.range(10, dtype=tf.float32))
    variables = generator.trainable_variables + discriminator.trainable_variables
    layers = [
        layer for layer in generator.body.layers + discriminator.body.layers
        if isinstance(layer, (conv_layers.Conv2D, conv_layers.Conv2DTranspose))
    ]
    return [x, logits] + tape.gradient(loss, variables), {
        (layer.input_gradient_formulation, layer.filter_gradient_formulation) for layer in layers
    }

  _forced(monkeypatch, "stock")
  expected, chosen = values_and_gradients()
  assert chosen == {("stock", "stock")}
  _forced(monkeypatch, formulation, filter_formulation)
  got, chosen = values_and_gradients()
  assert chosen == {(formulation, filter_formulation)}
  # Biases followed by batch norm get gradients of 0 up to rounding (~1e-5 here).
  for a, b in zip(got, expected):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=5e-5)


def test_a_checkpoint_of_stock_keras_layers_restores_into_ours(monkeypatch, tmp_path):
  config = ModelConfig(example_shape=(8, 8, 1), num_classes=3, df_dim=4, gf_dim=4, num_layers=2)
  z = tf.random.stateless_normal([2, config.z_dim], seed=[2, 2])
  with monkeypatch.context() as patch:
    patch.setattr(conv_layers, "Conv2D", keras.layers.Conv2D)
    patch.setattr(conv_layers, "Conv2DTranspose", keras.layers.Conv2DTranspose)
    generator, discriminator = models.make_generator(config, seed=3), models.make_discriminator(config, seed=4)
    expected = discriminator(generator(z)).numpy()
    path = tf.train.Checkpoint(g=generator, d=discriminator).save(str(tmp_path / "stock"))
  _forced(monkeypatch, "matmul")
  generator, discriminator = models.make_generator(config, seed=5), models.make_discriminator(config, seed=6)
  discriminator(generator(z))  # build
  tf.train.Checkpoint(g=generator, d=discriminator).restore(path).assert_existing_objects_matched()
  np.testing.assert_allclose(discriminator(generator(z)).numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("formulation,filter_formulation",
                         [(f, "stock") for f in kernel_choice.formulations(dtype="bfloat16") if f != "stock"] +
                         [("stock", "matmul")])
def test_the_layers_run_under_bfloat16(monkeypatch, formulation, filter_formulation):
  x = tf.cast(tf.random.stateless_normal([2, 8, 8, 3], seed=[3, 3]), tf.bfloat16)
  results = {}
  for name, filter_name in (("stock", "stock"), (formulation, filter_formulation)):
    _forced(monkeypatch, name, filter_name)
    layer = conv_layers.Conv2D(4, 3, strides=2, padding="same", dtype="mixed_bfloat16")
    layer.build(x.shape)
    layer.kernel.assign(tf.reshape(tf.range(3 * 3 * 3 * 4, dtype=tf.float32) / 100.0, [3, 3, 3, 4]))
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = layer(x)
      loss = tf.reduce_sum(tf.cast(y, tf.float32)**2)
    assert y.dtype == tf.bfloat16
    results[name, filter_name] = [tf.cast(g, tf.float32).numpy() for g in tape.gradient(loss, [x, layer.kernel])]
  for got, expected in zip(results[formulation, filter_formulation], results["stock", "stock"]):
    # bfloat16 keeps 8 bits: the kernel gradient's sums of ~30 reach the layer rounded to ~0.1.
    np.testing.assert_allclose(got, expected, rtol=0.05, atol=0.05 * max(1.0, np.abs(expected).max() / 10))


# ------------------------------------------------------------------ the choice

_SHAPE = kernel_choice.ConvShape((4, 4), 3, 5, (3, 3), 2, "same", "float32")


def test_the_environment_forces_a_formulation_and_a_bad_value_is_refused(monkeypatch):
  monkeypatch.setattr(kernel_choice, "measure", lambda shape, **_: pytest.fail("measured although forced"))
  for name in kernel_choice.formulations():
    _forced(monkeypatch, name)
    assert kernel_choice.choose(_SHAPE) == name
  for name in conv_gradients.FILTER_FORMULATIONS:
    _forced(monkeypatch, "stock", name)
    assert kernel_choice.choose(_SHAPE, "filter") == name
  _forced(monkeypatch, "fastest")
  with pytest.raises(ValueError, match="BGAN_TF_CONV_INPUT_GRADIENT='fastest'"):
    kernel_choice.choose(_SHAPE)
  _forced(monkeypatch, "stock", "subpixel")  # an input-gradient formulation only
  with pytest.raises(ValueError, match="BGAN_TF_CONV_FILTER_GRADIENT='subpixel'"):
    kernel_choice.choose(_SHAPE, "filter")


def test_channels_first_is_a_candidate_only_with_onednn_and_forcing_it_without_is_refused(monkeypatch):
  monkeypatch.setattr(kernel_choice, "onednn_enabled", lambda: True)
  assert "nchw" in kernel_choice.formulations() and "nchw" not in kernel_choice.formulations("filter")
  monkeypatch.setattr(kernel_choice, "onednn_enabled", lambda: False)  # Eigen's kernel takes NHWC only
  assert kernel_choice.formulations() == ("stock", "subpixel", "phases", "matmul")
  monkeypatch.setattr(kernel_choice, "measure", lambda shape, **_: pytest.fail("measured although forced"))
  _forced(monkeypatch, "nchw")
  with pytest.raises(ConfigError, match="BGAN_TF_CONV_INPUT_GRADIENT=nchw: .* only in float32 with oneDNN"):
    kernel_choice.choose(_SHAPE)
  monkeypatch.setattr(kernel_choice, "onednn_enabled", lambda: True)  # oneDNN has no bfloat16 NCHW kernel
  assert "nchw" not in kernel_choice.formulations(dtype="bfloat16")
  with pytest.raises(ConfigError, match="only in float32"):
    kernel_choice.choose(_SHAPE._replace(dtype="bfloat16"))


_CHANNELS_FIRST_CHECK = """
import numpy as np, sys, tensorflow as tf
sys.path.insert(0, {tests!r})
import test_conv_layers as t
from bgan_tf import conv_gradients, conv_layers, kernel_choice
assert kernel_choice.onednn_enabled() and "nchw" in kernel_choice.formulations()
def excess(got, expected):  # the largest |got - expected| in units of 1e-5 + 1e-5 |expected|
  return float(np.max(np.abs(got - expected) / (1e-5 + 1e-5 * np.abs(expected))))
worst = 0.0
for geometry in t.GEOMETRIES:
  _, in_h, in_w, _, _, _, stride, padding = geometry
  _, kernel, dy, expected, _ = t._tensorflows_gradients(geometry)
  for fn in (lambda: conv_gradients.conv2d_input_gradient(dy, kernel, (in_h, in_w), stride, padding, "nchw"),
             tf.function(lambda: conv_gradients.conv2d_input_gradient(dy, kernel, (in_h, in_w), stride, padding,
                                                                      "nchw"))):
    got = fn().numpy()
    assert got.shape == tuple(expected.shape), geometry
    worst = max(worst, excess(got, expected.numpy()))
# Through a layer: the transposed conv's forward pass and both gradients.
x = tf.random.stateless_normal([2, 4, 4, 6], seed=[5, 6])
kernel = tf.random.stateless_normal([5, 5, 3, 6], seed=[5, 7])
dy = tf.random.stateless_normal([2, 8, 8, 3], seed=[5, 8])
def run(formulation):
  with tf.GradientTape() as tape:
    tape.watch([x, kernel])
    y = conv_layers.conv2d_transpose(x, kernel, (8, 8), 2, "same", formulation)
  return [y] + tape.gradient(y, [x, kernel], output_gradients=dy)
for a, b in zip(run("stock"), run("nchw")):
  worst = max(worst, excess(b.numpy(), a.numpy()))
print("worst", worst)
"""


def test_channels_first_equals_tensorflows_input_gradient_under_onednn(tmp_path):
  # A fresh process with oneDNN on, whatever this process runs: the formulation exists only there.
  import subprocess
  import sys
  script = tmp_path / "check.py"
  script.write_text(_CHANNELS_FIRST_CHECK.format(tests=os.path.dirname(os.path.abspath(__file__))))
  result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_ENABLE_ONEDNN_OPTS="1", TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 0, result.stderr[-2000:]
  worst = float(result.stdout.split("worst")[-1])  # over the geometries and the layer
  assert worst <= 1.0, worst  # |got - expected| <= 1e-5 + 1e-5 |expected| everywhere


def test_stock_is_kept_unless_another_formulation_wins_by_the_margin_on_a_layer_that_matters():
  assert kernel_choice._pick({"stock": 1.0, "subpixel": 0.9, "phases": 0.9, "matmul": 0.95}) == "stock"
  assert kernel_choice._pick({"stock": 1.0, "subpixel": 0.7, "phases": 0.6, "matmul": 0.5}) == "matmul"
  assert kernel_choice._pick({"stock": 0.5, "subpixel": 0.7, "phases": 0.8, "matmul": 0.6}) == "stock"
  small = kernel_choice.MIN_STOCK_SECONDS / 2  # a tiny layer: overhead decides, keep stock
  assert kernel_choice._pick({"stock": small, "subpixel": small / 4, "phases": small, "matmul": small}) == "stock"


def test_a_fast_stock_kernel_stops_the_measurement_before_the_other_formulations(monkeypatch):
  traced = []
  real = conv_gradients.conv2d_input_gradient
  def recording(*args, **kwargs):  # it calls itself on pieces, with chunk=; count the outer call
    if "chunk" not in kwargs:
      traced.append(args[5])
    return real(*args, **kwargs)

  monkeypatch.setattr(conv_gradients, "conv2d_input_gradient", recording)
  seconds = kernel_choice.measure(_SHAPE, batch=2, repeats=1, stop_below=float("inf"))
  assert list(seconds) == ["stock"] and traced == ["stock"]
  assert kernel_choice._pick(seconds) == "stock"
  traced.clear()
  seconds = kernel_choice.measure(_SHAPE, batch=2, repeats=1, stop_below=0)  # stock is never that fast
  assert sorted(traced) == sorted(seconds) == sorted(kernel_choice.formulations())


def test_the_filter_gradient_is_measured_and_cached_apart_from_the_input_gradient(monkeypatch, tmp_path):
  seconds = kernel_choice.measure(_SHAPE, batch=2, repeats=1, stop_below=0, gradient="filter")
  assert set(seconds) == set(conv_gradients.FILTER_FORMULATIONS) and all(s > 0 for s in seconds.values())
  monkeypatch.setenv(kernel_choice.ENV_CACHE_DIR, str(tmp_path))
  _forced(monkeypatch, "measure", "measure")
  monkeypatch.setattr(kernel_choice, "_memory", {})
  timings = {"input": {"stock": 3.0, "subpixel": 1.0, "phases": 2.0, "matmul": 2.0},
             "filter": {"stock": 3.0, "matmul": 1.0}}
  calls = []
  monkeypatch.setattr(kernel_choice, "measure",
                      lambda shape, gradient="input": calls.append(gradient) or timings[gradient])
  assert kernel_choice.choose(_SHAPE, "filter") == "matmul"
  assert kernel_choice.choose(_SHAPE, "input") == "subpixel"
  assert calls == ["filter", "input"]
  with open(kernel_choice.cache_path()) as f:
    entries = json.load(f)[kernel_choice.machine_key()]
  assert entries[_SHAPE.key()]["choice"] == "subpixel"  # the input gradient's entry keeps its old key
  (filter_key,) = [key for key in entries if key != _SHAPE.key()]
  assert entries[filter_key]["choice"] == "matmul" and "stock/matmul" in filter_key
  monkeypatch.setattr(kernel_choice, "_memory", {})  # a new process: both from the file
  assert (kernel_choice.choose(_SHAPE, "filter"), kernel_choice.choose(_SHAPE)) == ("matmul", "subpixel")
  assert len(calls) == 2
  with pytest.raises(ValueError, match="gradient must be one of"):
    kernel_choice.choose(_SHAPE, "bias")


def test_the_choice_is_measured_once_cached_on_disk_and_reread(monkeypatch, tmp_path):
  monkeypatch.setenv(kernel_choice.ENV_CACHE_DIR, str(tmp_path))
  monkeypatch.setenv(kernel_choice.ENV_FORMULATION, "measure")
  monkeypatch.setattr(kernel_choice, "_memory", {})
  seconds = kernel_choice.measure(_SHAPE, batch=2, repeats=1, stop_below=0)
  assert set(seconds) == set(kernel_choice.formulations()) and all(s > 0 for s in seconds.values())
  calls = []
  monkeypatch.setattr(kernel_choice, "measure",
                      lambda shape, **_: calls.append(shape) or {"stock": 3.0, "subpixel": 1.0, "matmul": 2.0})
  assert kernel_choice.choose(_SHAPE) == "subpixel"
  assert kernel_choice.choose(_SHAPE) == "subpixel" and len(calls) == 1  # this process: from memory
  with open(kernel_choice.cache_path()) as f:
    record = json.load(f)
  assert record[kernel_choice.machine_key()][_SHAPE.key()]["choice"] == "subpixel"
  monkeypatch.setattr(kernel_choice, "_memory", {})  # a new process: from the file
  assert kernel_choice.choose(_SHAPE) == "subpixel" and len(calls) == 1


def test_a_damaged_or_unwritable_cache_falls_back_to_measuring(monkeypatch, tmp_path):
  monkeypatch.setenv(kernel_choice.ENV_FORMULATION, "measure")
  monkeypatch.setattr(kernel_choice, "measure", lambda shape, **_: {"stock": 1.0, "subpixel": 2.0, "matmul": 0.1})
  damaged = tmp_path / "damaged"
  damaged.mkdir()
  (damaged / "kernel_choice.json").write_text('{"truncated": ')
  monkeypatch.setenv(kernel_choice.ENV_CACHE_DIR, str(damaged))
  monkeypatch.setattr(kernel_choice, "_memory", {})
  assert kernel_choice.choose(_SHAPE) == "matmul"
  assert json.loads((damaged / "kernel_choice.json").read_text())  # rewritten whole
  (damaged / "kernel_choice.json").write_text(json.dumps({kernel_choice.machine_key(): ["not", "a", "dict"]}))
  monkeypatch.setattr(kernel_choice, "_memory", {})
  assert kernel_choice.choose(_SHAPE) == "matmul"  # a record of the wrong shape: measured again
  blocker = tmp_path / "a_file"
  blocker.write_text("")
  monkeypatch.setenv(kernel_choice.ENV_CACHE_DIR, str(blocker / "cache"))  # under a file: cannot be made
  monkeypatch.setattr(kernel_choice, "_memory", {})
  assert kernel_choice.choose(_SHAPE) == "matmul"
  assert not os.path.exists(blocker / "cache")


def test_the_measurement_interleaves_the_formulations_so_a_slow_spell_hits_all(monkeypatch):
  # A fake clock: the first timed runs (stock's, before the others are traced) take 10 s,
  # every later run 1 s, whatever the formulation. Timed one formulation after another,
  # stock would keep its slow spell and lose; interleaved, it gets its fast runs too.
  repeats = 2
  clock = {"now": 0.0, "calls": 0, "timed": 0}

  def perf_counter():
    clock["calls"] += 1
    if clock["calls"] % 2 == 0:  # the end of a timed run
      clock["now"] += 10.0 if clock["timed"] < repeats else 1.0
      clock["timed"] += 1
    return clock["now"]

  monkeypatch.setattr(kernel_choice, "_clock", perf_counter)
  seconds = kernel_choice.measure(_SHAPE, batch=2, repeats=repeats, stop_below=0)
  assert seconds == {formulation: 1.0 for formulation in kernel_choice.formulations()}
  assert kernel_choice._pick(seconds) == "stock"


def test_a_capped_onednn_instruction_set_is_cached_apart_from_the_full_one(monkeypatch):
  # Under ONEDNN_MAX_CPU_ISA=AVX2 oneDNN runs the AVX2 kind's kernels, so a choice measured
  # with the full instruction set must not be reused there, nor the other way round.
  monkeypatch.setattr(kernel_choice, "onednn_enabled", lambda: True)
  keys = {}
  for cap in ("", "ALL", "avx2", "AVX512_CORE"):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    kernel_choice.machine_key.cache_clear()
    keys[cap] = kernel_choice.machine_key()
  kernel_choice.machine_key.cache_clear()
  assert keys[""] == keys["ALL"] and "isa" not in keys[""]
  assert "onednn on (isa <= AVX2)" in keys["avx2"]
  assert len({keys[""], keys["avx2"], keys["AVX512_CORE"]}) == 3
  monkeypatch.setattr(kernel_choice, "onednn_enabled", lambda: False)  # Eigen's kernels: the cap is moot
  monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
  assert "onednn off |" in kernel_choice.machine_key()
  kernel_choice.machine_key.cache_clear()


def test_measuring_many_shapes_gives_no_retracing_warning():
  # Each (shape, formulation) is a graph of its own, traced once; the old code called one
  # tf.function per graph from the same lambda, and TensorFlow warned of "excessive retracing"
  # from the third shape on.
  records = []
  handler = logging.Handler()
  handler.emit = records.append
  tf_logger = logging.getLogger("tensorflow")
  tf_logger.addHandler(handler)
  try:
    for channels in (4, 8, 12):
      shape = kernel_choice.ConvShape((6, 6), channels, 8, (3, 3), 2, "same", "float32")
      assert set(kernel_choice.measure(shape, batch=2, repeats=1, stop_below=0)) == set(kernel_choice.formulations())
  finally:
    tf_logger.removeHandler(handler)
  assert not [r for r in records if "retracing" in r.getMessage()]
