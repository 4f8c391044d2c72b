//! Concurrency tests (python-api.md §10): one reader-writer lock per table, atomic
//! multi-row writes, unique automatic keys, one winner per contended explicit key,
//! index consistency under concurrent writes, no deadlock across tables.
//!
//! Every test runs under a watchdog that aborts the process when the test has not
//! finished in time: a deadlocked `std::thread::scope` never returns, so a panic in
//! another thread could not end it, and CI must fail rather than hang.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Barrier, mpsc};
use std::thread;
use std::time::Duration;

use dictdb::{
    Agg, Aggregation, Database, EngineError, Error, IndexKind, OnConflict, PlannerConfig, Query,
    Record, Table, UpsertAction, Value, col, record,
};
use dictdb_engine::TableData;
use dictdb_engine::value::index_eq;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

// ----- helpers -------------------------------------------------------------------

/// Aborts the process if dropped later than `secs` after creation.
struct Watchdog {
    _done: mpsc::Sender<()>,
}

fn watchdog(test: &'static str, secs: u64) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(secs)) {
            eprintln!("watchdog: test `{test}` still running after {secs} s (deadlock?); aborting");
            std::process::abort();
        }
    });
    Watchdog { _done: tx }
}

fn int(r: &Record, field: &str) -> i64 {
    r.get(field)
        .and_then(Value::as_int)
        .unwrap_or_else(|| panic!("field {field:?} is not an int in {r}"))
}

/// A map key for a `Value` (distinguishes `Int(1)` from `Str("1")`).
fn kstr(v: &Value) -> String {
    format!("{v:?}")
}

fn is_duplicate(e: &Error, key: &Value) -> bool {
    matches!(e, Error::Engine(EngineError::DuplicateKey { key: k, .. }) if k == key)
}

const CITIES: [&str; 6] = ["London", "Paris", "Oslo", "Rome", "Lima", "Pune"];
const GROUP_SIZE: usize = 8;
/// Group rows carry `owner = GROUP_OWNER + writer`, so no ordinary-row predicate
/// (`owner == writer`) ever touches them.
const GROUP_OWNER: i64 = 1000;

/// Per-row invariants every write preserves: `check == a * 1000 + b` (set together
/// by every write), `decade == age / 10` (ditto), group rows have a batch and no age.
fn check_row(r: &Record) {
    let (a, b, c) = (int(r, "a"), int(r, "b"), int(r, "check"));
    assert_eq!(c, a * 1000 + b, "torn row (check != a*1000+b): {r}");
    assert!(
        r.contains("id") && r.contains("owner"),
        "row lacks id/owner: {r}"
    );
    if r.contains("grp") {
        assert!(
            r.contains("batch") && !r.contains("age"),
            "bad group row: {r}"
        );
    } else {
        let age = int(r, "age");
        assert_eq!(
            int(r, "decade"),
            age / 10,
            "torn row (decade != age/10): {r}"
        );
    }
}

/// Structural checks on a snapshot: the primary-key index maps every live row's
/// key to its position and keys are unique; every secondary index holds every live
/// row exactly once (under an index-equal key, or in `absent()` when the row lacks
/// the field), holds only live rows, and has sorted, non-empty postings. With
/// `lookups`, also checks `Index::lookup` of each row's value finds the row.
fn verify_indexes(data: &TableData, lookups: bool) {
    let live: Vec<u32> = data.positions().collect();
    assert_eq!(
        live.len(),
        data.len(),
        "len() disagrees with the live bitmap"
    );
    let mut keys = HashSet::with_capacity(live.len());
    for &p in &live {
        let key = data.key_at(p);
        assert_eq!(
            data.lookup_key(key),
            Some(p),
            "pk index wrong for key {key}"
        );
        assert!(keys.insert(kstr(&key.to_owned())), "duplicate key {key}");
    }
    for (name, ix) in data.indexes() {
        let c = data
            .column_id(name)
            .unwrap_or_else(|| panic!("indexed field {name} has no column"));
        let mut seen = vec![false; data.n_positions()];
        let mut postings = 0;
        for (k, ps) in ix.entries() {
            assert!(!ps.is_empty(), "index {name}: empty bucket for {k}");
            assert!(
                ps.windows(2).all(|w| w[0] < w[1]),
                "index {name}: unsorted {k}"
            );
            for &p in ps {
                assert!(data.is_live(p), "index {name}: dead position {p} under {k}");
                assert!(data.has_field(p, c), "index {name}: {p} lacks the field");
                let v = data.value(p, c);
                assert!(
                    index_eq(v, k.as_ref()),
                    "index {name}: {p} has {v}, filed under {k}"
                );
                assert!(
                    !std::mem::replace(&mut seen[p as usize], true),
                    "{name}: {p} twice"
                );
            }
            postings += ps.len();
        }
        let absent = ix.absent();
        assert!(
            absent.windows(2).all(|w| w[0] < w[1]),
            "index {name}: unsorted absent"
        );
        for &p in absent {
            assert!(data.is_live(p), "index {name}: dead position {p} in absent");
            assert!(
                !data.has_field(p, c),
                "index {name}: {p} in absent has the field"
            );
            assert!(
                !std::mem::replace(&mut seen[p as usize], true),
                "{name}: {p} twice"
            );
        }
        postings += absent.len();
        assert_eq!(postings, data.len(), "index {name}: postings != rows");
        for &p in &live {
            assert!(seen[p as usize], "index {name}: live row {p} missing");
            if lookups {
                if data.has_field(p, c) {
                    let found = ix.lookup(data.value(p, c));
                    assert!(
                        found.binary_search(&p).is_ok(),
                        "index {name}: lookup misses {p}"
                    );
                } else {
                    assert!(absent.binary_search(&p).is_ok());
                }
            }
        }
    }
}

/// Runs a query on a snapshot (the caller holds the read lock).
fn run(data: &TableData, q: &Query, cfg: &PlannerConfig) -> Vec<Record> {
    let plan = dictdb_query::plan(q, &dictdb_query::TableInfo::of(data), cfg);
    dictdb_query::execute(&plan, data).expect("query runs")
}

fn sorted_strings(rows: &[Record]) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(|r| kstr(r.get("id").unwrap())).collect();
    v.sort();
    v
}

// ----- 1. automatic keys ---------------------------------------------------------

#[test]
fn auto_keys_are_unique_across_threads() {
    let _w = watchdog("auto_keys_are_unique_across_threads", 120);
    const THREADS: i64 = 8;
    const CALLS: i64 = 1000;
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.create_index("thread", IndexKind::Hash);

    // Each thread returns (key, thread, seq) for every record it inserted.
    let results: Vec<Vec<(i64, i64, i64)>> = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|tid| {
                let t = &t;
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(tid as u64);
                    let mut out = Vec::new();
                    let mut seq = 0;
                    let mut last = 0;
                    for call in 0..CALLS {
                        if call % 2 == 0 {
                            let k = t.insert(record! { "thread" => tid, "seq" => seq }).unwrap();
                            let k = k.as_int().expect("auto key is an int");
                            out.push((k, tid, seq));
                            assert!(k > last, "keys seen by one thread must increase");
                            last = k;
                            seq += 1;
                        } else {
                            let n = rng.gen_range(1..=8);
                            let recs: Vec<Record> = (0..n)
                                .map(|j| record! { "thread" => tid, "seq" => seq + j })
                                .collect();
                            let keys = t.insert_many(recs).unwrap();
                            assert_eq!(keys.len() as i64, n);
                            let keys: Vec<i64> = keys.iter().map(|k| k.as_int().unwrap()).collect();
                            // One batch is one write: its automatic keys are consecutive.
                            assert!(keys.windows(2).all(|w| w[1] == w[0] + 1), "{keys:?}");
                            assert!(keys[0] > last);
                            last = *keys.last().unwrap();
                            for (j, k) in keys.into_iter().enumerate() {
                                out.push((k, tid, seq + j as i64));
                            }
                            seq += n;
                        }
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let total: usize = results.iter().map(Vec::len).sum();
    let mut returned: Vec<i64> = results.iter().flatten().map(|&(k, _, _)| k).collect();
    returned.sort_unstable();
    let expected: Vec<i64> = (1..=total as i64).collect();
    assert_eq!(
        returned, expected,
        "returned keys must be exactly 1..=total"
    );
    assert_eq!(t.len(), total);

    let data = t.engine().read();
    let mut stored: Vec<i64> = data
        .positions()
        .map(|p| data.key_at(p).to_owned().as_int().unwrap())
        .collect();
    stored.sort_unstable();
    assert_eq!(
        stored, expected,
        "stored keys must be exactly 1..=total, once each"
    );
    for &(k, tid, seq) in results.iter().flatten() {
        let r = data
            .get(Value::Int(k).as_ref())
            .expect("returned key is stored");
        assert_eq!(
            (int(&r, "thread"), int(&r, "seq")),
            (tid, seq),
            "key {k} maps to {r}"
        );
    }
    assert_eq!(data.next_key(), total as i64 + 1);
    verify_indexes(&data, true);
}

// ----- 2. contended explicit keys ------------------------------------------------

/// Runs `rounds` rounds in which `threads` threads, released together by a barrier,
/// each call `op(round, thread)`; returns the results as `[round][thread]`.
fn contend<T: Send>(
    threads: usize,
    rounds: usize,
    op: impl Fn(usize, usize) -> T + Sync,
) -> Vec<Vec<T>> {
    let barrier = Barrier::new(threads);
    let per_thread: Vec<Vec<T>> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|tid| {
                let (barrier, op) = (&barrier, &op);
                s.spawn(move || {
                    (0..rounds)
                        .map(|round| {
                            barrier.wait();
                            op(round, tid)
                        })
                        .collect::<Vec<T>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut by_round: Vec<Vec<T>> = (0..rounds).map(|_| Vec::new()).collect();
    for results in per_thread {
        for (round, r) in results.into_iter().enumerate() {
            by_round[round].push(r);
        }
    }
    by_round
}

fn contended_key(round: usize, prefix: &str) -> Value {
    match round % 3 {
        0 => Value::Int(round as i64 + 1),
        1 => Value::Int(-(round as i64) - 1),
        _ => Value::str(format!("{prefix}-{round}")),
    }
}

#[test]
fn one_winner_per_contended_explicit_key() {
    let _w = watchdog("one_winner_per_contended_explicit_key", 120);
    const THREADS: usize = 8;
    const ROUNDS: usize = 500;
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.create_index("thread", IndexKind::Sorted);

    // insert
    let rounds = contend(THREADS, ROUNDS, |round, tid| {
        let key = contended_key(round, "ins");
        t.insert(record! { "id" => key, "thread" => tid as i64 })
    });
    for (round, results) in rounds.iter().enumerate() {
        let key = contended_key(round, "ins");
        let winners: Vec<usize> = (0..THREADS).filter(|&i| results[i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert_eq!(results[winners[0]].as_ref().unwrap(), &key);
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                is_duplicate(r, &key),
                "round {round}: unexpected error {r:?}"
            );
        }
        let row = t.get(&key).unwrap();
        assert_eq!(
            int(&row, "thread"),
            winners[0] as i64,
            "the winner's row is stored"
        );
    }
    assert_eq!(t.len(), ROUNDS);

    // upsert, OnConflict::Error: same as insert.
    let rounds = contend(THREADS, ROUNDS, |round, tid| {
        let key = contended_key(round, "ups");
        let key = if let Value::Int(i) = key {
            Value::Int(i * 1000)
        } else {
            key
        };
        (
            key.clone(),
            t.upsert(
                record! { "id" => key, "thread" => tid as i64 },
                OnConflict::Error,
            ),
        )
    });
    for (round, results) in rounds.iter().enumerate() {
        let key = results[0].0.clone();
        let winners: Vec<usize> = (0..THREADS).filter(|&i| results[i].1.is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert_eq!(
            results[winners[0]].1.as_ref().unwrap(),
            &(key.clone(), UpsertAction::Inserted)
        );
        for (_, r) in results.iter() {
            if let Err(e) = r {
                assert!(
                    is_duplicate(e, &key),
                    "round {round}: unexpected error {e:?}"
                );
            }
        }
        assert_eq!(int(&t.get(&key).unwrap(), "thread"), winners[0] as i64);
    }
    assert_eq!(t.len(), 2 * ROUNDS);

    // upsert, OnConflict::Ignore: one Inserted, the rest Ignored, the winner's row kept.
    let rounds = contend(THREADS, ROUNDS, |round, tid| {
        let key = Value::str(format!("ign-{round}"));
        t.upsert(
            record! { "id" => key, "thread" => tid as i64 },
            OnConflict::Ignore,
        )
        .unwrap()
        .1
    });
    for (round, results) in rounds.iter().enumerate() {
        let winners: Vec<usize> = (0..THREADS)
            .filter(|&i| results[i] == UpsertAction::Inserted)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert_eq!(
            results
                .iter()
                .filter(|&&a| a == UpsertAction::Ignored)
                .count(),
            THREADS - 1
        );
        let row = t.get(&Value::str(format!("ign-{round}"))).unwrap();
        assert_eq!(int(&row, "thread"), winners[0] as i64);
    }
    assert_eq!(t.len(), 3 * ROUNDS);
    verify_indexes(&t.engine().read(), true);
}

// ----- 3 & 4. mixed writers and readers ------------------------------------------

/// What one writer believes it owns: its ordinary rows and its groups.
#[derive(Default)]
struct Model {
    /// Ordinary rows (`owner == writer`) by key.
    rows: HashMap<String, Record>,
    /// Keys of `rows`, for picking one at random.
    keys: Vec<String>,
    /// Groups: id, current batch, row keys → rows.
    groups: Vec<(i64, i64, HashMap<String, Record>)>,
}

impl Model {
    fn add(&mut self, rec: Record) {
        let k = kstr(rec.get("id").expect("model rows carry their key"));
        assert!(self.rows.insert(k.clone(), rec).is_none(), "key {k} reused");
        self.keys.push(k);
    }

    fn remove(&mut self, k: &str) -> Record {
        let i = self.keys.iter().position(|x| x == k).unwrap();
        self.keys.swap_remove(i);
        self.rows.remove(k).unwrap()
    }

    fn pick(&self, rng: &mut StdRng) -> Option<(String, Value)> {
        if self.keys.is_empty() {
            return None;
        }
        let k = self.keys[rng.gen_range(0..self.keys.len())].clone();
        let v = self.rows[&k].get("id").unwrap().clone();
        Some((k, v))
    }

    /// Keys of the rows matching a predicate.
    fn matching(&self, pred: impl Fn(&Record) -> bool) -> Vec<String> {
        self.keys
            .iter()
            .filter(|k| pred(&self.rows[*k]))
            .cloned()
            .collect()
    }

    fn all_rows(&self) -> impl Iterator<Item = (&String, &Record)> {
        self.rows
            .iter()
            .chain(self.groups.iter().flat_map(|(_, _, rows)| rows.iter()))
    }
}

fn field_int(r: &Record, f: &str) -> Option<i64> {
    r.get(f).and_then(Value::as_int)
}

fn city_is(r: &Record, c: &str) -> bool {
    r.get("city").and_then(Value::as_str) == Some(c)
}

/// `a`, `b` and `check` set together.
fn abc(rng: &mut StdRng) -> Record {
    let (a, b) = (rng.gen_range(0..1000i64), rng.gen_range(0..1000i64));
    record! { "a" => a, "b" => b, "check" => a * 1000 + b }
}

/// `age` and `decade` set together.
fn with_age(mut r: Record, rng: &mut StdRng) -> Record {
    let age = rng.gen_range(0..100i64);
    r.set("age", age);
    r.set("decade", age / 10);
    r
}

fn new_row(rng: &mut StdRng, w: i64) -> Record {
    let mut r = with_age(abc(rng), rng);
    r.set("owner", w);
    // One row in ten lacks `city`: it sits in the index's absent list until an
    // update gives it one.
    if rng.gen_range(0..10) > 0 {
        r.set("city", CITIES[rng.gen_range(0..CITIES.len())]);
    }
    r
}

struct MixedConfig {
    writers: i64,
    readers: usize,
    ops_per_writer: usize,
    /// Percentage of deletes among ordinary-row operations.
    delete_pct: u32,
    /// Create an extra index on `a` while writers run.
    index_midway: bool,
}

#[derive(Default, Debug)]
struct ReadStats {
    iterations: AtomicUsize,
    rows_checked: AtomicUsize,
    snapshots: AtomicUsize,
}

/// One writer: random ordinary-row and group operations, each checked against the
/// writer's model (a write by predicate must touch exactly the rows the model says).
fn writer(
    t: &Table,
    w: i64,
    ops: usize,
    delete_pct: u32,
    progress: &AtomicUsize,
    group_hint: &AtomicI64,
) -> Model {
    let mut rng = StdRng::seed_from_u64(0xC0FFEE + w as u64);
    let mut m = Model::default();
    let mut fresh = 0i64;
    let mut next_group = 0i64;
    let mut fresh_key = |rng: &mut StdRng| -> Value {
        fresh += 1;
        if rng.gen_bool(0.5) {
            Value::str(format!("w{w}-{fresh}"))
        } else {
            // Negative: never collides with automatic keys and never moves the counter.
            Value::Int(-(w * 10_000_000 + fresh))
        }
    };

    // A starting population in one batch.
    let recs: Vec<Record> = (0..100).map(|_| new_row(&mut rng, w)).collect();
    for (k, mut r) in t.insert_many(recs.clone()).unwrap().into_iter().zip(recs) {
        r.set("id", k);
        m.add(r);
    }

    for _ in 0..ops {
        progress.fetch_add(1, Ordering::Relaxed);
        let roll = rng.gen_range(0..100u32);
        if roll < 6 {
            group_op(t, w, &mut m, &mut rng, &mut next_group, group_hint);
            continue;
        }
        if roll < 6 + delete_pct && !m.keys.is_empty() {
            match rng.gen_range(0..5) {
                0..=2 => {
                    let (k, v) = m.pick(&mut rng).unwrap();
                    assert_eq!(t.delete(&col("id").eq(v)).unwrap(), 1);
                    m.remove(&k);
                }
                3 => {
                    // Sorted-index range plus a filter.
                    let lo = rng.gen_range(0..100i64);
                    let hit = m.matching(|r| {
                        field_int(r, "age").is_some_and(|a| (lo..=lo + 1).contains(&a))
                    });
                    let f = col("age").between(lo, lo + 1).and(col("owner").eq(w));
                    assert_eq!(t.delete(&f).unwrap(), hit.len());
                    hit.iter().for_each(|k| drop(m.remove(k)));
                }
                _ => {
                    // Hash-index equality plus a range filter.
                    let c = CITIES[rng.gen_range(0..CITIES.len())];
                    let x = rng.gen_range(0..10i64);
                    let hit = m.matching(|r| city_is(r, c) && field_int(r, "age").unwrap() < x);
                    let f = col("city")
                        .eq(c)
                        .and(col("age").lt(x))
                        .and(col("owner").eq(w));
                    assert_eq!(t.delete(&f).unwrap(), hit.len());
                    hit.iter().for_each(|k| drop(m.remove(k)));
                }
            }
            continue;
        }
        match rng.gen_range(0..9) {
            0 => {
                let mut r = new_row(&mut rng, w);
                let k = t.insert(r.clone()).unwrap();
                assert!(matches!(k, Value::Int(i) if i > 0));
                r.set("id", k);
                m.add(r);
            }
            1 => {
                let n = rng.gen_range(2..=6);
                let mut recs: Vec<Record> = Vec::with_capacity(n);
                for _ in 0..n {
                    let mut r = new_row(&mut rng, w);
                    if rng.gen_bool(0.5) {
                        r.set("id", fresh_key(&mut rng));
                    }
                    recs.push(r);
                }
                let keys = t.insert_many(recs.clone()).unwrap();
                for (k, mut r) in keys.into_iter().zip(recs) {
                    if let Some(explicit) = r.get("id") {
                        assert_eq!(explicit, &k);
                    }
                    r.set("id", k);
                    m.add(r);
                }
            }
            2 | 3 => {
                // Update by key: a, b, check (and sometimes age/decade, city) at once.
                let Some((k, v)) = m.pick(&mut rng) else {
                    continue;
                };
                let mut ch = abc(&mut rng);
                if rng.gen_bool(0.5) {
                    ch = with_age(ch, &mut rng);
                }
                if rng.gen_bool(0.3) {
                    ch.set("city", CITIES[rng.gen_range(0..CITIES.len())]);
                }
                assert_eq!(t.update(&col("id").eq(v), ch.clone()).unwrap(), 1);
                let merged = m.rows[&k].merged(&ch);
                m.rows.insert(k, merged);
            }
            4 => {
                // Update by predicate on the hash-indexed `city`.
                let c = CITIES[rng.gen_range(0..CITIES.len())];
                let ch = with_age(abc(&mut rng), &mut rng);
                let hit = m.matching(|r| city_is(r, c));
                let f = col("city").eq(c).and(col("owner").eq(w));
                assert_eq!(t.update(&f, ch.clone()).unwrap(), hit.len());
                for k in hit {
                    let merged = m.rows[&k].merged(&ch);
                    m.rows.insert(k, merged);
                }
            }
            5 => {
                // Update by predicate on the sorted `age`; moves rows between cities.
                let lo = rng.gen_range(0..100i64);
                let mut ch = abc(&mut rng);
                ch.set("city", CITIES[rng.gen_range(0..CITIES.len())]);
                let hit =
                    m.matching(|r| field_int(r, "age").is_some_and(|a| (lo..lo + 5).contains(&a)));
                let f = col("age")
                    .ge(lo)
                    .and(col("age").lt(lo + 5))
                    .and(col("owner").eq(w));
                assert_eq!(t.update(&f, ch.clone()).unwrap(), hit.len());
                for k in hit {
                    let merged = m.rows[&k].merged(&ch);
                    m.rows.insert(k, merged);
                }
            }
            6 => {
                // Re-key a row.
                let Some((k, v)) = m.pick(&mut rng) else {
                    continue;
                };
                let new_key = fresh_key(&mut rng);
                let ch = record! { "id" => new_key.clone() };
                assert_eq!(t.update(&col("id").eq(v), ch.clone()).unwrap(), 1);
                let r = m.remove(&k).merged(&ch);
                m.add(r);
            }
            7 => {
                // Upsert onto an existing key (merge).
                let Some((k, v)) = m.pick(&mut rng) else {
                    continue;
                };
                let mut ch = abc(&mut rng);
                ch.set("id", v.clone());
                ch.set("city", CITIES[rng.gen_range(0..CITIES.len())]);
                let got = t.upsert(ch.clone(), OnConflict::Update).unwrap();
                assert_eq!(got, (v, UpsertAction::Updated));
                let merged = m.rows[&k].merged(&ch);
                m.rows.insert(k, merged);
            }
            _ => {
                // Upsert of a new row, with a fresh explicit key or none.
                let mut r = new_row(&mut rng, w);
                if rng.gen_bool(0.5) {
                    r.set("id", fresh_key(&mut rng));
                }
                let (k, action) = t.upsert(r.clone(), OnConflict::Update).unwrap();
                assert_eq!(action, UpsertAction::Inserted);
                r.set("id", k);
                m.add(r);
            }
        }
    }
    m
}

/// Group operations: create (one insert_many), re-batch (one update by predicate on
/// the hash-indexed `grp`), drop (one delete by predicate).
fn group_op(t: &Table, w: i64, m: &mut Model, rng: &mut StdRng, next: &mut i64, hint: &AtomicI64) {
    let choice = if m.groups.len() < 2 {
        0
    } else {
        rng.gen_range(0..6)
    };
    match choice {
        0 if m.groups.len() < 6 => {
            let g = w * 100_000 + *next;
            *next += 1;
            hint.store(*next, Ordering::Relaxed);
            let ch = abc(rng);
            let recs: Vec<Record> = (0..GROUP_SIZE)
                .map(|_| {
                    let mut r = ch.clone();
                    r.set("owner", GROUP_OWNER + w);
                    r.set("grp", g);
                    r.set("batch", 0);
                    r
                })
                .collect();
            let keys = t.insert_many(recs.clone()).unwrap();
            let rows = keys
                .into_iter()
                .zip(recs)
                .map(|(k, mut r)| {
                    r.set("id", k.clone());
                    (kstr(&k), r)
                })
                .collect();
            m.groups.push((g, 0, rows));
        }
        0..=3 => {
            let i = rng.gen_range(0..m.groups.len());
            let (g, batch, rows) = &mut m.groups[i];
            *batch += 1;
            let mut ch = abc(rng);
            ch.set("batch", *batch);
            assert_eq!(
                t.update(&col("grp").eq(*g), ch.clone()).unwrap(),
                GROUP_SIZE
            );
            for r in rows.values_mut() {
                *r = r.merged(&ch);
            }
        }
        _ => {
            let i = rng.gen_range(0..m.groups.len());
            let (g, _, _) = m.groups.swap_remove(i);
            assert_eq!(t.delete(&col("grp").eq(g)).unwrap(), GROUP_SIZE);
        }
    }
}

/// One reader: random index-backed queries, each result checked for invariants.
fn reader(
    t: &Table,
    id: usize,
    writers: i64,
    done: &AtomicBool,
    hints: &[AtomicI64],
    stats: &ReadStats,
) {
    let mut rng = StdRng::seed_from_u64(0xBEEF + id as u64);
    let scan = t.with_planner(PlannerConfig::all(false));
    let mut iteration = 0usize;
    // At least a few passes even if the writers finish first.
    while !done.load(Ordering::Relaxed) || iteration < 20 {
        iteration += 1;
        let mut n = 0;
        match rng.gen_range(0..12) {
            0 | 10 => {
                let lo = rng.gen_range(0..100i64);
                let hi = lo + rng.gen_range(0..15);
                let rows = t
                    .select(Query::new().filter(col("age").between(lo, hi)))
                    .unwrap();
                for r in &rows {
                    check_row(r);
                    let a = int(r, "age");
                    assert!((lo..=hi).contains(&a), "age {a} outside [{lo}, {hi}]: {r}");
                }
                n = rows.len();
            }
            1 | 11 => {
                let c = CITIES[rng.gen_range(0..CITIES.len())];
                let rows = t.select(Query::new().filter(col("city").eq(c))).unwrap();
                for r in &rows {
                    check_row(r);
                    assert!(city_is(r, c), "eq query for {c} returned {r}");
                }
                n = rows.len();
            }
            2 => {
                // Top-k, ascending or descending, through the sorted index.
                let x = rng.gen_range(0..100i64);
                let desc = rng.gen_bool(0.5);
                let q = Query::new().filter(col("age").ge(x)).limit(10);
                let q = if desc {
                    q.order_by_desc("age")
                } else {
                    q.order_by("age")
                };
                let rows = t.select(&q).unwrap();
                assert!(rows.len() <= 10);
                let ages: Vec<i64> = rows.iter().map(|r| int(r, "age")).collect();
                assert!(
                    ages.iter().all(|&a| a >= x),
                    "top-k returned ages {ages:?} below {x}"
                );
                let ordered = if desc {
                    ages.windows(2).all(|w| w[0] >= w[1])
                } else {
                    ages.windows(2).all(|w| w[0] <= w[1])
                };
                assert!(ordered, "top-k out of order: {ages:?}");
                rows.iter().for_each(check_row);
                n = rows.len();
            }
            3 => {
                // IN on the hash index, AND a range.
                let c1 = CITIES[rng.gen_range(0..CITIES.len())];
                let c2 = CITIES[rng.gen_range(0..CITIES.len())];
                let x = rng.gen_range(0..100i64);
                let f = col("city").is_in([c1, c2]).and(col("age").lt(x));
                let rows = t.select(Query::new().filter(f)).unwrap();
                for r in &rows {
                    check_row(r);
                    assert!(
                        (city_is(r, c1) || city_is(r, c2)) && int(r, "age") < x,
                        "{r}"
                    );
                }
                n = rows.len();
            }
            4 => {
                // A whole-table aggregate is one snapshot: the per-row invariant sums up.
                let agg = Aggregation::new()
                    .agg("n", Agg::count())
                    .agg("sa", Agg::sum("a"))
                    .agg("sb", Agg::sum("b"))
                    .agg("sc", Agg::sum("check"));
                let out = t.aggregate(&agg).unwrap();
                let r = &out[0];
                if int(r, "n") > 0 {
                    assert_eq!(int(r, "sc"), 1000 * int(r, "sa") + int(r, "sb"), "{r}");
                }
            }
            5 => {
                // Multi-row atomicity: every group is whole and on one batch.
                let agg = Aggregation::new()
                    .filter(col("grp").is_not_null())
                    .group_by(["grp"])
                    .agg("n", Agg::count())
                    .agg("lo", Agg::min("batch"))
                    .agg("hi", Agg::max("batch"))
                    .agg("distinct", Agg::count_distinct("batch"));
                for r in t.aggregate(&agg).unwrap() {
                    assert_eq!(int(&r, "n"), GROUP_SIZE as i64, "partial group: {r}");
                    assert_eq!(int(&r, "lo"), int(&r, "hi"), "group on two batches: {r}");
                    assert_eq!(int(&r, "distinct"), 1, "group on two batches: {r}");
                    n += 1;
                }
            }
            6 => {
                // One group through the hash index on `grp`.
                let w = rng.gen_range(0..writers);
                let g = w * 100_000
                    + rng.gen_range(0..hints[w as usize].load(Ordering::Relaxed).max(1));
                let rows = t.select(Query::new().filter(col("grp").eq(g))).unwrap();
                assert!(
                    rows.is_empty() || rows.len() == GROUP_SIZE,
                    "partial group {g}: {} rows",
                    rows.len()
                );
                let batches: HashSet<i64> = rows.iter().map(|r| int(r, "batch")).collect();
                assert!(batches.len() <= 1, "group {g} on batches {batches:?}");
                rows.iter().for_each(check_row);
                n = rows.len();
            }
            7 | 8 => {
                // Same query with and without indexes: different handles, different
                // snapshots, so only invariants; plus point gets.
                let x = rng.gen_range(0..100i64);
                for r in scan.select(Query::new().filter(col("age").lt(x))).unwrap() {
                    check_row(&r);
                    assert!(int(&r, "age") < x);
                    n += 1;
                }
                for _ in 0..20 {
                    if let Some(r) = t.get(&Value::Int(rng.gen_range(1..5000))) {
                        check_row(&r);
                    }
                }
            }
            _ => {
                // One snapshot: index-backed plans agree with full scans, and the
                // indexes agree with the data.
                let data = t.engine().read();
                let c = CITIES[rng.gen_range(0..CITIES.len())];
                let lo = rng.gen_range(0..100i64);
                let queries = [
                    Query::new().filter(col("city").eq(c)),
                    Query::new().filter(col("age").between(lo, lo + 10)),
                    Query::new().filter(col("city").eq(c).and(col("age").ge(lo))),
                    Query::new().filter(col("city").is_in([c, "Oslo"]).or(col("grp").eq(lo))),
                    Query::new().filter(col("grp").is_not_null()),
                ];
                for q in &queries {
                    let fast = run(&data, q, &PlannerConfig::default());
                    let slow = run(&data, q, &PlannerConfig::all(false));
                    assert_eq!(sorted_strings(&fast), sorted_strings(&slow), "{q:?}");
                    n += fast.len();
                }
                // Top-k: ties may be broken differently, the ages may not.
                let q = Query::new()
                    .filter(col("age").ge(lo))
                    .order_by("age")
                    .limit(7);
                let ages =
                    |rows: Vec<Record>| rows.iter().map(|r| int(r, "age")).collect::<Vec<_>>();
                assert_eq!(
                    ages(run(&data, &q, &PlannerConfig::default())),
                    ages(run(&data, &q, &PlannerConfig::all(false)))
                );
                if iteration.is_multiple_of(4) {
                    verify_indexes(&data, false);
                }
                stats.snapshots.fetch_add(1, Ordering::Relaxed);
            }
        }
        stats.iterations.fetch_add(1, Ordering::Relaxed);
        stats.rows_checked.fetch_add(n, Ordering::Relaxed);
    }
}

/// Sets the flag when dropped (also while unwinding), so readers stop even when a
/// writer panics.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn people(db: &Database) -> Table {
    let t = db.create_table("people", "id").unwrap();
    assert!(t.create_index("city", IndexKind::Hash));
    assert!(t.create_index("age", IndexKind::Sorted));
    assert!(t.create_index("grp", IndexKind::Hash));
    assert!(t.create_index("owner", IndexKind::Hash));
    t
}

/// Runs writers and readers together; returns the table and the writers' models.
fn run_mixed(cfg: &MixedConfig) -> (Table, Vec<Model>, ReadStats) {
    let db = Database::new();
    let t = people(&db);
    let done = AtomicBool::new(false);
    let hints: Vec<AtomicI64> = (0..cfg.writers).map(|_| AtomicI64::new(0)).collect();
    let progress = AtomicUsize::new(0);
    let stats = ReadStats::default();
    let models = thread::scope(|s| {
        let (t, done, hints, progress, stats) = (&t, &done, &hints, &progress, &stats);
        let readers: Vec<_> = (0..cfg.readers)
            .map(|i| s.spawn(move || reader(t, i, cfg.writers, done, hints, stats)))
            .collect();
        if cfg.index_midway {
            // Build an index from the live rows while writers run.
            let target = cfg.writers as usize * cfg.ops_per_writer / 3;
            s.spawn(move || {
                while progress.load(Ordering::Relaxed) < target && !done.load(Ordering::Relaxed) {
                    thread::yield_now();
                }
                assert!(t.create_index("a", IndexKind::Sorted));
            });
        }
        let writers: Vec<_> = (0..cfg.writers)
            .map(|w| {
                s.spawn(move || {
                    writer(
                        t,
                        w,
                        cfg.ops_per_writer,
                        cfg.delete_pct,
                        progress,
                        &hints[w as usize],
                    )
                })
            })
            .collect();
        let _stop = SetOnDrop(done);
        let models: Vec<Model> = writers.into_iter().map(|h| h.join().unwrap()).collect();
        drop(_stop);
        for r in readers {
            r.join().unwrap();
        }
        models
    });
    (t, models, stats)
}

/// After all threads stop: the table holds exactly the rows the writers' logs say
/// (no key lost or duplicated, every field as last written), and every index
/// agrees with a full scan.
fn verify_final(t: &Table, models: &[Model]) {
    let mut expected: HashMap<&str, &Record> = HashMap::new();
    for m in models {
        for (k, r) in m.all_rows() {
            assert!(expected.insert(k, r).is_none(), "two writers claim key {k}");
        }
    }
    let len = t.len();
    let data = t.engine().read();
    let mut actual: HashMap<String, Record> = HashMap::with_capacity(data.len());
    for p in data.positions() {
        let r = data.record(p);
        check_row(&r);
        let k = kstr(r.get("id").unwrap());
        assert!(
            actual.insert(k.clone(), r).is_none(),
            "key {k} stored twice"
        );
    }
    let lost: Vec<&&str> = expected
        .keys()
        .filter(|k| !actual.contains_key(**k))
        .take(5)
        .collect();
    assert!(lost.is_empty(), "keys lost: {lost:?}");
    let extra: Vec<&String> = actual
        .keys()
        .filter(|k| !expected.contains_key(k.as_str()))
        .take(5)
        .collect();
    assert!(
        extra.is_empty(),
        "keys nobody wrote or all deleted: {extra:?}"
    );
    assert_eq!(actual.len(), expected.len());
    assert_eq!(len, expected.len());
    for (k, r) in &expected {
        assert_eq!(&&actual[*k], r, "row {k} differs from its writer's log");
        let p = data.lookup_key(r.get("id").unwrap().as_ref());
        assert!(p.is_some_and(|p| data.is_live(p)), "pk index lost {k}");
    }
    verify_indexes(&data, true);
}

#[test]
fn readers_never_see_torn_rows_or_partial_writes() {
    let _w = watchdog("readers_never_see_torn_rows_or_partial_writes", 120);
    let cfg = MixedConfig {
        writers: 3,
        readers: 4,
        ops_per_writer: 2000,
        delete_pct: 20,
        index_midway: false,
    };
    let (t, models, stats) = run_mixed(&cfg);
    eprintln!(
        "readers: {} iterations, {} rows checked, {} snapshots; final rows {}",
        stats.iterations.load(Ordering::Relaxed),
        stats.rows_checked.load(Ordering::Relaxed),
        stats.snapshots.load(Ordering::Relaxed),
        t.len()
    );
    assert!(stats.iterations.load(Ordering::Relaxed) >= 4 * 20);
    verify_final(&t, &models);
}

#[test]
fn indexes_and_keys_agree_with_writer_logs_after_concurrent_writes() {
    let _w = watchdog(
        "indexes_and_keys_agree_with_writer_logs_after_concurrent_writes",
        120,
    );
    let cfg = MixedConfig {
        writers: 6,
        readers: 1,
        ops_per_writer: 2500,
        delete_pct: 30,
        index_midway: true,
    };
    let (t, models, _) = run_mixed(&cfg);
    {
        let data = t.engine().read();
        eprintln!(
            "final: {} rows, {} positions, version {}",
            data.len(),
            data.n_positions(),
            data.version()
        );
        assert!(data.index("a").is_some(), "index created mid-run");
    }
    verify_final(&t, &models);
}

// ----- 5. two tables, opposite orders --------------------------------------------

#[test]
fn opposite_table_orders_never_deadlock() {
    let _w = watchdog("opposite_table_orders_never_deadlock", 30);
    const ITERS: i64 = 4000;
    const THREADS: i64 = 4;
    let db = Database::new();
    let a = db.create_table("a", "id").unwrap();
    let b = db.create_table("b", "id").unwrap();
    for t in [&a, &b] {
        t.insert_many(
            (0..200i64)
                .map(|i| record! { "v" => i, "n" => 0 })
                .collect(),
        )
        .unwrap();
        t.create_index("v", IndexKind::Sorted);
    }
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let done = &done;
        let (a, b) = (&a, &b);
        let workers: Vec<_> = (0..THREADS)
            .map(|tid| {
                // Even threads: a then b; odd threads: b then a.
                let (first, second) = if tid % 2 == 0 { (a, b) } else { (b, a) };
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(tid as u64);
                    let field = format!("t{tid}");
                    for i in 0..ITERS {
                        for t in [first, second] {
                            assert_eq!(
                                t.update(&col("id").eq(1), record! { field.as_str() => i })
                                    .unwrap(),
                                1
                            );
                            let lo = rng.gen_range(0..200i64);
                            t.update(&col("v").between(lo, lo + 3), record! { "n" => i })
                                .unwrap();
                        }
                        match i % 5 {
                            0 => {
                                // Insert into one, delete it from the other order's table.
                                let k = Value::str(format!("{tid}-{i}"));
                                first
                                    .insert(record! { "id" => k.clone(), "v" => -1 })
                                    .unwrap();
                                second
                                    .upsert(
                                        record! { "id" => k.clone(), "v" => -1 },
                                        OnConflict::Ignore,
                                    )
                                    .unwrap();
                                assert_eq!(second.delete(&col("id").eq(k.clone())).unwrap(), 1);
                                assert_eq!(first.delete(&col("id").eq(k)).unwrap(), 1);
                            }
                            1 => {
                                // Raw guards, one table at a time.
                                let n = first.engine().read().len();
                                let mut g = second.engine().write();
                                let p = g.lookup_key(Value::Int(2).as_ref()).unwrap();
                                g.update_positions(
                                    &[p],
                                    &record! { field.as_str() => n as i64 },
                                    true,
                                )
                                .unwrap();
                            }
                            _ => {}
                        }
                    }
                })
            })
            .collect();
        let reader = s.spawn(move || {
            while !done.load(Ordering::Relaxed) {
                for t in [a, b, b, a] {
                    let rows = t
                        .select(Query::new().filter(col("v").ge(0)).order_by("v").limit(5))
                        .unwrap();
                    assert_eq!(rows.len(), 5);
                    t.aggregate(Aggregation::new().agg("n", Agg::max("n")))
                        .unwrap();
                }
            }
        });
        let _stop = SetOnDrop(done);
        for h in workers {
            h.join().unwrap();
        }
        drop(_stop);
        reader.join().unwrap();
    });
    for t in [&a, &b] {
        let row = t.get(&Value::Int(1)).unwrap();
        for tid in 0..THREADS {
            assert_eq!(int(&row, &format!("t{tid}")), ITERS - 1, "{row}");
        }
        assert_eq!(t.len(), 200);
        verify_indexes(&t.engine().read(), true);
    }
}

// ----- 6. failed batches are invisible --------------------------------------------

#[test]
fn failed_batches_are_invisible_to_concurrent_readers() {
    let _w = watchdog("failed_batches_are_invisible_to_concurrent_readers", 120);
    const ROWS: usize = 1000;
    const ATTEMPTS: usize = 400;
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.insert_many(
        (0..ROWS)
            .map(|i| record! { "v" => 1, "city" => CITIES[i % CITIES.len()] })
            .collect(),
    )
    .unwrap();
    t.create_index("v", IndexKind::Sorted);
    t.create_index("city", IndexKind::Hash);
    let (version, next_key, positions) = {
        let d = t.engine().read();
        (d.version(), d.next_key(), d.n_positions())
    };
    assert_eq!(next_key, ROWS as i64 + 1);

    let done = AtomicBool::new(false);
    let observed = AtomicUsize::new(0);
    thread::scope(|s| {
        let (t, done, observed) = (&t, &done, &observed);
        let readers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(move || {
                    let mut i = 0;
                    while !done.load(Ordering::Relaxed) || i < 20 {
                        i += 1;
                        assert_eq!(t.len(), ROWS);
                        let ones = t.select(Query::new().filter(col("v").eq(1))).unwrap();
                        assert_eq!(ones.len(), ROWS);
                        let others = t.select(Query::new().filter(col("v").ne(1))).unwrap();
                        assert!(
                            others.is_empty(),
                            "saw rows of a failed write: {}",
                            others[0]
                        );
                        let agg = Aggregation::new()
                            .agg("n", Agg::count())
                            .agg("hi", Agg::max("v"))
                            .agg("hi_id", Agg::max("id"));
                        let r = &t.aggregate(&agg).unwrap()[0];
                        assert_eq!(
                            (int(r, "n"), int(r, "hi"), int(r, "hi_id")),
                            (ROWS as i64, 1, ROWS as i64)
                        );
                        let d = t.engine().read();
                        assert_eq!(d.len(), ROWS);
                        assert_eq!(d.n_positions(), positions);
                        assert_eq!(d.positions().count(), ROWS);
                        assert_eq!(d.next_key(), next_key);
                        assert_eq!(d.version(), version);
                        let v = d.index("v").unwrap();
                        assert_eq!((v.n_keys(), v.count(Value::Int(1).as_ref())), (1, ROWS));
                        assert!(
                            d.index("city")
                                .unwrap()
                                .lookup(Value::str("Nowhere").as_ref())
                                .is_empty()
                        );
                        observed.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let batches = s.spawn(move || {
            let mut rng = StdRng::seed_from_u64(6);
            for i in 0..ATTEMPTS {
                let mut recs: Vec<Record> = (0..99)
                    .map(|j| {
                        let mut r = record! { "v" => 2, "city" => "Nowhere" };
                        if i % 2 == 1 && j % 3 == 0 {
                            r.set("id", format!("b{i}-{j}"));
                        }
                        r
                    })
                    .collect();
                // The last record duplicates a stored key, or (every third batch) a
                // key earlier in the same batch.
                let dup = if i % 3 == 2 && i % 2 == 1 {
                    Value::str(format!("b{i}-0"))
                } else {
                    Value::Int(rng.gen_range(1..=ROWS as i64))
                };
                recs.push(record! { "id" => dup.clone(), "v" => 2 });
                let err = t.insert_many(recs).unwrap_err();
                assert!(is_duplicate(&err, &dup), "{err:?}");
            }
        });
        let updates = s.spawn(move || {
            let mut rng = StdRng::seed_from_u64(7);
            for _ in 0..ATTEMPTS {
                // Re-keying many rows to one key: fails before changing any row.
                let same = Value::str("same");
                let err = t
                    .update(&col("v").eq(1), record! { "id" => same.clone(), "v" => 3 })
                    .unwrap_err();
                assert!(is_duplicate(&err, &same), "{err:?}");
                let k = Value::Int(rng.gen_range(1..=ROWS as i64));
                let err = t
                    .upsert(record! { "id" => k.clone(), "v" => 4 }, OnConflict::Error)
                    .unwrap_err();
                assert!(is_duplicate(&err, &k), "{err:?}");
            }
        });
        let _stop = SetOnDrop(done);
        batches.join().unwrap();
        updates.join().unwrap();
        drop(_stop);
        for r in readers {
            r.join().unwrap();
        }
    });
    assert!(observed.load(Ordering::Relaxed) >= 40);
    let d = t.engine().read();
    assert_eq!(
        (d.len(), d.n_positions(), d.version()),
        (ROWS, positions, version)
    );
    verify_indexes(&d, true);
}
