"""Keras `Conv2D` and `Conv2DTranspose` whose gradient kernels are fast on every CPU.

Both layers are the stock Keras layers (same variables, checkpoints,
configs and forward values) except for two kernels: the convolution's input
gradient, which is also the transposed convolution's forward pass, and its
filter gradient. TensorFlow runs them as `Conv2DBackpropInput` and
`Conv2DBackpropFilter`, whose speed collapses on some CPUs and builds (the
first at 3 GFLOP/s on an AVX2 EPYC, where the forward conv runs at 150-300;
the second at 35-47% of the conv peak there on 4x4 maps, with oneDNN;
docs/BENCHMARKS.md §3). At build time each layer asks
`bgan_tf.kernel_choice.choose` which formulation of `bgan_tf.conv_gradients`
is fastest for its shape on this machine, for each of the two; where both are
"stock" the layer runs exactly the Keras code.

Otherwise the layer computes with `tf.custom_gradient`:

  Conv2D           y = conv2d(x, w)            dx = <input formulation>(dy, w)
                                               dw = <filter formulation>(x, dy)
  Conv2DTranspose  y = <input formulation>(x, w)
                                               dx = conv2d(dy, w)
                                               dw = <filter formulation>(dy, x)

i.e. the same mathematics as TensorFlow's registered gradients, with only
those kernels replaced ("stock" is TensorFlow's own kernel).

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


def _formulations(layer, conv_input_hw, conv_in_channels, conv_out_channels):
  """(input, filter) gradient formulations of the conv mapping conv_input_hw x conv_in_channels to conv_out_channels."""
  if not _supported(layer) or any(size is None for size in conv_input_hw):
    return "stock", "stock"
  shape = kernel_choice.ConvShape(input_hw=tuple(int(size) for size in conv_input_hw),
                                  in_channels=int(conv_in_channels), out_channels=int(conv_out_channels),
                                  kernel_hw=tuple(layer.kernel_size), stride=int(layer.strides[0]),
                                  padding=layer.padding,
                                  dtype=keras.backend.standardize_dtype(layer.compute_dtype))
  return kernel_choice.choose(shape, "input"), kernel_choice.choose(shape, "filter")


def _gradient_scope():
  """The name scope for a custom gradient's ops: "gradient_tape/" + the forward pass's scope.

  TensorFlow names its registered gradients' ops that way, so a profile or a
  TensorBoard graph shows which layer they differentiate. A custom gradient
  is traced where the tape runs it, outside the layer's scope: without this,
  its ops would carry no layer name at all.
  """
  scope = tf.get_current_name_scope()
  return f"gradient_tape/{scope}/" if scope else "gradient_tape/"  # a trailing "/" re-enters it whole


def conv2d(x, kernel, stride, padding, formulation, filter_formulation="stock"):
  """conv2d(x, kernel) whose input gradient runs `formulation` and filter gradient `filter_formulation`."""
  input_hw = tuple(x.shape[1:3])
  kernel_hw = tuple(kernel.shape[:2])
  scope = _gradient_scope()

  @tf.custom_gradient
  def forward(x, kernel):

    def gradient(dy):
      with tf.name_scope(scope):
        dx = conv_gradients.conv2d_input_gradient(dy, kernel, input_hw, stride, padding, formulation)
        return dx, conv_gradients.conv2d_filter_gradient(x, dy, kernel_hw, stride, padding, filter_formulation)

    return tf.nn.conv2d(x, kernel, stride, padding.upper()), gradient

  return forward(x, tf.convert_to_tensor(kernel))


def conv2d_transpose(x, kernel, output_hw, stride, padding, formulation, filter_formulation="stock"):
  """The transposed convolution of x by kernel ([k_h, k_w, out, in]), run as `formulation`.

  Its kernel's gradient is the filter gradient of the conv of dy by the
  kernel, run as `filter_formulation`.
  """
  kernel_hw = tuple(kernel.shape[:2])
  scope = _gradient_scope()

  @tf.custom_gradient
  def forward(x, kernel):

    def gradient(dy):
      with tf.name_scope(scope):
        return (tf.nn.conv2d(dy, kernel, stride, padding.upper()),
                conv_gradients.conv2d_filter_gradient(dy, x, kernel_hw, stride, padding, filter_formulation))

    return conv_gradients.conv2d_input_gradient(x, kernel, output_hw, stride, padding, formulation), gradient

  return forward(x, tf.convert_to_tensor(kernel))


def _runs_stock(layer) -> bool:
  return (getattr(layer, "input_gradient_formulation", "stock") == "stock" and
          getattr(layer, "filter_gradient_formulation", "stock") == "stock")


class Conv2D(keras.layers.Conv2D):
  """`keras.layers.Conv2D` with the fastest gradient kernels for its shape (see the module docstring).

  Attributes:
    input_gradient_formulation: the input gradient's formulation, chosen at build time.
    filter_gradient_formulation: the filter gradient's, likewise.
  """

  def build(self, input_shape):
    super().build(input_shape)
    self.input_gradient_formulation, self.filter_gradient_formulation = _formulations(
        self, input_shape[1:3], input_shape[-1], self.filters)

  def convolution_op(self, inputs, kernel):
    if _runs_stock(self):
      return super().convolution_op(inputs, kernel)
    return conv2d(inputs, kernel, self.strides[0], self.padding, self.input_gradient_formulation,
                  self.filter_gradient_formulation)


class Conv2DTranspose(keras.layers.Conv2DTranspose):
  """`keras.layers.Conv2DTranspose` whose forward pass and kernel gradient run the fastest formulations.

  Attributes:
    input_gradient_formulation: the forward pass's formulation (the input
      gradient of the conv it is the adjoint of), chosen at build time.
    filter_gradient_formulation: the kernel gradient's, likewise.
  """

  def build(self, input_shape):
    super().build(input_shape)
    output_hw = tuple(self.compute_output_shape(input_shape)[1:3])
    self._output_hw = output_hw
    formulations = _formulations(self, output_hw, self.filters, input_shape[-1])
    # The transposed conv must be the exact adjoint of a conv of output_hw.
    if formulations != ("stock", "stock") and tuple(
        conv_gradients.output_size_and_padding(size, k, self.strides[0], self.padding)[0]
        for size, k in zip(output_hw, self.kernel_size)) != tuple(input_shape[1:3]):
      formulations = ("stock", "stock")
    self.input_gradient_formulation, self.filter_gradient_formulation = formulations

  def call(self, inputs):
    if _runs_stock(self):
      return super().call(inputs)
    outputs = conv2d_transpose(inputs, self.kernel, self._output_hw, self.strides[0], self.padding,
                               self.input_gradient_formulation, self.filter_gradient_formulation)
    if self.use_bias:
      outputs = outputs + self.bias
    if self.activation is not None:
      outputs = self.activation(outputs)
    return outputs
