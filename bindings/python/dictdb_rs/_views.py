"""Read-only live views of a table (python-api.md §6.1, §6.9): `table.records`,
`table.indexes` and the index objects `HashIndex` and `SortedIndex`.

Each read asks the engine (under the table's read lock) and hands out copies,
so a view always reflects the current data and never aliases it.
"""

from collections.abc import Mapping

__all__ = ["RecordsView", "HashIndex", "SortedIndex"]


class RecordsView(Mapping):
    """pk → row, in insertion order; each row handed out is a fresh dict.
    Assignment and deletion raise TypeError."""

    __slots__ = ("_core",)

    def __init__(self, core):
        self._core = core

    def __getitem__(self, pk):
        row = self._core.get(pk)
        if row is None:
            raise KeyError(pk)
        return row

    def __contains__(self, pk):
        try:
            return self._core.contains(pk)
        except TypeError:
            return False

    def __iter__(self):
        return iter(self._core.keys())

    def __len__(self):
        return len(self._core)

    def __eq__(self, other):
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return f"RecordsView({dict(self.items())!r})"


class _Buckets(Mapping):
    """A hash index's value → set of pks, live."""

    __slots__ = ("_core", "_field")

    def __init__(self, core, field):
        self._core = core
        self._field = field

    def _entries(self):
        return self._core.index_entries(self._field) or []

    def __getitem__(self, value):
        try:
            keys = self._core.index_lookup(self._field, value)
        except TypeError:
            raise KeyError(value) from None
        if not keys:
            raise KeyError(value)
        return set(keys)

    def __iter__(self):
        return iter([v for v, _ in self._entries()])

    def __len__(self):
        return len(self._entries())

    def items(self):
        return [(v, set(keys)) for v, keys in self._entries()]

    def values(self):
        return [set(keys) for _, keys in self._entries()]

    def __repr__(self):
        return f"{{{', '.join(f'{v!r}: {k!r}' for v, k in self.items())}}}"


class HashIndex:
    """A hash index on the field ``field``: ``index`` maps each value to the
    set of pks holding it (live; equal values share a bucket, empty buckets
    disappear)."""

    def __init__(self, core, field):
        self.field = field
        self.index = _Buckets(core, field)

    def __repr__(self):
        return f"HashIndex({self.field!r})"


class SortedIndex:
    """A sorted (B-tree) index on the field ``field``, queried with
    ``search``; it has no ``index`` attribute (that is how programs tell it
    from a `HashIndex`)."""

    def __init__(self, core, field):
        self.field = field
        self._core = core

    def search(self, value):
        """The pks whose value equals ``value`` (Python equality)."""
        return set(self._core.index_lookup(self.field, value) or [])

    def __repr__(self):
        return f"SortedIndex({self.field!r})"


for _cls in (RecordsView, HashIndex, SortedIndex):
    _cls.__module__ = "dictdb_rs"
