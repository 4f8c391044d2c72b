//! Example tests of the tricky query rules (python-api.md §3, §6.6, §7, §8 and the
//! decisions Q1–Q7, Q29): `== None`, `~`, `!=`, OR with an unindexed branch,
//! DISTINCT before LIMIT, negative paging, mixed-type ordering, LIKE/ILIKE, string
//! tests, `contains`, aggregates, and the bugs found by the property tests (pinned
//! here as `#[ignore]`d minimal cases).

mod common;

use common::*;
use dictdb::{
    Agg, Aggregation, Database, Expr, IndexKind, PlannerConfig, Query, Record, Table, Value, col,
    record,
};

/// Index variants every example runs under.
const KINDS: [Option<IndexKind>; 3] = [None, Some(IndexKind::Hash), Some(IndexKind::Sorted)];

/// A table `t` (pk `id`, automatic keys 1, 2, …) with these rows and an optional
/// index on `field`.
fn table(rows: Vec<Record>, index: Option<(&str, IndexKind)>) -> Table {
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    t.insert_many(rows).unwrap();
    if let Some((f, k)) = index {
        t.create_index(f, k);
    }
    t
}

fn ids(rows: &[Record]) -> Vec<i64> {
    rows.iter()
        .map(|r| r.get("id").and_then(Value::as_int).expect("int id"))
        .collect()
}

/// The ids a filter selects, checked to be the same with every planner rule off.
fn matching(t: &Table, e: Expr) -> Vec<i64> {
    let q = Query::new().filter(e);
    let got = ids(&t.select(&q).unwrap());
    let scan = ids(&t
        .with_planner(PlannerConfig::all(false))
        .select(&q)
        .unwrap());
    assert_eq!(got, scan, "index and scan differ: {:?}", t.explain(&q));
    got
}

fn field_rows(field: &str, values: Vec<Option<Value>>) -> Vec<Record> {
    values
        .into_iter()
        .map(|v| match v {
            Some(v) => Record::new().with(field, v),
            None => Record::new().with("other", 0),
        })
        .collect()
}

fn access_line(t: &Table, e: Expr) -> String {
    t.explain(Query::new().filter(e)).pop().unwrap()
}

// ----- == None, ~, != (Q7) ---------------------------------------------------------

/// Rows: 1 → a=1, 2 → a=None, 3 → a missing, 4 → a=0, 5 → a="", 6 → a=5.
fn null_rows() -> Vec<Record> {
    field_rows(
        "a",
        vec![
            Some(int(1)),
            Some(Value::Null),
            None,
            Some(int(0)),
            Some(s("")),
            Some(int(5)),
        ],
    )
}

#[test]
fn eq_none_matches_missing_and_none_with_and_without_index() {
    for kind in KINDS {
        let t = table(null_rows(), kind.map(|k| ("a", k)));
        assert_eq!(matching(&t, col("a").eq(Value::Null)), [2, 3], "{kind:?}");
        assert_eq!(matching(&t, col("a").is_null()), [2, 3], "{kind:?}");
        assert_eq!(matching(&t, col("a").is_in([Value::Null])), [2, 3]);
        assert_eq!(
            matching(&t, col("a").is_in([Value::Null, int(1)])),
            [1, 2, 3]
        );
        assert_eq!(
            matching(&t, col("a").is_in([s(""), Value::Null])),
            [2, 3, 5]
        );
        if kind.is_some() {
            let line = access_line(&t, col("a").eq(Value::Null));
            assert!(!line.starts_with("full scan"), "{line}");
        }
    }
}

#[test]
fn not_eq_and_ne_include_none_and_missing() {
    for kind in KINDS {
        let t = table(null_rows(), kind.map(|k| ("a", k)));
        assert_eq!(matching(&t, !col("a").eq(5)), [1, 2, 3, 4, 5], "{kind:?}");
        assert_eq!(matching(&t, col("a").ne(5)), [1, 2, 3, 4, 5]);
        assert_eq!(matching(&t, !col("a").gt(0)), [2, 3, 4, 5]);
        assert_eq!(
            matching(&t, !col("a").is_in([int(1), int(5)])),
            [2, 3, 4, 5]
        );
        assert_eq!(matching(&t, !col("a").between(0, 1)), [2, 3, 5, 6]);
        assert_eq!(matching(&t, !!col("a").eq(5)), [6]);
        // ~ never uses an index directly (§7.6).
        assert!(access_line(&t, !col("a").eq(5)).starts_with("full scan"));
    }
}

#[test]
fn ne_none_is_present_and_not_none() {
    for kind in KINDS {
        let t = table(null_rows(), kind.map(|k| ("a", k)));
        assert_eq!(matching(&t, col("a").ne(Value::Null)), [1, 4, 5, 6]);
        assert_eq!(matching(&t, col("a").is_not_null()), [1, 4, 5, 6]);
        assert_eq!(matching(&t, !col("a").is_null()), [1, 4, 5, 6]);
    }
}

#[test]
fn comparisons_with_none_or_incomparable_values_are_false_never_errors() {
    for kind in KINDS {
        let t = table(null_rows(), kind.map(|k| ("a", k)));
        assert_eq!(matching(&t, col("a").lt(Value::Null)), Vec::<i64>::new());
        assert_eq!(matching(&t, col("a").ge(Value::Null)), Vec::<i64>::new());
        assert_eq!(matching(&t, col("a").lt(s("z"))), [5]);
        assert_eq!(matching(&t, col("a").gt(-1)), [1, 4, 6]);
        assert_eq!(
            matching(&t, col("a").between(Value::Null, 10)),
            Vec::<i64>::new()
        );
        assert_eq!(matching(&t, col("a").between(5, 1)), Vec::<i64>::new());
        assert_eq!(matching(&t, col("a").between(0, s("z"))), Vec::<i64>::new());
        assert_eq!(matching(&t, col("zz").lt(1)), Vec::<i64>::new());
        assert_eq!(matching(&t, !col("zz").lt(1)), [1, 2, 3, 4, 5, 6]);
    }
}

// ----- OR / NOT with indexes (Q1) ------------------------------------------------

#[test]
fn or_with_an_unindexed_branch_returns_every_matching_row() {
    let rows = vec![
        record! { "a" => 1, "b" => "x" },
        record! { "a" => 2, "b" => "y" },
        record! { "a" => 3, "b" => "x" },
        record! { "b" => "x" },
    ];
    for kind in [IndexKind::Hash, IndexKind::Sorted] {
        let t = table(rows.clone(), Some(("a", kind)));
        let or = col("a").eq(1) | col("b").eq("x");
        assert_eq!(matching(&t, or.clone()), [1, 3, 4]);
        assert!(access_line(&t, or).starts_with("full scan"));
        // Every branch indexable: a union of lookups.
        let both = col("a").eq(2) | col("a").is_null();
        assert_eq!(matching(&t, both.clone()), [2, 4]);
        assert!(!access_line(&t, both).starts_with("full scan"));
        assert_eq!(matching(&t, !col("a").eq(1)), [2, 3, 4]);
        assert_eq!(matching(&t, col("b").eq("x") & !col("a").eq(1)), [3, 4]);
        assert_eq!(t.delete(&!col("a").eq(1)).unwrap(), 3);
        assert_eq!(ids(&all_rows(&t)), [1]);
    }
}

// ----- paging and DISTINCT (Q2, Q3) ------------------------------------------------

#[test]
fn negative_limit_and_offset_are_clamped() {
    let rows: Vec<Record> = (0..20).map(|i| record! { "g" => i % 3 }).collect();
    let t = table(rows, Some(("g", IndexKind::Sorted)));
    let run = |q: Query| ids(&t.select(&q).unwrap());
    let all: Vec<i64> = (1..=20).collect();
    assert_eq!(run(Query::new().limit(-1)), all);
    assert_eq!(run(Query::new().offset(-5).limit(5)), [1, 2, 3, 4, 5]);
    assert_eq!(run(Query::new().limit(5)), [1, 2, 3, 4, 5]);
    assert_eq!(run(Query::new().limit(5).offset(10)), [11, 12, 13, 14, 15]);
    assert_eq!(run(Query::new().limit(0)), Vec::<i64>::new());
    assert_eq!(run(Query::new().offset(20)), Vec::<i64>::new());
    assert_eq!(run(Query::new().offset(19)), [20]);
    assert_eq!(
        run(Query::new().offset(15).limit(100)),
        [16, 17, 18, 19, 20]
    );
    // With order_by (and a sorted index that can walk in order).
    let by_g = || Query::new().order_by("g");
    let sorted: Vec<i64> = [
        1, 4, 7, 10, 13, 16, 19, 2, 5, 8, 11, 14, 17, 20, 3, 6, 9, 12, 15, 18,
    ]
    .to_vec();
    assert_eq!(run(by_g().limit(-3)), sorted);
    assert_eq!(run(by_g().offset(-2).limit(3)), sorted[..3]);
    assert_eq!(run(by_g().offset(6).limit(3)), sorted[6..9]);
    assert_eq!(run(by_g().offset(-1)), sorted);
    assert_eq!(run(by_g().limit(0)), Vec::<i64>::new());
    let desc: Vec<i64> = [
        3, 6, 9, 12, 15, 18, 2, 5, 8, 11, 14, 17, 20, 1, 4, 7, 10, 13, 16, 19,
    ]
    .to_vec();
    assert_eq!(run(Query::new().order_by_desc("g").limit(-1)), desc);
    assert_eq!(
        run(Query::new().order_by_desc("g").offset(5).limit(3)),
        desc[5..8]
    );
    // An empty table gives [] for any combination.
    let empty = table(vec![], Some(("g", IndexKind::Sorted)));
    for q in [
        Query::new(),
        Query::new().limit(-1).offset(-1),
        Query::new().order_by("g").limit(3),
        Query::new().distinct().columns(["g"]).offset(1),
        Query::new().filter(col("g").eq(1)),
    ] {
        assert_eq!(empty.select(&q).unwrap(), Vec::<Record>::new());
    }
}

#[test]
fn distinct_applies_before_limit() {
    let rows: Vec<Record> = [1, 1, 1, 2, 2, 3]
        .into_iter()
        .map(|g| record! { "g" => g })
        .collect();
    let t = table(rows, None);
    let q = Query::new().distinct().columns(["g"]);
    let expected: Vec<Record> = [1, 2, 3]
        .into_iter()
        .map(|g| record! { "g" => g })
        .collect();
    assert_eq!(t.select(&q).unwrap(), expected);
    // DISTINCT before LIMIT (Q3): the page holds two rows.
    assert_eq!(t.select(q.clone().limit(2)).unwrap(), expected[..2]);
    assert_eq!(t.select(q.clone().offset(1)).unwrap(), expected[1..]);
    // Python equality: 1 == 1.0 == True, the first row seen is kept.
    let t = table(
        vec![
            record! { "g" => 1.0 },
            record! { "g" => true },
            record! { "g" => 1 },
            record! { "g" => Value::Null },
            record! { "x" => 0 },
        ],
        None,
    );
    assert_eq!(
        t.select(Query::new().distinct().columns(["g"])).unwrap(),
        vec![record! { "g" => 1.0 }, record! { "g" => Value::Null }]
    );
}

#[test]
fn distinct_without_projection_changes_nothing() {
    let t = table(vec![record! { "g" => 1 }, record! { "g" => 1 }], None);
    assert_eq!(ids(&t.select(Query::new().distinct()).unwrap()), [1, 2]);
}

#[test]
fn empty_projection_gives_empty_rows() {
    let t = table(vec![record! { "g" => 1 }, record! { "g" => 2 }], None);
    assert_eq!(
        t.select(Query::new().columns([])).unwrap(),
        vec![Record::new(), Record::new()]
    );
    // Projection of a missing field reads None; ordering by an unprojected field.
    assert_eq!(
        t.select(Query::new().order_by_desc("g").columns(["zz"]))
            .unwrap(),
        vec![
            record! { "zz" => Value::Null },
            record! { "zz" => Value::Null }
        ]
    );
}

// ----- ordering (Q5, §3.4) ---------------------------------------------------------

/// Values with their rank in the total order (equal ranks are ties).
fn ranked_values() -> Vec<(u32, Option<Value>)> {
    vec![
        (0, None),
        (0, Some(Value::Null)),
        (1, Some(float(f64::NEG_INFINITY))),
        (2, Some(int(-1))),
        (3, Some(Value::Bool(false))),
        (3, Some(int(0))),
        (3, Some(float(-0.0))),
        (4, Some(float(0.5))),
        (5, Some(Value::Bool(true))),
        (5, Some(float(1.0))),
        (5, Some(int(1))),
        (6, Some(int(9_007_199_254_740_992))),
        (7, Some(int(9_007_199_254_740_993))),
        (8, Some(float(f64::INFINITY))),
        (9, Some(float(f64::NAN))),
        (10, Some(date(2024, 1, 1))),
        (11, Some(naive_dt(2024, 1, 1, 0))),
        (12, Some(naive_dt(2024, 1, 1, 12))),
        (13, Some(aware_dt(2024, 1, 1, 8, 0))),
        (13, Some(aware_dt(2024, 1, 1, 10, 2))),
        (14, Some(aware_dt(2024, 1, 1, 9, 0))),
        (15, Some(s(""))),
        (16, Some(s("A"))),
        (17, Some(s("a"))),
        (18, Some(s("é"))),
        (19, Some(bytes(b""))),
        (20, Some(bytes(b"a"))),
        (21, Some(list(vec![]))),
        (22, Some(list(vec![int(1)]))),
        (22, Some(list(vec![float(1.0)]))),
        (23, Some(list(vec![int(1), int(2)]))),
        (24, Some(list(vec![int(2)]))),
        (25, Some(map(&[]))),
        (26, Some(map(&[("a", int(1))]))),
        (27, Some(map(&[("a", int(1)), ("b", int(0))]))),
        (28, Some(map(&[("b", int(0))]))),
    ]
}

#[test]
fn ordering_mixed_types_follows_the_total_order() {
    let mut values = ranked_values();
    // A fixed scramble of the insertion order.
    let n = values.len();
    let mut scrambled = Vec::with_capacity(n);
    for i in 0..n {
        scrambled.push(values[(i * 7 + 3) % n].clone());
    }
    values = scrambled;
    let rows = field_rows("v", values.iter().map(|(_, v)| v.clone()).collect());
    let mut asc: Vec<(u32, i64)> = values
        .iter()
        .enumerate()
        .map(|(i, (r, _))| (*r, i as i64 + 1))
        .collect();
    asc.sort_by_key(|&(r, _)| r);
    let mut desc = asc.clone();
    desc.sort_by_key(|&(r, _)| std::cmp::Reverse(r));
    // Ties keep insertion order in both directions.
    let mut desc_stable: Vec<(u32, i64)> = values
        .iter()
        .enumerate()
        .map(|(i, (r, _))| (*r, i as i64 + 1))
        .collect();
    desc_stable.sort_by_key(|&(r, _)| std::cmp::Reverse(r));
    assert_eq!(desc, desc_stable);
    let asc: Vec<i64> = asc.into_iter().map(|(_, id)| id).collect();
    let desc: Vec<i64> = desc_stable.into_iter().map(|(_, id)| id).collect();
    for kind in KINDS {
        let t = table(rows.clone(), kind.map(|k| ("v", k)));
        for config in [PlannerConfig::all(true), PlannerConfig::all(false)] {
            let t = t.with_planner(config);
            let run = |q: Query| ids(&t.select(&q).unwrap());
            assert_eq!(run(Query::new().order_by("v")), asc, "{kind:?}");
            assert_eq!(run(Query::new().order_by_desc("v")), desc, "{kind:?}");
            for k in [0, 1, 5, 20, 40] {
                assert_eq!(
                    run(Query::new().order_by("v").limit(k)),
                    asc[..k.min(n as i64) as usize]
                );
                assert_eq!(
                    run(Query::new().order_by_desc("v").limit(k)),
                    desc[..k.min(n as i64) as usize]
                );
            }
            // A second key breaks ties; ordering by a field no row has keeps
            // insertion order.
            let by_missing = run(Query::new().order_by_desc("zz"));
            assert_eq!(by_missing, (1..=n as i64).collect::<Vec<_>>());
        }
    }
}

#[test]
fn multi_key_order_each_key_in_its_direction() {
    let rows = vec![
        record! { "age" => 30, "name" => "b" },
        record! { "age" => 20, "name" => "a" },
        record! { "age" => 30, "name" => "c" },
        record! { "name" => "z" },
        record! { "age" => 20, "name" => "a" },
        record! { "age" => 20.0, "name" => "b" },
    ];
    let t = table(rows, Some(("age", IndexKind::Sorted)));
    let q = Query::new().order_by("age").order_by_desc("name");
    assert_eq!(ids(&t.select(&q).unwrap()), [4, 6, 2, 5, 3, 1]);
    assert_eq!(ids(&t.select(q.limit(3)).unwrap()), [4, 6, 2]);
}

// ----- LIKE, ILIKE, string tests (§7.1, §7.2, Q29) ---------------------------------

fn string_rows() -> Vec<Record> {
    field_rows(
        "s",
        vec![
            Some(s("abc")),             // 1
            Some(s("abc\n")),           // 2
            Some(s("")),                // 3
            Some(s("ABC")),             // 4
            Some(s("a%c")),             // 5
            Some(s("file_1")),          // 6
            Some(s("fileX1")),          // 7
            Some(s("Éclair")),          // 8
            Some(s("éclair")),          // 9
            Some(s("ends%")),           // 10
            Some(Value::Null),          // 11
            None,                       // 12
            Some(int(5)),               // 13
            Some(list(vec![s("abc")])), // 14
            Some(s("a.c")),             // 15
            Some(s("x\\")),             // 16
            Some(s("é")),               // 17
        ],
    )
}

#[test]
fn like_matches_the_whole_string_exactly() {
    for kind in KINDS {
        let t = table(string_rows(), kind.map(|k| ("s", k)));
        let m = |e: Expr| matching(&t, e);
        assert_eq!(m(col("s").like("abc")), [1], "{kind:?}");
        assert_eq!(m(col("s").like("abc%")), [1, 2]);
        assert_eq!(m(col("s").like("")), [3]);
        assert_eq!(
            m(col("s").like("%")),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17]
        );
        assert_eq!(m(col("s").like("a_c")), [1, 5, 15]);
        assert_eq!(m(col("s").like("a.c")), [15]);
        assert_eq!(m(col("s").like("_")), [17]);
        assert_eq!(m(col("s").like("%c%")), [1, 2, 5, 8, 9, 15]);
        assert_eq!(m(col("s").like("ab%\n")), [2]);
        assert_eq!(m(col("s").like_with("%\\%", Some('\\'), false)), [10]);
        assert_eq!(m(col("s").like_with("file\\_1", Some('\\'), false)), [6]);
        assert_eq!(m(col("s").like("file_1")), [6, 7]);
        // A lone escape character at the end is literal.
        assert_eq!(m(col("s").like_with("x\\", Some('\\'), false)), [16]);
        assert_eq!(m(col("s").like("x\\")), [16]);
        assert_eq!(m(col("s").like("É%")), [8]);
        if kind == Some(IndexKind::Sorted) {
            assert!(!access_line(&t, col("s").like("abc%")).starts_with("full scan"));
        }
        assert_eq!(m(!col("s").like("%")), [11, 12, 13, 14]);
    }
}

#[test]
fn ilike_and_i_methods_use_the_unicode_lowercase_mapping() {
    for kind in KINDS {
        let t = table(string_rows(), kind.map(|k| ("s", k)));
        let m = |e: Expr| matching(&t, e);
        assert_eq!(m(col("s").ilike("abc")), [1, 4]);
        assert_eq!(m(col("s").ilike("éCLAIR")), [8, 9]);
        assert_eq!(m(col("s").ilike("É%")), [8, 9, 17]);
        assert_eq!(m(col("s").ilike("_clair")), [8, 9]);
        assert_eq!(m(col("s").iequals("ÉCLAIR")), [8, 9]);
        assert_eq!(m(col("s").icontains("CLA")), [8, 9]);
        assert_eq!(m(col("s").istarts_with("É")), [8, 9, 17]);
        assert_eq!(m(col("s").iends_with("AIR")), [8, 9]);
        assert_eq!(m(col("s").iequals("abc")), [1, 4]);
        assert_eq!(
            m(col("s").icontains("")),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17]
        );
        // ILIKE never takes the prefix range (case-insensitive).
        assert!(access_line(&t, col("s").ilike("abc%")).starts_with("full scan"));
    }
}

#[test]
fn starts_with_any_and_ends_with() {
    for kind in KINDS {
        let t = table(string_rows(), kind.map(|k| ("s", k)));
        let m = |e: Expr| matching(&t, e);
        assert_eq!(m(col("s").starts_with("ab")), [1, 2]);
        assert_eq!(m(col("s").starts_with_any(["ab", "file"])), [1, 2, 6, 7]);
        assert_eq!(
            m(col("s").starts_with_any(Vec::<String>::new())),
            Vec::<i64>::new()
        );
        assert_eq!(
            m(col("s").starts_with("")),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17]
        );
        assert_eq!(m(col("s").ends_with("%")), [10]);
        assert_eq!(m(col("s").ends_with_any(["1", "c"])), [1, 5, 6, 7, 15]);
        assert_eq!(
            m(!col("s").starts_with("a")),
            [3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17]
        );
    }
}

// ----- contains ------------------------------------------------------------------

fn container_rows() -> Vec<Record> {
    field_rows(
        "v",
        vec![
            Some(list(vec![int(1), s("a"), Value::Null])), // 1
            Some(s("hello")),                              // 2
            Some(map(&[("k", int(1)), ("a", int(2))])),    // 3
            Some(bytes(b"ab\x01")),                        // 4
            Some(int(5)),                                  // 5
            Some(Value::Null),                             // 6
            None,                                          // 7
            Some(list(vec![list(vec![int(1)]), map(&[("a", int(1))])])), // 8
            Some(float(1.5)),                              // 9
        ],
    )
}

#[test]
fn contains_on_lists_strings_dicts_bytes_and_others() {
    for kind in KINDS {
        let t = table(container_rows(), kind.map(|k| ("v", k)));
        let m = |item: Value| matching(&t, col("v").contains(item));
        // Byte value 1 is in b"ab\x01".
        assert_eq!(m(int(1)), [1, 4], "{kind:?}");
        assert_eq!(m(float(1.0)), [1]);
        assert_eq!(m(s("a")), [1, 3]);
        assert_eq!(m(s("ell")), [2]);
        assert_eq!(m(s("")), [2]);
        assert_eq!(m(s("k")), [3]);
        assert_eq!(m(bytes(b"b\x01")), [4]);
        assert_eq!(m(bytes(b"")), [4]);
        assert_eq!(m(int(97)), [4]);
        assert_eq!(m(int(1000)), Vec::<i64>::new());
        assert_eq!(m(int(5)), Vec::<i64>::new());
        assert_eq!(m(Value::Null), [1]);
        assert_eq!(m(list(vec![float(1.0)])), [8]);
        assert_eq!(m(map(&[("a", Value::Bool(true))])), [8]);
        assert_eq!(
            matching(&t, !col("v").contains(s("a"))),
            [2, 4, 5, 6, 7, 8, 9]
        );
    }
}

#[test]
fn contains_bool_on_bytes_is_a_byte_value() {
    let t = table(field_rows("v", vec![Some(bytes(b"\x00\x01"))]), None);
    assert_eq!(matching(&t, col("v").contains(true)), [1]);
    assert_eq!(matching(&t, col("v").contains(false)), [1]);
}

// ----- Python equality in lookups (§3.2) ---------------------------------------------

#[test]
fn numeric_equality_is_exact_through_every_index() {
    let rows = field_rows(
        "n",
        vec![
            Some(int(9_007_199_254_740_993)),     // 1
            Some(float(9_007_199_254_740_992.0)), // 2
            Some(int(1)),                         // 3
            Some(Value::Bool(true)),              // 4
            Some(float(1.0)),                     // 5
            Some(float(-0.0)),                    // 6
            Some(int(0)),                         // 7
            Some(float(f64::NAN)),                // 8
            Some(s("1")),                         // 9
        ],
    );
    for kind in KINDS {
        let t = table(rows.clone(), kind.map(|k| ("n", k)));
        let m = |e: Expr| matching(&t, e);
        assert_eq!(m(col("n").eq(9_007_199_254_740_993i64)), [1], "{kind:?}");
        assert_eq!(m(col("n").eq(9_007_199_254_740_992i64)), [2]);
        assert_eq!(m(col("n").eq(9_007_199_254_740_992.0)), [2]);
        assert_eq!(m(col("n").eq(true)), [3, 4, 5]);
        assert_eq!(m(col("n").eq(0.0)), [6, 7]);
        assert_eq!(m(col("n").eq(f64::NAN)), Vec::<i64>::new());
        assert_eq!(m(col("n").ne(f64::NAN)), (1..=9).collect::<Vec<_>>());
        assert_eq!(m(col("n").is_in([float(f64::NAN), s("1")])), [9]);
        assert_eq!(m(col("n").gt(9_007_199_254_740_992.0)), [1]);
        assert_eq!(m(col("n").ge(1)), [1, 2, 3, 4, 5]);
        assert_eq!(m(col("n").lt(f64::NAN)), Vec::<i64>::new());
        assert_eq!(m(col("n").between(-1, 1)), [3, 4, 5, 6, 7]);
        assert_eq!(m(col("n").gt(s(""))), [9]);
    }
}

#[test]
fn dates_and_datetimes_never_compare_equal() {
    let rows = field_rows(
        "d",
        vec![
            Some(date(2024, 1, 1)),
            Some(naive_dt(2024, 1, 1, 0)),
            Some(aware_dt(2024, 1, 1, 10, 2)),
            Some(aware_dt(2024, 1, 1, 8, 0)),
        ],
    );
    for kind in KINDS {
        let t = table(rows.clone(), kind.map(|k| ("d", k)));
        let m = |e: Expr| matching(&t, e);
        assert_eq!(m(col("d").eq(date(2024, 1, 1))), [1]);
        assert_eq!(m(col("d").eq(naive_dt(2024, 1, 1, 0))), [2]);
        assert_eq!(m(col("d").eq(aware_dt(2024, 1, 1, 8, 0))), [3, 4]);
        assert_eq!(m(col("d").ge(date(2023, 1, 1))), [1]);
        assert_eq!(m(col("d").le(naive_dt(2030, 1, 1, 0))), [2]);
        assert_eq!(m(col("d").lt(aware_dt(2024, 1, 1, 9, 0))), [3, 4]);
    }
}

/// The same map in two key orders, inside a list: Python-equal (§3.2), but not
/// equal in the total order (maps compare by stored key order, §3.4).
fn nested_map_rows() -> Vec<Record> {
    let m1 = map(&[("k", int(1)), ("j", int(2))]);
    let m2 = map(&[("j", int(2)), ("k", int(1))]);
    field_rows(
        "c",
        vec![
            Some(list(vec![m1.clone()])),
            Some(list(vec![m2.clone()])),
            Some(m1),
            Some(m2),
        ],
    )
}

#[test]
fn maps_in_any_key_order_are_equal_in_scans_and_hash_indexes() {
    let m2 = map(&[("j", int(2)), ("k", int(1))]);
    for kind in [None, Some(IndexKind::Hash)] {
        let t = table(nested_map_rows(), kind.map(|k| ("c", k)));
        assert_eq!(matching(&t, col("c").eq(list(vec![m2.clone()]))), [1, 2]);
        assert_eq!(
            matching(&t, col("c").is_in([list(vec![m2.clone()])])),
            [1, 2]
        );
        assert_eq!(matching(&t, col("c").eq(m2.clone())), [3, 4]);
    }
    // A top-level map works through a sorted index too.
    let t = table(nested_map_rows(), Some(("c", IndexKind::Sorted)));
    assert_eq!(matching(&t, col("c").eq(m2)), [3, 4]);
}

#[test]
fn sorted_index_finds_lists_of_maps_in_any_key_order() {
    let m1 = map(&[("k", int(1)), ("j", int(2))]);
    let m2 = map(&[("j", int(2)), ("k", int(1))]);
    let rows = field_rows(
        "c",
        vec![
            Some(list(vec![m1.clone()])),
            Some(list(vec![m1.clone(), int(1)])),
        ],
    );
    let cases = [
        // [{'k':1,'j':2}] == [{'j':2,'k':1}]
        ("eq", col("c").eq(list(vec![m2.clone()])), vec![1]),
        ("is_in", col("c").is_in([list(vec![m2.clone()])]), vec![1]),
        // [{'k':1,'j':2}, 1] < [{'j':2,'k':1}, 2]: the maps are equal, then 1 < 2
        // (and [{'k':1,'j':2}] is a proper prefix).
        (
            "lt",
            col("c").lt(list(vec![m2.clone(), int(2)])),
            vec![1, 2],
        ),
        (
            "between",
            col("c").between(list(vec![m2.clone(), int(0)]), list(vec![m2, int(2)])),
            vec![2],
        ),
    ];
    let scan = table(rows.clone(), None);
    let sorted = table(rows, Some(("c", IndexKind::Sorted)));
    let mut wrong = Vec::new();
    for (name, e, expected) in cases {
        let q = Query::new().filter(e);
        assert_eq!(ids(&scan.select(&q).unwrap()), expected, "{name} (scan)");
        let got = ids(&sorted.select(&q).unwrap());
        if got != expected {
            wrong.push(format!(
                "{name}: {got:?} via {:?}",
                sorted.explain(&q).pop()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "sorted index differs from the scan: {wrong:#?}"
    );
}

// ----- aggregates (§6.12, §8) ----------------------------------------------------------

fn agg(t: &Table, a: Aggregation) -> Vec<Record> {
    t.aggregate(&a).unwrap()
}

#[test]
fn aggregate_examples() {
    let rows = vec![
        record! { "dept" => "HR", "salary" => 60000 },
        record! { "dept" => "IT", "salary" => 90000 },
        record! { "dept" => "HR", "salary" => 65000 },
        record! { "dept" => "IT", "salary" => 80000 },
        record! { "dept" => "Ops", "salary" => 70000 },
    ];
    let t = table(rows, Some(("dept", IndexKind::Hash)));
    assert_eq!(
        agg(
            &t,
            Aggregation::new()
                .agg("count", Agg::count())
                .agg("total", Agg::sum("salary"))
                .agg("avg", Agg::avg("salary"))
        ),
        vec![record! { "count" => 5, "total" => 365000, "avg" => 73000.0 }]
    );
    assert_eq!(
        agg(
            &t,
            Aggregation::new()
                .group_by(["dept"])
                .agg("count", Agg::count())
                .agg("avg_salary", Agg::avg("salary"))
        ),
        vec![
            record! { "dept" => "HR", "count" => 2, "avg_salary" => 62500.0 },
            record! { "dept" => "IT", "count" => 2, "avg_salary" => 85000.0 },
            record! { "dept" => "Ops", "count" => 1, "avg_salary" => 70000.0 },
        ]
    );
    assert_eq!(
        agg(
            &t,
            Aggregation::new()
                .filter(col("dept").eq("IT"))
                .agg("min", Agg::min("salary"))
                .agg("max", Agg::max("salary"))
        ),
        vec![record! { "min" => 80000, "max" => 90000 }]
    );
}

#[test]
fn aggregate_over_no_rows() {
    let t = table(vec![], None);
    let a = Aggregation::new()
        .agg("count", Agg::count())
        .agg("n", Agg::count_field("x"))
        .agg("total", Agg::sum("x"))
        .agg("avg", Agg::avg("x"))
        .agg("lo", Agg::min("x"))
        .agg("hi", Agg::max("x"));
    let none = Value::Null;
    let expected = record! {
        "count" => 0, "n" => 0, "total" => none.clone(), "avg" => none.clone(),
        "lo" => none.clone(), "hi" => none
    };
    assert_eq!(agg(&t, a.clone()), vec![expected.clone()]);
    assert_eq!(agg(&t, a.clone().group_by(["x"])), Vec::<Record>::new());
    let t = table(vec![record! { "x" => 1 }], None);
    assert_eq!(agg(&t, a.clone().filter(col("x").eq(2))), vec![expected]);
    assert_eq!(
        agg(&t, a.filter(col("x").eq(2)).group_by(["x"])),
        Vec::<Record>::new()
    );
}

#[test]
fn aggregate_sum_avg_rules() {
    let tenths: Vec<Record> = (0..10).map(|_| record! { "x" => 0.1 }).collect();
    let t = table(tenths, None);
    // Compensated summation: exactly 1.0, as Python 3.12's sum.
    assert_eq!(
        agg(&t, Aggregation::new().agg("s", Agg::sum("x"))),
        vec![record! { "s" => 1.0 }]
    );
    let t = table(
        vec![
            record! { "x" => true },
            record! { "x" => 2 },
            record! { "x" => Value::Null },
            record! {},
            record! { "x" => true },
        ],
        None,
    );
    assert_eq!(
        agg(
            &t,
            Aggregation::new()
                .agg("s", Agg::sum("x"))
                .agg("a", Agg::avg("x"))
                .agg("n", Agg::count_field("x"))
                .agg("c", Agg::count())
        ),
        vec![record! { "s" => 4, "a" => 4.0 / 3.0, "n" => 3, "c" => 5 }]
    );
    let t = table(
        vec![
            record! { "x" => 2 },
            record! { "x" => 4 },
            record! { "x" => 6 },
        ],
        None,
    );
    assert_eq!(
        agg(&t, Aggregation::new().agg("a", Agg::avg("x"))),
        vec![record! { "a" => 4.0 }]
    );
}

#[test]
fn group_by_uses_python_equality_and_first_value_seen() {
    let rows = vec![
        record! { "g" => 1.0, "v" => 1 },
        record! { "g" => true, "v" => 2 },
        record! { "g" => Value::Null, "v" => 3 },
        record! { "v" => 4 },
        record! { "g" => 1, "v" => 5 },
        record! { "g" => "1", "v" => 6 },
        record! { "g" => map(&[("a", int(1)), ("b", int(2))]), "v" => 7 },
        record! { "g" => map(&[("b", int(2)), ("a", int(1))]), "v" => 8 },
    ];
    for kind in KINDS {
        let t = table(rows.clone(), kind.map(|k| ("g", k)));
        assert_eq!(
            agg(
                &t,
                Aggregation::new()
                    .group_by(["g"])
                    .agg("n", Agg::count())
                    .agg("s", Agg::sum("v"))
                    .agg("lo", Agg::min("v"))
            ),
            vec![
                record! { "g" => 1.0, "n" => 3, "s" => 8, "lo" => 1 },
                record! { "g" => Value::Null, "n" => 2, "s" => 7, "lo" => 3 },
                record! { "g" => "1", "n" => 1, "s" => 6, "lo" => 6 },
                record! { "g" => map(&[("a", int(1)), ("b", int(2))]), "n" => 2, "s" => 15, "lo" => 7 },
            ]
        );
    }
}

// ----- update / delete ---------------------------------------------------------------

#[test]
fn update_keeps_field_order_and_maintains_indexes() {
    for kind in KINDS {
        let t = table(
            vec![
                record! { "a" => 1, "b" => "x" },
                record! { "b" => "y", "a" => 2 },
                record! { "b" => "z" },
            ],
            kind.map(|k| ("a", k)),
        );
        assert_eq!(
            t.update(&col("a").is_null(), record! { "c" => 0, "a" => 7 })
                .unwrap(),
            1
        );
        assert_eq!(
            t.update(&col("a").eq(1), record! { "a" => Value::Null })
                .unwrap(),
            1
        );
        let rows = all_rows(&t);
        assert_eq!(names(&rows[0]), ["a", "b", "id"]);
        assert_eq!(names(&rows[1]), ["b", "a", "id"]);
        assert_eq!(names(&rows[2]), ["b", "id", "c", "a"]);
        assert_eq!(matching(&t, col("a").eq(7)), [3]);
        assert_eq!(matching(&t, col("a").eq(Value::Null)), [1]);
        assert_eq!(matching(&t, col("a").gt(1)), [2, 3]);
        assert_eq!(
            t.update(&col("a").eq(100), record! { "a" => 0 }).unwrap(),
            0
        );
        assert_eq!(t.delete(&col("a").ge(2)).unwrap(), 2);
        assert_eq!(matching(&t, col("a").is_null()), [1]);
    }
}

#[test]
fn many_deletes_compact_and_keep_query_results() {
    for kind in KINDS {
        let rows: Vec<Record> = (0..300)
            .map(|i| {
                let mut r = record! { "g" => i % 7, "s" => format!("k{}", i % 11) };
                if i % 5 == 0 {
                    r.remove("g");
                }
                r
            })
            .collect();
        let t = table(rows.clone(), kind.map(|k| ("g", k)));
        t.create_index("s", IndexKind::Sorted);
        let mut model: Vec<Record> = rows
            .into_iter()
            .enumerate()
            .map(|(i, mut r)| {
                r.set("id", i as i64 + 1);
                r
            })
            .collect();
        let del = col("g").lt(4) | col("s").like("k1%");
        let n = t.delete(&del).unwrap();
        let keep = |r: &Record| {
            let g = r.get("g").and_then(Value::as_int);
            let s = r.get("s").and_then(Value::as_str).unwrap();
            !(g.is_some_and(|g| g < 4) || s.starts_with("k1"))
        };
        let before = model.len();
        model.retain(keep);
        assert_eq!(n, before - model.len());
        assert_eq!(same_rows(&all_rows(&t), &model), Ok(()));
        for (e, f) in [
            (
                col("g").eq(5),
                Box::new(|r: &Record| r.get("g") == Some(&int(5))) as Box<dyn Fn(&Record) -> bool>,
            ),
            (
                col("g").is_null(),
                Box::new(|r: &Record| r.get("g").is_none()),
            ),
            (
                col("s").eq("k3"),
                Box::new(|r: &Record| r.get("s") == Some(&s("k3"))),
            ),
        ] {
            let expected: Vec<Record> = model.iter().filter(|r| f(r)).cloned().collect();
            let got = t.select(Query::new().filter(e)).unwrap();
            assert_eq!(same_rows(&got, &expected), Ok(()));
        }
        let top = t.select(Query::new().order_by_desc("g").limit(5)).unwrap();
        let mut sorted = model.clone();
        sorted.sort_by(|x, y| cmp_rows(x, y, &[("g".to_owned(), true)]));
        assert_eq!(same_rows(&top, &sorted[..5]), Ok(()));
    }
}

#[test]
fn update_of_the_key_re_keys_in_place() {
    for kind in KINDS {
        let t = table(
            vec![
                record! { "a" => 1 },
                record! { "a" => 2 },
                record! { "a" => 3 },
            ],
            kind.map(|k| ("a", k)),
        );
        assert_eq!(
            t.update(&col("a").eq(2), record! { "id" => 10 }).unwrap(),
            1
        );
        assert_eq!(ids(&all_rows(&t)), [1, 10, 3]);
        assert_eq!(matching(&t, col("id").eq(10)), [10]);
        assert_eq!(matching(&t, col("id").eq(2)), Vec::<i64>::new());
        assert_eq!(
            matching(&t, col("id").is_in([int(2), int(10), int(3)])),
            [10, 3]
        );
        // A new key already in use: error, nothing changed.
        assert!(t.update(&col("a").eq(1), record! { "id" => 3 }).is_err());
        assert_eq!(ids(&all_rows(&t)), [1, 10, 3]);
        // Setting the key to an equal value (1.0 == 1) is no re-keying; the row
        // reads back with the merged value, as Python's {**row, **changes}.
        assert_eq!(
            t.update(&col("a").eq(1), record! { "id" => 1.0, "a" => 5 })
                .unwrap(),
            1
        );
        let expected = vec![record! { "a" => 5, "id" => 1.0 }];
        assert_eq!(t.get(&int(1)).unwrap(), expected[0]);
        let got = t.select(Query::new().filter(col("id").eq(1))).unwrap();
        assert_eq!(same_rows(&got, &expected), Ok(()));
        // Automatic keys skip keys in use.
        let k = t.insert(record! { "a" => 9 }).unwrap();
        assert_ne!(k, int(10));
    }
}

#[test]
fn aggregate_names_and_errors() {
    let t = table(
        vec![
            record! { "g" => "a", "v" => 1 },
            record! { "g" => "a", "v" => 2 },
            record! { "g" => "b", "v" => "x" },
        ],
        None,
    );
    // An aggregate named like a group field overwrites it, in its place.
    let rows = agg(
        &t,
        Aggregation::new()
            .group_by(["g"])
            .agg("n", Agg::count())
            .agg("g", Agg::count_field("v")),
    );
    assert_eq!(
        rows,
        vec![
            record! { "g" => 2, "n" => 2 },
            record! { "g" => 1, "n" => 1 }
        ]
    );
    assert_eq!(names(&rows[0]), ["g", "n"]);
    // A name used twice keeps the last definition, in the first position.
    let rows = agg(
        &t,
        Aggregation::new()
            .agg("x", Agg::count())
            .agg("y", Agg::max("v"))
            .agg("x", Agg::min("v")),
    );
    assert_eq!(rows, vec![record! { "x" => 1, "y" => "x" }]);
    assert_eq!(names(&rows[0]), ["x", "y"]);
    // SUM over a non-number, and an integer SUM outside 64 bits, are errors.
    assert!(
        t.aggregate(Aggregation::new().agg("s", Agg::sum("v")))
            .is_err()
    );
    assert!(
        t.aggregate(Aggregation::new().agg("s", Agg::avg("v")))
            .is_err()
    );
    let t = table(
        vec![record! { "v" => i64::MAX }, record! { "v" => 1 }],
        None,
    );
    assert!(
        t.aggregate(Aggregation::new().agg("s", Agg::sum("v")))
            .is_err()
    );
    assert_eq!(
        agg(
            &t,
            Aggregation::new()
                .filter(col("v").eq(1))
                .agg("s", Agg::sum("v"))
        ),
        vec![record! { "s" => 1 }]
    );
}

#[test]
fn paging_never_overflows() {
    let t = table(
        (0..5).map(|i| record! { "g" => i % 2 }).collect(),
        Some(("g", IndexKind::Sorted)),
    );
    for q in [
        Query::new(),
        Query::new().order_by("g"),
        Query::new().order_by_desc("id"),
    ] {
        assert_eq!(t.select(q.clone().limit(i64::MAX)).unwrap().len(), 5);
        assert!(
            t.select(q.clone().offset(i64::MAX).limit(i64::MAX))
                .unwrap()
                .is_empty()
        );
        assert!(t.select(q.clone().offset(i64::MAX)).unwrap().is_empty());
        assert_eq!(
            t.select(q.clone().offset(i64::MIN).limit(2)).unwrap().len(),
            2
        );
        assert_eq!(
            t.select(q.clone().offset(4).limit(i64::MAX)).unwrap().len(),
            1
        );
    }
}

#[test]
fn bulk_insert_into_a_sorted_index_keeps_reordered_maps_apart() {
    let m1 = map(&[("k", int(1)), ("j", int(2))]);
    let m2 = map(&[("j", int(2)), ("k", int(1))]);
    let db = Database::new();
    let t = db.create_table("t", "id").unwrap();
    // The index exists before the batch (creating it afterwards is fine).
    t.create_index("c", IndexKind::Sorted);
    t.insert_many(vec![
        record! { "c" => m1.clone() },
        record! { "c" => m2.clone() },
    ])
    .unwrap();
    let mut wrong = Vec::new();
    let mut expect = |what: &str, got: Vec<i64>, expected: &[i64]| {
        if got != expected {
            wrong.push(format!("{what}: {got:?}, expected {expected:?}"));
        }
    };
    let run = |q: Query| ids(&t.select(&q).unwrap());
    expect(
        "c == m2",
        run(Query::new().filter(col("c").eq(m2.clone()))),
        &[1, 2],
    );
    // Total order: {'j': 2, 'k': 1} < {'k': 1, 'j': 2}.
    expect(
        "order_by c limit 10",
        run(Query::new().order_by("c").limit(10)),
        &[2, 1],
    );
    let n = agg(
        &t,
        Aggregation::new()
            .filter(col("c").eq(m2.clone()))
            .agg("n", Agg::count()),
    );
    expect(
        "count where c == m2",
        vec![n[0].get("n").and_then(Value::as_int).unwrap()],
        &[2],
    );
    assert_eq!(t.delete(&col("c").eq(m2)).unwrap(), 2);
    assert!(t.is_empty());
    // A deleted row must not come back through a stale posting.
    expect(
        "c == m1 after deleting every row",
        run(Query::new().filter(col("c").eq(m1))),
        &[],
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn large_table_filters_equal_the_model() {
    // Past 128k rows scans run in parallel chunks; some rows deleted (positions
    // with tombstones), some NULL or absent values, text too varied for a
    // dictionary.
    let n = 140_000i64;
    let rows: Vec<Record> = (0..n)
        .map(|i| {
            let mut r = record! {
                "n" => i % 1000,
                "f" => (i % 100) as f64 / 4.0,
                "s" => format!("s{}", i % 5000),
                "k" => i % 13,
            };
            if i % 7 == 0 {
                r.set("n", Value::Null);
            }
            if i % 11 == 0 {
                r.remove("f");
            }
            r
        })
        .collect();
    let t = table(rows.clone(), Some(("n", IndexKind::Sorted)));
    let mut model: Vec<Record> = rows
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            r.set("id", i as i64 + 1);
            r
        })
        .collect();
    assert_eq!(
        t.delete(&col("k").eq(0)).unwrap(),
        model.iter().filter(|r| r.get("k") == Some(&int(0))).count()
    );
    model.retain(|r| r.get("k") != Some(&int(0)));
    let preds = [
        ModelPred::Lt("n".into(), int(500)),
        ModelPred::Eq("n".into(), int(3)),
        ModelPred::Not(Box::new(ModelPred::Eq("n".into(), int(3)))),
        ModelPred::Between("f".into(), int(5), float(10.0)),
        ModelPred::Ge("f".into(), float(24.5)),
        ModelPred::Like {
            field: "s".into(),
            pattern: "%12%".into(),
            escape: None,
            ilike: false,
        },
        ModelPred::IContains("s".into(), "S49".into()),
        ModelPred::Eq("s".into(), s("s42")),
        ModelPred::IsNull("f".into()),
        ModelPred::Or(
            Box::new(ModelPred::Gt("n".into(), int(990))),
            Box::new(ModelPred::Lt("f".into(), float(0.5))),
        ),
        ModelPred::And(
            Box::new(ModelPred::Ne("n".into(), Value::Null)),
            Box::new(ModelPred::Like {
                field: "s".into(),
                pattern: "s1%".into(),
                escape: None,
                ilike: false,
            }),
        ),
    ];
    for p in &preds {
        let expected: Vec<i64> = ids(&model
            .iter()
            .filter(|r| model_eval(p, r))
            .cloned()
            .collect::<Vec<_>>());
        for config in [PlannerConfig::all(true), PlannerConfig::all(false)] {
            let got = ids(&t
                .with_planner(config)
                .select(Query::new().filter(p.to_expr()).columns(["id"]))
                .unwrap());
            assert!(
                got == expected,
                "{p:?}: {} rows, expected {}",
                got.len(),
                expected.len()
            );
        }
    }
}
