//! Each planner rule: the plan it produces (EXPLAIN text), the plan with the rule
//! switched off, and identical results either way.

use dictdb_engine::{Catalog, IndexKind, Record, Table, Value, record};
use dictdb_query::{
    Agg, Aggregation, OrderKey, PlannerConfig, Query, TableInfo, col, execute, plan,
};

fn table() -> std::sync::Arc<Table> {
    let catalog = Catalog::new();
    let t = catalog.create_table("t", "id", None).unwrap();
    let cities = ["Oslo", "Rome", "Lima", "Kyiv"];
    let rows: Vec<Record> = (1..=200i64)
        .map(|i| {
            let mut r = record! {
                "name" => format!("name{i}"),
                "age" => 18 + (i * 7) % 50,
                "city" => cities[(i % 4) as usize],
                "score" => (i * 37 % 100) as f64 / 3.0,
            };
            // Null-heavy and mixed-type corners.
            if i % 10 == 0 {
                r.set("age", Value::Null);
            }
            if i % 25 == 0 {
                r.remove("city");
            }
            if i == 77 {
                r.set("age", "seventy-seven");
            }
            r
        })
        .collect();
    t.insert_many(rows).unwrap();
    t.create_index("city", IndexKind::Hash);
    t.create_index("age", IndexKind::Sorted);
    t.create_index("name", IndexKind::Sorted);
    t
}

/// The plan's access line (the last EXPLAIN line) and the rows, with `config`.
fn run(t: &Table, q: &Query, config: &PlannerConfig) -> (Vec<String>, Vec<Record>) {
    let data = t.read();
    let p = plan(q, &TableInfo::of(&data), config);
    (p.explain(), execute(&p, &data).unwrap())
}

/// Asserts the plan with every rule on contains `with`, the plan with `rule` off
/// contains `without`, and the rows are the same as with every rule off.
fn check(q: Query, rule: &str, with: &str, without: &str) {
    let t = table();
    let (plan_on, rows_on) = run(&t, &q, &PlannerConfig::default());
    let mut off = PlannerConfig::default();
    assert!(off.set(rule, false), "unknown rule {rule}");
    let (plan_off, rows_off) = run(&t, &q, &off);
    let (_, rows_none) = run(&t, &q, &PlannerConfig::all(false));
    let text_on = plan_on.join("\n");
    let text_off = plan_off.join("\n");
    assert!(
        text_on.contains(with),
        "rule {rule} on: expected {with:?} in\n{text_on}"
    );
    assert!(
        text_off.contains(without),
        "rule {rule} off: expected {without:?} in\n{text_off}"
    );
    assert_eq!(
        rows_on, rows_none,
        "rule {rule}: results differ from the all-off plan"
    );
    assert_eq!(rows_off, rows_none, "rule {rule} off: results differ");
    assert!(
        !rows_none.is_empty() || with.contains("empty"),
        "query should return rows"
    );
}

#[test]
fn pk_lookup() {
    check(
        Query::new().filter(col("id").eq(42)),
        "pk_lookup",
        "pk lookup [42] on t",
        "full scan on t",
    );
    check(
        Query::new().filter(col("id").is_in([3, 5, 500])),
        "pk_lookup",
        "pk lookup [3, 5, 500] on t",
        "full scan on t",
    );
}

#[test]
fn hash_lookup_and_is_null() {
    check(
        Query::new().filter(col("city").eq("Rome")),
        "hash_lookup",
        "hash lookup city ['Rome'] on t",
        "full scan on t",
    );
    // `== None` matches NULL and absent fields through the index too.
    check(
        Query::new().filter(col("city").eq(Value::Null)),
        "hash_lookup",
        "hash lookup city [None] + absent on t",
        "full scan on t",
    );
    check(
        Query::new().filter(col("age").eq(Value::Null)),
        "hash_lookup",
        "sorted lookup age [None] + absent on t",
        "full scan on t",
    );
}

#[test]
fn in_union() {
    check(
        Query::new().filter(col("city").is_in(["Rome", "Lima"])),
        "in_union",
        "hash lookup city ['Rome', 'Lima'] on t",
        "full scan on t",
    );
}

#[test]
fn sorted_range() {
    check(
        Query::new().filter(col("age").between(30, 35)),
        "sorted_range",
        "btree range age [30, 35] on t",
        "full scan on t",
    );
    check(
        Query::new().filter(col("age").gt(60)),
        "sorted_range",
        "btree range age (60, +inf) on t",
        "full scan on t",
    );
    check(
        Query::new().filter(col("age").le(20)),
        "sorted_range",
        "btree range age (-inf, 20] on t",
        "full scan on t",
    );
}

#[test]
fn like_prefix() {
    check(
        Query::new().filter(col("name").like("name1%")),
        "like_prefix",
        "btree range name ['name1', 'name2') on t",
        "full scan on t",
    );
}

#[test]
fn or_union() {
    check(
        Query::new().filter(col("city").eq("Oslo") | col("age").lt(20)),
        "or_union",
        "union of (hash lookup city ['Oslo']; btree range age (-inf, 20)) on t",
        "full scan on t",
    );
}

#[test]
fn or_with_a_scan_branch_scans() {
    let t = table();
    let q = Query::new().filter(col("city").eq("Oslo") | col("score").lt(5.0));
    let (p, rows) = run(&t, &q, &PlannerConfig::default());
    assert_eq!(p.last().unwrap(), "full scan on t");
    let (_, expected) = run(&t, &q, &PlannerConfig::all(false));
    assert_eq!(rows, expected);
}

#[test]
fn and_choice() {
    check(
        Query::new().filter(col("city").eq("Oslo") & col("age").eq(32)),
        "and_choice",
        "smallest of (hash lookup city ['Oslo']; sorted lookup age [32]) on t",
        "hash lookup city ['Oslo'] on t",
    );
}

#[test]
fn not_never_uses_an_index_directly() {
    let t = table();
    let q = Query::new().filter(!col("city").eq("Oslo"));
    let (p, rows) = run(&t, &q, &PlannerConfig::default());
    assert_eq!(p.last().unwrap(), "full scan on t");
    // Rows lacking the field or with NULL are included (two-valued DSL negation).
    assert!(rows.iter().any(|r| r.get("city").is_none()));
    let q = Query::new().filter(!col("city").eq("Oslo") & col("age").eq(30));
    let (p, _) = run(&t, &q, &PlannerConfig::default());
    assert_eq!(p.last().unwrap(), "sorted lookup age [30] on t");
}

#[test]
fn topk() {
    check(
        Query::new()
            .filter(col("city").eq("Oslo"))
            .order_by_desc("score")
            .limit(5),
        "topk",
        "top-k 5 by score DESC",
        "sort score DESC",
    );
    // Offset counts: the heap keeps offset + limit rows.
    check(
        Query::new().order_by("score").offset(3).limit(4),
        "topk",
        "top-k 7 by score",
        "sort score",
    );
}

#[test]
fn index_order() {
    check(
        Query::new().order_by("age").limit(7),
        "index_order",
        "index order age (stops after 7 rows)",
        "top-k 7 by age",
    );
    check(
        Query::new()
            .filter(col("score").gt(10.0))
            .order_by_desc("age")
            .offset(2)
            .limit(5),
        "index_order",
        "index order age DESC (stops after 7 rows)",
        "top-k 7 by age DESC",
    );
}

#[test]
fn index_order_puts_nulls_and_absent_rows_where_the_total_order_does() {
    let t = table();
    for desc in [false, true] {
        let key = if desc {
            OrderKey::desc("age")
        } else {
            OrderKey::asc("age")
        };
        let q = Query::new().order_by_key(key).limit(300);
        let (p, rows) = run(&t, &q, &PlannerConfig::default());
        assert!(p.join("\n").contains("index order age"));
        let (_, expected) = run(&t, &q, &PlannerConfig::all(false));
        assert_eq!(rows, expected, "desc = {desc}");
        // NULLs first ascending, last descending; the string after every number.
        let first_null = rows
            .iter()
            .position(|r| r.get("age") == Some(&Value::Null))
            .unwrap();
        if desc {
            assert!(first_null > 150);
            assert_eq!(rows[0].get("age"), Some(&Value::str("seventy-seven")));
        } else {
            assert_eq!(first_null, 0);
            assert_eq!(rows[199].get("age"), Some(&Value::str("seventy-seven")));
        }
    }
}

#[test]
fn explain_shows_every_step() {
    let t = table();
    let q = Query::new()
        .filter(col("age").ge(30))
        .order_by_desc("score")
        .offset(1)
        .limit(3)
        .distinct()
        .columns(["city"]);
    let (p, rows) = run(&t, &q, &PlannerConfig::default());
    assert_eq!(
        p,
        [
            "project city",
            "limit 3 offset 1",
            "distinct",
            "sort score DESC",
            "filter age >= 30",
            "btree range age [30, +inf) on t",
        ]
    );
    assert_eq!(rows.len(), 3);
}

#[test]
fn aggregates_use_the_same_access_paths() {
    let t = table();
    let agg = Aggregation::new()
        .filter(col("city").eq("Rome"))
        .group_by(["age"])
        .agg("n", Agg::count())
        .agg("top", Agg::max("score"));
    let data = t.read();
    let info = TableInfo::of(&data);
    let on = dictdb_query::aggregate::plan_access(&agg, &info, &PlannerConfig::default());
    let off = dictdb_query::aggregate::plan_access(&agg, &info, &PlannerConfig::all(false));
    assert_eq!(on.to_string(), "hash lookup city ['Rome']");
    let a = dictdb_query::aggregate::execute(&agg, &on, &data).unwrap();
    let b = dictdb_query::aggregate::execute(&agg, &off, &data).unwrap();
    assert_eq!(a, b);
    let total: i64 = a
        .iter()
        .map(|r| r.get("n").unwrap().as_int().unwrap())
        .sum();
    assert_eq!(total, 48);
}

#[test]
fn a_plan_survives_a_dropped_index() {
    let t = table();
    let q = Query::new().filter(col("city").eq("Lima"));
    let p = plan(&q, &TableInfo::of(&t.read()), &PlannerConfig::default());
    let before = execute(&p, &t.read()).unwrap();
    assert!(t.drop_index("city"));
    let after = execute(&p, &t.read()).unwrap();
    assert_eq!(before, after);
}
