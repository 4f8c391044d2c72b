from typing import Any

from typing_extensions import TypeAlias

__all__ = ["Record", "Schema"]

# DictDB's aliases, as python-api.md §2 gives them. The stubs' own, more
# precise aliases (Value, Record, RecordIn, ...) are in dictdb_rs._typing.
Record: TypeAlias = dict[str, Any]
Schema: TypeAlias = dict[str, type]
