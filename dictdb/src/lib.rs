//! dictdb-rs: a fast embedded in-memory table database.
//!
//! Tables hold schemaless records (or typed ones, with a [`Schema`]) under a primary
//! key; secondary hash and sorted indexes speed up queries; queries are planned
//! (index lookups, ranges, top-k) and run over columnar storage. Every table has its
//! own reader-writer lock, and every multi-row write is atomic.
//!
//! ```
//! use dictdb::{Agg, Aggregation, Database, IndexKind, Query, Value, col, record};
//!
//! let db = Database::new();
//! let users = db.create_table("users", "id")?;
//! users.insert_many(vec![
//!     record! { "name" => "Ada", "age" => 36, "city" => "London" },
//!     record! { "name" => "Grace", "age" => 45, "city" => "New York" },
//!     record! { "name" => "Linus", "age" => 17, "city" => "Helsinki" },
//! ])?;
//! users.create_index("age", IndexKind::Sorted);
//!
//! // Adults, oldest first, two at most.
//! let rows = users.select(
//!     Query::new().filter(col("age").ge(18)).order_by_desc("age").limit(2).columns(["name"]),
//! )?;
//! assert_eq!(rows, vec![record! { "name" => "Grace" }, record! { "name" => "Ada" }]);
//!
//! // Lookups by key, updates and deletes by condition.
//! assert_eq!(users.get(&Value::Int(3)).unwrap().get("name"), Some(&Value::str("Linus")));
//! assert_eq!(users.update(&col("name").eq("Linus"), record! { "age" => 18 })?, 1);
//! assert_eq!(users.delete(&col("city").eq("London"))?, 1);
//!
//! // Aggregates.
//! let stats = users.aggregate(&Aggregation::new().agg("n", Agg::count()).agg("avg", Agg::avg("age")))?;
//! assert_eq!(stats[0], record! { "n" => 2, "avg" => 31.5 });
//! # Ok::<(), dictdb::Error>(())
//! ```
//!
//! The crate re-exports the engine's values and records and the query layer's
//! builder; [`Database`] and [`Table`] are the entry points.

mod persist;
mod plan_cache;
mod sql;

use std::borrow::Borrow;
use std::sync::Arc;

use parking_lot::RwLock;

pub use dictdb_backup::csv::{CsvError, ExportOptions, ImportOptions};
pub use dictdb_backup::manager::{BackupManager, BackupOptions, BackupOutcome};
pub use dictdb_backup::store::{FullCapture, PersistError, RestoreReport};
pub use dictdb_engine::{
    DateTime, Error as EngineError, FieldType, IndexKind, IndexName, KeyProblem, Name, OnConflict,
    Record, RowRef, Schema, SchemaError, SchemaField, UpsertAction, Value, ValueKind, ValueRef,
    record,
};
pub use dictdb_query::sql::{Params, Position, SqlError};
pub use dictdb_query::{
    Agg, AggFunc, Aggregation, Expr, OrderKey, PlannerConfig, Query, QueryError, col, lit,
};
pub use persist::PersistFailure;
pub use plan_cache::STATEMENT_CACHE_SIZE;
pub use sql::{Output, PreparedStatement};

/// An error of the `dictdb` API: an engine error (tables, keys, schemas) or a
/// query error (evaluation).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Tables, keys, schemas.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Evaluating a query.
    #[error(transparent)]
    Query(QueryError),
    /// SQL text that does not parse, is not supported, or names what does not exist.
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// Saving, loading, backing up or restoring (names the file and table).
    #[error(transparent)]
    Persist(persist::PersistFailure),
}

impl From<QueryError> for Error {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Engine(e) => Error::Engine(e),
            other => Error::Query(other),
        }
    }
}

/// Result of the `dictdb` API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A database: a catalog of tables.
#[derive(Debug, Default)]
pub struct Database {
    catalog: dictdb_engine::Catalog,
    planner: RwLock<PlannerConfig>,
    statements: parking_lot::Mutex<plan_cache::StatementCache>,
    /// Plans the statement cache has made.
    plans_built: std::sync::atomic::AtomicU64,
}

impl Database {
    /// An empty database.
    pub fn new() -> Database {
        Database::default()
    }

    /// Creates a schemaless table with this primary-key field.
    pub fn create_table(&self, name: &str, primary_key: &str) -> Result<Table> {
        self.create_table_with_schema(name, primary_key, None)
    }

    /// Creates a table, typed when a schema is given (a schema without the key
    /// field gets it as a required `int`).
    pub fn create_table_with_schema(
        &self,
        name: &str,
        primary_key: &str,
        schema: Option<Schema>,
    ) -> Result<Table> {
        let inner = self.catalog.create_table(name, primary_key, schema)?;
        Ok(self.handle(inner))
    }

    /// Drops a table.
    pub fn drop_table(&self, name: &str) -> Result<()> {
        self.catalog.drop_table(name)?;
        Ok(())
    }

    /// A handle to a table.
    pub fn table(&self, name: &str) -> Result<Table> {
        Ok(self.handle(self.catalog.table(name)?))
    }

    /// Makes the catalog hold exactly `tables`, in this order, each under its
    /// own name: for a host that keeps its own registry (the Python package's
    /// `db.tables` dict) and hands it over before each call. Tables no longer
    /// among them are dropped, new ones registered; a different table under a
    /// known name replaces it. Nothing changes (and no cached plan is dropped)
    /// when the catalog already holds exactly these tables in this order.
    pub fn sync_tables(&self, tables: &[Arc<dictdb_engine::Table>]) {
        let current = self.catalog.tables();
        if current.len() == tables.len()
            && current.iter().zip(tables).all(|(a, b)| Arc::ptr_eq(a, b))
        {
            return;
        }
        for t in &current {
            if !tables.iter().any(|n| Arc::ptr_eq(n, t)) {
                // A table replaced under its name is swapped by `register` below.
                if !tables.iter().any(|n| n.name() == t.name()) {
                    let _ = self.catalog.drop_table(t.name());
                }
            }
        }
        for t in tables {
            match self.catalog.table(t.name()) {
                Ok(known) if Arc::ptr_eq(&known, t) => {}
                _ => {
                    self.catalog.register(t.clone());
                }
            }
        }
        let names: Vec<String> = tables.iter().map(|t| t.name().to_owned()).collect();
        self.catalog.reorder(&names);
    }

    /// Counts every create, drop or replacement of a table: while it stays the
    /// same, the catalog holds the same tables.
    pub fn generation(&self) -> u64 {
        self.catalog.generation()
    }

    /// The tables in registration order (the engine's tables, shared).
    pub fn engine_tables(&self) -> Vec<Arc<dictdb_engine::Table>> {
        self.catalog.tables()
    }

    /// Table names in creation order.
    pub fn table_names(&self) -> Vec<String> {
        self.catalog.table_names()
    }

    /// The indexes created with a name (SQL's `CREATE INDEX name ON t (col)`)
    /// that still exist, in creation order.
    pub fn index_names(&self) -> Vec<IndexName> {
        self.catalog.index_names()
    }

    /// How many distinct statement texts the statement cache holds (at most
    /// [`STATEMENT_CACHE_SIZE`]).
    pub fn cached_statements(&self) -> usize {
        self.statements.lock().len()
    }

    /// How many plans the statement cache has made for statements run through
    /// [`Database::execute`] and [`Database::prepare`]: a statement repeated
    /// while its plan is cached (placeholders or not) adds none; the first run,
    /// and the first run after DDL on its table or a change of planner rules,
    /// add one.
    pub fn plans_built(&self) -> u64 {
        self.plans_built.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the planner rules used by handles obtained afterwards.
    pub fn set_planner(&self, config: PlannerConfig) {
        *self.planner.write() = config;
    }

    fn handle(&self, inner: Arc<dictdb_engine::Table>) -> Table {
        Table {
            inner,
            planner: *self.planner.read(),
        }
    }
}

/// A handle to a table (cheap to clone; all clones share the table).
#[derive(Clone, Debug)]
pub struct Table {
    inner: Arc<dictdb_engine::Table>,
    planner: PlannerConfig,
}

impl From<Arc<dictdb_engine::Table>> for Table {
    /// A handle to a table outside any database (every planner rule on).
    fn from(inner: Arc<dictdb_engine::Table>) -> Table {
        Table {
            inner,
            planner: PlannerConfig::default(),
        }
    }
}

impl Table {
    /// The table's name.
    pub fn name(&self) -> &str {
        self.inner.name()
    }

    /// The primary-key field.
    pub fn primary_key(&self) -> &str {
        self.inner.primary_key()
    }

    /// The schema of a typed table.
    pub fn schema(&self) -> Option<&Schema> {
        self.inner.schema()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when the table has no row.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The same table, planned with other planner rules.
    pub fn with_planner(&self, planner: PlannerConfig) -> Table {
        Table {
            inner: self.inner.clone(),
            planner,
        }
    }

    /// The engine table (its locks and raw data).
    pub fn engine(&self) -> &Arc<dictdb_engine::Table> {
        &self.inner
    }

    /// Inserts a record; returns its key (automatic when the key field is absent or NULL).
    pub fn insert(&self, record: Record) -> Result<Value> {
        Ok(self.inner.insert(record)?)
    }

    /// Inserts records atomically (all or none); returns their keys in input order.
    pub fn insert_many(&self, records: Vec<Record>) -> Result<Vec<Value>> {
        Ok(self.inner.insert_many(records)?)
    }

    /// Like [`Table::insert_many`] without schema validation (DictDB's
    /// `skip_validation=True`); keys are still checked.
    pub fn insert_many_unvalidated(&self, records: Vec<Record>) -> Result<Vec<Value>> {
        Ok(self.inner.write().insert_many(records, false)?)
    }

    /// Inserts rows given column by column (row `r` holds `columns[i][r]` under
    /// `names[i]`), atomically, with the rules of [`Table::insert_many`]; the fast
    /// way to load many rows. Returns the keys in row order.
    pub fn insert_columns(&self, names: &[&str], columns: Vec<Vec<Value>>) -> Result<Vec<Value>> {
        Ok(self.inner.write().insert_columns(names, columns, true)?)
    }

    /// Inserts the record, or resolves a key conflict as `on_conflict` says.
    pub fn upsert(&self, record: Record, on_conflict: OnConflict) -> Result<(Value, UpsertAction)> {
        Ok(self.inner.upsert(record, on_conflict)?)
    }

    /// A copy of the row with this key.
    pub fn get(&self, key: &Value) -> Option<Record> {
        self.inner.get(key)
    }

    /// Calls `f` with a borrowed view of the row with this key (nothing copied; the
    /// table's read lock is held during the call, so `f` must not write to this
    /// table). `None` when no row has the key.
    pub fn with_row<R>(&self, key: &Value, f: impl FnOnce(RowRef<'_>) -> R) -> Option<R> {
        let data = self.inner.read();
        data.lookup_key(key.as_ref()).map(|pos| f(data.row(pos)))
    }

    /// Runs a query (given by value or by reference).
    pub fn select(&self, query: impl Borrow<Query>) -> Result<Vec<Record>> {
        let data = self.inner.read();
        let plan = dictdb_query::plan(
            query.borrow(),
            &dictdb_query::TableInfo::of(&data),
            &self.planner,
        );
        Ok(dictdb_query::execute(&plan, &data)?)
    }

    /// Runs a query and hands its result to `f` while the table's read lock is
    /// still held: whole stored rows as borrowed views (no copy), or, for a
    /// projection or an index-ordered walk, the records [`Table::select`] gives.
    /// `f` must not write to this table (the lock is not re-entrant).
    pub fn select_with<R>(
        &self,
        query: impl Borrow<Query>,
        f: impl FnOnce(SelectRows<'_>) -> R,
    ) -> Result<R> {
        let data = self.inner.read();
        let plan = dictdb_query::plan(
            query.borrow(),
            &dictdb_query::TableInfo::of(&data),
            &self.planner,
        );
        Ok(match dictdb_query::exec::execute_positions(&plan, &data)? {
            Some(positions) => f(SelectRows::Rows(&data, &positions)),
            None => f(SelectRows::Records(dictdb_query::execute(&plan, &data)?)),
        })
    }

    /// The plan a query would run with, as text lines.
    pub fn explain(&self, query: impl Borrow<Query>) -> Vec<String> {
        let info = dictdb_query::TableInfo::of(&self.inner.read());
        dictdb_query::plan(query.borrow(), &info, &self.planner).explain()
    }

    /// Merges `changes` into every row where `filter` is true, atomically (each
    /// merged record is validated first; changing the key re-keys the row). Returns
    /// the number of rows updated (0 is not an error here).
    pub fn update(&self, filter: &Expr, changes: Record) -> Result<usize> {
        self.update_where(Some(filter), changes)
    }

    /// [`Table::update`] with an optional filter (`None` = every row).
    pub fn update_where(&self, filter: Option<&Expr>, changes: Record) -> Result<usize> {
        let mut data = self.inner.write();
        let positions = self.matching(&data, None, filter)?;
        Ok(data.update_positions(&positions, &changes, true)?)
    }

    /// Updates every row where `filter` is true (`None`: every row) with changes
    /// computed from the row by `changes(data, position)`, atomically: all changes
    /// are computed first (each from the row as it was), then applied together.
    pub fn update_with(
        &self,
        filter: Option<&Expr>,
        mut changes: impl FnMut(&dictdb_engine::TableData, u32) -> Result<Record>,
    ) -> Result<usize> {
        let mut data = self.inner.write();
        let positions = self.matching(&data, None, filter)?;
        let rows = positions
            .iter()
            .map(|&p| Ok((p, changes(&data, p)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(data.update_rows(&rows, true)?)
    }

    /// Deletes every row where `filter` is true; returns the count.
    pub fn delete(&self, filter: &Expr) -> Result<usize> {
        self.delete_where(Some(filter))
    }

    /// [`Table::delete`] with an optional filter (`None` = every row).
    pub fn delete_where(&self, filter: Option<&Expr>) -> Result<usize> {
        let mut data = self.inner.write();
        let positions = self.matching(&data, None, filter)?;
        Ok(data.delete_positions(&positions))
    }

    /// The positions where `filter` is true, found through `access` when given
    /// (a cached plan of the same filter), else through a new plan.
    fn matching(
        &self,
        data: &dictdb_engine::TableData,
        access: Option<&dictdb_query::Access>,
        filter: Option<&Expr>,
    ) -> Result<Vec<u32>> {
        let planned;
        let access = match access {
            Some(a) => a,
            None => {
                let info = dictdb_query::TableInfo::of(data);
                planned = dictdb_query::plan_access(filter, &info, &self.planner);
                &planned
            }
        };
        let bound = filter.map(|f| f.bind(data));
        Ok(dictdb_query::exec::matching_positions(
            access,
            bound.as_ref(),
            data,
        )?)
    }

    /// Merges `changes` into the row with this key (validated; changing the key
    /// re-keys the row); `false` when no row has the key.
    pub fn update_key(&self, key: &Value, changes: Record) -> Result<bool> {
        Ok(self.inner.write().update_key(key.as_ref(), &changes)?)
    }

    /// Deletes the row with this key; `false` when there is none.
    pub fn delete_key(&self, key: &Value) -> bool {
        self.inner.write().delete_key(key.as_ref())
    }

    /// Drops the tombstones of deleted rows now (this also happens by itself once
    /// they pass a quarter of the table).
    pub fn compact(&self) {
        self.inner.write().compact()
    }

    /// Runs an aggregation: one record without group keys, else one per group in
    /// order of first appearance.
    pub fn aggregate(&self, aggregation: impl Borrow<Aggregation>) -> Result<Vec<Record>> {
        self.aggregate_with(aggregation.borrow(), None)
    }

    /// [`Table::aggregate`] through `access` when given (a cached plan of the
    /// same filter), else through a new plan.
    fn aggregate_with(
        &self,
        aggregation: &Aggregation,
        access: Option<&dictdb_query::Access>,
    ) -> Result<Vec<Record>> {
        let data = self.inner.read();
        let planned;
        let access = match access {
            Some(a) => a,
            None => {
                let info = dictdb_query::TableInfo::of(&data);
                planned = dictdb_query::aggregate::plan_access(aggregation, &info, &self.planner);
                &planned
            }
        };
        Ok(dictdb_query::aggregate::execute(
            aggregation,
            access,
            &data,
        )?)
    }

    /// The plan an aggregation would run with, as text lines.
    pub fn explain_aggregate(&self, aggregation: impl Borrow<Aggregation>) -> Vec<String> {
        let aggregation = aggregation.borrow();
        let info = dictdb_query::TableInfo::of(&self.inner.read());
        let access = dictdb_query::aggregate::plan_access(aggregation, &info, &self.planner);
        aggregation.explain(&access, self.name())
    }

    /// Creates an index; `false` if the field already had one (left as it is).
    pub fn create_index(&self, field: &str, kind: IndexKind) -> bool {
        self.inner.create_index(field, kind)
    }

    /// Drops the index on a field; `false` if there was none.
    pub fn drop_index(&self, field: &str) -> bool {
        self.inner.drop_index(field)
    }

    /// Indexed fields and their kinds, in creation order.
    pub fn indexes(&self) -> Vec<(String, IndexKind)> {
        self.inner
            .read()
            .indexes()
            .map(|(f, ix)| (f.to_string(), ix.kind()))
            .collect()
    }

    /// Approximate heap bytes held by the table's storage and indexes.
    pub fn heap_bytes(&self) -> usize {
        self.inner.read().heap_bytes()
    }

    /// A counter that moves on every write.
    pub fn version(&self) -> u64 {
        self.inner.read().version()
    }

    /// True when rows changed since tracking was last reset.
    pub fn has_changes(&self) -> bool {
        self.inner.read().has_changes()
    }

    /// Copies of the rows written since tracking was last reset (insertion order).
    pub fn dirty_records(&self) -> Vec<Record> {
        self.inner.read().dirty_records()
    }

    /// Keys deleted since tracking was last reset (deletion order).
    pub fn deleted_keys(&self) -> Vec<Value> {
        self.inner.read().deleted_keys()
    }

    /// Resets change tracking.
    pub fn clear_tracking(&self) {
        self.inner.write().clear_tracking()
    }
}

/// The README's code blocks, run as doc-tests so the quickstart stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// A query's result as [`Table::select_with`] hands it over.
#[derive(Debug)]
pub enum SelectRows<'a> {
    /// Whole stored rows: these positions of this data, in result order.
    Rows(&'a dictdb_engine::TableData, &'a [u32]),
    /// Computed rows (a projection, or an index-ordered walk).
    Records(Vec<Record>),
}
