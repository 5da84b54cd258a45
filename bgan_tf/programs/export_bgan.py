"""Exports a semi-supervised run's Bayesian classifier for TensorFlow Serving.

Writes the posterior predictive of the run's T discriminator samples (chains
and snapshots) as the SavedModel EXPORT_BASE/MODEL_NAME/<version>/, refreshes
EXPORT_BASE/models.config and prints the version folder, e.g.

  export_bgan --run_dir=runs/digits_20240101-120000
  tensorflow_model_server --rest_api_port=8501 --model_name=bgan_classifier \\
      --model_base_path=$PWD/export/bgan_classifier

docs/SERVING.md describes the signatures and how to serve them.
"""

from absl import flags

from bgan_tf import cli
from bgan_tf import export_paths
from bgan_tf import run_dir as run_dir_lib

__all__ = ["main"]

FLAG_NAMES = ("run_dir", "export_base", "model_name", "version")


def main() -> None:
  """The `export_bgan` command: flags from `sys.argv`; a user error exits 2 with one line."""
  flags.DEFINE_string("run_dir", None, "Run folder of run_bgan_semi to export (its newest whole checkpoint).")
  flags.DEFINE_string("export_base", "export", "Folder of the model folders and models.config.")
  flags.DEFINE_string("model_name", export_paths.DEFAULT_MODEL_NAME,
                      "TF Serving model name: the folder under --export_base.")
  flags.DEFINE_integer("version", None, "Version to write (default: one more than the largest existing).",
                       lower_bound=1, upper_bound=export_paths.MAX_VERSION)
  flags.mark_flag_as_required("run_dir")
  cli.run(_export, doc=__doc__, flag_names=FLAG_NAMES)


def _export():
  fv = flags.FLAGS
  # What can be checked without TensorFlow fails first, in about a second.
  export_paths.check_paths(fv.export_base, fv.model_name, fv.version)
  gan_config, _ = run_dir_lib.check_restorable(fv.run_dir)
  export_paths.check_classifier(fv.run_dir, gan_config.model.num_classes)
  from bgan_tf import export  # noqa: imported late: TensorFlow loads here
  print(export.export_run(fv.run_dir, export_base=fv.export_base, model_name=fv.model_name, version=fv.version))


if __name__ == "__main__":
  main()
