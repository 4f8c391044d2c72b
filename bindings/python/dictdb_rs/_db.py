"""`DictDB` (python-api.md §5): the registry of tables.

``db.tables`` is a plain dict and is the registry itself: every method reads it
when called, so tables assigned into it or deleted from it directly count.
"""

from . import _native
from ._logging import logger
from ._table import Table
from .exceptions import DuplicateTableError, TableNotFoundError

__all__ = ["DictDB"]

_DEBUG = 10
_INFO = 20


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

    def __repr__(self):
        return f"<dictdb_rs.DictDB tables={list(self.tables)!r}>"


DictDB.__module__ = "dictdb_rs"
