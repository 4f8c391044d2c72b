//! Building tables row by row ([`Table::build`], the load path of saved files)
//! against inserting the same records, bulk-built indexes against indexes
//! filled row by row, and the nesting limit of every write.

use dictdb_engine::{
    Error, FieldType, Index, IndexKind, MAX_NESTING, OnConflict, Record, Schema, Table, Value,
    ValueRef, record, total_cmp,
};
use proptest::prelude::*;

/// Everything observable about a table's rows: each row's fields in order (values
/// by their debug form, so floats compare by bits), the counter, the positions.
fn content(t: &Table) -> (Vec<String>, i64, usize, usize) {
    let data = t.read();
    let rows = data
        .positions()
        .map(|p| format!("{:?}", data.record(p)))
        .collect();
    (rows, data.next_key(), data.n_positions(), data.len())
}

fn build_from(name: &str, schema: Option<Schema>, records: Vec<Record>) -> Result<Table, Error> {
    Table::build(name, "id", schema, |rows| {
        for r in records {
            for (field, value) in r.into_fields() {
                rows.push(&field, value);
            }
            rows.end_row()?;
        }
        Ok(())
    })
}

fn insert_into(name: &str, schema: Option<Schema>, records: Vec<Record>) -> Result<Table, Error> {
    let t = Table::new(name, "id", schema);
    t.write().insert_many(records, true)?;
    t.write().clear_tracking();
    Ok(t)
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..6).prop_map(Value::Int),
        prop_oneof![Just(f64::NAN), Just(-0.0), Just(2.0), Just(2.5)].prop_map(Value::Float),
        prop_oneof![Just("x"), Just("y"), Just("")].prop_map(Value::str),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::list),
            proptest::collection::vec(inner, 0..2).prop_map(|vs| Value::map(
                vs.into_iter()
                    .enumerate()
                    .map(|(i, v)| (format!("k{i}"), v))
            )),
        ]
    })
}

fn record_strategy() -> impl Strategy<Value = Record> {
    proptest::collection::vec(
        (
            prop_oneof![Just("id"), Just("a"), Just("b"), Just("c")],
            value_strategy(),
        ),
        0..5,
    )
    .prop_map(|fields| {
        let mut r = Record::new();
        for (name, value) in fields {
            r.set(name, value);
        }
        r
    })
}

fn schema_strategy() -> impl Strategy<Value = Option<Schema>> {
    prop_oneof![
        Just(None),
        Just(Some(
            Schema::new()
                .field("id", FieldType::Int)
                .nullable("a", FieldType::Int)
                .field("b", FieldType::Any)
        )),
        Just(Some(Schema::new().nullable("a", FieldType::Float))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Building row by row gives what inserting the records does: the same
    /// rows, keys and counter, or the same error.
    #[test]
    fn build_matches_insert_many(
        schema in schema_strategy(),
        records in proptest::collection::vec(record_strategy(), 0..12),
    ) {
        let built = build_from("t", schema.clone(), records.clone());
        let inserted = insert_into("t", schema, records);
        match (built, inserted) {
            (Ok(b), Ok(i)) => {
                prop_assert_eq!(content(&b), content(&i));
                prop_assert!(!b.read().has_changes());
            }
            (Err(b), Err(i)) => prop_assert_eq!(format!("{b:?}"), format!("{i:?}")),
            (b, i) => prop_assert!(false, "build {:?} but insert {:?}", b.map(|t| content(&t)), i.map(|t| content(&t))),
        }
    }

    /// An index built in bulk over a column (typed or not, with NULLs and rows
    /// lacking the field) equals one filled row by row.
    #[test]
    fn bulk_built_indexes_equal_row_by_row_ones(
        records in proptest::collection::vec(record_strategy(), 0..40),
        sorted in any::<bool>(),
        field in prop_oneof![Just("a"), Just("b"), Just("c"), Just("id")],
    ) {
        let kind = if sorted { IndexKind::Sorted } else { IndexKind::Hash };
        let Ok(t) = insert_into("t", None, records) else { return Ok(()) };
        t.create_index(field, kind);
        let data = t.read();
        let c = data.column_id(field).unwrap();
        let mut by_row = Index::new(kind);
        for p in data.positions() {
            by_row.insert(p, data.has_field(p, c).then(|| data.column(c).get(p as usize)));
        }
        let dump = |ix: &Index| {
            let mut e: Vec<(Value, Vec<u32>)> =
                ix.entries().map(|(k, p)| (k.clone(), p.to_vec())).collect();
            e.sort_by(|a, b| total_cmp(a.0.as_ref(), b.0.as_ref()));
            format!("{e:?} absent {:?}", ix.absent())
        };
        prop_assert_eq!(dump(data.index(field).unwrap()), dump(&by_row));
    }
}

#[test]
fn build_follows_the_key_rules() {
    let t = build_from(
        "t",
        None,
        vec![
            record! { "name" => "auto" },
            record! { "id" => 5, "name" => "explicit" },
            record! { "id" => Value::Null, "name" => "null key" },
            record! { "id" => "s" },
            record! { "id" => false },
        ],
    )
    .unwrap();
    assert_eq!(t.len(), 5);
    assert_eq!(t.read().next_key(), 7);
    assert_eq!(
        t.get(&Value::Int(6)),
        Some(record! { "id" => 6, "name" => "null key" })
    );
    // The key field keeps its place; an absent key goes last.
    assert_eq!(
        t.get(&Value::Int(1)),
        Some(record! { "name" => "auto", "id" => 1 })
    );
    let dup = build_from(
        "t",
        None,
        vec![record! { "id" => 1 }, record! { "id" => 1.0 }],
    );
    assert!(matches!(dup, Err(Error::DuplicateKey { .. })), "{dup:?}");
}

#[test]
fn a_field_given_twice_keeps_its_place_and_takes_the_last_value() {
    let t = Table::build("t", "id", None, |rows| {
        let a = rows.field("a");
        let id = rows.field("id");
        rows.set(a, Value::Int(1));
        rows.set(id, Value::Int(3));
        rows.set_ref(a, ValueRef::Str("last"));
        rows.end_row()
    })
    .unwrap();
    let r = t.get(&Value::Int(3)).unwrap();
    assert_eq!(r, record! { "a" => "last", "id" => 3 });
    assert_eq!(
        r.names().map(|n| n.to_string()).collect::<Vec<_>>(),
        ["a", "id"]
    );
}

#[test]
fn a_failed_row_fails_the_whole_build() {
    let schema = Schema::new()
        .field("id", FieldType::Int)
        .field("n", FieldType::Int);
    let r = Table::build("t", "id", Some(schema), |rows| {
        rows.push("n", Value::Int(1));
        rows.end_row()?;
        rows.push("n", Value::str("x"));
        // The caller may ignore the row's error: the build still fails.
        let _ = rows.end_row();
        rows.push("n", Value::Int(2));
        rows.end_row().unwrap_err();
        Ok::<(), Error>(())
    });
    assert!(matches!(r, Err(Error::Schema(_))), "{r:?}");
}

/// A value nested `depth` lists deep (`[[…[1]…]]`).
fn nested(depth: usize) -> Value {
    let mut v = Value::Int(1);
    for _ in 0..depth {
        v = Value::list([v]);
    }
    v
}

/// A value nested `depth` maps deep.
fn nested_maps(depth: usize) -> Value {
    let mut v = Value::Null;
    for _ in 0..depth {
        v = Value::map([("$date", v)]);
    }
    v
}

fn too_deep(r: Result<impl std::fmt::Debug, Error>, field: &str) {
    match r {
        Err(Error::NestedTooDeep {
            table,
            field: f,
            limit,
        }) => {
            assert_eq!(
                (table.as_str(), f.as_str(), limit),
                ("t", field, MAX_NESTING)
            );
        }
        other => panic!("expected NestedTooDeep on {field}, got {other:?}"),
    }
}

#[test]
fn every_write_refuses_values_nested_too_deep() {
    let ok = nested(MAX_NESTING);
    let deep = nested(MAX_NESTING + 1);
    let t = Table::new("t", "id", None);
    t.insert(record! { "v" => ok.clone(), "m" => nested_maps(MAX_NESTING) })
        .unwrap();
    too_deep(t.insert(record! { "v" => deep.clone() }), "v");
    too_deep(
        t.insert_many(vec![
            record! { "v" => 1 },
            record! { "w" => nested_maps(MAX_NESTING + 1) },
        ]),
        "w",
    );
    too_deep(
        t.write()
            .insert_columns(&["v"], vec![vec![Value::Int(1), deep.clone()]], true),
        "v",
    );
    too_deep(
        t.upsert(
            record! { "id" => 1, "v" => deep.clone() },
            OnConflict::Update,
        ),
        "v",
    );
    too_deep(
        t.write()
            .update_positions(&[0], &record! { "v" => deep.clone() }, true),
        "v",
    );
    too_deep(
        t.write()
            .update_rows(&[(0, record! { "v" => deep.clone() })], true),
        "v",
    );
    too_deep(
        t.write().apply_delta(
            vec![record! { "id" => 9, "v" => deep.clone() }],
            &[],
            &[],
            &[],
        ),
        "v",
    );
    too_deep(
        build_from("t", None, vec![record! { "v" => deep.clone() }]),
        "v",
    );
    // Nothing of it changed the table.
    assert_eq!(t.len(), 1);
    assert_eq!(t.get(&Value::Int(1)).unwrap().get("v"), Some(&ok));
}
