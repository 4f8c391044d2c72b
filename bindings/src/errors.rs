//! Engine errors as the Python exceptions of python-api.md §4.
//!
//! The exception classes are defined in Python (`dictdb_rs/exceptions.py`, so
//! that they are plain subclasses pickle and `except` clauses know) and looked up
//! here once.

use std::io::ErrorKind;
use std::path::Path;

use dictdb::PersistError;
use dictdb_backup::json::JsonError;
use dictdb_engine::Error as EngineError;
use dictdb_engine::error::KeyProblem;
use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyKeyError, PyOSError, PyOverflowError,
    PyPermissionError, PyTypeError, PyValueError,
};
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
    engine_as(py, &e, message)
}

/// The Python exception for an engine error, with this message.
fn engine_as(py: Python<'_>, e: &EngineError, message: String) -> PyErr {
    match e {
        EngineError::DuplicateKey { .. } => new_err(py, Kind::DuplicateKey, message),
        EngineError::DuplicateTable { .. } => new_err(py, Kind::DuplicateTable, message),
        EngineError::TableNotFound { .. } => new_err(py, Kind::TableNotFound, message),
        EngineError::Schema(_) => new_err(py, Kind::SchemaValidation, message),
        EngineError::NestedTooDeep { .. } => PyValueError::new_err(message),
        // Host code's own exception, unchanged (§4): a `validate_record`
        // override, a Python callable in `where=`.
        EngineError::Host(h) => match h.downcast_ref::<PyErr>() {
            Some(err) => err.clone_ref(py),
            None => new_err(py, Kind::DictDB, message),
        },
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
        dictdb::Error::Persist(f) => persist(py, &f),
        other => new_err(py, Kind::DictDB, other.to_string()),
    }
}

/// A persistence failure as the exception DictDB raises for it (python-api.md
/// §11.2): I/O errors as `OSError` (`FileNotFoundError`, … by errno); the
/// file's format ([`JsonError`]): invalid JSON → `json.JSONDecodeError`, a
/// missing key → `KeyError`, a wrong shape → `TypeError`, an integer beyond 64
/// bits → `OverflowError`, an unknown schema or index type and a file that is
/// not a delta → `ValueError`; a record that does not fit its table → the
/// engine's exception (`DuplicateKeyError`, `SchemaValidationError`, …); a
/// table twice in one file → `DuplicateTableError`. Anything else (CSV, …) is
/// a `DictDBError`.
pub fn persist(py: Python<'_>, f: &dictdb::PersistFailure) -> PyErr {
    let message = f.to_string();
    let inner: &(dyn std::error::Error + 'static) = &*f.0;
    if let Some(e) = inner.downcast_ref::<dictdb::CsvError>() {
        return match e {
            dictdb::CsvError::Io { file, source } => os_error(Path::new(file), source),
            dictdb::CsvError::IntegerOverflow { .. } => PyOverflowError::new_err(message),
            dictdb::CsvError::InvalidUtf8 { .. }
            | dictdb::CsvError::UnsupportedEncoding { .. }
            | dictdb::CsvError::InvalidDelimiter { .. } => PyValueError::new_err(message),
            _ => new_err(py, Kind::DictDB, message),
        };
    }
    let Some(e) = inner.downcast_ref::<PersistError>() else {
        return new_err(py, Kind::DictDB, message);
    };
    match e {
        PersistError::Io { path, source } => os_error(path, source),
        PersistError::Format { path, source } => match source {
            JsonError::Io(source) => os_error(path, source),
            JsonError::Syntax {
                line,
                column,
                message: what,
            } => decode_error(py, path, *line, *column, what, &message),
            JsonError::MissingKey { .. } => PyKeyError::new_err(message),
            JsonError::Shape { .. } => PyTypeError::new_err(message),
            JsonError::IntegerOverflow { .. } => PyOverflowError::new_err(message),
            _ => PyValueError::new_err(message),
        },
        PersistError::Table { source, .. } => engine_as(py, source, message),
        PersistError::DuplicateTable { .. } => new_err(py, Kind::DuplicateTable, message),
        _ => new_err(py, Kind::DictDB, message),
    }
}

/// `OSError(errno, strerror, filename)`, which Python turns into the subclass
/// of the errno (`FileNotFoundError`, `PermissionError`, …); by kind when
/// there is no errno.
fn os_error(path: &Path, e: &std::io::Error) -> PyErr {
    let filename = path.display().to_string();
    if let Some(errno) = e.raw_os_error() {
        let text = e.to_string();
        let strerror = match text.rfind(" (os error ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        return PyOSError::new_err((errno, strerror, filename));
    }
    let message = format!("{filename}: {e}");
    match e.kind() {
        ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
        ErrorKind::AlreadyExists => PyFileExistsError::new_err(message),
        _ => PyOSError::new_err(message),
    }
}

/// `json.JSONDecodeError(msg, doc, pos)` for a syntax error at this 1-based
/// line and byte column: `doc` is the file's text up to the end of that line
/// (enough for Python to derive `lineno` and `colno`), `pos` the character
/// offset.
fn decode_error(
    py: Python<'_>,
    path: &Path,
    line: usize,
    column: usize,
    what: &str,
    full: &str,
) -> PyErr {
    let bytes = std::fs::read(path).unwrap_or_default();
    let mut start = 0;
    for _ in 1..line {
        match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(i) => start += i + 1,
            None => {
                start = bytes.len();
                break;
            }
        }
    }
    let offset = (start + column.saturating_sub(1)).min(bytes.len());
    let end = bytes[offset..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| offset + i);
    let pos = String::from_utf8_lossy(&bytes[..offset]).chars().count();
    let doc = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let msg = format!("{}: {what}", path.display());
    let made = py
        .import("json")
        .and_then(|m| m.getattr("JSONDecodeError"))
        .and_then(|ty| ty.call1((msg, doc, pos)));
    match made {
        Ok(err) => PyErr::from_value(err),
        Err(_) => PyValueError::new_err(full.to_string()),
    }
}
