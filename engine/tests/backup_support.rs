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
