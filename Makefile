# The project's commands. `make demo` runs the main job; `make test` runs every check.
CARGO ?= cargo

.PHONY: demo test fmt-check clippy unit python bench-check bench

## The main job: the `dictdb` shell's demo (1M-row standard table, example
## queries with timings and plans; then the prompt when run from a terminal).
demo:
	$(CARGO) run --release -p dictdb-cli -- --demo

## Every check: formatting, lints, all tests (unit, property, concurrency,
## doc-tests, examples), one correctness pass of every benchmark, and the
## Python package's tests.
test: fmt-check clippy bench-check unit python

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) run -q -p dictdb --example quickstart > /dev/null
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

## The Python package (bindings/): built with maturin into a venv made under
## target/pyenv (maturin, pytest and hypothesis from PyPI), then pytest.
python:
	bash bindings/test.sh

## Runs each benchmark once on a small table, checking answers against SQLite.
bench-check:
	DICTDB_BENCH_ROWS=20000 $(CARGO) bench -p dictdb-benches -- --test

## The real benchmarks (1M rows; see BENCHMARKS.md).
bench:
	$(CARGO) bench -p dictdb-benches
