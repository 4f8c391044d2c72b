#!/usr/bin/env bash
# The fuzz step of CI (called by .ci/run; DICTDB_SKIP_FUZZ=1 skips it there).
#
# Installs cargo-fuzz if missing, builds the fuzz targets with the machine's
# stable toolchain (`--sanitizer none`: the project has no unsafe code, and stable
# needs no sanitizer flag; no nightly is needed), runs every regression input once,
# then fuzzes each target for DICTDB_FUZZ_SECONDS (default 30) from the committed
# seeds and regressions. Any crash, panic, planner disagreement or timeout fails.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${DICTDB_FUZZ_SECONDS:-30}"
step_start=$SECONDS

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz (built from crates.io, about a minute)"
    timeout 900 cargo install --locked cargo-fuzz
fi
cargo fuzz --version

# Formatting of the fuzz crate (it is outside the workspace, so `cargo fmt --all`
# does not see it).
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

build_start=$SECONDS
cargo fuzz build --sanitizer none
echo "fuzz: build took $((SECONDS - build_start)) s"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# Every committed regression input, once (they are sql_execute inputs: SQL text).
# The timeout is per input.
shopt -s nullglob
regressions=(fuzz/regressions/*.sql)
if ((${#regressions[@]})); then
    echo "fuzz: ${#regressions[@]} regression inputs"
    if ! cargo fuzz run --sanitizer none sql_execute "${regressions[@]}" -- -timeout=10 \
        >"$scratch/regressions.log" 2>&1; then
        tail -n 150 "$scratch/regressions.log"
        echo "fuzz: a regression input FAILED (the last 'Running:' line above names it)"
        exit 1
    fi
    grep -E '^(Running:|Executed)' "$scratch/regressions.log" || true
fi

# Each target for a while; new corpus entries go to a scratch directory, the
# log to a file (its summary is shown, and its end on a failure).
run() {
    # run TARGET MAX_LEN [libFuzzer flag…] -- [read-only corpus dir…]
    local target="$1" max_len="$2"
    shift 2
    local flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
        -max_len="$max_len" -print_final_stats=1)
    while [[ $# -gt 0 && "$1" != -- ]]; do
        flags+=("$1")
        shift
    done
    shift || true
    mkdir -p "$scratch/$target"
    echo "fuzz: $target for $seconds s"
    if ! cargo fuzz run --sanitizer none "$target" "$scratch/$target" "$@" -- "${flags[@]}" \
        >"$scratch/$target.log" 2>&1; then
        grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$scratch/$target.log" | tail -n 150
        echo "fuzz: $target FAILED (the failing input is printed above; see fuzz/README.md)"
        return 1
    fi
    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb|INFO: Seed)' \
        "$scratch/$target.log" || true
}
# max_len 4096: libFuzzer's default, which a long regression input would raise.
run sql_execute 4096 -dict=fuzz/sql.dict -- fuzz/seeds/sql_execute fuzz/regressions
# Its inputs are choices, not text: let them be long from the start (8 statements).
run sql_statements 1024 -len_control=0
# Saved databases and deltas: the JSON fixtures of backup/tests as seeds.
run backup_files 8192 -- backup/tests/fixtures
echo "fuzz: step took $((SECONDS - step_start)) s"
# The plain closing line: each regression input and each fuzz run is one check.
echo "fuzz: $((${#regressions[@]} + 3)) passed, 0 failed"
