"""python-api.md §15 and sql.md: `db.sql()` over the tables of `db.tables`;
its results equal `select()` results, and a small differential test against
Python's sqlite3."""

import random
import sqlite3

import pytest

from dictdb_rs import DictDB, DuplicateKeyError, SQLError, Table


@pytest.fixture
def db():
    db = DictDB()
    db.create_table("people")
    t = db.get_table("people")
    t.insert(
        [
            {"name": "Ada", "age": 36, "city": "London"},
            {"name": "Grace", "age": 45, "city": "New York"},
            {"name": "Linus", "age": None, "city": "Helsinki"},
            {"name": "Alan", "age": 41, "city": "London"},
        ]
    )
    return db


def test_sql_sees_the_registry(db):
    assert db.sql("SELECT name FROM people WHERE age > ? ORDER BY age", [40]) == [
        {"name": "Alan"},
        {"name": "Grace"},
    ]
    db.tables["other"] = Table("other")
    db.tables["other"].insert({"x": 1})
    assert db.sql("SELECT x FROM other") == [{"x": 1}]
    del db.tables["other"]
    with pytest.raises(SQLError, match="other"):
        db.sql("SELECT x FROM other")


def test_sql_ddl_updates_the_registry(db):
    assert db.sql("CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL, price REAL)") is None
    items = db.get_table("items")
    assert items.schema["label"] is str and items.primary_key == "id"
    assert db.sql("INSERT INTO items (label, price) VALUES ('a', 1.5), ('b', 2)") == 2
    assert items.select(order_by="-price") == [
        {"id": 2, "label": "b", "price": 2.0},
        {"id": 1, "label": "a", "price": 1.5},
    ]
    items.insert({"label": "c", "price": 0.5})
    assert db.sql("SELECT COUNT(*) AS n FROM items") == [{"n": 3}]
    db.sql("DROP TABLE items")
    assert "items" not in db.tables and db.list_tables() == ["people"]


def test_sql_results_equal_select(db):
    t = db.get_table("people")
    t.create_index("age", "sorted")
    assert db.sql("SELECT * FROM people WHERE age BETWEEN 30 AND 42 ORDER BY age DESC") == t.select(
        where=t.age.between(30, 42), order_by="-age"
    )
    assert db.sql("SELECT name, city FROM people WHERE city = :c", {"c": "London"}) == t.select(
        ["name", "city"], where=t.city == "London"
    )
    assert db.sql("UPDATE people SET age = age + 1 WHERE city = 'London'") == 2
    assert t.get(1)["age"] == 37
    assert db.sql("DELETE FROM people WHERE age IS NULL RETURNING name") == [{"name": "Linus"}]
    assert len(t) == 3


def test_sql_errors(db):
    with pytest.raises(SQLError, match="line 1"):
        db.sql("SELEC name FROM people")
    with pytest.raises(DuplicateKeyError):
        db.sql("INSERT INTO people (id, name) VALUES (1, 'dup')")
    with pytest.raises(TypeError):
        db.sql("SELECT * FROM people WHERE id = ?", "1")
    with pytest.raises(SQLError):
        db.sql("SELECT * FROM people WHERE id = ?", [])


def test_differential_against_sqlite():
    rng = random.Random(7)
    db = DictDB()
    db.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL)")
    lite = sqlite3.connect(":memory:")
    lite.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL)")
    rows = []
    for i in range(1, 201):
        a = rng.choice([None, rng.randint(-5, 5)])
        b = rng.choice([None, "x", "y", "zz", "Abc"])
        c = rng.choice([None, rng.random() * 10])
        rows.append((i, a, b, c))
    for r in rows:
        db.sql("INSERT INTO t VALUES (?, ?, ?, ?)", list(r))
        lite.execute("INSERT INTO t VALUES (?, ?, ?, ?)", r)
    db.get_table("t").create_index("a", "sorted")
    queries = [
        "SELECT id, a, b FROM t WHERE a > ? ORDER BY a, id",
        "SELECT id FROM t WHERE b = ? OR a = ? ORDER BY id",
        "SELECT b, COUNT(*) AS n, SUM(a) AS s FROM t GROUP BY b ORDER BY b",
        "SELECT id, c FROM t WHERE c BETWEEN ? AND ? ORDER BY c DESC, id LIMIT 7",
        "SELECT id FROM t WHERE a IS NULL AND b LIKE ? ORDER BY id",
    ]
    for _ in range(30):
        for q in queries:
            n = q.count("?")
            params = [rng.choice([rng.randint(-5, 5), "x", "zz", "A%", "%z%"]) for _ in range(n)]
            if "BETWEEN" in q:
                lo = rng.random() * 5
                params = [lo, lo + rng.random() * 5]
            if "LIKE" in q:
                params = [rng.choice(["x", "z%", "%b%", "A%"])]
            ours = [tuple(r.values()) for r in db.sql(q, params)]
            theirs = lite.execute(q, params).fetchall()
            assert len(ours) == len(theirs), (q, params)
            for x, y in zip(ours, theirs):
                for u, v in zip(x, y):
                    if isinstance(u, float) or isinstance(v, float):
                        assert u == pytest.approx(v), (q, params)
                    else:
                        assert u == v, (q, params)
