//! Rule `index_order`: ORDER BY a field with a sorted index, with a LIMIT, walks
//! the B-tree in key order and stops after `offset + limit` matching rows.
//!
//! Before: `full scan` + `sort age` + `limit 10`.
//! After:  `index order age (stops after 10 rows)`: the filter is checked row by row
//! in index order; rows lacking the field sort with NULL, as in the total order.
//!
//! Fires only for a single sort key that is a bare column with the default NULL
//! placement, with a LIMIT, when no other index supplies candidates (a selective
//! lookup followed by a top-k is the better plan then).

use super::Ctx;
use crate::plan::{OrderStrategy, Query};
use dictdb_engine::IndexKind;

/// The index walk for the query's order, if it has the shape for one; the
/// plan uses it when the query has a LIMIT and no index supplies candidates.
pub(super) fn candidate(query: &Query, ctx: &Ctx<'_>) -> Option<OrderStrategy> {
    if !ctx.config.index_order {
        return None;
    }
    let [key] = query.order_by.as_slice() else {
        return None;
    };
    if key.nulls_first.is_some_and(|nf| nf == key.desc) {
        return None;
    }
    let field = key.expr.as_column()?;
    (ctx.info.index_kind(field)? == IndexKind::Sorted).then(|| OrderStrategy::IndexOrder {
        field: field.clone(),
        desc: key.desc,
    })
}
