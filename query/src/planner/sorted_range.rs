//! Rules `sorted_range` and `like_prefix`: order comparisons, BETWEEN and prefix
//! LIKE on a field with a sorted index become B-tree ranges.
//!
//! Before: `full scan on t` + `filter age BETWEEN 30 AND 32`.
//! After:  `btree range age [30, 32] on t` + the same filter.
//!
//! A range is confined to the class of its bound in the total order (`age > 5`
//! covers numbers only, not the strings that sort after them), since a comparison
//! between incomparable values is false anyway. `name LIKE 'ab%'` (case-sensitive,
//! non-empty literal prefix) is the range of strings in `['ab', 'ac')`.
//! A placeholder bound (`age > ?`, `name LIKE ?`) gives the range once bound.

use std::ops::Bound;

use dictdb_engine::value::{NaiveDate, contains_map};
use dictdb_engine::{IndexKind, Value};

use super::template::{Node, RangeSlot, Slot, cmp_range, prefix_range};
use super::{Ctx, Operand, column_cmp, operand};
use crate::expr::{CmpOp, Expr};
use crate::func::Func;
use crate::plan::{Access, KeyBound, KeyRange};

pub(super) fn apply(pred: &Expr, ctx: &Ctx<'_>) -> Option<Node> {
    let (field, range) = match pred {
        Expr::Between { expr, low, high } if ctx.config.sorted_range => {
            let field = expr.as_column()?;
            let (lo, hi) = (operand(low)?, operand(high)?);
            if [&lo, &hi]
                .iter()
                .any(|o| matches!(o, Operand::Lit(v) if v.is_null() || has_map(v)))
            {
                return None;
            }
            let range = match (lo, hi) {
                (Operand::Lit(lo), Operand::Lit(hi)) => Range::Fixed(KeyRange {
                    lower: Bound::Included(lo.clone()),
                    upper: Bound::Included(hi.clone()),
                }),
                (lo, hi) => Range::Slot(RangeSlot::Between {
                    low: lo.slot(),
                    high: hi.slot(),
                }),
            };
            (field, range)
        }
        Expr::Like { expr, pattern } if ctx.config.like_prefix => (
            expr.as_column()?,
            Range::Fixed(prefix_range(pattern.literal_prefix()?)),
        ),
        Expr::Call {
            func: Func::Like {
                escape,
                ignore_case,
            },
            args,
        } if ctx.config.like_prefix => match args.as_slice() {
            [Expr::Column(field), Expr::Param(i)] => (
                field,
                Range::Slot(RangeSlot::Prefix {
                    pattern: *i,
                    escape: *escape,
                    ignore_case: *ignore_case,
                }),
            ),
            _ => return None,
        },
        _ if ctx.config.sorted_range => match column_cmp(pred)? {
            (_, CmpOp::Eq | CmpOp::Ne, _) => return None,
            (c, op, Operand::Lit(v)) => {
                if has_map(v) {
                    return None;
                }
                (c, Range::Fixed(cmp_range(op, v)?))
            }
            (c, op, Operand::Param(i)) => (
                c,
                Range::Slot(RangeSlot::Cmp {
                    op,
                    bound: Slot::Param(i),
                }),
            ),
        },
        _ => return None,
    };
    if ctx.info.index_kind(field)? != IndexKind::Sorted {
        return None;
    }
    let field = field.clone();
    Some(match range {
        Range::Fixed(r) => Node::Fixed(Access::IndexRange {
            field,
            ranges: vec![r],
        }),
        Range::Slot(range) => Node::IndexRange { field, range },
    })
}

enum Range {
    Fixed(KeyRange),
    Slot(RangeSlot),
}

/// Ranges follow the total order, which orders maps by stored key order while
/// Python's comparisons ignore it: no range for a bound holding a map.
fn has_map(v: &Value) -> bool {
    contains_map(v.as_ref())
}

/// The first key of a value's class in the total order.
pub(super) fn class_lower(v: &Value) -> KeyBound {
    match v {
        Value::Null => Bound::Unbounded,
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => Bound::Excluded(Value::Null),
        Value::Date(_) | Value::DateTime(_) => Bound::Excluded(Value::Float(f64::NAN)),
        Value::Str(_) => Bound::Included(Value::str("")),
        Value::Bytes(_) => Bound::Included(Value::Bytes(Box::new([]))),
        Value::List(_) => Bound::Included(Value::List(Box::new([]))),
        Value::Map(_) => Bound::Included(Value::Map(Box::new([]))),
    }
}

/// Just past the last key of a value's class in the total order.
pub(super) fn class_upper(v: &Value) -> KeyBound {
    match v {
        Value::Null => Bound::Included(Value::Null),
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
            Bound::Excluded(Value::Date(NaiveDate::MIN))
        }
        Value::Date(_) | Value::DateTime(_) => Bound::Excluded(Value::str("")),
        Value::Str(_) => Bound::Excluded(Value::Bytes(Box::new([]))),
        Value::Bytes(_) => Bound::Excluded(Value::List(Box::new([]))),
        Value::List(_) => Bound::Excluded(Value::Map(Box::new([]))),
        Value::Map(_) => Bound::Unbounded,
    }
}

/// The smallest string greater than every string starting with `prefix`.
pub(super) fn next_prefix(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::next_prefix;

    #[test]
    fn prefix_successor() {
        assert_eq!(next_prefix("ab").as_deref(), Some("ac"));
        assert_eq!(next_prefix("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(next_prefix("\u{10FFFF}"), None);
    }
}
