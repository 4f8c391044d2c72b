//! The executor: runs a [`Plan`] over a table's data (under the caller's lock).
//!
//! Pipeline: candidates (access path) → filter (vectorised, [`crate::filter`]) →
//! order (sort, top-k or index walk) → DISTINCT → OFFSET/LIMIT → rows. Rows are
//! materialised only for what is returned; unordered results are in insertion
//! order whatever the access path, because candidates are always position-sorted.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::ops::Bound;

use dictdb_engine::column::ColumnView;
use dictdb_engine::value::{hash_value, py_eq, total_cmp};
use dictdb_engine::{Index, IndexKind, Name, Record, TableData, Value, ValueRef};

use crate::error::Result;
use crate::expr::{BoundExpr, Datum};
use crate::filter::{self, Candidates};
use crate::plan::{Access, KeyRange, OrderKey, OrderStrategy, Plan};

/// Runs a plan; returns the result rows.
pub fn execute(plan: &Plan, data: &TableData) -> Result<Vec<Record>> {
    let filter = plan.filter.as_ref().map(|f| f.bind(data));
    let projection = Projection::new(plan.projection.as_deref(), data);
    if let OrderStrategy::IndexOrder { field, desc } = &plan.strategy
        && let Some(ix) = data
            .index(field)
            .filter(|ix| ix.kind() == IndexKind::Sorted)
    {
        return index_order(plan, data, ix, *desc, filter.as_ref(), &projection);
    }
    let positions = ordered_positions(plan, filter.as_ref(), data)?;
    finish(plan, data, &projection, positions)
}

/// The matching positions in result order (before paging), for every strategy
/// but an index walk.
fn ordered_positions(
    plan: &Plan,
    filter: Option<&BoundExpr>,
    data: &TableData,
) -> Result<Vec<u32>> {
    let positions = matching_positions(&plan.access, filter, data)?;
    Ok(match &plan.strategy {
        OrderStrategy::None => positions,
        OrderStrategy::TopK { k } => top_k(data, &plan.order_by, positions, *k)?,
        OrderStrategy::Sort | OrderStrategy::IndexOrder { .. } => {
            sort(data, &plan.order_by, positions)?
        }
    })
}

/// The positions of the result rows, in result order, when the rows are whole
/// stored rows (no projection) and the order does not come from walking a
/// sorted index; `None` otherwise (run [`execute`]). Lets a caller build its
/// own objects from borrowed rows under the lock instead of copying records.
pub fn execute_positions(plan: &Plan, data: &TableData) -> Result<Option<Vec<u32>>> {
    if plan.projection.is_some() {
        return Ok(None);
    }
    if let OrderStrategy::IndexOrder { field, .. } = &plan.strategy
        && data
            .index(field)
            .is_some_and(|ix| ix.kind() == IndexKind::Sorted)
    {
        return Ok(None);
    }
    let filter = plan.filter.as_ref().map(|f| f.bind(data));
    let positions = ordered_positions(plan, filter.as_ref(), data)?;
    // As `finish` pages rows without a projection (DISTINCT changes nothing:
    // every row holds its own key).
    let end = page_end(plan).min(positions.len());
    let start = plan.offset.min(end);
    Ok(Some(positions[start..end].to_vec()))
}

/// The positions matching the filter, ascending.
pub fn matching_positions(
    access: &Access,
    filter: Option<&BoundExpr>,
    data: &TableData,
) -> Result<Vec<u32>> {
    let cands = candidates(access, data);
    match filter {
        Some(f) => filter::select(data, f, &cands, true),
        None => Ok(cands.to_vec(data)),
    }
}

/// DISTINCT, paging and materialisation of ordered positions.
fn finish(
    plan: &Plan,
    data: &TableData,
    projection: &Projection,
    positions: Vec<u32>,
) -> Result<Vec<Record>> {
    let end = page_end(plan);
    if plan.distinct && projection.is_some() {
        let mut seen = RowSet::default();
        let mut rows = Vec::new();
        for p in positions {
            if rows.len() >= end {
                break;
            }
            let row = projection.row(data, p)?;
            if seen.insert(&row) {
                rows.push(row);
            }
        }
        return Ok(page(rows, plan.offset, plan.limit));
    }
    let start = plan.offset.min(positions.len());
    let end = end.min(positions.len());
    projection.rows(data, &positions[start..end])
}

/// Where the page ends among the ordered rows (`offset + limit`, unclamped).
fn page_end(plan: &Plan) -> usize {
    plan.limit
        .map_or(usize::MAX, |l| plan.offset.saturating_add(l))
}

fn page<T>(rows: Vec<T>, offset: usize, limit: Option<usize>) -> Vec<T> {
    rows.into_iter()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .collect()
}

/// Output columns, bound to the table.
pub(crate) struct Projection {
    items: Option<Vec<(Name, BoundExpr)>>,
}

impl Projection {
    pub(crate) fn new(items: Option<&[(Name, crate::expr::Expr)]>, data: &TableData) -> Projection {
        Projection {
            items: items.map(|items| {
                let names = result_names(items.iter().map(|(n, _)| n));
                names
                    .into_iter()
                    .zip(items)
                    .map(|(name, (_, e))| (name, e.bind(data)))
                    .collect()
            }),
        }
    }

    fn is_some(&self) -> bool {
        self.items.is_some()
    }

    /// The output rows at several positions, built column by column.
    pub(crate) fn rows(&self, data: &TableData, positions: &[u32]) -> Result<Vec<Record>> {
        let Some(items) = &self.items else {
            return Ok(data.records(positions));
        };
        let mut out: Vec<Record> = positions
            .iter()
            .map(|_| Record::with_capacity(items.len()))
            .collect();
        for (name, e) in items {
            match e {
                crate::expr::Expr::Column(c) => {
                    let vals: Vec<ValueRef<'_>> = positions
                        .iter()
                        .map(|&p| crate::expr::column_value(data, *c, p))
                        .collect();
                    for (r, v) in out.iter_mut().zip(vals) {
                        r.push_unique(name.clone(), v.to_owned());
                    }
                }
                e => {
                    for (r, &p) in out.iter_mut().zip(positions) {
                        r.push_unique(name.clone(), e.eval(data, p)?);
                    }
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn row(&self, data: &TableData, pos: u32) -> Result<Record> {
        match &self.items {
            None => Ok(data.record(pos)),
            Some(items) => {
                let mut r = Record::with_capacity(items.len());
                for (name, e) in items {
                    r.push_unique(name.clone(), e.eval(data, pos)?);
                }
                Ok(r)
            }
        }
    }
}

/// The names of result columns: a name already taken gets the first free suffix
/// `_1`, `_2`, … (how rows name duplicate select items).
pub fn result_names<'a>(names: impl IntoIterator<Item = &'a Name>) -> Vec<Name> {
    let mut out: Vec<Name> = Vec::new();
    for n in names {
        let name = if out.contains(n) {
            (1..)
                .map(|i| Name::from(format!("{n}_{i}")))
                .find(|c| !out.contains(c))
                .expect("some suffix is free")
        } else {
            n.clone()
        };
        out.push(name);
    }
    out
}

/// Rows already seen, for DISTINCT: Python equality per column (so a row holding
/// a NaN never equals another row).
#[derive(Default)]
struct RowSet {
    /// One hasher for every row: equal rows must hash alike.
    state: hashbrown::DefaultHashBuilder,
    seen: hashbrown::HashMap<u64, Vec<Vec<Value>>>,
}

impl RowSet {
    fn insert(&mut self, row: &Record) -> bool {
        use std::hash::{BuildHasher, Hasher};
        let mut h = self.state.build_hasher();
        for (_, v) in row.iter() {
            hash_value(v.as_ref(), &mut h);
        }
        let bucket = self.seen.entry(h.finish()).or_default();
        let same = |vals: &Vec<Value>| {
            vals.iter()
                .zip(row.iter())
                .all(|(a, (_, b))| py_eq(a.as_ref(), b.as_ref()))
        };
        if bucket.iter().any(same) {
            return false;
        }
        bucket.push(row.iter().map(|(_, v)| v.clone()).collect());
        true
    }
}

// ----- access paths ------------------------------------------------------------

/// The candidate rows of an access path. A path whose index no longer exists
/// falls back to every row (the filter is always re-checked).
pub fn candidates(access: &Access, data: &TableData) -> Candidates {
    match access {
        Access::FullScan => Candidates::All,
        Access::PkLookup { keys } => {
            let mut v: Vec<u32> = keys
                .iter()
                .filter_map(|k| data.lookup_key(k.as_ref()))
                .collect();
            v.sort_unstable();
            v.dedup();
            Candidates::List(v)
        }
        Access::IndexLookup {
            field,
            values,
            with_absent,
            ..
        } => match data.index(field) {
            None => Candidates::All,
            Some(ix) => {
                let mut lists: Vec<Vec<u32>> =
                    values.iter().map(|v| ix.lookup(v.as_ref())).collect();
                if *with_absent {
                    lists.push(ix.absent().to_vec());
                }
                Candidates::List(merge(lists))
            }
        },
        Access::IndexRange { field, ranges } => match data.index(field) {
            Some(ix) if ix.kind() == IndexKind::Sorted => {
                let mut lists: Vec<Vec<u32>> = Vec::new();
                for r in ranges {
                    for (_, p) in range_of(ix, r) {
                        lists.push(p.to_vec());
                    }
                }
                Candidates::List(merge(lists))
            }
            _ => Candidates::All,
        },
        Access::Union(parts) => {
            let mut acc: Vec<u32> = Vec::new();
            for p in parts {
                match candidates(p, data) {
                    Candidates::All => return Candidates::All,
                    Candidates::List(v) => acc = filter::union(&acc, &v),
                }
            }
            Candidates::List(acc)
        }
        Access::Choose(parts) => {
            let best = parts.iter().min_by_key(|p| cost(p, data));
            best.map_or(Candidates::All, |p| candidates(p, data))
        }
    }
}

fn range_of<'a>(ix: &'a Index, r: &KeyRange) -> impl Iterator<Item = (&'a Value, &'a [u32])> + 'a {
    ix.range(r.lower.as_ref(), r.upper.as_ref())
        .into_iter()
        .flatten()
}

/// The number of candidate rows an access path yields, without materialising them.
pub fn cost(access: &Access, data: &TableData) -> usize {
    match access {
        Access::FullScan => data.len(),
        Access::PkLookup { keys } => keys.len(),
        Access::IndexLookup {
            field,
            values,
            with_absent,
            ..
        } => match data.index(field) {
            None => data.len(),
            Some(ix) => {
                values.iter().map(|v| ix.count(v.as_ref())).sum::<usize>()
                    + if *with_absent { ix.absent().len() } else { 0 }
            }
        },
        Access::IndexRange { field, ranges } => match data.index(field) {
            Some(ix) if ix.kind() == IndexKind::Sorted => ranges
                .iter()
                .flat_map(|r| range_of(ix, r))
                .map(|(_, p)| p.len())
                .sum(),
            _ => data.len(),
        },
        Access::Union(parts) => parts
            .iter()
            .map(|p| cost(p, data))
            .sum::<usize>()
            .min(data.len()),
        Access::Choose(parts) => parts
            .iter()
            .map(|p| cost(p, data))
            .min()
            .unwrap_or(data.len()),
    }
}

/// Merges ascending lists into one ascending list without duplicates.
fn merge(mut lists: Vec<Vec<u32>>) -> Vec<u32> {
    lists.retain(|l| !l.is_empty());
    match lists.len() {
        0 => Vec::new(),
        1 => lists.pop().unwrap(),
        n if n <= 8 => lists
            .into_iter()
            .fold(Vec::new(), |acc, l| filter::union(&acc, &l)),
        _ => {
            let mut all: Vec<u32> = lists.concat();
            all.sort_unstable();
            all.dedup();
            all
        }
    }
}

// ----- ordering ----------------------------------------------------------------

/// Compares two values under one ORDER BY key.
#[inline]
pub fn cmp_key(a: ValueRef<'_>, b: ValueRef<'_>, key: &OrderKey) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if key.nulls_first() {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, true) => {
            if key.nulls_first() {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, false) => {
            let o = total_cmp(a, b);
            if key.desc { o.reverse() } else { o }
        }
    }
}

/// Sort keys of the candidates, one vector per ORDER BY key.
struct KeyColumns<'a> {
    cols: Vec<Vec<Datum<'a>>>,
}

impl<'a> KeyColumns<'a> {
    fn new(
        data: &'a TableData,
        bound: &'a [BoundExpr],
        positions: &[u32],
    ) -> Result<KeyColumns<'a>> {
        let cols = bound
            .iter()
            .map(|e| {
                positions
                    .iter()
                    .map(|&p| e.eval_datum(data, p))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(KeyColumns { cols })
    }

    fn cmp(&self, keys: &[OrderKey], i: usize, j: usize) -> Ordering {
        for (col, key) in self.cols.iter().zip(keys) {
            let o = cmp_key(col[i].get(), col[j].get(), key);
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

/// A float as an integer with the same total order (NaN greatest, all NaNs equal,
/// `-0.0 == 0.0`), so heaps and sorts compare integers.
#[inline]
fn f64_key(x: f64) -> u64 {
    if x.is_nan() {
        return u64::MAX;
    }
    let bits = (x + 0.0).to_bits(); // -0.0 + 0.0 == +0.0
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// A single sort key over a typed column without NULLs: the fast path.
enum FastKey<'a> {
    Int(&'a [i64]),
    Float(&'a [f64]),
}

fn fast_key<'a>(
    data: &'a TableData,
    keys: &[OrderKey],
    positions: &[u32],
) -> Option<(FastKey<'a>, bool)> {
    let [key] = keys else { return None };
    let name = key.expr.as_column()?;
    let column = data.column(data.column_id(name)?);
    if column.nulls().is_some()
        || positions
            .last()
            .is_some_and(|&p| p as usize >= column.len())
    {
        return None;
    }
    let fk = match column.view() {
        ColumnView::Int(v) => FastKey::Int(v),
        ColumnView::Float(v) => FastKey::Float(v),
        _ => return None,
    };
    Some((fk, key.desc))
}

/// The `k` first positions in key order (ties in insertion order), sorted. Large
/// inputs run one bounded heap per chunk on rayon's pool, then one over the
/// chunks' winners: `(key, position)` is a total order, so the result is exact.
fn heap_top<K: Ord + Copy + Send>(
    positions: &[u32],
    k: usize,
    key: impl Fn(u32) -> K + Sync,
) -> Vec<u32> {
    use crate::filter::{PARALLEL_CHUNK, PARALLEL_MIN_ROWS};
    use rayon::prelude::*;
    if positions.len() >= PARALLEL_MIN_ROWS
        && k < PARALLEL_CHUNK
        && rayon::current_num_threads() > 1
    {
        let winners: Vec<u32> = positions
            .par_chunks(PARALLEL_CHUNK)
            .flat_map_iter(|chunk| heap_top_seq(chunk, k, &key))
            .collect();
        let mut winners = winners;
        winners.sort_unstable();
        return heap_top_seq(&winners, k, &key);
    }
    heap_top_seq(positions, k, &key)
}

fn heap_top_seq<K: Ord + Copy>(positions: &[u32], k: usize, key: impl Fn(u32) -> K) -> Vec<u32> {
    if k == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<(K, u32)> = BinaryHeap::with_capacity(k + 1);
    for &p in positions {
        let e = (key(p), p);
        if heap.len() < k {
            heap.push(e);
        } else if let Some(mut top) = heap.peek_mut()
            && e < *top
        {
            *top = e;
        }
    }
    let mut v = heap.into_vec();
    v.sort_unstable();
    v.into_iter().map(|(_, p)| p).collect()
}

fn sorted_by<K: Ord + Copy>(positions: &[u32], key: impl Fn(u32) -> K) -> Vec<u32> {
    let mut v: Vec<(K, u32)> = positions.iter().map(|&p| (key(p), p)).collect();
    v.sort_unstable();
    v.into_iter().map(|(_, p)| p).collect()
}

/// Stable multi-key sort of positions.
pub fn sort(data: &TableData, keys: &[OrderKey], positions: Vec<u32>) -> Result<Vec<u32>> {
    if let Some((fk, desc)) = fast_key(data, keys, &positions) {
        return Ok(match (fk, desc) {
            (FastKey::Int(v), false) => sorted_by(&positions, |p| v[p as usize]),
            (FastKey::Int(v), true) => sorted_by(&positions, |p| Reverse(v[p as usize])),
            (FastKey::Float(v), false) => sorted_by(&positions, |p| f64_key(v[p as usize])),
            (FastKey::Float(v), true) => sorted_by(&positions, |p| Reverse(f64_key(v[p as usize]))),
        });
    }
    let bound: Vec<BoundExpr> = keys.iter().map(|k| k.expr.bind(data)).collect();
    let cols = KeyColumns::new(data, &bound, &positions)?;
    let mut idx: Vec<usize> = (0..positions.len()).collect();
    idx.sort_by(|&i, &j| cols.cmp(keys, i, j));
    Ok(idx.into_iter().map(|i| positions[i]).collect())
}

/// The first `k` positions of the stable sort, in order.
pub fn top_k(
    data: &TableData,
    keys: &[OrderKey],
    positions: Vec<u32>,
    k: usize,
) -> Result<Vec<u32>> {
    if k >= positions.len() {
        return sort(data, keys, positions);
    }
    if let Some((fk, desc)) = fast_key(data, keys, &positions) {
        return Ok(match (fk, desc) {
            (FastKey::Int(v), false) => heap_top(&positions, k, |p| v[p as usize]),
            (FastKey::Int(v), true) => heap_top(&positions, k, |p| Reverse(v[p as usize])),
            (FastKey::Float(v), false) => heap_top(&positions, k, |p| f64_key(v[p as usize])),
            (FastKey::Float(v), true) => {
                heap_top(&positions, k, |p| Reverse(f64_key(v[p as usize])))
            }
        });
    }
    let bound: Vec<BoundExpr> = keys.iter().map(|kx| kx.expr.bind(data)).collect();
    let cols = KeyColumns::new(data, &bound, &positions)?;
    // Ties broken by position make the unstable selection deterministic and equal
    // to the stable sort.
    let cmp = |&i: &usize, &j: &usize| cols.cmp(keys, i, j).then(i.cmp(&j));
    let mut idx: Vec<usize> = (0..positions.len()).collect();
    if k > 0 {
        idx.select_nth_unstable_by(k - 1, cmp);
    }
    idx.truncate(k);
    idx.sort_by(cmp);
    Ok(idx.into_iter().map(|i| positions[i]).collect())
}

/// Walks a sorted index in key order, checking the filter row by row, and stops as
/// soon as `offset + limit` rows are found.
fn index_order(
    plan: &Plan,
    data: &TableData,
    ix: &Index,
    desc: bool,
    filter: Option<&BoundExpr>,
    projection: &Projection,
) -> Result<Vec<Record>> {
    // NULL and absent rows are one group of ties, in insertion order.
    let nulls = filter::union(&ix.lookup(ValueRef::Null), ix.absent());
    let non_null = ix
        .range(Bound::Excluded(&Value::Null), Bound::Unbounded)
        .expect("a sorted index has ranges");
    let ordered: Box<dyn Iterator<Item = u32> + '_> = if desc {
        Box::new(
            non_null
                .rev()
                .flat_map(|(_, p)| p.iter().copied())
                .chain(nulls),
        )
    } else {
        Box::new(
            nulls
                .into_iter()
                .chain(non_null.flat_map(|(_, p)| p.iter().copied())),
        )
    };
    let need = plan
        .limit
        .map_or(usize::MAX, |l| plan.offset.saturating_add(l));
    let mut rows = Vec::new();
    let mut seen = RowSet::default();
    for p in ordered {
        if rows.len() >= need {
            break;
        }
        if let Some(f) = filter
            && f.truth(data, p)? != Some(true)
        {
            continue;
        }
        let row = projection.row(data, p)?;
        if plan.distinct && projection.is_some() && !seen.insert(&row) {
            continue;
        }
        rows.push(row);
    }
    Ok(page(rows, plan.offset, plan.limit))
}

#[cfg(test)]
mod tests {
    use super::f64_key;
    use dictdb_engine::ValueRef;
    use dictdb_engine::value::total_cmp;

    /// Top-k over many candidates (the parallel path) equals the full stable sort
    /// cut to k, with heavy ties.
    #[test]
    fn parallel_top_k_equals_sort_then_truncate() {
        use crate::plan::OrderKey;
        use dictdb_engine::{Catalog, Record, record};
        let catalog = Catalog::new();
        let t = catalog.create_table("t", "id", None).unwrap();
        let rows: Vec<Record> = (0..300_000i64)
            .map(|i| record! { "s" => ((i * 7919) % 1000) as f64 / 10.0, "n" => (i * 31) % 50 })
            .collect();
        t.insert_many(rows).unwrap();
        let data = t.read();
        let all: Vec<u32> = data.positions().collect();
        for key in [
            OrderKey::desc("s"),
            OrderKey::asc("s"),
            OrderKey::desc("n"),
            OrderKey::asc("n"),
        ] {
            let keys = [key];
            for k in [1, 10, 777] {
                let top = super::top_k(&data, &keys, all.clone(), k).unwrap();
                let mut full = super::sort(&data, &keys, all.clone()).unwrap();
                full.truncate(k);
                assert_eq!(top, full);
            }
        }
    }

    #[test]
    fn float_keys_follow_the_total_order() {
        let xs = [
            f64::NEG_INFINITY,
            -1.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(
                    f64_key(a).cmp(&f64_key(b)),
                    total_cmp(ValueRef::Float(a), ValueRef::Float(b)),
                    "{a} vs {b}"
                );
            }
        }
    }
}
