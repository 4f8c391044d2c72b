//! JSON save/load (python-api.md §11.2) and deltas (§13.3): exact layout,
//! DictDB's files, round trips of every kind of value, errors.

use dictdb_backup::json::{
    DatabaseWriter, DeltaIn, DeltaOut, DeltaTableIn, DeltaTableOut, JsonError, TableDef,
    TableDefIn, TableIn, TableOut, read_database, read_delta, record_rows, write_database,
    write_delta,
};
use dictdb_engine::{
    DateTime, FieldType, IndexKind, Name, Record, Schema, Value, record,
    value::{FixedOffset, NaiveDate},
};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> Value {
    Value::date(y, m, d).unwrap()
}

fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.into())
}

/// Equality that also holds for NaN (any NaN) and tells -0.0 from 0.0.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((kp, p), (kq, q))| kp == kq && same(p, q))
        }
        _ => a == b,
    }
}

/// Records equal field by field, in order, with [`same`] values.
fn same_records(a: &[Record], b: &[Record]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(r, s)| {
            r.len() == s.len()
                && r.iter()
                    .zip(s.iter())
                    .all(|((n, v), (m, w))| n == m && same(v, w))
        })
}

fn assert_same_records(a: &[Record], b: &[Record]) {
    assert!(same_records(a, b), "\n{a:?}\n!=\n{b:?}");
}

fn write_text<'a>(tables: Vec<TableOut<'a, &'a [Record]>>) -> String {
    let mut out = Vec::new();
    write_database(
        &mut out,
        tables.into_iter().map(|t| TableOut {
            name: t.name,
            primary_key: t.primary_key,
            schema: t.schema,
            indexes: t.indexes,
            next_pk: t.next_pk,
            rows: record_rows(t.rows),
        }),
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

// ---------------------------------------------------------------------------
// The layout of §11.2.

/// The database of §11.2's example.
struct Example {
    users: Vec<Record>,
    typed: Vec<Record>,
    typed_schema: Schema,
    users_indexes: Vec<(Name, IndexKind)>,
}

fn example() -> Example {
    Example {
        users: vec![
            record! {
                "id" => 1, "name" => "Zoë", "tags" => Value::list([Value::str("a")]),
                "ok" => true, "x" => Value::Null, "f" => 1.5,
            },
            record! { "id" => 2, "raw" => bytes(&[0, 1]), "seen" => date(2024, 5, 1) },
        ],
        typed: vec![record! { "code" => "A", "n" => 1, "note" => Value::Null }],
        typed_schema: Schema::new()
            .field("code", FieldType::Str)
            .field("n", FieldType::Int)
            .nullable("note", FieldType::Str),
        users_indexes: vec![("name".into(), IndexKind::Hash)],
    }
}

#[test]
fn writes_the_spec_example_exactly() {
    let ex = example();
    let text = write_text(vec![
        TableOut {
            name: "users",
            primary_key: "id",
            schema: None,
            indexes: &ex.users_indexes,
            next_pk: 3,
            rows: &ex.users,
        },
        TableOut {
            name: "typed",
            primary_key: "code",
            schema: Some(&ex.typed_schema),
            indexes: &[],
            next_pk: 1,
            rows: &ex.typed,
        },
        TableOut {
            name: "empty",
            primary_key: "k",
            schema: None,
            indexes: &[],
            next_pk: 1,
            rows: &[],
        },
    ]);
    assert_eq!(text, fixture_text("spec_example.json"));
}

#[test]
fn an_empty_database_is_four_lines() {
    assert_eq!(write_text(vec![]), "{\n    \"tables\": {\n    }\n}\n");
    assert!(
        read_database(b"{\n    \"tables\": {\n    }\n}\n")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_streaming_writer_writes_the_same() {
    let ex = example();
    let mut w = DatabaseWriter::new(Vec::new());
    w.begin_table(&TableDef {
        name: "users",
        primary_key: "id",
        schema: None,
        indexes: &ex.users_indexes,
        next_pk: 3,
    })
    .unwrap();
    for r in &ex.users {
        w.write_row(r.iter().map(|(n, v)| (n, v.as_ref()))).unwrap();
    }
    w.end_table().unwrap();
    let text = String::from_utf8(w.finish().unwrap()).unwrap();
    let expected = fixture_text("spec_example.json");
    let users_part = &expected[..expected.find(",\n        \"typed\"").unwrap()];
    assert_eq!(text, format!("{users_part}\n    }}\n}}\n"));
}

#[test]
fn reads_the_spec_example() {
    let ex = example();
    let tables = read_database(&fixture("spec_example.json")).unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["users", "typed", "empty"]);
    assert_eq!(tables[0].primary_key, "id");
    assert_eq!(tables[0].schema, None);
    assert_eq!(tables[0].indexes, [("name".to_string(), IndexKind::Hash)]);
    assert_eq!(tables[0].next_pk, Some(3));
    assert_same_records(&tables[0].records, &ex.users);
    assert_eq!(tables[1].schema.as_ref(), Some(&ex.typed_schema));
    assert_same_records(&tables[1].records, &ex.typed);
    assert_eq!(
        tables[2],
        TableIn {
            name: "empty".into(),
            primary_key: "k".into(),
            schema: None,
            indexes: vec![],
            next_pk: Some(1),
            records: vec![],
        }
    );
}

#[test]
fn every_value_kind_is_encoded_as_specified() {
    let d = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
    let noon = d.and_hms_opt(12, 30, 0).unwrap();
    let quarter = d.and_hms_micro_opt(12, 30, 0, 250_000).unwrap();
    let plus2 = FixedOffset::east_opt(7200).unwrap();
    let minus530 = FixedOffset::west_opt(5 * 3600 + 30 * 60).unwrap();
    let rows = vec![record! {
        "n" => Value::Null, "b" => false, "i" => -7, "f1" => 1.0, "f2" => 1e20, "f3" => 0.1,
        "f4" => 1e-7, "nan" => f64::NAN, "inf" => f64::INFINITY, "ninf" => f64::NEG_INFINITY,
        "nz" => -0.0, "s" => "é\"\\\n\u{1}", "bytes" => bytes(b"\x00\x01\xff"),
        "d" => date(2024, 5, 1),
        "dt" => Value::DateTime(DateTime::naive(noon)),
        "dt_us" => Value::DateTime(DateTime::aware(quarter, plus2)),
        "dt_neg" => Value::DateTime(DateTime::aware(noon, minus530)),
        "l" => Value::list([Value::Int(1), Value::list([])]),
        "m" => Value::map([("a", Value::Int(1)), ("$bytes", Value::str("x"))]),
        "wrapped" => Value::map([("$bytes", Value::str("AAE="))]),
        "wrapped2" => Value::map([("$dict", Value::map([("k", Value::Int(1))]))]),
        "empty_map" => Value::map::<&str>([]),
    }];
    let text = write_text(vec![TableOut {
        name: "t",
        primary_key: "i",
        schema: None,
        indexes: &[],
        next_pk: 1,
        rows: &rows,
    }]);
    let line = text.lines().nth(8).unwrap();
    assert_eq!(
        line,
        concat!(
            r#"                {"n": null, "b": false, "i": -7, "f1": 1.0, "f2": 1e+20, "f3": 0.1, "#,
            r#""f4": 1e-07, "nan": NaN, "inf": Infinity, "ninf": -Infinity, "nz": -0.0, "#,
            r#""s": "é\"\\\n\u0001", "bytes": {"$bytes": "AAH/"}, "d": {"$date": "2024-05-01"}, "#,
            r#""dt": {"$datetime": "2024-05-01T12:30:00"}, "#,
            r#""dt_us": {"$datetime": "2024-05-01T12:30:00.250000+02:00"}, "#,
            r#""dt_neg": {"$datetime": "2024-05-01T12:30:00-05:30"}, "l": [1, []], "#,
            r#""m": {"a": 1, "$bytes": "x"}, "wrapped": {"$dict": {"$bytes": "AAE="}}, "#,
            r#""wrapped2": {"$dict": {"$dict": {"k": 1}}}, "empty_map": {}}"#
        )
    );
    let back = read_database(text.as_bytes()).unwrap();
    assert_same_records(&back[0].records, &rows);
}

#[test]
fn schema_type_names() {
    let schema = Schema::new()
        .field("a", FieldType::Int)
        .field("b", FieldType::Float)
        .field("c", FieldType::Str)
        .field("d", FieldType::Bool)
        .field("e", FieldType::List)
        .field("f", FieldType::Map)
        .field("g", FieldType::Bytes)
        .field("h", FieldType::Date)
        .field("i", FieldType::DateTime)
        .nullable("j", FieldType::Any)
        .nullable("k", FieldType::DateTime);
    let indexes: Vec<(Name, IndexKind)> = vec![
        ("c".into(), IndexKind::Sorted),
        ("a".into(), IndexKind::Hash),
    ];
    let text = write_text(vec![TableOut {
        name: "s",
        primary_key: "a",
        schema: Some(&schema),
        indexes: &indexes,
        next_pk: 42,
        rows: &[],
    }]);
    assert!(text.contains(concat!(
        r#""schema": {"a": "int", "b": "float", "c": "str", "d": "bool", "e": "list", "#,
        r#""f": "dict", "g": "bytes", "h": "date", "i": "datetime", "j": "any | None", "#,
        r#""k": "datetime | None"},"#
    )));
    assert!(text.contains(r#""indexes": {"c": "sorted", "a": "hash"},"#));
    let back = read_database(text.as_bytes()).unwrap();
    assert_eq!(back[0].schema.as_ref(), Some(&schema));
    assert_eq!(
        back[0].indexes,
        [
            ("c".to_string(), IndexKind::Sorted),
            ("a".to_string(), IndexKind::Hash)
        ]
    );
    assert_eq!(back[0].next_pk, Some(42));
}

#[test]
fn floats_are_written_as_python_repr() {
    let fixture = fixture_text("python_float_repr.txt");
    let cases: Vec<(f64, &str)> = fixture
        .lines()
        .map(|line| {
            let (bits, repr) = line.split_once(' ').unwrap();
            (f64::from_bits(u64::from_str_radix(bits, 16).unwrap()), repr)
        })
        .collect();
    assert!(cases.len() > 1500);
    let rows: Vec<Record> = cases.iter().map(|&(x, _)| record! { "x" => x }).collect();
    let text = write_text(vec![TableOut {
        name: "f",
        primary_key: "x",
        schema: None,
        indexes: &[],
        next_pk: 1,
        rows: &rows,
    }]);
    let lines: Vec<&str> = text.lines().skip(8).take(cases.len()).collect();
    for (line, (x, repr)) in lines.iter().zip(&cases) {
        let written = line
            .trim()
            .trim_end_matches(',')
            .strip_prefix("{\"x\": ")
            .and_then(|s| s.strip_suffix('}'))
            .unwrap();
        assert_eq!(written, *repr, "{x:e}");
    }
    let back = read_database(text.as_bytes()).unwrap();
    assert_same_records(&back[0].records, &rows);
}

// ---------------------------------------------------------------------------
// DictDB's files.

/// The content of `dictdb_*.json` (see `fixtures/make_fixtures.py`).
fn dictdb_tables() -> Vec<TableIn> {
    let users = vec![
        record! {
            "id" => 1, "name" => "Zoë", "tags" => Value::list([Value::str("a"), Value::str("b")]),
            "ok" => true, "x" => Value::Null, "f" => 1.5,
        },
        record! {
            "id" => 2, "name" => "😀 émoji ✓",
            "nested" => Value::map([
                ("a", Value::list([
                    Value::Int(1),
                    Value::map([("b", Value::Null)]),
                    Value::list([Value::list([])]),
                ])),
                ("c", Value::map::<&str>([])),
            ]),
            "nan" => f64::NAN, "inf" => f64::INFINITY, "ninf" => f64::NEG_INFINITY,
            "big" => i64::MAX, "neg" => i64::MIN, "e" => 1e20, "small" => 1e-7, "fi" => 1.0,
            "negzero" => -0.0,
        },
        record! { "id" => 3, "ctl" => "tab\there\nnl \"q\" \\ \u{1}\u{7f}", "empty" => "", "list" => Value::list([]) },
        // A record is never a tag itself; a tag whose text does not parse is a map.
        record! {
            "id" => 4, "$bytes" => "not a tag: the record itself",
            "looks" => Value::map([("$date", Value::str("2024-13-45"))]),
        },
    ];
    let typed = vec![
        record! {
            "code" => "A", "n" => 1, "score" => 0.1, "ok" => false, "tags" => Value::list([]),
            "meta" => Value::map([("k", Value::str("v"))]),
        },
        record! {
            "code" => "B", "n" => -5, "score" => 100.0, "ok" => true,
            "tags" => Value::list([Value::str("x"), Value::Int(2), Value::Float(3.5)]),
            "meta" => Value::map::<&str>([]),
        },
    ];
    let table = |name: &str, pk: &str, schema, records| TableIn {
        name: name.into(),
        primary_key: pk.into(),
        schema,
        indexes: vec![],
        next_pk: None,
        records,
    };
    vec![
        table("users", "id", None, users),
        table(
            "typed",
            "code",
            Some(
                Schema::new()
                    .field("code", FieldType::Str)
                    .field("n", FieldType::Int)
                    .field("score", FieldType::Float)
                    .field("ok", FieldType::Bool)
                    .field("tags", FieldType::List)
                    .field("meta", FieldType::Map),
            ),
            typed,
        ),
        table("empty", "k", None, vec![]),
        table(
            "auto",
            "id",
            None,
            vec![
                record! { "name" => "no pk yet" },
                record! { "id" => Value::Null, "name" => "None pk" },
            ],
        ),
    ]
}

#[test]
fn reads_dictdb_files_in_any_layout() {
    let expected = dictdb_tables();
    for file in [
        "dictdb_layout.json",
        "dictdb_indent4.json",
        "dictdb_compact.json",
    ] {
        let tables = read_database(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(tables.len(), expected.len(), "{file}");
        for (t, e) in tables.iter().zip(&expected) {
            assert_eq!(
                (&t.name, &t.primary_key, &t.schema, &t.indexes, t.next_pk),
                (&e.name, &e.primary_key, &e.schema, &e.indexes, e.next_pk),
                "{file}"
            );
            assert_same_records(&t.records, &e.records);
        }
        // Floats stay floats, ints stay ints.
        let r = &tables[0].records[1];
        assert_eq!(r.get("fi"), Some(&Value::Float(1.0)));
        assert_eq!(r.get("big"), Some(&Value::Int(i64::MAX)));
    }
}

#[test]
fn our_files_of_dictdb_content_read_back_the_same() {
    let tables = dictdb_tables();
    let text = write_text(
        tables
            .iter()
            .map(|t| TableOut {
                name: &t.name,
                primary_key: &t.primary_key,
                schema: t.schema.as_ref(),
                indexes: &[],
                next_pk: 7,
                rows: &t.records[..],
            })
            .collect(),
    );
    let back = read_database(text.as_bytes()).unwrap();
    for (t, e) in back.iter().zip(&tables) {
        assert_eq!(t.schema, e.schema);
        assert_eq!(t.next_pk, Some(7));
        assert_same_records(&t.records, &e.records);
    }
}

#[test]
fn reading_resolves_repeats_and_ignores_unknown_keys() {
    let text = br#"{"version": [1, {"x": 123456789012345678901234567890}], "tables": {
        "a": {"records": [{"k": 1, "k": 2, "j": 3}], "schema": null, "primary_key": "k",
              "comment": {"deep": [NaN]}, "indexes": null, "next_pk": null},
        "b": {"primary_key": "id", "schema": null, "records": []},
        "a": {"primary_key": "id", "schema": null, "records": [{"id": 9}]}
    }, "extra": null}"#;
    let tables = read_database(text).unwrap();
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[0].name, "a");
    assert_eq!(tables[0].primary_key, "id");
    assert_eq!(tables[0].records, vec![record! { "id" => 9 }]);
    assert_eq!(tables[1].name, "b");
    let tables = read_database(
        br#"{"tables": {"a": {"primary_key": "k", "schema": null, "records": [{"k": 1, "j": 5, "k": 2}, {"k": 3}, {"j": 1, "k": 1}]}}}"#,
    )
    .unwrap();
    let names: Vec<Vec<&str>> = tables[0]
        .records
        .iter()
        .map(|r| r.names().map(|n| &**n).collect())
        .collect();
    assert_eq!(names, [vec!["k", "j"], vec!["k"], vec!["j", "k"]]);
    assert_eq!(tables[0].records[0].get("k"), Some(&Value::Int(2)));
}

// ---------------------------------------------------------------------------
// Deltas.

#[test]
fn writes_and_reads_the_spec_delta() {
    let text = fixture_text("delta_spec_example.json");
    let delta = read_delta(text.as_bytes()).unwrap();
    let upserts = vec![
        record! { "id" => 1, "n" => "a" },
        record! { "id" => 3, "name" => "c" },
    ];
    let indexes = [("n".to_string(), IndexKind::Hash)];
    assert_eq!(
        delta,
        DeltaIn {
            order: None,
            timestamp: Some(1795288515.5507686),
            dropped: vec!["old_table".into()],
            created: vec![TableDefIn {
                name: "u".into(),
                primary_key: "id".into(),
                schema: None,
                indexes: indexes.to_vec(),
                next_pk: Some(4),
            }],
            tables: vec![DeltaTableIn {
                next_pk: None,
                name: "u".into(),
                upserts: upserts.clone(),
                deletes: vec![Value::Int(2)],
                rekeys: vec![],
                reused: vec![],
            }],
        }
    );
    let index_defs: Vec<(Name, IndexKind)> = vec![("n".into(), IndexKind::Hash)];
    let mut out = Vec::new();
    write_delta(
        &mut out,
        &DeltaOut {
            order: None,
            timestamp: 1795288515.5507686,
            dropped: &["old_table".to_string()],
            created: vec![TableDef {
                name: "u",
                primary_key: "id",
                schema: None,
                indexes: &index_defs,
                next_pk: 4,
            }],
            tables: vec![DeltaTableOut {
                next_pk: None,
                name: "u",
                upserts: &upserts,
                deletes: &[Value::Int(2)],
                rekeys: &[],
                reused: &[],
            }],
        },
    )
    .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), text);
}

/// The extra keys that keep rows in place (`rekeys`, `reused`) are laid out as
/// `json.dump(…, indent=2)` lays them out, after `next_pk`, and read back.
#[test]
fn rekeys_and_reused_keys_in_deltas() {
    let upserts = vec![record! { "id" => 10, "a" => 1 }];
    let rekeys = [
        (Value::Int(1), Value::Int(10)),
        (Value::str("x"), bytes(&[1])),
    ];
    let mut out = Vec::new();
    write_delta(
        &mut out,
        &DeltaOut {
            order: None,
            timestamp: 1.5,
            dropped: &[],
            created: vec![],
            tables: vec![DeltaTableOut {
                name: "t",
                upserts: &upserts,
                deletes: &[Value::Int(1)],
                next_pk: Some(11),
                rekeys: &rekeys,
                reused: &[Value::Int(2)],
            }],
        },
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    // json.dumps({...}, indent=2) of the same delta.
    let expected = r#"{
  "type": "delta",
  "timestamp": 1.5,
  "dropped": [],
  "created": {},
  "tables": {
    "t": {
      "upserts": [
        {
          "id": 10,
          "a": 1
        }
      ],
      "deletes": [
        1
      ],
      "next_pk": 11,
      "rekeys": [
        [
          1,
          10
        ],
        [
          "x",
          {
            "$bytes": "AQ=="
          }
        ]
      ],
      "reused": [
        2
      ]
    }
  }
}"#;
    assert_eq!(text, expected);
    let back = read_delta(text.as_bytes()).unwrap();
    assert_eq!(
        back.tables,
        [DeltaTableIn {
            name: "t".into(),
            upserts,
            deletes: vec![Value::Int(1)],
            next_pk: Some(11),
            rekeys: rekeys.to_vec(),
            reused: vec![Value::Int(2)],
        }]
    );
    // Written only when not empty.
    let mut out = Vec::new();
    write_delta(
        &mut out,
        &DeltaOut {
            order: None,
            timestamp: 1.5,
            dropped: &[],
            created: vec![],
            tables: vec![DeltaTableOut {
                name: "t",
                upserts: &[],
                deletes: &[Value::Int(1)],
                next_pk: None,
                rekeys: &[],
                reused: &[],
            }],
        },
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains("rekeys") && !text.contains("reused"),
        "{text}"
    );
}

#[test]
fn reads_dictdb_deltas() {
    let delta = read_delta(&fixture("delta_dictdb.json")).unwrap();
    assert_eq!(delta.timestamp, Some(1714567890.123456));
    assert!(delta.dropped.is_empty() && delta.created.is_empty());
    assert_eq!(delta.tables.len(), 2);
    assert_eq!(delta.tables[0].name, "users");
    assert_eq!(
        delta.tables[0].upserts[0].get("name"),
        Some(&Value::str("Zoë"))
    );
    assert!(matches!(delta.tables[0].upserts[0].get("score"), Some(Value::Float(x)) if x.is_nan()));
    assert_eq!(delta.tables[0].deletes, [Value::Int(2), Value::str("x")]);
    assert_eq!(
        delta.tables[1],
        DeltaTableIn {
            next_pk: None,
            name: "other".into(),
            upserts: vec![],
            deletes: vec![],
            rekeys: vec![],
            reused: vec![],
        }
    );
}

#[test]
fn an_empty_delta_and_tagged_values_in_deltas() {
    let schema = Schema::new()
        .field("id", FieldType::Bytes)
        .nullable("when", FieldType::DateTime);
    let upserts = vec![record! {
        "id" => bytes(b"k"), "when" => Value::Null,
        "m" => Value::map([("$date", Value::str("x"))]), "l" => Value::list([date(2024, 1, 2)]),
    }];
    let mut out = Vec::new();
    write_delta(
        &mut out,
        &DeltaOut {
            order: None,
            timestamp: 1.0,
            dropped: &[],
            created: vec![TableDef {
                name: "b",
                primary_key: "id",
                schema: Some(&schema),
                indexes: &[],
                next_pk: 1,
            }],
            tables: vec![DeltaTableOut {
                next_pk: None,
                name: "b",
                upserts: &upserts,
                deletes: &[bytes(b"gone")],
                rekeys: &[],
                reused: &[],
            }],
        },
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with(
        "{\n  \"type\": \"delta\",\n  \"timestamp\": 1.0,\n  \"dropped\": [],\n  \"created\": {\n"
    ));
    assert!(text.contains(
        "\"schema\": {\n        \"id\": \"bytes\",\n        \"when\": \"datetime | None\"\n      },\n      \"indexes\": {},"
    ));
    assert!(text.contains("\"id\": {\n            \"$bytes\": \"aw==\"\n          },"));
    assert!(text.contains(
        "\"m\": {\n            \"$dict\": {\n              \"$date\": \"x\"\n            }\n          },"
    ));
    let back = read_delta(text.as_bytes()).unwrap();
    assert_eq!(back.created[0].schema.as_ref(), Some(&schema));
    assert_eq!(back.tables[0].upserts, upserts);
    assert_eq!(back.tables[0].deletes, [bytes(b"gone")]);

    let mut out = Vec::new();
    write_delta(
        &mut out,
        &DeltaOut {
            order: None,
            timestamp: 2.5,
            dropped: &[],
            created: vec![],
            tables: vec![],
        },
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "{\n  \"type\": \"delta\",\n  \"timestamp\": 2.5,\n  \"dropped\": [],\n  \"created\": {},\n  \"tables\": {}\n}"
    );
    assert_eq!(
        read_delta(text.as_bytes()).unwrap(),
        DeltaIn {
            order: None,
            timestamp: Some(2.5),
            dropped: vec![],
            created: vec![],
            tables: vec![]
        }
    );
}

#[test]
fn not_a_delta() {
    for text in [
        &br#"{"timestamp": 1.0, "tables": {}}"#[..],
        br#"{"type": "full", "tables": {}}"#,
        br#"{"type": ["delta"]}"#,
        br#"[{"type": "delta"}]"#,
        b"\"delta\"",
        b"{}",
    ] {
        let err = read_delta(text).unwrap_err();
        assert!(matches!(err, JsonError::NotADelta), "{err:?}");
        assert_eq!(err.to_string(), "not a valid delta file");
    }
    // A database file is not a delta either.
    assert!(matches!(
        read_delta(&fixture("spec_example.json")),
        Err(JsonError::NotADelta)
    ));
    // Invalid JSON is reported as such, even without a `type`.
    assert!(matches!(
        read_delta(b"{\"tables\": [}"),
        Err(JsonError::Syntax { .. })
    ));
}

#[test]
fn delta_shape_errors() {
    let cases: [(&[u8], &str); 12] = [
        (
            br#"{"type": "delta", "tables": {"u": {"upserts": [{"id": 1}, 5]}}}"#,
            "table 'u', record 1: the record is not an object (found a number)",
        ),
        (
            br#"{"type": "delta", "tables": {"u": {"deletes": {}}}}"#,
            "table 'u': 'deletes' is not a list (found an object)",
        ),
        (
            br#"{"type": "delta", "created": {"u": {"schema": null}}}"#,
            "table 'u': missing key 'primary_key'",
        ),
        (
            br#"{"type": "delta", "created": {"u": {"primary_key": "id", "schema": {"a": "decimal"}}}}"#,
            "table 'u': unknown schema type 'decimal' for field 'a'",
        ),
        (
            br#"{"type": "delta", "dropped": "u"}"#,
            "'dropped' is not a list (found a string)",
        ),
        (
            br#"{"type": "delta", "tables": {"u": {"deletes": [1, 99999999999999999999]}}}"#,
            "table 'u': integer 99999999999999999999 does not fit in 64 bits",
        ),
        (
            br#"{"type": "delta", "tables": {"u": {"rekeys": {"1": 2}}}}"#,
            "table 'u': 'rekeys' is not a list (found an object)",
        ),
        (
            br#"{"type": "delta", "tables": {"u": {"rekeys": [[1, 2], 3]}}}"#,
            "table 'u': 'rekeys' item 1 is not a pair [old key, new key] (found a number)",
        ),
        (
            br#"{"type": "delta", "tables": {"u": {"rekeys": [[1, 2, 3]]}}}"#,
            "table 'u': 'rekeys' item 0 is not a pair [old key, new key] (found a list of 3 items)",
        ),
        (
            br#"{"type": "delta", "tables": {"u": {"rekeys": [[1]]}}}"#,
            "table 'u': 'rekeys' item 0 is not a pair [old key, new key] (found a list of 1 item)",
        ),
        (
            br#"{"type": "delta", "tables": {"u": {"rekeys": [[1, 99999999999999999999]]}}}"#,
            "table 'u': integer 99999999999999999999 does not fit in 64 bits",
        ),
        (
            br#"{"type": "delta", "tables": {"u": {"reused": "1"}}}"#,
            "table 'u': 'reused' is not a list (found a string)",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(read_delta(text).unwrap_err().to_string(), message);
    }
}

// ---------------------------------------------------------------------------
// Errors.

fn load_err(text: &str) -> JsonError {
    read_database(text.as_bytes()).expect_err(text)
}

#[test]
fn missing_keys_name_the_key_and_table() {
    let e = load_err(r#"{"other": {}}"#);
    assert!(matches!(
        e,
        JsonError::MissingKey {
            key: "tables",
            table: None
        }
    ));
    assert_eq!(e.to_string(), "missing key 'tables'");
    for (text, key) in [
        (
            r#"{"tables": {"t": {"schema": null, "records": []}}}"#,
            "primary_key",
        ),
        (
            r#"{"tables": {"t": {"primary_key": "id", "records": []}}}"#,
            "schema",
        ),
        (
            r#"{"tables": {"t": {"primary_key": "id", "schema": null}}}"#,
            "records",
        ),
    ] {
        let e = load_err(text);
        assert!(
            matches!(&e, JsonError::MissingKey { key: k, table: Some(t) } if *k == key && t == "t"),
            "{e:?}"
        );
        assert_eq!(e.to_string(), format!("table 't': missing key '{key}'"));
    }
}

#[test]
fn wrong_shapes_name_the_table_and_record() {
    for (text, message) in [
        (r#"[]"#, "the file is not an object (found a list)"),
        (
            r#"{"tables": []}"#,
            "'tables' is not an object (found a list)",
        ),
        (
            r#"{"tables": {"t": 1}}"#,
            "table 't': the table definition is not an object (found a number)",
        ),
        (
            r#"{"tables": {"t": {"primary_key": 1}}}"#,
            "table 't': 'primary_key' is not a string (found a number)",
        ),
        (
            r#"{"tables": {"t": {"primary_key": "k", "schema": []}}}"#,
            "table 't': 'schema' is not an object (found a list)",
        ),
        (
            r#"{"tables": {"t": {"primary_key": "k", "schema": {"a": 1}}}}"#,
            "table 't': the schema type of 'a' is not a string (found a number)",
        ),
        (
            r#"{"tables": {"t": {"primary_key": "k", "indexes": ["a"]}}}"#,
            "table 't': 'indexes' is not an object (found a list)",
        ),
        (
            r#"{"tables": {"t": {"primary_key": "k", "next_pk": 1.5}}}"#,
            "table 't': 'next_pk' is not an integer (found a number)",
        ),
        (
            r#"{"tables": {"t": {"primary_key": "k", "records": {}}}}"#,
            "table 't': 'records' is not a list (found an object)",
        ),
        (
            r#"{"tables": {"t": {"primary_key": "k", "records": [{}, {"a": 1}, [1]]}}}"#,
            "table 't', record 2: the record is not an object (found a list)",
        ),
        (
            r#"{"tables": {"t": {"primary_key": "k", "records": [{}, null]}}}"#,
            "table 't', record 1: the record is not an object (found null)",
        ),
    ] {
        let e = load_err(text);
        assert!(matches!(e, JsonError::Shape { .. }), "{text}: {e:?}");
        assert_eq!(e.to_string(), message, "{text}");
    }
    let e = load_err(r#"{"tables": {"t": {"primary_key": "k", "records": [{}, 5]}}}"#);
    assert!(matches!(
        e,
        JsonError::Shape { table: Some(ref t), record: Some(1), .. } if t == "t"
    ));
}

#[test]
fn unknown_types_are_errors() {
    let e = load_err(r#"{"tables": {"t": {"primary_key": "k", "schema": {"a": "Decimal"}}}}"#);
    assert!(matches!(
        &e,
        JsonError::UnknownSchemaType { table, field, type_name }
            if table == "t" && field == "a" && type_name == "Decimal"
    ));
    for bad in ["int|None", "Optional[int]", "None", "int | None | None", ""] {
        let text =
            format!(r#"{{"tables": {{"t": {{"primary_key": "k", "schema": {{"a": "{bad}"}}}}}}}}"#);
        assert!(
            matches!(load_err(&text), JsonError::UnknownSchemaType { .. }),
            "{bad}"
        );
    }
    let e = load_err(r#"{"tables": {"t": {"primary_key": "k", "indexes": {"a": "btree"}}}}"#);
    assert_eq!(
        e.to_string(),
        "table 't': unknown index type 'btree' for field 'a'"
    );
}

#[test]
fn integer_overflow_names_the_value() {
    let e = load_err(
        r#"{"tables": {"t": {"primary_key": "k", "schema": null, "records": [{"k": 1}, {"k": 2, "x": [1, -9223372036854775809]}]}}}"#,
    );
    match &e {
        JsonError::IntegerOverflow {
            value,
            table,
            record,
        } => {
            assert_eq!(value, "-9223372036854775809");
            assert_eq!(table.as_deref(), Some("t"));
            assert_eq!(*record, Some(1));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "table 't', record 1: integer -9223372036854775809 does not fit in 64 bits"
    );
    let e = load_err(r#"{"tables": {"t": {"primary_key": "k", "next_pk": 18446744073709551616}}}"#);
    assert!(matches!(
        e,
        JsonError::IntegerOverflow {
            table: Some(_),
            record: None,
            ..
        }
    ));
}

#[test]
fn invalid_json_is_a_syntax_error() {
    let good = fixture_text("spec_example.json");
    // Every truncation fails (except dropping the final newline).
    for cut in 0..good.len() - 1 {
        let e = read_database(&good.as_bytes()[..cut]).expect_err(&format!("cut {cut}"));
        assert!(
            matches!(e, JsonError::Syntax { .. } | JsonError::MissingKey { .. }),
            "cut {cut}: {e:?}"
        );
    }
    read_database(&good.as_bytes()[..good.len() - 1]).unwrap();
    // Invalid UTF-8 inside a string and outside.
    let mut bad = good.clone().into_bytes();
    let at = good.find("Zoë").unwrap() + 2;
    bad[at] = 0xff;
    let e = read_database(&bad).unwrap_err();
    assert!(
        matches!(e, JsonError::Syntax { line: 9, ref message, .. } if message.contains("UTF-8")),
        "{e:?}"
    );
    assert!(matches!(
        read_database(b"{\"tables\": {}}\xff"),
        Err(JsonError::Syntax { .. })
    ));
    for text in [
        "",
        "   ",
        "{\"tables\": {},}",
        "{\"tables\": {}} {}",
        "{\"tables\": {\"t\": {\"primary_key\": \"k\", \"schema\": null, \"records\": [{\"a\": nan}]}}}",
        "{\"tables\": {\"t\": {\"primary_key\": \"k\", \"schema\": null, \"records\": [{\"a\": \"\\ud800\"}]}}}",
        "{\"tables\": {\"t\": {\"primary_key\": \"k\", \"schema\": null, \"records\": [{\"a\": 1,}]}}}",
    ] {
        assert!(
            matches!(
                read_database(text.as_bytes()),
                Err(JsonError::Syntax { .. })
            ),
            "{text:?}"
        );
    }
    let e = load_err("{\"tables\":\n {\"t\": x}}");
    assert_eq!(
        e.to_string(),
        "invalid JSON at line 2, column 8: expecting value"
    );
    let e = load_err("{\"tables\": {");
    assert_eq!(
        e.to_string(),
        "invalid JSON at line 1, column 13: expecting property name enclosed in double quotes (unexpected end of file)"
    );
}

#[test]
fn json_errors_become_io_errors_for_write_atomic() {
    let io: std::io::Error = load_err("[").into();
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
    let dir = std::env::temp_dir().join(format!("dictdb-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.json");
    let ex = example();
    dictdb_backup::write_atomic(&path, |w| {
        write_database(
            w,
            [TableOut {
                name: "users",
                primary_key: "id",
                schema: None,
                indexes: &ex.users_indexes,
                next_pk: 3,
                rows: record_rows(&ex.users),
            }],
        )?;
        Ok(())
    })
    .unwrap();
    let back = read_database(&std::fs::read(&path).unwrap()).unwrap();
    assert_same_records(&back[0].records, &ex.users);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// Round trips of random values.

fn date_strategy() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        (1i32..=3_652_059).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
        // Years Python cannot hold still round-trip.
        prop_oneof![Just(NaiveDate::MIN), Just(NaiveDate::MAX)],
    ]
}

fn datetime_strategy() -> impl Strategy<Value = DateTime> {
    (
        date_strategy(),
        0u32..86_400,
        prop_oneof![Just(0u32), 0u32..1_000_000, Just(999_999)],
        any::<bool>(),
        prop_oneof![
            Just(None),
            (-1439i32..=1439).prop_map(|m| Some(m * 60)),
            (-86_399i32..=86_399).prop_map(Some),
        ],
    )
        .prop_map(|(d, secs, micros, nano_precision, offset)| {
            let nanos = if nano_precision {
                micros * 1000 + micros % 997
            } else {
                micros * 1000
            };
            let t = chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos).unwrap();
            let local = d.and_time(t);
            match offset {
                None => DateTime::naive(local),
                Some(s) => DateTime::aware(local, FixedOffset::east_opt(s).unwrap()),
            }
        })
}

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,6}",
        any::<String>(),
        "[\\x00-\\x1f\"\\\\/\u{7f}\u{80}\u{2028}\u{fffd}😀é]{0,8}",
    ]
}

fn key_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$bytes".to_string()),
        Just("$date".to_string()),
        Just("$datetime".to_string()),
        Just("$dict".to_string()),
        Just("$other".to_string()),
        text_strategy(),
    ]
}

fn float_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(1e300),
        Just(5e-324),
        Just(1e16),
        Just(1e-5),
        (-1e6..1e6f64),
        any::<i32>().prop_map(f64::from),
    ]
}

fn leaf_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        float_strategy().prop_map(Value::Float),
        text_strategy().prop_map(Value::from),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Value::from),
        date_strategy().prop_map(Value::Date),
        datetime_strategy().prop_map(Value::DateTime),
        // Text that looks like a tag's.
        prop_oneof![
            Just(Value::str("AAE=")),
            Just(Value::str("2024-05-01")),
            Just(Value::str("2024-05-01T12:30:00+02:00"))
        ],
    ]
}

fn value_strategy() -> impl Strategy<Value = Value> {
    leaf_strategy().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::list),
            proptest::collection::vec((key_strategy(), inner.clone()), 0..4).prop_map(Value::map),
            // One-key maps, the ones that need `$dict`.
            (key_strategy(), inner).prop_map(|(k, v)| Value::map([(k, v)])),
        ]
    })
}

fn record_strategy() -> impl Strategy<Value = Record> {
    proptest::collection::vec((key_strategy(), value_strategy()), 0..6)
        .prop_map(|fields| fields.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn database_round_trip(
        tables in proptest::collection::vec(
            (text_strategy(), proptest::collection::vec(record_strategy(), 0..6), any::<i64>()),
            0..4,
        ),
    ) {
        // Table names are a registry's keys: unique.
        let mut seen = std::collections::HashSet::new();
        let tables: Vec<_> = tables.into_iter().filter(|t| seen.insert(t.0.clone())).collect();
        let schema = Schema::new().field("id", FieldType::Int).nullable("x", FieldType::Any);
        let indexes: Vec<(Name, IndexKind)> = vec![("x\"é".into(), IndexKind::Sorted)];
        let text = write_text(
            tables
                .iter()
                .enumerate()
                .map(|(i, (name, records, next_pk))| TableOut {
                    name,
                    primary_key: name,
                    schema: (i % 2 == 1).then_some(&schema),
                    indexes: if i % 2 == 0 { &indexes[..] } else { &[] },
                    next_pk: *next_pk,
                    rows: &records[..],
                })
                .collect(),
        );
        let back = read_database(text.as_bytes()).unwrap();
        prop_assert_eq!(back.len(), tables.len());
        for (i, (t, (name, records, next_pk))) in back.iter().zip(&tables).enumerate() {
            prop_assert_eq!(&t.name, name);
            prop_assert_eq!(&t.primary_key, name);
            prop_assert_eq!(t.schema.as_ref(), (i % 2 == 1).then_some(&schema));
            prop_assert_eq!(t.indexes.len(), if i % 2 == 0 { 1 } else { 0 });
            prop_assert_eq!(t.next_pk, Some(*next_pk));
            prop_assert!(same_records(&t.records, records), "{:?}\n!=\n{:?}", t.records, records);
        }
        // One record per line: the line count is fixed by the table and row counts.
        let n_rows: usize = tables.iter().map(|t| t.1.len()).sum();
        prop_assert_eq!(text.lines().count(), 4 + 8 * tables.len() + n_rows);
        let ends_with_newline = text.ends_with("}\n");
        prop_assert!(ends_with_newline);
    }

    #[test]
    fn delta_round_trip(
        upserts in proptest::collection::vec(record_strategy(), 0..5),
        deletes in proptest::collection::vec(leaf_strategy(), 0..5),
        rekeys in proptest::collection::vec((leaf_strategy(), leaf_strategy()), 0..4),
        reused in proptest::collection::vec(leaf_strategy(), 0..4),
        dropped in proptest::collection::vec(text_strategy(), 0..3),
        timestamp in float_strategy(),
    ) {
        let schema = Schema::new().field("id", FieldType::Int);
        let indexes: Vec<(Name, IndexKind)> = vec![("id".into(), IndexKind::Hash)];
        let mut out = Vec::new();
        write_delta(&mut out, &DeltaOut { order: None,
            timestamp,
            dropped: &dropped,
            created: vec![TableDef { name: "c", primary_key: "id", schema: Some(&schema), indexes: &indexes, next_pk: 5 }],
            tables: vec![DeltaTableOut {
                next_pk: None, name: "t", upserts: &upserts, deletes: &deletes,
                rekeys: &rekeys, reused: &reused,
            }],
        }).unwrap();
        let back = read_delta(&out).unwrap();
        let ts = back.timestamp.unwrap();
        prop_assert!(ts.to_bits() == timestamp.to_bits() || (ts.is_nan() && timestamp.is_nan()));
        prop_assert_eq!(&back.dropped, &dropped);
        prop_assert_eq!(back.created[0].schema.as_ref(), Some(&schema));
        prop_assert_eq!(&back.created[0].indexes, &[("id".to_string(), IndexKind::Hash)]);
        prop_assert_eq!(back.created[0].next_pk, Some(5));
        prop_assert!(same_records(&back.tables[0].upserts, &upserts));
        prop_assert!(back.tables[0].deletes.iter().zip(&deletes).all(|(a, b)| same(a, b)));
        prop_assert_eq!(back.tables[0].deletes.len(), deletes.len());
        prop_assert_eq!(back.tables[0].rekeys.len(), rekeys.len());
        prop_assert!(back.tables[0].rekeys.iter().zip(&rekeys).all(|((a, b), (c, d))| same(a, c) && same(b, d)));
        prop_assert_eq!(back.tables[0].reused.len(), reused.len());
        prop_assert!(back.tables[0].reused.iter().zip(&reused).all(|(a, b)| same(a, b)));
    }

    #[test]
    fn damaged_files_give_errors_not_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        for base in [fixture("spec_example.json"), fixture("dictdb_layout.json"), fixture("delta_spec_example.json")] {
            let mut bytes = base.clone();
            for (at, byte) in &edits {
                let i = at.index(bytes.len());
                bytes[i] = *byte;
            }
            let _ = read_database(&bytes);
            let _ = read_delta(&bytes);
            let short = &base[..cut.index(base.len())];
            let _ = read_database(short);
            let _ = read_delta(short);
        }
    }
}
