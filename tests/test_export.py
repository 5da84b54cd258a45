"""Tests of bgan_tf.export and bin/export_bgan: save, reload in a fresh process, compare.

One tiny semi-supervised digits run (T = 2 chains + 3 snapshots = 5
discriminators; it stops at iteration 11, one after the last snapshots, so
none of them is a copy of the chains) and one unsupervised run are trained
once for the module.
"""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

from bgan_tf import data as data_lib
from bgan_tf import export as export_lib
from bgan_tf import export_paths
from bgan_tf import serving as serving_lib
from bgan_tf.config import ModelConfig
from bgan_tf.models import make_discriminator
from bgan_tf.errors import RunError
from bgan_tf.run_dir import DatasetInfo, restore_run
from test_programs import PERMISSION_BITS_BIND, REPO, TINY, run_in_process

# Under pytest-xdist (the README's test command: `-n 2 --dist loadgroup`) a group's tests
# run in one process, so the module's fixtures (a training run, an export, the program's cases)
# are built once, not once per process.
pytestmark = pytest.mark.xdist_group("export")

NUM_SAMPLES = 5  # 2 chains + 3 snapshots
OUTPUTS = ("probabilities", "classes", "predictive_entropy", "mutual_information")

# Runs in a fresh interpreter: loads the SavedModel with TensorFlow alone and
# proves bgan_tf was never imported.
FRESH_PROCESS_SCRIPT = r"""
import sys
import numpy as np
import tensorflow as tf

path, inputs_path, outputs_path = sys.argv[1:]
loaded = tf.saved_model.load(path)
results = {}
with np.load(inputs_path) as inputs:
  for key in inputs.files:
    images = tf.constant(inputs[key])
    for name, value in loaded.signatures["serving_default"](images=images).items():
      results[f"{key}/{name}"] = value.numpy()
    per_sample = loaded.signatures["per_sample"](images=images)["per_sample_probabilities"]
    results[f"{key}/per_sample_probabilities"] = per_sample.numpy()
results["class_names"] = np.array([n.decode() for n in loaded.class_names().numpy()])
np.savez(outputs_path, **results)
assert "bgan_tf" not in sys.modules, sorted(m for m in sys.modules if m.startswith("bgan_tf"))
"""


def _run(args, timeout=120, **kwargs):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)


def _popen(args, cwd=None):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


def _tree_digest(folder):
  """{relative path: sha256} of every file under `folder`."""
  digest = {}
  for root, _, files in os.walk(folder):
    for name in files:
      path = os.path.join(root, name)
      with open(path, "rb") as f:
        digest[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
  return digest


def _error_lines(stderr):
  """stderr without TensorFlow's C++ start-up lines, which precede absl's log set-up."""
  return [
      line for line in stderr.strip().splitlines() if line and
      not line.startswith("WARNING: All log messages before absl::InitializeLog()") and not line[1:5] == "0000"
  ]


def _reference_outputs(discriminators, raw, pixel_range):
  """The ensemble's outputs computed in-process with numpy (float64 after the softmax)."""
  x = data_lib.scale_to_unit_interval(raw, pixel_range)
  per_sample = np.stack([tf.nn.softmax(d(x, training=False)).numpy() for d in discriminators],
                        axis=1).astype(np.float64)
  mean = per_sample.mean(axis=1)

  def entropy(p):
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)

  predictive_entropy = entropy(mean)
  return {
      "per_sample_probabilities": per_sample, "probabilities": mean, "classes": np.argmax(mean, axis=-1),
      "predictive_entropy": predictive_entropy,
      "mutual_information": predictive_entropy - entropy(per_sample).mean(axis=1)
  }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  out_dir = tmp_path_factory.mktemp("runs")
  run_in_process(
      "semi", TINY + [
          "--N=20", "--num_gen=2", "--num_mcmc=2", "--train_iter=11", "--n_save=5", "--snapshot_every=2",
          "--max_snapshots=3", "--cycle_length=0", f"--out_dir={out_dir}", "--run_name=semi", "--notensorboard"
      ])
  run_in_process(
      "unsupervised", TINY +
      ["--train_iter=1", "--n_save=1", f"--out_dir={out_dir}", "--run_name=unsupervised", "--notensorboard"])
  return {"semi": str(out_dir / "semi"), "unsupervised": str(out_dir / "unsupervised")}


@pytest.fixture(scope="module")
def restored(runs):
  return restore_run(runs["semi"])


@pytest.fixture(scope="module")
def exported(runs, tmp_path_factory):
  """(export_base, version 1 folder) of the semi-supervised run."""
  export_base = str(tmp_path_factory.mktemp("export"))
  return export_base, export_lib.export_run(runs["semi"], export_base=export_base)


@pytest.fixture(scope="module")
def digits_test_images():
  dataset = data_lib.load_dataset("digits")
  return dataset._test_images  # pylint: disable=protected-access  # the raw uint8 pixels


@pytest.mark.parametrize("pixel_range,dtype", [
    ((0, 255), tf.uint8),
    ([0, 16], tf.uint8),
    ((0, 1), tf.float32),
    ((-1, 1), tf.float32),
    (None, tf.float32),
    ((0.0, 255.5), tf.float32),
    ((0, 1000), tf.float32),
])
def test_serving_input_dtype_is_the_stored_dtype(pixel_range, dtype):
  assert serving_lib.serving_input_dtype(pixel_range) == dtype


def test_export_writes_the_serving_layout_with_increasing_versions(restored, tmp_path):
  base = str(tmp_path / "export")
  discriminators, info = restored.posterior_discriminators(), restored.dataset_info
  first = export_lib.export_version(discriminators, info, export_base=base)
  second = export_lib.export_version(discriminators, info, export_base=base)
  model_dir = os.path.join(base, "bgan_classifier")
  assert (first, second) == (os.path.join(model_dir, "1"), os.path.join(model_dir, "2"))
  assert sorted(os.listdir(model_dir)) == ["1", "2"]  # no staging folder left behind
  for name in ("saved_model.pb", "variables/variables.index", export_lib.WARMUP_FILE):
    assert os.path.isfile(os.path.join(second, name)), name
  with open(os.path.join(second, "assets", serving_lib.CLASS_NAMES_FILE)) as f:
    assert f.read().splitlines() == [str(k) for k in range(10)]

  config = model_server_config_pb2.ModelServerConfig()
  with open(os.path.join(base, export_lib.MODEL_CONFIG_FILE)) as f:
    text_format.Parse(f.read(), config)
  entries = list(config.model_config_list.config)
  assert len(entries) == 1
  assert (entries[0].name, entries[0].base_path,
          entries[0].model_platform) == ("bgan_classifier", os.path.abspath(model_dir), "tensorflow")


def test_fresh_process_reproduces_the_posterior_ensemble(exported, restored, digits_test_images, tmp_path):
  _, version_dir = exported
  inputs = {"batch_1": digits_test_images[:1], "batch_37": digits_test_images[:37]}
  assert digits_test_images.dtype == np.uint8
  np.savez(tmp_path / "inputs.npz", **inputs)
  script = tmp_path / "load.py"
  script.write_text(FRESH_PROCESS_SCRIPT)
  result = _run(
      [sys.executable,
       str(script), version_dir,
       str(tmp_path / "inputs.npz"),
       str(tmp_path / "outputs.npz")], cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]

  discriminators = restored.posterior_discriminators()
  assert len(discriminators) == NUM_SAMPLES
  pixel_range = restored.dataset_info.pixel_range
  with np.load(tmp_path / "outputs.npz") as served:
    assert list(served["class_names"]) == [str(k) for k in range(10)]
    for key, raw in inputs.items():
      expected = _reference_outputs(discriminators, raw, pixel_range)
      probabilities = served[f"{key}/probabilities"]
      assert probabilities.shape == (len(raw), 10) and probabilities.dtype == np.float32
      np.testing.assert_allclose(probabilities, expected["probabilities"], rtol=0, atol=1e-5)
      np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
      assert served[f"{key}/per_sample_probabilities"].shape == (len(raw), NUM_SAMPLES, 10)
      np.testing.assert_allclose(served[f"{key}/per_sample_probabilities"], expected["per_sample_probabilities"],
                                 rtol=0, atol=1e-5)
      for name in ("predictive_entropy", "mutual_information"):
        assert served[f"{key}/{name}"].shape == (len(raw),)
        np.testing.assert_allclose(served[f"{key}/{name}"], expected[name], rtol=0, atol=1e-5, err_msg=name)
      assert np.all(served[f"{key}/mutual_information"] >= 0)
      assert np.all(served[f"{key}/mutual_information"] <= served[f"{key}/predictive_entropy"] + 1e-6)
      classes = served[f"{key}/classes"]
      assert classes.dtype == np.int64
      np.testing.assert_array_equal(classes, np.argmax(probabilities, axis=1))
      # The argmax may differ from numpy's only between near-ties.
      top2 = np.sort(expected["probabilities"], axis=1)[:, -2:]
      assert np.all((classes == expected["classes"]) | (top2[:, 1] - top2[:, 0] < 1e-5))


def test_saved_model_cli_shows_and_runs_the_signature(exported, restored, digits_test_images, tmp_path):
  _, version_dir = exported
  raw = digits_test_images[:5]
  np.save(tmp_path / "images.npy", raw)
  out_dir = tmp_path / "cli_out"
  # saved_model_cli run loads the model into a session, as TF Serving does.
  show = _popen(["saved_model_cli", "show", "--dir", version_dir, "--all"])
  run = _popen([
      "saved_model_cli", "run", "--dir", version_dir, "--tag_set", "serve", "--signature_def", "serving_default",
      "--inputs", f"images={tmp_path / 'images.npy'}", "--outdir",
      str(out_dir)
  ])
  show_out, show_err = show.communicate(timeout=120)
  _, run_err = run.communicate(timeout=120)
  assert show.returncode == 0, show_err[-2000:]
  assert run.returncode == 0, run_err[-2000:]
  serving = show_out[show_out.index("signature_def['serving_default']"):]
  serving = serving[:serving.index("Method name is")]
  assert "inputs['images']" in serving and "DT_UINT8" in serving and "(-1, 8, 8, 1)" in serving
  for name in OUTPUTS:
    assert f"outputs['{name}']" in serving, name
  assert "signature_def['per_sample']" in show_out and "(-1, 5, 10)" in show_out

  expected = _reference_outputs(restored.posterior_discriminators(), raw, restored.dataset_info.pixel_range)
  np.testing.assert_allclose(np.load(out_dir / "probabilities.npy"), expected["probabilities"], rtol=0, atol=1e-5)
  np.testing.assert_array_equal(np.load(out_dir / "classes.npy"),
                                np.argmax(np.load(out_dir / "probabilities.npy"), axis=1))


def test_warmup_request_matches_the_serving_signature(exported):
  _, version_dir = exported
  records = list(tf.data.TFRecordDataset(os.path.join(version_dir, export_lib.WARMUP_FILE)).as_numpy_iterator())
  assert len(records) == 1
  log = prediction_log_pb2.PredictionLog.FromString(records[0])
  assert log.WhichOneof("log_type") == "predict_log"
  request = log.predict_log.request
  assert request.model_spec.name == "bgan_classifier"
  assert request.model_spec.signature_name == "serving_default"
  assert list(request.inputs) == ["images"]
  tensor = request.inputs["images"]
  assert tensor.dtype == tf.uint8.as_datatype_enum
  shape = [d.size for d in tensor.tensor_shape.dim]
  assert len(shape) == 4 and shape[1:] == [8, 8, 1] and 1 <= shape[0] <= 8

  signature = tf.saved_model.load(version_dir).signatures["serving_default"]
  spec = signature.structured_input_signature[1]["images"]
  assert spec.dtype == tf.uint8 and spec.shape.rank == len(shape) and spec.shape[1:] == shape[1:]
  images = tf.make_ndarray(tensor)
  assert images.min() >= 0 and images.max() <= 16
  assert signature(images=tf.constant(images))["probabilities"].shape == (shape[0], 10)


class _Interrupted(Exception):
  pass


@pytest.mark.parametrize("error", [_Interrupted, KeyboardInterrupt])
def test_an_interrupted_export_leaves_no_version_behind(exported, restored, monkeypatch, error):
  export_base, version_dir = exported
  model_dir = os.path.dirname(version_dir)
  before = _tree_digest(export_base)
  real_save = tf.saved_model.save
  staged = []

  def save_then_fail(obj, path, **kwargs):
    real_save(obj, path, **kwargs)  # a complete SavedModel in the staging folder...
    staged.append(path)
    raise error("killed mid-export")  # ...that never becomes a version

  monkeypatch.setattr(tf.saved_model, "save", save_then_fail)
  with pytest.raises(error, match="killed mid-export"):
    export_lib.export_version(restored.posterior_discriminators(), restored.dataset_info, export_base)
  assert staged and os.path.basename(os.path.dirname(staged[0])).startswith(".")
  assert not os.path.exists(os.path.dirname(staged[0]))  # the staging folder was removed
  assert sorted(os.listdir(model_dir)) == ["1"]
  assert _tree_digest(export_base) == before
  monkeypatch.undo()
  assert tf.saved_model.load(version_dir).signatures["serving_default"] is not None


def test_a_failed_check_of_the_saved_model_publishes_nothing(exported, restored, monkeypatch):
  export_base, version_dir = exported
  before = _tree_digest(export_base)
  monkeypatch.setattr(export_lib, "_VERIFY_TOLERANCE", -1.0)  # no loaded model can pass
  with pytest.raises(export_lib.ExportError, match="does not reproduce the ensemble"):
    export_lib.export_version(restored.posterior_discriminators(), restored.dataset_info, export_base)
  assert sorted(os.listdir(os.path.dirname(version_dir))) == ["1"]
  assert _tree_digest(export_base) == before


def test_library_errors(exported, runs, restored, tmp_path):
  # (An unsupervised run is refused by the program tests below.)
  export_base, _ = exported
  before = _tree_digest(export_base)
  with pytest.raises(export_lib.ExportError, match="version 1 already exists"):
    export_lib.export_run(runs["semi"], export_base=export_base, version=1)
  with pytest.raises(export_lib.ExportError, match="model name"):
    export_lib.export_run(runs["semi"], export_base=export_base, model_name="../escape")
  with pytest.raises(RunError, match="not a run folder"):
    export_lib.export_run(str(tmp_path / "missing"), export_base=export_base)
  assert _tree_digest(export_base) == before
  # An explicit version may skip numbers; the next automatic one follows it.
  base = str(tmp_path / "export")
  path = export_lib.export_version(restored.posterior_discriminators(), restored.dataset_info, base, version=7)
  assert os.path.basename(path) == "7"
  assert export_lib.next_version(os.path.join(base, "bgan_classifier")) == 8


def test_float_vector_classifier_exports_a_float32_signature(tmp_path):
  config = ModelConfig(example_shape=(6,), num_classes=3, arch="mlp", mlp_hidden=(4,))
  discriminators = [make_discriminator(config, seed=k, name=f"d{k}") for k in range(2)]
  info = DatasetInfo(name="vectors", source="test", example_shape=(6,), num_classes=3, class_names=("a", "b", "c"),
                     pixel_range=None)
  path = export_lib.export_version(discriminators, info, str(tmp_path), "vectors")
  loaded = tf.saved_model.load(path)
  x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
  served = loaded.signatures["serving_default"](images=tf.constant(x))
  expected = _reference_outputs(discriminators, x, None)
  np.testing.assert_allclose(served["probabilities"].numpy(), expected["probabilities"], rtol=0, atol=1e-6)
  assert [n.decode() for n in loaded.class_names().numpy()] == ["a", "b", "c"]
  # Logits that are not one per class are refused before anything is written.
  unsupervised = make_discriminator(ModelConfig(example_shape=(6,), num_classes=1, arch="mlp", mlp_hidden=(4,)))
  with pytest.raises(export_lib.ExportError, match="not a semi-supervised classifier"):
    export_lib.export_version([unsupervised], info, str(tmp_path), "vectors")
  assert sorted(os.listdir(tmp_path / "vectors")) == ["1"]


def test_without_tensorflow_serving_api_the_export_is_written_and_checked_but_warns(tmp_path, monkeypatch, caplog):
  # As if tensorflow-serving-api (the [serving] extra) were not installed.
  monkeypatch.setattr(export_lib, "_serving_protos", lambda: None)
  config = ModelConfig(example_shape=(6,), num_classes=3, arch="mlp", mlp_hidden=(4,))
  discriminators = [make_discriminator(config, seed=k, name=f"d{k}") for k in range(2)]
  info = DatasetInfo(name="vectors", source="test", example_shape=(6,), num_classes=3, class_names=("a", "b", "c"),
                     pixel_range=None)
  with caplog.at_level("WARNING"):
    path = export_lib.export_version(discriminators, info, str(tmp_path), "vectors")
  assert os.path.isfile(os.path.join(path, "saved_model.pb"))
  assert not os.path.exists(os.path.join(path, export_lib.WARMUP_FILE))
  assert not os.path.exists(tmp_path / export_lib.MODEL_CONFIG_FILE)
  assert "bgan_tf[serving]" in caplog.text and "warm-up" in caplog.text
  x = np.random.default_rng(1).normal(size=(3, 6)).astype(np.float32)
  served = tf.saved_model.load(path).signatures["serving_default"](images=tf.constant(x))
  np.testing.assert_allclose(served["probabilities"].numpy(),
                             _reference_outputs(discriminators, x, None)["probabilities"], rtol=0, atol=1e-6)
  # Asked for explicitly, the warm-up file is a one-line error naming the extra.
  with pytest.raises(export_lib.ExportError, match=r"bgan_tf\[serving\]"):
    export_lib._write_warmup_requests(str(tmp_path / "warmup"), "vectors", x)


def test_models_config_keeps_other_models_and_refuses_a_broken_file(tmp_path):
  (tmp_path / "models.config").write_text(
      'model_config_list { config { name: "other" base_path: "/srv/other" model_platform: "tensorflow" } }\n')
  config = model_server_config_pb2.ModelServerConfig()
  text_format.Parse(export_lib.model_config_text(str(tmp_path), "bgan_classifier"), config)
  assert [(c.name, c.base_path) for c in config.model_config_list.config] == [("other", "/srv/other"),
                                                                              ("bgan_classifier",
                                                                               str(tmp_path / "bgan_classifier"))]
  (tmp_path / "models.config").write_text("model_config_list { config { nme: 1 } }\n")
  with pytest.raises(export_lib.ExportError, match="not a TF Serving model config"):
    export_lib.model_config_text(str(tmp_path), "bgan_classifier")


def test_committed_models_config_template_parses():
  config = model_server_config_pb2.ModelServerConfig()
  with open(os.path.join(REPO, "export", "models.config")) as f:
    text_format.Parse(f.read(), config)
  (entry,) = config.model_config_list.config
  assert (entry.name, entry.model_platform) == (export_lib.DEFAULT_MODEL_NAME, "tensorflow")
  assert os.path.isabs(entry.base_path) and entry.base_path.endswith("/" + export_lib.DEFAULT_MODEL_NAME)


# ------------------------------------------------------------ bin/export_bgan

PROGRAM_CASES = {
    # case: (arguments, message in the error line); None marks success.
    "missing_run": (["--run_dir={tmp}/no_such_run"], "not a run folder"),
    "no_checkpoint": (["--run_dir={tmp}/no_checkpoint"], "no checkpoint"),
    "export_base_under_a_file": (["--run_dir={semi}", "--export_base={tmp}/a_file/export"],
                                 "cannot write to {tmp}/a_file/export: {tmp}/a_file is a file, not a folder"),
    "export_base_is_a_file": (["--run_dir={semi}", "--export_base={tmp}/a_file"],
                              "cannot write to {tmp}/a_file: it is a file, not a folder"),
    "model_folder_is_a_file": (["--run_dir={semi}", "--export_base={tmp}", "--model_name=a_file"],
                               "cannot write to {tmp}/a_file: it is a file, not a folder"),
    "export_base_not_writable": (["--run_dir={semi}", "--export_base={tmp}/read_only/export"],
                                 "cannot write to {tmp}/read_only/export: {tmp}/read_only is not writable"),
    "existing_version": (["--run_dir={semi}", "--version=1"], "version 1 already exists"),
    "not_a_classifier": (["--run_dir={unsupervised}"], "not a classifier"),
    "success": (["--run_dir={semi}", "--export_base={tmp}/fresh_export"], None),
}


@pytest.fixture(scope="module")
def program_results(exported, runs, tmp_path_factory):
  """Runs every case of bin/export_bgan concurrently (each loads TensorFlow for seconds)."""
  export_base, _ = exported
  tmp = tmp_path_factory.mktemp("program")
  (tmp / "a_file").write_text("not a folder\n")
  (tmp / "read_only").mkdir(mode=0o555)
  (tmp / "no_checkpoint").mkdir()
  for name in ("config.json", "dataset.json"):
    with open(os.path.join(runs["semi"], name)) as src:
      (tmp / "no_checkpoint" / name).write_text(src.read())
  before = _tree_digest(export_base)
  processes = {}
  for case, (args, _) in PROGRAM_CASES.items():
    if case == "export_base_not_writable" and not PERMISSION_BITS_BIND:
      continue
    args = [a.format(tmp=tmp, **runs) for a in args]
    if not any(a.startswith("--export_base") for a in args):
      args.append(f"--export_base={export_base}")
    processes[case] = _popen([sys.executable, os.path.join(REPO, "bin", "export_bgan")] + args, cwd=tmp)
  results = {}
  for case, process in processes.items():
    stdout, stderr = process.communicate(timeout=300)
    results[case] = (process.returncode, stdout, stderr)
  return results, before, _tree_digest(export_base), tmp


@pytest.mark.parametrize("case", [
    pytest.param(
        c, marks=pytest.mark.skipif(
            c == "export_base_not_writable" and not PERMISSION_BITS_BIND,
            reason="this process (root) may write into a folder of mode 0555: no unwritable folder to refuse"))
    for c, (_, message) in PROGRAM_CASES.items()
    if message
])
def test_program_bad_inputs_fail_with_one_line_and_exit_code_2(program_results, case):
  results, before, after, tmp = program_results
  code, stdout, stderr = results[case]
  assert code == 2, stderr[-2000:]
  lines = _error_lines(stderr)
  assert len(lines) == 1, lines
  message = PROGRAM_CASES[case][1].format(tmp=tmp)
  assert lines[0].startswith("export_bgan: error:") and message in lines[0], lines[0]
  assert stdout == ""
  assert after == before  # version 1 and models.config untouched


def test_program_prints_the_new_version_folder(program_results):
  results, _, _, tmp = program_results
  code, stdout, stderr = results["success"]
  assert code == 0, stderr[-2000:]
  assert stdout.strip() == str(tmp / "fresh_export" / "bgan_classifier" / "1")
  assert os.path.isfile(tmp / "fresh_export" / "models.config")
  with open(tmp / "fresh_export" / "bgan_classifier" / "1" / "assets" / "class_names.txt") as f:
    assert f.read().splitlines() == [str(k) for k in range(10)]


def test_the_exported_samples_carry_trained_batch_norm_statistics(restored):
  # The fresh-process comparison above only proves the moving averages are
  # served if they differ from their initial values in every sample.
  from bgan_tf.models import SegmentBatchNorm
  for disc in restored.posterior_discriminators():
    norms = [layer for layer in disc.body.layers if isinstance(layer, SegmentBatchNorm)]
    assert norms and all(np.max(np.abs(n.moving_mean.numpy())) > 1e-4 for n in norms)
    assert all(np.max(np.abs(n.moving_variance.numpy() - 1.0)) > 1e-4 for n in norms)


def test_versions_stop_at_tf_servings_int64(tmp_path):
  model_dir = tmp_path / "bgan_classifier"
  (model_dir / str(export_paths.MAX_VERSION + 1)).mkdir(parents=True)  # TF Serving would not read it
  (model_dir / "3").mkdir()
  assert export_paths.versions(str(model_dir)) == {3}
  assert export_paths.next_version(str(model_dir)) == 4
  with pytest.raises(export_lib.ExportError, match="integer from 1 to"):
    export_paths.check_paths(str(tmp_path), version=export_paths.MAX_VERSION + 1)
  (model_dir / str(export_paths.MAX_VERSION)).mkdir()
  with pytest.raises(export_lib.ExportError, match="the largest TF Serving reads; pass --version"):
    export_paths.next_version(str(model_dir))
