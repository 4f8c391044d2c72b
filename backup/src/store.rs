//! Saving, loading, backing up and restoring a catalog (python-api.md §11,
//! §13.2–13.4).
//!
//! - [`save`]: each table captured under its read lock (a copy of its columns,
//!   [`TableSnapshot`]), then the file written from the copies, atomically; writers
//!   wait only for the copies.
//! - [`load`]: every table built completely (records under the insert rules, the
//!   counter, the indexes), then all registered; a failure registers nothing.
//! - [`backup_full`] / [`backup_delta`]: the snapshot (or the changes) and the reset
//!   of change tracking happen in one write-lock acquisition per table, with the
//!   registry baseline taken at the same time; if writing the file fails, the
//!   changes and the baseline are put back, so no change is ever lost.
//! - [`apply_delta`] and [`restore`]: replay deltas, newest full backup first.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dictdb_engine::{Catalog, Changes, Error as EngineError, Record, Table, TableSnapshot, Value};

use crate::atomic::write_atomic;
use crate::json::{
    self, DeltaOut, DeltaTableOut, JsonError, TableDef, TableIn, read_delta, write_delta,
};
use crate::manager::{BackupKind, backup_files};

/// Why a save, load, backup or restore failed; names the file (and the table).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// The file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file's content is not a valid database or delta.
    #[error("{}: {source}", .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the table and record at fault.
        #[source]
        source: JsonError,
    },
    /// A table or record of the file does not fit (a duplicate key, a schema
    /// violation).
    #[error("{}: table '{table}': {source}", .path.display())]
    Table {
        /// The file.
        path: PathBuf,
        /// The table.
        table: String,
        /// The engine's error (it names the key or field).
        #[source]
        source: Box<EngineError>,
    },
    /// A name used twice in one file.
    #[error("{}: table '{table}' appears twice", .path.display())]
    DuplicateTable {
        /// The file.
        path: PathBuf,
        /// The table.
        table: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PersistError + '_ {
    move |source| PersistError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn format_error(path: &Path) -> impl FnOnce(JsonError) -> PersistError + '_ {
    move |source| PersistError::Format {
        path: path.to_path_buf(),
        source,
    }
}

/// Rows between two progress reports.
const PROGRESS_EVERY: u64 = 65_536;

/// A progress report: rows written so far, rows in all.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Writes snapshots as a database file.
fn write_snapshots(
    path: &Path,
    snaps: &[TableSnapshot],
    progress: Option<Progress<'_>>,
) -> Result<(), PersistError> {
    let total: u64 = snaps.iter().map(|s| s.len() as u64).sum();
    let progress = std::cell::RefCell::new(progress);
    let report = |n: u64| {
        if let Some(p) = progress.borrow_mut().as_mut() {
            p(n, total);
        }
    };
    // Rows are encoded on worker threads, in chunks; a report each time the
    // rows written pass a multiple of PROGRESS_EVERY.
    let mut reported = 0u64;
    write_atomic(path, |w| {
        json::write_snapshots(w, snaps, &mut |done| {
            if done / PROGRESS_EVERY > reported / PROGRESS_EVERY {
                report(done);
            }
            reported = done;
        })
        .map_err(std::io::Error::other)
    })
    .inspect(|_| report(total))
    .map_err(|e| match e.downcast::<JsonError>() {
        Ok(json) => format_error(path)(json),
        Err(e) => io_error(path)(e),
    })
}

/// Saves every table of the catalog to `path` as JSON (python-api.md §11.2),
/// atomically. Each table is one consistent moment (copied under its read
/// lock); tables are captured one after another. Change tracking is untouched.
pub fn save(catalog: &Catalog, path: &Path) -> Result<(), PersistError> {
    save_with_progress(catalog, path, None)
}

/// [`save`], reporting the rows written as it goes (every 65,536 rows and at
/// the end).
pub fn save_with_progress(
    catalog: &Catalog,
    path: &Path,
    progress: Option<Progress<'_>>,
) -> Result<(), PersistError> {
    let snaps: Vec<TableSnapshot> = catalog
        .tables()
        .iter()
        .map(|t| t.read().snapshot())
        .collect();
    write_snapshots(path, &snaps, progress)
}

/// Builds a table from its definition and records (not registered): records
/// under the insert rules (validated), the counter restored, indexes built,
/// tracking clean.
fn build_table(path: &Path, t: TableIn) -> Result<Arc<Table>, PersistError> {
    let table = Table::new(t.name.as_str(), t.primary_key.as_str(), t.schema);
    let err = |source| PersistError::Table {
        path: path.to_path_buf(),
        table: t.name.clone(),
        source: Box::new(source),
    };
    {
        let mut data = table.write();
        data.insert_many(t.records, true).map_err(err)?;
        if let Some(next) = t.next_pk {
            data.set_next_key(next);
        }
        data.clear_tracking();
    }
    for (field, kind) in &t.indexes {
        table.create_index(field, *kind);
    }
    Ok(Arc::new(table))
}

/// Reads a database file into a new catalog (python-api.md §11.2): every table
/// built before any is registered; tracking clean and the registry baseline set
/// (the file plays the role of a first full backup).
pub fn load(path: &Path) -> Result<Catalog, PersistError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    // Rows go from the parser straight into each new table's columns.
    let tables = json::load_database(&bytes).map_err(format_error(path))?;
    drop(bytes);
    let mut seen = HashSet::new();
    let mut built = Vec::with_capacity(tables.len());
    for (name, t) in tables {
        if !seen.insert(name.clone()) {
            return Err(PersistError::DuplicateTable {
                path: path.to_path_buf(),
                table: name,
            });
        }
        let json::LoadedTable {
            table,
            indexes,
            next_pk,
        } = t.map_err(|source| PersistError::Table {
            path: path.to_path_buf(),
            table: name,
            source: Box::new(source),
        })?;
        if let Some(next) = next_pk {
            table.write().set_next_key(next);
        }
        for (field, kind) in &indexes {
            table.create_index(field, *kind);
        }
        built.push(Arc::new(table));
    }
    let catalog = Catalog::new();
    for t in built {
        catalog.register(t);
    }
    catalog.reset_registry();
    Ok(catalog)
}

/// True when a table has changes or tables were created or dropped since the
/// last backup.
pub fn has_changes(catalog: &Catalog) -> bool {
    !catalog.registry_changes().is_empty()
        || catalog.tables().iter().any(|t| t.read().has_changes())
}

/// What a backup took from the tables, to put back if its file fails.
#[derive(Debug)]
struct Taken {
    tables: Vec<(Arc<Table>, Changes)>,
    baseline: dictdb_engine::RegistryBaseline,
}

impl Taken {
    fn put_back(self, catalog: &Catalog) {
        for (t, changes) in &self.tables {
            t.write().restore_changes(changes);
        }
        catalog.restore_registry(self.baseline);
    }
}

/// The first step of a full backup ([`capture_full`]): every table's rows,
/// captured with its change tracking moved out in one write-lock acquisition,
/// and the registry baseline taken with them. Write the snapshots (as JSON with
/// [`FullCapture::write_json`], or in a host's own format), then either drop
/// the capture (the backup succeeded) or [`FullCapture::put_back`] the
/// tracking (it failed: no change is lost).
#[derive(Debug)]
pub struct FullCapture {
    snapshots: Vec<TableSnapshot>,
    taken: Taken,
}

impl FullCapture {
    /// The captured tables, in catalog order.
    pub fn snapshots(&self) -> &[TableSnapshot] {
        &self.snapshots
    }

    /// The tables captured, in the order of [`FullCapture::snapshots`].
    pub fn tables(&self) -> impl Iterator<Item = &Arc<Table>> + '_ {
        self.taken.tables.iter().map(|(t, _)| t)
    }

    /// The captured tables, to rename before writing them.
    pub fn snapshots_mut(&mut self) -> &mut [TableSnapshot] {
        &mut self.snapshots
    }

    /// Writes the captured tables to `path` as a JSON database file,
    /// atomically.
    pub fn write_json(&self, path: &Path) -> Result<(), PersistError> {
        write_snapshots(path, &self.snapshots, None)
    }

    /// Gives the captured tracking back to the tables (merged with what
    /// changed since) and restores the registry baseline: the backup counts as
    /// not taken.
    pub fn put_back(self, catalog: &Catalog) {
        self.taken.put_back(catalog);
    }
}

/// Captures every table of the catalog for a full backup, resetting change
/// tracking in the same step as each snapshot (see [`FullCapture`]).
pub fn capture_full(catalog: &Catalog) -> FullCapture {
    let (_, baseline) = catalog.take_registry_changes();
    let mut taken = Taken {
        tables: Vec::new(),
        baseline,
    };
    let mut snapshots = Vec::new();
    for t in catalog.tables() {
        let mut data = t.write();
        snapshots.push(data.snapshot());
        let changes = data.take_changes();
        drop(data);
        taken.tables.push((t, changes));
    }
    FullCapture { snapshots, taken }
}

/// A full backup to `path`: each table's rows captured and its change tracking
/// reset in one write-lock acquisition, the registry baseline taken with them.
/// A failed write puts the changes and the baseline back.
pub fn backup_full(catalog: &Catalog, path: &Path) -> Result<(), PersistError> {
    let capture = capture_full(catalog);
    match capture.write_json(path) {
        Ok(()) => Ok(()),
        Err(e) => {
            capture.put_back(catalog);
            Err(e)
        }
    }
}

/// A delta backup to `path` (python-api.md §13.3): the rows written and keys
/// deleted since the last backup (with the re-keys and reused keys that put
/// rows back in their place, [`dictdb_engine::Changes`]), and the tables
/// created (with every row) and dropped. `false`, and nothing written, when
/// nothing changed. Taking the changes resets tracking in the same step; a
/// failed write puts them back.
pub fn backup_delta(catalog: &Catalog, path: &Path) -> Result<bool, PersistError> {
    write_delta_file(catalog, path, true)
}

/// [`backup_delta`] that resets nothing: the same file is written, then the
/// changes it holds are put back (as after a failed write) together with the
/// registry baseline, so the next delta includes them again. Changes made
/// meanwhile are kept too. For DictDB's `save_delta(..., clear_tracking=False)`.
pub fn delta_keep_tracking(catalog: &Catalog, path: &Path) -> Result<bool, PersistError> {
    write_delta_file(catalog, path, false)
}

/// A delta file of the changes since the last backup; `reset` says whether
/// they then count as backed up.
fn write_delta_file(catalog: &Catalog, path: &Path, reset: bool) -> Result<bool, PersistError> {
    let (registry, baseline) = catalog.take_registry_changes();
    let created: HashSet<*const Table> = registry.created.iter().map(Arc::as_ptr).collect();
    let mut taken = Taken {
        tables: Vec::new(),
        baseline,
    };
    // (snapshot of a created table, changes) per table.
    let mut parts: Vec<(Option<TableSnapshot>, Arc<Table>, i64)> = Vec::new();
    for t in catalog.tables() {
        let mut data = t.write();
        let snap = created.contains(&Arc::as_ptr(&t)).then(|| data.snapshot());
        let changes = data.take_changes();
        let next_pk = data.next_key();
        drop(data);
        taken.tables.push((t.clone(), changes));
        parts.push((snap, t, next_pk));
    }
    let nothing = registry.is_empty() && taken.tables.iter().all(|(_, c)| c.is_empty());
    if nothing {
        taken.put_back(catalog);
        return Ok(false);
    }
    // Created tables list every row as an upsert (and no deletes).
    let created_rows: Vec<Option<Vec<Record>>> = parts
        .iter()
        .map(|(snap, _, _)| {
            snap.as_ref()
                .map(|s| s.rows().map(|r| r.to_record()).collect())
        })
        .collect();
    let no_keys: Vec<Value> = Vec::new();
    let no_rekeys: Vec<(Value, Value)> = Vec::new();
    let mut tables_out = Vec::new();
    let mut created_out = Vec::new();
    for (((snap, t, next_pk), rows), (_, changes)) in
        parts.iter().zip(&created_rows).zip(&taken.tables)
    {
        match (snap, rows) {
            (Some(s), Some(rows)) => {
                created_out.push(TableDef {
                    name: s.name(),
                    primary_key: s.primary_key(),
                    schema: s.schema(),
                    indexes: &s.indexes,
                    next_pk: s.next_pk,
                });
                if !rows.is_empty() {
                    tables_out.push(DeltaTableOut {
                        name: t.name(),
                        upserts: rows,
                        deletes: &no_keys,
                        next_pk: None,
                        rekeys: &no_rekeys,
                        reused: &no_keys,
                    });
                }
            }
            _ if !changes.is_empty() => tables_out.push(DeltaTableOut {
                name: t.name(),
                upserts: &changes.upserts,
                deletes: &changes.deletes,
                next_pk: Some(*next_pk),
                rekeys: &changes.rekeys,
                reused: &changes.reused,
            }),
            _ => {}
        }
    }
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let order: Vec<String> = parts.iter().map(|(_, t, _)| t.name().to_owned()).collect();
    let delta = DeltaOut {
        timestamp,
        dropped: &registry.dropped,
        created: created_out,
        tables: tables_out,
        order: Some(&order),
    };
    let written = write_atomic(path, |w| {
        write_delta(w, &delta).map_err(std::io::Error::other)
    });
    match written {
        Ok(()) => {
            if !reset {
                taken.put_back(catalog);
            }
            Ok(true)
        }
        Err(e) => {
            taken.put_back(catalog);
            Err(match e.downcast::<JsonError>() {
                Ok(json) => format_error(path)(json),
                Err(e) => io_error(path)(e),
            })
        }
    }
}

/// Replays a delta file (python-api.md §13.4): drops, creations (replacing a
/// table of that name), then each listed table's changes (tables the database
/// lacks are skipped): `reused` rows deleted, `rekeys` applied in place, then
/// upserts and deletes ([`dictdb_engine::TableData::apply_delta`]). The whole file is read and checked before
/// anything changes. Returns the upserts processed plus the effective deletes.
pub fn apply_delta(catalog: &Catalog, path: &Path) -> Result<usize, PersistError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    let delta = read_delta(&bytes).map_err(format_error(path))?;
    apply_delta_in(catalog, path, delta)
}

fn apply_delta_in(
    catalog: &Catalog,
    path: &Path,
    delta: json::DeltaIn,
) -> Result<usize, PersistError> {
    // Build the created tables first: a bad definition changes nothing.
    let mut created = Vec::new();
    for def in delta.created {
        let t = build_table(
            path,
            TableIn {
                name: def.name,
                primary_key: def.primary_key,
                schema: def.schema,
                indexes: def.indexes,
                next_pk: def.next_pk,
                records: Vec::new(),
            },
        )?;
        created.push(t);
    }
    // A name both dropped and created is replaced in place (a table whose
    // indexes changed keeps its position among the others).
    for name in &delta.dropped {
        if !created.iter().any(|t| t.name() == name) {
            let _ = catalog.drop_table(name);
        }
    }
    for t in &created {
        catalog.register(t.clone());
    }
    let mut count = 0;
    for entry in delta.tables {
        let Ok(t) = catalog.table(&entry.name) else {
            continue;
        };
        let mut data = t.write();
        if let Some(next) = entry.next_pk {
            data.set_next_key(next);
        }
        count += data
            .apply_delta(entry.upserts, &entry.deletes, &entry.rekeys, &entry.reused)
            .map_err(|source| PersistError::Table {
                path: path.to_path_buf(),
                table: entry.name.clone(),
                source: Box::new(source),
            })?;
    }
    if let Some(order) = &delta.order {
        catalog.reorder(order);
    }
    catalog.update_baseline(&delta.dropped, &created);
    Ok(count)
}

/// What [`restore`] used and what it skipped.
#[derive(Debug, Default)]
pub struct RestoreReport {
    /// The full backup the state starts from (`None`: deltas from empty).
    pub full: Option<PathBuf>,
    /// The deltas replayed, in order.
    pub deltas: Vec<PathBuf>,
    /// Files that could not be used (unreadable or corrupt), with why; the
    /// state is that of the last good file before them.
    pub skipped: Vec<(PathBuf, String)>,
}

impl fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.full {
            Some(p) => write!(f, "full backup {}", p.display())?,
            None => f.write_str("no full backup")?,
        }
        write!(f, ", {} delta(s)", self.deltas.len())?;
        for (p, why) in &self.skipped {
            write!(f, "; skipped {}: {why}", p.display())?;
        }
        Ok(())
    }
}

/// Restores a backup directory: the newest readable full backup, then the
/// deltas after it in order (or every delta from an empty database when there
/// is no full backup). A corrupt or unreadable full backup is skipped for the
/// one before it; a corrupt delta ends the replay there (later deltas would
/// build on a state that is missing), and both are reported, never merged.
pub fn restore(dir: &Path) -> Result<(Catalog, RestoreReport), PersistError> {
    let files = backup_files(dir).map_err(io_error(dir))?;
    let mut report = RestoreReport::default();
    let mut catalog = Catalog::new();
    let mut start = 0;
    let fulls: Vec<usize> = files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == BackupKind::Full)
        .map(|(i, _)| i)
        .collect();
    for &i in fulls.iter().rev() {
        match load(&files[i].path) {
            Ok(c) => {
                catalog = c;
                report.full = Some(files[i].path.clone());
                start = i + 1;
                break;
            }
            Err(e) => report.skipped.push((files[i].path.clone(), e.to_string())),
        }
    }
    // The deltas after the full backup used, up to the next full backup (one
    // that could not be read: the changes it captured are in no delta, so
    // replaying past it would silently lose them). Without any readable full
    // backup, the deltas from an empty database up to the first full backup.
    let mut stop = None;
    for (i, f) in files.iter().enumerate().skip(start) {
        if f.kind == BackupKind::Full {
            stop = Some(i);
            break;
        }
        let read = std::fs::read(&f.path)
            .map_err(|e| e.to_string())
            .and_then(|b| read_delta(&b).map_err(|e| e.to_string()));
        let applied = read
            .and_then(|delta| apply_delta_in(&catalog, &f.path, delta).map_err(|e| e.to_string()));
        match applied {
            Ok(_) => report.deltas.push(f.path.clone()),
            Err(why) => {
                report.skipped.push((f.path.clone(), why));
                stop = Some(i + 1);
                break;
            }
        }
    }
    // Every later file is named once: not replayed, after one that could not be
    // used (a full backup already reported unreadable keeps that reason).
    if let Some(stop) = stop {
        for f in &files[stop..] {
            if !report.skipped.iter().any(|(p, _)| *p == f.path) {
                report.skipped.push((
                    f.path.clone(),
                    "not replayed: it follows a file that could not be used".into(),
                ));
            }
        }
    }
    catalog.reset_registry();
    Ok((catalog, report))
}
