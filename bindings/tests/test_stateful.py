"""A hypothesis state machine drives a Table and a plain-dict model with the
same inserts, upserts, updates, deletes and index creations; after every step
the table's rows, lookups and queries equal the model's (python-api.md §6)."""

import os

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dictdb_rs import DuplicateKeyError, RecordNotFoundError, Table

KEYS = st.integers(min_value=1, max_value=12)
VALUES = st.one_of(st.none(), st.integers(-3, 3), st.sampled_from(["a", "b", "c"]), st.floats(-2, 2, allow_nan=False))
FIELDS = st.sampled_from(["x", "y"])


class TableMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.t = Table("t")
        self.model = {}  # pk -> row (insertion order = dict order)
        self.next_pk = 1

    def _auto(self):
        while self.next_pk in self.model:
            self.next_pk += 1
        pk = self.next_pk
        self.next_pk += 1
        return pk

    @rule(pk=st.one_of(st.none(), KEYS), x=VALUES, y=VALUES)
    def insert(self, pk, x, y):
        rec = {"x": x, "y": y}
        if pk is not None:
            rec["id"] = pk
        if pk is not None and pk in self.model:
            try:
                self.t.insert(rec)
                raise AssertionError("duplicate accepted")
            except DuplicateKeyError:
                return
        got = self.t.insert(rec)
        if pk is None:
            pk = self._auto()
        elif pk >= self.next_pk:
            self.next_pk = pk + 1
        assert got == pk
        # DictDB's field order: the record's fields, the auto pk appended.
        self.model[pk] = {"x": x, "y": y, "id": pk}

    @rule(pk=KEYS, field=FIELDS, v=VALUES)
    def upsert(self, pk, field, v):
        got = self.t.upsert({"id": pk, field: v})
        if pk in self.model:
            self.model[pk][field] = v
            assert got == (pk, "updated")
        else:
            self.model[pk] = {"id": pk, field: v}
            if pk >= self.next_pk:
                self.next_pk = pk + 1
            assert got == (pk, "inserted")

    @rule(field=FIELDS, v=VALUES, w=VALUES)
    def update(self, field, v, w):
        t = self.t
        matched = [pk for pk, r in self.model.items() if r.get(field) == v]
        try:
            n = t.update({field: w}, where=t.field(field) == v)
        except RecordNotFoundError:
            n = 0
        assert n == len(matched)
        for pk in matched:
            self.model[pk][field] = w

    @rule(field=FIELDS, v=VALUES)
    def delete(self, field, v):
        t = self.t
        matched = [pk for pk, r in self.model.items() if r.get(field) == v]
        try:
            n = t.delete(where=t.field(field) == v)
        except RecordNotFoundError:
            n = 0
        assert n == len(matched)
        for pk in matched:
            del self.model[pk]

    @rule(field=FIELDS, kind=st.sampled_from(["hash", "sorted"]))
    def index(self, field, kind):
        self.t.create_index(field, kind)

    @invariant()
    def same_rows(self):
        assert self.t.all() == list(self.model.values())
        assert len(self.t) == len(self.model)

    @invariant()
    def same_queries(self):
        t = self.t
        for v in (None, 1, "a"):
            want = [r for r in self.model.values() if r.get("x") == v]
            assert t.select(where=t.x == v) == want
        want = sorted(
            (r for r in self.model.values() if isinstance(r.get("y"), (int, float)) and r["y"] >= 0),
            key=lambda r: r["y"],
        )
        assert [r["y"] for r in t.select(where=t.y >= 0, order_by="y")] == [r["y"] for r in want]
        for pk in (1, 5, 12):
            assert t.get(pk) == self.model.get(pk)


TableMachine.TestCase.settings = settings(max_examples=int(os.environ.get("DICTDB_STATEFUL_EXAMPLES", "60")), stateful_step_count=30, deadline=None)
test_table_against_a_dict_model = TableMachine.TestCase
