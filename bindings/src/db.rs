//! `DatabaseCore`: the engine database behind a Python `DictDB`.
//!
//! The Python `DictDB.tables` dict is the registry (python-api.md §5); before
//! each call that needs a catalog (SQL, saving, backups) the Python layer hands
//! its tables over (`sync`), and afterwards reads back the catalog's tables
//! (`tables`) to register what SQL created or forget what it dropped.

use std::sync::Arc;

use dictdb::{Database, Output, Params};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

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
            .map(|t| TableCore {
                table: dictdb::Table::from(t),
            })
            .collect()
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
                for row in &rows {
                    let d = PyDict::new(py);
                    for (c, v) in columns.iter().zip(row) {
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
