//! The native half of the `dictdb_rs` Python package (python-api.md): the
//! engine's tables behind the Python `Table` class, value conversion both ways,
//! the DSL's predicates as engine expressions, and engine errors as the
//! package's exceptions. The Python half (`bindings/python/dictdb_rs/`) holds
//! the classes users see.

mod backup;
mod convert;
mod db;
mod dsl;
mod errors;
mod table;

use pyo3::prelude::*;

/// The `dictdb_rs._native` module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_DEPTH", convert::MAX_DEPTH)?;
    m.add_class::<table::TableCore>()?;
    m.add_class::<db::DatabaseCore>()?;
    m.add_class::<backup::BackupManagerCore>()?;
    m.add_class::<backup::BackupCapture>()?;
    m.add_function(wrap_pyfunction!(table::compute_aggregate, m)?)?;
    m.add_function(wrap_pyfunction!(table::export_records_csv, m)?)?;
    m.add_function(wrap_pyfunction!(db::write_atomic, m)?)?;
    dsl::register(m)?;
    Ok(())
}
