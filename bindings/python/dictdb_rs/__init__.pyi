from ._aggregate import Avg as Avg, Count as Count, Max as Max, Min as Min, Sum as Sum
from ._backup import BackupManager as BackupManager
from ._db import DictDB as DictDB
from ._dsl import (
    And as And,
    Condition as Condition,
    Field as Field,
    Not as Not,
    Or as Or,
    PredicateExpr as PredicateExpr,
)
from ._logging import configure_logging as configure_logging, logger as logger
from ._table import Table as Table
from ._views import HashIndex as HashIndex, SortedIndex as SortedIndex
from .exceptions import (
    DictDBError as DictDBError,
    DuplicateKeyError as DuplicateKeyError,
    DuplicateTableError as DuplicateTableError,
    RecordNotFoundError as RecordNotFoundError,
    SchemaValidationError as SchemaValidationError,
    SQLError as SQLError,
    TableNotFoundError as TableNotFoundError,
)

__version__: str

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
