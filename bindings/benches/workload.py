"""The standard workload of performance.md, run from Python against one engine.

Engines (each runs in its own process when driven by ``bench.py``):

=============  ===================================================================
``dictdb_rs``  this project, through its DictDB DSL (``t.get``, ``t.select``,
               ``t.aggregate``, ...) and, as a second variant, through ``db.sql``
``sqlite3``    Python's sqlite3, ``:memory:``, autocommit, indexes, the statement
               cache (every query text is prepared once and reused)
``duckdb``     DuckDB's Python API, in-memory, ``PRIMARY KEY`` plus ART indexes
``polars``     a polars ``DataFrame`` and its expressions (no per-row writes)
``dictdb-py``  pure-Python DictDB 1.11.0 (PyPI ``dctdb``, ``import dictdb``);
               needs Python >= 3.13, so ``bench.py`` runs it in another venv
=============  ===================================================================

The table ``t``: ids 1..N, ``name = f"name{id}"``, ``age`` uniform in 18..80,
``city`` one of 50 names, ``score`` uniform in [0, 100), ``active`` with p = 0.5,
from ``random.Random(42)``; a hash index on ``city`` and a sorted index on ``age``.

For every op and every variant of an engine, ``run_engine`` first runs a few
calls untimed and keeps their answers, normalised (rows sorted by id, one list
per row; top-k by score then id; groups by city), so that ``compare`` can check
that every engine agrees before any time is reported. Then it times the op:
warm-up once, then repetitions of a batch of calls, medians reported by
``bench.py``. A slow engine may time only a prefix of the op's calls (the
per-call time is what is compared); the result says how many calls it timed.

Run one engine: ``python workload.py --engine sqlite3 --rows 100000 --out r.json``.
Everything here is stdlib apart from the engine being run, so the module runs
under any Python >= 3.9 (dictdb-py needs 3.13).
"""

import argparse
import gc
import hashlib
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time

SEED = 42
ARGS_SEED = 7
NEW_ROWS_SEED = 43
AGE_MIN, AGE_MAX = 18, 80
COLS = ("id", "name", "age", "city", "score", "active")

# The 50 city names of the Rust workload crate (workload/src/lib.rs).
CITIES = (
    "Amsterdam", "Athens", "Auckland", "Bangkok", "Barcelona", "Beijing", "Berlin",
    "Bogota", "Boston", "Brussels", "Budapest", "Buenos Aires", "Cairo", "Cape Town",
    "Chicago", "Copenhagen", "Delhi", "Dubai", "Dublin", "Edinburgh", "Helsinki",
    "Hong Kong", "Istanbul", "Jakarta", "Johannesburg", "Kyiv", "Lagos", "Lima",
    "Lisbon", "London", "Los Angeles", "Madrid", "Melbourne", "Mexico City", "Montreal",
    "Moscow", "Mumbai", "Nairobi", "New York", "Oslo", "Paris", "Prague", "Rome",
    "San Francisco", "Santiago", "Seoul", "Singapore", "Stockholm", "Tokyo", "Vienna",
)
assert len(CITIES) == 50, len(CITIES)

# Calls per op (performance.md), in a full run and in --quick mode.
COUNTS = {"point": 10_000, "eq": 1_000, "range": 1_000, "topk": 100, "group": 100,
          "like": 100, "insert": 10_000, "update": 1_000, "delete": 1_000}
QUICK_COUNTS = {"point": 200, "eq": 10, "range": 10, "topk": 3, "group": 3, "like": 3,
                "insert": 100, "update": 50, "delete": 50}
# Calls whose answers are checked (a prefix of the op's calls).
CHECK = {"point": 200, "eq": 10, "range": 10, "topk": 2, "group": 2, "like": 2,
         "insert": 50, "update": 10, "delete": 10}
QUICK_ROWS = 2_000

READ_OPS = ("point", "eq", "range", "topk", "group", "like")
WRITE_OPS = ("insert", "update", "delete")
OPS = ("bulk_load",) + READ_OPS + WRITE_OPS + ("save", "load", "memory")

# Output forms. Ratios compare dictdb_rs only with peers of the same form.
DICTS = "dicts"          # a dict per row (a list of them; one dict for point)
TUPLES = "tuples"        # sqlite3's native rows (informational)
FRAME = "DataFrame"      # a columnar result: a polars DataFrame
SCALAR = "int"           # one number
NONE = "-"               # writes: nothing to read back


# --------------------------------------------------------------------------
# data


class Data:
    """The standard table as Python columns, plus the seeded call arguments."""

    def __init__(self, n, quick=False):
        self.n = n
        rng = random.Random(SEED)
        self.ids = list(range(1, n + 1))
        self.names = [f"name{i}" for i in self.ids]
        self.ages, self.cities, self.scores, self.actives = [], [], [], []
        for _ in self.ids:
            self.ages.append(rng.randint(AGE_MIN, AGE_MAX))
            self.cities.append(CITIES[rng.randrange(len(CITIES))])
            self.scores.append(rng.random() * 100.0)
            self.actives.append(rng.random() < 0.5)

        counts = QUICK_COUNTS if quick else COUNTS
        self.counts = dict(counts)
        a = random.Random(ARGS_SEED)
        self.args = {
            "point": [a.randint(1, n) for _ in range(counts["point"])],
            "eq": [CITIES[a.randrange(len(CITIES))] for _ in range(counts["eq"])],
            "range": [a.randint(AGE_MIN, AGE_MAX - 2) for _ in range(counts["range"])],
            "topk": [None] * counts["topk"],
            "group": [None] * counts["group"],
            "like": [None] * counts["like"],
        }
        # Writes: new rows N+1.., and distinct existing keys for update/delete.
        g = random.Random(NEW_ROWS_SEED)
        self.new_rows = [
            {"id": i, "name": f"name{i}", "age": g.randint(AGE_MIN, AGE_MAX),
             "city": CITIES[g.randrange(len(CITIES))], "score": g.random() * 100.0,
             "active": g.random() < 0.5}
            for i in range(n + 1, n + 1 + counts["insert"])
        ]
        keys = a.sample(self.ids, min(n, counts["update"] + counts["delete"]))
        self.update_keys = keys[: counts["update"]]
        self.update_values = [round(a.random() * 100.0, 3) for _ in self.update_keys]
        self.delete_keys = keys[counts["update"]:][: counts["delete"]]
        # Rows whose state is compared after the writes and after save/load.
        self.probe_keys = sorted(set(
            self.update_keys[:20] + self.delete_keys[:20] + a.sample(self.ids, min(n, 50))
        ))

    def row(self, i):
        """Row with id ``i`` (1-based) as a fresh dict, in column order."""
        j = i - 1
        return {"id": i, "name": self.names[j], "age": self.ages[j], "city": self.cities[j],
                "score": self.scores[j], "active": self.actives[j]}

    def rows(self):
        return [
            {"id": i, "name": nm, "age": ag, "city": c, "score": s, "active": ac}
            for i, nm, ag, c, s, ac in zip(self.ids, self.names, self.ages, self.cities,
                                           self.scores, self.actives)
        ]

    def tuples(self):
        return list(zip(self.ids, self.names, self.ages, self.cities, self.scores,
                        self.actives))

    def columns(self):
        return {"id": self.ids, "name": self.names, "age": self.ages, "city": self.cities,
                "score": self.scores, "active": self.actives}


# --------------------------------------------------------------------------
# normalised answers


def canon(r):
    """A row (dict, or a tuple in COLS order) as a JSON-friendly list."""
    if r is None:
        return None
    if not isinstance(r, dict):
        r = dict(zip(COLS, r))
    return [int(r["id"]), r["name"], int(r["age"]), r["city"], float(r["score"]),
            bool(r["active"])]


def _rows_of(result):
    if hasattr(result, "to_dicts"):  # a polars DataFrame
        return result.to_dicts()
    return result


def norm_point(result):
    if isinstance(result, list):  # db.sql: a list of 0 or 1 rows
        result = result[0] if result else None
    return canon(result)


def norm_rowset(result):
    rows = sorted((canon(r) for r in _rows_of(result)), key=lambda r: r[0])
    blob = json.dumps(rows, separators=(",", ":")).encode()
    return {"n": len(rows), "sha": hashlib.sha1(blob).hexdigest()[:16],
            "ids": [r[0] for r in rows[:3]]}


def norm_topk(result):
    rows = [canon(r) for r in _rows_of(result)]
    return sorted(rows, key=lambda r: (-r[4], r[0]))


def norm_group(result):
    out = []
    for r in _rows_of(result):
        out.append([r["city"], int(r["count"]), float(r["avg"])])
    return sorted(out)


def norm_like(result):
    if isinstance(result, list):
        result = result[0]
    if isinstance(result, dict):
        (result,) = result.values()
    return int(result)


NORMALISE = {"point": norm_point, "eq": norm_rowset, "range": norm_rowset,
             "topk": norm_topk, "group": norm_group, "like": norm_like}


def same(a, b, rel=1e-9):
    """Equal JSON-like values, floats within ``rel`` (group averages are summed in
    a different order by every engine)."""
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        return abs(a - b) <= rel * max(1.0, abs(a), abs(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, rel) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rel) for k in a)
    return a == b


# --------------------------------------------------------------------------
# engines
#
# Each engine class implements:
#   version()                       -> str
#   load_input(data)                -> the bulk_load input in the engine's natural
#                                      shape (prepared untimed)
#   bulk_load(inp)                  -> builds self's table from it (timed)
#   drop()                          -> releases the table (untimed)
#   variants(op)                    -> [(variant, form, fn, note)] for a read or
#                                      write op; fn takes one call's argument
#   io_variants()                   -> [(variant, form, ext, save(path),
#                                        load(path) -> engine, note)]
#   write_arg(op, x)                -> a write call's argument in the engine's shape
#   remove_above(n), restore_scores(pairs), reinsert(rows)  (untimed repairs)
#   probe(keys) -> [canon row or None], count() -> int


class DictdbRs:
    name = "dictdb_rs"

    def __init__(self, db=None):
        import dictdb_rs

        self.m = dictdb_rs
        self.db = db
        self.t = None if db is None else db.get_table("t")

    def version(self):
        return self.m.__version__

    def load_input(self, data):
        return data.rows()

    def bulk_load(self, rows):
        db = self.m.DictDB()
        db.create_table("t", primary_key="id")
        t = db.get_table("t")
        t.insert(rows, batch_size=10_000)
        t.create_index("city", "hash")
        t.create_index("age", "sorted")
        self.db, self.t = db, t

    def bulk_variants(self):
        return [("dicts", DICTS, self.load_input, self.bulk_load,
                 "t.insert(list of dicts, batch_size=10_000) + create_index x2")]

    def drop(self):
        self.db = self.t = None

    def variants(self, op):
        m, db, t = self.m, self.db, self.t
        sel = "SELECT id, name, age, city, score, active FROM t"
        dsl = {
            "point": lambda k: t.get(k),
            "eq": lambda c: t.select(where=t.city == c),
            "range": lambda a: t.select(where=t.age.between(a, a + 2)),
            "topk": lambda _: t.select(where=t.active == True, order_by="-score",  # noqa: E712
                                       limit=10),
            "group": lambda _: t.aggregate(group_by="city", count=m.Count(),
                                           avg=m.Avg("score")),
            "like": lambda _: t.aggregate(where=t.name.like("%99%"), n=m.Count())["n"],
            "insert": lambda r: t.insert(r),
            "update": lambda kv: t.update({"score": kv[1]}, where=t.id == kv[0]),
            "delete": lambda k: t.delete(where=t.id == k),
        }
        sql = {
            "point": lambda k: db.sql(sel + " WHERE id = ?", [k]),
            "eq": lambda c: db.sql(sel + " WHERE city = ?", [c]),
            "range": lambda a: db.sql(sel + " WHERE age BETWEEN ? AND ?", [a, a + 2]),
            "topk": lambda _: db.sql(sel + " WHERE active ORDER BY score DESC LIMIT 10"),
            "group": lambda _: db.sql(
                "SELECT city, count(*) AS count, avg(score) AS avg FROM t GROUP BY city"),
            "like": lambda _: db.sql("SELECT count(*) AS n FROM t WHERE name LIKE '%99%'"),
            "insert": lambda r: db.sql(
                "INSERT INTO t (id, name, age, city, score, active) VALUES (?, ?, ?, ?, ?, ?)",
                [r["id"], r["name"], r["age"], r["city"], r["score"], r["active"]]),
            "update": lambda kv: db.sql("UPDATE t SET score = ? WHERE id = ?", [kv[1], kv[0]]),
            "delete": lambda k: db.sql("DELETE FROM t WHERE id = ?", [k]),
        }
        form = SCALAR if op == "like" else NONE if op in WRITE_OPS else DICTS
        return [("dsl", form, dsl[op], ""), ("sql", form, sql[op], "db.sql")]

    def io_variants(self):
        def load(path):
            return DictdbRs(self.m.DictDB.load(path, "json"))

        return [("json", "JSON file", "json", lambda p: self.db.save(p, "json"), load,
                 "db.save(path, 'json') / DictDB.load (atomic write with fsync)")]

    def write_arg(self, op, x):
        return x

    def remove_above(self, n):
        self.t.delete(where=self.t.id > n)

    def restore_scores(self, pairs):
        for k, s in pairs:
            self.t.update({"score": s}, where=self.t.id == k)

    def reinsert(self, rows):
        self.t.insert(rows)

    def probe(self, keys):
        return [canon(self.t.get(k)) for k in keys]

    def count(self):
        return len(self.t)


class PureDictDB:
    """Pure-Python DictDB 1.11.0 (``import dictdb``), with its logger sinks removed
    (as in python-api.md Appendix A)."""

    name = "dictdb-py"

    def __init__(self, db=None):
        import dictdb

        dictdb.logger.remove()
        self.m = dictdb
        self.db = db
        self.t = None if db is None else db.get_table("t")

    def version(self):
        from importlib.metadata import version

        return version("dctdb")

    def load_input(self, data):
        # DictDB stores the caller's dicts and its bulk insert is O(n^2) with
        # explicit pks (python-api.md Q10, Q16); with the pk left out it assigns
        # 1..N itself, which are the standard ids. Fresh dicts per load.
        rows = data.rows()
        for r in rows:
            del r["id"]
        return rows

    def bulk_load(self, rows):
        db = self.m.DictDB()
        db.create_table("t", primary_key="id")
        t = db.get_table("t")
        t.insert(rows, batch_size=10_000)
        t.create_index("city", "hash")
        t.create_index("age", "sorted")
        self.db, self.t = db, t

    def bulk_variants(self):
        return [("dicts", DICTS, self.load_input, self.bulk_load,
                 "t.insert(list of dicts without id: auto pks 1..N) + create_index x2")]

    def drop(self):
        self.db = self.t = None

    def variants(self, op):
        m, t = self.m, self.t
        if op == "point":
            def records(k):
                r = t.records.get(k)
                return None if r is None else r.copy()

            return [
                # DictDB has no `get` and no pk index: its public `records` dict is
                # the fast way; a select by pk scans the table.
                ("records", DICTS, records, "t.records.get(pk).copy()"),
                ("select", DICTS, lambda k: t.select(where=t.id == k),
                 "select(where=t.id == pk): a full scan"),
            ]
        if op in ("eq", "range", "topk"):
            where = {
                "eq": lambda c: t.city == c,
                "range": lambda a: t.age.between(a, a + 2),
                "topk": lambda _: t.active == True,  # noqa: E712
            }[op]
            extra = {"order_by": "-score", "limit": 10} if op == "topk" else {}
            return [
                ("select", DICTS, lambda x: t.select(where=where(x), **extra), ""),
                ("copy=False", DICTS, lambda x: t.select(where=where(x), copy=False, **extra),
                 "live stored dicts, no copy"),
            ]
        fns = {
            "group": (DICTS, lambda _: t.aggregate(group_by="city", count=m.Count(),
                                                   avg=m.Avg("score"))),
            "like": (SCALAR, lambda _: t.aggregate(where=t.name.like("%99%"),
                                                   n=m.Count())["n"]),
            "insert": (NONE, lambda r: t.insert(r)),
            # No pk index: update/delete by pk scan the table.
            "update": (NONE, lambda kv: t.update({"score": kv[1]}, where=t.id == kv[0])),
            "delete": (NONE, lambda k: t.delete(where=t.id == k)),
        }
        form, fn = fns[op]
        return [("api", form, fn, "")]

    def io_variants(self):
        def load(path):
            return PureDictDB(self.m.DictDB.load(path, "json"))

        return [("json", "JSON file", "json", lambda p: self.db.save(p, "json"), load,
                 "db.save(path, 'json') / DictDB.load (indexes are not saved, Q20)")]

    def write_arg(self, op, x):
        return dict(x) if isinstance(x, dict) else x  # DictDB keeps the caller's dict

    def remove_above(self, n):
        self.t.delete(where=self.t.id > n)

    def restore_scores(self, pairs):
        for k, s in pairs:
            self.t.update({"score": s}, where=self.t.id == k)

    def reinsert(self, rows):
        for r in rows:
            self.t.insert(dict(r))

    def probe(self, keys):
        return [canon(self.t.records.get(k)) for k in keys]

    def count(self):
        return len(self.t.records)


class Sqlite:
    name = "sqlite3"
    SEL = "SELECT id, name, age, city, score, active FROM t"

    def __init__(self, conn=None):
        import sqlite3

        self.m = sqlite3
        self.conn = conn

    def version(self):
        return self.m.sqlite_version

    def load_input(self, data):
        return data.tuples()

    def bulk_load(self, tuples, insert="INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)"):
        conn = self.m.connect(":memory:", isolation_level=None)  # autocommit
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, "
                     "city TEXT, score REAL, active BOOLEAN)")
        conn.execute("BEGIN")
        conn.executemany(insert, tuples)
        conn.execute("COMMIT")
        conn.execute("CREATE INDEX t_city ON t (city)")
        conn.execute("CREATE INDEX t_age ON t (age)")
        self.conn = conn

    def bulk_variants(self):
        named = "INSERT INTO t VALUES (:id, :name, :age, :city, :score, :active)"
        return [
            ("tuples", TUPLES, self.load_input, self.bulk_load,
             "executemany(tuples) in one transaction + CREATE INDEX x2"),
            ("dicts", DICTS, lambda data: data.rows(),
             lambda rows: self.bulk_load(rows, named),
             "executemany(dicts, named placeholders) in one transaction + CREATE INDEX x2"),
        ]

    def drop(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def variants(self, op):
        c, sel = self.conn, self.SEL

        def point(k):
            r = c.execute(sel + " WHERE id = ?", (k,)).fetchone()
            return None if r is None else dict(zip(COLS, r))

        queries = {
            "eq": (sel + " WHERE city = ?", lambda x: (x,)),
            "range": (sel + " WHERE age BETWEEN ? AND ?", lambda a: (a, a + 2)),
            "topk": (sel + " WHERE active ORDER BY score DESC LIMIT 10", lambda _: ()),
        }
        if op == "point":
            return [("dicts", DICTS, point, "dict(zip(cols, row))"),
                    ("tuples", TUPLES, lambda k: c.execute(sel + " WHERE id = ?", (k,)).fetchone(),
                     "native row tuple (info)")]
        if op in queries:
            q, params = queries[op]
            out = [("dicts", DICTS,
                    lambda x: [dict(zip(COLS, r)) for r in c.execute(q, params(x))],
                    "dict(zip(cols, row)) per row")]
            if op != "topk":
                out.append(("tuples", TUPLES, lambda x: c.execute(q, params(x)).fetchall(),
                            "native row tuples (info)"))
            return out
        if op == "group":
            gcols = ("city", "count", "avg")
            q = "SELECT city, count(*), avg(score) FROM t GROUP BY city"
            return [("dicts", DICTS, lambda _: [dict(zip(gcols, r)) for r in c.execute(q)], "")]
        if op == "like":
            q = "SELECT count(*) FROM t WHERE name LIKE '%99%'"
            return [("sql", SCALAR, lambda _: c.execute(q).fetchone()[0], "")]
        stmt = {
            "insert": ("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", lambda r: r),
            "update": ("UPDATE t SET score = ? WHERE id = ?", lambda kv: (kv[1], kv[0])),
            "delete": ("DELETE FROM t WHERE id = ?", lambda k: (k,)),
        }[op]
        q, params = stmt
        return [("sql", NONE, lambda x: c.execute(q, params(x)), "autocommit statement")]

    def io_variants(self):
        m = self.m

        def save(path):
            dst = m.connect(path)
            self.conn.backup(dst)
            dst.close()

        def load(path):
            src = m.connect(path)
            mem = m.connect(":memory:", isolation_level=None)
            src.backup(mem)
            src.close()
            return Sqlite(mem)

        return [("backup", "SQLite file", "sqlite", save, load,
                 "backup API: :memory: -> file, file -> new :memory:")]

    def write_arg(self, op, x):
        if op == "insert":
            return tuple(x[c] for c in COLS)
        return x

    def remove_above(self, n):
        self.conn.execute("DELETE FROM t WHERE id > ?", (n,))

    def restore_scores(self, pairs):
        self.conn.executemany("UPDATE t SET score = ? WHERE id = ?", [(s, k) for k, s in pairs])

    def reinsert(self, rows):
        self.conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
                              [tuple(r[c] for c in COLS) for r in rows])

    def probe(self, keys):
        return [canon(self.conn.execute(self.SEL + " WHERE id = ?", (k,)).fetchone())
                for k in keys]

    def count(self):
        return self.conn.execute("SELECT count(*) FROM t").fetchone()[0]


class Duck:
    name = "duckdb"
    SEL = "SELECT id, name, age, city, score, active FROM t"
    CREATE = ("CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR, age BIGINT, "
              "city VARCHAR, score DOUBLE, active BOOLEAN)")

    def __init__(self, con=None):
        import duckdb

        self.m = duckdb
        self.con = con

    def version(self):
        return self.m.__version__

    def load_input(self, data):
        return data.columns()

    def bulk_load(self, cols, rows=False):
        import pyarrow as pa

        con = self.m.connect(":memory:")
        con.execute(self.CREATE)
        src = pa.Table.from_pylist(cols) if rows else pa.Table.from_pydict(cols)
        con.register("src", src)
        con.execute("INSERT INTO t SELECT * FROM src")
        con.unregister("src")
        con.execute("CREATE INDEX t_city ON t (city)")
        con.execute("CREATE INDEX t_age ON t (age)")
        self.con = con

    def bulk_variants(self):
        return [
            ("columns", "columns", self.load_input, self.bulk_load,
             "pyarrow.Table.from_pydict(lists) -> INSERT INTO t SELECT + CREATE INDEX x2"),
            ("dicts", DICTS, lambda data: data.rows(), lambda rows: self.bulk_load(rows, True),
             "pyarrow.Table.from_pylist(dicts) -> INSERT INTO t SELECT + CREATE INDEX x2"),
        ]

    def drop(self):
        if self.con is not None:
            self.con.close()
        self.con = None

    def variants(self, op):
        con, sel = self.con, self.SEL

        def dicts(q, params):
            cur = con.execute(q, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

        if op == "point":
            def point(k):
                r = con.execute(sel + " WHERE id = ?", [k]).fetchone()
                return None if r is None else dict(zip(COLS, r))

            return [("dicts", DICTS, point, "execute().fetchone() -> dict")]
        queries = {
            "eq": (sel + " WHERE city = ?", lambda c: [c]),
            "range": (sel + " WHERE age BETWEEN ? AND ?", lambda a: [a, a + 2]),
            "topk": (sel + " WHERE active ORDER BY score DESC LIMIT 10", lambda _: None),
            "group": ("SELECT city, count(*) AS count, avg(score) AS avg FROM t GROUP BY city",
                      lambda _: None),
        }
        if op in queries:
            q, params = queries[op]
            out = [("dicts", DICTS, lambda x: dicts(q, params(x)), "execute().fetchall() -> dicts")]
            if op in ("eq", "range"):
                out.append(("polars", FRAME, lambda x: con.sql(q, params=params(x)).pl(),
                            "con.sql(...).pl()"))
            return out
        if op == "like":
            q = "SELECT count(*) FROM t WHERE name LIKE '%99%'"
            return [("sql", SCALAR, lambda _: con.execute(q).fetchone()[0], "")]
        stmt = {
            "insert": ("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", lambda r: r),
            "update": ("UPDATE t SET score = ? WHERE id = ?", lambda kv: [kv[1], kv[0]]),
            "delete": ("DELETE FROM t WHERE id = ?", lambda k: [k]),
        }[op]
        q, params = stmt
        return [("sql", NONE, lambda x: con.execute(q, params(x)), "autocommit statement")]

    def io_variants(self):
        m = self.m

        def save(path):
            self.con.execute(f"ATTACH '{path}' AS f")
            self.con.execute("COPY FROM DATABASE memory TO f")
            self.con.execute("DETACH f")

        def load(path):
            con = m.connect(":memory:")
            con.execute(f"ATTACH '{path}' AS f (READ_ONLY)")
            con.execute("COPY FROM DATABASE f TO memory")
            con.execute("DETACH f")
            return Duck(con)

        return [("file", "DuckDB file", "duckdb", save, load,
                 "ATTACH + COPY FROM DATABASE, both ways (schema, PK and indexes kept)")]

    def write_arg(self, op, x):
        if op == "insert":
            return [x[c] for c in COLS]
        return x

    def remove_above(self, n):
        self.con.execute("DELETE FROM t WHERE id > ?", [n])

    def restore_scores(self, pairs):
        self.con.executemany("UPDATE t SET score = ? WHERE id = ?", [[s, k] for k, s in pairs])

    def reinsert(self, rows):
        import pyarrow as pa

        cols = {c: [r[c] for r in rows] for c in COLS}
        self.con.register("src", pa.Table.from_pydict(cols))
        self.con.execute("INSERT INTO t SELECT * FROM src")
        self.con.unregister("src")

    def probe(self, keys):
        return [canon(self.con.execute(self.SEL + " WHERE id = ?", [k]).fetchone())
                for k in keys]

    def count(self):
        return self.con.execute("SELECT count(*) FROM t").fetchone()[0]


class Polars:
    name = "polars"
    NA_WRITES = ("a DataFrame is not written one row per call: each call would copy "
                 "the frame (O(N)); n/a")

    def __init__(self, df=None):
        import polars as pl

        self.pl = pl
        self.df = df

    def version(self):
        return self.pl.__version__

    def load_input(self, data):
        return data.columns()

    def bulk_load(self, cols):
        self.df = self.pl.DataFrame(cols)  # no indexes in polars

    def bulk_variants(self):
        return [
            ("columns", "columns", self.load_input, self.bulk_load,
             "pl.DataFrame(dict of lists); no indexes"),
            ("dicts", DICTS, lambda data: data.rows(), self.bulk_load,
             "pl.DataFrame(list of dicts); no indexes"),
        ]

    def drop(self):
        self.df = None

    def variants(self, op):
        pl, df = self.pl, self.df
        if op in WRITE_OPS:
            return []
        if op == "point":
            return [("row", DICTS, lambda k: df.row(by_predicate=pl.col("id") == k, named=True),
                     "df.row(by_predicate=..., named=True): a scan")]
        frames = {
            "eq": lambda c: df.filter(pl.col("city") == c),
            "range": lambda a: df.filter(pl.col("age").is_between(a, a + 2)),
            "topk": lambda _: df.filter(pl.col("active")).top_k(10, by="score"),
            "group": lambda _: df.group_by("city").agg(pl.len().alias("count"),
                                                       pl.col("score").mean().alias("avg")),
        }
        if op in frames:
            f = frames[op]
            return [("to_dicts", DICTS, lambda x: f(x).to_dicts(), "DataFrame.to_dicts()"),
                    ("frame", FRAME, f, "the DataFrame itself")]
        # like
        return [("expr", SCALAR,
                 lambda _: df.select(pl.col("name").str.contains("99", literal=True).sum()).item(),
                 "str.contains('99', literal=True).sum()")]

    def io_variants(self):
        pl = self.pl

        def read_ipc(path):
            # read_ipc(path) memory-maps the file (nothing read yet): read it.
            with open(path, "rb") as f:
                return Polars(pl.read_ipc(f.read()))

        return [
            ("ipc", "Arrow IPC file", "arrow", lambda p: self.df.write_ipc(p), read_ipc,
             "write_ipc / read_ipc of the file's bytes (not memory-mapped), uncompressed"),
            ("parquet", "Parquet file", "parquet", lambda p: self.df.write_parquet(p),
             lambda p: Polars(pl.read_parquet(p)), "write_parquet / read_parquet (zstd)"),
        ]

    def write_arg(self, op, x):
        return x

    def probe(self, keys):
        pl = self.pl
        sub = {r["id"]: r for r in self.df.filter(pl.col("id").is_in(keys)).to_dicts()}
        return [canon(sub.get(k)) for k in keys]

    def count(self):
        return self.df.height


ENGINES = {"dictdb_rs": DictdbRs, "sqlite3": Sqlite, "duckdb": Duck, "polars": Polars,
           "dictdb-py": PureDictDB}


# --------------------------------------------------------------------------
# measuring


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def trim_memory():
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except Exception:  # not glibc
        pass


class Budget:
    """How many calls and repetitions to time, from a first estimate per call."""

    def __init__(self, quick, seconds):
        self.quick = quick
        self.batch = 1.0 * seconds   # one timed batch at most about this long
        self.total = 6.0 * seconds   # all repetitions of one variant about this long

    def calls(self, count, per_call):
        if self.quick:
            return count
        if per_call <= 0:
            return count
        return max(min(count, 3), min(count, int(self.batch / per_call)))

    def reps(self, batch_time):
        if self.quick:
            return 1
        if batch_time <= 0:
            return 7
        return max(1 if batch_time > 5 else 3, min(7, int(self.total / batch_time)))


def _time(fn, args):
    gc.collect()
    t0 = time.perf_counter()
    for a in args:
        fn(a)
    return time.perf_counter() - t0


def _noop(_):
    return None


def harness_overhead():
    """Seconds per call of the timing loop calling a function that does nothing."""
    args = list(range(100_000))
    return min(_time(_noop, args) for _ in range(5)) / len(args)


class Runner:
    def __init__(self, engine_name, rows, quick=False, budget=1.0, tmpdir=None, log=None):
        self.cls = ENGINES[engine_name]
        self.engine_name = engine_name
        self.rows = rows
        self.quick = quick
        self.budget = Budget(quick, budget)
        self.tmpdir = tmpdir
        self.log = log or (lambda msg: None)
        self.ops = {}

    def record(self, op, variant, **entry):
        self.ops.setdefault(op, {})[variant] = entry

    def run(self):
        start = time.perf_counter()
        trim_memory()
        rss0 = rss_bytes()
        data = Data(self.rows, self.quick)
        eng = self.cls()
        result = {
            "engine": self.engine_name,
            "version": eng.version(),
            "python": platform.python_version(),
            "rows": self.rows,
            "quick": self.quick,
            "harness_overhead_s": harness_overhead(),
            "data_rss_bytes": rss_bytes() - rss0,
        }
        self.log(f"{self.engine_name} {result['version']} (Python {result['python']}), "
                 f"N={self.rows}")
        self.bulk_load(eng, data)
        for op in READ_OPS:
            self.read_op(eng, data, op)
        for op in WRITE_OPS:
            self.write_op(eng, data, op)
        self.record("state", "-", answers=[eng.count(), eng.probe(data.probe_keys)])
        self.save_load(eng, data)
        result["ops"] = self.ops
        result["seconds"] = time.perf_counter() - start
        return result

    # -- bulk_load and memory ------------------------------------------------

    def bulk_load(self, eng, data):
        # The first load, in a fresh process, is also the memory measurement: RSS
        # after the load (input freed) minus RSS before the input was built. An
        # engine that copies its input is charged for its copy only; DictDB, which
        # keeps the input dicts as its rows, is charged for them.
        for i, (variant, form, make_input, load, note) in enumerate(eng.bulk_variants()):
            eng.drop()
            trim_memory()
            before = rss_bytes()
            inp = make_input(data)
            t0 = time.perf_counter()
            load(inp)
            first = time.perf_counter() - t0
            del inp
            trim_memory()
            if i == 0:
                mem = rss_bytes() - before
                self.record("memory", "rss", form="bytes/row", value=mem / self.rows,
                            note=f"RSS growth over the load ({variant}), input freed")
            answers = [eng.count(), eng.probe(data.probe_keys)]
            reps = 0 if self.quick else self.budget.reps(first)
            times = [first] if self.quick else []
            for _ in range(reps):
                inp = make_input(data)
                eng.drop()
                trim_memory()
                t0 = time.perf_counter()
                load(inp)
                times.append(time.perf_counter() - t0)
                del inp
            trim_memory()
            self.record("bulk_load", variant, form=form, note=note, calls=1, of=1,
                        times=times, first=first, answers=answers)
            self.log(f"  bulk_load/{variant}: {_fmt(_median(times))} (median of {len(times)})"
                     + (f", memory {mem / self.rows:.0f} B/row" if i == 0 else ""))

    # -- reads -----------------------------------------------------------------

    def read_op(self, eng, data, op):
        args = data.args[op]
        norm = NORMALISE[op]
        for variant, form, fn, note in eng.variants(op):
            k = min(CHECK[op], len(args))
            if variant == "select" and op == "point":
                k = min(k, 3)  # a full scan per call
            t0 = time.perf_counter()
            raw = [fn(a) for a in args[:k]]
            per_call = (time.perf_counter() - t0) / k
            answers = [norm(r) for r in raw]
            del raw
            n = self.budget.calls(len(args), per_call)
            timed = args[:n]
            if not self.quick and n * per_call < 2.0:
                _time(fn, timed)  # warm-up
            reps = self.budget.reps(n * per_call)
            times = [_time(fn, timed) for _ in range(reps)]
            self.record(op, variant, form=form, note=note, calls=n, of=len(args),
                        times=times, answers=answers, check_args=args[:k])
            self.log(f"  {op}/{variant}: {_fmt(_median(times) / n)} per call "
                     f"({n} calls x {reps})")

    # -- writes ---------------------------------------------------------------

    def write_op(self, eng, data, op):
        variants = eng.variants(op)
        if not variants:
            self.record(op, "-", na=getattr(eng, "NA_WRITES", "n/a"))
            return
        n_rows = self.rows
        if op == "insert":
            base = data.new_rows
        elif op == "update":
            base = list(zip(data.update_keys, data.update_values))
        else:
            base = data.delete_keys

        def keys_of(xs):
            if op == "insert":
                return [x["id"] for x in xs]
            if op == "update":
                return [x[0] for x in xs]
            return list(xs)

        def repair(xs):
            if op == "insert":
                eng.remove_above(n_rows)
            elif op == "update":
                eng.restore_scores([(k, data.scores[k - 1]) for k, _ in xs])
            else:
                eng.reinsert([data.row(k) for k in xs])

        for variant, form, fn, note in variants:
            k = min(CHECK[op], len(base))
            check = base[:k]
            prepared = [eng.write_arg(op, x) for x in check]
            t0 = time.perf_counter()
            for a in prepared:
                fn(a)
            per_call = (time.perf_counter() - t0) / k
            answers = [eng.count(), eng.probe(keys_of(check))]
            repair(check)
            answers.append(eng.count())
            n = self.budget.calls(len(base), per_call)
            timed = base[:n]
            reps = self.budget.reps(n * per_call)
            if not self.quick and n * per_call < 2.0:
                reps += 1  # the first repetition is the warm-up
            times = []
            for _ in range(reps):
                prepared = [eng.write_arg(op, x) for x in timed]
                times.append(_time(fn, prepared))
                repair(timed)
            if not self.quick and len(times) > 1 and n * per_call < 2.0:
                times = times[1:]
            self.record(op, variant, form=form, note=note, calls=n, of=len(base),
                        times=times, answers=answers, check_args=keys_of(check))
            self.log(f"  {op}/{variant}: {_fmt(_median(times) / n)} per call "
                     f"({n} calls x {len(times)})")

    # -- save / load --------------------------------------------------------------

    def save_load(self, eng, data):
        tmp = tempfile.mkdtemp(prefix=f"bench-{self.engine_name}-", dir=self.tmpdir)
        try:
            for variant, form, ext, save, load, note in eng.io_variants():
                path = os.path.join(tmp, f"db.{ext}")
                save_times, load_times = [], []
                reps = None
                i = 0
                while reps is None or i < reps:
                    if os.path.exists(path):
                        os.remove(path)
                    gc.collect()
                    t0 = time.perf_counter()
                    save(path)
                    save_times.append(time.perf_counter() - t0)
                    gc.collect()
                    t0 = time.perf_counter()
                    loaded = load(path)
                    load_times.append(time.perf_counter() - t0)
                    if i == 0:
                        answers = [loaded.count(), loaded.probe(data.probe_keys)]
                        size = os.path.getsize(path)
                        reps = 1 if self.quick else 1 + self.budget.reps(
                            save_times[0] + load_times[0])
                    if hasattr(loaded, "drop"):
                        loaded.drop()
                    del loaded
                    i += 1
                if len(save_times) > 1:  # the first round is the warm-up
                    save_times, load_times = save_times[1:], load_times[1:]
                self.record("save", variant, form=form, note=note, calls=1, of=1,
                            times=save_times, bytes=size)
                self.record("load", variant, form="in memory", note=note, calls=1, of=1,
                            times=load_times, answers=answers)
                self.log(f"  save/{variant}: {_fmt(_median(save_times))}, "
                         f"load: {_fmt(_median(load_times))} ({size / 1e6:.1f} MB)")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _fmt(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.2f} µs"


def run_engine(engine_name, rows=None, quick=False, budget=1.0, tmpdir=None, log=None):
    """Runs the whole workload against one engine; a JSON-friendly dict."""
    if rows is None:
        rows = QUICK_ROWS if quick else 100_000
    return Runner(engine_name, rows, quick, budget, tmpdir, log).run()


# --------------------------------------------------------------------------
# comparing answers

REFERENCE_ORDER = ("dictdb_rs", "sqlite3", "duckdb", "polars", "dictdb-py")


def compare(results):
    """Checks that every engine's answers agree. ``results`` maps engine name to
    ``run_engine``'s result (all for the same N). Returns a list of mismatch
    messages naming the op, the engine/variant and the call; empty if all agree."""
    errors = []
    names = sorted(results, key=lambda e: REFERENCE_ORDER.index(e)
                   if e in REFERENCE_ORDER else len(REFERENCE_ORDER))
    ns = {results[e]["rows"] for e in names}
    if len(ns) > 1:
        return [f"results for different N: {sorted(ns)}"]
    ops = []
    for e in names:
        for op in results[e]["ops"]:
            if op not in ops:
                ops.append(op)
    for op in ops:
        ref = None
        for e in names:
            for variant, entry in results[e]["ops"].get(op, {}).items():
                if "answers" not in entry:
                    continue
                if ref is None:
                    ref = (f"{e}/{variant}", entry)
                    continue
                errors.extend(_compare_entry(op, ref, (f"{e}/{variant}", entry)))
    return errors


def _compare_entry(op, ref, other):
    rname, r = ref
    oname, o = other
    ra, oa = r["answers"], o["answers"]
    if op in READ_OPS:
        n = min(len(ra), len(oa))
        if n == 0 or (len(ra) != len(oa) and n < min(CHECK[op], 3)):
            return [f"{op}: {oname} checked {len(oa)} calls, {rname} {len(ra)}"]
        out = []
        for i in range(n):
            if not same(ra[i], oa[i]):
                arg = r.get("check_args", [None] * n)[i]
                out.append(f"{op}: call #{i} (argument {arg!r}): {oname} returned "
                           f"{_short(oa[i])}, {rname} returned {_short(ra[i])}")
                if len(out) >= 3:
                    break
        return out
    if not same(ra, oa):
        return [f"{op}: {oname} left/returned {_short(oa)}, {rname} {_short(ra)}"]
    return []


def _short(x, limit=300):
    s = json.dumps(x)
    return s if len(s) <= limit else s[:limit] + "..."


# --------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engine", required=True, choices=sorted(ENGINES))
    p.add_argument("--rows", type=int, default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--budget", type=float, default=1.0,
                   help="scale of the time spent per op (1.0: ~1 s per timed batch)")
    p.add_argument("--tmpdir", default=None)
    p.add_argument("--out", default="-", help="where to write the JSON result")
    a = p.parse_args(argv)
    res = run_engine(a.engine, a.rows, a.quick, a.budget, a.tmpdir,
                     log=lambda m: print(m, file=sys.stderr, flush=True))
    text = json.dumps(res)
    if a.out == "-":
        print(text)
    else:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
