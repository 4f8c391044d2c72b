"""dictdb_rs: an in-memory table database in Rust, a drop-in replacement for DictDB.

``import dictdb_rs as dictdb`` and a DictDB program runs unchanged.
"""

from . import _native
from .exceptions import (
    DictDBError,
    DuplicateKeyError,
    DuplicateTableError,
    RecordNotFoundError,
    SchemaValidationError,
    SQLError,
    TableNotFoundError,
)

try:
    from importlib.metadata import version as _version

    __version__ = _version("dictdb-rs")
except Exception:  # not installed as a distribution (a source tree)
    __version__ = _native.__version__

__all__ = [
    "DictDBError",
    "DuplicateKeyError",
    "DuplicateTableError",
    "RecordNotFoundError",
    "SchemaValidationError",
    "TableNotFoundError",
    "__version__",
    "SQLError",
]
