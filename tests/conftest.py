"""Test set-up: quiet TensorFlow and a `slow` marker."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config):
  config.addinivalue_line("markers", "slow: long-running statistical or end-to-end test")
