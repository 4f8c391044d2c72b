"""dictdb_rs: an in-memory table database in Rust, a drop-in replacement for DictDB.

``import dictdb_rs as dictdb`` and a DictDB program runs unchanged.
``__version__`` is the installed dictdb-rs distribution's version.
"""

from . import _native
from ._aggregate import Avg, Count, Max, Min, Sum
from ._backup import BackupManager
from ._db import DictDB
from ._dsl import And, Condition, Field, Not, Or, PredicateExpr
from ._logging import configure_logging, logger
from ._table import Table
from ._views import HashIndex, SortedIndex
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
    "DictDB",
    "Table",
    "Condition",
    "And",
    "Or",
    "Not",
    "Count",
    "Sum",
    "Avg",
    "Min",
    "Max",
    "DictDBError",
    "DuplicateKeyError",
    "DuplicateTableError",
    "RecordNotFoundError",
    "SchemaValidationError",
    "TableNotFoundError",
    "logger",
    "configure_logging",
    "BackupManager",
    "__version__",
    "SQLError",
]
