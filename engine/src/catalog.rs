//! The catalog: tables by name, in registration order.
//!
//! The catalog has its own lock, held only to find, add or remove a table; data
//! access goes through each table's own lock, so there is no database-wide lock on
//! the data path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, RwLock};

use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::table::Table;

/// Tables by name, and the names of indexes (SQL's `CREATE INDEX name`).
#[derive(Debug, Default)]
pub struct Catalog {
    tables: RwLock<Vec<Arc<Table>>>,
    index_names: RwLock<Vec<IndexName>>,
    /// Counts changes to which table stands under which name.
    generation: AtomicU64,
    /// Which table stood under which name at the last backup.
    baseline: Mutex<RegistryBaseline>,
}

/// Which table stood under which name at some moment (the last backup).
#[derive(Clone, Debug, Default)]
pub struct RegistryBaseline(Vec<(String, Weak<Table>, u64)>);

/// Tables created and dropped since the last backup (a table replaced under its
/// name, or whose index definitions changed, counts as both).
#[derive(Clone, Debug, Default)]
pub struct RegistryChanges {
    /// Tables registered since, in registration order.
    pub created: Vec<Arc<Table>>,
    /// Names of tables present then and dropped (or replaced) since.
    pub dropped: Vec<String>,
}

impl RegistryChanges {
    /// True when no table was created or dropped.
    pub fn is_empty(&self) -> bool {
        self.created.is_empty() && self.dropped.is_empty()
    }
}

/// A named index: which table and field it is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexName {
    /// The index's name.
    pub name: String,
    /// Its table.
    pub table: String,
    /// Its field.
    pub field: String,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Creates and registers a table.
    pub fn create_table(
        &self,
        name: &str,
        primary_key: &str,
        schema: Option<Schema>,
    ) -> Result<Arc<Table>> {
        let mut tables = self.tables.write();
        if tables.iter().any(|t| t.name() == name) {
            return Err(Error::DuplicateTable {
                table: name.to_owned(),
            });
        }
        let table = Arc::new(Table::new(name, primary_key, schema));
        tables.push(table.clone());
        self.generation.fetch_add(1, Ordering::Release);
        Ok(table)
    }

    /// Registers an existing table under its name, replacing any table of that name
    /// (in place, keeping its registration position). Returns the replaced table.
    pub fn register(&self, table: Arc<Table>) -> Option<Arc<Table>> {
        let mut tables = self.tables.write();
        self.generation.fetch_add(1, Ordering::Release);
        match tables.iter_mut().find(|t| t.name() == table.name()) {
            Some(slot) => Some(std::mem::replace(slot, table)),
            None => {
                tables.push(table);
                None
            }
        }
    }

    /// Removes a table (and the names of its indexes), returning it.
    pub fn drop_table(&self, name: &str) -> Result<Arc<Table>> {
        // Lock order: index names, then tables (as `create_named_index`).
        let mut names = self.index_names.write();
        let mut tables = self.tables.write();
        match tables.iter().position(|t| t.name() == name) {
            Some(i) => {
                names.retain(|n| n.table != name);
                self.generation.fetch_add(1, Ordering::Release);
                Ok(tables.remove(i))
            }
            None => Err(Error::TableNotFound {
                table: name.to_owned(),
            }),
        }
    }

    /// The table of that name.
    pub fn table(&self, name: &str) -> Result<Arc<Table>> {
        self.tables
            .read()
            .iter()
            .find(|t| t.name() == name)
            .cloned()
            .ok_or_else(|| Error::TableNotFound {
                table: name.to_owned(),
            })
    }

    /// Table names in registration order.
    pub fn table_names(&self) -> Vec<String> {
        self.tables
            .read()
            .iter()
            .map(|t| t.name().to_owned())
            .collect()
    }

    /// Counts every change to which table stands under which name (create, drop,
    /// register), without a lock: while it stays the same, a table found by name
    /// earlier is still the one under that name.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Tables created and dropped since the registry baseline (the last backup).
    pub fn registry_changes(&self) -> RegistryChanges {
        let baseline = self.baseline.lock();
        self.changes_since(&baseline)
    }

    fn changes_since(&self, baseline: &RegistryBaseline) -> RegistryChanges {
        let tables = self.tables.read();
        // The same table under the same name with the same index definitions;
        // a table whose indexes changed counts as replaced (dropped and created,
        // with its definitions), since deltas carry definitions only that way.
        let same = |n: &str, w: &Weak<Table>, ddl: u64, t: &Arc<Table>| {
            n == t.name() && std::ptr::eq(w.as_ptr(), Arc::as_ptr(t)) && ddl == t.ddl_version()
        };
        let created = tables
            .iter()
            .filter(|t| !baseline.0.iter().any(|(n, w, d)| same(n, w, *d, t)))
            .cloned()
            .collect();
        let dropped = baseline
            .0
            .iter()
            .filter(|(n, w, d)| !tables.iter().any(|t| same(n, w, *d, t)))
            .map(|(n, _, _)| n.clone())
            .collect();
        RegistryChanges { created, dropped }
    }

    /// The changes since the baseline, and the current registry made the new
    /// baseline, in one step. Returns the old baseline too, for
    /// [`Catalog::restore_registry`] if the backup then fails.
    pub fn take_registry_changes(&self) -> (RegistryChanges, RegistryBaseline) {
        let mut baseline = self.baseline.lock();
        let changes = self.changes_since(&baseline);
        let now = RegistryBaseline(
            self.tables
                .read()
                .iter()
                .map(|t| (t.name().to_owned(), Arc::downgrade(t), t.ddl_version()))
                .collect(),
        );
        let old = std::mem::replace(&mut *baseline, now);
        (changes, old)
    }

    /// Puts back a baseline replaced by [`Catalog::take_registry_changes`].
    pub fn restore_registry(&self, old: RegistryBaseline) {
        *self.baseline.lock() = old;
    }

    /// Counts replayed changes as backed up: names dropped leave the baseline,
    /// tables created join it (a replayed delta is not a change to back up).
    pub fn update_baseline(&self, dropped: &[String], created: &[Arc<Table>]) {
        let mut baseline = self.baseline.lock();
        baseline
            .0
            .retain(|(n, _, _)| !dropped.contains(n) && !created.iter().any(|t| t.name() == n));
        baseline.0.extend(
            created
                .iter()
                .map(|t| (t.name().to_owned(), Arc::downgrade(t), t.ddl_version())),
        );
    }

    /// Makes the current registry the baseline (after a load: the loaded file
    /// plays the role of a first full backup).
    pub fn reset_registry(&self) {
        let _ = self.take_registry_changes();
    }

    /// Puts the tables in the order of `names` (tables not named keep their
    /// relative order, after the named ones).
    pub fn reorder(&self, names: &[String]) {
        let mut tables = self.tables.write();
        tables.sort_by_key(|t| {
            names
                .iter()
                .position(|n| n == t.name())
                .unwrap_or(usize::MAX)
        });
    }

    /// The tables in registration order.
    pub fn tables(&self) -> Vec<Arc<Table>> {
        self.tables.read().clone()
    }

    /// Whether a name still stands for an index (its table exists and has an
    /// index on its field; one dropped through the table API no longer does).
    fn is_live(&self, n: &IndexName) -> bool {
        self.table(&n.table)
            .map(|t| t.read().index(&n.field).is_some())
            .unwrap_or(false)
    }

    /// Creates an index on `table.field` under `name`. Errors: the name is taken,
    /// the table does not exist, or the field already has an index.
    pub fn create_named_index(
        &self,
        name: &str,
        table: &str,
        field: &str,
        kind: crate::index::IndexKind,
    ) -> Result<()> {
        let mut names = self.index_names.write();
        if let Some(i) = names.iter().position(|n| n.name == name) {
            if self.is_live(&names[i]) {
                return Err(Error::DuplicateIndex {
                    index: name.to_owned(),
                });
            }
            names.remove(i);
        }
        let t = self.table(table)?;
        if !t.create_index(field, kind) {
            return Err(Error::FieldIndexed {
                table: table.to_owned(),
                field: field.to_owned(),
            });
        }
        names.push(IndexName {
            name: name.to_owned(),
            table: table.to_owned(),
            field: field.to_owned(),
        });
        Ok(())
    }

    /// Drops the index of that name.
    pub fn drop_named_index(&self, name: &str) -> Result<IndexName> {
        let mut names = self.index_names.write();
        let not_found = || Error::IndexNotFound {
            index: name.to_owned(),
        };
        let i = names
            .iter()
            .position(|n| n.name == name)
            .ok_or_else(not_found)?;
        let n = names.remove(i);
        match self.table(&n.table) {
            Ok(t) if t.drop_index(&n.field) => Ok(n),
            _ => Err(not_found()),
        }
    }

    /// The named indexes that still exist, in creation order.
    pub fn index_names(&self) -> Vec<IndexName> {
        let names = self.index_names.read();
        names.iter().filter(|n| self.is_live(n)).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_get_drop_list() {
        let c = Catalog::new();
        c.create_table("b", "id", None).unwrap();
        c.create_table("a", "key", None).unwrap();
        assert_eq!(c.table_names(), ["b", "a"]);
        assert_eq!(
            c.create_table("a", "id", None).unwrap_err(),
            Error::DuplicateTable { table: "a".into() }
        );
        assert_eq!(c.table("a").unwrap().primary_key(), "key");
        c.drop_table("b").unwrap();
        assert!(matches!(c.table("b"), Err(Error::TableNotFound { .. })));
        assert!(matches!(
            c.drop_table("b"),
            Err(Error::TableNotFound { .. })
        ));
    }
}
