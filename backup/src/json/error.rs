//! The one error type of JSON save/load and deltas.

use std::fmt;
use std::io;

/// Why a JSON database or delta file could not be written or read.
///
/// Every variant that concerns one table names it (`table`), and one record of it
/// by its 0-based position in the file's `records` / `upserts` list (`record`)
/// where that applies. The Python layer maps the variants to DictDB's exceptions:
/// [`Syntax`](JsonError::Syntax) → `json.JSONDecodeError`,
/// [`MissingKey`](JsonError::MissingKey) → `KeyError`, [`Shape`](JsonError::Shape) →
/// `TypeError`, [`IntegerOverflow`](JsonError::IntegerOverflow) → `OverflowError`,
/// the unknown-type variants and [`NotADelta`](JsonError::NotADelta) → `ValueError`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Reading or writing the underlying stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The bytes are not JSON (as Python's `json` module reads it, `NaN` and
    /// `Infinity` included): a syntax error, a truncated file, invalid UTF-8.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line of the offending byte.
        line: usize,
        /// 1-based column (in bytes) of the offending byte.
        column: usize,
        /// What was wrong.
        message: String,
    },
    /// A required key is absent.
    #[error("{}missing key '{key}'", Location(.table, &None))]
    MissingKey {
        /// The key (`tables`, `primary_key`, `schema`, `records`, `type`).
        key: &'static str,
        /// The table whose definition lacks it; `None` at the top level.
        table: Option<String>,
    },
    /// A value of the wrong JSON type where the layout expects another.
    #[error("{}{message}", Location(.table, .record))]
    Shape {
        /// The table concerned, if any.
        table: Option<String>,
        /// The record concerned (0-based position in its list), if any.
        record: Option<usize>,
        /// What was expected and what was found.
        message: String,
    },
    /// An integer literal outside the 64-bit signed range (Python ints are
    /// unbounded; stored ints are `i64`).
    #[error("{}integer {value} does not fit in 64 bits", Location(.table, .record))]
    IntegerOverflow {
        /// The literal as written in the file.
        value: String,
        /// The table concerned, if any.
        table: Option<String>,
        /// The record concerned, if any.
        record: Option<usize>,
    },
    /// A schema names a type other than the ones of python-api.md §11.2 (plus `any`).
    #[error("table '{table}': unknown schema type '{type_name}' for field '{field}'")]
    UnknownSchemaType {
        /// The table.
        table: String,
        /// The field.
        field: String,
        /// The type name as written.
        type_name: String,
    },
    /// An index definition names a kind other than `hash` or `sorted`.
    #[error("table '{table}': unknown index type '{kind}' for field '{field}'")]
    UnknownIndexType {
        /// The table.
        table: String,
        /// The indexed field.
        field: String,
        /// The kind as written.
        kind: String,
    },
    /// A delta file whose `type` is missing or not `"delta"`.
    #[error("not a valid delta file")]
    NotADelta,
}

/// Display prefix naming a table and a record: `table 'users', record 3: `.
struct Location<'a>(&'a Option<String>, &'a Option<usize>);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(t), Some(r)) => write!(f, "table '{t}', record {r}: "),
            (Some(t), None) => write!(f, "table '{t}': "),
            (None, Some(r)) => write!(f, "record {r}: "),
            (None, None) => Ok(()),
        }
    }
}

impl From<JsonError> for io::Error {
    /// For use inside [`write_atomic`](crate::write_atomic)'s closure: I/O errors
    /// come back as they were, anything else as [`io::ErrorKind::InvalidData`].
    fn from(e: JsonError) -> io::Error {
        match e {
            JsonError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}
