#!/usr/bin/env bash
# Builds the dictdb_rs extension into a venv (target/pyenv, made on first use)
# and runs the Python test suite. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
venv="$(cd .. && pwd)/target/pyenv"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
# The release profile: the tests and examples run real workloads.
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" maturin develop --release --quiet
"$venv/bin/python" -m pytest -q "$@"
