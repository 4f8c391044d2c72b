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

use super::template::{Node, Slot};
use super::{Ctx, Operand, column_cmp, literal_list, slot_list};
use crate::expr::{CmpOp, Expr};
use crate::plan::Access;
use dictdb_engine::value::contains_map;
use dictdb_engine::{IndexKind, Value};

pub(super) fn apply(pred: &Expr, ctx: &Ctx<'_>) -> Option<Node> {
    if !ctx.config.hash_lookup {
        return None;
    }
    let single = !ctx.config.in_union;
    let (field, values, with_absent) = match pred {
        Expr::IsNull(inner) => (inner.as_column()?, vec![Value::Null], true),
        Expr::InList { expr, list } => {
            let field = expr.as_column()?;
            match literal_list(list) {
                Some(values) => {
                    if values.len() > 1 && single {
                        return None;
                    }
                    (field, values, false)
                }
                None => {
                    return Some(Node::IndexLookup {
                        kind: ctx.info.index_kind(field)?,
                        field: field.clone(),
                        values: slot_list(list)?,
                        list: true,
                        single,
                    });
                }
            }
        }
        _ => match column_cmp(pred)? {
            (c, CmpOp::Eq, Operand::Lit(v)) => (c, vec![v.clone()], false),
            (c, CmpOp::Eq, Operand::Param(i)) => {
                return Some(Node::IndexLookup {
                    kind: ctx.info.index_kind(c)?,
                    field: c.clone(),
                    values: vec![Slot::Param(i)],
                    list: false,
                    single: false,
                });
            }
            _ => return None,
        },
    };
    let kind = ctx.info.index_kind(field)?;
    // A sorted index keys maps by stored key order; Python equality ignores it.
    if kind == IndexKind::Sorted && values.iter().any(|v| contains_map(v.as_ref())) {
        return None;
    }
    Some(Node::Fixed(Access::IndexLookup {
        field: field.clone(),
        kind,
        values,
        with_absent,
    }))
}
