//! `TableCore`: the engine table behind a Python `dictdb_rs.Table`.
//!
//! Every method converts its Python arguments first (holding the GIL), then
//! releases the GIL for the engine call, which takes the table's lock, and
//! converts the owned results back once the lock is released (python-api.md
//! §10: never wait for a table lock while holding the GIL). The exceptions:
//! - `select` of whole rows builds its dicts from the borrowed rows under the
//!   read lock, re-acquiring the GIL there (object construction, which §10
//!   allows under a lock);
//! - one-row calls (`insert` of one record, `upsert`, `get`, `update` and
//!   `delete` by key) first *try* the lock with the GIL held and keep the GIL
//!   when the lock is free at once ([`write_now`]): they never
//!   wait for the lock holding the GIL, and they skip the GIL hand-over, which
//!   costs as much as the write itself.

use std::sync::Arc;

use dictdb::{IndexKind, OnConflict, Query, Record, Schema, UpsertAction, Value};
use dictdb_engine::FieldType;
use dictdb_query::OrderKey;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::{
    KeyNames, Path, record_to_py, record_to_py_keyed, record_to_py_tagged, to_py, to_record,
    to_record_keyed, to_record_tagged, to_value,
};
use crate::dsl::to_expr;
use crate::errors;

/// What a host validator (a Python `validate_record` override) is shown: the
/// caller's own objects, so `isinstance` checks see the values as passed
/// (python-api.md §6.3).
enum Given {
    /// The record of a single insert or an upsert, or an update's changes.
    One(Py<PyDict>),
    /// The records of a bulk insert.
    Many(Py<PyList>),
}

/// The engine's host validator calling `validator(record)` with the GIL
/// re-acquired, under the table's write lock (python-api.md §6.3, §10): a new
/// record is the caller's dict (plus the automatic key it gets), a merge is
/// the stored row overlaid with the caller's dict. The validator's exception
/// comes back unchanged.
fn host_validator(
    validator: Option<&Bound<'_, PyAny>>,
    given: Given,
    primary_key: &str,
) -> Option<Arc<dictdb_engine::HostValidator>> {
    use dictdb_engine::{HostError, Validation};
    let validator = validator.filter(|v| !v.is_none())?.clone().unbind();
    let pk = primary_key.to_owned();
    Some(Arc::new(move |v: &Validation<'_>| {
        Python::attach(|py| {
            let run = || -> PyResult<()> {
                let record = match v {
                    Validation::New { index, key, .. } => {
                        let source = match &given {
                            Given::One(d) => d.bind(py).clone(),
                            Given::Many(l) => l.bind(py).get_item(*index)?.cast_into::<PyDict>()?,
                        };
                        let d = source.copy()?;
                        if let Some(k) = key {
                            d.set_item(&pk, to_py(py, k)?)?;
                        }
                        d
                    }
                    Validation::Merge { stored, .. } => {
                        let d = record_to_py(py, stored)?;
                        if let Given::One(changes) = &given {
                            d.update(changes.bind(py).as_mapping())?;
                        }
                        d
                    }
                };
                validator.bind(py).call1((record,))?;
                Ok(())
            };
            run().map_err(|e| HostError::new(e.to_string(), e))
        })
    }))
}

/// Runs `f` (a write, without the GIL) with `validator` standing in for the
/// schema check, if there is one.
fn validated<R>(validator: Option<Arc<dictdb_engine::HostValidator>>, f: impl FnOnce() -> R) -> R {
    match validator {
        Some(v) => dictdb_engine::with_validator(v, f),
        None => f(),
    }
}

/// Runs `f` under the engine table's write lock: taken at once with the GIL
/// held when it is free, else waited for with the GIL released (so that a
/// holder calling back into Python, a `where=` callable or a validator, can
/// finish). For calls that touch one row.
fn write_now<R: Send>(
    py: Python<'_>,
    table: &dictdb_engine::Table,
    f: impl FnOnce(&mut dictdb_engine::TableData) -> R + Send,
) -> R {
    if let Some(mut data) = table.try_write() {
        return f(&mut data);
    }
    py.detach(|| f(&mut table.write()))
}

/// An engine table. Python's `Table` wraps one.
#[pyclass(module = "dictdb_rs._native", frozen)]
pub struct TableCore {
    pub(crate) table: dictdb::Table,
    /// The Python strings of the field names its results use.
    pub(crate) names: crate::convert::NameCache,
    /// The primary key's name as a Python string.
    pk_name: pyo3::sync::PyOnceLock<Py<pyo3::types::PyString>>,
}

impl From<dictdb::Table> for TableCore {
    fn from(table: dictdb::Table) -> Self {
        TableCore {
            table,
            names: Default::default(),
            pk_name: pyo3::sync::PyOnceLock::new(),
        }
    }
}

pub(crate) fn schema_of(fields: Vec<(String, String, bool)>) -> PyResult<Schema> {
    let mut schema = Schema::new();
    for (name, ty, nullable) in fields {
        let t = FieldType::from_name(&ty).ok_or_else(|| {
            PyValueError::new_err(format!("field '{name}': unsupported schema type '{ty}'"))
        })?;
        schema = schema.with_field(name, t, nullable);
    }
    Ok(schema)
}

/// A CSV delimiter: one ASCII character (the CSV code checks which).
pub(crate) fn delimiter_byte(d: &str) -> PyResult<u8> {
    match d.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ => Err(PyValueError::new_err(format!(
            "the CSV delimiter must be one ASCII character, not {d:?}"
        ))),
    }
}

/// Writes records (a list of dicts) to a UTF-8 CSV file atomically
/// (python-api.md §12.2); returns the number of data rows.
#[pyfunction]
#[pyo3(signature = (path, records, columns, delimiter))]
pub fn export_records_csv(
    py: Python<'_>,
    path: std::path::PathBuf,
    records: &Bound<'_, PyAny>,
    columns: Option<Vec<String>>,
    delimiter: &str,
) -> PyResult<usize> {
    let mut rs = Vec::new();
    for item in records.try_iter()? {
        rs.push(to_record(&item?)?);
    }
    let options = dictdb::ExportOptions {
        columns,
        delimiter: delimiter_byte(delimiter)?,
        encoding: "utf-8".into(),
    };
    py.detach(|| dictdb_backup::csv::export_csv(&path, rs.iter(), &options))
        .map_err(|e| errors::facade(py, dictdb::Error::from(e)))
}

/// An aggregation of these group fields and `(name, function, field)` calls.
fn aggregation(
    group_by: &[String],
    aggs: &[(String, String, Option<String>)],
) -> PyResult<dictdb_query::Aggregation> {
    use dictdb_query::Agg;
    let mut a = dictdb_query::Aggregation::new().group_by(group_by.iter().map(String::as_str));
    for (name, func, field) in aggs {
        let agg = match (func.as_str(), field.as_deref()) {
            ("count", None) => Agg::count(),
            ("count", Some(f)) => Agg::count_field(f),
            ("sum", Some(f)) => Agg::sum(f),
            ("avg", Some(f)) => Agg::avg(f),
            ("min", Some(f)) => Agg::min(f),
            ("max", Some(f)) => Agg::max(f),
            (func, field) => {
                return Err(PyValueError::new_err(format!(
                    "unknown aggregate {func}({})",
                    field.unwrap_or("")
                )));
            }
        };
        a = a.agg(name, agg);
    }
    Ok(a)
}

/// One aggregate over a plain list of values (`Agg.compute`).
#[pyfunction]
pub fn compute_aggregate<'py>(
    py: Python<'py>,
    func: String,
    values: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut rows = Vec::new();
    for v in values.try_iter()? {
        let v = to_value(&v?, Path::Other("a value to aggregate"))?;
        rows.push(Record::new().with("v", v));
    }
    let field = (func != "count_all").then_some("v".to_string());
    let func = if func == "count_all" {
        "count".to_string()
    } else {
        func
    };
    let a = aggregation(&[], &[("r".into(), func, field)])?;
    let table = dictdb_engine::Table::new("values", "\u{0}key", None);
    let out = py
        .detach(|| {
            table.insert_many(rows)?;
            dictdb_query::aggregate::execute(&a, &dictdb_query::Access::FullScan, &table.read())
                .map_err(dictdb::Error::from)
        })
        .map_err(|e| match e {
            dictdb::Error::Engine(e) => errors::engine(py, e),
            other => errors::facade(py, other),
        });
    let out = out?;
    let r = out
        .first()
        .and_then(|r| r.get("r"))
        .cloned()
        .unwrap_or(Value::Null);
    to_py(py, &r)
}

/// A captured table as a pickle state's parts (python-api.md §6.14): rows in
/// insertion order as dicts with tagged dates/datetimes, the counter, the
/// index definitions.
pub(crate) type PickleState<'py> = (Bound<'py, PyList>, i64, Vec<(String, &'static str)>);

/// [`PickleState`] of a snapshot.
pub(crate) fn snapshot_state<'py>(
    py: Python<'py>,
    snap: &dictdb_engine::TableSnapshot,
) -> PyResult<PickleState<'py>> {
    let rows = PyList::empty(py);
    for r in snap.rows() {
        rows.append(record_to_py_tagged(py, &r.to_record())?)?;
    }
    let indexes = snap
        .indexes
        .iter()
        .map(|(f, k)| (f.to_string(), kind_name(*k)))
        .collect();
    Ok((rows, snap.next_pk, indexes))
}

fn kind_name(k: IndexKind) -> &'static str {
    match k {
        IndexKind::Hash => "hash",
        IndexKind::Sorted => "sorted",
    }
}

/// An index bucket handed to Python: the value and the keys holding it.
type Bucket<'py> = (Bound<'py, PyAny>, Bound<'py, PyList>);

fn values_to_py<'py>(py: Python<'py>, values: &[Value]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for v in values {
        list.append(to_py(py, v)?)?;
    }
    Ok(list)
}

fn records_to_py<'py>(
    py: Python<'py>,
    records: &[Record],
    cache: &crate::convert::NameCache,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    let mut names = cache.names(py);
    for r in records {
        list.append(record_to_py_keyed(py, r, &mut names)?)?;
    }
    cache.keep(names);
    Ok(list)
}

impl TableCore {
    /// The primary key's name as a Python string (made once).
    fn pk_name<'py>(&self, py: Python<'py>) -> &Bound<'py, pyo3::types::PyString> {
        self.pk_name
            .get_or_init(py, || {
                pyo3::types::PyString::intern(py, self.table.primary_key()).unbind()
            })
            .bind(py)
    }

    /// The record's key field is absent or `None`: the engine assigns one.
    fn auto_key(&self, record: &Bound<'_, PyDict>) -> PyResult<bool> {
        Ok(match record.get_item(self.pk_name(record.py()))? {
            None => true,
            Some(v) => v.is_none(),
        })
    }

    fn where_expr(ir: Option<&Bound<'_, PyAny>>) -> PyResult<Option<dictdb_query::Expr>> {
        ir.filter(|ir| !ir.is_none()).map(to_expr).transpose()
    }

    /// The key `k` when `where` is exactly `pk == k` with `k` an `int` (not a
    /// bool) or a `str`: such a write is one primary-key lookup, the same rows
    /// the general path finds, without planning or a candidate scan.
    fn pk_equality(&self, ir: Option<&Bound<'_, PyAny>>) -> Option<Value> {
        let t = ir?.cast::<pyo3::types::PyTuple>().ok()?;
        if t.len() != 4 {
            return None;
        }
        let is = |i: usize, s: &str| {
            t.get_item(i).ok().is_some_and(|x| {
                x.cast::<pyo3::types::PyString>()
                    .ok()
                    .and_then(|x| crate::convert::str_of(x).ok().map(|x| x == s))
                    .unwrap_or(false)
            })
        };
        if !(is(0, "cmp") && is(1, "==") && is(2, self.table.primary_key())) {
            return None;
        }
        let v = t.get_item(3).ok()?;
        if v.is_exact_instance_of::<pyo3::types::PyInt>() {
            v.extract::<i64>().ok().map(Value::Int)
        } else if let Ok(s) = v.cast_exact::<pyo3::types::PyString>() {
            crate::convert::str_of(s).ok().map(Value::str)
        } else {
            None
        }
    }
}

#[pymethods]
impl TableCore {
    /// A new, empty table; `schema` is a list of `(field, type name, nullable)`.
    #[new]
    #[pyo3(signature = (name, primary_key, schema=None))]
    fn new(
        name: &str,
        primary_key: &str,
        schema: Option<Vec<(String, String, bool)>>,
    ) -> PyResult<Self> {
        let schema = schema.map(schema_of).transpose()?;
        let inner = dictdb_engine::Table::new(name, primary_key, schema);
        Ok(TableCore::from(dictdb::Table::from(Arc::new(inner))))
    }

    /// The table's name.
    #[getter]
    fn name(&self) -> &str {
        self.table.name()
    }

    /// The primary-key field.
    #[getter]
    fn primary_key(&self) -> &str {
        self.table.primary_key()
    }

    /// The schema as `(field, type name, nullable)`, or `None`.
    fn schema_spec(&self) -> Option<Vec<(String, &'static str, bool)>> {
        self.table.schema().map(|s| {
            s.fields()
                .iter()
                .map(|f| (f.name.to_string(), f.ty.name(), f.nullable))
                .collect()
        })
    }

    /// Whether both wrap the same engine table.
    fn same_table(&self, other: PyRef<'_, TableCore>) -> bool {
        Arc::ptr_eq(self.table.engine(), other.table.engine())
    }

    /// Inserts one record (validated unless `validate` is false); writes an
    /// auto-assigned key into the caller's dict once the insert succeeded.
    #[pyo3(signature = (record, validate, validator=None))]
    fn insert<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
        validate: bool,
        validator: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = to_record_keyed(record, &mut KeyNames::cached(&self.names))?;
        let dict = record.cast::<PyDict>()?;
        let auto = self.auto_key(dict)?;
        let host = validator.and_then(|v| {
            host_validator(
                Some(v),
                Given::One(dict.clone().unbind()),
                self.table.primary_key(),
            )
        });
        let key = write_now(py, self.table.engine(), |data| {
            validated(host, || data.insert(r, validate))
        })
        .map_err(|e| errors::engine(py, e))?;
        let key = to_py(py, &key)?;
        if auto {
            dict.set_item(self.pk_name(py), &key)?;
        }
        Ok(key)
    }

    /// Inserts a list of records, all or nothing; returns their keys in order
    /// and writes auto-assigned keys into the callers' dicts on success.
    #[pyo3(signature = (records, validate, validator=None))]
    fn insert_many<'py>(
        &self,
        py: Python<'py>,
        records: &Bound<'py, PyList>,
        validate: bool,
        validator: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut rs = Vec::with_capacity(records.len());
        let mut auto = Vec::with_capacity(records.len());
        let mut keys = KeyNames::cached(&self.names);
        for (i, item) in records.iter().enumerate() {
            let r = crate::convert::to_record_keyed(&item, &mut keys).map_err(|e| {
                PyErr::from_type(e.get_type(py), format!("record {i}: {}", e.value(py)))
            })?;
            auto.push(self.auto_key(item.cast::<PyDict>()?)?);
            rs.push(r);
        }
        let table = &self.table;
        let host = host_validator(
            validator,
            Given::Many(records.clone().unbind()),
            table.primary_key(),
        );
        let keys = py
            .detach(|| {
                validated(host, || {
                    if validate {
                        table.insert_many(rs)
                    } else {
                        table.insert_many_unvalidated(rs)
                    }
                })
            })
            .map_err(|e| errors::facade(py, e))?;
        let out = PyList::empty(py);
        for ((item, key), auto) in records.iter().zip(&keys).zip(auto) {
            let key = to_py(py, key)?;
            if auto {
                item.cast::<PyDict>()?.set_item(self.pk_name(py), &key)?;
            }
            out.append(key)?;
        }
        Ok(out)
    }

    /// Inserts or merges one record; returns `(key, action)`.
    #[pyo3(signature = (record, on_conflict, validator=None))]
    fn upsert<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
        on_conflict: &str,
        validator: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyAny>, &'static str)> {
        let on_conflict = match on_conflict {
            "update" => OnConflict::Update,
            "ignore" => OnConflict::Ignore,
            "error" => OnConflict::Error,
            other => {
                return Err(PyValueError::new_err(format!(
                    "on_conflict must be 'update', 'ignore' or 'error', not {other:?}"
                )));
            }
        };
        let r = to_record_keyed(record, &mut KeyNames::cached(&self.names))?;
        let dict = record.cast::<PyDict>()?;
        let auto = self.auto_key(dict)?;
        let host = validator.and_then(|v| {
            host_validator(
                Some(v),
                Given::One(dict.clone().unbind()),
                self.table.primary_key(),
            )
        });
        let (key, action) = write_now(py, self.table.engine(), |data| {
            validated(host, || data.upsert(r, on_conflict))
        })
        .map_err(|e| errors::engine(py, e))?;
        let key = to_py(py, &key)?;
        if auto && action == UpsertAction::Inserted {
            dict.set_item(self.pk_name(py), &key)?;
        }
        let action = match action {
            UpsertAction::Inserted => "inserted",
            UpsertAction::Updated => "updated",
            UpsertAction::Ignored => "ignored",
        };
        Ok((key, action))
    }

    /// A copy of the row with this key, or `None`.
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let key = to_value(key, Path::Other("the key"))?;
        if let Some(data) = self.table.engine().try_read() {
            // The lock was free: the dict is built from the borrowed row.
            return match data.lookup_key(key.as_ref()) {
                Some(pos) => {
                    let mut names = self.names.names(py);
                    let d = crate::convert::row_to_py_keyed(py, data.row(pos), &mut names)?;
                    drop(data);
                    self.names.keep(names);
                    Ok(Some(d))
                }
                None => Ok(None),
            };
        }
        let table = &self.table;
        match py.detach(|| table.get(&key)) {
            Some(r) => {
                let mut names = self.names.names(py);
                let d = record_to_py_keyed(py, &r, &mut names)?;
                self.names.keep(names);
                Ok(Some(d))
            }
            None => Ok(None),
        }
    }

    /// Runs a query: `where` a predicate tree (or `None`), `columns` a list of
    /// `(alias, field)` (or `None` for whole rows), `order_by` a list of
    /// `(field, descending)`.
    #[pyo3(signature = (r#where=None, columns=None, order_by=Vec::new(), limit=None, offset=0, distinct=false))]
    #[allow(clippy::too_many_arguments)]
    fn select<'py>(
        &self,
        py: Python<'py>,
        r#where: Option<&Bound<'py, PyAny>>,
        columns: Option<Vec<(String, String)>>,
        order_by: Vec<(String, bool)>,
        limit: Option<i64>,
        offset: i64,
        distinct: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut q = Query::new();
        if let Some(e) = Self::where_expr(r#where)? {
            q = q.filter(e);
        }
        for (f, desc) in &order_by {
            q = q.order_by_key(if *desc {
                OrderKey::desc(f)
            } else {
                OrderKey::asc(f)
            });
        }
        if let Some(cols) = &columns {
            q = q.project(cols.iter().map(|(a, f)| (a.as_str(), dictdb_query::col(f))));
        }
        if let Some(l) = limit {
            q = q.limit(l);
        }
        q = q.offset(offset);
        if distinct {
            q = q.distinct();
        }
        let table = &self.table;
        let cache = &self.names;
        // Whole rows become dicts straight from the borrowed rows, with the
        // GIL re-acquired under the read lock (python-api.md §10 allows object
        // construction there); computed rows are converted after it.
        let out = py
            .detach(|| {
                table.select_with(&q, |rows| match rows {
                    dictdb::SelectRows::Rows(data, positions) => {
                        Ok(Python::attach(|py| -> PyResult<Py<PyList>> {
                            let mut names = cache.names(py);
                            let list = crate::convert::rows_to_py(py, data, positions, &mut names)?;
                            cache.keep(names);
                            Ok(list.unbind())
                        }))
                    }
                    dictdb::SelectRows::Records(records) => Err(records),
                })
            })
            .map_err(|e| errors::facade(py, e))?;
        match out {
            Ok(list) => Ok(list?.into_bound(py)),
            Err(records) => records_to_py(py, &records, &self.names),
        }
    }

    /// Merges `changes` into every row matching `where` (every row for `None`),
    /// atomically; returns the number of rows matched.
    #[pyo3(signature = (changes, r#where=None, validator=None))]
    fn update(
        &self,
        py: Python<'_>,
        changes: &Bound<'_, PyAny>,
        r#where: Option<&Bound<'_, PyAny>>,
        validator: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let given = changes.cast::<PyDict>().map(|d| d.clone().unbind()).ok();
        let changes = to_record_keyed(changes, &mut KeyNames::cached(&self.names))?;
        if let Some(Value::Null) = changes.get(self.table.primary_key()) {
            return Err(PyValueError::new_err(format!(
                "the primary key '{}' of table '{}' cannot be set to None",
                self.table.primary_key(),
                self.table.name()
            )));
        }
        let table = &self.table;
        let host =
            given.and_then(|g| host_validator(validator, Given::One(g), table.primary_key()));
        if let Some(key) = self.pk_equality(r#where) {
            return write_now(py, table.engine(), |data| {
                validated(host, || data.update_key(key.as_ref(), &changes))
            })
            .map(usize::from)
            .map_err(|e| errors::engine(py, e));
        }
        let filter = Self::where_expr(r#where)?;
        py.detach(|| validated(host, || table.update_where(filter.as_ref(), changes)))
            .map_err(|e| errors::facade(py, e))
    }

    /// Deletes every row matching `where` (every row for `None`); returns the
    /// count.
    #[pyo3(signature = (r#where=None))]
    fn delete(&self, py: Python<'_>, r#where: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
        let table = &self.table;
        if let Some(key) = self.pk_equality(r#where) {
            return Ok(usize::from(write_now(py, table.engine(), |data| {
                data.delete_key(key.as_ref())
            })));
        }
        let filter = Self::where_expr(r#where)?;
        py.detach(|| table.delete_where(filter.as_ref()))
            .map_err(|e| errors::facade(py, e))
    }

    /// Aggregates the rows matching `where`: `aggs` is a list of `(result name,
    /// function, field or None)` with functions `count sum avg min max`.
    /// Without `group_by` one dict; with it one per group in order of first
    /// appearance (python-api.md §6.12).
    #[pyo3(signature = (r#where, group_by, aggs))]
    fn aggregate<'py>(
        &self,
        py: Python<'py>,
        r#where: Option<&Bound<'py, PyAny>>,
        group_by: Vec<String>,
        aggs: Vec<(String, String, Option<String>)>,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut a = aggregation(&group_by, &aggs)?;
        if let Some(e) = Self::where_expr(r#where)? {
            a = a.filter(e);
        }
        let table = &self.table;
        let rows = py
            .detach(|| table.aggregate(&a))
            .map_err(|e| errors::facade(py, e))?;
        records_to_py(py, &rows, &self.names)
    }

    /// Writes the rows matching `where` (every row for `None`) to a UTF-8 CSV
    /// file atomically; returns the number of data rows.
    #[pyo3(signature = (path, r#where, columns, delimiter))]
    fn export_csv(
        &self,
        py: Python<'_>,
        path: std::path::PathBuf,
        r#where: Option<&Bound<'_, PyAny>>,
        columns: Option<Vec<String>>,
        delimiter: &str,
    ) -> PyResult<usize> {
        let filter = Self::where_expr(r#where)?;
        let options = dictdb::ExportOptions {
            columns,
            delimiter: delimiter_byte(delimiter)?,
            encoding: "utf-8".into(),
        };
        let table = &self.table;
        py.detach(|| table.export_csv(&path, filter.as_ref(), &options))
            .map_err(|e| errors::facade(py, e))
    }

    /// Creates an index (`"hash"` or `"sorted"`); `False` if the field had one.
    fn create_index(&self, py: Python<'_>, field: &str, kind: &str) -> PyResult<bool> {
        let kind = match kind {
            "hash" => IndexKind::Hash,
            "sorted" => IndexKind::Sorted,
            other => {
                return Err(PyValueError::new_err(format!(
                    "index_type must be 'hash' or 'sorted', not {other:?}"
                )));
            }
        };
        let table = &self.table;
        Ok(py.detach(|| table.create_index(field, kind)))
    }

    /// `(field, "hash" | "sorted")` for each index, in creation order.
    fn indexes(&self, py: Python<'_>) -> Vec<(String, &'static str)> {
        let table = &self.table;
        py.detach(|| table.indexes())
            .into_iter()
            .map(|(f, k)| (f, kind_name(k)))
            .collect()
    }

    /// Every primary key, in insertion order.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let engine = self.table.engine().clone();
        let keys: Vec<Value> = py.detach(|| {
            let data = engine.read();
            data.positions()
                .map(|p| data.key_at(p).to_owned())
                .collect()
        });
        values_to_py(py, &keys)
    }

    /// Whether a row has this key.
    fn contains(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let key = to_value(key, Path::Other("the key"))?;
        let engine = self.table.engine().clone();
        Ok(py.detach(|| engine.read().lookup_key(key.as_ref()).is_some()))
    }

    /// The buckets of the index on `field`: `(value, [pk, …])` in the index's
    /// order (`None` when the field has no index).
    fn index_entries<'py>(
        &self,
        py: Python<'py>,
        field: &str,
    ) -> PyResult<Option<Vec<Bucket<'py>>>> {
        let engine = self.table.engine().clone();
        let buckets: Option<Vec<(Value, Vec<Value>)>> = py.detach(|| {
            let data = engine.read();
            let ix = data.index(field)?;
            Some(
                ix.entries()
                    .map(|(v, ps)| {
                        let keys = ps.iter().map(|&p| data.key_at(p).to_owned()).collect();
                        (v.clone(), keys)
                    })
                    .collect(),
            )
        });
        buckets
            .map(|b| {
                b.iter()
                    .map(|(v, keys)| Ok((to_py(py, v)?, values_to_py(py, keys)?)))
                    .collect()
            })
            .transpose()
    }

    /// The keys of the rows whose indexed `field` equals `value` (Python
    /// equality), from the index; `None` when the field has no index.
    fn index_lookup<'py>(
        &self,
        py: Python<'py>,
        field: &str,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let value = to_value(value, Path::Constant(field))?;
        let engine = self.table.engine().clone();
        let keys: Option<Vec<Value>> = py.detach(|| {
            let data = engine.read();
            let ix = data.index(field)?;
            Some(
                ix.lookup(value.as_ref())
                    .into_iter()
                    .filter(|&p| {
                        data.column_id(field)
                            .is_some_and(|c| dictdb_engine::py_eq(data.value(p, c), value.as_ref()))
                    })
                    .map(|p| data.key_at(p).to_owned())
                    .collect(),
            )
        });
        keys.map(|k| values_to_py(py, &k)).transpose()
    }

    /// The number of rows.
    fn __len__(&self, py: Python<'_>) -> usize {
        let table = &self.table;
        py.detach(|| table.len())
    }

    /// Whether rows were written or deleted since the last clear.
    fn has_changes(&self, py: Python<'_>) -> bool {
        let table = &self.table;
        py.detach(|| table.has_changes())
    }

    /// Copies of the rows written since the last clear, in insertion order.
    fn dirty_records<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let table = &self.table;
        let rows = py.detach(|| table.dirty_records());
        records_to_py(py, &rows, &self.names)
    }

    /// The keys deleted since the last clear, in deletion order.
    fn deleted_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let table = &self.table;
        let keys = py.detach(|| table.deleted_keys());
        let list = PyList::empty(py);
        for k in &keys {
            list.append(to_py(py, k)?)?;
        }
        Ok(list)
    }

    /// Empties the change tracking.
    fn clear_tracking(&self, py: Python<'_>) {
        let table = &self.table;
        py.detach(|| table.clear_tracking())
    }

    /// The automatic-key counter: the key the next auto-keyed insert tries.
    fn next_key(&self, py: Python<'_>) -> i64 {
        let engine = self.table.engine().clone();
        py.detach(|| engine.read().next_key())
    }

    /// Moves the automatic-key counter forward to `next` (never below one more
    /// than the largest int key, never backwards).
    fn set_next_key(&self, py: Python<'_>, next: i64) {
        let engine = self.table.engine().clone();
        py.detach(|| engine.write().set_next_key(next))
    }

    /// A copy of the table under another name: the same definition, rows,
    /// counter and indexes, captured at one moment (under the read lock);
    /// tracking clean. Used to save a table under a `db.tables` key that is
    /// not its own name.
    fn renamed(&self, py: Python<'_>, name: &str) -> PyResult<TableCore> {
        let engine = self.table.engine().clone();
        let table = py
            .detach(|| {
                let snap = engine.read().snapshot();
                let copy =
                    dictdb_engine::Table::new(name, snap.primary_key(), snap.schema().cloned());
                {
                    let mut data = copy.write();
                    data.insert_many(snap.rows().map(|r| r.to_record()).collect(), false)?;
                    data.set_next_key(snap.next_pk);
                    data.clear_tracking();
                }
                for (field, kind) in &snap.indexes {
                    copy.create_index(field, *kind);
                }
                Ok::<_, dictdb_engine::Error>(copy)
            })
            .map_err(|e| errors::engine(py, e))?;
        Ok(TableCore::from(dictdb::Table::from(Arc::new(table))))
    }

    /// The pickled state's data (python-api.md §6.14), captured at one moment
    /// under the read lock: `(rows, next_pk, indexes)` with the rows in
    /// insertion order as dicts of builtin objects (tagged dates, datetimes and
    /// tag-like dicts, bytes as bytes) and the indexes as `(field, kind)`.
    #[allow(clippy::type_complexity)]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<PickleState<'py>> {
        let engine = self.table.engine().clone();
        let snap = py.detach(|| engine.read().snapshot());
        snapshot_state(py, &snap)
    }

    /// A table rebuilt from a pickled state (python-api.md §6.14): the rows
    /// (tagged values decoded) inserted under the insert rules (schema
    /// validation, duplicate keys, auto keys), then the counter, then the
    /// indexes; tracking clean.
    #[staticmethod]
    #[pyo3(signature = (name, primary_key, schema, rows, next_pk, indexes))]
    fn from_state(
        py: Python<'_>,
        name: &str,
        primary_key: &str,
        schema: Option<Vec<(String, String, bool)>>,
        rows: &Bound<'_, PyAny>,
        next_pk: Option<i64>,
        indexes: Vec<(String, String)>,
    ) -> PyResult<TableCore> {
        let schema = schema.map(schema_of).transpose()?;
        let mut kinds = Vec::with_capacity(indexes.len());
        for (field, kind) in indexes {
            let k = match kind.as_str() {
                "hash" => IndexKind::Hash,
                "sorted" => IndexKind::Sorted,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "table '{name}': unknown index type '{other}' for field '{field}'"
                    )));
                }
            };
            kinds.push((field, k));
        }
        let mut records = Vec::new();
        for (i, item) in rows.try_iter()?.enumerate() {
            let r = to_record_tagged(&item?).map_err(|e| {
                PyErr::from_type(
                    e.get_type(py),
                    format!("table '{name}', record {i}: {}", e.value(py)),
                )
            })?;
            records.push(r);
        }
        let table = dictdb_engine::Table::new(name, primary_key, schema);
        py.detach(|| {
            let mut data = table.write();
            data.insert_many(records, true)?;
            if let Some(next) = next_pk {
                data.set_next_key(next);
            }
            data.clear_tracking();
            drop(data);
            for (field, kind) in &kinds {
                table.create_index(field, *kind);
            }
            Ok::<_, dictdb_engine::Error>(())
        })
        .map_err(|e| errors::engine(py, e))?;
        Ok(TableCore::from(dictdb::Table::from(Arc::new(table))))
    }

    /// The field names of every row, sorted (for schemaless tables).
    fn field_names(&self, py: Python<'_>) -> Vec<String> {
        let engine = self.table.engine().clone();
        let mut names: Vec<String> = py.detach(|| {
            engine
                .read()
                .live_field_names()
                .iter()
                .map(|n| n.to_string())
                .collect()
        });
        names.sort();
        names
    }
}
