"""Ways to compute a 2-D convolution's input gradient (= a transposed convolution) and filter gradient.

For y = conv2d(x, w) with stride s, kernel [kh, kw, c_in, c_out] and TF's
"same" or "valid" padding (p_h, p_w zeros before the input), every formulation
computes

  dx[b, i, j, c] = sum_{o_h, o_w, k_h, k_w, d : s*o_h + k_h - p_h = i, s*o_w + k_w - p_w = j}
                   dy[b, o_h, o_w, d] * w[k_h, k_w, c, d],

which is also the forward pass of the transposed convolution of dy by w.
They differ only in which kernels TensorFlow runs, and those kernels' speed
differs by CPU and TensorFlow build by up to 30x (docs/BENCHMARKS.md §3):

* `"stock"`: `Conv2DBackpropInput`, TensorFlow's own gradient. Fast where
  oneDNN runs it (the default on AVX-512 CPUs). Where it does not (the
  default on AVX2-only CPUs: Eigen's kernel), maps of 8x8 and smaller run at
  3-30 GFLOP/s against 150-300 for the forward conv.
* `"subpixel"`: one stride-1 convolution, then `depth_to_space`. Write
  k_h = r_h + s*t_h with the phase r_h = (i + p_h) mod s; the output rows of
  one phase are a stride-1 "full" convolution of dy with the taps
  w[r_h + s*t_h, ...]. The s^2 phases become the output channels of a single
  conv with a ceil(k/s) x ceil(k/s) kernel (phases with fewer taps padded with
  zeros: 16 taps for 9 at k = 3, s = 2), and `depth_to_space` interleaves
  them. Shi et al. (2016) use the same identity in the other direction.
* `"phases"`: the same s^2 phase convolutions run as s^2 separate stride-1
  convolutions with only their own taps, so no multiply-add is wasted on
  padded taps; their outputs are stacked and interleaved the same way.
* `"matmul"`: one matrix product, dy [b*m_h*m_w, c_out] x w^T [c_out,
  k_h*k_w*c_in], gives every output position's contribution to its k_h x k_w
  input patch; "col2im" then adds the patches into place. Grouping the taps
  by phase, col2im is ceil(k/s)^2 shifted additions and one interleave. The
  product does exactly the convolution's multiply-adds, in the CPU's
  fastest kernel, which wins on small maps with many channels.
* `"nchw"`: TensorFlow's `Conv2DBackpropInput` on channels-first tensors
  (dy transposed in, dx transposed back). oneDNN's AVX2 kernels ran the
  3-channel layers (the generator's 16x16x64 -> 32x32x3 transposed conv, the
  discriminator's gradient down to its 32x32x3 input) in half the time of
  the channels-last stock kernel, and the 4x4 layers in 2.7 times it
  (docs/BENCHMARKS.md §3, "Channels-first for the 3-channel layers"). Only
  oneDNN's and the GPUs' kernels take NCHW: Eigen's CPU kernel refuses it,
  so `bgan_tf.kernel_choice` offers it only where oneDNN runs.

The filter gradient,

  dw[k_h, k_w, c, d] = sum_{b, o_h, o_w} x_pad[b, s*o_h + k_h, s*o_w + k_w, c] * dy[b, o_h, o_w, d]

(x_pad: x with the p_h, p_w zeros before it), has two formulations:

* `"stock"`: `Conv2DBackpropFilter`. With oneDNN on an AVX2 EPYC it ran the
  discriminator's 4x4x384 -> 2x2x512 layer at 46-47% of the conv peak, the
  generator's 4x4x256 -> 2x2x512 at 35-39% (docs/BENCHMARKS.md §3).
* `"matmul"`: im2col, then one matrix product. `extract_patches` gives the
  k_h x k_w x c_in patch of x_pad under every output position, one row per
  position; patches^T [k_h*k_w*c_in, b*m_h*m_w] x dy [b*m_h*m_w, c_out] is dw.
  The product does exactly the multiply-adds of the sum, as one large GEMM,
  which ran those two layers at 80-100% of the peak; on maps of 8x8 and more
  the patches cost more than the product saves.

`bgan_tf.conv_layers` picks a formulation of each gradient per layer shape by
measurement (`bgan_tf.kernel_choice`).

#### References

Shi, W. et al. Real-Time Single Image and Video Super-Resolution Using an
Efficient Sub-Pixel Convolutional Neural Network. CVPR 2016.
Dumoulin, V. and Visin, F. A guide to convolution arithmetic for deep
learning. arXiv:1603.07285, 2016 (transposed convolution, sec. 4).
"""

from typing import Sequence, Tuple

import tensorflow as tf

# Defined beside the environment's override, which the programs read before TensorFlow loads.
from bgan_tf.kernel_override import FILTER_FORMULATIONS, FORMULATIONS

__all__ = [
    "FILTER_FORMULATIONS", "FORMULATIONS", "conv2d_filter_gradient", "conv2d_input_gradient", "output_size_and_padding"
]

# The discriminator step's input gradients run on ~1400 examples at once
# (real, labeled and every generator's fakes). There, with oneDNN off, the
# formulations' intermediate tensors (the matmul's patches: up to 300 MB)
# leave the cache and run at 60-90 GFLOP/s; in pieces of 128 examples the
# same kernels ran at 120-180 (paper CIFAR shapes, 2-core AMD EPYC, TF 2.21,
# docs/BENCHMARKS.md §3).
CHUNK = 128


def output_size_and_padding(size: int, kernel: int, stride: int, padding: str) -> Tuple[int, int]:
  """(output size, zeros before the input) of one spatial axis of a TF convolution."""
  if padding == "same":
    out = -(-size // stride)
    return out, max((out - 1) * stride + kernel - size, 0) // 2
  if padding == "valid":
    return (size - kernel) // stride + 1, 0
  raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")


def conv2d_input_gradient(dy: tf.Tensor, kernel: tf.Tensor, input_hw: Sequence[int], stride: int, padding: str,
                          formulation: str = "stock", chunk: int = CHUNK) -> tf.Tensor:
  """The gradient of conv2d(x, kernel) with respect to x, given dy.

  Args:
    dy: [batch, out_h, out_w, c_out], the gradient of the convolution's output.
    kernel: [k_h, k_w, c_in, c_out].
    input_hw: (in_h, in_w) of x (static Python ints).
    stride: the same stride on both axes.
    padding: "same" or "valid".
    formulation: one of `FORMULATIONS`.
    chunk: the formulations other than "stock" and "nchw" run on pieces of
      at most this many examples, one after another (0: the whole batch at
      once); see `CHUNK`.

  Returns:
    dx, [batch, in_h, in_w, c_in], in dy's dtype.
  """
  padding = padding.lower()
  in_h, in_w = (int(v) for v in input_hw)
  # Eagerly, map_fn would be a Python loop: pieces only pay inside a tf.function. TensorFlow's own
  # kernels (stock, nchw) take the whole batch.
  if formulation not in ("stock", "nchw") and chunk and not tf.executing_eagerly():
    return _in_pieces(
        dy, chunk, lambda piece: conv2d_input_gradient(piece, kernel,
                                                       (in_h, in_w), stride, padding, formulation, chunk=0),
        (in_h, in_w, kernel.shape[2]))
  if formulation == "stock":
    batch = tf.shape(dy)[0]
    return tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.stack([batch, in_h, in_w, kernel.shape[2]]),
                                          filter=kernel, out_backprop=dy, strides=[1, stride, stride,
                                                                                   1], padding=padding.upper())
  if formulation == "nchw":
    batch = tf.shape(dy)[0]
    dx = tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.stack([batch, kernel.shape[2], in_h, in_w]), filter=kernel,
                                        out_backprop=tf.transpose(dy, [0, 3, 1, 2]), strides=[1, 1, stride, stride],
                                        padding=padding.upper(), data_format="NCHW")
    return tf.transpose(dx, [0, 2, 3, 1])
  if formulation == "subpixel":
    return _subpixel(dy, kernel, (in_h, in_w), stride, padding)
  if formulation == "phases":
    return _phases(dy, kernel, (in_h, in_w), stride, padding)
  if formulation == "matmul":
    return _matmul_col2im(dy, kernel, (in_h, in_w), stride, padding)
  raise ValueError(f"formulation must be one of {FORMULATIONS}, got {formulation!r}")


def conv2d_filter_gradient(x: tf.Tensor, dy: tf.Tensor, kernel_hw: Sequence[int], stride: int, padding: str,
                           formulation: str = "stock", chunk: int = CHUNK) -> tf.Tensor:
  """The gradient of conv2d(x, kernel) with respect to the kernel, given dy.

  Args:
    x: [batch, in_h, in_w, c_in], the convolution's input.
    dy: [batch, out_h, out_w, c_out], the gradient of its output.
    kernel_hw: (k_h, k_w) (static Python ints).
    stride: the same stride on both axes.
    padding: "same" or "valid".
    formulation: one of `FILTER_FORMULATIONS`.
    chunk: "matmul" runs on pieces of at most this many examples, one after
      another, and adds their products (0: the whole batch at once); see
      `CHUNK`.

  Returns:
    dw, [k_h, k_w, c_in, c_out], in dy's dtype.
  """
  k_h, k_w = (int(v) for v in kernel_hw)
  c_in, c_out = x.shape[-1], dy.shape[-1]
  if formulation == "stock":
    return tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=[k_h, k_w, c_in, c_out], out_backprop=dy,
                                           strides=[1, stride, stride, 1], padding=padding.upper())
  if formulation != "matmul":
    raise ValueError(f"formulation must be one of {FILTER_FORMULATIONS}, got {formulation!r}")

  def product(x, dy):
    patches = tf.image.extract_patches(x, [1, k_h, k_w, 1], [1, stride, stride, 1], [1, 1, 1, 1], padding.upper())
    return tf.matmul(tf.reshape(patches, [-1, k_h * k_w * c_in]), tf.reshape(dy, [-1, c_out]), transpose_a=True)

  # Eagerly, map_fn would be a Python loop; a batch known to fit one piece needs no loop.
  static_batch = x.shape[0]
  if chunk and not tf.executing_eagerly() and (static_batch is None or static_batch > chunk):
    # The zero examples that pad the last piece add nothing to the sum.
    stacked_x, stacked_dy = _stacked_pieces([x, dy], chunk)
    dw = tf.reduce_sum(
        tf.map_fn(lambda pair: product(*pair), (stacked_x, stacked_dy), parallel_iterations=2,
                  fn_output_signature=tf.TensorSpec([k_h * k_w * c_in, c_out], dy.dtype)), 0)
  else:
    dw = product(x, dy)
  return tf.reshape(dw, [k_h, k_w, c_in, c_out])


def _stacked_pieces(tensors, chunk):
  """Tensors of one batch split into ceil(batch / chunk) near-equal pieces: each [pieces, size, ...].

  The last piece is padded with zero examples.
  """
  batch = tf.shape(tensors[0])[0]
  pieces = (batch + chunk - 1) // chunk
  size = (batch + pieces - 1) // pieces
  return [
      tf.reshape(tf.pad(t, [[0, pieces * size - batch]] + [[0, 0]] * (len(t.shape) - 1)),
                 tf.concat([[pieces, size], tf.shape(t)[1:]], 0)) for t in tensors
  ]


def _in_pieces(dy, chunk, fn, out_shape):
  """fn over dy split into ceil(batch / chunk) near-equal pieces, run one after another."""
  (stacked,) = _stacked_pieces([dy], chunk)
  out = tf.map_fn(fn, stacked, parallel_iterations=2, fn_output_signature=tf.TensorSpec([None, *out_shape],
                                                                                        dy.dtype))
  return tf.reshape(out, tf.concat([[-1], tf.shape(out)[2:]], 0))[:tf.shape(dy)[0]]


def _phase_geometry(input_hw, kernel, stride, padding):
  """Per axis: (output size m, zeros before p, taps per phase t = ceil(k/s), phase rows q)."""
  axes = []
  for size, k in zip(input_hw, kernel.shape[:2]):
    m, p = output_size_and_padding(size, k, stride, padding)
    taps = -(-k // stride)
    # Phase rows q cover i + p in [0, s*q): every input row, and every
    # position the full convolution of m rows with t taps produces.
    q = max(m + taps - 1, -(-(size + p) // stride))
    axes.append((m, p, taps, q))
  return axes


def _interleave_and_crop(z, input_hw, stride, axes):
  """[b, q_h, q_w, s*s*c] (phase-major channels) -> [b, in_h, in_w, c]."""
  if stride > 1:
    z = tf.nn.depth_to_space(z, stride)
  (_, p_h, _, _), (_, p_w, _, _) = axes
  return z[:, p_h:p_h + input_hw[0], p_w:p_w + input_hw[1], :]


def _subpixel(dy, kernel, input_hw, s, padding):
  axes = _phase_geometry(input_hw, kernel, s, padding)
  (m_h, _, t_h, q_h), (m_w, _, t_w, q_w) = axes
  k_h, k_w, c_in, c_out = kernel.shape
  # sub[u_h, u_w, d, (r_h, r_w, c)] = w[r_h + s*(t_h-1-u_h), r_w + s*(t_w-1-u_w), c, d]:
  # pad the taps to s*t per axis, split tap index k = s*t + r, flip t (a
  # convolution as a correlation), and move the phases next to c_in.
  taps = tf.pad(kernel, [[0, s * t_h - k_h], [0, s * t_w - k_w], [0, 0], [0, 0]])
  taps = tf.reverse(tf.reshape(taps, [t_h, s, t_w, s, c_in, c_out]), [0, 2])
  sub = tf.reshape(tf.transpose(taps, [0, 2, 5, 1, 3, 4]), [t_h, t_w, c_out, s * s * c_in])
  padded = tf.pad(dy, [[0, 0], [t_h - 1, q_h - m_h], [t_w - 1, q_w - m_w], [0, 0]])
  z = tf.nn.conv2d(padded, sub, 1, "VALID")
  return _interleave_and_crop(z, input_hw, s, axes)


def _phases(dy, kernel, input_hw, s, padding):
  axes = _phase_geometry(input_hw, kernel, s, padding)
  (m_h, _, _, q_h), (m_w, _, _, q_w) = axes
  phases = []
  for r_h in range(s):
    for r_w in range(s):
      # Taps k = r + s*t of this phase, flipped in t (a convolution as a correlation).
      taps = tf.reverse(kernel[r_h::s, r_w::s], [0, 1])
      n_h, n_w = taps.shape[0], taps.shape[1]
      if n_h == 0 or n_w == 0:  # a kernel smaller than the stride: this phase gets nothing
        phases.append(tf.zeros(tf.stack([tf.shape(dy)[0], q_h, q_w, kernel.shape[2]]), dy.dtype))
        continue
      taps = tf.transpose(taps, [0, 1, 3, 2])  # [n_h, n_w, c_out, c_in]
      padded = tf.pad(dy, [[0, 0], [n_h - 1, q_h - m_h], [n_w - 1, q_w - m_w], [0, 0]])
      phases.append(tf.nn.conv2d(padded, taps, 1, "VALID"))
  z = phases[0] if s == 1 else tf.concat(phases, axis=-1)  # channels (r_h, r_w, c)
  return _interleave_and_crop(z, input_hw, s, axes)


def _matmul_col2im(dy, kernel, input_hw, s, padding):
  axes = _phase_geometry(input_hw, kernel, s, padding)
  (m_h, _, t_h, q_h), (m_w, _, t_w, q_w) = axes
  k_h, k_w, c_in, c_out = kernel.shape
  batch = tf.shape(dy)[0]
  patches = tf.matmul(tf.reshape(dy, [-1, c_out]), tf.reshape(kernel, [k_h * k_w * c_in, c_out]), transpose_b=True)
  patches = tf.reshape(patches, [batch, m_h, m_w, k_h, k_w, c_in])
  # Tap k = s*t + r: pad the taps to s*t and split them into (t, r).
  patches = tf.pad(patches, [[0, 0], [0, 0], [0, 0], [0, s * t_h - k_h], [0, s * t_w - k_w], [0, 0]])
  patches = tf.reshape(patches, [batch, m_h, m_w, t_h, s, t_w, s, c_in])
  # col2im: output row o with tap t lands on phase row q = o + t.
  z = None
  for u in range(t_h):
    for v in range(t_w):
      shifted = tf.pad(patches[:, :, :, u, :, v, :, :],
                       [[0, 0], [u, q_h - m_h - u], [v, q_w - m_w - v], [0, 0], [0, 0], [0, 0]])
      z = shifted if z is None else z + shifted
  return _interleave_and_crop(tf.reshape(z, [batch, q_h, q_w, s * s * c_in]), input_hw, s, axes)
