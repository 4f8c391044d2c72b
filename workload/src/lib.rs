//! The standard workload of dictdb-rs (`performance.md`), shared by the benchmarks
//! (`dictdb-benches`) and the shell's `dictdb --demo`.
//!
//! Table `t` with N rows, ids `1..=N`:
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
//! generated from a seeded [`StdRng`] (seed [`SEED`]), with a hash index on `city`
//! and a sorted index on `age`. The rows are the same whichever loader builds the
//! table: [`load_dictdb`] (records, one `insert_many`), [`load_dictdb_columns`]
//! (column by column) or [`load_standard`] (generated and loaded in chunks into a
//! database you own, reporting progress as it goes).
//!
//! ```
//! use dictdb::{Database, Value};
//! use dictdb_workload::{generate, load_standard, row_of};
//!
//! let db = Database::new();
//! let mut seen = Vec::new();
//! let t = load_standard(&db, 1_000, |loaded, total| seen.push((loaded, total)))?;
//! assert_eq!(t.len(), 1_000);
//! assert_eq!(seen.last(), Some(&(1_000, 1_000)));
//! assert_eq!(row_of(&t.get(&Value::Int(7)).unwrap()), generate(7)[6]);
//! # Ok::<(), dictdb::Error>(())
//! ```

#![warn(missing_docs)]

use dictdb::{Database, IndexKind, Name, Record, Table, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The seed of the standard table's generator.
pub const SEED: u64 = 42;

/// The name of the standard table.
pub const TABLE: &str = "t";

/// The 50 city names of the `city` column.
pub const CITIES: [&str; 50] = [
    "Amsterdam",
    "Athens",
    "Auckland",
    "Bangkok",
    "Barcelona",
    "Beijing",
    "Berlin",
    "Bogota",
    "Boston",
    "Brussels",
    "Budapest",
    "Buenos Aires",
    "Cairo",
    "Cape Town",
    "Chicago",
    "Copenhagen",
    "Delhi",
    "Dubai",
    "Dublin",
    "Edinburgh",
    "Helsinki",
    "Hong Kong",
    "Istanbul",
    "Jakarta",
    "Johannesburg",
    "Kyiv",
    "Lagos",
    "Lima",
    "Lisbon",
    "London",
    "Los Angeles",
    "Madrid",
    "Melbourne",
    "Mexico City",
    "Montreal",
    "Moscow",
    "Mumbai",
    "Nairobi",
    "New York",
    "Oslo",
    "Paris",
    "Prague",
    "Rome",
    "San Francisco",
    "Santiago",
    "Seoul",
    "Singapore",
    "Stockholm",
    "Tokyo",
    "Vienna",
];

/// Lowest `age`.
pub const AGE_MIN: i64 = 18;
/// Highest `age`.
pub const AGE_MAX: i64 = 80;
/// One row of the standard table, as plain Rust values (also what SQLite rows are
/// read into).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Primary key.
    pub id: i64,
    /// `"name{id}"`.
    pub name: String,
    /// `18..=80`.
    pub age: i64,
    /// One of [`CITIES`].
    pub city: String,
    /// `[0, 100)`.
    pub score: f64,
    /// p = 0.5.
    pub active: bool,
}

/// The seeded generator of standard rows.
#[derive(Debug)]
pub struct Generator {
    rng: StdRng,
}

impl Default for Generator {
    fn default() -> Self {
        Generator::new()
    }
}

impl Generator {
    /// The generator of the standard table (seed [`SEED`]).
    pub fn new() -> Generator {
        Generator::with_seed(SEED)
    }

    /// A generator with another seed (for rows added on top of the standard table).
    pub fn with_seed(seed: u64) -> Generator {
        Generator {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The next row, with this id.
    pub fn row(&mut self, id: i64) -> Row {
        let age = self.rng.gen_range(AGE_MIN..=AGE_MAX);
        let city = CITIES[self.rng.gen_range(0..CITIES.len())].to_string();
        let score = self.rng.gen_range(0.0..100.0);
        let active = self.rng.gen_bool(0.5);
        Row {
            id,
            name: format!("name{id}"),
            age,
            city,
            score,
            active,
        }
    }

    /// Rows with the ids `ids`, in order.
    pub fn rows(&mut self, ids: impl IntoIterator<Item = i64>) -> Vec<Row> {
        ids.into_iter().map(|id| self.row(id)).collect()
    }
}

/// The standard table: `n` rows with ids `1..=n` (seed [`SEED`]).
pub fn generate(n: usize) -> Vec<Row> {
    Generator::new().rows(1..=n as i64)
}

/// `count` rows with ids `n + 1 ..= n + count` that are not in the standard table of
/// `n` rows (their own seed), for the `insert` benchmark.
pub fn generate_new(n: usize, count: usize) -> Vec<Row> {
    Generator::with_seed(SEED + 1).rows(n as i64 + 1..=(n + count) as i64)
}

/// The field names of the standard table, created once so that every record shares
/// them (the way a typed loader builds records).
#[derive(Clone, Debug)]
pub struct Fields {
    id: Name,
    name: Name,
    age: Name,
    city: Name,
    score: Name,
    active: Name,
}

impl Default for Fields {
    fn default() -> Self {
        Fields::new()
    }
}

impl Fields {
    /// The six field names.
    pub fn new() -> Fields {
        Fields {
            id: "id".into(),
            name: "name".into(),
            age: "age".into(),
            city: "city".into(),
            score: "score".into(),
            active: "active".into(),
        }
    }

    /// The dictdb record of a row.
    pub fn record(&self, r: &Row) -> Record {
        Record::with_capacity(6)
            .with(self.id.clone(), r.id)
            .with(self.name.clone(), r.name.as_str())
            .with(self.age.clone(), r.age)
            .with(self.city.clone(), r.city.as_str())
            .with(self.score.clone(), r.score)
            .with(self.active.clone(), r.active)
    }
}

/// The dictdb records of rows.
pub fn records(rows: &[Row]) -> Vec<Record> {
    let f = Fields::new();
    rows.iter().map(|r| f.record(r)).collect()
}

/// Loads records into a new database: table [`TABLE`] with primary key `id`, one
/// `insert_many`, then a hash index on `city` and a sorted index on `age`
/// ([`create_indexes`]).
///
/// # Panics
/// When dictdb rejects the records.
pub fn load_dictdb(records: Vec<Record>) -> (Database, Table) {
    let db = Database::new();
    let table = db.create_table(TABLE, "id").expect("create table");
    table.insert_many(records).expect("insert_many");
    create_indexes(&table);
    (db, table)
}

/// The workload's field names in the order of [`columns`].
pub const COLUMN_NAMES: [&str; 6] = ["id", "name", "age", "city", "score", "active"];

/// The rows column by column, in the order of [`COLUMN_NAMES`].
pub fn columns(rows: &[Row]) -> Vec<Vec<Value>> {
    vec![
        rows.iter().map(|r| Value::Int(r.id)).collect(),
        rows.iter().map(|r| Value::str(r.name.as_str())).collect(),
        rows.iter().map(|r| Value::Int(r.age)).collect(),
        rows.iter().map(|r| Value::str(r.city.as_str())).collect(),
        rows.iter().map(|r| Value::Float(r.score)).collect(),
        rows.iter().map(|r| Value::Bool(r.active)).collect(),
    ]
}

/// [`load_dictdb`] through `insert_columns`: the same table, loaded column by column.
///
/// # Panics
/// When dictdb rejects the rows.
pub fn load_dictdb_columns(columns: Vec<Vec<Value>>) -> (Database, Table) {
    let db = Database::new();
    let table = db.create_table(TABLE, "id").expect("create table");
    table
        .insert_columns(&COLUMN_NAMES, columns)
        .expect("insert_columns");
    create_indexes(&table);
    (db, table)
}

/// Reads a dictdb record of the standard table back into a [`Row`].
///
/// # Panics
/// When a field is missing or has another type than the workload's.
pub fn row_of(r: &Record) -> Row {
    fn field<'a>(r: &'a Record, name: &str) -> &'a Value {
        r.get(name)
            .unwrap_or_else(|| panic!("record without {name}: {r}"))
    }
    let int = |name| match field(r, name) {
        Value::Int(i) => *i,
        other => panic!("{name} is not an int: {other:?}"),
    };
    let text = |name| match field(r, name) {
        Value::Str(s) => s.to_string(),
        other => panic!("{name} is not text: {other:?}"),
    };
    Row {
        id: int("id"),
        name: text("name"),
        age: int("age"),
        city: text("city"),
        score: match field(r, "score") {
            Value::Float(x) => *x,
            other => panic!("score is not a float: {other:?}"),
        },
        active: match field(r, "active") {
            Value::Bool(b) => *b,
            other => panic!("active is not a bool: {other:?}"),
        },
    }
}

/// Creates the workload's indexes on a loaded table: hash on `city`, sorted on `age`.
pub fn create_indexes(table: &Table) {
    table.create_index("city", IndexKind::Hash);
    table.create_index("age", IndexKind::Sorted);
}

/// Rows generated and inserted per step of [`load_standard`].
pub const LOAD_CHUNK_ROWS: usize = 50_000;

/// Builds the standard table of `n` rows as table [`TABLE`] of `db`: rows are
/// generated and inserted column by column in chunks of [`LOAD_CHUNK_ROWS`], then
/// the indexes are created ([`create_indexes`]). `progress(loaded, n)` is called
/// before the first chunk and after each one, so a caller can draw a progress bar;
/// the rows are those of [`generate`]`(n)`.
///
/// # Errors
/// When `db` already has a table named [`TABLE`].
pub fn load_standard(
    db: &Database,
    n: usize,
    progress: impl FnMut(usize, usize),
) -> dictdb::Result<Table> {
    load_standard_chunked(db, n, LOAD_CHUNK_ROWS, progress)
}

/// [`load_standard`] with another chunk size (at least one row per chunk).
///
/// # Errors
/// When `db` already has a table named [`TABLE`].
pub fn load_standard_chunked(
    db: &Database,
    n: usize,
    chunk_rows: usize,
    mut progress: impl FnMut(usize, usize),
) -> dictdb::Result<Table> {
    let table = db.create_table(TABLE, "id")?;
    let chunk_rows = chunk_rows.max(1);
    let mut generator = Generator::new();
    let mut loaded = 0;
    progress(0, n);
    while loaded < n {
        let chunk = chunk_rows.min(n - loaded);
        let rows = generator.rows(loaded as i64 + 1..=(loaded + chunk) as i64);
        table.insert_columns(&COLUMN_NAMES, columns(&rows))?;
        loaded += chunk;
        progress(loaded, n);
    }
    create_indexes(&table);
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_seeded_and_in_range() {
        let a = generate(500);
        assert_eq!(a, generate(500));
        assert_eq!(a[..100], generate(100)[..]);
        for (i, r) in a.iter().enumerate() {
            assert_eq!(r.id, i as i64 + 1);
            assert_eq!(r.name, format!("name{}", r.id));
            assert!((AGE_MIN..=AGE_MAX).contains(&r.age));
            assert!(CITIES.contains(&r.city.as_str()));
            assert!((0.0..100.0).contains(&r.score));
        }
        assert_ne!(generate_new(500, 10)[0], a[0]);
    }

    #[test]
    fn every_loader_builds_the_same_table() {
        let rows = generate(1_234);
        let (_db1, by_records) = load_dictdb(records(&rows));
        let (_db2, by_columns) = load_dictdb_columns(columns(&rows));
        let db = Database::new();
        let mut calls = Vec::new();
        let chunked =
            load_standard_chunked(&db, rows.len(), 100, |l, t| calls.push((l, t))).expect("load");
        assert_eq!(calls.len(), 1 + 13);
        assert_eq!(calls[0], (0, 1_234));
        assert_eq!(calls[1], (100, 1_234));
        assert_eq!(calls.last(), Some(&(1_234, 1_234)));
        for t in [&by_records, &by_columns, &chunked] {
            assert_eq!(t.len(), rows.len());
            assert_eq!(
                t.indexes(),
                vec![
                    ("city".to_string(), IndexKind::Hash),
                    ("age".to_string(), IndexKind::Sorted)
                ]
            );
            for r in [&rows[0], &rows[99], &rows[100], &rows[1_233]] {
                assert_eq!(row_of(&t.get(&Value::Int(r.id)).expect("row")), *r);
            }
        }
        assert!(
            load_standard(&db, 10, |_, _| {}).is_err(),
            "t exists already"
        );
    }

    #[test]
    fn empty_table() {
        let db = Database::new();
        let mut calls = Vec::new();
        let t = load_standard(&db, 0, |l, n| calls.push((l, n))).expect("load");
        assert!(t.is_empty());
        assert_eq!(calls, vec![(0, 0)]);
    }
}
