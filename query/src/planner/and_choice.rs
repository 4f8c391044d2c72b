//! Rule `and_choice`: among the indexable conjuncts of an AND, use the one with the
//! fewest candidate rows.
//!
//! Before: `full scan on t` + `filter (city = 'Oslo' AND age = 31)`.
//! After:  `smallest of (hash lookup city ['Oslo']; btree lookup age [31])`; the
//! executor counts each branch's postings (cheap: bucket sizes) and materialises
//! only the smallest. With the rule off, the first indexable conjunct is used.

use super::template::Node;
use super::{Ctx, access_for};
use crate::expr::Expr;

pub(super) fn apply(parts: &[Expr], ctx: &Ctx<'_>) -> Option<Node> {
    let found: Vec<Node> = parts.iter().filter_map(|p| access_for(p, ctx)).collect();
    Node::and(found, ctx.config.and_choice)
}
