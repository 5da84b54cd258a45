"""The error hierarchy, the one-line error form and the seed tree."""

import pytest
import tensorflow as tf

from bgan_tf import errors, seeds
from bgan_tf.bgan import _model_seed, _offset_seed, _DISC_SEED, _GEN_SEED
from bgan_tf.models import _seed_stream


@pytest.mark.parametrize(
    "kind", [errors.UsageError, errors.ConfigError, errors.DataError, errors.RunError, errors.ExportError])
def test_every_user_error_is_one_type_for_the_programs(kind):
  assert issubclass(kind, errors.UserError)
  assert not issubclass(errors.NonFiniteLossError, errors.UserError)  # exit code 1, not 2


def test_config_and_data_errors_stay_value_errors():
  assert issubclass(errors.ConfigError, ValueError) and issubclass(errors.DataError, ValueError)


def test_first_line_of_python_and_tensorflow_errors():
  assert errors.first_line(ValueError("bad  value\n  details below")) == "bad value"
  assert errors.first_line(KeyError()) == "KeyError"
  assert errors.first_line("  text\nmore") == "text"
  assert errors.first_line("x" * 200, max_length=10) == "xxxxxxx..."
  try:
    tf.debugging.assert_equal(1, 2, message="one is not two")
  except tf.errors.InvalidArgumentError as error:
    line = errors.first_line(error)
  assert "one is not two" in line and "\n" not in line and "Traceback" not in line


def test_seed_tree_children_are_distinct_and_keep_the_original_values():
  assert [seeds.child_seed(5, i, 7) for i in range(7)] == [35, 36, 37, 38, 39, 40, 41]
  assert seeds.child_seed(None, 3, 7) is None
  with pytest.raises(ValueError, match="outside"):
    seeds.child_seed(5, 7, 7)
  # The schemes the tree replaced: run seed * 7919 + stream, model seed * 1009 + initializer.
  assert _model_seed(2222, _GEN_SEED, 3) == 2222 * 7919 + 1003
  assert _model_seed(2222, _DISC_SEED, 0) == 2222 * 7919 + 2000
  assert _offset_seed(2222, 4) == 2222 * 7919 + 4
  stream = _seed_stream(11)
  assert [next(stream) for _ in range(3)] == [11 * 1009, 11 * 1009 + 1, 11 * 1009 + 2]
  with pytest.raises(errors.ConfigError, match="at most 1000 models"):
    _model_seed(1, _GEN_SEED, 1000)
