//! Rule `pk_lookup`: `pk = v` and `pk IN (v, …)` become primary-key lookups.
//!
//! Before: `full scan on t` + `filter id = 7`.
//! After:  `pk lookup [7] on t` + `filter id = 7` (one hash probe instead of a scan).
//!
//! Does not fire for other operators on the key, or for an `IN` with a non-constant
//! member; `IN` with several members needs `in_union` too.

use super::template::Node;
use super::{Ctx, Operand, column_cmp, literal_list, slot_list};
use crate::expr::{CmpOp, Expr};
use crate::plan::Access;

pub(super) fn apply(pred: &Expr, ctx: &Ctx<'_>) -> Option<Node> {
    if !ctx.config.pk_lookup {
        return None;
    }
    let pk = &ctx.info.primary_key;
    match pred {
        Expr::InList { expr, list } if expr.as_column() == Some(pk) => {
            let single = !ctx.config.in_union;
            if let Some(keys) = literal_list(list) {
                return (keys.len() <= 1 || !single)
                    .then_some(Node::Fixed(Access::PkLookup { keys }));
            }
            Some(Node::PkLookup {
                keys: slot_list(list)?,
                list: true,
                single,
            })
        }
        _ => match column_cmp(pred)? {
            (c, CmpOp::Eq, o) if c == pk => Some(match o {
                Operand::Lit(v) => Node::Fixed(Access::PkLookup {
                    keys: vec![v.clone()],
                }),
                Operand::Param(i) => Node::PkLookup {
                    keys: vec![super::template::Slot::Param(i)],
                    list: false,
                    single: false,
                },
            }),
            _ => None,
        },
    }
}
