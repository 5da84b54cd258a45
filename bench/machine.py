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
  # The CPU kind: oneDNN's kernels (and so the speed figures) differ between them.
  flags = set()
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("flags"):
          flags = set(line.split(":", 1)[1].split())
          break
  except OSError:
    pass
  kind = [
      name for name in ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16")
      if name in flags
  ]
  import tensorflow as tf
  from bgan_tf import kernel_choice
  return {
      "kernel_machine_key": kernel_choice.machine_key(),
      "onednn": "on" if kernel_choice.onednn_enabled() else "off",
      "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
      "cpu": model or platform.processor() or platform.machine(), "cpu_flags": kind,
      "cpu_kind": "AVX-512" if "avx512f" in flags else
                  ("AVX2" if "avx2" in flags else "other"), "nproc": command("nproc") or str(os.cpu_count()),
      "git_commit": (command("git", "rev-parse", "--short", "HEAD") or "unknown") + ("+dirty" if dirty else ""),
      "python": platform.python_version(), "tensorflow": tf.__version__
  }
