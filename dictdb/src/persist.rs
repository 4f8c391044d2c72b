//! Persistence through the database: JSON save/load, backups and deltas, restore
//! (the `dictdb-backup` crate over this database's catalog).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use dictdb_backup::csv::{CsvError, ExportOptions, ImportOptions};
use dictdb_backup::manager::{BackupError, BackupSource};
use dictdb_backup::store::{self, FullCapture, PersistError, RestoreReport};

use crate::{Database, Error, Expr, Result, Table};

/// A persistence error: saving, loading, backups, CSV (shared, so [`Error`]
/// stays cheap to clone).
#[derive(Clone, Debug)]
pub struct PersistFailure(pub Arc<dyn std::error::Error + Send + Sync>);

impl PartialEq for PersistFailure {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Display for PersistFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for PersistFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl From<PersistError> for Error {
    fn from(e: PersistError) -> Self {
        Error::Persist(PersistFailure(Arc::new(e)))
    }
}

impl From<CsvError> for Error {
    fn from(e: CsvError) -> Self {
        match e {
            // A duplicate table, key or schema error is the engine's own.
            CsvError::Engine(e) => Error::Engine(e),
            other => Error::Persist(PersistFailure(Arc::new(other))),
        }
    }
}

impl Database {
    fn with_catalog(catalog: dictdb_engine::Catalog) -> Database {
        Database {
            catalog,
            ..Database::default()
        }
    }

    /// Saves every table to `path` as JSON in DictDB's layout (plus index
    /// definitions and the key counter), atomically: a temporary file beside it,
    /// fsynced, renamed over it. Each table is captured under its read lock (a
    /// copy of its columns), so writers wait only for the copy, not the file.
    /// Change tracking is untouched.
    ///
    /// ```
    /// use dictdb::{Database, Value, record};
    /// let dir = std::env::temp_dir().join(format!("dictdb-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("db.json");
    /// let db = Database::new();
    /// db.create_table("users", "id")?.insert(record! { "name" => "Zoë" })?;
    /// db.save(&path)?;
    /// let back = Database::load(&path)?;
    /// assert_eq!(back.table("users")?.get(&Value::Int(1)), Some(record! { "id" => 1, "name" => "Zoë" }));
    /// # std::fs::remove_dir_all(dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        Ok(store::save(&self.catalog, path.as_ref())?)
    }

    /// [`Database::save`], calling `progress(rows_written, rows_in_all)` as it
    /// goes (every 65,536 rows and at the end): for progress bars.
    pub fn save_with_progress(
        &self,
        path: impl AsRef<Path>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        Ok(store::save_with_progress(
            &self.catalog,
            path.as_ref(),
            Some(progress),
        )?)
    }

    /// Loads a database saved by [`Database::save`] or by DictDB. Every table is
    /// built completely (records under the insert rules, the counter, the
    /// indexes) before any is registered; errors name the file, table and
    /// record. Tracking starts clean.
    pub fn load(path: impl AsRef<Path>) -> Result<Database> {
        Ok(Database::with_catalog(store::load(path.as_ref())?))
    }

    /// True when a table has changes, or tables were created or dropped, since
    /// the last backup.
    pub fn has_changes(&self) -> bool {
        store::has_changes(&self.catalog)
    }

    /// A full backup to `path` (as [`Database::save`]), resetting change
    /// tracking in the same step as each table's snapshot.
    pub fn backup_full(&self, path: impl AsRef<Path>) -> Result<()> {
        Ok(store::backup_full(&self.catalog, path.as_ref())?)
    }

    /// The first step of a full backup written by the host itself (e.g. in
    /// another format): every table's rows captured with its change tracking
    /// reset in the same write-lock acquisition. Write the snapshots, then drop
    /// the capture, or hand it to [`Database::put_back`] if the write failed.
    pub fn capture_full(&self) -> FullCapture {
        store::capture_full(&self.catalog)
    }

    /// Undoes a [`Database::capture_full`] whose backup failed: the captured
    /// tracking goes back to the tables (merged with later changes) and the
    /// registry baseline is restored, so the next backup includes it all.
    pub fn put_back(&self, capture: FullCapture) {
        capture.put_back(&self.catalog);
    }

    /// Writes the changes since the last backup to a delta file; `false` (and
    /// nothing written) when nothing changed. Tracking is reset with the
    /// snapshot of the changes; if the write fails, the changes are kept.
    pub fn save_delta(&self, path: impl AsRef<Path>) -> Result<bool> {
        Ok(store::backup_delta(&self.catalog, path.as_ref())?)
    }

    /// [`Database::save_delta`] that resets nothing: the file is the same, and
    /// the changes it holds stay tracked (with the registry baseline as it
    /// was), so the next delta includes them again; changes made meanwhile are
    /// kept as well. DictDB's `save_delta(..., clear_tracking=False)`.
    pub fn save_delta_keep_tracking(&self, path: impl AsRef<Path>) -> Result<bool> {
        Ok(store::delta_keep_tracking(&self.catalog, path.as_ref())?)
    }

    /// Makes the tables registered now the registry baseline, as a load does:
    /// until the next change no table counts as created or dropped (the
    /// tables' own change tracking is untouched). For a host that builds a
    /// loaded database itself, e.g. the Python package unpickling one.
    pub fn reset_registry_baseline(&self) {
        self.catalog.reset_registry();
    }

    /// Replays a delta file onto this database (rows keep their places: re-keyed
    /// rows are moved in place, a key deleted and inserted again goes to the
    /// end); returns the upserts processed plus the deletes that removed a row,
    /// as DictDB counts them (a re-key counts as a delete of its old key when
    /// the file lists that key as deleted).
    pub fn apply_delta(&self, path: impl AsRef<Path>) -> Result<usize> {
        Ok(store::apply_delta(&self.catalog, path.as_ref())?)
    }

    /// Reads a CSV file into a new table (python-api.md §12.1): types inferred
    /// or taken from a schema; the table is registered only once every row is
    /// in (an existing name fails before the file is read). Returns the rows.
    pub fn import_csv(
        &self,
        path: impl AsRef<Path>,
        table: &str,
        options: &ImportOptions,
    ) -> Result<usize> {
        Ok(dictdb_backup::csv::import_csv(
            &self.catalog,
            path.as_ref(),
            table,
            options,
        )?)
    }

    /// Restores a backup directory: the newest readable full backup and the
    /// deltas after it (the report says what was used and skipped).
    pub fn restore(dir: impl AsRef<Path>) -> Result<(Database, RestoreReport)> {
        let (catalog, report) = store::restore(dir.as_ref())?;
        Ok((Database::with_catalog(catalog), report))
    }
}

/// A database is what a [`BackupManager`](dictdb_backup::manager::BackupManager)
/// backs up.
impl BackupSource for Database {
    fn backup_full(&self, path: &Path) -> std::result::Result<(), BackupError> {
        Ok(store::backup_full(&self.catalog, path)?)
    }

    fn backup_delta(&self, path: &Path) -> std::result::Result<bool, BackupError> {
        Ok(store::backup_delta(&self.catalog, path)?)
    }
}

impl Table {
    /// Writes the rows where `filter` is true (`None`: every row), in insertion
    /// order, to a CSV file (python-api.md §12.2), atomically. Returns the rows
    /// written.
    pub fn export_csv(
        &self,
        path: impl AsRef<Path>,
        filter: Option<&Expr>,
        options: &ExportOptions,
    ) -> Result<usize> {
        let records = match filter {
            None => {
                let data = self.engine().read();
                data.positions().map(|p| data.record(p)).collect()
            }
            Some(f) => self.select(crate::Query::new().filter(f.clone()))?,
        };
        Ok(dictdb_backup::csv::export_csv(
            path.as_ref(),
            records,
            options,
        )?)
    }
}
