//! Rule `hash_lookup` (and `in_union` for lists): equality on an indexed field
//! becomes index lookups.
//!
//! Before: `full scan on t` + `filter city = 'Oslo'`.
//! After:  `hash lookup city ['Oslo'] on t` + the same filter, re-checked on the
//! bucket's rows only.
//!
//! `f IS NULL` looks up the NULL key and adds the rows lacking the field, so a
//! missing field and a stored NULL match alike with or without an index. Works on
//! hash and sorted indexes. `f IN (a, b)` is the union of one lookup per member
//! (rule `in_union`). A sorted index is not used for a constant holding a map: it
//! keys maps by stored key order, Python equality ignores key order.

use super::{Ctx, column_cmp, literal_list};
use crate::expr::{CmpOp, Expr};
use crate::plan::Access;
use dictdb_engine::value::contains_map;
use dictdb_engine::{IndexKind, Value};

pub(super) fn apply(pred: &Expr, ctx: &Ctx<'_>) -> Option<Access> {
    if !ctx.config.hash_lookup {
        return None;
    }
    let (field, values, with_absent) = match pred {
        Expr::IsNull(inner) => (inner.as_column()?, vec![Value::Null], true),
        Expr::InList { expr, list } => {
            let values = literal_list(list)?;
            if values.len() > 1 && !ctx.config.in_union {
                return None;
            }
            (expr.as_column()?, values, false)
        }
        _ => match column_cmp(pred)? {
            (c, CmpOp::Eq, v) => (c, vec![v.clone()], false),
            _ => return None,
        },
    };
    let kind = ctx.info.index_kind(field)?;
    // A sorted index keys maps by stored key order; Python equality ignores it.
    if kind == IndexKind::Sorted && values.iter().any(|v| contains_map(v.as_ref())) {
        return None;
    }
    Some(Access::IndexLookup {
        field: field.clone(),
        kind,
        values,
        with_absent,
    })
}
