//! Reading a database file straight into tables: each record's fields go from
//! the parser into the new table's columns ([`Table::build`]), with no
//! [`Record`] per row and no allocation per text value.
//!
//! The outcome is the one [`read_database`](super::read_database) followed by an
//! insert of each table's records would give, errors included: any JSON error
//! (syntax, shape, a missing key) wins over an error of the insert rules (as
//! Python's `json.load` reads the whole file before DictDB builds a table), and
//! of those, the first table's in file order, at its first failing record.

use std::borrow::Cow;

use dictdb_engine::{Error as EngineError, FieldId, IndexKind, Record, Schema, Table, ValueRef};

use super::database::{
    Names, expect_list, expect_object, in_context, read_indexes, read_next_pk, read_record,
    read_records, read_schema, read_string,
};
use super::error::JsonError;
use super::parse::{FieldValue, Parser};

/// A table read from a file, built (rows under the insert rules, tracking
/// clean) but without its counter and indexes, which the caller restores.
pub(crate) struct LoadedTable {
    /// The table and its rows.
    pub(crate) table: Table,
    /// Index definitions in file order.
    pub(crate) indexes: Vec<(String, IndexKind)>,
    /// The saved counter (`None`: recompute, as for DictDB's files).
    pub(crate) next_pk: Option<i64>,
}

/// One table of the file: built, or the insert rules' error.
pub(crate) type TableResult = Result<LoadedTable, EngineError>;

/// Reads a database file into new tables, in file order (a repeated name keeps
/// its first place and its last definition). `Err` only for a JSON error; a
/// table whose records break the insert rules comes back as its error.
pub(crate) fn load_database(bytes: &[u8]) -> Result<Vec<(String, TableResult)>, JsonError> {
    let mut p = Parser::new(bytes);
    let mut tables = None;
    expect_object(&mut p, None, None, "the file")?;
    p.each_member(|p, key| {
        if key == "tables" {
            tables = Some(load_tables(p, bytes)?);
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
fn load_tables(p: &mut Parser<'_>, bytes: &[u8]) -> Result<Vec<(String, TableResult)>, JsonError> {
    expect_object(p, None, None, "'tables'")?;
    let mut tables: Vec<(String, TableResult)> = Vec::new();
    p.each_member(|p, name| {
        let table = load_table(p, bytes, &name)?;
        match tables.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = table,
            None => tables.push((name.into_owned(), table)),
        }
        Ok(())
    })?;
    Ok(tables)
}

/// A table's `records` as read.
enum Records {
    /// Streamed into a table under the definition known at that point; `stale`
    /// once `primary_key` or `schema` is given again after them.
    Streamed {
        at: usize,
        built: Box<Result<Table, EngineError>>,
        stale: bool,
    },
    /// Read before the definition was known.
    Read(Vec<Record>),
}

/// Reads one table object and builds the table.
fn load_table(p: &mut Parser<'_>, bytes: &[u8], name: &str) -> Result<TableResult, JsonError> {
    expect_object(p, Some(name), None, "the table definition")?;
    let mut primary_key: Option<String> = None;
    let mut schema: Option<Option<Schema>> = None;
    let mut indexes = Vec::new();
    let mut next_pk = None;
    let mut records: Option<Records> = None;
    p.each_member(|p, key| {
        match &*key {
            "primary_key" | "schema" => {
                if key == "primary_key" {
                    primary_key = Some(read_string(p, name, "'primary_key'")?);
                } else {
                    schema = Some(read_schema(p, name)?);
                }
                if let Some(Records::Streamed { stale, .. }) = &mut records {
                    *stale = true;
                }
            }
            "indexes" => indexes = read_indexes(p, name)?,
            "next_pk" => next_pk = read_next_pk(p, name)?,
            "records" => {
                records = Some(match (&primary_key, &schema) {
                    (Some(pk), Some(s)) => Records::Streamed {
                        at: p.i,
                        built: Box::new(stream_records(p, name, pk, s.clone())?),
                        stale: false,
                    },
                    _ => Records::Read(read_records(p, name, "'records'")?),
                })
            }
            _ => p.skip_value(3)?,
        }
        Ok(())
    })?;
    let missing = |key| JsonError::MissingKey {
        key,
        table: Some(name.to_owned()),
    };
    let primary_key = primary_key.ok_or_else(|| missing("primary_key"))?;
    let schema = schema.ok_or_else(|| missing("schema"))?;
    let built = match records.ok_or_else(|| missing("records"))? {
        Records::Streamed {
            built,
            stale: false,
            ..
        } => *built,
        // The definition changed after the records: read them again under the
        // final one (the text was checked the first time).
        Records::Streamed { at, .. } => {
            stream_records(&mut Parser::at(bytes, at), name, &primary_key, schema)?
        }
        Records::Read(records) => Table::build(name, primary_key.as_str(), schema, |rows| {
            for r in records {
                for (field, value) in r.into_fields() {
                    rows.push(&field, value);
                }
                rows.end_row()?;
            }
            Ok::<(), EngineError>(())
        }),
    };
    Ok(built.map(|table| LoadedTable {
        table,
        indexes,
        next_pk,
    }))
}

/// Why streaming records stopped.
enum Stop {
    Json(JsonError),
    Engine(EngineError),
}

impl From<EngineError> for Stop {
    fn from(e: EngineError) -> Self {
        Stop::Engine(e)
    }
}

/// Reads a `records` list into a new table. After a record breaks the insert
/// rules, the rest is still read (a JSON error later in the file wins).
fn stream_records(
    p: &mut Parser<'_>,
    table: &str,
    primary_key: &str,
    schema: Option<Schema>,
) -> Result<Result<Table, EngineError>, JsonError> {
    expect_list(p, Some(table), "'records'")?;
    let built = Table::build(table, primary_key, schema, |rows| {
        let mut failed = false;
        let mut names = Names::default();
        // The previous record's keys (as hints: text needing no escape) and
        // fields: records usually repeat their predecessor's layout.
        let mut hints: Vec<Option<Box<str>>> = Vec::new();
        let mut fields: Vec<FieldId> = Vec::new();
        let mut changed: Vec<(usize, Option<Box<str>>, FieldId)> = Vec::new();
        p.each_item(|p, index| {
            if failed {
                read_record(p, table, index, &mut names)?;
                return Ok(());
            }
            expect_object(p, Some(table), Some(index), "the record")?;
            p.each_member_hinted(&hints, |p, k, key| {
                let field = match key {
                    None => fields[k],
                    Some(key) => {
                        let field = rows.field(&key);
                        let hint = match key {
                            Cow::Borrowed(text) => Some(text.into()),
                            Cow::Owned(_) => None,
                        };
                        changed.push((k, hint, field));
                        field
                    }
                };
                match p
                    .field_value(4)
                    .map_err(|e| in_context(e, table, Some(index)))?
                {
                    FieldValue::Str(s) => rows.set_ref(field, ValueRef::Str(&s)),
                    FieldValue::Value(v) => rows.set(field, v),
                }
                Ok(())
            })?;
            for (k, hint, field) in changed.drain(..) {
                if k < hints.len() {
                    hints[k] = hint;
                    fields[k] = field;
                } else {
                    hints.push(hint);
                    fields.push(field);
                }
            }
            // The loader keeps the error; `Table::build` returns it.
            failed = rows.end_row().is_err();
            Ok(())
        })
        .map_err(Stop::Json)
    });
    match built {
        Ok(t) => Ok(Ok(t)),
        Err(Stop::Engine(e)) => Ok(Err(e)),
        Err(Stop::Json(e)) => Err(e),
    }
}
