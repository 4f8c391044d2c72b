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

use std::ops::Bound;

use dictdb_engine::value::{NaiveDate, contains_map};
use dictdb_engine::{IndexKind, Value};

use super::{Ctx, column_cmp};
use crate::expr::{CmpOp, Expr};
use crate::plan::{Access, KeyBound, KeyRange};

pub(super) fn apply(pred: &Expr, ctx: &Ctx<'_>) -> Option<Access> {
    let (field, range) = match pred {
        Expr::Between { expr, low, high } if ctx.config.sorted_range => {
            let (lo, hi) = (low.as_literal()?, high.as_literal()?);
            if lo.is_null() || hi.is_null() || has_map(lo) || has_map(hi) {
                return None;
            }
            let range = KeyRange {
                lower: Bound::Included(lo.clone()),
                upper: Bound::Included(hi.clone()),
            };
            (expr.as_column()?, range)
        }
        Expr::Like { expr, pattern } if ctx.config.like_prefix => {
            let prefix = pattern.literal_prefix()?;
            let upper = match next_prefix(prefix) {
                Some(p) => Bound::Excluded(Value::str(p)),
                None => class_upper(&Value::str("")),
            };
            (
                expr.as_column()?,
                KeyRange {
                    lower: Bound::Included(Value::str(prefix)),
                    upper,
                },
            )
        }
        _ if ctx.config.sorted_range => {
            let (c, op, v) = column_cmp(pred)?;
            if has_map(v) {
                return None;
            }
            let range = match op {
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
            };
            (c, range)
        }
        _ => return None,
    };
    (ctx.info.index_kind(field)? == IndexKind::Sorted).then(|| Access::IndexRange {
        field: field.clone(),
        ranges: vec![range],
    })
}

/// Ranges follow the total order, which orders maps by stored key order while
/// Python's comparisons ignore it: no range for a bound holding a map.
fn has_map(v: &Value) -> bool {
    contains_map(v.as_ref())
}

/// The first key of a value's class in the total order.
fn class_lower(v: &Value) -> KeyBound {
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
fn class_upper(v: &Value) -> KeyBound {
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
fn next_prefix(prefix: &str) -> Option<String> {
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
