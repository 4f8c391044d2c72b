"""python-api.md §12: DictDB.import_csv and Table.export_csv."""

import csv

import pytest

from dictdb_rs import DictDB, DuplicateTableError, SchemaValidationError, Table


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_import_with_header_and_inference(tmp_path):
    db = DictDB()
    p = write(tmp_path / "people.csv", "\ufeffname,age,score\nAda,36,9.5\nGrace,45,\n\"Lin, us\",x,1\n")
    assert db.import_csv(p, "people") == 3
    t = db.get_table("people")
    assert db.list_tables() == ["people"]
    rows = t.all()
    assert [r["name"] for r in rows] == ["Ada", "Grace", "Lin, us"]
    assert rows[0]["age"] == "36" and rows[0]["score"] == 9.5 and rows[1]["score"] is None
    assert [r["id"] for r in rows] == [1, 2, 3]
    with pytest.raises(DuplicateTableError):
        db.import_csv(p, "people")


def test_import_without_header_schema_and_options(tmp_path):
    db = DictDB()
    p = write(tmp_path / "n.csv", "1;a;yes\n2;b;no;extra\n3\n")
    assert db.import_csv(p, "plain", delimiter=";", has_header=False, infer_types=False) == 3
    assert db.get_table("plain").all()[1] == {"col_0": "2", "col_1": "b", "col_2": "no", "id": 2}
    q = write(tmp_path / "typed.csv", "code,n,ok\nA,1,true\nB, 2_0 ,NO\n")
    assert db.import_csv(q, "typed", primary_key="code", schema={"code": str, "n": int, "ok": bool}) == 2
    assert db.get_table("typed").get("B") == {"code": "B", "n": 20, "ok": False}
    bad = write(tmp_path / "bad.csv", "code,n\nA,x\n")
    with pytest.raises(SchemaValidationError):
        db.import_csv(bad, "bad", primary_key="code", schema={"code": str, "n": int})
    assert "bad" not in db.tables  # registered only when every row is in


def test_import_other_encodings_and_errors(tmp_path):
    db = DictDB()
    p = write(tmp_path / "latin.csv", "name\nZoë\n", encoding="latin-1")
    assert db.import_csv(p, "l", encoding="latin-1") == 1
    assert db.get_table("l").all()[0]["name"] == "Zoë"
    with pytest.raises(ValueError):
        db.import_csv(p, "l2")  # not UTF-8
    with pytest.raises(FileNotFoundError):
        db.import_csv(tmp_path / "missing.csv", "m")
    with pytest.raises(ValueError):
        db.import_csv(p, "d", delimiter="ab")


def test_export(tmp_path):
    t = Table("t")
    t.insert([{"name": "Ada", "age": 36}, {"name": "Lin, us", "note": 'say "hi"'}, {"name": "Al", "age": None}])
    p = tmp_path / "out.csv"
    assert t.export_csv(p) == 3
    with open(p, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["name", "age", "id", "note"]
    assert rows[2] == ["Lin, us", "", "2", 'say "hi"']
    assert t.export_csv(p, columns=["id", "name"], where=t.age == 36) == 1
    assert p.read_text(encoding="utf-8").splitlines() == ["id,name", "1,Ada"]
    assert t.export_csv(p, records=[{"a": 1}, {"b": 2}], where=t.id == 99) == 2
    assert p.read_text(encoding="utf-8").splitlines() == ["a,b", "1,", ",2"]
    assert t.export_csv(p, records=[]) == 0 and p.exists()
    assert t.export_csv(p, delimiter=";", encoding="utf-16") == 3
    assert p.read_bytes().decode("utf-16").splitlines()[0] == "name;age;id;note"
    assert t.export_csv(p, encoding="utf-8-sig") == 3
    assert p.read_bytes().startswith(b"\xef\xbb\xbf")
    with pytest.raises(TypeError, match="must be a Condition or PredicateExpr"):
        t.export_csv(p, where="x")
