from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, TypeVar, overload

from typing_extensions import TypeAlias

from ._aggregate import Agg
from ._dsl import Field
from ._typing import (
    PrimaryKey,
    Record,
    RecordIn,
    SchemaIn,
    SchemaType,
    StrPath,
    Value,
    Where,
)
from ._views import HashIndex, RecordsView, SortedIndex

__all__ = ["Table"]

_R = TypeVar("_R", bound=RecordIn)

# `columns=` of select (§6.6 step 4): names, {alias: field}, or (alias, field) pairs.
_Columns: TypeAlias = list[str] | tuple[str, ...] | dict[str, str] | list[tuple[str, str]]
# `order_by=`: a name or names, each optionally prefixed with "-" (descending).
_OrderBy: TypeAlias = str | list[str] | tuple[str, ...]

class Table:
    table_name: str
    primary_key: str
    def __init__(
        self, name: str, primary_key: str = "id", schema: SchemaIn | None = None
    ) -> None: ...
    # Any other attribute is a Field of that name (§6.2): `table.age >= 18`.
    def __getattr__(self, name: str) -> Field: ...
    def field(self, name: str) -> Field: ...
    @property
    def records(self) -> RecordsView: ...
    @property
    def indexes(self) -> Mapping[str, HashIndex | SortedIndex]: ...
    @property
    def schema(self) -> dict[str, SchemaType] | None: ...
    def validate_record(self, record: RecordIn) -> None: ...
    # A list is a bulk insert (returns the pks in input order); anything else
    # is one record (returns its pk).
    @overload
    def insert(
        self,
        record: list[_R],
        *,
        batch_size: int | None = None,
        skip_validation: bool = False,
    ) -> list[PrimaryKey]: ...
    @overload
    def insert(
        self,
        record: RecordIn,
        *,
        batch_size: int | None = None,
        skip_validation: bool = False,
    ) -> PrimaryKey: ...
    def upsert(
        self,
        record: RecordIn,
        on_conflict: Literal["update", "ignore", "error"] = "update",
    ) -> tuple[PrimaryKey, Literal["inserted", "updated", "ignored"]]: ...
    def update(self, changes: RecordIn, where: Where | None = None) -> int: ...
    def delete(self, where: Where | None = None) -> int: ...
    # copy=False may hand out lighter read-only mappings instead of dicts (§6.6 step 7).
    @overload
    def select(
        self,
        columns: _Columns | None = None,
        where: Where | None = None,
        *,
        order_by: _OrderBy | None = None,
        limit: int | None = None,
        offset: int = 0,
        copy: Literal[True] = True,
        distinct: bool = False,
    ) -> list[Record]: ...
    @overload
    def select(
        self,
        columns: _Columns | None = None,
        where: Where | None = None,
        *,
        order_by: _OrderBy | None = None,
        limit: int | None = None,
        offset: int = 0,
        copy: bool,
        distinct: bool = False,
    ) -> list[Mapping[str, Value]]: ...
    def get(self, pk: PrimaryKey) -> Record | None: ...
    def all(self) -> list[Record]: ...
    def copy(self) -> dict[PrimaryKey, Record]: ...
    def count(self) -> int: ...
    def size(self) -> int: ...
    def __len__(self) -> int: ...
    def columns(self) -> list[str]: ...
    def schema_fields(self) -> list[str]: ...
    def primary_key_name(self) -> str: ...
    # Without group_by: one dict {name: value}; with group_by: one dict per group.
    @overload
    def aggregate(
        self, where: Where | None = None, group_by: None = None, **aggregations: Agg
    ) -> dict[str, Value]: ...
    @overload
    def aggregate(
        self, where: Where | None, group_by: str | Sequence[str], **aggregations: Agg
    ) -> list[dict[str, Value]]: ...
    @overload
    def aggregate(
        self, where: Where | None = None, *, group_by: str | Sequence[str], **aggregations: Agg
    ) -> list[dict[str, Value]]: ...
    def export_csv(
        self,
        filepath: StrPath,
        *,
        records: Iterable[RecordIn] | None = None,
        columns: Iterable[str] | None = None,
        where: Where | None = None,
        delimiter: str = ",",
        encoding: str = "utf-8",
    ) -> int: ...
    def create_index(self, field: str, index_type: str = "hash") -> None: ...
    def indexed_fields(self) -> list[str]: ...
    def has_index(self, field: str) -> bool: ...
    def has_changes(self) -> bool: ...
    def get_dirty_records(self) -> list[Record]: ...
    def get_deleted_pks(self) -> list[PrimaryKey]: ...
    def clear_dirty_tracking(self) -> None: ...
