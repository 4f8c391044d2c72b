//! Rule `pk_lookup`: `pk = v` and `pk IN (v, …)` become primary-key lookups.
//!
//! Before: `full scan on t` + `filter id = 7`.
//! After:  `pk lookup [7] on t` + `filter id = 7` (one hash probe instead of a scan).
//!
//! Does not fire for other operators on the key, or for an `IN` with a non-constant
//! member; `IN` with several members needs `in_union` too.

use super::{Ctx, column_cmp, literal_list};
use crate::expr::{CmpOp, Expr};
use crate::plan::Access;

pub(super) fn apply(pred: &Expr, ctx: &Ctx<'_>) -> Option<Access> {
    if !ctx.config.pk_lookup {
        return None;
    }
    let pk = &ctx.info.primary_key;
    match pred {
        Expr::InList { expr, list } if expr.as_column() == Some(pk) => {
            let keys = literal_list(list)?;
            (keys.len() <= 1 || ctx.config.in_union).then_some(Access::PkLookup { keys })
        }
        _ => match column_cmp(pred)? {
            (c, CmpOp::Eq, v) if c == pk => Some(Access::PkLookup {
                keys: vec![v.clone()],
            }),
            _ => None,
        },
    }
}
