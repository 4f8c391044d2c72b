"""Persistence (python-api.md §11, §6.14, §16 Q20–Q24, Q38): JSON save/load, pickle,
async save/load and ``dictdb_rs.storage.persist``, organised by §11's subsections."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import io
import json
import math
import os
import pathlib
import pickle
import sys
import typing

import pytest

import dictdb_rs as dictdb
from dictdb_rs import DictDB, Table, _logging, logger
from dictdb_rs.storage import persist

UTC2 = dt.timezone(dt.timedelta(hours=2))
NEG = dt.timezone(dt.timedelta(hours=-5, minutes=-30))


@pytest.fixture(autouse=True)
def quiet_logger():
    """No sink during the tests (records are captured where a test adds one)."""
    logger.remove()
    yield
    logger.remove()
    _logging._add_default_sink()


def sample_db() -> DictDB:
    """The database of §11.2's example, plus every value type."""
    db = DictDB()
    db.create_table("users")
    users = db.get_table("users")
    users.insert({"name": "Zoë", "tags": ["a"], "ok": True, "x": None, "f": 1.5})
    users.insert({"raw": b"\x00\x01", "seen": dt.date(2024, 5, 1)})
    users.create_index("name")
    db.tables["typed"] = Table("typed", "code", {"code": str, "n": int, "note": str | None})
    db.tables["typed"].insert({"code": "A", "n": 1, "note": None})
    db.create_table("empty", "k")
    return db


def contents(db: DictDB) -> dict:
    """Everything a round trip must keep: per table (in order) the pk field, the
    schema, the rows in order, the counter and the index definitions."""
    return {
        name: (
            t.primary_key,
            None if t.schema is None else {f: typing.get_args(tp) or tp for f, tp in t.schema.items()},
            t.all(),
            t._core.next_key(),
            [(f, type(ix).__name__) for f, ix in t.indexes.items()],
        )
        for name, t in db.tables.items()
    }


def same(a, b) -> bool:
    """Equality where NaN equals NaN (records hold NaNs in round trips)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dt.datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    return a == b


def write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.write_text(text, encoding="utf-8")
    return path


class Records:
    """A sink collecting (level, raw message, extras) through the filter hook."""

    def __init__(self):
        self.seen = []

    def filter(self, rec):
        self.seen.append((rec["level"].name, rec["message"], dict(rec["extra"])))
        return True

    def __call__(self, line):
        pass


def capture(level="INFO") -> Records:
    r = Records()
    logger.add(r, level=level, filter=r.filter)
    return r


# ---------------------------------------------------------------------------
# §11.1 Atomic writes
# ---------------------------------------------------------------------------


class TestAtomicWrites:
    @pytest.mark.parametrize("fmt", ["json", "pickle"])
    def test_failed_rename_leaves_the_target_and_no_temp_file(self, tmp_path, fmt):
        target = tmp_path / "db.out"
        target.mkdir()  # a non-empty directory: the final rename fails
        (target / "keep").write_text("old")
        with pytest.raises(OSError):
            sample_db().save(target, fmt)
        assert (target / "keep").read_text() == "old"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["db.out"]

    @pytest.mark.parametrize("fmt", ["json", "pickle"])
    def test_unsupported_schema_type_fails_before_writing(self, tmp_path, fmt):
        class Money:
            pass

        path = tmp_path / "db.file"
        path.write_text("previous content")
        db = sample_db()
        db.tables["custom"] = Table("custom", schema={"amount": Money})
        with pytest.raises(ValueError, match="amount"):
            db.save(path, fmt)
        assert path.read_text() == "previous content"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["db.file"]

    def test_missing_directory(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            sample_db().save(tmp_path / "no" / "such" / "db.json", "json")
        assert list(tmp_path.iterdir()) == []

    @pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
    @pytest.mark.parametrize("fmt", ["json", "pickle"])
    def test_permissions_follow_the_umask(self, tmp_path, fmt):
        old = os.umask(0o027)
        try:
            sample_db().save(tmp_path / "db", fmt)
            (tmp_path / "plain").write_text("x")
        finally:
            os.umask(old)
        mode = (tmp_path / "db").stat().st_mode & 0o777
        assert mode == (tmp_path / "plain").stat().st_mode & 0o777 == 0o640

    def test_save_replaces_the_previous_file(self, tmp_path):
        path = tmp_path / "db.json"
        sample_db().save(path, "json")
        db = DictDB()
        db.create_table("other")
        db.save(path, "json")
        assert list(json.loads(path.read_text())["tables"]) == ["other"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["db.json"]


# ---------------------------------------------------------------------------
# §11.2 JSON — writing
# ---------------------------------------------------------------------------


class TestJsonLayout:
    def test_example_layout(self, tmp_path):
        path = tmp_path / "db.json"
        sample_db().save(path, "json")
        text = path.read_text(encoding="utf-8")
        assert text.endswith("}\n")
        lines = text.splitlines()
        assert lines[:8] == [
            "{",
            '    "tables": {',
            '        "users": {',
            '            "primary_key": "id",',
            '            "schema": null,',
            '            "indexes": {"name": "hash"},',
            '            "next_pk": 3,',
            '            "records": [',
        ]
        # One record per line, json.dumps separators.
        assert json.loads(lines[8].strip().rstrip(",")) == {
            "name": "Zoë", "tags": ["a"], "ok": True, "x": None, "f": 1.5, "id": 1,
        }
        assert lines[8].strip().startswith('{"name": ')
        assert json.loads(lines[9].strip()) == {
            "raw": {"$bytes": "AAE="}, "seen": {"$date": "2024-05-01"}, "id": 2,
        }
        assert lines[10:] == [
            "            ]",
            "        },",
            '        "typed": {',
            '            "primary_key": "code",',
            '            "schema": {"code": "str", "n": "int", "note": "str | None"},',
            '            "indexes": {},',
            '            "next_pk": 1,',
            '            "records": [',
            '                {"code": "A", "n": 1, "note": null}',
            "            ]",
            "        },",
            '        "empty": {',
            '            "primary_key": "k",',
            '            "schema": null,',
            '            "indexes": {},',
            '            "next_pk": 1,',
            '            "records": [',
            "            ]",
            "        }",
            "    }",
            "}",
        ]

    def test_parsed_structure_and_key_order(self, tmp_path):
        path = tmp_path / "db.json"
        sample_db().save(path, "json")
        data = json.loads(path.read_text(encoding="utf-8"))
        assert list(data) == ["tables"]
        assert list(data["tables"]) == ["users", "typed", "empty"]
        for t in data["tables"].values():
            assert list(t) == ["primary_key", "schema", "indexes", "next_pk", "records"]

    def test_empty_database(self, tmp_path):
        path = tmp_path / "empty.json"
        DictDB().save(path, "json")
        assert path.read_text() == '{\n    "tables": {\n    }\n}\n'
        assert json.loads(path.read_text()) == {"tables": {}}

    def test_tagged_values_and_dict_wrapping(self, tmp_path):
        db = DictDB()
        db.create_table("t")
        db.get_table("t").insert({
            "id": 1,
            "b": b"\xff\x00abc",
            "d": dt.date(2024, 5, 1),
            "naive": dt.datetime(2024, 5, 1, 12, 30),
            "aware": dt.datetime(2024, 5, 1, 12, 30, 0, 250000, tzinfo=UTC2),
            "neg": dt.datetime(2024, 5, 1, 1, 2, 3, tzinfo=NEG),
            "utc": dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc),
            "fake_date": {"$date": "2024-05-01"},
            "fake_bytes": {"$bytes": "AAE="},
            "fake_dict": {"$dict": {"a": 1}},
            "two_keys": {"$date": "x", "y": 1},
            "nested": [{"$datetime": "nope"}, {"k": dt.date(2020, 1, 2)}],
        })
        path = tmp_path / "t.json"
        db.save(path, "json")
        rec = json.loads(path.read_text())["tables"]["t"]["records"][0]
        assert rec == {
            "id": 1,
            "b": {"$bytes": "/wBhYmM="},
            "d": {"$date": "2024-05-01"},
            "naive": {"$datetime": "2024-05-01T12:30:00"},
            "aware": {"$datetime": "2024-05-01T12:30:00.250000+02:00"},
            "neg": {"$datetime": "2024-05-01T01:02:03-05:30"},
            "utc": {"$datetime": "2024-05-01T00:00:00+00:00"},
            "fake_date": {"$dict": {"$date": "2024-05-01"}},
            "fake_bytes": {"$dict": {"$bytes": "AAE="}},
            "fake_dict": {"$dict": {"$dict": {"a": 1}}},
            "two_keys": {"$date": "x", "y": 1},
            "nested": [{"$dict": {"$datetime": "nope"}}, {"k": {"$date": "2020-01-02"}}],
        }
        # The tags are exactly Python's isoformat().
        assert rec["aware"]["$datetime"] == dt.datetime(2024, 5, 1, 12, 30, 0, 250000, tzinfo=UTC2).isoformat()
        assert rec["neg"]["$datetime"] == dt.datetime(2024, 5, 1, 1, 2, 3, tzinfo=NEG).isoformat()

    def test_floats_and_special_literals(self, tmp_path):
        db = DictDB()
        db.create_table("t")
        db.get_table("t").insert({"id": 1, "a": 1.0, "b": 1e20, "c": 0.1, "d": 1e-7,
                                  "nan": math.nan, "inf": math.inf, "ninf": -math.inf})
        path = tmp_path / "t.json"
        db.save(path, "json")
        line = path.read_text().splitlines()[8].strip()
        assert line == ('{"id": 1, "a": 1.0, "b": 1e+20, "c": 0.1, "d": 1e-07, '
                        '"nan": NaN, "inf": Infinity, "ninf": -Infinity}')
        assert line == json.dumps(db.get_table("t").get(1))
        rec = json.loads(line)  # Python's json reads the bare literals
        assert math.isnan(rec["nan"]) and rec["inf"] == math.inf and type(rec["a"]) is float

    def test_non_ascii_and_escapes(self, tmp_path):
        db = DictDB()
        db.create_table("t")
        text = "Zoë ☃ 𝄞 \"q\" \\ \n\t\x00\u2028"
        db.get_table("t").insert({"id": 1, "s": text, text: 1})
        path = tmp_path / "t.json"
        db.save(path, "json")
        assert json.loads(path.read_text(encoding="utf-8"))["tables"]["t"]["records"] == [
            {"id": 1, "s": text, text: 1}
        ]
        # Still one line per record (U+2028 may be written raw: split on \n only).
        assert len(path.read_text(encoding="utf-8").split("\n")) == 14

    def test_nullable_schema_and_every_type_name(self, tmp_path):
        schema = {"i": int, "s": str, "f": float, "b": bool, "l": list, "d": dict,
                  "by": bytes, "da": dt.date, "dtm": dt.datetime,
                  "on": int | None, "oo": dt.date | None}
        schema["ot"] = typing.Optional[str]
        db = DictDB()
        db.tables["t"] = Table("t", "i", schema)
        path = tmp_path / "t.json"
        db.save(path, "json")
        assert json.loads(path.read_text())["tables"]["t"]["schema"] == {
            "i": "int", "s": "str", "f": "float", "b": "bool", "l": "list", "d": "dict",
            "by": "bytes", "da": "date", "dtm": "datetime", "on": "int | None",
            "oo": "date | None", "ot": "str | None",
        }

    def test_indexes_in_creation_order_and_counter(self, tmp_path):
        db = DictDB()
        db.create_table("t")
        t = db.get_table("t")
        t.create_index("z", "sorted")
        t.create_index("a")
        t.insert([{"z": 1}, {"z": 2}, {"id": 10}])
        t.delete(where=t.id == 10)
        path = tmp_path / "t.json"
        db.save(path, "json")
        table = json.loads(path.read_text())["tables"]["t"]
        assert list(table["indexes"].items()) == [("z", "sorted"), ("a", "hash")]
        assert table["next_pk"] == 11

    def test_tables_in_registry_order_named_by_their_key(self, tmp_path):
        db = DictDB()
        db.tables["b"] = Table("b")
        db.tables["alias"] = Table("real_name")
        db.tables["alias"].insert({"v": 1})
        db.tables["alias"].create_index("v", "sorted")
        db.tables["a"] = Table("a")
        shared = Table("shared")
        db.tables["shared"] = shared
        db.tables["again"] = shared  # one table under two keys
        path = tmp_path / "db.json"
        db.save(path, "json")
        data = json.loads(path.read_text())["tables"]
        assert list(data) == ["b", "alias", "a", "shared", "again"]
        assert data["alias"]["records"] == [{"v": 1, "id": 1}]
        assert data["alias"]["indexes"] == {"v": "sorted"}
        assert data["alias"]["next_pk"] == 2
        back = DictDB.load(path, "json")
        assert list(back.tables) == ["b", "alias", "a", "shared", "again"]
        assert back.tables["alias"].table_name == "alias"
        assert back.tables["alias"].all() == [{"v": 1, "id": 1}]
        # The original tables keep their names and tracking.
        assert db.tables["alias"].table_name == "real_name"
        assert db.tables["alias"].has_changes()

    def test_save_leaves_tracking_untouched(self, tmp_path):
        db = sample_db()
        db.save(tmp_path / "db.json", "json")
        db.save(tmp_path / "db.pkl", "pickle")
        assert db.get_table("users").has_changes()
        assert len(db.get_table("users").get_dirty_records()) == 2
        assert persist.has_changes(db)

    def test_format_is_case_insensitive_and_paths_may_be_path_like(self, tmp_path):
        db = sample_db()
        db.save(str(tmp_path / "a.json"), "JSON")
        db.save(tmp_path / "b.json", "Json")
        db.save(tmp_path / "c.pkl", "PICKLE")
        assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()
        assert same(contents(DictDB.load(tmp_path / "c.pkl", "Pickle")), contents(db))
        assert same(contents(DictDB.load(str(tmp_path / "a.json"), "jSoN")), contents(db))

    def test_unsupported_format(self, tmp_path):
        rec = capture()
        path = tmp_path / "db.xml"
        with pytest.raises(ValueError):
            sample_db().save(path, "xml")
        assert not path.exists()
        saves = [r for r in rec.seen if r[2].get("op") == "save"]
        assert len(saves) == 1 and saves[0][0] == "INFO"  # raised after the first INFO record
        write(path, "{}")
        rec.seen.clear()
        with pytest.raises(ValueError):
            DictDB.load(path, "yaml")
        assert [r[2].get("op") for r in rec.seen] == ["load"]


# ---------------------------------------------------------------------------
# §11.2 JSON — round trips and reading
# ---------------------------------------------------------------------------


VALUES = [
    None, True, False, 0, -1, 2**63 - 1, -(2**63), 1.5, -0.0, 1e300, 5e-324,
    math.inf, -math.inf, math.nan, "", "Zoë ☃ 𝄞", "\x00\n\"\\", b"", b"\x00\xff" * 10,
    [], [1, [2, [3, {"k": [None]}]]], {}, {"a": {"b": {"c": [1.0, "x", b"y"]}}},
    {"$date": "2024-05-01"}, {"$bytes": "AAE="}, {"$datetime": "x"}, {"$dict": {"a": 1}},
    {"$dict": {"$dict": {}}}, {"$date": 5}, {"$other": "x"},
    dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.datetime(2024, 5, 1, 12, 30),
    dt.datetime(2024, 5, 1, 12, 30, 0, 1), dt.datetime(2024, 5, 1, 23, 59, 59, tzinfo=UTC2),
    dt.datetime(2024, 5, 1, tzinfo=NEG),
    dt.datetime(2024, 5, 1, tzinfo=dt.timezone(dt.timedelta(hours=1, seconds=7))),
    [dt.date(2020, 2, 29), {"when": dt.datetime(2000, 1, 1)}],
]


@pytest.mark.parametrize("fmt", ["json", "pickle"])
class TestRoundTrip:
    def test_every_value_type(self, tmp_path, fmt):
        db = DictDB()
        db.create_table("v")
        t = db.get_table("v")
        for i, v in enumerate(VALUES):
            t.insert({"id": i, "v": v, "tuple": (1, "a")})
        path = tmp_path / "db"
        db.save(path, fmt)
        back = DictDB.load(path, fmt)
        rows = back.get_table("v").all()
        assert len(rows) == len(VALUES)
        for row, v in zip(rows, VALUES):
            assert same(row["v"], v), (row["v"], v)
            assert row["tuple"] == [1, "a"]

    def test_example_database_and_repeated_cycles(self, tmp_path, fmt):
        db = sample_db()
        expected = contents(db)
        for i in range(3):
            path = tmp_path / f"cycle{i}"
            db.save(path, fmt)
            db = DictDB.load(path, fmt)
            assert same(contents(db), expected)
        assert list(db.tables) == ["users", "typed", "empty"]

    def test_schema_tables_with_nullable_fields(self, tmp_path, fmt):
        db = DictDB()
        db.tables["p"] = Table("p", "code", {"code": str, "n": int | None, "when": dt.datetime,
                                            "blob": bytes | None})
        p = db.tables["p"]
        p.insert({"code": "a", "n": None, "when": dt.datetime(2024, 1, 1), "blob": b"x"})
        p.insert({"code": "b", "when": dt.datetime(2024, 1, 2, tzinfo=UTC2)})
        db.save(tmp_path / "db", fmt)
        back = DictDB.load(tmp_path / "db", fmt).tables["p"]
        assert back.schema == {"code": str, "n": int | None, "when": dt.datetime,
                               "blob": bytes | None}
        assert same(back.all(), p.all())
        # The schema is enforced after the load.
        with pytest.raises(dictdb.SchemaValidationError):
            back.insert({"code": "c", "n": "no", "when": dt.datetime(2024, 1, 1)})
        back.insert({"code": "c", "when": dt.datetime(2024, 1, 3), "blob": None})

    def test_counter_survives_q22(self, tmp_path, fmt):
        db = DictDB()
        db.create_table("t")
        t = db.get_table("t")
        t.insert([{"v": i} for i in range(5)])
        t.delete(where=t.id >= 4)  # DictDB would hand out 4 again after a reload
        db.save(tmp_path / "db", fmt)
        back = DictDB.load(tmp_path / "db", fmt).get_table("t")
        assert back._core.next_key() == 6
        assert back.insert({"v": "new"}) == 6

    def test_indexes_are_restored_q20(self, tmp_path, fmt):
        db = sample_db()
        t = db.get_table("users")
        t.create_index("seen", "sorted")
        db.save(tmp_path / "db", fmt)
        back = DictDB.load(tmp_path / "db", fmt).get_table("users")
        assert [(f, type(ix).__name__) for f, ix in back.indexes.items()] == [
            ("name", "HashIndex"), ("seen", "SortedIndex"),
        ]
        assert back.select(where=back.name == "Zoë")[0]["id"] == 1
        # The rebuilt index follows later writes.
        back.insert({"name": "Ann"})
        assert [r["id"] for r in back.select(where=back.name == "Ann")] == [3]

    def test_tracking_is_clean_after_load_q21(self, tmp_path, fmt):
        db = sample_db()
        db.save(tmp_path / "db", fmt)
        back = DictDB.load(tmp_path / "db", fmt)
        for t in back.tables.values():
            assert not t.has_changes()
            assert t.get_dirty_records() == [] and t.get_deleted_pks() == []
        # The loaded file plays the role of a first full backup (§13.2).
        assert not persist.has_changes(back)

    def test_load_builds_a_new_database_of_the_subclass(self, tmp_path, fmt):
        class MyDB(DictDB):
            pass

        sample_db().save(tmp_path / "db", fmt)
        back = MyDB.load(tmp_path / "db", fmt)
        if fmt == "json":
            assert type(back) is MyDB
        else:  # the pickle names dictdb_rs.DictDB
            assert type(back) is DictDB
        assert back.get_table("users").get(1)["name"] == "Zoë"
        assert back.sql("SELECT COUNT(*) AS n FROM users") == [{"n": 2}]

    def test_loaded_tables_are_independent(self, tmp_path, fmt):
        db = sample_db()
        db.save(tmp_path / "db", fmt)
        a = DictDB.load(tmp_path / "db", fmt)
        b = DictDB.load(tmp_path / "db", fmt)
        a.get_table("users").insert({"name": "only in a"})
        assert len(b.get_table("users")) == 2 and len(db.get_table("users")) == 2

    def test_logs_before_and_after(self, tmp_path, fmt):
        rec = capture()
        db = sample_db()
        rec.seen.clear()
        path = tmp_path / "db"
        db.save(path, fmt)
        DictDB.load(path, fmt)
        ops = [(lvl, x.get("op")) for lvl, _, x in rec.seen if x.get("op") in ("save", "load")]
        assert ops == [("INFO", "save"), ("INFO", "save"), ("INFO", "load"), ("INFO", "load")]
        after_save = [x for _, _, x in rec.seen if x.get("op") == "save"][1]
        assert after_save["path"] == str(path) and after_save["format"] == fmt
        assert after_save["tables"] == 3 and after_save["records"] == 3
        after_load = [x for _, _, x in rec.seen if x.get("op") == "load"][1]
        assert after_load["tables"] == 3 and after_load["records"] == 3


class TestJsonReading:
    DICTDB_FILE = """{
    "tables": {
        "users": {
            "primary_key": "id",
            "schema": null,
            "records": [
                {"id": 1, "name": "Zo\\u00eb \\ud834\\udd1e", "f": NaN, "g": -Infinity},
                {"id": 3, "name": "Bob", "tags": ["x", {"$date": "2024-05-01"}]},
                {"id": "s", "name": "str key"},
                {"name": "no key"},
                {"id": null, "name": "null key"}
            ]
        },
        "typed": {
            "primary_key": "code",
            "schema": {"code": "str", "n": "int", "f": "float", "b": "bool", "l": "list", "d": "dict"},
            "records": [
                {"code": "A", "n": 1, "f": 1.0, "b": true, "l": [], "d": {}}
            ],
            "unknown_key": 42
        }
    },
    "extra": "ignored"
}"""

    def test_a_file_written_by_dictdb(self, tmp_path):
        path = write(tmp_path / "dictdb.json", self.DICTDB_FILE)
        db = DictDB.load(path, "json")
        assert list(db.tables) == ["users", "typed"]
        users = db.get_table("users")
        rows = users.all()
        assert rows[0]["name"] == "Zoë 𝄞" and math.isnan(rows[0]["f"]) and rows[0]["g"] == -math.inf
        assert rows[1]["tags"] == ["x", dt.date(2024, 5, 1)]
        # Auto keys for absent / null pks; the counter is max int pk + 1 at load.
        assert [r["id"] for r in rows] == [1, 3, "s", 4, 5]
        assert not users.has_changes()
        assert users.insert({"name": "next"}) == 6
        typed = db.get_table("typed")
        assert typed.schema == {"code": str, "n": int, "f": float, "b": bool, "l": list, "d": dict}
        assert typed.all() == [{"code": "A", "n": 1, "f": 1.0, "b": True, "l": [], "d": {}}]
        assert typed.indexes == {}

    def test_dictdb_file_round_trips_with_identical_content(self, tmp_path):
        path = write(tmp_path / "dictdb.json", self.DICTDB_FILE)
        db = DictDB.load(path, "json")
        db.save(tmp_path / "again.json", "json")
        assert same(contents(DictDB.load(tmp_path / "again.json", "json")), contents(db))

    def test_counter_without_int_keys_starts_at_one(self, tmp_path):
        path = write(tmp_path / "x.json", json.dumps({"tables": {"t": {
            "primary_key": "k", "schema": None, "records": [{"k": "a"}, {"k": -5}]}}}))
        t = DictDB.load(path, "json").get_table("t")
        assert t.insert({}) == 1

    def test_saved_counter_never_goes_below_the_keys(self, tmp_path):
        path = write(tmp_path / "x.json", json.dumps({"tables": {"t": {
            "primary_key": "id", "schema": None, "next_pk": 2, "records": [{"id": 7}]}}}))
        assert DictDB.load(path, "json").get_table("t").insert({}) == 8

    def test_tag_decoding_rules(self, tmp_path):
        records = [{
            "id": 1,
            "bytes": {"$bytes": "AAE="},
            "bad_bytes": {"$bytes": "not base64!"},
            "date": {"$date": "2024-05-01"},
            "bad_date": {"$date": "yesterday"},
            "dtm": {"$datetime": "2024-05-01T12:30:00+02:00"},
            "not_str": {"$date": 20240501},
            "two": {"$date": "2024-05-01", "x": 1},
            "lit": {"$dict": {"$date": "2024-05-01", "inner": {"$date": "2024-05-02"}}},
        }]
        path = write(tmp_path / "x.json", json.dumps(
            {"tables": {"t": {"primary_key": "id", "schema": None, "records": records}}}))
        row = DictDB.load(path, "json").get_table("t").get(1)
        assert row == {
            "id": 1,
            "bytes": b"\x00\x01",
            "bad_bytes": {"$bytes": "not base64!"},
            "date": dt.date(2024, 5, 1),
            "bad_date": {"$date": "yesterday"},
            "dtm": dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC2),
            "not_str": {"$date": 20240501},
            "two": {"$date": "2024-05-01", "x": 1},
            # the inner dict taken literally, its values decoded normally
            "lit": {"$date": "2024-05-01", "inner": dt.date(2024, 5, 2)},
        }

    def test_a_dictdb_rs_file_reads_in_python_json_as_dictdb_does(self, tmp_path):
        # DictDB reads with json.load and ignores indexes / next_pk: the same
        # records come back (tagged values as plain one-key dicts).
        db = DictDB()
        db.tables["t"] = Table("t", schema={"n": int, "s": str})
        db.tables["t"].insert({"n": 1, "s": "Zoë"})
        db.tables["t"].create_index("s")
        db.save(tmp_path / "db.json", "json")
        data = json.loads((tmp_path / "db.json").read_text(encoding="utf-8"))
        t = data["tables"]["t"]
        assert t["primary_key"] == "id" and t["schema"] == {"n": "int", "s": "str", "id": "int"}
        assert t["records"] == [{"n": 1, "s": "Zoë", "id": 1}]


# ---------------------------------------------------------------------------
# §11.2 JSON — errors
# ---------------------------------------------------------------------------


def table_file(**fields) -> str:
    t = {"primary_key": "id", "schema": None, "records": []}
    t.update(fields)
    return json.dumps({"tables": {"t": {k: v for k, v in t.items() if v is not ...}}})


class TestLoadErrors:
    @pytest.mark.parametrize("text, key", [
        ("{}", "tables"),
        (table_file(primary_key=...), "primary_key"),
        (table_file(schema=...), "schema"),
        (table_file(records=...), "records"),
    ])
    def test_missing_keys_raise_key_error(self, tmp_path, text, key):
        path = write(tmp_path / "bad.json", text)
        with pytest.raises(KeyError, match=key):
            DictDB.load(path, "json")

    @pytest.mark.parametrize("text", [
        "[]",
        '{"tables": []}',
        '{"tables": {"t": 5}}',
        table_file(primary_key=1),
        table_file(schema=[]),
        table_file(records={}),
        table_file(records=[[1]]),
        table_file(indexes=["a"]),
        table_file(next_pk="3"),
        table_file(records=[{"id": [1]}]),  # an unhashable pk
    ])
    def test_wrong_shapes_raise_type_error(self, tmp_path, text):
        path = write(tmp_path / "bad.json", text)
        with pytest.raises((TypeError, AttributeError)):
            DictDB.load(path, "json")

    @pytest.mark.parametrize("text", [
        '{"tables": {\n  "t": }',
        '{"tables": {',
        '{"tables": {}} extra',
        '',
        '{"tables": {"é": nope}}',
        '{\n  "tables": {\n    "t": {"primary_key": "id",, }\n  }\n}',
    ])
    def test_invalid_json_raises_json_decode_error(self, tmp_path, text):
        path = write(tmp_path / "bad.json", text)
        with pytest.raises(json.JSONDecodeError) as info:
            DictDB.load(path, "json")
        with pytest.raises(json.JSONDecodeError) as py:
            json.loads(text)
        e = info.value
        assert isinstance(e, ValueError)
        assert (e.pos, e.lineno, e.colno) == (py.value.pos, py.value.lineno, py.value.colno)
        assert e.doc == text[: len(e.doc)] and len(e.doc) >= e.pos
        assert "bad.json" in e.msg

    def test_invalid_utf8(self, tmp_path):
        path = tmp_path / "bad.json"
        path.write_bytes(b'{"tables": {"\xff": {}}}')
        with pytest.raises(ValueError):
            DictDB.load(path, "json")

    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError) as info:
            DictDB.load(tmp_path / "nope.json", "json")
        assert info.value.filename == str(tmp_path / "nope.json")

    def test_a_directory(self, tmp_path):
        with pytest.raises(OSError):
            DictDB.load(tmp_path, "json")

    def test_unknown_schema_type(self, tmp_path):
        path = write(tmp_path / "bad.json", table_file(schema={"id": "int", "x": "Decimal"}))
        with pytest.raises(ValueError, match="Decimal"):
            DictDB.load(path, "json")

    def test_unknown_index_type(self, tmp_path):
        path = write(tmp_path / "bad.json", table_file(indexes={"x": "btree"}))
        with pytest.raises(ValueError, match="btree"):
            DictDB.load(path, "json")

    def test_schema_violation(self, tmp_path):
        path = write(tmp_path / "bad.json", table_file(
            schema={"id": "int", "x": "int"}, records=[{"id": 1, "x": "s"}]))
        with pytest.raises(dictdb.SchemaValidationError, match="x"):
            DictDB.load(path, "json")
        path = write(tmp_path / "bad.json", table_file(
            schema={"id": "int"}, records=[{"id": 1, "extra": 1}]))
        with pytest.raises(dictdb.SchemaValidationError, match="extra"):
            DictDB.load(path, "json")

    def test_duplicate_keys(self, tmp_path):
        path = write(tmp_path / "bad.json", table_file(records=[{"id": 1}, {"id": 1.0}]))
        with pytest.raises(dictdb.DuplicateKeyError) as info:
            DictDB.load(path, "json")
        assert "'t'" in str(info.value)

    def test_nan_key(self, tmp_path):
        path = tmp_path / "bad.json"
        path.write_text('{"tables": {"t": {"primary_key": "id", "schema": null, '
                        '"records": [{"id": NaN}]}}}')
        with pytest.raises(ValueError):
            DictDB.load(path, "json")

    def test_integer_beyond_64_bits(self, tmp_path):
        path = write(tmp_path / "bad.json", table_file(records=[{"id": 1, "x": 2**64}]))
        with pytest.raises(OverflowError):
            DictDB.load(path, "json")

    def test_errors_name_the_table(self, tmp_path):
        path = write(tmp_path / "bad.json", json.dumps({"tables": {
            "good": {"primary_key": "id", "schema": None, "records": []},
            "broken": {"primary_key": "id", "schema": None}}}))
        with pytest.raises(KeyError, match="broken"):
            DictDB.load(path, "json")


# ---------------------------------------------------------------------------
# §11.3 Pickle (and §6.14)
# ---------------------------------------------------------------------------


def only_builtins(obj) -> bool:
    if obj is None or type(obj) in (bool, int, float, str, bytes):
        return True
    if type(obj) in (list, tuple):
        return all(only_builtins(x) for x in obj)
    if type(obj) is dict:
        return all(type(k) is str and only_builtins(v) for k, v in obj.items())
    return False


class TestPickle:
    def test_table_state_is_builtin_types_only(self):
        t = sample_db().get_table("users")
        t.insert({"when": dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC2), "d": {"$date": "x"}})
        t.create_index("when", "sorted")
        reduced = t.__reduce__()
        assert reduced[1] == (Table,)
        state = reduced[2]
        assert only_builtins(state)
        assert state["table_name"] == "users" and state["primary_key"] == "id"
        assert state["schema"] is None
        assert state["next_pk"] == 4
        assert state["indexes"] == {"name": "hash", "when": "sorted"}
        assert state["records"] == [
            {"name": "Zoë", "tags": ["a"], "ok": True, "x": None, "f": 1.5, "id": 1},
            {"raw": b"\x00\x01", "seen": {"$date": "2024-05-01"}, "id": 2},
            {"when": {"$datetime": "2024-05-01T12:30:00+02:00"}, "d": {"$dict": {"$date": "x"}},
             "id": 3},
        ]
        typed = sample_db().tables["typed"].__reduce__()[2]
        assert typed["schema"] == {"code": "str", "n": "int", "note": "str | None"}

    def test_table_pickles_alone(self):
        t = Table("solo", "k", {"k": int, "v": dt.date | None})
        t.insert({"v": dt.date(2024, 1, 1)})
        t.insert({"k": 10})
        t.create_index("v", "sorted")
        data = pickle.dumps(t)
        assert b"dictdb_rs" in data and b"Table" in data and b"_native" not in data
        back = pickle.loads(data)
        assert type(back) is Table
        assert back.table_name == "solo" and back.primary_key == "k"
        assert back.schema == t.schema
        assert back.all() == t.all()
        assert list(back.indexes) == ["v"] and type(back.indexes["v"]).__name__ == "SortedIndex"
        assert not back.has_changes()
        assert back.insert({}) == 11
        assert len(t) == 2  # independent

    def test_copy_and_deepcopy_use_the_same_state(self):
        t = sample_db().get_table("users")
        for c in (copy.copy(t), copy.deepcopy(t)):
            assert same(c.all(), t.all()) and c._core is not t._core

    def test_dictdb_pickles_with_its_tables_dict(self):
        db = sample_db()
        db.tables["alias"] = Table("real")
        back = pickle.loads(pickle.dumps(db))
        assert type(back) is DictDB
        assert list(back.tables) == ["users", "typed", "empty", "alias"]
        assert back.tables["alias"].table_name == "real"
        assert same(contents(back), contents(db))
        assert not persist.has_changes(back)
        assert back.sql("SELECT name FROM users WHERE id = 1") == [{"name": "Zoë"}]

    def test_save_writes_pickle_dumps(self, tmp_path):
        db = sample_db()
        db.save(tmp_path / "db.pkl", "pickle")
        raw = (tmp_path / "db.pkl").read_bytes()
        assert raw[:2] == pickle.dumps(None)[:2]  # the default protocol
        assert same(contents(pickle.loads(raw)), contents(db))

    def test_custom_schema_type_cannot_be_pickled(self):
        class Money:
            pass

        with pytest.raises(ValueError, match="amount"):
            pickle.dumps(Table("m", schema={"amount": Money}))

    def _rejected(self, tmp_path, payload: bytes, name: str):
        path = tmp_path / "evil.pkl"
        path.write_bytes(payload)
        with pytest.raises(pickle.UnpicklingError, match="not allowed") as info:
            DictDB.load(path, "pickle")
        assert name in str(info.value)

    def test_restricted_unpickler_rejects_os_system(self, tmp_path):
        marker = tmp_path / "pwned"

        class Evil:
            def __reduce__(self):
                return (os.system, (f"touch {marker}",))

        self._rejected(tmp_path, pickle.dumps(Evil()), "system")
        assert not marker.exists()

    def test_restricted_unpickler_rejects_subclasses(self, tmp_path):
        class MyDB(DictDB):
            pass

        MyDB.__qualname__ = "MyDB"
        sys.modules[__name__].MyDB = MyDB
        try:
            db = MyDB()
            db.create_table("t")
            db.save(tmp_path / "sub.pkl", "pickle")
        finally:
            del sys.modules[__name__].MyDB
        with pytest.raises(pickle.UnpicklingError, match="not allowed"):
            DictDB.load(tmp_path / "sub.pkl", "pickle")

    def test_restricted_unpickler_rejects_dictdb_pickles(self, tmp_path):
        # DictDB's own files name dictdb.* classes.
        payload = (b"\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00\x8c\x0edictdb.core.db"
                   b"\x94\x8c\x06DictDB\x94\x93\x94.")
        self._rejected(tmp_path, payload, "dictdb.core.db.DictDB")

    def test_restricted_unpickler_accepts_the_whitelist(self, tmp_path):
        # A pickle of builtins only is resolved but is not a database.
        value = {"a": [1, 2.0, "s", b"b", (1,), {1}, frozenset([2]), True, None, int]}
        path = tmp_path / "plain.pkl"
        path.write_bytes(pickle.dumps(value))
        with pytest.raises(pickle.UnpicklingError, match="not a DictDB"):
            DictDB.load(path, "pickle")

    def test_a_crafted_state_goes_through_the_insert_rules(self, tmp_path):
        t = Table("t", schema={"n": int})
        state = t.__reduce__()[2]
        state["records"] = [{"id": 1, "n": "text"}]
        t2 = Table.__new__(Table)
        with pytest.raises(dictdb.SchemaValidationError):
            t2.__setstate__(state)
        state["records"] = [{"id": 1, "n": 1}, {"id": 1, "n": 2}]
        with pytest.raises(dictdb.DuplicateKeyError):
            t2.__setstate__(state)
        state["records"] = [{"id": 1, "n": 1, "x": {1, 2}}]
        with pytest.raises(TypeError, match="set"):
            t2.__setstate__(state)
        state["records"] = [{"id": 1, "n": 1}]
        state["indexes"] = {"n": "btree"}
        with pytest.raises(ValueError, match="btree"):
            t2.__setstate__(state)
        state["indexes"] = {}
        state["schema"] = {"n": "Decimal"}
        with pytest.raises(ValueError, match="Decimal"):
            t2.__setstate__(state)

    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            DictDB.load(tmp_path / "nope.pkl", "pickle")


# ---------------------------------------------------------------------------
# §5 async_save / async_load
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "pickle"])
def test_async_round_trip(tmp_path, fmt):
    db = sample_db()
    db.get_table("users").delete(where=db.get_table("users").id == 2)
    path = tmp_path / f"db.{fmt}"

    async def main():
        await db.async_save(path, fmt.upper())
        return await DictDB.async_load(path, fmt)

    back = asyncio.run(main())
    assert same(contents(back), contents(db))
    assert back.get_table("users")._core.next_key() == 3
    assert not back.get_table("users").has_changes()


def test_async_runs_in_a_worker_thread(tmp_path, monkeypatch):
    import threading

    threads = []

    class Spy(DictDB):
        def save(self, filename, file_format):
            threads.append(threading.current_thread())
            super().save(filename, file_format)

    db = Spy()
    asyncio.run(db.async_save(tmp_path / "db.json", "json"))
    assert threads and threads[0] is not threading.main_thread()
    with pytest.raises(ValueError):
        asyncio.run(Spy.async_load(tmp_path / "db.json", "csv"))


# ---------------------------------------------------------------------------
# §11.4 dictdb_rs.storage.persist (with §13.3–§13.4)
# ---------------------------------------------------------------------------


class TestStoragePersist:
    def test_surface(self):
        assert persist.__all__ == ["save", "load", "has_changes", "save_delta", "apply_delta"]
        import dictdb_rs.storage.persist as p

        assert p is persist

    @pytest.mark.parametrize("fmt", ["json", "pickle"])
    def test_save_and_load(self, tmp_path, fmt):
        db = sample_db()
        persist.save(db, tmp_path / "db", fmt)
        assert same(contents(persist.load(tmp_path / "db", fmt)), contents(db))
        (tmp_path / "in").mkdir()
        persist.save(db, str(tmp_path / "in" / ".." / "db2"), fmt, allowed_dir=tmp_path)
        assert same(contents(persist.load(tmp_path / "db2", fmt, allowed_dir=str(tmp_path))),
                    contents(db))

    def test_allowed_dir(self, tmp_path):
        inside = tmp_path / "data"
        inside.mkdir()
        db = sample_db()
        for path in (tmp_path / "db.json", inside / ".." / "db.json", "/etc/passwd"):
            with pytest.raises(ValueError, match="outside the allowed directory"):
                persist.save(db, path, "json", allowed_dir=inside)
            with pytest.raises(ValueError, match="outside the allowed directory"):
                persist.load(path, "json", allowed_dir=inside)
            with pytest.raises(ValueError, match="outside the allowed directory"):
                persist.save_delta(db, path, allowed_dir=inside)
            with pytest.raises(ValueError, match="outside the allowed directory"):
                persist.apply_delta(db, path, allowed_dir=inside)
        assert not (tmp_path / "db.json").exists()
        assert persist.has_changes(db)  # the refused save_delta took nothing

    @pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
    def test_allowed_dir_resolves_symlinks(self, tmp_path):
        inside = tmp_path / "data"
        inside.mkdir()
        (inside / "link").symlink_to(tmp_path)
        with pytest.raises(ValueError, match="outside the allowed directory"):
            persist.save(sample_db(), inside / "link" / "db.json", "json", allowed_dir=inside)

    def test_save_calls_the_builtin_save(self, tmp_path):
        class Looping(DictDB):
            def save(self, filename, file_format):
                persist.save(self, filename, file_format)

        db = Looping()
        db.create_table("t")
        db.save(tmp_path / "db.json", "json")  # no recursion
        assert list(DictDB.load(tmp_path / "db.json", "json").tables) == ["t"]

    def test_has_changes(self, tmp_path):
        db = DictDB()
        assert not persist.has_changes(db)
        db.create_table("t")
        assert persist.has_changes(db)  # a created table
        assert persist.save_delta(db, tmp_path / "d1.json")
        assert not persist.has_changes(db)
        db.get_table("t").insert({"v": 1})
        assert persist.has_changes(db)
        assert persist.save_delta(db, tmp_path / "d2.json")
        assert not persist.has_changes(db)
        del db.tables["t"]  # a dropped table (registry changed by assignment)
        assert persist.has_changes(db)

    def test_save_delta_without_changes_writes_nothing(self, tmp_path):
        db = DictDB()
        assert persist.save_delta(db, tmp_path / "d.json") is False
        db.create_table("t")
        assert persist.save_delta(db, tmp_path / "d.json") is True
        (tmp_path / "d.json").unlink()
        assert persist.save_delta(db, tmp_path / "d.json") is False
        assert not (tmp_path / "d.json").exists()

    def test_delta_file_layout(self, tmp_path):
        db = DictDB()
        db.create_table("u")
        u = db.get_table("u")
        u.create_index("n")
        u.insert([{"n": "a"}, {"n": "b"}])
        persist.save_delta(db, tmp_path / "d1.json")
        u.upsert({"id": 1, "n": "A"})
        u.delete(where=u.id == 2)
        u.insert({"name": "c"})
        persist.save_delta(db, tmp_path / "d2.json")
        d1 = json.loads((tmp_path / "d1.json").read_text())
        assert d1["type"] == "delta" and isinstance(d1["timestamp"], float)
        assert d1["dropped"] == []
        assert d1["created"]["u"] == {"primary_key": "id", "schema": None,
                                      "indexes": {"n": "hash"}, "next_pk": 3}
        assert d1["tables"]["u"]["upserts"] == [{"n": "a", "id": 1}, {"n": "b", "id": 2}]
        text = (tmp_path / "d2.json").read_text()
        assert text.startswith('{\n  "type": "delta",\n  "timestamp": ')  # indent=2
        d2 = json.loads(text)
        assert d2["created"] == {} and d2["dropped"] == []
        assert d2["tables"]["u"]["upserts"] == [{"id": 1, "n": "A"}, {"name": "c", "id": 3}]
        assert d2["tables"]["u"]["deletes"] == [2]

    def test_save_delta_clear_tracking_false_keeps_everything(self, tmp_path):
        db = DictDB()
        db.create_table("t")
        t = db.get_table("t")
        t.insert([{"v": 1}, {"v": 2}])
        assert persist.save_delta(db, tmp_path / "d1.json", clear_tracking=False)
        assert t.has_changes() and persist.has_changes(db)
        assert len(t.get_dirty_records()) == 2
        t.delete(where=t.v == 2)
        assert persist.save_delta(db, tmp_path / "d2.json", clear_tracking=False)
        d1 = json.loads((tmp_path / "d1.json").read_text())
        d2 = json.loads((tmp_path / "d2.json").read_text())
        # Still a created table (listing all its rows), now without the deleted row.
        assert list(d1["created"]) == list(d2["created"]) == ["t"]
        assert d1["tables"]["t"]["upserts"] == [{"v": 1, "id": 1}, {"v": 2, "id": 2}]
        assert d2["tables"]["t"]["upserts"] == [{"v": 1, "id": 1}]
        assert persist.save_delta(db, tmp_path / "d3.json")  # clears
        assert not persist.has_changes(db) and not t.has_changes()
        assert persist.save_delta(db, tmp_path / "none.json") is False
        # Row changes of an existing table are kept the same way.
        t.update({"v": 10}, where=t.id == 1)
        t.insert({"v": 3})
        assert persist.save_delta(db, tmp_path / "d4.json", clear_tracking=False)
        t.delete(where=t.v == 3)
        assert persist.save_delta(db, tmp_path / "d5.json", clear_tracking=False)
        d4 = json.loads((tmp_path / "d4.json").read_text())["tables"]["t"]
        d5 = json.loads((tmp_path / "d5.json").read_text())["tables"]["t"]
        assert (d4["upserts"], d4["deletes"]) == ([{"v": 10, "id": 1}, {"v": 3, "id": 3}], [])
        assert (d5["upserts"], d5["deletes"]) == ([{"v": 10, "id": 1}], [3])
        assert t.get_dirty_records() == [{"v": 10, "id": 1}] and t.get_deleted_pks() == [3]
        # d3 then d5 rebuild the table.
        fresh = DictDB()
        persist.apply_delta(fresh, tmp_path / "d3.json")
        assert fresh.get_table("t").all() == [{"v": 1, "id": 1}]
        persist.apply_delta(fresh, tmp_path / "d5.json")
        assert fresh.get_table("t").all() == t.all() == [{"v": 10, "id": 1}]

    def test_apply_delta_counts(self, tmp_path):
        path = write(tmp_path / "d.json", json.dumps({
            "type": "delta", "timestamp": 1.0,
            "tables": {"t": {"upserts": [{"id": 1, "v": "new"}, {"id": 9, "v": "ins"}],
                             "deletes": [2, 404]},
                       "missing": {"upserts": [{"id": 1}], "deletes": [1]}},
        }))
        db = DictDB()
        db.create_table("t")
        db.get_table("t").insert([{"v": "a", "extra": 1}, {"v": "b"}])
        db.get_table("t").clear_dirty_tracking()
        # 2 upserts + 1 effective delete (404 is absent, "missing" is skipped).
        assert persist.apply_delta(db, path) == 3
        t = db.get_table("t")
        assert t.all() == [{"id": 1, "v": "new"}, {"id": 9, "v": "ins"}]  # replaced, not merged
        assert not t.has_changes()
        assert t.insert({}) == 10  # the counter moved past 9
        assert list(db.tables) == ["t"]

    def test_apply_delta_upserts_and_deletes_alone(self, tmp_path):
        db = DictDB()
        db.create_table("t")
        db.get_table("t").insert({"v": 0})
        two = write(tmp_path / "two.json", json.dumps(
            {"type": "delta", "timestamp": 1.0,
             "tables": {"t": {"upserts": [{"v": 1}, {"id": 5, "v": 2}], "deletes": []}}}))
        assert persist.apply_delta(db, two) == 2
        one = write(tmp_path / "one.json", json.dumps(
            {"type": "delta", "timestamp": 1.0, "tables": {"t": {"upserts": [], "deletes": [1]}}}))
        assert persist.apply_delta(db, one) == 1
        assert persist.apply_delta(db, one) == 0
        assert db.get_table("t").all() == [{"v": 1, "id": 2}, {"id": 5, "v": 2}]

    def test_apply_delta_creates_and_drops_tables(self, tmp_path):
        db = DictDB()
        db.create_table("keep")
        db.create_table("old")
        persist.save_delta(db, tmp_path / "first.json")
        path = write(tmp_path / "d.json", json.dumps({
            "type": "delta", "timestamp": 1.0, "dropped": ["old"],
            "created": {"new": {"primary_key": "k", "schema": {"k": "int", "s": "str | None"},
                                "indexes": {"s": "sorted"}, "next_pk": 7}},
            "tables": {"new": {"upserts": [{"s": "x"}, {"k": 2, "s": None}], "deletes": []}},
        }))
        assert persist.apply_delta(db, path) == 2
        assert list(db.tables) == ["keep", "new"]
        new = db.get_table("new")
        assert new.primary_key == "k" and new.schema == {"k": int, "s": str | None}
        assert list(new.indexes) == ["s"]
        assert new.all() == [{"s": "x", "k": 7}, {"k": 2, "s": None}]
        assert not persist.has_changes(db)  # a replayed delta is not a change to back up
        with pytest.raises(dictdb.TableNotFoundError):
            db.get_table("old")

    def test_apply_delta_on_a_non_delta_file(self, tmp_path):
        db = sample_db()
        db.save(tmp_path / "db.json", "json")
        with pytest.raises(ValueError, match="not a valid delta file"):
            persist.apply_delta(db, tmp_path / "db.json")
        write(tmp_path / "other.json", '{"type": "full", "tables": {}}')
        with pytest.raises(ValueError, match="not a valid delta file"):
            persist.apply_delta(db, tmp_path / "other.json")
        with pytest.raises(FileNotFoundError):
            persist.apply_delta(db, tmp_path / "none.json")
        assert same(contents(db), contents(sample_db()))

    def test_replaying_every_delta_restores_the_database(self, tmp_path):
        db = DictDB()
        deltas = []

        def step(n):
            p = tmp_path / f"d{n}.json"
            if persist.save_delta(db, p):
                deltas.append(p)

        db.create_table("a")
        db.get_table("a").insert([{"v": i} for i in range(5)])
        db.tables["b"] = Table("b", "code", {"code": str, "when": dt.date | None})
        db.tables["b"].insert({"code": "x", "when": dt.date(2024, 1, 1)})
        step(1)
        a = db.get_table("a")
        a.update({"v": 100}, where=a.id == 3)
        a.delete(where=a.v == 0)
        a.insert({"v": "new", "blob": b"\x00"})
        a.create_index("v", "sorted")
        db.drop_table("b")
        step(2)
        db.create_table("c")
        db.get_table("c").insert({"nested": {"$date": "literal"}})
        step(3)
        step(4)  # nothing changed: no file
        assert len(deltas) == 3
        replay = DictDB()
        for p in deltas:
            persist.apply_delta(replay, p)
        assert list(replay.tables) == list(db.tables) == ["a", "c"]
        assert same(contents(replay), contents(db))


# ---------------------------------------------------------------------------
# §10 / Q38: saves capture each table at one moment
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "pickle"])
def test_saves_during_bulk_writes_are_never_torn(tmp_path, fmt):
    import threading

    db = DictDB()
    db.create_table("t")
    t = db.get_table("t")
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            t.insert([{"batch": i} for _ in range(100)])
            i += 1

    th = threading.Thread(target=writer)
    th.start()
    try:
        for n in range(5):
            path = tmp_path / f"db{n}"
            db.save(path, fmt)
            rows = DictDB.load(path, fmt).get_table("t").all()
            assert len(rows) % 100 == 0
    finally:
        stop.set()
        th.join()
