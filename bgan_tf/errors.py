"""The package's error types and how an error becomes one line for the user.

Every error a user can fix (a bad flag, config value, data set, run folder or
export destination) derives from `UserError`; the programs (`bgan_tf.cli.run`)
catch that one type and print its message as one line with exit code 2. A
numeric failure during training is not the user's input: `NonFiniteLossError`
stands apart and exits with code 1.

This module imports no TensorFlow: configs and flag checks use it first.
"""

__all__ = [
    "ConfigError",
    "DataError",
    "ExportError",
    "NonFiniteLossError",
    "RunError",
    "UsageError",
    "UserError",
    "first_line",
]


class UserError(Exception):
  """An error the user can fix; its message is one line for the user."""


class UsageError(UserError):
  """A bad command line."""


class ConfigError(UserError, ValueError):
  """A configuration value is invalid."""


class DataError(UserError, ValueError):
  """A data set is missing, malformed, or cannot serve the request."""


class RunError(UserError, RuntimeError):
  """The run folder cannot be used as asked."""


class ExportError(UserError, RuntimeError):
  """The export cannot be written as asked."""


class NonFiniteLossError(RuntimeError):
  """A loss, or the classifier's probabilities, became NaN or Inf; the last good checkpoint is kept."""


def first_line(error, max_length: int = 0) -> str:
  """The first line of an error's message, whitespace collapsed, for a one-line report.

  TensorFlow's `OpError` keeps the bare message in `.message` (its `str` adds
  a traceback of the op's creation); other errors use `str`. An empty message
  gives the error's type name.

  Args:
    error: an exception, or the text of a message.
    max_length: if > 0, longer results are cut to this length, ending in "...".

  Returns:
    One line of text.
  """
  if isinstance(error, str):
    message, fallback = error, ""
  else:
    message = getattr(error, "message", None)
    message = message if isinstance(message, str) else str(error)
    fallback = type(error).__name__
  lines = message.strip().splitlines()
  line = (" ".join(lines[0].split()) if lines else "") or fallback
  if max_length and len(line) > max_length:
    line = line[:max_length - 3] + "..."
  return line
