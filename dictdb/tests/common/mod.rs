//! Shared helpers of the query-semantics tests: an independent reference model of
//! the DSL (python-api.md §3, §6.6, §7, §8), random tables, predicates and queries,
//! and comparison helpers.
//!
//! The model evaluates predicates over plain [`Record`]s with two-valued logic, as
//! python-api.md §7 states it. It uses `py_eq`, `py_cmp` and `total_cmp` only for
//! the primitive relations between two values; missing fields, NOT, IN with a
//! `None` member, BETWEEN, LIKE (through a regex translation), the string tests and
//! `contains` are written out here.

#![allow(dead_code)]

use dictdb_engine::value::contains_map;
use std::cmp::Ordering;
use std::collections::HashMap;

use dictdb::{
    Agg, Aggregation, Database, Expr, IndexKind, OrderKey, Query, Record, Table, Value, col,
};
use dictdb_engine::value::{
    DateTime, FixedOffset, NaiveDate, NaiveDateTime, py_cmp, py_eq, total_cmp,
};
use proptest::prelude::*;

// ----- values ------------------------------------------------------------------

/// `Value::Int`.
pub fn int(i: i64) -> Value {
    Value::Int(i)
}

/// `Value::Float`.
pub fn float(x: f64) -> Value {
    Value::Float(x)
}

/// `Value::Str`.
pub fn s(x: &str) -> Value {
    Value::str(x)
}

/// `Value::Bytes`.
pub fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.into())
}

/// A list of values.
pub fn list(items: Vec<Value>) -> Value {
    Value::list(items)
}

/// A map with string keys, in this order.
pub fn map(pairs: &[(&str, Value)]) -> Value {
    Value::map(pairs.iter().map(|(k, v)| (*k, v.clone())))
}

/// A date.
pub fn date(y: i32, m: u32, d: u32) -> Value {
    Value::date(y, m, d).expect("valid date")
}

fn ndt(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, 0, 0)
        .unwrap()
}

/// A naive datetime.
pub fn naive_dt(y: i32, m: u32, d: u32, h: u32) -> Value {
    Value::DateTime(DateTime::naive(ndt(y, m, d, h)))
}

/// An aware datetime at a whole-hour offset.
pub fn aware_dt(y: i32, m: u32, d: u32, h: u32, off_h: i32) -> Value {
    Value::DateTime(DateTime::aware(
        ndt(y, m, d, h),
        FixedOffset::east_opt(off_h * 3600).unwrap(),
    ))
}

/// The value of a field as `record.get` reads it (missing → `None`).
pub fn get_or_null<'a>(r: &'a Record, f: &str) -> &'a Value {
    const NULL: &Value = &Value::Null;
    r.get(f).unwrap_or(NULL)
}

/// Missing or `None`.
pub fn is_none(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// Python equality of two rows (dict equality: same keys, `==` values).
pub fn py_record_eq(x: &Record, y: &Record) -> bool {
    x.len() == y.len()
        && x.iter()
            .all(|(n, v)| y.get(n).is_some_and(|w| py_eq(v.as_ref(), w.as_ref())))
}

// ----- generator switches --------------------------------------------------------

/// What the generators may produce. The green properties leave out the inputs of
/// the bugs pinned by the `#[ignore]`d tests; those run the same properties with
/// everything on.
#[derive(Clone, Copy, Debug)]
pub struct Gen {
    /// The same map in two key orders (Python-equal values that differ in the
    /// total order): in rows at top level, and inside lists in rows and constants.
    pub reordered_maps: bool,
    /// DISTINCT in generated queries.
    pub distinct: bool,
    /// Booleans as the item of `contains` (Python: `True in b"\x01"`).
    pub bool_items: bool,
}

impl Gen {
    /// Everything the model covers.
    pub const ALL: Gen = Gen {
        reordered_maps: true,
        distinct: true,
        bool_items: true,
    };
}

// ----- value pools ---------------------------------------------------------------

/// Strings for `b`: ASCII, non-ASCII, LIKE metacharacters, case variants.
pub const STRINGS: &[&str] = &[
    "", "a", "ab", "abc", "abc\n", "b", "ba", "bab", "A", "Ab", "aB", "é", "É", "éa", "aé", "%",
    "_", "a%", "a_b", "a%b", "\\", "a\\", "İ", "x.y", "K",
];

const CHARS: &[char] = &['a', 'b', 'A', 'é', 'É', '%', '_', '\\', '.', 'İ'];

/// Mixed values for `c`: lists, maps (incl. the same map in two key orders),
/// bytes, dates and datetimes, strings, numbers.
pub fn c_pool() -> Vec<Value> {
    vec![
        list(vec![]),
        list(vec![int(1)]),
        list(vec![float(1.0)]),
        list(vec![int(1), int(2)]),
        list(vec![int(2)]),
        list(vec![int(1), s("a")]),
        list(vec![s("a")]),
        map(&[]),
        map(&[("k", int(1))]),
        map(&[("k", int(1)), ("j", int(2))]),
        map(&[("j", int(2)), ("k", int(1))]),
        map(&[("k", s("a"))]),
        bytes(b""),
        bytes(b"ab"),
        bytes(b"\x01"),
        bytes(b"b"),
        date(2024, 1, 1),
        date(2023, 6, 15),
        naive_dt(2024, 1, 1, 0),
        naive_dt(2023, 6, 15, 12),
        aware_dt(2024, 1, 1, 10, 2),
        aware_dt(2024, 1, 1, 8, 0),
        s("k"),
        s("ab"),
        int(1),
        int(97),
        float(2.5),
        Value::Bool(true),
    ]
}

/// Lists holding maps in different key orders: Python-equal, different in the
/// total order.
pub fn nested_map_pool() -> Vec<Value> {
    let m1 = map(&[("k", int(1)), ("j", int(2))]);
    let m2 = map(&[("j", int(2)), ("k", int(1))]);
    vec![
        list(vec![m1.clone()]),
        list(vec![m2.clone()]),
        list(vec![m1.clone(), int(1)]),
        list(vec![m2.clone(), int(2)]),
    ]
}

/// Constants for predicates: every pool, plus `None`.
pub fn const_pool() -> Vec<Value> {
    let mut v = vec![
        Value::Null,
        int(-1),
        int(0),
        int(1),
        int(2),
        int(3),
        float(1.0),
        float(2.0),
        float(2.5),
        float(-0.0),
        Value::Bool(true),
        Value::Bool(false),
        int(9_007_199_254_740_993),
        float(9_007_199_254_740_992.0),
        float(f64::NAN),
        float(f64::INFINITY),
        float(f64::NEG_INFINITY),
        int(i64::MAX),
        int(i64::MIN),
        float(9_223_372_036_854_775_808.0),
        float(-9_223_372_036_854_775_808.0),
    ];
    v.extend(STRINGS.iter().map(|x| s(x)));
    v.extend(c_pool());
    v
}

/// A random string over [`CHARS`], or one of [`STRINGS`].
pub fn string_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(STRINGS).prop_map(str::to_owned),
        2 => prop::collection::vec(prop::sample::select(CHARS), 0..4)
            .prop_map(|cs| cs.into_iter().collect::<String>()),
    ]
}

/// What kind of values a column gets in a table (so typed column storage is hit
/// as well as the generic one).
#[derive(Clone, Copy, Debug)]
pub enum Flavor {
    Mixed,
    Pure,
    NoNulls,
    NullHeavy,
}

fn flavor_strategy() -> impl Strategy<Value = Flavor> {
    prop_oneof![
        3 => Just(Flavor::Mixed),
        2 => Just(Flavor::Pure),
        1 => Just(Flavor::NoNulls),
        1 => Just(Flavor::NullHeavy),
    ]
}

/// `None` = absent, `Some(Value::Null)` = stored `None`.
type Cell = Option<Value>;

fn with_nulls(
    flavor: Flavor,
    inner: impl Strategy<Value = Value> + 'static,
) -> BoxedStrategy<Cell> {
    match flavor {
        Flavor::NoNulls => inner.prop_map(Some).boxed(),
        Flavor::NullHeavy => prop_oneof![
            2 => inner.prop_map(Some),
            1 => Just(Some(Value::Null)),
            1 => Just(None),
        ]
        .boxed(),
        _ => prop_oneof![
            6 => inner.prop_map(Some),
            1 => Just(Some(Value::Null)),
            1 => Just(None),
        ]
        .boxed(),
    }
}

/// `a`: numeric-only (ints, floats, bools) plus `None` / absent.
pub fn a_cell(flavor: Flavor, kind: u8) -> BoxedStrategy<Cell> {
    let ints = prop_oneof![
        10 => (-3i64..=3).prop_map(int),
        1 => Just(int(9_007_199_254_740_993)),
        1 => Just(int(9_007_199_254_740_992)),
    ];
    let floats = prop::sample::select(vec![
        2.0,
        2.5,
        -0.5,
        0.0,
        -0.0,
        1.0,
        9_007_199_254_740_992.0,
    ])
    .prop_map(float);
    match (flavor, kind % 3) {
        (Flavor::Mixed, _) | (Flavor::NullHeavy, 0) => with_nulls(
            flavor,
            prop_oneof![
                4 => ints,
                2 => floats,
                1 => any::<bool>().prop_map(Value::Bool),
            ],
        ),
        (_, 0) => with_nulls(flavor, ints),
        (_, 1) => with_nulls(flavor, floats),
        _ => with_nulls(flavor, any::<bool>().prop_map(Value::Bool)),
    }
}

/// `b`: short strings, sometimes ints.
pub fn b_cell(flavor: Flavor) -> BoxedStrategy<Cell> {
    match flavor {
        Flavor::Mixed | Flavor::NullHeavy => with_nulls(
            flavor,
            prop_oneof![
                6 => string_strategy().prop_map(Value::from),
                1 => (0i64..3).prop_map(int),
            ],
        ),
        _ => with_nulls(flavor, string_strategy().prop_map(Value::from)),
    }
}

/// `c`: mixed values (lists, maps, bytes, dates, …).
pub fn c_cell(flavor: Flavor, g: Gen) -> BoxedStrategy<Cell> {
    let mut pool = c_pool();
    if g.reordered_maps {
        pool.extend(nested_map_pool());
    } else {
        let reordered = map(&[("j", int(2)), ("k", int(1))]);
        pool.retain(|v| !identical(v, &reordered));
    }
    match flavor {
        Flavor::Mixed | Flavor::NullHeavy => with_nulls(flavor, prop::sample::select(pool)),
        // Dates only: a homogeneous non-typed column.
        _ => with_nulls(
            flavor,
            prop::sample::select(vec![date(2024, 1, 1), date(2023, 6, 15), date(2024, 2, 29)]),
        ),
    }
}

// ----- tables ------------------------------------------------------------------

/// How a row's key is given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum IdSpec {
    /// Absent: automatic.
    Auto,
    /// Explicit `None`: automatic, field kept in place.
    Null,
    /// Explicit (sparse, negative, so never colliding with automatic keys).
    Explicit,
}

/// One generated row.
#[derive(Clone, Debug)]
pub struct RowSpec {
    pub id: IdSpec,
    pub a: Cell,
    pub b: Cell,
    pub c: Cell,
    /// Field order: a permutation index of (a, b, c) and where `id` goes.
    pub order: u8,
    pub id_pos: u8,
    /// Deleted after insertion.
    pub deleted: bool,
}

/// A generated table.
#[derive(Clone, Debug)]
pub struct TableSpec {
    pub rows: Vec<RowSpec>,
    /// Explicit keys (shuffled), used in row order by explicit rows.
    pub keys: Vec<i64>,
    /// Secondary index on a, b, c: 0 none, 1 hash, 2 sorted.
    pub indexes: [u8; 3],
    /// Create the indexes before inserting.
    pub index_first: bool,
    /// Insert one by one instead of in one batch.
    pub one_by_one: bool,
}

fn row_strategy(
    fa: Flavor,
    ka: u8,
    fb: Flavor,
    fc: Flavor,
    id_mode: u8,
    g: Gen,
) -> impl Strategy<Value = RowSpec> {
    let id = match id_mode {
        0 => Just(IdSpec::Auto).boxed(),
        1 => Just(IdSpec::Explicit).boxed(),
        _ => prop_oneof![
            2 => Just(IdSpec::Auto),
            1 => Just(IdSpec::Null),
            3 => Just(IdSpec::Explicit),
        ]
        .boxed(),
    };
    (
        id,
        a_cell(fa, ka),
        b_cell(fb),
        c_cell(fc, g),
        0u8..6,
        0u8..4,
        prop::bool::weighted(0.15),
    )
        .prop_map(|(id, a, b, c, order, id_pos, deleted)| RowSpec {
            id,
            a,
            b,
            c,
            order,
            id_pos,
            deleted,
        })
}

/// Random tables of `0..max_rows` rows.
pub fn table_strategy(max_rows: usize, g: Gen) -> impl Strategy<Value = TableSpec> {
    (
        flavor_strategy(),
        0u8..3,
        flavor_strategy(),
        flavor_strategy(),
        0u8..3,
        [0u8..3, 0u8..3, 0u8..3],
        any::<bool>(),
        prop::bool::weighted(0.2),
    )
        .prop_flat_map(
            move |(fa, ka, fb, fc, id_mode, indexes, index_first, one_by_one)| {
                let keys: Vec<i64> = (0..max_rows as i64).map(|i| -3 * i - 1).collect();
                (
                    prop::collection::vec(row_strategy(fa, ka, fb, fc, id_mode, g), 0..max_rows),
                    Just(keys).prop_shuffle(),
                )
                    .prop_map(move |(rows, keys)| TableSpec {
                        rows,
                        keys,
                        indexes,
                        index_first,
                        one_by_one,
                    })
            },
        )
}

/// The record a row spec inserts.
pub fn input_record(row: &RowSpec, key: i64) -> Record {
    const PERMS: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let cells = [("a", &row.a), ("b", &row.b), ("c", &row.c)];
    let mut fields: Vec<(&str, Value)> = Vec::new();
    for &i in &PERMS[row.order as usize % 6] {
        if let (name, Some(v)) = cells[i] {
            fields.push((name, v.clone()));
        }
    }
    let id = match row.id {
        IdSpec::Auto => None,
        IdSpec::Null => Some(Value::Null),
        IdSpec::Explicit => Some(int(key)),
    };
    if let Some(id) = id {
        let at = (row.id_pos as usize).min(fields.len());
        fields.insert(at, ("id", id));
    }
    fields.into_iter().collect()
}

/// The index kind of a spec code.
pub fn kind_of(code: u8) -> Option<IndexKind> {
    match code {
        1 => Some(IndexKind::Hash),
        2 => Some(IndexKind::Sorted),
        _ => None,
    }
}

/// A built table and its model: the rows the table should hold, in insertion
/// order, fields in order.
pub struct Built {
    pub db: Database,
    pub table: Table,
    pub model: Vec<Record>,
}

/// Builds a table from a spec; the model is derived from the inputs and the keys
/// `insert_many` returned (a record's key field keeps its place; an absent one is
/// appended).
pub fn build(spec: &TableSpec) -> Built {
    let db = Database::new();
    let table = db.create_table("t", "id").unwrap();
    let create_indexes = |t: &Table| {
        for (f, &code) in ["a", "b", "c"].iter().zip(&spec.indexes) {
            if let Some(k) = kind_of(code) {
                assert!(t.create_index(f, k));
            }
        }
    };
    if spec.index_first {
        create_indexes(&table);
    }
    let records: Vec<Record> = spec
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| input_record(r, spec.keys[i]))
        .collect();
    let keys = if spec.one_by_one {
        records
            .iter()
            .map(|r| table.insert(r.clone()).unwrap())
            .collect()
    } else {
        table.insert_many(records.clone()).unwrap()
    };
    let mut model: Vec<Record> = records
        .into_iter()
        .zip(keys)
        .map(|(mut r, k)| {
            r.set("id", k);
            r
        })
        .collect();
    if !spec.index_first {
        create_indexes(&table);
    }
    let mut keep = Vec::new();
    for (r, spec_row) in model.drain(..).zip(&spec.rows) {
        if spec_row.deleted {
            let n = table
                .delete(&col("id").eq(r.get("id").unwrap().clone()))
                .unwrap();
            assert_eq!(n, 1);
        } else {
            keep.push(r);
        }
    }
    assert_eq!(table.len(), keep.len());
    Built {
        db,
        table,
        model: keep,
    }
}

/// The table's rows in insertion order.
pub fn all_rows(t: &Table) -> Vec<Record> {
    t.select(Query::new()).unwrap()
}

// ----- predicates --------------------------------------------------------------

/// A DSL predicate, as the test generated it.
#[derive(Clone, Debug)]
pub enum ModelPred {
    Eq(String, Value),
    Ne(String, Value),
    Lt(String, Value),
    Le(String, Value),
    Gt(String, Value),
    Ge(String, Value),
    In(String, Vec<Value>),
    Between(String, Value, Value),
    Like {
        field: String,
        pattern: String,
        escape: Option<char>,
        ilike: bool,
    },
    StartsWith(String, Vec<String>),
    EndsWith(String, Vec<String>),
    Contains(String, Value),
    IEquals(String, String),
    IContains(String, String),
    IStartsWith(String, String),
    IEndsWith(String, String),
    IsNull(String),
    IsNotNull(String),
    And(Box<ModelPred>, Box<ModelPred>),
    Or(Box<ModelPred>, Box<ModelPred>),
    Not(Box<ModelPred>),
}

use ModelPred as P;

impl ModelPred {
    /// The same predicate built with the DSL.
    pub fn to_expr(&self) -> Expr {
        match self {
            P::Eq(f, v) => col(f).eq(v.clone()),
            P::Ne(f, v) => col(f).ne(v.clone()),
            P::Lt(f, v) => col(f).lt(v.clone()),
            P::Le(f, v) => col(f).le(v.clone()),
            P::Gt(f, v) => col(f).gt(v.clone()),
            P::Ge(f, v) => col(f).ge(v.clone()),
            P::In(f, vs) => col(f).is_in(vs.clone()),
            P::Between(f, lo, hi) => col(f).between(lo.clone(), hi.clone()),
            P::Like {
                field,
                pattern,
                escape,
                ilike,
            } => match (escape, ilike) {
                (None, false) => col(field).like(pattern),
                (None, true) => col(field).ilike(pattern),
                (e, i) => col(field).like_with(pattern, *e, *i),
            },
            P::StartsWith(f, ns) if ns.len() == 1 => col(f).starts_with(&ns[0]),
            P::StartsWith(f, ns) => col(f).starts_with_any(ns.clone()),
            P::EndsWith(f, ns) if ns.len() == 1 => col(f).ends_with(&ns[0]),
            P::EndsWith(f, ns) => col(f).ends_with_any(ns.clone()),
            P::Contains(f, v) => col(f).contains(v.clone()),
            P::IEquals(f, x) => col(f).iequals(x),
            P::IContains(f, x) => col(f).icontains(x),
            P::IStartsWith(f, x) => col(f).istarts_with(x),
            P::IEndsWith(f, x) => col(f).iends_with(x),
            P::IsNull(f) => col(f).is_null(),
            P::IsNotNull(f) => col(f).is_not_null(),
            P::And(a, b) => a.to_expr() & b.to_expr(),
            P::Or(a, b) => a.to_expr() | b.to_expr(),
            P::Not(a) => !a.to_expr(),
        }
    }
}

/// An ordering predicate: defined (§3.3) and holding; false otherwise.
fn ordered(v: Option<&Value>, x: &Value, ok: fn(Ordering) -> bool) -> bool {
    match v {
        None | Some(Value::Null) => false,
        _ if x.is_null() => false,
        Some(v) => py_cmp(v.as_ref(), x.as_ref()).is_some_and(ok),
    }
}

fn equals(v: Option<&Value>, x: &Value) -> bool {
    if x.is_null() {
        is_none(v)
    } else {
        v.is_some_and(|v| !v.is_null() && py_eq(v.as_ref(), x.as_ref()))
    }
}

/// The regex of a LIKE pattern (§7.2): `%` any run, `_` one character, the escape
/// character makes the next one literal (alone at the end it is literal), every
/// other character literal; lowercased literals for ILIKE.
pub fn like_regex(pattern: &str, escape: Option<char>, ilike: bool) -> regex::Regex {
    let lit = |c: char| {
        if ilike {
            regex::escape(&c.to_lowercase().to_string())
        } else {
            regex::escape(&c.to_string())
        }
    };
    let mut re = String::from(r"(?s)\A(?:");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            re.push_str(&lit(chars.next().unwrap_or(c)));
        } else if c == '%' {
            re.push_str(".*");
        } else if c == '_' {
            re.push('.');
        } else {
            re.push_str(&lit(c));
        }
    }
    re.push_str(r")\z");
    regex::Regex::new(&re).unwrap()
}

/// A LIKE pattern, its escape character and ILIKE.
type LikeKey = (String, Option<char>, bool);

/// LIKE / ILIKE on a value (strings only).
pub fn like_matches(v: Option<&Value>, pattern: &str, escape: Option<char>, ilike: bool) -> bool {
    match v {
        Some(Value::Str(x)) => {
            let x = if ilike {
                x.to_lowercase()
            } else {
                x.to_string()
            };
            thread_local! {
                static CACHE: std::cell::RefCell<HashMap<LikeKey, regex::Regex>> =
                    std::cell::RefCell::new(HashMap::new());
            }
            CACHE.with(|c| {
                c.borrow_mut()
                    .entry((pattern.to_owned(), escape, ilike))
                    .or_insert_with(|| like_regex(pattern, escape, ilike))
                    .is_match(&x)
            })
        }
        _ => false,
    }
}

/// The literal prefix of a LIKE pattern (escapes resolved), before any wildcard.
pub fn like_prefix(pattern: &str, escape: Option<char>) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            out.push(chars.next().unwrap_or(c));
        } else if c == '%' || c == '_' {
            break;
        } else {
            out.push(c);
        }
    }
    out
}

/// Python's `item in v`; false where Python would raise.
pub fn py_contains(v: Option<&Value>, item: &Value) -> bool {
    match (v, item) {
        (None | Some(Value::Null), _) => false,
        (Some(Value::Str(x)), Value::Str(i)) => x.contains(&**i),
        (Some(Value::List(l)), i) => l.iter().any(|x| py_eq(x.as_ref(), i.as_ref())),
        (Some(Value::Map(m)), Value::Str(k)) => m.iter().any(|(key, _)| **key == **k),
        (Some(Value::Bytes(b)), Value::Bytes(i)) => {
            i.is_empty() || b.windows(i.len()).any(|w| w == &**i)
        }
        (Some(Value::Bytes(b)), Value::Int(i)) => (0..256).contains(i) && b.contains(&(*i as u8)),
        (Some(Value::Bytes(b)), Value::Bool(x)) => b.contains(&(*x as u8)),
        _ => false,
    }
}

fn str_test(
    v: Option<&Value>,
    needles: &[String],
    ignore_case: bool,
    op: fn(&str, &str) -> bool,
) -> bool {
    match v {
        Some(Value::Str(x)) => needles.iter().any(|n| {
            if ignore_case {
                op(&x.to_lowercase(), &n.to_lowercase())
            } else {
                op(x, n)
            }
        }),
        _ => false,
    }
}

/// The reference evaluator: two-valued, python-api.md §7.
pub fn model_eval(pred: &ModelPred, rec: &Record) -> bool {
    let g = |f: &str| rec.get(f);
    match pred {
        P::Eq(f, x) => equals(g(f), x),
        P::Ne(f, x) => !equals(g(f), x),
        P::Lt(f, x) => ordered(g(f), x, Ordering::is_lt),
        P::Le(f, x) => ordered(g(f), x, Ordering::is_le),
        P::Gt(f, x) => ordered(g(f), x, Ordering::is_gt),
        P::Ge(f, x) => ordered(g(f), x, Ordering::is_ge),
        P::In(f, xs) => xs.iter().any(|x| equals(g(f), x)),
        P::Between(f, lo, hi) => match g(f) {
            None | Some(Value::Null) => false,
            Some(v) => {
                !lo.is_null()
                    && !hi.is_null()
                    && py_cmp(lo.as_ref(), v.as_ref()).is_some_and(Ordering::is_le)
                    && py_cmp(v.as_ref(), hi.as_ref()).is_some_and(Ordering::is_le)
            }
        },
        P::Like {
            field,
            pattern,
            escape,
            ilike,
        } => like_matches(g(field), pattern, *escape, *ilike),
        P::StartsWith(f, ns) => str_test(g(f), ns, false, |x, n| x.starts_with(n)),
        P::EndsWith(f, ns) => str_test(g(f), ns, false, |x, n| x.ends_with(n)),
        P::Contains(f, item) => py_contains(g(f), item),
        P::IEquals(f, n) => str_test(g(f), std::slice::from_ref(n), true, |x, n| x == n),
        P::IContains(f, n) => str_test(g(f), std::slice::from_ref(n), true, |x, n| x.contains(n)),
        P::IStartsWith(f, n) => {
            str_test(g(f), std::slice::from_ref(n), true, |x, n| x.starts_with(n))
        }
        P::IEndsWith(f, n) => str_test(g(f), std::slice::from_ref(n), true, |x, n| x.ends_with(n)),
        P::IsNull(f) => is_none(g(f)),
        P::IsNotNull(f) => !is_none(g(f)),
        P::And(a, b) => model_eval(a, rec) && model_eval(b, rec),
        P::Or(a, b) => model_eval(a, rec) || model_eval(b, rec),
        P::Not(a) => !model_eval(a, rec),
    }
}

/// The same predicate with every field replaced by `f`.
pub fn on_field(p: &ModelPred, f: &str) -> ModelPred {
    let f = f.to_owned();
    let b = |p: &ModelPred| Box::new(on_field(p, &f));
    match p {
        P::Eq(_, v) => P::Eq(f, v.clone()),
        P::Ne(_, v) => P::Ne(f, v.clone()),
        P::Lt(_, v) => P::Lt(f, v.clone()),
        P::Le(_, v) => P::Le(f, v.clone()),
        P::Gt(_, v) => P::Gt(f, v.clone()),
        P::Ge(_, v) => P::Ge(f, v.clone()),
        P::In(_, vs) => P::In(f, vs.clone()),
        P::Between(_, lo, hi) => P::Between(f, lo.clone(), hi.clone()),
        P::Like {
            pattern,
            escape,
            ilike,
            ..
        } => P::Like {
            field: f,
            pattern: pattern.clone(),
            escape: *escape,
            ilike: *ilike,
        },
        P::StartsWith(_, ns) => P::StartsWith(f, ns.clone()),
        P::EndsWith(_, ns) => P::EndsWith(f, ns.clone()),
        P::Contains(_, v) => P::Contains(f, v.clone()),
        P::IEquals(_, x) => P::IEquals(f, x.clone()),
        P::IContains(_, x) => P::IContains(f, x.clone()),
        P::IStartsWith(_, x) => P::IStartsWith(f, x.clone()),
        P::IEndsWith(_, x) => P::IEndsWith(f, x.clone()),
        P::IsNull(_) => P::IsNull(f),
        P::IsNotNull(_) => P::IsNotNull(f),
        P::And(x, y) => P::And(b(x), b(y)),
        P::Or(x, y) => P::Or(b(x), b(y)),
        P::Not(x) => P::Not(b(x)),
    }
}

/// Fields predicates and queries refer to (`zz` is never stored).
pub const FIELDS: &[&str] = &["a", "b", "c", "id", "zz"];

fn field_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("a".to_owned()),
        3 => Just("b".to_owned()),
        3 => Just("c".to_owned()),
        1 => Just("id".to_owned()),
        1 => Just("zz".to_owned()),
    ]
}

/// A constant for a comparison: mostly of the field's own kind.
pub fn const_strategy(g: Gen) -> impl Strategy<Value = Value> {
    let mut ids: Vec<Value> = (-10..=10).map(int).collect();
    ids.push(float(1.0));
    let nested = if g.reordered_maps {
        nested_map_pool()
    } else {
        vec![Value::Null]
    };
    prop_oneof![
        4 => prop::sample::select(const_pool()),
        1 => string_strategy().prop_map(Value::from),
        1 => prop::sample::select(ids),
        1 => prop::sample::select(nested),
    ]
}

fn pattern_strategy() -> impl Strategy<Value = (String, Option<char>)> {
    let pat_chars = prop::sample::select(vec![
        'a', 'b', 'A', 'é', 'É', '%', '%', '_', '\\', '!', '.', 'İ',
    ]);
    (
        prop::collection::vec(pat_chars, 0..6).prop_map(|cs| cs.into_iter().collect::<String>()),
        prop_oneof![
            3 => Just(None),
            1 => Just(Some('\\')),
            1 => Just(Some('!')),
            1 => Just(Some('%')),
        ],
    )
}

/// One leaf predicate.
pub fn leaf_strategy(g: Gen) -> BoxedStrategy<ModelPred> {
    let f = field_strategy;
    let c = || const_strategy(g);
    let needles = || prop::collection::vec(string_strategy(), 0..3);
    prop_oneof![
        3 => (f(), c()).prop_map(|(f, v)| P::Eq(f, v)),
        2 => (f(), c()).prop_map(|(f, v)| P::Ne(f, v)),
        1 => (f(), c()).prop_map(|(f, v)| P::Lt(f, v)),
        1 => (f(), c()).prop_map(|(f, v)| P::Le(f, v)),
        1 => (f(), c()).prop_map(|(f, v)| P::Gt(f, v)),
        1 => (f(), c()).prop_map(|(f, v)| P::Ge(f, v)),
        2 => (f(), prop::collection::vec(c(), 0..4)).prop_map(|(f, vs)| P::In(f, vs)),
        2 => (f(), c(), c()).prop_map(|(f, lo, hi)| P::Between(f, lo, hi)),
        2 => (f(), pattern_strategy(), any::<bool>()).prop_map(|(field, (pattern, escape), ilike)| {
            P::Like { field, pattern, escape, ilike }
        }),
        1 => (f(), needles()).prop_map(|(f, ns)| P::StartsWith(f, ns)),
        1 => (f(), needles()).prop_map(|(f, ns)| P::EndsWith(f, ns)),
        2 => (f(), c()).prop_map(move |(f, v)| match v {
            Value::Bool(b) if !g.bool_items => P::Contains(f, int(b as i64)),
            v => P::Contains(f, v),
        }),
        1 => (f(), string_strategy()).prop_map(|(f, x)| P::IEquals(f, x)),
        1 => (f(), string_strategy()).prop_map(|(f, x)| P::IContains(f, x)),
        1 => (f(), string_strategy()).prop_map(|(f, x)| P::IStartsWith(f, x)),
        1 => (f(), string_strategy()).prop_map(|(f, x)| P::IEndsWith(f, x)),
        1 => f().prop_map(P::IsNull),
        1 => f().prop_map(P::IsNotNull),
    ]
    .boxed()
}

/// Combines leaves into trees of depth ≤ 3 with `&`, `|` and `~`.
pub fn tree_strategy(leaf: BoxedStrategy<ModelPred>) -> BoxedStrategy<ModelPred> {
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| P::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| P::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| P::Not(Box::new(a))),
        ]
    })
    .boxed()
}

/// Random predicate trees over a, b, c, id and zz.
pub fn pred_strategy(g: Gen) -> BoxedStrategy<ModelPred> {
    tree_strategy(leaf_strategy(g))
}

// ----- index expectations (§7.6) -----------------------------------------------

/// What §7.6 says of a predicate's access path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum IndexUse {
    /// An index is expected.
    Expected,
    /// No index may be used (scan).
    Scan,
    /// Either is allowed.
    Either,
}

/// The index kinds of a table's fields.
pub type Kinds = HashMap<String, IndexKind>;

/// The kinds of a spec's indexes.
pub fn kinds_of(spec: &TableSpec) -> Kinds {
    ["a", "b", "c"]
        .iter()
        .zip(&spec.indexes)
        .filter_map(|(f, &c)| kind_of(c).map(|k| (f.to_string(), k)))
        .collect()
}

/// §7.6 applied to a predicate.
pub fn index_use(pred: &ModelPred, kinds: &Kinds) -> IndexUse {
    use IndexUse::*;
    let kind = |f: &str| kinds.get(f).copied();
    let sorted = |f: &str| kind(f) == Some(IndexKind::Sorted);
    // A sorted index keys maps by stored key order while Python equality ignores
    // it, so for constants holding a map the planner may scan instead.
    let has_map = |vals: &[&Value]| vals.iter().any(|v| contains_map(v.as_ref()));
    let range = |f: &str, vals: &[&Value]| {
        if !sorted(f) {
            Scan
        } else if vals.iter().any(|v| v.is_null()) || has_map(vals) {
            Either
        } else {
            Expected
        }
    };
    match pred {
        // The key is never `None`: `id == None` is empty, with or without a lookup.
        P::Eq(f, v) if f == "id" && v.is_null() => Either,
        P::IsNull(f) if f == "id" => Either,
        P::Eq(f, _) if f == "id" => Expected,
        P::Eq(f, v) if sorted(f) && has_map(&[v]) => Either,
        P::In(f, vs) if f != "id" && sorted(f) && has_map(&vs.iter().collect::<Vec<_>>()) => Either,
        P::Eq(f, _) | P::IsNull(f) => {
            if kind(f).is_some() {
                Expected
            } else {
                Scan
            }
        }
        P::In(f, _) if f == "id" => Either,
        P::In(f, _) => {
            if kind(f).is_some() {
                Expected
            } else {
                Scan
            }
        }
        P::Lt(f, v) | P::Le(f, v) | P::Gt(f, v) | P::Ge(f, v) => range(f, &[v]),
        P::Between(f, lo, hi) => range(f, &[lo, hi]),
        P::Like {
            field,
            pattern,
            escape,
            ilike,
        } => {
            if !*ilike && sorted(field) && !like_prefix(pattern, *escape).is_empty() {
                Expected
            } else {
                Scan
            }
        }
        P::Ne(..)
        | P::StartsWith(..)
        | P::EndsWith(..)
        | P::Contains(..)
        | P::IEquals(..)
        | P::IContains(..)
        | P::IStartsWith(..)
        | P::IEndsWith(..)
        | P::IsNotNull(..)
        | P::Not(..) => Scan,
        P::And(a, b) => match (index_use(a, kinds), index_use(b, kinds)) {
            (Expected, _) | (_, Expected) => Expected,
            (Scan, Scan) => Scan,
            _ => Either,
        },
        P::Or(a, b) => match (index_use(a, kinds), index_use(b, kinds)) {
            (Expected, Expected) => Expected,
            (Scan, _) | (_, Scan) => Scan,
            _ => Either,
        },
    }
}

/// Checks the access line of `table.explain(q)` against §7.6.
pub fn check_explain(table: &Table, q: &Query, expect: IndexUse) -> Result<(), String> {
    let lines = table.explain(q);
    let last = lines.last().cloned().unwrap_or_default();
    let scan = last.starts_with("full scan");
    match expect {
        IndexUse::Expected if scan => Err(format!("expected an index, plan: {lines:?}")),
        IndexUse::Scan if !scan => Err(format!("expected a full scan, plan: {lines:?}")),
        _ => Ok(()),
    }
}

// ----- queries -------------------------------------------------------------------

/// A generated SELECT.
#[derive(Clone, Debug)]
pub struct ModelQuery {
    pub pred: Option<ModelPred>,
    /// (field, descending).
    pub order: Vec<(String, bool)>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub distinct: bool,
    pub columns: Option<Vec<String>>,
}

impl ModelQuery {
    /// The DSL query.
    pub fn to_query(&self) -> Query {
        let mut q = Query::new();
        if let Some(p) = &self.pred {
            q = q.filter(p.to_expr());
        }
        for (f, desc) in &self.order {
            q = if *desc {
                // Both spellings of a descending key.
                if f.len() % 2 == 0 {
                    q.order_by_desc(f)
                } else {
                    q.order_by_key(OrderKey::parse(&format!("-{f}")))
                }
            } else {
                q.order_by(f)
            };
        }
        if let Some(l) = self.limit {
            q = q.limit(l);
        }
        if let Some(o) = self.offset {
            q = q.offset(o);
        }
        if self.distinct {
            q = q.distinct();
        }
        if let Some(cols) = &self.columns {
            q = q.columns(cols.iter().map(String::as_str));
        }
        q
    }

    /// The same query without LIMIT and OFFSET.
    pub fn unpaged(&self) -> ModelQuery {
        ModelQuery {
            limit: None,
            offset: None,
            ..self.clone()
        }
    }
}

fn paging_strategy() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        3 => Just(None),
        1 => (-3i64..0).prop_map(Some),
        1 => Just(Some(0)),
        3 => (1i64..12).prop_map(Some),
        1 => (12i64..80).prop_map(Some),
    ]
}

/// Sort keys: 0–2 fields, each ascending or descending.
pub fn order_strategy(min: usize) -> impl Strategy<Value = Vec<(String, bool)>> {
    prop::collection::vec(
        (
            prop::sample::select(FIELDS).prop_map(str::to_owned),
            any::<bool>(),
        ),
        min..3,
    )
}

/// A projection: a subset of the fields (possibly empty), in random order.
pub fn columns_strategy() -> impl Strategy<Value = Option<Vec<String>>> {
    prop_oneof![
        1 => Just(None),
        2 => prop::sample::subsequence(FIELDS.to_vec(), 0..4)
            .prop_shuffle()
            .prop_map(|fs| Some(fs.into_iter().map(str::to_owned).collect())),
    ]
}

/// Random queries over [`pred_strategy`] predicates.
pub fn query_strategy(g: Gen) -> impl Strategy<Value = ModelQuery> {
    (
        prop::option::weighted(0.85, pred_strategy(g)),
        order_strategy(0),
        paging_strategy(),
        paging_strategy(),
        prop::bool::weighted(if g.distinct { 0.4 } else { 0.0 }),
        columns_strategy(),
    )
        .prop_map(
            |(pred, order, limit, offset, distinct, columns)| ModelQuery {
                pred,
                order,
                limit,
                offset,
                distinct,
                columns,
            },
        )
}

/// Compares two rows under the sort keys: the total order, missing as `None`,
/// each key in its direction.
pub fn cmp_rows(x: &Record, y: &Record, order: &[(String, bool)]) -> Ordering {
    for (f, desc) in order {
        let o = total_cmp(get_or_null(x, f).as_ref(), get_or_null(y, f).as_ref());
        let o = if *desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Python's `rows[offset : offset + limit]` with negatives clamped.
pub fn page<T: Clone>(rows: &[T], offset: Option<i64>, limit: Option<i64>) -> Vec<T> {
    let off = offset.unwrap_or(0).max(0) as usize;
    let start = off.min(rows.len());
    let end = match limit {
        Some(l) if l >= 0 => (off + l as usize).min(rows.len()),
        _ => rows.len(),
    };
    rows[start..end.max(start)].to_vec()
}

/// The select pipeline of §6.6 over the model's rows.
pub fn model_select(rows: &[Record], q: &ModelQuery) -> Vec<Record> {
    let mut out: Vec<Record> = rows
        .iter()
        .filter(|r| q.pred.as_ref().is_none_or(|p| model_eval(p, r)))
        .cloned()
        .collect();
    out.sort_by(|x, y| cmp_rows(x, y, &q.order));
    if let Some(cols) = &q.columns {
        out = out
            .iter()
            .map(|r| {
                cols.iter()
                    .map(|c| (c.as_str(), get_or_null(r, c).clone()))
                    .collect()
            })
            .collect();
    }
    if q.distinct {
        let mut kept: Vec<Record> = Vec::new();
        for r in out {
            if !kept.iter().any(|k| py_record_eq(k, &r)) {
                kept.push(r);
            }
        }
        out = kept;
    }
    page(&out, q.offset, q.limit)
}

/// The fields of a record, in order.
pub fn names(r: &Record) -> Vec<String> {
    r.names().map(|n| n.to_string()).collect()
}

/// Exact equality of result lists: same rows, same values (same variants), same
/// field order.
pub fn same_rows(actual: &[Record], expected: &[Record]) -> Result<(), String> {
    if actual.len() != expected.len() {
        return Err(format!(
            "{} rows, expected {}\n actual:   {}\n expected: {}",
            actual.len(),
            expected.len(),
            show(actual),
            show(expected)
        ));
    }
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let same = names(a) == names(e)
            && a.iter()
                .zip(e.iter())
                .all(|((_, x), (_, y))| identical(x, y));
        if !same {
            return Err(format!(
                "row {i} differs: {a} vs expected {e}\n actual:   {}\n expected: {}",
                show(actual),
                show(expected)
            ));
        }
    }
    Ok(())
}

/// The same value: same variant, same data (NaN is identical to NaN).
pub fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| identical(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((k, p), (l, q))| k == l && identical(p, q))
        }
        _ => a == b,
    }
}

/// Rows as Python-like text.
pub fn show(rows: &[Record]) -> String {
    let v: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    format!("[{}]", v.join(", "))
}

// ----- aggregates --------------------------------------------------------------

/// A generated aggregate.
#[derive(Clone, Debug)]
pub enum ModelAgg {
    Count,
    CountField(String),
    Sum(String),
    Avg(String),
    Min(String),
    Max(String),
}

impl ModelAgg {
    /// The library's aggregate.
    pub fn to_agg(&self) -> Agg {
        match self {
            ModelAgg::Count => Agg::count(),
            ModelAgg::CountField(f) => Agg::count_field(f),
            ModelAgg::Sum(f) => Agg::sum(f),
            ModelAgg::Avg(f) => Agg::avg(f),
            ModelAgg::Min(f) => Agg::min(f),
            ModelAgg::Max(f) => Agg::max(f),
        }
    }

    /// §8 over the rows of one group.
    pub fn compute(&self, rows: &[&Record]) -> Value {
        let values = |f: &str| -> Vec<Value> {
            rows.iter()
                .map(|r| get_or_null(r, f).clone())
                .filter(|v| !v.is_null())
                .collect()
        };
        match self {
            ModelAgg::Count => int(rows.len() as i64),
            ModelAgg::CountField(f) => int(values(f).len() as i64),
            ModelAgg::Sum(f) => sum(&values(f)),
            ModelAgg::Avg(f) => {
                let vs = values(f);
                if vs.is_empty() {
                    return Value::Null;
                }
                let total = match sum(&vs) {
                    Value::Int(i) => i as f64,
                    Value::Float(x) => x,
                    other => panic!("sum gave {other}"),
                };
                float(total / vs.len() as f64)
            }
            ModelAgg::Min(f) => extreme(values(f), Ordering::Less),
            ModelAgg::Max(f) => extreme(values(f), Ordering::Greater),
        }
    }
}

fn sum(vs: &[Value]) -> Value {
    if vs.is_empty() {
        return Value::Null;
    }
    let num = |v: &Value| -> (i128, f64, bool) {
        match v {
            Value::Int(i) => (*i as i128, *i as f64, false),
            Value::Bool(b) => (*b as i128, *b as i64 as f64, false),
            Value::Float(x) => (0, *x, true),
            other => panic!("non-numeric {other} in a numeric field"),
        }
    };
    if vs.iter().any(|v| num(v).2) {
        float(vs.iter().map(|v| num(v).1).sum())
    } else {
        int(i64::try_from(vs.iter().map(|v| num(v).0).sum::<i128>()).expect("no overflow"))
    }
}

/// The first value that no later value beats in direction `want` (Python's
/// `min`/`max` keep the first of equal values).
fn extreme(vs: Vec<Value>, want: Ordering) -> Value {
    let mut best: Option<Value> = None;
    for v in vs {
        match &best {
            Some(b) if total_cmp(v.as_ref(), b.as_ref()) != want => {}
            _ => best = Some(v),
        }
    }
    best.unwrap_or(Value::Null)
}

/// A generated aggregation.
#[derive(Clone, Debug)]
pub struct ModelAggregation {
    pub pred: Option<ModelPred>,
    pub group_by: Vec<String>,
    /// Named `r0`, `r1`, …
    pub aggs: Vec<ModelAgg>,
}

impl ModelAggregation {
    /// The library's aggregation.
    pub fn to_aggregation(&self) -> Aggregation {
        let mut a = Aggregation::new();
        if let Some(p) = &self.pred {
            a = a.filter(p.to_expr());
        }
        if !self.group_by.is_empty() {
            a = a.group_by(self.group_by.iter().map(String::as_str));
        }
        for (i, g) in self.aggs.iter().enumerate() {
            a = a.agg(&format!("r{i}"), g.to_agg());
        }
        a
    }
}

/// §6.12 / §8 over the model's rows.
pub fn model_aggregate(rows: &[Record], a: &ModelAggregation) -> Vec<Record> {
    let matching: Vec<&Record> = rows
        .iter()
        .filter(|r| a.pred.as_ref().is_none_or(|p| model_eval(p, r)))
        .collect();
    let mut groups: Vec<(Vec<Value>, Vec<&Record>)> = Vec::new();
    if a.group_by.is_empty() {
        groups.push((Vec::new(), matching));
    } else {
        for r in matching {
            let key: Vec<Value> = a
                .group_by
                .iter()
                .map(|f| get_or_null(r, f).clone())
                .collect();
            let found = groups.iter_mut().find(|(k, _)| {
                k.iter()
                    .zip(&key)
                    .all(|(x, y)| py_eq(x.as_ref(), y.as_ref()))
            });
            match found {
                Some((_, members)) => members.push(r),
                None => groups.push((key, vec![r])),
            }
        }
    }
    groups
        .into_iter()
        .map(|(key, members)| {
            let mut out = Record::new();
            for (f, v) in a.group_by.iter().zip(key) {
                out.set(f.as_str(), v);
            }
            for (i, g) in a.aggs.iter().enumerate() {
                out.set(format!("r{i}"), g.compute(&members));
            }
            out
        })
        .collect()
}

/// Equal values, floats within a relative tolerance of 1e-9.
pub fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            identical(a, b) || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-300)
        }
        _ => identical(a, b),
    }
}

/// Aggregate results equal: same records, same field order, floats close.
pub fn same_agg_rows(actual: &[Record], expected: &[Record]) -> Result<(), String> {
    let ok = actual.len() == expected.len()
        && actual.iter().zip(expected).all(|(a, e)| {
            names(a) == names(e) && a.iter().zip(e.iter()).all(|((_, x), (_, y))| close(x, y))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "aggregate differs\n actual:   {}\n expected: {}",
            show(actual),
            show(expected)
        ))
    }
}
