"""Python callables inside ``where=`` (python-api.md §4, §6.6–6.8, §6.12, §6.13,
§7.3, §7.6, §10): the engine calls them per row under the table lock.

Every query result is checked against filtering ``table.all()`` in Python with
the same predicate (``pred(record)``), with and without indexes on the other
fields; callables short-circuit like Python's ``and`` / ``or``; their
exceptions come out unchanged and leave the table as it was; threads running
callables alongside writers never deadlock."""

import csv
import datetime as dt
import threading

import pytest

from dictdb_rs import And, Avg, Condition, Count, Not, Or, PredicateExpr, Sum, Table
from dictdb_rs import RecordNotFoundError

NAMES = ["Ada", "Alan", "Barbara", "Edsger", "Grace", "Ken", "Linus", "Anita", "Bjarne", "Ann"]
DEPTS = ["IT", "HR", "Ops"]


def rows():
    out = []
    for i in range(40):
        r = {"name": NAMES[i % len(NAMES)] + str(i), "dept": DEPTS[i % 3], "salary": 1000 * (i % 7)}
        if i % 5 == 1:
            r["age"] = None
        elif i % 5 != 3:  # i % 5 == 3: no "age" at all
            r["age"] = 20 + (i * 7) % 45
        out.append(r)
    return out


INDEXES = [
    (),
    (("age", "hash"), ("dept", "hash")),
    (("age", "sorted"), ("name", "sorted")),
    (("dept", "sorted"), ("salary", "hash"), ("age", "sorted")),
]


def make(indexes=()):
    t = Table("people")
    for field, kind in indexes:
        t.create_index(field, kind)
    t.insert(rows())
    return t


def starts_a(r):
    return r["name"].startswith("A")


def rich(r):
    return r.get("salary", 0) >= 4000


def predicates(t):
    """Conditions mixing native predicates and callables, in every shape the DSL
    allows (a callable is always a right operand)."""
    return [
        (t.age > 30) & starts_a,
        (t.age > 30) & (lambda r: r["age"] % 2 == 0),  # r["age"] exists: short-circuit
        (t.dept == "HR") | rich,
        ~((t.age >= 40) & starts_a),
        ~((t.dept == "IT") | rich),
        And(t.age > 20, t.dept == "IT") & starts_a,
        Condition(t.age < 50) & rich,
        Condition(t.dept == "Ops") | starts_a,
        ((t.age.is_in([27, 41, 48]) & rich) | t.name.like("E%")),
        (t.dept == "IT") & ((t.age > 40) | starts_a),
        ((t.dept == "IT") & starts_a) & (t.salary > 1000),
        ((t.age > 25) & starts_a) & ((t.dept == "HR") & rich),
        Or(t.age.is_null(), t.salary == 0) & (lambda r: r["dept"] != "Ops"),
        Not(t.age.between(30, 50)) & starts_a,
        (t.name.startswith("B") | starts_a) & rich,
        (t.age != None) & (lambda r: r["age"] >= 40),  # noqa: E711
        (t.dept == "HR") & (lambda r: True) & (lambda r: r.get("age") is None),
    ]


def expected(t, pred):
    return [r for r in t.all() if pred(r)]


@pytest.mark.parametrize("indexes", INDEXES, ids=lambda ix: ",".join(f"{f}:{k}" for f, k in ix) or "scan")
def test_select_equals_python_filter(indexes):
    t = make(indexes)
    for pred in predicates(t):
        want = expected(t, pred)
        assert t.select(where=pred) == want, pred
        assert t.select(None, pred) == want, pred
        assert t.select(["name"], where=pred) == [{"name": r["name"]} for r in want], pred


@pytest.mark.parametrize("indexes", INDEXES, ids=lambda ix: ",".join(f"{f}:{k}" for f, k in ix) or "scan")
def test_order_by_limit_offset(indexes):
    t = make(indexes)
    for pred in predicates(t):
        want = expected(t, pred)
        for key in ("age", "-age", "name", "-salary"):
            field = key.lstrip("-")
            missing_first = key[0] != "-"
            present = [r for r in want if r.get(field) is not None]
            absent = [r for r in want if r.get(field) is None]
            present.sort(key=lambda r: r[field], reverse=key[0] == "-")
            ordered = absent + present if missing_first else present + absent
            assert t.select(where=pred, order_by=key) == ordered, (pred, key)
            assert t.select(where=pred, order_by=key, limit=3) == ordered[:3], (pred, key)
            assert t.select(where=pred, order_by=key, limit=2, offset=1) == ordered[1:3]
        assert t.select(where=pred, limit=4, offset=2) == want[2:6]


@pytest.mark.parametrize("indexes", INDEXES[:3], ids=["scan", "hash", "sorted"])
def test_aggregate_and_count(indexes):
    t = make(indexes)
    for pred in predicates(t):
        want = expected(t, pred)
        got = t.aggregate(where=pred, n=Count(), total=Sum("salary"), avg=Avg("salary"))
        assert got["n"] == len(want)
        assert got["total"] == (sum(r["salary"] for r in want) if want else None)
        groups = t.aggregate(pred, group_by="dept", n=Count())
        by_dept = {}
        for r in want:
            by_dept[r["dept"]] = by_dept.get(r["dept"], 0) + 1
        assert groups == [{"dept": d, "n": n} for d, n in by_dept.items()]


@pytest.mark.parametrize("indexes", INDEXES[:3], ids=["scan", "hash", "sorted"])
def test_update(indexes):
    for i in range(len(predicates(make()))):
        t = make(indexes)
        pred = predicates(t)[i]
        before = t.all()
        want = [dict(r, flag=True) if pred(r) else r for r in before]
        if not any(pred(r) for r in before):
            with pytest.raises(RecordNotFoundError):
                t.update({"flag": True}, pred)
            assert t.all() == before
            continue
        assert t.update({"flag": True}, where=pred) == sum(pred(r) for r in before)
        assert t.all() == want
        # Indexes followed the update.
        assert t.select(where=t.flag == True) == [r for r in want if "flag" in r]  # noqa: E712


@pytest.mark.parametrize("indexes", INDEXES[:3], ids=["scan", "hash", "sorted"])
def test_delete(indexes):
    for i in range(len(predicates(make()))):
        t = make(indexes)
        pred = predicates(t)[i]
        before = t.all()
        keep = [r for r in before if not pred(r)]
        n = len(before) - len(keep)
        if n == 0:
            with pytest.raises(RecordNotFoundError):
                t.delete(pred)
        else:
            assert t.delete(where=pred) == n
        assert t.all() == keep
        assert t.get_deleted_pks() == [r["id"] for r in before if pred(r)]
        assert t.select(where=t.age > 30) == [r for r in keep if (r.get("age") or 0) > 30]


def test_export_csv(tmp_path):
    t = make(INDEXES[1])
    for i, pred in enumerate(predicates(t)):
        path = tmp_path / f"out{i}.csv"
        want = expected(t, pred)
        assert t.export_csv(path, where=pred, columns=["id", "name"]) == len(want)
        with open(path, newline="") as f:
            got = list(csv.DictReader(f))
        assert got == [{"id": str(r["id"]), "name": r["name"]} for r in want]


def test_update_with_validate_record_override():
    class Checked(Table):
        def validate_record(self, record):
            if record.get("salary", 0) > 5000:
                raise ValueError("too rich")

    t = Checked("t", schema={"name": str, "salary": int})
    t.insert([{"name": "a", "salary": 1}, {"name": "b", "salary": 2}, {"name": "ab", "salary": 3}])
    pred = (t.salary >= 2) & (lambda r: "b" in r["name"])
    assert t.update({"salary": 10}, pred) == 2
    assert [r["salary"] for r in t.all()] == [1, 10, 10]
    with pytest.raises(ValueError, match="too rich"):
        t.update({"salary": 9000}, (t.salary > 0) & (lambda r: r["name"] == "a"))
    assert [r["salary"] for r in t.all()] == [1, 10, 10]


# -- short-circuit -----------------------------------------------------------------


class Unexpected(Exception):
    pass


def test_and_never_calls_the_callable_where_the_left_side_is_not_true():
    """The left side is false, NULL or missing on most rows: the callable,
    which raises on those, must never see them: scans, index lookups, ranges,
    index-ordered walks (row by row), top-k, aggregate, update, delete."""
    for indexes in INDEXES:
        t = make(indexes)
        seen = []

        def only_old(r):
            if not (isinstance(r.get("age"), int) and r["age"] > 40):
                raise Unexpected(r)
            seen.append(r["id"])
            return r["name"][0] in "AEG"

        pred = (t.age > 40) & only_old
        want = expected(t, pred)
        assert want
        assert t.select(where=pred) == want
        assert t.select(where=pred, order_by="age", limit=2) == sorted(want, key=lambda r: r["age"])[:2]
        assert t.select(where=pred, order_by="-name", limit=3) == sorted(
            want, key=lambda r: r["name"], reverse=True
        )[:3]
        assert t.select(where=~pred, order_by="age", limit=50) == sorted(
            (r for r in t.all() if not pred(r)), key=lambda r: (r.get("age") is not None, r.get("age") or 0)
        )
        assert t.select(where=(t.dept == "IT") & (t.age > 40) & only_old) == [
            r for r in want if r["dept"] == "IT"
        ]
        assert t.aggregate(where=pred, n=Count())["n"] == len(want)
        assert t.update({"seen": 1}, pred) == len(want)
        assert t.delete(where=pred) == len(want)
        assert set(seen) <= {r["id"] for r in rows_with_ids() if (r.get("age") or 0) > 40}


def rows_with_ids():
    return [dict(r, id=i + 1) for i, r in enumerate(rows())]


def test_nested_and_short_circuit_through_or():
    """``(a | cb1) & cb2``: cb2 only sees rows where ``a | cb1`` holds; with
    ``a`` unknown (missing age) and cb1 false the conjunction must stop."""
    t = make(INDEXES[2])

    def never_true(r):
        return False

    def only_old(r):
        if not (isinstance(r.get("age"), int) and r["age"] > 60):
            raise Unexpected(r)
        return True

    pred = ((t.age > 60) | never_true) & only_old
    want = expected(t, pred)
    assert want
    assert t.select(where=pred) == want
    assert t.select(where=pred, order_by="age", limit=10) == sorted(want, key=lambda r: r["age"])
    assert t.select(where=pred, order_by="-age", limit=10) == sorted(want, key=lambda r: -r["age"])


def test_or_never_calls_the_callable_where_the_left_side_is_true():
    for indexes in INDEXES:
        t = make(indexes)

        def not_hr(r):
            if r["dept"] == "HR":
                raise Unexpected(r)
            return r["salary"] == 0

        pred = (t.dept == "HR") | not_hr
        want = expected(t, pred)
        assert t.select(where=pred) == want
        assert t.select(where=pred, order_by="age", limit=5) == t.select(where=pred, order_by="age")[:5]
        assert t.aggregate(where=pred, n=Count())["n"] == len(want)
        assert t.select(where=~pred) == [r for r in t.all() if not pred(r)]


def test_callable_called_once_per_row_at_most():
    t = make(INDEXES[1])
    calls = []

    def count(r):
        calls.append(r["id"])
        return True

    t.select(where=(t.age > 0) & count)
    assert len(calls) == len(set(calls))
    calls.clear()
    t.select(where=(t.dept != "x") | count)
    assert calls == []


# -- what the callable sees and returns -------------------------------------------


def test_callable_receives_a_copy_of_the_row():
    t = Table("t", primary_key="code")
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    t.insert({"code": "x", "t": (1, 2), "nested": {"l": [1, b"b"]}, "when": when, "day": dt.date(2024, 1, 2)})
    t.insert({"code": "y", "n": 1.5})
    got = []

    def grab(r):
        got.append(r)
        r["code"] = "changed"
        if "nested" in r:
            r["nested"]["l"].append(3)
        return True

    assert len(t.select(where=t.code.is_not_null() & grab)) == 2
    assert type(got[0]) is dict
    assert got[0]["t"] == [1, 2]
    assert got[0]["when"] == when and got[0]["when"].utcoffset() == dt.timedelta(hours=2)
    assert got[0]["day"] == dt.date(2024, 1, 2)
    assert got[1] == {"code": "changed", "n": 1.5}
    assert t.all() == [
        {"code": "x", "t": [1, 2], "nested": {"l": [1, b"b"]}, "when": when, "day": dt.date(2024, 1, 2)},
        {"code": "y", "n": 1.5},
    ]


class Truthy:
    def __init__(self, v):
        self.v = v

    def __bool__(self):
        return self.v


class Sized:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


@pytest.mark.parametrize(
    "value, truth",
    [
        ("yes", True),
        ("", False),
        (1, True),
        (0, False),
        (0.0, False),
        (2.5, True),
        ([], False),
        ([0], True),
        ({}, False),
        (None, False),
        (Truthy(True), True),
        (Truthy(False), False),
        (Sized(0), False),
        (Sized(3), True),
        (object(), True),
    ],
)
def test_truthiness_of_the_result(value, truth):
    t = make()
    pred = (t.dept == "IT") & (lambda r: value)
    want = [r for r in t.all() if r["dept"] == "IT"] if truth else []
    assert t.select(where=pred) == want
    assert t.select(where=~pred) == [r for r in t.all() if r not in want]
    assert pred(t.all()[0]) is truth


# -- exceptions ----------------------------------------------------------------------


class Boom(Exception):
    pass


def raising_on(name, exc):
    def cb(r):
        if r["name"] == name:
            raise exc
        return True

    return cb


def test_exception_propagates_unchanged_from_every_operation(tmp_path):
    for indexes in INDEXES[:3]:
        t = make(indexes)
        victim = t.all()[7]["name"]
        before = t.all()
        ops = [
            lambda p: t.select(where=p),
            lambda p: t.select(where=p, order_by="age", limit=100),
            lambda p: t.select(["name"], p, distinct=True),
            lambda p: t.aggregate(where=p, n=Count()),
            lambda p: t.aggregate(p, group_by="dept", n=Count()),
            lambda p: t.update({"x": 1}, p),
            lambda p: t.delete(p),
            lambda p: t.export_csv(tmp_path / "x.csv", where=p),
        ]
        for op in ops:
            exc = Boom("inside the callable")
            with pytest.raises(Boom) as info:
                op((t.salary >= 0) & raising_on(victim, exc))
            assert info.value is exc
            exc = ValueError("plain")
            with pytest.raises(ValueError) as info:
                op((t.dept == "x") | raising_on(victim, exc))
            assert info.value is exc
            assert type(info.value) is ValueError
        assert t.all() == before
        assert not (tmp_path / "x.csv").exists()


def test_failing_update_and_delete_change_nothing():
    t = make(INDEXES[2])
    t.clear_dirty_tracking()
    before = t.all()
    by_age = t.select(where=t.age > 30)
    last = before[-1]["name"]  # the callable raises on the last row, after many matches
    for op in (
        lambda: t.update({"age": 99, "name": "Z"}, (t.salary >= 0) & raising_on(last, KeyError("k"))),
        lambda: t.update({"id": 1000}, (t.salary >= 0) & raising_on(last, KeyError("k"))),
        lambda: t.delete((t.salary >= 0) & raising_on(last, KeyError("k"))),
        lambda: t.delete(~((t.salary < 0) | raising_on(last, KeyError("k")))),
    ):
        with pytest.raises(KeyError):
            op()
        assert t.all() == before
        assert t.select(where=t.age > 30) == by_age
        assert t.select(where=t.name == "Z") == []
        assert not t.has_changes()
        assert t.get_deleted_pks() == []


def test_exception_from_bool_propagates():
    class BadBool:
        def __bool__(self):
            raise ZeroDivisionError("no truth")

    t = make()
    with pytest.raises(ZeroDivisionError, match="no truth"):
        t.select(where=(t.dept == "IT") & (lambda r: BadBool()))
    with pytest.raises(ZeroDivisionError):
        t.delete(where=(t.dept == "IT") & (lambda r: BadBool()))
    assert len(t) == 40


def test_errors_inside_the_callable_are_python_errors():
    t = make()
    with pytest.raises(KeyError):
        t.select(where=(t.id > 0) & (lambda r: r["age"]))  # some rows lack "age"
    with pytest.raises(TypeError):
        t.select(where=(t.id > 0) & (lambda: True))  # wrong arity


def test_bare_callable_is_not_a_where(tmp_path):
    t = make()
    for op in (
        lambda w: t.select(where=w),
        lambda w: t.update({"x": 1}, w),
        lambda w: t.delete(w),
        lambda w: t.aggregate(where=w, n=Count()),
        lambda w: t.export_csv(tmp_path / "x.csv", where=w),
    ):
        with pytest.raises(TypeError, match="must be a Condition or PredicateExpr"):
            op(lambda r: True)
    with pytest.raises(TypeError):
        Condition(lambda r: True)
    with pytest.raises(TypeError):
        And(t.age > 1, lambda r: True)
    assert len(t) == 40


def test_repr_mentions_the_callable():
    t = make()
    p = (t.age > 1) & starts_a
    assert isinstance(p, PredicateExpr)
    assert "starts_a" in repr(p)


# -- threads -------------------------------------------------------------------------


def test_threads_select_with_callables_while_others_insert():
    """Readers call Python per row under the read lock while writers insert
    and update (each waiting for the write lock without the GIL): no deadlock,
    and every result is consistent with the predicate. A deadlock hangs the
    joins."""
    t = make(INDEXES[2])
    errors = []
    stop = threading.Event()

    def reader(k):
        try:
            for i in range(30):
                pred = (t.age > 25) & (lambda r: r["name"][0] in "AEGL") | (
                    (t.dept == "Ops") & (lambda r, k=k: r["id"] % 3 == k % 3)
                )
                got = t.select(where=pred, order_by="age" if i % 2 else None, limit=None if i % 3 else 20)
                assert all(pred(r) for r in got)
                t.aggregate(where=(t.salary >= 0) & (lambda r: True), n=Count())
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    def writer(k):
        try:
            i = 0
            while not stop.is_set() and i < 200:
                t.insert({"name": f"W{k}_{i}", "dept": DEPTS[i % 3], "age": i % 70, "salary": i})
                if i % 10 == 0:
                    t.update({"touched": i}, (t.dept == "HR") & (lambda r: r["salary"] >= 0))
                i += 1
        except Exception as e:  # pragma: no cover
            errors.append(e)

    readers = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
    writers = [threading.Thread(target=writer, args=(k,)) for k in range(2)]
    for th in readers + writers:
        th.start()
    for th in readers:
        th.join()
    stop.set()
    for th in writers:
        th.join()
    assert errors == []
    assert len({r["id"] for r in t.all()}) == len(t)


def test_other_python_threads_run_while_a_callable_query_waits():
    """A select whose callable waits for another Python thread, which reads
    the same table meanwhile (the read lock is shared), completes."""
    t = make()
    started = threading.Event()
    done = threading.Event()

    def wait_for_other(r):
        started.set()
        assert done.wait(10)
        return True

    def other():
        assert started.wait(10)
        t.select(where=t.age > 0)  # a second reader: the read lock is shared
        done.set()

    th = threading.Thread(target=other)
    th.start()
    assert len(t.select(where=(t.id == 1) & wait_for_other)) == 1
    th.join()
    assert done.is_set()
