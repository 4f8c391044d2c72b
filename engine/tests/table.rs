//! Integration tests of tables: keys, duplicates, atomicity, schemas, upsert, update,
//! delete and compaction, absent vs NULL, change tracking, mixed-type columns, and a
//! model-based property test of random operation sequences.
//!
//! The contract is python-api.md §3, §6.3–6.11 and the decisions Q8, Q9, Q11, Q13,
//! Q14, Q16 and Q18, on the engine side (the Python layer turns "0 rows" into
//! `RecordNotFoundError`; the engine just returns 0).

use std::cmp::Ordering;
use std::collections::HashSet;
use std::ops::Bound;
use std::sync::Arc;

use dictdb_engine::value::{DateTime, FixedOffset, HashKey, NaiveDate, index_eq};
use dictdb_engine::{
    Catalog, Error, FieldType, IndexKind, KeyProblem, OnConflict, Record, Schema, SchemaError,
    Table, TableData, UpsertAction, Value, record, total_cmp,
};
use proptest::prelude::*;

// ----- helpers -------------------------------------------------------------------

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn s(x: &str) -> Value {
    Value::str(x)
}

/// The fields of a record, in order, as owned pairs.
fn fields(r: &Record) -> Vec<(String, Value)> {
    r.iter().map(|(n, v)| (n.to_string(), v.clone())).collect()
}

fn names(r: &Record) -> Vec<String> {
    r.names().map(|n| n.to_string()).collect()
}

/// Exact identity of content: same variant, same data; floats by their bits (so
/// `-0.0` differs from `0.0` and a NaN is identical to itself).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && same(v1, v2))
        }
        _ => a == b,
    }
}

/// Exact identity of two field lists, field order included.
fn same_fields(a: &[(String, Value)], b: &[(String, Value)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((n1, v1), (n2, v2))| n1 == n2 && same(v1, v2))
}

fn record_of(fields: &[(String, Value)]) -> Record {
    fields.iter().cloned().collect()
}

fn table(name: &str, schema: Option<Schema>) -> Arc<Table> {
    Catalog::new().create_table(name, "id", schema).unwrap()
}

fn pos_of(t: &Table, key: &Value) -> u32 {
    t.read()
        .lookup_key(key.as_ref())
        .unwrap_or_else(|| panic!("key {key} not found"))
}

/// The keys of the live rows in insertion order.
fn keys_in_order(t: &Table) -> Vec<Value> {
    let d = t.read();
    d.positions().map(|p| d.key_at(p).to_owned()).collect()
}

/// Checks every secondary index against a scan of the table:
/// - each bucket is non-empty, ascending, holds live rows that have the field with a
///   value equal to the bucket key (index equality for hash indexes, the total order
///   for sorted ones), and keys are distinct;
/// - `absent()` lists exactly the live rows lacking the field;
/// - every live row is found by `lookup` of its own value (or in `absent()`);
/// - the postings add up to the number of live rows.
fn check_indexes(d: &TableData) {
    for (name, ix) in d.indexes() {
        let col = d
            .column_id(name)
            .unwrap_or_else(|| panic!("index {name} has no column"));
        let entries: Vec<(&Value, &[u32])> = ix.entries().collect();
        assert_eq!(ix.n_keys(), entries.len(), "n_keys of index {name}");
        let mut total = 0usize;
        for (k, posts) in &entries {
            assert!(!posts.is_empty(), "index {name}: empty bucket for {k}");
            assert!(
                posts.windows(2).all(|w| w[0] < w[1]),
                "index {name}: bucket {k} not ascending: {posts:?}"
            );
            for &p in posts.iter() {
                assert!(d.is_live(p), "index {name}: bucket {k} holds dead row {p}");
                assert!(
                    d.has_field(p, col),
                    "index {name}: bucket {k} holds row {p} lacking the field"
                );
                let v = d.value(p, col);
                match ix.kind() {
                    IndexKind::Hash => assert!(
                        index_eq(k.as_ref(), v),
                        "hash index {name}: row {p} value {v} under key {k}"
                    ),
                    IndexKind::Sorted => assert_eq!(
                        total_cmp(k.as_ref(), v),
                        Ordering::Equal,
                        "sorted index {name}: row {p} value {v} under key {k}"
                    ),
                }
            }
            total += posts.len();
        }
        match ix.kind() {
            IndexKind::Sorted => {
                assert!(
                    entries
                        .windows(2)
                        .all(|w| total_cmp(w[0].0.as_ref(), w[1].0.as_ref()) == Ordering::Less),
                    "sorted index {name}: keys not strictly ascending"
                );
                let ranged: Vec<(&Value, &[u32])> = ix
                    .range(Bound::Unbounded, Bound::Unbounded)
                    .expect("sorted index has ranges")
                    .collect();
                assert!(
                    ranged.len() == entries.len()
                        && ranged
                            .iter()
                            .zip(&entries)
                            .all(|(a, b)| same(a.0, b.0) && a.1 == b.1),
                    "sorted index {name}: full range vs entries"
                );
            }
            IndexKind::Hash => {
                let distinct: HashSet<HashKey> =
                    entries.iter().map(|(k, _)| HashKey((*k).clone())).collect();
                assert_eq!(
                    distinct.len(),
                    entries.len(),
                    "hash index {name}: equal keys"
                );
                assert!(ix.range(Bound::Unbounded, Bound::Unbounded).is_none());
            }
        }
        let absent = ix.absent();
        assert!(absent.windows(2).all(|w| w[0] < w[1]));
        for &p in absent {
            assert!(d.is_live(p), "index {name}: absent holds dead row {p}");
            assert!(
                !d.has_field(p, col),
                "index {name}: absent holds row {p} having the field"
            );
        }
        total += absent.len();
        assert_eq!(total, d.len(), "index {name}: postings vs live rows");
        // lookup() of each row's own value finds the row; lookups are memoised per
        // exact value, so the check stays linear with large buckets.
        let mut looked_up: Vec<(Value, Vec<u32>)> = Vec::new();
        for p in d.positions() {
            if d.has_field(p, col) {
                let v = d.value(p, col).to_owned();
                let found = match looked_up.iter().find(|(k, _)| same(k, &v)) {
                    Some((_, posts)) => posts.binary_search(&p).is_ok(),
                    None => {
                        let mut posts = ix.lookup(v.as_ref());
                        posts.sort_unstable();
                        let found = posts.binary_search(&p).is_ok();
                        looked_up.push((v.clone(), posts));
                        found
                    }
                };
                assert!(found, "index {name}: lookup({v}) misses row {p}");
            } else {
                assert!(
                    absent.binary_search(&p).is_ok(),
                    "index {name}: row {p} lacks the field but is not in absent()"
                );
            }
        }
    }
}

/// A full dump of one index.
#[derive(Debug, PartialEq)]
struct IndexDump {
    field: String,
    kind: IndexKind,
    entries: Vec<(Value, Vec<u32>)>,
    absent: Vec<u32>,
}

/// Everything observable about a table's state.
#[derive(Debug, PartialEq)]
struct Snapshot {
    len: usize,
    n_positions: usize,
    rows: Vec<(u32, Vec<(String, Value)>)>,
    next_key: i64,
    version: u64,
    has_changes: bool,
    dirty: Vec<Vec<(String, Value)>>,
    deleted: Vec<Value>,
    indexes: Vec<IndexDump>,
}

fn snapshot(t: &Table) -> Snapshot {
    let d = t.read();
    let indexes = d
        .indexes()
        .map(|(name, ix)| {
            let mut entries: Vec<(Value, Vec<u32>)> =
                ix.entries().map(|(k, p)| (k.clone(), p.to_vec())).collect();
            entries.sort_by(|a, b| total_cmp(a.0.as_ref(), b.0.as_ref()));
            IndexDump {
                field: name.to_string(),
                kind: ix.kind(),
                entries,
                absent: ix.absent().to_vec(),
            }
        })
        .collect();
    Snapshot {
        len: d.len(),
        n_positions: d.n_positions(),
        rows: d.positions().map(|p| (p, fields(&d.record(p)))).collect(),
        next_key: d.next_key(),
        version: d.version(),
        has_changes: d.has_changes(),
        dirty: d.dirty_records().iter().map(fields).collect(),
        deleted: d.deleted_keys(),
        indexes,
    }
}

const CITIES: [&str; 3] = ["Oslo", "Rome", "Lima"];

/// A schema-less table of `n` people (keys 1..=n) with four indexes, then some
/// tracking state: row 3 updated, row 5 deleted.
fn people(n: i64) -> Arc<Table> {
    let t = table("people", None);
    let recs: Vec<Record> = (0..n)
        .map(|i| {
            let mut r = record! {
                "name" => format!("p{i}"),
                "age" => 20 + i % 30,
                "city" => CITIES[(i % 3) as usize],
            };
            match i % 4 {
                0 => {}
                1 => {
                    r.set("tag", Value::Null);
                }
                2 => {
                    r.set("tag", i);
                }
                _ => {
                    r.set("tag", format!("t{}", i % 5));
                }
            }
            r
        })
        .collect();
    let keys = t.insert_many(recs).unwrap();
    assert_eq!(keys, (1..=n).map(int).collect::<Vec<_>>());
    t.create_index("age", IndexKind::Sorted);
    t.create_index("city", IndexKind::Hash);
    t.create_index("tag", IndexKind::Hash);
    t.create_index("id", IndexKind::Sorted);
    t.write().clear_tracking();
    let p3 = pos_of(&t, &int(3));
    t.write()
        .update_positions(&[p3], &record! { "city" => "Kyiv" }, true)
        .unwrap();
    let p5 = pos_of(&t, &int(5));
    assert_eq!(t.write().delete_positions(&[p5]), 1);
    check_indexes(&t.read());
    t
}

fn people_schema() -> Schema {
    Schema::new()
        .field("id", FieldType::Int)
        .field("name", FieldType::Str)
        .field("age", FieldType::Int)
        .nullable("note", FieldType::Str)
}

/// A typed table: five valid rows and (when `bad_third`) a third row inserted without
/// validation whose `age` is a string. Indexes on name (hash) and age (sorted).
fn typed_people(bad_third: bool) -> Arc<Table> {
    let t = table("typed", Some(people_schema()));
    for i in 1..=5 {
        let age: Value = if bad_third && i == 3 {
            s("old")
        } else {
            int(20 + i)
        };
        let r = record! { "name" => format!("n{i}"), "age" => age };
        assert_eq!(t.write().insert(r, !(bad_third && i == 3)).unwrap(), int(i));
    }
    t.create_index("name", IndexKind::Hash);
    t.create_index("age", IndexKind::Sorted);
    t.write().clear_tracking();
    let p1 = pos_of(&t, &int(1));
    t.write()
        .update_positions(&[p1], &record! { "note" => "hello" }, true)
        .unwrap();
    t
}

fn is_dup(e: &Error, table: &str, key: &Value) -> bool {
    match e {
        Error::DuplicateKey { table: t, key: k } => t == table && same(k, key),
        _ => false,
    }
}

fn key_problem(e: &Error) -> Option<KeyProblem> {
    match e {
        Error::InvalidKey { reason, .. } => Some(*reason),
        _ => None,
    }
}

// ----- 1. automatic keys ----------------------------------------------------------

#[test]
fn fresh_table_auto_keys_count_from_one_and_are_appended() {
    let t = table("t", None);
    for expect in 1..=3 {
        assert_eq!(t.insert(record! { "name" => "x" }).unwrap(), int(expect));
    }
    assert_eq!(t.read().next_key(), 4);
    let r = t.get(&int(2)).unwrap();
    assert_eq!(names(&r), ["name", "id"]);
    assert_eq!(r.get("id"), Some(&int(2)));
}

#[test]
fn auto_key_after_explicit_keys() {
    let t = table("t", None);
    assert_eq!(t.insert(record! { "id" => 1 }).unwrap(), int(1));
    assert_eq!(t.insert(record! { "id" => 2 }).unwrap(), int(2));
    assert_eq!(t.insert(record! { "v" => 0 }).unwrap(), int(3));
    // A negative int does not move the counter.
    assert_eq!(t.insert(record! { "id" => -7 }).unwrap(), int(-7));
    assert_eq!(t.insert(record! {}).unwrap(), int(4));
    // An int far ahead moves it past that key.
    assert_eq!(t.insert(record! { "id" => 40 }).unwrap(), int(40));
    assert_eq!(t.insert(record! {}).unwrap(), int(41));
}

#[test]
fn batch_mixes_explicit_and_auto_keys() {
    let t = table("t", None);
    let keys = t
        .insert_many(vec![
            record! { "id" => 5 },
            record! {},
            record! { "id" => 10 },
            record! {},
        ])
        .unwrap();
    assert_eq!(keys, [int(5), int(6), int(10), int(11)]);
    assert_eq!(t.read().next_key(), 12);
    assert_eq!(keys_in_order(&t), keys);
    assert!(t.insert_many(Vec::new()).unwrap().is_empty());
    assert_eq!(t.len(), 4);
}

#[test]
fn auto_keys_skip_keys_in_use_without_moving_the_counter() {
    let t = table("t", None);
    assert_eq!(
        t.insert(record! { "id" => 3.0 }).unwrap(),
        Value::Float(3.0)
    );
    assert_eq!(t.insert(record! { "id" => "k" }).unwrap(), s("k"));
    assert_eq!(
        t.insert(record! { "id" => 1.5 }).unwrap(),
        Value::Float(1.5)
    );
    assert_eq!(
        t.read().next_key(),
        1,
        "floats and strings do not move the counter"
    );
    let autos: Vec<Value> = (0..3).map(|_| t.insert(record! {}).unwrap()).collect();
    assert_eq!(autos, [int(1), int(2), int(4)]);
    assert_eq!(t.get(&int(3)).unwrap().get("id"), Some(&Value::Float(3.0)));
    assert_eq!(t.len(), 6);

    // In one batch: an explicit 2.0 earlier in the batch is skipped by later autos.
    let t = table("t", None);
    let keys = t
        .insert_many(vec![
            record! {},
            record! { "id" => 2.0 },
            record! {},
            record! {},
        ])
        .unwrap();
    assert_eq!(keys, [int(1), Value::Float(2.0), int(3), int(4)]);

    // A key set by a re-key (a float, so the counter stays) is skipped too.
    let t = table("t", None);
    assert_eq!(t.insert(record! {}).unwrap(), int(1));
    let p = pos_of(&t, &int(1));
    t.write()
        .update_positions(&[p], &record! { "id" => 2.0 }, true)
        .unwrap();
    assert_eq!(t.read().next_key(), 2);
    assert_eq!(t.insert(record! {}).unwrap(), int(3));
    // The counter never goes back to the freed key 1.
    assert_eq!(t.insert(record! {}).unwrap(), int(4));
}

#[test]
fn null_key_means_auto_everywhere() {
    let t = table("t", None);
    let k = t
        .insert(record! { "id" => Value::Null, "name" => "a" })
        .unwrap();
    assert_eq!(k, int(1));
    let r = t.get(&int(1)).unwrap();
    assert_eq!(fields(&r), [("id".into(), int(1)), ("name".into(), s("a"))]);
    let keys = t
        .insert_many(vec![
            record! { "id" => Value::Null },
            record! { "name" => "b", "id" => Value::Null },
        ])
        .unwrap();
    assert_eq!(keys, [int(2), int(3)]);
    assert_eq!(names(&t.get(&int(3)).unwrap()), ["name", "id"]);
    for oc in [OnConflict::Update, OnConflict::Ignore, OnConflict::Error] {
        let (k, action) = t.upsert(record! { "id" => Value::Null }, oc).unwrap();
        assert_eq!(action, UpsertAction::Inserted);
        assert!(matches!(k, Value::Int(4..=6)), "{k}");
    }
    assert_eq!(t.len(), 6);
    assert!(t.get(&Value::Null).is_none());
}

#[test]
fn bool_true_is_key_one() {
    let t = table("users", None);
    assert_eq!(
        t.insert(record! { "id" => true, "n" => 1 }).unwrap(),
        Value::Bool(true)
    );
    assert_eq!(t.read().next_key(), 2, "a bool key moves the counter");
    for dup in [int(1), Value::Float(1.0), Value::Bool(true)] {
        let e = t.insert(record! { "id" => dup.clone() }).unwrap_err();
        assert!(is_dup(&e, "users", &dup), "{e:?}");
    }
    for k in [int(1), Value::Float(1.0), Value::Bool(true)] {
        assert_eq!(t.get(&k).unwrap().get("id"), Some(&Value::Bool(true)));
    }
    assert_eq!(t.insert(record! {}).unwrap(), int(2));
    // False is key 0 and does not collide with 1.
    assert_eq!(
        t.insert(record! { "id" => false }).unwrap(),
        Value::Bool(false)
    );
    assert!(t.insert(record! { "id" => 0 }).is_err());
    assert_eq!(t.len(), 3);
}

// ----- 2. duplicates and invalid keys --------------------------------------------

#[test]
fn duplicate_key_against_the_table() {
    let t = table("users", None);
    t.insert(record! { "id" => 5, "name" => "a" }).unwrap();
    t.insert(record! { "id" => "abc" }).unwrap();
    let before = snapshot(&t);
    let e = t.insert(record! { "id" => 5, "name" => "b" }).unwrap_err();
    assert_eq!(
        e,
        Error::DuplicateKey {
            table: "users".into(),
            key: int(5)
        }
    );
    let msg = e.to_string();
    assert!(msg.contains("users") && msg.contains('5'), "{msg}");
    let e = t.insert(record! { "id" => "abc" }).unwrap_err();
    assert!(is_dup(&e, "users", &s("abc")));
    assert!(e.to_string().contains("'abc'") && e.to_string().contains("users"));
    assert_eq!(snapshot(&t), before);
    assert_eq!(t.get(&int(5)).unwrap().get("name"), Some(&s("a")));
}

#[test]
fn duplicate_key_within_a_batch() {
    let t = table("users", None);
    let before = snapshot(&t);
    let cases: Vec<(Vec<Record>, Value)> = vec![
        (
            vec![
                record! { "id" => 7 },
                record! { "id" => 8 },
                record! { "id" => 7.0 },
            ],
            Value::Float(7.0),
        ),
        // auto 1, then an explicit 1 (as one-by-one inserts would fail)
        (vec![record! {}, record! { "id" => 1 }], int(1)),
        (
            vec![record! {}, record! { "id" => true }],
            Value::Bool(true),
        ),
        (
            vec![record! { "id" => "x" }, record! {}, record! { "id" => "x" }],
            s("x"),
        ),
    ];
    for (batch, key) in cases {
        let e = t.insert_many(batch).unwrap_err();
        assert!(is_dup(&e, "users", &key), "{e:?} vs {key}");
        let msg = e.to_string();
        assert!(
            msg.contains("users") && msg.contains(&key.to_string()),
            "{msg}"
        );
        assert_eq!(snapshot(&t), before);
    }
}

#[test]
fn invalid_keys_are_rejected_and_change_nothing() {
    let t = table("t", None);
    t.insert(record! { "id" => 1, "v" => 1 }).unwrap();
    let p1 = pos_of(&t, &int(1));
    let before = snapshot(&t);
    let bad = [
        (Value::list([int(1)]), KeyProblem::Unhashable),
        (Value::map([("a", int(1))]), KeyProblem::Unhashable),
        (Value::Float(f64::NAN), KeyProblem::NaN),
    ];
    for (key, problem) in &bad {
        let e = t.insert(record! { "id" => key.clone() }).unwrap_err();
        assert_eq!(key_problem(&e), Some(*problem), "{e:?}");
        assert!(
            matches!(&e, Error::InvalidKey { table, field, .. } if table == "t" && field == "id")
        );
        let e = t
            .insert_many(vec![record! {}, record! { "id" => key.clone() }])
            .unwrap_err();
        assert_eq!(key_problem(&e), Some(*problem));
        for oc in [OnConflict::Update, OnConflict::Ignore, OnConflict::Error] {
            let e = t.upsert(record! { "id" => key.clone() }, oc).unwrap_err();
            assert_eq!(key_problem(&e), Some(*problem));
        }
        let e = t
            .write()
            .update_positions(&[p1], &record! { "id" => key.clone() }, true)
            .unwrap_err();
        assert_eq!(key_problem(&e), Some(*problem));
        assert_eq!(snapshot(&t), before);
    }
    let e = t
        .write()
        .update_positions(&[p1], &record! { "id" => Value::Null }, true)
        .unwrap_err();
    assert_eq!(key_problem(&e), Some(KeyProblem::Null));
    assert_eq!(snapshot(&t), before);
}

// ----- 3. atomicity ---------------------------------------------------------------

#[test]
fn failed_batch_of_1000_changes_nothing() {
    // Record 500 collides with: a table key; an explicit key earlier in the batch
    // (given as a float); an auto key earlier in the batch.
    let cases: [(Value, Value); 4] = [
        (int(7), int(7)),
        (s("k10"), s("k10")),
        (int(53), int(53)),
        (Value::Float(52.0), Value::Float(52.0)),
    ];
    for (dup, expected_key) in cases {
        let t = people(50);
        let before = snapshot(&t);
        assert!(before.has_changes && !before.deleted.is_empty() && !before.dirty.is_empty());
        let mut expected = t.read().clone();
        let expected_next = expected.insert(record! { "name" => "z" }, true).unwrap();
        assert_eq!(expected_next, int(51));
        let batch: Vec<Record> = (0..1000)
            .map(|i| {
                let mut r = record! { "name" => format!("b{i}"), "age" => i, "tag" => "new" };
                if i == 500 {
                    r.set("id", dup.clone());
                } else if i % 10 == 0 {
                    r.set("id", format!("k{i}"));
                } else if i % 97 == 0 {
                    // explicit ints that would move the counter
                    r.set("id", 10_000 + i);
                }
                r
            })
            .collect();
        let e = t.insert_many(batch).unwrap_err();
        assert!(is_dup(&e, "people", &expected_key), "{e:?}");
        assert_eq!(snapshot(&t), before);
        check_indexes(&t.read());
        assert_eq!(t.insert(record! { "name" => "z" }).unwrap(), expected_next);
    }
}

#[test]
fn batch_failing_the_schema_at_700_changes_nothing() {
    let t = typed_people(false);
    t.insert(record! { "name" => "x", "age" => 1 }).unwrap();
    let p2 = pos_of(&t, &int(2));
    t.write().delete_positions(&[p2]);
    let before = snapshot(&t);
    let mut expected = t.read().clone();
    let expected_next = expected
        .insert(record! { "name" => "z", "age" => 9 }, true)
        .unwrap();
    assert_eq!(expected_next, int(7));
    let batch: Vec<Record> = (0..1000)
        .map(|i| {
            let mut r = record! { "name" => format!("b{i}"), "age" => i };
            if i == 700 {
                r.set("age", 1.5);
            }
            if i == 300 {
                r.set("id", 5000);
            }
            r
        })
        .collect();
    let e = t.insert_many(batch.clone()).unwrap_err();
    assert!(
        matches!(&e, Error::Schema(SchemaError::WrongType { field, table, expected, .. })
            if field == "age" && table == "typed" && expected == "int"),
        "{e:?}"
    );
    assert_eq!(snapshot(&t), before);
    check_indexes(&t.read());
    // Without validation the same batch goes in.
    let mut copy = t.read().clone();
    assert_eq!(copy.insert_many(batch, false).unwrap().len(), 1000);
    assert_eq!(copy.next_key(), 5000 + 700);
    // And the original still hands out the key it would have.
    assert_eq!(
        t.insert(record! { "name" => "z", "age" => 9 }).unwrap(),
        expected_next
    );
}

#[test]
fn failed_update_changes_nothing() {
    let t = typed_people(true);
    let positions: Vec<u32> = t.read().positions().collect();
    assert_eq!(positions.len(), 5);
    let before = snapshot(&t);
    assert!(before.has_changes);

    // Validation fails on the third row only (its stored age is a string).
    let e = t
        .write()
        .update_positions(&positions, &record! { "name" => "z", "note" => "n" }, true)
        .unwrap_err();
    assert!(
        matches!(&e, Error::Schema(SchemaError::WrongType { field, .. }) if field == "age"),
        "{e:?}"
    );
    assert_eq!(snapshot(&t), before);

    // A change that is invalid for every row.
    let e = t
        .write()
        .update_positions(&positions, &record! { "name" => 5 }, true)
        .unwrap_err();
    assert!(matches!(e, Error::Schema(SchemaError::WrongType { .. })));
    let e = t
        .write()
        .update_positions(&positions[..1], &record! { "extra" => 5 }, true)
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Schema(SchemaError::UndefinedField { .. })
    ));
    assert_eq!(snapshot(&t), before);

    // Re-key onto an existing key.
    let e = t
        .write()
        .update_positions(
            &positions[1..2],
            &record! { "id" => 4, "name" => "q" },
            true,
        )
        .unwrap_err();
    assert!(is_dup(&e, "typed", &int(4)), "{e:?}");
    assert_eq!(snapshot(&t), before);

    // Five rows re-keyed to one new key (which would also move the counter).
    let e = t
        .write()
        .update_positions(&positions, &record! { "id" => 100 }, false)
        .unwrap_err();
    assert!(is_dup(&e, "typed", &int(100)), "{e:?}");
    assert_eq!(snapshot(&t), before);

    // Upsert's update path validates the merged record before changing anything (Q11).
    for rec in [
        record! { "id" => 2, "age" => "x" },
        record! { "id" => 2, "extra" => 1 },
        record! { "id" => 2, "name" => Value::Null },
    ] {
        let e = t.upsert(rec, OnConflict::Update).unwrap_err();
        assert!(matches!(e, Error::Schema(_)), "{e:?}");
        assert_eq!(snapshot(&t), before);
    }
    // Upsert's insert path validates too.
    let e = t
        .upsert(record! { "id" => 9, "name" => "x" }, OnConflict::Update)
        .unwrap_err();
    assert!(matches!(e, Error::Schema(SchemaError::MissingField { .. })));
    assert_eq!(snapshot(&t), before);
    check_indexes(&t.read());

    // The update that failed on row 3 succeeds without validation.
    assert_eq!(
        t.write()
            .update_positions(&positions, &record! { "name" => "z" }, false)
            .unwrap(),
        5
    );
    assert_eq!(t.get(&int(3)).unwrap().get("age"), Some(&s("old")));
    assert_eq!(
        t.read().index("name").unwrap().lookup(s("z").as_ref()),
        positions
    );
    check_indexes(&t.read());
}

// ----- 4. schema rules through insert ---------------------------------------------

fn typed_schema() -> Schema {
    Schema::new()
        .field("id", FieldType::Int)
        .field("name", FieldType::Str)
        .field("age", FieldType::Int)
        .field("score", FieldType::Float)
        .field("born", FieldType::Date)
        .nullable("note", FieldType::Str)
}

fn typed_row() -> Record {
    record! {
        "name" => "Ada",
        "age" => 36,
        "score" => 1.5,
        "born" => Value::date(1815, 12, 10).unwrap(),
    }
}

#[test]
fn schema_rules_on_insert() {
    let t = table("typed", Some(typed_schema()));
    let wrong = |e: &Error, f: &str, exp: &str| {
        matches!(e, Error::Schema(SchemaError::WrongType { field, expected, .. })
            if field == f && expected == exp)
    };
    assert_eq!(t.insert(typed_row()).unwrap(), int(1));

    let mut r = typed_row();
    r.remove("age");
    let e = t.insert(r).unwrap_err();
    assert_eq!(
        e,
        Error::Schema(SchemaError::MissingField {
            table: "typed".into(),
            field: "age".into()
        })
    );
    assert!(e.to_string().contains("'age'") && e.to_string().contains("'typed'"));

    let e = t.insert(typed_row().with("age", "36")).unwrap_err();
    assert!(wrong(&e, "age", "int"), "{e:?}");
    assert!(matches!(
        e,
        Error::Schema(SchemaError::WrongType {
            actual: dictdb_engine::ValueKind::Str,
            ..
        })
    ));
    // bool passes int
    assert_eq!(t.insert(typed_row().with("age", true)).unwrap(), int(2));
    // int fails float
    let e = t.insert(typed_row().with("score", 2)).unwrap_err();
    assert!(wrong(&e, "score", "float"), "{e:?}");
    // datetime passes date
    let dt = NaiveDate::from_ymd_opt(2024, 5, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap();
    assert_eq!(t.insert(typed_row().with("born", dt)).unwrap(), int(3));
    let e = t
        .insert(typed_row().with("born", "2024-05-01"))
        .unwrap_err();
    assert!(wrong(&e, "born", "date"));
    // a required field may not be NULL
    let e = t.insert(typed_row().with("name", Value::Null)).unwrap_err();
    assert!(wrong(&e, "name", "str"));
    // undefined field
    let e = t.insert(typed_row().with("x", 1)).unwrap_err();
    assert_eq!(
        e,
        Error::Schema(SchemaError::UndefinedField {
            table: "typed".into(),
            field: "x".into()
        })
    );
    // Schema fields are checked first, in schema order, then extra fields.
    let e = t
        .insert(record! { "x" => 1, "age" => "a", "name" => 2 })
        .unwrap_err();
    assert!(wrong(&e, "name", "str"), "{e:?}");
    // nullable: absent, NULL, or the type
    assert_eq!(
        t.insert(typed_row().with("note", Value::Null)).unwrap(),
        int(4)
    );
    assert_eq!(t.insert(typed_row().with("note", "hi")).unwrap(), int(5));
    let e = t.insert(typed_row().with("note", 5)).unwrap_err();
    assert!(wrong(&e, "note", "str"));
    // an explicit key is validated, an auto key is an int
    let e = t.insert(typed_row().with("id", "k")).unwrap_err();
    assert!(wrong(&e, "id", "int"), "{e:?}");
    assert_eq!(t.insert(typed_row().with("id", 9)).unwrap(), int(9));
    assert_eq!(t.len(), 6);
    assert_eq!(
        t.read().next_key(),
        10,
        "failed inserts do not consume keys"
    );
    assert_eq!(t.get(&int(4)).unwrap().get("note"), Some(&Value::Null));
    assert!(!t.get(&int(1)).unwrap().contains("note"));

    // validate = false skips every check.
    let k = t.write().insert(record! { "bogus" => 1 }, false).unwrap();
    assert_eq!(k, int(10));
    let ks = t
        .write()
        .insert_many(
            vec![record! { "age" => "x" }, record! { "id" => "s" }],
            false,
        )
        .unwrap();
    assert_eq!(ks, [int(11), s("s")]);
    assert_eq!(
        fields(&t.get(&int(10)).unwrap()),
        [("bogus".into(), int(1)), ("id".into(), int(10))]
    );
}

#[test]
fn schema_without_the_key_field_gets_an_int_key() {
    let t = table("t", Some(Schema::new().field("name", FieldType::Str)));
    let schema = t.schema().unwrap();
    let declared: Vec<(String, FieldType, bool)> = schema
        .fields()
        .iter()
        .map(|f| (f.name.to_string(), f.ty, f.nullable))
        .collect();
    assert_eq!(
        declared,
        [
            ("name".into(), FieldType::Str, false),
            ("id".into(), FieldType::Int, false)
        ]
    );
    assert_eq!(t.read().schema(), Some(schema));
    assert_eq!(t.insert(record! { "name" => "a" }).unwrap(), int(1));
    assert_eq!(t.insert(record! { "name" => "b" }).unwrap(), int(2));
    let e = t
        .insert(record! { "name" => "c", "id" => "x" })
        .unwrap_err();
    assert!(matches!(e, Error::Schema(SchemaError::WrongType { ref field, .. }) if field == "id"));
    assert_eq!(
        t.insert(record! { "name" => "c", "id" => 7 }).unwrap(),
        int(7)
    );
    // A schema that declares the key keeps its declaration.
    let t = table("u", Some(Schema::new().field("id", FieldType::Str)));
    assert_eq!(t.schema().unwrap().fields().len(), 1);
    assert_eq!(t.insert(record! { "id" => "a" }).unwrap(), s("a"));
    // An auto key is an int, which a str key field rejects.
    assert!(matches!(
        t.insert(record! {}),
        Err(Error::Schema(SchemaError::WrongType { .. }))
    ));
    assert_eq!(t.read().next_key(), 1);
}

// ----- 5. upsert ----------------------------------------------------------------

#[test]
fn upsert_inserts_absent_and_new_keys() {
    let t = table("t", None);
    t.create_index("v", IndexKind::Hash);
    assert_eq!(
        t.upsert(record! { "v" => 1 }, OnConflict::Error).unwrap(),
        (int(1), UpsertAction::Inserted)
    );
    assert_eq!(
        t.upsert(record! { "id" => 10, "v" => 2 }, OnConflict::Ignore)
            .unwrap(),
        (int(10), UpsertAction::Inserted)
    );
    assert_eq!(t.read().next_key(), 11, "an int key moves the counter");
    assert_eq!(
        t.upsert(record! { "id" => "ABC", "v" => 3 }, OnConflict::Update)
            .unwrap(),
        (s("ABC"), UpsertAction::Inserted)
    );
    assert_eq!(
        t.upsert(record! { "id" => 4.0 }, OnConflict::Error)
            .unwrap(),
        (Value::Float(4.0), UpsertAction::Inserted)
    );
    assert_eq!(t.read().next_key(), 11);
    assert_eq!(t.insert(record! {}).unwrap(), int(11));
    assert_eq!(t.read().dirty_records().len(), 5);
    assert_eq!(
        keys_in_order(&t),
        [int(1), int(10), s("ABC"), Value::Float(4.0), int(11)]
    );
    check_indexes(&t.read());
}

#[test]
fn upsert_update_merges_ignore_leaves_error_fails() {
    let t = table("t", None);
    t.insert(record! { "id" => 1, "name" => "Ada", "age" => 30 })
        .unwrap();
    t.insert(record! { "id" => 2, "name" => "Bob", "age" => 25 })
        .unwrap();
    t.create_index("age", IndexKind::Hash);
    t.create_index("city", IndexKind::Sorted);
    t.write().clear_tracking();
    let v0 = t.read().version();

    // ignore: untouched, not dirty, no version move
    let before = snapshot(&t);
    assert_eq!(
        t.upsert(record! { "id" => 1, "age" => 99 }, OnConflict::Ignore)
            .unwrap(),
        (int(1), UpsertAction::Ignored)
    );
    // the key keeps the type it was given
    assert_eq!(
        t.upsert(record! { "id" => 1.0 }, OnConflict::Ignore)
            .unwrap(),
        (Value::Float(1.0), UpsertAction::Ignored)
    );
    assert_eq!(snapshot(&t), before);
    assert!(!t.read().has_changes());

    // error: DuplicateKey, untouched
    let e = t
        .upsert(record! { "id" => 1, "age" => 99 }, OnConflict::Error)
        .unwrap_err();
    assert!(is_dup(&e, "t", &int(1)));
    assert_eq!(snapshot(&t), before);

    // update: merged, given fields overlay, others kept, new ones appended
    assert_eq!(
        t.upsert(
            record! { "city" => "Oslo", "age" => 31, "id" => 1 },
            OnConflict::Update
        )
        .unwrap(),
        (int(1), UpsertAction::Updated)
    );
    let r = t.get(&int(1)).unwrap();
    assert_eq!(
        fields(&r),
        [
            ("id".into(), int(1)),
            ("name".into(), s("Ada")),
            ("age".into(), int(31)),
            ("city".into(), s("Oslo")),
        ]
    );
    assert!(t.read().version() > v0);
    let d = t.read();
    assert_eq!(d.dirty_records(), [r]);
    assert!(d.deleted_keys().is_empty());
    let p1 = d.lookup_key(int(1).as_ref()).unwrap();
    assert!(d.index("age").unwrap().lookup(int(30).as_ref()).is_empty());
    assert!(
        !d.index("age")
            .unwrap()
            .entries()
            .any(|(k, _)| k == &int(30))
    );
    assert_eq!(d.index("age").unwrap().lookup(int(31).as_ref()), [p1]);
    assert_eq!(d.index("city").unwrap().lookup(s("Oslo").as_ref()), [p1]);
    assert!(!d.index("city").unwrap().absent().contains(&p1));
    check_indexes(&d);
    drop(d);
    assert_eq!(t.len(), 2);
}

// ----- 6. update ----------------------------------------------------------------

#[test]
fn update_merges_and_appends_new_fields() {
    let t = table("t", None);
    t.insert(record! { "name" => "Ada", "age" => 36 }).unwrap();
    t.insert(record! { "name" => "Bob", "age" => 25 }).unwrap();
    t.insert(record! { "name" => "Cy", "age" => 25 }).unwrap();
    t.create_index("age", IndexKind::Hash);
    t.write().clear_tracking();
    let p1 = pos_of(&t, &int(1));
    let n = t
        .write()
        .update_positions(
            &[p1],
            &record! { "age" => 37, "city" => "Paris", "name" => "Ada L." },
            true,
        )
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        fields(&t.get(&int(1)).unwrap()),
        [
            ("name".into(), s("Ada L.")),
            ("age".into(), int(37)),
            ("id".into(), int(1)),
            ("city".into(), s("Paris")),
        ]
    );
    // Bob's age 25 -> 30: the 25 bucket keeps only Cy; then Cy too: the bucket goes.
    let (p2, p3) = (pos_of(&t, &int(2)), pos_of(&t, &int(3)));
    let mut w = t.write();
    w.update_positions(&[p2], &record! { "age" => 30 }, true)
        .unwrap();
    assert_eq!(w.index("age").unwrap().lookup(int(25).as_ref()), [p3]);
    w.update_positions(&[p3], &record! { "age" => 30 }, true)
        .unwrap();
    assert!(
        !w.index("age")
            .unwrap()
            .entries()
            .any(|(k, _)| k == &int(25))
    );
    assert_eq!(w.index("age").unwrap().lookup(int(30).as_ref()), [p2, p3]);
    assert_eq!(w.dirty_records().len(), 3);
    // Matching nothing is 0 for the engine.
    let v = w.version();
    assert_eq!(
        w.update_positions(&[], &record! { "age" => 1 }, true),
        Ok(0)
    );
    assert_eq!(w.version(), v);
    check_indexes(&w);
}

#[test]
fn rekey_keeps_place_and_tracks_keys() {
    let t = table("t", None);
    for i in 1..=5 {
        t.insert(record! { "v" => i * 10 }).unwrap();
    }
    t.create_index("id", IndexKind::Hash);
    t.create_index("v", IndexKind::Sorted);
    t.write().clear_tracking();
    let p3 = pos_of(&t, &int(3));
    assert_eq!(
        t.write()
            .update_positions(&[p3], &record! { "id" => 10 }, true)
            .unwrap(),
        1
    );
    assert_eq!(keys_in_order(&t), [int(1), int(2), int(10), int(4), int(5)]);
    assert!(t.get(&int(3)).is_none());
    assert_eq!(
        fields(&t.get(&int(10)).unwrap()),
        [("v".into(), int(30)), ("id".into(), int(10))]
    );
    assert_eq!(t.read().lookup_key(int(10).as_ref()), Some(p3));
    assert_eq!(t.read().deleted_keys(), [int(3)]);
    assert_eq!(t.read().dirty_records(), [t.get(&int(10)).unwrap()]);
    assert_eq!(t.read().next_key(), 11);
    check_indexes(&t.read());
    assert_eq!(t.insert(record! {}).unwrap(), int(11));

    // Below the counter, a float or a string: the counter stays.
    let p10 = pos_of(&t, &int(10));
    t.write()
        .update_positions(&[p10], &record! { "id" => 7 }, true)
        .unwrap();
    assert_eq!(t.read().next_key(), 12);
    t.write()
        .update_positions(&[p10], &record! { "id" => "s" }, true)
        .unwrap();
    t.write()
        .update_positions(&[p10], &record! { "id" => 99.0 }, true)
        .unwrap();
    assert_eq!(t.read().next_key(), 12);
    // Back onto a deleted key: it leaves the deleted list.
    t.write()
        .update_positions(&[p10], &record! { "id" => 3 }, true)
        .unwrap();
    assert_eq!(
        t.read().deleted_keys(),
        [int(10), int(7), s("s"), Value::Float(99.0)]
    );
    assert_eq!(
        keys_in_order(&t),
        [int(1), int(2), int(3), int(4), int(5), int(11)]
    );
    // Setting the key to an equal value is not a re-key.
    let p1 = pos_of(&t, &int(1));
    t.write()
        .update_positions(&[p1], &record! { "id" => 1.0, "w" => 1 }, true)
        .unwrap();
    assert_eq!(t.read().deleted_keys().len(), 4);
    assert_eq!(t.get(&int(1)).unwrap().get("id"), Some(&Value::Float(1.0)));
    check_indexes(&t.read());
}

#[test]
fn rekey_failures() {
    let t = table("t", None);
    for _ in 0..4 {
        t.insert(record! {}).unwrap();
    }
    t.create_index("id", IndexKind::Sorted);
    let before = snapshot(&t);
    let (p1, p2, p3) = (
        pos_of(&t, &int(1)),
        pos_of(&t, &int(2)),
        pos_of(&t, &int(3)),
    );
    let mut w = t.write();
    // onto an existing key (including an equal float)
    for k in [int(2), Value::Float(2.0)] {
        let e = w
            .update_positions(&[p1], &record! { "id" => k.clone() }, true)
            .unwrap_err();
        assert!(is_dup(&e, "t", &k), "{e:?}");
    }
    // to NULL
    let e = w
        .update_positions(&[p1], &record! { "id" => Value::Null }, true)
        .unwrap_err();
    assert_eq!(key_problem(&e), Some(KeyProblem::Null));
    // two rows to the same new key
    let e = w
        .update_positions(&[p1, p3], &record! { "id" => 50 }, true)
        .unwrap_err();
    assert!(is_dup(&e, "t", &int(50)));
    // one row keeps key 2, the other would take it
    let e = w
        .update_positions(&[p1, p2], &record! { "id" => 2 }, true)
        .unwrap_err();
    assert!(is_dup(&e, "t", &int(2)));
    drop(w);
    assert_eq!(snapshot(&t), before);
    // but one row set to its own key is fine
    assert_eq!(
        t.write()
            .update_positions(&[p2], &record! { "id" => 2 }, true),
        Ok(1)
    );
}

// ----- 7. delete and compaction -----------------------------------------------------

#[test]
fn delete_with_compaction_keeps_order_keys_indexes_and_tracking() {
    let t = table("t", None);
    let recs: Vec<Record> = (0..1000i64)
        .map(|i| {
            let mut r = record! { "name" => format!("n{i}"), "grp" => i % 7 };
            match i % 5 {
                0 => {}
                1 => {
                    r.set("score", Value::Null);
                }
                2 => {
                    r.set("score", format!("s{}", i % 13));
                }
                3 => {
                    r.set("score", (i % 11) as f64 / 2.0);
                }
                _ => {
                    r.set("score", i % 17);
                }
            }
            r
        })
        .collect();
    t.insert_many(recs).unwrap();
    t.create_index("grp", IndexKind::Hash);
    t.create_index("score", IndexKind::Sorted);
    t.create_index("name", IndexKind::Hash);
    t.create_index("score2", IndexKind::Hash); // a field no row has yet
    t.write().clear_tracking();
    // Dirty rows: some updated, some new.
    for k in [3, 500, 998, 999, 6] {
        let p = pos_of(&t, &int(k));
        t.write()
            .update_positions(&[p], &record! { "score2" => k, "grp" => 100 }, true)
            .unwrap();
    }
    t.insert(record! { "name" => "new1" }).unwrap();
    t.insert(record! { "name" => "new2", "score" => "zz" })
        .unwrap();
    check_indexes(&t.read());

    let deleted: Vec<i64> = (1..=1002).filter(|k| k % 3 == 0 || k % 10 == 1).collect();
    assert!(deleted.len() * 4 > 1002);
    let to_positions = |keys: &[i64]| -> Vec<u32> {
        // delete in descending key order to make deletion order observable
        keys.iter().rev().map(|&k| pos_of(&t, &int(k))).collect()
    };
    let expected_rows: Vec<Record> = {
        let d = t.read();
        d.positions()
            .filter(|&p| !deleted.iter().any(|&k| int(k) == d.key_at(p).to_owned()))
            .map(|p| d.record(p))
            .collect()
    };
    let expected_dirty: Vec<Record> = t
        .read()
        .dirty_records()
        .into_iter()
        .filter(|r| !deleted.iter().any(|&k| r.get("id") == Some(&int(k))))
        .collect();
    // 3, 6, 999, 1001 and 1002 are deleted; 500 and 998 stay dirty
    assert_eq!(expected_dirty.len(), 2);

    // First 20% of positions: tombstones, no compaction yet.
    let first: Vec<i64> = deleted[..200].to_vec();
    let rest: Vec<i64> = deleted[200..].to_vec();
    let sel = to_positions(&first);
    let n = t.write().delete_positions(&sel);
    assert_eq!(n, 200);
    assert_eq!(t.read().n_positions(), 1002, "20% dead: no compaction");
    check_indexes(&t.read());
    let sel = to_positions(&rest);
    let n = t.write().delete_positions(&sel);
    assert_eq!(n, rest.len());
    let d = t.read();
    assert_eq!(d.len(), 1002 - deleted.len());
    assert_eq!(d.n_positions(), d.len(), "compacted");
    let rows: Vec<Record> = d.positions().map(|p| d.record(p)).collect();
    assert_eq!(rows, expected_rows);
    for r in &expected_rows {
        let k = r.get("id").unwrap();
        let p = d.lookup_key(k.as_ref()).expect("key resolves");
        assert_eq!(&d.record(p), r);
    }
    for &k in &deleted {
        assert!(d.lookup_key(int(k).as_ref()).is_none());
    }
    check_indexes(&d);
    assert_eq!(
        d.index("score2").unwrap().lookup(int(500).as_ref()).len(),
        1
    );
    assert_eq!(d.dirty_records(), expected_dirty);
    let expected_deleted: Vec<Value> = first
        .iter()
        .rev()
        .chain(rest.iter().rev())
        .map(|&k| int(k))
        .collect();
    assert_eq!(d.deleted_keys(), expected_deleted);
    drop(d);

    // Writes after compaction.
    assert_eq!(t.insert(record! { "grp" => 1 }).unwrap(), int(1003));
    let p = pos_of(&t, &int(2));
    t.write()
        .update_positions(&[p], &record! { "grp" => 5, "score" => 1.0 }, true)
        .unwrap();
    let p = pos_of(&t, &int(4));
    t.write().delete_positions(&[p]);
    // deleting a dead position again is a no-op
    let v = t.read().version();
    assert_eq!(t.write().delete_positions(&[p]), 0);
    assert_eq!(t.read().version(), v);
    check_indexes(&t.read());
    let dirty_keys: Vec<Value> = t
        .read()
        .dirty_records()
        .iter()
        .map(|r| r.get("id").unwrap().clone())
        .collect();
    assert_eq!(dirty_keys, [int(2), int(500), int(998), int(1003)]);
}

// ----- 8. absent vs NULL ------------------------------------------------------------

#[test]
fn absent_and_null_are_different() {
    let t = table("t", None);
    t.insert(record! { "id" => 1 }).unwrap();
    t.insert(record! { "id" => 2, "x" => Value::Null }).unwrap();
    t.insert(record! { "id" => 3, "x" => 0 }).unwrap();
    let r1 = t.get(&int(1)).unwrap();
    let r2 = t.get(&int(2)).unwrap();
    assert!(!r1.contains("x"));
    assert_eq!(r2.get("x"), Some(&Value::Null));
    assert_ne!(r1, r2);
    assert_eq!(r1, record! { "id" => 1 });
    assert_eq!(r2, record! { "id" => 2, "x" => Value::Null });
    t.create_index("x", IndexKind::Hash);
    t.create_index("y", IndexKind::Sorted);
    let (p1, p2, p3) = (
        pos_of(&t, &int(1)),
        pos_of(&t, &int(2)),
        pos_of(&t, &int(3)),
    );
    {
        let d = t.read();
        let x = d.column_id("x").unwrap();
        assert!(!d.has_field(p1, x) && d.has_field(p2, x));
        assert!(d.value(p1, x).is_null() && d.value(p2, x).is_null());
        let ix = d.index("x").unwrap();
        assert_eq!(ix.absent(), [p1]);
        assert_eq!(ix.lookup(Value::Null.as_ref()), [p2]);
        assert_eq!(ix.lookup(int(0).as_ref()), [p3]);
        assert_eq!(d.index("y").unwrap().absent(), [p1, p2, p3]);
    }
    // Adding the sorted-index field after the index exists.
    t.insert(record! { "id" => 4, "x" => Value::Null, "y" => Value::Null })
        .unwrap();
    let p4 = pos_of(&t, &int(4));
    t.write()
        .update_positions(&[p1], &record! { "x" => Value::Null }, true)
        .unwrap();
    t.write()
        .update_positions(&[p3], &record! { "x" => Value::Null }, true)
        .unwrap();
    let d = t.read();
    assert_eq!(d.record(p1), record! { "id" => 1, "x" => Value::Null });
    let ix = d.index("x").unwrap();
    assert!(ix.absent().is_empty());
    assert_eq!(ix.lookup(Value::Null.as_ref()), [p1, p2, p3, p4]);
    assert!(ix.lookup(int(0).as_ref()).is_empty());
    let iy = d.index("y").unwrap();
    assert_eq!(iy.absent(), [p1, p2, p3]);
    assert_eq!(iy.lookup(Value::Null.as_ref()), [p4]);
    check_indexes(&d);
}

// ----- 9. change tracking -----------------------------------------------------------

#[test]
fn change_tracking() {
    let t = table("t", None);
    let d = t.read();
    assert!(!d.has_changes());
    assert!(d.dirty_records().is_empty() && d.deleted_keys().is_empty());
    let mut last = d.version();
    drop(d);
    let mut moved = |t: &Table, expect: bool| {
        let v = t.read().version();
        assert_eq!(v != last, expect, "version {last} -> {v}");
        assert!(v >= last);
        last = v;
    };
    for i in 1..=4 {
        t.insert(record! { "v" => i }).unwrap();
        moved(&t, true);
    }
    assert_eq!(t.read().dirty_records().len(), 4);
    assert!(t.read().has_changes());
    t.write().clear_tracking();
    assert!(!t.read().has_changes());
    assert!(t.read().dirty_records().is_empty());

    // delete: deleted in deletion order, not dirty
    for k in [2, 4, 1] {
        let p = pos_of(&t, &int(k));
        t.write().delete_positions(&[p]);
        moved(&t, true);
    }
    assert_eq!(t.read().deleted_keys(), [int(2), int(4), int(1)]);
    assert!(t.read().dirty_records().is_empty());
    assert!(t.read().has_changes());
    // a dirty row that is deleted is no longer dirty
    t.insert(record! { "id" => 9 }).unwrap();
    moved(&t, true);
    let p9 = pos_of(&t, &int(9));
    t.write().delete_positions(&[p9]);
    moved(&t, true);
    assert!(t.read().dirty_records().is_empty());
    // insert after delete of the same key: dirty only
    t.insert(record! { "id" => 4, "v" => 40 }).unwrap();
    moved(&t, true);
    assert_eq!(t.read().deleted_keys(), [int(2), int(1), int(9)]);
    assert_eq!(t.read().dirty_records(), [record! { "id" => 4, "v" => 40 }]);
    // an equal float key also leaves the deleted list
    t.insert(record! { "id" => 2.0 }).unwrap();
    moved(&t, true);
    assert_eq!(t.read().deleted_keys(), [int(1), int(9)]);
    // upsert inserted / updated -> dirty; ignored -> nothing
    t.write().clear_tracking();
    moved(&t, false);
    t.upsert(record! { "id" => 3, "v" => 0 }, OnConflict::Ignore)
        .unwrap();
    moved(&t, false);
    assert!(!t.read().has_changes());
    t.upsert(record! { "id" => 3, "v" => 33 }, OnConflict::Update)
        .unwrap();
    moved(&t, true);
    assert_eq!(t.read().dirty_records(), [record! { "v" => 33, "id" => 3 }]);
    // failed writes move nothing
    let before = snapshot(&t);
    assert!(t.insert(record! { "id" => 3 }).is_err());
    assert!(t.upsert(record! { "id" => 3 }, OnConflict::Error).is_err());
    let p3 = pos_of(&t, &int(3));
    assert!(
        t.write()
            .update_positions(&[p3], &record! { "id" => 4 }, true)
            .is_err()
    );
    assert!(
        t.insert_many(vec![record! {}, record! { "id" => 4 }])
            .is_err()
    );
    assert_eq!(snapshot(&t), before);
    moved(&t, false);
    t.write()
        .update_positions(&[p3], &record! { "v" => 1 }, true)
        .unwrap();
    moved(&t, true);
    assert_eq!(t.read().dirty_records().len(), 1);
}

// ----- 10. mixed-type columns -------------------------------------------------------

fn assorted_values() -> Vec<Value> {
    let d = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
    vec![
        int(5),
        s("five"),
        Value::Bool(true),
        Value::list([int(1), s("a"), Value::Null, Value::list([])]),
        Value::Null,
        Value::Float(5.0),
        int(1),
        Value::Bool(false),
        Value::Float(-0.0),
        Value::Float(f64::NAN),
        Value::Float(f64::INFINITY),
        Value::Bytes(vec![0u8, 255].into_boxed_slice()),
        Value::map([("b", int(2)), ("a", Value::Float(1.5))]),
        Value::Date(d),
        Value::DateTime(DateTime::naive(d.and_hms_opt(1, 2, 3).unwrap())),
        Value::DateTime(DateTime::aware(
            d.and_hms_opt(1, 2, 3).unwrap(),
            FixedOffset::east_opt(3600).unwrap(),
        )),
        s(""),
        int(i64::MIN),
        s("ünï"),
    ]
}

#[test]
fn mixed_type_column_returns_every_value_exactly() {
    let values = assorted_values();
    // One row per value.
    let t = table("t", None);
    for v in &values {
        t.insert(record! { "v" => v.clone() }).unwrap();
    }
    {
        let d = t.read();
        let c = d.column_id("v").unwrap();
        for (p, v) in d.positions().zip(&values) {
            assert!(same(&d.value(p, c).to_owned(), v), "{v}");
            assert!(same(d.record(p).get("v").unwrap(), v), "{v}");
        }
    }
    // One row updated through every value, an index following it.
    let t = table("t", None);
    t.insert(record! { "v" => 0 }).unwrap();
    t.insert(record! { "v" => 0 }).unwrap();
    t.create_index("v", IndexKind::Sorted);
    let p = pos_of(&t, &int(1));
    for v in &values {
        t.write()
            .update_positions(&[p], &record! { "v" => v.clone() }, true)
            .unwrap();
        let r = t.get(&int(1)).unwrap();
        assert!(same(r.get("v").unwrap(), v), "{v}");
        assert!(same(t.get(&int(2)).unwrap().get("v").unwrap(), &int(0)));
        check_indexes(&t.read());
    }
    // And a column that starts with each type, then takes every other.
    for first in &values {
        let t = table("t", None);
        let mut expect = vec![first.clone()];
        t.insert(record! { "v" => first.clone() }).unwrap();
        for v in &values {
            t.insert(record! { "v" => v.clone() }).unwrap();
            expect.push(v.clone());
        }
        let d = t.read();
        let got: Vec<Value> = d
            .positions()
            .map(|p| d.record(p).get("v").unwrap().clone())
            .collect();
        assert!(
            got.iter().zip(&expect).all(|(a, b)| same(a, b)),
            "first {first}: {got:?}"
        );
    }
}

#[test]
fn many_strings_cross_from_dictionary_to_arena_with_updates() {
    let t = table("t", None);
    t.create_index("s", IndexKind::Sorted);
    t.create_index("m", IndexKind::Hash);
    // model: (s, m) per row, None = absent
    let mut model: Vec<(Option<Value>, Option<Value>)> = Vec::new();
    let storage = |t: &Table, f: &str| {
        let d = t.read();
        d.column(d.column_id(f).unwrap()).storage_name()
    };
    let mixed = |i: i64| -> Option<Value> {
        match i % 6 {
            0 => None,
            1 => Some(Value::Null),
            2 => Some(int(i)),
            3 => Some(Value::Bool(i % 4 == 1)),
            4 => Some(s(&format!("m{i}"))),
            _ => Some(Value::list([int(i)])),
        }
    };
    let string = |i: i64| -> Option<Value> {
        match i % 9 {
            0 => None,
            1 => Some(Value::Null),
            2 if i % 2 == 0 => Some(s("")),
            2 => Some(s(&format!("ü{}", i % 5))),
            _ => Some(s(&format!("s{i}"))),
        }
    };
    let update =
        |t: &Table, model: &mut Vec<(Option<Value>, Option<Value>)>, i: i64, salt: &str| {
            let key = int(i + 1);
            let p = pos_of(t, &key);
            let mut ch = Record::new();
            let new_s = match i % 4 {
                0 => Value::Null,
                _ => s(&format!("{salt}-{i}")),
            };
            ch.set("s", new_s.clone());
            model[i as usize].0 = Some(new_s);
            if i % 3 == 0 {
                let new_m = s(&format!("{salt}{i}"));
                ch.set("m", new_m.clone());
                model[i as usize].1 = Some(new_m);
            }
            t.write().update_positions(&[p], &ch, true).unwrap();
        };
    let check = |t: &Table, model: &[(Option<Value>, Option<Value>)]| {
        let d = t.read();
        assert_eq!(d.len(), model.len());
        for (p, (sv, mv)) in d.positions().zip(model) {
            let r = d.record(p);
            for (name, want) in [("s", sv), ("m", mv)] {
                match (r.get(name), want) {
                    (None, None) => {}
                    (Some(a), Some(b)) if same(a, b) => {}
                    (got, want) => panic!("row {p} field {name}: {got:?} vs {want:?}"),
                }
            }
        }
        check_indexes(&d);
    };
    let mut distinct: HashSet<String> = HashSet::new();
    for i in 0..8000i64 {
        let mut r = Record::new();
        if let Some(v) = string(i) {
            if let Value::Str(x) = &v {
                distinct.insert(x.to_string());
            }
            r.set("s", v);
        }
        if let Some(v) = mixed(i) {
            r.set("m", v);
        }
        model.push((string(i), mixed(i)));
        t.insert(r).unwrap();
        // Updates in the middle: twice while the column is a dictionary, twice
        // after it became an arena.
        if i == 1000 || i == 3000 || i == 6500 || i == 7500 {
            for j in (i - 900..i).step_by(5) {
                update(&t, &mut model, j, &format!("b{i}"));
            }
            check(&t, &model);
            if i <= 3000 {
                assert_eq!(storage(&t, "s"), "str-dict");
            }
        }
    }
    assert!(distinct.len() > 5000, "{}", distinct.len());
    assert_eq!(storage(&t, "s"), "str-arena");
    assert_eq!(storage(&t, "m"), "any");
    check(&t, &model);
    // Overwrite long strings until the arena reclaims its garbage.
    for round in 0..8 {
        let long = "x".repeat(700);
        for j in (0..8000i64).step_by(20) {
            let p = pos_of(&t, &int(j + 1));
            let v = s(&format!("{long}{round}-{j}"));
            t.write()
                .update_positions(&[p], &record! { "s" => v.clone() }, true)
                .unwrap();
            model[j as usize].0 = Some(v);
        }
    }
    assert_eq!(storage(&t, "s"), "str-arena");
    check(&t, &model);
    // A non-string turns the arena into generic storage, values intact.
    let p = pos_of(&t, &int(2));
    t.write()
        .update_positions(&[p], &record! { "s" => 7 }, true)
        .unwrap();
    model[1].0 = Some(int(7));
    assert_eq!(storage(&t, "s"), "any");
    check(&t, &model);
    // Deletes with compaction keep the rest.
    let dead: Vec<u32> = {
        let d = t.read();
        d.positions().filter(|p| p % 3 != 0).collect()
    };
    t.write().delete_positions(&dead);
    let kept: Vec<(Option<Value>, Option<Value>)> = model
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(t.read().n_positions(), kept.len());
    check(&t, &kept);
}

// ----- indexes follow every kind of value change -----------------------------------

#[test]
fn indexes_follow_updates_between_equal_and_unequal_values() {
    // Values equal under index equality but written differently (1 / 1.0 / True,
    // maps with another key order, aware datetimes at another offset), NULL, absent.
    let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let (noon, two_pm) = (
        day.and_hms_opt(12, 0, 0).unwrap(),
        day.and_hms_opt(14, 0, 0).unwrap(),
    );
    let steps = [
        int(1),
        Value::Float(1.0),
        Value::Bool(true),
        Value::map([("a", int(1)), ("b", int(2))]),
        Value::map([("b", int(2)), ("a", int(1))]),
        Value::map([("a", int(1)), ("b", int(2))]),
        Value::Null,
        Value::DateTime(DateTime::aware(noon, FixedOffset::east_opt(0).unwrap())),
        Value::DateTime(DateTime::aware(
            two_pm,
            FixedOffset::east_opt(7200).unwrap(),
        )),
        Value::list([Value::map([("a", int(1)), ("b", int(2))])]),
        Value::list([Value::map([("b", int(2)), ("a", int(1))])]),
        Value::Float(-0.0),
        int(0),
        Value::Float(f64::NAN),
        Value::Float(f64::NAN),
        s("end"),
    ];
    for kind in [IndexKind::Hash, IndexKind::Sorted] {
        let t = table("t", None);
        t.insert(record! {}).unwrap();
        t.insert(record! { "v" => Value::map([("b", int(2)), ("a", int(1))]) })
            .unwrap();
        t.insert(record! { "v" => 1.0 }).unwrap();
        t.create_index("v", kind);
        let p = pos_of(&t, &int(1));
        for v in &steps {
            t.write()
                .update_positions(&[p], &record! { "v" => v.clone() }, true)
                .unwrap();
            assert!(same(t.get(&int(1)).unwrap().get("v").unwrap(), v));
            let d = t.read();
            check_indexes(&d);
            assert!(
                d.index("v").unwrap().lookup(v.as_ref()).contains(&p),
                "{kind} {v}"
            );
        }
        // Deleting the row leaves no trace in the index.
        t.write().delete_positions(&[p]);
        let d = t.read();
        check_indexes(&d);
        assert!(
            d.index("v")
                .unwrap()
                .entries()
                .all(|(_, posts)| !posts.contains(&p))
        );
    }
}

// ----- 11. random operation sequences against a model ------------------------------

/// A record as an ordered list of fields.
type Fields = Vec<(String, Value)>;

fn get_field<'a>(f: &'a Fields, name: &str) -> Option<&'a Value> {
    f.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

fn set_field(f: &mut Fields, name: &str, v: Value) {
    match f.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = v,
        None => f.push((name.to_owned(), v)),
    }
}

fn merge(base: &Fields, changes: &Fields) -> Fields {
    let mut out = base.clone();
    for (n, v) in changes {
        set_field(&mut out, n, v.clone());
    }
    out
}

/// Key equality for the model's keys (ints, bools, floats, strings): Python `==`.
fn key_eq(a: &Value, b: &Value) -> bool {
    fn num(v: &Value) -> Option<f64> {
        match v {
            Value::Int(i) => Some(*i as f64),
            Value::Bool(b) => Some(*b as i64 as f64),
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x == y,
        _ => matches!((num(a), num(b)), (Some(x), Some(y)) if x == y),
    }
}

fn model_key_problem(v: &Value) -> Option<KeyProblem> {
    match v {
        Value::List(_) | Value::Map(_) => Some(KeyProblem::Unhashable),
        Value::Float(x) if x.is_nan() => Some(KeyProblem::NaN),
        Value::Null => Some(KeyProblem::Null),
        _ => None,
    }
}

/// Keys that move the counter: ints and bools.
fn counter_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(*b as i64),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Fail {
    Dup(Value),
    Invalid(KeyProblem),
}

fn classify(e: &Error) -> Fail {
    match e {
        Error::DuplicateKey { key, .. } => Fail::Dup(key.clone()),
        Error::InvalidKey { reason, .. } => Fail::Invalid(*reason),
        other => panic!("unexpected error {other:?}"),
    }
}

fn same_fail(a: &Fail, b: &Fail) -> bool {
    match (a, b) {
        (Fail::Dup(x), Fail::Dup(y)) => same(x, y),
        _ => a == b,
    }
}

#[derive(Clone, Debug)]
struct MRow {
    fields: Fields,
    dirty: bool,
}

impl MRow {
    fn key(&self) -> &Value {
        get_field(&self.fields, "id").expect("every row has a key")
    }
}

/// The reference model: rows in insertion order, the counter, the deleted keys in
/// deletion order and the indexed fields.
#[derive(Clone, Debug)]
struct Model {
    rows: Vec<MRow>,
    counter: i64,
    deleted: Vec<Value>,
    indexed: Vec<(String, IndexKind)>,
}

impl Model {
    fn new() -> Model {
        Model {
            rows: Vec::new(),
            counter: 1,
            deleted: Vec::new(),
            indexed: Vec::new(),
        }
    }

    fn find(&self, key: &Value) -> Option<usize> {
        self.rows.iter().position(|r| key_eq(r.key(), key))
    }

    fn undelete(&mut self, key: &Value) {
        self.deleted.retain(|k| !key_eq(k, key));
    }

    fn mark_deleted(&mut self, key: Value) {
        self.undelete(&key);
        self.deleted.push(key);
    }

    fn insert(&mut self, mut rec: Fields) -> Result<Value, Fail> {
        let key = match get_field(&rec, "id") {
            None | Some(Value::Null) => {
                let k = loop {
                    let c = self.counter;
                    self.counter += 1;
                    if self.find(&int(c)).is_none() {
                        break int(c);
                    }
                };
                set_field(&mut rec, "id", k.clone());
                k
            }
            Some(k) => {
                let k = k.clone();
                if let Some(p) = model_key_problem(&k) {
                    return Err(Fail::Invalid(p));
                }
                if self.find(&k).is_some() {
                    return Err(Fail::Dup(k));
                }
                if let Some(i) = counter_int(&k)
                    && i >= self.counter
                {
                    self.counter = i + 1;
                }
                k
            }
        };
        self.undelete(&key);
        self.rows.push(MRow {
            fields: rec,
            dirty: true,
        });
        Ok(key)
    }

    fn insert_many(&mut self, recs: Vec<Fields>) -> Result<Vec<Value>, Fail> {
        let backup = self.clone();
        let mut out = Vec::new();
        for r in recs {
            match self.insert(r) {
                Ok(k) => out.push(k),
                Err(e) => {
                    *self = backup;
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    fn upsert(&mut self, rec: Fields, oc: OnConflict) -> Result<(Value, UpsertAction), Fail> {
        let key = match get_field(&rec, "id") {
            None | Some(Value::Null) => {
                return self.insert(rec).map(|k| (k, UpsertAction::Inserted));
            }
            Some(k) => k.clone(),
        };
        if let Some(p) = model_key_problem(&key) {
            return Err(Fail::Invalid(p));
        }
        let Some(i) = self.find(&key) else {
            self.insert(rec)?;
            return Ok((key, UpsertAction::Inserted));
        };
        match oc {
            OnConflict::Error => Err(Fail::Dup(key)),
            OnConflict::Ignore => Ok((key, UpsertAction::Ignored)),
            OnConflict::Update => {
                let row = &mut self.rows[i];
                row.fields = merge(&row.fields, &rec);
                row.dirty = true;
                Ok((key, UpsertAction::Updated))
            }
        }
    }

    fn update(&mut self, idxs: &[usize], changes: &Fields) -> Result<usize, Fail> {
        let new_key = get_field(changes, "id").cloned();
        // Nothing to update: nothing is checked.
        if idxs.is_empty() {
            return Ok(0);
        }
        if let Some(p) = new_key.as_ref().and_then(model_key_problem) {
            return Err(Fail::Invalid(p));
        }
        let backup = self.clone();
        let mut rekeys = Vec::new();
        for &i in idxs {
            let old = self.rows[i].key().clone();
            self.rows[i].fields = merge(&self.rows[i].fields, changes);
            self.rows[i].dirty = true;
            if let Some(nk) = &new_key
                && !key_eq(&old, nk)
            {
                rekeys.push(old);
            }
        }
        if let Some(nk) = &new_key {
            if self.rows.iter().filter(|r| key_eq(r.key(), nk)).count() > 1 {
                *self = backup;
                return Err(Fail::Dup(nk.clone()));
            }
            let rekeyed = !rekeys.is_empty();
            for old in rekeys {
                self.undelete(nk);
                self.mark_deleted(old);
            }
            // Only a re-key moves the counter (python-api.md §6.7).
            if let Some(i) = counter_int(nk)
                && i >= self.counter
                && rekeyed
            {
                self.counter = i + 1;
            }
        }
        Ok(idxs.len())
    }

    fn delete(&mut self, idxs: &[usize]) -> usize {
        for &i in idxs {
            let k = self.rows[i].key().clone();
            self.mark_deleted(k);
        }
        let mut sorted = idxs.to_vec();
        sorted.sort_unstable();
        for &i in sorted.iter().rev() {
            self.rows.remove(i);
        }
        idxs.len()
    }

    fn clear_tracking(&mut self) {
        self.deleted.clear();
        for r in &mut self.rows {
            r.dirty = false;
        }
    }
}

#[derive(Clone, Debug)]
enum KeySpec {
    Absent,
    Null,
    Given(Value),
}

#[derive(Clone, Debug)]
enum Op {
    Insert(Fields),
    InsertMany(Vec<Fields>),
    BulkAuto(usize),
    Upsert(Fields, OnConflict),
    Update(Value, Fields),
    UpdateEvery(usize, usize, Fields),
    Delete(Value),
    DeleteEvery(usize, usize),
    /// Rewrites a field of the rows at `i % m == r` to an equal value written
    /// differently (see [`rewrite`]).
    Rewrite(usize, usize, &'static str),
    CreateIndex(&'static str, IndexKind),
    ClearTracking,
}

/// The same value under Python equality, written differently: ints as floats and
/// back, bools as ints, maps with their keys in reverse order (recursively).
fn rewrite(v: &Value) -> Value {
    match v {
        Value::Int(i) => Value::Float(*i as f64),
        Value::Float(x) if x.fract() == 0.0 && x.abs() < 1e15 => Value::Int(*x as i64),
        Value::Bool(b) => Value::Int(*b as i64),
        Value::List(l) => Value::List(l.iter().map(rewrite).collect()),
        Value::Map(m) => Value::Map(
            m.iter()
                .rev()
                .map(|(k, v)| (k.clone(), rewrite(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn key_strategy() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => (0i64..9).prop_map(Value::Int),
        3 => (0i64..9).prop_map(|i| Value::Float(i as f64)),
        1 => Just(Value::Float(2.5)),
        2 => any::<bool>().prop_map(Value::Bool),
        2 => prop::sample::select(vec!["k1", "k2"]).prop_map(Value::str),
        1 => prop::sample::select(vec![
            Value::list([int(1)]),
            Value::map([("a", int(1))]),
            Value::Float(f64::NAN),
        ]),
    ]
    .boxed()
}

fn key_spec() -> BoxedStrategy<KeySpec> {
    prop_oneof![
        3 => Just(KeySpec::Absent),
        1 => Just(KeySpec::Null),
        5 => key_strategy().prop_map(KeySpec::Given),
    ]
    .boxed()
}

fn value_strategy() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => (-3i64..6).prop_map(Value::Int),
        2 => prop::sample::select(vec![0.5, -0.0, 0.0, 2.0, f64::NAN, f64::INFINITY])
            .prop_map(Value::Float),
        3 => prop::sample::select(vec!["x", "y", "", "ü"]).prop_map(Value::str),
        3 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::list([int(1), s("x")])),
        1 => Just(Value::map([("p", int(1)), ("q", int(2))])),
        1 => Just(Value::map([("q", int(2)), ("p", int(1))])),
    ]
    .boxed()
}

/// Up to three of the fields a, b, c in any order (absent fields are not there).
fn fields_strategy() -> BoxedStrategy<Fields> {
    prop::collection::vec((0usize..3, value_strategy()), 0..4)
        .prop_map(|pairs| {
            let mut out: Fields = Vec::new();
            for (f, v) in pairs {
                let name = ["a", "b", "c"][f];
                if get_field(&out, name).is_none() {
                    out.push((name.to_owned(), v));
                }
            }
            out
        })
        .boxed()
}

/// A record: fields plus the key spec, the key first or last.
fn with_key(spec: &KeySpec, fields: &Fields, key_first: bool) -> Fields {
    let key = match spec {
        KeySpec::Absent => return fields.clone(),
        KeySpec::Null => Value::Null,
        KeySpec::Given(k) => k.clone(),
    };
    let mut out = Vec::with_capacity(fields.len() + 1);
    if key_first {
        out.push(("id".to_owned(), key.clone()));
    }
    out.extend(fields.iter().cloned());
    if !key_first {
        out.push(("id".to_owned(), key));
    }
    out
}

fn changes_strategy() -> BoxedStrategy<Fields> {
    (
        fields_strategy(),
        prop::option::weighted(0.3, key_strategy()),
    )
        .prop_map(|(mut f, k)| {
            if let Some(k) = k {
                f.push(("id".to_owned(), k));
            }
            f
        })
        .boxed()
}

fn op_strategy() -> BoxedStrategy<Op> {
    let on_conflict = prop::sample::select(vec![
        OnConflict::Update,
        OnConflict::Ignore,
        OnConflict::Error,
    ]);
    prop_oneof![
        5 => (key_spec(), fields_strategy(), any::<bool>())
            .prop_map(|(k, f, first)| Op::Insert(with_key(&k, &f, first))),
        2 => prop::collection::vec((key_spec(), fields_strategy()), 0..6)
            .prop_map(|v| Op::InsertMany(v.iter().map(|(k, f)| with_key(k, f, false)).collect())),
        2 => (0usize..60).prop_map(Op::BulkAuto),
        4 => (key_spec(), fields_strategy(), on_conflict)
            .prop_map(|(k, f, oc)| Op::Upsert(with_key(&k, &f, true), oc)),
        4 => (key_strategy(), changes_strategy()).prop_map(|(k, c)| Op::Update(k, c)),
        1 => (1usize..4, 0usize..4, changes_strategy())
            .prop_map(|(m, r, c)| Op::UpdateEvery(m, r % m, c)),
        3 => key_strategy().prop_map(Op::Delete),
        2 => (1usize..4, 0usize..4).prop_map(|(m, r)| Op::DeleteEvery(m, r % m)),
        1 => (
            prop::sample::select(vec!["a", "b", "c", "id"]),
            prop::sample::select(vec![IndexKind::Hash, IndexKind::Sorted])
        )
            .prop_map(|(f, k)| Op::CreateIndex(f, k)),
        2 => (
            1usize..4,
            0usize..4,
            prop::sample::select(vec!["a", "b", "c", "id"])
        )
            .prop_map(|(m, r, f)| Op::Rewrite(m, r % m, f)),
        1 => Just(Op::ClearTracking),
    ]
    .boxed()
}

fn compare_result<T: std::fmt::Debug>(
    op: &Op,
    got: &Result<T, Error>,
    want: &Result<T, Fail>,
    eq: impl Fn(&T, &T) -> bool,
) {
    match (got, want) {
        (Ok(a), Ok(b)) => assert!(eq(a, b), "{op:?}: got {a:?}, model {b:?}"),
        (Err(e), Err(f)) => assert!(same_fail(&classify(e), f), "{op:?}: got {e:?}, model {f:?}"),
        _ => panic!("{op:?}: got {got:?}, model {want:?}"),
    }
}

fn same_keys(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

/// Applies one operation to the table and the model, checks the results agree, and
/// returns whether it was a successful write (for the version check) — `None` when
/// the op is not a data write.
fn apply(t: &Table, m: &mut Model, op: &Op) -> Option<bool> {
    let positions: Vec<u32> = t.read().positions().collect();
    match op {
        Op::Insert(rec) => {
            let got = t.insert(record_of(rec));
            let want = m.insert(rec.clone());
            compare_result(op, &got, &want, same);
            Some(got.is_ok())
        }
        Op::InsertMany(recs) => {
            let got = t.insert_many(recs.iter().map(|f| record_of(f)).collect());
            let want = m.insert_many(recs.clone());
            compare_result(op, &got, &want, |a, b| same_keys(a, b));
            (!recs.is_empty()).then_some(got.is_ok())
        }
        Op::BulkAuto(n) => {
            let recs: Vec<Fields> = (0..*n)
                .map(|i| vec![("a".to_owned(), int(i as i64 % 4))])
                .collect();
            let got = t.insert_many(recs.iter().map(|f| record_of(f)).collect());
            let want = m.insert_many(recs);
            compare_result(op, &got, &want, |a, b| same_keys(a, b));
            (*n > 0).then_some(got.is_ok())
        }
        Op::Upsert(rec, oc) => {
            let got = t.upsert(record_of(rec), *oc);
            let want = m.upsert(rec.clone(), *oc);
            compare_result(op, &got, &want, |a, b| same(&a.0, &b.0) && a.1 == b.1);
            Some(matches!(
                got,
                Ok((_, UpsertAction::Inserted | UpsertAction::Updated))
            ))
        }
        Op::Update(key, changes) => {
            let pos = if model_key_problem(key).is_none() {
                t.read().lookup_key(key.as_ref())
            } else {
                None
            };
            let idx = if model_key_problem(key).is_none() {
                m.find(key)
            } else {
                None
            };
            assert_eq!(pos, idx.map(|i| positions[i]), "{op:?}: lookup");
            let (Some(pos), Some(idx)) = (pos, idx) else {
                return None;
            };
            let got = t
                .write()
                .update_positions(&[pos], &record_of(changes), true);
            let want = m.update(&[idx], changes);
            compare_result(op, &got, &want, |a, b| a == b);
            Some(got.is_ok())
        }
        Op::UpdateEvery(md, r, changes) => {
            let idxs: Vec<usize> = (0..positions.len()).filter(|i| i % md == *r).collect();
            if idxs.is_empty() {
                return None;
            }
            let sel: Vec<u32> = idxs.iter().map(|&i| positions[i]).collect();
            let got = t.write().update_positions(&sel, &record_of(changes), true);
            let want = m.update(&idxs, changes);
            compare_result(op, &got, &want, |a, b| a == b);
            Some(got.is_ok())
        }
        Op::Delete(key) => {
            if model_key_problem(key).is_some() {
                return None;
            }
            let pos = t.read().lookup_key(key.as_ref());
            let idx = m.find(key);
            assert_eq!(pos, idx.map(|i| positions[i]), "{op:?}: lookup");
            let (Some(pos), Some(idx)) = (pos, idx) else {
                return None;
            };
            assert_eq!(t.write().delete_positions(&[pos]), m.delete(&[idx]));
            Some(true)
        }
        Op::DeleteEvery(md, r) => {
            let idxs: Vec<usize> = (0..positions.len()).filter(|i| i % md == *r).collect();
            if idxs.is_empty() {
                return None;
            }
            let sel: Vec<u32> = idxs.iter().map(|&i| positions[i]).collect();
            assert_eq!(t.write().delete_positions(&sel), m.delete(&idxs));
            Some(true)
        }
        Op::Rewrite(md, r, field) => {
            let mut wrote = false;
            for i in (0..positions.len()).filter(|i| i % md == *r) {
                let Some(v) = get_field(&m.rows[i].fields, field) else {
                    continue;
                };
                let changes = vec![(field.to_string(), rewrite(v))];
                let got = t
                    .write()
                    .update_positions(&[positions[i]], &record_of(&changes), true);
                let want = m.update(&[i], &changes);
                compare_result(op, &got, &want, |a, b| a == b);
                wrote = true;
            }
            wrote.then_some(true)
        }
        Op::CreateIndex(field, kind) => {
            let fresh = !m.indexed.iter().any(|(f, _)| f == field);
            assert_eq!(t.create_index(field, *kind), fresh, "{op:?}");
            if fresh {
                m.indexed.push((field.to_string(), *kind));
            }
            None
        }
        Op::ClearTracking => {
            t.write().clear_tracking();
            m.clear_tracking();
            None
        }
    }
}

/// The whole table against the model.
fn check_model(t: &Table, m: &Model, ctx: &str) {
    let d = t.read();
    assert_eq!(d.len(), m.rows.len(), "{ctx}: len");
    let positions: Vec<u32> = d.positions().collect();
    assert_eq!(positions.len(), m.rows.len(), "{ctx}: positions");
    for (&p, row) in positions.iter().zip(&m.rows) {
        let got = fields(&d.record(p));
        assert!(
            same_fields(&got, &row.fields),
            "{ctx}: row at {p}: {got:?} vs model {:?}",
            row.fields
        );
        assert_eq!(
            d.lookup_key(row.key().as_ref()),
            Some(p),
            "{ctx}: key {}",
            row.key()
        );
        let by_get = fields(&t_get(&d, row.key()).expect("get finds the row"));
        assert!(
            same_fields(&by_get, &row.fields),
            "{ctx}: get({})",
            row.key()
        );
    }
    let probes: Vec<Value> = (-1i64..12)
        .flat_map(|i| [int(i), Value::Float(i as f64), Value::Float(i as f64 + 0.5)])
        .chain([
            Value::Bool(true),
            Value::Bool(false),
            s("k1"),
            s("k2"),
            s("k3"),
            Value::Null,
        ])
        .collect();
    for k in &probes {
        assert_eq!(
            d.lookup_key(k.as_ref()).is_some(),
            m.find(k).is_some(),
            "{ctx}: probe {k}"
        );
    }
    let batch: Vec<Fields> = d.records(&positions).iter().map(fields).collect();
    let mut reversed = positions.clone();
    reversed.reverse();
    let batch_rev: Vec<Fields> = d.records(&reversed).iter().map(fields).collect();
    for (i, row) in m.rows.iter().enumerate() {
        assert!(
            same_fields(&batch[i], &row.fields),
            "{ctx}: records() row {i}"
        );
        assert!(
            same_fields(&batch_rev[m.rows.len() - 1 - i], &row.fields),
            "{ctx}: records() reversed row {i}"
        );
    }
    assert_eq!(d.next_key(), m.counter, "{ctx}: counter");
    let dirty: Vec<Fields> = d.dirty_records().iter().map(fields).collect();
    let want_dirty: Vec<&Fields> = m
        .rows
        .iter()
        .filter(|r| r.dirty)
        .map(|r| &r.fields)
        .collect();
    assert!(
        dirty.len() == want_dirty.len()
            && dirty
                .iter()
                .zip(&want_dirty)
                .all(|(a, b)| same_fields(a, b)),
        "{ctx}: dirty {dirty:?} vs model {want_dirty:?}"
    );
    let deleted = d.deleted_keys();
    assert!(
        same_keys(&deleted, &m.deleted),
        "{ctx}: deleted {deleted:?} vs model {:?}",
        m.deleted
    );
    assert_eq!(
        d.has_changes(),
        !m.deleted.is_empty() || m.rows.iter().any(|r| r.dirty),
        "{ctx}: has_changes"
    );
    let indexed: Vec<(String, IndexKind)> = d
        .indexes()
        .map(|(n, ix)| (n.to_string(), ix.kind()))
        .collect();
    assert_eq!(indexed, m.indexed, "{ctx}: indexes");
    check_indexes(&d);
}

fn t_get(d: &TableData, key: &Value) -> Option<Record> {
    d.get(key.as_ref())
}

fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: proptest_cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_operations_match_a_model(ops in prop::collection::vec(op_strategy(), 1..60)) {
        let t = table("t", None);
        let mut m = Model::new();
        for (i, op) in ops.iter().enumerate() {
            let before = t.read().version();
            let wrote = apply(&t, &mut m, op);
            let after = t.read().version();
            match wrote {
                Some(true) => prop_assert!(after > before, "op {i} {op:?}: version did not move"),
                Some(false) => prop_assert_eq!(after, before, "op {}: failed write moved the version", i),
                None => {}
            }
            check_model(&t, &m, &format!("after op {i} {op:?}"));
        }
    }
}

#[test]
fn lookup_finds_index_equal_values_written_differently() {
    let noon = NaiveDate::from_ymd_opt(2024, 1, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap();
    let two_pm = NaiveDate::from_ymd_opt(2024, 1, 1)
        .unwrap()
        .and_hms_opt(14, 0, 0)
        .unwrap();
    let ab = || Value::map([("a", int(1)), ("b", int(2))]);
    let ba = || Value::map([("b", int(2)), ("a", int(1))]);
    // (stored, looked up with): equal under Python equality
    let pairs = [
        (int(1), Value::Float(1.0)),
        (int(1), Value::Bool(true)),
        (ab(), ba()),
        (Value::list([ab()]), Value::list([ba()])),
        (
            Value::list([int(0), Value::list([ab()])]),
            Value::list([Value::Float(0.0), Value::list([ba()])]),
        ),
        (Value::map([("m", ab())]), Value::map([("m", ba())])),
        (
            Value::DateTime(DateTime::aware(noon, FixedOffset::east_opt(0).unwrap())),
            Value::DateTime(DateTime::aware(
                two_pm,
                FixedOffset::east_opt(7200).unwrap(),
            )),
        ),
    ];
    for kind in [IndexKind::Hash, IndexKind::Sorted] {
        let t = table("t", None);
        for (stored, _) in &pairs {
            t.insert(record! { "v" => stored.clone() }).unwrap();
        }
        t.create_index("v", kind);
        let d = t.read();
        let positions: Vec<u32> = d.positions().collect();
        let ix = d.index("v").unwrap();
        for ((stored, probe), &p) in pairs.iter().zip(&positions) {
            assert!(ix.lookup(stored.as_ref()).contains(&p), "{kind} {stored}");
            assert!(
                ix.lookup(probe.as_ref()).contains(&p),
                "{kind}: lookup({probe}) misses the row holding {stored}"
            );
        }
    }
}

#[test]
fn sparse_int_key_stays_found_when_dense_keys_grow_past_it() {
    // Key 3000 arrives while the table is empty (far from any other key); keys
    // 1..=4000 then fill in around it.
    let t = table("t", None);
    t.insert(record! { "id" => 3000, "v" => "first" }).unwrap();
    let keys = t
        .insert_many(
            (1..=4000i64)
                .filter(|&k| k != 3000)
                .map(|k| record! { "id" => k })
                .collect(),
        )
        .unwrap();
    assert_eq!(keys.len(), 3999);
    assert_eq!(t.read().next_key(), 4001);
    for k in [int(3000), Value::Float(3000.0)] {
        let r = t.get(&k).expect("key 3000 resolves");
        assert_eq!(r.get("v"), Some(&s("first")));
    }
    let e = t.insert(record! { "id" => 3000 }).unwrap_err();
    assert!(is_dup(&e, "t", &int(3000)), "{e:?}");
    let p1 = pos_of(&t, &int(1));
    let e = t
        .write()
        .update_positions(&[p1], &record! { "id" => 3000 }, true)
        .unwrap_err();
    assert!(is_dup(&e, "t", &int(3000)), "{e:?}");
    assert_eq!(t.len(), 4000);
    // Deleting it frees the key.
    let p = pos_of(&t, &int(3000));
    assert_eq!(t.write().delete_positions(&[p]), 1);
    assert!(t.get(&int(3000)).is_none());
    assert_eq!(t.insert(record! { "id" => 3000 }).unwrap(), int(3000));
}

#[test]
fn only_a_rekey_moves_the_counter_and_empty_writes_change_nothing() {
    let t = Table::new("t", "id", None);
    t.insert(record! { "id" => 7.0, "x" => 1 }).unwrap();
    assert_eq!(t.read().next_key(), 1);
    // Writing 7 over 7.0 is not a re-key: the counter stays.
    let p = t.read().lookup_key(Value::Int(7).as_ref()).unwrap();
    t.write()
        .update_positions(&[p], &record! { "id" => 7 }, true)
        .unwrap();
    assert_eq!(t.read().next_key(), 1);
    // A real re-key to an int past the counter moves it.
    t.write()
        .update_positions(&[p], &record! { "id" => 9 }, true)
        .unwrap();
    assert_eq!(t.read().next_key(), 10);
    // Empty writes: no error (even for a NULL key), no version move.
    let v = t.read().version();
    assert_eq!(
        t.write()
            .update_positions(&[], &record! { "id" => Value::Null }, true),
        Ok(0)
    );
    assert_eq!(t.write().insert_many(Vec::new(), true), Ok(Vec::new()));
    assert_eq!(t.write().delete_positions(&[]), 0);
    assert_eq!(t.read().version(), v);
}

#[test]
fn bulk_delete_from_large_buckets_keeps_indexes_exact() {
    let t = Table::new("t", "id", None);
    let rows: Vec<Record> = (0..20_000i64)
        .map(|i| {
            let mut r = record! { "city" => ["a", "b", "c"][(i % 3) as usize], "n" => i % 5 };
            if i % 7 == 0 {
                r.remove("n");
            }
            r
        })
        .collect();
    t.insert_many(rows).unwrap();
    t.create_index("city", IndexKind::Hash);
    t.create_index("n", IndexKind::Sorted);
    let gone: Vec<u32> = {
        let d = t.read();
        let c = d.column_id("city").unwrap();
        let mut b: Vec<u32> = d
            .positions()
            .filter(|&p| matches!(d.value(p, c), dictdb_engine::ValueRef::Str("b")))
            .collect();
        b.reverse();
        b
    };
    assert_eq!(t.write().delete_positions(&gone), gone.len());
    let d = t.read();
    assert_eq!(d.len(), 20_000 - gone.len());
    assert_eq!(
        d.index("city")
            .unwrap()
            .lookup(dictdb_engine::ValueRef::Str("b"))
            .len(),
        0
    );
    let n_ix = d.index("n").unwrap();
    let total: usize = n_ix.entries().map(|(_, p)| p.len()).sum::<usize>() + n_ix.absent().len();
    assert_eq!(total, d.len());
    let nc = d.column_id("n").unwrap();
    for p in d.positions() {
        if d.has_field(p, nc) {
            assert!(n_ix.lookup(d.value(p, nc)).contains(&p));
        } else {
            assert!(n_ix.absent().contains(&p));
        }
    }
    // Deletion order is the order the positions were given.
    let deleted = d.deleted_keys();
    assert_eq!(deleted.first(), Some(&d_key_of_last_b()));
}

fn d_key_of_last_b() -> Value {
    // Rows are keyed 1..=20000; "b" rows are i % 3 == 1, the last is i = 19999.
    Value::Int(20_000)
}

#[test]
fn bulk_update_of_an_indexed_field_moves_every_row_between_buckets() {
    let t = Table::new("t", "id", None);
    let rows: Vec<Record> = (0..9_000i64)
        .map(|i| record! { "city" => ["a", "b", "c"][(i % 3) as usize], "n" => i % 4 })
        .collect();
    t.insert_many(rows).unwrap();
    t.create_index("city", IndexKind::Hash);
    t.create_index("n", IndexKind::Sorted);
    let b: Vec<u32> = {
        let d = t.read();
        let c = d.column_id("city").unwrap();
        d.positions()
            .filter(|&p| matches!(d.value(p, c), dictdb_engine::ValueRef::Str("b")))
            .collect()
    };
    let changes = record! { "city" => "a", "n" => Value::Null };
    assert_eq!(
        t.write().update_positions(&b, &changes, true).unwrap(),
        3_000
    );
    let d = t.read();
    let city = d.index("city").unwrap();
    assert_eq!(city.lookup(dictdb_engine::ValueRef::Str("b")).len(), 0);
    let a = city.lookup(dictdb_engine::ValueRef::Str("a"));
    assert_eq!(a.len(), 6_000);
    assert!(a.windows(2).all(|w| w[0] < w[1]));
    let n = d.index("n").unwrap();
    assert_eq!(n.lookup(dictdb_engine::ValueRef::Null), b);
    let total: usize = n.entries().map(|(_, p)| p.len()).sum();
    assert_eq!(total + n.absent().len(), d.len());
}

/// `insert_columns` equals `insert_many` of the same rows: keys, counter, stored
/// records (field order included), indexes, tracking; and its failures change nothing.
#[test]
fn insert_columns_equals_insert_many() {
    let names = ["name", "id", "x"];
    let ids = [
        Value::Null,
        Value::Int(10),
        Value::Null,
        Value::Float(3.0),
        Value::Null,
    ];
    let xs = [
        Value::Int(1),
        Value::str("a"),
        Value::Null,
        Value::list([Value::Int(1)]),
        Value::Bool(true),
    ];
    let rows: Vec<Record> = (0..5)
        .map(
            |i| record! { "name" => format!("n{i}"), "id" => ids[i].clone(), "x" => xs[i].clone() },
        )
        .collect();
    let columns = vec![
        (0..5)
            .map(|i| Value::str(format!("n{i}")))
            .collect::<Vec<_>>(),
        ids.to_vec(),
        xs.to_vec(),
    ];
    let a = Table::new("t", "id", None);
    let b = Table::new("t", "id", None);
    for t in [&a, &b] {
        t.insert(record! { "id" => 1, "name" => "first" }).unwrap();
        t.create_index("x", IndexKind::Sorted);
        t.create_index("name", IndexKind::Hash);
    }
    let ka = a.write().insert_many(rows, true).unwrap();
    let kb = b.write().insert_columns(&names, columns, true).unwrap();
    assert_eq!(ka, kb);
    assert_eq!(kb[0], Value::Int(2));
    let (da, db) = (a.read(), b.read());
    let ra: Vec<Record> = da.positions().map(|p| da.record(p)).collect();
    let rb: Vec<Record> = db.positions().map(|p| db.record(p)).collect();
    assert_eq!(ra, rb);
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x.names().collect::<Vec<_>>(), y.names().collect::<Vec<_>>());
    }
    assert_eq!(da.next_key(), db.next_key());
    assert_eq!(da.dirty_records(), db.dirty_records());
    for f in ["x", "name"] {
        let (ia, ib) = (da.index(f).unwrap(), db.index(f).unwrap());
        let ea: Vec<(Value, Vec<u32>)> =
            ia.entries().map(|(k, p)| (k.clone(), p.to_vec())).collect();
        let eb: Vec<(Value, Vec<u32>)> =
            ib.entries().map(|(k, p)| (k.clone(), p.to_vec())).collect();
        assert_eq!(ea.len(), eb.len());
        for (k, p) in &ea {
            assert_eq!(ib.lookup(k.as_ref()), *p);
        }
        assert_eq!(ia.absent(), ib.absent());
    }
    // Without a key column every row gets an automatic key, appended last.
    drop((da, db));
    let keys = b
        .write()
        .insert_columns(
            &["name"],
            vec![vec![Value::str("p"), Value::str("q")]],
            true,
        )
        .unwrap();
    // The batch above took 2, 10 (explicit), 11 and 12.
    assert_eq!(keys, [Value::Int(13), Value::Int(14)]);
    let r = b.get(&Value::Int(14)).unwrap();
    assert_eq!(r.names().map(|n| &**n).collect::<Vec<_>>(), ["name", "id"]);
}

#[test]
fn insert_columns_failures_change_nothing() {
    let t = Table::new("t", "id", None);
    t.insert(record! { "id" => 5 }).unwrap();
    t.create_index("v", IndexKind::Hash);
    let before: Vec<Record> = t.read().positions().map(|p| t.read().record(p)).collect();
    let v = t.read().version();
    let mut w = t.write();
    // A duplicate key in the middle of the batch.
    let err = w
        .insert_columns(
            &["id", "v"],
            vec![
                vec![Value::Int(1), Value::Int(5)],
                vec![Value::Int(1), Value::Int(2)],
            ],
            true,
        )
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateKey { .. }));
    // Shapes that are not rows.
    for (names, cols) in [
        (vec!["a", "b"], vec![vec![Value::Int(1)]]),
        (vec!["a", "b"], vec![vec![Value::Int(1)], vec![]]),
        (
            vec!["a", "a"],
            vec![vec![Value::Int(1)], vec![Value::Int(2)]],
        ),
    ] {
        let err = w.insert_columns(&names, cols, true).unwrap_err();
        assert!(matches!(err, Error::ColumnMismatch { .. }), "{err}");
        assert!(err.to_string().contains("'t'"));
    }
    drop(w);
    let after: Vec<Record> = t.read().positions().map(|p| t.read().record(p)).collect();
    assert_eq!(before, after);
    assert_eq!(t.read().version(), v);
    assert_eq!(t.read().index("v").unwrap().n_keys(), 0);
    // A typed table validates every row (through the record path).
    let typed = Table::new(
        "typed",
        "id",
        Some(Schema::new().field("n", FieldType::Int)),
    );
    let err = typed
        .write()
        .insert_columns(&["n"], vec![vec![Value::Int(1), Value::str("x")]], true)
        .unwrap_err();
    assert!(matches!(err, Error::Schema(_)));
    assert_eq!(typed.len(), 0);
    typed
        .write()
        .insert_columns(&["n"], vec![vec![Value::Int(1), Value::Int(2)]], true)
        .unwrap();
    assert_eq!(typed.len(), 2);
}

fn key_positions(t: &Table) -> Vec<(i64, u32)> {
    let d = t.read();
    let mut v: Vec<(i64, u32)> = d
        .positions()
        .map(|p| (d.key_at(p).as_int_key().unwrap(), p))
        .collect();
    v.sort_unstable();
    for &(k, p) in &v {
        assert_eq!(d.lookup_key(Value::Int(k).as_ref()), Some(p), "key {k}");
    }
    v
}

/// Per-row changes: keys may shift or swap (checked on the final state), every
/// failure changes nothing, indexes follow each row's own value.
#[test]
fn update_rows_with_per_row_changes() {
    let t = Table::new("t", "id", None);
    t.insert_many(
        (1..=5)
            .map(|i| record! { "id" => i, "v" => i * 10 })
            .collect(),
    )
    .unwrap();
    t.create_index("v", IndexKind::Sorted);
    t.write().clear_tracking();
    let rows_of = |f: &dyn Fn(i64) -> Record| -> Vec<(u32, Record)> {
        let d = t.read();
        d.positions()
            .map(|p| (p, f(d.key_at(p).as_int_key().unwrap())))
            .collect()
    };

    // id = id + 1 over consecutive keys: valid as a whole.
    let shift = rows_of(&|k| record! { "id" => k + 1, "v" => k * 100 });
    assert_eq!(t.write().update_rows(&shift, true).unwrap(), 5);
    let keys: Vec<i64> = key_positions(&t).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, [2, 3, 4, 5, 6]);
    assert_eq!(t.read().deleted_keys(), [Value::Int(1)]);
    assert_eq!(t.read().next_key(), 7);
    {
        let d = t.read();
        let ix = d.index("v").unwrap();
        for k in 1..=5i64 {
            let p = d.lookup_key(Value::Int(k + 1).as_ref()).unwrap();
            assert_eq!(ix.lookup(Value::Int(k * 100).as_ref()), vec![p]);
            assert!(ix.lookup(Value::Int(k * 10).as_ref()).is_empty());
        }
    }

    // Two rows trading keys.
    let p2 = t.read().lookup_key(Value::Int(2).as_ref()).unwrap();
    let p3 = t.read().lookup_key(Value::Int(3).as_ref()).unwrap();
    t.write()
        .update_rows(
            &[(p2, record! { "id" => 3 }), (p3, record! { "id" => 2 })],
            true,
        )
        .unwrap();
    assert_eq!(t.read().lookup_key(Value::Int(3).as_ref()), Some(p2));
    assert_eq!(t.read().lookup_key(Value::Int(2).as_ref()), Some(p3));
    assert_eq!(t.read().deleted_keys(), [Value::Int(1)]);

    // Failures change nothing: two rows onto one key, a row onto a key that stays,
    // a NULL key.
    let before: Vec<Record> = t.read().positions().map(|p| t.read().record(p)).collect();
    let v = t.read().version();
    let p4 = t.read().lookup_key(Value::Int(4).as_ref()).unwrap();
    for rows in [
        vec![(p2, record! { "id" => 9 }), (p3, record! { "id" => 9.0 })],
        vec![(p2, record! { "id" => 4, "v" => 1 })],
        vec![
            (p4, record! { "v" => 1 }),
            (p2, record! { "id" => Value::Null }),
        ],
    ] {
        assert!(t.write().update_rows(&rows, true).is_err());
    }
    let after: Vec<Record> = t.read().positions().map(|p| t.read().record(p)).collect();
    assert_eq!(before, after);
    assert_eq!(t.read().version(), v);
    assert_eq!(t.read().next_key(), 7);

    // A typed table validates each merged row first.
    let typed = Table::new(
        "typed",
        "id",
        Some(Schema::new().field("n", FieldType::Int)),
    );
    typed
        .insert_many(vec![record! { "n" => 1 }, record! { "n" => 2 }])
        .unwrap();
    let rows: Vec<(u32, Record)> = vec![(0, record! { "n" => 5 }), (1, record! { "n" => "x" })];
    assert!(matches!(
        typed.write().update_rows(&rows, true),
        Err(Error::Schema(_))
    ));
    assert_eq!(
        typed.get(&Value::Int(1)).unwrap().get("n"),
        Some(&Value::Int(1))
    );
    assert_eq!(typed.write().update_rows(&[], true), Ok(0));
}

#[test]
fn apply_delta_replaces_rows_in_place_and_marks_nothing() {
    let t = Table::new("t", "id", None);
    t.insert_many(vec![
        record! { "id" => 1, "a" => 1, "b" => "x" },
        record! { "id" => 2, "a" => 2, "b" => "y" },
        record! { "id" => 3, "a" => 3 },
    ])
    .unwrap();
    t.create_index("b", IndexKind::Hash);
    t.create_index("a", IndexKind::Sorted);
    t.write().clear_tracking();
    let version = t.read().version();
    let n = t
        .write()
        .apply_delta(
            vec![
                // Replaces row 1 as stated: `b` goes, `c` comes.
                record! { "id" => 1, "a" => 10, "c" => true },
                // New rows: an explicit key past the counter, then an automatic one.
                record! { "id" => 7, "b" => "z" },
                record! { "b" => "w" },
            ],
            &[int(2), int(99)],
            &[],
            &[],
        )
        .unwrap();
    assert_eq!(n, 4, "three upserts and one effective delete");
    let d = t.read();
    check_indexes(&d);
    let rows: Vec<Record> = d.positions().map(|p| d.record(p)).collect();
    assert_eq!(
        rows,
        vec![
            record! { "id" => 1, "a" => 10, "c" => true },
            record! { "id" => 3, "a" => 3 },
            record! { "id" => 7, "b" => "z" },
            record! { "id" => 8, "b" => "w" },
        ]
    );
    assert!(!d.has_changes(), "a replayed delta marks nothing");
    assert!(d.version() > version);
    assert_eq!(d.next_key(), 9);
    drop(d);
    // An invalid key changes nothing.
    let before = t.read().positions().count();
    assert!(
        t.write()
            .apply_delta(
                vec![
                    record! { "id" => 20 },
                    record! { "id" => Value::list([int(1)]) }
                ],
                &[],
                &[],
                &[]
            )
            .is_err()
    );
    assert_eq!(t.read().positions().count(), before);
}

#[test]
fn row_views_name_their_fields_in_stored_order_and_by_key() {
    let t = Table::new("t", "id", None);
    t.insert(Record::new().with("b", 1).with("id", 7).with("a", "x"))
        .unwrap();
    t.insert(Record::new().with("a", 2)).unwrap();
    let mut data = t.write();
    assert!(t.try_read().is_none() && t.try_write().is_none(), "held");
    let pos = data.lookup_key(int(7).as_ref()).unwrap();
    let row = data.row(pos);
    let names: Vec<&str> = row.names().map(|n| &**n).collect();
    assert_eq!(names, ["b", "id", "a"]);
    assert_eq!(names, row.iter().map(|(n, _)| &**n).collect::<Vec<_>>());
    assert!(
        data.update_key(int(7).as_ref(), &Record::new().with("b", 5))
            .unwrap()
    );
    assert!(
        !data
            .update_key(int(99).as_ref(), &Record::new().with("b", 5))
            .unwrap()
    );
    // The explicit key 7 moved the counter: the second row took 8.
    assert!(data.delete_key(int(8).as_ref()) && !data.delete_key(int(8).as_ref()));
    drop(data);
    assert!(t.try_read().is_some() && t.try_write().is_some(), "free");
    assert_eq!(t.get(&int(7)).unwrap().get("b"), Some(&int(5)));
    assert_eq!(t.len(), 1);
}
