"""Where and when a benchmark ran: date, CPU, cores, git commit, versions."""

import datetime
import os
import platform
import subprocess

__all__ = ["machine_info"]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine_info():
  """Date, CPU, core count, git commit and library versions of this measurement."""
  def command(*args):
    try:
      return subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
      return ""
  model = ""
  for line in command("lscpu").splitlines():
    if line.startswith("Model name:"):
      model = line.split(":", 1)[1].strip()
  dirty = bool(command("git", "status", "--porcelain", "--untracked-files=no"))
  import tensorflow as tf
  return {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
          "cpu": model or platform.processor() or platform.machine(),
          "nproc": command("nproc") or str(os.cpu_count()),
          "git_commit": (command("git", "rev-parse", "--short", "HEAD") or "unknown") + ("+dirty" if dirty else ""),
          "python": platform.python_version(), "tensorflow": tf.__version__}
