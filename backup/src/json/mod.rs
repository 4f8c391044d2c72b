//! JSON in DictDB's layout (python-api.md §11.2) and delta files (§13.3).
//!
//! ```
//! use dictdb_backup::json::{TableOut, read_database, record_rows, write_database};
//! use dictdb_engine::{IndexKind, Name, Value, record};
//!
//! let rows = vec![record! { "id" => 1, "name" => "Zoë", "f" => 1.5 }];
//! let indexes: Vec<(Name, IndexKind)> = vec![("name".into(), IndexKind::Hash)];
//! let mut file = Vec::new();
//! write_database(&mut file, [TableOut {
//!     name: "users", primary_key: "id", schema: None, indexes: &indexes, next_pk: 2,
//!     rows: record_rows(&rows),
//! }])?;
//! let tables = read_database(&file)?;
//! assert_eq!(tables[0].records, rows);
//! assert_eq!(tables[0].indexes, [("name".to_string(), IndexKind::Hash)]);
//! # Ok::<(), dictdb_backup::json::JsonError>(())
//! ```
//!
//! # Writing
//!
//! [`write_database`] (or its streaming form [`DatabaseWriter`]) writes the
//! layout line for line: 4-space nesting, each table's keys in the order
//! `primary_key`, `schema`, `indexes`, `next_pk`, `records`, one record per line
//! with `", "` / `": "` separators, a trailing newline. Text is UTF-8 (control
//! characters, `"` and `\` escaped as Python escapes them). Floats are written as
//! Python's `repr` writes them (`1.0`, `0.1`, `1e+20`, `1e-07`) and NaN / ±inf as
//! the bare `NaN`, `Infinity`, `-Infinity`. Bytes, dates and datetimes become
//! `{"$bytes": base64}`, `{"$date": "2024-05-01"}`, `{"$datetime":
//! "2024-05-01T12:30:00.250000+02:00"}` (`isoformat()`); a stored map whose only
//! key is a tag (`$bytes`, `$date`, `$datetime`, `$dict`) is wrapped as
//! `{"$dict": {…}}`. A schema maps each field to its type name
//! ([`FieldType::name`](dictdb_engine::FieldType::name): `int str float bool
//! list dict bytes date datetime`, and `any` for the engine's untyped fields, which
//! DictDB does not know), with `" | None"` appended for a nullable field.
//!
//! # Reading
//!
//! [`read_database`] reads the same files and DictDB's: any JSON layout, `\u`
//! escapes (surrogate pairs included), the bare NaN/Infinity tokens, tables
//! without `indexes` or `next_pk`. An integer literal stays an `Int` (an error if
//! it does not fit in `i64`), anything with a fraction or exponent is a `Float`.
//! A one-key tagged object whose text parses is decoded; `{"$dict": {…}}` yields
//! the inner map literally; any other object is a plain map. Records themselves
//! are objects of fields, never decoded as tags.
//!
//! The reader is a purpose-built parser (see `parse.rs` for why not serde_json)
//! that builds records directly, sharing field names between records.
//!
//! # Deltas
//!
//! [`write_delta`] / [`read_delta`]: the `json.dump(…, indent=2)` layout of
//! §13.3, values encoded as above, plus extra keys DictDB ignores: a changed
//! table's `next_pk`, `rekeys` (`[old key, new key]` pairs) and `reused` (keys
//! whose old row was deleted and which a new row holds), and the top-level
//! `order` of the tables. Replayed by dictdb-rs (reused rows deleted, re-keys
//! applied in place, then upserts and deletes), they put every row back in its
//! place; DictDB's upserts-then-deletes give the same rows. Malformed extras are
//! errors naming the table, like any other field.

mod database;
mod delta;
mod error;
mod load;
mod parse;
mod save;
mod temporal;
mod write;

pub use database::{
    DatabaseWriter, TableDef, TableIn, TableOut, read_database, record_rows, write_database,
};
pub use delta::{
    DeltaIn, DeltaOut, DeltaTableIn, DeltaTableOut, TableDefIn, read_delta, write_delta,
};
pub use error::JsonError;
pub(crate) use load::{LoadedTable, load_database};
pub(crate) use save::write_snapshots;
