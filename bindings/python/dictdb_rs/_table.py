"""`Table` (python-api.md §6): a thin Python class over the native `TableCore`.

Every operation is one native call, which never waits for the engine's lock
holding the GIL and releases it for work on many rows (a one-row call keeps it
when the lock is free at once); Python code here only normalises arguments,
logs and raises DictDB's exceptions.
"""

import contextvars as _contextvars
import copyreg as _copyreg
import datetime as _dt
import typing as _typing

from . import _native
from types import MappingProxyType

from ._aggregate import Agg as _Agg
from ._views import HashIndex, RecordsView, SortedIndex
from ._dsl import Field, PredicateExpr, _where_tree
from ._logging import logger
from .exceptions import RecordNotFoundError

__all__ = ["Table"]

_DEBUG = 10
_INFO = 20

# The one-row writes test whether logging is on at all with the test of
# `logger._enabled(_INFO) or logger._enabled(_DEBUG)` written out inline:
#     logger._min_level <= _INFO or std.propagate or len(std.handlers) > logger._n_own
# (`std` the stdlib logger): a call per test is a measurable part of a write.

# A full backup's capture (`_native.BackupCapture`) while the built-in
# `DictDB.save` pickles a database on a BackupManager's behalf: each table
# pickles the rows captured with its tracking reset, not its current rows.
_CAPTURED = _contextvars.ContextVar("dictdb_rs_backup_capture", default=None)


def _emit(level, message, **extra):
    """A log record whose message is used as written (it holds user data such
    as table names, which must not be interpolated)."""
    logger._log(level, message, extra, interpolate=False)

# Schema type objects the engine checks itself, by the names JSON uses (§11.2).
_TYPE_NAMES = {
    int: "int",
    str: "str",
    float: "float",
    bool: "bool",
    list: "list",
    dict: "dict",
    bytes: "bytes",
    _dt.date: "date",
    _dt.datetime: "datetime",
}

# Names that are Table members: `table.<name>` gives these, not a Field (§6.2).
_MEMBERS = frozenset(
    """table_name primary_key records schema indexes create_index validate_record
    insert upsert select update delete copy all columns size count indexed_fields
    has_index schema_fields primary_key_name aggregate has_changes get_dirty_records
    get_deleted_pks clear_dirty_tracking export_csv get field""".split()
)


_TYPES_BY_NAME = {name: tp for tp, name in _TYPE_NAMES.items()}
_TYPES_BY_NAME["any"] = object


def _type_of(name, nullable):
    """The schema type object for an engine type name."""
    tp = _TYPES_BY_NAME[name]
    return _typing.Optional[tp] if nullable else tp


def _nullable_inner(tp):
    """`T` for `Optional[T]` / `T | None`, else None."""
    args = _typing.get_args(tp)
    origin = _typing.get_origin(tp)
    if args and type(None) in args and (origin is _typing.Union or str(origin) == "<class 'types.UnionType'>"):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return None


def _schema_spec(schema):
    """The native schema (field, type name, nullable) list, or None when some
    type is one the engine does not know (then Python validates)."""
    spec = []
    for field, tp in schema.items():
        inner = _nullable_inner(tp)
        nullable = inner is not None
        name = _TYPE_NAMES.get(inner if nullable else tp)
        if name is None:
            return None
        spec.append((field, name, nullable))
    return spec


def _order_keys(order_by):
    if order_by is None or order_by == "" or order_by == []:
        return []
    if isinstance(order_by, str):
        order_by = [order_by]
    keys = []
    for key in order_by:
        if key.startswith("-"):
            keys.append((key[1:], True))
        else:
            keys.append((key, False))
    return keys


def _projection(columns):
    if columns is None:
        return None
    if isinstance(columns, dict):
        return [(alias, field) for alias, field in columns.items()]
    columns = list(columns)
    if columns and isinstance(columns[0], tuple):
        return [(alias, field) for alias, field in columns]
    return [(c, c) for c in columns]


class Table:
    """A table of records (dicts) with a primary key, optional schema and indexes.

    ``Table(name, primary_key="id", schema=None)``; register it with
    ``db.tables[name] = table`` or create it with ``db.create_table``.
    ``table_name`` is the name and ``primary_key`` the primary-key field; any
    other attribute ``table.<name>`` is a `Field` for building predicates.
    """

    def __init__(self, name, primary_key="id", schema=None):
        self.table_name = name
        self.primary_key = primary_key
        if schema is not None:
            schema = dict(schema)
            if primary_key not in schema:
                schema[primary_key] = int
        self._schema = schema
        spec = None if schema is None else _schema_spec(schema)
        # A schema with types the engine does not know is checked in Python.
        self._py_schema = schema is not None and spec is None
        self._core = _native.TableCore(name, primary_key, spec)

    @classmethod
    def _from_core(cls, core):
        """A Table around an engine table made elsewhere (SQL, a load)."""
        t = cls.__new__(cls)
        t.table_name = core.name
        t.primary_key = core.primary_key
        spec = core.schema_spec()
        t._schema = None if spec is None else {f: _type_of(name, nullable) for f, name, nullable in spec}
        t._py_schema = False
        t._core = core
        return t

    # -- attributes -----------------------------------------------------------

    def __getattr__(self, name):
        # Only reached for names that are not attributes: a field (§6.2).
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        field = Field(name)
        if not name.startswith("_"):
            # Later `t.name` lookups find it in the instance dict, skipping
            # the failed lookup that leads here (most of a predicate's cost).
            self.__dict__[name] = field
        return field

    def field(self, name):
        """The Field for ``name``, including names of Table members."""
        return Field(name)

    @property
    def records(self):
        """A read-only live mapping pk → row copy, in insertion order."""
        return RecordsView(self._core)

    @property
    def indexes(self):
        """A read-only mapping field → HashIndex / SortedIndex, in creation order."""
        return MappingProxyType(
            {
                f: (HashIndex if kind == "hash" else SortedIndex)(self._core, f)
                for f, kind in self._core.indexes()
            }
        )

    @property
    def schema(self):
        """A copy of the schema (field → type), or None."""
        return None if self._schema is None else dict(self._schema)

    def __repr__(self):
        return f"<dictdb_rs.Table {self.table_name!r} ({len(self)} rows)>"

    # -- validation -------------------------------------------------------------

    def validate_record(self, record):
        """Checks a record against the schema (§6.3); raises SchemaValidationError."""
        if self._schema is None:
            return
        from .exceptions import SchemaValidationError

        for field, tp in self._schema.items():
            inner = _nullable_inner(tp)
            if field not in record:
                if inner is not None:
                    continue
                raise SchemaValidationError(
                    f"missing field '{field}' required by the schema of table '{self.table_name}'"
                )
            value = record[field]
            if inner is not None and value is None:
                continue
            expected = inner if inner is not None else tp
            if not isinstance(value, expected):
                raise SchemaValidationError(
                    f"field '{field}' of table '{self.table_name}' expects type "
                    f"{getattr(expected, '__name__', expected)}, got {type(value).__name__}"
                )
        for key in record:
            if key not in self._schema:
                raise SchemaValidationError(
                    f"field '{key}' is not defined in the schema of table '{self.table_name}'"
                )

    def _custom_validation(self):
        """True when validation must go through Python: an overridden
        validate_record (instance or subclass) or a schema of unknown types."""
        return (
            self._py_schema
            or "validate_record" in self.__dict__
            or type(self).validate_record is not Table.validate_record
        )

    # -- writes -------------------------------------------------------------

    def insert(self, record, *, batch_size=None, skip_validation=False):
        """Inserts a record (returns its pk) or a list of records (returns their
        pks), all or nothing (§6.4)."""
        if batch_size is not None and batch_size < 0:
            raise ValueError(f"batch_size must not be negative, got {batch_size}")
        validate = not skip_validation and self._schema is not None
        # An override (or a schema of types only Python can check) is called
        # by the engine under the write lock, after the pk is assigned (§6.3).
        validator = self.validate_record if validate and self._custom_validation() else None
        std = logger._std
        log = logger._min_level <= _INFO or std.propagate or len(std.handlers) > logger._n_own
        if type(record) is dict:
            if not log:
                return self._core.insert(record, validate, validator)
        elif isinstance(record, list):
            if log and logger._enabled(_DEBUG):
                _emit(_DEBUG,
                    f"[INSERT] Inserting {len(record)} records into '{self.table_name}'",
                    table=self.table_name, op="insert_many", count=len(record),
                )
            pks = self._core.insert_many(record, validate, validator)
            if log and logger._enabled(_INFO):
                _emit(_INFO,
                    f"Inserted {len(pks)} records into '{self.table_name}'",
                    table=self.table_name, op="insert_many", count=len(pks),
                )
            return pks
        elif not isinstance(record, dict):
            raise TypeError(f"a record must be a dict, not {type(record).__name__}")
        if log and logger._enabled(_DEBUG):
            _emit(_DEBUG,
                f"[INSERT] Inserting record into '{self.table_name}'",
                table=self.table_name, op="insert",
            )
        pk = self._core.insert(record, validate, validator)
        if log and logger._enabled(_INFO):
            _emit(_INFO,
                f"Inserted record into '{self.table_name}'",
                table=self.table_name, op="insert", pk=pk,
            )
        return pk

    def upsert(self, record, on_conflict="update"):
        """Inserts the record, or on a taken pk updates / ignores / raises (§6.5);
        returns ``(pk, action)``."""
        if on_conflict not in ("update", "ignore", "error"):
            raise ValueError(
                f"on_conflict must be 'update', 'ignore' or 'error', not {on_conflict!r}"
            )
        if not isinstance(record, dict):
            raise TypeError(f"a record must be a dict, not {type(record).__name__}")
        std = logger._std
        log = logger._min_level <= _INFO or std.propagate or len(std.handlers) > logger._n_own
        if log and logger._enabled(_DEBUG):
            _emit(_DEBUG,
                f"[UPSERT] Upserting record into '{self.table_name}'",
                table=self.table_name, op="upsert",
            )
        custom = self._schema is not None and self._custom_validation()
        pk, action = self._core.upsert(record, on_conflict,
                                       self.validate_record if custom else None)
        if log and logger._enabled(_INFO):
            _emit(_INFO,
                f"Upserted record into '{self.table_name}' ({action})",
                table=self.table_name, op="upsert", pk=pk, action=action,
            )
        return pk, action

    def update(self, changes, where=None):
        """Merges ``changes`` into every matching row, atomically (§6.7); returns
        the count; RecordNotFoundError when nothing matches."""
        tree = where._ir if type(where) is PredicateExpr else _where_tree(where)
        if not isinstance(changes, dict):
            raise TypeError(f"changes must be a dict, not {type(changes).__name__}")
        std = logger._std
        log = logger._min_level <= _INFO or std.propagate or len(std.handlers) > logger._n_own
        if log and logger._enabled(_DEBUG):
            _emit(_DEBUG,
                f"[UPDATE] Updating records in '{self.table_name}'",
                table=self.table_name, op="update",
            )
        custom = self._schema is not None and self._custom_validation()
        count = self._core.update(changes, tree, self.validate_record if custom else None)
        if count == 0:
            raise RecordNotFoundError(f"no record in table '{self.table_name}' matches the update")
        if log and logger._enabled(_INFO):
            _emit(_INFO,
                f"Updated {count} records in '{self.table_name}'",
                table=self.table_name, op="update", count=count,
            )
        return count

    def delete(self, where=None):
        """Deletes every matching row (§6.8); returns the count;
        RecordNotFoundError when nothing matches."""
        tree = where._ir if type(where) is PredicateExpr else _where_tree(where)
        std = logger._std
        log = logger._min_level <= _INFO or std.propagate or len(std.handlers) > logger._n_own
        if log and logger._enabled(_DEBUG):
            _emit(_DEBUG,
                f"[DELETE] Deleting records from '{self.table_name}'",
                table=self.table_name, op="delete",
            )
        count = self._core.delete(tree)
        if count == 0:
            raise RecordNotFoundError(f"no record in table '{self.table_name}' matches the delete")
        if log and logger._enabled(_INFO):
            _emit(_INFO,
                f"Deleted {count} records from '{self.table_name}'",
                table=self.table_name, op="delete", count=count,
            )
        return count

    # -- reads --------------------------------------------------------------

    def select(self, columns=None, where=None, *, order_by=None, limit=None, offset=0,
               copy=True, distinct=False):
        """The matching rows, ordered, projected, de-duplicated and paged (§6.6)."""
        tree = _where_tree(where)
        if logger._enabled(_DEBUG):
            _emit(_DEBUG, f"[SELECT] Querying '{self.table_name}'", table=self.table_name, op="select")
        return self._core.select(
            tree, _projection(columns), _order_keys(order_by), limit, offset or 0, distinct
        )

    def get(self, pk):
        """A copy of the row with this pk, or None."""
        return self._core.get(pk)

    def all(self):
        """Copies of every row, in insertion order."""
        return self._core.select(None)

    def copy(self):
        """A dict pk → row copy, in insertion order."""
        pk = self.primary_key
        return {r[pk]: r for r in self._core.select(None)}

    def count(self):
        """The number of rows."""
        return len(self._core)

    size = count

    def __len__(self):
        return len(self._core)

    def columns(self):
        """The schema's fields in order, or the sorted union of every row's fields."""
        if self._schema is not None:
            return list(self._schema)
        return self._core.field_names()

    def schema_fields(self):
        """The schema's fields, or [] without a schema."""
        return [] if self._schema is None else list(self._schema)

    def primary_key_name(self):
        """The primary-key field."""
        return self.primary_key

    def aggregate(self, where=None, group_by=None, **aggregations):
        """Aggregates the matching rows (§6.12): a dict without ``group_by``, else
        a list of dicts, one per group in order of first appearance."""
        tree = _where_tree(where)
        specs = []
        for name, agg in aggregations.items():
            if not isinstance(agg, _Agg):
                raise TypeError(f"Expected Agg instance for '{name}', got {type(agg).__name__}")
            specs.append(agg._spec(name))
        groups = [] if group_by is None else [group_by] if isinstance(group_by, str) else list(group_by)
        rows = self._core.aggregate(tree, groups, specs)
        if not groups:
            return rows[0] if rows else {name: None for name, _, _ in specs}
        return rows

    def export_csv(self, filepath, *, records=None, columns=None, where=None,
                   delimiter=",", encoding="utf-8"):
        """Writes rows to a CSV file atomically (python-api.md §12.2): ``records``
        as given, else the rows matching ``where``; returns the number of data
        rows."""
        from ._csv import export_path

        tree = None if records is not None else _where_tree(where)
        if columns is not None:
            columns = list(columns)
        _emit(_DEBUG, f"Exporting '{self.table_name}' to '{filepath}'",
              table=self.table_name, op="export_csv", path=str(filepath))
        with export_path(filepath, encoding) as path:
            if records is not None:
                count = _native.export_records_csv(path, records, columns, delimiter)
            else:
                count = self._core.export_csv(path, tree, columns, delimiter)
        _emit(_INFO, f"Exported {count} records from '{self.table_name}' to '{filepath}'",
              table=self.table_name, op="export_csv", path=str(filepath), count=count)
        return count

    # -- indexes --------------------------------------------------------------

    def create_index(self, field, index_type="hash"):
        """Creates a hash or sorted index on a field; does nothing if it has one."""
        kind = index_type.lower() if isinstance(index_type, str) else index_type
        if kind not in ("hash", "sorted"):
            raise ValueError(f"index_type must be 'hash' or 'sorted', not {index_type!r}")
        if logger._enabled(_DEBUG):
            _emit(_DEBUG, 
                f"Creating {kind} index on '{self.table_name}.{field}'",
                table=self.table_name, op="create_index", field=field, index_type=kind,
            )
        created = self._core.create_index(field, kind)
        if created and logger._enabled(_INFO):
            _emit(_INFO, 
                f"Created {kind} index on '{self.table_name}.{field}'",
                table=self.table_name, op="create_index", field=field, index_type=kind,
            )

    def indexed_fields(self):
        """The indexed fields, in creation order."""
        return [f for f, _ in self._core.indexes()]

    def has_index(self, field):
        """Whether the field has an index."""
        return any(f == field for f, _ in self._core.indexes())

    # -- change tracking ------------------------------------------------------

    def has_changes(self):
        """Whether rows were written or deleted since the last clear."""
        return self._core.has_changes()

    def get_dirty_records(self):
        """Copies of the rows written since the last clear, in insertion order."""
        return self._core.dirty_records()

    def get_deleted_pks(self):
        """The pks deleted since the last clear, in deletion order."""
        return self._core.deleted_keys()

    def clear_dirty_tracking(self):
        """Empties the dirty and deleted sets."""
        self._core.clear_tracking()

    # -- pickling (python-api.md §6.14) ----------------------------------------

    def __reduce__(self):
        # `__newobj__` makes pickle record just the class (`dictdb_rs.Table`,
        # protocol 2 and later) and call `cls.__new__(cls)`, then __setstate__.
        return (_copyreg.__newobj__, (type(self),), self._pickle_state())

    def _pickle_state(self):
        """The table as builtin objects: name, pk field, schema by type names,
        rows in insertion order (tagged dates/datetimes), counter, indexes."""
        unknown = _unknown_schema_type(self)
        if unknown is not None:
            field, tp = unknown
            raise ValueError(
                f"table '{self.table_name}': schema type {getattr(tp, '__name__', tp)!r} "
                f"of field '{field}' cannot be saved (only int, str, float, bool, "
                "list, dict, bytes, date, datetime, optionally | None)"
            )
        spec = self._core.schema_spec()
        schema = None if spec is None else {
            f: f"{name} | None" if nullable else name for f, name, nullable in spec
        }
        captured = _CAPTURED.get()
        state = None if captured is None else captured.state_for(self._core)
        rows, next_pk, indexes = self._core.state() if state is None else state
        return {
            "table_name": self.table_name,
            "primary_key": self.primary_key,
            "schema": schema,
            "records": rows,
            "next_pk": next_pk,
            "indexes": dict(indexes),
        }

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise TypeError(f"a pickled Table's state must be a dict, not {type(state).__name__}")
        name = state["table_name"]
        primary_key = state["primary_key"]
        schema = state.get("schema")
        spec = None
        if schema is not None:
            if not isinstance(schema, dict):
                raise TypeError(f"table '{name}': schema must be a dict or None")
            spec = []
            for field, tname in schema.items():
                if not isinstance(tname, str):
                    raise TypeError(f"table '{name}': schema type of '{field}' must be a str")
                nullable = tname.endswith(" | None")
                spec.append((field, tname[: -len(" | None")] if nullable else tname, nullable))
        indexes = state.get("indexes") or {}
        if not isinstance(indexes, dict):
            raise TypeError(f"table '{name}': indexes must be a dict")
        core = _native.TableCore.from_state(
            name, primary_key, spec, state.get("records") or [], state.get("next_pk"),
            list(indexes.items()),
        )
        self.table_name = core.name
        self.primary_key = core.primary_key
        out = core.schema_spec()
        self._schema = None if out is None else {f: _type_of(n, nb) for f, n, nb in out}
        self._py_schema = False
        self._core = core


def _unknown_schema_type(table):
    """``(field, type)`` for the first schema type the engine does not know
    (a custom class: such a table validates in Python and cannot be saved),
    else None."""
    schema = table._schema
    if schema is None or not table._py_schema:
        return None
    for field, tp in schema.items():
        inner = _nullable_inner(tp)
        if _TYPE_NAMES.get(inner if inner is not None else tp) is None:
            return field, tp
    return None


Table.__module__ = "dictdb_rs"
