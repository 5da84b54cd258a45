"""The README's install in a fresh virtual environment: every program stays a working command.

The programs are console-script entry points, so pip writes their wrappers and nothing in them
imports `pkg_resources`, which setuptools >= 81 no longer has: a newer setuptools installed
afterwards (as the torch install of BUILD.md's bench step does) must leave them working. The
environment sees the system's packages, so TensorFlow is not installed again; the system's
setuptools may still hold a `pkg_resources` that would hide the failure, so the wrappers'
text is checked as well as their --help.
"""

import os
import shlex
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = {  # command: first line of its --help
    "run_bgan_semi": "Semi-supervised Bayesian GAN: the 2017 run_bgan_semi.py, on TensorFlow 2.",
    "run_bgan": "Unsupervised Bayesian GAN: the 2017 run_bgan.py, on TensorFlow 2.",
    "bgan_synth": "The paper's synthetic experiment: the 2017 bgan_synth.py, on TensorFlow 2.",
    "export_bgan": "Exports a semi-supervised run's Bayesian classifier for TensorFlow Serving.",
}
README_INSTALL = ('python3 -m pip install -e .', 'python3 -m pip install -q -e ".[test]"')


def test_readme_install_then_the_newest_setuptools_leaves_every_command_working(tmp_path):
  with open(os.path.join(REPO, "README.md")) as f:
    readme = f.read()
  for command in README_INSTALL:
    assert f"\n{command} && " in readme, command  # the commands run here are the README's
  venv = tmp_path / "venv"
  subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
  python = str(venv / "bin" / "python3")
  env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", TF_CPP_MIN_LOG_LEVEL="3")
  env.pop("PYTHONPATH", None)

  def run(args):
    result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, f"{args}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result

  for command in README_INSTALL:
    run([python] + shlex.split(command)[1:])
  run([python, "-m", "pip", "install", "-q", "--upgrade", "setuptools"])
  setuptools_version = run([python, "-c", "import setuptools; print(setuptools.__version__)"]).stdout.strip()

  for program, description in PROGRAMS.items():
    path = venv / "bin" / program
    assert "pkg_resources" not in path.read_text(), program
    result = subprocess.run([str(path), "--help"], capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in result.stderr, f"{program} with setuptools {setuptools_version}:\n{result.stderr}"
    assert result.returncode == 1, result.stderr  # absl's --help exits 1
    assert result.stdout.startswith(description), result.stdout[:500]
    assert "--help" in result.stdout and f"{program}:" in result.stdout  # its own flags are listed
