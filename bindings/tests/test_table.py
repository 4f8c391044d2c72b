"""python-api.md §5 (DictDB) and §6 (Table): registry, constructor, inserts,
upserts, select, update, delete, indexes, introspection and change tracking."""

import datetime as dt
import enum
import threading
from typing import Optional

import pytest

import dictdb_rs as dictdb
from dictdb_rs import (
    DictDB,
    DuplicateKeyError,
    DuplicateTableError,
    RecordNotFoundError,
    SchemaValidationError,
    Table,
    TableNotFoundError,
)


@pytest.fixture
def people():
    t = Table("people")
    t.insert(
        [
            {"name": "Ada", "age": 36, "city": "London"},
            {"name": "Grace", "age": 45, "city": "New York"},
            {"name": "Linus", "age": None, "city": "Helsinki"},
            {"name": "Alan", "age": 41, "city": "London"},
            {"name": "Edsger", "age": 72},
        ]
    )
    return t


# -- §5 DictDB -------------------------------------------------------------------


def test_registry_is_a_plain_dict():
    db = DictDB()
    assert db.tables == {}
    db.create_table("users")
    assert isinstance(db.tables["users"], Table)
    assert db.get_table("users") is db.tables["users"]
    db.tables["people"] = Table("people", schema={"name": str})
    assert db.list_tables() == ["users", "people"]
    del db.tables["users"]
    assert db.list_tables() == ["people"]
    with pytest.raises(TableNotFoundError):
        db.get_table("users")


def test_create_and_drop_table():
    db = DictDB()
    assert db.create_table("t", primary_key="code", schema={"code": str, "n": int}) is None
    t = db.get_table("t")
    assert t.primary_key == "code" and t.schema == {"code": str, "n": int}
    with pytest.raises(DuplicateTableError):
        db.create_table("t")
    db.drop_table("t")
    with pytest.raises(TableNotFoundError):
        db.drop_table("t")
    with pytest.raises(TableNotFoundError):
        db.get_table("t")


def test_dictdb_is_subclassable():
    class MyDB(DictDB):
        pass

    db = MyDB()
    db.create_table("x")
    assert db.list_tables() == ["x"]


# -- §6.1 constructor and attributes ----------------------------------------------


def test_constructor_copies_the_schema_and_adds_the_key():
    schema = {"name": str}
    t = Table("t", schema=schema)
    assert schema == {"name": str}
    assert t.schema == {"name": str, "id": int}
    assert t.schema["id"] is int
    t.schema["x"] = int
    assert "x" not in t.schema
    assert t.table_name == "t" and t.primary_key == "id"
    assert Table("u").schema is None


def test_table_is_subclassable_with_attributes():
    class Mine(Table):
        pass

    t = Mine("t")
    t.note = "hello"
    assert t.note == "hello"
    t.insert({"a": 1})
    assert t.count() == 1


# -- §6.2 field access --------------------------------------------------------------


def test_unknown_attributes_are_fields():
    t = Table("t")
    assert type(t.age).__name__ == "Field"
    assert hasattr(t, "anything_at_all")
    assert type(t.field("insert")).__name__ == "Field"
    assert callable(t.insert)


# -- §6.3 validation ----------------------------------------------------------------


def test_schema_checks_in_order():
    t = Table("t", schema={"name": str, "age": int, "score": float})
    with pytest.raises(SchemaValidationError, match="missing field 'age'"):
        t.insert({"name": "a", "score": 1.0})
    with pytest.raises(SchemaValidationError, match="age"):
        t.insert({"name": "a", "age": "x", "score": 1.0})
    with pytest.raises(SchemaValidationError, match="score"):
        t.insert({"name": "a", "age": 1, "score": 1})  # int fails float
    with pytest.raises(SchemaValidationError, match="not defined in the schema"):
        t.insert({"name": "a", "age": 1, "score": 1.0, "extra": 1})
    assert t.insert({"name": "a", "age": True, "score": 1.0}) == 1  # bool passes int
    assert t.count() == 1


def test_nullable_fields():
    t = Table("t", schema={"name": str, "note": Optional[str], "n": int | None})
    t.insert({"name": "a"})
    t.insert({"name": "b", "note": None, "n": None})
    t.insert({"name": "c", "note": "x", "n": 3})
    with pytest.raises(SchemaValidationError):
        t.insert({"name": None})
    assert t.count() == 3


def test_skip_validation():
    t = Table("t", schema={"name": str})
    t.insert({"name": 5}, skip_validation=True)
    t.insert([{"name": 6}], skip_validation=True)
    assert [r["name"] for r in t.all()] == [5, 6]


def test_validate_record_override_is_used():
    calls = []

    class Strict(Table):
        def validate_record(self, record):
            calls.append(dict(record))
            if record.get("name") == "bad":
                raise ValueError("no bad names")

    t = Strict("t", schema={"name": str})
    t.insert({"name": "good"})
    with pytest.raises(ValueError, match="no bad names"):
        t.insert({"name": "bad"})
    with pytest.raises(ValueError):
        t.insert([{"name": "ok"}, {"name": "bad"}])
    assert t.count() == 1
    with pytest.raises(ValueError):
        t.update({"name": "bad"}, where=t.name == "good")
    assert t.get(1)["name"] == "good"
    assert calls


def test_override_sees_the_real_record_and_its_exception_unchanged():
    seen = []
    boom = KeyError("custom failure")

    class Audited(Table):
        def validate_record(self, record):
            seen.append(dict(record))
            if record.get("n") == 13:
                raise boom

    class Tag(str):
        pass

    t = Audited("t", schema={"name": str, "n": int})
    t.insert({"name": Tag("a"), "n": 1})
    assert seen[-1] == {"name": "a", "n": 1, "id": 1}, "the auto pk it is about to get"
    assert t.insert([{"name": "b", "n": 2}, {"id": 9, "name": "c", "n": 3}]) == [2, 9]
    assert seen[-2:] == [{"name": "b", "n": 2, "id": 2}, {"id": 9, "name": "c", "n": 3}]
    # The record as the caller passed it: subclass instances reach the override.
    t.upsert({"id": 1, "name": Tag("z")})
    assert type(seen[-1]["name"]) is Tag and seen[-1] == {"id": 1, "name": "z", "n": 1}
    t.update({"n": 5}, where=t.name == "b")
    assert seen[-1] == {"id": 2, "name": "b", "n": 5}, "stored row overlaid with the changes"
    before = t.all()
    with pytest.raises(KeyError) as e:
        t.update({"n": 13})
    assert e.value is boom, "the override's own exception object"
    with pytest.raises(KeyError):
        t.upsert({"id": 9, "n": 13})
    with pytest.raises(KeyError):
        t.insert([{"name": "x", "n": 4}, {"name": "y", "n": 13}])
    assert t.all() == before


def test_override_runs_under_the_write_lock():
    """The merged record an override sees is the row as it is when the write
    applies: concurrent increments through update never validate a stale row."""
    import threading

    seen = []
    lock = threading.Lock()

    class Recording(Table):
        def validate_record(self, record):
            with lock:
                seen.append(record["who"])

    r = Recording("r", schema={"n": int, "who": str})
    r.insert({"id": 1, "n": 0, "who": "start"})
    errors = []

    def writer(name):
        try:
            for i in range(50):
                r.upsert({"id": 1, "who": f"{name}{i}"})
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(c,)) for c in "abcd"]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    # 1 insert + 200 upserts validated, each exactly once.
    assert len(seen) == 201
    assert r.get(1)["who"] == seen[-1], "the last validated record is the one stored"


# -- §6.4 insert ----------------------------------------------------------------------


def test_auto_keys_and_the_callers_dict():
    t = Table("t")
    rec = {"name": "x"}
    assert t.insert(rec) == 1
    assert rec["id"] == 1
    assert t.insert({"id": 2, "name": "y"}) == 2
    assert t.insert({"name": "z"}) == 3
    assert t.insert({"id": None, "name": "w"}) == 4
    assert t.insert([{"id": 5}, {}, {"id": 10}, {}]) == [5, 6, 10, 11]
    assert t.insert([{"n": 1}]) == [12]


def test_failed_insert_changes_nothing():
    t = Table("t", schema={"name": str})
    rec = {"name": 1}
    with pytest.raises(SchemaValidationError):
        t.insert(rec)
    assert "id" not in rec
    batch = [{"name": "a"}, {"name": "b"}, {"name": 3}]
    with pytest.raises(SchemaValidationError):
        t.insert(batch)
    assert all("id" not in r for r in batch)
    assert t.count() == 0
    assert t.insert({"name": "a"}) == 1


def test_duplicate_keys():
    t = Table("t")
    t.insert({"id": 1})
    with pytest.raises(DuplicateKeyError, match="1") as e:
        t.insert({"id": 1.0})
    assert "t" in str(e.value)
    with pytest.raises(DuplicateKeyError):
        t.insert([{"id": 7}, {"id": 7}])
    assert t.count() == 1


def test_values_round_trip_and_are_copied():
    t = Table("t")
    tz = dt.timezone(dt.timedelta(hours=-3, minutes=-30))

    class Color(enum.IntEnum):
        RED = 1

    rec = {
        "none": None, "b": True, "i": -(2**63), "f": 1.5, "s": "Zoë", "raw": b"\x00\x01",
        "list": [1, (2, 3)], "d": {"k": [1]}, "day": dt.date(2024, 5, 1),
        "naive": dt.datetime(2024, 5, 1, 12, 30, 0, 250000),
        "aware": dt.datetime(2024, 5, 1, 12, 30, tzinfo=tz), "enum": Color.RED,
    }
    pk = t.insert(rec)
    got = t.get(pk)
    assert got["list"] == [1, [2, 3]]
    assert got["aware"] == rec["aware"] and got["aware"].utcoffset() == tz.utcoffset(None)
    assert type(got["enum"]) is int
    assert got["b"] is True and got["none"] is None
    assert got["raw"] == b"\x00\x01" and got["day"] == dt.date(2024, 5, 1)
    assert got["naive"] == rec["naive"] and got["naive"].tzinfo is None
    rec["d"]["k"].append(2)
    assert t.get(pk)["d"] == {"k": [1]}
    got["d"]["k"].append(3)
    assert t.get(pk)["d"] == {"k": [1]}


@pytest.mark.parametrize(
    "value, exc, fragment",
    [
        ({1, 2}, TypeError, "set"),
        ([1, {"x": bytearray(b"a")}], TypeError, "bytearray"),
        ({1: "a"}, TypeError, "keys must be str"),
        (2**63, OverflowError, "v"),
        ([object()], TypeError, "object"),
    ],
)
def test_unsupported_values(value, exc, fragment):
    t = Table("t")
    with pytest.raises(exc, match=fragment) as e:
        t.insert({"v": value})
    assert "'v'" in str(e.value)
    assert t.count() == 0


def test_bad_arguments():
    t = Table("t")
    with pytest.raises(TypeError):
        t.insert("not a dict")
    with pytest.raises(ValueError):
        t.insert({"a": 1}, batch_size=-1)
    assert t.insert([{"a": 1}, {"a": 2}], batch_size=1) == [1, 2]
    assert t.insert([], batch_size=0) == []
    with pytest.raises(TypeError):
        t.insert({"id": [1]})
    with pytest.raises(ValueError):
        t.insert({"id": float("nan")})


def test_concurrent_inserts_get_unique_keys():
    t = Table("t")
    winners = []

    def work():
        for _ in range(200):
            t.insert({"x": 1})
        try:
            t.insert({"id": "contended"})
            winners.append(1)
        except DuplicateKeyError:
            pass

    threads = [threading.Thread(target=work) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    keys = [r["id"] for r in t.all()]
    assert len(keys) == len(set(keys)) == 8 * 200 + 1
    assert winners == [1]


# -- §6.5 upsert ----------------------------------------------------------------------


def test_upsert():
    t = Table("t", schema={"code": str, "n": int}, primary_key="code")
    assert t.upsert({"code": "ABC", "n": 1}) == ("ABC", "inserted")
    assert t.upsert({"code": "ABC", "n": 2}) == ("ABC", "updated")
    assert t.get("ABC") == {"code": "ABC", "n": 2}
    assert t.upsert({"code": "ABC", "n": 3}, on_conflict="ignore") == ("ABC", "ignored")
    with pytest.raises(DuplicateKeyError):
        t.upsert({"code": "ABC", "n": 4}, on_conflict="error")
    with pytest.raises(ValueError):
        t.upsert({"code": "ABC"}, on_conflict="replace")
    with pytest.raises(SchemaValidationError):
        t.upsert({"code": "ABC", "n": "x"})
    assert t.get("ABC") == {"code": "ABC", "n": 2}
    u = Table("u")
    rec = {"v": 1}
    assert u.upsert(rec) == (1, "inserted") and rec["id"] == 1


# -- §6.6 select ----------------------------------------------------------------------


def test_select_pipeline(people):
    t = people
    assert [r["name"] for r in t.select(where=t.age >= 40)] == ["Grace", "Alan", "Edsger"]
    assert [r["name"] for r in t.select(where=t.city == "London", order_by="-age")] == ["Alan", "Ada"]
    assert t.select(["name"], t.id == 1) == [{"name": "Ada"}]
    assert t.select({"who": "name"}, where=t.id == 2) == [{"who": "Grace"}]
    assert t.select([("who", "name"), ("where", "city")], where=t.id == 5) == [{"who": "Edsger", "where": None}]
    assert t.select([], where=t.id == 1) == [{}]
    assert [r["id"] for r in t.select(order_by=["age", "-name"])] == [3, 1, 4, 2, 5]
    assert [r["id"] for r in t.select(limit=2, offset=1)] == [2, 3]
    assert [r["id"] for r in t.select(limit=-1, offset=-5)] == [1, 2, 3, 4, 5]
    assert t.select(limit=0) == []
    assert [r["city"] for r in t.select(["city"], distinct=True)] == ["London", "New York", "Helsinki", None]
    with pytest.raises(TypeError, match="must be a Condition or PredicateExpr"):
        t.select(where="age > 3")


def test_select_results_are_copies(people):
    rows = people.select(copy=False)
    rows[0]["name"] = "changed"
    assert people.get(1)["name"] == "Ada"


# -- §6.7 update / §6.8 delete --------------------------------------------------------


def test_update(people):
    t = people
    assert t.update({"age": 37}, where=t.name == "Ada") == 1
    assert t.get(1)["age"] == 37
    with pytest.raises(RecordNotFoundError):
        t.update({"age": 1}, where=t.name == "nobody")
    assert t.update({"flag": True}) == 5
    # Re-keying keeps the place; a taken key changes nothing.
    assert t.update({"id": 100}, where=t.id == 2) == 1
    assert [r["id"] for r in t.all()] == [1, 100, 3, 4, 5]
    with pytest.raises(DuplicateKeyError):
        t.update({"id": 1}, where=t.id == 3)
    with pytest.raises(ValueError):
        t.update({"id": None}, where=t.id == 3)
    assert t.insert({"x": 1}) == 101


def test_delete(people):
    t = people
    assert t.delete(where=t.city == "London") == 2
    with pytest.raises(RecordNotFoundError):
        t.delete(where=t.city == "London")
    assert t.delete() == 3
    with pytest.raises(RecordNotFoundError):
        t.delete()


# -- §6.9 indexes ---------------------------------------------------------------------


def test_create_index(people):
    t = people
    t.create_index("city")
    t.create_index("age", index_type="SORTED")
    t.create_index("city", "sorted")  # already indexed: nothing
    assert t.indexed_fields() == ["city", "age"]
    assert t.has_index("age") and not t.has_index("name")
    with pytest.raises(ValueError):
        t.create_index("name", "btree")
    assert [r["name"] for r in t.select(where=(t.city == "London") | (t.age > 70))] == ["Ada", "Alan", "Edsger"]
    assert [r["name"] for r in t.select(where=t.city == None)] == ["Edsger"]  # noqa: E711


# -- §6.10 introspection ----------------------------------------------------------------


def test_introspection(people):
    t = people
    assert t.count() == t.size() == len(t) == 5
    assert t.columns() == ["age", "city", "id", "name"]
    assert t.schema_fields() == [] and t.primary_key_name() == "id"
    assert [r["id"] for r in t.all()] == [1, 2, 3, 4, 5]
    assert list(t.copy()) == [1, 2, 3, 4, 5] and t.copy()[2]["name"] == "Grace"
    assert t.get(3)["name"] == "Linus" and t.get(99) is None and t.get(1.0)["name"] == "Ada"
    typed = Table("typed", primary_key="code", schema={"code": str, "n": int})
    assert typed.columns() == ["code", "n"] and typed.schema_fields() == ["code", "n"]


# -- §6.11 change tracking ----------------------------------------------------------------


def test_change_tracking():
    t = Table("t")
    assert not t.has_changes()
    t.insert([{"a": 1}, {"a": 2}, {"a": 3}])
    t.delete(where=t.id == 2)
    t.update({"a": 10}, where=t.id == 3)
    assert t.has_changes()
    assert [r["id"] for r in t.get_dirty_records()] == [1, 3]
    assert t.get_deleted_pks() == [2]
    t.clear_dirty_tracking()
    assert not t.has_changes() and t.get_dirty_records() == [] and t.get_deleted_pks() == []
    t.insert({"id": 2, "a": 2})
    assert t.get_deleted_pks() == [] and [r["id"] for r in t.get_dirty_records()] == [2]


def test_package_surface():
    assert dictdb.__version__ == "0.1.0"
    for name in ("DictDB", "Table", "DictDBError", "SQLError"):
        assert hasattr(dictdb, name)
    assert Table.__module__ == "dictdb_rs" and DictDB.__module__ == "dictdb_rs"


# -- §6.12 aggregate / §8 aggregations ---------------------------------------------------


def test_aggregate():
    from dictdb_rs import Avg, Count, Max, Min, Sum

    t = Table("emp")
    t.insert(
        [
            {"dept": "HR", "salary": 60000},
            {"dept": "IT", "salary": 80000},
            {"dept": "HR", "salary": 65000},
            {"dept": "IT", "salary": 90000, "bonus": 1.5},
            {"dept": None, "salary": 70000},
        ]
    )
    assert t.aggregate(count=Count(), total=Sum("salary"), avg=Avg("salary")) == {
        "count": 5, "total": 365000, "avg": 73000.0,
    }
    got = t.aggregate(group_by="dept", count=Count(), avg_salary=Avg("salary"))
    assert got == [
        {"dept": "HR", "count": 2, "avg_salary": 62500.0},
        {"dept": "IT", "count": 2, "avg_salary": 85000.0},
        {"dept": None, "count": 1, "avg_salary": 70000.0},
    ]
    assert t.aggregate(t.dept == "IT", lo=Min("salary"), hi=Max("salary"), b=Count("bonus")) == {
        "lo": 80000, "hi": 90000, "b": 1,
    }
    assert t.aggregate(where=t.dept == "nobody", group_by=["dept"], n=Count()) == []
    assert Table("empty").aggregate(count=Count(), total=Sum("x")) == {"count": 0, "total": None}
    with pytest.raises(TypeError, match="Expected Agg instance"):
        t.aggregate(n=len)
    assert Sum("x").compute([1, 2, None, True]) == 4
    assert Sum("x").compute([0.1] * 10) == 1.0
    assert Avg("x").compute([2, 4, 6]) == 4.0
    assert Count().compute([None, 1]) == 2 and Count("x").compute([None, 1]) == 1
    assert Min("x").compute(["b", 3, None]) == 3 and Max("x").compute([]) is None
    with pytest.raises(OverflowError):
        Sum("x").compute([2**62, 2**62])
    with pytest.raises(TypeError):
        Sum("x").compute(["a"])


def test_records_view(people):
    t = people
    recs = t.records
    assert len(recs) == 5 and 1 in recs and 99 not in recs and [1] not in recs
    assert recs[2]["name"] == "Grace" and recs.get(99) is None
    assert list(recs) == [1, 2, 3, 4, 5] and list(recs.keys()) == [1, 2, 3, 4, 5]
    assert recs == {r["id"]: r for r in t.all()}
    with pytest.raises(TypeError):
        recs[9] = {}
    with pytest.raises(TypeError):
        del recs[1]
    recs[1]["name"] = "changed"
    assert t.get(1)["name"] == "Ada"
    t.insert({"name": "new"})
    assert len(recs) == 6  # live


def test_index_objects(people):
    t = people
    t.create_index("age")
    t.create_index("city", "sorted")
    assert list(t.indexes) == ["age", "city"]
    age, city = t.indexes["age"], t.indexes["city"]
    assert type(age).__name__ == "HashIndex" and hasattr(age, "index")
    assert type(city).__name__ == "SortedIndex" and not hasattr(city, "index")
    assert age.index[36] == {1} and None in age.index and age.index[None] == {3}
    t.update({"age": 45}, where=t.name == "Ada")
    assert 36 not in age.index and age.index[45] == {1, 2} and age.index[45.0] == {1, 2}
    assert len(age.index) == 4 and dict(age.index.items())[72] == {5}
    assert city.search("London") == {1, 4} and city.search("Paris") == set()
    with pytest.raises(TypeError):
        t.indexes["x"] = 1


def test_nesting_limit():
    """Values may nest 1000 levels (what a save can load again); deeper ones are
    refused with a ValueError naming the field, and nothing is stored."""
    t = Table("t")
    deep = 0
    for _ in range(1000):
        deep = [deep]
    pk = t.insert({"v": deep})
    got, levels = t.get(pk)["v"], 0
    while isinstance(got, list):
        got, levels = got[0], levels + 1
    assert (levels, got) == (1000, 0)
    with pytest.raises(ValueError, match="'v'"):
        t.insert({"v": [deep]})
    assert len(t) == 1


def test_field_objects_are_reused_and_attributes_still_win():
    import pickle

    t = Table("t")
    t.insert({"age": 3})
    assert t.age is t.age, "one Field per name, kept on the instance"
    assert t.select(where=t.age == 3) == [{"id": 1, "age": 3}]
    t.age = "mine"  # instance attribute assignment still works (§6.1)
    assert t.age == "mine" and t.field("age").name == "age"
    assert t._private_name.name == "_private_name"
    assert "_private_name" not in vars(t), "underscore names are not kept"
    back = pickle.loads(pickle.dumps(t))
    assert back.all() == t.all() and "age" not in vars(back)


@pytest.mark.parametrize("key", [1, 2, 99, "k", True, 1.0, -5])
def test_writes_by_pk_equal_the_general_path(key):
    """`where=t.id == k` (one key lookup for int and str keys) gives exactly
    what the same condition through the general path gives."""
    def make():
        t = Table("t")
        t.insert([{"id": 1, "n": 1}, {"id": 2, "n": 2}, {"id": "k", "n": 3}, {"id": -5, "n": 4}])
        return t

    fast, slow = make(), make()
    outcomes = []
    for t, where in ((fast, lambda t: t.id == key),
                     (slow, lambda t: (t.id == key) & (t.n > -1000))):
        got = []
        for op in (lambda: t.update({"n": 7}, where=where(t)),
                   lambda: t.update({"id": 50}, where=where(t)),
                   lambda: t.delete(where=where(t)),
                   lambda: t.delete(where=t.id == 50)):
            try:
                got.append(op())
            except Exception as e:  # compared by class and message
                got.append((type(e), str(e)))
        outcomes.append((got, t.all(), t.get_dirty_records(), t.get_deleted_pks()))
    assert outcomes[0] == outcomes[1]


def test_rows_of_many_shapes_come_back_whole_and_in_order():
    """A select builds each dict from a per-shape template from a shape's second
    row on, for up to 16 shapes: rows of 40 interleaved shapes (more than the
    templates) come back with exactly their own fields, in stored order."""
    t = Table("t")
    expected = []
    for i in range(400):
        shape = i % 40
        rec = {"id": i}
        for f in range(shape % 7):
            rec[f"f{(shape + f) % 9}"] = f * i
        if shape % 3 == 0:
            rec["extra"] = None
        expected.append(rec)
    t.insert([dict(r) for r in expected])
    got = t.select()
    assert got == expected
    assert [list(r) for r in got] == [list(r) for r in expected]
    assert [list(r) for r in t.select(where=t.id >= 0)] == [list(r) for r in expected]
    got[1]["f1"] = "changed"  # each dict is its own, not the template
    assert t.select(where=t.id == 1) == [expected[1]]
    assert t.select(where=t.id == 41) == [expected[41]]


def test_record_keys_of_any_str_object():
    """Field names reach the engine the same whether the key strings are
    literals, built at run time, or instances of a str subclass; results always
    have plain str keys."""
    import json

    class Key(str):
        pass

    t = Table("t")
    t.insert({"id": 1, "name": "lit"})
    t.insert(json.loads('{"id": 2, "name": "json"}'))
    t.insert({Key("id"): 3, Key("name"): "sub", "".join(["na", "me2"]): "built"})
    t.update({Key("name"): "sub2"}, where=t.id == 3)
    t.upsert({Key("id"): 4, "name": "up"})
    rows = t.select()
    assert rows == [
        {"id": 1, "name": "lit"},
        {"id": 2, "name": "json"},
        {"id": 3, "name": "sub2", "name2": "built"},
        {"id": 4, "name": "up"},
    ]
    assert {type(k) for r in rows for k in r} == {str}
    assert {type(k) for k in t.get(3)} == {str}
    with pytest.raises(UnicodeEncodeError):
        t.insert({"id": 5, "\ud800": 1})
    with pytest.raises(UnicodeEncodeError):
        t.insert({"id": 5, "name": "\ud800"})
    assert len(t) == 4


def test_one_row_calls_wait_for_a_busy_lock_without_the_gil():
    """A one-row call that finds the table's lock taken waits for it with the
    GIL released: a callable running under the lock (which needs the GIL) can
    finish, and the waiting write lands after it."""
    t = Table("t")
    t.insert([{"id": i, "n": i} for i in range(1, 6)])
    inside = threading.Event()
    go = threading.Event()

    def slow(record):
        inside.set()
        assert go.wait(5)
        return True

    def reader():
        out.append(len(t.select(where=(t.n > 0) & slow)))

    out = []
    th = threading.Thread(target=reader)
    th.start()
    assert inside.wait(5)
    writes = []

    def writer():
        writes.append(t.insert({"id": 6, "n": 6}))
        writes.append(t.update({"n": 60}, where=t.id == 6))
        writes.append(t.get(6))
        writes.append(t.delete(where=t.id == 1))

    w = threading.Thread(target=writer)
    w.start()
    w.join(0.2)
    assert w.is_alive(), "the insert waits for the select's lock"
    go.set()
    th.join(5)
    w.join(5)
    assert not th.is_alive() and not w.is_alive()
    assert out == [5]
    assert writes == [6, 1, {"id": 6, "n": 60}, 1]
