//! Queries as the user states them and plans as the planner chooses them.

use std::fmt;
use std::ops::Bound;

use dictdb_engine::{IndexKind, Name, Value};

use crate::expr::{Expr, col};

/// One ORDER BY key.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderKey {
    /// What to sort by.
    pub expr: Expr,
    /// Descending.
    pub desc: bool,
    /// Where NULLs go; `None` = the total order's place (first ascending, last
    /// descending).
    pub nulls_first: Option<bool>,
}

impl OrderKey {
    /// Ascending by a field.
    pub fn asc(field: &str) -> OrderKey {
        OrderKey {
            expr: col(field),
            desc: false,
            nulls_first: None,
        }
    }

    /// Descending by a field.
    pub fn desc(field: &str) -> OrderKey {
        OrderKey {
            expr: col(field),
            desc: true,
            nulls_first: None,
        }
    }

    /// DictDB's `order_by` spelling: `"age"` ascending, `"-age"` descending.
    pub fn parse(spec: &str) -> OrderKey {
        match spec.strip_prefix('-') {
            Some(field) => OrderKey::desc(field),
            None => OrderKey::asc(spec),
        }
    }

    /// Whether NULLs sort first under this key.
    pub fn nulls_first(&self) -> bool {
        self.nulls_first.unwrap_or(!self.desc)
    }
}

/// A SELECT over one table, as the Rust API builds it.
///
/// ```
/// use dictdb_query::{col, Query};
/// let q = Query::new()
///     .filter(col("age").ge(18))
///     .order_by_desc("age")
///     .limit(10)
///     .columns(["name", "age"]);
/// assert_eq!(q.limit_value(), Some(10));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    pub(crate) filter: Option<Expr>,
    pub(crate) order_by: Vec<OrderKey>,
    pub(crate) offset: usize,
    pub(crate) limit: Option<usize>,
    pub(crate) distinct: bool,
    pub(crate) projection: Option<Vec<(Name, Expr)>>,
}

impl Query {
    /// Every row, in insertion order.
    pub fn new() -> Query {
        Query::default()
    }

    /// Keeps the rows where the condition is true (combined with AND if called twice).
    pub fn filter(mut self, condition: Expr) -> Query {
        self.filter = Some(match self.filter.take() {
            Some(f) => f.and(condition),
            None => condition,
        });
        self
    }

    /// Adds an ascending sort key.
    pub fn order_by(self, field: &str) -> Query {
        self.order_by_key(OrderKey::asc(field))
    }

    /// Adds a descending sort key.
    pub fn order_by_desc(self, field: &str) -> Query {
        self.order_by_key(OrderKey::desc(field))
    }

    /// Adds a sort key.
    pub fn order_by_key(mut self, key: OrderKey) -> Query {
        self.order_by.push(key);
        self
    }

    /// At most `n` rows; a negative `n` means no limit.
    pub fn limit(mut self, n: i64) -> Query {
        self.limit = usize::try_from(n).ok();
        self
    }

    /// Skips `n` rows; a negative `n` counts as 0.
    pub fn offset(mut self, n: i64) -> Query {
        self.offset = usize::try_from(n).unwrap_or(0);
        self
    }

    /// Drops rows equal to an earlier row (before OFFSET/LIMIT).
    pub fn distinct(mut self) -> Query {
        self.distinct = true;
        self
    }

    /// Returns only these fields, in this order (a missing field reads as NULL).
    pub fn columns<'a>(self, fields: impl IntoIterator<Item = &'a str>) -> Query {
        self.project(fields.into_iter().map(|f| (f, col(f))))
    }

    /// Returns `(alias, expression)` columns.
    pub fn project<'a>(mut self, items: impl IntoIterator<Item = (&'a str, Expr)>) -> Query {
        self.projection = Some(items.into_iter().map(|(a, e)| (Name::from(a), e)).collect());
        self
    }

    /// The filter.
    pub fn filter_expr(&self) -> Option<&Expr> {
        self.filter.as_ref()
    }

    /// The sort keys.
    pub fn order_keys(&self) -> &[OrderKey] {
        &self.order_by
    }

    /// The output columns, if projected.
    pub fn projection(&self) -> Option<&[(Name, Expr)]> {
        self.projection.as_deref()
    }

    /// The limit.
    pub fn limit_value(&self) -> Option<usize> {
        self.limit
    }

    /// The number of rows skipped.
    pub fn offset_value(&self) -> usize {
        self.offset
    }

    /// Whether DISTINCT is on.
    pub fn is_distinct(&self) -> bool {
        self.distinct
    }
}

/// A bound of a key range over the total order.
pub type KeyBound = Bound<Value>;

/// A range of index keys.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyRange {
    /// Lower bound.
    pub lower: KeyBound,
    /// Upper bound.
    pub upper: KeyBound,
}

/// How candidate rows are found.
#[derive(Clone, Debug, PartialEq)]
pub enum Access {
    /// Every live row.
    FullScan,
    /// Rows by primary key.
    PkLookup {
        /// The keys.
        keys: Vec<Value>,
    },
    /// Rows whose indexed value equals one of the values (union of lookups); with
    /// `with_absent`, also rows lacking the field (for `IS NULL`).
    IndexLookup {
        /// The indexed field.
        field: Name,
        /// The index's kind.
        kind: IndexKind,
        /// The values looked up.
        values: Vec<Value>,
        /// Include rows lacking the field.
        with_absent: bool,
    },
    /// Rows whose indexed value lies in one of the ranges (sorted index).
    IndexRange {
        /// The indexed field.
        field: Name,
        /// The ranges (a prefix LIKE is one range of strings).
        ranges: Vec<KeyRange>,
    },
    /// The union of the branches' rows (an OR whose branches are all indexable).
    Union(Vec<Access>),
    /// One of the branches (indexable conjuncts of an AND): the executor takes the
    /// one with the fewest candidate rows.
    Choose(Vec<Access>),
}

/// How rows are ordered.
#[derive(Clone, Debug, PartialEq)]
pub enum OrderStrategy {
    /// Insertion order.
    None,
    /// A full stable sort.
    Sort,
    /// A bounded heap keeping the first `k` rows (k = offset + limit).
    TopK {
        /// Rows kept.
        k: usize,
    },
    /// Walk a sorted index in key order, stopping after `offset + limit` rows.
    IndexOrder {
        /// The indexed field.
        field: Name,
        /// Descending.
        desc: bool,
    },
}

/// An executable plan for a SELECT.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The table's name (for EXPLAIN).
    pub table: Name,
    /// Candidate rows.
    pub access: Access,
    /// The whole condition, re-checked on every candidate.
    pub filter: Option<Expr>,
    /// Sort keys.
    pub order_by: Vec<OrderKey>,
    /// How sorting is done.
    pub strategy: OrderStrategy,
    /// DISTINCT.
    pub distinct: bool,
    /// OFFSET.
    pub offset: usize,
    /// LIMIT.
    pub limit: Option<usize>,
    /// Output columns; `None` = whole records.
    pub projection: Option<Vec<(Name, Expr)>>,
}

/// True for the values the planner uses as the edges of a class of the total order
/// (NULL, NaN, and the smallest date, text, bytes, list and map).
fn is_class_edge(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Float(x) => x.is_nan(),
        Value::Date(d) => *d == dictdb_engine::value::NaiveDate::MIN,
        Value::Str(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        _ => false,
    }
}

fn fmt_bound(b: &KeyBound, lower: bool) -> String {
    match (b, lower) {
        (Bound::Excluded(v), true) if is_class_edge(v) => "(-inf".into(),
        (Bound::Excluded(v), false) if is_class_edge(v) => "+inf)".into(),
        (Bound::Unbounded, true) => "(-inf".into(),
        (Bound::Unbounded, false) => "+inf)".into(),
        (Bound::Included(v), true) => format!("[{v}"),
        (Bound::Excluded(v), true) => format!("({v}"),
        (Bound::Included(v), false) => format!("{v}]"),
        (Bound::Excluded(v), false) => format!("{v})"),
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = |vs: &[Value]| {
            vs.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Access::FullScan => f.write_str("full scan"),
            Access::PkLookup { keys } => write!(f, "pk lookup [{}]", values(keys)),
            Access::IndexLookup {
                field,
                kind,
                values: vs,
                with_absent,
            } => {
                write!(f, "{kind} lookup {field} [{}]", values(vs))?;
                if *with_absent {
                    f.write_str(" + absent")?;
                }
                Ok(())
            }
            Access::IndexRange { field, ranges } => {
                let rs: Vec<String> = ranges
                    .iter()
                    .map(|r| {
                        format!(
                            "{}, {}",
                            fmt_bound(&r.lower, true),
                            fmt_bound(&r.upper, false)
                        )
                    })
                    .collect();
                write!(f, "btree range {field} {}", rs.join(" "))
            }
            Access::Union(parts) => {
                let ps: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
                write!(f, "union of ({})", ps.join("; "))
            }
            Access::Choose(parts) => {
                let ps: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
                write!(f, "smallest of ({})", ps.join("; "))
            }
        }
    }
}

impl Plan {
    /// The plan as text lines (what EXPLAIN prints), outermost step first.
    pub fn explain(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let keys = || {
            self.order_by
                .iter()
                .map(|k| {
                    let mut s = format!("{}{}", k.expr, if k.desc { " DESC" } else { "" });
                    if let Some(nf) = k.nulls_first {
                        s.push_str(if nf { " NULLS FIRST" } else { " NULLS LAST" });
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(p) = &self.projection {
            let cols: Vec<String> = p
                .iter()
                .map(|(a, e)| match e.as_column() {
                    Some(c) if c == a => a.to_string(),
                    _ => format!("{e} AS {a}"),
                })
                .collect();
            lines.push(format!("project {}", cols.join(", ")));
        }
        if self.offset > 0 || self.limit.is_some() {
            let lim = self.limit.map_or("none".to_string(), |l| l.to_string());
            lines.push(format!("limit {lim} offset {}", self.offset));
        }
        if self.distinct {
            lines.push("distinct".into());
        }
        match &self.strategy {
            OrderStrategy::None => {}
            OrderStrategy::Sort => lines.push(format!("sort {}", keys())),
            OrderStrategy::TopK { k } => lines.push(format!("top-k {k} by {}", keys())),
            OrderStrategy::IndexOrder { field, desc } => lines.push(format!(
                "index order {field}{} (stops after {})",
                if *desc { " DESC" } else { "" },
                self.limit
                    .map_or("all rows".into(), |l| format!("{} rows", l + self.offset))
            )),
        }
        if let Some(f) = &self.filter {
            lines.push(format!("filter {f}"));
        }
        lines.push(format!("{} on {}", self.access, self.table));
        lines
    }
}
