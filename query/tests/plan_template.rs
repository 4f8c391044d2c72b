//! Plans made before placeholders have values (`plan_template`,
//! `access_template`) bound to values give exactly the plan of the same query
//! with the values written in, for every planner setting, and the same rows.

use dictdb_engine::{Catalog, IndexKind, Record, Table, Value, record};
use dictdb_query::{
    CmpOp, Expr, Func, OrderKey, PlannerConfig, Query, TableInfo, access_template, execute, plan,
    plan_access, plan_template,
};
use proptest::prelude::*;

fn table() -> std::sync::Arc<Table> {
    let catalog = Catalog::new();
    let t = catalog.create_table("t", "id", None).unwrap();
    let cities = ["Oslo", "Rome", "Lima", "Kyiv"];
    let rows: Vec<Record> = (1..=60i64)
        .map(|i| {
            let mut r = record! {
                "name" => format!("n{}", i % 13),
                "age" => 18 + (i * 7) % 30,
                "city" => cities[(i % 4) as usize],
                "score" => (i * 37 % 100) as f64 / 3.0,
            };
            if i % 10 == 0 {
                r.set("age", Value::Null);
            }
            if i % 25 == 0 {
                r.remove("city");
            }
            if i == 7 {
                r.set("age", "seven");
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

/// A constant or a placeholder, as generated.
#[derive(Clone, Debug)]
enum Arg {
    Lit(Value),
    Param(usize),
}

/// Values a placeholder or a literal may take: NULL, maps and lists (which
/// switch index rules off), numbers of both kinds, text (LIKE patterns too).
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        (0i64..60).prop_map(Value::Int),
        (0i64..60).prop_map(|i| Value::Float(i as f64 + 0.5)),
        Just(Value::Bool(true)),
        prop::sample::select(vec![
            "Oslo", "Rome", "n1", "n1%", "n%", "%1", "n_", "", "seven", "n\\%"
        ])
        .prop_map(Value::str),
        Just(Value::List(Box::new([Value::Int(1)]))),
        Just(Value::Map(Box::new([("a".into(), Value::Int(1))]))),
    ]
}

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        1 => value().prop_map(Arg::Lit),
        3 => (0usize..4).prop_map(Arg::Param),
    ]
}

fn field() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["id", "age", "city", "name", "score"])
}

fn to_expr(a: &Arg) -> Expr {
    match a {
        Arg::Lit(v) => Expr::Literal(v.clone()),
        Arg::Param(i) => Expr::Param(*i),
    }
}

fn leaf() -> impl Strategy<Value = Expr> {
    let col = |f: &str| Box::new(Expr::Column(f.into()));
    prop_oneof![
        (
            field(),
            prop::sample::select(vec![
                CmpOp::Eq,
                CmpOp::Ne,
                CmpOp::Lt,
                CmpOp::Le,
                CmpOp::Gt,
                CmpOp::Ge
            ]),
            arg(),
            any::<bool>()
        )
            .prop_map(move |(f, op, a, flip)| {
                let (l, r) = (col(f), Box::new(to_expr(&a)));
                if flip {
                    Expr::Cmp {
                        op,
                        left: r,
                        right: l,
                    }
                } else {
                    Expr::Cmp {
                        op,
                        left: l,
                        right: r,
                    }
                }
            }),
        (field(), arg(), arg()).prop_map(move |(f, lo, hi)| Expr::Between {
            expr: col(f),
            low: Box::new(to_expr(&lo)),
            high: Box::new(to_expr(&hi)),
        }),
        (field(), prop::collection::vec(arg(), 0..4)).prop_map(move |(f, list)| Expr::InList {
            expr: col(f),
            list: list.iter().map(to_expr).collect(),
        }),
        (field(), 0usize..4, any::<bool>()).prop_map(move |(f, i, ignore_case)| Expr::Call {
            func: Func::Like {
                escape: Some('\\'),
                ignore_case,
            },
            args: vec![Expr::Column(f.into()), Expr::Param(i)],
        }),
        field().prop_map(move |f| Expr::IsNull(col(f))),
    ]
}

fn condition() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 1..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::IsTrue(Box::new(e))),
        ]
    })
}

fn config() -> impl Strategy<Value = PlannerConfig> {
    prop::collection::vec(any::<bool>(), PlannerConfig::RULES.len()).prop_map(|on| {
        let mut c = PlannerConfig::all(true);
        for (rule, on) in PlannerConfig::RULES.iter().zip(on) {
            c.set(rule, on);
        }
        c
    })
}

#[derive(Clone, Debug)]
struct Case {
    filter: Option<Expr>,
    order: Option<(&'static str, bool, Option<bool>)>,
    limit: Option<i64>,
    offset: i64,
    distinct: bool,
    values: Vec<Value>,
    config: PlannerConfig,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::option::weighted(0.9, condition()),
        prop::option::of((field(), any::<bool>(), prop::option::of(any::<bool>()))),
        prop::option::of(-1i64..8),
        -1i64..4,
        any::<bool>(),
        prop::collection::vec(value(), 4),
        config(),
    )
        .prop_map(
            |(filter, order, limit, offset, distinct, values, config)| Case {
                filter,
                order,
                limit,
                offset,
                distinct,
                values,
                config,
            },
        )
}

impl Case {
    /// The query, with its placeholders (`bound`: with the values written in).
    fn query(&self, bound: bool) -> Query {
        let mut q = Query::new();
        if let Some(f) = &self.filter {
            q = q.filter(if bound {
                f.bind_params(&self.values)
            } else {
                f.clone()
            });
        }
        if let Some((f, desc, nulls_first)) = self.order {
            let mut key = if desc {
                OrderKey::desc(f)
            } else {
                OrderKey::asc(f)
            };
            key.nulls_first = nulls_first;
            q = q.order_by_key(key);
        }
        if let Some(l) = self.limit {
            q = q.limit(l);
        }
        q = q.offset(self.offset);
        if self.distinct {
            q = q.distinct();
        }
        q
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn bound_templates_are_the_plans_of_the_bound_queries(c in case()) {
        let t = table();
        let data = t.read();
        let info = TableInfo::of(&data);
        let want = plan(&c.query(true), &info, &c.config);

        let unbound = c.query(false);
        let template = plan_template(&unbound, &info, &c.config);
        // Bound twice: a template is reused, not consumed.
        for _ in 0..2 {
            let got = template.bind(&c.values, unbound.limit_value(), unbound.offset_value());
            prop_assert_eq!(&got, &want);
        }
        // LIMIT and OFFSET given at bind time (`LIMIT ?`): planned without them.
        let mut no_paging = c.clone();
        no_paging.limit = None;
        no_paging.offset = 0;
        let late = plan_template(&no_paging.query(false), &info, &c.config);
        prop_assert_eq!(
            late.bind(&c.values, unbound.limit_value(), unbound.offset_value()),
            want.clone()
        );

        let access = access_template(unbound.filter_expr(), &info, &c.config);
        prop_assert_eq!(
            access.bind(&c.values),
            plan_access(c.query(true).filter_expr(), &info, &c.config)
        );

        // And the rows agree with a plan using no index at all. (A condition
        // that fails on some row, like `LIKE 0`, fails or not depending on
        // which rows a plan evaluates it on: only successes are compared.)
        let scan = plan(&c.query(true), &info, &PlannerConfig::all(false));
        if let (Ok(a), Ok(b)) = (execute(&want, &data), execute(&scan, &data)) {
            prop_assert_eq!(a, b);
        }
    }
}

/// A spot check that the template keeps the index where a literal would use it,
/// and gives it up for a NULL or a pattern without a literal prefix.
#[test]
fn templates_use_indexes_for_placeholders() {
    let t = table();
    let data = t.read();
    let info = TableInfo::of(&data);
    let config = PlannerConfig::default();
    let q = Query::new().filter(Expr::Between {
        expr: Box::new(Expr::Column("age".into())),
        low: Box::new(Expr::Param(0)),
        high: Box::new(Expr::Param(1)),
    });
    let template = plan_template(&q, &info, &config);
    let explain = |values: &[Value]| template.bind(values, None, 0).explain().join("\n");
    assert!(
        explain(&[Value::Int(20), Value::Int(25)]).contains("btree range age [20, 25]"),
        "{}",
        explain(&[Value::Int(20), Value::Int(25)])
    );
    assert!(explain(&[Value::Null, Value::Int(25)]).contains("full scan"));

    let like = Query::new().filter(Expr::Call {
        func: Func::Like {
            escape: None,
            ignore_case: false,
        },
        args: vec![Expr::Column("name".into()), Expr::Param(0)],
    });
    let template = plan_template(&like, &info, &config);
    let explain = |p: &str| {
        template
            .bind(&[Value::str(p)], None, 0)
            .explain()
            .join("\n")
    };
    assert!(
        explain("n1%").contains("btree range name"),
        "{}",
        explain("n1%")
    );
    assert!(explain("%1").contains("full scan"), "{}", explain("%1"));
}
