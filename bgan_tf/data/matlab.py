"""A minimal reader for MATLAB level-5 (v5/v6/v7) .mat files, in numpy only.

Enough for SVHN's `train_32x32.mat` / `test_32x32.mat`: numeric (non-complex,
non-sparse) arrays stored plainly or zlib-compressed (miCOMPRESSED), with any
numeric storage type (miUINT8, miDOUBLE, ...). Variables of other classes
(cell, struct, char, sparse, ...) are skipped. HDF5-based v7.3 files are
rejected with a clear message.

Format reference: MathWorks, "MAT-File Format", Level 5 MAT-files: a 128-byte
header, then data elements, each an 8-byte tag (type, byte count) or a 4-byte
"small element" tag, with data padded to 8 bytes.
"""

import zlib

import numpy as np

from bgan_tf.errors import DataError

__all__ = ["read_mat_arrays"]

_HEADER_BYTES = 128
_MI_MATRIX = 14
_MI_COMPRESSED = 15
# miType -> numpy dtype (byte order applied later).
_MI_DTYPES = {
    1: "i1",
    2: "u1",
    3: "i2",
    4: "u2",
    5: "i4",
    6: "u4",
    7: "f4",
    9: "f8",
    12: "i8",
    13: "u8",
}
# mxClass -> numpy dtype of the MATLAB array (its storage type may be smaller).
_MX_DTYPES = {
    6: "f8",
    7: "f4",
    8: "i1",
    9: "u1",
    10: "i2",
    11: "u2",
    12: "i4",
    13: "u4",
    14: "i8",
    15: "u8",
}
_MX_COMPLEX_FLAG = 0x0800


def read_mat_arrays(path, names=None) -> dict:
  """Reads the numeric arrays of a level-5 .mat file.

  Args:
    path: file to read.
    names: optional collection of variable names to keep; others are skipped
      without being converted.

  Returns:
    dict name -> numpy array in MATLAB's shape (column-major data reordered,
    so `a[i, j]` is MATLAB's `a(i+1, j+1)`), with the array's MATLAB class
    dtype (e.g. float64 for `double`). Arrays stored in their class's own
    type are read-only views of the file's bytes (no copy).

  Raises:
    DataError: missing, truncated, corrupt or unsupported file, one line.
  """
  path = str(path)
  try:
    with open(path, "rb") as f:
      data = f.read()
  except OSError as e:
    raise DataError(f"{path}: cannot read ({e.strerror})") from None
  return _Reader(path, names).read(data)


class _Reader:
  """Walks the data elements of one file."""

  def __init__(self, path, names):
    self._path = path
    self._names = None if names is None else set(names)

  def _fail(self, problem):
    raise DataError(f"{self._path}: {problem}")

  def read(self, data):
    if len(data) < _HEADER_BYTES:
      self._fail(f"truncated: {len(data)} bytes, shorter than the 128-byte "
                 "MAT-file header")
    header = data[:_HEADER_BYTES]
    if header.startswith(b"MATLAB 7.3") or header[124:126] in (b"\x00\x02",
                                                               b"\x02\x00"):
      self._fail("MATLAB v7.3 (HDF5) file is not supported; re-save it with "
                 "save(..., '-v7') or use the original SVHN file")
    endian = header[126:128]
    if endian == b"IM":
      self._order = "<"
    elif endian == b"MI":
      self._order = ">"
    else:
      self._fail("not a MATLAB level-5 MAT-file (bad header: no 'MI' endian "
                 "indicator at byte 126)")
    arrays = {}
    self._walk(data, _HEADER_BYTES, arrays, top_level=True)
    return arrays

  def _walk(self, data, pos, arrays, top_level):
    while pos < len(data):
      if top_level and len(data) - pos < 8 and not data[pos:].strip(b"\x00"):
        break  # trailing padding
      mi_type, payload, pos = self._element(data, pos)
      if mi_type == _MI_COMPRESSED:
        try:
          inner = zlib.decompress(payload)
        except zlib.error as e:
          self._fail(f"corrupt compressed variable ({e})")
        self._walk(inner, 0, arrays, top_level=False)
      elif mi_type == _MI_MATRIX:
        name, array = self._matrix(payload)
        if array is not None and (self._names is None or name in self._names):
          arrays[name] = array
      else:
        self._fail(f"unexpected top-level data element of type {mi_type}")

  def _element(self, data, pos):
    """Returns (type, payload bytes, position of the next element)."""
    if len(data) - pos < 8:
      self._fail(f"truncated: data element tag cut off at byte {pos}")
    first = int(np.frombuffer(data, self._order + "u4", 1, pos)[0])
    if first >> 16:  # small data element: 2-byte size, 2-byte type, 4 bytes
      size, mi_type = first >> 16, first & 0xFFFF
      if size > 4:
        self._fail(f"corrupt small data element at byte {pos}")
      return mi_type, data[pos + 4:pos + 4 + size], pos + 8
    size = int(np.frombuffer(data, self._order + "u4", 1, pos + 4)[0])
    start, end = pos + 8, pos + 8 + size
    if end > len(data):
      self._fail(f"truncated: element at byte {pos} needs {size} bytes, "
                 f"{len(data) - start} left")
    if first == _MI_COMPRESSED:
      return first, data[start:end], end
    return first, data[start:end], end + (-size % 8)

  def _matrix(self, payload):
    """Parses an miMATRIX payload into (name, array or None if unsupported)."""
    if not payload:
      return "", None
    _, flags_bytes, pos = self._element(payload, 0)
    if len(flags_bytes) < 8:
      self._fail("corrupt array flags")
    flags = int(np.frombuffer(flags_bytes, self._order + "u4", 1, 0)[0])
    mx_class = flags & 0xFF
    _, dims_bytes, pos = self._element(payload, pos)
    dims = tuple(int(d) for d in np.frombuffer(dims_bytes, self._order + "i4"))
    _, name_bytes, pos = self._element(payload, pos)
    name = name_bytes.decode("ascii", "replace")
    if mx_class not in _MX_DTYPES or flags & _MX_COMPLEX_FLAG:
      return name, None
    if self._names is not None and name not in self._names:
      return name, None
    mi_type, real, _ = self._element(payload, pos)
    if mi_type not in _MI_DTYPES:
      self._fail(f"variable '{name}' has unsupported storage type {mi_type}")
    dtype = np.dtype(_MI_DTYPES[mi_type]).newbyteorder(self._order)
    count = int(np.prod(dims)) if dims else 0
    if len(real) != count * dtype.itemsize:
      self._fail(f"variable '{name}' holds {len(real)} bytes, expected "
                 f"{count} x {dtype.itemsize} for shape {dims}")
    values = np.frombuffer(real, dtype, count).reshape(dims, order="F")
    return name, values.astype(_MX_DTYPES[mx_class], copy=False)
