//! Engine errors as the Python exceptions of python-api.md §4.
//!
//! The exception classes are defined in Python (`dictdb_rs/exceptions.py`, so
//! that they are plain subclasses pickle and `except` clauses know) and looked up
//! here once.

use dictdb_engine::Error as EngineError;
use dictdb_engine::error::KeyProblem;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// The exception classes of `dictdb_rs.exceptions`.
struct Classes {
    duplicate_key: Py<PyType>,
    duplicate_table: Py<PyType>,
    schema_validation: Py<PyType>,
    table_not_found: Py<PyType>,
    dictdb: Py<PyType>,
    sql: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let m = py.import("dictdb_rs.exceptions")?;
        let ty = |name: &str| -> PyResult<Py<PyType>> {
            Ok(m.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        Ok(Classes {
            duplicate_key: ty("DuplicateKeyError")?,
            duplicate_table: ty("DuplicateTableError")?,
            schema_validation: ty("SchemaValidationError")?,
            table_not_found: ty("TableNotFoundError")?,
            dictdb: ty("DictDBError")?,
            sql: ty("SQLError")?,
        })
    })
}

/// Which `dictdb_rs` exception class.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `DuplicateKeyError`.
    DuplicateKey,
    /// `DuplicateTableError`.
    DuplicateTable,
    /// `SchemaValidationError`.
    SchemaValidation,
    /// `TableNotFoundError`.
    TableNotFound,
    /// `DictDBError`.
    DictDB,
    /// `SQLError`.
    Sql,
}

/// A `dictdb_rs` exception of this kind with this message.
pub fn new_err(py: Python<'_>, kind: Kind, message: String) -> PyErr {
    let c = match classes(py) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let ty = match kind {
        Kind::DuplicateKey => &c.duplicate_key,
        Kind::DuplicateTable => &c.duplicate_table,
        Kind::SchemaValidation => &c.schema_validation,
        Kind::TableNotFound => &c.table_not_found,
        Kind::DictDB => &c.dictdb,
        Kind::Sql => &c.sql,
    };
    PyErr::from_type(ty.bind(py).clone(), message)
}

/// An engine error as the matching Python exception.
pub fn engine(py: Python<'_>, e: EngineError) -> PyErr {
    let message = e.to_string();
    match e {
        EngineError::DuplicateKey { .. } => new_err(py, Kind::DuplicateKey, message),
        EngineError::DuplicateTable { .. } => new_err(py, Kind::DuplicateTable, message),
        EngineError::TableNotFound { .. } => new_err(py, Kind::TableNotFound, message),
        EngineError::Schema(_) => new_err(py, Kind::SchemaValidation, message),
        EngineError::InvalidKey { reason, .. } => match reason {
            KeyProblem::Unhashable => PyTypeError::new_err(message),
            _ => PyValueError::new_err(message),
        },
        _ => new_err(py, Kind::DictDB, message),
    }
}

/// A query error as the matching Python exception: SUM's overflow is an
/// `OverflowError`, SUM/AVG over a non-number a `TypeError` (python-api.md §8).
pub fn query(py: Python<'_>, e: dictdb_query::QueryError) -> PyErr {
    use dictdb_query::QueryError as Q;
    let message = e.to_string();
    match e {
        Q::Engine(e) => engine(py, e),
        Q::Overflow { .. } => PyOverflowError::new_err(message),
        Q::NonNumeric { .. } | Q::Type { .. } | Q::UnaryType { .. } => {
            PyTypeError::new_err(message)
        }
        _ => new_err(py, Kind::DictDB, message),
    }
}

/// A `dictdb` (facade) error as the matching Python exception.
pub fn facade(py: Python<'_>, e: dictdb::Error) -> PyErr {
    match e {
        dictdb::Error::Engine(e) => engine(py, e),
        dictdb::Error::Query(e) => query(py, e),
        dictdb::Error::Sql(e) => new_err(py, Kind::Sql, e.to_string()),
        other => new_err(py, Kind::DictDB, other.to_string()),
    }
}
