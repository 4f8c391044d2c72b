//! Running SQL statements against a [`Database`].

use dictdb_engine::value::HashKey;
use dictdb_engine::{FieldType, Name, Record, Value};
use std::sync::Arc;

use dictdb_query::sql::{
    Conflict, ConflictAction, EXCLUDED, Params, Returning, SqlError, Statement,
};
use dictdb_query::{Expr, Query};
use hashbrown::HashMap;

use crate::plan_cache::Cached;
use crate::{Database, EngineError, Error, Result, Table};

/// What a SQL statement returns.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// Rows, with their column names.
    Rows {
        /// Column names, in order (shared: a cached plan hands out the same names).
        columns: Arc<[String]>,
        /// One vector of values per row, in column order.
        rows: Vec<Vec<Value>>,
    },
    /// The number of rows an INSERT, UPDATE or DELETE changed.
    Affected(usize),
    /// A statement that returns nothing (CREATE, DROP).
    Done,
}

impl Output {
    /// Column names and rows (empty for a count or nothing).
    fn into_columns_rows(self) -> (Arc<[String]>, Vec<Vec<Value>>) {
        match self {
            Output::Rows { columns, rows } => (columns, rows),
            _ => (Arc::new([]), Vec::new()),
        }
    }

    /// The rows, if the statement returned rows.
    pub fn rows(&self) -> Option<&[Vec<Value>]> {
        match self {
            Output::Rows { rows, .. } => Some(rows),
            _ => None,
        }
    }
}

impl Database {
    /// Runs SQL text (one or more statements separated by `;`) with values for its
    /// placeholders; returns what the last statement returns. Statements run one
    /// after another; each is atomic on its own.
    ///
    /// ```
    /// use dictdb::{Database, Output, Value};
    /// let db = Database::new();
    /// db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)", ())?;
    /// db.execute("INSERT INTO t VALUES (1, 'Ada'), (2, 'Grace')", ())?;
    /// let out = db.execute("SELECT name FROM t WHERE id = ?", [Value::Int(2)])?;
    /// assert_eq!(out.rows().unwrap(), &[vec![Value::str("Grace")]]);
    /// # Ok::<(), dictdb::Error>(())
    /// ```
    pub fn execute(&self, sql: &str, params: impl Into<Params>) -> Result<Output> {
        let prepared = self.cached(sql)?;
        self.run_prepared(&prepared, &params.into())
    }

    /// Parses and translates SQL once, for running many times with different
    /// placeholder values. The statement comes from (and goes into) the
    /// database's statement cache, so preparing the same text twice is cheap.
    ///
    /// ```
    /// use dictdb::{Database, Value};
    /// let db = Database::new();
    /// db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)", ())?;
    /// let insert = db.prepare("INSERT INTO t VALUES (?, ?)")?;
    /// for (id, name) in [(1, "Ada"), (2, "Grace")] {
    ///     insert.execute([Value::Int(id), Value::str(name)])?;
    /// }
    /// let by_id = db.prepare("SELECT name FROM t WHERE id = :id")?;
    /// let out = by_id.execute([("id", Value::Int(2))])?;
    /// assert_eq!(out.rows().unwrap(), &[vec![Value::str("Grace")]]);
    /// # Ok::<(), dictdb::Error>(())
    /// ```
    pub fn prepare(&self, sql: &str) -> Result<PreparedStatement<'_>> {
        Ok(PreparedStatement {
            db: self,
            prepared: self.cached(sql)?,
        })
    }

    /// The translated statements of this text, from the cache or newly made.
    fn cached(&self, sql: &str) -> Result<Arc<Cached>> {
        if let Some(p) = self.statements.lock().get(sql) {
            return Ok(p);
        }
        let p = Arc::new(Cached::new(dictdb_query::sql::prepare(sql)?));
        self.statements.lock().insert(sql, p.clone());
        Ok(p)
    }

    fn run_prepared(&self, cached: &Cached, params: &Params) -> Result<Output> {
        if let Some(out) = self.run_point(cached, params) {
            return out;
        }
        if let Some(out) = self.run_cached_select(cached, params) {
            return out;
        }
        let prepared = &cached.prepared;
        let values = prepared.values(params)?;
        let access = self.cached_dml_access(cached, &values);
        let mut out = Output::Done;
        for s in prepared.statements() {
            out = if values.is_empty() {
                self.run(s, access.as_ref())?
            } else {
                self.run(&dictdb_query::sql::bind(s, &values)?, access.as_ref())?
            };
        }
        Ok(out)
    }

    /// Runs one statement; an UPDATE or DELETE finds its rows through `access`
    /// when given (its cached plan), else plans.
    fn run(&self, s: &Statement, access: Option<&dictdb_query::Access>) -> Result<Output> {
        match s {
            Statement::Select {
                table,
                query,
                columns,
                aggregate,
                star_ordinals,
                ..
            } => {
                let t = self.sql_table(table)?;
                let resolved;
                let query = if star_ordinals.is_empty() {
                    query
                } else {
                    resolved = dictdb_query::sql::resolve_star_ordinals(
                        query,
                        star_ordinals,
                        &star_columns(&t),
                    )?;
                    &resolved
                };
                let records = match aggregate {
                    None => {
                        check_columns(&t, query_exprs(query).iter().copied())?;
                        t.select(query)?
                    }
                    Some(agg) => {
                        check_columns(&t, agg.exprs().into_iter())?;
                        let groups = t.aggregate_with(agg, access)?;
                        query_records(groups, query)?
                    }
                };
                let columns: Vec<Name> = match columns {
                    Some(c) => dictdb_query::exec::result_names(c),
                    None => star_columns(&t),
                };
                Ok(rows_output(&columns, &records))
            }
            Statement::Explain(inner) => {
                let lines = match inner.as_ref() {
                    Statement::Select {
                        table,
                        query,
                        aggregate: None,
                        star_ordinals,
                        ..
                    } => {
                        let t = self.sql_table(table)?;
                        let q = dictdb_query::sql::resolve_star_ordinals(
                            query,
                            star_ordinals,
                            &star_columns(&t),
                        )?;
                        t.explain(q)
                    }
                    Statement::Select {
                        table,
                        query,
                        aggregate: Some(agg),
                        ..
                    } => {
                        let t = self.sql_table(table)?;
                        check_columns(&t, agg.exprs().into_iter())?;
                        // The steps over the groups, then the aggregation itself.
                        let mut lines = records_plan(query);
                        lines.extend(t.explain_aggregate(&**agg));
                        lines
                    }
                    Statement::Update { table, filter, .. }
                    | Statement::Delete { table, filter, .. } => {
                        let verb = if matches!(inner.as_ref(), Statement::Update { .. }) {
                            format!("update {table}")
                        } else {
                            format!("delete from {table}")
                        };
                        let q = filter
                            .clone()
                            .map_or_else(Query::new, |f| Query::new().filter(f));
                        let mut lines = vec![verb];
                        lines.extend(self.sql_table(table)?.explain(q));
                        lines
                    }
                    _ => {
                        return Err(SqlError::Unsupported {
                            feature: "EXPLAIN of this statement".into(),
                            position: None,
                            snippet: String::new(),
                        }
                        .into());
                    }
                };
                Ok(Output::Rows {
                    columns: Arc::new(["plan".to_string()]),
                    rows: lines.into_iter().map(|l| vec![Value::str(l)]).collect(),
                })
            }
            Statement::Insert {
                table,
                columns,
                rows,
                on_conflict,
                returning,
            } => {
                let t = self.sql_table(table)?;
                let records = insert_records(&t, table, columns.as_deref(), rows)?;
                if let Some(r) = returning {
                    check_returning(&t, r)?;
                }
                match on_conflict {
                    None => insert(&t, records, returning.as_ref()),
                    Some(c) => upsert(&t, records, c, returning.as_ref()),
                }
            }
            Statement::Update {
                table,
                assignments,
                filter,
                returning,
            } => {
                let t = self.sql_table(table)?;
                check_names(&t, assignments.iter().map(|(n, _)| n))?;
                check_columns(&t, assignments.iter().map(|(_, e)| e).chain(filter))?;
                if let Some(r) = returning {
                    check_returning(&t, r)?;
                }
                let mut data = t.engine().write();
                let positions = t.matching(&data, access, filter.as_ref())?;
                let mut changed = Vec::with_capacity(positions.len());
                for &pos in &positions {
                    let mut changes = Record::with_capacity(assignments.len());
                    for (name, e) in assignments {
                        let v = e.bind(&data).eval(&data, pos)?;
                        changes.set(name.clone(), coerce(&t, name, v)?);
                    }
                    changed.push((pos, changes));
                }
                // RETURNING is computed on the rows as they will be, before
                // anything changes, so an error in it changes nothing.
                let out = match returning {
                    None => Output::Affected(changed.len()),
                    Some(r) => {
                        let finals = changed
                            .iter()
                            .map(|(pos, c)| data.record(*pos).merged(c))
                            .collect();
                        returning_rows(&t, &data, finals, r)?
                    }
                };
                data.update_rows(&changed, true)?;
                Ok(out)
            }
            Statement::Delete {
                table,
                filter,
                returning,
            } => {
                let t = self.sql_table(table)?;
                check_columns(&t, filter.iter())?;
                if let Some(r) = returning {
                    check_returning(&t, r)?;
                }
                let mut data = t.engine().write();
                let positions = t.matching(&data, access, filter.as_ref())?;
                let out = match returning {
                    None => Output::Affected(positions.len()),
                    Some(r) => returning_rows(&t, &data, data.records(&positions), r)?,
                };
                data.delete_positions(&positions);
                Ok(out)
            }
            Statement::CreateTable {
                name,
                if_not_exists,
                primary_key,
                schema,
            } => {
                if *if_not_exists && self.table(name).is_ok() {
                    return Ok(Output::Done);
                }
                self.create_table_with_schema(name, primary_key, Some(schema.clone()))?;
                Ok(Output::Done)
            }
            Statement::CreateIndex {
                name,
                table,
                column,
                kind,
                if_not_exists,
            } => {
                let t = self.sql_table(table)?;
                check_names(&t, std::iter::once(&Name::from(column.as_str())))?;
                match self.catalog.create_named_index(name, table, column, *kind) {
                    Err(EngineError::DuplicateIndex { .. }) if *if_not_exists => {}
                    other => other?,
                }
                Ok(Output::Done)
            }
            Statement::DropIndex { names, if_exists } => {
                // All or nothing: every name must exist before any is dropped.
                if !*if_exists {
                    let known = self.catalog.index_names();
                    if let Some(missing) =
                        names.iter().find(|n| !known.iter().any(|k| k.name == **n))
                    {
                        return Err(EngineError::IndexNotFound {
                            index: missing.clone(),
                        }
                        .into());
                    }
                }
                for name in names {
                    match self.catalog.drop_named_index(name) {
                        Err(EngineError::IndexNotFound { .. }) if *if_exists => {}
                        other => {
                            other?;
                        }
                    }
                }
                Ok(Output::Done)
            }
            Statement::DropTable { names, if_exists } => {
                if !*if_exists {
                    for name in names {
                        self.sql_table(name)?;
                    }
                }
                for name in names {
                    match self.drop_table(name) {
                        Err(Error::Engine(EngineError::TableNotFound { .. })) if *if_exists => {}
                        other => other?,
                    }
                }
                Ok(Output::Done)
            }
            other => Err(invalid(format!("cannot run {other:?}"))),
        }
    }

    /// The table, or an error suggesting the closest existing name.
    fn sql_table(&self, name: &str) -> Result<Table> {
        self.table(name).map_err(|e| match e {
            Error::Engine(EngineError::TableNotFound { .. }) => {
                let names = self.table_names();
                let hint = closest(name, names.iter().map(String::as_str))
                    .map_or(String::new(), |n| format!(" (did you mean {n}?)"));
                invalid(format!("no table named {name}{hint}"))
            }
            other => other,
        })
    }
}

/// A statement prepared by [`Database::prepare`]: parsed and translated once.
#[derive(Clone, Debug)]
pub struct PreparedStatement<'db> {
    db: &'db Database,
    prepared: Arc<Cached>,
}

impl PreparedStatement<'_> {
    /// Runs the statement with values for its placeholders.
    pub fn execute(&self, params: impl Into<Params>) -> Result<Output> {
        self.db.run_prepared(&self.prepared, &params.into())
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        self.prepared.prepared.sql()
    }

    /// How many positional values the statement takes (`$6` alone takes six;
    /// a named placeholder used twice counts once).
    pub fn param_count(&self) -> usize {
        self.prepared
            .prepared
            .params()
            .iter()
            .map(|p| p.index + 1)
            .max()
            .unwrap_or(0)
    }
}

/// The records an INSERT proposes: each VALUES row under its column names, with
/// SQL's storing rules applied.
fn insert_records(
    t: &Table,
    table: &str,
    columns: Option<&[Name]>,
    rows: &[Vec<Expr>],
) -> Result<Vec<Record>> {
    let columns: Vec<Name> = match (columns, t.schema()) {
        (Some(c), _) => c.to_vec(),
        (None, Some(schema)) => schema.fields().iter().map(|f| f.name.clone()).collect(),
        (None, None) => {
            return Err(invalid(format!(
                "INSERT INTO {table} needs a column list: the table has no declared columns"
            )));
        }
    };
    check_names(t, columns.iter())?;
    let mut records = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if row.len() != columns.len() {
            return Err(invalid(format!(
                "row {} of the INSERT has {} values for {} columns",
                i + 1,
                row.len(),
                columns.len()
            )));
        }
        let mut r = Record::with_capacity(columns.len());
        for (c, e) in columns.iter().zip(row) {
            let v = constant(e)?;
            r.set(c.clone(), coerce(t, c, v)?);
        }
        records.push(r);
    }
    Ok(records)
}

/// A plain INSERT: every row or none.
fn insert(t: &Table, records: Vec<Record>, returning: Option<&Returning>) -> Result<Output> {
    let mut data = t.engine().write();
    let n = records.len();
    let keys = data.insert_many(records, true)?;
    let Some(r) = returning else {
        return Ok(Output::Affected(n));
    };
    let positions: Vec<u32> = keys
        .iter()
        .filter_map(|k| data.lookup_key(k.as_ref()))
        .collect();
    let inserted = data.records(&positions);
    let out = returning_rows(t, &data, inserted, r);
    if out.is_err() {
        // An error in RETURNING takes the rows back out.
        data.delete_positions(&positions);
    }
    out
}

/// INSERT … ON CONFLICT: rows with a free key are inserted, the others skipped
/// (DO NOTHING) or used to update the row holding the key (DO UPDATE), all in
/// one atomic step. A row whose key an earlier row of the same statement took
/// conflicts with it; DO UPDATE refuses to change one row twice.
fn upsert(
    t: &Table,
    records: Vec<Record>,
    conflict: &Conflict,
    returning: Option<&Returning>,
) -> Result<Output> {
    let pk = t.primary_key().to_string();
    if let Some(target) = &conflict.target
        && **target != *pk
    {
        return Err(invalid(format!(
            "ON CONFLICT ({target}): only the primary key {pk} of {} is unique",
            t.name()
        )));
    }
    if let ConflictAction::Update {
        assignments,
        filter,
    } = &conflict.action
    {
        check_names(t, assignments.iter().map(|(n, _)| n))?;
        // Right-hand sides and WHERE read the existing row and `excluded.*`.
        let read: Vec<Name> = assignments
            .iter()
            .map(|(_, e)| e)
            .chain(filter)
            .flat_map(|e| e.columns())
            .map(|c| match c.strip_prefix(EXCLUDED) {
                Some(bare) => Name::from(bare),
                None => c,
            })
            .collect();
        check_names(t, read.iter())?;
    }
    // Every proposed row must fit the table, whether it is inserted, skipped or
    // used for an update (as SQLite and PostgreSQL check it).
    if let Some(schema) = t.schema() {
        for r in &records {
            let auto_key = r.get(&pk).is_none_or(Value::is_null);
            let checked = if auto_key {
                // The key is assigned on insert: check the rest.
                &r.clone().with(pk.as_str(), Value::Int(0))
            } else {
                r
            };
            schema
                .validate(t.name(), checked)
                .map_err(|e| Error::Engine(EngineError::Schema(e)))?;
        }
    }
    let mut data = t.engine().write();
    // Sort the proposed rows: free keys to insert, taken keys to skip or update.
    let mut inserts: Vec<(usize, Record)> = Vec::new();
    let mut updates: Vec<(usize, u32, Record)> = Vec::new();
    let mut proposed_keys: HashMap<HashKey, usize> = HashMap::new();
    let mut updated: HashMap<u32, usize> = HashMap::new();
    let twice = |key: &Value| {
        invalid(format!(
            "ON CONFLICT DO UPDATE would change the row with key {key} of {} twice in one statement",
            t.name()
        ))
    };
    let do_update = matches!(conflict.action, ConflictAction::Update { .. });
    for (i, r) in records.into_iter().enumerate() {
        let key = r.get(&pk).filter(|k| !k.is_null()).cloned();
        let Some(key) = key else {
            inserts.push((i, r));
            continue;
        };
        if let Some(pos) = data.lookup_key(key.as_ref()) {
            if do_update {
                if updated.insert(pos, i).is_some() {
                    return Err(twice(&key));
                }
                updates.push((i, pos, r));
            }
        } else if proposed_keys.contains_key(&HashKey(key.clone())) {
            if do_update {
                return Err(twice(&key));
            }
        } else {
            proposed_keys.insert(HashKey(key), i);
            inserts.push((i, r));
        }
    }
    // DO UPDATE: evaluate the assignments over each existing row beside its
    // proposed row (`excluded.*`).
    let mut changed: Vec<(usize, u32, Record)> = Vec::new();
    if let ConflictAction::Update {
        assignments,
        filter,
    } = &conflict.action
    {
        let pairs: Vec<Record> = updates
            .iter()
            .map(|(_, pos, proposed)| {
                let mut r = data.record(*pos);
                for (name, v) in proposed.iter() {
                    r.set(format!("{EXCLUDED}{name}"), v.clone());
                }
                r
            })
            .collect();
        let scratch = scratch_table(pairs)?;
        let sdata = scratch.read();
        let bound: Vec<_> = assignments.iter().map(|(_, e)| e.bind(&sdata)).collect();
        let cond = filter.as_ref().map(|f| f.bind(&sdata));
        for (j, (i, pos, _)) in updates.iter().enumerate() {
            let j = j as u32;
            if let Some(c) = &cond
                && c.truth(&sdata, j)? != Some(true)
            {
                continue;
            }
            let mut changes = Record::with_capacity(assignments.len());
            for ((name, _), e) in assignments.iter().zip(&bound) {
                changes.set(name.clone(), coerce(t, name, e.eval(&sdata, j)?)?);
            }
            changed.push((*i, *pos, changes));
        }
    }
    let affected = inserts.len() + changed.len();
    // RETURNING for updated rows is computed before anything changes.
    let mut returned: Vec<(usize, Vec<Value>)> = Vec::new();
    let mut columns: Arc<[String]> = Arc::new([]);
    if let Some(r) = returning {
        let finals = changed
            .iter()
            .map(|(_, pos, c)| data.record(*pos).merged(c))
            .collect();
        let (cols, rows) = returning_rows(t, &data, finals, r)?.into_columns_rows();
        columns = cols;
        returned.extend(changed.iter().map(|(i, _, _)| *i).zip(rows));
    }
    let order: Vec<usize> = inserts.iter().map(|(i, _)| *i).collect();
    let keys = data.insert_many(inserts.into_iter().map(|(_, r)| r).collect(), true)?;
    let positions: Vec<u32> = keys
        .iter()
        .filter_map(|k| data.lookup_key(k.as_ref()))
        .collect();
    let undo_inserts = |data: &mut dictdb_engine::TableData| {
        data.delete_positions(&positions);
    };
    if let Some(r) = returning {
        let out = returning_rows(t, &data, data.records(&positions), r);
        match out {
            Ok(out) => {
                let (cols, rows) = out.into_columns_rows();
                columns = cols;
                returned.extend(order.iter().copied().zip(rows));
            }
            Err(e) => {
                undo_inserts(&mut data);
                return Err(e);
            }
        }
    }
    let rows: Vec<(u32, Record)> = changed.into_iter().map(|(_, p, c)| (p, c)).collect();
    if let Err(e) = data.update_rows(&rows, true) {
        undo_inserts(&mut data);
        return Err(e.into());
    }
    Ok(match returning {
        None => Output::Affected(affected),
        Some(_) => {
            // In the order of the proposed rows.
            returned.sort_by_key(|(i, _)| *i);
            Output::Rows {
                columns,
                rows: returned.into_iter().map(|(_, r)| r).collect(),
            }
        }
    })
}

/// On a typed table, RETURNING names declared columns only.
fn check_returning(t: &Table, r: &Returning) -> Result<()> {
    match r {
        None => Ok(()),
        Some(items) => check_columns(t, items.iter().map(|(_, e)| e)),
    }
}

/// The RETURNING rows over these records.
///
/// Runs under the table's write lock, so it reads the field names from `data`
/// (locking the table again would deadlock).
fn returning_rows(
    t: &Table,
    data: &dictdb_engine::TableData,
    records: Vec<Record>,
    r: &Returning,
) -> Result<Output> {
    match r {
        None => {
            let mut columns = star_columns_of(t.schema(), data);
            // Fields the statement is adding to a schemaless table.
            for r in &records {
                for n in r.names() {
                    if !columns.contains(n) {
                        columns.push(n.clone());
                    }
                }
            }
            Ok(rows_output(&columns, &records))
        }
        Some(items) => {
            let query = Query::new().project(items.iter().map(|(n, e)| (&**n, e.clone())));
            let names = dictdb_query::exec::result_names(items.iter().map(|(n, _)| n));
            Ok(rows_output(&names, &query_records(records, &query)?))
        }
    }
}

/// The key field of the scratch tables that hold result rows.
const ROW_KEY: &str = "\u{0}row";

/// A scratch table holding result rows (aggregate groups, RETURNING rows), so the
/// one planner and executor can run HAVING, ORDER BY and select items over them.
fn scratch_table(records: Vec<Record>) -> Result<dictdb_engine::Table> {
    let t = dictdb_engine::Table::new("result", ROW_KEY, None);
    t.write().insert_many(records, false)?;
    Ok(t)
}

/// Runs a query over result rows.
fn query_records(records: Vec<Record>, query: &Query) -> Result<Vec<Record>> {
    let t = scratch_table(records)?;
    let data = t.read();
    let plan = dictdb_query::plan(
        query,
        &dictdb_query::TableInfo::of(&data),
        &dictdb_query::PlannerConfig::default(),
    );
    Ok(dictdb_query::execute(&plan, &data)?)
}

/// EXPLAIN lines of a query over result rows (without the scan line).
fn records_plan(query: &Query) -> Vec<String> {
    let t = dictdb_engine::Table::new("result", ROW_KEY, None);
    let data = t.read();
    let plan = dictdb_query::plan(
        query,
        &dictdb_query::TableInfo::of(&data),
        &dictdb_query::PlannerConfig::default(),
    );
    let mut lines = plan.explain();
    lines.pop();
    lines
}

fn invalid(message: String) -> Error {
    Error::Sql(SqlError::Invalid {
        message,
        position: None,
        snippet: String::new(),
    })
}

/// Every expression a query reads.
fn query_exprs(q: &Query) -> Vec<&Expr> {
    let mut out: Vec<&Expr> = q.filter_expr().into_iter().collect();
    out.extend(q.order_keys().iter().map(|k| &k.expr));
    out.extend(q.projection().into_iter().flatten().map(|(_, e)| e));
    out
}

/// On a typed table, every column an expression names must be declared.
fn check_columns<'a>(t: &Table, exprs: impl Iterator<Item = &'a Expr>) -> Result<()> {
    let names: Vec<Name> = exprs.flat_map(|e| e.columns()).collect();
    check_names(t, names.iter())
}

fn check_names<'a>(t: &Table, names: impl Iterator<Item = &'a Name>) -> Result<()> {
    let Some(schema) = t.schema() else {
        return Ok(());
    };
    for n in names {
        if schema.get(n).is_none() {
            let hint = closest(n, schema.fields().iter().map(|f| &*f.name))
                .map_or(String::new(), |c| format!(" (did you mean {c}?)"));
            return Err(invalid(format!(
                "no column named {n} in table {}{hint}",
                t.name()
            )));
        }
    }
    Ok(())
}

/// Result rows in the order of `columns` (a missing field reads as NULL).
pub(crate) fn rows_output(columns: &[Name], records: &[Record]) -> Output {
    let rows = records
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| r.get(c).cloned().unwrap_or(Value::Null))
                .collect()
        })
        .collect();
    Output::Rows {
        columns: columns
            .iter()
            .map(|c| c.to_string())
            .collect::<Arc<[String]>>(),
        rows,
    }
}

/// Checks every column a query reads (typed tables).
pub(crate) fn check_query_columns(t: &Table, query: &Query) -> Result<()> {
    check_columns(t, query_exprs(query).iter().copied())
}

/// The columns of `SELECT *` from data already locked.
pub(crate) fn star_columns_of(
    schema: Option<&dictdb_engine::Schema>,
    data: &dictdb_engine::TableData,
) -> Vec<Name> {
    match schema {
        Some(s) => s.fields().iter().map(|f| f.name.clone()).collect(),
        None => data.live_field_names(),
    }
}

/// The columns of `SELECT *`: the declared ones, or every field the rows hold.
fn star_columns(t: &Table) -> Vec<Name> {
    match t.schema() {
        // Declared columns need no lock.
        Some(s) => s.fields().iter().map(|f| f.name.clone()).collect(),
        None => t.engine().read().live_field_names(),
    }
}

/// The value of a constant expression (VALUES rows).
fn constant(e: &Expr) -> Result<Value> {
    match e {
        Expr::Literal(v) => Ok(v.clone()),
        Expr::Neg(inner) => Ok(dictdb_query::expr::neg(constant(inner)?.as_ref())?),
        Expr::Arith { op, left, right } => Ok(dictdb_query::expr::arith(
            *op,
            constant(left)?.as_ref(),
            constant(right)?.as_ref(),
        )?),
        other => Err(invalid(format!("VALUES takes constants, not {other}"))),
    }
}

/// SQL's storing rules for declared columns: REAL takes ints (as floats),
/// INTEGER refuses booleans; everything else is the schema's check.
fn coerce(t: &Table, column: &str, v: Value) -> Result<Value> {
    let Some(field) = t.schema().and_then(|s| s.get(column)) else {
        return Ok(v);
    };
    match (field.ty, v) {
        (FieldType::Float, Value::Int(i)) => Ok(Value::Float(i as f64)),
        (FieldType::Int, v @ Value::Bool(_)) => Err(Error::Engine(EngineError::Schema(
            dictdb_engine::SchemaError::WrongType {
                table: t.name().to_string(),
                field: column.to_string(),
                expected: FieldType::Int.name().to_string(),
                actual: v.kind(),
                value: Box::new(v.shortened()),
            },
        ))),
        (_, v) => Ok(v),
    }
}

/// The closest name by edit distance, if close enough to be a likely typo.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, &cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + (ca != cb) as usize).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    candidates
        .map(|c| (distance(&name.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.chars().count() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
