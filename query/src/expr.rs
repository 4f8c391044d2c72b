//! The expression tree shared by the DSL and SQL, its evaluation, and the DSL
//! builder.
//!
//! # Logic
//!
//! Expressions evaluate with SQL's three-valued logic: a comparison with NULL is
//! *unknown* ([`Tri`] `None`), `AND`/`OR`/`NOT` are Kleene's, and a row is selected
//! only when its condition is *true*. Comparing values of incomparable types
//! (`'abc' < 5`) is plainly false, never an error.
//!
//! The DSL of DictDB is two-valued (`~(f == 5)` is true for a row where `f` is
//! `None`). The builder methods ([`Expr::eq`], [`Expr::ne`], `!`, …) express that on
//! the same tree: DSL negation is `NOT (x IS TRUE)`, DSL `!=` is
//! `NOT ((f = x) IS TRUE)`, `f == None` is `f IS NULL`. Every access path therefore
//! shares one evaluator.

use std::fmt;
use std::ops::{BitAnd, BitOr, Not};

use dictdb_engine::value::{Number, py_cmp, py_eq};
use dictdb_engine::{Name, TableData, Value, ValueRef};

use crate::error::{QueryError, Result};
use crate::func::Func;
use crate::host::HostPredicate;
use crate::like::LikePattern;

/// A truth value: `Some(true)`, `Some(false)` or unknown (`None`).
pub type Tri = Option<bool>;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator with its operands swapped (`a < b` ⇔ `b > a`).
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }

    /// The SQL symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Applies the operator to two values: unknown with a NULL operand; false for
    /// an ordering of incomparable values.
    #[inline]
    pub fn apply(self, a: ValueRef<'_>, b: ValueRef<'_>) -> Tri {
        if a.is_null() || b.is_null() {
            return None;
        }
        Some(match self {
            CmpOp::Eq => py_eq(a, b),
            CmpOp::Ne => !py_eq(a, b),
            _ => match py_cmp(a, b) {
                None => false,
                Some(o) => match self {
                    CmpOp::Lt => o.is_lt(),
                    CmpOp::Le => o.is_le(),
                    CmpOp::Gt => o.is_gt(),
                    CmpOp::Ge => o.is_ge(),
                    CmpOp::Eq | CmpOp::Ne => unreachable!(),
                },
            },
        })
    }
}

/// An arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (integer division truncates toward zero)
    Div,
    /// `%` (remainder with the dividend's sign; fmod for floats)
    Rem,
}

impl ArithOp {
    /// The SQL symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Rem => "%",
        }
    }
}

/// A string test of the DSL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StrOp {
    /// `str.startswith`
    StartsWith,
    /// `str.endswith`
    EndsWith,
    /// substring test
    Contains,
    /// equality
    Equals,
}

impl StrOp {
    fn name(self) -> &'static str {
        match self {
            StrOp::StartsWith => "startswith",
            StrOp::EndsWith => "endswith",
            StrOp::Contains => "contains",
            StrOp::Equals => "equals",
        }
    }
}

/// An expression. `C` is how a column is named: by name ([`Expr`]) or, once bound
/// to a table, by column id ([`BoundExpr`]; `None` for a field the table has never
/// stored, which reads as NULL everywhere).
#[derive(Clone, Debug, PartialEq)]
pub enum Expr<C = Name> {
    /// A field.
    Column(C),
    /// A constant.
    Literal(Value),
    /// `left op right`.
    Cmp {
        /// The operator.
        op: CmpOp,
        /// Left operand.
        left: Box<Expr<C>>,
        /// Right operand.
        right: Box<Expr<C>>,
    },
    /// `expr BETWEEN low AND high` (inclusive).
    Between {
        /// The tested value.
        expr: Box<Expr<C>>,
        /// Lower bound.
        low: Box<Expr<C>>,
        /// Upper bound.
        high: Box<Expr<C>>,
    },
    /// `expr IN (list)`.
    InList {
        /// The tested value.
        expr: Box<Expr<C>>,
        /// The members.
        list: Vec<Expr<C>>,
    },
    /// `expr LIKE pattern` / `ILIKE`.
    Like {
        /// The tested value.
        expr: Box<Expr<C>>,
        /// The compiled pattern.
        pattern: LikePattern,
    },
    /// A DSL string test (`startswith`, `iequals`, …); true when any needle matches.
    StrTest {
        /// The tested value.
        expr: Box<Expr<C>>,
        /// The test.
        op: StrOp,
        /// The needles (a tuple in Python's `startswith`).
        needles: Vec<String>,
        /// Compare through the Unicode lowercase mapping.
        ignore_case: bool,
    },
    /// Python's `item in value`: substring, list member, map key, bytes.
    Contains {
        /// The container.
        expr: Box<Expr<C>>,
        /// The item looked for.
        item: Value,
    },
    /// `expr IS NULL` (true for NULL and for an absent field).
    IsNull(Box<Expr<C>>),
    /// `expr IS TRUE`: unknown becomes false.
    IsTrue(Box<Expr<C>>),
    /// `NOT expr` (Kleene).
    Not(Box<Expr<C>>),
    /// Conjunction (Kleene).
    And(Vec<Expr<C>>),
    /// Disjunction (Kleene).
    Or(Vec<Expr<C>>),
    /// Arithmetic.
    Arith {
        /// The operator.
        op: ArithOp,
        /// Left operand.
        left: Box<Expr<C>>,
        /// Right operand.
        right: Box<Expr<C>>,
    },
    /// Unary minus.
    Neg(Box<Expr<C>>),
    /// A placeholder (`?`, `$1`, `:name`) by its 0-based index: prepared SQL keeps
    /// these until it runs, then binds each to a [`Expr::Literal`].
    Param(usize),
    /// A scalar function call (`lower(name)`, `coalesce(a, b)`, …).
    Call {
        /// The function.
        func: Func,
        /// Its arguments (arity checked when built from SQL).
        args: Vec<Expr<C>>,
    },
    /// `CASE [operand] WHEN w THEN t … [ELSE e] END`: with an operand, the first
    /// `w` equal to it (`=`, so never for NULL); without, the first true `w`.
    Case {
        /// The simple form's operand.
        operand: Option<Box<Expr<C>>>,
        /// `(WHEN, THEN)` pairs, in order.
        whens: Vec<(Expr<C>, Expr<C>)>,
        /// The ELSE value (`None`: NULL).
        otherwise: Option<Box<Expr<C>>>,
    },
    /// A condition the host evaluates on each row (a Python callable in
    /// `where=`): true or false, never unknown; never index-pushable; never
    /// produced by SQL. See [`crate::host`].
    Host(HostPredicate),
}

/// An expression bound to one table's columns.
pub type BoundExpr = Expr<Option<u32>>;

/// A field reference.
pub fn col(name: &str) -> Expr {
    Expr::Column(name.into())
}

/// A constant.
pub fn lit(value: impl Into<Value>) -> Expr {
    Expr::Literal(value.into())
}

fn boxed<C>(e: Expr<C>) -> Box<Expr<C>> {
    Box::new(e)
}

/// DSL builder methods: DictDB's predicate semantics (python-api.md §7).
impl Expr {
    fn cmp(self, op: CmpOp, value: impl Into<Value>) -> Expr {
        Expr::Cmp {
            op,
            left: boxed(self),
            right: boxed(Expr::Literal(value.into())),
        }
    }

    /// `== value`: Python equality; `== None` matches NULL and absent fields.
    #[allow(clippy::should_implement_trait)]
    pub fn eq(self, value: impl Into<Value>) -> Expr {
        let value = value.into();
        if value.is_null() {
            return self.is_null();
        }
        self.cmp(CmpOp::Eq, value)
    }

    /// `!= value`: the exact complement of [`Expr::eq`].
    #[allow(clippy::should_implement_trait)]
    pub fn ne(self, value: impl Into<Value>) -> Expr {
        !self.eq(value)
    }

    /// `< value` (false when not comparable).
    #[allow(clippy::should_implement_trait)]
    pub fn lt(self, value: impl Into<Value>) -> Expr {
        self.cmp(CmpOp::Lt, value)
    }

    /// `<= value`.
    #[allow(clippy::should_implement_trait)]
    pub fn le(self, value: impl Into<Value>) -> Expr {
        self.cmp(CmpOp::Le, value)
    }

    /// `> value`.
    #[allow(clippy::should_implement_trait)]
    pub fn gt(self, value: impl Into<Value>) -> Expr {
        self.cmp(CmpOp::Gt, value)
    }

    /// `>= value`.
    #[allow(clippy::should_implement_trait)]
    pub fn ge(self, value: impl Into<Value>) -> Expr {
        self.cmp(CmpOp::Ge, value)
    }

    /// Equal to some member (a `None` member matches NULL and absent fields).
    pub fn is_in<V: Into<Value>>(self, values: impl IntoIterator<Item = V>) -> Expr {
        let mut has_null = false;
        let list: Vec<Expr> = values
            .into_iter()
            .map(Into::into)
            .filter(|v: &Value| {
                has_null |= v.is_null();
                !v.is_null()
            })
            .map(Expr::Literal)
            .collect();
        let in_list = Expr::InList {
            expr: boxed(self.clone()),
            list,
        };
        match (has_null, &in_list) {
            (false, _) => in_list,
            (true, Expr::InList { list, .. }) if list.is_empty() => self.is_null(),
            (true, _) => Expr::Or(vec![self.is_null(), in_list]),
        }
    }

    /// `low <= v <= high`, both comparisons defined.
    pub fn between(self, low: impl Into<Value>, high: impl Into<Value>) -> Expr {
        Expr::Between {
            expr: boxed(self),
            low: boxed(Expr::Literal(low.into())),
            high: boxed(Expr::Literal(high.into())),
        }
    }

    /// SQL LIKE, case-sensitive, text values only.
    pub fn like(self, pattern: &str) -> Expr {
        self.like_with(pattern, None, false)
    }

    /// ILIKE: LIKE through the Unicode lowercase mapping.
    pub fn ilike(self, pattern: &str) -> Expr {
        self.like_with(pattern, None, true)
    }

    /// LIKE / ILIKE with an escape character.
    pub fn like_with(self, pattern: &str, escape: Option<char>, ignore_case: bool) -> Expr {
        Expr::Like {
            expr: boxed(self),
            pattern: LikePattern::new(pattern, escape, ignore_case),
        }
    }

    fn str_test(self, op: StrOp, needles: Vec<String>, ignore_case: bool) -> Expr {
        Expr::StrTest {
            expr: boxed(self),
            op,
            needles,
            ignore_case,
        }
    }

    /// Text starting with `prefix`.
    pub fn starts_with(self, prefix: &str) -> Expr {
        self.str_test(StrOp::StartsWith, vec![prefix.into()], false)
    }

    /// Text starting with any of the prefixes (Python's tuple form).
    pub fn starts_with_any<S: Into<String>>(self, prefixes: impl IntoIterator<Item = S>) -> Expr {
        self.str_test(
            StrOp::StartsWith,
            prefixes.into_iter().map(Into::into).collect(),
            false,
        )
    }

    /// Text ending with `suffix`.
    pub fn ends_with(self, suffix: &str) -> Expr {
        self.str_test(StrOp::EndsWith, vec![suffix.into()], false)
    }

    /// Text ending with any of the suffixes.
    pub fn ends_with_any<S: Into<String>>(self, suffixes: impl IntoIterator<Item = S>) -> Expr {
        self.str_test(
            StrOp::EndsWith,
            suffixes.into_iter().map(Into::into).collect(),
            false,
        )
    }

    /// Python's `item in v` (substring, list member, map key, bytes).
    pub fn contains(self, item: impl Into<Value>) -> Expr {
        Expr::Contains {
            expr: boxed(self),
            item: item.into(),
        }
    }

    /// Text equal to `s`, ignoring case.
    pub fn iequals(self, s: &str) -> Expr {
        self.str_test(StrOp::Equals, vec![s.into()], true)
    }

    /// Text containing `s`, ignoring case.
    pub fn icontains(self, s: &str) -> Expr {
        self.str_test(StrOp::Contains, vec![s.into()], true)
    }

    /// Text starting with `s`, ignoring case.
    pub fn istarts_with(self, s: &str) -> Expr {
        self.str_test(StrOp::StartsWith, vec![s.into()], true)
    }

    /// Text ending with `s`, ignoring case.
    pub fn iends_with(self, s: &str) -> Expr {
        self.str_test(StrOp::EndsWith, vec![s.into()], true)
    }

    /// NULL or absent.
    pub fn is_null(self) -> Expr {
        Expr::IsNull(boxed(self))
    }

    /// Present and not NULL.
    pub fn is_not_null(self) -> Expr {
        Expr::Not(boxed(self.is_null()))
    }

    /// Both (DSL `&`).
    ///
    /// When `other` holds a host predicate ([`Expr::Host`]), `self` is made
    /// two-valued first (`x` becomes `x IS TRUE`, conjunct by conjunct): this
    /// selects the same rows, but a row where `self` is unknown now stops the
    /// conjunction in row-by-row evaluation too, so the host predicate is asked
    /// only about rows `self` accepts, like the right operand of Python's `and`.
    pub fn and(self, other: Expr) -> Expr {
        let left = if other.has_host() {
            self.two_valued()
        } else {
            self
        };
        let mut parts = match left {
            Expr::And(v) => v,
            e => vec![e],
        };
        match other {
            Expr::And(v) => parts.extend(v),
            e => parts.push(e),
        }
        Expr::And(parts)
    }

    /// The same condition, never unknown: true where `self` is true, false
    /// elsewhere (an AND conjunct by conjunct, to stay flat).
    fn two_valued(self) -> Expr {
        match self {
            Expr::And(parts) => Expr::And(parts.into_iter().map(Expr::two_valued).collect()),
            e @ (Expr::IsTrue(_) | Expr::IsNull(_) | Expr::Host(_)) => e,
            Expr::Not(inner) if matches!(*inner, Expr::IsTrue(_) | Expr::IsNull(_)) => {
                Expr::Not(inner)
            }
            e => Expr::IsTrue(boxed(e)),
        }
    }

    /// Either (DSL `|`).
    pub fn or(self, other: Expr) -> Expr {
        let mut parts = match self {
            Expr::Or(v) => v,
            e => vec![e],
        };
        match other {
            Expr::Or(v) => parts.extend(v),
            e => parts.push(e),
        }
        Expr::Or(parts)
    }
}

impl Not for Expr {
    type Output = Expr;
    /// DSL negation (two-valued): `NOT (self IS TRUE)`.
    fn not(self) -> Expr {
        match self {
            e @ (Expr::IsNull(_) | Expr::IsTrue(_)) => Expr::Not(boxed(e)),
            e => Expr::Not(boxed(Expr::IsTrue(boxed(e)))),
        }
    }
}

impl BitAnd for Expr {
    type Output = Expr;
    fn bitand(self, rhs: Expr) -> Expr {
        self.and(rhs)
    }
}

impl BitOr for Expr {
    type Output = Expr;
    fn bitor(self, rhs: Expr) -> Expr {
        self.or(rhs)
    }
}

impl<C> Expr<C> {
    /// The same expression with every column reference mapped by `f`.
    pub fn map_columns<D>(&self, f: &mut dyn FnMut(&C) -> D) -> Expr<D> {
        let b = |e: &Expr<C>, f: &mut dyn FnMut(&C) -> D| -> Box<Expr<D>> {
            Box::new(e.map_columns(f))
        };
        match self {
            Expr::Column(c) => Expr::Column(f(c)),
            Expr::Literal(v) => Expr::Literal(v.clone()),
            Expr::Cmp { op, left, right } => Expr::Cmp {
                op: *op,
                left: b(left, f),
                right: b(right, f),
            },
            Expr::Between { expr, low, high } => Expr::Between {
                expr: b(expr, f),
                low: b(low, f),
                high: b(high, f),
            },
            Expr::InList { expr, list } => Expr::InList {
                expr: b(expr, f),
                list: list.iter().map(|e| e.map_columns(f)).collect(),
            },
            Expr::Like { expr, pattern } => Expr::Like {
                expr: b(expr, f),
                pattern: pattern.clone(),
            },
            Expr::StrTest {
                expr,
                op,
                needles,
                ignore_case,
            } => Expr::StrTest {
                expr: b(expr, f),
                op: *op,
                needles: needles.clone(),
                ignore_case: *ignore_case,
            },
            Expr::Contains { expr, item } => Expr::Contains {
                expr: b(expr, f),
                item: item.clone(),
            },
            Expr::IsNull(e) => Expr::IsNull(b(e, f)),
            Expr::IsTrue(e) => Expr::IsTrue(b(e, f)),
            Expr::Not(e) => Expr::Not(b(e, f)),
            Expr::And(v) => Expr::And(v.iter().map(|e| e.map_columns(f)).collect()),
            Expr::Or(v) => Expr::Or(v.iter().map(|e| e.map_columns(f)).collect()),
            Expr::Arith { op, left, right } => Expr::Arith {
                op: *op,
                left: b(left, f),
                right: b(right, f),
            },
            Expr::Neg(e) => Expr::Neg(b(e, f)),
            Expr::Param(i) => Expr::Param(*i),
            Expr::Host(h) => Expr::Host(h.clone()),
            Expr::Call { func, args } => Expr::Call {
                func: *func,
                args: args.iter().map(|e| e.map_columns(f)).collect(),
            },
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => Expr::Case {
                operand: operand.as_ref().map(|e| b(e, f)),
                whens: whens
                    .iter()
                    .map(|(w, t)| (w.map_columns(f), t.map_columns(f)))
                    .collect(),
                otherwise: otherwise.as_ref().map(|e| b(e, f)),
            },
        }
    }

    /// The direct subexpressions, in order.
    pub fn children(&self) -> Vec<&Expr<C>> {
        match self {
            Expr::Column(_) | Expr::Literal(_) | Expr::Param(_) | Expr::Host(_) => Vec::new(),
            Expr::Cmp { left, right, .. } | Expr::Arith { left, right, .. } => {
                vec![left, right]
            }
            Expr::Between { expr, low, high } => vec![expr, low, high],
            Expr::InList { expr, list } => {
                let mut v = vec![&**expr];
                v.extend(list);
                v
            }
            Expr::Like { expr, .. } | Expr::StrTest { expr, .. } | Expr::Contains { expr, .. } => {
                vec![expr]
            }
            Expr::IsNull(e) | Expr::IsTrue(e) | Expr::Not(e) | Expr::Neg(e) => vec![e],
            Expr::And(v) | Expr::Or(v) | Expr::Call { args: v, .. } => v.iter().collect(),
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                let mut v: Vec<&Expr<C>> = operand.iter().map(|e| &**e).collect();
                for (w, t) in whens {
                    v.push(w);
                    v.push(t);
                }
                v.extend(otherwise.iter().map(|e| &**e));
                v
            }
        }
    }

    /// The same expression with every subexpression for which `f` answers
    /// `Some` replaced by that answer (top-down: a replaced subexpression is not
    /// visited further); `f`'s errors stop the rewrite.
    pub fn rewrite<E, F>(&self, f: &mut F) -> std::result::Result<Expr<C>, E>
    where
        C: Clone,
        F: FnMut(&Expr<C>) -> Option<std::result::Result<Expr<C>, E>>,
    {
        if let Some(r) = f(self) {
            return r;
        }
        let mut kids = self
            .children()
            .into_iter()
            .map(|c| c.rewrite(f))
            .collect::<std::result::Result<Vec<_>, E>>()?
            .into_iter();
        let mut next = || Box::new(kids.next().expect("one rewritten child per child"));
        Ok(match self {
            Expr::Column(_) | Expr::Literal(_) | Expr::Param(_) | Expr::Host(_) => self.clone(),
            Expr::Cmp { op, .. } => Expr::Cmp {
                op: *op,
                left: next(),
                right: next(),
            },
            Expr::Arith { op, .. } => Expr::Arith {
                op: *op,
                left: next(),
                right: next(),
            },
            Expr::Between { .. } => Expr::Between {
                expr: next(),
                low: next(),
                high: next(),
            },
            Expr::InList { list, .. } => {
                let expr = next();
                Expr::InList {
                    expr,
                    list: (0..list.len()).map(|_| *next()).collect(),
                }
            }
            Expr::Like { pattern, .. } => Expr::Like {
                expr: next(),
                pattern: pattern.clone(),
            },
            Expr::StrTest {
                op,
                needles,
                ignore_case,
                ..
            } => Expr::StrTest {
                expr: next(),
                op: *op,
                needles: needles.clone(),
                ignore_case: *ignore_case,
            },
            Expr::Contains { item, .. } => Expr::Contains {
                expr: next(),
                item: item.clone(),
            },
            Expr::IsNull(_) => Expr::IsNull(next()),
            Expr::IsTrue(_) => Expr::IsTrue(next()),
            Expr::Not(_) => Expr::Not(next()),
            Expr::Neg(_) => Expr::Neg(next()),
            Expr::And(v) => Expr::And((0..v.len()).map(|_| *next()).collect()),
            Expr::Or(v) => Expr::Or((0..v.len()).map(|_| *next()).collect()),
            Expr::Call { func, args } => Expr::Call {
                func: *func,
                args: (0..args.len()).map(|_| *next()).collect(),
            },
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => Expr::Case {
                operand: operand.as_ref().map(|_| next()),
                whens: (0..whens.len()).map(|_| (*next(), *next())).collect(),
                otherwise: otherwise.as_ref().map(|_| next()),
            },
        })
    }

    /// Whether a host predicate ([`Expr::Host`]) occurs anywhere in the
    /// expression.
    pub fn has_host(&self) -> bool {
        match self {
            Expr::Host(_) => true,
            e => e.children().into_iter().any(Expr::has_host),
        }
    }

    /// The column this expression is, if it is a bare column.
    pub fn as_column(&self) -> Option<&C> {
        match self {
            Expr::Column(c) => Some(c),
            _ => None,
        }
    }

    /// The constant this expression is, if it is a literal.
    pub fn as_literal(&self) -> Option<&Value> {
        match self {
            Expr::Literal(v) => Some(v),
            _ => None,
        }
    }
}

impl Expr {
    /// This expression with its placeholders ([`Expr::Param`]) replaced by
    /// `values` (indexed by placeholder). A LIKE whose pattern was a placeholder
    /// becomes an ordinary [`Expr::Like`] with its pattern compiled once (so the
    /// planner can use an index for a prefix pattern); a pattern that is not
    /// text stays a per-row call, which reports it (NULL gives NULL).
    ///
    /// # Panics
    ///
    /// If a placeholder's index is not below `values.len()`.
    pub fn bind_params(&self, values: &[Value]) -> Expr {
        let Ok(bound) = self.rewrite::<std::convert::Infallible, _>(&mut |x: &Expr| match x {
            Expr::Param(i) => Some(Ok(Expr::Literal(values[*i].clone()))),
            Expr::Call {
                func:
                    Func::Like {
                        escape,
                        ignore_case,
                    },
                args,
            } if matches!(args.get(1), Some(Expr::Param(_))) => {
                let value = args[0].bind_params(values);
                Some(Ok(match args[1].bind_params(values) {
                    Expr::Literal(Value::Str(p)) => Expr::Like {
                        expr: Box::new(value),
                        pattern: LikePattern::new(&p, *escape, *ignore_case),
                    },
                    other => Expr::Call {
                        func: Func::Like {
                            escape: *escape,
                            ignore_case: *ignore_case,
                        },
                        args: vec![value, other],
                    },
                }))
            }
            _ => None,
        });
        bound
    }

    /// Binds column names to a table's column ids.
    pub fn bind(&self, data: &TableData) -> BoundExpr {
        self.map_columns(&mut |name: &Name| data.column_id(name))
    }

    /// The field names the expression reads.
    pub fn columns(&self) -> Vec<Name> {
        let mut out: Vec<Name> = Vec::new();
        self.map_columns(&mut |n: &Name| {
            if !out.contains(n) {
                out.push(n.clone());
            }
        });
        out
    }
}

/// The value of a column at a row (NULL for an unknown column).
#[inline]
pub(crate) fn column_value(data: &TableData, col: Option<u32>, pos: u32) -> ValueRef<'_> {
    match col {
        Some(c) => data.value(pos, c),
        None => ValueRef::Null,
    }
}

/// A value in the row or computed from it.
pub(crate) enum Datum<'a> {
    Ref(ValueRef<'a>),
    Owned(Value),
}

impl Datum<'_> {
    #[inline]
    pub(crate) fn get(&self) -> ValueRef<'_> {
        match self {
            Datum::Ref(r) => *r,
            Datum::Owned(v) => v.as_ref(),
        }
    }
}

fn tri_value(t: Tri) -> Value {
    t.map_or(Value::Null, Value::Bool)
}

impl BoundExpr {
    /// Evaluates as a value at a row. Predicates give `Bool` or NULL (unknown).
    pub fn eval<'a>(&'a self, data: &'a TableData, pos: u32) -> Result<Value> {
        Ok(match self.eval_datum(data, pos)? {
            Datum::Ref(r) => r.to_owned(),
            Datum::Owned(v) => v,
        })
    }

    pub(crate) fn eval_datum<'a>(&'a self, data: &'a TableData, pos: u32) -> Result<Datum<'a>> {
        Ok(match self {
            Expr::Column(c) => Datum::Ref(column_value(data, *c, pos)),
            Expr::Literal(v) => Datum::Ref(v.as_ref()),
            Expr::Arith { op, left, right } => {
                let l = left.eval_datum(data, pos)?;
                let r = right.eval_datum(data, pos)?;
                Datum::Owned(arith(*op, l.get(), r.get())?)
            }
            Expr::Neg(e) => {
                let v = e.eval_datum(data, pos)?;
                Datum::Owned(neg(v.get())?)
            }
            Expr::Param(i) => return Err(QueryError::UnboundParam { index: *i }),
            Expr::Call {
                func: Func::Coalesce,
                args,
            } => {
                for a in args {
                    let v = a.eval_datum(data, pos)?;
                    if !v.get().is_null() {
                        return Ok(v);
                    }
                }
                Datum::Ref(ValueRef::Null)
            }
            Expr::Call { func, args } => {
                let vals = args
                    .iter()
                    .map(|a| a.eval_datum(data, pos))
                    .collect::<Result<Vec<_>>>()?;
                let refs: Vec<ValueRef<'_>> = vals.iter().map(Datum::get).collect();
                Datum::Owned(func.call(&refs)?)
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                let subject = operand
                    .as_ref()
                    .map(|o| o.eval_datum(data, pos))
                    .transpose()?;
                for (w, t) in whens {
                    let hit = match &subject {
                        Some(s) => {
                            let v = w.eval_datum(data, pos)?;
                            CmpOp::Eq.apply(s.get(), v.get()) == Some(true)
                        }
                        None => w.truth(data, pos)? == Some(true),
                    };
                    if hit {
                        return t.eval_datum(data, pos);
                    }
                }
                match otherwise {
                    Some(e) => e.eval_datum(data, pos)?,
                    None => Datum::Ref(ValueRef::Null),
                }
            }
            pred => Datum::Owned(tri_value(pred.truth(data, pos)?)),
        })
    }

    /// Evaluates as a condition at a row.
    pub fn truth(&self, data: &TableData, pos: u32) -> Result<Tri> {
        Ok(match self {
            Expr::Cmp { op, left, right } => {
                let l = left.eval_datum(data, pos)?;
                let r = right.eval_datum(data, pos)?;
                op.apply(l.get(), r.get())
            }
            Expr::Between { expr, low, high } => {
                let v = expr.eval_datum(data, pos)?;
                let lo = low.eval_datum(data, pos)?;
                let hi = high.eval_datum(data, pos)?;
                between(v.get(), lo.get(), hi.get())
            }
            Expr::InList { expr, list } => {
                let v = expr.eval_datum(data, pos)?;
                let v = v.get();
                if v.is_null() {
                    return Ok(None);
                }
                let mut saw_null = false;
                for item in list {
                    let m = item.eval_datum(data, pos)?;
                    let m = m.get();
                    if m.is_null() {
                        saw_null = true;
                    } else if py_eq(v, m) {
                        return Ok(Some(true));
                    }
                }
                if saw_null { None } else { Some(false) }
            }
            Expr::Like { expr, pattern } => {
                let v = expr.eval_datum(data, pos)?;
                like(pattern, v.get())
            }
            Expr::StrTest {
                expr,
                op,
                needles,
                ignore_case,
            } => {
                let v = expr.eval_datum(data, pos)?;
                str_test(*op, needles, *ignore_case, v.get())
            }
            Expr::Contains { expr, item } => {
                let v = expr.eval_datum(data, pos)?;
                contains(v.get(), item.as_ref())
            }
            Expr::IsNull(e) => Some(e.eval_datum(data, pos)?.get().is_null()),
            Expr::IsTrue(e) => Some(e.truth(data, pos)? == Some(true)),
            Expr::Host(h) => Some(
                h.test(data.row(pos))
                    .map_err(|e| QueryError::Engine(dictdb_engine::Error::Host(e)))?,
            ),
            Expr::Not(e) => e.truth(data, pos)?.map(|b| !b),
            Expr::And(parts) => {
                let mut out = Some(true);
                for p in parts {
                    match p.truth(data, pos)? {
                        Some(false) => return Ok(Some(false)),
                        None => out = None,
                        Some(true) => {}
                    }
                }
                out
            }
            Expr::Or(parts) => {
                let mut out = Some(false);
                for p in parts {
                    match p.truth(data, pos)? {
                        Some(true) => return Ok(Some(true)),
                        None => out = None,
                        Some(false) => {}
                    }
                }
                out
            }
            value_expr => truthiness(value_expr.eval_datum(data, pos)?.get())?,
        })
    }
}

/// A value used as a condition: booleans as they are, numbers true when non-zero,
/// NULL unknown; anything else is an error.
pub fn truthiness(v: ValueRef<'_>) -> Result<Tri> {
    match v {
        ValueRef::Null => Ok(None),
        ValueRef::Bool(b) => Ok(Some(b)),
        ValueRef::Int(i) => Ok(Some(i != 0)),
        ValueRef::Float(x) => Ok(Some(x != 0.0)),
        other => Err(QueryError::NotACondition {
            value: other.to_owned(),
        }),
    }
}

/// `low <= v <= high`, as `v >= low AND v <= high` in Kleene logic (a NULL bound
/// leaves the result unknown only when the other comparison does not decide it).
#[inline]
pub fn between(v: ValueRef<'_>, low: ValueRef<'_>, high: ValueRef<'_>) -> Tri {
    let ge = CmpOp::Ge.apply(v, low);
    let le = CmpOp::Le.apply(v, high);
    match (ge, le) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// LIKE on a value: unknown for NULL, false for a non-text value.
#[inline]
pub fn like(pattern: &LikePattern, v: ValueRef<'_>) -> Tri {
    match v {
        ValueRef::Null => None,
        ValueRef::Str(s) => Some(pattern.matches(s)),
        _ => Some(false),
    }
}

/// A DSL string test on a value.
pub fn str_test(op: StrOp, needles: &[String], ignore_case: bool, v: ValueRef<'_>) -> Tri {
    let s = match v {
        ValueRef::Null => return None,
        ValueRef::Str(s) => s,
        _ => return Some(false),
    };
    let lowered;
    let s = if ignore_case {
        lowered = s.to_lowercase();
        lowered.as_str()
    } else {
        s
    };
    Some(needles.iter().any(|n| {
        let lowered_n;
        let n = if ignore_case {
            lowered_n = n.to_lowercase();
            lowered_n.as_str()
        } else {
            n.as_str()
        };
        match op {
            StrOp::StartsWith => s.starts_with(n),
            StrOp::EndsWith => s.ends_with(n),
            StrOp::Contains => s.contains(n),
            StrOp::Equals => s == n,
        }
    }))
}

/// Python's `item in v`; false wherever Python would raise.
pub fn contains(v: ValueRef<'_>, item: ValueRef<'_>) -> Tri {
    Some(match (v, item) {
        (ValueRef::Null, _) => return None,
        (ValueRef::Str(s), ValueRef::Str(i)) => s.contains(i),
        (ValueRef::List(l), i) => l.iter().any(|x| py_eq(x.as_ref(), i)),
        (ValueRef::Map(m), ValueRef::Str(k)) => m.iter().any(|(key, _)| &**key == k),
        (ValueRef::Bytes(b), ValueRef::Bytes(i)) => {
            i.is_empty() || memchr::memmem::find(b, i).is_some()
        }
        (ValueRef::Bytes(b), i @ (ValueRef::Int(_) | ValueRef::Bool(_))) => {
            let i = i.as_int_key().expect("ints and bools are int keys");
            (0..256).contains(&i) && b.contains(&(i as u8))
        }
        _ => false,
    })
}

/// Unary minus: NULL stays NULL, an integer is checked for overflow, a float
/// flips its sign (`-0.0` included), booleans count as 0/1.
pub fn neg(v: ValueRef<'_>) -> Result<Value> {
    Ok(match v.as_number() {
        _ if v.is_null() => Value::Null,
        Some(Number::Int(i)) => Value::Int(i.checked_neg().ok_or(QueryError::Overflow {
            op: "-",
            left: Value::Int(0),
            right: Value::Int(i),
        })?),
        Some(Number::Float(x)) => Value::Float(-x),
        None => {
            return Err(QueryError::UnaryType {
                op: "-",
                value: v.to_owned(),
            });
        }
    })
}

/// Arithmetic with SQL's rules: NULL in, NULL out; integers checked for overflow;
/// integer division truncates; division by zero is an error.
pub fn arith(op: ArithOp, a: ValueRef<'_>, b: ValueRef<'_>) -> Result<Value> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    let (Some(x), Some(y)) = (a.as_number(), b.as_number()) else {
        return Err(QueryError::Type {
            op: op.symbol(),
            left: a.to_owned(),
            right: b.to_owned(),
        });
    };
    let overflow = || QueryError::Overflow {
        op: op.symbol(),
        left: a.to_owned(),
        right: b.to_owned(),
    };
    Ok(match (x, y) {
        (Number::Int(x), Number::Int(y)) => Value::Int(match op {
            ArithOp::Add => x.checked_add(y).ok_or_else(overflow)?,
            ArithOp::Sub => x.checked_sub(y).ok_or_else(overflow)?,
            ArithOp::Mul => x.checked_mul(y).ok_or_else(overflow)?,
            ArithOp::Div | ArithOp::Rem if y == 0 => return Err(QueryError::DivisionByZero),
            ArithOp::Div => x.checked_div(y).ok_or_else(overflow)?,
            ArithOp::Rem => x.checked_rem(y).unwrap_or(0),
        }),
        (x, y) => {
            let (x, y) = (x.as_f64(), y.as_f64());
            Value::Float(match op {
                ArithOp::Add => x + y,
                ArithOp::Sub => x - y,
                ArithOp::Mul => x * y,
                ArithOp::Div | ArithOp::Rem if y == 0.0 => return Err(QueryError::DivisionByZero),
                ArithOp::Div => x / y,
                ArithOp::Rem => x % y,
            })
        }
    })
}

impl<C: fmt::Display> fmt::Display for Expr<C> {
    /// SQL-like text, used by EXPLAIN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, items: &[Expr<C>], sep: &str| -> fmt::Result {
            for (i, e) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{e}")?;
            }
            Ok(())
        };
        match self {
            Expr::Column(c) => write!(f, "{c}"),
            Expr::Literal(v) => fmt_literal(v, f),
            Expr::Cmp { op, left, right } => write!(f, "{left} {} {right}", op.symbol()),
            Expr::Between { expr, low, high } => write!(f, "{expr} BETWEEN {low} AND {high}"),
            Expr::InList { expr, list: items } => {
                write!(f, "{expr} IN (")?;
                list(f, items, ", ")?;
                f.write_str(")")
            }
            Expr::Like { expr, pattern } => {
                let kw = if pattern.case_insensitive() {
                    "ILIKE"
                } else {
                    "LIKE"
                };
                write!(f, "{expr} {kw} ")?;
                fmt_literal(&Value::str(pattern.pattern()), f)?;
                if let Some(e) = pattern.escape() {
                    write!(f, " ESCAPE '{e}'")?;
                }
                Ok(())
            }
            Expr::StrTest {
                expr,
                op,
                needles,
                ignore_case,
            } => {
                let i = if *ignore_case { "i" } else { "" };
                write!(f, "{i}{}({expr}, {needles:?})", op.name())
            }
            Expr::Contains { expr, item } => write!(f, "contains({expr}, {item})"),
            Expr::IsNull(e) => write!(f, "{e} IS NULL"),
            Expr::IsTrue(e) => write!(f, "({e}) IS TRUE"),
            Expr::Not(e) => write!(f, "NOT ({e})"),
            Expr::And(items) => {
                f.write_str("(")?;
                list(f, items, " AND ")?;
                f.write_str(")")
            }
            Expr::Or(items) => {
                f.write_str("(")?;
                list(f, items, " OR ")?;
                f.write_str(")")
            }
            Expr::Arith { op, left, right } => write!(f, "({left} {} {right})", op.symbol()),
            Expr::Neg(e) => write!(f, "-{e}"),
            Expr::Param(i) => write!(f, "${}", i + 1),
            Expr::Host(h) => write!(f, "{h}"),
            Expr::Call { func, args } => {
                write!(f, "{}(", func.name())?;
                list(f, args, ", ")?;
                f.write_str(")")
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                f.write_str("CASE")?;
                if let Some(o) = operand {
                    write!(f, " {o}")?;
                }
                for (w, t) in whens {
                    write!(f, " WHEN {w} THEN {t}")?;
                }
                if let Some(e) = otherwise {
                    write!(f, " ELSE {e}")?;
                }
                f.write_str(" END")
            }
        }
    }
}

fn fmt_literal(v: &Value, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match v {
        Value::Null => f.write_str("NULL"),
        Value::Bool(true) => f.write_str("TRUE"),
        Value::Bool(false) => f.write_str("FALSE"),
        Value::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
        other => write!(f, "{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_with_null_are_unknown_and_incomparable_ones_false() {
        assert_eq!(CmpOp::Eq.apply(ValueRef::Null, ValueRef::Int(1)), None);
        assert_eq!(
            CmpOp::Lt.apply(ValueRef::Str("abc"), ValueRef::Int(5)),
            Some(false)
        );
        assert_eq!(
            CmpOp::Ne.apply(ValueRef::Str("1"), ValueRef::Int(1)),
            Some(true)
        );
        assert_eq!(
            CmpOp::Eq.apply(ValueRef::Int(3), ValueRef::Float(3.0)),
            Some(true)
        );
    }

    #[test]
    fn arithmetic_follows_sql_md() {
        let i = |x| ValueRef::Int(x);
        assert_eq!(arith(ArithOp::Div, i(7), i(2)).unwrap(), Value::Int(3));
        assert_eq!(arith(ArithOp::Div, i(-7), i(2)).unwrap(), Value::Int(-3));
        assert_eq!(arith(ArithOp::Rem, i(-7), i(2)).unwrap(), Value::Int(-1));
        assert_eq!(
            arith(ArithOp::Div, i(7), ValueRef::Float(2.0)).unwrap(),
            Value::Float(3.5)
        );
        assert_eq!(
            arith(ArithOp::Rem, ValueRef::Float(-7.5), i(2)).unwrap(),
            Value::Float(-1.5)
        );
        assert!(matches!(
            arith(ArithOp::Div, i(1), i(0)),
            Err(QueryError::DivisionByZero)
        ));
        assert!(matches!(
            arith(ArithOp::Add, i(i64::MAX), i(1)),
            Err(QueryError::Overflow { .. })
        ));
        assert!(matches!(
            arith(ArithOp::Div, i(i64::MIN), i(-1)),
            Err(QueryError::Overflow { .. })
        ));
        assert_eq!(
            arith(ArithOp::Add, ValueRef::Null, i(1)).unwrap(),
            Value::Null
        );
        assert!(matches!(
            arith(ArithOp::Add, ValueRef::Str("a"), i(1)),
            Err(QueryError::Type { .. })
        ));
    }

    #[test]
    fn python_contains() {
        let list = Value::list([Value::Int(1), Value::str("a")]);
        assert_eq!(contains(list.as_ref(), ValueRef::Float(1.0)), Some(true));
        assert_eq!(
            contains(ValueRef::Str("hello"), ValueRef::Str("ell")),
            Some(true)
        );
        assert_eq!(
            contains(ValueRef::Str("hello"), ValueRef::Int(1)),
            Some(false)
        );
        assert_eq!(contains(ValueRef::Int(5), ValueRef::Int(5)), Some(false));
        assert_eq!(
            contains(ValueRef::Bytes(b"ab"), ValueRef::Int(97)),
            Some(true)
        );
        assert_eq!(contains(ValueRef::Null, ValueRef::Int(5)), None);
    }

    #[test]
    fn dsl_not_is_two_valued() {
        let e = !col("a").eq(5);
        assert_eq!(e.to_string(), "NOT ((a = 5) IS TRUE)");
        assert_eq!(col("a").ne(Value::Null).to_string(), "NOT (a IS NULL)");
        assert_eq!(
            col("a").is_in([Value::Null, Value::Int(1)]).to_string(),
            "(a IS NULL OR a IN (1))"
        );
    }
}
