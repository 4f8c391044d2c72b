#!/usr/bin/env bash
# Runs the standard workload of performance.md from Python: dictdb_rs against
# sqlite3, DuckDB, polars and (given a Python 3.13) pure-Python DictDB.
#
#   bash bindings/benches/run.sh                       # N = 100,000
#   bash bindings/benches/run.sh --rows 100000,1000000 # both sizes of performance.md
#   bash bindings/benches/run.sh --quick               # tiny N, 1 repetition: answers only
#   bash bindings/benches/run.sh --engines dictdb_rs,sqlite3 --md out.md --json out.json
#
# Every argument goes to bench.py (see `bench.py --help`). Environment:
#   BENCH_SKIP_BUILD=1  reuse the dictdb_rs already installed in the venv
#   BENCH_REV=<commit>  build dictdb_rs from that commit (git archive into
#                       target/benchsrc) instead of the work tree as it is
#
# Venvs (made on first use, under target/):
#   target/benchenv     Python 3 from PATH (python3 -m venv): maturin, duckdb, polars,
#                       pyarrow (requirements.txt) and dictdb_rs, built in release mode
#                       and installed as a wheel (a snapshot, not an editable install:
#                       other builds of the extension in the work tree do not change
#                       it mid-run).
#   target/benchenv313  a Python 3.13 (python3.13 on PATH, or pyenv's 3.13.x) with
#                       dctdb 1.11.0 (requirements-313.txt). Skipped, with a note, when
#                       there is no Python 3.13 or dctdb cannot be installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/target/benchenv"
venv313="$root/target/benchenv313"
pip_q=(-q --disable-pip-version-check)

if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install "${pip_q[@]}" -r "$here/requirements.txt"

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    wheels="$root/target/benchwheels"
    rm -rf "$wheels"
    src="$root"
    if [[ -n "${BENCH_REV:-}" ]]; then
        rev="$(git -C "$root" rev-parse --short "$BENCH_REV")"
        src="$root/target/benchsrc/$rev"
        rm -rf "$src"
        mkdir -p "$src"
        git -C "$root" archive "$rev" | tar -x -C "$src"
    fi
    # The work tree's target dir: dependencies are shared with the other builds.
    VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$root/target" \
        maturin build --release --quiet -m "$src/bindings/Cargo.toml" -o "$wheels" \
        --interpreter "$venv/bin/python"
    "$venv/bin/python" -m pip install "${pip_q[@]}" --force-reinstall --no-deps \
        "$wheels"/dictdb_rs-*.whl
    # What was built: the commit, and whether the work tree had changes then.
    if [[ -n "${BENCH_REV:-}" ]]; then
        echo "$rev 0"
    else
        {
            git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown
            git -C "$root" status --porcelain -- engine query dictdb bindings/src \
                bindings/python bindings/Cargo.toml Cargo.lock 2>/dev/null | wc -l
        } | paste -sd' '
    fi > "$venv/dictdb_rs_build.txt"
fi

# A Python 3.13 for pure-Python DictDB (it requires >= 3.13).
py313=""
for cand in "$(command -v python3.13 || true)" \
            "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.13*/bin/python3.13; do
    if [[ -n "$cand" && -x "$cand" ]] && "$cand" -c 'import sys; assert sys.version_info >= (3, 13)' 2>/dev/null; then
        py313="$cand"
        break
    fi
done
args313=()
if [[ -z "$py313" ]]; then
    echo "run.sh: no Python 3.13 found: pure-Python DictDB is not run" >&2
    args313=(--python313 "")
else
    if [[ ! -x "$venv313/bin/python" ]]; then
        "$py313" -m venv "$venv313"
    fi
    if "$venv313/bin/python" -m pip install "${pip_q[@]}" -r "$here/requirements-313.txt"; then
        args313=(--python313 "$venv313/bin/python")
    else
        echo "run.sh: could not install dctdb into $venv313: pure-Python DictDB is not run" >&2
        args313=(--python313 "")
    fi
fi

cd "$root"
exec "$venv/bin/python" "$here/bench.py" "${args313[@]}" "$@"
