//! Rule `topk`: ORDER BY with a LIMIT keeps only `offset + limit` rows in a bounded
//! heap instead of sorting every candidate.
//!
//! Before: `sort score DESC` over all candidates, then `limit 10`.
//! After:  `top-k 10 by score DESC`: one pass, O(n log k), output identical to the
//! full stable sort followed by paging (ties are broken by insertion order).
//!
//! Does not fire without a LIMIT, or with DISTINCT (which must see every row
//! before paging).

use super::Ctx;
use crate::plan::{OrderStrategy, Query};

pub(super) fn apply(query: &Query, ctx: &Ctx<'_>) -> Option<OrderStrategy> {
    if !ctx.config.topk || query.distinct {
        return None;
    }
    let limit = query.limit?;
    Some(OrderStrategy::TopK {
        k: query.offset.saturating_add(limit),
    })
}
