//! Rule `or_union`: an OR whose every branch is indexable becomes the union of the
//! branches' candidates.
//!
//! Before: `full scan on t` + `filter (city = 'Oslo' OR age < 20)`.
//! After:  `union of (hash lookup city ['Oslo']; btree range age ...)` + the filter.
//!
//! Does not fire when any branch needs a scan: then the scan is the plan.

use super::template::Node;
use super::{Ctx, access_for};
use crate::expr::Expr;

pub(super) fn apply(parts: &[Expr], ctx: &Ctx<'_>) -> Option<Node> {
    if !ctx.config.or_union || parts.is_empty() {
        return None;
    }
    let branches: Option<Vec<Node>> = parts.iter().map(|p| access_for(p, ctx)).collect();
    Some(Node::union(branches?))
}
