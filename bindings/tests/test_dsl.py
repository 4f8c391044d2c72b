"""python-api.md §7 (Query DSL): Field operators and the awkward values of §7.1,
LIKE (§7.2), PredicateExpr (§7.3), Condition (§7.4), And/Or/Not (§7.5), index
use (§7.6), the where= normalisation, and a differential check that
``pred(record)`` agrees with what a query returns (and with a plain-Python
reading of the spec), with and without indexes."""

import datetime as dt
import decimal
import enum
import operator
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dictdb_rs import _dsl
from dictdb_rs._dsl import And, Condition, Field, Not, Or, PredicateExpr, _where_tree
from dictdb_rs._native import TableCore

F = Field("f")
G = Field("g")

UTC = dt.timezone.utc
PLUS2 = dt.timezone(dt.timedelta(hours=2))


def _fields(ir, out):
    tag = ir[0]
    if tag in ("and", "or"):
        _fields(ir[1], out)
        _fields(ir[2], out)
    elif tag == "not":
        _fields(ir[1], out)
    elif tag == "cmp":
        out.add(ir[2])
    elif tag != "py":
        out.add(ir[1])
    return out


def table_of(rows, indexes=(), pk="_pk"):
    t = TableCore("t", pk)
    for field, kind in indexes:
        t.create_index(field, kind)
    t.insert_many([dict(r) for r in rows], True)
    return t


def m(pred, record):
    """``pred(record)``, checked to be exactly True/False and to agree with a
    query over a one-row table: a scan, and with a hash or a sorted index on
    every field the predicate or the record names."""
    got = pred(record)
    assert got is True or got is False
    ir = pred._ir
    fields = sorted(_fields(ir, set(record)))
    for kind in (None, "hash", "sorted"):
        idx = [(f, kind) for f in fields] if kind else []
        t = table_of([record], idx)
        assert len(t.select(_where_tree(pred))) == int(got), (kind, pred, record)
    return got


# ---------------------------------------------------------------------------
# §7.1 Field operators
# ---------------------------------------------------------------------------


class TestEquality:
    @pytest.mark.parametrize(
        "v, x, expected",
        [
            (1, 1, True),
            (1, 1.0, True),
            (1, True, True),
            (1.0, True, True),
            (0, False, True),
            (-0.0, 0, True),
            (2**53 + 1, 2.0**53, False),
            (2**53, 2.0**53, True),
            (2**63 - 1, 9.223372036854776e18, False),
            (float("nan"), float("nan"), False),
            ("1", 1, False),
            ("a", b"a", False),
            (b"a", b"a", True),
            ("a", "a", True),
            ("a", "A", False),
            (dt.date(2020, 1, 1), dt.datetime(2020, 1, 1), False),
            (dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 1, tzinfo=UTC), False),
            (
                dt.datetime(2020, 1, 1, 12, tzinfo=UTC),
                dt.datetime(2020, 1, 1, 14, tzinfo=PLUS2),
                True,
            ),
            (dt.date(2020, 1, 1), dt.date(2020, 1, 1), True),
            ([1, [2, "x"]], [1.0, [True + 1, "x"]], True),
            ([1, 2], [2, 1], False),
            ([1], [1, 1], False),
            ({"a": 1, "b": [2]}, {"b": [2.0], "a": True}, True),
            ({"a": 1}, {"a": 1, "b": None}, False),
            ([], {}, False),
            (None, 0, False),
            (None, "", False),
            (0, None, False),
            (None, None, True),
        ],
    )
    def test_python_equality(self, v, x, expected):
        assert m(F == x, {"f": v}) is expected
        assert m(F != x, {"f": v}) is (not expected)

    def test_eq_none_matches_missing_and_none(self):
        assert m(F == None, {}) is True  # noqa: E711
        assert m(F == None, {"f": None}) is True  # noqa: E711
        assert m(F == None, {"f": 0}) is False  # noqa: E711
        assert m(F == None, {"f": ""}) is False  # noqa: E711

    def test_ne_none_is_present_and_not_none(self):
        assert m(F != None, {}) is False  # noqa: E711
        assert m(F != None, {"f": None}) is False  # noqa: E711
        assert m(F != None, {"f": 0}) is True  # noqa: E711
        assert m(F != None, {"f": []}) is True  # noqa: E711

    def test_ne_is_exact_complement_for_missing(self):
        assert m(F == 1, {}) is False
        assert m(F != 1, {}) is True
        assert m(F != 1, {"f": None}) is True
        assert m(F != "x", {"f": 1}) is True

    def test_reflected_eq(self):
        assert (1 == F)._ir == (F == 1)._ir
        assert (None != F)._ir == (F != None)._ir  # noqa: E711

    def test_eq_on_pk_field(self):
        t = table_of([{"id": 1, "x": 1}, {"id": 2.5}, {"id": "a"}], pk="id")
        assert [r["id"] for r in t.select((Field("id") == 1.0)._ir)] == [1]
        assert [r["id"] for r in t.select((Field("id") == True)._ir)] == [1]  # noqa: E712
        assert [r["id"] for r in t.select((Field("id") == "a")._ir)] == ["a"]
        assert [r["id"] for r in t.select((Field("id") != 1)._ir)] == [2.5, "a"]


class TestOrdering:
    @pytest.mark.parametrize(
        "v, x, lt",
        [
            (1, 2, True),
            (True, 2, True),
            (False, 0.5, True),
            (2**53 + 1, 2.0**53, False),
            (2.0**53, 2**53 + 1, True),
            (-float("inf"), -(2**63), True),
            ("a", "b", True),
            ("B", "a", True),
            ("\uffff", "\U0001f600", True),
            (b"a", b"b", True),
            (dt.date(2020, 1, 1), dt.date(2020, 1, 2), True),
            (dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 1, 0, 0, 1), True),
            (
                dt.datetime(2020, 1, 1, 13, tzinfo=PLUS2),
                dt.datetime(2020, 1, 1, 12, tzinfo=UTC),
                True,
            ),
            ([1, 2], [1, 3], True),
            ([1], [1, 0], True),
            ([], [None], True),
            ([None, 1], [None, 2], True),
            ([1, "a"], [1.0, "b"], True),
        ],
    )
    def test_defined(self, v, x, lt):
        # v != x in every case, so <= is < and >= is >.
        assert m(F < x, {"f": v}) is lt
        assert m(F <= x, {"f": v}) is lt
        assert m(F > x, {"f": v}) is (not lt)
        assert m(F >= x, {"f": v}) is (not lt)
        assert m(F > v, {"f": x}) is lt
        assert m(F <= v, {"f": v}) is True
        assert m(F >= v, {"f": v}) is True
        assert m(F < v, {"f": v}) is False
        assert m(F.between(v, v), {"f": v}) is True

    @pytest.mark.parametrize(
        "v, x",
        [
            (None, 1),
            (1, None),
            (None, None),
            ("1", 1),
            (1, "1"),
            (b"a", "a"),
            ({"a": 1}, {"a": 1}),
            ({"a": 1}, {"b": 2}),
            ([1], 1),
            (dt.date(2020, 1, 1), dt.datetime(2020, 1, 2)),
            (dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 2, tzinfo=UTC)),
            ([1, "a"], [1, 2]),
            ([None], [1]),
            ([{"a": 1}], [{"a": 2}]),
            (float("nan"), 1.0),
            (1.0, float("nan")),
            (float("nan"), float("nan")),
            ([float("nan")], [float("nan")]),
        ],
    )
    def test_incomparable_is_false(self, v, x):
        for op in (operator.lt, operator.le, operator.gt, operator.ge):
            assert m(op(F, x), {"f": v}) is False

    def test_missing_is_false(self):
        for op in (operator.lt, operator.le, operator.gt, operator.ge):
            assert m(op(F, 0), {}) is False
            assert m(op(F, "a"), {"g": 1}) is False

    def test_equal_lists_compare_le(self):
        assert m(F <= [1, [2]], {"f": [1.0, [2]]}) is True
        assert m(F < [1, [2]], {"f": [1.0, [2]]}) is False

    def test_reflected_ordering(self):
        assert (5 < F)._ir == (F > 5)._ir
        assert (5 <= F)._ir == (F >= 5)._ir
        assert (5 > F)._ir == (F < 5)._ir
        assert (5 >= F)._ir == (F <= 5)._ir
        assert m(5 < F, {"f": 6}) is True
        assert m(5 < F, {"f": 5}) is False


class TestIsIn:
    def test_python_equality(self):
        assert m(F.is_in([1, 2]), {"f": 1.0}) is True
        assert m(F.is_in([1, 2]), {"f": True}) is True
        assert m(F.is_in([1, 2]), {"f": "1"}) is False
        assert m(F.is_in([float("nan")]), {"f": float("nan")}) is False

    def test_unhashable_members_and_values(self):
        p = F.is_in([[1, 2], {"a": [1]}, 3])
        assert m(p, {"f": [1, 2]}) is True
        assert m(p, {"f": (1.0, 2)}) is True
        assert m(p, {"f": {"a": [True]}}) is True
        assert m(p, {"f": [2, 1]}) is False
        assert m(p, {"f": {"a": [1], "b": 1}}) is False

    def test_none_member(self):
        p = F.is_in([None, 1])
        assert m(p, {}) is True
        assert m(p, {"f": None}) is True
        assert m(p, {"f": 1}) is True
        assert m(p, {"f": 2}) is False
        assert m(F.is_in([None]), {}) is True
        assert m(F.is_in([1]), {}) is False
        assert m(F.is_in([1]), {"f": None}) is False

    def test_empty(self):
        assert m(F.is_in([]), {"f": 1}) is False
        assert m(F.is_in([]), {}) is False
        assert m(~F.is_in([]), {}) is True

    def test_any_iterable_consumed_when_built(self):
        gen = (x for x in [1, 2])
        p = F.is_in(gen)
        assert list(gen) == []
        assert m(p, {"f": 2}) is True
        src = [1]
        p = F.is_in(src)
        src.append(2)
        assert m(p, {"f": 2}) is False
        assert m(F.is_in({"a": 1, "b": 2}), {"f": "b"}) is True
        assert m(F.is_in("abc"), {"f": "b"}) is True
        assert m(F.is_in("abc"), {"f": "ab"}) is False
        assert m(F.is_in(range(3)), {"f": 2}) is True
        assert m(F.is_in(frozenset([1])), {"f": 1}) is True

    def test_not_iterable(self):
        with pytest.raises(TypeError):
            F.is_in(5)

    def test_bad_member(self):
        with pytest.raises(TypeError, match="'f'.*set"):
            F.is_in([1, {2}])


class TestBetween:
    def test_inclusive(self):
        p = F.between(1, 3)
        assert [m(p, {"f": v}) for v in (0, 1, 2, 3, 4)] == [False, True, True, True, False]
        assert m(p, {"f": 1.0}) is True
        assert m(p, {"f": 3.5}) is False
        assert m(F.between("a", "c"), {"f": "b"}) is True
        p = F.between(dt.date(2020, 1, 1), dt.date(2020, 12, 31))
        assert m(p, {"f": dt.date(2020, 6, 1)}) is True
        assert m(p, {"f": dt.datetime(2020, 6, 1)}) is False

    def test_empty_range(self):
        assert m(F.between(3, 1), {"f": 2}) is False

    def test_undefined_is_false(self):
        p = F.between(1, 3)
        assert m(p, {}) is False
        assert m(p, {"f": None}) is False
        assert m(p, {"f": "2"}) is False
        assert m(p, {"f": float("nan")}) is False
        assert m(F.between(1, "z"), {"f": 2}) is False
        assert m(F.between(None, 3), {"f": 2}) is False
        assert m(~F.between(None, 3), {"f": 2}) is True


class TestContains:
    @pytest.mark.parametrize(
        "v, item, expected",
        [
            ("hello", "ell", True),
            ("hello", "", True),
            ("hello", "L", False),
            ("hello", 1, False),
            ([1, "a", [2]], 1.0, True),
            ([1, "a", [2]], [2.0], True),
            ([1, "a"], "b", False),
            ([None], None, True),
            ([], None, False),
            ({"k": 1}, "k", True),
            ({"k": 1}, 1, False),
            ({"k": 1}, ["k"], False),
            (b"abc", b"bc", True),
            (b"abc", b"", True),
            (b"abc", 97, True),
            (b"\x01", True, True),
            (b"abc", 300, False),
            (b"abc", -1, False),
            (b"abc", "a", False),
            (b"abc", 97.0, False),
            (5, 5, False),
            (5.0, 5, False),
            (True, 1, False),
            (dt.date(2020, 1, 1), 1, False),
        ],
    )
    def test_python_in(self, v, item, expected):
        assert m(F.contains(item), {"f": v}) is expected

    def test_none_and_missing(self):
        assert m(F.contains("a"), {}) is False
        assert m(F.contains("a"), {"f": None}) is False
        assert m(F.contains(None), {"f": None}) is False
        assert m(~F.contains("a"), {}) is True


class TestStartsEndsWith:
    def test_str(self):
        assert m(F.startswith("ab"), {"f": "abc"}) is True
        assert m(F.startswith("b"), {"f": "abc"}) is False
        assert m(F.startswith(""), {"f": ""}) is True
        assert m(F.endswith("bc"), {"f": "abc"}) is True
        assert m(F.endswith("B"), {"f": "abc"}) is False
        assert m(F.startswith("A"), {"f": "abc"}) is False

    def test_tuple(self):
        p = F.startswith(("x", "a"))
        assert m(p, {"f": "abc"}) is True
        assert m(p, {"f": "bc"}) is False
        assert m(F.endswith(("x", "c")), {"f": "abc"}) is True
        assert m(F.startswith(()), {"f": "abc"}) is False

    @pytest.mark.parametrize("v", [None, 1, b"abc", ["abc"], {"abc": 1}])
    def test_non_str_is_false(self, v):
        assert m(F.startswith("a"), {"f": v}) is False
        assert m(F.endswith("c"), {"f": v}) is False
        assert m(F.startswith("a"), {}) is False

    @pytest.mark.parametrize("arg", [1, b"a", ["a"], ("a", 1), None])
    def test_bad_argument(self, arg):
        with pytest.raises(TypeError):
            F.startswith(arg)
        with pytest.raises(TypeError):
            F.endswith(arg)


class TestNull:
    def test_is_null(self):
        assert m(F.is_null(), {}) is True
        assert m(F.is_null(), {"f": None}) is True
        assert m(F.is_null(), {"f": ""}) is False
        assert m(F.is_null(), {"f": 0}) is False
        assert m(F.is_null(), {"f": []}) is False

    def test_is_not_null(self):
        assert m(F.is_not_null(), {}) is False
        assert m(F.is_not_null(), {"f": None}) is False
        assert m(F.is_not_null(), {"f": ""}) is True
        assert m(F.is_not_null(), {"f": 0}) is True
        assert m(F.is_not_null(), {"f": False}) is True


class TestCaseInsensitive:
    def test_iequals(self):
        assert m(F.iequals("école"), {"f": "ÉCOLE"}) is True
        assert m(F.iequals("ÉCOLE"), {"f": "école"}) is True
        assert m(F.iequals("ecole"), {"f": "école"}) is False
        # str.lower(), not casefold(): "ß" stays "ß"
        assert m(F.iequals("strasse"), {"f": "STRASSE"}) is True
        assert m(F.iequals("straße"), {"f": "STRASSE"}) is False
        assert m(F.iequals("i\u0307"), {"f": "\u0130"}) is True
        assert m(F.iequals("ς"), {"f": "Σ"}) is ("Σ".lower() == "ς".lower())

    def test_icontains_istartswith_iendswith(self):
        assert m(F.icontains("ELL"), {"f": "hello"}) is True
        assert m(F.icontains(""), {"f": ""}) is True
        assert m(F.istartswith("HE"), {"f": "hello"}) is True
        assert m(F.istartswith("LO"), {"f": "hello"}) is False
        assert m(F.iendswith("LO"), {"f": "HelLo"}) is True
        assert m(F.iendswith("\u0130"), {"f": "xi\u0307"}) is True

    @pytest.mark.parametrize("v", [None, 1, b"abc", ["abc"]])
    def test_non_str_value_is_false(self, v):
        for meth in ("iequals", "icontains", "istartswith", "iendswith"):
            assert m(getattr(F, meth)("abc"), {"f": v}) is False
            assert m(getattr(F, meth)("abc"), {}) is False

    @pytest.mark.parametrize("arg", [1, None, b"abc", ["a"], ("a",)])
    def test_non_str_argument_raises_attribute_error(self, arg):
        for meth in ("iequals", "icontains", "istartswith", "iendswith"):
            with pytest.raises(AttributeError):
                getattr(F, meth)(arg)


class Color(enum.IntEnum):
    RED = 1


class MyStr(str):
    pass


class TestConstants:
    def test_tuple_becomes_list(self):
        p = F == (1, (2, 3))
        assert p._ir == ("cmp", "==", "f", [1, [2, 3]])
        assert m(p, {"f": [1, [2, 3]]}) is True
        assert F.is_in([(1, 2)])._ir[2] == [[1, 2]]
        assert m(F.contains((1,)), {"f": [[1]]}) is True

    def test_subclasses_become_plain(self):
        ir = (F == Color.RED)._ir
        assert ir[3] == 1 and type(ir[3]) is int
        ir = (F == MyStr("x"))._ir
        assert type(ir[3]) is str
        assert m(F == Color.RED, {"f": 1}) is True
        assert m(F.iequals(MyStr("X")), {"f": "x"}) is True
        assert m(F.startswith((MyStr("x"),)), {"f": "xy"}) is True

    def test_constants_are_copied(self):
        c = [1, 2]
        p = F == c
        c.append(3)
        assert m(p, {"f": [1, 2]}) is True

    @pytest.mark.parametrize(
        "bad",
        [
            {1, 2},
            decimal.Decimal("1"),
            bytearray(b"x"),
            object(),
            {1: "a"},
            [1, {2}],
            {"k": {3}},
            1j,
            Field("x"),
        ],
    )
    def test_unsupported_constant_raises_type_error_when_built(self, bad):
        builders = [
            lambda: F == bad,
            lambda: F != bad,
            lambda: F < bad,
            lambda: F >= bad,
            lambda: F.between(bad, 1),
            lambda: F.between(1, bad),
            lambda: F.contains(bad),
            lambda: F.is_in([1, bad]),
        ]
        for build in builders:
            with pytest.raises(TypeError, match="'f'"):
                build()

    def test_message_names_field_and_type(self):
        with pytest.raises(TypeError) as e:
            Field("price") == decimal.Decimal("1.5")  # noqa: B015
        assert "price" in str(e.value) and "Decimal" in str(e.value)

    def test_overflow(self):
        with pytest.raises(OverflowError, match="'f'"):
            F == 2**64  # noqa: B015
        with pytest.raises(OverflowError):
            F.is_in([1, -(2**63) - 1])
        assert m(F == 2**63 - 1, {"f": 2**63 - 1}) is True

    @pytest.mark.parametrize("bad", [1, None, b"%", ["a"]])
    def test_like_pattern_must_be_str(self, bad):
        with pytest.raises(TypeError):
            F.like(bad)
        with pytest.raises(TypeError):
            F.ilike(bad)

    def test_like_escape_must_be_str_or_none(self):
        with pytest.raises(TypeError):
            F.like("a", escape=1)


# The "awkward values" summary of §7.1: one row per kind of v, one column per
# family of operators.
AWKWARD_ROWS = {
    "missing": {},
    "None": {"f": None},
}


@pytest.mark.parametrize("kind", ["missing", "None"])
class TestAwkwardMissingAndNone:
    def test_eq_ne(self, kind):
        r = AWKWARD_ROWS[kind]
        assert m(F == None, r) is True  # noqa: E711
        assert m(F != None, r) is False  # noqa: E711
        for x in (0, "", False, [], {}):
            assert m(F == x, r) is False
            assert m(F != x, r) is True

    def test_ordering_between_false(self, kind):
        r = AWKWARD_ROWS[kind]
        for x in (0, "", None, float("-inf")):
            for op in (operator.lt, operator.le, operator.gt, operator.ge):
                assert m(op(F, x), r) is False
        assert m(F.between(float("-inf"), float("inf")), r) is False
        assert m(F.between(None, None), r) is False

    def test_string_tests_false(self, kind):
        r = AWKWARD_ROWS[kind]
        for p in (
            F.like("%"),
            F.ilike("%"),
            F.startswith(""),
            F.endswith(""),
            F.iequals(""),
            F.icontains(""),
            F.istartswith(""),
            F.iendswith(""),
        ):
            assert m(p, r) is False
            assert m(~p, r) is True

    def test_contains_false(self, kind):
        r = AWKWARD_ROWS[kind]
        assert m(F.contains(None), r) is False
        assert m(F.contains(""), r) is False

    def test_is_in_none_member(self, kind):
        r = AWKWARD_ROWS[kind]
        assert m(F.is_in([None]), r) is True
        assert m(F.is_in([0, "", None]), r) is True
        assert m(F.is_in([0, ""]), r) is False
        assert m(~F.is_in([0, ""]), r) is True


class TestAwkwardOtherType:
    def test_eq_is_python_equality(self):
        assert m(F == 1, {"f": 1.0}) is True
        assert m(F == 1, {"f": True}) is True
        assert m(F == 1, {"f": "1"}) is False
        assert m(F != 1, {"f": "1"}) is True

    def test_ordering_false_unless_comparable(self):
        assert m(F < 2, {"f": True}) is True
        assert m(F < 2, {"f": "1"}) is False
        assert m(F > 2, {"f": "1"}) is False
        assert m(F.between(0, 2), {"f": "1"}) is False

    def test_string_tests_false_unless_str(self):
        for v in (1, b"a", ["a"], {"a": 1}, dt.date(2020, 1, 1)):
            r = {"f": v}
            assert m(F.like("%"), r) is False
            assert m(F.ilike("%"), r) is False
            assert m(F.startswith(""), r) is False
            assert m(F.iendswith(""), r) is False

    def test_contains_false_where_python_raises(self):
        assert m(F.contains(1), {"f": 12}) is False
        assert m(F.contains(1), {"f": "1"}) is False
        assert m(F.contains([1]), {"f": {"a": 1}}) is False

    def test_is_in_python_equality(self):
        assert m(F.is_in(["1", 2.0]), {"f": 2}) is True
        assert m(F.is_in(["1", 2.0]), {"f": 1}) is False


# ---------------------------------------------------------------------------
# §7.2 LIKE
# ---------------------------------------------------------------------------


def like_reference(pattern, escape, ignore_case, v):
    """§7.2 read literally, as a regular expression. For ILIKE, each run of
    literal characters between wildcards goes through ``str.lower()`` as a
    whole (as the value does), so a pattern always ILIKE-matches itself, final
    sigma included."""
    if not isinstance(v, str):
        return False
    esc = escape if isinstance(escape, str) and len(escape) == 1 else None
    low = (lambda s: s.lower()) if ignore_case else (lambda s: s)
    parts, run = [], []

    def flush():
        if run:
            parts.append(re.escape(low("".join(run))))
            run.clear()

    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == esc and i + 1 < len(pattern):
            run.append(pattern[i + 1])
            i += 2
            continue
        if c in "%_" and c != esc:
            flush()
            parts.append(".*" if c == "%" else ".")
        else:
            run.append(c)
        i += 1
    flush()
    return re.fullmatch("".join(parts), low(v), re.DOTALL) is not None


class TestLike:
    def test_percent(self):
        assert m(F.like("a%"), {"f": "abc"}) is True
        assert m(F.like("a%"), {"f": "a"}) is True
        assert m(F.like("a%"), {"f": "ba"}) is False
        assert m(F.like("%c"), {"f": "abc"}) is True
        assert m(F.like("%b%"), {"f": "abc"}) is True
        assert m(F.like("a%c%e"), {"f": "abcde"}) is True
        assert m(F.like("a%c%e"), {"f": "abcdef"}) is False

    def test_percent_crosses_newlines(self):
        assert m(F.like("a%b"), {"f": "a\n\nb"}) is True
        assert m(F.like("%"), {"f": "\n"}) is True
        assert m(F.like("%x%"), {"f": "\nx\n"}) is True

    def test_underscore_is_one_character(self):
        assert m(F.like("_"), {"f": "é"}) is True
        assert m(F.like("_"), {"f": "\U0001f600"}) is True
        assert m(F.like("_"), {"f": "\n"}) is True
        assert m(F.like("_"), {"f": ""}) is False
        assert m(F.like("__"), {"f": "a"}) is False
        assert m(F.like("__"), {"f": "abc"}) is False
        assert m(F.like("a_c"), {"f": "abc"}) is True
        assert m(F.like("a_c"), {"f": "ac"}) is False
        assert m(F.like("%_"), {"f": ""}) is False
        assert m(F.like("_%_"), {"f": "ab"}) is True

    def test_whole_string(self):
        assert m(F.like(""), {"f": ""}) is True
        assert m(F.like(""), {"f": "a"}) is False
        assert m(F.like("abc"), {"f": "abc"}) is True
        assert m(F.like("abc"), {"f": "abc\n"}) is False
        assert m(F.like("abc"), {"f": "xabc"}) is False
        assert m(F.like("abc"), {"f": "ABC"}) is False
        assert m(F.like("b"), {"f": "abc"}) is False

    def test_percent_alone(self):
        assert m(F.like("%"), {"f": ""}) is True
        assert m(F.like("%"), {"f": "anything"}) is True
        assert m(F.like("%"), {"f": None}) is False
        assert m(F.like("%"), {}) is False
        assert m(F.like("%"), {"f": 1}) is False
        assert m(F.like("%"), {"f": b"x"}) is False

    @pytest.mark.parametrize(
        "pattern, value",
        [
            (".", "a"),
            ("a.c", "abc"),
            ("a*", "aaa"),
            ("[a]", "a"),
            ("^a$", "a"),
            ("\\d", "1"),
            ("a+", "aa"),
            ("(a|b)", "a"),
            ("a{2}", "aa"),
            ("?", "a"),
        ],
    )
    def test_metacharacters_are_literal(self, pattern, value):
        assert m(F.like(pattern), {"f": value}) is False
        assert m(F.like(pattern), {"f": pattern}) is True

    def test_backslash_literal_without_escape(self):
        assert m(F.like("a\\%"), {"f": "a\\xyz"}) is True
        assert m(F.like("a\\%"), {"f": "a%"}) is False
        assert m(F.like("a\\_"), {"f": "a\\b"}) is True

    def test_escape(self):
        p = F.like("%\\%", escape="\\")
        assert m(p, {"f": "100%"}) is True
        assert m(p, {"f": "%"}) is True
        assert m(p, {"f": "100"}) is False
        assert m(p, {"f": "100\\"}) is False
        p = F.like("file\\_1", escape="\\")
        assert m(p, {"f": "file_1"}) is True
        assert m(p, {"f": "fileX1"}) is False
        assert m(p, {"f": "file\\_1"}) is False

    def test_escaped_escape_and_ordinary_characters(self):
        assert m(F.like("a\\\\b", escape="\\"), {"f": "a\\b"}) is True
        assert m(F.like("\\a", escape="\\"), {"f": "a"}) is True
        assert m(F.like("!%!_", escape="!"), {"f": "%_"}) is True
        assert m(F.like("!%!_", escape="!"), {"f": "x_"}) is False

    def test_lone_escape_at_end_is_literal(self):
        p = F.like("ab\\", escape="\\")
        assert m(p, {"f": "ab\\"}) is True
        assert m(p, {"f": "ab"}) is False

    @pytest.mark.parametrize("escape", [None, "", "ab", "\\\\"])
    def test_no_escape_character(self, escape):
        p = F.like("a\\%", escape=escape)
        assert m(p, {"f": "a\\zz"}) is True
        assert m(p, {"f": "a%"}) is False

    def test_escape_with_index_prefix(self):
        rows = [{"f": s} for s in ("a_1", "ab1", "a_", "a%x", "a", "b_1", "A_1", None, 5)]
        for kind in (None, "sorted", "hash"):
            t = table_of(rows, [("f", kind)] if kind else [])
            got = [r["f"] for r in t.select(F.like("a\\_%", escape="\\")._ir)]
            assert got == ["a_1", "a_"], kind
            got = [r["f"] for r in t.select(F.like("a!%%", escape="!")._ir)]
            assert got == ["a%x"], kind

    def test_ilike(self):
        assert m(F.ilike("AB%"), {"f": "abc"}) is True
        assert m(F.ilike("ab%"), {"f": "ABC"}) is True
        assert m(F.ilike("àb_"), {"f": "ÀBC"}) is True
        assert m(F.ilike("ÉCOLE"), {"f": "école"}) is True
        assert m(F.ilike("straße"), {"f": "STRASSE"}) is False
        assert m(F.ilike("%\\%", escape="\\"), {"f": "X%"}) is True
        assert m(F.ilike("abc"), {"f": "abc\n"}) is False
        assert m(F.ilike("%"), {"f": None}) is False

    def test_ilike_unicode_lowercase_mapping(self):
        # "İ".lower() == "i̇" (two code points), as in Rust's to_lowercase.
        assert m(F.ilike("\u0130"), {"f": "i\u0307"}) is True
        assert m(F.ilike("i\u0307"), {"f": "\u0130"}) is True
        assert m(F.ilike("i_"), {"f": "\u0130"}) is True
        assert m(F.like("_"), {"f": "\u0130"}) is True

    @settings(max_examples=400, deadline=None)
    @given(
        pattern=st.text(alphabet="ab%_\\!Aé\n.", max_size=6),
        value=st.text(alphabet="ab%_\\!Aé\n.", max_size=6),
        escape=st.sampled_from([None, "", "\\", "!", "ab"]),
        ignore_case=st.booleans(),
    )
    def test_matches_reference(self, pattern, value, escape, ignore_case):
        meth = F.ilike if ignore_case else F.like
        p = meth(pattern, escape=escape)
        assert p({"f": value}) is like_reference(pattern, escape, ignore_case, value)


# ---------------------------------------------------------------------------
# §7.3 PredicateExpr
# ---------------------------------------------------------------------------


class TestPredicateExpr:
    def test_class_and_module(self):
        for cls in (Field, PredicateExpr, Condition):
            assert cls.__module__ == "dictdb_rs"
        for fn in (And, Or, Not):
            assert fn.__module__ == "dictdb_rs"
        assert isinstance(F == 1, PredicateExpr)
        assert isinstance(F.is_null(), PredicateExpr)

    def test_docstrings(self):
        for name in _dsl.__all__:
            obj = getattr(_dsl, name)
            assert obj.__doc__, name
            if isinstance(obj, type):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and callable(member):
                        assert member.__doc__, f"{name}.{attr}"

    def test_callable_returns_bool(self):
        assert (F == 1)({"f": 1}) is True
        assert (F == 1)({"f": 2}) is False
        assert (F == 1)({}) is False

    def test_and_or_invert(self):
        p = (F > 1) & (G == "x")
        assert m(p, {"f": 2, "g": "x"}) is True
        assert m(p, {"f": 2, "g": "y"}) is False
        p = (F > 1) | (G == "x")
        assert m(p, {"f": 0, "g": "x"}) is True
        assert m(p, {"f": 0}) is False
        assert m(~(F > 1), {"f": 0}) is True
        assert m(~(F > 1), {"f": 2}) is False

    def test_negation_is_two_valued(self):
        # ~(f == 5) is true where f is missing or None; ~(f < 5) where incomparable
        assert m(~(F == 5), {}) is True
        assert m(~(F == 5), {"f": None}) is True
        assert m(~(F < 5), {"f": "x"}) is True
        assert m(~~(F < 5), {"f": "x"}) is False
        assert m(~((F < 5) | (G == 1)), {}) is True
        assert m(~((F < 5) & (G == 1)), {"g": 1}) is True

    def test_bool_raises(self):
        p = F == 1
        with pytest.raises(TypeError):
            bool(p)
        with pytest.raises(TypeError):
            if p:
                pass
        with pytest.raises(TypeError):
            (F == 1) and (G == 2)  # noqa: B015
        with pytest.raises(TypeError):
            not p  # noqa: B015
        with pytest.raises(TypeError):
            1 < F < 9  # noqa: B015

    def test_mixed_operands(self):
        c = Condition(G == 1)
        p = F == 1
        assert type(p & c) is PredicateExpr
        assert type(p | c) is PredicateExpr
        assert type(c & p) is Condition
        assert type(c | p) is Condition
        assert type(c & c) is Condition
        assert m(p & c, {"f": 1, "g": 1}) is True
        assert (c & p)({"f": 1, "g": 2}) is False
        assert (c | p)({"f": 1, "g": 2}) is True
        assert (p & c)._ir == ("and", p._ir, c._ir)
        assert (c | p)._ir == ("or", c._ir, p._ir)

    def test_callable_operand(self):
        seen = []

        def big(r):
            seen.append(r)
            return r["f"] > 10

        p = (F.is_not_null()) & big
        assert isinstance(p, PredicateExpr)
        assert p({"f": 11}) is True
        assert p({"f": 5}) is False
        assert p({}) is False  # short-circuit: big never sees it
        assert len(seen) == 2
        assert p._ir == ("and", ("notnull", "f"), ("py", big))

    def test_callable_receives_a_copy(self):
        record = {"f": 1, "t": (1, 2), "l": [1]}
        got = []

        def grab(r):
            got.append(r)
            r["f"] = 99
            r["l"].append(2)
            return True

        assert ((F == 1) & grab)(record) is True
        assert record == {"f": 1, "t": (1, 2), "l": [1]}
        assert got[0] is not record
        assert got[0]["t"] == [1, 2]

    def test_callable_short_circuit_or(self):
        calls = []

        def cb(r):
            calls.append(1)
            return False

        p = (F == 1) | cb
        assert p({"f": 1}) is True
        assert calls == []
        assert p({"f": 2}) is False
        assert calls == [1]

    def test_callable_truthiness_and_negation(self):
        p = (F == 1) & (lambda r: r.get("g"))
        assert p({"f": 1, "g": "yes"}) is True
        assert p({"f": 1, "g": ""}) is False
        assert (~p)({"f": 1, "g": ""}) is True
        assert (~p)({"f": 1, "g": 1}) is False
        c = Condition(F == 1) & (lambda r: True)
        assert isinstance(c, Condition)
        assert c({"f": 1}) is True

    def test_callable_exception_propagates(self):
        class Boom(Exception):
            pass

        def boom(r):
            raise Boom()

        with pytest.raises(Boom):
            ((F == 1) & boom)({"f": 1})

    def test_callable_in_queries(self):
        """Callables run in table queries too (more in test_callables.py)."""
        t = table_of([{"f": 1}, {"f": 2}, {"f": 1, "g": 1}])
        p = (F == 1) & (lambda r: "g" not in r)
        assert t.select(_where_tree(p)) == [{"f": 1, "_pk": 1}]
        q = ~((F == 1) | (lambda r: r["f"] > 5))
        assert t.select(_where_tree(q)) == [{"f": 2, "_pk": 2}]
        assert t.update({"x": 1}, _where_tree(p)) == 1
        assert t.delete(_where_tree(q)) == 1
        assert t.select() == [{"f": 1, "_pk": 1, "x": 1}, {"f": 1, "g": 1, "_pk": 3}]

    @pytest.mark.parametrize("bad", [1, "x", None, Field("g"), [F == 1]])
    def test_non_predicate_operand(self, bad):
        with pytest.raises(TypeError):
            (F == 1) & bad  # noqa: B015
        with pytest.raises(TypeError):
            (F == 1) | bad  # noqa: B015
        with pytest.raises(TypeError):
            Condition(F == 1) & bad  # noqa: B015

    def test_callable_left_operand_is_not_supported(self):
        with pytest.raises(TypeError):
            (lambda r: True) & (F == 1)  # noqa: B015

    def test_repr(self):
        assert repr(F) == "Field('f')"
        assert repr(F == 1) == "PredicateExpr(f == 1)"
        assert repr((F > 1) & ~G.like("a%")) == "PredicateExpr(f > 1 & ~g.like('a%'))"
        assert repr(Condition(F.is_null())) == "Condition(f.is_null())"

    def test_field_hash_and_name(self):
        assert F.name == "f"
        assert hash(Field("f")) == hash(F)
        assert F in {F: 1}
        assert bool(F) is True

    def test_copy_and_pickle(self):
        import copy
        import pickle

        import dictdb_rs

        p = (F == (1, 2)) | ~G.is_in([None, {"k": b"x"}])
        for q in (copy.copy(p), copy.deepcopy(p), copy.deepcopy(Condition(p))):
            assert q._ir == p._ir
        assert copy.deepcopy(F).name == "f"
        if not all(hasattr(dictdb_rs, n) for n in ("Field", "PredicateExpr", "Condition")):
            pytest.skip("dictdb_rs does not re-export the DSL classes yet")
        for obj in (p, Condition(p), F):
            back = pickle.loads(pickle.dumps(obj))
            assert type(back) is type(obj)
        assert pickle.loads(pickle.dumps(p))._ir == p._ir

    def test_record_must_be_a_dict(self):
        with pytest.raises(TypeError):
            (F == 1)([("f", 1)])


# ---------------------------------------------------------------------------
# §7.4 Condition
# ---------------------------------------------------------------------------


class TestCondition:
    @pytest.mark.parametrize(
        "bad", [None, 1, "f == 1", lambda r: True, Condition(F == 1), Field("f")]
    )
    def test_only_predicate_expr(self, bad):
        with pytest.raises(TypeError):
            Condition(bad)

    def test_callable_and_truthy(self):
        c = Condition(F == 1)
        assert c({"f": 1}) is True
        assert c({"f": 2}) is False
        assert bool(c) is True
        assert bool(Condition(F == 2)) is True
        assert c._ir == (F == 1)._ir

    def test_operators(self):
        a, b = Condition(F == 1), Condition(G == 2)
        for c in (a & b, a | b, ~a, a & (G == 2), a | (G == 2)):
            assert type(c) is Condition
        assert (a & b)({"f": 1, "g": 2}) is True
        assert (a & b)({"f": 1}) is False
        assert (a | b)({"g": 2}) is True
        assert (~a)({}) is True
        assert (~a)({"f": 1}) is False


# ---------------------------------------------------------------------------
# §7.5 And, Or, Not
# ---------------------------------------------------------------------------


class TestAndOrNot:
    @pytest.mark.parametrize("fn", [And, Or])
    def test_too_few_operands(self, fn):
        with pytest.raises(ValueError, match="requires at least 2 operands"):
            fn()
        with pytest.raises(ValueError, match="requires at least 2 operands"):
            fn(F == 1)

    @pytest.mark.parametrize("fn", [And, Or])
    @pytest.mark.parametrize("bad", [1, None, "x", lambda r: True, Field("f")])
    def test_wrong_operand_type(self, fn, bad):
        with pytest.raises(TypeError, match="Expected PredicateExpr or Condition"):
            fn(F == 1, bad)
        with pytest.raises(TypeError, match="Expected PredicateExpr or Condition"):
            fn(bad, F == 1)

    @pytest.mark.parametrize("bad", [1, None, "x", lambda r: True, Field("f")])
    def test_not_wrong_operand_type(self, bad):
        with pytest.raises(TypeError, match="Expected PredicateExpr or Condition"):
            Not(bad)

    def test_not_takes_one_operand(self):
        with pytest.raises(TypeError):
            Not(F == 1, G == 1)
        with pytest.raises(TypeError):
            Not()

    def test_folds_left(self):
        a, b, c = F == 1, G == 2, Field("h") == 3
        assert And(a, b, c)._ir == ((a & b) & c)._ir
        assert Or(a, b, c)._ir == ((a | b) | c)._ir
        assert Not(a)._ir == (~a)._ir

    def test_results_are_predicate_exprs(self):
        a, c = F == 1, Condition(G == 2)
        for p in (And(c, a), And(a, c), Or(c, c), Not(c), Not(a)):
            assert type(p) is PredicateExpr

    def test_semantics_and_nesting(self):
        p = Or(And(F > 1, F < 5), Not(Condition(G.is_null())), F == 10)
        assert m(p, {"f": 3}) is True
        assert m(p, {"f": 7}) is False
        assert m(p, {"f": 7, "g": 0}) is True
        assert m(p, {"f": 10}) is True
        assert m(And(F == 1, G == 2, Field("h") == 3), {"f": 1, "g": 2, "h": 3}) is True
        assert m(And(F == 1, G == 2, Field("h") == 3), {"f": 1, "g": 2}) is False


# ---------------------------------------------------------------------------
# where= normalisation
# ---------------------------------------------------------------------------


class TestWhereTree:
    def test_none(self):
        assert _where_tree(None) is None

    def test_predicate_and_condition(self):
        p = F == 1
        assert _where_tree(p) == p._ir
        assert _where_tree(Condition(p)) == p._ir

    @pytest.mark.parametrize("bad", [1, "f == 1", lambda r: True, {"f": 1}, Field("f"), [F == 1]])
    def test_anything_else(self, bad):
        with pytest.raises(TypeError, match="must be a Condition or PredicateExpr"):
            _where_tree(bad)

    def test_in_queries(self):
        t = table_of([{"f": i} for i in range(6)])
        assert [r["f"] for r in t.select(_where_tree(Condition(F >= 4)))] == [4, 5]
        assert t.update({"g": 1}, _where_tree(F.is_in([0, 1]))) == 2
        assert t.delete(_where_tree(Not(G.is_null()))) == 2
        assert [r["f"] for r in t.select(_where_tree(None))] == [2, 3, 4, 5]


# ---------------------------------------------------------------------------
# §7.6 Index use: results always equal a scan
# ---------------------------------------------------------------------------

INDEX_ROWS = [
    {"f": 1, "g": "a"},
    {"f": 2.0, "g": "ab"},
    {"g": "b"},
    {"f": None, "g": None},
    {"f": True, "g": "abc"},
    {"f": "1", "g": 5},
    {"f": [1], "g": b"a"},
    {"f": 3, "g": "A"},
    {"f": float("nan"), "g": "a\n"},
    {"f": dt.date(2020, 1, 1), "g": ["a"]},
    {"f": {"k": 1}, "g": "ba"},
    {"f": 0},
    {"f": -1.5, "g": "ab%"},
]

INDEX_PREDICATES = [
    F == 1,
    F == None,  # noqa: E711
    F != None,  # noqa: E711
    F != 1,
    F == "1",
    F == [1],
    F < 2,
    F <= 1,
    F > 0,
    F >= "0",
    F.between(0, 2),
    F.between("0", "2"),
    F.is_in([1, None]),
    F.is_in([None]),
    F.is_in([[1], "1", 3]),
    F.is_in([]),
    G.like("a%"),
    G.like("a"),
    G.like("ab\\%", escape="\\"),
    G.like("%"),
    G.like("_b%"),
    G.ilike("a%"),
    G.startswith("a"),
    G.iequals("A"),
    G.contains("a"),
    (F == 1) | (G == "b"),
    (F == 1) | G.like("ab%"),
    (F < 2) | (G == None),  # noqa: E711
    (F == 1) & (G == "abc"),
    (F >= 1) & G.startswith("a"),
    ~(F == 1),
    ~(F == None),  # noqa: E711
    Not(F.is_in([1, 2])),
    ~((F == 1) | (G == "a")),
    (G == "a") & ~(F == 1),
    Or(F == 1, F == 3, G == "b"),
    And(F > 0, F < 3, G.like("a%")),
    Field("_pk") == 3,
    (Field("_pk") == 3) | (F == 0),
    Field("_pk").is_in([1, 2, 99]),
    Field("_pk") > 10,
]


@pytest.mark.parametrize("pred", INDEX_PREDICATES, ids=repr)
@pytest.mark.parametrize(
    "indexes",
    [
        [("f", "hash")],
        [("f", "sorted")],
        [("g", "hash")],
        [("g", "sorted")],
        [("f", "hash"), ("g", "sorted")],
        [("f", "sorted"), ("g", "hash")],
    ],
    ids=str,
)
def test_index_results_equal_scan(pred, indexes):
    scan = table_of(INDEX_ROWS)
    expected = [r["_pk"] for r in scan.select(pred._ir)]
    rows = [dict(r, _pk=i + 1) for i, r in enumerate(INDEX_ROWS)]
    assert expected == [r["_pk"] for r in rows if pred(r)], "scan vs pred(record)"
    before = table_of(INDEX_ROWS, indexes)
    assert [r["_pk"] for r in before.select(pred._ir)] == expected
    after = table_of(INDEX_ROWS)
    for f, k in indexes:
        after.create_index(f, k)
    assert [r["_pk"] for r in after.select(pred._ir)] == expected
    assert before.delete(pred._ir) == len(expected)
    assert len(before) == len(INDEX_ROWS) - len(expected)


TRICKY_ROWS = [
    {"f": dt.date(2020, 1, 1)},
    {"f": dt.datetime(2020, 1, 1)},
    {"f": dt.datetime(2020, 1, 1, 12)},
    {"f": dt.datetime(2020, 1, 1, 12, tzinfo=UTC)},
    {"f": dt.date(2020, 1, 2)},
    {"f": float("nan")},
    {"f": float("inf")},
    {"f": 1e308},
    {"f": -0.0},
    {"f": 0},
    {"f": False},
    {"f": 2**53},
    {"f": 2**53 + 1},
    {"f": 2.0**53},
    {"f": "a"},
    {"f": "a\uffff"},
    {"f": "\U0010ffff"},
    {"f": "\U0010ffffz"},
    {"f": "b"},
    {"f": b"a"},
    {"f": ["a"]},
    {"f": [1, 2]},
    {"f": [1, "x"]},
    {"f": [1]},
    {"f": {"a": 1}},
    {"f": None},
    {},
]

TRICKY_PREDICATES = [
    F > dt.date(2020, 1, 1),
    F >= dt.date(2020, 1, 1),
    F < dt.date(2020, 1, 2),
    F <= dt.datetime(2020, 1, 1, 12),
    F > dt.datetime(2020, 1, 1),
    F >= dt.datetime(2020, 1, 1, 12, tzinfo=PLUS2),
    F.between(dt.date(2019, 1, 1), dt.date(2021, 1, 1)),
    F.between(dt.datetime(2019, 1, 1), dt.datetime(2021, 1, 1)),
    F > 1e300,
    F >= 0,
    F <= 0,
    F < float("inf"),
    F >= float("nan"),
    F == float("nan"),
    F.is_in([float("nan"), 0]),
    F == 0.0,
    F == 2**53,
    F == 2.0**53,
    F == 2**53 + 1,
    F > 2.0**53,
    F.between(2**53, 2**53 + 1),
    F > "a",
    F >= "a\uffff",
    F < "\U0010ffff",
    F.like("a%"),
    F.like("a\uffff%"),
    F.like("\U0010ffff%"),
    F.like("\U0010ffff"),
    F.like("a_"),
    F > [1],
    F < [1, 3],
    F >= [1, "a"],
    F > {"a": 0},
    F == {"a": 1},
    F > b"",
    F < True,
    F.between(False, True),
    F.between("a", "b"),
    F.between([0], [2]),
    F == None,  # noqa: E711
    F.is_in([None, "a", [1]]),
]


@pytest.mark.parametrize("pred", TRICKY_PREDICATES, ids=repr)
def test_index_ranges_respect_comparability(pred):
    rows = [dict(r, _pk=i + 1) for i, r in enumerate(TRICKY_ROWS)]
    expected = [r["_pk"] for r in rows if pred(r)]
    scan = table_of(TRICKY_ROWS)
    assert [r["_pk"] for r in scan.select(pred._ir)] == expected
    for kind in ("hash", "sorted"):
        t = table_of(TRICKY_ROWS, [("f", kind)])
        assert [r["_pk"] for r in t.select(pred._ir)] == expected, kind
        assert [r["_pk"] for r in t.select((pred & (F == F.name) | pred)._ir)] == expected
        assert [r["_pk"] for r in t.select((~pred)._ir)] == [
            r["_pk"] for r in rows if r["_pk"] not in expected
        ]


def test_q1_or_and_not_with_an_index_on_one_branch():
    t = table_of([{"f": 1, "g": 1}, {"f": 2, "g": 2}, {"f": 3, "g": 3}], [("f", "hash")])
    assert [r["f"] for r in t.select(((F == 1) | (G == 3))._ir)] == [1, 3]
    assert [r["f"] for r in t.select(Or(F == 1, G == 3)._ir)] == [1, 3]
    assert [r["f"] for r in t.select((~(F == 1))._ir)] == [2, 3]
    assert t.delete(Not(F == 1)._ir) == 2


def test_q7_eq_none_through_hash_index_includes_missing():
    rows = [{"f": None}, {}, {"f": 1}, {"g": 1}]
    for kind in ("hash", "sorted"):
        t = table_of(rows, [("f", kind)])
        assert [r["_pk"] for r in t.select((F == None)._ir)] == [1, 2, 4]  # noqa: E711
        assert [r["_pk"] for r in t.select((F != None)._ir)] == [3]  # noqa: E711
        assert [r["_pk"] for r in t.select(F.is_in([None, 1])._ir)] == [1, 2, 3, 4]
        assert [r["_pk"] for r in t.select(F.is_null()._ir)] == [1, 2, 4]


def test_index_follows_updates():
    t = table_of([{"f": i} for i in range(5)], [("f", "sorted")])
    t.update({"f": "x"}, (F >= 3)._ir)
    assert [r["_pk"] for r in t.select((F >= 3)._ir)] == []
    assert [r["_pk"] for r in t.select((F == "x")._ir)] == [4, 5]
    assert [r["_pk"] for r in t.select(F.like("x%")._ir)] == [4, 5]


# ---------------------------------------------------------------------------
# Differential: pred(record) == a plain-Python reading of §7.1 == the query
# ---------------------------------------------------------------------------


def _fresh_nan(_):
    return float("nan")


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.sampled_from([97, 2**53, 2**53 + 1, 2**63 - 1, -(2**63)]),
    st.sampled_from([0.0, -0.0, 0.5, 1.0, 2.0, float("inf"), -float("inf"), 2.0**53]),
    st.builds(_fresh_nan, st.none()),
    st.text(alphabet="aAb%_\\\né\u0130", max_size=3),
    st.sampled_from([b"", b"a", b"ab", b"\x01"]),
    st.sampled_from([dt.date(2020, 1, 1), dt.date(2020, 1, 2)]),
    st.sampled_from([dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 1, 12)]),
    st.sampled_from(
        [
            dt.datetime(2020, 1, 1, 12, tzinfo=UTC),
            dt.datetime(2020, 1, 1, 14, tzinfo=PLUS2),
            dt.datetime(2020, 1, 1, 13, tzinfo=PLUS2),
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=2)
    | st.dictionaries(st.sampled_from(["k", "l"]), inner, max_size=2),
    max_leaves=4,
)
FIELDS = ["a", "b", "_pk", "zz"]
RECORDS = st.lists(
    st.dictionaries(st.sampled_from(["a", "b"]), VALUES, max_size=2), max_size=8
)
STRS = st.text(alphabet="aAb%_\\é\u0130", max_size=3)


def _ordered(op):
    def ref(v, x):
        try:
            return bool(op(v, x))
        except TypeError:
            return False

    return ref


def _contains_ref(v, item):
    if v is None:
        return False
    try:
        return bool(item in v)
    except (TypeError, ValueError):
        return False


CMP = {
    "==": lambda v, x: v == x,
    "!=": lambda v, x: not (v == x),
    "<": _ordered(operator.lt),
    "<=": _ordered(operator.le),
    ">": _ordered(operator.gt),
    ">=": _ordered(operator.ge),
}
PY_OP = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

REFLECT = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@st.composite
def leaves(draw):
    name = draw(st.sampled_from(FIELDS))
    f = Field(name)
    kind = draw(
        st.sampled_from(
            ["cmp", "cmp", "cmp", "in", "between", "contains", "starts", "ends",
             "null", "notnull", "like", "ilike", "i"]
        )
    )
    get = operator.methodcaller("get", name)
    if kind == "cmp":
        op = draw(st.sampled_from(sorted(CMP)))
        x = draw(VALUES)
        if draw(st.booleans()):
            p = PY_OP[REFLECT[op]](x, f)  # x > f is reflected by Python as f < x
        else:
            p = PY_OP[op](f, x)
        return p, lambda r: CMP[op](get(r), x)
    if kind == "in":
        xs = draw(st.lists(VALUES, max_size=3))
        return f.is_in(xs), lambda r: any(get(r) == x for x in xs)
    if kind == "between":
        lo, hi = draw(VALUES), draw(VALUES)
        ge, le = _ordered(operator.ge), _ordered(operator.le)
        return f.between(lo, hi), lambda r: ge(get(r), lo) and le(get(r), hi)
    if kind == "contains":
        item = draw(VALUES)
        return f.contains(item), lambda r: _contains_ref(get(r), item)
    if kind in ("starts", "ends"):
        s = draw(STRS | st.tuples(STRS, STRS))
        meth = "startswith" if kind == "starts" else "endswith"
        return (
            getattr(f, meth)(s),
            lambda r: isinstance(get(r), str) and getattr(get(r), meth)(s),
        )
    if kind == "null":
        return f.is_null(), lambda r: get(r) is None
    if kind == "notnull":
        return f.is_not_null(), lambda r: get(r) is not None
    if kind in ("like", "ilike"):
        pat = draw(st.text(alphabet="aAb%_\\é", max_size=4))
        esc = draw(st.sampled_from([None, "\\", ""]))
        ic = kind == "ilike"
        return (
            getattr(f, kind)(pat, escape=esc),
            lambda r: like_reference(pat, esc, ic, get(r)),
        )
    meth = draw(st.sampled_from(["iequals", "icontains", "istartswith", "iendswith"]))
    s = draw(STRS)
    test = {
        "iequals": lambda v: v == s.lower(),
        "icontains": lambda v: s.lower() in v,
        "istartswith": lambda v: v.startswith(s.lower()),
        "iendswith": lambda v: v.endswith(s.lower()),
    }[meth]
    return getattr(f, meth)(s), lambda r: isinstance(get(r), str) and test(get(r).lower())


@st.composite
def predicates(draw, depth=3):
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(leaves())
    kind = draw(st.sampled_from(["&", "|", "~", "And", "Or", "Not", "Condition", "&py", "|py"]))
    if kind in ("&py", "|py"):
        # A Python callable as the right operand: it answers as the reference of
        # another predicate (with truthy or falsy non-bool values too), and it
        # raises if asked about a row Python's `and` / `or` would not ask about.
        (a, ra), (_, rb) = draw(predicates(depth - 1)), draw(predicates(depth - 1))
        truthy = draw(st.sampled_from([(True, False), (1, 0), ("yes", ""), ([0], [])]))
        conj = kind == "&py"

        def cb(r):
            if bool(ra(r)) is not conj:
                raise AssertionError(f"callable asked about {r!r} against short-circuit")
            return truthy[0] if rb(r) else truthy[1]

        if conj:
            return a & cb, lambda r: bool(ra(r) and rb(r))
        return a | cb, lambda r: bool(ra(r) or rb(r))
    if kind in ("~", "Not", "Condition"):
        p, ref = draw(predicates(depth - 1))
        if kind == "~":
            return ~p, lambda r: not ref(r)
        if kind == "Not":
            return Not(p), lambda r: not ref(r)
        return (Condition(p) if isinstance(p, PredicateExpr) else p), ref
    if kind in ("And", "Or"):
        parts = draw(st.lists(predicates(depth - 1), min_size=2, max_size=3))
        preds = [p for p, _ in parts]
        refs = [ref for _, ref in parts]
        if kind == "And":
            return And(*preds), lambda r: all(ref(r) for ref in refs)
        return Or(*preds), lambda r: any(ref(r) for ref in refs)
    (a, ra), (b, rb) = draw(predicates(depth - 1)), draw(predicates(depth - 1))
    if kind == "&":
        return a & b, lambda r: ra(r) and rb(r)
    return a | b, lambda r: ra(r) or rb(r)


INDEX_SETS = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["hash", "sorted"])),
    max_size=2,
    unique_by=lambda x: x[0],
)


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(rows=RECORDS, pred=predicates(), indexes=INDEX_SETS)
def test_pred_equals_query_and_reference(rows, pred, indexes):
    p, ref = pred
    where = _where_tree(p)
    t = table_of(rows)
    stored = t.select()
    want = [r["_pk"] for r in stored if ref(r)]
    assert [r["_pk"] for r in stored if p(r)] == want, "pred(record) vs reference"
    orig = [dict(r, _pk=i + 1) for i, r in enumerate(rows)]
    assert [r["_pk"] for r in orig if p(r)] == want, "pred(original record)"
    assert [r["_pk"] for r in t.select(where)] == want, "scan vs reference"
    if indexes:
        for f, k in indexes:
            t.create_index(f, k)
        assert [r["_pk"] for r in t.select(where)] == want, "index after insert"
        t2 = table_of(rows, indexes)
        assert [r["_pk"] for r in t2.select(where)] == want, "index before insert"
        assert t2.delete(where) == len(want)
        assert sorted(r["_pk"] for r in t2.select()) == sorted(
            set(r["_pk"] for r in stored) - set(want)
        )
    t3 = table_of(rows)
    assert t3.update({"hit": 1}, where) == len(want)
    assert [r["_pk"] for r in t3.select() if r.get("hit") == 1] == want


@settings(max_examples=300, deadline=None)
@given(v=VALUES, x=VALUES)
def test_ne_is_exact_complement(v, x):
    for r in ({"f": v}, {}):
        assert (F == x)(r) is not (F != x)(r)
        assert (F.is_in([x]))(r) is (F == x)(r)
