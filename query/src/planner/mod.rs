//! The planner: a short list of rules, one file each, each switchable.
//!
//! Access-path rules turn the filter into candidate rows from an index; order
//! rules pick how ORDER BY runs. Every plan re-checks the whole filter on its
//! candidates, so a rule only ever narrows the rows looked at: switching any rule off
//! changes the plan, never the result (the tests check this).
//!
//! | rule | file | rewrite |
//! |---|---|---|
//! | `pk_lookup` | `pk_lookup.rs` | `pk = v`, `pk IN (…)` → primary-key lookups |
//! | `hash_lookup` | `index_lookup.rs` | `f = v`, `f IS NULL` → index lookup (hash or sorted) |
//! | `in_union` | `index_lookup.rs`, `pk_lookup.rs` | `f IN (a, b, …)` → union of lookups |
//! | `sorted_range` | `sorted_range.rs` | `< <= > >= BETWEEN` → B-tree range |
//! | `like_prefix` | `sorted_range.rs` | `LIKE 'abc%'` → B-tree range of strings starting `abc` |
//! | `or_union` | `or_union.rs` | `a OR b`, every branch indexable → union |
//! | `and_choice` | `and_choice.rs` | `a AND b` → the branch with the fewest candidates |
//! | `topk` | `topk.rs` | ORDER BY + LIMIT → bounded heap |
//! | `index_order` | `index_order.rs` | ORDER BY indexed field + LIMIT → walk the B-tree, stop early |
//!
//! Planning reads only the table's definition (key field, index definitions),
//! never its rows.
//!
//! A condition may hold placeholders (`age > ?`): the rules treat one like a
//! constant, and [`plan_template`] / [`access_template`] give a plan that is
//! bound to values each time it runs (`template.rs`), so a prepared statement
//! is planned once.

mod and_choice;
mod index_lookup;
mod index_order;
mod or_union;
mod pk_lookup;
mod sorted_range;
mod template;
mod topk;

use dictdb_engine::{IndexKind, Name, TableData, Value};

use crate::expr::{CmpOp, Expr};
use crate::plan::{Access, OrderKey, OrderStrategy, Plan, Query};
use template::{Node, Slot};

/// Which planner rules are on. [`PlannerConfig::default`] turns every rule on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannerConfig {
    /// Primary-key lookups.
    pub pk_lookup: bool,
    /// Equality lookups in secondary indexes.
    pub hash_lookup: bool,
    /// `IN` as a union of lookups.
    pub in_union: bool,
    /// B-tree ranges.
    pub sorted_range: bool,
    /// Prefix LIKE as a B-tree range.
    pub like_prefix: bool,
    /// OR of indexable branches as a union.
    pub or_union: bool,
    /// Choosing among indexable AND branches (off: the first one).
    pub and_choice: bool,
    /// Bounded-heap top-k for ORDER BY + LIMIT.
    pub topk: bool,
    /// Index-ordered scans for ORDER BY + LIMIT.
    pub index_order: bool,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig::all(true)
    }
}

impl PlannerConfig {
    /// Every rule on (`true`) or off (`false`).
    pub fn all(on: bool) -> PlannerConfig {
        PlannerConfig {
            pk_lookup: on,
            hash_lookup: on,
            in_union: on,
            sorted_range: on,
            like_prefix: on,
            or_union: on,
            and_choice: on,
            topk: on,
            index_order: on,
        }
    }

    /// The rules' names, in the order of [`PlannerConfig::set`].
    pub const RULES: [&'static str; 9] = [
        "pk_lookup",
        "hash_lookup",
        "in_union",
        "sorted_range",
        "like_prefix",
        "or_union",
        "and_choice",
        "topk",
        "index_order",
    ];

    /// Switches a rule by name; `false` if there is no such rule.
    pub fn set(&mut self, rule: &str, on: bool) -> bool {
        let slot = match rule {
            "pk_lookup" => &mut self.pk_lookup,
            "hash_lookup" => &mut self.hash_lookup,
            "in_union" => &mut self.in_union,
            "sorted_range" => &mut self.sorted_range,
            "like_prefix" => &mut self.like_prefix,
            "or_union" => &mut self.or_union,
            "and_choice" => &mut self.and_choice,
            "topk" => &mut self.topk,
            "index_order" => &mut self.index_order,
            _ => return false,
        };
        *slot = on;
        true
    }
}

/// What the planner knows of a table: its definition, not its rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableInfo {
    /// The table name.
    pub name: Name,
    /// The primary-key field.
    pub primary_key: Name,
    /// Secondary indexes: field and kind.
    pub indexes: Vec<(Name, IndexKind)>,
}

impl TableInfo {
    /// The definition of a table.
    pub fn of(data: &TableData) -> TableInfo {
        TableInfo {
            name: data.name().into(),
            primary_key: data.primary_key().into(),
            indexes: data
                .indexes()
                .map(|(f, ix)| (f.clone(), ix.kind()))
                .collect(),
        }
    }

    /// The kind of the index on a field.
    pub fn index_kind(&self, field: &str) -> Option<IndexKind> {
        self.indexes
            .iter()
            .find(|(f, _)| &**f == field)
            .map(|(_, k)| *k)
    }
}

/// Planning context handed to the rules.
pub(crate) struct Ctx<'a> {
    pub(crate) info: &'a TableInfo,
    pub(crate) config: &'a PlannerConfig,
}

/// The access path for a condition, if an index can supply its rows.
pub(crate) fn access_for(pred: &Expr, ctx: &Ctx<'_>) -> Option<Node> {
    match pred {
        Expr::IsTrue(inner) => access_for(inner, ctx),
        Expr::And(parts) => and_choice::apply(parts, ctx),
        Expr::Or(parts) => or_union::apply(parts, ctx),
        leaf => pk_lookup::apply(leaf, ctx)
            .or_else(|| index_lookup::apply(leaf, ctx))
            .or_else(|| sorted_range::apply(leaf, ctx)),
    }
}

/// A constant the rules can use: a non-NULL literal or a placeholder.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Operand<'a> {
    Lit(&'a Value),
    Param(usize),
}

impl Operand<'_> {
    pub(crate) fn slot(self) -> Slot {
        match self {
            Operand::Lit(v) => Slot::Value(v.clone()),
            Operand::Param(i) => Slot::Param(i),
        }
    }
}

/// A literal (NULL included) or a placeholder.
pub(crate) fn operand(e: &Expr) -> Option<Operand<'_>> {
    match e {
        Expr::Literal(v) => Some(Operand::Lit(v)),
        Expr::Param(i) => Some(Operand::Param(*i)),
        _ => None,
    }
}

/// A comparison between a column and a non-NULL constant or a placeholder, as
/// `(column, operator as seen from the column, constant)`.
pub(crate) fn column_cmp(e: &Expr) -> Option<(&Name, CmpOp, Operand<'_>)> {
    let Expr::Cmp { op, left, right } = e else {
        return None;
    };
    let (c, op, v) = match (&**left, &**right) {
        (Expr::Column(c), v) => (c, *op, operand(v)?),
        (v, Expr::Column(c)) => (c, op.flip(), operand(v)?),
        _ => return None,
    };
    match v {
        Operand::Lit(v) if v.is_null() => None,
        v => Some((c, op, v)),
    }
}

/// The non-NULL constants of an `IN` list, if every member is a constant.
pub(crate) fn literal_list(list: &[Expr]) -> Option<Vec<Value>> {
    let mut out = Vec::with_capacity(list.len());
    for e in list {
        match e.as_literal()? {
            Value::Null => {}
            v => out.push(v.clone()),
        }
    }
    Some(out)
}

/// The members of an `IN` list without its NULL constants, if every member is
/// a constant or a placeholder.
pub(crate) fn slot_list(list: &[Expr]) -> Option<Vec<Slot>> {
    let mut out = Vec::with_capacity(list.len());
    for e in list {
        match operand(e)? {
            Operand::Lit(Value::Null) => {}
            o => out.push(o.slot()),
        }
    }
    Some(out)
}

/// An access path made before its placeholders have values: see
/// [`AccessTemplate::bind`].
#[derive(Clone, Debug, PartialEq)]
pub struct AccessTemplate(Option<Node>);

impl AccessTemplate {
    /// The access path for these placeholder values (indexed by placeholder):
    /// exactly what planning the condition with the values written in would
    /// give.
    ///
    /// # Panics
    ///
    /// If a placeholder's index is not below `values.len()`.
    pub fn bind(&self, values: &[Value]) -> Access {
        self.0
            .as_ref()
            .and_then(|n| n.bind(values))
            .unwrap_or(Access::FullScan)
    }

    /// True when the path holds no placeholders.
    pub fn is_fixed(&self) -> bool {
        matches!(self.0, None | Some(Node::Fixed(_)))
    }
}

/// The access path for a condition alone (UPDATE, DELETE, aggregates): the rows an
/// index can supply, or a full scan.
pub fn plan_access(filter: Option<&Expr>, info: &TableInfo, config: &PlannerConfig) -> Access {
    access_template(filter, info, config).bind(&[])
}

/// [`plan_access`] for a condition that may hold placeholders ([`Expr::Param`]),
/// bound later.
pub fn access_template(
    filter: Option<&Expr>,
    info: &TableInfo,
    config: &PlannerConfig,
) -> AccessTemplate {
    let ctx = Ctx { info, config };
    AccessTemplate(filter.and_then(|f| access_for(f, &ctx)))
}

/// Plans a query over a table.
pub fn plan(query: &Query, info: &TableInfo, config: &PlannerConfig) -> Plan {
    let t = plan_template(query, info, config);
    let (limit, offset) = (t.limit, t.offset);
    t.into_plan(&[], limit, offset)
}

/// Plans a query that may hold placeholders ([`Expr::Param`]); the plan is
/// made once and bound to values by [`PlanTemplate::bind`].
pub fn plan_template(query: &Query, info: &TableInfo, config: &PlannerConfig) -> PlanTemplate {
    let ctx = Ctx { info, config };
    let filter = match &query.filter {
        // A constant-true filter checks nothing.
        Some(Expr::Literal(Value::Bool(true))) => None,
        other => other.clone(),
    };
    PlanTemplate {
        table: info.name.clone(),
        access: AccessTemplate(query.filter.as_ref().and_then(|f| access_for(f, &ctx))),
        filter,
        index_order: index_order::candidate(query, &ctx),
        topk: topk::applies(query, &ctx),
        order_by: query.order_by.clone(),
        distinct: query.distinct,
        offset: query.offset,
        limit: query.limit,
        projection: query.projection.clone(),
    }
}

/// A query's plan made before its placeholders (and `LIMIT ?`/`OFFSET ?`)
/// have values.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanTemplate {
    table: Name,
    access: AccessTemplate,
    filter: Option<Expr>,
    order_by: Vec<OrderKey>,
    /// The index walk for the order, used with a LIMIT over a full scan.
    index_order: Option<OrderStrategy>,
    /// A LIMIT makes a top-k.
    topk: bool,
    distinct: bool,
    offset: usize,
    limit: Option<usize>,
    projection: Option<Vec<(Name, Expr)>>,
}

impl PlanTemplate {
    /// The plan for these placeholder values, with this limit and offset (the
    /// query's own, or those a statement's `LIMIT ?`/`OFFSET ?` give): the plan
    /// that planning the query with the values written in would give.
    ///
    /// # Panics
    ///
    /// If a placeholder's index is not below `values.len()`.
    pub fn bind(&self, values: &[Value], limit: Option<usize>, offset: usize) -> Plan {
        let exprs = |e: &Expr| {
            if values.is_empty() {
                e.clone()
            } else {
                e.bind_params(values)
            }
        };
        let access = self.access.bind(values);
        Plan {
            table: self.table.clone(),
            strategy: self.strategy(&access, limit, offset),
            access,
            filter: self.filter.as_ref().map(exprs),
            order_by: self
                .order_by
                .iter()
                .map(|k| OrderKey {
                    expr: exprs(&k.expr),
                    desc: k.desc,
                    nulls_first: k.nulls_first,
                })
                .collect(),
            distinct: self.distinct,
            offset,
            limit,
            projection: self
                .projection
                .as_ref()
                .map(|p| p.iter().map(|(n, e)| (n.clone(), exprs(e))).collect()),
        }
    }

    /// [`PlanTemplate::bind`], consuming the template.
    fn into_plan(self, values: &[Value], limit: Option<usize>, offset: usize) -> Plan {
        if !values.is_empty() {
            return self.bind(values, limit, offset);
        }
        let access = self.access.bind(values);
        Plan {
            strategy: self.strategy(&access, limit, offset),
            table: self.table,
            access,
            filter: self.filter,
            order_by: self.order_by,
            distinct: self.distinct,
            offset,
            limit,
            projection: self.projection,
        }
    }

    /// The query's own LIMIT (`None`: none, or given by a placeholder).
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// The query's own OFFSET.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// How ORDER BY runs: an index walk when there is a LIMIT and no index
    /// supplies candidates (rule `index_order`), else a bounded heap with a
    /// LIMIT (rule `topk`), else a sort.
    fn strategy(&self, access: &Access, limit: Option<usize>, offset: usize) -> OrderStrategy {
        if self.order_by.is_empty() {
            return OrderStrategy::None;
        }
        match (&self.index_order, limit) {
            (Some(walk), Some(_)) if *access == Access::FullScan => walk.clone(),
            (_, Some(limit)) if self.topk => OrderStrategy::TopK {
                k: offset.saturating_add(limit),
            },
            _ => OrderStrategy::Sort,
        }
    }
}
