"""Performance habits with dictdb_rs, each checked for the right answer.

- bulk insert (one list, optional ``batch_size``) instead of a loop of inserts
- ``skip_validation=True`` for trusted data on a schema table
- hash indexes for equality / is_in, sorted indexes for ranges
- ``select(copy=False)`` for read-only loops over many rows
- top-k with ``order_by`` + ``limit`` instead of sorting everything in Python
- ``aggregate`` instead of summing in Python
- ``db.sql`` with placeholders (one plan per distinct text, reused)

Timings are printed for information only; the asserts check the results.

Run: python performance_habits.py
"""

import random
import time

import dictdb_rs as dictdb
from dictdb_rs import Avg, Count, Max, Sum

N = 100_000
DEPTS = ["eng", "ops", "sales", "hr", "legal", "finance", "support", "data", "it", "pr"]


def timed(label, fn, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    print(f"  {label:<48} {best * 1000:9.2f} ms")
    return result


def make_rows(n, seed=1):
    rng = random.Random(seed)
    return [
        {"name": f"emp{i:06d}", "dept": DEPTS[i % 10], "grp": i % 1000,
         "salary": rng.randrange(30_000, 150_000), "age": rng.randrange(20, 66)}
        for i in range(n)
    ]


def main():
    rows = make_rows(N)
    db = dictdb.DictDB()

    print("== inserting")
    db.create_table("loop")
    loop = db.get_table("loop")
    few = rows[:5_000]
    timed("5 000 single inserts in a loop", lambda: [loop.insert(dict(r)) for r in few])
    db.create_table("bulk")
    bulk = db.get_table("bulk")
    pks = timed("5 000 rows in one bulk insert", lambda: bulk.insert([dict(r) for r in few]))
    assert pks == list(range(1, 5_001))
    assert bulk.all() == loop.all()

    schema = {"id": int, "name": str, "dept": str, "grp": int, "salary": int, "age": int}
    db.create_table("checked", schema=schema)
    db.create_table("staff", schema=schema)
    checked, staff = db.get_table("checked"), db.get_table("staff")
    timed(f"{N:,} rows, schema validated, batch_size=20 000",
          lambda: checked.insert([dict(r) for r in rows], batch_size=20_000))
    timed(f"{N:,} rows, skip_validation=True",
          lambda: staff.insert([dict(r) for r in rows], skip_validation=True))
    assert staff.count() == checked.count() == N
    assert staff.get(12_345) == checked.get(12_345) == {"id": 12_345, **rows[12_344]}
    # skip_validation is for trusted data only: nothing is checked.
    try:
        checked.insert([{"name": "x", "dept": "eng", "grp": 1, "salary": "lots", "age": 30}])
    except dictdb.SchemaValidationError:
        pass
    else:
        raise AssertionError("validation should have refused a str salary")

    print("== indexes")
    by_grp = staff.grp == 421
    in_range = staff.salary.between(100_000, 100_999)
    scan_grp = timed("grp == v, full scan", lambda: staff.select(where=by_grp), repeat=3)
    scan_range = timed("salary between, full scan", lambda: staff.select(where=in_range),
                       repeat=3)
    timed("create_index('grp')  (hash)", lambda: staff.create_index("grp"))
    timed("create_index('salary', 'sorted')", lambda: staff.create_index("salary", "sorted"))
    hit_grp = timed("grp == v, hash index", lambda: staff.select(where=by_grp), repeat=3)
    hit_range = timed("salary between, sorted index", lambda: staff.select(where=in_range),
                      repeat=3)
    # Same rows, same (insertion) order, with or without an index.
    assert hit_grp == scan_grp and len(hit_grp) == N // 1000
    assert hit_range == scan_range
    assert all(100_000 <= r["salary"] <= 100_999 for r in hit_range)
    several = staff.select(where=staff.grp.is_in([1, 2, 3]))
    assert len(several) == 300 and {r["grp"] for r in several} == {1, 2, 3}
    pk_hit = timed("get(pk)", lambda: staff.get(77_777), repeat=3)
    assert pk_hit["name"] == "emp077776"

    print("== reading many rows")
    copies = timed("select() of every row, copy=True", lambda: staff.select(), repeat=3)
    views = timed("select() of every row, copy=False", lambda: staff.select(copy=False),
                  repeat=3)
    assert len(views) == N and views[0] == copies[0] and views[-1] == copies[-1]
    total = timed("sum of salaries over copy=False rows",
                  lambda: sum(r["salary"] for r in views))
    assert total == sum(r["salary"] for r in rows)
    try:
        views[0]["salary"] = 0  # copy=False rows may be read-only
    except TypeError:
        print("  copy=False rows are read-only views")
    assert staff.get(1)["salary"] == rows[0]["salary"]  # the table never changes

    print("== top-k")
    top = timed("order_by='-salary', limit=10",
                lambda: staff.select(["name", "salary"], order_by="-salary", limit=10),
                repeat=3)
    by_hand = timed("sorted() in Python, then [:10]", lambda: [
        {"name": r["name"], "salary": r["salary"]}
        for r in sorted(rows, key=lambda r: -r["salary"])[:10]], repeat=3)
    assert top == by_hand
    youngest_rich = staff.select(["name", "age", "salary"], where=staff.salary >= 140_000,
                                 order_by=["age", "-salary"], limit=3)
    expected = sorted((r for r in rows if r["salary"] >= 140_000),
                      key=lambda r: (r["age"], -r["salary"]))[:3]
    assert [r["name"] for r in youngest_rich] == [r["name"] for r in expected]

    print("== aggregate")
    stats = timed("aggregate count/avg/max group_by dept", lambda: staff.aggregate(
        group_by="dept", n=Count(), avg_salary=Avg("salary"), top=Max("salary")), repeat=3)
    for row in stats:
        mine = [r["salary"] for r in rows if r["dept"] == row["dept"]]
        assert row["n"] == len(mine) == N // 10
        assert row["top"] == max(mine)
        assert abs(row["avg_salary"] - sum(mine) / len(mine)) < 1e-6
    assert [row["dept"] for row in stats] == DEPTS
    payroll = staff.aggregate(where=staff.age >= 60, total=Sum("salary"), n=Count())
    assert payroll["total"] == sum(r["salary"] for r in rows if r["age"] >= 60)

    print("== SQL with placeholders")
    query = ("SELECT dept, COUNT(*) AS n, SUM(salary) AS total FROM staff "
             "WHERE age >= ? AND salary BETWEEN ? AND ? GROUP BY dept ORDER BY dept")
    result = timed("db.sql GROUP BY with ? placeholders",
                   lambda: db.sql(query, [40, 50_000, 90_000]), repeat=3)
    expect = {}
    for r in rows:
        if r["age"] >= 40 and 50_000 <= r["salary"] <= 90_000:
            n, total = expect.get(r["dept"], (0, 0))
            expect[r["dept"]] = (n + 1, total + r["salary"])
    assert result == [{"dept": d, "n": n, "total": t} for d, (n, t) in sorted(expect.items())]

    point = "SELECT name, salary FROM staff WHERE id = :id"
    timed("db.sql point query by pk, :name placeholder (x1000)",
          lambda: [db.sql(point, {"id": i}) for i in range(1, 1001)])
    assert db.sql(point, {"id": 42}) == [{"name": "emp000041", "salary": rows[41]["salary"]}]
    top3 = db.sql("SELECT name FROM staff ORDER BY salary DESC LIMIT ?", [3])
    assert [r["name"] for r in top3] == [r["name"] for r in top[:3]] or \
        len({r["salary"] for r in top[:4]}) < 4  # ties may order differently
    changed = db.sql("UPDATE staff SET age = age + 1 WHERE grp = ?", [421])
    assert changed == 100
    assert all(r["age"] == rows[r["id"] - 1]["age"] + 1
               for r in staff.select(where=staff.grp == 421))
    print("performance habits OK")


if __name__ == "__main__":
    main()
