"""Encodings around the native CSV code (python-api.md §12), which reads and
writes UTF-8: other encodings go through a UTF-8 temporary file, decoded or
encoded by Python's codecs; the final file is still written atomically."""

import codecs
import contextlib
import os
import tempfile

from . import _native

__all__ = ["import_path", "export_path"]


def _codec(encoding):
    return codecs.lookup(encoding).name


@contextlib.contextmanager
def import_path(filepath, encoding):
    """A UTF-8 path holding the CSV text of ``filepath`` read with ``encoding``
    (the file itself when it is UTF-8; a leading BOM is stripped natively)."""
    name = _codec(encoding)
    if name in ("utf-8", "utf-8-sig"):
        yield os.fspath(filepath)
        return
    with open(filepath, encoding=encoding, newline="") as f:
        text = f.read()
    fd, tmp = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


@contextlib.contextmanager
def export_path(filepath, encoding):
    """A path the native code writes UTF-8 CSV to; for other encodings (and
    ``utf-8-sig``, which starts with a BOM) the text is re-encoded and written
    atomically to ``filepath`` afterwards."""
    name = _codec(encoding)
    if name == "utf-8":
        yield os.fspath(filepath)
        return
    directory = os.path.dirname(os.path.abspath(os.fspath(filepath)))
    fd, tmp = tempfile.mkstemp(suffix=".csv", dir=directory)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, encoding="utf-8", newline="") as f:
            text = f.read()
        _native.write_atomic(os.fspath(filepath), text.encode(encoding))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
