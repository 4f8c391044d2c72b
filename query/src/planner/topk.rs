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
use crate::plan::Query;

/// Whether a LIMIT, when there is one, makes the order a bounded heap of
/// `offset + limit` rows.
pub(super) fn applies(query: &Query, ctx: &Ctx<'_>) -> bool {
    ctx.config.topk && !query.distinct
}
