//! Delta files (python-api.md §13.3): `json.dump(…, indent=2)` of the changes
//! since the last backup.
//!
//! Besides DictDB's keys, a changed table may carry `next_pk` (the counter) and,
//! so that a replay puts every row back in its place, `rekeys` (`[old key, new
//! key]` pairs: rows re-keyed in place, applied before the upserts) and `reused`
//! (keys whose old row was deleted and which a new row holds: the old row is
//! deleted before the upserts, so the new one is appended); the file also has a
//! top-level `order` (every table's name in registration order). DictDB ignores
//! them and replays the upserts and deletes, which give the same rows.

use std::io::Write;

use dictdb_engine::{IndexKind, Record, Schema, Value};

use super::database::{
    Names, TableDef, expect_list, expect_object, in_context, read_indexes, read_next_pk,
    read_record, read_schema, read_string, shape, wrong_type,
};
use super::error::JsonError;
use super::parse::Parser;
use super::write::{
    Indented, Sink, write_fields_indented, write_float, write_str, write_type_name,
    write_value_indented,
};

/// Indentation of delta files.
const INDENT: usize = 2;

/// A delta to write.
#[derive(Clone, Debug)]
pub struct DeltaOut<'a> {
    /// `time.time()` when taken.
    pub timestamp: f64,
    /// Tables present at the last backup and dropped (or replaced) since.
    pub dropped: &'a [String],
    /// Tables registered since the last backup (or replacing one).
    pub created: Vec<TableDef<'a>>,
    /// Tables with changes.
    pub tables: Vec<DeltaTableOut<'a>>,
    /// Every table's name in registration order (an extra key, `order`, that
    /// DictDB ignores): replaying puts the tables back in this order.
    pub order: Option<&'a [String]>,
}

/// One changed table of a [`DeltaOut`].
#[derive(Clone, Copy, Debug)]
pub struct DeltaTableOut<'a> {
    /// The table's name.
    pub name: &'a str,
    /// Copies of the current dirty rows (every row of a created table).
    pub upserts: &'a [Record],
    /// The deleted primary keys.
    pub deletes: &'a [Value],
    /// The table's automatic-key counter (an extra key, like a created table's
    /// `next_pk`; DictDB ignores it).
    pub next_pk: Option<i64>,
    /// Rows re-keyed since the last backup, `(old key, new key)` (an extra key,
    /// `rekeys`, written when not empty; DictDB ignores it).
    pub rekeys: &'a [(Value, Value)],
    /// Keys of rows deleted since the last backup that another row holds now (an
    /// extra key, `reused`, written when not empty; DictDB ignores it).
    pub reused: &'a [Value],
}

/// A table definition read from a delta's `created` section.
#[derive(Clone, Debug, PartialEq)]
pub struct TableDefIn {
    /// The table's name.
    pub name: String,
    /// The primary-key field.
    pub primary_key: String,
    /// The schema (`None` for `null` or when absent).
    pub schema: Option<Schema>,
    /// Index definitions in file order.
    pub indexes: Vec<(String, IndexKind)>,
    /// The auto-pk counter, if written.
    pub next_pk: Option<i64>,
}

/// One changed table read from a delta's `tables` section.
#[derive(Clone, Debug, PartialEq)]
pub struct DeltaTableIn {
    /// The table's name.
    pub name: String,
    /// Rows to insert or replace, in file order.
    pub upserts: Vec<Record>,
    /// Primary keys to delete.
    pub deletes: Vec<Value>,
    /// The automatic-key counter, if written.
    pub next_pk: Option<i64>,
    /// `rekeys`: `(old key, new key)` pairs (empty when absent).
    pub rekeys: Vec<(Value, Value)>,
    /// `reused`: keys whose old row goes before the upserts (empty when absent).
    pub reused: Vec<Value>,
}

/// A delta read from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct DeltaIn {
    /// The `timestamp`, if present (an int is taken as a float).
    pub timestamp: Option<f64>,
    /// `dropped` (empty when absent, as in DictDB's deltas).
    pub dropped: Vec<String>,
    /// `created` (empty when absent, as in DictDB's deltas).
    pub created: Vec<TableDefIn>,
    /// `tables` (empty when absent).
    pub tables: Vec<DeltaTableIn>,
    /// `order`: every table's name in registration order, if written.
    pub order: Option<Vec<String>>,
}

/// Writes a delta file's text: `type`, `timestamp`, `dropped`, `created`,
/// `tables`, laid out as Python's `json.dump(…, indent=2)` (no trailing newline),
/// values encoded as in a database file.
pub fn write_delta<W: Write + ?Sized>(w: &mut W, delta: &DeltaOut<'_>) -> Result<(), JsonError> {
    let mut sink = Sink::new(w);
    let out = &mut sink.buf;
    let mut top = Indented::object(out, INDENT, 0);
    top.key(out, "type");
    write_str(out, "delta");
    top.key(out, "timestamp");
    write_float(out, delta.timestamp);

    top.key(out, "dropped");
    let mut dropped = Indented::list(out, INDENT, top.inner());
    for name in delta.dropped {
        dropped.item(out);
        write_str(out, name);
    }
    dropped.close(out);

    top.key(out, "created");
    let mut created = Indented::object(out, INDENT, top.inner());
    for def in &delta.created {
        created.key(out, def.name);
        let mut t = Indented::object(out, INDENT, created.inner());
        t.key(out, "primary_key");
        write_str(out, def.primary_key);
        t.key(out, "schema");
        match def.schema {
            None => out.extend_from_slice(b"null"),
            Some(schema) => {
                let mut s = Indented::object(out, INDENT, t.inner());
                for f in schema.fields() {
                    s.key(out, &f.name);
                    write_type_name(out, f);
                }
                s.close(out);
            }
        }
        t.key(out, "indexes");
        let mut ix = Indented::object(out, INDENT, t.inner());
        for (field, kind) in def.indexes {
            ix.key(out, field);
            write_str(out, kind.name());
        }
        ix.close(out);
        t.key(out, "next_pk");
        out.extend_from_slice(itoa::Buffer::new().format(def.next_pk).as_bytes());
        t.close(out);
    }
    created.close(out);

    top.key(out, "tables");
    let mut tables = Indented::object(out, INDENT, top.inner());
    for table in &delta.tables {
        let out = &mut sink.buf;
        tables.key(out, table.name);
        let mut t = Indented::object(out, INDENT, tables.inner());
        t.key(out, "upserts");
        let mut upserts = Indented::list(out, INDENT, t.inner());
        for record in table.upserts {
            let out = &mut sink.buf;
            upserts.item(out);
            write_fields_indented(
                out,
                record.iter().map(|(n, v)| (n, v.as_ref())),
                INDENT,
                upserts.inner(),
            );
            sink.maybe_flush()?;
        }
        let out = &mut sink.buf;
        upserts.close(out);
        t.key(out, "deletes");
        let mut deletes = Indented::list(out, INDENT, t.inner());
        for key in table.deletes {
            deletes.item(out);
            write_value_indented(out, key.as_ref(), INDENT, deletes.inner());
        }
        deletes.close(out);
        if let Some(next) = table.next_pk {
            t.key(out, "next_pk");
            out.extend_from_slice(itoa::Buffer::new().format(next).as_bytes());
        }
        if !table.rekeys.is_empty() {
            t.key(out, "rekeys");
            let mut list = Indented::list(out, INDENT, t.inner());
            for (old, new) in table.rekeys {
                list.item(out);
                let mut pair = Indented::list(out, INDENT, list.inner());
                for key in [old, new] {
                    pair.item(out);
                    write_value_indented(out, key.as_ref(), INDENT, pair.inner());
                }
                pair.close(out);
            }
            list.close(out);
        }
        if !table.reused.is_empty() {
            t.key(out, "reused");
            let mut list = Indented::list(out, INDENT, t.inner());
            for key in table.reused {
                list.item(out);
                write_value_indented(out, key.as_ref(), INDENT, list.inner());
            }
            list.close(out);
        }
        t.close(out);
        sink.maybe_flush()?;
    }
    let out = &mut sink.buf;
    tables.close(out);
    if let Some(order) = delta.order {
        top.key(out, "order");
        let mut list = Indented::list(out, INDENT, top.inner());
        for name in order {
            list.item(out);
            write_str(out, name);
        }
        list.close(out);
    }
    top.close(out);
    sink.flush()
}

/// Reads a delta file (python-api.md §13.3), written by DictDB or dictdb-rs.
///
/// The whole text is checked as JSON first, then `type` must be `"delta"`, else
/// [`JsonError::NotADelta`]. Missing `dropped` / `created` / `tables` read as
/// empty, and so do a table's missing `upserts` / `deletes`. Unknown keys are
/// ignored; a repeated name keeps its first place and its last value.
pub fn read_delta(bytes: &[u8]) -> Result<DeltaIn, JsonError> {
    // First pass: syntax, and where each top-level member starts.
    let mut p = Parser::new(bytes);
    if p.peek() != Some(b'{') {
        p.skip_value(0)?;
        p.end()?;
        return Err(JsonError::NotADelta);
    }
    let mut at: [Option<usize>; 6] = [None; 6];
    const KEYS: [&str; 6] = ["type", "timestamp", "dropped", "created", "tables", "order"];
    p.each_member(|p, key| {
        if let Some(k) = KEYS.iter().position(|&k| k == key) {
            at[k] = Some(p.i);
        }
        p.skip_value(1)
    })?;
    p.end()?;

    let member = |k: usize| at[k].map(|i| Parser::at(bytes, i));
    let is_delta = member(0)
        .is_some_and(|mut p| p.peek() == Some(b'"') && p.string().is_ok_and(|s| s == "delta"));
    if !is_delta {
        return Err(JsonError::NotADelta);
    }

    let mut delta = DeltaIn {
        timestamp: None,
        dropped: Vec::new(),
        created: Vec::new(),
        tables: Vec::new(),
        order: None,
    };
    if let Some(mut p) = member(5) {
        delta.order = Some(read_names(&mut p, "order")?);
    }
    if let Some(mut p) = member(1) {
        let found = p.describe_next();
        delta.timestamp = match p.value(1) {
            Ok(Value::Float(x)) => Some(x),
            Ok(Value::Int(i)) => Some(i as f64),
            Ok(Value::Null) => None,
            // A huge integer is still a time.
            Err(JsonError::IntegerOverflow { value, .. }) => value.parse().ok(),
            Ok(_) => {
                return Err(shape(
                    None,
                    None,
                    format!("'timestamp' is not a number (found {found})"),
                ));
            }
            Err(e) => return Err(e),
        };
    }
    if let Some(mut p) = member(2) {
        delta.dropped = read_names(&mut p, "dropped")?;
    }
    if let Some(mut p) = member(3) {
        expect_object(&mut p, None, None, "'created'")?;
        p.each_member(|p, name| {
            let def = read_created(p, &name)?;
            match delta.created.iter_mut().find(|d| d.name == name) {
                Some(slot) => *slot = def,
                None => delta.created.push(def),
            }
            Ok(())
        })?;
    }
    if let Some(mut p) = member(4) {
        expect_object(&mut p, None, None, "'tables'")?;
        p.each_member(|p, name| {
            let table = read_changes(p, &name)?;
            match delta.tables.iter_mut().find(|t| t.name == name) {
                Some(slot) => *slot = table,
                None => delta.tables.push(table),
            }
            Ok(())
        })?;
    }
    Ok(delta)
}

/// Reads one entry of `created`.
fn read_created(p: &mut Parser<'_>, name: &str) -> Result<TableDefIn, JsonError> {
    expect_object(p, Some(name), None, "the created table's definition")?;
    let mut def = TableDefIn {
        name: name.to_owned(),
        primary_key: String::new(),
        schema: None,
        indexes: Vec::new(),
        next_pk: None,
    };
    let mut has_pk = false;
    p.each_member(|p, key| {
        match &*key {
            "primary_key" => {
                def.primary_key = read_string(p, name, "'primary_key'")?;
                has_pk = true;
            }
            "schema" => def.schema = read_schema(p, name)?,
            "indexes" => def.indexes = read_indexes(p, name)?,
            "next_pk" => def.next_pk = read_next_pk(p, name)?,
            _ => p.skip_value(3)?,
        }
        Ok(())
    })?;
    if !has_pk {
        return Err(JsonError::MissingKey {
            key: "primary_key",
            table: Some(name.to_owned()),
        });
    }
    Ok(def)
}

/// A top-level list of table names (`dropped`, `order`).
fn read_names(p: &mut Parser<'_>, key: &str) -> Result<Vec<String>, JsonError> {
    expect_list(p, None, &format!("'{key}'"))?;
    let mut names = Vec::new();
    p.each_item(|p, index| {
        if p.peek() != Some(b'"') {
            let found = p.describe_next();
            return Err(wrong_type(
                p,
                None,
                None,
                format!("'{key}' item {index} is not a string (found {found})"),
            ));
        }
        names.push(p.string()?.into_owned());
        Ok(())
    })?;
    Ok(names)
}

/// Reads one entry of `tables`.
fn read_changes(p: &mut Parser<'_>, name: &str) -> Result<DeltaTableIn, JsonError> {
    expect_object(p, Some(name), None, "the table's changes")?;
    let mut table = DeltaTableIn {
        name: name.to_owned(),
        upserts: Vec::new(),
        deletes: Vec::new(),
        next_pk: None,
        rekeys: Vec::new(),
        reused: Vec::new(),
    };
    p.each_member(|p, key| {
        match &*key {
            "upserts" => {
                expect_list(p, Some(name), "'upserts'")?;
                let mut names = Names::default();
                table.upserts.clear();
                p.each_item(|p, index| {
                    table.upserts.push(read_record(p, name, index, &mut names)?);
                    Ok(())
                })?;
            }
            "deletes" => {
                expect_list(p, Some(name), "'deletes'")?;
                table.deletes.clear();
                p.each_item(|p, _| {
                    let key = p.value(4).map_err(|e| in_context(e, name, None))?;
                    table.deletes.push(key);
                    Ok(())
                })?;
            }
            "next_pk" => table.next_pk = read_next_pk(p, name)?,
            "rekeys" => {
                expect_list(p, Some(name), "'rekeys'")?;
                table.rekeys.clear();
                p.each_item(|p, index| {
                    table.rekeys.push(read_pair(p, name, index)?);
                    Ok(())
                })?;
            }
            "reused" => {
                expect_list(p, Some(name), "'reused'")?;
                table.reused.clear();
                p.each_item(|p, _| {
                    let key = p.value(4).map_err(|e| in_context(e, name, None))?;
                    table.reused.push(key);
                    Ok(())
                })?;
            }
            _ => p.skip_value(3)?,
        }
        Ok(())
    })?;
    Ok(table)
}

/// One item of a table's `rekeys`: a list of two keys.
fn read_pair(p: &mut Parser<'_>, name: &str, index: usize) -> Result<(Value, Value), JsonError> {
    let message = |found: &str| {
        format!("'rekeys' item {index} is not a pair [old key, new key] (found {found})")
    };
    if p.peek() != Some(b'[') {
        let found = p.describe_next();
        return Err(wrong_type(p, Some(name), None, message(found)));
    }
    let mut keys = Vec::with_capacity(2);
    p.each_item(|p, _| {
        keys.push(p.value(5).map_err(|e| in_context(e, name, None))?);
        Ok(())
    })?;
    let n = keys.len();
    match <[Value; 2]>::try_from(keys) {
        Ok([old, new]) => Ok((old, new)),
        Err(_) => {
            let found = format!("a list of {n} item{}", if n == 1 { "" } else { "s" });
            Err(shape(Some(name), None, message(&found)))
        }
    }
}
