//! Rule `and_choice`: among the indexable conjuncts of an AND, use the one with the
//! fewest candidate rows.
//!
//! Before: `full scan on t` + `filter (city = 'Oslo' AND age = 31)`.
//! After:  `smallest of (hash lookup city ['Oslo']; btree lookup age [31])`; the
//! executor counts each branch's postings (cheap: bucket sizes) and materialises
//! only the smallest. With the rule off, the first indexable conjunct is used.

use super::{Ctx, access_for};
use crate::expr::Expr;
use crate::plan::Access;

pub(super) fn apply(parts: &[Expr], ctx: &Ctx<'_>) -> Option<Access> {
    let mut found = parts.iter().filter_map(|p| access_for(p, ctx));
    if !ctx.config.and_choice {
        return found.next();
    }
    let mut all: Vec<Access> = found.collect();
    match all.len() {
        0 => None,
        1 => all.pop(),
        _ => Some(Access::Choose(all)),
    }
}
