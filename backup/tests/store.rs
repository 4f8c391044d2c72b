//! `store::save` and `store::load` against the plain JSON reader and writer:
//! loading streams records straight into the tables, saving encodes rows on
//! worker threads, and both must give exactly what reading the file and
//! inserting its records (or writing the rows one by one) gives. Also the
//! nesting limit: whatever a table holds saves and loads back.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dictdb_backup::json::{TableOut, read_database, write_database};
use dictdb_backup::store::{self, PersistError};
use dictdb_engine::{
    Catalog, Error as EngineError, FieldType, IndexKind, MAX_NESTING, Schema, Table, Value, record,
};
use proptest::prelude::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dictdb-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Everything observable about a catalog: per table, its definition, index
/// definitions, counter and rows (fields in order, values by debug form).
fn dump(catalog: &Catalog) -> Vec<String> {
    catalog
        .tables()
        .iter()
        .map(|t| {
            let data = t.read();
            let rows: Vec<String> = data
                .positions()
                .map(|p| format!("{:?}", data.record(p)))
                .collect();
            let indexes: Vec<(String, IndexKind)> = data
                .indexes()
                .map(|(n, ix)| (n.to_string(), ix.kind()))
                .collect();
            format!(
                "{} pk={} schema={:?} indexes={indexes:?} next={} changes={} rows={rows:?}",
                t.name(),
                t.primary_key(),
                t.schema(),
                data.next_key(),
                data.has_changes()
            )
        })
        .collect()
}

/// The load of python-api.md §11.2 done the plain way: the whole file read into
/// records, then each table built with `insert_many` (the path `store::load`
/// took before it streamed records).
fn load_plainly(path: &Path) -> Result<Catalog, String> {
    let bytes = std::fs::read(path).unwrap();
    let tables = read_database(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut built = Vec::new();
    for t in tables {
        let table = Table::new(t.name.as_str(), t.primary_key.as_str(), t.schema);
        {
            let mut data = table.write();
            data.insert_many(t.records, true)
                .map_err(|e| format!("{}: table '{}': {e}", path.display(), t.name))?;
            if let Some(next) = t.next_pk {
                data.set_next_key(next);
            }
            data.clear_tracking();
        }
        for (field, kind) in &t.indexes {
            table.create_index(field, *kind);
        }
        built.push(Arc::new(table));
    }
    let catalog = Catalog::new();
    for t in built {
        catalog.register(t);
    }
    Ok(catalog)
}

// ----- random files ---------------------------------------------------------------

/// JSON text of a value: scalars, escapes, tags, containers.
fn value_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        40 => leaf_text(),
        // An integer Python reads but dictdb cannot hold: a JSON error.
        1 => Just("99999999999999999999".to_owned()),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3)
                .prop_map(|v| format!("[{}]", v.join(", "))),
            proptest::collection::vec(inner, 0..3).prop_map(|v| {
                let members: Vec<String> = v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| format!("\"k{i}\": {x}"))
                    .collect();
                format!("{{{}}}", members.join(", "))
            }),
        ]
    })
}

fn leaf_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        (-2i64..5).prop_map(|i| i.to_string()),
        Just("2.0".to_owned()),
        Just("NaN".to_owned()),
        Just("-0.0".to_owned()),
        Just("\"x\"".to_owned()),
        Just("\"\\u0078\"".to_owned()),
        Just("\"é\\n\"".to_owned()),
        Just("{\"$date\": \"2024-05-01\"}".to_owned()),
        Just("{\"$bytes\": \"AAE=\"}".to_owned()),
        Just("{\"$dict\": {\"$date\": 1}}".to_owned()),
    ]
}

/// A record: keys (some repeated, some escaped) with values; rarely not an object.
fn record_text() -> impl Strategy<Value = String> {
    prop_oneof![
        80 => proptest::collection::vec(
            (
                prop_oneof![
                    Just("\"id\""),
                    Just("\"a\""),
                    Just("\"b\""),
                    Just("\"\\u0061\""),
                    Just("\"n\""),
                ],
                prop_oneof![
                    8 => (0i64..100_000).prop_map(|i| i.to_string()),
                    1 => (0i64..3).prop_map(|i| i.to_string()),
                    2 => value_text(),
                ],
            ),
            0..5,
        )
        .prop_map(|members| {
            let m: Vec<String> = members.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("{{{}}}", m.join(", "))
        }),
        // Not an object: a JSON error.
        1 => Just("[1]".to_owned()),
    ]
}

/// A table object's text, its members in one of several orders (records before
/// the definition, the definition given again after the records).
fn table_text() -> impl Strategy<Value = String> {
    (
        prop_oneof![16 => Just("\"id\""), 8 => Just("\"n\""), 1 => Just("7")],
        prop_oneof![
            16 => Just("null"),
            6 => Just("{\"id\": \"int | None\", \"a\": \"any | None\", \"b\": \"any | None\", \"n\": \"int | None\"}"),
            2 => Just("{\"id\": \"int\", \"a\": \"any\", \"b\": \"str | None\", \"n\": \"int | None\"}"),
            4 => Just("{\"a\": \"any\"}"),
            1 => Just("{\"a\": \"nope\"}"),
        ],
        prop_oneof![
            Just("{}"),
            Just("{\"a\": \"hash\"}"),
            Just("{\"b\": \"sorted\", \"n\": \"hash\"}"),
        ],
        prop_oneof![Just(None), Just(Some("1")), Just(Some("50"))],
        proptest::collection::vec(record_text(), 0..8),
        0usize..5,
    )
        .prop_map(|(pk, schema, indexes, next_pk, records, layout)| {
            let records = format!("[{}]", records.join(",\n"));
            let mut m = vec![
                format!("\"primary_key\": {pk}"),
                format!("\"schema\": {schema}"),
                format!("\"indexes\": {indexes}"),
            ];
            if let Some(n) = next_pk {
                m.push(format!("\"next_pk\": {n}"));
            }
            match layout {
                0 | 1 => m.push(format!("\"records\": {records}")),
                2 => m.insert(0, format!("\"records\": {records}")),
                3 => {
                    m.insert(2, format!("\"records\": {records}"));
                    m.push("\"primary_key\": \"a\"".to_owned());
                }
                _ => {
                    m.push(format!("\"records\": {records}"));
                    m.push("\"schema\": null".to_owned());
                    m.push("\"unknown\": [1, {\"x\": 2}]".to_owned());
                }
            }
            format!("{{{}}}", m.join(", "))
        })
}

fn file_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (prop_oneof![Just("t"), Just("u"), Just("w")], table_text()),
        1..4,
    )
    .prop_map(|tables| {
        let t: Vec<String> = tables
            .iter()
            .map(|(n, t)| format!("\"{n}\": {t}"))
            .collect();
        format!("{{\"tables\": {{{}}}}}", t.join(",\n"))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Streaming records into the tables gives exactly what reading the file
    /// and inserting its records gives: the same tables, or the same error.
    #[test]
    fn load_matches_reading_then_inserting(text in file_text()) {
        let dir = scratch("differential");
        let path = dir.join("db.json");
        std::fs::write(&path, &text).unwrap();
        let streamed = store::load(&path).map_err(|e| e.to_string());
        let plain = load_plainly(&path);
        match (streamed, plain) {
            (Ok(s), Ok(p)) => prop_assert_eq!(dump(&s), dump(&p), "{}", text),
            (Err(s), Err(p)) => prop_assert_eq!(s, p, "{}", text),
            (s, p) => prop_assert!(
                false,
                "{text}\nstreamed: {:?}\nplain: {:?}",
                s.map(|c| dump(&c)),
                p.map(|c| dump(&c))
            ),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_json_error_anywhere_wins_over_a_record_error() {
    let dir = scratch("precedence");
    let path = dir.join("db.json");
    // A duplicate key in the first table, a bad integer in the second.
    std::fs::write(
        &path,
        r#"{"tables": {"t": {"primary_key": "id", "schema": null, "records": [{"id": 1}, {"id": 1}]},
                       "u": {"primary_key": "id", "schema": null, "records": [{"id": 1}, {"x": 99999999999999999999}]}}}"#,
    )
    .unwrap();
    let e = store::load(&path).unwrap_err();
    assert!(matches!(e, PersistError::Format { .. }), "{e}");
    assert!(e.to_string().contains("table 'u', record 1"), "{e}");
    // Without the bad integer: the first table's first failing record.
    std::fs::write(
        &path,
        r#"{"tables": {"t": {"primary_key": "id", "schema": null, "records": [{"id": 1}, {"id": 2}, {"id": 1}]},
                       "u": {"primary_key": "id", "schema": null, "records": [{"id": 1}, {"id": 1}]}}}"#,
    )
    .unwrap();
    let e = store::load(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: table 't': duplicate key 1 in table 't'",
            path.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// ----- saving ---------------------------------------------------------------------

/// A catalog with several tables: one larger than a few encoding chunks (with
/// deleted rows, differing shapes and every kind of value), an empty one, a
/// typed one.
fn catalog_to_save(n: i64) -> Catalog {
    let catalog = Catalog::new();
    let big = catalog.create_table("big", "id", None).unwrap();
    big.insert_many(
        (0..n)
            .map(|i| match i % 5 {
                0 => record! { "name" => format!("name{i}"), "x" => i as f64 / 7.0 },
                1 => record! { "x" => Value::Null, "tags" => Value::list([Value::Int(i), Value::str("a\"b")]) },
                2 => record! { "name" => "same", "when" => Value::date(2024, 5, (i % 28 + 1) as u32).unwrap() },
                3 => record! { "raw" => Value::Bytes(vec![i as u8, 0, 255].into()), "m" => Value::map([("$date", Value::Int(i))]) },
                _ => record! { "name" => "ü\u{1}", "x" => f64::NAN, "ok" => i % 2 == 0 },
            })
            .collect(),
    )
    .unwrap();
    big.create_index("name", IndexKind::Hash);
    {
        let mut data = big.write();
        let gone: Vec<u32> = (0..n as u32).filter(|p| p % 11 == 3).collect();
        data.delete_positions(&gone);
    }
    catalog.create_table("empty", "k", None).unwrap();
    let typed = catalog
        .create_table(
            "typed",
            "code",
            Some(
                Schema::new()
                    .field("code", FieldType::Str)
                    .nullable("n", FieldType::Int),
            ),
        )
        .unwrap();
    typed
        .insert_many(vec![
            record! { "code" => "A", "n" => 1 },
            record! { "code" => "B", "n" => Value::Null },
        ])
        .unwrap();
    catalog
}

/// The file the plain writer writes, one row at a time.
fn written_plainly(catalog: &Catalog) -> Vec<u8> {
    let snaps: Vec<_> = catalog
        .tables()
        .iter()
        .map(|t| t.read().snapshot())
        .collect();
    let mut out = Vec::new();
    write_database(
        &mut out,
        snaps.iter().map(|s| TableOut {
            name: s.name(),
            primary_key: s.primary_key(),
            schema: s.schema(),
            indexes: &s.indexes,
            next_pk: s.next_pk,
            rows: s.rows().map(|r| r.iter()),
        }),
    )
    .unwrap();
    out
}

#[test]
fn save_writes_exactly_what_the_plain_writer_writes() {
    let dir = scratch("save");
    let path = dir.join("db.json");
    for n in [0, 3, 40_000] {
        let catalog = catalog_to_save(n);
        let mut reports = Vec::new();
        store::save_with_progress(
            &catalog,
            &path,
            Some(&mut |done, total| reports.push((done, total))),
        )
        .unwrap();
        assert!(
            std::fs::read(&path).unwrap() == written_plainly(&catalog),
            "{n} rows: the files differ"
        );
        let total = catalog.tables().iter().map(|t| t.len() as u64).sum::<u64>();
        assert_eq!(reports.last(), Some(&(total, total)));
        assert!(reports.windows(2).all(|w| w[0].0 <= w[1].0));
        let back = store::load(&path).unwrap();
        assert_eq!(dump(&back), dump(&load_plainly(&path).unwrap()));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// ----- nesting ----------------------------------------------------------------------

/// `depth` lists around an int.
fn lists(depth: usize) -> Value {
    let mut v = Value::Int(1);
    for _ in 0..depth {
        v = Value::list([v]);
    }
    v
}

/// `depth` maps, each with the one key `$date` (written `{"$dict": {…}}`: two
/// levels of the file per level of the value).
fn tag_maps(depth: usize) -> Value {
    let mut v = Value::str("2024-05-01");
    for _ in 0..depth {
        v = Value::map([("$date", v)]);
    }
    v
}

/// Runs `f` on a thread with the stack `std::thread::spawn` gives (2 MiB).
fn on_small_stack(f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn_scoped(s, f)
            .unwrap()
            .join()
            .unwrap()
    });
}

#[test]
fn values_at_the_nesting_limit_save_and_load_back() {
    on_small_stack(|| {
        let dir = scratch("deep");
        let path = dir.join("db.json");
        let catalog = Catalog::new();
        let t = catalog.create_table("t", "id", None).unwrap();
        let rows = vec![
            record! { "v" => lists(MAX_NESTING) },
            record! { "v" => tag_maps(MAX_NESTING) },
        ];
        t.insert_many(rows.clone()).unwrap();
        // One level more is refused where it enters the table.
        let e = t
            .insert(record! { "v" => lists(MAX_NESTING + 1) })
            .unwrap_err();
        assert!(matches!(e, EngineError::NestedTooDeep { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "field 'v' of table 't' nests lists and dicts more than {MAX_NESTING} levels deep"
            )
        );
        store::save(&catalog, &path).unwrap();
        let back = store::load(&path).unwrap();
        let bt = back.table("t").unwrap();
        assert_eq!(
            bt.get(&Value::Int(1)),
            Some(record! { "id" => 1, "v" => lists(MAX_NESTING) })
        );
        assert_eq!(
            bt.get(&Value::Int(2)),
            Some(record! { "id" => 2, "v" => tag_maps(MAX_NESTING) })
        );
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn a_file_holding_a_value_nested_too_deep_fails_to_load_naming_it() {
    on_small_stack(|| {
        let dir = scratch("too-deep");
        let path = dir.join("db.json");
        let deep = "[".repeat(MAX_NESTING + 1) + &"]".repeat(MAX_NESTING + 1);
        std::fs::write(
            &path,
            format!(
                r#"{{"tables": {{"t": {{"primary_key": "id", "schema": null, "records": [{{"id": 1}}, {{"id": 2, "v": {deep}}}]}}}}}}"#
            ),
        )
        .unwrap();
        let e = store::load(&path).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: table 't': field 'v' of table 't' nests lists and dicts more than {MAX_NESTING} levels deep",
                path.display()
            )
        );
        // Far deeper than any table may hold: a syntax error, not a stack overflow.
        let deeper = "[".repeat(100_000);
        std::fs::write(
            &path,
            format!(r#"{{"tables": {{"t": {{"records": [{{"v": {deeper}"#),
        )
        .unwrap();
        assert!(matches!(
            store::load(&path),
            Err(PersistError::Format { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    });
}
