//! Differential test of SQL text against SQLite: the same statements through
//! `Database::execute` and through rusqlite, compared after every statement.
//!
//! A case is a typed table `t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT
//! [NOT NULL], b BOOLEAN)` with rows (NULLs included), optional dictdb indexes (made
//! through the Rust API), the planner with every rule on or every rule off, and a
//! sequence of statements:
//!
//! - SELECT: WHERE trees (comparisons, AND/OR/NOT, BETWEEN, IN lists, LIKE with
//!   ESCAPE, IS [NOT] NULL, IS [NOT] TRUE/FALSE, numbers and booleans as conditions),
//!   projections of columns and expressions (or `*`), DISTINCT, ORDER BY a total
//!   order (keys ending in the primary key; with DISTINCT, every select item by
//!   ordinal) with NULLS FIRST/LAST and LIMIT/OFFSET; without ORDER BY the rows are
//!   compared as multisets (and there is no LIMIT).
//! - INSERT of one to four rows (duplicate keys, NULL in a NOT NULL column: both must
//!   reject the whole statement), UPDATE (typed SET expressions, re-keying), DELETE.
//!
//! After each statement: the same rows (floats within 1e-9 relative), or the same
//! affected count, or both an error; after a write, the whole table.
//!
//! The statements stay inside what sql.md shares with SQLite: `PRAGMA
//! case_sensitive_like = ON`; comparisons never mix text and numbers (type affinity
//! differs); no integer overflow (small values, at most three leaves per arithmetic
//! expression, bounded growth through UPDATE); `/` and `%` only by non-zero literals
//! and `%` only on integers; booleans only from boolean expressions (SQLite returns
//! them as 0/1, so dictdb's booleans are compared as 0/1); re-keying only in ways
//! SQLite's row-at-a-time uniqueness check agrees with (see [`Update`]); no NULL key
//! (auto keys are assigned differently).
//!
//! TODO, as dictdb's SQL grows (each a new variant of [`Stmt`] / [`Num`] / [`Item`]):
//! - GROUP BY / HAVING with COUNT(*), COUNT(x), COUNT(DISTINCT x), SUM, AVG, MIN, MAX
//!   (groups compared as multisets; SUM overflow kept out like `+`);
//! - scalar functions lower, upper, length, abs, round, coalesce, nullif, substr, trim,
//!   and CASE WHEN (as [`Num`] / text expressions);
//! - INSERT … ON CONFLICT DO NOTHING / DO UPDATE (SQLite's UPSERT), RETURNING;
//! - CREATE INDEX in SQL instead of the Rust API.
//!
//! `SQL_SQLITE_CASES` sets the number of cases (default 96).

use std::cmp::Ordering;
use std::fmt::{self, Write as _};

use dictdb::{Database, IndexKind, Output, PlannerConfig, Value};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rusqlite::Connection;
use rusqlite::types::ValueRef as SqlValue;

// ----- values and columns ---------------------------------------------------------------

const TEXTS: &[&str] = &[
    "", "a", "ab", "abc", "b", "ba", "A", "B", "a_c", "a%c", "é", "éa", "z",
];
/// Dyadic fractions: exact in binary and printed exactly.
const REALS: &[f64] = &[-2.5, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 1.5, 3.0, 7.75];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Id,
    I,
    R,
    S,
    B,
}

impl Col {
    const ALL: [Col; 5] = [Col::Id, Col::I, Col::R, Col::S, Col::B];

    fn name(self) -> &'static str {
        match self {
            Col::Id => "id",
            Col::I => "i",
            Col::R => "r",
            Col::S => "s",
            Col::B => "b",
        }
    }
}

/// A literal.
#[derive(Clone, Debug, PartialEq)]
enum Lit {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::Null => f.write_str("NULL"),
            Lit::Int(i) if *i < 0 => write!(f, "({i})"),
            Lit::Int(i) => write!(f, "{i}"),
            Lit::Real(x) if *x < 0.0 => write!(f, "({x:?})"),
            Lit::Real(x) => write!(f, "{x:?}"),
            Lit::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Lit::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
        }
    }
}

fn int_lit() -> impl Strategy<Value = i64> {
    -20i64..=20
}

fn real_lit() -> impl Strategy<Value = f64> {
    prop::sample::select(REALS)
}

fn text_lit() -> impl Strategy<Value = String> {
    prop::sample::select(TEXTS).prop_map(str::to_owned)
}

fn nonzero_int() -> impl Strategy<Value = i64> {
    prop::sample::select(vec![-7i64, -3, -2, -1, 1, 2, 3, 4, 5, 10])
}

fn nonzero_real() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![-2.5f64, -0.5, 0.25, 0.5, 1.5, 4.0])
}

// ----- numeric expressions ---------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arith {
    Add,
    Sub,
    Mul,
}

/// A numeric expression. At most three leaves (so products of column values stay far
/// from i64 overflow); division and modulo only by non-zero literals, modulo only on
/// integer operands.
#[derive(Clone, Debug)]
enum Num {
    Col(Col),
    Lit(Lit),
    Neg(Box<Num>),
    Bin(Arith, Box<Num>, Box<Num>),
    /// `/` by a non-zero integer or float literal.
    Div(Box<Num>, Lit),
    /// `%` of an integer expression by a non-zero integer literal.
    Mod(Box<Num>, i64),
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::Col(c) => f.write_str(c.name()),
            Num::Lit(l) => write!(f, "{l}"),
            Num::Neg(e) => write!(f, "(-{e})"),
            Num::Bin(op, a, b) => {
                let op = match op {
                    Arith::Add => "+",
                    Arith::Sub => "-",
                    Arith::Mul => "*",
                };
                write!(f, "({a} {op} {b})")
            }
            Num::Div(a, d) => write!(f, "({a} / {d})"),
            Num::Mod(a, m) => write!(f, "({a} % {})", Lit::Int(*m)),
        }
    }
}

impl Num {
    /// Whether the expression reads a column (an ORDER BY key that is a constant
    /// would be an ordinal, or nothing).
    fn has_col(&self) -> bool {
        match self {
            Num::Col(_) => true,
            Num::Lit(_) => false,
            Num::Neg(e) | Num::Div(e, _) | Num::Mod(e, _) => e.has_col(),
            Num::Bin(_, a, b) => a.has_col() || b.has_col(),
        }
    }
}

fn arith() -> impl Strategy<Value = Arith> {
    prop::sample::select(vec![Arith::Add, Arith::Sub, Arith::Mul])
}

/// Integer leaves: `id`, `i`, integer literals, NULL.
fn int_leaf() -> BoxedStrategy<Num> {
    prop_oneof![
        4 => prop::sample::select(vec![Col::Id, Col::I, Col::I]).prop_map(Num::Col),
        2 => int_lit().prop_map(|i| Num::Lit(Lit::Int(i))),
        1 => Just(Num::Lit(Lit::Null)),
    ]
    .boxed()
}

/// Any numeric leaf.
fn num_leaf() -> BoxedStrategy<Num> {
    prop_oneof![
        3 => int_leaf(),
        2 => Just(Num::Col(Col::R)),
        1 => real_lit().prop_map(|x| Num::Lit(Lit::Real(x))),
    ]
    .boxed()
}

fn divisor() -> BoxedStrategy<Lit> {
    prop_oneof![
        2 => nonzero_int().prop_map(Lit::Int),
        1 => nonzero_real().prop_map(Lit::Real),
    ]
    .boxed()
}

/// One operator over leaves (at most two leaves).
fn num_small() -> BoxedStrategy<Num> {
    prop_oneof![
        4 => num_leaf(),
        1 => num_leaf().prop_map(|e| Num::Neg(Box::new(e))),
        3 => (arith(), num_leaf(), num_leaf())
            .prop_map(|(op, a, b)| Num::Bin(op, Box::new(a), Box::new(b))),
        1 => (num_leaf(), divisor()).prop_map(|(a, d)| Num::Div(Box::new(a), d)),
        1 => (int_leaf(), nonzero_int()).prop_map(|(a, m)| Num::Mod(Box::new(a), m)),
    ]
    .boxed()
}

/// A numeric expression of at most three leaves.
fn num_expr() -> BoxedStrategy<Num> {
    prop_oneof![
        4 => num_small(),
        1 => (arith(), num_small(), num_leaf())
            .prop_map(|(op, a, b)| Num::Bin(op, Box::new(a), Box::new(b))),
        1 => (num_small(), divisor()).prop_map(|(a, d)| Num::Div(Box::new(a), d)),
        1 => (arith(), int_leaf(), int_leaf(), nonzero_int()).prop_map(|(op, a, b, m)| {
            Num::Mod(Box::new(Num::Bin(op, Box::new(a), Box::new(b))), m)
        }),
    ]
    .boxed()
}

// ----- conditions ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    /// `!=`, the other spelling of `<>`.
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "<>",
            Cmp::NotEq => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

fn cmp() -> impl Strategy<Value = Cmp> {
    prop::sample::select(vec![
        Cmp::Eq,
        Cmp::Ne,
        Cmp::NotEq,
        Cmp::Lt,
        Cmp::Le,
        Cmp::Gt,
        Cmp::Ge,
    ])
}

/// A text operand: the column or a literal.
#[derive(Clone, Debug)]
enum Text {
    Col,
    Lit(Lit),
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Text::Col => f.write_str("s"),
            Text::Lit(l) => write!(f, "{l}"),
        }
    }
}

fn text_operand() -> BoxedStrategy<Text> {
    prop_oneof![
        3 => Just(Text::Col),
        3 => text_lit().prop_map(|s| Text::Lit(Lit::Text(s))),
        1 => Just(Text::Lit(Lit::Null)),
    ]
    .boxed()
}

fn text_lit_or_null() -> BoxedStrategy<Lit> {
    prop_oneof![
        5 => text_lit().prop_map(Lit::Text),
        1 => Just(Lit::Null),
    ]
    .boxed()
}

fn num_lit_or_null() -> BoxedStrategy<Lit> {
    prop_oneof![
        4 => int_lit().prop_map(Lit::Int),
        2 => real_lit().prop_map(Lit::Real),
        1 => Just(Lit::Null),
    ]
    .boxed()
}

/// A boolean-valued expression (a condition).
#[derive(Clone, Debug)]
enum Pred {
    Num(Cmp, Num, Num),
    Text(Cmp, Text, Text),
    /// `b` against a literal: booleans are the numbers 0 and 1 in comparisons.
    Bool(Cmp, Lit),
    BetweenNum(bool, Num, Num, Num),
    BetweenText(bool, Text, Lit, Lit),
    InNum(bool, Num, Vec<Lit>),
    InText(bool, Text, Vec<Lit>),
    /// `s [NOT] LIKE pattern [ESCAPE '!']`.
    Like(bool, String, bool),
    IsNull(bool, String),
    /// The boolean column as a condition.
    BoolCol,
    /// A number as a condition (true when non-zero). Not a boolean *value*: only in
    /// WHERE (see [`Pred::is_value`]).
    Truthy(Num),
    /// `(p) IS [NOT] TRUE|FALSE`: never NULL.
    Is(Box<Pred>, bool, bool),
    Not(Box<Pred>),
    And(Vec<Pred>),
    Or(Vec<Pred>),
}

impl Pred {
    /// Whether the predicate's value is a boolean (or NULL) in dictdb too, so it can be
    /// stored in `b` or selected.
    fn is_value(&self) -> bool {
        match self {
            Pred::Truthy(_) => false,
            Pred::Not(p) | Pred::Is(p, ..) => p.is_value(),
            Pred::And(ps) | Pred::Or(ps) => ps.iter().all(Pred::is_value),
            _ => true,
        }
    }
}

impl fmt::Display for Pred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not = |n: &bool| if *n { "NOT " } else { "" };
        let list = |ls: &[Lit]| {
            ls.iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Pred::Num(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
            Pred::Text(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
            Pred::Bool(op, l) => write!(f, "(b {} {l})", op.symbol()),
            Pred::BetweenNum(n, e, lo, hi) => write!(f, "({e} {}BETWEEN {lo} AND {hi})", not(n)),
            Pred::BetweenText(n, e, lo, hi) => {
                write!(f, "({e} {}BETWEEN {lo} AND {hi})", not(n))
            }
            Pred::InNum(n, e, ls) => write!(f, "({e} {}IN ({}))", not(n), list(ls)),
            Pred::InText(n, e, ls) => write!(f, "({e} {}IN ({}))", not(n), list(ls)),
            Pred::Like(n, p, esc) => {
                write!(f, "(s {}LIKE {}", not(n), Lit::Text(p.clone()))?;
                if *esc {
                    f.write_str(" ESCAPE '!'")?;
                }
                f.write_str(")")
            }
            Pred::IsNull(n, e) => write!(f, "({e} IS {}NULL)", not(n)),
            Pred::BoolCol => f.write_str("b"),
            Pred::Truthy(e) => write!(f, "{e}"),
            Pred::Is(p, negated, truth) => write!(
                f,
                "({p} IS {}{})",
                not(negated),
                if *truth { "TRUE" } else { "FALSE" }
            ),
            Pred::Not(p) => write!(f, "(NOT {p})"),
            Pred::And(ps) | Pred::Or(ps) => {
                let sep = if matches!(self, Pred::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let parts: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
                write!(f, "({})", parts.join(sep))
            }
        }
    }
}

/// A LIKE pattern: one of the texts with some characters turned into `_` or `%`, maybe
/// with `%` around it. With an escape (`!`), the text's own `%` and `_` are escaped
/// (matched literally).
fn like_pattern() -> impl Strategy<Value = (String, bool)> {
    (
        prop::sample::select(TEXTS),
        prop::collection::vec(0u8..10, 4),
        (prop::bool::weighted(0.2), prop::bool::weighted(0.3)),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(text, edits, (before, after), esc)| {
            let mut p = String::new();
            if before {
                p.push('%');
            }
            for (k, c) in text.chars().enumerate() {
                match edits.get(k).copied().unwrap_or(9) {
                    0 | 1 => p.push('_'),
                    2 => p.push('%'),
                    _ if esc && (c == '%' || c == '_') => {
                        p.push('!');
                        p.push(c);
                    }
                    _ => p.push(c),
                }
            }
            if after {
                p.push('%');
            }
            (p, esc)
        })
}

fn pred_leaf() -> BoxedStrategy<Pred> {
    prop_oneof![
        4 => (cmp(), num_expr(), num_expr()).prop_map(|(op, a, b)| Pred::Num(op, a, b)),
        4 => (cmp(), num_leaf(), num_lit_or_null().prop_map(Num::Lit))
            .prop_map(|(op, a, b)| Pred::Num(op, a, b)),
        3 => (cmp(), text_operand(), text_operand()).prop_map(|(op, a, b)| Pred::Text(op, a, b)),
        1 => (
            cmp(),
            prop_oneof![
                any::<bool>().prop_map(Lit::Bool),
                (-1i64..=2).prop_map(Lit::Int),
                Just(Lit::Real(0.5)),
            ]
        )
            .prop_map(|(op, l)| Pred::Bool(op, l)),
        2 => (any::<bool>(), num_small(), num_expr(), num_expr())
            .prop_map(|(n, e, lo, hi)| Pred::BetweenNum(n, e, lo, hi)),
        1 => (any::<bool>(), text_operand(), text_lit_or_null(), text_lit_or_null())
            .prop_map(|(n, e, lo, hi)| Pred::BetweenText(n, e, lo, hi)),
        2 => (any::<bool>(), num_small(), prop::collection::vec(num_lit_or_null(), 1..5))
            .prop_map(|(n, e, ls)| Pred::InNum(n, e, ls)),
        1 => (any::<bool>(), text_operand(), prop::collection::vec(text_lit_or_null(), 1..5))
            .prop_map(|(n, e, ls)| Pred::InText(n, e, ls)),
        3 => (any::<bool>(), like_pattern()).prop_map(|(n, (p, esc))| Pred::Like(n, p, esc)),
        2 => (
            any::<bool>(),
            prop_oneof![
                prop::sample::select(Col::ALL.to_vec()).prop_map(|c| c.name().to_string()),
                num_small().prop_map(|e| e.to_string()),
            ]
        )
            .prop_map(|(n, e)| Pred::IsNull(n, e)),
        1 => Just(Pred::BoolCol),
        1 => num_small().prop_map(Pred::Truthy),
    ]
    .boxed()
}

fn pred() -> BoxedStrategy<Pred> {
    pred_leaf()
        .prop_recursive(3, 10, 3, |inner| {
            prop_oneof![
                2 => prop::collection::vec(inner.clone(), 2..3).prop_map(Pred::And),
                3 => prop::collection::vec(inner.clone(), 2..4).prop_map(Pred::Or),
                2 => inner.clone().prop_map(|p| Pred::Not(Box::new(p))),
                1 => (inner, any::<bool>(), any::<bool>())
                    .prop_map(|(p, n, t)| Pred::Is(Box::new(p), n, t)),
            ]
        })
        .boxed()
}

/// A condition whose value is a boolean (for `b` and select items).
fn bool_value() -> BoxedStrategy<Pred> {
    pred()
        .prop_filter("a boolean value", Pred::is_value)
        .boxed()
}

// ----- statements ------------------------------------------------------------------------------

/// A select item.
#[derive(Clone, Debug)]
enum Item {
    Col(Col),
    Num(Num),
    Pred(Pred),
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Col(c) => f.write_str(c.name()),
            Item::Num(e) => write!(f, "{e}"),
            Item::Pred(p) => write!(f, "{p}"),
        }
    }
}

fn item() -> BoxedStrategy<Item> {
    prop_oneof![
        5 => prop::sample::select(Col::ALL.to_vec()).prop_map(Item::Col),
        3 => num_expr().prop_map(Item::Num),
        1 => bool_value().prop_map(Item::Pred),
    ]
    .boxed()
}

/// One ORDER BY key: what, descending, NULLS FIRST/LAST (None: the default).
#[derive(Clone, Debug)]
struct Key {
    expr: String,
    desc: bool,
    nulls_first: Option<bool>,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        if self.desc {
            f.write_str(" DESC")?;
        }
        match self.nulls_first {
            Some(true) => f.write_str(" NULLS FIRST"),
            Some(false) => f.write_str(" NULLS LAST"),
            None => Ok(()),
        }
    }
}

fn direction() -> impl Strategy<Value = (bool, Option<bool>)> {
    (any::<bool>(), prop::option::weighted(0.3, any::<bool>()))
}

#[derive(Clone, Debug)]
struct Select {
    distinct: bool,
    /// `None`: `*`.
    items: Option<Vec<Item>>,
    filter: Option<Pred>,
    /// Empty: no ORDER BY (rows compared as multisets, no paging).
    order: Vec<Key>,
    limit: Option<u32>,
    offset: Option<u32>,
}

impl Select {
    /// The text for dictdb (`sqlite`: for SQLite, where OFFSET needs a LIMIT).
    fn sql(&self, sqlite: bool) -> String {
        let mut s = String::from("SELECT ");
        if self.distinct {
            s.push_str("DISTINCT ");
        }
        match &self.items {
            None => s.push('*'),
            Some(items) => {
                let v: Vec<String> = items.iter().map(|i| i.to_string()).collect();
                s.push_str(&v.join(", "));
            }
        }
        s.push_str(" FROM t");
        if let Some(p) = &self.filter {
            write!(s, " WHERE {p}").unwrap();
        }
        if !self.order.is_empty() {
            let v: Vec<String> = self.order.iter().map(|k| k.to_string()).collect();
            write!(s, " ORDER BY {}", v.join(", ")).unwrap();
        }
        match (self.limit, self.offset) {
            (Some(l), Some(o)) => write!(s, " LIMIT {l} OFFSET {o}").unwrap(),
            (Some(l), None) => write!(s, " LIMIT {l}").unwrap(),
            (None, Some(o)) if sqlite => write!(s, " LIMIT -1 OFFSET {o}").unwrap(),
            (None, Some(o)) => write!(s, " OFFSET {o}").unwrap(),
            (None, None) => {}
        }
        s
    }

    fn ordered(&self) -> bool {
        !self.order.is_empty()
    }
}

fn select() -> BoxedStrategy<Select> {
    let items = prop::option::weighted(0.85, prop::collection::vec(item(), 1..5));
    (
        prop::bool::weighted(0.25),
        items,
        prop::option::weighted(0.75, pred()),
        prop::bool::weighted(0.7),
        prop::collection::vec(
            (
                prop_oneof![
                    2 => prop::sample::select(Col::ALL.to_vec()).prop_map(|c| c.name().to_string()),
                    1 => num_expr()
                        .prop_filter("a key that reads a column", Num::has_col)
                        .prop_map(|e| e.to_string()),
                ],
                direction(),
            ),
            0..3,
        ),
        direction(),
        prop::option::weighted(0.5, 0u32..10),
        prop::option::weighted(0.3, 0u32..10),
    )
        .prop_map(
            |(distinct, items, filter, ordered, keys, last, limit, offset)| {
                let mut s = Select {
                    distinct,
                    items,
                    filter,
                    order: Vec::new(),
                    limit: None,
                    offset: None,
                };
                if !ordered {
                    return s;
                }
                let n_items = s.items.as_ref().map_or(Col::ALL.len(), Vec::len);
                let key = |expr: String, (desc, nulls_first): (bool, Option<bool>)| Key {
                    expr,
                    desc,
                    nulls_first,
                };
                s.order = if distinct {
                    // ORDER BY every select item (by ordinal): a total order of the
                    // distinct rows, with only selected values as keys.
                    let mut dirs = keys.iter().map(|(_, d)| *d).chain(std::iter::repeat(last));
                    (1..=n_items)
                        .map(|i| {
                            // BUG: dictdb refuses ordinals after `SELECT *` ("ORDER BY 1:
                            // there are 0 select items"): name the columns there.
                            let k = match s.items {
                                None => Col::ALL[i - 1].name().to_string(),
                                Some(_) => i.to_string(),
                            };
                            key(k, dirs.next().unwrap())
                        })
                        .collect()
                } else {
                    // A few keys, then the primary key: a total order.
                    let mut ks: Vec<Key> = keys.into_iter().map(|(e, d)| key(e, d)).collect();
                    ks.push(key("id".into(), (last.0, None)));
                    ks
                };
                s.limit = limit;
                s.offset = offset;
                s
            },
        )
        .boxed()
}

#[derive(Clone, Debug)]
struct Insert {
    /// `None`: VALUES in declared order.
    columns: Option<Vec<Col>>,
    rows: Vec<Vec<Lit>>,
}

/// A value for a column (`null`: the weight of NULL).
fn value_for(c: Col, null: u32) -> BoxedStrategy<Lit> {
    match c {
        Col::Id => (1i64..=40).prop_map(Lit::Int).boxed(),
        Col::I => prop_oneof![8 => int_lit().prop_map(Lit::Int), null => Just(Lit::Null)].boxed(),
        Col::R => prop_oneof![
            6 => real_lit().prop_map(Lit::Real),
            2 => int_lit().prop_map(Lit::Int),
            null => Just(Lit::Null),
        ]
        .boxed(),
        Col::S => prop_oneof![8 => text_lit().prop_map(Lit::Text), null => Just(Lit::Null)].boxed(),
        Col::B => {
            prop_oneof![8 => any::<bool>().prop_map(Lit::Bool), null => Just(Lit::Null)].boxed()
        }
    }
}

fn row_for(columns: &[Col], null: u32) -> BoxedStrategy<Vec<Lit>> {
    columns
        .iter()
        .map(|c| value_for(*c, null))
        .collect::<Vec<_>>()
        .boxed()
}

fn insert() -> BoxedStrategy<Insert> {
    let columns = prop_oneof![
        1 => Just(None),
        2 => prop::sample::subsequence(vec![Col::I, Col::R, Col::S, Col::B], 0..=4)
            .prop_map(|mut cs| {
                cs.insert(0, Col::Id);
                cs
            })
            .prop_shuffle()
            .prop_map(Some),
    ];
    columns
        .prop_flat_map(|columns| {
            let cs = columns.clone().unwrap_or(Col::ALL.to_vec());
            (Just(columns), prop::collection::vec(row_for(&cs, 2), 1..5))
        })
        .prop_map(|(columns, rows)| Insert { columns, rows })
        .boxed()
}

impl Insert {
    fn sql(&self) -> String {
        let mut s = String::from("INSERT INTO t ");
        if let Some(cs) = &self.columns {
            let v: Vec<&str> = cs.iter().map(|c| c.name()).collect();
            write!(s, "({}) ", v.join(", ")).unwrap();
        }
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|r| {
                let v: Vec<String> = r.iter().map(|l| l.to_string()).collect();
                format!("({})", v.join(", "))
            })
            .collect();
        write!(s, "VALUES {}", rows.join(", ")).unwrap();
        s
    }
}

/// UPDATE's assignments. Growth is bounded (so later arithmetic cannot overflow):
/// `i` changes by small additions or a factor of at most 3; keys move by
/// `id + 1000 * 2^(n+1)` for the n-th statement, which no key reached before (SQLite
/// checks uniqueness row by row, dictdb on the result: shifts past every existing
/// key agree), or to one constant (a clash or two rows on it: both reject).
#[derive(Clone, Debug)]
struct Update {
    sets: Vec<(Col, String)>,
    filter: Option<Pred>,
}

/// The right-hand side for a column; `step`: the statement's index.
fn set_expr(c: Col, step: usize) -> BoxedStrategy<String> {
    match c {
        Col::Id => prop_oneof![
            2 => Just(format!("id + {}", 1000i64 << (step + 1))),
            1 => (1i64..=40).prop_map(|k| k.to_string()),
        ]
        .boxed(),
        Col::I => prop_oneof![
            2 => (prop::sample::select(vec!["+", "-"]), int_lit())
                .prop_map(|(op, k)| format!("i {op} {}", Lit::Int(k))),
            1 => int_lit().prop_map(|k| format!("{} - i", Lit::Int(k))),
            1 => Just("-i".to_string()),
            1 => prop::sample::select(vec![-2i64, 2, 3]).prop_map(|k| format!("i * {}", Lit::Int(k))),
            1 => nonzero_int().prop_map(|k| format!("i / {}", Lit::Int(k))),
            1 => nonzero_int().prop_map(|k| format!("i % {}", Lit::Int(k))),
            1 => nonzero_int().prop_map(|k| format!("id % {}", Lit::Int(k))),
            1 => value_for(Col::I, 1).prop_map(|l| l.to_string()),
        ]
        .boxed(),
        Col::R => prop_oneof![
            2 => (arith(), prop::sample::select(vec![Col::R, Col::I]), real_lit()).prop_map(
                |(op, c, k)| {
                    let lit = Num::Lit(Lit::Real(k));
                    Num::Bin(op, Box::new(Num::Col(c)), Box::new(lit)).to_string()
                }
            ),
            1 => Just("r + i".to_string()),
            1 => Just("-r".to_string()),
            1 => Just("i".to_string()),
            1 => nonzero_real().prop_map(|k| format!("r / {}", Lit::Real(k))),
            1 => value_for(Col::R, 1).prop_map(|l| l.to_string()),
        ]
        .boxed(),
        Col::S => prop_oneof![
            3 => value_for(Col::S, 1).prop_map(|l| l.to_string()),
            1 => Just("s".to_string()),
        ]
        .boxed(),
        Col::B => prop_oneof![
            2 => value_for(Col::B, 1).prop_map(|l| l.to_string()),
            1 => Just("NOT b".to_string()),
            2 => bool_value().prop_map(|p| p.to_string()),
        ]
        .boxed(),
    }
}

fn update(step: usize) -> BoxedStrategy<Update> {
    let targets = prop_oneof![
        8 => prop::sample::subsequence(vec![Col::I, Col::R, Col::S, Col::B], 1..=3).prop_shuffle(),
        1 => Just(vec![Col::Id]),
        1 => prop::sample::select(vec![Col::I, Col::S]).prop_map(|c| vec![Col::Id, c]),
    ];
    (targets, prop::option::weighted(0.8, pred()))
        .prop_flat_map(move |(targets, filter)| {
            let sets: Vec<BoxedStrategy<(Col, String)>> = targets
                .iter()
                .map(|c| {
                    let c = *c;
                    set_expr(c, step).prop_map(move |e| (c, e)).boxed()
                })
                .collect();
            (sets, Just(filter))
        })
        .prop_map(|(sets, filter)| Update { sets, filter })
        .boxed()
}

impl Update {
    fn sql(&self) -> String {
        let sets: Vec<String> = self
            .sets
            .iter()
            .map(|(c, e)| format!("{} = {e}", c.name()))
            .collect();
        let mut s = format!("UPDATE t SET {}", sets.join(", "));
        if let Some(p) = &self.filter {
            write!(s, " WHERE {p}").unwrap();
        }
        s
    }
}

#[derive(Clone, Debug)]
enum Stmt {
    Select(Select),
    Insert(Insert),
    Update(Update),
    Delete(Option<Pred>),
}

impl Stmt {
    fn sql(&self, sqlite: bool) -> String {
        match self {
            Stmt::Select(s) => s.sql(sqlite),
            Stmt::Insert(i) => i.sql(),
            Stmt::Update(u) => u.sql(),
            Stmt::Delete(None) => "DELETE FROM t".into(),
            Stmt::Delete(Some(p)) => format!("DELETE FROM t WHERE {p}"),
        }
    }
}

fn stmt(step: usize) -> BoxedStrategy<Stmt> {
    prop_oneof![
        10 => select().prop_map(Stmt::Select),
        3 => insert().prop_map(Stmt::Insert),
        3 => update(step).prop_map(Stmt::Update),
        1 => prop::option::weighted(0.9, pred()).prop_map(Stmt::Delete),
    ]
    .boxed()
}

// ----- a case -------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Case {
    s_not_null: bool,
    /// Rows in declared column order (keys distinct).
    rows: Vec<Vec<Lit>>,
    /// dictdb indexes on i, r, s, b: 0 none, 1 hash, 2 sorted.
    indexes: [u8; 4],
    rules: bool,
    stmts: Vec<Stmt>,
}

fn case() -> impl Strategy<Value = Case> {
    let stmts = (1usize..=8).prop_flat_map(|n| (0..n).map(stmt).collect::<Vec<_>>());
    (any::<bool>(), prop_oneof![1 => 0usize..3, 6 => 3usize..30])
        .prop_flat_map(move |(s_not_null, n)| {
            let ids = prop::sample::subsequence((1i64..=40).collect::<Vec<_>>(), n).prop_shuffle();
            let cells = prop::collection::vec(
                (
                    value_for(Col::I, 1),
                    value_for(Col::R, 1),
                    value_for(Col::S, if s_not_null { 0 } else { 1 }),
                    value_for(Col::B, 1),
                ),
                n,
            );
            (
                Just(s_not_null),
                ids,
                cells,
                [0u8..3, 0u8..3, 0u8..3, 0u8..3],
                prop::bool::weighted(0.75),
                stmts.clone(),
            )
        })
        .prop_map(|(s_not_null, ids, cells, indexes, rules, stmts)| Case {
            s_not_null,
            rows: ids
                .into_iter()
                .zip(cells)
                .map(|(id, (i, r, s, b))| vec![Lit::Int(id), i, r, s, b])
                .collect(),
            indexes,
            rules,
            stmts,
        })
}

impl Case {
    fn create_sql(&self) -> String {
        format!(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT{}, b BOOLEAN)",
            if self.s_not_null { " NOT NULL" } else { "" }
        )
    }

    fn load_sql(&self) -> Option<String> {
        (!self.rows.is_empty()).then(|| {
            Insert {
                columns: None,
                rows: self.rows.clone(),
            }
            .sql()
        })
    }

    /// The case as a script (for failure messages), up to statement `upto`.
    fn script(&self, upto: usize) -> String {
        let mut s = format!(
            "-- planner rules {}\n{};\n",
            if self.rules { "on" } else { "off" },
            self.create_sql()
        );
        if let Some(l) = self.load_sql() {
            writeln!(s, "{l};").unwrap();
        }
        for (c, k) in ["i", "r", "s", "b"].iter().zip(self.indexes) {
            match k {
                1 => writeln!(
                    s,
                    "CREATE INDEX t_{c} ON t ({c}) USING HASH; -- dictdb only"
                )
                .unwrap(),
                2 => writeln!(s, "CREATE INDEX t_{c} ON t ({c}); -- dictdb only").unwrap(),
                _ => {}
            }
        }
        for st in &self.stmts[..upto] {
            writeln!(s, "{};", st.sql(false)).unwrap();
        }
        s
    }
}

// ----- comparing ------------------------------------------------------------------------------

/// A result value, with dictdb's booleans as SQLite's 0/1.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Cell {
    fn of_dictdb(v: &Value) -> Cell {
        match v {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Int(*b as i64),
            Value::Int(i) => Cell::Int(*i),
            Value::Float(x) => Cell::Real(*x),
            Value::Str(s) => Cell::Text(s.to_string()),
            other => panic!("unexpected dictdb value {other:?}"),
        }
    }

    fn of_sqlite(v: SqlValue<'_>) -> Cell {
        match v {
            SqlValue::Null => Cell::Null,
            SqlValue::Integer(i) => Cell::Int(i),
            SqlValue::Real(x) => Cell::Real(x),
            SqlValue::Text(t) => Cell::Text(String::from_utf8(t.to_vec()).unwrap()),
            SqlValue::Blob(_) => panic!("unexpected blob from SQLite"),
        }
    }

    /// An order for sorting multisets: NULL, numbers by value, then text.
    fn canonical_cmp(&self, other: &Cell) -> Ordering {
        fn rank(c: &Cell) -> u8 {
            match c {
                Cell::Null => 0,
                Cell::Int(_) | Cell::Real(_) => 1,
                Cell::Text(_) => 2,
            }
        }
        let num = |c: &Cell| match c {
            Cell::Int(i) => *i as f64,
            Cell::Real(x) => *x,
            _ => 0.0,
        };
        rank(self)
            .cmp(&rank(other))
            .then_with(|| match (self, other) {
                (Cell::Text(a), Cell::Text(b)) => a.cmp(b),
                (Cell::Int(a), Cell::Int(b)) => a.cmp(b),
                // -0.0 and 0.0 are equal (SQLite reads a stored -0.0 back as 0.0).
                _ => num(self)
                    .partial_cmp(&num(other))
                    .unwrap_or_else(|| num(self).total_cmp(&num(other))),
            })
    }

    fn close(&self, other: &Cell) -> bool {
        match (self, other) {
            (Cell::Real(x), Cell::Real(y)) => {
                x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
            }
            _ => self == other,
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Real(x) => write!(f, "{x:?}"),
            Cell::Text(s) => write!(f, "{s:?}"),
        }
    }
}

type Rows = Vec<Vec<Cell>>;

/// What a statement gave.
#[derive(Debug)]
enum Outcome {
    Rows(Rows),
    Affected(usize),
    Error(String),
}

fn show(o: &Outcome) -> String {
    match o {
        Outcome::Rows(rows) => {
            let v: Vec<String> = rows
                .iter()
                .map(|r| {
                    let cells: Vec<String> = r.iter().map(|c| c.to_string()).collect();
                    format!("({})", cells.join(", "))
                })
                .collect();
            format!("{} rows: [{}]", rows.len(), v.join(", "))
        }
        Outcome::Affected(n) => format!("{n} rows affected"),
        Outcome::Error(e) => format!("error: {e}"),
    }
}

fn run_dictdb(db: &Database, sql: &str) -> Outcome {
    match db.execute(sql, ()) {
        Ok(Output::Rows { rows, .. }) => Outcome::Rows(
            rows.iter()
                .map(|r| r.iter().map(Cell::of_dictdb).collect())
                .collect(),
        ),
        Ok(Output::Affected(n)) => Outcome::Affected(n),
        Ok(other) => Outcome::Error(format!("unexpected output {other:?}")),
        Err(e) => Outcome::Error(e.to_string()),
    }
}

fn run_sqlite(conn: &Connection, sql: &str, query: bool) -> Outcome {
    if !query {
        return match conn.execute(sql, []) {
            Ok(n) => Outcome::Affected(n),
            Err(e) => Outcome::Error(e.to_string()),
        };
    }
    let mut stmt = match conn.prepare(sql) {
        Ok(s) => s,
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let n = stmt.column_count();
    let rows = stmt.query_map([], |r| {
        (0..n)
            .map(|i| r.get_ref(i).map(Cell::of_sqlite))
            .collect::<Result<Vec<_>, _>>()
    });
    match rows.and_then(|rs| rs.collect::<Result<Rows, _>>()) {
        Ok(rows) => Outcome::Rows(rows),
        Err(e) => Outcome::Error(e.to_string()),
    }
}

fn canonical(mut rows: Rows) -> Rows {
    rows.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.canonical_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    rows
}

fn same_rows(a: &Rows, b: &Rows) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.close(q)))
}

/// Whether the outcomes agree (`ordered`: rows in the same order, else as multisets).
fn agree(d: &Outcome, s: &Outcome, ordered: bool) -> bool {
    match (d, s) {
        (Outcome::Rows(a), Outcome::Rows(b)) if ordered => same_rows(a, b),
        (Outcome::Rows(a), Outcome::Rows(b)) => {
            same_rows(&canonical(a.clone()), &canonical(b.clone()))
        }
        (Outcome::Affected(a), Outcome::Affected(b)) => a == b,
        (Outcome::Error(_), Outcome::Error(_)) => true,
        _ => false,
    }
}

const TABLE: &str = "SELECT id, i, r, s, b FROM t ORDER BY id";

fn check(case: &Case) -> Result<(), TestCaseError> {
    let db = Database::new();
    db.set_planner(PlannerConfig::all(case.rules));
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("PRAGMA case_sensitive_like = ON;")
        .unwrap();
    let create = case.create_sql();
    db.execute(&create, ()).unwrap();
    conn.execute_batch(&create).unwrap();
    if let Some(load) = case.load_sql() {
        db.execute(&load, ()).unwrap();
        conn.execute_batch(&load).unwrap();
    }
    let t = db.table("t").unwrap();
    for (f, k) in ["i", "r", "s", "b"].iter().zip(case.indexes) {
        match k {
            1 => assert!(t.create_index(f, IndexKind::Hash)),
            2 => assert!(t.create_index(f, IndexKind::Sorted)),
            _ => {}
        }
    }
    let fail = |step: usize, what: &str, sql: &str, d: &Outcome, s: &Outcome| {
        TestCaseError::fail(format!(
            "{what} differs at statement {}\n{sql}\n  dictdb: {}\n  sqlite: {}\nscript:\n{}",
            step + 1,
            show(d),
            show(s),
            case.script(step + 1)
        ))
    };
    for (step, st) in case.stmts.iter().enumerate() {
        let (sql_d, sql_s) = (st.sql(false), st.sql(true));
        let query = matches!(st, Stmt::Select(_));
        let d = run_dictdb(&db, &sql_d);
        let s = run_sqlite(&conn, &sql_s, query);
        if query && matches!((&d, &s), (Outcome::Error(_), _) | (_, Outcome::Error(_))) {
            // The generator keeps SELECTs error-free on both sides.
            return Err(fail(step, "an unexpected error", &sql_d, &d, &s));
        }
        let ordered = matches!(st, Stmt::Select(sel) if sel.ordered());
        if !agree(&d, &s, ordered) {
            return Err(fail(step, "the result", &sql_d, &d, &s));
        }
        if !query {
            let (td, ts) = (run_dictdb(&db, TABLE), run_sqlite(&conn, TABLE, true));
            if !agree(&td, &ts, true) {
                return Err(fail(step, "the table after the write", &sql_d, &td, &ts));
            }
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("SQL_SQLITE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 4000,
        ..ProptestConfig::default()
    })]

    /// Every statement gives the same rows (or count, or an error) in dictdb and SQLite.
    #[test]
    fn sql_agrees_with_sqlite(case in case()) {
        check(&case)?;
    }
}

/// The harness itself: SQLite's LIKE is case-sensitive under the pragma, and the
/// comparison normalises booleans and tolerates float rounding.
#[test]
fn harness_sanity() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("PRAGMA case_sensitive_like = ON;")
        .unwrap();
    let like = run_sqlite(&conn, "SELECT 'A' LIKE 'a', 'é' LIKE '_'", true);
    assert!(
        agree(
            &like,
            &Outcome::Rows(vec![vec![Cell::Int(0), Cell::Int(1)]]),
            true
        ),
        "{}",
        show(&like)
    );
    assert!(Cell::Real(0.1 + 0.2).close(&Cell::Real(0.3)));
    assert!(!Cell::Real(1.0).close(&Cell::Int(1)));
    assert_eq!(Cell::of_dictdb(&Value::Bool(true)), Cell::Int(1));
    let a = Outcome::Rows(vec![vec![Cell::Int(2)], vec![Cell::Null]]);
    let b = Outcome::Rows(vec![vec![Cell::Null], vec![Cell::Int(2)]]);
    assert!(agree(&a, &b, false) && !agree(&a, &b, true));
}
