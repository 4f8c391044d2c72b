from collections.abc import Mapping, Sequence

from ._table import Table
from ._typing import Record, SchemaIn, StrPath, ValueIn

__all__ = ["DictDB"]

class DictDB:
    # The registry itself: a plain, mutable dict name -> Table (§5).
    tables: dict[str, Table]
    def __init__(self) -> None: ...
    def create_table(
        self, table_name: str, primary_key: str = "id", *, schema: SchemaIn | None = None
    ) -> None: ...
    def drop_table(self, table_name: str) -> None: ...
    def get_table(self, table_name: str) -> Table: ...
    def list_tables(self) -> list[str]: ...
    # Rows (SELECT, RETURNING, EXPLAIN) as dicts, an affected-row count for
    # INSERT/UPDATE/DELETE, None for DDL (sql.md).
    def sql(
        self,
        text: str,
        params: Sequence[ValueIn] | Mapping[str, ValueIn] | None = None,
    ) -> list[Record] | int | None: ...
    def import_csv(
        self,
        filepath: StrPath,
        table_name: str,
        *,
        primary_key: str = "id",
        delimiter: str = ",",
        has_header: bool = True,
        encoding: str = "utf-8",
        schema: SchemaIn | None = None,
        infer_types: bool = True,
        skip_validation: bool = False,
    ) -> int: ...
    def save(self, filename: StrPath, file_format: str) -> None: ...
    @classmethod
    def load(cls, filename: StrPath, file_format: str) -> DictDB: ...
    async def async_save(self, filename: StrPath, file_format: str) -> None: ...
    @classmethod
    async def async_load(cls, filename: StrPath, file_format: str) -> DictDB: ...
