//! The Python DSL's predicates as engine expressions.
//!
//! `dictdb_rs._dsl` builds a predicate as a small tree of tuples (its `_ir`);
//! this module turns one into a single [`Expr`] per call, with the constants
//! converted like stored values, so a query runs entirely in the engine:
//!
//! | tuple | predicate |
//! |---|---|
//! | `("cmp", op, field, value)` | `==` `!=` `<` `<=` `>` `>=` |
//! | `("in", field, [values])` | `is_in` |
//! | `("between", field, low, high)` | `between` |
//! | `("contains", field, item)` | `contains` |
//! | `("startswith" \| "endswith", field, (str, …))` | `startswith` / `endswith` |
//! | `("iequals" \| "icontains" \| "istartswith" \| "iendswith", field, str)` | the `i*` methods |
//! | `("like", field, pattern, escape, ignore_case)` | `like` / `ilike` |
//! | `("isnull" \| "notnull", field)` | `is_null` / `is_not_null` |
//! | `("and" \| "or", a, b)`, `("not", a)` | `&`, `\|`, `~` |
//! | `("py", callable)` | a Python callable combined with `&` / `\|` |
//!
//! Constants are plain Python values, already normalised by [`dsl_value`] when
//! the Python side built the tree. A `("py", callable)` node becomes an
//! [`Expr::Host`]: the engine calls it on each row it tests, under the table's
//! lock, on the calling thread. The table methods run the engine without the
//! GIL (`py.detach`); the hook re-attaches only for the call
//! (`Python::attach`), so no thread ever waits for a table lock while holding
//! the GIL (python-api.md §10). The callable receives a new `dict` of the row
//! (values as §3.1 reads them back) and its result's truth is `bool(result)`.
//! Inside `&` it is called only on rows the left operand accepts, inside `|`
//! only on rows it rejects (Python's short-circuit; see `dictdb_query::host`).
//! An exception it raises, or that `bool()` raises, travels through the
//! engine as a `dictdb_engine::Error::Host` carrying the `PyErr`, and comes
//! out of the query as that same exception object ([`crate::errors`]); update
//! and delete find every matching row before changing anything, so a failing
//! callable changes nothing.
//!
//! `PredicateExpr.__call__` evaluates a tree holding callables in Python (with
//! the same short-circuit), handing the callable-free parts to
//! [`eval_predicate`].
//!
//! The functions registered by [`register`] (`_native.dsl_value`,
//! `_native.eval_predicate`, `_native.copy_record`) serve `dictdb_rs._dsl`.

use dictdb_query::{Expr, HostError, HostPredicate, QueryError, col};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString, PyTuple};

use crate::convert::{Path, record_to_py, row_to_py, to_py, to_record, to_value};
use crate::errors;

/// A predicate tree as an engine expression.
pub fn to_expr(ir: &Bound<'_, PyAny>) -> PyResult<Expr> {
    let t = ir
        .cast::<PyTuple>()
        .map_err(|_| PyTypeError::new_err("a predicate tree must be a tuple"))?;
    let tag: String = t.get_item(0)?.extract()?;
    let field = |i: usize| -> PyResult<String> { t.get_item(i)?.extract() };
    let value = |i: usize, f: &str| to_value(&t.get_item(i)?, Path::Constant(f));
    let text = |i: usize| -> PyResult<String> { t.get_item(i)?.extract() };
    Ok(match tag.as_str() {
        "cmp" => {
            let op: String = t.get_item(1)?.extract()?;
            let f = field(2)?;
            let v = value(3, &f)?;
            let c = col(&f);
            match op.as_str() {
                "==" => c.eq(v),
                "!=" => c.ne(v),
                "<" => c.lt(v),
                "<=" => c.le(v),
                ">" => c.gt(v),
                ">=" => c.ge(v),
                other => return Err(PyValueError::new_err(format!("unknown operator {other:?}"))),
            }
        }
        "in" => {
            let f = field(1)?;
            let mut values = Vec::new();
            for item in t.get_item(2)?.try_iter()? {
                values.push(to_value(&item?, Path::Constant(&f))?);
            }
            col(&f).is_in(values)
        }
        "between" => {
            let f = field(1)?;
            col(&f).between(value(2, &f)?, value(3, &f)?)
        }
        "contains" => {
            let f = field(1)?;
            col(&f).contains(value(2, &f)?)
        }
        "startswith" | "endswith" => {
            let f = field(1)?;
            let needles = t.get_item(2)?;
            let needles: Vec<String> = if needles.is_instance_of::<PyString>() {
                vec![needles.extract()?]
            } else {
                needles.extract()?
            };
            if tag == "startswith" {
                col(&f).starts_with_any(needles)
            } else {
                col(&f).ends_with_any(needles)
            }
        }
        "iequals" => col(&field(1)?).iequals(&text(2)?),
        "icontains" => col(&field(1)?).icontains(&text(2)?),
        "istartswith" => col(&field(1)?).istarts_with(&text(2)?),
        "iendswith" => col(&field(1)?).iends_with(&text(2)?),
        "like" => {
            let f = field(1)?;
            let pattern = text(2)?;
            let escape: Option<String> = t.get_item(3)?.extract()?;
            // A one-character string is the escape; None, "" or longer: none.
            let escape = escape
                .filter(|e| e.chars().count() == 1)
                .and_then(|e| e.chars().next());
            let ignore_case: bool = t.get_item(4)?.extract()?;
            col(&f).like_with(&pattern, escape, ignore_case)
        }
        "isnull" => col(&field(1)?).is_null(),
        "notnull" => col(&field(1)?).is_not_null(),
        "and" => to_expr(&t.get_item(1)?)?.and(to_expr(&t.get_item(2)?)?),
        "or" => to_expr(&t.get_item(1)?)?.or(to_expr(&t.get_item(2)?)?),
        "not" => !to_expr(&t.get_item(1)?)?,
        "py" => host(t.get_item(1)?.unbind()),
        other => {
            return Err(PyTypeError::new_err(format!(
                "unknown predicate node {other:?}"
            )));
        }
    })
}

/// A Python callable as an engine condition (see the module docs): called with
/// a new dict of each row it tests, re-attached to the interpreter for the
/// call; true when `bool(result)` is. Its exception (or `bool()`'s) is carried
/// as the payload of a [`HostError`].
fn host(callable: Py<PyAny>) -> Expr {
    Expr::Host(HostPredicate::new(move |row| {
        Python::attach(|py| {
            let call = || -> PyResult<bool> {
                let record = row_to_py(py, row)?;
                callable.bind(py).call1((record,))?.is_truthy()
            };
            call().map_err(|e| HostError::new(e.to_string(), e))
        })
    }))
}

/// `dsl_value(value, field)`: a predicate constant converted like a stored
/// value (python-api.md §3.1) and handed back as the plain Python value it
/// stands for (a tuple becomes a list, an `int` subclass an `int`, …). An
/// unsupported type raises `TypeError`, a too-large `int` `OverflowError`,
/// both naming the field.
#[pyfunction]
fn dsl_value<'py>(
    value: &Bound<'py, PyAny>,
    field: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    // The common constants stand for themselves: handed back as they are.
    let plain = value.is_none()
        || value.is_exact_instance_of::<PyBool>()
        || value.is_exact_instance_of::<PyFloat>()
        || (value.is_exact_instance_of::<PyInt>() && value.extract::<i64>().is_ok())
        || value
            .cast_exact::<PyString>()
            .is_ok_and(|s| crate::convert::str_of(s).is_ok());
    if plain {
        return Ok(value.clone());
    }
    let v = to_value(value, Path::Constant(crate::convert::str_of(field)?))?;
    to_py(value.py(), &v)
}

/// `copy_record(record)`: a new `dict` holding the record as a table would
/// hand it out (converted there and back, §3.1).
#[pyfunction]
fn copy_record<'py>(record: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let r = to_record(record)?;
    record_to_py(record.py(), &r)
}

/// `eval_predicate(tree, record) -> bool`: whether a query with this predicate
/// tree would select this record. The record is stored as the only row of a
/// scratch engine table (under a key field that neither it nor the predicate
/// names) and the tree's engine expression is evaluated at that row, so the
/// semantics are exactly the engine's.
#[pyfunction]
fn eval_predicate(tree: &Bound<'_, PyAny>, record: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = tree.py();
    let expr = to_expr(tree)?;
    let record = to_record(record)?;
    let fields = expr.columns();
    let mut key = String::from("\u{0}key");
    while record.contains(&key) || fields.iter().any(|f| **f == *key) {
        key.push('\u{0}');
    }
    let table = dictdb_engine::Table::new("predicate", key, None);
    let mut data = table.write();
    data.insert(record, false)
        .map_err(|e| errors::engine(py, e))?;
    let pos = data.positions().next().expect("the row just inserted");
    let truth = expr.bind(&data).truth(&data, pos).map_err(|e| match e {
        QueryError::Engine(e @ dictdb_engine::Error::Host(_)) => errors::engine(py, e),
        other => PyValueError::new_err(other.to_string()),
    })?;
    Ok(truth == Some(true))
}

/// Adds this module's functions to `_native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(dsl_value, m)?)?;
    m.add_function(wrap_pyfunction!(copy_record, m)?)?;
    m.add_function(wrap_pyfunction!(eval_predicate, m)?)?;
    Ok(())
}
