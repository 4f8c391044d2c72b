//! Python values ⇄ engine values (python-api.md §3.1), both ways, in one place.
//!
//! Python → engine: `None`, `bool`, `int` (and subclasses; 64-bit), `float`,
//! `str`, `bytes`, `list`/`tuple`, `dict` with `str` keys, `datetime.datetime`
//! (naive, or aware with a whole-second fixed offset) and `datetime.date`.
//! Anything else is a `TypeError` naming the field, the path inside it and the
//! type; an out-of-range `int` an `OverflowError`. Engine → Python builds plain
//! objects (lists, dicts, `timezone`-aware datetimes).
//!
//! The module is built for the stable ABI (abi3), where CPython's datetime C API
//! is not available: dates and datetimes are read through their attributes and
//! built by calling the classes, which are looked up once.

use dictdb_engine::value::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use dictdb_engine::{Name, Record, Value};
use pyo3::exceptions::{PyOverflowError, PyRecursionError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};

/// Values nested deeper than this are refused (a guard for the native stack).
pub const MAX_DEPTH: usize = 500;

/// The `datetime` module's classes, looked up once per interpreter.
struct DateTypes {
    date: Py<PyType>,
    datetime: Py<PyType>,
    timezone: Py<PyType>,
    timedelta: Py<PyType>,
}

static DATE_TYPES: PyOnceLock<DateTypes> = PyOnceLock::new();

fn date_types(py: Python<'_>) -> PyResult<&DateTypes> {
    DATE_TYPES.get_or_try_init(py, || {
        let m = py.import("datetime")?;
        let ty = |name: &str| -> PyResult<Py<PyType>> {
            Ok(m.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        Ok(DateTypes {
            date: ty("date")?,
            datetime: ty("datetime")?,
            timezone: ty("timezone")?,
            timedelta: ty("timedelta")?,
        })
    })
}

/// Where a value sits: the top-level field and the path inside it.
#[derive(Clone, Copy)]
pub enum Path<'a> {
    /// A field of a record.
    Field(&'a str),
    /// A constant of a predicate on this field.
    Constant(&'a str),
    /// Anything else (a primary key given alone, …), described in words.
    Other(&'a str),
}

impl Path<'_> {
    fn describe(&self, inner: &str) -> String {
        match self {
            Path::Field(f) if inner.is_empty() => format!("field '{f}'"),
            Path::Field(f) => format!("field '{f}' (at {f}{inner})"),
            Path::Constant(f) if inner.is_empty() => format!("the constant compared with '{f}'"),
            Path::Constant(f) => format!("the constant compared with '{f}' (at {inner})"),
            Path::Other(what) if inner.is_empty() => what.to_string(),
            Path::Other(what) => format!("{what} (at {inner})"),
        }
    }
}

/// A Python object as an engine value.
pub fn to_value(obj: &Bound<'_, PyAny>, path: Path<'_>) -> PyResult<Value> {
    let mut inner = String::new();
    convert(obj, path, &mut inner, 0)
}

fn convert(
    obj: &Bound<'_, PyAny>,
    path: Path<'_>,
    inner: &mut String,
    depth: usize,
) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        return match i.extract::<i64>() {
            Ok(v) => Ok(Value::Int(v)),
            Err(_) => Err(PyOverflowError::new_err(format!(
                "{}: int {} does not fit in 64 bits",
                path.describe(inner),
                short_repr(obj)
            ))),
        };
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::str(&*s.to_cow()?));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().into()));
    }
    let nested = obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
        || obj.is_instance_of::<PyDict>();
    if nested && depth >= MAX_DEPTH {
        return Err(PyRecursionError::new_err(format!(
            "{}: values nested deeper than {MAX_DEPTH} levels are not supported",
            path.describe(inner)
        )));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return list(l.iter(), path, inner, depth);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return list(t.iter(), path, inner, depth);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut out: Vec<(Box<str>, Value)> = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            let Ok(key) = k.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!(
                    "{}: dict keys must be str, not {} ({})",
                    path.describe(inner),
                    type_name(&k),
                    short_repr(&k)
                )));
            };
            let key = key.to_cow()?;
            let len = inner.len();
            inner.push_str(&format!("[{key:?}]"));
            let v = convert(&v, path, inner, depth + 1)?;
            inner.truncate(len);
            out.push((key.into(), v));
        }
        return Ok(Value::Map(out.into_boxed_slice()));
    }
    let py = obj.py();
    let types = date_types(py)?;
    if obj.is_instance(types.datetime.bind(py))? {
        return datetime_value(obj, path, inner);
    }
    if obj.is_instance(types.date.bind(py))? {
        return Ok(Value::Date(date_of(obj)?));
    }
    Err(PyTypeError::new_err(format!(
        "{}: unsupported type {} ({})",
        path.describe(inner),
        type_name(obj),
        short_repr(obj)
    )))
}

fn list<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    path: Path<'_>,
    inner: &mut String,
    depth: usize,
) -> PyResult<Value> {
    let mut out = Vec::new();
    for (i, item) in items.enumerate() {
        let len = inner.len();
        inner.push_str(&format!("[{i}]"));
        out.push(convert(&item, path, inner, depth + 1)?);
        inner.truncate(len);
    }
    Ok(Value::List(out.into_boxed_slice()))
}

fn date_of(obj: &Bound<'_, PyAny>) -> PyResult<NaiveDate> {
    let (y, m, d): (i32, u32, u32) = (
        obj.getattr("year")?.extract()?,
        obj.getattr("month")?.extract()?,
        obj.getattr("day")?.extract()?,
    );
    NaiveDate::from_ymd_opt(y, m, d)
        .ok_or_else(|| PyTypeError::new_err(format!("invalid date {y}-{m}-{d}")))
}

fn datetime_value(obj: &Bound<'_, PyAny>, path: Path<'_>, inner: &str) -> PyResult<Value> {
    let date = date_of(obj)?;
    let (h, mi, s, us): (u32, u32, u32, u32) = (
        obj.getattr("hour")?.extract()?,
        obj.getattr("minute")?.extract()?,
        obj.getattr("second")?.extract()?,
        obj.getattr("microsecond")?.extract()?,
    );
    let time = NaiveTime::from_hms_micro_opt(h, mi, s, us)
        .ok_or_else(|| PyTypeError::new_err(format!("invalid time {h}:{mi}:{s}.{us}")))?;
    let local = NaiveDateTime::new(date, time);
    let offset = obj.call_method0("utcoffset")?;
    if offset.is_none() {
        return Ok(Value::DateTime(DateTime::naive(local)));
    }
    let (days, seconds, micros): (i32, i32, i32) = (
        offset.getattr("days")?.extract()?,
        offset.getattr("seconds")?.extract()?,
        offset.getattr("microseconds")?.extract()?,
    );
    let secs = days * 86_400 + seconds;
    let fixed = (micros == 0)
        .then(|| FixedOffset::east_opt(secs))
        .flatten()
        .ok_or_else(|| {
            PyTypeError::new_err(format!(
                "{}: a datetime's UTC offset must be whole seconds ({})",
                path.describe(inner),
                short_repr(obj)
            ))
        })?;
    Ok(Value::DateTime(DateTime::aware(local, fixed)))
}

/// A `dict` as a record (its keys must be `str`); anything else is a `TypeError`.
pub fn to_record(obj: &Bound<'_, PyAny>) -> PyResult<Record> {
    let Ok(d) = obj.cast::<PyDict>() else {
        return Err(PyTypeError::new_err(format!(
            "a record must be a dict, not {}",
            type_name(obj)
        )));
    };
    let mut r = Record::with_capacity(d.len());
    for (k, v) in d.iter() {
        let Ok(key) = k.cast::<PyString>() else {
            return Err(PyTypeError::new_err(format!(
                "record keys must be str, not {} ({})",
                type_name(&k),
                short_repr(&k)
            )));
        };
        let key = key.to_cow()?;
        let value = to_value(&v, Path::Field(&key))?;
        r.set(Name::from(&*key), value);
    }
    Ok(r)
}

/// An engine value as a new Python object.
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => PyFloat::new(py, *f).into_any(),
        Value::Str(s) => PyString::new(py, s).into_any(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items.iter() {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Map(entries) => {
            let dict = PyDict::new(py);
            for (k, v) in entries.iter() {
                dict.set_item(&**k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
        Value::Date(d) => {
            use chrono::Datelike;
            let types = date_types(py)?;
            types.date.bind(py).call1((d.year(), d.month(), d.day()))?
        }
        Value::DateTime(dt) => {
            use chrono::{Datelike, Timelike};
            let types = date_types(py)?;
            let l = dt.local;
            let args = (
                l.year(),
                l.month(),
                l.day(),
                l.hour(),
                l.minute(),
                l.second(),
                l.nanosecond() / 1000,
            );
            match dt.offset {
                None => types.datetime.bind(py).call1(args)?,
                Some(off) => {
                    let delta = types.timedelta.bind(py).call1((0, off.local_minus_utc()))?;
                    let tz = types.timezone.bind(py).call1((delta,))?;
                    let (y, mo, d, h, mi, s, us) = args;
                    types
                        .datetime
                        .bind(py)
                        .call1((y, mo, d, h, mi, s, us, tz))?
                }
            }
        }
    })
}

/// A record as a new `dict`, fields in stored order.
pub fn record_to_py<'py>(py: Python<'py>, r: &Record) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in r.iter() {
        dict.set_item(&**k, to_py(py, v)?)?;
    }
    Ok(dict)
}

/// The type's name, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// `repr(obj)`, cut to 60 characters.
pub fn short_repr(obj: &Bound<'_, PyAny>) -> String {
    let r = obj
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "<unprintable>".into());
    if r.chars().count() > 60 {
        let cut: String = r.chars().take(57).collect();
        format!("{cut}...")
    } else {
        r
    }
}
