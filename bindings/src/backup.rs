//! The native side of `dictdb_rs.BackupManager` (python-api.md §13).
//!
//! [`BackupManagerCore`] is the engine's [`dictdb::BackupManager`]: its thread,
//! mutex, debounce, file names and failure count. What a backup writes is up
//! to the Python side: the source ([`HostSource`]) calls a hooks object
//! (`dictdb_rs._backup._Hooks`) with the GIL re-acquired, which calls the
//! database's `save` (so a subclass's override is honoured) or writes a delta.
//! Every call into the manager releases the GIL first: a backup holds the
//! manager's mutex while it runs Python code, so a thread waiting for that
//! mutex must not hold the GIL.
//!
//! [`BackupCapture`] is the first step of a full backup made by the built-in
//! `DictDB.save` on a manager's behalf: rows captured and tracking reset in one
//! write-lock acquisition per table, then written as JSON or pickled; a failed
//! write puts the tracking back.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dictdb::{BackupManager, BackupOptions, BackupOutcome, FullCapture};
use dictdb_backup::manager::{BackupError, BackupSource};
use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::errors;
use crate::table::{PickleState, TableCore, snapshot_state};

/// A full backup's capture (see the module doc); consumed by
/// `DatabaseCore.put_back` when the backup fails.
#[pyclass(module = "dictdb_rs._native", frozen)]
pub struct BackupCapture {
    capture: Mutex<Option<FullCapture>>,
}

impl BackupCapture {
    pub(crate) fn new(capture: FullCapture) -> Self {
        BackupCapture {
            capture: Mutex::new(Some(capture)),
        }
    }

    pub(crate) fn take(&self) -> Option<FullCapture> {
        self.capture.lock().take()
    }
}

pub(crate) fn used_up() -> PyErr {
    PyRuntimeError::new_err("this backup capture was already put back")
}

#[pymethods]
impl BackupCapture {
    /// Writes the captured tables to `path` as a JSON database file,
    /// atomically, each named as `names` says: `(table, name)` pairs (a table
    /// saved under the key that holds it in `db.tables`). Without the GIL.
    fn write_json(
        &self,
        py: Python<'_>,
        path: PathBuf,
        names: Vec<(PyRef<'_, TableCore>, String)>,
    ) -> PyResult<()> {
        let names: Vec<(Arc<dictdb_engine::Table>, String)> = names
            .into_iter()
            .map(|(t, n)| (t.table.engine().clone(), n))
            .collect();
        let guard = &self.capture;
        py.detach(|| {
            let mut guard = guard.lock();
            let capture = guard.as_mut().ok_or(Unavailable)?;
            let renames: Vec<Option<String>> = capture
                .tables()
                .map(|t| {
                    names
                        .iter()
                        .find(|(e, _)| Arc::ptr_eq(e, t))
                        .map(|(_, n)| n.clone())
                })
                .collect();
            for (snap, name) in capture.snapshots_mut().iter_mut().zip(renames) {
                if let Some(name) = name.filter(|n| n != snap.name()) {
                    snap.rename(&name);
                }
            }
            capture.write_json(&path).map_err(Failed)
        })
        .map_err(|e| match e {
            CaptureError::Unavailable => used_up(),
            CaptureError::Failed(e) => errors::facade(py, dictdb::Error::from(e)),
        })
    }

    /// The pickle state parts (`TableCore.state`'s form) of `table` as
    /// captured, or None when the capture does not hold it.
    fn state_for<'py>(
        &self,
        py: Python<'py>,
        table: PyRef<'py, TableCore>,
    ) -> PyResult<Option<PickleState<'py>>> {
        let guard = self.capture.lock();
        let capture = guard.as_ref().ok_or_else(used_up)?;
        let engine = table.table.engine();
        let found = capture
            .tables()
            .zip(capture.snapshots())
            .find(|(t, _)| Arc::ptr_eq(t, engine));
        match found {
            Some((_, snap)) => Ok(Some(snapshot_state(py, snap)?)),
            None => Ok(None),
        }
    }
}

enum CaptureError {
    Unavailable,
    Failed(dictdb::PersistError),
}
use CaptureError::{Failed, Unavailable};

/// A backup's failure as the Python side raised it, for the failure callback.
#[derive(Debug)]
struct HostFailure {
    delta: bool,
    error: PyErr,
}

impl std::fmt::Display for HostFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl std::error::Error for HostFailure {}

/// The manager's source: the Python hooks object, called with the GIL.
struct HostSource {
    hooks: Py<PyAny>,
}

impl HostSource {
    fn call<T>(
        &self,
        method: &str,
        path: &Path,
        delta: bool,
        read: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<T>,
    ) -> Result<T, BackupError> {
        Python::try_attach(|py| {
            let path = path.to_string_lossy().into_owned();
            self.hooks
                .bind(py)
                .call_method1(method, (path,))
                .and_then(|r| read(&r))
                .map_err(|error| Box::new(HostFailure { delta, error }) as BackupError)
        })
        .unwrap_or_else(|| Err("the Python interpreter is shutting down".into()))
    }
}

impl BackupSource for HostSource {
    fn backup_full(&self, path: &Path) -> Result<(), BackupError> {
        self.call("full", path, false, |_| Ok(()))
    }

    fn backup_delta(&self, path: &Path) -> Result<bool, BackupError> {
        self.call("delta", path, true, |r| r.is_truthy())
    }

    fn periodic_trigger(&self) {
        Python::try_attach(|py| {
            if let Err(e) = self.hooks.bind(py).call_method0("periodic") {
                e.write_unraisable(py, None);
            }
        });
    }
}

/// The engine's backup manager driving a Python hooks object (see the module
/// doc). Methods release the GIL.
#[pyclass(module = "dictdb_rs._native", frozen)]
pub struct BackupManagerCore {
    manager: Option<BackupManager>,
}

impl BackupManagerCore {
    fn manager(&self) -> &BackupManager {
        self.manager
            .as_ref()
            .expect("the manager is present until the object is dropped")
    }
}

impl Drop for BackupManagerCore {
    fn drop(&mut self) {
        // Stopping joins the thread, which may be waiting for the GIL.
        if let Some(m) = self.manager.take() {
            Python::attach(|py| py.detach(move || drop(m)));
        }
    }
}

fn outcome_name(o: &BackupOutcome) -> &'static str {
    match o {
        BackupOutcome::Full(_) => "full",
        BackupOutcome::Delta(_) => "delta",
        BackupOutcome::Unchanged => "unchanged",
        BackupOutcome::Debounced => "debounced",
        BackupOutcome::Failed => "failed",
    }
}

#[pymethods]
impl BackupManagerCore {
    /// A manager writing into `backup_dir` (created with its parents now),
    /// calling `hooks.full(path)`, `hooks.delta(path) -> bool`,
    /// `hooks.periodic()` and, after a failure and outside the mutex,
    /// `hooks.failed(exc, n, delta)`.
    #[new]
    #[pyo3(signature = (hooks, backup_dir, backup_interval, min_backup_interval, incremental, max_deltas_before_full, full_extension))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        hooks: Py<PyAny>,
        backup_dir: PathBuf,
        backup_interval: f64,
        min_backup_interval: f64,
        incremental: bool,
        max_deltas_before_full: i64,
        full_extension: String,
    ) -> PyResult<Self> {
        let seconds = |what: &str, v: f64| {
            // NaN and negative or unbounded values are refused (a NaN would
            // otherwise become a zero interval: backups back to back).
            Duration::try_from_secs_f64(v).map_err(|_| {
                PyValueError::new_err(format!(
                    "{what} must be a non-negative number of seconds, not {v}"
                ))
            })
        };
        let options = BackupOptions {
            interval: seconds("backup_interval", backup_interval)?,
            min_interval: seconds("min_backup_interval", min_backup_interval)?,
            incremental,
            max_deltas_before_full: max_deltas_before_full.clamp(0, u32::MAX as i64) as u32,
            keep_full: None,
            full_extension,
        };
        let failed_hooks = hooks.clone_ref(py);
        let source = Arc::new(HostSource { hooks });
        let dir = backup_dir.clone();
        let manager = py
            .detach(|| BackupManager::new(source, &dir, options))
            .map_err(|e| {
                let source = dictdb::PersistError::Io {
                    path: backup_dir.clone(),
                    source: e,
                };
                errors::persist(py, &dictdb::PersistFailure(Arc::new(source)))
            })?;
        manager.on_failure(Box::new(move |e, n| {
            Python::try_attach(|py| {
                let (exc, delta) = match e.downcast_ref::<HostFailure>() {
                    Some(f) => (f.error.clone_ref(py).into_value(py).into_any(), f.delta),
                    None => (
                        PyRuntimeError::new_err(e.to_string())
                            .into_value(py)
                            .into_any(),
                        false,
                    ),
                };
                if let Err(err) = failed_hooks
                    .bind(py)
                    .call_method1("failed", (exc, n, delta))
                {
                    err.write_unraisable(py, None);
                }
            });
        }));
        Ok(BackupManagerCore {
            manager: Some(manager),
        })
    }

    /// Starts the periodic thread; RuntimeError if already started or stopped.
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        let m = self.manager();
        py.detach(|| m.start())
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// Stops the periodic thread and waits for it (unless called from it);
    /// RuntimeError before `start`.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let m = self.manager();
        py.detach(|| m.stop())
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// A backup now (full, or a delta in incremental mode); what it did:
    /// "full", "delta", "unchanged" or "failed".
    fn backup_now(&self, py: Python<'_>) -> &'static str {
        let m = self.manager();
        outcome_name(&py.detach(|| m.backup_now()))
    }

    /// A full backup now: "full" or "failed".
    fn backup_full(&self, py: Python<'_>) -> &'static str {
        let m = self.manager();
        outcome_name(&py.detach(|| m.backup_full()))
    }

    /// A delta now: "delta", "unchanged" or "failed".
    fn backup_delta(&self, py: Python<'_>) -> &'static str {
        let m = self.manager();
        outcome_name(&py.detach(|| m.backup_delta()))
    }

    /// A backup now unless the last successful one is within the minimum
    /// interval ("debounced"); the check and the backup are one step.
    fn notify_change(&self, py: Python<'_>) -> &'static str {
        let m = self.manager();
        outcome_name(&py.detach(|| m.notify_change()))
    }

    /// Failed backups since the last successful one.
    #[getter]
    fn consecutive_failures(&self, py: Python<'_>) -> u32 {
        let m = self.manager();
        py.detach(|| m.consecutive_failures())
    }

    /// Deltas written since the last full backup.
    #[getter]
    fn deltas_since_full(&self, py: Python<'_>) -> u32 {
        let m = self.manager();
        py.detach(|| m.deltas_since_full())
    }
}
