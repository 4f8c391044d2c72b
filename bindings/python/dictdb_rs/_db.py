"""`DictDB` (python-api.md §5): the registry of tables.

``db.tables`` is a plain dict and is the registry itself: every method reads it
when called, so tables assigned into it or deleted from it directly count.
"""

import asyncio as _asyncio
import contextvars as _contextvars
import builtins as _builtins
import copyreg as _copyreg
import os as _os
import pickle as _pickle

from . import _native
from ._logging import logger
from ._table import _CAPTURED, Table, _unknown_schema_type
from .exceptions import DuplicateTableError, TableNotFoundError

__all__ = ["DictDB"]

_DEBUG = 10
_INFO = 20

# Set by BackupManager around its `db.save(...)` call: the next built-in save in
# this context is a full backup (python-api.md §13.2), which resets change
# tracking in the same step as each table's snapshot. The built-in save clears
# it when it starts, so only one save (a subclass's `super().save(...)`) acts
# as the backup.
_FULL_BACKUP = _contextvars.ContextVar("dictdb_rs_full_backup", default=False)


def _emit(level, message, **extra):
    """A log record whose message is used as written (it holds user data such
    as table names, which must not be interpolated)."""
    logger._log(level, message, extra, interpolate=False)


class DictDB:
    """An in-memory database: ``db.tables`` maps names to `Table` objects."""

    def __init__(self):
        self.tables = {}
        self._core = _native.DatabaseCore()
        if logger._enabled(_INFO):
            _emit(_INFO, "Initialized an empty DictDB instance.", component="DictDB")

    def create_table(self, table_name, primary_key="id", *, schema=None):
        """Creates and registers a table; DuplicateTableError if the name is taken."""
        if logger._enabled(_DEBUG):
            _emit(_DEBUG, 
                f"[DictDB] Creating table '{table_name}'",
                component="DictDB", op="create_table", table=table_name,
            )
        if table_name in self.tables:
            raise DuplicateTableError(f"table '{table_name}' already exists")
        self.tables[table_name] = Table(table_name, primary_key, schema)
        if logger._enabled(_INFO):
            _emit(_INFO, 
                f"Created table '{table_name}'",
                component="DictDB", op="create_table", table=table_name,
            )

    def drop_table(self, table_name):
        """Removes a table; TableNotFoundError if there is none of that name."""
        if logger._enabled(_DEBUG):
            _emit(_DEBUG, 
                f"[DictDB] Dropping table '{table_name}'",
                component="DictDB", op="drop_table", table=table_name,
            )
        if table_name not in self.tables:
            raise TableNotFoundError(f"table '{table_name}' does not exist")
        del self.tables[table_name]
        if logger._enabled(_INFO):
            _emit(_INFO, 
                f"Dropped table '{table_name}'",
                component="DictDB", op="drop_table", table=table_name,
            )

    def get_table(self, table_name):
        """The table of that name (the same object every time)."""
        if logger._enabled(_DEBUG):
            _emit(_DEBUG, 
                f"[DictDB] Getting table '{table_name}'",
                component="DictDB", op="get_table", table=table_name,
            )
        try:
            return self.tables[table_name]
        except KeyError:
            raise TableNotFoundError(f"table '{table_name}' does not exist") from None

    def list_tables(self):
        """The table names, in registration order."""
        if logger._enabled(_DEBUG):
            _emit(_DEBUG, "[DictDB] Listing tables", component="DictDB", op="list_tables")
        return list(self.tables)

    def _catalog(self):
        """The native catalog, holding exactly the tables of ``self.tables``."""
        core = self.__dict__.get("_core")
        if core is None:  # a subclass that did not call DictDB.__init__
            core = self._core = _native.DatabaseCore()
        core.sync([t._core for t in self.tables.values()])
        return core

    def _absorb(self, core):
        """Registers in ``self.tables`` the tables SQL created, forgets those it
        dropped (the catalog is the truth after a statement)."""
        catalog = core.tables()
        kept = {}
        for name, table in self.tables.items():
            if any(table._core.same_table(c) for c in catalog):
                kept[name] = table
        for c in catalog:
            if not any(t._core.same_table(c) for t in kept.values()):
                kept[c.name] = Table._from_core(c)
        if list(kept.items()) != list(self.tables.items()):
            self.tables.clear()
            self.tables.update(kept)

    def sql(self, text, params=None):
        """Runs SQL over the tables of ``self.tables`` (sql.md): a list of dicts
        for rows (SELECT, RETURNING, EXPLAIN), the affected-row count for
        INSERT/UPDATE/DELETE, None for CREATE/DROP. ``params`` is a list or
        tuple for ``?``/``$n`` placeholders or a dict for ``:name`` ones.
        Errors raise SQLError or the matching DictDB exception."""
        core = self._catalog()
        before = core.generation()
        try:
            return core.execute(text, params)
        finally:
            if core.generation() != before:
                self._absorb(core)

    # -- CSV (§12.1) ------------------------------------------------------------

    def import_csv(self, filepath, table_name, *, primary_key="id", delimiter=",",
                   has_header=True, encoding="utf-8", schema=None, infer_types=True,
                   skip_validation=False):
        """Reads a CSV file into a new table (python-api.md §12.1); returns the
        number of records imported. The table is registered only once every row
        is in; a taken name raises DuplicateTableError before the file is read."""
        from ._csv import import_path
        from ._table import _schema_spec

        if table_name in self.tables:
            raise DuplicateTableError(f"table '{table_name}' already exists")
        spec = None
        if schema:
            schema = dict(schema)
            spec = _schema_spec(schema)
            if spec is None:
                raise ValueError(
                    f"import_csv into '{table_name}': the schema holds a type dictdb_rs cannot store"
                )
        core = self._catalog()
        with import_path(filepath, encoding) as path:
            count = core.import_csv(
                path, table_name, primary_key, delimiter, has_header, spec,
                infer_types, skip_validation,
            )
        self._absorb(core)
        if logger._enabled(_INFO):
            _emit(_INFO, f"Imported {count} records from '{filepath}' into '{table_name}'",
                  component="DictDB", op="import_csv", table=table_name,
                  path=str(filepath), records=count)
        return count

    def __repr__(self):
        return f"<dictdb_rs.DictDB tables={list(self.tables)!r}>"

    # -- persistence (python-api.md §5, §11) --------------------------------------

    def save(self, filename, file_format):
        """Saves every table to ``filename`` (str or path-like) as ``"json"`` or
        ``"pickle"`` (case-insensitive), atomically (§11)."""
        path = _os.fspath(filename)
        fmt = file_format.lower() if isinstance(file_format, str) else file_format
        if logger._enabled(_INFO):
            _emit(_INFO,
                f"Saving database to '{path}' ({fmt})",
                component="DictDB", op="save", path=path, format=fmt,
                tables=len(self.tables),
            )
        full_backup = _FULL_BACKUP.get()
        if full_backup:
            _FULL_BACKUP.set(False)
        if fmt == "json":
            self._save_json(path, full_backup)
        elif fmt == "pickle" and full_backup:
            self._backup_pickle(path)
        elif fmt == "pickle":
            _native.write_atomic(path, _pickle.dumps(self))
        else:
            raise ValueError(f"Unsupported file format: {file_format!r} (use 'json' or 'pickle')")
        if logger._enabled(_INFO):
            records = sum(len(t) for t in self.tables.values())
            _emit(_INFO,
                f"Saved {len(self.tables)} tables ({records} records) to '{path}'",
                component="DictDB", op="save", path=path, format=fmt,
                tables=len(self.tables), records=records,
            )

    def _save_json(self, path, full_backup=False):
        """The JSON layout of §11.2 through the engine (without the GIL); each
        table named by its ``db.tables`` key. A full backup captures the rows
        and resets tracking in one step per table, and puts the tracking back
        if the file cannot be written (§13.2)."""
        cores = []
        names = []
        renamed = False
        for key, table in self.tables.items():
            if not isinstance(key, str):
                raise TypeError(f"table names must be str to be saved, not {type(key).__name__}")
            unknown = _unknown_schema_type(table)
            if unknown is not None:
                field, tp = unknown
                raise ValueError(
                    f"table '{key}': schema type {getattr(tp, '__name__', tp)!r} of field "
                    f"'{field}' cannot be saved as JSON (only int, str, float, bool, list, "
                    "dict, bytes, date, datetime, optionally | None)"
                )
            core = table._core
            names.append((core, key))
            if full_backup:
                continue
            if key != core.name:
                # The file names a table by its key: save a copy under that name.
                core = core.renamed(key)
                renamed = True
            cores.append(core)
        if full_backup:
            catalog = self._catalog()
            capture = catalog.capture_full()
            try:
                capture.write_json(path, names)
            except BaseException:
                catalog.put_back(capture)
                raise
            return
        if renamed:
            target = _native.DatabaseCore()
            target.sync(cores)
        else:
            target = self._catalog()
        target.save(path)

    def _backup_pickle(self, path):
        """A pickled full backup: every table's rows captured with its tracking
        reset in one step, pickled from the capture, written atomically; the
        tracking goes back if that fails (§13.2)."""
        catalog = self._catalog()
        capture = catalog.capture_full()
        token = _CAPTURED.set(capture)
        try:
            _native.write_atomic(path, _pickle.dumps(self))
        except BaseException:
            catalog.put_back(capture)
            raise
        finally:
            _CAPTURED.reset(token)

    @classmethod
    def load(cls, filename, file_format):
        """A new database (an instance of ``cls`` for JSON) read from a file
        written by ``save`` (JSON also from DictDB); tables in file order,
        tracking clean (§11)."""
        path = _os.fspath(filename)
        fmt = file_format.lower() if isinstance(file_format, str) else file_format
        if logger._enabled(_INFO):
            _emit(_INFO,
                f"Loading database from '{path}' ({fmt})",
                component="DictDB", op="load", path=path, format=fmt,
            )
        if fmt == "json":
            core = _native.DatabaseCore.load(path)
            db = cls()
            db._core = core
            for c in core.tables():
                db.tables[c.name] = Table._from_core(c)
        elif fmt == "pickle":
            with open(path, "rb") as f:
                db = _RestrictedUnpickler(f).load()
            if not isinstance(db, DictDB):
                raise _pickle.UnpicklingError(
                    f"'{path}' holds a {type(db).__name__}, not a DictDB"
                )
        else:
            raise ValueError(f"Unsupported file format: {file_format!r} (use 'json' or 'pickle')")
        if logger._enabled(_INFO):
            records = sum(len(t) for t in db.tables.values())
            _emit(_INFO,
                f"Loaded {len(db.tables)} tables ({records} records) from '{path}'",
                component="DictDB", op="load", path=path, format=fmt,
                tables=len(db.tables), records=records,
            )
        return db

    async def async_save(self, filename, file_format):
        """``save`` in a worker thread."""
        await _asyncio.to_thread(self.save, filename, file_format)

    @classmethod
    async def async_load(cls, filename, file_format):
        """``load`` in a worker thread."""
        return await _asyncio.to_thread(cls.load, filename, file_format)

    def __reduce__(self):
        # Pickle records the class and the instance dict, with `tables` (each
        # Table pickles itself, §6.14); the native catalog is rebuilt.
        state = {k: v for k, v in self.__dict__.items() if k != "_core"}
        return (_copyreg.__newobj__, (type(self),), state)

    def __setstate__(self, state):
        if not isinstance(state, dict) or not isinstance(state.get("tables"), dict):
            raise TypeError("a pickled DictDB's state must be a dict holding a 'tables' dict")
        self.__dict__.update(state)
        self._core = _native.DatabaseCore()
        # As after a load: the tables read are the registry baseline (§13.2).
        self._catalog().reset_registry_baseline()


class _RestrictedUnpickler(_pickle.Unpickler):
    """Resolves only the builtins of §11.3 and dictdb_rs.DictDB / Table."""

    _BUILTINS = frozenset(
        ("dict", "list", "set", "frozenset", "tuple", "str", "int", "float", "bool",
         "bytes", "type")
    )

    def find_class(self, module, name):
        if module == "builtins" and name in self._BUILTINS:
            return getattr(_builtins, name)
        if module == "dictdb_rs" and name in ("DictDB", "Table"):
            return DictDB if name == "DictDB" else Table
        raise _pickle.UnpicklingError(f"global '{module}.{name}' is not allowed")


DictDB.__module__ = "dictdb_rs"
