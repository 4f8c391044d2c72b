//! Vectorised filtering: the positions at which a condition is true (or false).
//!
//! [`select`] works on whole selections rather than row by row: a leaf predicate
//! over one column (`col op constant`, `BETWEEN`, `IN`, `LIKE`, …) runs as one loop
//! over that column's typed storage, and `AND`/`OR`/`NOT` combine sorted position
//! lists. Asking for the rows where a condition is *false* (not merely not true) is
//! what lets `NOT` follow Kleene logic on selections: `NOT x` is true exactly where
//! `x` is false.
//!
//! Positions come out ascending, i.e. in insertion order.

use dictdb_engine::column::ColumnView;
use dictdb_engine::value::{Number, py_eq};
use dictdb_engine::{TableData, Value, ValueRef};

use crate::error::Result;
use crate::expr::{self, BoundExpr, CmpOp, Expr, StrOp, Tri};
use crate::like::LikePattern;

/// The rows a filter starts from.
#[derive(Clone, Debug)]
pub enum Candidates {
    /// Every live row.
    All,
    /// These live positions, ascending.
    List(Vec<u32>),
}

impl Candidates {
    /// Number of candidate rows.
    pub fn len(&self, data: &TableData) -> usize {
        match self {
            Candidates::All => data.len(),
            Candidates::List(v) => v.len(),
        }
    }

    /// True when there is no candidate.
    pub fn is_empty(&self, data: &TableData) -> bool {
        self.len(data) == 0
    }

    /// The positions, materialised.
    pub fn to_vec(&self, data: &TableData) -> Vec<u32> {
        match self {
            Candidates::All => all_positions(data),
            Candidates::List(v) => v.clone(),
        }
    }
}

/// The positions `0..n` (at least; slice to `n`), shared and grown as needed, so
/// full scans need not allocate (and page-fault in) a fresh position list per query.
pub fn identity(n: usize) -> std::sync::Arc<[u32]> {
    use parking_lot::RwLock;
    use std::sync::{Arc, OnceLock};
    static IDENTITY: OnceLock<RwLock<Arc<[u32]>>> = OnceLock::new();
    let cell = IDENTITY.get_or_init(|| RwLock::new(Arc::from(Vec::new())));
    {
        let cur = cell.read();
        if cur.len() >= n {
            return cur.clone();
        }
    }
    let mut cur = cell.write();
    if cur.len() < n {
        *cur = (0..n.next_power_of_two() as u32)
            .collect::<Vec<u32>>()
            .into();
    }
    cur.clone()
}

/// Every live position, ascending.
pub fn all_positions(data: &TableData) -> Vec<u32> {
    if data.is_dense() {
        (0..data.n_positions() as u32).collect()
    } else {
        data.positions().collect()
    }
}

/// Calls `f` for each candidate position, in order.
#[inline]
fn for_each_cand(data: &TableData, cands: &Candidates, mut f: impl FnMut(u32)) {
    match cands {
        Candidates::All if data.is_dense() => (0..data.n_positions() as u32).for_each(f),
        Candidates::All => data.positions().for_each(f),
        Candidates::List(v) => v.iter().for_each(|&p| f(p)),
    }
}

/// The candidates at which `keep` holds.
#[inline(always)]
fn scan(data: &TableData, cands: &Candidates, keep: impl FnMut(u32) -> bool) -> Vec<u32> {
    match cands {
        Candidates::All if data.is_dense() => collect_where(0..data.n_positions() as u32, keep),
        Candidates::All => collect_where(data.positions(), keep),
        Candidates::List(v) => collect_where(v.iter().copied(), keep),
    }
}

/// The positions at which `keep` holds, branch-free: every position is written
/// to a small buffer and the write index advances only when `keep` holds, so a
/// 50/50 predicate costs no branch mispredictions.
#[inline(always)]
fn collect_where(
    positions: impl Iterator<Item = u32>,
    mut keep: impl FnMut(u32) -> bool,
) -> Vec<u32> {
    const CHUNK: usize = 1024;
    let mut out = Vec::new();
    let mut buf = [0u32; CHUNK];
    let mut n = 0usize;
    for p in positions {
        buf[n] = p;
        n += keep(p) as usize;
        if n == CHUNK {
            out.extend_from_slice(&buf);
            n = 0;
        }
    }
    out.extend_from_slice(&buf[..n]);
    out
}

/// Inputs at least this large are filtered, aggregated and top-k'd on several cores.
pub(crate) const PARALLEL_MIN_ROWS: usize = 1 << 17;

/// Rows per chunk of a parallel pass.
pub(crate) const PARALLEL_CHUNK: usize = 1 << 16;

/// [`scan`] for a stateless test: a full scan of a large table runs in chunks
/// on rayon's pool, concatenated in position order.
#[inline(always)]
fn scan_sync(data: &TableData, cands: &Candidates, keep: impl Fn(u32) -> bool + Sync) -> Vec<u32> {
    use rayon::prelude::*;
    const CHUNK: usize = PARALLEL_CHUNK;
    let n = data.n_positions();
    if matches!(cands, Candidates::All)
        && data.is_dense()
        && n >= PARALLEL_MIN_ROWS
        && rayon::current_num_threads() > 1
    {
        let parts: Vec<Vec<u32>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|i| {
                let (lo, hi) = (i * CHUNK, ((i + 1) * CHUNK).min(n));
                collect_where(lo as u32..hi as u32, &keep)
            })
            .collect();
        return parts.concat();
    }
    scan(data, cands, keep)
}

fn try_scan(
    data: &TableData,
    cands: &Candidates,
    mut keep: impl FnMut(u32) -> Result<bool>,
) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    let mut err = None;
    for_each_cand(data, cands, |p| {
        if err.is_some() {
            return;
        }
        match keep(p) {
            Ok(true) => out.push(p),
            Ok(false) => {}
            Err(e) => err = Some(e),
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Sorted union of two ascending lists.
pub fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Sorted intersection of two ascending lists.
pub fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The candidates not in `sub` (ascending, a subset of the candidates).
fn difference(data: &TableData, cands: &Candidates, sub: &[u32]) -> Vec<u32> {
    let mut j = 0;
    scan(data, cands, |p| {
        while j < sub.len() && sub[j] < p {
            j += 1;
        }
        !(j < sub.len() && sub[j] == p)
    })
}

/// A predicate over one column's value with constant operands.
enum Leaf<'e> {
    Cmp(CmpOp, &'e Value),
    Between(&'e Value, &'e Value),
    In(Vec<&'e Value>),
    Like(&'e LikePattern),
    Str(StrOp, &'e [String], bool),
    Contains(&'e Value),
    IsNull,
    /// The column itself used as a condition.
    Truthy,
}

impl Leaf<'_> {
    #[inline]
    fn eval(&self, v: ValueRef<'_>) -> Result<Tri> {
        Ok(match self {
            Leaf::Cmp(op, x) => op.apply(v, x.as_ref()),
            Leaf::Between(lo, hi) => expr::between(v, lo.as_ref(), hi.as_ref()),
            Leaf::In(items) => {
                if v.is_null() {
                    return Ok(None);
                }
                let mut saw_null = false;
                for m in items {
                    if m.is_null() {
                        saw_null = true;
                    } else if py_eq(v, m.as_ref()) {
                        return Ok(Some(true));
                    }
                }
                if saw_null { None } else { Some(false) }
            }
            Leaf::Like(p) => expr::like(p, v),
            Leaf::Str(op, needles, ic) => expr::str_test(*op, needles, *ic, v),
            Leaf::Contains(item) => expr::contains(v, item.as_ref()),
            Leaf::IsNull => Some(v.is_null()),
            Leaf::Truthy => expr::truthiness(v)?,
        })
    }
}

/// Recognises `column op constants` shapes.
fn as_leaf(e: &BoundExpr) -> Option<(Option<u32>, Leaf<'_>)> {
    let column = |e: &BoundExpr| e.as_column().copied();
    Some(match e {
        Expr::Cmp { op, left, right } => match (&**left, &**right) {
            (Expr::Column(c), Expr::Literal(v)) => (*c, Leaf::Cmp(*op, v)),
            (Expr::Literal(v), Expr::Column(c)) => (*c, Leaf::Cmp(op.flip(), v)),
            _ => return None,
        },
        Expr::Between { expr, low, high } => (
            column(expr)?,
            Leaf::Between(low.as_literal()?, high.as_literal()?),
        ),
        Expr::InList { expr, list } => {
            let items: Option<Vec<&Value>> = list.iter().map(|e| e.as_literal()).collect();
            (column(expr)?, Leaf::In(items?))
        }
        Expr::Like { expr, pattern } => (column(expr)?, Leaf::Like(pattern)),
        Expr::StrTest {
            expr,
            op,
            needles,
            ignore_case,
        } => (column(expr)?, Leaf::Str(*op, needles, *ignore_case)),
        Expr::Contains { expr, item } => (column(expr)?, Leaf::Contains(item)),
        Expr::IsNull(inner) => (column(inner)?, Leaf::IsNull),
        Expr::Column(c) => (*c, Leaf::Truthy),
        _ => return None,
    })
}

/// A number that converts to `f64` exactly (comparisons in `f64` are then exact).
fn exact_f64(v: &Value) -> Option<f64> {
    match v.as_ref().as_number()? {
        Number::Float(x) => Some(x),
        Number::Int(i) if i.unsigned_abs() <= 1 << 53 => Some(i as f64),
        Number::Int(_) => None,
    }
}

/// An integer constant (bools count as 0/1).
fn int_const(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(*b as i64),
        _ => None,
    }
}

/// `x op l` for integers as an inclusive range `[lo, hi]`, plus whether the test
/// is the range's complement (`<>`). `None`: the test never holds.
fn int_range(op: CmpOp, l: i64) -> Option<(i64, i64, bool)> {
    Some(match op {
        CmpOp::Eq => (l, l, false),
        CmpOp::Ne => (l, l, true),
        CmpOp::Lt => (i64::MIN, l.checked_sub(1)?, false),
        CmpOp::Le => (i64::MIN, l, false),
        CmpOp::Gt => (l.checked_add(1)?, i64::MAX, false),
        CmpOp::Ge => (l, i64::MAX, false),
    })
}

/// `x op l` for floats as an inclusive range (NaN is in no range, as NaN
/// compares false); `None`: the test never holds for a non-NaN `x`.
fn float_range(op: CmpOp, l: f64) -> Option<(f64, f64, bool)> {
    if l.is_nan() {
        return match op {
            CmpOp::Ne => Some((f64::INFINITY, f64::NEG_INFINITY, true)),
            _ => None,
        };
    }
    Some(match op {
        CmpOp::Eq => (l, l, false),
        CmpOp::Ne => (l, l, true),
        CmpOp::Lt if l == f64::NEG_INFINITY => return None,
        CmpOp::Lt => (f64::NEG_INFINITY, l.next_down(), false),
        CmpOp::Le => (f64::NEG_INFINITY, l, false),
        CmpOp::Gt if l == f64::INFINITY => return None,
        CmpOp::Gt => (l.next_up(), f64::INFINITY, false),
        CmpOp::Ge => (l, f64::INFINITY, false),
    })
}

fn leaf_select(
    data: &TableData,
    col: Option<u32>,
    leaf: &Leaf<'_>,
    cands: &Candidates,
    want: bool,
) -> Result<Vec<u32>> {
    let null_ok = leaf.eval(ValueRef::Null)? == Some(want);
    let Some(c) = col else {
        return Ok(if null_ok {
            cands.to_vec(data)
        } else {
            Vec::new()
        });
    };
    let column = data.column(c);
    let len = column.len();
    let nulls = column.nulls();
    let covered = match cands {
        Candidates::All => data.n_positions() <= len,
        Candidates::List(v) => v.last().is_none_or(|&p| (p as usize) < len),
    };
    let no_nulls = nulls.is_none() && covered;
    let is_null = |p: usize| p >= len || nulls.is_some_and(|n| n.contains(p));
    // A test over non-NULL values; NULL positions answer `null_ok`. `typed!` runs
    // a stateless test (in parallel on large tables), `typed_seq!` a stateful one.
    macro_rules! typed_with {
        ($scan:ident, $test:expr) => {{
            #[allow(unused_mut)]
            let mut test = $test;
            if no_nulls {
                Ok($scan(data, cands, |p| test(p as usize) == want))
            } else {
                Ok($scan(data, cands, |p| {
                    let p = p as usize;
                    if is_null(p) { null_ok } else { test(p) == want }
                }))
            }
        }};
    }
    macro_rules! typed {
        ($test:expr) => {
            typed_with!(scan_sync, $test)
        };
    }
    macro_rules! typed_seq {
        ($test:expr) => {
            typed_with!(scan, $test)
        };
    }
    // An inclusive range test, complemented for `<>`.
    macro_rules! in_range {
        ($v:expr, $range:expr) => {{
            let v = $v;
            match $range {
                None => typed!(|_p: usize| false),
                Some((lo, hi, false)) => typed!(|p: usize| lo <= v[p] && v[p] <= hi),
                Some((lo, hi, true)) => typed!(|p: usize| !(lo <= v[p] && v[p] <= hi)),
            }
        }};
    }
    match (column.view(), leaf) {
        (ColumnView::Empty, _) => Ok(if null_ok {
            cands.to_vec(data)
        } else {
            Vec::new()
        }),
        (ColumnView::Int(v), Leaf::Cmp(op, lit)) if int_const(lit).is_some() => {
            in_range!(v, int_range(*op, int_const(lit).unwrap()))
        }
        (ColumnView::Int(v), Leaf::Between(lo, hi))
            if int_const(lo).is_some() && int_const(hi).is_some() =>
        {
            in_range!(
                v,
                Some((int_const(lo).unwrap(), int_const(hi).unwrap(), false))
            )
        }
        (ColumnView::Float(v), Leaf::Cmp(op, lit)) if exact_f64(lit).is_some() => {
            in_range!(v, float_range(*op, exact_f64(lit).unwrap()))
        }
        (ColumnView::Float(v), Leaf::Between(lo, hi))
            if exact_f64(lo).is_some() && exact_f64(hi).is_some() =>
        {
            let (lo, hi) = (exact_f64(lo).unwrap(), exact_f64(hi).unwrap());
            typed!(|p: usize| lo <= v[p] && v[p] <= hi)
        }
        (ColumnView::Bool(v), Leaf::Truthy) => typed!(|p: usize| v[p]),
        (ColumnView::Bool(v), Leaf::Cmp(op @ (CmpOp::Eq | CmpOp::Ne), lit))
            if int_const(lit).is_some() =>
        {
            let l = int_const(lit).unwrap();
            match (l, *op) {
                (0, CmpOp::Eq) | (1, CmpOp::Ne) => typed!(|p: usize| !v[p]),
                (1, CmpOp::Eq) | (0, CmpOp::Ne) => typed!(|p: usize| v[p]),
                (_, CmpOp::Eq) => typed!(|_p: usize| false),
                _ => typed!(|_p: usize| true),
            }
        }
        // Once per dictionary entry, unless an entry fails (text as a condition):
        // entries no candidate row holds (deleted, or never in this range) must
        // not fail the query, so then the rows are tested one by one.
        (ColumnView::StrDict(d), _)
            if d.dict().iter().all(|s| leaf.eval(ValueRef::Str(s)).is_ok()) =>
        {
            let table: Vec<bool> = d
                .dict()
                .iter()
                .map(|s| leaf.eval(ValueRef::Str(s)).ok().flatten() == Some(want))
                .collect();
            let codes = d.codes();
            if no_nulls {
                Ok(scan_sync(data, cands, |p| {
                    table[codes[p as usize] as usize]
                }))
            } else {
                Ok(scan_sync(data, cands, |p| {
                    let p = p as usize;
                    if is_null(p) {
                        null_ok
                    } else {
                        table[codes[p] as usize]
                    }
                }))
            }
        }
        (ColumnView::StrArena(a), Leaf::Like(pat)) => match pat.contains_finder() {
            Some(finder) => {
                let mut search = HeapSearch::new(a.heap(), finder);
                typed_seq!(|p: usize| search.contains(a.span(p)))
            }
            None => typed!(|p: usize| pat.matches(a.get(p))),
        },
        _ => try_scan(data, cands, |p| {
            Ok(leaf.eval(column.get(p as usize))? == Some(want))
        }),
    }
}

/// Substring search over an arena's heap for rows visited in heap order: one
/// memmem pass finds the next occurrence, and every row before it is a non-match
/// without being searched. A row stored before the last search point (after an
/// update) is searched on its own, so the answer is always exact.
struct HeapSearch<'a> {
    heap: &'a [u8],
    finder: &'a memchr::memmem::Finder<'static>,
    /// The first occurrence at or after `from` (`None`: no occurrence after `from`).
    next: Option<usize>,
    from: usize,
    searched: bool,
}

impl<'a> HeapSearch<'a> {
    fn new(heap: &'a [u8], finder: &'a memchr::memmem::Finder<'static>) -> Self {
        HeapSearch {
            heap,
            finder,
            next: None,
            from: 0,
            searched: false,
        }
    }

    /// True if the needle occurs within `heap[off..off + len]`.
    #[inline]
    fn contains(&mut self, (off, len): (usize, usize)) -> bool {
        let m = self.finder.needle().len();
        if len < m {
            return false;
        }
        let end = off + len;
        if self.searched && off < self.from {
            return self.finder.find(&self.heap[off..end]).is_some();
        }
        if !self.searched || self.next.is_some_and(|h| h < off) {
            self.next = self.finder.find(&self.heap[off..]).map(|i| off + i);
            self.from = off;
            self.searched = true;
        }
        // The first occurrence at or after `off` decides: if it runs past the
        // row's end, every later one does too.
        self.next.is_some_and(|h| h + m <= end)
    }
}

/// The candidates at which `e` evaluates to `want` (never those where it is
/// unknown), ascending.
pub fn select(data: &TableData, e: &BoundExpr, cands: &Candidates, want: bool) -> Result<Vec<u32>> {
    if let Some((col, leaf)) = as_leaf(e) {
        return leaf_select(data, col, &leaf, cands, want);
    }
    match e {
        Expr::Literal(v) => {
            let t = expr::truthiness(v.as_ref())?;
            Ok(if t == Some(want) {
                cands.to_vec(data)
            } else {
                Vec::new()
            })
        }
        Expr::Not(inner) => select(data, inner, cands, !want),
        Expr::IsTrue(inner) => {
            let t = select(data, inner, cands, true)?;
            if want {
                Ok(t)
            } else {
                Ok(difference(data, cands, &t))
            }
        }
        // Narrowing: AND true / OR false keep the rows every part agrees on.
        Expr::And(parts) if want => narrow(data, parts, cands, true),
        Expr::Or(parts) if !want => narrow(data, parts, cands, false),
        // Widening: AND false / OR true take the rows any part decides.
        Expr::And(parts) | Expr::Or(parts) => {
            let mut found: Vec<u32> = Vec::new();
            let mut rest = cands.clone();
            for part in parts {
                if rest.is_empty(data) {
                    break;
                }
                let hit = select(data, part, &rest, want)?;
                if hit.is_empty() {
                    continue;
                }
                rest = Candidates::List(difference(data, &rest, &hit));
                found = union(&found, &hit);
            }
            Ok(found)
        }
        other => try_scan(data, cands, |p| Ok(other.truth(data, p)? == Some(want))),
    }
}

fn narrow(
    data: &TableData,
    parts: &[BoundExpr],
    cands: &Candidates,
    want: bool,
) -> Result<Vec<u32>> {
    let mut cur = cands.clone();
    for part in parts {
        cur = Candidates::List(select(data, part, &cur, want)?);
        if cur.is_empty(data) {
            break;
        }
    }
    Ok(cur.to_vec(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dictdb_engine::{Catalog, Record, record};

    /// Large full scans run in parallel chunks; the result is the same positions,
    /// in order, as the sequential loop.
    #[test]
    fn parallel_scan_equals_sequential() {
        let catalog = Catalog::new();
        let t = catalog.create_table("t", "id", None).unwrap();
        let n = PARALLEL_MIN_ROWS + 12_345;
        let rows: Vec<Record> = (0..n as i64)
            .map(|i| record! { "a" => (i * 7919) % 1000, "b" => i % 3 == 0 })
            .collect();
        t.insert_many(rows).unwrap();
        let data = t.read();
        let a = data.column_id("a").unwrap();
        for (expr, test) in [
            (
                crate::expr::col("a").lt(250),
                Box::new(|v: ValueRef<'_>| matches!(v, ValueRef::Int(x) if x < 250))
                    as Box<dyn Fn(ValueRef<'_>) -> bool>,
            ),
            (
                crate::expr::col("a").eq(999),
                Box::new(|v: ValueRef<'_>| matches!(v, ValueRef::Int(999))),
            ),
        ] {
            let got = select(&data, &expr.bind(&data), &Candidates::All, true).unwrap();
            let expected: Vec<u32> = (0..n as u32).filter(|&p| test(data.value(p, a))).collect();
            assert_eq!(got, expected);
        }
        let b = crate::expr::col("b").bind(&data);
        let got = select(&data, &b, &Candidates::All, false).unwrap();
        assert_eq!(got.len(), n - n.div_ceil(3));
        assert!(got.windows(2).all(|w| w[0] < w[1]));
    }

    /// The one-pass heap search agrees with matching row by row, also after
    /// updates move strings out of heap order and where an occurrence straddles
    /// two rows' bytes.
    #[test]
    fn heap_search_equals_row_by_row_like() {
        let catalog = Catalog::new();
        let t = catalog.create_table("t", "id", None).unwrap();
        let rows: Vec<Record> = (0..6000)
            .map(|i| record! { "s" => format!("x{i}9") })
            .collect();
        t.insert_many(rows).unwrap();
        {
            let mut data = t.write();
            let ps: Vec<u32> = data.positions().filter(|p| p % 7 == 0).collect();
            for p in ps {
                let key = data.key_at(p).to_owned();
                let pos = data.lookup_key(key.as_ref()).unwrap();
                data.update_positions(&[pos], &record! { "s" => format!("9{p}") }, false)
                    .unwrap();
            }
        }
        let data = t.read();
        let col = data.column_id("s").unwrap();
        assert_eq!(data.column(col).storage_name(), "str-arena");
        for pattern in ["%99%", "%9%", "%x1%", "%1999%", "%zz%", "%9x%"] {
            let expr: BoundExpr = crate::expr::col("s").like(pattern).bind(&data);
            let got = select(&data, &expr, &Candidates::All, true).unwrap();
            let pat = LikePattern::new(pattern, None, false);
            let expected: Vec<u32> = data
                .positions()
                .filter(|&p| match data.value(p, col) {
                    ValueRef::Str(s) => pat.matches(s),
                    _ => false,
                })
                .collect();
            assert_eq!(got, expected, "{pattern}");
        }
    }
}
