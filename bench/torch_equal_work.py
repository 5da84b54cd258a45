"""Equal work in PyTorch: the paper-config iteration written directly in PyTorch, timed
against bgan_tf's in the same process, alternating.

The issue asks for the fastest implementation on equal work. Published ports
do different work (the 2017 structure recomputes networks per pair), so this
program builds the same iteration as `BayesianGAN` in PyTorch, layer for
layer and step for step, and times the two alternately so the CPU's drift
hits both alike:

* the same networks: generators dense -> BN -> ReLU -> transposed convs
  (BN + ReLU between, tanh out); discriminators 4 stride-2 convs with leaky
  ReLUs, a 512-wide feature layer and K logits (the paper's CIFAR sizes);
* the same steps: fakes once (no gradient), one pass of each discriminator
  over [real, labeled, fakes] with filter gradients only; every generator
  forward and backward through every discriminator (no discriminator weight
  gradients); a supervised step on the labeled batch;
* the same losses (K logits plus the implicit fake class, Gaussian prior,
  the generators' feature matching against the real batch, which rides in
  the generator step's pass as its first segment) and an SGHMC update with
  fresh Gaussian noise for every weight;
* the same discriminator batch norm, moments per segment.

PyTorch is not a dependency of bgan_tf. Install the CPU build to run this:
`python3 -m pip install torch==2.13.0` (the CPU wheel; an unpinned `torch`
pulls the CUDA build).

  python bench/torch_equal_work.py --out=bench/results/speed/torch_equal_work.json   # ~4 min
"""

import math
import os
import statistics
import time

from absl import app, flags

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from bgan_tf import cli as _cli  # noqa: E402  (loads no TensorFlow)

# The CPU kernels the programs run on the paper configs (bgan_tf/cli.py); TF_ENABLE_ONEDNN_OPTS overrides.
_cli.configure_onednn("auto", "cifar")

import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
import torch.utils.flop_counter  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from configs import gan_config, random_input_iteration  # noqa: E402  (bench/configs.py)
from machine import machine_info  # noqa: E402  (bench/machine.py)
import flops  # noqa: E402  (bench/flops.py)
from bgan_tf import run_files  # noqa: E402
from bgan_tf.models import conv_specs  # noqa: E402

PAIRS = flags.DEFINE_integer("pairs", 10, "Alternating (bgan_tf, PyTorch) iteration pairs, after 2 warm-ups each.")
ONLY = flags.DEFINE_enum("only", None, ["bgan_tf", "torch"],
                         "Time one framework alone (to check that the other's threads do not slow it).")
CHANNELS_LAST = flags.DEFINE_bool("channels_last", False, "PyTorch tensors in NHWC memory format.")
OUT = flags.DEFINE_string("out", None, "Write the results as JSON here.")


class TorchGenerator(nn.Module):
  """z -> dense -> BN -> ReLU -> transposed convs ('same', stride 2) -> tanh."""

  def __init__(self, model):
    super().__init__()
    height, width, channels = model.example_shape
    specs = conv_specs((height, width), model.gf_dim, model.num_layers)
    self.coarse = (specs[-1].channels, *specs[-1].output_hw)
    self.project = nn.Linear(model.z_dim, math.prod(self.coarse))
    self.project_norm = nn.BatchNorm1d(math.prod(self.coarse))
    layers = []
    for index in reversed(range(len(specs))):
      spec = specs[index]
      out_channels = channels if index == 0 else specs[index - 1].channels
      pad = (spec.kernel - 1) // 2  # with output_padding=1: exactly 2x, like TF's 'same'
      layers.append(
          nn.ConvTranspose2d(spec.channels, out_channels, spec.kernel, stride=2, padding=pad, output_padding=1))
      if index > 0:
        layers += [nn.BatchNorm2d(out_channels), nn.ReLU()]
    self.body = nn.Sequential(*layers)

  def forward(self, z):
    x = F.relu(self.project_norm(self.project(z))).view(-1, *self.coarse)
    return torch.tanh(self.body(x))


class TorchDiscriminator(nn.Module):
  """Stride-2 convs with leaky ReLUs, a feature layer and K logits.

  With `disc_norm="batch"`, batch norm without scale or shift after every conv
  but the first, its moments taken per segment of the concatenated batch
  (`bgan_tf.models.SegmentBatchNorm`).
  """

  def __init__(self, model):
    super().__init__()
    height, width, channels = model.example_shape
    specs = conv_specs((height, width), model.df_dim, model.num_layers)
    self.convs, in_channels = nn.ModuleList(), channels
    for spec in specs:
      self.convs.append(
          nn.Conv2d(in_channels, spec.channels, spec.kernel, stride=2, padding=(spec.kernel - 1) // 2))
      in_channels = spec.channels
    self.normalise = model.disc_norm == "batch"
    flat = spec.output_hw[0] * spec.output_hw[1] * spec.channels
    self.features = nn.Sequential(nn.Flatten(), nn.Linear(flat, spec.channels), nn.LeakyReLU(0.2))
    self.logits = nn.Linear(spec.channels, model.num_classes)

  def forward(self, x, segments=None):
    """(logits, penultimate features); `segments`: the sizes of the batch's parts."""
    segments = segments or [x.shape[0]]
    for index, conv in enumerate(self.convs):
      x = conv(x)
      if self.normalise and index > 0:
        x = torch.cat(
            [F.batch_norm(part, None, None, training=True, eps=1e-5) for part in torch.split(x, segments)])
      x = F.leaky_relu(x, 0.2)
    features = self.features(x)
    return self.logits(features), features


def _log_real_odds(logits):
  return torch.logsumexp(logits, dim=-1)  # the implicit fake class has logit 0


def _prior(module, prior_std, data_size):
  return sum((p * p).sum() for p in module.parameters()) / (2 * prior_std**2 * data_size)


class TorchBayesianGAN:
  """The `BayesianGAN` iteration in PyTorch (SGHMC for the GAN, Adam for the classifier)."""

  def __init__(self, config, channels_last=False):
    model, sampler = config.model, config.sampler
    self.config, self.batch = config, config.batch_size
    self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
    self.generators = [TorchGenerator(model) for _ in range(config.num_generators)]
    self.discriminators = [TorchDiscriminator(model) for _ in range(config.num_discriminators)]
    self.classifier = TorchDiscriminator(model)
    for net in self.generators + self.discriminators + [self.classifier]:
      net.to(memory_format=self.memory_format)
    self.velocities = {
        p: torch.zeros_like(p) for net in self.generators + self.discriminators for p in net.parameters()
    }
    self.adam = torch.optim.Adam(self.classifier.parameters(), lr=2e-4, betas=(0.5, 0.999))
    self.eps, self.friction = sampler.learning_rate, sampler.friction
    self.noise_std = math.sqrt(2 * self.friction * self.eps / sampler.data_size)
    self.prior_std, self.data_size = sampler.prior_std, sampler.data_size
    self.feature_matching = config.feature_matching

  def _sghmc(self, params):
    with torch.no_grad():
      for p in params:
        v = self.velocities[p]
        v.mul_(1 - self.friction).add_(p.grad, alpha=-self.eps).add_(torch.randn_like(p), alpha=self.noise_std)
        p.add_(v)
        p.grad = None

  def _z(self):
    return [torch.rand(self.batch, self.config.model.z_dim) * 2 - 1 for _ in self.generators]

  def iteration(self, x, xl, yl):
    batch, labeled = x.shape[0], xl.shape[0]
    # Discriminator step: fakes once, one pass per discriminator.
    with torch.no_grad():
      fakes = torch.cat([g(z) for g, z in zip(self.generators, self._z())])
    inputs = torch.cat([x, xl, fakes]).contiguous(memory_format=self.memory_format)
    segments = [batch, labeled] + [batch] * len(self.generators)
    total = 0.0
    for d in self.discriminators:
      logits, _ = d(inputs, segments)
      real, lab, fake = logits[:batch], logits[batch:batch + labeled], logits[batch + labeled:]
      nll = (F.softplus(-_log_real_odds(real)).mean() + F.softplus(_log_real_odds(fake)).mean() +
             F.cross_entropy(lab, yl))
      total = total + nll + _prior(d, self.prior_std, self.data_size)
    total.backward()
    self._sghmc([p for d in self.discriminators for p in d.parameters()])
    # Generator step: no discriminator weight gradients.
    for d in self.discriminators:
      d.requires_grad_(False)
    # With feature matching, the real batch rides along as the first segment.
    fakes = torch.cat([g(z) for g, z in zip(self.generators, self._z())])
    num_gen = len(self.generators)
    inputs = (torch.cat([x, fakes]) if self.feature_matching else fakes).contiguous(
        memory_format=self.memory_format)
    segments = ([batch] if self.feature_matching else []) + [batch] * num_gen
    total = sum(_prior(g, self.prior_std, self.data_size) for g in self.generators)
    for d in self.discriminators:
      logits, features = d(inputs, segments)
      if self.feature_matching:
        logits, real_features, features = logits[batch:], features[:batch], features[batch:]
        fake_features = features.view(num_gen, batch, -1)
        total = total + self.feature_matching * num_gen * F.huber_loss(
            fake_features, real_features.expand_as(fake_features), delta=1.0)
      total = total + F.softplus(-_log_real_odds(logits)).mean() * num_gen
    total.backward()
    for d in self.discriminators:
      d.requires_grad_(True)
    self._sghmc([p for g in self.generators for p in g.parameters()])
    # Supervised step.
    self.adam.zero_grad(set_to_none=True)
    loss = F.cross_entropy(self.classifier(xl.contiguous(memory_format=self.memory_format))[0], yl)
    loss.backward()
    self.adam.step()
    return loss.item()


def main(argv):
  del argv
  torch.manual_seed(0)
  torch.set_num_threads(os.cpu_count() or 1)
  config = gan_config("cifar")
  model = config.model
  _, tf_iteration = random_input_iteration(config)
  ours = TorchBayesianGAN(config, CHANNELS_LAST.value)
  x = torch.rand(config.batch_size, model.example_shape[2], *model.example_shape[:2]) * 2 - 1
  y = torch.randint(0, model.num_classes, (config.batch_size,))

  def torch_iteration():
    ours.iteration(x, x, y)

  for _ in range(2):
    torch_iteration()
  # Equal work, checked: PyTorch's own FLOP counter on one iteration.
  with torch.utils.flop_counter.FlopCounterMode(display=False) as counter:
    torch_iteration()
  torch_gflop = counter.get_total_flops() / 1e9
  tf_times, torch_times = [], []
  timed = [(tf_iteration, tf_times), (torch_iteration, torch_times)]
  if ONLY.value:
    timed = [timed[0] if ONLY.value == "bgan_tf" else timed[1]]
  for _ in range(PAIRS.value):
    for fn, times in timed:
      start = time.perf_counter()
      fn()
      times.append(time.perf_counter() - start)
  work = flops.iteration_flops(config)["total"] / 1e9
  result = {
      "machine": machine_info(),
      "torch": torch.__version__,
      "tensorflow": tf.__version__,
      "torch_threads": torch.get_num_threads(),
      "channels_last": CHANNELS_LAST.value,
      "gflop_per_iteration": work,
      "torch_flop_counter_gflop": torch_gflop,
      "pairs": PAIRS.value,
      "bgan_tf_s": tf_times,
      "torch_s": torch_times,
      "only": ONLY.value,
  }
  for name, times in (("bgan_tf", tf_times), ("torch", torch_times)):
    if times:
      result[f"{name}_median_s"] = statistics.median(times)
      print(f"{name}: median {statistics.median(times):.2f} s ({work / statistics.median(times):.0f} GFLOP/s), "
            f"min {min(times):.2f}, max {max(times):.2f}")
  if tf_times and torch_times:
    result["torch_over_bgan_tf_per_pair_median"] = statistics.median(t / b for t, b in zip(torch_times, tf_times))
    print(f"PyTorch / bgan_tf, per pair: {result['torch_over_bgan_tf_per_pair_median']:.2f} (median)")
  print(f"FLOPs per iteration: {work:.1f} GFLOP (bench/flops.py), {torch_gflop:.1f} (PyTorch's counter)")
  if OUT.value:
    run_files.write_json(OUT.value, result)


if __name__ == "__main__":
  app.run(main)
