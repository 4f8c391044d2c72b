//! Persistence through the public API (python-api.md §11, §13): save/load and
//! full+delta backups round-trip random databases exactly (row order and field
//! order included, also after re-keys and keys deleted and inserted again);
//! `has_changes` and `save_delta` follow the tracking rules; backups taken while threads write are
//! consistent snapshots; failed backups are counted, reported and lose nothing;
//! restore skips corrupt files and says so.
//!
//! The crash-safety test (a child process killed while it writes backups) is in
//! `backup_crash.rs`.

mod persist_util;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use dictdb::{
    BackupManager, BackupOptions, BackupOutcome, Database, Error, IndexKind, Record, Value, col,
    record,
};
use persist_util::{
    Canon, Compare, DELTA_COMPARE, Op, apply, assert_same, assert_same_auto_keys, backup_name,
    canon, diff, listing, op, registry, scratch, target,
};
use proptest::prelude::*;

// ----- helpers -------------------------------------------------------------------

/// Aborts the process if dropped later than `secs` after creation (a deadlock
/// must fail the run, not hang it).
struct Watchdog {
    _done: mpsc::Sender<()>,
}

fn watchdog(test: &'static str, secs: u64) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(secs)) {
            eprintln!("watchdog: test `{test}` still running after {secs} s; aborting");
            std::process::abort();
        }
    });
    Watchdog { _done: tx }
}

fn restore(dir: &Path) -> (Database, dictdb::RestoreReport) {
    Database::restore(dir).unwrap_or_else(|e| panic!("restore {}: {e}", dir.display()))
}

/// Restores `dir`, checks nothing was skipped, and returns the canonical form.
fn restore_clean(dir: &Path) -> (Database, Canon) {
    let (db, report) = restore(dir);
    assert!(report.skipped.is_empty(), "restore skipped files: {report}");
    let c = canon(&db);
    (db, c)
}

fn int(r: &Record, f: &str) -> i64 {
    r.get(f)
        .and_then(Value::as_int)
        .unwrap_or_else(|| panic!("{f} in {r:?}"))
}

// ----- round trips (proptest) ----------------------------------------------------

#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
enum Step {
    Op(Op),
    /// `Database::backup_full`.
    Full,
    /// `Database::save_delta`.
    Delta,
    /// `Database::save` then `Database::load`.
    Save,
    /// A full backup (or a delta) that fails (a directory where its file should
    /// go): the changes it took are put back, merged with later ones.
    Failed {
        full: bool,
    },
    /// `Database::restore` of the backups so far, which then goes on as the live
    /// database (the writes since the last backup are dropped).
    Restore,
}

fn steps(max: usize) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            14 => op().prop_map(Step::Op),
            1 => Just(Step::Full),
            3 => Just(Step::Delta),
            1 => Just(Step::Save),
            1 => any::<bool>().prop_map(|full| Step::Failed { full }),
            1 => Just(Step::Restore),
        ],
        1..max,
    )
}

/// Runs the steps on a fresh database, backing up into `dir` (every backup a
/// delta when `deltas_only`), checking after every step:
/// - a write makes `has_changes` true; a backup makes it false;
/// - `save_delta` returns `has_changes()` and writes nothing when it is false;
/// - `save` does not touch tracking, and `load` gives the live state;
/// - a failed backup leaves `has_changes` as it was;
/// - a restored database starts clean, and its backups go on in the same
///   directory;
/// - `restore(dir)` gives the live state after every backup.
///
/// Returns the live database.
fn run_steps(steps: &[Step], dir: &Path, deltas_only: bool, how: Compare) -> Database {
    let mut db = Database::new();
    let mut seq = 0;
    let save_path = dir.parent().unwrap().join(format!(
        "{}.save.json",
        dir.file_name().unwrap().to_string_lossy()
    ));
    // For the expected `has_changes`: the registry at the last backup, and the
    // tables (by identity) with rows written since.
    let mut baseline = registry(&db);
    let mut written: Vec<usize> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let at = |what: &str| format!("step {i} ({what})");
        match step {
            Step::Op(op) => {
                if apply(&db, op) && !op.is_ddl() {
                    let t = db.table(target(&db, op)).unwrap();
                    written.push(Arc::as_ptr(t.engine()) as usize);
                }
                let now = registry(&db);
                let expected = now != baseline || now.iter().any(|(_, id, _)| written.contains(id));
                assert_eq!(
                    db.has_changes(),
                    expected,
                    "{}: has_changes after {op:?}",
                    at("op")
                );
                continue;
            }
            Step::Save => {
                let had = db.has_changes();
                db.save(&save_path).unwrap();
                assert_eq!(
                    db.has_changes(),
                    had,
                    "{}: save touched tracking",
                    at("save")
                );
                let loaded = Database::load(&save_path).unwrap();
                assert!(
                    !loaded.has_changes(),
                    "{}: a loaded database has changes",
                    at("load")
                );
                assert_same(
                    &canon(&db),
                    &canon(&loaded),
                    Compare::EXACT,
                    &at("save/load"),
                );
                continue;
            }
            Step::Restore => {
                db = restore_clean(dir).0;
                assert!(
                    !db.has_changes(),
                    "{}: a restored database has changes",
                    at("restore")
                );
                baseline = registry(&db);
                written.clear();
                continue;
            }
            Step::Failed { full } => {
                seq += 1;
                let had = db.has_changes();
                let blocked = backup_name(dir, *full, seq);
                fs::create_dir(&blocked).unwrap();
                let result = if *full {
                    db.backup_full(&blocked).map(|()| true)
                } else {
                    db.save_delta(&blocked)
                };
                fs::remove_dir(&blocked).unwrap();
                match result {
                    Ok(wrote) => assert!(!wrote && !had, "{}: {result:?}", at("failed backup")),
                    Err(_) => assert!(
                        *full || had,
                        "{}: failed without changes",
                        at("failed backup")
                    ),
                }
                assert_eq!(
                    db.has_changes(),
                    had,
                    "{}: has_changes after a failed backup",
                    at("failed backup")
                );
                continue;
            }
            Step::Full if !deltas_only => {
                seq += 1;
                db.backup_full(backup_name(dir, true, seq)).unwrap();
            }
            Step::Full | Step::Delta => {
                seq += 1;
                let had = db.has_changes();
                let before = listing(dir);
                let path = backup_name(dir, false, seq);
                let wrote = db.save_delta(&path).unwrap();
                assert_eq!(wrote, had, "{}: save_delta vs has_changes", at("delta"));
                if !wrote {
                    assert_eq!(
                        listing(dir),
                        before,
                        "{}: an empty delta wrote files",
                        at("delta")
                    );
                    assert!(!path.exists());
                }
            }
        }
        assert!(
            !db.has_changes(),
            "{}: has_changes right after a backup",
            at("backup")
        );
        baseline = registry(&db);
        written.clear();
        assert!(
            !db.save_delta(backup_name(dir, false, 999_999)).unwrap(),
            "{}: a second delta right after a backup",
            at("backup")
        );
        let (_, restored) = restore_clean(dir);
        let how = if deltas_only || matches!(step, Step::Delta) {
            how
        } else {
            Compare::EXACT
        };
        if let Some(d) = diff(&canon(&db), &restored, how) {
            panic!(
                "{}: restore differs from the live database\n{d}",
                at("restore")
            );
        }
    }
    let _ = fs::remove_file(save_path);
    db
}

/// Final delta, then the restored database equals the live one, down to the next
/// automatic key.
fn finish(db: &Database, dir: &Path, how: Compare) -> Database {
    db.save_delta(backup_name(dir, false, 900_000)).unwrap();
    let (restored, c) = restore_clean(dir);
    assert_same(&canon(db), &c, how, "final restore");
    if !how.ignore_next_key {
        assert_same_auto_keys(db, &restored, "final restore");
    }
    restored
}

/// 48 cases, or `PROPTEST_CASES`.
fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(), ..ProptestConfig::default() })]

    /// save → load equals the live database, at random points of random
    /// operation sequences (every value kind, typed and schemaless tables,
    /// indexes, re-keys, drops).
    #[test]
    fn save_load_round_trip(ops in prop::collection::vec(op(), 1..50)) {
        let dir = scratch("saveload");
        let db = Database::new();
        let path = dir.join("db.json");
        for (i, op) in ops.iter().enumerate() {
            apply(&db, op);
            if i % 7 == 6 || i + 1 == ops.len() {
                db.save(&path).unwrap();
                let loaded = Database::load(&path).unwrap();
                assert_same(&canon(&db), &canon(&loaded), Compare::EXACT, &format!("after op {i}"));
                // A second save of the loaded database is byte-identical.
                let again = dir.join("again.json");
                loaded.save(&again).unwrap();
                prop_assert_eq!(fs::read(&path).unwrap(), fs::read(&again).unwrap());
            }
        }
        let loaded = Database::load(&path).unwrap();
        assert_same_auto_keys(&db, &loaded, "save/load");
        fs::remove_dir_all(dir).unwrap();
    }

    /// Full backups and deltas in a random mix: restore equals the live state
    /// after every backup, and at the end.
    #[test]
    fn full_and_delta_backups_restore_the_live_state(steps in steps(60)) {
        let dir = scratch("mixed");
        let db = run_steps(&steps, &dir, false, DELTA_COMPARE);
        finish(&db, &dir, DELTA_COMPARE);
        fs::remove_dir_all(dir).unwrap();
    }

    /// Deltas only (no full backup ever): restore replays every delta onto an
    /// empty database, and so does applying each file by hand.
    #[test]
    fn deltas_alone_rebuild_the_database(steps in steps(60)) {
        let dir = scratch("deltas");
        let db = run_steps(&steps, &dir, true, DELTA_COMPARE);
        db.save_delta(backup_name(&dir, false, 900_000)).unwrap();
        let (restored, report) = restore(&dir);
        prop_assert!(report.full.is_none());
        prop_assert!(report.skipped.is_empty(), "{}", report);
        assert_same(&canon(&db), &canon(&restored), DELTA_COMPARE, "restore of deltas only");
        // By hand, file after file, onto an empty database.
        let by_hand = Database::new();
        for name in listing(&dir) {
            by_hand.apply_delta(dir.join(name)).unwrap();
        }
        prop_assert!(!by_hand.has_changes(), "apply_delta marked changes");
        assert_same(&canon(&db), &canon(&by_hand), DELTA_COMPARE, "apply_delta of every delta");
        if !DELTA_COMPARE.ignore_next_key {
            assert_same_auto_keys(&db, &by_hand, "apply_delta of every delta");
        }
        fs::remove_dir_all(dir).unwrap();
    }
}

// ----- extended values, exactly --------------------------------------------------

fn odd_values_db() -> Database {
    use dictdb_engine::value::{DateTime, FixedOffset, NaiveDate};
    let db = Database::new();
    let t = db.create_table("värden", "id").unwrap();
    let dt = |h, us, off: Option<i32>| {
        let local = NaiveDate::from_ymd_opt(2024, 5, 1)
            .unwrap()
            .and_hms_micro_opt(h, 30, 0, us)
            .unwrap();
        Value::DateTime(match off {
            None => DateTime::naive(local),
            Some(s) => DateTime::aware(local, FixedOffset::east_opt(s).unwrap()),
        })
    };
    t.insert(record! {
        "nan" => f64::NAN, "negzero" => -0.0, "inf" => f64::NEG_INFINITY, "big" => 1e20,
        "tiny" => 5e-324, "one" => 1.0, "int" => i64::MIN, "bool" => true, "null" => Value::Null,
    })
    .unwrap();
    t.insert(record! {
        "bytes" => Value::Bytes(vec![0, 1, 255, b'"'].into()),
        "empty" => Value::Bytes(Vec::new().into()),
        "date" => Value::date(1, 1, 1).unwrap(),
        "naive" => dt(0, 0, None),
        "plus" => dt(12, 250_000, Some(5 * 3600 + 30 * 60)),
        "minus" => dt(23, 1, Some(-(3 * 3600 + 15))),
        "utc" => dt(1, 0, Some(0)),
    })
    .unwrap();
    t.insert(record! {
        "text" => "Zoë 日本 🎉 \" \\ \n \u{1} \u{2028}",
        "nested" => Value::list([
            Value::map([("$bytes", Value::str("AAE="))]),
            Value::map([("$dict", Value::map([("k", Value::Int(1))]))]),
            Value::map([("$date", Value::Bytes(vec![1].into()))]),
            Value::list([Value::Float(f64::NAN), Value::Float(-0.0), Value::Null]),
            Value::map([("ключ", Value::list([])), ("b", Value::map::<&str>([]))]),
        ]),
    })
    .unwrap();
    // Non-int keys.
    let u = db.create_table("keys", "k").unwrap();
    for k in [
        Value::str("ü"),
        Value::Float(2.5),
        Value::Bytes(vec![7].into()),
        Value::date(2024, 2, 29).unwrap(),
        Value::Bool(false),
        Value::Int(-7),
    ] {
        u.insert(Record::new().with("k", k)).unwrap();
    }
    db
}

#[test]
fn extended_values_round_trip_through_save_full_and_delta() {
    let dir = scratch("values");
    let live = odd_values_db();
    live.save(dir.join("saved.json")).unwrap();
    assert_same(
        &canon(&live),
        &canon(&Database::load(dir.join("saved.json")).unwrap()),
        Compare::EXACT,
        "save/load",
    );
    // Through a delta only (tables created since the last backup carry all rows).
    let deltas = dir.join("d");
    fs::create_dir(&deltas).unwrap();
    assert!(live.save_delta(backup_name(&deltas, false, 1)).unwrap());
    assert_same(
        &canon(&live),
        &restore_clean(&deltas).1,
        Compare::EXACT,
        "delta",
    );
    // Changes to every kind of value and key, through a delta after a full backup.
    let mixed = dir.join("m");
    fs::create_dir(&mixed).unwrap();
    live.backup_full(backup_name(&mixed, true, 1)).unwrap();
    let t = live.table("keys").unwrap();
    t.update_key(&Value::Bytes(vec![7].into()), record! { "v" => f64::NAN })
        .unwrap();
    t.delete_key(&Value::Float(2.5));
    t.delete_key(&Value::str("ü"));
    t.insert(record! { "k" => "ü", "v" => -0.0 }).unwrap();
    live.table("värden")
        .unwrap()
        .update(
            &col("bool").eq(true),
            record! { "nan" => Value::list([Value::Float(f64::NAN)]) },
        )
        .unwrap();
    assert!(live.save_delta(backup_name(&mixed, false, 2)).unwrap());
    let (_, c) = restore_clean(&mixed);
    // `ü` was deleted and re-inserted: it moved to the end of the live table,
    // and of the restored one.
    assert_same(&canon(&live), &c, DELTA_COMPARE, "full + delta");
    fs::remove_dir_all(dir).unwrap();
}

// ----- tracking ------------------------------------------------------------------

#[test]
fn has_changes_follows_writes_ddl_and_backups() {
    let dir = scratch("tracking");
    let db = Database::new();
    let mut seq = 0;
    let mut delta = |db: &Database| {
        seq += 1;
        db.save_delta(backup_name(&dir, false, seq)).unwrap()
    };
    assert!(!db.has_changes(), "new database");
    assert!(!delta(&db), "nothing to write in a new database");
    assert!(listing(&dir).is_empty());

    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)", ())
        .unwrap();
    assert!(db.has_changes(), "CREATE TABLE (SQL)");
    assert!(delta(&db));
    assert!(!db.has_changes());
    assert!(!delta(&db));

    db.execute("INSERT INTO t VALUES (1, 1)", ()).unwrap();
    assert!(db.has_changes(), "INSERT");
    db.backup_full(backup_name(&dir, true, 100)).unwrap();
    assert!(!db.has_changes(), "after a full backup");

    // A write that matches nothing is no change; one that writes the same value is.
    db.execute("UPDATE t SET n = 5 WHERE id = 99", ()).unwrap();
    assert!(!db.has_changes(), "UPDATE of no row");
    db.execute("UPDATE t SET n = 1 WHERE id = 1", ()).unwrap();
    assert!(db.has_changes(), "UPDATE to the same value");
    assert!(delta(&db));

    db.execute("DELETE FROM t WHERE id = 1", ()).unwrap();
    assert!(db.has_changes(), "DELETE");
    assert!(delta(&db));

    db.create_table("api", "id").unwrap();
    assert!(db.has_changes(), "create_table (API)");
    assert!(delta(&db));
    db.drop_table("api").unwrap();
    assert!(db.has_changes(), "drop_table (API)");
    assert!(delta(&db));
    db.execute("DROP TABLE t", ()).unwrap();
    assert!(db.has_changes(), "DROP TABLE (SQL)");
    assert!(delta(&db));

    // Created and dropped again between backups: nothing to record.
    db.create_table("brief", "id").unwrap();
    db.drop_table("brief").unwrap();
    assert!(
        !db.has_changes(),
        "a table created and dropped between backups"
    );

    // A save is not a backup.
    db.create_table("s", "id")
        .unwrap()
        .insert(record! { "a" => 1 })
        .unwrap();
    db.save(dir.join("plain.json")).unwrap();
    assert!(db.has_changes(), "save reset tracking");
    let before = listing(&dir);
    assert!(delta(&db));
    assert_eq!(listing(&dir).len(), before.len() + 1);
    let names_before = listing(&dir);
    assert!(!delta(&db), "no change since the last delta");
    assert_eq!(listing(&dir), names_before, "an empty delta wrote a file");

    // Replaying does not count as a change; a loaded database starts clean.
    let (restored, _) = restore(&dir);
    assert!(!restored.has_changes(), "a restored database has changes");
    let loaded = Database::load(dir.join("plain.json")).unwrap();
    assert!(!loaded.has_changes(), "a loaded database has changes");
    let fresh = Database::new();
    for f in listing(&dir)
        .iter()
        .filter(|f| f.starts_with("dictdb_delta"))
    {
        fresh.apply_delta(dir.join(f)).unwrap();
    }
    assert!(!fresh.has_changes(), "apply_delta marked changes");
    fs::remove_dir_all(dir).unwrap();
}

/// `apply_delta` counts upserts plus the deletes that removed a row.
#[test]
fn apply_delta_returns_upserts_plus_effective_deletes() {
    let dir = scratch("count");
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.insert_many(vec![
        record! { "a" => 1 },
        record! { "a" => 2 },
        record! { "a" => 3 },
    ])
    .unwrap();
    db.backup_full(backup_name(&dir, true, 1)).unwrap();
    let copy = Database::load(backup_name(&dir, true, 1)).unwrap();
    t.update_key(&Value::Int(1), record! { "a" => 10 }).unwrap();
    t.insert(record! { "a" => 4 }).unwrap();
    t.delete_key(&Value::Int(2));
    let path = backup_name(&dir, false, 2);
    assert!(db.save_delta(&path).unwrap());
    copy.table("t").unwrap().delete_key(&Value::Int(2));
    // Two upserts; the delete finds nothing in `copy`.
    assert_eq!(copy.apply_delta(&path).unwrap(), 2);
    let again = Database::load(backup_name(&dir, true, 1)).unwrap();
    assert_eq!(again.apply_delta(&path).unwrap(), 3);
    assert_same(&canon(&db), &canon(&again), Compare::EXACT, "apply_delta");
    fs::remove_dir_all(dir).unwrap();
}

// ----- what deltas must keep (each once a bug report) ----------------------------

/// Full backup, then `f`, then a delta: the restored database.
fn full_then_delta(setup: impl Fn(&Database), change: impl Fn(&Database)) -> (Database, Database) {
    let dir = scratch("bug");
    let db = Database::new();
    setup(&db);
    db.backup_full(backup_name(&dir, true, 1)).unwrap();
    change(&db);
    db.save_delta(backup_name(&dir, false, 2)).unwrap();
    let (restored, report) = restore(&dir);
    assert!(report.skipped.is_empty(), "{report}");
    fs::remove_dir_all(dir).unwrap();
    (db, restored)
}

fn three_rows(db: &Database) {
    db.create_table("t", "id")
        .unwrap()
        .insert_many(vec![
            record! { "a" => 1 },
            record! { "a" => 2 },
            record! { "a" => 3 },
        ])
        .unwrap();
}

#[test]
fn bug_delta_restore_loses_the_key_counter() {
    let (live, restored) = full_then_delta(three_rows, |db| {
        let t = db.table("t").unwrap();
        let k = t.insert(record! { "a" => 4 }).unwrap();
        assert!(t.delete_key(&k));
    });
    assert_same(
        &canon(&live),
        &canon(&restored),
        Compare::EXACT,
        "counter after a delta",
    );
}

/// A re-keyed row keeps its place (the delta's `rekeys` move it in place; an
/// upsert under the new key alone would be appended).
#[test]
fn delta_restore_keeps_a_rekeyed_row_in_place() {
    let (live, restored) = full_then_delta(three_rows, |db| {
        db.execute("UPDATE t SET id = 10 WHERE id = 1", ()).unwrap();
    });
    assert_same(
        &canon(&live),
        &canon(&restored),
        Compare::EXACT,
        "order after re-key",
    );
}

/// A row deleted and inserted again under the same key between backups is at
/// the end, with the new row's field order (the delta's `reused` deletes the old
/// row before the upserts; an upsert alone would replace it in place).
#[test]
fn delta_restore_puts_a_reinserted_key_at_the_end() {
    let (live, restored) = full_then_delta(three_rows, |db| {
        let t = db.table("t").unwrap();
        assert!(t.delete_key(&Value::Int(1)));
        t.insert(record! { "b" => 0, "id" => 1, "a" => 1 }).unwrap();
    });
    // Live: ids 2, 3, 1 with row 1 as {b, id, a}; restored: ids 1, 2, 3 with
    // row 1 as {id, a, b}.
    let how = Compare {
        ignore_row_order: true,
        ..Compare::EXACT
    };
    assert_same(
        &canon(&live),
        &canon(&restored),
        how,
        "field order after re-insert",
    );
    assert_same(
        &canon(&live),
        &canon(&restored),
        Compare::EXACT,
        "order after re-insert",
    );
}

/// The keys of table `t`, in row order.
fn ids(db: &Database) -> Vec<Value> {
    let t = db.table("t").unwrap();
    let data = t.engine().read();
    data.positions()
        .map(|p| data.key_at(p).to_owned())
        .collect()
}

fn ints(keys: &[i64]) -> Vec<Value> {
    keys.iter().map(|&k| Value::Int(k)).collect()
}

/// Rows 1..=5 of table `t`, with a hash index on `a` and a sorted one on the key.
fn five_rows(db: &Database) {
    let t = db.create_table("t", "id").unwrap();
    t.insert_many((1..=5).map(|i| record! { "a" => i }).collect())
        .unwrap();
    t.create_index("a", IndexKind::Hash);
    t.create_index("id", IndexKind::Sorted);
}

/// A copy of a delta file without the keys DictDB does not know, as DictDB
/// reads it.
fn as_dictdb_reads_it(path: &Path) -> PathBuf {
    use dictdb_backup::json::{DeltaOut, DeltaTableOut, TableDef, read_delta, write_delta};
    let d = read_delta(&fs::read(path).unwrap()).unwrap();
    let schemas: Vec<_> = d.created.iter().map(|c| c.schema.clone()).collect();
    let indexes: Vec<Vec<(dictdb::Name, IndexKind)>> = d
        .created
        .iter()
        .map(|c| {
            c.indexes
                .iter()
                .map(|(f, k)| (f.as_str().into(), *k))
                .collect()
        })
        .collect();
    let out = DeltaOut {
        timestamp: d.timestamp.unwrap_or(0.0),
        dropped: &d.dropped,
        created: d
            .created
            .iter()
            .zip(&schemas)
            .zip(&indexes)
            .map(|((c, schema), indexes)| TableDef {
                name: &c.name,
                primary_key: &c.primary_key,
                schema: schema.as_ref(),
                indexes,
                next_pk: c.next_pk.unwrap_or(1),
            })
            .collect(),
        tables: d
            .tables
            .iter()
            .map(|t| DeltaTableOut {
                name: &t.name,
                upserts: &t.upserts,
                deletes: &t.deletes,
                next_pk: None,
                rekeys: &[],
                reused: &[],
            })
            .collect(),
        order: None,
    };
    let plain = path.with_extension("plain");
    let mut text = Vec::new();
    write_delta(&mut text, &out).unwrap();
    fs::write(&plain, text).unwrap();
    plain
}

/// Runs `changes` twice over `setup`: once with a full backup first, once with
/// deltas only (from an empty database); a delta after each change, and after
/// each, the restore equals the live database exactly. The deltas read as
/// DictDB reads them (upserts, then deletes) give the same rows, in some order.
/// Returns the last live database.
fn deltas_restore_exactly(setup: impl Fn(&Database), changes: &[&dyn Fn(&Database)]) -> Database {
    let mut last = None;
    for full in [true, false] {
        let dir = scratch("exact");
        let db = Database::new();
        setup(&db);
        if full {
            db.backup_full(backup_name(&dir, true, 0)).unwrap();
        } else {
            assert!(db.save_delta(backup_name(&dir, false, 0)).unwrap());
        }
        let plain = Database::new();
        if full {
            setup(&plain);
        } else {
            plain
                .apply_delta(as_dictdb_reads_it(&backup_name(&dir, false, 0)))
                .unwrap();
        }
        for (i, change) in changes.iter().enumerate() {
            let at = format!("change {i} (full backup first: {full})");
            change(&db);
            let path = backup_name(&dir, false, i as u64 + 1);
            assert!(db.save_delta(&path).unwrap(), "{at}: no delta written");
            let plain_path = as_dictdb_reads_it(&path);
            plain.apply_delta(&plain_path).unwrap();
            fs::remove_file(plain_path).unwrap();
            let (restored, report) = restore(&dir);
            assert!(report.skipped.is_empty(), "{at}: {report}");
            assert_same(&canon(&db), &canon(&restored), Compare::EXACT, &at);
            // (DictDB ignores the counter too.)
            let loose = Compare {
                ignore_row_order: true,
                ignore_field_order: true,
                ignore_next_key: true,
                ..Compare::EXACT
            };
            assert_same(
                &canon(&db),
                &canon(&plain),
                loose,
                &format!("{at}, as DictDB reads it"),
            );
        }
        let _ = fs::remove_dir_all(dir);
        last = Some(db);
    }
    last.unwrap()
}

fn rekey(db: &Database, from: i64, to: i64) {
    db.execute(
        "UPDATE t SET id = ? WHERE id = ?",
        [Value::Int(to), Value::Int(from)],
    )
    .unwrap();
}

/// Re-key chains: 1 → 10 → 20 in one delta, and across deltas.
#[test]
fn delta_restore_follows_rekey_chains() {
    let live = deltas_restore_exactly(
        five_rows,
        &[&|db| {
            rekey(db, 1, 10);
            rekey(db, 10, 20);
        }],
    );
    assert_eq!(ids(&live), ints(&[20, 2, 3, 4, 5]));
    let live = deltas_restore_exactly(
        five_rows,
        &[&|db| rekey(db, 1, 10), &|db| rekey(db, 10, 20), &|db| {
            rekey(db, 20, 30);
            rekey(db, 3, 1);
        }],
    );
    assert_eq!(ids(&live), ints(&[30, 2, 1, 4, 5]));
}

/// A row re-keyed and then deleted is gone; its old key may come back as a new
/// row (at the end).
#[test]
fn delta_restore_of_a_rekeyed_then_deleted_row() {
    let live = deltas_restore_exactly(
        five_rows,
        &[&|db| {
            rekey(db, 1, 10);
            assert!(db.table("t").unwrap().delete_key(&Value::Int(10)));
        }],
    );
    assert_eq!(ids(&live), ints(&[2, 3, 4, 5]));
    let live = deltas_restore_exactly(
        five_rows,
        &[&|db| {
            rekey(db, 2, 10);
            assert!(db.table("t").unwrap().delete_key(&Value::Int(10)));
            db.table("t")
                .unwrap()
                .insert(record! { "b" => 0, "id" => 2 })
                .unwrap();
        }],
    );
    assert_eq!(ids(&live), ints(&[1, 3, 4, 5, 2]));
}

/// Rows trading keys, one step at a time (1 → 99, 2 → 1, 99 → 2) and in one
/// statement.
#[test]
fn delta_restore_of_swapped_keys() {
    let live = deltas_restore_exactly(
        five_rows,
        &[&|db| {
            rekey(db, 1, 99);
            rekey(db, 2, 1);
            rekey(db, 99, 2);
        }],
    );
    assert_eq!(ids(&live), ints(&[2, 1, 3, 4, 5]));
    let live = deltas_restore_exactly(
        five_rows,
        &[
            &|db| {
                db.execute("UPDATE t SET id = 8 - id WHERE id IN (3, 5)", ())
                    .unwrap();
            },
            &|db| rekey(db, 1, 99),
            &|db| {
                rekey(db, 2, 1);
                rekey(db, 99, 2);
            },
        ],
    );
    assert_eq!(ids(&live), ints(&[2, 1, 5, 4, 3]));
}

/// A row re-keyed and back again (its fields changed meanwhile) stays in place;
/// so does one whose key another row took for a while.
#[test]
fn delta_restore_of_a_rekey_and_back() {
    let live = deltas_restore_exactly(
        five_rows,
        &[&|db| {
            rekey(db, 1, 10);
            db.execute("UPDATE t SET c = 'x' WHERE id = 10", ())
                .unwrap();
            rekey(db, 10, 1);
        }],
    );
    assert_eq!(ids(&live), ints(&[1, 2, 3, 4, 5]));
    let live = deltas_restore_exactly(
        five_rows,
        &[&|db| {
            rekey(db, 1, 10);
            rekey(db, 2, 1);
            rekey(db, 1, 2);
            rekey(db, 10, 1);
        }],
    );
    assert_eq!(ids(&live), ints(&[1, 2, 3, 4, 5]));
}

/// A deleted key taken by a re-keyed row, by a new row, or both.
#[test]
fn delta_restore_of_deleted_keys_taken_again() {
    // 1 deleted, 2 → 1: the row with key 2 keeps its place under key 1.
    let live = deltas_restore_exactly(
        five_rows,
        &[&|db| {
            assert!(db.table("t").unwrap().delete_key(&Value::Int(1)));
            rekey(db, 2, 1);
        }],
    );
    assert_eq!(ids(&live), ints(&[1, 3, 4, 5]));
    // 1 → 10, then a new row with key 1 (at the end).
    let live = deltas_restore_exactly(
        five_rows,
        &[&|db| {
            rekey(db, 1, 10);
            db.table("t")
                .unwrap()
                .insert(record! { "id" => 1, "z" => true })
                .unwrap();
        }],
    );
    assert_eq!(ids(&live), ints(&[10, 2, 3, 4, 5, 1]));
    // 3 deleted and inserted again, then that new row re-keyed to 7 and 4
    // re-keyed to 3; then 3 deleted again and inserted again (upsert).
    let live = deltas_restore_exactly(
        five_rows,
        &[
            &|db| {
                let t = db.table("t").unwrap();
                assert!(t.delete_key(&Value::Int(3)));
                t.insert(record! { "x" => 1, "id" => 3 }).unwrap();
                rekey(db, 3, 7);
                rekey(db, 4, 3);
            },
            &|db| {
                let t = db.table("t").unwrap();
                assert!(t.delete_key(&Value::Int(3)));
                t.upsert(record! { "id" => 3, "y" => 2 }, dictdb::OnConflict::Update)
                    .unwrap();
            },
        ],
    );
    assert_eq!(ids(&live), ints(&[1, 2, 5, 7, 3]));
}

/// Compaction between re-keys and deletes moves positions, not the order.
#[test]
fn delta_restore_with_compaction_in_between() {
    let many = |db: &Database| {
        let t = db.create_table("t", "id").unwrap();
        t.insert_many((1..=300).map(|i| record! { "a" => i }).collect())
            .unwrap();
    };
    let live = deltas_restore_exactly(
        many,
        &[&|db| {
            rekey(db, 250, 1000);
            rekey(db, 1, 250);
            db.execute("DELETE FROM t WHERE id BETWEEN 2 AND 200", ())
                .unwrap();
            db.table("t").unwrap().compact();
            db.table("t")
                .unwrap()
                .insert(record! { "id" => 2 })
                .unwrap();
            rekey(db, 1000, 1);
        }],
    );
    let keys = ids(&live);
    assert_eq!(keys[..2], ints(&[250, 201]));
    assert_eq!(keys[keys.len() - 2..], ints(&[300, 2]));
}

/// A loaded or restored database (its rows built from files, some replayed from
/// deltas) tracks its rows like any other: its own deltas keep them in place.
#[test]
fn a_restored_database_keeps_rows_in_place_in_its_deltas() {
    let dir = scratch("goon");
    let db = Database::new();
    five_rows(&db);
    db.backup_full(backup_name(&dir, true, 1)).unwrap();
    db.table("t").unwrap().insert(record! { "a" => 6 }).unwrap();
    rekey(&db, 2, 20);
    assert!(db.save_delta(backup_name(&dir, false, 2)).unwrap());
    let (again, _) = restore_clean(&dir);
    for (seq, change) in [
        &(|db: &Database| {
            rekey(db, 1, 10);
            rekey(db, 6, 60);
        }) as &dyn Fn(&Database),
        &|db| {
            let t = db.table("t").unwrap();
            assert!(t.delete_key(&Value::Int(3)));
            t.insert(record! { "id" => 3, "b" => 1 }).unwrap();
            rekey(db, 20, 2);
        },
    ]
    .into_iter()
    .enumerate()
    {
        change(&again);
        assert!(
            again
                .save_delta(backup_name(&dir, false, 3 + seq as u64))
                .unwrap()
        );
        assert_same(
            &canon(&again),
            &restore_clean(&dir).1,
            Compare::EXACT,
            "restored, then changed",
        );
    }
    assert_eq!(ids(&again), ints(&[10, 2, 4, 5, 60, 3]));
    // Loaded from a plain save, the same.
    let saved = dir.join("saved.json");
    again.save(&saved).unwrap();
    let loaded = Database::load(&saved).unwrap();
    let dir2 = scratch("goon2");
    rekey(&loaded, 10, 1);
    assert!(loaded.save_delta(backup_name(&dir2, false, 1)).unwrap());
    let onto = Database::load(&saved).unwrap();
    onto.apply_delta(backup_name(&dir2, false, 1)).unwrap();
    assert_same(
        &canon(&loaded),
        &canon(&onto),
        Compare::EXACT,
        "loaded, then changed",
    );
    assert_eq!(ids(&onto)[0], Value::Int(1));
    fs::remove_dir_all(dir).unwrap();
    fs::remove_dir_all(dir2).unwrap();
}

/// `apply_delta` counts a re-key as DictDB would count the upsert and the
/// delete of the old key.
#[test]
fn apply_delta_counts_a_rekey_as_an_upsert_and_a_delete() {
    let dir = scratch("rekeycount");
    let db = Database::new();
    five_rows(&db);
    db.backup_full(backup_name(&dir, true, 1)).unwrap();
    rekey(&db, 1, 10);
    rekey(&db, 2, 20);
    rekey(&db, 20, 1);
    let path = backup_name(&dir, false, 2);
    assert!(db.save_delta(&path).unwrap());
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"rekeys\""), "{text}");
    let copy = Database::load(backup_name(&dir, true, 1)).unwrap();
    // Upserts 10 and 1, delete 2.
    assert_eq!(copy.apply_delta(&path).unwrap(), 3);
    assert_same(&canon(&db), &canon(&copy), Compare::EXACT, "apply_delta");
    let plain = Database::load(backup_name(&dir, true, 1)).unwrap();
    assert_eq!(plain.apply_delta(as_dictdb_reads_it(&path)).unwrap(), 3);
    fs::remove_dir_all(dir).unwrap();
}

/// A delta whose re-keys or reused keys do not fit fails with the file and the
/// table named, and changes nothing.
#[test]
fn malformed_rekeys_fail_clearly() {
    let dir = scratch("badrekeys");
    let db = Database::new();
    five_rows(&db);
    let before = canon(&db);
    for (i, (tables, message)) in [
        (
            r#"{"t": {"rekeys": [[1, 2, 3]]}}"#,
            "'rekeys' item 0 is not a pair",
        ),
        (r#"{"t": {"rekeys": 5}}"#, "'rekeys' is not a list"),
        (r#"{"t": {"reused": {"a": 1}}}"#, "'reused' is not a list"),
        (r#"{"t": {"rekeys": [[1, 2]]}}"#, "duplicate key 2"),
        (r#"{"t": {"rekeys": [[1, 7], [2, 7]]}}"#, "duplicate key 7"),
        (r#"{"t": {"rekeys": [[1, [1]]]}}"#, "key"),
        (r#"{"t": {"rekeys": [[1, null]]}}"#, "key"),
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.join(format!("bad{i}.json"));
        fs::write(&path, format!(r#"{{"type": "delta", "tables": {tables}}}"#)).unwrap();
        let e = db.apply_delta(&path).unwrap_err();
        error_names(&e, &path);
        let text = e.to_string();
        assert!(text.contains("'t'"), "{text}");
        assert!(text.contains(message), "{text}");
        assert_same(&before, &canon(&db), Compare::EXACT, &text);
    }
    // Keys the table lacks are skipped; rows may trade keys.
    let path = dir.join("ok.json");
    fs::write(
        &path,
        r#"{"type": "delta", "tables": {"t": {"rekeys": [[1, 2], [2, 1], [50, 60]], "reused": [77]}}}"#,
    )
    .unwrap();
    assert_eq!(db.apply_delta(&path).unwrap(), 0);
    assert_eq!(ids(&db), ints(&[2, 1, 3, 4, 5]));
    assert_eq!(
        db.table("t").unwrap().get(&Value::Int(2)).unwrap().get("a"),
        Some(&Value::Int(1))
    );
    // The sorted index on the key followed the rows.
    let by_key = db
        .table("t")
        .unwrap()
        .select(dictdb::Query::new().filter(col("id").eq(2)))
        .unwrap();
    assert_eq!(by_key, [record! { "id" => 2, "a" => 1 }]);
    fs::remove_dir_all(dir).unwrap();
}

/// Index changes on a table that existed at the last backup are backed up by
/// the next delta (the table counts as replaced), alone too, and the restored
/// database keeps the table's place, rows, counter and indexes.
#[test]
fn delta_restore_keeps_index_changes() {
    let setup = |db: &Database| {
        three_rows(db);
        db.table("t").unwrap().create_index("a", IndexKind::Hash);
        db.create_table("after", "id")
            .unwrap()
            .insert(record! { "x" => 1 })
            .unwrap();
    };
    // Index changes and a write.
    let (live, restored) = full_then_delta(setup, |db| {
        let t = db.table("t").unwrap();
        t.drop_index("a");
        t.create_index("b", IndexKind::Sorted);
        t.insert(record! { "a" => 4 }).unwrap();
    });
    // (The table's place in the registry is `bug_delta_restore_moves_a_table_whose_indexes_changed`.)
    let how = Compare {
        ignore_table_order: true,
        ..Compare::EXACT
    };
    assert_same(
        &canon(&live),
        &canon(&restored),
        how,
        "indexes after a delta",
    );
    // An index change alone is a change.
    let (live, restored) = full_then_delta(setup, |db| {
        assert!(!db.has_changes());
        db.execute("CREATE INDEX ix ON t (a) USING BTREE", ()).ok();
        db.table("t").unwrap().create_index("c", IndexKind::Hash);
        assert!(
            db.has_changes(),
            "an index change alone leaves has_changes false"
        );
    });
    assert_same(
        &canon(&live),
        &canon(&restored),
        how,
        "an index change alone",
    );
}

#[test]
fn bug_delta_restore_moves_a_table_whose_indexes_changed() {
    let (live, restored) = full_then_delta(
        |db| {
            three_rows(db);
            db.create_table("after", "id").unwrap();
        },
        |db| {
            db.table("t").unwrap().create_index("a", IndexKind::Hash);
        },
    );
    assert_eq!(live.table_names(), ["t", "after"]);
    assert_eq!(
        restored.table_names(),
        live.table_names(),
        "registry order after restore"
    );
}

// ----- failures ------------------------------------------------------------------

fn error_names(e: &Error, path: &Path) {
    let text = e.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "the error does not name {}: {text}",
        path.display()
    );
}

/// A directory where the backup file should go: a clear error naming the path,
/// earlier backups untouched, no change lost (the next delta has them).
#[test]
fn a_directory_in_the_way_fails_the_backup_and_loses_nothing() {
    let dir = scratch("inway");
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.insert_many((0..5).map(|i| record! { "n" => i }).collect())
        .unwrap();
    db.backup_full(backup_name(&dir, true, 1)).unwrap();
    t.insert(record! { "n" => 5 }).unwrap();
    assert!(db.save_delta(backup_name(&dir, false, 2)).unwrap());
    let earlier: Vec<(String, Vec<u8>)> = listing(&dir)
        .into_iter()
        .map(|f| (f.clone(), fs::read(dir.join(&f)).unwrap()))
        .collect();

    // Changes, then a delta into a directory.
    t.update_key(&Value::Int(1), record! { "n" => 100 })
        .unwrap();
    t.delete_key(&Value::Int(2));
    db.create_table("new", "id")
        .unwrap()
        .insert(record! { "x" => 1 })
        .unwrap();
    db.drop_table("t").ok(); // dropped...
    let t = db.create_table("t", "id").unwrap(); // ...and replaced
    t.insert(record! { "n" => 7 }).unwrap();
    let blocked = backup_name(&dir, false, 3);
    fs::create_dir(&blocked).unwrap();
    let e = db.save_delta(&blocked).unwrap_err();
    error_names(&e, &blocked);
    assert!(db.has_changes(), "the failed delta reset tracking");
    let e = db.backup_full(&blocked).unwrap_err();
    error_names(&e, &blocked);
    assert!(db.has_changes(), "the failed full backup reset tracking");
    // Earlier backups intact, no temporary file left.
    fs::remove_dir(&blocked).unwrap();
    let now: Vec<(String, Vec<u8>)> = listing(&dir)
        .into_iter()
        .map(|f| (f.clone(), fs::read(dir.join(&f)).unwrap()))
        .collect();
    assert_eq!(
        now, earlier,
        "earlier backups changed or a temporary file remained"
    );
    // The next delta holds everything since the last good backup.
    assert!(db.save_delta(backup_name(&dir, false, 4)).unwrap());
    assert_same(
        &canon(&db),
        &restore_clean(&dir).1,
        Compare::EXACT,
        "after the failure",
    );
    fs::remove_dir_all(dir).unwrap();
}

/// The manager's directory replaced by a plain file: each backup fails with the
/// path in its error, `consecutive_failures` counts, the callback gets the count;
/// once the directory is back, the next delta restores the live state.
#[test]
fn manager_failures_are_counted_reported_and_recovered() {
    let _w = watchdog("manager_failures", 60);
    let root = scratch("mgrfail");
    let dir = root.join("backups");
    let db = Arc::new(Database::new());
    let mgr = BackupManager::new(
        db.clone(),
        &dir,
        BackupOptions {
            incremental: true,
            max_deltas_before_full: 2,
            ..BackupOptions::default()
        },
    )
    .unwrap();
    let seen: Arc<Mutex<Vec<(String, u32)>>> = Arc::default();
    let s = seen.clone();
    mgr.on_failure(Box::new(move |e, n| {
        s.lock().unwrap().push((e.to_string(), n))
    }));

    let t = db.create_table("t", "id").unwrap();
    t.insert_many((0..10).map(|i| record! { "n" => i }).collect())
        .unwrap();
    assert!(matches!(mgr.backup_full(), BackupOutcome::Full(_)));
    t.insert(record! { "n" => 10 }).unwrap();
    assert!(matches!(mgr.backup_now(), BackupOutcome::Delta(_)));
    let earlier = listing(&dir);
    let contents: Vec<Vec<u8>> = earlier
        .iter()
        .map(|f| fs::read(dir.join(f)).unwrap())
        .collect();

    // Changes the failing backups must not lose.
    t.update(&col("n").lt(3), record! { "m" => "changed" })
        .unwrap();
    t.delete(&col("n").eq(5)).unwrap();
    db.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, s TEXT)", ())
        .unwrap();
    db.execute("INSERT INTO u VALUES (1, 'ü')", ()).unwrap();

    let away = root.join("away");
    fs::rename(&dir, &away).unwrap();
    fs::write(&dir, b"not a directory").unwrap();
    assert_eq!(mgr.backup_now(), BackupOutcome::Failed);
    assert_eq!(mgr.consecutive_failures(), 1);
    assert_eq!(mgr.backup_delta(), BackupOutcome::Failed);
    assert_eq!(mgr.backup_full(), BackupOutcome::Failed);
    assert_eq!(mgr.consecutive_failures(), 3);
    assert_eq!(
        mgr.notify_change(),
        BackupOutcome::Debounced,
        "within min_interval of the last success"
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [1, 2, 3]);
        for (msg, _) in seen.iter() {
            assert!(
                msg.contains(&dir.display().to_string()),
                "the error does not name the backup path: {msg}"
            );
        }
    }
    assert!(db.has_changes(), "failed backups reset tracking");
    assert_eq!(
        fs::read(&dir).unwrap(),
        b"not a directory",
        "the file in the way was touched"
    );

    // Directory back: earlier files intact; the next delta has every change.
    fs::remove_file(&dir).unwrap();
    fs::rename(&away, &dir).unwrap();
    assert_eq!(listing(&dir), earlier);
    for (f, c) in earlier.iter().zip(&contents) {
        assert_eq!(&fs::read(dir.join(f)).unwrap(), c, "{f} changed");
    }
    assert!(matches!(mgr.backup_delta(), BackupOutcome::Delta(_)));
    assert_eq!(mgr.consecutive_failures(), 0);
    assert_eq!(mgr.deltas_since_full(), 2);
    assert_same(
        &canon(&db),
        &restore_clean(&dir).1,
        Compare::EXACT,
        "after recovery",
    );
    // A full backup later (compaction) restores the same.
    db.table("u")
        .unwrap()
        .insert(record! { "s" => "x" })
        .unwrap();
    assert!(
        matches!(mgr.backup_now(), BackupOutcome::Full(_)),
        "compaction after 2 deltas"
    );
    assert_same(
        &canon(&db),
        &restore_clean(&dir).1,
        Compare::EXACT,
        "after compaction",
    );
    drop(mgr);
    fs::remove_dir_all(root).unwrap();
}

// ----- corrupt files -------------------------------------------------------------

/// Writes full (F) and delta (D) backups per `plan`, a few writes before each;
/// returns the paths and the live state right after each backup.
fn backups(dir: &Path, plan: &str) -> (Database, Vec<PathBuf>, Vec<Canon>) {
    let db = Database::new();
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT)",
        (),
    )
    .unwrap();
    let mut paths = Vec::new();
    let mut states = Vec::new();
    for (i, c) in plan.chars().enumerate() {
        let i = i as i64;
        db.execute(
            "INSERT INTO t (n, s) VALUES (?, 'ü'), (?, NULL)",
            [Value::Int(i), Value::Int(-i)],
        )
        .unwrap();
        db.execute(
            "UPDATE t SET n = n + 1 WHERE id % 3 = ?",
            [Value::Int(i % 3)],
        )
        .unwrap();
        db.execute("DELETE FROM t WHERE id = ?", [Value::Int(2 * i)])
            .unwrap();
        if i == 2 {
            db.create_table("later", "k")
                .unwrap()
                .insert(record! { "k" => "a" })
                .unwrap();
        }
        if i == 4 {
            db.drop_table("later").unwrap();
        }
        let path = backup_name(dir, c == 'F', i as u64 + 1);
        match c {
            'F' => db.backup_full(&path).unwrap(),
            _ => assert!(db.save_delta(&path).unwrap()),
        }
        paths.push(path);
        states.push(canon(&db));
    }
    (db, paths, states)
}

fn truncate(path: &Path) {
    let bytes = fs::read(path).unwrap();
    fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

#[test]
fn a_truncated_newest_delta_is_skipped_and_reported() {
    let dir = scratch("trunc");
    let (_, paths, states) = backups(&dir, "FDDFDD");
    truncate(&paths[5]);
    let (db, report) = restore(&dir);
    assert_eq!(report.full.as_deref(), Some(paths[3].as_path()));
    assert_eq!(report.deltas, [paths[4].clone()]);
    assert_eq!(report.skipped.len(), 1, "{report}");
    assert_eq!(report.skipped[0].0, paths[5]);
    assert!(
        report.to_string().contains(&paths[5].display().to_string()),
        "{report}"
    );
    assert_same(
        &states[4],
        &canon(&db),
        Compare::EXACT,
        "state of the last good delta",
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_corrupt_delta_ends_the_replay_there() {
    let dir = scratch("middle");
    let (_, paths, states) = backups(&dir, "FDDD");
    fs::write(&paths[2], b"{\"type\": \"delta\", \"tables\": [garbage").unwrap();
    let (db, report) = restore(&dir);
    assert_eq!(report.deltas, [paths[1].clone()]);
    // The corrupt delta, then the one after it (not replayed), each named once.
    assert_eq!(report.skipped.len(), 2, "{report}");
    assert_eq!(report.skipped[0].0, paths[2]);
    assert_eq!(report.skipped[1].0, paths[3]);
    assert!(report.skipped[1].1.contains("not replayed"), "{report}");
    assert_same(
        &states[1],
        &canon(&db),
        Compare::EXACT,
        "state before the corrupt delta",
    );
    // Deltas alone, the first one empty (0 bytes): an empty database.
    let dir2 = scratch("first");
    let (_, paths, _) = backups(&dir2, "DDD");
    fs::write(&paths[0], b"").unwrap();
    let (db, report) = restore(&dir2);
    assert!(
        report.full.is_none() && report.deltas.is_empty(),
        "{report}"
    );
    assert_eq!(report.skipped[0].0, paths[0]);
    assert!(db.table_names().is_empty());
    fs::remove_dir_all(dir).unwrap();
    fs::remove_dir_all(dir2).unwrap();
}

#[test]
fn a_corrupt_newest_full_backup_falls_back_to_the_previous_one() {
    let dir = scratch("fullbad");
    let (_, paths, states) = backups(&dir, "FDDFDD");
    truncate(&paths[3]);
    let (db, report) = restore(&dir);
    // The previous full backup and its deltas; nothing after the corrupt full.
    assert_eq!(report.full.as_deref(), Some(paths[0].as_path()), "{report}");
    assert_eq!(
        report.deltas,
        [paths[1].clone(), paths[2].clone()],
        "{report}"
    );
    let skipped: Vec<&PathBuf> = report.skipped.iter().map(|(p, _)| p).collect();
    assert!(skipped.contains(&&paths[3]), "{report}");
    for p in &paths[4..] {
        assert!(
            !report.deltas.contains(p),
            "replayed {} past the corrupt full",
            p.display()
        );
    }
    assert_same(
        &states[2],
        &canon(&db),
        Compare::EXACT,
        "state before the corrupt full",
    );
    // Every full backup corrupt: the deltas before the first one, from empty.
    truncate(&paths[0]);
    let (db, report) = restore(&dir);
    assert!(report.full.is_none(), "{report}");
    assert!(report.deltas.is_empty(), "{report}");
    assert!(db.table_names().is_empty());
    fs::remove_dir_all(dir).unwrap();
}

/// Every backup file of the directory is accounted for exactly once: the full
/// backup used, a delta replayed, or a skipped file.
fn assert_report_accounts_for_every_file(dir: &Path, report: &dictdb::RestoreReport) {
    let mut seen: Vec<PathBuf> = report.full.iter().cloned().collect();
    seen.extend(report.deltas.iter().cloned());
    seen.extend(report.skipped.iter().map(|(p, _)| p.clone()));
    let mut all: Vec<PathBuf> = listing(dir).into_iter().map(|f| dir.join(f)).collect();
    all.sort();
    seen.sort();
    assert_eq!(
        seen, all,
        "the report does not list each file once: {report}"
    );
}

#[test]
fn bug_restore_report_lists_each_unused_file_once() {
    let dir = scratch("report");
    let (_, paths, _) = backups(&dir, "FDDFDD");
    truncate(&paths[3]);
    let (_, report) = restore(&dir);
    assert_report_accounts_for_every_file(&dir, &report);
    let dir2 = scratch("report2");
    let (_, paths, _) = backups(&dir2, "FDDD");
    truncate(&paths[1]);
    let (_, report) = restore(&dir2);
    assert_report_accounts_for_every_file(&dir2, &report);
    fs::remove_dir_all(dir).unwrap();
    fs::remove_dir_all(dir2).unwrap();
}

// ----- concurrency ---------------------------------------------------------------

const ACCOUNTS: i64 = 60;
const TOTAL: i64 = ACCOUNTS * 100;

fn balance_sum(db: &Database) -> (i64, usize) {
    let t = db.table("acct").expect("acct table");
    let rows = t.select(dictdb::Query::new()).unwrap();
    (rows.iter().map(|r| int(r, "bal")).sum(), rows.len())
}

/// Writers moving balance between accounts with single atomic statements, so the
/// sum of `bal` is the same in every state of the table:
/// - SQL `UPDATE … SET bal = CASE …` between two of the original accounts (keys
///   1..=ACCOUNTS, which never go away: they only trade keys among themselves);
/// - SQL `UPDATE … SET id = CASE …` swapping the keys of two original accounts
///   (rows trading keys, re-keyed in place);
/// - `update_with` moving half of a balance between any two rows, computed under
///   the write lock (nothing moves when one of them is gone);
/// - new empty accounts (automatic keys), re-keyed (SQL) and closed when empty
///   (`DELETE … WHERE id = ? AND bal = 0`);
/// - appends to and deletes from a second table, `log`.
///
/// Runs until `stop`.
fn writer(db: &Database, w: i64, stop: &AtomicBool, next_key: &AtomicI64) {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(w as u64);
    let acct = db.table("acct").unwrap();
    let log = db.table("log").unwrap();
    let transfer = db
        .prepare(
            "UPDATE acct SET bal = CASE WHEN id = ? THEN bal - ? ELSE bal + ? END WHERE id IN (?, ?)",
        )
        .unwrap();
    let swap = db
        .prepare("UPDATE acct SET id = CASE WHEN id = ? THEN ? ELSE ? END WHERE id IN (?, ?)")
        .unwrap();
    while !stop.load(Ordering::Relaxed) {
        let keys: Vec<i64> = {
            let data = acct.engine().read();
            data.positions()
                .filter_map(|p| data.key_at(p).as_int_key())
                .collect()
        };
        let any = |rng: &mut StdRng| keys[rng.gen_range(0..keys.len())];
        let a = rng.gen_range(1..=ACCOUNTS);
        let b = rng.gen_range(1..=ACCOUNTS);
        let amount = rng.gen_range(1..20);
        let i = Value::Int;
        match rng.gen_range(0..12) {
            0..=3 if a != b => {
                let n = transfer
                    .execute([i(a), i(amount), i(amount), i(a), i(b)])
                    .unwrap();
                assert_eq!(n, dictdb::Output::Affected(2));
            }
            4 if a != b => {
                let n = swap.execute([i(a), i(b), i(a), i(a), i(b)]).unwrap();
                assert_eq!(n, dictdb::Output::Affected(2));
            }
            5..=6 => {
                let (a, b) = (any(&mut rng), any(&mut rng));
                if a == b {
                    continue;
                }
                let mut half: Option<i64> = None;
                acct.update_with(Some(&col("id").is_in([a, b])), |data, pos| {
                    let bal_at =
                        |p: u32| data.record(p).get("bal").and_then(Value::as_int).unwrap();
                    // One reading of a's balance for both rows; nothing moves when
                    // another writer re-keyed or closed a or b.
                    let h = *half.get_or_insert_with(|| {
                        match (
                            data.lookup_key(Value::Int(a).as_ref()),
                            data.lookup_key(Value::Int(b).as_ref()),
                        ) {
                            (Some(pa), Some(_)) => bal_at(pa) / 2,
                            _ => 0,
                        }
                    });
                    let key = data.key_at(pos).as_int_key().unwrap();
                    let bal = bal_at(pos);
                    Ok(record! { "bal" => if key == a { bal - h } else { bal + h } })
                })
                .unwrap();
            }
            7 => {
                acct.insert(record! { "bal" => 0, "by" => w }).unwrap();
            }
            8 => {
                let k = any(&mut rng);
                db.execute(
                    "DELETE FROM acct WHERE id = ? AND bal = 0 AND id > ?",
                    [i(k), i(ACCOUNTS)],
                )
                .unwrap();
            }
            9 => {
                let k = any(&mut rng);
                if k > ACCOUNTS {
                    let new = next_key.fetch_add(1, Ordering::Relaxed);
                    // May clash with an automatic key: then nothing changes.
                    let _ = db.execute("UPDATE acct SET id = ? WHERE id = ?", [i(new), i(k)]);
                }
            }
            _ => {
                log.insert(record! { "w" => w, "a" => a, "amount" => amount })
                    .unwrap();
                if rng.gen_bool(0.2) {
                    log.delete(&col("w").eq(w).and(col("amount").lt(3)))
                        .unwrap();
                }
            }
        }
    }
}

fn concurrent_db() -> Database {
    let db = Database::new();
    db.create_table("acct", "id")
        .unwrap()
        .insert_many((0..ACCOUNTS).map(|_| record! { "bal" => 100 }).collect())
        .unwrap();
    db.table("acct")
        .unwrap()
        .create_index("bal", IndexKind::Sorted);
    db.create_table("log", "id").unwrap();
    db
}

/// Checks every full backup loads with the invariant, and every prefix of the
/// directory (the state as of each backup) restores with it.
fn check_every_backup(dir: &Path) -> usize {
    let files = listing(dir);
    let prefix = scratch("prefix");
    for (i, f) in files.iter().enumerate() {
        let path = dir.join(f);
        if f.starts_with("dictdb_backup_") {
            let db = Database::load(&path).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(balance_sum(&db).0, TOTAL, "full backup {f}");
        }
        fs::hard_link(&path, prefix.join(f)).unwrap();
        let (db, report) = restore(&prefix);
        assert!(report.skipped.is_empty(), "prefix {i}: {report}");
        assert_eq!(balance_sum(&db).0, TOTAL, "restore up to {f}");
    }
    fs::remove_dir_all(prefix).unwrap();
    files.len()
}

fn with_writers(db: &Arc<Database>, run: impl FnOnce()) {
    let stop = AtomicBool::new(false);
    let next_key = AtomicI64::new(1_000_000);
    thread::scope(|s| {
        for w in 0..3 {
            let (db, stop, next_key) = (db.clone(), &stop, &next_key);
            s.spawn(move || writer(&db, w, stop, next_key));
        }
        run();
        stop.store(true, Ordering::Relaxed);
    });
}

/// Full backups and deltas by hand while three threads write: every backup is a
/// consistent snapshot; after the writers stop, one more delta and restore equals
/// the live database.
#[test]
fn backups_during_concurrent_writes_are_consistent() {
    let _w = watchdog("backups_during_concurrent_writes", 120);
    let dir = scratch("conc");
    let db = Arc::new(concurrent_db());
    let mut seq = 0;
    with_writers(&db, || {
        let start = Instant::now();
        while seq < 40 && start.elapsed() < Duration::from_secs(3) {
            seq += 1;
            if seq % 5 == 1 {
                db.backup_full(backup_name(&dir, true, seq)).unwrap();
            } else {
                db.save_delta(backup_name(&dir, false, seq)).unwrap();
            }
            // Plain saves too (read lock only).
            if seq % 7 == 0 {
                let p = dir.join("plain.json");
                db.save(&p).unwrap();
                let loaded = Database::load(&p).unwrap();
                assert_eq!(balance_sum(&loaded).0, TOTAL, "save during writes");
                fs::remove_file(p).unwrap();
            }
            thread::sleep(Duration::from_millis(5));
        }
    });
    assert_eq!(balance_sum(&db).0, TOTAL);
    seq += 1;
    db.save_delta(backup_name(&dir, false, seq)).unwrap();
    let n = check_every_backup(&dir);
    assert!(n >= 10, "only {n} backups");
    assert_same(
        &canon(&db),
        &restore_clean(&dir).1,
        DELTA_COMPARE,
        "final restore",
    );
    fs::remove_dir_all(dir).unwrap();
}

/// A `BackupManager` in incremental mode on its periodic thread (plus
/// `notify_change` calls) while three threads write.
#[test]
fn incremental_manager_during_concurrent_writes() {
    let _w = watchdog("incremental_manager", 120);
    let dir = scratch("mgrconc");
    let db = Arc::new(concurrent_db());
    let mgr = BackupManager::new(
        db.clone(),
        &dir,
        BackupOptions {
            interval: Duration::from_millis(40),
            min_interval: Duration::from_millis(15),
            incremental: true,
            max_deltas_before_full: 4,
            ..BackupOptions::default()
        },
    )
    .unwrap();
    let failures = Arc::new(AtomicI64::new(0));
    let f = failures.clone();
    mgr.on_failure(Box::new(move |e, _| {
        eprintln!("backup failed: {e}");
        f.fetch_add(1, Ordering::SeqCst);
    }));
    mgr.start().unwrap();
    with_writers(&db, || {
        for _ in 0..60 {
            thread::sleep(Duration::from_millis(25));
            mgr.notify_change();
        }
    });
    mgr.stop().unwrap();
    assert!(!matches!(mgr.backup_delta(), BackupOutcome::Failed));
    assert_eq!(failures.load(Ordering::SeqCst), 0);
    assert!(!db.has_changes());
    let n = check_every_backup(&dir);
    assert!(n >= 10, "only {n} backups");
    assert_same(
        &canon(&db),
        &restore_clean(&dir).1,
        DELTA_COMPARE,
        "final restore",
    );
    drop(mgr);
    fs::remove_dir_all(dir).unwrap();
}
