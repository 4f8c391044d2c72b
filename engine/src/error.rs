//! Errors of the engine. Data lives in fields; messages name the table, field and value.

use crate::value::{Value, ValueKind};

/// Why a record does not fit a table's schema.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A required field is absent from the record.
    #[error("missing field '{field}' required by the schema of table '{table}'")]
    MissingField {
        /// The table.
        table: String,
        /// The missing field.
        field: String,
    },
    /// A field holds a value of the wrong type.
    #[error("field '{field}' of table '{table}' expects type {expected}, got {actual} ({value})")]
    WrongType {
        /// The table.
        table: String,
        /// The field.
        field: String,
        /// The declared type's name (`int`, `str`, …).
        expected: String,
        /// The type of the value given.
        actual: ValueKind,
        /// The value given (shortened when long).
        value: Box<Value>,
    },
    /// The record has a field the schema does not define.
    #[error("field '{field}' is not defined in the schema of table '{table}'")]
    UndefinedField {
        /// The table.
        table: String,
        /// The field.
        field: String,
    },
}

/// An engine error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `create_table` on a name already in use.
    #[error("table '{table}' already exists")]
    DuplicateTable {
        /// The table name.
        table: String,
    },
    /// No table of that name.
    #[error("table '{table}' does not exist")]
    TableNotFound {
        /// The table name.
        table: String,
    },
    /// An index name already in use.
    #[error("index '{index}' already exists")]
    DuplicateIndex {
        /// The index name.
        index: String,
    },
    /// No index of that name.
    #[error("index '{index}' does not exist")]
    IndexNotFound {
        /// The index name.
        index: String,
    },
    /// `create_index` on a field that already has an index.
    #[error("field '{field}' of table '{table}' already has an index")]
    FieldIndexed {
        /// The table.
        table: String,
        /// The field.
        field: String,
    },
    /// A primary key already in use (in the table, or earlier in the same batch).
    #[error("duplicate key {key} in table '{table}'")]
    DuplicateKey {
        /// The table.
        table: String,
        /// The key.
        key: Value,
    },
    /// A value that cannot be a primary key (a list, a map, NaN, or NULL where a key
    /// is required).
    #[error("invalid primary key {key} for field '{field}' of table '{table}': {reason}")]
    InvalidKey {
        /// The table.
        table: String,
        /// The primary-key field.
        field: String,
        /// The offending value.
        key: Value,
        /// Why it cannot be a key.
        reason: KeyProblem,
    },
    /// The record does not fit the schema.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Columns handed to `insert_columns` that do not form rows (lengths differ,
    /// a name repeats, names and columns do not pair up).
    #[error("columns do not form rows for table '{table}': {detail}")]
    ColumnMismatch {
        /// The table.
        table: String,
        /// What is wrong.
        detail: String,
    },
    /// A value whose lists and maps nest deeper than
    /// [`MAX_NESTING`](crate::value::MAX_NESTING) levels.
    #[error(
        "field '{field}' of table '{table}' nests lists and dicts more than {limit} levels deep"
    )]
    NestedTooDeep {
        /// The table.
        table: String,
        /// The field.
        field: String,
        /// The limit.
        limit: usize,
    },
    /// A table holds at most `u32::MAX` row positions.
    #[error("table '{table}' is full ({limit} row positions)")]
    TableFull {
        /// The table.
        table: String,
        /// The limit.
        limit: u64,
    },
    /// Host code run during the operation (a validator, [`crate::host`])
    /// failed; the host's own error is inside, unchanged.
    #[error("{0}")]
    Host(crate::host::HostError),
}

/// Why a value cannot be a primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// Lists and maps are not hashable keys.
    Unhashable,
    /// NaN equals nothing, so it cannot identify a row.
    NaN,
    /// A key cannot be set to NULL (update).
    Null,
}

impl std::fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyProblem::Unhashable => "unhashable type",
            KeyProblem::NaN => "NaN cannot be a key",
            KeyProblem::Null => "a key cannot be NULL",
        })
    }
}

/// Result of engine operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
