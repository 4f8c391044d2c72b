//! Host predicates (`Expr::Host`, a Python callable in `where=`) through the
//! `dictdb` table API: a failing predicate makes update, delete, select,
//! aggregate and CSV export fail with the host's own error, and the writes
//! change nothing (every match is found before anything is applied).

use dictdb::{
    Agg, Aggregation, Database, EngineError, Error, ExportOptions, IndexKind, Query, Value, col,
    record,
};
use dictdb_query::{Expr, HostError, HostPredicate};

/// True on every row, except that it fails on the row whose `n` is `fail_at`.
fn failing_at(fail_at: i64) -> Expr {
    Expr::Host(HostPredicate::new(move |row| match row.get("n") {
        Some(dictdb::ValueRef::Int(n)) if n == fail_at => Err(HostError::new("no", n)),
        _ => Ok(true),
    }))
}

fn assert_host_error(e: Error, n: i64) {
    match e {
        Error::Engine(EngineError::Host(h)) => assert_eq!(h.downcast_ref::<i64>(), Some(&n)),
        other => panic!("not a host error: {other:?}"),
    }
}

#[test]
fn a_failing_host_predicate_changes_nothing() {
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.insert_many(
        (0..50)
            .map(|i| record! { "n" => i, "g" => i % 3 })
            .collect(),
    )
    .unwrap();
    t.create_index("g", IndexKind::Hash);
    t.clear_tracking();
    let before = t.select(Query::new()).unwrap();
    let version = t.version();
    // Fails on the last row, after many rows matched.
    let filter = col("n").ge(0).and(failing_at(49));
    assert_host_error(
        t.update(&filter, record! { "n" => 0, "x" => 1 })
            .unwrap_err(),
        49,
    );
    assert_host_error(t.update(&filter, record! { "id" => 7 }).unwrap_err(), 49);
    assert_host_error(t.delete(&filter).unwrap_err(), 49);
    assert_host_error(t.delete(&!filter.clone()).unwrap_err(), 49);
    assert_eq!(t.select(Query::new()).unwrap(), before);
    assert_eq!(t.version(), version);
    assert!(!t.has_changes());
    assert_eq!(
        t.select(Query::new().filter(col("g").eq(1))).unwrap().len(),
        before
            .iter()
            .filter(|r| r.get("g") == Some(&Value::Int(1)))
            .count()
    );
    assert_host_error(
        t.select(Query::new().filter(filter.clone())).unwrap_err(),
        49,
    );
    let agg = Aggregation::new()
        .agg("n", Agg::count())
        .filter(filter.clone());
    assert_host_error(t.aggregate(&agg).unwrap_err(), 49);
    let dir = std::env::temp_dir().join(format!("dictdb-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.csv");
    assert_host_error(
        t.export_csv(&path, Some(&filter), &ExportOptions::default())
            .unwrap_err(),
        49,
    );
    assert!(!path.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn host_predicates_combine_with_indexed_conditions() {
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.insert_many(
        (0..30)
            .map(|i| record! { "n" => i, "g" => i % 3 })
            .collect(),
    )
    .unwrap();
    t.create_index("g", IndexKind::Hash);
    let even = Expr::Host(HostPredicate::new(|row| {
        Ok(matches!(row.get("n"), Some(dictdb::ValueRef::Int(n)) if n % 2 == 0))
    }));
    let q = Query::new().filter(col("g").eq(0).and(even.clone()));
    assert!(
        t.explain(&q).iter().any(|l| l.contains("lookup g")),
        "{:?}",
        t.explain(&q)
    );
    let ns: Vec<Value> = t
        .select(q)
        .unwrap()
        .iter()
        .map(|r| r.get("n").unwrap().clone())
        .collect();
    assert_eq!(ns, [0, 6, 12, 18, 24].map(Value::Int));
    assert_eq!(
        t.update(&col("g").eq(1).and(even.clone()), record! { "x" => 1 })
            .unwrap(),
        5
    );
    assert_eq!(t.delete(&col("g").eq(2).and(even)).unwrap(), 5);
    assert_eq!(t.len(), 25);
}
