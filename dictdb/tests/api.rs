//! The `dictdb` crate's own entry points: catalog errors, key-based writes,
//! compaction, index management, tracking and the planner switch.

use dictdb::{
    Agg, Aggregation, Database, EngineError, Error, FieldType, IndexKind, OnConflict,
    PlannerConfig, Query, Schema, UpsertAction, Value, col, record,
};

#[test]
fn catalog_errors_name_the_table() {
    let db = Database::new();
    db.create_table("a", "id").unwrap();
    let dup = db.create_table("a", "key").unwrap_err();
    assert_eq!(
        dup,
        Error::Engine(EngineError::DuplicateTable { table: "a".into() })
    );
    assert!(dup.to_string().contains("'a'"));
    assert!(
        matches!(db.table("nope"), Err(Error::Engine(EngineError::TableNotFound { ref table })) if table == "nope")
    );
    db.drop_table("a").unwrap();
    assert!(db.drop_table("a").is_err());
    assert!(db.table_names().is_empty());
}

#[test]
fn key_writes_and_compaction() {
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.insert_many((0..100).map(|i| record! { "n" => i }).collect())
        .unwrap();
    t.create_index("n", IndexKind::Sorted);
    assert!(
        t.update_key(&Value::Int(5), record! { "n" => 500 })
            .unwrap()
    );
    assert!(
        !t.update_key(&Value::Int(999), record! { "n" => 1 })
            .unwrap()
    );
    assert!(t.delete_key(&Value::Int(6)));
    assert!(!t.delete_key(&Value::Int(6)));
    // Re-keying through update_key checks for duplicates and changes nothing on failure.
    let err = t
        .update_key(&Value::Int(7), record! { "id" => 8 })
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Engine(EngineError::DuplicateKey { .. })
    ));
    assert_eq!(
        t.get(&Value::Int(7)).unwrap().get("n"),
        Some(&Value::Int(6))
    );
    for k in 10..30 {
        assert!(t.delete_key(&Value::Int(k)));
    }
    let before = t.select(Query::new()).unwrap();
    t.compact();
    assert_eq!(t.engine().read().n_positions(), t.len());
    assert_eq!(t.select(Query::new()).unwrap(), before);
    let hit = t.select(Query::new().filter(col("n").eq(500))).unwrap();
    assert_eq!(hit, vec![record! { "n" => 500, "id" => 5 }]);
    assert_eq!(t.len(), 100 - 1 - 20);
}

#[test]
fn typed_tables_reject_bad_rows_atomically() {
    let db = Database::new();
    let schema = Schema::new()
        .field("name", FieldType::Str)
        .nullable("age", FieldType::Int);
    let t = db
        .create_table_with_schema("people", "id", Some(schema))
        .unwrap();
    assert_eq!(t.schema().unwrap().get("id").unwrap().ty, FieldType::Int);
    t.insert(record! { "name" => "a" }).unwrap();
    let err = t
        .insert_many(vec![record! { "name" => "b" }, record! { "name" => 3 }])
        .unwrap_err();
    assert!(err.to_string().contains("'name'"), "{err}");
    assert_eq!(t.len(), 1);
    // Without validation the same batch goes in (keys are still checked).
    t.insert_many_unvalidated(vec![record! { "name" => 3 }])
        .unwrap();
    assert_eq!(t.len(), 2);
    let (k, action) = t
        .upsert(record! { "id" => 1, "age" => 30 }, OnConflict::Update)
        .unwrap();
    assert_eq!((k, action), (Value::Int(1), UpsertAction::Updated));
    assert!(
        t.upsert(record! { "id" => 1, "age" => "x" }, OnConflict::Update)
            .is_err()
    );
    assert_eq!(
        t.get(&Value::Int(1)).unwrap().get("age"),
        Some(&Value::Int(30))
    );
}

#[test]
fn indexes_tracking_and_planner_switch() {
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.insert_many((0..50).map(|i| record! { "c" => i % 5 }).collect())
        .unwrap();
    assert!(t.create_index("c", IndexKind::Hash));
    assert!(
        !t.create_index("c", IndexKind::Sorted),
        "an existing index is kept"
    );
    assert_eq!(t.indexes(), vec![("c".to_string(), IndexKind::Hash)]);
    let q = Query::new().filter(col("c").eq(3));
    assert_eq!(t.explain(&q).last().unwrap(), "hash lookup c [3] on t");
    let scan = t.with_planner(PlannerConfig::all(false));
    assert_eq!(scan.explain(&q).last().unwrap(), "full scan on t");
    assert_eq!(scan.select(&q).unwrap(), t.select(&q).unwrap());
    assert!(t.drop_index("c"));
    assert!(!t.drop_index("c"));
    assert_eq!(t.explain(&q).last().unwrap(), "full scan on t");

    assert!(t.has_changes());
    t.clear_tracking();
    assert!(!t.has_changes());
    let v = t.version();
    assert_eq!(
        t.update(&col("c").eq(4), record! { "c" => 40 }).unwrap(),
        10
    );
    assert_eq!(t.delete(&col("c").eq(0)).unwrap(), 10);
    assert!(t.version() > v);
    assert_eq!(t.dirty_records().len(), 10);
    assert_eq!(t.deleted_keys().len(), 10);
    assert_eq!(t.update_where(None, record! { "z" => true }).unwrap(), 40);
    assert_eq!(t.delete_where(None).unwrap(), 40);
    assert!(t.is_empty());
    let n = t
        .aggregate(Aggregation::new().agg("n", Agg::count()))
        .unwrap();
    assert_eq!(n, vec![record! { "n" => 0 }]);
    assert!(t.heap_bytes() > 0);
}

#[test]
fn query_errors_surface_as_query_errors() {
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.insert(record! { "x" => "text" }).unwrap();
    let err = t
        .aggregate(Aggregation::new().agg("s", Agg::sum("x")))
        .unwrap_err();
    assert!(matches!(err, Error::Query(_)), "{err:?}");
    assert!(err.to_string().contains("'text'"), "{err}");
}

#[test]
fn insert_columns_through_the_table_handle() {
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.create_index("city", IndexKind::Hash);
    let keys = t
        .insert_columns(
            &["city", "n"],
            vec![
                vec![Value::str("Oslo"), Value::str("Lima"), Value::str("Oslo")],
                vec![Value::Int(1), Value::Null, Value::Int(3)],
            ],
        )
        .unwrap();
    assert_eq!(keys, [Value::Int(1), Value::Int(2), Value::Int(3)]);
    let oslo = t
        .select(
            Query::new()
                .filter(col("city").eq("Oslo"))
                .columns(["id", "n"]),
        )
        .unwrap();
    assert_eq!(
        oslo,
        vec![
            record! { "id" => 1, "n" => 1 },
            record! { "id" => 3, "n" => 3 }
        ]
    );
    assert_eq!(
        t.get(&Value::Int(2)).unwrap(),
        record! { "city" => "Lima", "n" => Value::Null, "id" => 2 }
    );
    let err = t
        .insert_columns(&["id"], vec![vec![Value::Int(3)]])
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Engine(EngineError::DuplicateKey { .. })
    ));
    assert_eq!(t.len(), 3);
}

#[test]
fn with_row_reads_in_place() {
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.insert_many(vec![
        record! { "name" => "Ada", "note" => Value::Null },
        record! { "name" => "Bo" },
    ])
    .unwrap();
    let fields = t
        .with_row(&Value::Int(1), |row| {
            assert_eq!(row.len(), 3);
            assert!(matches!(
                row.get("name"),
                Some(dictdb::ValueRef::Str("Ada"))
            ));
            assert!(matches!(row.get("note"), Some(dictdb::ValueRef::Null)));
            assert!(row.get("missing").is_none());
            assert_eq!(row.to_record(), t.get(&Value::Int(1)).unwrap());
            row.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>()
        })
        .unwrap();
    assert_eq!(fields, ["name", "note", "id"]);
    // Absent and NULL differ in the view too.
    assert_eq!(
        t.with_row(&Value::Int(2), |row| row.get("note").is_none()),
        Some(true)
    );
    assert!(t.with_row(&Value::Int(3), |_| ()).is_none());
}
