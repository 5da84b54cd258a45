"""Test set-up: quiet TensorFlow, a private kernel-choice cache, and bench/ importable.

The `slow` marker, deselected by default, is registered in pyproject.toml.
"""

import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The conv layers time their kernels once per shape and cache the choice
# (bgan_tf.kernel_choice); the suite keeps that cache out of the user's home.
os.environ.setdefault("BGAN_TF_CACHE_DIR", tempfile.mkdtemp(prefix="bgan_tf_test_cache_"))
# The measurement code (FLOP counts, benchmark metrics) lives in bench/, not in
# the installed package; its programs import it as top-level modules (bench/
# is sys.path[0] when they run), and the tests of it import it the same way.
# Appended, so a bench/ module never shadows an installed one.
sys.path.append(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
