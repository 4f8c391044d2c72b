//! Property tests of query semantics against an independent model
//! (python-api.md §3, §6.6–6.8, §6.12, §7, §8): select, planner-rule independence,
//! top-k, index lookups versus scans, aggregates, update and delete.

mod common;

use common::*;
use dictdb::{PlannerConfig, Query, Record, SelectRows, Table, Value, col};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// `cases` per property, or `QUERY_PROPS_CASES` when set (for long runs).
fn cfg(cases: u32) -> ProptestConfig {
    let cases = std::env::var("QUERY_PROPS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    }
}

fn check(r: Result<(), String>, ctx: impl std::fmt::Debug) -> Result<(), TestCaseError> {
    r.map_err(|e| TestCaseError::fail(format!("{e}\n context: {ctx:?}")))
}

/// Every planner configuration the tests compare: all rules on, all off, and
/// each rule off alone.
fn configs() -> Vec<(String, PlannerConfig)> {
    let mut out = vec![
        ("all on".to_owned(), PlannerConfig::all(true)),
        ("all off".to_owned(), PlannerConfig::all(false)),
    ];
    for rule in PlannerConfig::RULES {
        let mut c = PlannerConfig::all(true);
        assert!(c.set(rule, false));
        out.push((format!("{rule} off"), c));
        let mut c = PlannerConfig::all(false);
        assert!(c.set(rule, true));
        out.push((format!("only {rule}"), c));
    }
    out
}

/// The green inputs plus DISTINCT.
const WITH_DISTINCT: Gen = Gen {
    distinct: true,
    ..Gen::ALL
};

/// The green inputs plus the same map in different key orders.
const WITH_REORDERED_MAPS: Gen = Gen {
    reordered_maps: true,
    ..Gen::ALL
};

/// `Table::select`, checked against `Table::select_with` (borrowed rows or
/// computed records) for the same query.
fn select(t: &Table, q: &Query) -> Vec<Record> {
    let rows = t.select(q).unwrap();
    let via = t
        .select_with(q, |r| match r {
            SelectRows::Rows(data, positions) => {
                positions.iter().map(|&p| data.record(p)).collect()
            }
            SelectRows::Records(records) => records,
        })
        .unwrap();
    // Compared as text: NaN cells are equal there.
    assert_eq!(
        format!("{rows:?}"),
        format!("{via:?}"),
        "select_with differs from select for {q:?}"
    );
    rows
}

/// Property 1 over one table and some queries.
fn select_property(spec: &TableSpec, queries: &[ModelQuery]) -> Result<(), TestCaseError> {
    let b = build(spec);
    check(same_rows(&all_rows(&b.table), &b.model), "insert")?;
    let kinds = kinds_of(spec);
    for q in queries {
        let query = q.to_query();
        let actual = select(&b.table, &query);
        let expected = model_select(&b.model, q);
        check(same_rows(&actual, &expected), q)?;
        if let Some(p) = &q.pred {
            check(check_explain(&b.table, &query, index_use(p, &kinds)), q)?;
        }
    }
    Ok(())
}

/// Property 2 over one table and some queries.
fn planner_property(spec: &TableSpec, queries: &[ModelQuery]) -> Result<(), TestCaseError> {
    let b = build(spec);
    let configs = configs();
    for q in queries {
        let query = q.to_query();
        let base = select(&b.table.with_planner(PlannerConfig::all(false)), &query);
        for (name, c) in &configs {
            let got = select(&b.table.with_planner(*c), &query);
            check(same_rows(&got, &base), (name, q))?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cfg(128))]

    /// 1. `select` equals the model pipeline (filter → stable sort → project →
    /// distinct → page) exactly, and the plan uses an index where §7.6 expects one.
    #[test]
    fn select_equals_model(
        spec in table_strategy(60, Gen::ALL),
        queries in prop::collection::vec(query_strategy(Gen::ALL), 1..5),
    ) {
        select_property(&spec, &queries)?;
    }

    /// Property 1 with DISTINCT in the queries.
    #[test]
    fn select_with_distinct_equals_model(
        spec in table_strategy(60, WITH_DISTINCT),
        queries in prop::collection::vec(query_strategy(WITH_DISTINCT), 1..5),
    ) {
        select_property(&spec, &queries)?;
    }

    /// 2. Every planner rule only changes the plan, never the result.
    #[test]
    fn planner_rules_do_not_change_results(
        spec in table_strategy(60, Gen::ALL),
        queries in prop::collection::vec(query_strategy(Gen::ALL), 1..4),
    ) {
        planner_property(&spec, &queries)?;
    }

    /// 3. ORDER BY + LIMIT/OFFSET (top-k, index order) equals the full stable sort
    /// followed by paging, on data with many ties and NULLs.
    #[test]
    fn top_k_equals_sort_then_page(
        spec in table_strategy(60, Gen::ALL),
        pred in prop::option::weighted(0.5, pred_strategy(Gen::ALL)),
        order in order_strategy(1),
        limit in -1i64..15,
        offset in prop::option::of(-2i64..15),
        columns in columns_strategy(),
        config in 0usize..3,
    ) {
        let q = ModelQuery { pred, order, limit: Some(limit), offset, distinct: false, columns };
        let b = build(&spec);
        let t = b.table.with_planner(match config {
            0 => PlannerConfig::all(true),
            1 => { let mut c = PlannerConfig::all(true); c.set("index_order", false); c }
            _ => { let mut c = PlannerConfig::all(true); c.set("topk", false); c }
        });
        let paged = select(&t, &q.to_query());
        let full = select(&t, &q.unpaged().to_query());
        check(same_rows(&paged, &page(&full, q.offset, q.limit)), &q)?;
    }
}

// ----- 4. index lookups versus scans ---------------------------------------------

/// Leaves an index can answer (§7.6), over fields that all carry an index.
fn indexable_leaf(g: Gen) -> BoxedStrategy<ModelPred> {
    let f = || prop::sample::select(vec!["a", "b", "c", "c", "id"]).prop_map(str::to_owned);
    let c = || {
        prop_oneof![
            5 => const_strategy(g),
            1 => (-3i64..4).prop_map(int),
        ]
    };
    let members = prop::collection::vec(c(), 0..4);
    let prefix = prop::sample::select(vec!["a", "ab", "é", "A", "k", "x.y", "a\\"]);
    let rest = prop::sample::select(vec!["", "%", "_", "%b", "_%", "%%"]);
    prop_oneof![
        4 => (f(), c()).prop_map(|(f, v)| ModelPred::Eq(f, v)),
        1 => f().prop_map(|f| ModelPred::Eq(f, Value::Null)),
        1 => f().prop_map(ModelPred::IsNull),
        3 => (f(), members, any::<bool>()).prop_map(|(f, mut vs, null)| {
            if null {
                vs.push(Value::Null);
            }
            ModelPred::In(f, vs)
        }),
        2 => (f(), c(), c()).prop_map(|(f, lo, hi)| ModelPred::Between(f, lo, hi)),
        1 => (f(), c()).prop_map(|(f, v)| ModelPred::Lt(f, v)),
        1 => (f(), c()).prop_map(|(f, v)| ModelPred::Le(f, v)),
        1 => (f(), c()).prop_map(|(f, v)| ModelPred::Gt(f, v)),
        1 => (f(), c()).prop_map(|(f, v)| ModelPred::Ge(f, v)),
        2 => (f(), prefix, rest).prop_map(|(field, p, r)| ModelPred::Like {
            field,
            pattern: format!("{p}{r}"),
            escape: None,
            ilike: false,
        }),
    ]
    .boxed()
}

fn indexable_pred(g: Gen) -> BoxedStrategy<ModelPred> {
    let tree = indexable_leaf(g).prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| ModelPred::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| ModelPred::Or(Box::new(a), Box::new(b))),
        ]
    });
    prop_oneof![
        6 => tree.clone(),
        1 => tree.prop_map(|p| ModelPred::Not(Box::new(p))),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(cfg(128))]

    /// 4. Index lookups and ranges (hash and sorted, mixed types, many NULLs and
    /// absent fields) give exactly the rows of a scan, and are used where §7.6
    /// expects them.
    #[test]
    fn index_access_equals_scan(
        spec in table_strategy(60, Gen::ALL),
        kinds in [1u8..3, 1u8..3, 1u8..3],
        preds in prop::collection::vec(indexable_pred(Gen::ALL), 1..6),
    ) {
        index_property(spec, kinds, &preds)?;
    }
}

proptest! {
    #![proptest_config(cfg(512))]

    /// Property 4 with the same map in different key orders (in rows, and inside
    /// lists), a sorted index on `c`.
    #[test]
    fn index_access_equals_scan_with_reordered_maps(
        spec in table_strategy(60, WITH_REORDERED_MAPS),
        kinds in [1u8..3, 1u8..3, 2u8..3],
        preds in prop::collection::vec(indexable_pred(WITH_REORDERED_MAPS), 1..6),
    ) {
        index_property(spec, kinds, &preds)?;
    }
}

/// Property 4 over one table (indexes on a, b and c) and some predicates.
fn index_property(
    spec: TableSpec,
    kinds: [u8; 3],
    preds: &[ModelPred],
) -> Result<(), TestCaseError> {
    {
        let spec = TableSpec {
            indexes: kinds,
            ..spec
        };
        let b = build(&spec);
        let kinds = kinds_of(&spec);
        let scan = b.table.with_planner(PlannerConfig::all(false));
        for p in preds {
            let q = Query::new().filter(p.to_expr());
            let expected: Vec<Record> = b
                .model
                .iter()
                .filter(|r| model_eval(p, r))
                .cloned()
                .collect();
            check(same_rows(&select(&scan, &q), &expected), ("scan", p))?;
            check(same_rows(&select(&b.table, &q), &expected), ("index", p))?;
            check(check_explain(&b.table, &q, index_use(p, &kinds)), p)?;
            // The same candidates serve aggregate, update and delete (§7.6).
            let n = b
                .table
                .aggregate(
                    dictdb::Aggregation::new()
                        .filter(p.to_expr())
                        .agg("n", dictdb::Agg::count()),
                )
                .unwrap();
            prop_assert_eq!(
                n[0].get("n"),
                Some(&Value::Int(expected.len() as i64)),
                "{:?}",
                p
            );
        }
    }
    Ok(())
}

// ----- 5. aggregates -----------------------------------------------------------

fn agg_strategy() -> impl Strategy<Value = ModelAgg> {
    let any_field = || prop::sample::select(FIELDS).prop_map(str::to_owned);
    let numeric = || prop::sample::select(vec!["a", "a", "id", "zz"]).prop_map(str::to_owned);
    prop_oneof![
        2 => Just(ModelAgg::Count),
        2 => any_field().prop_map(ModelAgg::CountField),
        2 => numeric().prop_map(ModelAgg::Sum),
        2 => numeric().prop_map(ModelAgg::Avg),
        2 => any_field().prop_map(ModelAgg::Min),
        2 => any_field().prop_map(ModelAgg::Max),
    ]
}

fn aggregation_strategy() -> impl Strategy<Value = ModelAggregation> {
    (
        prop::option::weighted(0.5, pred_strategy(Gen::ALL)),
        prop_oneof![
            1 => Just(vec![]),
            2 => prop::sample::select(vec!["a", "b", "c", "zz"]).prop_map(|f| vec![f.to_owned()]),
            2 => prop::sample::subsequence(vec!["a", "b", "c", "zz"], 2)
                .prop_shuffle()
                .prop_map(|fs| fs.into_iter().map(str::to_owned).collect()),
        ],
        prop::collection::vec(agg_strategy(), 1..6),
    )
        .prop_map(|(pred, group_by, aggs)| ModelAggregation {
            pred,
            group_by,
            aggs,
        })
}

proptest! {
    #![proptest_config(cfg(128))]

    /// 5. Aggregates equal the model: groups in order of first appearance under
    /// Python equality (shown with the first value seen), COUNT/SUM/AVG/MIN/MAX
    /// as §8 says, one record over no rows without GROUP BY.
    #[test]
    fn aggregate_equals_model(
        spec in table_strategy(60, Gen::ALL),
        aggs in prop::collection::vec(aggregation_strategy(), 1..4),
        config in prop::bool::ANY,
    ) {
        let b = build(&spec);
        let t = b.table.with_planner(PlannerConfig::all(config));
        for a in &aggs {
            let actual = t.aggregate(a.to_aggregation()).unwrap();
            let expected = model_aggregate(&b.model, a);
            check(same_agg_rows(&actual, &expected), a)?;
        }
    }
}

// ----- 6. update and delete ----------------------------------------------------

fn changes_strategy() -> impl Strategy<Value = Record> {
    let value = prop_oneof![
        3 => prop::sample::select(const_pool()),
        1 => Just(Value::Null),
    ];
    prop::collection::vec(
        (prop::sample::select(vec!["a", "b", "c", "d", "zz"]), value),
        1..4,
    )
    .prop_map(|fields| fields.into_iter().collect())
}

#[derive(Clone, Debug)]
enum Write {
    Update(ModelPred, Record),
    Delete(ModelPred),
}

fn write_strategy() -> impl Strategy<Value = Write> {
    prop_oneof![
        2 => (pred_strategy(Gen::ALL), changes_strategy()).prop_map(|(p, c)| Write::Update(p, c)),
        1 => pred_strategy(Gen::ALL).prop_map(Write::Delete),
    ]
}

proptest! {
    #![proptest_config(cfg(96))]

    /// 6. `update` / `delete` by predicate return the model's count and leave the
    /// model's rows (row order, field order, values); queries afterwards (through
    /// the maintained indexes) still equal the model.
    #[test]
    fn update_delete_equal_model(
        spec in table_strategy(50, Gen::ALL),
        writes in prop::collection::vec(write_strategy(), 1..4),
        config in 0usize..3,
        query in query_strategy(Gen::ALL),
    ) {
        let b = build(&spec);
        let t = b.table.with_planner(match config {
            0 => PlannerConfig::all(true),
            1 => PlannerConfig::all(false),
            _ => { let mut c = PlannerConfig::all(true); c.set("and_choice", false); c }
        });
        let mut model = b.model.clone();
        for w in &writes {
            match w {
                Write::Update(p, changes) => {
                    let mut n = 0;
                    for r in model.iter_mut().filter(|r| model_eval(p, r)) {
                        for (name, v) in changes.iter() {
                            r.set(name.clone(), v.clone());
                        }
                        n += 1;
                    }
                    prop_assert_eq!(t.update(&p.to_expr(), changes.clone()).unwrap(), n, "{:?}", w);
                }
                Write::Delete(p) => {
                    let before = model.len();
                    model.retain(|r| !model_eval(p, r));
                    prop_assert_eq!(t.delete(&p.to_expr()).unwrap(), before - model.len(), "{:?}", w);
                }
            }
            check(same_rows(&all_rows(&t), &model), w)?;
        }
        check(same_rows(&select(&b.table, &query.to_query()), &model_select(&model, &query)), &query)?;
        for (i, r) in model.iter().enumerate() {
            let id = r.get("id").unwrap().clone();
            let got = select(&b.table, &Query::new().filter(col("id").eq(id)));
            check(same_rows(&got, std::slice::from_ref(r)), i)?;
        }
    }
}

// ----- many distinct strings (arena-backed text columns) ---------------------------

/// 5000 distinct strings over [`CHARS`]-like digits, with some `None` and absent
/// values, a sorted index on `b` and a hash index on `h` (the same strings).
fn big_text_table() -> &'static Built {
    static BIG: std::sync::OnceLock<Built> = std::sync::OnceLock::new();
    BIG.get_or_init(|| {
        const DIGITS: [char; 10] = ['a', 'b', 'A', 'é', 'É', '%', '_', '\\', '.', 'İ'];
        let text = |mut i: usize| {
            let mut out = String::new();
            loop {
                out.push(DIGITS[i % 10]);
                i /= 10;
                if i == 0 {
                    break out;
                }
            }
        };
        let rows: Vec<Record> = (0..5000)
            .map(|i| {
                let v = match i % 97 {
                    0 => Some(Value::Null),
                    1 => None,
                    _ => Some(Value::from(text(i))),
                };
                let mut r = Record::new().with("n", i as i64);
                if let Some(v) = v {
                    r.set("b", v.clone());
                    r.set("h", v);
                }
                r
            })
            .collect();
        let db = dictdb::Database::new();
        let table = db.create_table("big", "id").unwrap();
        table.create_index("b", dictdb::IndexKind::Sorted);
        table.create_index("h", dictdb::IndexKind::Hash);
        let keys = table.insert_many(rows.clone()).unwrap();
        {
            let data = table.engine().read();
            for f in ["b", "h"] {
                let column = data.column(data.column_id(f).unwrap());
                assert!(
                    matches!(
                        column.view(),
                        dictdb_engine::column::ColumnView::StrArena(_)
                    ),
                    "{f} should be arena-backed"
                );
            }
        }
        let model = rows
            .into_iter()
            .zip(keys)
            .map(|(mut r, k)| {
                r.set("id", k);
                r
            })
            .collect();
        Built { db, table, model }
    })
}

proptest! {
    #![proptest_config(cfg(48))]

    /// String predicates over a text column too large for dictionary encoding,
    /// through a sorted index, a hash index and a scan.
    #[test]
    fn many_distinct_strings_equal_model(
        pred in pred_strategy(Gen::ALL),
        field in prop::sample::select(vec!["b", "h"]),
        order in any::<bool>(),
    ) {
        let b = big_text_table();
        let pred = on_field(&pred, field);
        let mut q = ModelQuery {
            pred: Some(pred.clone()),
            order: vec![],
            limit: Some(50),
            offset: None,
            distinct: false,
            columns: Some(vec!["id".to_owned(), field.to_owned()]),
        };
        if order {
            q.order = vec![(field.to_owned(), true), ("n".to_owned(), false)];
        }
        let expected = model_select(&b.model, &q);
        for c in [PlannerConfig::all(true), PlannerConfig::all(false)] {
            let got = select(&b.table.with_planner(c), &q.to_query());
            check(same_rows(&got, &expected), &q)?;
        }
    }
}

// ----- LIKE against the regex model ------------------------------------------------

proptest! {
    #![proptest_config(cfg(256))]

    /// LIKE / ILIKE (with and without an escape character) over short strings of
    /// a tiny alphabet equal the regex translation of §7.2, through the DSL.
    #[test]
    fn like_equals_regex_model(
        pattern in prop::collection::vec(prop::sample::select(vec!['a', 'b', 'A', 'é', '%', '_', '\\', '!']), 0..8)
            .prop_map(|cs| cs.into_iter().collect::<String>()),
        values in prop::collection::vec(
            prop::collection::vec(prop::sample::select(vec!['a', 'b', 'A', 'B', 'é', 'É', '%', '_', '\\', '\n']), 0..8)
                .prop_map(|cs| cs.into_iter().collect::<String>()),
            1..12,
        ),
        escape in prop::sample::select(vec![None, Some('\\'), Some('!'), Some('a'), Some('%')]),
        ilike in any::<bool>(),
        sorted in any::<bool>(),
    ) {
        let db = dictdb::Database::new();
        let t = db.create_table("t", "id").unwrap();
        if sorted {
            t.create_index("s", dictdb::IndexKind::Sorted);
        }
        t.insert_many(values.iter().map(|v| Record::new().with("s", v.as_str())).collect()).unwrap();
        let e = col("s").like_with(&pattern, escape, ilike);
        let got: Vec<String> = select(&t, &Query::new().filter(e))
            .iter()
            .map(|r| r.get("s").and_then(Value::as_str).unwrap().to_owned())
            .collect();
        let expected: Vec<String> = values
            .iter()
            .filter(|v| like_matches(Some(&Value::from(v.as_str())), &pattern, escape, ilike))
            .cloned()
            .collect();
        prop_assert_eq!(got, expected, "pattern {:?} escape {:?} ilike {}", pattern, escape, ilike);
    }
}
