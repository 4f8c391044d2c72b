//! Access paths whose values may be placeholders, bound when the plan runs.
//!
//! A prepared statement is planned once, before its placeholders have values:
//! the rules treat `?` like a constant and leave a [`Slot`] where the constant
//! would go. Binding fills the slots and applies, to the bound values, the
//! checks a rule makes on a constant at planning time (a NULL or a map
//! disables the rule for that condition, a LIKE pattern must have a literal
//! prefix, `IN` with several values needs `in_union`), so that a bound plan is
//! exactly the plan the same statement with literals gets.

use std::ops::Bound;

use dictdb_engine::value::contains_map;
use dictdb_engine::{IndexKind, Name, Value};

use crate::expr::CmpOp;
use crate::like::LikePattern;
use crate::plan::{Access, KeyRange};

/// A value in an access path: a constant, or the placeholder with this index.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Slot {
    Value(Value),
    Param(usize),
}

impl Slot {
    fn get<'a>(&'a self, values: &'a [Value]) -> &'a Value {
        match self {
            Slot::Value(v) => v,
            Slot::Param(i) => &values[*i],
        }
    }
}

/// A B-tree range with a placeholder in it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RangeSlot {
    /// `column op bound` (an order comparison).
    Cmp { op: CmpOp, bound: Slot },
    /// `column BETWEEN low AND high`.
    Between { low: Slot, high: Slot },
    /// `column LIKE ?`: the range of the pattern's literal prefix.
    Prefix {
        pattern: usize,
        escape: Option<char>,
        ignore_case: bool,
    },
}

/// An access path with placeholders.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    /// No placeholders.
    Fixed(Access),
    /// Primary-key lookups. From a comparison (`list` false) a NULL key leaves
    /// the condition without an index; from an `IN` list NULLs are dropped, and
    /// with `single` more than one key does.
    PkLookup {
        keys: Vec<Slot>,
        list: bool,
        single: bool,
    },
    /// Index lookups, the same way (a map on a sorted index: no index).
    IndexLookup {
        field: Name,
        kind: IndexKind,
        values: Vec<Slot>,
        list: bool,
        single: bool,
    },
    /// A B-tree range.
    IndexRange { field: Name, range: RangeSlot },
    /// Every branch must have an index (rule `or_union`).
    Union(Vec<Node>),
    /// The branches that have one (rule `and_choice`; off: the first).
    And { parts: Vec<Node>, choose: bool },
}

impl Node {
    /// The access path for these values; `None` when the bound condition has
    /// no index (the caller's condition then falls back as the planner would).
    pub(crate) fn bind(&self, values: &[Value]) -> Option<Access> {
        match self {
            Node::Fixed(a) => Some(a.clone()),
            Node::PkLookup { keys, list, single } => Some(Access::PkLookup {
                keys: lookup_values(keys, *list, *single, values)?,
            }),
            Node::IndexLookup {
                field,
                kind,
                values: slots,
                list,
                single,
            } => {
                let vs = lookup_values(slots, *list, *single, values)?;
                if *kind == IndexKind::Sorted && vs.iter().any(|v| contains_map(v.as_ref())) {
                    return None;
                }
                Some(Access::IndexLookup {
                    field: field.clone(),
                    kind: *kind,
                    values: vs,
                    with_absent: false,
                })
            }
            Node::IndexRange { field, range } => {
                let range = match range {
                    RangeSlot::Cmp { op, bound } => cmp_range(*op, usable(bound.get(values))?)?,
                    RangeSlot::Between { low, high } => KeyRange {
                        lower: Bound::Included(usable(low.get(values))?.clone()),
                        upper: Bound::Included(usable(high.get(values))?.clone()),
                    },
                    RangeSlot::Prefix {
                        pattern,
                        escape,
                        ignore_case,
                    } => {
                        let Value::Str(p) = &values[*pattern] else {
                            return None;
                        };
                        let pattern = LikePattern::new(p, *escape, *ignore_case);
                        prefix_range(pattern.literal_prefix()?)
                    }
                };
                Some(Access::IndexRange {
                    field: field.clone(),
                    ranges: vec![range],
                })
            }
            Node::Union(parts) => Some(Access::Union(
                parts
                    .iter()
                    .map(|p| p.bind(values))
                    .collect::<Option<_>>()?,
            )),
            Node::And { parts, choose } => {
                let mut found = parts.iter().filter_map(|p| p.bind(values));
                if !choose {
                    return found.next();
                }
                choose_among(found.collect())
            }
        }
    }

    /// An OR of branches, folded to a fixed path when no branch has placeholders.
    pub(crate) fn union(parts: Vec<Node>) -> Node {
        if parts.iter().all(|p| matches!(p, Node::Fixed(_))) {
            Node::Fixed(Access::Union(parts.into_iter().map(Node::fixed).collect()))
        } else {
            Node::Union(parts)
        }
    }

    /// An AND's indexable branches, folded to a fixed path when no branch has
    /// placeholders; `None` when there are none.
    pub(crate) fn and(mut parts: Vec<Node>, choose: bool) -> Option<Node> {
        if parts.iter().all(|p| matches!(p, Node::Fixed(_))) {
            if !choose {
                parts.truncate(1);
            }
            return choose_among(parts.into_iter().map(Node::fixed).collect()).map(Node::Fixed);
        }
        if parts.is_empty() {
            return None;
        }
        Some(Node::And { parts, choose })
    }

    fn fixed(self) -> Access {
        match self {
            Node::Fixed(a) => a,
            other => unreachable!("not a fixed access path: {other:?}"),
        }
    }
}

/// The lookup values; `None` when the condition cannot use the index for them.
fn lookup_values(slots: &[Slot], list: bool, single: bool, values: &[Value]) -> Option<Vec<Value>> {
    let mut out = Vec::with_capacity(slots.len());
    for s in slots {
        match s.get(values) {
            // `column = NULL` is never true; the planner leaves it to the filter.
            Value::Null if !list => return None,
            Value::Null => {}
            v => out.push(v.clone()),
        }
    }
    (!single || out.len() <= 1).then_some(out)
}

/// A range bound must be neither NULL nor hold a map (see `sorted_range`).
fn usable(v: &Value) -> Option<&Value> {
    (!v.is_null() && !contains_map(v.as_ref())).then_some(v)
}

fn choose_among(mut all: Vec<Access>) -> Option<Access> {
    match all.len() {
        0 => None,
        1 => all.pop(),
        _ => Some(Access::Choose(all)),
    }
}

/// The range of `column op v` (an order comparison), confined to `v`'s class.
pub(crate) fn cmp_range(op: CmpOp, v: &Value) -> Option<KeyRange> {
    use super::sorted_range::{class_lower, class_upper};
    Some(match op {
        CmpOp::Lt => KeyRange {
            lower: class_lower(v),
            upper: Bound::Excluded(v.clone()),
        },
        CmpOp::Le => KeyRange {
            lower: class_lower(v),
            upper: Bound::Included(v.clone()),
        },
        CmpOp::Gt => KeyRange {
            lower: Bound::Excluded(v.clone()),
            upper: class_upper(v),
        },
        CmpOp::Ge => KeyRange {
            lower: Bound::Included(v.clone()),
            upper: class_upper(v),
        },
        CmpOp::Eq | CmpOp::Ne => return None,
    })
}

/// The range of strings starting with `prefix`.
pub(crate) fn prefix_range(prefix: &str) -> KeyRange {
    use super::sorted_range::{class_upper, next_prefix};
    let upper = match next_prefix(prefix) {
        Some(p) => Bound::Excluded(Value::str(p)),
        None => class_upper(&Value::str("")),
    };
    KeyRange {
        lower: Bound::Included(Value::str(prefix)),
        upper,
    }
}
