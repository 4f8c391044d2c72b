//! The standard workload of `performance.md`, dictdb and SQLite (rusqlite, in
//! memory) side by side: one criterion group per op, variants `dictdb` and `sqlite`.
//!
//! ```text
//! cargo bench -p dictdb-benches --bench workload                 # N = 1,000,000
//! DICTDB_BENCH_ROWS=100000 cargo bench -p dictdb-benches         # other N
//! DICTDB_BENCH_ROWS=20000 cargo bench -p dictdb-benches -- --test  # quick check
//! ```
//!
//! Under `cargo test --all-targets` (no `--bench` argument) the default N is
//! [`TEST_ROWS`] instead of 1,000,000.
//!
//! Before anything is measured, both engines are loaded with the same seeded rows
//! and every query is checked to give the same answer in both (a disagreement
//! panics). Per-query ops (`eq`, `range`, `topk`, `group`, `like`) time one query
//! per iteration (throughput: average rows returned for `eq` / `range`, rows of the
//! table for the scans); `point` and `insert` time 10,000 calls and `update` /
//! `delete` 1,000 calls per iteration (throughput: calls).
//!
//! Benchmark ids do not contain N, so a run at another N is compared against the
//! last run's figures; use `--save-baseline` / `--baseline` to keep them apart. Writes run on their
//! own copy of the table, put back as it was (untimed) after every iteration.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use dictdb::{Value, col};
use dictdb_benches::*;

/// Point lookups per iteration of `point`.
const POINT_BATCH: usize = 10_000;
/// Inserts per iteration of `insert`.
const INSERT_BATCH: usize = 10_000;
/// Updates / deletes per iteration of `update` and `delete`.
const WRITE_BATCH: usize = 1_000;

fn dictdb_id() -> BenchmarkId {
    BenchmarkId::from_parameter("dictdb")
}

fn sqlite_id() -> BenchmarkId {
    BenchmarkId::from_parameter("sqlite")
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary
    // without it (criterion's test mode, in an unoptimised build), where the default
    // table is small.
    let n = if std::env::args().any(|a| a == "--bench") {
        rows_from_env()
    } else {
        rows_from_env_or(TEST_ROWS)
    };
    let t0 = Instant::now();
    let rows = generate(n);
    let recs = records(&rows);
    eprintln!(
        "workload: N = {n} rows (env DICTDB_BENCH_ROWS), generated in {:.2?}",
        t0.elapsed()
    );

    let t = Instant::now();
    let (db, table) = load_dictdb(recs.clone());
    let dictdb_load = t.elapsed();
    let t = Instant::now();
    let conn = load_sqlite(&rows);
    let sqlite_load = t.elapsed();
    let sqlite_version: String = conn
        .query_row("SELECT sqlite_version()", [], |r| r.get(0))
        .expect("SQLite version");
    let heap = table.heap_bytes();
    eprintln!(
        "dictdb: heap_bytes = {heap} ({:.1} bytes/row); loaded in {dictdb_load:.2?}; SQLite {sqlite_version} loaded in {sqlite_load:.2?}",
        heap as f64 / n as f64
    );
    for (what, plan) in [
        (
            "eq",
            table.explain(dictdb::Query::new().filter(col("city").eq(CITIES[0]))),
        ),
        (
            "range",
            table.explain(dictdb::Query::new().filter(col("age").between(30, 32))),
        ),
        ("topk", table.explain(topk_query())),
    ] {
        eprintln!("dictdb plan of {what}: {}", plan.join(" <- "));
    }

    let t = Instant::now();
    if let Err(e) = verify(&table, &conn, &rows) {
        panic!("dictdb and SQLite disagree; not benchmarking a wrong answer:\n{e}");
    }
    // The write benchmarks get their own copies.
    let (_wdb, wtable) = load_dictdb(recs.clone());
    let wconn = load_sqlite(&rows);
    if let Err(e) = verify_writes(&wtable, &wconn, &rows) {
        panic!("dictdb and SQLite disagree on writes:\n{e}");
    }
    eprintln!("verified both engines in {:.2?}", t.elapsed());

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();

    // ----- bulk_load ---------------------------------------------------------
    {
        let mut g = c.benchmark_group("bulk_load");
        g.sampling_mode(SamplingMode::Flat)
            .throughput(Throughput::Elements(n as u64))
            .measurement_time(Duration::from_secs(10));
        g.bench_function(dictdb_id(), |b| {
            b.iter_batched(
                || recs.clone(),
                |recs| load_dictdb(black_box(recs)),
                BatchSize::PerIteration,
            )
        });
        // The same load, handing the values over column by column.
        let cols = columns(&rows);
        {
            let (_db, by_columns) = load_dictdb_columns(cols.clone());
            assert_eq!(by_columns.len(), n, "insert_columns loads every row");
            for &k in &[1, n as i64 / 2, n as i64] {
                assert_eq!(
                    by_columns.get(&Value::Int(k)),
                    table.get(&Value::Int(k)),
                    "insert_columns and insert_many agree on row {k}"
                );
            }
        }
        g.bench_function(BenchmarkId::from_parameter("dictdb-columns"), |b| {
            b.iter_batched(
                || cols.clone(),
                |cols| load_dictdb_columns(black_box(cols)),
                BatchSize::PerIteration,
            )
        });
        drop(cols);
        g.bench_function(sqlite_id(), |b| {
            b.iter_batched(
                || (),
                |()| load_sqlite(black_box(&rows)),
                BatchSize::PerIteration,
            )
        });
        g.finish();
    }
    drop(recs);

    // ----- point -------------------------------------------------------------
    {
        let keys = random_keys(n, POINT_BATCH, SEED + 2, false);
        let mut g = c.benchmark_group("point");
        g.throughput(Throughput::Elements(POINT_BATCH as u64));
        g.bench_function(dictdb_id(), |b| {
            b.iter(|| {
                for &k in &keys {
                    black_box(dictdb_point(&table, black_box(k)));
                }
            })
        });
        // The same lookups reading every field in place (no owned record).
        g.bench_function(BenchmarkId::from_parameter("dictdb-view"), |b| {
            b.iter(|| {
                for &k in &keys {
                    black_box(table.with_row(&Value::Int(black_box(k)), |row| {
                        row.iter().for_each(|(_, v)| {
                            black_box(v);
                        })
                    }));
                }
            })
        });
        let mut stmt = conn.prepare(SQL_POINT).expect("prepare point");
        g.bench_function(sqlite_id(), |b| {
            b.iter(|| {
                for &k in &keys {
                    black_box(sqlite_point(&mut stmt, black_box(k)));
                }
            })
        });
        g.finish();
    }

    // ----- sql_point ---------------------------------------------------------
    // The same lookups as SQL: a prepared statement (cached plan), the text
    // through the statement cache, beside the Rust API and SQLite's prepared
    // statement of the same text.
    {
        verify_sql(&db, &conn, n).expect("SQL point answers differ from SQLite's");
        let keys = random_keys(n, POINT_BATCH, SEED + 2, false);
        let mut g = c.benchmark_group("sql_point");
        g.throughput(Throughput::Elements(POINT_BATCH as u64));
        let prepared = db.prepare(SQL_POINT).expect("prepare point");
        g.bench_function(BenchmarkId::from_parameter("dictdb-prepared"), |b| {
            b.iter(|| {
                for &k in &keys {
                    black_box(dictdb_sql_point(&prepared, black_box(k)));
                }
            })
        });
        g.bench_function(BenchmarkId::from_parameter("dictdb-text"), |b| {
            b.iter(|| {
                for &k in &keys {
                    black_box(dictdb_sql_text_point(&db, black_box(k)));
                }
            })
        });
        g.bench_function(BenchmarkId::from_parameter("dictdb-get"), |b| {
            b.iter(|| {
                for &k in &keys {
                    black_box(dictdb_point(&table, black_box(k)));
                }
            })
        });
        let mut stmt = conn.prepare(SQL_POINT).expect("prepare point");
        g.bench_function(sqlite_id(), |b| {
            b.iter(|| {
                for &k in &keys {
                    black_box(sqlite_point(&mut stmt, black_box(k)));
                }
            })
        });
        g.finish();
    }

    // ----- eq ----------------------------------------------------------------
    {
        let mut g = c.benchmark_group("eq");
        // Rows returned per query, averaged over the rotation of cities.
        g.throughput(Throughput::Elements((n / CITIES.len()) as u64));
        g.bench_function(dictdb_id(), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % CITIES.len();
                dictdb_eq(&table, black_box(CITIES[i]))
            })
        });
        let mut stmt = conn.prepare(SQL_EQ).expect("prepare eq");
        g.bench_function(sqlite_id(), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % CITIES.len();
                sqlite_eq(&mut stmt, black_box(CITIES[i]))
            })
        });
        g.finish();
    }

    // ----- range -------------------------------------------------------------
    {
        let lows: Vec<i64> = range_lows().collect();
        let mut g = c.benchmark_group("range");
        // Rows returned per query, averaged over the rotation (3 of 63 ages).
        g.throughput(Throughput::Elements((n / 21) as u64));
        g.bench_function(dictdb_id(), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % lows.len();
                dictdb_range(&table, black_box(lows[i]))
            })
        });
        let mut stmt = conn.prepare(SQL_RANGE).expect("prepare range");
        g.bench_function(sqlite_id(), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % lows.len();
                sqlite_range(&mut stmt, black_box(lows[i]))
            })
        });
        g.finish();
    }

    // ----- topk --------------------------------------------------------------
    {
        let mut g = c.benchmark_group("topk");
        g.throughput(Throughput::Elements(n as u64)); // rows scanned
        g.bench_function(dictdb_id(), |b| b.iter(|| dictdb_topk(black_box(&table))));
        let mut stmt = conn.prepare(SQL_TOPK).expect("prepare topk");
        g.bench_function(sqlite_id(), |b| b.iter(|| sqlite_topk(&mut stmt)));
        g.finish();
    }

    // ----- group -------------------------------------------------------------
    {
        let mut g = c.benchmark_group("group");
        g.throughput(Throughput::Elements(n as u64)); // rows scanned
        g.bench_function(dictdb_id(), |b| b.iter(|| dictdb_group(black_box(&table))));
        let mut stmt = conn.prepare(SQL_GROUP).expect("prepare group");
        g.bench_function(sqlite_id(), |b| b.iter(|| sqlite_group(&mut stmt)));
        g.finish();
    }

    // ----- like --------------------------------------------------------------
    {
        let mut g = c.benchmark_group("like");
        g.throughput(Throughput::Elements(n as u64)); // rows scanned
        g.bench_function(dictdb_id(), |b| b.iter(|| dictdb_like(black_box(&table))));
        g.bench_function(sqlite_id(), |b| b.iter(|| sqlite_like(black_box(&conn))));
        g.finish();
    }

    // The read-only copies are no longer needed.
    // ----- save / load -------------------------------------------------------
    // The whole database to a JSON file (atomic: temp file, fsync, rename) and
    // back, in bytes per second; SQLite's side writes its own file (VACUUM INTO)
    // and reads every row back from it.
    {
        let dir = std::env::temp_dir().join(format!("dictdb-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("bench dir");
        let json = dir.join("db.json");
        let sqlite_file = dir.join("db.sqlite");
        db.save(&json).expect("save");
        let bytes = std::fs::metadata(&json).expect("saved file").len();
        let back = dictdb::Database::load(&json).expect("load");
        assert_eq!(back.table("t").expect("table t").len(), n, "loaded rows");
        drop(back);
        let mut g = c.benchmark_group("save");
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(dictdb_id(), |b| b.iter(|| db.save(&json).expect("save")));
        g.bench_function(sqlite_id(), |b| {
            b.iter(|| {
                let _ = std::fs::remove_file(&sqlite_file);
                conn.execute(
                    "VACUUM INTO ?1",
                    [sqlite_file.to_str().expect("utf-8 path")],
                )
                .expect("vacuum into");
            })
        });
        g.finish();
        let mut g = c.benchmark_group("load");
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(dictdb_id(), |b| {
            b.iter(|| black_box(dictdb::Database::load(&json).expect("load")))
        });
        g.bench_function(sqlite_id(), |b| {
            b.iter(|| {
                let file = rusqlite::Connection::open(&sqlite_file).expect("open");
                let mut stmt = file
                    .prepare("SELECT id, name, age, city, score, active FROM t")
                    .expect("prepare");
                let rows: Vec<Row> = stmt
                    .query_map([], read_row)
                    .expect("query")
                    .collect::<rusqlite::Result<_>>()
                    .expect("rows");
                assert_eq!(rows.len(), n);
                black_box(rows)
            })
        });
        g.finish();
        let _ = std::fs::remove_dir_all(&dir);
    }

    drop(conn);
    drop(table);
    drop(db);

    // ----- insert ------------------------------------------------------------
    // 10,000 new rows (ids N+1..=N+10,000), one call each; afterwards (untimed)
    // the new rows are deleted again.
    {
        let new_rows = generate_new(n, INSERT_BATCH);
        let new_recs = records(&new_rows);
        let mut g = c.benchmark_group("insert");
        g.throughput(Throughput::Elements(INSERT_BATCH as u64));
        g.bench_function(dictdb_id(), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let batch = new_recs.clone();
                    let t = Instant::now();
                    black_box(dictdb_insert_each(&wtable, batch));
                    timed += t.elapsed();
                    let undone = wtable.delete(&col("id").gt(n as i64)).expect("undo insert");
                    assert_eq!(undone, INSERT_BATCH);
                }
                timed
            })
        });
        let mut stmt = wconn.prepare(SQL_INSERT).expect("prepare insert");
        g.bench_function(sqlite_id(), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    black_box(sqlite_insert_each(&mut stmt, &new_rows));
                    timed += t.elapsed();
                    assert_eq!(sqlite_delete_above(&wconn, n as i64), INSERT_BATCH);
                }
                timed
            })
        });
        g.finish();
        // Leave no tombstones for the next groups.
        dictdb_compact(&wtable);
    }

    let batch = WRITE_BATCH.min(n);

    // ----- update ------------------------------------------------------------
    // 1,000 distinct random keys per iteration (a new set each time), `score` set
    // by primary key, one call each. An update changes values in place, so the
    // table stays equivalent to a fresh copy without being restored.
    {
        let mut g = c.benchmark_group("update");
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(dictdb_id(), |b| {
            let mut round = 0u64;
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    let keys = random_keys(n, batch, SEED + 100 + round, true);
                    let t = Instant::now();
                    let updated = dictdb_update_each(&wtable, black_box(&keys), round);
                    timed += t.elapsed();
                    assert_eq!(updated, batch);
                }
                timed
            })
        });
        let mut stmt = wconn.prepare(SQL_UPDATE).expect("prepare update");
        g.bench_function(sqlite_id(), |b| {
            let mut round = 0u64;
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    let keys = random_keys(n, batch, SEED + 100 + round, true);
                    let t = Instant::now();
                    let updated = sqlite_update_each(&mut stmt, black_box(&keys), round);
                    timed += t.elapsed();
                    assert_eq!(updated, batch);
                }
                timed
            })
        });
        g.finish();
    }

    // ----- delete ------------------------------------------------------------
    // 1,000 distinct random keys per iteration, one call each; afterwards
    // (untimed) the rows are inserted again, and dictdb's table is compacted once
    // its tombstones pass 2% of N, so every batch runs on N live rows.
    {
        let mut g = c.benchmark_group("delete");
        g.throughput(Throughput::Elements(batch as u64));
        let originals = |keys: &[i64]| -> Vec<Row> {
            keys.iter().map(|&k| rows[k as usize - 1].clone()).collect()
        };
        g.bench_function(dictdb_id(), |b| {
            let mut round = 0u64;
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    let keys = random_keys(n, batch, SEED + 10_000 + round, true);
                    let restore = records(&originals(&keys));
                    let t = Instant::now();
                    let deleted = dictdb_delete_each(&wtable, black_box(&keys));
                    timed += t.elapsed();
                    assert_eq!(deleted, batch);
                    wtable.insert_many(restore).expect("restore deleted rows");
                    if dictdb_tombstones(&wtable) > (n / 50).max(batch) {
                        dictdb_compact(&wtable);
                    }
                }
                timed
            })
        });
        let mut stmt = wconn.prepare(SQL_DELETE).expect("prepare delete");
        g.bench_function(sqlite_id(), |b| {
            let mut round = 0u64;
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    let keys = random_keys(n, batch, SEED + 10_000 + round, true);
                    let restore = originals(&keys);
                    let t = Instant::now();
                    let deleted = sqlite_delete_each(&mut stmt, black_box(&keys));
                    timed += t.elapsed();
                    assert_eq!(deleted, batch);
                    sqlite_insert_all(&wconn, &restore);
                }
                timed
            })
        });
        g.finish();
    }

    c.final_summary();
}
