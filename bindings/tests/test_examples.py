"""Every program under bindings/examples/ runs as a script and checks itself.

Each example is run with this interpreter in a subprocess, from an empty
temporary directory; it must exit 0 and print its closing line.
"""

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"

# The line each example prints when all of its own asserts passed.
EXPECTED = {
    "contact_book.py": "contact book OK",
    "production_app.py": "production app OK",
    "threads_and_async.py": "threads and async OK",
    "fastapi_service.py": "fastapi service OK",
    "logging_config.py": "logging config OK",
    "retry.py": "retry OK",
    "performance_habits.py": "performance habits OK",
}

SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))


def test_every_example_is_listed():
    assert SCRIPTS == sorted(EXPECTED), "add new examples to EXPECTED (and the README)"
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in SCRIPTS:
        assert name in readme, f"{name} is missing from examples/README.md"


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs(script, tmp_path):
    try:
        proc = subprocess.run(
            [sys.executable, str(EXAMPLES / script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script} did not finish in {exc.timeout} s\n"
                    f"--- stdout ---\n{exc.stdout}\n--- stderr ---\n{exc.stderr}")
    report = (f"{script} exited {proc.returncode}\n"
              f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")
    assert proc.returncode == 0, report
    assert EXPECTED[script] in proc.stdout.splitlines(), report
    assert list(tmp_path.iterdir()) == [], f"{script} left files in its working directory"
