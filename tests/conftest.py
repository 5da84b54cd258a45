"""Test set-up: quiet TensorFlow, a private kernel-choice cache and a `slow` marker."""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The conv layers time their kernels once per shape and cache the choice
# (bgan_tf.kernel_choice); the suite keeps that cache out of the user's home.
os.environ.setdefault("BGAN_TF_CACHE_DIR", tempfile.mkdtemp(prefix="bgan_tf_test_cache_"))


def pytest_configure(config):
  config.addinivalue_line("markers", "slow: long-running statistical or end-to-end test")
