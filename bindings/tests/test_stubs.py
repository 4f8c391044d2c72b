"""The type stubs (`dictdb_rs/*.pyi`) agree with the runtime, and a typed
program over the public API type-checks against them.

- `mypy.stubtest` compares every stub (the public modules, the private modules
  they re-export from, and `_native.pyi` for the extension) with the imported
  runtime objects: names, signatures, defaults, classes, `__all__`. Justified
  exceptions are in `stubtest-allowlist.txt`; an allowlist entry that no
  longer matches anything fails the run too.
- `mypy --strict` checks the stubs themselves and `typing_sample.py`, which
  uses the public API the way a program would; the sample is also run, so
  what it asserts about the API is true.

mypy (requirements-dev.txt) runs in subprocesses, with its cache under
target/.
"""

import os
import pathlib
import subprocess
import sys

import dictdb_rs

HERE = pathlib.Path(__file__).resolve().parent
ALLOWLIST = HERE / "stubtest-allowlist.txt"
SAMPLE = HERE / "typing_sample.py"
PACKAGE = pathlib.Path(dictdb_rs.__file__).resolve().parent
CACHE = HERE.parents[1] / "target" / "mypy-cache"

def _mypy(*args, cwd):
    """Runs ``python -m <args>`` in a subprocess; returns (exit code, output)."""
    env = dict(os.environ)
    env.pop("MYPYPATH", None)
    proc = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_stubs_cover_every_module():
    """Every module of the package (the native extension included) has a stub
    beside it, so type checkers never fall back to the untyped sources."""
    missing = []
    for path in PACKAGE.rglob("*"):
        if path.suffix == ".py" or path.name.startswith("_native."):
            stub = path.with_name(path.name.split(".")[0] + ".pyi")
            if not stub.exists():
                missing.append(str(path.relative_to(PACKAGE)))
    assert not missing, f"modules without a .pyi stub: {missing}"
    assert (PACKAGE / "py.typed").exists()


def test_stubtest(tmp_path):
    code, out = _mypy(
        "mypy.stubtest",
        "dictdb_rs",
        "--allowlist",
        str(ALLOWLIST),
        cwd=tmp_path,
    )
    assert code == 0, f"stubtest found differences between the stubs and the runtime:\n{out}"


def test_stubs_pass_mypy_strict(tmp_path):
    stubs = sorted(str(p) for p in PACKAGE.rglob("*.pyi"))
    code, out = _mypy(
        "mypy",
        "--strict",
        "--python-version",
        "3.9",
        "--cache-dir",
        str(CACHE),
        *stubs,
        cwd=PACKAGE.parent,
    )
    assert code == 0, f"mypy --strict on the stubs:\n{out}"


def test_typed_sample_passes_mypy_strict(tmp_path):
    code, out = _mypy(
        "mypy",
        "--strict",
        "--cache-dir",
        str(CACHE),
        str(SAMPLE),
        cwd=tmp_path,
    )
    assert code == 0, f"mypy --strict {SAMPLE.name}:\n{out}"


def test_typed_sample_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SAMPLE)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_rejects_misuse(tmp_path):
    """The stubs are precise: calls the runtime rejects are type errors."""
    bad = tmp_path / "misuse.py"
    bad.write_text(
        "from dictdb_rs import And, BackupManager, Condition, Count, DictDB\n"
        "db = DictDB()\n"
        "t = db.get_table('t')\n"
        "t.upsert({'a': 1}, on_conflict='replace')\n"  # unknown on_conflict
        "t.insert({'a': {1, 2}})\n"  # a set is not a storable value
        "t.select(where=lambda r: True)\n"  # where= takes predicates only
        "Condition(Condition(t.a == 1))\n"  # Condition wraps a PredicateExpr
        "t.aggregate(n=3)\n"  # aggregations must be Agg instances
        "And(t.a == 1)\n"  # fine for the type checker (ValueError at runtime)
        "And(1, 2)\n"  # operands must be predicates
        "BackupManager(db, 'dir', file_fmt='json')\n"  # no such parameter
        "x: int = t.select()\n"  # select returns a list of rows
    )
    code, out = _mypy("mypy", "--strict", "--cache-dir", str(CACHE), str(bad), cwd=tmp_path)
    assert code == 1, out
    lines = [line for line in out.splitlines() if ": error:" in line]
    flagged = sorted({int(line.split(":")[1]) for line in lines})
    assert flagged == [4, 5, 6, 7, 8, 10, 11, 12], out
