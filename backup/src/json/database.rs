//! Whole databases: writing and reading python-api.md §11.2's layout.

use std::collections::HashMap;
use std::io::Write;

use dictdb_engine::{FieldType, IndexKind, Name, Record, Schema, Value, ValueRef};

use super::error::JsonError;
use super::parse::Parser;
use super::write::{Sink, write_indexes, write_schema, write_str, write_value};

/// A table's definition as saved: everything but its rows.
#[derive(Clone, Copy, Debug)]
pub struct TableDef<'a> {
    /// The table's name (its key in the registry).
    pub name: &'a str,
    /// The primary-key field.
    pub primary_key: &'a str,
    /// The schema, `None` for a schema-less table.
    pub schema: Option<&'a Schema>,
    /// Index definitions in creation order.
    pub indexes: &'a [(Name, IndexKind)],
    /// The auto-pk counter.
    pub next_pk: i64,
}

/// One table to write with [`write_database`]: its definition and its rows in
/// insertion order.
///
/// `rows` yields one row at a time, each an iterator of `(field name, value)`
/// pairs in the row's field order: `data.positions().map(|p| data.row(p).iter())`
/// over a table's data, or [`record_rows`] over records.
#[derive(Clone, Debug)]
pub struct TableOut<'a, R> {
    /// The table's name (its key in the registry).
    pub name: &'a str,
    /// The primary-key field.
    pub primary_key: &'a str,
    /// The schema, `None` for a schema-less table.
    pub schema: Option<&'a Schema>,
    /// Index definitions in creation order.
    pub indexes: &'a [(Name, IndexKind)],
    /// The auto-pk counter.
    pub next_pk: i64,
    /// The rows, in insertion order.
    pub rows: R,
}

impl<'a, R> TableOut<'a, R> {
    /// The definition part.
    pub fn def(&self) -> TableDef<'a> {
        TableDef {
            name: self.name,
            primary_key: self.primary_key,
            schema: self.schema,
            indexes: self.indexes,
            next_pk: self.next_pk,
        }
    }
}

/// Records as rows for [`TableOut::rows`] or [`DatabaseWriter::write_row`].
pub fn record_rows(
    records: &[Record],
) -> impl Iterator<Item = impl Iterator<Item = (&Name, ValueRef<'_>)>> {
    records
        .iter()
        .map(|r| r.iter().map(|(n, v)| (n, v.as_ref())))
}

/// Writes a whole database in python-api.md §11.2's layout: tables in the order
/// given, each with its rows in the order given, one row per line.
///
/// Rows are encoded straight into a buffer that is handed to `w` in 64 KiB
/// chunks; `w` is flushed at the end. Only I/O can fail: every value and every
/// schema type has an encoding. For a file, run this inside
/// [`write_atomic`](crate::write_atomic) (a [`JsonError`] converts into an
/// `io::Error`).
///
/// ```
/// use dictdb_backup::json::{TableOut, record_rows, write_database};
/// use dictdb_engine::record;
///
/// let rows = [record! { "id" => 1, "name" => "Zoë" }];
/// let mut out = Vec::new();
/// write_database(&mut out, [TableOut {
///     name: "users", primary_key: "id", schema: None, indexes: &[], next_pk: 2,
///     rows: record_rows(&rows),
/// }])?;
/// assert!(String::from_utf8(out)?.contains("\n                {\"id\": 1, \"name\": \"Zoë\"}\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_database<'a, 'v, W, R, N>(
    w: &mut W,
    tables: impl IntoIterator<Item = TableOut<'a, R>>,
) -> Result<(), JsonError>
where
    W: Write + ?Sized,
    R: IntoIterator,
    R::Item: IntoIterator<Item = (N, ValueRef<'v>)>,
    N: AsRef<str>,
{
    let mut writer = DatabaseWriter::new(w);
    for table in tables {
        writer.begin_table(&table.def())?;
        for row in table.rows {
            writer.write_row(row)?;
        }
        writer.end_table()?;
    }
    writer.finish()?;
    Ok(())
}

/// The streaming form of [`write_database`], for callers that produce one table
/// at a time (e.g. each under its own read lock): `new`, then per table
/// `begin_table`, `write_row`…, `end_table`, and `finish`.
pub struct DatabaseWriter<W: Write> {
    sink: Sink<W>,
    n_tables: usize,
    /// Rows written in the open table; `None` when no table is open.
    n_rows: Option<usize>,
}

impl<W: Write> DatabaseWriter<W> {
    /// Starts a database (nothing reaches `w` before the buffer fills or
    /// [`finish`](Self::finish)).
    pub fn new(w: W) -> Self {
        let mut sink = Sink::new(w);
        sink.buf.extend_from_slice(b"{\n    \"tables\": {\n");
        DatabaseWriter {
            sink,
            n_tables: 0,
            n_rows: None,
        }
    }

    /// Starts a table: writes its definition and opens its `records` list.
    pub fn begin_table(&mut self, def: &TableDef<'_>) -> Result<(), JsonError> {
        debug_assert!(self.n_rows.is_none(), "begin_table inside a table");
        let out = &mut self.sink.buf;
        if self.n_tables > 0 {
            out.extend_from_slice(b",\n");
        }
        out.extend_from_slice(b"        ");
        write_str(out, def.name);
        out.extend_from_slice(b": {\n            \"primary_key\": ");
        write_str(out, def.primary_key);
        out.extend_from_slice(b",\n            \"schema\": ");
        write_schema(out, def.schema);
        out.extend_from_slice(b",\n            \"indexes\": ");
        write_indexes(out, def.indexes);
        out.extend_from_slice(b",\n            \"next_pk\": ");
        out.extend_from_slice(itoa::Buffer::new().format(def.next_pk).as_bytes());
        out.extend_from_slice(b",\n            \"records\": [");
        self.n_rows = Some(0);
        self.sink.maybe_flush()
    }

    /// Writes one row of the open table, its fields in the order given.
    pub fn write_row<'v, N: AsRef<str>>(
        &mut self,
        fields: impl IntoIterator<Item = (N, ValueRef<'v>)>,
    ) -> Result<(), JsonError> {
        debug_assert!(self.n_rows.is_some(), "write_row outside a table");
        let n_rows = self.n_rows.get_or_insert(0);
        let out = &mut self.sink.buf;
        out.extend_from_slice(if *n_rows == 0 {
            b"\n                {"
        } else {
            b",\n                {"
        });
        *n_rows += 1;
        for (i, (name, value)) in fields.into_iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            write_str(out, name.as_ref());
            out.extend_from_slice(b": ");
            write_value(out, value);
        }
        out.push(b'}');
        self.sink.maybe_flush()
    }

    /// Writes `rows` rows of the open table already encoded as
    /// [`DatabaseWriter::write_row`] encodes them (the first row of a table
    /// without the leading comma), straight to the stream.
    pub(crate) fn write_encoded_rows(
        &mut self,
        bytes: &[u8],
        rows: usize,
    ) -> Result<(), JsonError> {
        debug_assert!(self.n_rows.is_some(), "rows outside a table");
        *self.n_rows.get_or_insert(0) += rows;
        if !self.sink.buf.is_empty() {
            self.sink.w.write_all(&self.sink.buf)?;
            self.sink.buf.clear();
        }
        self.sink.w.write_all(bytes)?;
        Ok(())
    }

    /// Closes the open table.
    pub fn end_table(&mut self) -> Result<(), JsonError> {
        debug_assert!(self.n_rows.is_some(), "end_table outside a table");
        self.sink
            .buf
            .extend_from_slice(b"\n            ]\n        }");
        self.n_rows = None;
        self.n_tables += 1;
        self.sink.maybe_flush()
    }

    /// Closes the database, flushes everything to the stream and returns it.
    pub fn finish(mut self) -> Result<W, JsonError> {
        debug_assert!(self.n_rows.is_none(), "finish inside a table");
        if self.n_tables > 0 {
            self.sink.buf.push(b'\n');
        }
        self.sink.buf.extend_from_slice(b"    }\n}\n");
        self.sink.flush()?;
        Ok(self.sink.w)
    }
}

/// A table read from a file: its definition and its records in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct TableIn {
    /// The table's name.
    pub name: String,
    /// The primary-key field.
    pub primary_key: String,
    /// The schema, `None` for `"schema": null`.
    pub schema: Option<Schema>,
    /// Index definitions in file order (empty when the file has none, as DictDB's
    /// files do not).
    pub indexes: Vec<(String, IndexKind)>,
    /// The saved auto-pk counter; `None` when the file has none (DictDB's files):
    /// the caller recomputes it (one more than the largest int pk, at least 1).
    pub next_pk: Option<i64>,
    /// The records, in file order, values decoded (tagged values restored).
    pub records: Vec<Record>,
}

/// Reads a database file written by DictDB or by dictdb-rs (python-api.md §11.2).
///
/// Tables come back in file order (a repeated name keeps its first place and its
/// last definition, as a Python dict would). Unknown keys are ignored. Records
/// are not validated against the schema nor checked for duplicate keys: that is
/// the caller's insert.
///
/// ```
/// use dictdb_backup::json::read_database;
/// use dictdb_engine::{record, Value};
///
/// let text = br#"{"tables": {"t": {"primary_key": "id", "schema": null,
///     "records": [{"id": 1, "x": NaN, "b": {"$bytes": "AAE="}}]}}}"#;
/// let tables = read_database(text)?;
/// assert_eq!(tables[0].name, "t");
/// assert_eq!(tables[0].next_pk, None);
/// assert_eq!(tables[0].records[0].get("b"), Some(&Value::from(vec![0u8, 1])));
/// # Ok::<(), dictdb_backup::json::JsonError>(())
/// ```
pub fn read_database(bytes: &[u8]) -> Result<Vec<TableIn>, JsonError> {
    let mut p = Parser::new(bytes);
    let mut tables = None;
    expect_object(&mut p, None, None, "the file")?;
    p.each_member(|p, key| {
        if key == "tables" {
            tables = Some(read_tables(p)?);
            Ok(())
        } else {
            p.skip_value(1)
        }
    })?;
    p.end()?;
    tables.ok_or(JsonError::MissingKey {
        key: "tables",
        table: None,
    })
}

/// Reads the `tables` object.
fn read_tables(p: &mut Parser<'_>) -> Result<Vec<TableIn>, JsonError> {
    expect_object(p, None, None, "'tables'")?;
    let mut tables: Vec<TableIn> = Vec::new();
    p.each_member(|p, name| {
        let table = read_table(p, &name)?;
        match tables.iter_mut().find(|t| t.name == name) {
            Some(slot) => *slot = table,
            None => tables.push(table),
        }
        Ok(())
    })?;
    Ok(tables)
}

/// Reads one table object.
fn read_table(p: &mut Parser<'_>, name: &str) -> Result<TableIn, JsonError> {
    expect_object(p, Some(name), None, "the table definition")?;
    let mut primary_key = None;
    let mut schema = None;
    let mut indexes = Vec::new();
    let mut next_pk = None;
    let mut records = None;
    p.each_member(|p, key| {
        match &*key {
            "primary_key" => primary_key = Some(read_string(p, name, "'primary_key'")?),
            "schema" => schema = Some(read_schema(p, name)?),
            "indexes" => indexes = read_indexes(p, name)?,
            "next_pk" => next_pk = read_next_pk(p, name)?,
            "records" => records = Some(read_records(p, name, "'records'")?),
            _ => p.skip_value(3)?,
        }
        Ok(())
    })?;
    let missing = |key| JsonError::MissingKey {
        key,
        table: Some(name.to_owned()),
    };
    Ok(TableIn {
        name: name.to_owned(),
        primary_key: primary_key.ok_or_else(|| missing("primary_key"))?,
        schema: schema.ok_or_else(|| missing("schema"))?,
        indexes,
        next_pk,
        records: records.ok_or_else(|| missing("records"))?,
    })
}

/// A [`JsonError::Shape`].
pub(crate) fn shape(table: Option<&str>, record: Option<usize>, message: String) -> JsonError {
    JsonError::Shape {
        table: table.map(str::to_owned),
        record,
        message,
    }
}

/// Adds the table and record to an error raised without them.
pub(crate) fn in_context(e: JsonError, table: &str, index: Option<usize>) -> JsonError {
    match e {
        JsonError::IntegerOverflow {
            value,
            table: None,
            record: None,
        } => JsonError::IntegerOverflow {
            value,
            table: Some(table.to_owned()),
            record: index,
        },
        other => other,
    }
}

/// Checks that the next value is an object.
pub(crate) fn expect_object(
    p: &mut Parser<'_>,
    table: Option<&str>,
    record: Option<usize>,
    what: &str,
) -> Result<(), JsonError> {
    expect(p, b'{', "an object", table, record, what)
}

/// Checks that the next value is a list.
pub(crate) fn expect_list(
    p: &mut Parser<'_>,
    table: Option<&str>,
    what: &str,
) -> Result<(), JsonError> {
    expect(p, b'[', "a list", table, None, what)
}

fn expect(
    p: &mut Parser<'_>,
    open: u8,
    expected: &str,
    table: Option<&str>,
    record: Option<usize>,
    what: &str,
) -> Result<(), JsonError> {
    match p.peek() {
        Some(c) if c == open => Ok(()),
        // Not JSON at all: a syntax error rather than a shape error.
        None => Err(p.syntax("expecting value")),
        Some(_) => {
            let found = p.describe_next();
            Err(wrong_type(
                p,
                table,
                record,
                format!("{what} is not {expected} (found {found})"),
            ))
        }
    }
}

/// The error for a value of the wrong type at the next byte: a
/// [`JsonError::Shape`] with `message`, unless the value is not even valid JSON
/// (Python reports a decode error before any shape error).
pub(crate) fn wrong_type(
    p: &mut Parser<'_>,
    table: Option<&str>,
    record: Option<usize>,
    message: String,
) -> JsonError {
    let start = p.i;
    if let Err(e) = p.skip_value(0) {
        return e;
    }
    p.i = start;
    shape(table, record, message)
}

/// Reads a string (`what` names it in the error).
pub(crate) fn read_string(
    p: &mut Parser<'_>,
    table: &str,
    what: &str,
) -> Result<String, JsonError> {
    if p.peek() != Some(b'"') {
        let found = p.describe_next();
        return Err(wrong_type(
            p,
            Some(table),
            None,
            format!("{what} is not a string (found {found})"),
        ));
    }
    Ok(p.string()?.into_owned())
}

/// Reads `null` or a schema object (`{"field": "int", "note": "str | None"}`).
pub(crate) fn read_schema(p: &mut Parser<'_>, table: &str) -> Result<Option<Schema>, JsonError> {
    if p.peek() == Some(b'n') {
        p.value(2)?;
        return Ok(None);
    }
    expect_object(p, Some(table), None, "'schema'")?;
    let mut schema = Schema::new();
    p.each_member(|p, field| {
        let type_name = read_string(p, table, &format!("the schema type of '{field}'"))?;
        let (base, nullable) = match type_name.strip_suffix(" | None") {
            Some(base) => (base, true),
            None => (type_name.as_str(), false),
        };
        let ty = FieldType::from_name(base).ok_or_else(|| JsonError::UnknownSchemaType {
            table: table.to_owned(),
            field: field.to_string(),
            type_name: type_name.clone(),
        })?;
        schema = std::mem::take(&mut schema).with_field(&*field, ty, nullable);
        Ok(())
    })?;
    Ok(Some(schema))
}

/// Reads `null` or an index object (`{"name": "hash", "age": "sorted"}`).
pub(crate) fn read_indexes(
    p: &mut Parser<'_>,
    table: &str,
) -> Result<Vec<(String, IndexKind)>, JsonError> {
    if p.peek() == Some(b'n') {
        p.value(2)?;
        return Ok(Vec::new());
    }
    expect_object(p, Some(table), None, "'indexes'")?;
    let mut indexes: Vec<(String, IndexKind)> = Vec::new();
    p.each_member(|p, field| {
        let kind_name = read_string(p, table, &format!("the index type of '{field}'"))?;
        let kind = match kind_name.as_str() {
            "hash" => IndexKind::Hash,
            "sorted" => IndexKind::Sorted,
            _ => {
                return Err(JsonError::UnknownIndexType {
                    table: table.to_owned(),
                    field: field.into_owned(),
                    kind: kind_name,
                });
            }
        };
        match indexes.iter_mut().find(|(f, _)| *f == field) {
            Some(slot) => slot.1 = kind,
            None => indexes.push((field.into_owned(), kind)),
        }
        Ok(())
    })?;
    Ok(indexes)
}

/// Reads `null` or an integer counter.
pub(crate) fn read_next_pk(p: &mut Parser<'_>, table: &str) -> Result<Option<i64>, JsonError> {
    let found = p.describe_next();
    match p.value(2).map_err(|e| in_context(e, table, None))? {
        Value::Null => Ok(None),
        Value::Int(n) => Ok(Some(n)),
        _ => Err(shape(
            Some(table),
            None,
            format!("'next_pk' is not an integer (found {found})"),
        )),
    }
}

/// Field names shared between the records of one list: a record usually has the
/// same fields in the same order as the one before, so each key is first compared
/// with the name at its position in the previous record.
#[derive(Default)]
pub(crate) struct Names {
    /// The names at each position of the latest records.
    shape: Vec<Name>,
    /// `shape[..unique]` holds no name twice.
    unique: usize,
    /// Every name seen.
    known: HashMap<Box<str>, Name>,
}

impl Names {
    /// The name for `key` read at position `k` of a record, and whether it is the
    /// name at `k` in the shape.
    #[inline]
    fn name(&mut self, k: usize, key: &str) -> (Name, bool) {
        if let Some(n) = self.shape.get(k)
            && &**n == key
        {
            return (n.clone(), true);
        }
        let n = match self.known.get(key) {
            Some(n) => n.clone(),
            None => {
                let n: Name = key.into();
                self.known.insert(key.into(), n.clone());
                n
            }
        };
        if k < self.shape.len() {
            self.shape[k] = n.clone();
        } else {
            self.shape.push(n.clone());
        }
        self.unique = self.unique.min(k);
        (n, false)
    }
}

/// Reads a list of records (`what` names the list in errors).
pub(crate) fn read_records(
    p: &mut Parser<'_>,
    table: &str,
    what: &str,
) -> Result<Vec<Record>, JsonError> {
    expect_list(p, Some(table), what)?;
    let mut names = Names::default();
    let mut records = Vec::new();
    p.each_item(|p, index| {
        records.push(read_record(p, table, index, &mut names)?);
        Ok(())
    })?;
    Ok(records)
}

/// Reads one record: an object whose members are fields (the record itself is
/// never a tagged value; its values are decoded).
pub(crate) fn read_record(
    p: &mut Parser<'_>,
    table: &str,
    index: usize,
    names: &mut Names,
) -> Result<Record, JsonError> {
    expect_object(p, Some(table), Some(index), "the record")?;
    let mut record = Record::with_capacity(names.shape.len());
    // While every key so far was the shape's name at its position, within the
    // shape's distinct prefix, the names are known to be distinct.
    let mut distinct = true;
    let mut n_keys = 0;
    p.each_member(|p, key| {
        let k = n_keys;
        n_keys += 1;
        let (name, hit) = names.name(k, &key);
        let value = p.value(4).map_err(|e| in_context(e, table, Some(index)))?;
        distinct &= hit && k < names.unique;
        if distinct {
            record.push_unique(name, value);
        } else {
            // A repeated key keeps its first position and takes the last value.
            record.set(name, value);
        }
        Ok(())
    })?;
    if !distinct && record.len() == n_keys {
        // No key repeated: the record's names are `shape[..n_keys]`, all distinct.
        names.unique = n_keys;
    }
    Ok(record)
}
