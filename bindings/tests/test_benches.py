"""The Python benchmark's workload (bindings/benches/workload.py) in --quick mode:
dictdb_rs and sqlite3 (stdlib) must give the same answers for every op.

Correctness only: no timing is asserted here (performance.md: a benchmark is where
speed is checked). The full run, with DuckDB, polars and pure-Python DictDB, is
`bash bindings/benches/run.sh`.
"""

import copy
import importlib.util
import pathlib

import pytest

BENCHES = pathlib.Path(__file__).resolve().parents[1] / "benches"
ROWS = 1_000


def _load_workload():
    spec = importlib.util.spec_from_file_location("bench_workload", BENCHES / "workload.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


W = _load_workload()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("bench"))
    return {
        engine: W.run_engine(engine, rows=ROWS, quick=True, tmpdir=tmp)
        for engine in ("dictdb_rs", "sqlite3")
    }


def test_every_op_ran_with_answers(results):
    for engine, res in results.items():
        assert res["rows"] == ROWS
        ops = res["ops"]
        for op in W.READ_OPS + W.WRITE_OPS + ("bulk_load", "load", "state"):
            assert op in ops, f"{engine}: {op} missing"
            for variant, entry in ops[op].items():
                assert entry.get("answers"), f"{engine}/{variant}: {op} has no answers"
        for op in W.READ_OPS:
            for variant, entry in ops[op].items():
                # quick mode checks every call of the op
                assert len(entry["answers"]) == min(W.CHECK[op], W.QUICK_COUNTS[op])
                assert entry["times"] and entry["calls"] == W.QUICK_COUNTS[op]
        assert ops["save"], f"{engine}: nothing saved"
        assert ops["memory"]["rss"]["value"] is not None
    # dictdb_rs runs both the DSL and db.sql
    for op in W.READ_OPS + W.WRITE_OPS:
        assert set(results["dictdb_rs"]["ops"][op]) == {"dsl", "sql"}


def test_answers_agree(results):
    assert W.compare(results) == []


def test_answers_are_not_trivial(results):
    ops = results["dictdb_rs"]["ops"]
    # eq / range return rows (~2% and ~4.8% of the table), top-k 10 rows, 50 groups
    assert all(a["n"] > 0 for a in ops["eq"]["dsl"]["answers"])
    assert all(a["n"] > 0 for a in ops["range"]["dsl"]["answers"])
    assert all(len(a) == 10 for a in ops["topk"]["dsl"]["answers"])
    assert all(len(a) == 50 and sum(g[1] for g in a) == ROWS
               for a in ops["group"]["dsl"]["answers"])
    assert all(a is not None for a in ops["point"]["dsl"]["answers"])
    # after the writes (each repaired) and after a save/load round trip: N rows
    assert ops["state"]["-"]["answers"][0] == ROWS
    assert ops["load"]["json"]["answers"][0] == ROWS
    # insert: the table grew by the rows inserted, then shrank back
    count_after, rows, count_restored = ops["insert"]["dsl"]["answers"]
    assert count_after == ROWS + len(rows) and count_restored == ROWS
    assert all(r is not None for r in rows)
    # delete: the rows were gone, then restored
    count_after, rows, count_restored = ops["delete"]["dsl"]["answers"]
    assert count_after == ROWS - len(rows) and count_restored == ROWS
    assert all(r is None for r in rows)


@pytest.mark.parametrize("op", ["point", "eq", "group", "like", "update", "load"])
def test_a_wrong_answer_is_reported(results, op):
    bad = copy.deepcopy(results)
    entry = bad["sqlite3"]["ops"][op]
    variant = next(iter(entry))
    answers = entry[variant]["answers"]
    if op == "point":
        answers[0][1] = "someone else"
    elif op == "eq":
        answers[0]["sha"] = "0" * 16
    elif op == "group":
        answers[0][0][2] += 0.01  # an average off by far more than rounding
    elif op == "like":
        answers[0] += 1
    else:  # update / load: [count, probed rows, ...]
        answers[0] += 1
    errors = W.compare(bad)
    assert errors, f"a wrong {op} answer went unnoticed"
    assert any(e.startswith(f"{op}:") and f"sqlite3/{variant}" in e for e in errors), errors


def test_float_tolerance_only_for_rounding():
    assert W.same([["Oslo", 3, 1.0]], [["Oslo", 3, 1.0 + 1e-13]])
    assert not W.same([["Oslo", 3, 1.0]], [["Oslo", 3, 1.001]])
    assert not W.same([1, "a"], [1, "b"])
    assert not W.same(1, None)
