//! The statement cache and the plans it keeps.
//!
//! Every SQL text is parsed and translated once ([`Prepared`]), and kept in a
//! bounded cache keyed by the text. A translation depends on the text only:
//! tables, columns and indexes are looked up when the statement runs, so DDL
//! never makes one wrong.
//!
//! A statement of the point-query shape, `SELECT columns FROM t WHERE pk = ?`
//! (or `= constant`), also keeps its plan: the table, the fields to read and the
//! result column names, checked once. Running it is one read lock, one
//! primary-key probe and the row's values: no parsing, binding, planning or name
//! checks.
//!
//! Any other SELECT keeps a [`dictdb_query::PlanTemplate`], and an UPDATE,
//! DELETE or aggregate SELECT the [`dictdb_query::AccessTemplate`] of its WHERE:
//! planned once with its placeholders as slots, bound to each run's values.
//!
//! Every kept plan is tied to the catalog's generation (any create, drop or
//! replacement of a table moves it, so a dropped and re-created table is planned
//! anew), to the table's index-change count and (but for point plans, which
//! only run with `pk_lookup` on) to the planner settings, and is rebuilt when
//! one of them moves.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use dictdb_engine::{Name, Value};
use dictdb_query::sql::{Params, Prepared, Statement};
use dictdb_query::{CmpOp, Expr};
use hashbrown::HashMap;
use parking_lot::Mutex;

use crate::sql::Output;
use crate::{Database, Result};

/// How many distinct statement texts the cache keeps.
pub const STATEMENT_CACHE_SIZE: usize = 256;

/// A translated statement and what is cached with it.
#[derive(Debug)]
pub(crate) struct Cached {
    pub(crate) prepared: Prepared,
    point: Option<PointShape>,
    plan: Mutex<Option<Arc<PointPlan>>>,
    /// The plan of a SELECT (without aggregates).
    select: Mutex<Option<Arc<TablePlan<SelectPlan>>>>,
    /// The access path of an UPDATE, a DELETE or an aggregate SELECT.
    dml: Mutex<Option<Arc<TablePlan<dictdb_query::AccessTemplate>>>>,
}

/// A plan against one table, valid while the catalog generation, the table's
/// index changes and the planner settings stay as they were.
#[derive(Debug)]
pub(crate) struct TablePlan<P> {
    catalog: u64,
    ddl: u64,
    config: dictdb_query::PlannerConfig,
    table: Arc<dictdb_engine::Table>,
    plan: P,
}

/// A SELECT's plan, with its placeholders still to bind.
#[derive(Debug)]
pub(crate) struct SelectPlan {
    template: dictdb_query::PlanTemplate,
    /// The plan itself, for a statement without placeholders.
    bound: Option<dictdb_query::Plan>,
}

impl Cached {
    pub(crate) fn new(prepared: Prepared) -> Cached {
        Cached {
            point: PointShape::of(&prepared),
            prepared,
            plan: Mutex::new(None),
            select: Mutex::new(None),
            dml: Mutex::new(None),
        }
    }
}

/// The key of a point query.
#[derive(Debug)]
enum Key {
    Param(usize),
    Value(Value),
}

/// `SELECT columns FROM table WHERE key_column = key`, as written.
#[derive(Debug)]
struct PointShape {
    table: String,
    key_column: Name,
    key: Key,
    /// The columns read (`None`: `*`) and their result names.
    items: Option<(Vec<Name>, Arc<[String]>)>,
    /// `LIMIT 0`.
    empty: bool,
}

impl PointShape {
    fn of(p: &Prepared) -> Option<PointShape> {
        let [
            Statement::Select {
                table,
                query,
                aggregate: None,
                limit_param: None,
                offset_param: None,
                ..
            },
        ] = p.statements()
        else {
            return None;
        };
        if !query.order_keys().is_empty() || query.is_distinct() || query.offset_value() != 0 {
            return None;
        }
        let Some(Expr::Cmp {
            op: CmpOp::Eq,
            left,
            right,
        }) = query.filter_expr()
        else {
            return None;
        };
        let (column, key) = match (&**left, &**right) {
            (Expr::Column(c), k) | (k, Expr::Column(c)) => (c, k),
            _ => return None,
        };
        let key = match key {
            Expr::Param(i) => Key::Param(*i),
            Expr::Literal(v) if !v.is_null() => Key::Value(v.clone()),
            _ => return None,
        };
        let items = match query.projection() {
            None => None,
            Some(items) => {
                let fields = items
                    .iter()
                    .map(|(_, e)| e.as_column().cloned())
                    .collect::<Option<Vec<Name>>>()?;
                let names = dictdb_query::exec::result_names(items.iter().map(|(n, _)| n));
                let names: Arc<[String]> = names.iter().map(|n| n.to_string()).collect();
                Some((fields, names))
            }
        };
        Some(PointShape {
            table: table.clone(),
            key_column: column.clone(),
            key,
            items,
            empty: query.limit_value() == Some(0),
        })
    }
}

/// A point query's plan against one table, checked once.
#[derive(Debug)]
struct PointPlan {
    table: Arc<dictdb_engine::Table>,
    /// The catalog generation when the table was looked up.
    catalog: u64,
    ddl: u64,
    fields: Vec<Name>,
    /// Column ids found so far (ids never change once a column exists; a field
    /// with no column yet is looked up again each run).
    ids: Vec<Option<u32>>,
    columns: Arc<[String]>,
}

impl PointPlan {
    /// The plan, if the statement's table is typed or names its columns, its key
    /// column is the primary key and every column it reads is declared (else the
    /// general path runs and reports what is wrong).
    fn build(
        shape: &PointShape,
        table: Arc<dictdb_engine::Table>,
        catalog: u64,
    ) -> Option<PointPlan> {
        if *table.primary_key() != *shape.key_column {
            return None;
        }
        let schema = table.schema();
        let (fields, columns) = match (&shape.items, schema) {
            (Some((fields, names)), _) => (fields.clone(), names.clone()),
            (None, Some(schema)) => {
                let fields: Vec<Name> = schema.fields().iter().map(|f| f.name.clone()).collect();
                let names = fields.iter().map(|f| f.to_string()).collect();
                (fields, names)
            }
            (None, None) => return None,
        };
        if let Some(schema) = schema
            && fields.iter().any(|f| schema.get(f).is_none())
        {
            return None;
        }
        let ids = {
            let data = table.read();
            fields.iter().map(|f| data.column_id(f)).collect()
        };
        Some(PointPlan {
            ddl: table.ddl_version(),
            table,
            catalog,
            fields,
            ids,
            columns,
        })
    }
}

impl Database {
    /// Runs a cached point plan; `None` when the statement is not a point query
    /// (or its plan cannot be made, or its parameters are not plainly right),
    /// and the general path must run it.
    pub(crate) fn run_point(&self, cached: &Cached, params: &Params) -> Option<Result<Output>> {
        let shape = cached.point.as_ref()?;
        if !self.planner.read().pk_lookup {
            return None;
        }
        let slots = cached.prepared.params();
        let key = match (&shape.key, params) {
            (Key::Value(v), Params::None) => v,
            (Key::Value(v), Params::Positional(p)) if p.is_empty() => v,
            (Key::Param(i), Params::Positional(p)) if p.len() == slots.len() => p.get(*i)?,
            (Key::Param(_), Params::Named(p)) => {
                let [slot] = slots else { return None };
                let name = slot.name.as_deref()?;
                &p.iter().find(|(k, _)| k == name)?.1
            }
            _ => return None,
        };
        let plan = {
            let mut slot = cached.plan.lock();
            let generation = self.catalog.generation();
            match &*slot {
                // Same catalog generation: the table under the name is the one
                // planned for, without looking it up.
                Some(p) if p.catalog == generation && p.ddl == p.table.ddl_version() => p.clone(),
                _ => {
                    let table = self.catalog.table(&shape.table).ok()?;
                    let p = Arc::new(PointPlan::build(shape, table, generation)?);
                    self.plans_built.fetch_add(1, Ordering::Relaxed);
                    *slot = Some(p.clone());
                    p
                }
            }
        };
        let data = plan.table.read();
        let mut rows = Vec::new();
        if !shape.empty
            && let Some(pos) = data.lookup_key(key.as_ref())
            // The probe finds the key by index equality; SQL's `=` decides.
            && CmpOp::Eq.apply(data.key_at(pos), key.as_ref()) == Some(true)
        {
            let row = plan
                .ids
                .iter()
                .zip(&plan.fields)
                .map(|(id, f)| match id.or_else(|| data.column_id(f)) {
                    Some(c) => data.value(pos, c).to_owned(),
                    None => Value::Null,
                })
                .collect();
            rows.push(row);
        }
        Some(Ok(Output::Rows {
            columns: plan.columns.clone(),
            rows,
        }))
    }
}

impl Database {
    /// Runs a SELECT (without aggregates) through its cached plan, made (and the
    /// statement's columns checked) on the first run and again after DDL on its
    /// table or a change of planner settings; placeholders, `LIMIT ?` and
    /// `OFFSET ?` are bound into the plan, not planned again. `None` when the
    /// statement is of another kind.
    pub(crate) fn run_cached_select(
        &self,
        cached: &Cached,
        params: &Params,
    ) -> Option<Result<Output>> {
        let [
            Statement::Select {
                table,
                query,
                columns,
                aggregate: None,
                limit_param,
                offset_param,
                star_ordinals,
            },
        ] = cached.prepared.statements()
        else {
            return None;
        };
        if !star_ordinals.is_empty() {
            return None;
        }
        let values = match cached.prepared.values(params) {
            Ok(v) => v,
            Err(e) => return Some(Err(e.into())),
        };
        let config = *self.planner.read();
        let plan = self.cached_plan(&cached.select, table, &config, |t, info| {
            crate::sql::check_query_columns(t, query).ok()?;
            let template = dictdb_query::plan_template(query, info, &config);
            // Without placeholders the plan is bound once.
            let bound = (values.is_empty())
                .then(|| template.bind(&[], template.limit(), template.offset()));
            Some(SelectPlan { template, bound })
        })?;
        let bound;
        let p = match &plan.plan.bound {
            Some(p) => p,
            None => {
                let (limit, offset) =
                    match dictdb_query::sql::paging(query, *limit_param, *offset_param, &values) {
                        Ok(paging) => paging,
                        Err(e) => return Some(Err(e.into())),
                    };
                bound = plan.plan.template.bind(&values, limit, offset);
                &bound
            }
        };
        let data = plan.table.read();
        let records = match dictdb_query::execute(p, &data) {
            Ok(r) => r,
            Err(e) => return Some(Err(e.into())),
        };
        let names: Vec<Name> = match columns {
            Some(c) => dictdb_query::exec::result_names(c),
            None => crate::sql::star_columns_of(plan.table.schema(), &data),
        };
        drop(data);
        Some(Ok(crate::sql::rows_output(&names, &records)))
    }

    /// The access path of a single UPDATE, DELETE or aggregate SELECT (its
    /// WHERE), from its cached template
    /// bound to `values`; `None` for other statements (or when the table or a
    /// column is missing: the general path reports it).
    pub(crate) fn cached_dml_access(
        &self,
        cached: &Cached,
        values: &[Value],
    ) -> Option<dictdb_query::Access> {
        let (table, filter) = match cached.prepared.statements() {
            [Statement::Update { table, filter, .. } | Statement::Delete { table, filter, .. }] => {
                (table, filter.as_ref())
            }
            [
                Statement::Select {
                    table,
                    aggregate: Some(agg),
                    ..
                },
            ] => (table, agg.filter_expr()),
            _ => return None,
        };
        let config = *self.planner.read();
        let plan = self.cached_plan(&cached.dml, table, &config, |t, info| {
            crate::sql::check_query_columns(t, &filter_query(filter)).ok()?;
            Some(dictdb_query::access_template(filter, info, &config))
        })?;
        Some(plan.plan.bind(values))
    }

    /// The plan kept in `slot` while it is valid for `table` (same catalog
    /// generation, index changes and planner settings), else a new one from
    /// `make` (`None`: no plan, the general path runs).
    fn cached_plan<P>(
        &self,
        slot: &Mutex<Option<Arc<TablePlan<P>>>>,
        table: &str,
        config: &dictdb_query::PlannerConfig,
        make: impl FnOnce(&crate::Table, &dictdb_query::TableInfo) -> Option<P>,
    ) -> Option<Arc<TablePlan<P>>> {
        let generation = self.catalog.generation();
        let mut slot = slot.lock();
        if let Some(p) = &*slot
            && p.catalog == generation
            && p.ddl == p.table.ddl_version()
            && p.config == *config
        {
            return Some(p.clone());
        }
        let t = self.table(table).ok()?;
        let engine = t.engine().clone();
        // The index-change count first: a change after it makes the plan
        // rebuilt next time, never kept stale.
        let ddl = engine.ddl_version();
        let info = dictdb_query::TableInfo::of(&engine.read());
        self.plans_built.fetch_add(1, Ordering::Relaxed);
        let p = Arc::new(TablePlan {
            catalog: generation,
            ddl,
            config: *config,
            plan: make(&t, &info)?,
            table: engine,
        });
        *slot = Some(p.clone());
        Some(p)
    }
}

/// A WHERE clause as a query, for the column checks.
fn filter_query(filter: Option<&Expr>) -> dictdb_query::Query {
    match filter {
        Some(f) => dictdb_query::Query::new().filter(f.clone()),
        None => dictdb_query::Query::new(),
    }
}

/// A bounded cache of translated statements keyed by their text, evicting the
/// least recently used.
#[derive(Debug)]
pub(crate) struct StatementCache {
    entries: HashMap<Arc<str>, (Arc<Cached>, u64)>,
    tick: u64,
}

impl Default for StatementCache {
    fn default() -> Self {
        StatementCache {
            entries: HashMap::with_capacity(STATEMENT_CACHE_SIZE),
            tick: 0,
        }
    }
}

impl StatementCache {
    pub(crate) fn get(&mut self, sql: &str) -> Option<Arc<Cached>> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(sql).map(|(p, used)| {
            *used = tick;
            p.clone()
        })
    }

    pub(crate) fn insert(&mut self, sql: &str, p: Arc<Cached>) {
        if self.entries.len() >= STATEMENT_CACHE_SIZE && !self.entries.contains_key(sql) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.entries.remove(&k);
            }
        }
        self.tick += 1;
        self.entries.insert(sql.into(), (p, self.tick));
    }

    /// How many statements are cached.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
