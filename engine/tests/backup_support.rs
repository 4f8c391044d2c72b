//! What persistence builds on: snapshots, taking and restoring changes, and the
//! registry of created and dropped tables.

use std::sync::Arc;

use dictdb_engine::{Catalog, IndexKind, Record, Value, record};

fn keys(rs: &[Record]) -> Vec<Value> {
    rs.iter().map(|r| r.get("id").cloned().unwrap()).collect()
}

#[test]
fn a_snapshot_is_one_moment_and_outlives_later_writes() {
    let c = Catalog::new();
    let t = c.create_table("t", "id", None).unwrap();
    t.insert_many(vec![
        record! { "name" => "a" },
        record! { "name" => "b", "x" => 1 },
        record! { "name" => "c" },
    ])
    .unwrap();
    t.create_index("name", IndexKind::Hash);
    t.write().delete_positions(&[1]);
    let snap = t.read().snapshot();
    t.insert(record! { "name" => "d" }).unwrap();
    t.write().delete_positions(&[0]);
    assert_eq!(snap.len(), 2);
    assert_eq!(snap.name(), "t");
    assert_eq!(snap.primary_key(), "id");
    assert_eq!(snap.indexes, vec![("name".into(), IndexKind::Hash)]);
    assert_eq!(snap.next_pk, 4);
    let rows: Vec<Record> = snap.rows().map(|r| r.to_record()).collect();
    assert_eq!(
        rows,
        vec![
            record! { "id" => 1, "name" => "a" },
            record! { "id" => 3, "name" => "c" },
        ]
    );
}

#[test]
fn changes_are_taken_with_their_reset_and_can_be_put_back() {
    let c = Catalog::new();
    let t = c.create_table("t", "id", None).unwrap();
    t.insert_many(vec![
        record! { "v" => 1 },
        record! { "v" => 2 },
        record! { "v" => 3 },
    ])
    .unwrap();
    t.write().clear_tracking();
    t.upsert(
        record! { "id" => 2, "v" => 20 },
        dictdb_engine::OnConflict::Update,
    )
    .unwrap();
    let p3 = t.read().lookup_key(Value::Int(3).as_ref()).unwrap();
    t.write().delete_positions(&[p3]);
    let taken = t.write().take_changes();
    assert_eq!(keys(&taken.upserts), [Value::Int(2)]);
    assert_eq!(taken.deletes, [Value::Int(3)]);
    assert!(!t.read().has_changes());
    assert!(t.write().take_changes().is_empty());
    // The write of the backup failed: put the changes back. Meanwhile key 2 was
    // deleted (so it is not written again) and key 3 re-inserted (so it is not
    // deleted again, but written).
    let p2 = t.read().lookup_key(Value::Int(2).as_ref()).unwrap();
    t.write().delete_positions(&[p2]);
    t.insert(record! { "id" => 3, "v" => 33 }).unwrap();
    t.write().restore_changes(&taken);
    let again = t.write().take_changes();
    assert_eq!(keys(&again.upserts), [Value::Int(3)]);
    assert_eq!(again.deletes, [Value::Int(2)]);
}

#[test]
fn the_registry_reports_created_dropped_and_replaced_tables() {
    let c = Catalog::new();
    c.create_table("a", "id", None).unwrap();
    c.create_table("b", "id", None).unwrap();
    let (changes, old) = c.take_registry_changes();
    let names: Vec<&str> = changes.created.iter().map(|t| t.name()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(changes.dropped.is_empty());
    assert!(c.registry_changes().is_empty());
    // Drop a, replace b, create d.
    c.drop_table("a").unwrap();
    let b2 = Arc::new(dictdb_engine::Table::new("b", "id", None));
    c.register(b2);
    c.create_table("d", "id", None).unwrap();
    let changes = c.registry_changes();
    let created: Vec<&str> = changes.created.iter().map(|t| t.name()).collect();
    assert_eq!(created, ["b", "d"]);
    assert_eq!(changes.dropped, ["a", "b"]);
    // A failed backup puts the old baseline back.
    let (_, before) = c.take_registry_changes();
    assert!(c.registry_changes().is_empty());
    c.restore_registry(before);
    assert_eq!(c.registry_changes().dropped, ["a", "b"]);
    c.restore_registry(old);
    assert_eq!(c.registry_changes().created.len(), 2);
    c.reset_registry();
    assert!(c.registry_changes().is_empty());
}

#[test]
fn the_counter_never_goes_below_the_keys_in_use() {
    let c = Catalog::new();
    let t = c.create_table("t", "id", None).unwrap();
    t.insert_many(vec![record! { "id" => 10 }]).unwrap();
    t.write().set_next_key(3);
    assert_eq!(t.read().next_key(), 11);
    t.write().set_next_key(50);
    assert_eq!(t.insert(record! {}).unwrap(), Value::Int(50));
}

/// The rows of a table, in order.
fn rows(t: &dictdb_engine::Table) -> Vec<Record> {
    let d = t.read();
    d.positions().map(|p| d.record(p)).collect()
}

fn rekey(t: &dictdb_engine::Table, from: i64, to: i64) {
    let mut d = t.write();
    let p = d.lookup_key(Value::Int(from).as_ref()).unwrap();
    d.update_rows(&[(p, record! { "id" => to })], false)
        .unwrap();
}

fn delete(t: &dictdb_engine::Table, key: i64) {
    let mut d = t.write();
    let p = d.lookup_key(Value::Int(key).as_ref()).unwrap();
    assert_eq!(d.delete_positions(&[p]), 1);
}

fn five() -> (Catalog, Arc<dictdb_engine::Table>) {
    let c = Catalog::new();
    let t = c.create_table("t", "id", None).unwrap();
    t.insert_many((1..=5).map(|i| record! { "v" => i }).collect())
        .unwrap();
    t.write().clear_tracking();
    (c, t)
}

/// Replays changes onto a copy of the table as it was at the reset.
fn replayed(at_reset: &[Record], changes: &dictdb_engine::Changes) -> Vec<Record> {
    let copy = dictdb_engine::Table::new("copy", "id", None);
    copy.insert_many(at_reset.to_vec()).unwrap();
    copy.write()
        .apply_delta(
            changes.upserts.clone(),
            &changes.deletes,
            &changes.rekeys,
            &changes.reused,
        )
        .unwrap();
    rows(&copy)
}

#[test]
fn changes_say_which_rows_were_rekeyed_and_which_keys_reused() {
    let (_c, t) = five();
    let at_reset = rows(&t);
    rekey(&t, 1, 10);
    delete(&t, 3);
    t.insert(record! { "w" => 0, "id" => 3 }).unwrap();
    // A new row re-keyed is just a new row.
    t.insert(record! { "id" => 6 }).unwrap();
    rekey(&t, 6, 7);
    let live = rows(&t);
    let taken = t.write().take_changes();
    assert_eq!(taken.rekeys, [(Value::Int(1), Value::Int(10))]);
    assert_eq!(taken.reused, [Value::Int(3)]);
    assert_eq!(taken.deletes, [Value::Int(1), Value::Int(6)]);
    assert_eq!(
        keys(&taken.upserts),
        [Value::Int(10), Value::Int(3), Value::Int(7)]
    );
    assert_eq!(replayed(&at_reset, &taken), live);
}

/// A failed backup puts re-keys and reused keys back, merged with what came
/// since: the next changes lead from the earlier reset to the table as it is.
#[test]
fn rekeys_put_back_merge_with_later_ones() {
    let (_c, t) = five();
    let at_reset = rows(&t);
    rekey(&t, 1, 10);
    delete(&t, 3);
    t.insert(record! { "w" => 0, "id" => 3 }).unwrap();
    let taken = t.write().take_changes();
    // Meanwhile: 10 → 20, 2 deleted and its key taken by 4; compaction.
    rekey(&t, 10, 20);
    delete(&t, 2);
    rekey(&t, 4, 2);
    t.write().compact();
    t.write().restore_changes(&taken);
    let live = rows(&t);
    let again = t.write().take_changes();
    assert_eq!(
        again.rekeys,
        [
            (Value::Int(1), Value::Int(20)),
            (Value::Int(4), Value::Int(2))
        ]
    );
    assert_eq!(again.reused, [Value::Int(2), Value::Int(3)]);
    assert_eq!(replayed(&at_reset, &again), live);
    // Put back after another take came between: no change is lost, rows may
    // move to the end.
    let (_c, t) = five();
    let at_reset = rows(&t);
    rekey(&t, 1, 10);
    let first = t.write().take_changes();
    rekey(&t, 2, 1);
    let _second = t.write().take_changes();
    t.write().restore_changes(&first);
    let again = t.write().take_changes();
    let mut got = replayed(&at_reset, &again);
    got.sort_by_key(|r| r.get("id").and_then(Value::as_int));
    let mut want = rows(&t);
    want.retain(|r| r.get("id") != Some(&Value::Int(1)));
    want.push(at_reset[1].clone());
    want.sort_by_key(|r| r.get("id").and_then(Value::as_int));
    assert_eq!(got, want);
}

mod replay {
    use super::*;
    use dictdb_engine::{Changes, OnConflict, Table};
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Step {
        /// Insert with this key (`None`: automatic), fields in one of two orders.
        Insert(Option<i64>, bool),
        Delete(i64),
        /// Re-key the row with the first key to the second (if free).
        Rekey(i64, i64),
        /// Two rows trade keys in one write.
        Swap(i64, i64),
        /// Upsert (update or insert).
        Upsert(i64),
        Compact,
        /// Take the changes and replay them onto the replica.
        Backup,
        /// Take the changes and put them back later (at the next `Backup`, or
        /// now when `now`).
        Fail {
            now: bool,
        },
    }

    fn step() -> impl Strategy<Value = Step> {
        let key = 0i64..12;
        prop_oneof![
            4 => (proptest::option::of(key.clone()), any::<bool>()).prop_map(|(k, o)| Step::Insert(k, o)),
            3 => key.clone().prop_map(Step::Delete),
            3 => (key.clone(), key.clone()).prop_map(|(a, b)| Step::Rekey(a, b)),
            1 => (key.clone(), key.clone()).prop_map(|(a, b)| Step::Swap(a, b)),
            2 => key.clone().prop_map(Step::Upsert),
            1 => Just(Step::Compact),
            2 => Just(Step::Backup),
            1 => any::<bool>().prop_map(|now| Step::Fail { now }),
        ]
    }

    fn fields(rows: &[Record]) -> Vec<Vec<(String, Value)>> {
        rows.iter()
            .map(|r| r.iter().map(|(n, v)| (n.to_string(), v.clone())).collect())
            .collect()
    }

    fn pos(t: &Table, k: i64) -> Option<u32> {
        t.read().lookup_key(Value::Int(k).as_ref())
    }

    fn run(steps: &[Step]) -> Result<(), TestCaseError> {
        let t = Table::new("t", "id", None);
        t.insert_many((0..6).map(|i| record! { "v" => i }).collect())
            .unwrap();
        t.create_index("id", IndexKind::Sorted);
        t.write().clear_tracking();
        let replica = Table::new("t", "id", None);
        replica.insert_many(rows(&t)).unwrap();
        let mut pending: Option<Changes> = None;
        let mut n = 0;
        for (i, s) in steps.iter().enumerate() {
            n += 1;
            match *s {
                Step::Insert(k, order) => {
                    let r = match (k, order) {
                        (Some(k), true) => record! { "id" => k, "v" => n },
                        (Some(k), false) => record! { "w" => n, "id" => k },
                        (None, _) => record! { "v" => n },
                    };
                    let _ = t.insert(r);
                }
                Step::Delete(k) => {
                    if let Some(p) = pos(&t, k) {
                        t.write().delete_positions(&[p]);
                    }
                }
                Step::Rekey(a, b) => {
                    if let Some(p) = pos(&t, a) {
                        let _ = t
                            .write()
                            .update_rows(&[(p, record! { "id" => b, "u" => n })], true);
                    }
                }
                Step::Swap(a, b) => {
                    if let (Some(pa), Some(pb)) = (pos(&t, a), pos(&t, b))
                        && pa != pb
                    {
                        t.write()
                            .update_rows(
                                &[(pa, record! { "id" => b }), (pb, record! { "id" => a })],
                                true,
                            )
                            .unwrap();
                    }
                }
                Step::Upsert(k) => {
                    t.upsert(record! { "id" => k, "x" => n }, OnConflict::Update)
                        .unwrap();
                }
                Step::Compact => t.write().compact(),
                Step::Fail { now } => {
                    if let Some(p) = pending.take() {
                        t.write().restore_changes(&p);
                    }
                    let taken = t.write().take_changes();
                    if now {
                        t.write().restore_changes(&taken);
                    } else {
                        pending = Some(taken);
                    }
                }
                Step::Backup => {
                    if let Some(p) = pending.take() {
                        t.write().restore_changes(&p);
                    }
                    let c = t.write().take_changes();
                    let applied = replica.write().apply_delta(
                        c.upserts.clone(),
                        &c.deletes,
                        &c.rekeys,
                        &c.reused,
                    );
                    prop_assert!(
                        applied.is_ok(),
                        "step {}: {:?}; changes {:?}",
                        i,
                        applied,
                        c
                    );
                    // Field order too (records compare equal in any order).
                    prop_assert_eq!(
                        fields(&rows(&replica)),
                        fields(&rows(&t)),
                        "step {}: {:?}; changes {:?}",
                        i,
                        s,
                        c
                    );
                    prop_assert!(!t.read().has_changes());
                }
            }
        }
        Ok(())
    }

    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(256)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        /// Changes taken after random writes (re-keys, swaps, deletes and
        /// re-inserts, compaction) and failed backups put back, replayed onto a
        /// replica, give the table exactly: rows, order, fields.
        #[test]
        fn changes_replay_exactly(steps in proptest::collection::vec(step(), 1..60)) {
            run(&steps)?;
        }
    }
}
