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

mod and_choice;
mod index_lookup;
mod index_order;
mod or_union;
mod pk_lookup;
mod sorted_range;
mod topk;

use dictdb_engine::{IndexKind, Name, TableData, Value};

use crate::expr::{CmpOp, Expr};
use crate::plan::{Access, OrderStrategy, Plan, Query};

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
pub(crate) fn access_for(pred: &Expr, ctx: &Ctx<'_>) -> Option<Access> {
    match pred {
        Expr::IsTrue(inner) => access_for(inner, ctx),
        Expr::And(parts) => and_choice::apply(parts, ctx),
        Expr::Or(parts) => or_union::apply(parts, ctx),
        leaf => pk_lookup::apply(leaf, ctx)
            .or_else(|| index_lookup::apply(leaf, ctx))
            .or_else(|| sorted_range::apply(leaf, ctx)),
    }
}

/// A comparison between a column and a non-NULL constant, as
/// `(column, operator as seen from the column, constant)`.
pub(crate) fn column_cmp(e: &Expr) -> Option<(&Name, CmpOp, &Value)> {
    let Expr::Cmp { op, left, right } = e else {
        return None;
    };
    let (c, op, v) = match (&**left, &**right) {
        (Expr::Column(c), Expr::Literal(v)) => (c, *op, v),
        (Expr::Literal(v), Expr::Column(c)) => (c, op.flip(), v),
        _ => return None,
    };
    (!v.is_null()).then_some((c, op, v))
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

/// The access path for a condition alone (UPDATE, DELETE, aggregates): the rows an
/// index can supply, or a full scan.
pub fn plan_access(filter: Option<&Expr>, info: &TableInfo, config: &PlannerConfig) -> Access {
    let ctx = Ctx { info, config };
    filter
        .and_then(|f| access_for(f, &ctx))
        .unwrap_or(Access::FullScan)
}

/// Plans a query over a table.
pub fn plan(query: &Query, info: &TableInfo, config: &PlannerConfig) -> Plan {
    let ctx = Ctx { info, config };
    let access = query
        .filter
        .as_ref()
        .and_then(|f| access_for(f, &ctx))
        .unwrap_or(Access::FullScan);
    let strategy = if query.order_by.is_empty() {
        OrderStrategy::None
    } else {
        index_order::apply(query, &access, &ctx)
            .or_else(|| topk::apply(query, &ctx))
            .unwrap_or(OrderStrategy::Sort)
    };
    let filter = match &query.filter {
        // A constant-true filter checks nothing.
        Some(Expr::Literal(Value::Bool(true))) => None,
        other => other.clone(),
    };
    Plan {
        table: info.name.clone(),
        access,
        filter,
        order_by: query.order_by.clone(),
        strategy,
        distinct: query.distinct,
        offset: query.offset,
        limit: query.limit,
        projection: query.projection.clone(),
    }
}
