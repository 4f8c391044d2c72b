//! Host predicates: conditions the embedding program evaluates itself, one row at
//! a time ([`Expr::Host`](crate::Expr::Host)).
//!
//! The Python bindings turn a callable in `where=` (`(t.age > 3) & (lambda r:
//! …)`) into one. The query layer knows nothing of Python: a [`HostPredicate`] is
//! an opaque function of a borrowed row ([`RowRef`]) that answers true or false,
//! or fails with a [`HostError`] (the engine's, shared with its host validators)
//! whose payload the query layer carries back to the caller untouched, as
//! `QueryError::Engine(dictdb_engine::Error::Host(..))`, so the host can re-raise
//! its own error object.
//!
//! Rules the rest of the crate keeps:
//!
//! - A host predicate is two-valued (never unknown) and never index-pushable: the
//!   planner treats it as an opaque residual filter, so a condition made only of
//!   host predicates is a scan.
//! - It runs under the table's lock, on the calling thread (never on rayon's
//!   pool), in position order for scans. Inside an AND it is asked only about rows
//!   every conjunct before it accepted (and possibly fewer: an index on another
//!   conjunct may exclude rows first); inside an OR only about rows no branch
//!   before it accepted. That is the short-circuit order of Python's `and` / `or`,
//!   so a host predicate is never called on a row the host's own evaluation of the
//!   same condition would have skipped (see [`Expr::and`](crate::Expr::and)).
//! - SQL never produces one.
//! - It must not write to the table it filters (the table lock is not
//!   re-entrant).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use dictdb_engine::HostError;
use dictdb_engine::RowRef;

/// The function behind a [`HostPredicate`].
pub type HostFn = dyn for<'a> Fn(RowRef<'a>) -> Result<bool, HostError> + Send + Sync;

/// A condition evaluated by the host on each row (see the [module docs](self)).
///
/// Clones share the function; two predicates are equal when they share it.
#[derive(Clone)]
pub struct HostPredicate {
    f: Arc<HostFn>,
    id: u64,
}

impl HostPredicate {
    /// A predicate calling `f` on each row it tests.
    pub fn new(
        f: impl for<'a> Fn(RowRef<'a>) -> Result<bool, HostError> + Send + Sync + 'static,
    ) -> HostPredicate {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        HostPredicate {
            f: Arc::new(f),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Tests one row.
    #[inline]
    pub fn test(&self, row: RowRef<'_>) -> Result<bool, HostError> {
        (self.f)(row)
    }

    /// A number telling this predicate (and its clones) apart from the others
    /// made in this process, for EXPLAIN and debugging.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl PartialEq for HostPredicate {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.f), Arc::as_ptr(&other.f))
    }
}

impl fmt::Debug for HostPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host(#{})", self.id)
    }
}

impl fmt::Display for HostPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host(#{})", self.id)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use dictdb_engine::{Catalog, IndexKind, Name, Table, Value, ValueRef, record};

    use super::*;
    use crate::{
        Access, Agg, Aggregation, Expr, OrderKey, PlannerConfig, Query, QueryError, TableInfo, col,
        execute, plan,
    };

    /// Keys 1..=12; `a` is an int, NULL (every 4th) or absent (every 6th);
    /// `b` is true on odd keys (sorted index).
    fn table(index: Option<IndexKind>) -> std::sync::Arc<Table> {
        let t = Catalog::new().create_table("t", "id", None).unwrap();
        if let Some(kind) = index {
            t.create_index("a", kind);
        }
        // ORDER BY b LIMIT n walks this index, testing rows one by one.
        t.create_index("b", IndexKind::Sorted);
        let rows = (1..=12i64)
            .map(|i| {
                let mut r = record! { "id" => i, "b" => i % 2 == 1 };
                if i % 6 != 0 {
                    r.set(
                        "a",
                        if i % 4 == 0 {
                            Value::Null
                        } else {
                            Value::Int(i)
                        },
                    );
                }
                r
            })
            .collect();
        t.insert_many(rows).unwrap();
        t
    }

    fn key(row: RowRef<'_>) -> i64 {
        match row.get("id") {
            Some(ValueRef::Int(i)) => i,
            other => panic!("no key: {other:?}"),
        }
    }

    /// A host predicate reading `b`, recording the keys it was asked about.
    fn recording() -> (HostPredicate, std::sync::Arc<Mutex<Vec<i64>>>) {
        let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let h = HostPredicate::new(move |row| {
            log.lock().unwrap().push(key(row));
            Ok(matches!(row.get("b"), Some(ValueRef::Bool(true))))
        });
        (h, seen)
    }

    fn keys(t: &Table, q: &Query) -> Vec<i64> {
        let data = t.read();
        let p = plan(q, &TableInfo::of(&data), &PlannerConfig::default());
        execute(&p, &data)
            .unwrap()
            .iter()
            .map(|r| match r.get("id") {
                Some(Value::Int(i)) => *i,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    /// `a > 2 AND host`: the host predicate is asked only about rows where
    /// `a > 2` is true (never where `a` is NULL or absent, i.e. unknown), on the
    /// vectorised filter, index lookups and the row-by-row index-ordered walk.
    #[test]
    fn and_asks_only_about_rows_the_left_side_accepts() {
        let a_gt_2 = [3i64, 5, 7, 9, 10, 11];
        for index in [None, Some(IndexKind::Hash), Some(IndexKind::Sorted)] {
            let t = table(index);
            let queries = [
                Query::new(),
                Query::new().order_by("a").limit(3),
                Query::new().order_by_key(OrderKey::desc("a")).limit(2),
                Query::new().order_by("b").limit(4),
            ];
            for q in queries {
                let (h, seen) = recording();
                let q = q.filter(col("a").gt(2).and(Expr::Host(h)));
                let got = keys(&t, &q);
                let seen = seen.lock().unwrap().clone();
                assert!(
                    seen.iter().all(|k| a_gt_2.contains(k)),
                    "{index:?} {seen:?}"
                );
                assert!(
                    got.iter().all(|k| k % 2 == 1 && a_gt_2.contains(k)),
                    "{got:?}"
                );
            }
            let (h, _) = recording();
            let q = Query::new().filter(col("a").gt(2).and(Expr::Host(h)));
            assert_eq!(keys(&t, &q), [3, 5, 7, 9, 11]);
        }
    }

    /// `(a > 2 OR host1) AND host2`: host2 is never asked about a row where `a`
    /// is unknown and host1 false (the OR is unknown there, not true).
    #[test]
    fn and_after_an_unknown_or_stops() {
        let t = table(Some(IndexKind::Sorted));
        let never = HostPredicate::new(|_| Ok(false));
        let (h, seen) = recording();
        let cond = col("a")
            .gt(2)
            .or(Expr::Host(never))
            .and(Expr::Host(h.clone()));
        for q in [Query::new(), Query::new().order_by("a").limit(20)] {
            let q = q.filter(cond.clone());
            let mut got = keys(&t, &q);
            got.sort();
            assert_eq!(got, [3, 5, 7, 9, 11]);
        }
        assert!(
            seen.lock()
                .unwrap()
                .iter()
                .all(|k| [3, 5, 7, 9, 10, 11].contains(k))
        );
    }

    /// `a > 2 OR host`: asked only about rows where `a > 2` is not true.
    #[test]
    fn or_asks_only_about_rows_the_left_side_rejects() {
        let t = table(Some(IndexKind::Sorted));
        let (h, seen) = recording();
        let q = Query::new().filter(col("a").gt(2).or(Expr::Host(h)));
        assert_eq!(keys(&t, &q), [1, 3, 5, 7, 9, 10, 11]);
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        assert_eq!(seen, [1, 2, 4, 6, 8, 12]);
    }

    /// DSL negation of a host predicate is its plain complement.
    #[test]
    fn negation_is_two_valued() {
        let t = table(None);
        let (h, _) = recording();
        let q = Query::new().filter(!Expr::Host(h));
        assert_eq!(keys(&t, &q), [2, 4, 6, 8, 10, 12]);
        let (h, _) = recording();
        let q = Query::new().filter(!(col("a").gt(2).and(Expr::Host(h))));
        assert_eq!(keys(&t, &q), [1, 2, 4, 6, 8, 10, 12]);
    }

    /// The host's error comes back as `Engine(Host)` carrying the same payload,
    /// from queries and aggregates.
    #[test]
    fn errors_come_back_unchanged() {
        let t = table(None);
        let h = HostPredicate::new(|row| {
            if key(row) == 7 {
                Err(HostError::new("seven", 7u32))
            } else {
                Ok(true)
            }
        });
        let data = t.read();
        let info = TableInfo::of(&data);
        let q = Query::new().filter(col("id").gt(0).and(Expr::Host(h.clone())));
        let check = |e: QueryError| match e {
            QueryError::Engine(dictdb_engine::Error::Host(e)) => {
                assert_eq!(e.downcast_ref::<u32>(), Some(&7));
                assert_eq!(e.to_string(), "seven");
            }
            other => panic!("{other:?}"),
        };
        check(execute(&plan(&q, &info, &PlannerConfig::default()), &data).unwrap_err());
        let agg = Aggregation::new()
            .agg("n", Agg::count())
            .filter(Expr::Host(h));
        let access = crate::aggregate::plan_access(&agg, &info, &PlannerConfig::default());
        check(crate::aggregate::execute(&agg, &access, &data).unwrap_err());
    }

    /// Never index-pushable: alone or in an OR it means a scan; in an AND the
    /// other conjuncts may still use their index. EXPLAIN names it.
    #[test]
    fn planner_treats_it_as_a_residual_filter() {
        let t = table(Some(IndexKind::Hash));
        let info = TableInfo::of(&t.read());
        let h = HostPredicate::new(|_| Ok(true));
        let cfg = PlannerConfig::default();
        let p = plan(&Query::new().filter(Expr::Host(h.clone())), &info, &cfg);
        assert_eq!(p.access, Access::FullScan);
        let p = plan(
            &Query::new().filter(col("a").eq(3).or(Expr::Host(h.clone()))),
            &info,
            &cfg,
        );
        assert_eq!(p.access, Access::FullScan);
        let p = plan(
            &Query::new().filter(col("a").eq(3).and(Expr::Host(h.clone()))),
            &info,
            &cfg,
        );
        assert!(
            matches!(p.access, Access::IndexLookup { .. }),
            "{:?}",
            p.access
        );
        let text = p.explain().join("\n");
        assert!(text.contains(&format!("host(#{})", h.id())), "{text}");
    }

    #[test]
    fn equality_display_and_two_valued_left_side() {
        let h = HostPredicate::new(|_| Ok(true));
        let other = HostPredicate::new(|_| Ok(true));
        assert_eq!(h, h.clone());
        assert_ne!(h, other);
        assert_eq!(Expr::<Name>::Host(h.clone()), Expr::Host(h.clone()));
        let id = h.id();
        assert_eq!(format!("{h:?}"), format!("host(#{id})"));
        // The left side of an AND whose right side holds a host predicate is
        // made two-valued, conjunct by conjunct; without one nothing changes.
        let e = col("a")
            .gt(1)
            .and(col("b").is_null())
            .and(Expr::Host(h.clone()));
        assert_eq!(
            e.to_string(),
            format!("((a > 1) IS TRUE AND b IS NULL AND host(#{id}))")
        );
        assert_eq!(
            col("a").gt(1).and(col("b").eq(2)).to_string(),
            "(a > 1 AND b = 2)"
        );
        let e = col("a").gt(1).or(Expr::Host(h.clone()));
        assert_eq!(e.to_string(), format!("(a > 1 OR host(#{id}))"));
        assert!(e.has_host() && !col("a").gt(1).has_host());
        assert!(e.columns().iter().map(|c| &**c).eq(["a"]));
    }
}
