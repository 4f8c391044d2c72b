//! Shared workload code of the dictdb-rs benchmarks (`benches/workload.rs`).
//!
//! The standard workload of `performance.md`: table `t` with N rows, ids `1..=N`,
//!
//! | field | value |
//! |---|---|
//! | `id` | int primary key |
//! | `name` | `"name{id}"` |
//! | `age` | uniform `18..=80` |
//! | `city` | one of 50 fixed names ([`CITIES`]) |
//! | `score` | uniform float in `[0, 100)` |
//! | `active` | bool, p = 0.5 |
//!
//! generated from a seeded RNG (seed [`SEED`]), with a hash index on `city` and a
//! sorted index on `age` ([`load_dictdb`]); the SQLite side is an in-memory database
//! with the same table and indexes ([`load_sqlite`]). The generator and the dictdb
//! loaders live in `dictdb-workload` (shared with the `dictdb --demo` shell, which
//! must not build SQLite) and are re-exported here under the same names.
//!
//! Every query the benchmark times is a function here with one variant per engine
//! (`dictdb_eq` / `sqlite_eq`, …), so [`verify`] checks exactly the code that is
//! timed: the bench calls it once before measuring and a wrong answer fails the run.
//! SQLite rows are always materialised into owned [`Row`]s (every column read),
//! since dictdb returns owned records.
//!
//! ```
//! use dictdb_benches::*;
//!
//! let rows = generate(1_000);
//! let (_db, table) = load_dictdb(records(&rows));
//! let conn = load_sqlite(&rows);
//! verify(&table, &conn, &rows).unwrap();
//! assert_eq!(dictdb_like(&table), sqlite_like(&conn));
//! ```

#![warn(missing_docs)]

use std::collections::HashMap;
use std::fmt::Debug;

use dictdb::{Agg, Aggregation, Name, Query, Record, Table, Value, col};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{CachedStatement, Connection, Statement, params};

pub use dictdb_workload::*;

/// Default number of rows (`DICTDB_BENCH_ROWS` overrides it).
pub const DEFAULT_ROWS: usize = 1_000_000;

/// Width of the `range` query: `age BETWEEN a AND a + RANGE_WIDTH`.
pub const RANGE_WIDTH: i64 = 2;
/// The LIKE pattern of the `like` query.
pub const LIKE_PATTERN: &str = "%99%";
/// The LIMIT of the `topk` query.
pub const TOPK: usize = 10;

/// Tolerance for floating-point aggregates compared between engines.
pub const FLOAT_TOLERANCE: f64 = 1e-9;

/// Rows of the standard table when the bench binary runs under `cargo test`
/// (an unoptimised build, criterion's test mode) and `DICTDB_BENCH_ROWS` is unset.
pub const TEST_ROWS: usize = 20_000;

/// Number of rows from `DICTDB_BENCH_ROWS` (default [`DEFAULT_ROWS`]).
///
/// # Panics
/// When the variable is set but is not a positive integer.
pub fn rows_from_env() -> usize {
    rows_from_env_or(DEFAULT_ROWS)
}

/// Number of rows from `DICTDB_BENCH_ROWS`, `default` when it is unset
/// (`1_000_000` and `1000000` are both accepted).
///
/// # Panics
/// When the variable is set but is not a positive integer.
pub fn rows_from_env_or(default: usize) -> usize {
    match std::env::var("DICTDB_BENCH_ROWS") {
        Ok(s) => {
            let s = s.replace('_', "");
            match s.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => panic!("DICTDB_BENCH_ROWS must be a positive integer, got {s:?}"),
            }
        }
        Err(_) => default,
    }
}

/// `count` keys drawn uniformly (seeded) from `1..=n`, for point lookups, updates and
/// deletes. With `distinct`, no key repeats (`count <= n`).
pub fn random_keys(n: usize, count: usize, seed: u64, distinct: bool) -> Vec<i64> {
    let mut rng = StdRng::seed_from_u64(seed);
    if distinct {
        assert!(count <= n, "cannot draw {count} distinct keys from {n}");
        rand::seq::index::sample(&mut rng, n, count)
            .into_iter()
            .map(|i| i as i64 + 1)
            .collect()
    } else {
        (0..count).map(|_| rng.gen_range(1..=n as i64)).collect()
    }
}

// ----- dictdb -----------------------------------------------------------------

/// `point`: the row with this primary key.
pub fn dictdb_point(table: &Table, key: i64) -> Option<Record> {
    table.get(&Value::Int(key))
}

/// `eq`: every row with `city = city`.
///
/// # Panics
/// On a query error.
pub fn dictdb_eq(table: &Table, city: &str) -> Vec<Record> {
    table
        .select(Query::new().filter(col("city").eq(city)))
        .expect("eq query")
}

/// `range`: every row with `age BETWEEN low AND low + 2`.
///
/// # Panics
/// On a query error.
pub fn dictdb_range(table: &Table, low: i64) -> Vec<Record> {
    table
        .select(Query::new().filter(col("age").between(low, low + RANGE_WIDTH)))
        .expect("range query")
}

/// The `topk` query: `WHERE active ORDER BY score DESC LIMIT 10`.
pub fn topk_query() -> Query {
    Query::new()
        .filter(col("active").eq(true))
        .order_by_desc("score")
        .limit(TOPK as i64)
}

/// `topk` with the table's planner (the default rules).
///
/// # Panics
/// On a query error.
pub fn dictdb_topk(table: &Table) -> Vec<Record> {
    table.select(topk_query()).expect("topk query")
}

/// The `group` aggregation: `city, count(*) AS n, avg(score) AS avg GROUP BY city`.
pub fn group_aggregation() -> Aggregation {
    Aggregation::new()
        .group_by(["city"])
        .agg("n", Agg::count())
        .agg("avg", Agg::avg("score"))
}

/// `group`: one record per city (`city`, `n`, `avg`).
///
/// # Panics
/// On a query error.
pub fn dictdb_group(table: &Table) -> Vec<Record> {
    table
        .aggregate(group_aggregation())
        .expect("group aggregation")
}

/// The `like` aggregation: `count(*) AS n WHERE name LIKE '%99%'`.
pub fn like_aggregation() -> Aggregation {
    Aggregation::new()
        .filter(col("name").like(LIKE_PATTERN))
        .agg("n", Agg::count())
}

/// `like`: the count.
///
/// # Panics
/// On a query error or a result that is not one integer.
pub fn dictdb_like(table: &Table) -> i64 {
    let out = table
        .aggregate(like_aggregation())
        .expect("like aggregation");
    match out.as_slice() {
        [r] => match r.get("n") {
            Some(Value::Int(n)) => *n,
            other => panic!("like count is not an int: {other:?}"),
        },
        _ => panic!("like aggregation returned {} records", out.len()),
    }
}

/// `insert`: the records, one `insert` call each. Returns how many were inserted.
///
/// # Panics
/// When an insert fails.
pub fn dictdb_insert_each(table: &Table, records: Vec<Record>) -> usize {
    let n = records.len();
    for r in records {
        table.insert(r).expect("insert");
    }
    n
}

/// The changes of the `update` benchmark for one key: a new score.
pub fn update_score(key: i64, round: u64) -> f64 {
    ((key as u64).wrapping_mul(31).wrapping_add(round) % 10_000) as f64 / 100.0
}

/// `update`: sets `score` of each key's row (one `update` call by primary key each).
/// Returns the number of rows updated.
///
/// # Panics
/// When an update fails.
pub fn dictdb_update_each(table: &Table, keys: &[i64], round: u64) -> usize {
    let score: Name = "score".into();
    keys.iter()
        .map(|&k| {
            table
                .update(
                    &col("id").eq(k),
                    Record::new().with(score.clone(), update_score(k, round)),
                )
                .expect("update")
        })
        .sum()
}

/// `delete`: deletes each key's row (one `delete` call by primary key each).
/// Returns the number of rows deleted.
///
/// # Panics
/// When a delete fails.
pub fn dictdb_delete_each(table: &Table, keys: &[i64]) -> usize {
    keys.iter()
        .map(|&k| table.delete(&col("id").eq(k)).expect("delete"))
        .sum()
}

/// Number of deleted rows whose positions the table still holds (tombstones).
pub fn dictdb_tombstones(table: &Table) -> usize {
    let data = table.engine().read();
    data.n_positions() - data.len()
}

/// Drops the table's tombstones (what a freshly loaded copy would look like).
pub fn dictdb_compact(table: &Table) {
    table.engine().write().compact();
}

// ----- SQLite -----------------------------------------------------------------

/// The column list every SQLite query reads.
pub const SQL_COLUMNS: &str = "id, name, age, city, score, active";
/// `point`.
pub const SQL_POINT: &str = "SELECT id, name, age, city, score, active FROM t WHERE id = ?1";
/// `eq`.
pub const SQL_EQ: &str = "SELECT id, name, age, city, score, active FROM t WHERE city = ?1";
/// `range`.
pub const SQL_RANGE: &str =
    "SELECT id, name, age, city, score, active FROM t WHERE age BETWEEN ?1 AND ?2";
/// `topk`.
pub const SQL_TOPK: &str =
    "SELECT id, name, age, city, score, active FROM t WHERE active ORDER BY score DESC LIMIT 10";
/// `group`.
pub const SQL_GROUP: &str = "SELECT city, count(*), avg(score) FROM t GROUP BY city";
/// `like`.
pub const SQL_LIKE: &str = "SELECT count(*) FROM t WHERE name LIKE '%99%'";
/// `insert`.
pub const SQL_INSERT: &str =
    "INSERT INTO t (id, name, age, city, score, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/// `update`.
pub const SQL_UPDATE: &str = "UPDATE t SET score = ?1 WHERE id = ?2";
/// `delete`.
pub const SQL_DELETE: &str = "DELETE FROM t WHERE id = ?1";

/// A new in-memory SQLite database with the empty table `t` (no secondary index).
///
/// # Panics
/// On a SQLite error.
pub fn sqlite_empty() -> Connection {
    let conn = Connection::open_in_memory().expect("open SQLite");
    conn.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, age INTEGER, city TEXT, \
         score REAL, active INTEGER);",
    )
    .expect("create table");
    conn
}

/// Loads rows into a new in-memory SQLite database: one transaction, one prepared
/// INSERT, then the indexes on `city` and `age`.
///
/// # Panics
/// On a SQLite error.
pub fn load_sqlite(rows: &[Row]) -> Connection {
    let conn = sqlite_empty();
    sqlite_insert_all(&conn, rows);
    conn.execute_batch("CREATE INDEX t_city ON t(city); CREATE INDEX t_age ON t(age);")
        .expect("create indexes");
    conn
}

/// Inserts rows in one transaction with one prepared statement (takes `&Connection`
/// so that other prepared statements of the connection may stay alive).
///
/// # Panics
/// On a SQLite error.
pub fn sqlite_insert_all(conn: &Connection, rows: &[Row]) {
    let tx = conn.unchecked_transaction().expect("begin");
    {
        let mut stmt = tx.prepare(SQL_INSERT).expect("prepare insert");
        for r in rows {
            stmt.execute(params![r.id, r.name, r.age, r.city, r.score, r.active])
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
}

/// Reads the six columns of a SQLite row.
pub fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        name: r.get(1)?,
        age: r.get(2)?,
        city: r.get(3)?,
        score: r.get(4)?,
        active: r.get(5)?,
    })
}

/// Runs a prepared query and materialises every row.
fn sqlite_rows(stmt: &mut Statement<'_>, params: impl rusqlite::Params) -> Vec<Row> {
    stmt.query_map(params, read_row)
        .expect("query")
        .collect::<rusqlite::Result<Vec<Row>>>()
        .expect("read rows")
}

/// `point` through SQL on dictdb: a statement prepared from [`SQL_POINT`] (the
/// same text as SQLite's), its row read into a [`Row`].
///
/// # Panics
/// On a query error or a row of the wrong shape.
pub fn dictdb_sql_point(stmt: &dictdb::PreparedStatement<'_>, key: i64) -> Option<Row> {
    let out = stmt.execute([Value::Int(key)]).expect("sql point query");
    first_row(out)
}

/// `point` through SQL text on dictdb ([`dictdb::Database::execute`], which
/// finds the statement in its cache).
///
/// # Panics
/// On a query error or a row of the wrong shape.
pub fn dictdb_sql_text_point(db: &dictdb::Database, key: i64) -> Option<Row> {
    let out = db
        .execute(SQL_POINT, [Value::Int(key)])
        .expect("sql point query");
    first_row(out)
}

/// The first row of a result in [`COLUMN_NAMES`] order, moved into a [`Row`]
/// (as SQLite's rows are read: one copy of each text).
fn first_row(out: dictdb::Output) -> Option<Row> {
    let dictdb::Output::Rows { rows, .. } = out else {
        panic!("a point query returns rows");
    };
    let row = rows.into_iter().next()?;
    let [id, name, age, city, score, active]: [Value; 6] = row.try_into().expect("six columns");
    let text = |v: Value| match v {
        Value::Str(s) => String::from(s),
        other => panic!("not text: {other:?}"),
    };
    let int = |v: Value| match v {
        Value::Int(i) => i,
        other => panic!("not an int: {other:?}"),
    };
    Some(Row {
        id: int(id),
        name: text(name),
        age: int(age),
        city: text(city),
        score: match score {
            Value::Float(x) => x,
            other => panic!("score is not a float: {other:?}"),
        },
        active: match active {
            Value::Bool(b) => b,
            other => panic!("active is not a bool: {other:?}"),
        },
    })
}

/// Checks the SQL point query against SQLite's (every key of a sample and a
/// missing one).
///
/// # Errors
/// The first disagreement.
pub fn verify_sql(db: &dictdb::Database, conn: &Connection, n: usize) -> Result<(), String> {
    let prepared = db.prepare(SQL_POINT).map_err(|e| e.to_string())?;
    let mut stmt = conn.prepare(SQL_POINT).map_err(|e| e.to_string())?;
    for k in random_keys(n, n.min(1_000), 11, false)
        .into_iter()
        .chain([n as i64 + 1])
    {
        let want = sqlite_point(&mut stmt, k);
        same(
            &format!("sql point {k}"),
            dictdb_sql_point(&prepared, k),
            want.clone(),
        )?;
        same(
            &format!("sql text point {k}"),
            dictdb_sql_text_point(db, k),
            want,
        )?;
    }
    Ok(())
}

/// `point` with a statement prepared from [`SQL_POINT`].
///
/// # Panics
/// On a SQLite error.
pub fn sqlite_point(stmt: &mut Statement<'_>, key: i64) -> Option<Row> {
    let mut rows = stmt.query([key]).expect("point query");
    rows.next()
        .expect("point row")
        .map(|r| read_row(r).expect("read row"))
}

/// `eq` with a statement prepared from [`SQL_EQ`].
pub fn sqlite_eq(stmt: &mut Statement<'_>, city: &str) -> Vec<Row> {
    sqlite_rows(stmt, [city])
}

/// `range` with a statement prepared from [`SQL_RANGE`].
pub fn sqlite_range(stmt: &mut Statement<'_>, low: i64) -> Vec<Row> {
    sqlite_rows(stmt, [low, low + RANGE_WIDTH])
}

/// `topk` with a statement prepared from [`SQL_TOPK`].
pub fn sqlite_topk(stmt: &mut Statement<'_>) -> Vec<Row> {
    sqlite_rows(stmt, [])
}

/// `group` with a statement prepared from [`SQL_GROUP`]: `(city, count, avg)`.
///
/// # Panics
/// On a SQLite error.
pub fn sqlite_group(stmt: &mut Statement<'_>) -> Vec<(String, i64, f64)> {
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("group query")
        .collect::<rusqlite::Result<_>>()
        .expect("read groups")
}

/// `like` (prepares [`SQL_LIKE`] through the connection's statement cache).
///
/// # Panics
/// On a SQLite error.
pub fn sqlite_like(conn: &Connection) -> i64 {
    let mut stmt: CachedStatement<'_> = conn.prepare_cached(SQL_LIKE).expect("prepare like");
    stmt.query_row([], |r| r.get(0)).expect("like query")
}

/// `insert`: one autocommit INSERT per row through a prepared statement. Returns the
/// number of rows inserted.
///
/// # Panics
/// On a SQLite error.
pub fn sqlite_insert_each(stmt: &mut Statement<'_>, rows: &[Row]) -> usize {
    rows.iter()
        .map(|r| {
            stmt.execute(params![r.id, r.name, r.age, r.city, r.score, r.active])
                .expect("insert")
        })
        .sum()
}

/// `update`: one autocommit UPDATE by primary key per key (same new scores as
/// [`dictdb_update_each`]). Returns the number of rows updated.
///
/// # Panics
/// On a SQLite error.
pub fn sqlite_update_each(stmt: &mut Statement<'_>, keys: &[i64], round: u64) -> usize {
    keys.iter()
        .map(|&k| {
            stmt.execute(params![update_score(k, round), k])
                .expect("update")
        })
        .sum()
}

/// `delete`: one autocommit DELETE by primary key per key. Returns the number of
/// rows deleted.
///
/// # Panics
/// On a SQLite error.
pub fn sqlite_delete_each(stmt: &mut Statement<'_>, keys: &[i64]) -> usize {
    keys.iter()
        .map(|&k| stmt.execute([k]).expect("delete"))
        .sum()
}

/// Deletes the rows with `id > n` in one statement (undoes an `insert` batch).
///
/// # Panics
/// On a SQLite error.
pub fn sqlite_delete_above(conn: &Connection, n: i64) -> usize {
    conn.execute("DELETE FROM t WHERE id > ?1", [n])
        .expect("delete above")
}

/// Number of rows in SQLite's `t`.
///
/// # Panics
/// On a SQLite error.
pub fn sqlite_count(conn: &Connection) -> usize {
    conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
        .expect("count") as usize
}

// ----- verification -------------------------------------------------------------

/// Rows sorted by id.
fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by_key(|r| r.id);
    rows
}

fn same<T: PartialEq + Debug>(what: &str, dictdb: T, sqlite: T) -> Result<(), String> {
    if dictdb == sqlite {
        Ok(())
    } else {
        Err(format!(
            "{what}: dictdb and SQLite disagree\n  dictdb: {dictdb:?}\n  sqlite: {sqlite:?}"
        ))
    }
}

/// Compares two row sets (as sets of ids, then row by row).
fn same_rows(what: &str, dictdb: Vec<Record>, sqlite: Vec<Row>) -> Result<(), String> {
    let d = sorted(dictdb.iter().map(row_of).collect());
    let s = sorted(sqlite);
    same(&format!("{what} (row count)"), d.len(), s.len())?;
    same(
        &format!("{what} (keys)"),
        d.iter().map(|r| r.id).collect::<Vec<_>>(),
        s.iter().map(|r| r.id).collect::<Vec<_>>(),
    )?;
    same(&format!("{what} (rows)"), d, s)
}

/// How many generated rows satisfy `pred` (an answer computed without any engine).
fn expected_len(rows: &[Row], pred: impl Fn(&Row) -> bool) -> usize {
    rows.iter().filter(|r| pred(r)).count()
}

/// Checks that dictdb and SQLite (and, for row counts, the generated rows) give the
/// same answers to every read query of the workload: `point` (a sample of keys and
/// a missing one), `eq` (every city), `range` (every `a`), `topk` (ids in order),
/// `group` (counts exactly, averages within [`FLOAT_TOLERANCE`]) and `like`.
///
/// # Errors
/// A description of the first disagreement.
pub fn verify(table: &Table, conn: &Connection, rows: &[Row]) -> Result<(), String> {
    let n = rows.len();
    same("table length", table.len(), n)?;
    same("SQLite table length", sqlite_count(conn), n)?;

    // point
    let mut stmt = conn.prepare(SQL_POINT).map_err(|e| e.to_string())?;
    for k in random_keys(n, n.min(1_000), 7, false) {
        same(
            &format!("point {k}"),
            dictdb_point(table, k).as_ref().map(row_of),
            sqlite_point(&mut stmt, k),
        )?;
        same(
            &format!("point {k} (generated)"),
            dictdb_point(table, k).as_ref().map(row_of).as_ref(),
            rows.get(k as usize - 1),
        )?;
    }
    let missing = n as i64 + 1;
    same(
        "point (missing key)",
        dictdb_point(table, missing).as_ref().map(row_of),
        sqlite_point(&mut stmt, missing),
    )?;

    // eq
    let mut stmt = conn.prepare(SQL_EQ).map_err(|e| e.to_string())?;
    for city in CITIES {
        let d = dictdb_eq(table, city);
        same(
            &format!("eq {city} (generated count)"),
            d.len(),
            expected_len(rows, |r| r.city == city),
        )?;
        same_rows(&format!("eq {city}"), d, sqlite_eq(&mut stmt, city))?;
    }

    // range
    let mut stmt = conn.prepare(SQL_RANGE).map_err(|e| e.to_string())?;
    for low in range_lows() {
        let d = dictdb_range(table, low);
        same(
            &format!("range {low} (generated count)"),
            d.len(),
            expected_len(rows, |r| (low..=low + RANGE_WIDTH).contains(&r.age)),
        )?;
        same_rows(&format!("range {low}"), d, sqlite_range(&mut stmt, low))?;
    }

    // topk: same ids in the same order, and whole rows.
    let mut stmt = conn.prepare(SQL_TOPK).map_err(|e| e.to_string())?;
    let d: Vec<Row> = dictdb_topk(table).iter().map(row_of).collect();
    let s = sqlite_topk(&mut stmt);
    same(
        "topk (ids in order)",
        d.iter().map(|r| r.id).collect::<Vec<_>>(),
        s.iter().map(|r| r.id).collect::<Vec<_>>(),
    )?;
    same("topk (rows)", d, s)?;

    // group
    let mut stmt = conn.prepare(SQL_GROUP).map_err(|e| e.to_string())?;
    let mut s: HashMap<String, (i64, f64)> = sqlite_group(&mut stmt)
        .into_iter()
        .map(|(c, n, a)| (c, (n, a)))
        .collect();
    let d = dictdb_group(table);
    same("group (number of groups)", d.len(), s.len())?;
    for r in &d {
        let city = match r.get("city") {
            Some(Value::Str(c)) => c.to_string(),
            other => return Err(format!("group: city is {other:?} in {r}")),
        };
        let (sn, savg) = s
            .remove(&city)
            .ok_or_else(|| format!("group: dictdb has city {city}, SQLite does not"))?;
        let dn = match r.get("n") {
            Some(Value::Int(n)) => *n,
            other => return Err(format!("group {city}: n is {other:?}")),
        };
        let davg = match r.get("avg") {
            Some(Value::Float(x)) => *x,
            other => return Err(format!("group {city}: avg is {other:?}")),
        };
        same(&format!("group {city} (count)"), dn, sn)?;
        if (davg - savg).abs() > FLOAT_TOLERANCE * savg.abs().max(1.0) {
            return Err(format!(
                "group {city} (avg): dictdb {davg} vs SQLite {savg} (|diff| {})",
                (davg - savg).abs()
            ));
        }
    }

    // like
    let d = dictdb_like(table);
    same("like", d, sqlite_like(conn))?;
    same(
        "like (generated count)",
        d as usize,
        expected_len(rows, |r| r.name.contains("99")),
    )?;
    Ok(())
}

/// Checks that the write operations change both engines alike: runs one `insert`,
/// `update` and `delete` batch on each (the same keys), compares the table sizes and
/// the affected rows, then puts both tables back as they were.
///
/// # Errors
/// A description of the first disagreement.
///
/// # Panics
/// On an engine error.
pub fn verify_writes(table: &Table, conn: &Connection, rows: &[Row]) -> Result<(), String> {
    let n = rows.len();
    let new_rows = generate_new(n, 100);
    same(
        "insert count",
        dictdb_insert_each(table, records(&new_rows)),
        sqlite_insert_each(
            &mut conn.prepare(SQL_INSERT).map_err(|e| e.to_string())?,
            &new_rows,
        ),
    )?;
    same("length after insert", table.len(), sqlite_count(conn))?;
    let mut point = conn.prepare(SQL_POINT).map_err(|e| e.to_string())?;
    for r in &new_rows {
        same(
            &format!("inserted row {}", r.id),
            dictdb_point(table, r.id).as_ref().map(row_of),
            sqlite_point(&mut point, r.id),
        )?;
    }
    drop(point);
    same(
        "undo insert",
        dictdb_delete_each(table, &new_rows.iter().map(|r| r.id).collect::<Vec<_>>()),
        sqlite_delete_above(conn, n as i64),
    )?;

    let keys = random_keys(n, n.min(100), 11, true);
    same(
        "update count",
        dictdb_update_each(table, &keys, 1),
        sqlite_update_each(
            &mut conn.prepare(SQL_UPDATE).map_err(|e| e.to_string())?,
            &keys,
            1,
        ),
    )?;
    let mut point = conn.prepare(SQL_POINT).map_err(|e| e.to_string())?;
    for &k in &keys {
        same(
            &format!("updated row {k}"),
            dictdb_point(table, k).as_ref().map(row_of),
            sqlite_point(&mut point, k),
        )?;
    }
    drop(point);

    same(
        "delete count",
        dictdb_delete_each(table, &keys),
        sqlite_delete_each(
            &mut conn.prepare(SQL_DELETE).map_err(|e| e.to_string())?,
            &keys,
        ),
    )?;
    same("length after delete", table.len(), sqlite_count(conn))?;
    same(
        "length after delete (expected)",
        table.len(),
        n - keys.len(),
    )?;
    let mut point = conn.prepare(SQL_POINT).map_err(|e| e.to_string())?;
    for &k in &keys {
        same(
            &format!("deleted row {k}"),
            dictdb_point(table, k).as_ref().map(row_of),
            sqlite_point(&mut point, k),
        )?;
    }
    drop(point);

    // Put the original rows back (updated scores included).
    let originals: Vec<Row> = keys.iter().map(|&k| rows[k as usize - 1].clone()).collect();
    table
        .insert_many(records(&originals))
        .map_err(|e| e.to_string())?;
    sqlite_insert_all(conn, &originals);
    dictdb_compact(table);
    same("length after restore", table.len(), n)?;
    same("SQLite length after restore", sqlite_count(conn), n)?;
    Ok(())
}

/// The lower bounds `a` of the `range` query (every `a` with `a + 2 <= 80`).
pub fn range_lows() -> std::ops::RangeInclusive<i64> {
    AGE_MIN..=AGE_MAX - RANGE_WIDTH
}
