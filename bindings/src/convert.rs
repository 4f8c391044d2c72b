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
use dictdb_engine::{Name, Record, RowRef, TableData, Value, ValueRef};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};

/// Values nested deeper than this are refused, as the engine refuses them
/// (so that whatever is stored can be saved and loaded again).
pub const MAX_DEPTH: usize = dictdb_engine::MAX_NESTING;

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

#[allow(unsafe_code)]
unsafe extern "C" {
    // Part of the stable ABI only from 3.10, but exported by every CPython
    // this module loads into (3.9 included); pyo3's abi3-py39 build falls back
    // to `PyUnicode_AsUTF8String`, a new `bytes` object per string.
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const std::ffi::c_char;
}

/// The text of a Python string, borrowed from the string's own UTF-8 copy
/// (which CPython keeps with the string), without copying it. An unpaired
/// surrogate is a `UnicodeEncodeError`, as with pyo3's `to_cow`.
#[allow(unsafe_code)]
pub fn str_of<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live str object; the buffer returned lives as long as the
    // string does, which outlives the borrow `'a`.
    let data = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size) };
    if data.is_null() {
        return Err(PyErr::fetch(s.py()));
    }
    // SAFETY: CPython guarantees `size` bytes of valid UTF-8 at `data`.
    Ok(unsafe {
        std::str::from_utf8_unchecked(std::slice::from_raw_parts(data.cast::<u8>(), size as usize))
    })
}

/// A Python object as an engine value.
pub fn to_value(obj: &Bound<'_, PyAny>, path: Path<'_>) -> PyResult<Value> {
    let mut inner = String::new();
    convert(obj, path, &mut inner, 0, false)
}

/// [`to_value`] reading the tagged forms of python-api.md §11.2 as JSON load
/// does (a pickled table's rows, §6.14): a one-key dict `{"$date": str}`,
/// `{"$datetime": str}` or `{"$bytes": str}` whose text parses becomes that
/// value, `{"$dict": {...}}` the inner dict taken literally; other dicts are
/// plain.
pub fn to_value_tagged(obj: &Bound<'_, PyAny>, path: Path<'_>) -> PyResult<Value> {
    let mut inner = String::new();
    convert(obj, path, &mut inner, 0, true)
}

fn convert(
    obj: &Bound<'_, PyAny>,
    path: Path<'_>,
    inner: &mut String,
    depth: usize,
    tagged: bool,
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
        return Ok(Value::str(str_of(s)?));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().into()));
    }
    let nested = obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
        || obj.is_instance_of::<PyDict>();
    if nested && depth >= MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "{}: values nested deeper than {MAX_DEPTH} levels are not supported",
            path.describe(inner)
        )));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return list(l.iter(), path, inner, depth, tagged);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return list(t.iter(), path, inner, depth, tagged);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        if tagged
            && d.len() == 1
            && let Some(v) = tag_value(d, path, inner, depth)?
        {
            return Ok(v);
        }
        return map(d, path, inner, depth, tagged);
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
    tagged: bool,
) -> PyResult<Value> {
    let mut out = Vec::new();
    for (i, item) in items.enumerate() {
        let len = inner.len();
        inner.push_str(&format!("[{i}]"));
        out.push(convert(&item, path, inner, depth + 1, tagged)?);
        inner.truncate(len);
    }
    Ok(Value::List(out.into_boxed_slice()))
}

fn map(
    d: &Bound<'_, PyDict>,
    path: Path<'_>,
    inner: &mut String,
    depth: usize,
    tagged: bool,
) -> PyResult<Value> {
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
        let key = str_of(key)?;
        let len = inner.len();
        inner.push_str(&format!("[{key:?}]"));
        let v = convert(&v, path, inner, depth + 1, tagged)?;
        inner.truncate(len);
        out.push((key.into(), v));
    }
    Ok(Value::Map(out.into_boxed_slice()))
}

/// The tags of python-api.md §11.2.
const TAGS: [&str; 4] = ["$bytes", "$datetime", "$date", "$dict"];

/// The value a one-key tagged dict stands for, or `None` when it is a plain
/// dict (not a tag, or text that does not parse).
fn tag_value(
    d: &Bound<'_, PyDict>,
    path: Path<'_>,
    inner: &mut String,
    depth: usize,
) -> PyResult<Option<Value>> {
    let Some((k, v)) = d.iter().next() else {
        return Ok(None);
    };
    let Ok(key) = k.cast::<PyString>() else {
        return Ok(None);
    };
    let key = str_of(key)?;
    if key == "$dict" {
        return match v.cast::<PyDict>() {
            Ok(m) => {
                let len = inner.len();
                inner.push_str("[\"$dict\"]");
                let out = map(m, path, inner, depth + 1, true)?;
                inner.truncate(len);
                Ok(Some(out))
            }
            Err(_) => Ok(None),
        };
    }
    if !TAGS.contains(&key) || !v.is_instance_of::<PyString>() {
        return Ok(None);
    }
    let py = d.py();
    let helpers = tag_helpers(py)?;
    let parser = match key {
        "$bytes" => &helpers.b64decode,
        "$datetime" => &helpers.datetime_fromisoformat,
        _ => &helpers.date_fromisoformat,
    };
    // Text that does not parse leaves the dict plain (python-api.md §11.2).
    let parsed = if key == "$bytes" {
        parser.bind(py).call1((&v, true))
    } else {
        parser.bind(py).call1((&v,))
    };
    match parsed {
        Ok(obj) => convert(&obj, path, inner, depth, false).map(Some),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyValueError>(py) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Parsers of the tagged text: `base64.b64decode`, `datetime.fromisoformat`,
/// `date.fromisoformat`.
struct TagHelpers {
    b64decode: Py<PyAny>,
    datetime_fromisoformat: Py<PyAny>,
    date_fromisoformat: Py<PyAny>,
}

static TAG_HELPERS: PyOnceLock<TagHelpers> = PyOnceLock::new();

fn tag_helpers(py: Python<'_>) -> PyResult<&TagHelpers> {
    TAG_HELPERS.get_or_try_init(py, || {
        let types = date_types(py)?;
        Ok(TagHelpers {
            b64decode: py.import("base64")?.getattr("b64decode")?.unbind(),
            datetime_fromisoformat: types.datetime.bind(py).getattr("fromisoformat")?.unbind(),
            date_fromisoformat: types.date.bind(py).getattr("fromisoformat")?.unbind(),
        })
    })
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
    record_of(obj, false)
}

/// [`to_record`] with values read by [`to_value_tagged`] (the record itself is
/// never a tag).
pub fn to_record_tagged(obj: &Bound<'_, PyAny>) -> PyResult<Record> {
    record_of(obj, true)
}

fn record_of(obj: &Bound<'_, PyAny>, tagged: bool) -> PyResult<Record> {
    record_of_keyed(obj, tagged, &mut KeyNames::default())
}

/// [`to_record`] taking field names from `keys`: the dicts of one bulk insert
/// usually share their key objects, so each name is made once.
pub fn to_record_keyed<'py>(
    obj: &Bound<'py, PyAny>,
    keys: &mut KeyNames<'py, '_>,
) -> PyResult<Record> {
    record_of_keyed(obj, false, keys)
}

/// Engine names for the Python key strings of one call's records, matched by
/// object identity (dict literals share their interned key strings), then by
/// a table's [`NameCache`] when given (by identity, then by text), so that a
/// known field name takes no allocation.
#[derive(Default)]
pub struct KeyNames<'py, 'c> {
    keys: Vec<(Bound<'py, PyString>, Name)>,
    cache: Option<&'c NameCache>,
}

impl<'py, 'c> KeyNames<'py, 'c> {
    /// Keys kept at most.
    const MAX: usize = 64;

    /// Names looked up in `cache` before new ones are made.
    pub fn cached(cache: &'c NameCache) -> Self {
        KeyNames {
            keys: Vec::new(),
            cache: Some(cache),
        }
    }

    fn get(&mut self, key: &Bound<'py, PyString>) -> PyResult<Name> {
        if let Some((_, n)) = self.keys.iter().find(|(k, _)| k.is(key)) {
            return Ok(n.clone());
        }
        let name = match self.cache {
            Some(cache) => cache.name_for(key)?,
            None => Name::from(str_of(key)?),
        };
        if self.keys.len() < Self::MAX {
            self.keys.push((key.clone(), name.clone()));
        }
        Ok(name)
    }
}

fn record_of_keyed<'py>(
    obj: &Bound<'py, PyAny>,
    tagged: bool,
    keys: &mut KeyNames<'py, '_>,
) -> PyResult<Record> {
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
        let key = keys.get(key)?;
        let value = if tagged {
            to_value_tagged(&v, Path::Field(&key))?
        } else {
            to_value(&v, Path::Field(&key))?
        };
        // A dict's keys are distinct.
        r.push_unique(key, value);
    }
    Ok(r)
}

/// An engine value as a new Python object.
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    py_of(py, v, false)
}

/// An engine value as builtin Python objects only, in the tagged forms of
/// python-api.md §11.2 (a pickled table's rows, §6.14): dates and datetimes as
/// `{"$date": …}` / `{"$datetime": isoformat}`, a dict whose only key is a tag
/// wrapped as `{"$dict": {…}}`; bytes stay bytes.
pub fn to_py_tagged<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    py_of(py, v, true)
}

/// A one-key dict `{tag: text}`.
fn tag_dict<'py>(py: Python<'py>, tag: &str, text: String) -> PyResult<Bound<'py, PyAny>> {
    let d = PyDict::new(py);
    d.set_item(tag, text)?;
    Ok(d.into_any())
}

/// `date.isoformat()`.
fn iso_date(d: &NaiveDate) -> String {
    use chrono::Datelike;
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// `datetime.isoformat()`.
fn iso_datetime(dt: &DateTime) -> String {
    use chrono::Timelike;
    let l = dt.local;
    let mut s = format!(
        "{}T{:02}:{:02}:{:02}",
        iso_date(&l.date()),
        l.hour(),
        l.minute(),
        l.second()
    );
    let us = l.nanosecond() / 1000;
    if us != 0 {
        s.push_str(&format!(".{us:06}"));
    }
    if let Some(off) = dt.offset {
        let secs = off.local_minus_utc();
        let sign = if secs < 0 { '-' } else { '+' };
        let a = secs.unsigned_abs();
        s.push_str(&format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60));
        if a % 60 != 0 {
            s.push_str(&format!(":{:02}", a % 60));
        }
    }
    s
}

fn py_of<'py>(py: Python<'py>, v: &Value, tagged: bool) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Date(d) if tagged => tag_dict(py, "$date", iso_date(d))?,
        Value::DateTime(dt) if tagged => tag_dict(py, "$datetime", iso_datetime(dt))?,
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => PyFloat::new(py, *f).into_any(),
        Value::Str(s) => PyString::new(py, s).into_any(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items.iter() {
                list.append(py_of(py, item, tagged)?)?;
            }
            list.into_any()
        }
        Value::Map(entries) => {
            let dict = PyDict::new(py);
            for (k, v) in entries.iter() {
                dict.set_item(&**k, py_of(py, v, tagged)?)?;
            }
            if tagged && entries.len() == 1 && TAGS.contains(&&*entries[0].0) {
                let outer = PyDict::new(py);
                outer.set_item("$dict", dict)?;
                outer.into_any()
            } else {
                dict.into_any()
            }
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
    record_to_py_keyed(py, r, &mut FieldNames::default())
}

/// [`record_to_py`] taking its keys from `names`: the rows of one result share
/// their field names, so each name becomes one interned Python string whose hash
/// is computed once, instead of a new string per row.
pub fn record_to_py_keyed<'py>(
    py: Python<'py>,
    r: &Record,
    names: &mut FieldNames<'py>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in r.iter() {
        dict.set_item(names.get(py, k), to_py(py, v)?)?;
    }
    Ok(dict)
}

/// Python strings for the field names of one result (see
/// [`record_to_py_keyed`]); a field name is usually the same `Arc` in every
/// row, so the lookup is a pointer comparison.
#[derive(Default)]
pub struct FieldNames<'py> {
    names: Vec<(Name, Bound<'py, PyString>)>,
    /// The row shapes met so far (see [`row_to_py_keyed`]).
    shapes: Vec<Shape<'py>>,
}

/// One shape of the rows of a result: its column ids (by address and length),
/// its keys in order, and from its second row on a template dict.
struct Shape<'py> {
    ids: (usize, usize),
    keys: Vec<Bound<'py, PyString>>,
    template: Option<Bound<'py, PyDict>>,
}

/// Field names kept across calls (a table's: every `get` and `select` shows
/// the same names). Only read and written between Python operations, never held
/// across one (a Python allocation may run arbitrary code and switch threads).
#[derive(Default)]
pub struct NameCache(parking_lot::Mutex<Vec<(Name, Py<PyString>)>>);

impl NameCache {
    /// The cached names, to convert one call's rows with.
    pub fn names<'py>(&self, py: Python<'py>) -> FieldNames<'py> {
        let kept: Vec<(Name, Py<PyString>)> = self
            .0
            .lock()
            .iter()
            .map(|(n, s)| (n.clone(), s.clone_ref(py)))
            .collect();
        FieldNames {
            names: kept
                .into_iter()
                .map(|(n, s)| (n, s.into_bound(py)))
                .collect(),
            shapes: Vec::new(),
        }
    }

    /// The engine name for a record key: a kept name whose Python string is
    /// this very object, or whose text is this text; else a new name, kept
    /// (with `key` as its string when `key` is an exact `str`).
    pub fn name_for(&self, key: &Bound<'_, PyString>) -> PyResult<Name> {
        if let Some((n, _)) = self
            .0
            .lock()
            .iter()
            .find(|(_, s)| s.as_ptr() == key.as_ptr())
        {
            return Ok(n.clone());
        }
        let text = str_of(key)?;
        if let Some((n, _)) = self.0.lock().iter().find(|(n, _)| **n == *text) {
            return Ok(n.clone());
        }
        let name = Name::from(text);
        let py = key.py();
        let s = if key.is_exact_instance_of::<PyString>() {
            key.clone()
        } else {
            PyString::intern(py, text)
        };
        let mut kept = self.0.lock();
        if kept.len() < FieldNames::MAX && !kept.iter().any(|(n, _)| **n == *text) {
            kept.push((name.clone(), s.unbind()));
        }
        Ok(name)
    }

    /// Keeps the names a call added.
    pub fn keep(&self, names: FieldNames<'_>) {
        let mut kept = self.0.lock();
        if names.names.len() > kept.len() {
            *kept = names
                .names
                .into_iter()
                .map(|(n, s)| (n, s.unbind()))
                .collect();
        }
    }
}

impl<'py> FieldNames<'py> {
    /// Names kept at most; a result with more distinct field names (schemaless
    /// rows of many shapes) builds the rest per row.
    const MAX: usize = 64;

    /// Row shapes given templates at most; rows of further shapes are built
    /// key by key.
    const MAX_SHAPES: usize = 16;

    fn get(&mut self, py: Python<'py>, name: &Name) -> Bound<'py, PyString> {
        if let Some((_, s)) = self
            .names
            .iter()
            .find(|(n, _)| std::sync::Arc::ptr_eq(n, name) || **n == **name)
        {
            return s.clone();
        }
        let s = PyString::intern(py, name);
        if self.names.len() < Self::MAX {
            self.names.push((name.clone(), s.clone()));
        }
        s
    }
}

/// A stored row as a new `dict`, fields in stored order: the same dict
/// [`record_to_py`] gives for the row's record, built without copying the row
/// first (what a Python callable in `where=` receives).
pub fn row_to_py<'py>(py: Python<'py>, row: RowRef<'_>) -> PyResult<Bound<'py, PyDict>> {
    row_dict(py, row, |k| PyString::new(py, k))
}

/// [`row_to_py`] taking its keys from `names` (see [`record_to_py_keyed`]).
/// From the second row of a shape (the same fields in the same order) on, the
/// dict starts as a copy of a template holding that shape's keys, which is
/// already of the right size and knows each key's slot: cheaper than growing
/// a new dict one key at a time. `names` must only see rows read under one
/// hold of their table's lock (shapes are told apart by address).
pub fn row_to_py_keyed<'py>(
    py: Python<'py>,
    row: RowRef<'_>,
    names: &mut FieldNames<'py>,
) -> PyResult<Bound<'py, PyDict>> {
    keyed_dict(py, row, row.iter().map(|(_, v)| v), names)
}

/// The rows at `positions` as a list of dicts ([`row_to_py_keyed`] each). The
/// rows are read in batches before their dicts are built: the positions of a
/// selective query are scattered over the columns, so most reads miss the
/// cache, and the reads of a batch are independent, which lets the CPU wait
/// for their misses together rather than one by one between dict builds.
pub fn rows_to_py<'py>(
    py: Python<'py>,
    data: &TableData,
    positions: &[u32],
    names: &mut FieldNames<'py>,
) -> PyResult<Bound<'py, PyList>> {
    const BATCH: usize = 64;
    let list = PyList::empty(py);
    let mut values: Vec<ValueRef<'_>> = Vec::new();
    for batch in positions.chunks(BATCH) {
        values.clear();
        let mut touched = 0u8;
        for &p in batch {
            for (_, v) in data.row(p).iter() {
                // A string's bytes are a read of their own.
                if let ValueRef::Str(s) = v {
                    touched ^= s.as_bytes().first().copied().unwrap_or(0);
                }
                values.push(v);
            }
        }
        std::hint::black_box(touched);
        let mut at = 0;
        for &p in batch {
            let row = data.row(p);
            let n = row.len();
            list.append(keyed_dict(
                py,
                row,
                values[at..at + n].iter().copied(),
                names,
            )?)?;
            at += n;
        }
    }
    Ok(list)
}

/// [`row_to_py_keyed`] with the row's values given (in the row's order).
fn keyed_dict<'py, 'r>(
    py: Python<'py>,
    row: RowRef<'r>,
    values: impl Iterator<Item = ValueRef<'r>>,
    names: &mut FieldNames<'py>,
) -> PyResult<Bound<'py, PyDict>> {
    let ids = row.column_ids();
    let at = match names
        .shapes
        .iter()
        .position(|s| s.ids == (ids.as_ptr() as usize, ids.len()))
    {
        Some(at) => at,
        None => {
            // A shape's first row: built key by key, its keys kept as the
            // shape's while there is room.
            let keep = names.shapes.len() < FieldNames::MAX_SHAPES;
            let mut keys = Vec::with_capacity(if keep { row.len() } else { 0 });
            let dict = PyDict::new(py);
            for (k, v) in row.names().zip(values) {
                let key = names.get(py, k);
                dict.set_item(&key, value_ref_to_py(py, v)?)?;
                if keep {
                    keys.push(key);
                }
            }
            if keep {
                names.shapes.push(Shape {
                    ids: (ids.as_ptr() as usize, ids.len()),
                    keys,
                    template: None,
                });
            }
            return Ok(dict);
        }
    };
    let shape = &mut names.shapes[at];
    let dict = match &shape.template {
        Some(t) => t.copy()?,
        None => {
            let t = PyDict::new(py);
            for key in &shape.keys {
                t.set_item(key, py.None())?;
            }
            let d = t.copy()?;
            shape.template = Some(t);
            d
        }
    };
    for (key, v) in shape.keys.iter().zip(values) {
        dict.set_item(key, value_ref_to_py(py, v)?)?;
    }
    Ok(dict)
}

/// A borrowed row as a new `dict`, each field's key string made by `key`.
fn row_dict<'py>(
    py: Python<'py>,
    row: RowRef<'_>,
    mut key: impl FnMut(&Name) -> Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in row.iter() {
        dict.set_item(key(k), value_ref_to_py(py, v)?)?;
    }
    Ok(dict)
}

/// A borrowed value as a new Python object (what [`to_py`] gives for its
/// owned copy), without copying scalars and strings first.
fn value_ref_to_py<'py>(py: Python<'py>, v: ValueRef<'_>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        ValueRef::Null => py.None().into_bound(py),
        ValueRef::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        ValueRef::Int(i) => i.into_pyobject(py)?.into_any(),
        ValueRef::Float(f) => PyFloat::new(py, f).into_any(),
        ValueRef::Str(s) => PyString::new(py, s).into_any(),
        ValueRef::Bytes(b) => PyBytes::new(py, b).into_any(),
        other => to_py(py, &other.to_owned())?,
    })
}

/// A record as a `dict` of builtin objects, values tagged as by [`to_py_tagged`]
/// (the record itself is never wrapped).
pub fn record_to_py_tagged<'py>(py: Python<'py>, r: &Record) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in r.iter() {
        dict.set_item(&**k, to_py_tagged(py, v)?)?;
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
