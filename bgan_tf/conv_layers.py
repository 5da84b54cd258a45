"""Keras `Conv2D` and `Conv2DTranspose` whose input-gradient kernel is fast on every CPU.

Both layers are the stock Keras layers (same variables, checkpoints,
configs and forward values) except for one kernel: the convolution's input
gradient, which is also the transposed convolution's forward pass. TensorFlow
runs it as `Conv2DBackpropInput`, whose speed collapses on some CPUs and
builds (3 GFLOP/s on an AVX2 EPYC, where the forward conv runs at 150-300;
docs/BENCHMARKS.md §3). At build time each layer asks
`bgan_tf.kernel_choice.choose` which formulation of `bgan_tf.conv_gradients`
is fastest for its shape on this machine; where that is "stock" the layer
runs exactly the Keras code.

Otherwise the layer computes with `tf.custom_gradient`:

  Conv2D           y = conv2d(x, w)            dx = <formulation>(dy, w)
                                               dw = Conv2DBackpropFilter(x, dy)
  Conv2DTranspose  y = <formulation>(x, w)     dx = conv2d(dy, w)
                                               dw = Conv2DBackpropFilter(dy, x)

i.e. the same mathematics as TensorFlow's registered gradients, with only
the input-gradient kernel replaced.

Only 2-D, channels-last, undilated, ungrouped convolutions with equal strides
and "same" or "valid" padding (and, for the transposed layer, no output
padding) are handled; any other configuration runs the stock layer.
"""

import keras
import tensorflow as tf

from bgan_tf import conv_gradients
from bgan_tf import kernel_choice

__all__ = ["Conv2D", "Conv2DTranspose"]


def _supported(layer) -> bool:
  return (layer.data_format == "channels_last" and tuple(layer.dilation_rate) == (1, 1) and
          layer.strides[0] == layer.strides[1] and layer.padding in ("same", "valid") and
          getattr(layer, "groups", 1) == 1 and getattr(layer, "output_padding", None) is None)


def _formulation(layer, conv_input_hw, conv_in_channels, conv_out_channels) -> str:
  """The formulation for the convolution mapping conv_input_hw x conv_in_channels to conv_out_channels."""
  if not _supported(layer) or any(size is None for size in conv_input_hw):
    return "stock"
  shape = kernel_choice.ConvShape(input_hw=tuple(int(size) for size in conv_input_hw),
                                  in_channels=int(conv_in_channels), out_channels=int(conv_out_channels),
                                  kernel_hw=tuple(layer.kernel_size), stride=int(layer.strides[0]),
                                  padding=layer.padding,
                                  dtype=keras.backend.standardize_dtype(layer.compute_dtype))
  return kernel_choice.choose(shape)


def _filter_gradient(x, dy, kernel, stride, padding):
  return tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=tf.shape(kernel), out_backprop=dy,
                                         strides=[1, stride, stride, 1], padding=padding.upper())


def conv2d(x, kernel, stride, padding, formulation):
  """conv2d(x, kernel) whose input gradient runs `formulation`."""
  input_hw = tuple(x.shape[1:3])

  @tf.custom_gradient
  def forward(x, kernel):

    def gradient(dy):
      dx = conv_gradients.conv2d_input_gradient(dy, kernel, input_hw, stride, padding, formulation)
      return dx, _filter_gradient(x, dy, kernel, stride, padding)

    return tf.nn.conv2d(x, kernel, stride, padding.upper()), gradient

  return forward(x, tf.convert_to_tensor(kernel))


def conv2d_transpose(x, kernel, output_hw, stride, padding, formulation):
  """The transposed convolution of x by kernel ([k_h, k_w, out, in]), run as `formulation`."""

  @tf.custom_gradient
  def forward(x, kernel):

    def gradient(dy):
      return tf.nn.conv2d(dy, kernel, stride, padding.upper()), _filter_gradient(dy, x, kernel, stride, padding)

    return conv_gradients.conv2d_input_gradient(x, kernel, output_hw, stride, padding, formulation), gradient

  return forward(x, tf.convert_to_tensor(kernel))


class Conv2D(keras.layers.Conv2D):
  """`keras.layers.Conv2D` with the fastest input gradient for its shape (see the module docstring).

  Attributes:
    input_gradient_formulation: the formulation chosen at build time.
  """

  def build(self, input_shape):
    super().build(input_shape)
    self.input_gradient_formulation = _formulation(self, input_shape[1:3], input_shape[-1], self.filters)

  def convolution_op(self, inputs, kernel):
    if getattr(self, "input_gradient_formulation", "stock") == "stock":
      return super().convolution_op(inputs, kernel)
    return conv2d(inputs, kernel, self.strides[0], self.padding, self.input_gradient_formulation)


class Conv2DTranspose(keras.layers.Conv2DTranspose):
  """`keras.layers.Conv2DTranspose` whose forward pass runs the fastest formulation for its shape.

  Attributes:
    input_gradient_formulation: the formulation chosen at build time.
  """

  def build(self, input_shape):
    super().build(input_shape)
    output_hw = tuple(self.compute_output_shape(input_shape)[1:3])
    self._output_hw = output_hw
    formulation = _formulation(self, output_hw, self.filters, input_shape[-1])
    # The transposed conv must be the exact adjoint of a conv of output_hw.
    if formulation != "stock" and tuple(
        conv_gradients.output_size_and_padding(size, k, self.strides[0], self.padding)[0]
        for size, k in zip(output_hw, self.kernel_size)) != tuple(input_shape[1:3]):
      formulation = "stock"
    self.input_gradient_formulation = formulation

  def call(self, inputs):
    if getattr(self, "input_gradient_formulation", "stock") == "stock":
      return super().call(inputs)
    outputs = conv2d_transpose(inputs, self.kernel, self._output_hw, self.strides[0], self.padding,
                               self.input_gradient_formulation)
    if self.use_bias:
      outputs = outputs + self.bias
    if self.activation is not None:
      outputs = self.activation(outputs)
    return outputs
