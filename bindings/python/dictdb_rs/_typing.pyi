"""Type aliases of the dictdb_rs stubs (stub-only: there is no runtime module).

Usable in annotations under ``typing.TYPE_CHECKING`` (or with
``from __future__ import annotations``)::

    if TYPE_CHECKING:
        from dictdb_rs._typing import Record, Value
"""

import datetime
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union, _SpecialForm

from typing_extensions import TypeAlias

from ._dsl import Condition, PredicateExpr

# A value as a table stores it and hands it back (python-api.md §3.1): tuples
# come back as lists, int/float/str subclasses as the plain type.
Value: TypeAlias = Union[
    None,
    bool,
    int,
    float,
    str,
    bytes,
    datetime.datetime,
    datetime.date,
    list["Value"],
    dict[str, "Value"],
]

# A value a table accepts (§3.1): the same types, lists or tuples, dicts with
# str keys, nested to any depth. The containers are the read-only ABCs so that
# e.g. a ``list[str]`` or a ``dict[str, int]`` is accepted (``list`` and
# ``dict`` are invariant); anything else raises TypeError at runtime.
ValueIn: TypeAlias = Union[
    None,
    bool,
    int,
    float,
    str,
    bytes,
    datetime.datetime,
    datetime.date,
    Sequence["ValueIn"],
    Mapping[str, "ValueIn"],
]

# A row handed out by select, get, all, records, ... (a fresh dict).
Record: TypeAlias = dict[str, Value]

# A record passed to insert / upsert / update (a dict at runtime).
RecordIn: TypeAlias = Mapping[str, ValueIn]

# A primary-key value: the hashable stored types (§3.1).
PrimaryKey: TypeAlias = Union[bool, int, float, str, bytes, datetime.datetime, datetime.date]

# What ``where=`` accepts (§6.6 step 1): a Condition or a bare PredicateExpr.
Where: TypeAlias = Union[PredicateExpr, Condition]

# The right operand of ``&`` / ``|`` on a predicate (§7.3): a predicate, or any
# callable that takes a copy of the row.
Operand: TypeAlias = Union[PredicateExpr, Condition, Callable[[Record], object]]

# A file name: a str or a path-like object.
StrPath: TypeAlias = Union[str, "os.PathLike[str]"]

# A schema's field type (§6.1, §6.3): a type object, or ``Optional[T]`` /
# ``T | None`` for a nullable field (type checkers see ``Optional[T]`` as a
# ``typing._SpecialForm`` and ``T | None`` as a ``types.UnionType``).
if sys.version_info >= (3, 10):
    import types

    SchemaType: TypeAlias = Union[type[Any], types.UnionType, _SpecialForm]
else:
    SchemaType: TypeAlias = Union[type[Any], _SpecialForm]

# A schema as passed to ``Table`` / ``create_table`` / ``import_csv``.
SchemaIn: TypeAlias = Mapping[str, SchemaType]
