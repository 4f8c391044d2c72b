//! The catalog: tables by name, in registration order.
//!
//! The catalog has its own lock, held only to find, add or remove a table; data
//! access goes through each table's own lock, so there is no database-wide lock on
//! the data path.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::table::Table;

/// Tables by name.
#[derive(Debug, Default)]
pub struct Catalog {
    tables: RwLock<Vec<Arc<Table>>>,
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
        Ok(table)
    }

    /// Registers an existing table under its name, replacing any table of that name
    /// (in place, keeping its registration position). Returns the replaced table.
    pub fn register(&self, table: Arc<Table>) -> Option<Arc<Table>> {
        let mut tables = self.tables.write();
        match tables.iter_mut().find(|t| t.name() == table.name()) {
            Some(slot) => Some(std::mem::replace(slot, table)),
            None => {
                tables.push(table);
                None
            }
        }
    }

    /// Removes a table, returning it.
    pub fn drop_table(&self, name: &str) -> Result<Arc<Table>> {
        let mut tables = self.tables.write();
        match tables.iter().position(|t| t.name() == name) {
            Some(i) => Ok(tables.remove(i)),
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

    /// The tables in registration order.
    pub fn tables(&self) -> Vec<Arc<Table>> {
        self.tables.read().clone()
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
