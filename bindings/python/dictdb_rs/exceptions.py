"""The exceptions of dictdb_rs (python-api.md §4), at DictDB's module path.

Plain subclasses without extra attributes: the message is the only payload.
"""

__all__ = [
    "DictDBError",
    "DuplicateKeyError",
    "DuplicateTableError",
    "RecordNotFoundError",
    "SchemaValidationError",
    "TableNotFoundError",
    "SQLError",
]


class DictDBError(Exception):
    """Base class of every dictdb_rs error."""


class DuplicateKeyError(DictDBError):
    """A primary key already in use (insert, bulk insert, upsert, re-keying update)."""


class DuplicateTableError(DictDBError):
    """A table name already in use (create_table, import_csv)."""


class RecordNotFoundError(DictDBError):
    """update or delete matched no row."""


class SchemaValidationError(DictDBError):
    """A record does not fit its table's schema."""


class TableNotFoundError(DictDBError):
    """No table of that name."""


class SQLError(DictDBError):
    """SQL text that does not parse, is not supported, or names what does not exist."""
