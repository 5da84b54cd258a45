"""Config validation: bad values fail where they are made."""

import pytest

from bgan_tf.config import GANConfig, ModelConfig, SamplerConfig

MODEL = ModelConfig(example_shape=(8, 8, 1), num_classes=10)
SAMPLER = SamplerConfig(data_size=100)


@pytest.mark.parametrize("kwargs,message", [
    (dict(num_gen=0), "num_gen"),
    (dict(ml=True, num_gen=2), "ml trains one plain GAN"),
    (dict(ml_ensemble=3, num_gen=2, num_disc=3), "ml_ensemble=3"),
    (dict(wasserstein=True), "wasserstein"),
    (dict(pairing="diagonal"), "pairing"),
    (dict(objective="max"), "objective"),
    (dict(real_weight="two"), "real_weight"),
    (dict(feature_matching=-1.0), "feature_matching"),
    (dict(ml_ensemble=2, num_gen=2, num_disc=2, pairing="chain"), "ml_ensemble pairs"),
])
def test_invalid_gan_configs(kwargs, message):
  with pytest.raises(ValueError, match=message):
    GANConfig(model=MODEL, sampler=SAMPLER, **kwargs)


@pytest.mark.parametrize("kwargs", [
    dict(example_shape=(8, 8)),
    dict(example_shape=(10,)),
    dict(example_shape=(8, 8, 1), arch="resnet"),
    dict(example_shape=(8, 8, 1), num_layers=0),
    dict(example_shape=(8, 8, 1), disc_norm="layer"),
    dict(example_shape=(8, 8, 1), gen_norm="layer"),
    dict(example_shape=(8, 8, 1), gen_activation="gelu")
])
def test_invalid_model_configs(kwargs):
  with pytest.raises(ValueError):
    ModelConfig(**kwargs)


@pytest.mark.parametrize("kwargs", [
    dict(data_size=0),
    dict(data_size=10, learning_rate=0),
    dict(data_size=10, friction=0),
    dict(data_size=10, prior_std=-1),
    dict(data_size=10, noise_form="cold"),
    dict(data_size=10, prior_form="laplace"),
    dict(data_size=10, supervised_learning_rate=0.0)
])
def test_invalid_sampler_configs(kwargs):
  with pytest.raises(ValueError):
    SamplerConfig(**kwargs)


def test_derived_sizes():
  config = GANConfig(model=MODEL, sampler=SAMPLER, num_gen=10, num_disc=2, num_mcmc=2)
  assert (config.num_generators, config.num_discriminators) == (20, 4)
  assert not config.maximum_likelihood
  assert GANConfig(model=MODEL, sampler=SAMPLER, ml_ensemble=2, num_gen=2, num_disc=2).maximum_likelihood


def test_runs_written_before_discriminator_batch_norm_restore_without_it():
  import dataclasses
  from bgan_tf.config import gan_config_from_dict
  record = dataclasses.asdict(GANConfig(model=MODEL, sampler=SAMPLER))
  del record["model"]["disc_norm"]
  assert gan_config_from_dict(record).model.disc_norm == "none"
  assert GANConfig(model=MODEL, sampler=SAMPLER).model.disc_norm == "batch"


def test_recipes_fill_every_option_and_differ_where_2017_differs():
  from bgan_tf.recipes import recipe_values
  for program in ("semi", "unsupervised", "synth"):
    ours, original = recipe_values("bgan_tf", program, 0.005), recipe_values("2017", program, 0.005)
    assert set(ours) == set(original)
  original = recipe_values("2017", "semi", 0.005)
  assert original["adam_lr"] == 0.005 and original["sup_lr"] == pytest.approx(0.05 * 0.005)
  assert (original["noise"], original["prior"], original["friction"], original["burn_in"]) == ("2017", "2017", 0.5,
                                                                                               5000)
  assert (original["objective"], original["real_weight"], original["feature_matching"]) == ("logsumexp", "num_gen",
                                                                                            1.0)
  # The bgan_tf recipe weights the real term once for the semi-supervised program (chosen on the
  # validation split) and keeps 2017's J for the unsupervised one.
  assert recipe_values("bgan_tf", "semi", 0.005)["real_weight"] == "one"
  assert recipe_values("bgan_tf", "unsupervised", 0.005)["real_weight"] == "num_gen"
  # Its semi-supervised sampler is preconditioned by the Adam burn-in, at Adam's step (friction 1).
  semi = recipe_values("bgan_tf", "semi", 0.005)
  assert (semi["preconditioner"], semi["friction"]) == ("adam", 1.0)
  assert recipe_values("bgan_tf", "unsupervised", 0.005)["preconditioner"] == "none"
  assert original["preconditioner"] == "none"
  # Its semi-supervised sampler is cyclical; 2017 and the other programs have no cycles.
  assert (semi["cycle_length"], semi["cycle_peak"]) == (100, 0.2)
  # It pairs samples by chain (the paper's Algorithm 1); 2017 and the unsupervised program pair all.
  assert semi["pairing"] == "chain"
  assert original["pairing"] == recipe_values("bgan_tf", "unsupervised", 0.005)["pairing"] == "all"
  assert recipe_values("bgan_tf", "unsupervised", 0.005)["cycle_length"] == 0
  assert original["cycle_length"] == recipe_values("bgan_tf", "synth", 0.01)["cycle_length"] == 0
  synth = recipe_values("2017", "synth", 0.01)
  assert (synth["mlp_hidden"], synth["gen_norm"], synth["optimizer"], synth["real_weight"]) == (["1000"], "none",
                                                                                                "adam", "one")
  with pytest.raises(ValueError, match="recipe"):
    recipe_values("2016", "semi", 0.005)


def _semi_flags_after_recipe(args):
  """run_bgan_semi's flags parsed from `args`, with the recipe applied."""
  from absl import flags

  from bgan_tf import cli
  values = flags.FlagValues()
  cli.define_flags("semi", values)
  values(["prog"] + args)
  cli.apply_recipe(values, "semi")
  return values


def test_without_a_burn_in_the_recipes_preconditioner_gives_way():
  from absl import flags

  def resolved(args):
    return _semi_flags_after_recipe(args).preconditioner

  assert resolved([]) == "adam"
  assert resolved(["--burn_in=0"]) == "none"  # nothing to read Adam's scales from
  assert resolved(["--preconditioner=none"]) == "none"
  with pytest.raises(flags.IllegalFlagValueError, match="needs a burn-in"):
    resolved(["--burn_in=0", "--preconditioner=adam"])


def test_the_2017_recipes_classifier_is_convolutional_and_gives_way_to_mlp():
  from absl import flags

  def resolved(args):
    return _semi_flags_after_recipe(args).classifier

  assert resolved([]) == "discriminator"
  assert resolved(["--recipe=2017"]) == "2017"
  assert resolved(["--recipe=2017", "--arch=mlp"]) == "discriminator"
  assert resolved(["--classifier=2017"]) == "2017"
  with pytest.raises(flags.IllegalFlagValueError, match="needs --arch=dcgan"):
    resolved(["--classifier=2017", "--arch=mlp"])


def test_the_recipes_cycles_give_way_where_no_sampler_runs():

  def resolved(args):
    return _semi_flags_after_recipe(args).cycle_length

  assert resolved([]) == 100
  assert resolved(["--recipe=2017"]) == 0
  assert resolved(["--cycle_length=7"]) == 7
  for adam_throughout in (["--optimizer=adam"], ["--ml"], ["--ml_ensemble=3"]):
    assert resolved(adam_throughout) == 0  # no sampler step: a cycle would do nothing


def test_the_recipes_chain_pairing_gives_way_to_an_ml_ensemble():

  def resolved(args):
    return _semi_flags_after_recipe(args).pairing

  assert resolved([]) == "chain"
  assert resolved(["--recipe=2017"]) == "all"
  assert resolved(["--pairing=all"]) == "all"
  assert resolved(["--ml_ensemble=3"]) == "all"  # its GANs are independent: GANConfig refuses "chain"
