"""A small program over the public API of dictdb_rs, written with full type
annotations. tests/test_stubs.py type-checks it with ``mypy --strict`` against
the package's stubs (and runs it). It is not a test module itself.
"""

from __future__ import annotations

import datetime
import pathlib
import sys
import tempfile
from typing import Optional

import dictdb_rs
from dictdb_rs import (
    And,
    Avg,
    BackupManager,
    Condition,
    Count,
    DictDB,
    DuplicateKeyError,
    Max,
    Min,
    Not,
    Or,
    RecordNotFoundError,
    Sum,
    Table,
    configure_logging,
    logger,
)
from dictdb_rs.core.types import Record, Schema
from dictdb_rs.storage import persist


def build(db: DictDB) -> Table:
    db.create_table("employees")
    employees: Table = db.get_table("employees")
    employees.create_index("dept")
    employees.create_index("salary", index_type="sorted")
    first = employees.insert({"name": "Alice", "dept": "IT", "salary": 95000})
    assert first == 1
    # A list whose value type is narrower than the stubs' Value is accepted
    # (the record type is a read-only Mapping, so it is covariant).
    more: list[dict[str, str | int | list[str] | datetime.date | bytes]] = [
        {"name": "Bob", "dept": "HR", "salary": 60000, "tags": ["a", "b"]},
        {"name": "Carol", "dept": "IT", "salary": 105000, "hired": datetime.date(2020, 1, 2)},
        {"name": "Dan", "dept": "HR", "salary": 65000, "raw": b"\x00\x01"},
    ]
    pks = employees.insert(more, batch_size=2, skip_validation=False)
    assert pks == [2, 3, 4], pks
    pk, action = employees.upsert({"id": 2, "salary": 61000}, on_conflict="update")
    assert (pk, action) == (2, "updated")
    try:
        employees.insert({"id": 1, "name": "dup"})
    except DuplicateKeyError:
        pass
    return employees


def query(employees: Table) -> None:
    it = employees.dept == "IT"
    rich = Condition(employees.salary >= 90000)
    where = And(it, rich, Or(employees.name.startswith("A"), employees.name.like("C%")))
    top = employees.select(
        ["name", "salary"], where, order_by=["-salary", "name"], limit=10, offset=0
    )
    names: list[str] = [str(row["name"]) for row in top]
    assert names == ["Carol", "Alice"], names
    aliased = employees.select({"who": "name"}, Not(it), distinct=True)
    assert {r["who"] for r in aliased} == {"Bob", "Dan"}
    assert employees.select(where=rich & (employees.dept != "HR")) != []
    assert employees.select(where=~rich | employees.salary.between(1, 2)) != []
    assert employees.select(where=employees.field("name").is_in(["Bob", "Zed"]))

    alice = employees.get(1)
    assert alice is not None and alice["name"] == "Alice"
    missing: Optional[Record] = employees.get(99)
    assert missing is None

    changed: int = employees.update({"bonus": 1000}, where=it)
    assert changed == 2
    removed: int = employees.delete(employees.name == "Dan")
    assert removed == 1
    try:
        employees.delete(employees.name == "nobody")
    except RecordNotFoundError:
        pass

    totals = employees.aggregate(count=Count(), total=Sum("salary"), avg=Avg("salary"))
    assert totals["count"] == 3
    per_dept = employees.aggregate(
        where=employees.salary > 0, group_by="dept", lo=Min("salary"), hi=Max("salary")
    )
    depts = [group["dept"] for group in per_dept]
    assert depts == ["IT", "HR"], depts
    avg = Avg("salary").compute([2, 4, 6])
    assert avg == 4.0


def sql(db: DictDB) -> None:
    result = db.sql("SELECT name FROM employees WHERE salary > ? ORDER BY name", [70000])
    assert isinstance(result, list)
    assert [row["name"] for row in result] == ["Alice", "Carol"]
    count = db.sql("UPDATE employees SET salary = salary + 1 WHERE dept = :d", {"d": "HR"})
    assert count == 1


def persistence(db: DictDB, directory: pathlib.Path) -> None:
    schema: Schema = {"code": str, "n": int}
    db.tables["typed"] = Table("typed", primary_key="code", schema=schema)
    db.create_table("notes", schema={"id": int, "text": Optional[str]})
    path = directory / "db.json"
    db.save(path, "json")
    again = DictDB.load(str(path), "JSON")
    assert again.list_tables() == db.list_tables()
    persist.save(db, directory / "db.pickle", "pickle", allowed_dir=directory)

    manager = BackupManager(
        db,
        directory / "backups",
        backup_interval=3600,
        min_backup_interval=0.0,
        incremental=True,
        max_deltas_before_full=3,
        on_backup_failure=lambda exc, n: print(f"backup failed ({n}): {exc}"),
    )
    manager.backup_full()
    manager.notify_change()
    failures: int = manager.consecutive_failures
    deltas: int = manager.deltas_since_full
    assert failures == 0 and deltas >= 0
    assert manager.backup_dir.is_dir()


def main() -> None:
    lines: list[str] = []
    configure_logging(level="WARNING", console=False)
    logger.add(lines.append, level="ERROR")
    logger.bind(component="sample").error("sample {what}", what="ran")
    assert lines and lines[-1].endswith("sample ran"), lines
    version: str = dictdb_rs.__version__
    assert version

    db = DictDB()
    employees = build(db)
    query(employees)
    sql(db)
    with tempfile.TemporaryDirectory() as tmp:
        persistence(db, pathlib.Path(tmp))
    logger.remove()
    print("ok", file=sys.stderr)


if __name__ == "__main__":
    main()
