//! Aggregates: COUNT, COUNT(field), COUNT(DISTINCT), SUM, AVG, MIN, MAX, with GROUP
//! BY on one or more fields.
//!
//! Execution is columnar: the matching rows get a group id each (for a
//! dictionary-encoded text key, straight from its codes), then each aggregate runs
//! as one typed loop over its input column. Groups come out in order of first
//! appearance; NULL and absent values form one group; group keys compare by Python
//! equality (`1` and `1.0` are one group, shown with the first value seen).
//!
//! Semantics (python-api.md §8, sql.md): COUNT(x) counts non-NULL values; SUM of
//! ints is an exact int (a result outside 64 bits is an overflow error), of any
//! float a float (compensated summation); booleans count as 0/1; AVG is always a
//! float; MIN/MAX use the total order; over no values SUM/AVG/MIN/MAX are NULL.

use std::cmp::Ordering;

use dictdb_engine::column::ColumnView;
use dictdb_engine::value::{HashKey, HashKeyRef, total_cmp};
use dictdb_engine::{Name, Record, TableData, Value, ValueRef};
use hashbrown::{HashMap, HashSet};

use crate::error::{QueryError, Result};
use crate::expr::{BoundExpr, Expr, col};
use crate::plan::Access;
use crate::planner::{PlannerConfig, TableInfo};

/// An aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggFunc {
    /// `COUNT(*)` (no argument) or `COUNT(x)` (non-NULL values).
    Count,
    /// `COUNT(DISTINCT x)`.
    CountDistinct,
    /// `SUM(x)`.
    Sum,
    /// `AVG(x)`.
    Avg,
    /// `MIN(x)`.
    Min,
    /// `MAX(x)`.
    Max,
}

impl AggFunc {
    /// The SQL name.
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count | AggFunc::CountDistinct => "COUNT",
            AggFunc::Sum => "SUM",
            AggFunc::Avg => "AVG",
            AggFunc::Min => "MIN",
            AggFunc::Max => "MAX",
        }
    }
}

/// One aggregate: a function and its argument (`None` only for `COUNT(*)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Agg {
    /// The function.
    pub func: AggFunc,
    /// Its argument.
    pub arg: Option<Expr>,
}

impl Agg {
    /// `COUNT(*)`: every row.
    pub fn count() -> Agg {
        Agg {
            func: AggFunc::Count,
            arg: None,
        }
    }
    /// `COUNT(field)`: non-NULL values.
    pub fn count_field(field: &str) -> Agg {
        Agg::of(AggFunc::Count, field)
    }
    /// `COUNT(DISTINCT field)`.
    pub fn count_distinct(field: &str) -> Agg {
        Agg::of(AggFunc::CountDistinct, field)
    }
    /// `SUM(field)`.
    pub fn sum(field: &str) -> Agg {
        Agg::of(AggFunc::Sum, field)
    }
    /// `AVG(field)`.
    pub fn avg(field: &str) -> Agg {
        Agg::of(AggFunc::Avg, field)
    }
    /// `MIN(field)`.
    pub fn min(field: &str) -> Agg {
        Agg::of(AggFunc::Min, field)
    }
    /// `MAX(field)`.
    pub fn max(field: &str) -> Agg {
        Agg::of(AggFunc::Max, field)
    }
    /// A function over a field.
    pub fn of(func: AggFunc, field: &str) -> Agg {
        Agg {
            func,
            arg: Some(col(field)),
        }
    }
}

/// An aggregate query: filter, group keys and named aggregates.
///
/// ```
/// use dictdb_query::{Agg, Aggregation, col};
/// let a = Aggregation::new()
///     .filter(col("active").eq(true))
///     .group_by(["city"])
///     .agg("n", Agg::count())
///     .agg("avg_score", Agg::avg("score"));
/// assert_eq!(a.names(), ["n", "avg_score"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Aggregation {
    pub(crate) filter: Option<Expr>,
    pub(crate) group_by: Vec<(Name, Expr)>,
    pub(crate) aggs: Vec<(Name, Agg)>,
}

impl Aggregation {
    /// No filter, no groups, no aggregates.
    pub fn new() -> Aggregation {
        Aggregation::default()
    }

    /// Aggregates only the rows where the condition is true.
    pub fn filter(mut self, condition: Expr) -> Aggregation {
        self.filter = Some(match self.filter.take() {
            Some(f) => f.and(condition),
            None => condition,
        });
        self
    }

    /// Groups by these fields.
    pub fn group_by<'a>(mut self, fields: impl IntoIterator<Item = &'a str>) -> Aggregation {
        self.group_by
            .extend(fields.into_iter().map(|f| (Name::from(f), col(f))));
        self
    }

    /// Groups by an expression, shown under `name`.
    pub fn group_by_expr(mut self, name: &str, expr: Expr) -> Aggregation {
        self.group_by.push((name.into(), expr));
        self
    }

    /// Adds a named aggregate (a name used twice keeps the last definition's value
    /// in the first position, as a Python dict does).
    pub fn agg(mut self, name: &str, agg: Agg) -> Aggregation {
        self.aggs.push((name.into(), agg));
        self
    }

    /// The aggregate names in order.
    pub fn names(&self) -> Vec<&str> {
        self.aggs.iter().map(|(n, _)| &**n).collect()
    }

    /// The filter, if any.
    pub fn filter_expr(&self) -> Option<&Expr> {
        self.filter.as_ref()
    }

    /// The named group keys, in order.
    pub fn group_keys(&self) -> &[(Name, Expr)] {
        &self.group_by
    }

    /// The named aggregates, in order.
    pub fn aggregates(&self) -> &[(Name, Agg)] {
        &self.aggs
    }

    /// Every expression the aggregation reads (filter, keys, arguments).
    pub fn exprs(&self) -> Vec<&Expr> {
        let mut out: Vec<&Expr> = self.filter.iter().collect();
        out.extend(self.group_by.iter().map(|(_, e)| e));
        out.extend(self.aggs.iter().filter_map(|(_, a)| a.arg.as_ref()));
        out
    }

    /// The plan as text lines (what EXPLAIN prints), outermost step first.
    pub fn explain(&self, access: &Access, table: &str) -> Vec<String> {
        let aggs: Vec<String> = self
            .aggs
            .iter()
            .map(|(n, a)| {
                let text = a.to_string();
                if **n == *text {
                    text
                } else {
                    format!("{text} AS {n}")
                }
            })
            .collect();
        let mut line = format!("aggregate {}", aggs.join(", "));
        if !self.group_by.is_empty() {
            let keys: Vec<String> = self.group_by.iter().map(|(_, e)| e.to_string()).collect();
            line.push_str(&format!(" group by {}", keys.join(", ")));
        }
        let mut lines = vec![line];
        if let Some(f) = &self.filter {
            lines.push(format!("filter {f}"));
        }
        lines.push(format!("{access} on {table}"));
        lines
    }
}

impl std::fmt::Display for Agg {
    /// SQL text: `COUNT(*)`, `COUNT(DISTINCT city)`, `AVG(score)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.func, &self.arg) {
            (func, None) => write!(f, "{}(*)", func.name()),
            (AggFunc::CountDistinct, Some(e)) => write!(f, "COUNT(DISTINCT {e})"),
            (func, Some(e)) => write!(f, "{}({e})", func.name()),
        }
    }
}

/// Plans the access path of an aggregation's filter.
pub fn plan_access(agg: &Aggregation, info: &TableInfo, config: &PlannerConfig) -> Access {
    crate::planner::plan_access(agg.filter.as_ref(), info, config)
}

/// Runs an aggregation over the rows an access path yields. Without group keys
/// the result is exactly one record (also over no rows); with group keys, one per
/// group in order of first appearance (none over no rows).
pub fn execute(agg: &Aggregation, access: &Access, data: &TableData) -> Result<Vec<Record>> {
    let filter = agg.filter.as_ref().map(|f| f.bind(data));
    let identity;
    let matched;
    let positions: &[u32] = if filter.is_none() && *access == Access::FullScan && data.is_dense() {
        // Every row: borrow 0..n instead of allocating it per query.
        identity = crate::filter::identity(data.n_positions());
        &identity[..data.n_positions()]
    } else {
        matched = crate::exec::matching_positions(access, filter.as_ref(), data)?;
        &matched
    };
    let keys: Vec<BoundExpr> = agg.group_by.iter().map(|(_, e)| e.bind(data)).collect();
    let groups = if keys.is_empty() {
        Groups {
            ids: vec![0; positions.len()].into(),
            keys: vec![Vec::new()],
            order: vec![0],
        }
    } else {
        group(data, &keys, positions)?
    };
    let n_groups = groups.keys.len();
    let mut results: Vec<Vec<Value>> = Vec::with_capacity(agg.aggs.len());
    for (_, a) in &agg.aggs {
        let arg = a.arg.as_ref().map(|e| e.bind(data));
        results.push(run(
            data,
            a.func,
            arg.as_ref(),
            positions,
            &groups.ids,
            n_groups,
        )?);
    }
    let mut out = Vec::with_capacity(groups.order.len());
    let mut keys = groups.keys;
    for &g in &groups.order {
        let g = g as usize;
        let mut r = Record::with_capacity(agg.group_by.len() + agg.aggs.len());
        for ((name, _), v) in agg.group_by.iter().zip(std::mem::take(&mut keys[g])) {
            r.set(name.clone(), v);
        }
        for ((name, _), vals) in agg.aggs.iter().zip(&mut results) {
            r.set(name.clone(), std::mem::take(&mut vals[g]));
        }
        out.push(r);
    }
    Ok(out)
}

/// The group of each matching row, each group's key values, and the groups in
/// output order (order of first appearance; groups without rows are left out).
struct Groups<'a> {
    ids: std::borrow::Cow<'a, [u32]>,
    keys: Vec<Vec<Value>>,
    order: Vec<u32>,
}

fn group<'a>(data: &'a TableData, keys: &[BoundExpr], positions: &[u32]) -> Result<Groups<'a>> {
    // Fast path: one key, a dictionary-encoded text column.
    if let [Expr::Column(Some(c))] = keys {
        let column = data.column(*c);
        if let ColumnView::StrDict(d) = column.view() {
            let codes = d.codes();
            let n_codes = d.dict().len();
            let every_row = positions.len() == codes.len()
                && column.nulls().is_none()
                && positions
                    .last()
                    .is_none_or(|&p| p as usize == positions.len() - 1);
            if every_row {
                // Group ids are the codes themselves; only the order of first
                // appearance is needed, and it is known once every code was seen.
                let mut first: Vec<u32> = vec![u32::MAX; n_codes];
                let mut unseen = n_codes;
                for (p, &code) in codes.iter().enumerate() {
                    if first[code as usize] == u32::MAX {
                        first[code as usize] = p as u32;
                        unseen -= 1;
                        if unseen == 0 {
                            break;
                        }
                    }
                }
                let mut order: Vec<u32> = (0..n_codes as u32)
                    .filter(|&g| first[g as usize] != u32::MAX)
                    .collect();
                order.sort_unstable_by_key(|&g| first[g as usize]);
                return Ok(Groups {
                    ids: std::borrow::Cow::Borrowed(codes),
                    keys: d.dict().iter().map(|s| vec![Value::str(&**s)]).collect(),
                    order,
                });
            }
            let mut by_code: Vec<u32> = vec![u32::MAX; n_codes];
            let mut null_group = u32::MAX;
            let mut ids = Vec::with_capacity(positions.len());
            let mut group_keys = Vec::new();
            for &p in positions {
                let slot = if column.is_null(p as usize) {
                    &mut null_group
                } else {
                    &mut by_code[codes[p as usize] as usize]
                };
                if *slot == u32::MAX {
                    *slot = group_keys.len() as u32;
                    group_keys.push(vec![column.get(p as usize).to_owned()]);
                }
                ids.push(*slot);
            }
            let order = (0..group_keys.len() as u32).collect();
            return Ok(Groups {
                ids: ids.into(),
                keys: group_keys,
                order,
            });
        }
    }
    // General path: hash the key values.
    let mut map: HashMap<Vec<HashKey>, u32> = HashMap::new();
    let mut single: HashMap<HashKey, u32> = HashMap::new();
    let mut ids: Vec<u32> = Vec::with_capacity(positions.len());
    let mut group_keys: Vec<Vec<Value>> = Vec::new();
    for &p in positions {
        let id = if let [k] = keys {
            let v = k.eval_datum(data, p)?;
            match single.get(&HashKeyRef(v.get())) {
                Some(&id) => id,
                None => {
                    let id = group_keys.len() as u32;
                    let owned = v.get().to_owned();
                    single.insert(HashKey(owned.clone()), id);
                    group_keys.push(vec![owned]);
                    id
                }
            }
        } else {
            let vals: Vec<Value> = keys
                .iter()
                .map(|k| k.eval(data, p))
                .collect::<Result<_>>()?;
            let hk: Vec<HashKey> = vals.iter().cloned().map(HashKey).collect();
            let next = group_keys.len() as u32;
            let id = *map.entry(hk).or_insert(next);
            if id == next {
                group_keys.push(vals);
            }
            id
        };
        ids.push(id);
    }
    let order = (0..group_keys.len() as u32).collect();
    Ok(Groups {
        ids: ids.into(),
        keys: group_keys,
        order,
    })
}

/// A compensated float sum (Neumaier) alongside an exact integer sum.
#[derive(Clone, Copy, Default)]
struct Sum {
    ints: i128,
    floats: f64,
    comp: f64,
    any_float: bool,
    n: u64,
}

impl Sum {
    #[inline]
    fn add_int(&mut self, i: i64) {
        self.ints += i as i128;
        self.n += 1;
    }

    #[inline]
    fn add_float(&mut self, x: f64) {
        let t = self.floats + x;
        if self.floats.abs() >= x.abs() {
            self.comp += (self.floats - t) + x;
        } else {
            self.comp += (x - t) + self.floats;
        }
        self.floats = t;
        self.any_float = true;
        self.n += 1;
    }

    /// Adds another partial sum (of a disjoint set of values): its float part
    /// joins with one compensated addition, its compensation carries over.
    fn merge(&mut self, other: &Sum) {
        self.ints += other.ints;
        self.n += other.n;
        self.any_float |= other.any_float;
        let x = other.floats;
        let t = self.floats + x;
        if self.floats.abs() >= x.abs() {
            self.comp += (self.floats - t) + x;
        } else {
            self.comp += (x - t) + self.floats;
        }
        self.floats = t;
        self.comp += other.comp;
    }

    fn float_total(&self) -> f64 {
        let f = self.floats + self.comp;
        if self.ints == 0 {
            f
        } else {
            self.ints as f64 + f
        }
    }

    fn sum(&self, field: &str) -> Result<Value> {
        if self.n == 0 {
            return Ok(Value::Null);
        }
        if self.any_float {
            return Ok(Value::Float(self.float_total()));
        }
        i64::try_from(self.ints)
            .map(Value::Int)
            .map_err(|_| QueryError::Overflow {
                op: "SUM",
                left: Value::str(field),
                right: Value::Null,
            })
    }

    fn avg(&self) -> Value {
        if self.n == 0 {
            Value::Null
        } else if self.any_float {
            Value::Float(self.float_total() / self.n as f64)
        } else {
            Value::Float(self.ints as f64 / self.n as f64)
        }
    }
}

/// Runs one aggregate over every group.
fn run(
    data: &TableData,
    func: AggFunc,
    arg: Option<&BoundExpr>,
    positions: &[u32],
    ids: &[u32],
    n_groups: usize,
) -> Result<Vec<Value>> {
    let Some(arg) = arg else {
        // COUNT(*)
        let counts = fold_groups(
            positions,
            ids,
            n_groups,
            |acc: &mut [i64], g, _| acc[g] += 1,
            |a, b| *a += *b,
        );
        return Ok(counts.into_iter().map(Value::Int).collect());
    };
    let field = arg.to_string_lossy(data);
    // A bare column over typed storage runs as a typed loop.
    let column = match arg {
        Expr::Column(Some(c)) => Some(data.column(*c)),
        _ => None,
    };
    let typed_ok = |c: &dictdb_engine::column::Column| {
        positions.last().is_none_or(|&p| (p as usize) < c.len())
    };
    match func {
        AggFunc::Count => {
            let mut counts = vec![0i64; n_groups];
            for_each_value(data, arg, positions, |i, v| {
                if !v.is_null() {
                    counts[ids[i] as usize] += 1;
                }
                Ok(())
            })?;
            Ok(counts.into_iter().map(Value::Int).collect())
        }
        AggFunc::CountDistinct => {
            let mut sets: Vec<HashSet<HashKey>> = vec![HashSet::new(); n_groups];
            for_each_value(data, arg, positions, |i, v| {
                if !v.is_null() {
                    let set = &mut sets[ids[i] as usize];
                    if !set.contains(&HashKeyRef(v)) {
                        set.insert(HashKey(v.to_owned()));
                    }
                }
                Ok(())
            })?;
            Ok(sets
                .into_iter()
                .map(|s| Value::Int(s.len() as i64))
                .collect())
        }
        AggFunc::Sum | AggFunc::Avg => {
            let mut sums = vec![Sum::default(); n_groups];
            match column
                .filter(|c| typed_ok(c))
                .map(|c| (c.view(), c.nulls()))
            {
                Some((ColumnView::Float(v), None)) => {
                    sums = fold_groups(
                        positions,
                        ids,
                        n_groups,
                        |acc: &mut [Sum], g, p| acc[g].add_float(v[p]),
                        Sum::merge,
                    );
                }
                Some((ColumnView::Int(v), None)) => {
                    sums = fold_groups(
                        positions,
                        ids,
                        n_groups,
                        |acc: &mut [Sum], g, p| acc[g].add_int(v[p]),
                        Sum::merge,
                    );
                }
                _ => for_each_value(data, arg, positions, |i, v| {
                    let s = &mut sums[ids[i] as usize];
                    match v {
                        ValueRef::Null => {}
                        ValueRef::Bool(b) => s.add_int(b as i64),
                        ValueRef::Int(x) => s.add_int(x),
                        ValueRef::Float(x) => s.add_float(x),
                        other => {
                            return Err(QueryError::NonNumeric {
                                function: func.name(),
                                field: field.clone(),
                                value: other.to_owned(),
                            });
                        }
                    }
                    Ok(())
                })?,
            }
            sums.iter()
                .map(|s| {
                    if func == AggFunc::Sum {
                        s.sum(&field)
                    } else {
                        Ok(s.avg())
                    }
                })
                .collect()
        }
        AggFunc::Min | AggFunc::Max => {
            let want = if func == AggFunc::Min {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            let mut best: Vec<Option<Value>> = vec![None; n_groups];
            for_each_value(data, arg, positions, |i, v| {
                if v.is_null() {
                    return Ok(());
                }
                let slot = &mut best[ids[i] as usize];
                let better = match slot {
                    None => true,
                    Some(cur) => total_cmp(v, cur.as_ref()) == want,
                };
                if better {
                    *slot = Some(v.to_owned());
                }
                Ok(())
            })?;
            Ok(best.into_iter().map(|b| b.unwrap_or(Value::Null)).collect())
        }
    }
}

use crate::filter::{PARALLEL_CHUNK, PARALLEL_MIN_ROWS};

/// Folds every row into its group's accumulator: `step(accumulators, group,
/// position)`. Large inputs fold 64k-row chunks on rayon's pool into partial
/// accumulators, merged in chunk order (so the result does not depend on
/// scheduling).
fn fold_groups<A: Default + Clone + Send>(
    positions: &[u32],
    ids: &[u32],
    n_groups: usize,
    step: impl Fn(&mut [A], usize, usize) + Sync,
    merge: impl Fn(&mut A, &A),
) -> Vec<A> {
    use rayon::prelude::*;
    const CHUNK: usize = PARALLEL_CHUNK;
    let fold = |ps: &[u32], gs: &[u32]| {
        let mut acc = vec![A::default(); n_groups];
        for (&g, &p) in gs.iter().zip(ps) {
            step(&mut acc, g as usize, p as usize);
        }
        acc
    };
    if positions.len() < PARALLEL_MIN_ROWS || rayon::current_num_threads() < 2 {
        return fold(positions, &ids[..positions.len()]);
    }
    let parts: Vec<Vec<A>> = positions
        .par_chunks(CHUNK)
        .zip(ids[..positions.len()].par_chunks(CHUNK))
        .map(|(ps, gs)| fold(ps, gs))
        .collect();
    let mut parts = parts.into_iter();
    let mut acc = parts.next().unwrap_or_else(|| vec![A::default(); n_groups]);
    for part in parts {
        for (a, b) in acc.iter_mut().zip(&part) {
            merge(a, b);
        }
    }
    acc
}

/// Calls `f(i, value)` for the argument's value at each position.
fn for_each_value(
    data: &TableData,
    arg: &BoundExpr,
    positions: &[u32],
    mut f: impl FnMut(usize, ValueRef<'_>) -> Result<()>,
) -> Result<()> {
    if let Expr::Column(c) = arg {
        for (i, &p) in positions.iter().enumerate() {
            f(i, crate::expr::column_value(data, *c, p))?;
        }
        return Ok(());
    }
    for (i, &p) in positions.iter().enumerate() {
        let v = arg.eval_datum(data, p)?;
        f(i, v.get())?;
    }
    Ok(())
}

impl BoundExpr {
    /// Text of a bound expression with column names restored (for messages).
    fn to_string_lossy(&self, data: &TableData) -> String {
        self.map_columns(&mut |c: &Option<u32>| match c {
            Some(c) => data.column_name(*c).to_string(),
            None => "?".to_string(),
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunked parallel folds equal one sequential fold: ints exactly, floats to
    /// the last bits of a compensated sum even with wildly mixed magnitudes.
    #[test]
    fn parallel_fold_equals_sequential_fold() {
        let n = 3 * PARALLEL_MIN_ROWS + 17;
        let positions: Vec<u32> = (0..n as u32).collect();
        let ids: Vec<u32> = positions.iter().map(|p| p % 7).collect();
        let floats: Vec<f64> = positions
            .iter()
            .map(|&p| match p % 5 {
                0 => 1e16,
                1 => -1e16,
                2 => 0.1,
                3 => (p as f64).sqrt(),
                _ => -1.0 / (p as f64 + 1.0),
            })
            .collect();
        let par = fold_groups(
            &positions,
            &ids,
            7,
            |acc: &mut [Sum], g, p| acc[g].add_float(floats[p]),
            Sum::merge,
        );
        let mut seq = vec![Sum::default(); 7];
        for (&g, &p) in ids.iter().zip(&positions) {
            seq[g as usize].add_float(floats[p as usize]);
        }
        for (a, b) in par.iter().zip(&seq) {
            assert_eq!(a.n, b.n);
            let (x, y) = (a.float_total(), b.float_total());
            assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{x} vs {y}");
        }
        let counts = fold_groups(
            &positions,
            &ids,
            7,
            |acc: &mut [i64], g, _| acc[g] += 1,
            |a, b| *a += *b,
        );
        assert_eq!(counts.iter().sum::<i64>(), n as i64);
        let ints = fold_groups(
            &positions,
            &ids,
            7,
            |acc: &mut [Sum], g, p| acc[g].add_int(p as i64 * 1_000_003),
            Sum::merge,
        );
        let total: i128 = ints.iter().map(|s| s.ints).sum();
        assert_eq!(total, (0..n as i128).map(|p| p * 1_000_003).sum::<i128>());
    }

    #[test]
    fn ten_tenths_sum_to_one() {
        let mut s = Sum::default();
        (0..10).for_each(|_| s.add_float(0.1));
        assert_eq!(s.sum("x").unwrap(), Value::Float(1.0));
    }
}
