//! `DatabaseCore`: the engine database behind a Python `DictDB`.
//!
//! The Python `DictDB.tables` dict is the registry (python-api.md §5); before
//! each call that needs a catalog (SQL, saving, backups) the Python layer hands
//! its tables over (`sync`), and afterwards reads back the catalog's tables
//! (`tables`) to register what SQL created or forget what it dropped.

use std::path::PathBuf;
use std::sync::Arc;

use dictdb::{Database, Output, Params};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::backup::BackupCapture;
use crate::convert::{Path, to_py, to_value};
use crate::errors;
use crate::table::TableCore;

/// A catalog of engine tables with the SQL statement cache.
#[pyclass(module = "dictdb_rs._native", frozen)]
#[derive(Default)]
pub struct DatabaseCore {
    db: Database,
}

fn params_of(params: Option<&Bound<'_, PyAny>>) -> PyResult<Params> {
    let Some(p) = params.filter(|p| !p.is_none()) else {
        return Ok(Params::None);
    };
    if let Ok(d) = p.cast::<PyDict>() {
        let mut named = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            let k: String = k
                .extract()
                .map_err(|_| PyTypeError::new_err("named SQL parameters must have str keys"))?;
            let v = to_value(&v, Path::Other(&format!("the parameter :{k}")))?;
            named.push((k, v));
        }
        return Ok(Params::Named(named));
    }
    if p.is_instance_of::<PyString>()
        || !(p.is_instance_of::<PyList>() || p.is_instance_of::<PyTuple>())
    {
        return Err(PyTypeError::new_err(
            "SQL parameters must be a list or tuple (for ? and $n) or a dict (for :name)",
        ));
    }
    let mut values = Vec::new();
    for (i, v) in p.try_iter()?.enumerate() {
        values.push(to_value(
            &v?,
            Path::Other(&format!("the parameter {}", i + 1)),
        )?);
    }
    Ok(Params::Positional(values))
}

#[pymethods]
impl DatabaseCore {
    /// An empty catalog.
    #[new]
    fn new() -> Self {
        DatabaseCore::default()
    }

    /// Makes the catalog hold exactly these tables, in this order.
    fn sync(&self, py: Python<'_>, tables: Vec<PyRef<'_, TableCore>>) {
        let engines: Vec<Arc<dictdb_engine::Table>> =
            tables.iter().map(|t| t.table.engine().clone()).collect();
        let db = &self.db;
        py.detach(|| db.sync_tables(&engines));
    }

    /// Moves whenever a table is created, dropped or replaced.
    fn generation(&self) -> u64 {
        self.db.generation()
    }

    /// The catalog's tables, in order.
    fn tables(&self) -> Vec<TableCore> {
        self.db
            .engine_tables()
            .into_iter()
            .map(|t| TableCore::from(dictdb::Table::from(t)))
            .collect()
    }

    /// Saves the catalog's tables to `path` as JSON (python-api.md §11.2),
    /// atomically, without the GIL. Tracking is untouched.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let db = &self.db;
        py.detach(|| db.save(&path))
            .map_err(|e| errors::facade(py, e))
    }

    /// Loads a JSON database file (written by DictDB or dictdb-rs) into a new
    /// catalog, without the GIL: tracking clean, the loaded tables the registry
    /// baseline.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<DatabaseCore> {
        let db = py
            .detach(|| Database::load(&path))
            .map_err(|e| errors::facade(py, e))?;
        Ok(DatabaseCore { db })
    }

    /// Whether a table has changes, or tables were created or dropped, since
    /// the last backup (python-api.md §11.4).
    fn has_changes(&self, py: Python<'_>) -> bool {
        let db = &self.db;
        py.detach(|| db.has_changes())
    }

    /// Writes the changes since the last backup to a delta file (python-api.md
    /// §13.3); `False` and nothing written when nothing changed. With
    /// `clear_tracking` the changes written count as backed up (reset in the
    /// same step as their capture); without, they stay tracked, as does the
    /// registry baseline.
    #[pyo3(signature = (path, clear_tracking=true))]
    fn save_delta(&self, py: Python<'_>, path: PathBuf, clear_tracking: bool) -> PyResult<bool> {
        let db = &self.db;
        py.detach(|| {
            if clear_tracking {
                db.save_delta(&path)
            } else {
                db.save_delta_keep_tracking(&path)
            }
        })
        .map_err(|e| errors::facade(py, e))
    }

    /// Replays a delta file (python-api.md §13.4); returns the upserts
    /// processed plus the deletes that removed a row.
    fn apply_delta(&self, py: Python<'_>, path: PathBuf) -> PyResult<usize> {
        let db = &self.db;
        py.detach(|| db.apply_delta(&path))
            .map_err(|e| errors::facade(py, e))
    }

    /// The first step of a full backup: every table's rows captured with its
    /// change tracking reset, in one write-lock acquisition per table, and the
    /// registry baseline taken. Without the GIL.
    fn capture_full(&self, py: Python<'_>) -> BackupCapture {
        let db = &self.db;
        BackupCapture::new(py.detach(|| db.capture_full()))
    }

    /// Undoes a capture whose backup failed (its tracking and the registry
    /// baseline go back). Without the GIL.
    fn put_back(&self, py: Python<'_>, capture: PyRef<'_, BackupCapture>) -> PyResult<()> {
        let capture = capture.take().ok_or_else(crate::backup::used_up)?;
        let db = &self.db;
        py.detach(|| db.put_back(capture));
        Ok(())
    }

    /// Makes the tables registered now the registry baseline, as a load does
    /// (an unpickled database).
    fn reset_registry_baseline(&self) {
        self.db.reset_registry_baseline();
    }

    /// Reads a UTF-8 CSV file into a new table registered in this catalog
    /// (python-api.md §12.1); returns the number of rows. `schema` is a list
    /// of `(field, type name, nullable)`.
    #[pyo3(signature = (path, table, primary_key, delimiter, has_header, schema, infer_types, skip_validation))]
    #[allow(clippy::too_many_arguments)]
    fn import_csv(
        &self,
        py: Python<'_>,
        path: std::path::PathBuf,
        table: &str,
        primary_key: String,
        delimiter: &str,
        has_header: bool,
        schema: Option<Vec<(String, String, bool)>>,
        infer_types: bool,
        skip_validation: bool,
    ) -> PyResult<usize> {
        let options = dictdb::ImportOptions {
            primary_key,
            delimiter: crate::table::delimiter_byte(delimiter)?,
            has_header,
            encoding: "utf-8".into(),
            schema: schema.map(crate::table::schema_of).transpose()?,
            infer_types,
            skip_validation,
        };
        let db = &self.db;
        py.detach(|| db.import_csv(&path, table, &options))
            .map_err(|e| errors::facade(py, e))
    }

    /// Runs SQL text (python-api.md §15, sql.md): rows as a list of dicts, an
    /// affected-row count as an int, DDL as None.
    #[pyo3(signature = (sql, params=None))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let params = params_of(params)?;
        let db = &self.db;
        let out = py
            .detach(|| db.execute(sql, params))
            .map_err(|e| errors::facade(py, e))?;
        Ok(match out {
            Output::Rows { columns, rows } => {
                let list = PyList::empty(py);
                // One interned key string per column, shared by every row.
                let keys: Vec<Bound<'py, PyString>> =
                    columns.iter().map(|c| PyString::intern(py, c)).collect();
                for row in &rows {
                    let d = PyDict::new(py);
                    for (c, v) in keys.iter().zip(row) {
                        d.set_item(c, to_py(py, v)?)?;
                    }
                    list.append(d)?;
                }
                list.into_any()
            }
            Output::Affected(n) => n.into_pyobject(py)?.into_any(),
            _ => py.None().into_bound(py),
        })
    }
}

/// Writes `data` to `path` atomically (python-api.md §11.1): a temporary file
/// beside it, flushed, fsynced, renamed over it; a failure removes the
/// temporary file and leaves the old file intact. Without the GIL.
#[pyfunction]
pub fn write_atomic(py: Python<'_>, path: PathBuf, data: &[u8]) -> PyResult<()> {
    py.detach(|| dictdb_backup::write_atomic(&path, |w| std::io::Write::write_all(w, data)))
        .map_err(|e| {
            let source = dictdb::PersistError::Io {
                path: path.clone(),
                source: e,
            };
            errors::persist(py, &dictdb::PersistFailure(Arc::new(source)))
        })
}
