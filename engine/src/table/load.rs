//! Building a new table row by row, field by field ([`Table::build`]): the path a
//! saved file takes back into memory. Values go straight into the columns, with
//! no [`Record`] per row, under the same rules as [`TableData::insert_many`].

use super::{Error, Result, Table, TableData};
use crate::record::Record;
use crate::schema::Schema;
use crate::value::{MAX_NESTING, Name, Value, ValueRef, nests_deeper_than};

/// A field of a table being built ([`RowLoader::field`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldId(u32);

/// Appends rows to a table under construction (see [`Table::build`]): give a
/// row's fields in order ([`RowLoader::set`] with a handle from
/// [`RowLoader::field`], or [`RowLoader::push`] by name), then close the row
/// with [`RowLoader::end_row`].
///
/// Each row follows the insert rules exactly as inserting the records one by one
/// would (and so as one [`TableData::insert_many`] of them): a missing or NULL key
/// takes the counter, an explicit key must be new and valid and moves the counter,
/// no value nests deeper than [`MAX_NESTING`], the schema is checked. A field
/// given twice keeps its first position and takes the last value, as a record
/// built from those pairs would.
///
/// After an error the table is unusable: later calls do nothing and
/// [`Table::build`] returns the error.
pub struct RowLoader<'t> {
    data: &'t mut TableData,
    /// The columns of the current row, in field order, each once.
    row: Vec<u32>,
    /// `seen[c] == stamp` ⇔ column `c` is in the current row.
    seen: Vec<u32>,
    stamp: u32,
    /// Per column: its field's index in the schema, if the schema has it.
    in_schema: Vec<Option<u32>>,
    /// Per schema field: its column, once created.
    schema_cols: Vec<Option<u32>>,
    /// The current row's first field nested too deep.
    too_deep: Option<u32>,
    /// The first error: the table is not to be used.
    failed: Option<Error>,
}

impl<'t> RowLoader<'t> {
    fn new(data: &'t mut TableData) -> Self {
        debug_assert_eq!(data.n_positions(), 0, "a loader fills a new table");
        let n_schema = data.schema.as_ref().map_or(0, |s| s.fields().len());
        let mut loader = RowLoader {
            row: Vec::new(),
            seen: Vec::new(),
            stamp: 1,
            in_schema: Vec::new(),
            schema_cols: vec![None; n_schema],
            too_deep: None,
            failed: None,
            data,
        };
        for c in 0..loader.data.names.len() as u32 {
            loader.register_column(c);
        }
        loader
    }

    /// Extends the per-column state to a new column `c`.
    fn register_column(&mut self, c: u32) {
        debug_assert_eq!(c as usize, self.seen.len());
        self.seen.push(0);
        let name = &self.data.names[c as usize];
        let field = self
            .data
            .schema
            .as_ref()
            .and_then(|s| s.fields().iter().position(|f| f.name == *name));
        self.in_schema.push(field.map(|i| i as u32));
        if let Some(i) = field {
            self.schema_cols[i] = Some(c);
        }
    }

    /// The handle of the field `name` (created on first use), for
    /// [`RowLoader::set`]; valid for this loader only. Callers that read many
    /// rows of one layout keep the handles rather than look names up per row.
    pub fn field(&mut self, name: &str) -> FieldId {
        let before = self.data.names.len();
        let c = self.data.col_id_or_create(name);
        for new in before as u32..self.data.names.len() as u32 {
            self.register_column(new);
        }
        FieldId(c)
    }

    /// The position the current row takes.
    #[inline]
    fn pos(&self) -> usize {
        self.data.row_shape.len()
    }

    /// Marks column `c` as the current row's next field; false once failed.
    #[inline]
    fn add(&mut self, c: u32) -> bool {
        if self.failed.is_some() {
            return false;
        }
        let seen = &mut self.seen[c as usize];
        if *seen != self.stamp {
            *seen = self.stamp;
            self.row.push(c);
        }
        true
    }

    /// Gives the current row's next field.
    #[inline]
    pub fn set(&mut self, field: FieldId, value: Value) {
        if let Value::List(_) | Value::Map(_) = value
            && self.too_deep.is_none()
            && nests_deeper_than(value.as_ref(), MAX_NESTING)
        {
            self.too_deep = Some(field.0);
        }
        if self.add(field.0) {
            let pos = self.pos();
            self.data.columns[field.0 as usize].set(pos, value);
        }
    }

    /// [`RowLoader::set`] of a borrowed value (copied into the column: text
    /// needs no allocation of its own).
    #[inline]
    pub fn set_ref(&mut self, field: FieldId, value: ValueRef<'_>) {
        if let ValueRef::List(_) | ValueRef::Map(_) = value
            && self.too_deep.is_none()
            && nests_deeper_than(value, MAX_NESTING)
        {
            self.too_deep = Some(field.0);
        }
        if self.add(field.0) {
            let pos = self.pos();
            self.data.columns[field.0 as usize].set_ref(pos, value);
        }
    }

    /// Gives the current row's next field by name.
    pub fn push(&mut self, name: &str, value: Value) {
        let f = self.field(name);
        self.set(f, value);
    }

    /// [`RowLoader::push`] of a borrowed value.
    pub fn push_ref(&mut self, name: &str, value: ValueRef<'_>) {
        let f = self.field(name);
        self.set_ref(f, value);
    }

    /// Closes the current row: assigns or checks its key, checks the schema and
    /// stores the row. An error names the key or field; the table is then
    /// unusable (see [`RowLoader`]).
    pub fn end_row(&mut self) -> Result<()> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.close_row();
        self.row.clear();
        self.too_deep = None;
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.stamp = 1;
        }
        result.inspect_err(|e| self.failed = Some(e.clone()))
    }

    fn close_row(&mut self) -> Result<()> {
        if let Some(c) = self.too_deep {
            return Err(Error::NestedTooDeep {
                table: self.data.name.to_string(),
                field: self.data.names[c as usize].to_string(),
                limit: MAX_NESTING,
            });
        }
        let pos = self.pos();
        let limit = u32::MAX as u64;
        if pos as u64 + 1 >= limit {
            return Err(Error::TableFull {
                table: self.data.name.to_string(),
                limit,
            });
        }
        // The key, as `KeyAssigner` gives it (one row at a time: every earlier
        // row is in the key index).
        let pk_col = self.data.pk_col;
        let has_pk = self.seen[pk_col as usize] == self.stamp;
        let given = if has_pk {
            self.data.columns[pk_col as usize].get(pos)
        } else {
            ValueRef::Null
        };
        let (key, auto) = if given.is_null() {
            let k = loop {
                let k = self.data.next_pk;
                self.data.next_pk = k.checked_add(1).ok_or_else(|| Error::TableFull {
                    table: self.data.name.to_string(),
                    limit: i64::MAX as u64,
                })?;
                if self.data.pk_index.get_int(k).is_none() {
                    break k;
                }
            };
            (Value::Int(k), true)
        } else {
            let key = given.to_owned();
            self.data.check_key(&key)?;
            if self.data.pk_index.contains(given) {
                return Err(self.data.duplicate(&key));
            }
            if let ValueRef::Int(_) | ValueRef::Bool(_) = given {
                let i = given.as_int_key().expect("ints are int keys");
                if i >= self.data.next_pk {
                    self.data.next_pk = i.saturating_add(1);
                }
            }
            (key, false)
        };
        if auto {
            self.data.columns[pk_col as usize].set_ref(pos, key.as_ref());
            if !has_pk {
                self.row.push(pk_col);
            }
        }
        self.check_schema(pos)?;
        self.data.pk_index.insert(key.as_ref(), pos as u32);
        let shape = match self.data.last_shape {
            Some(s) if *self.data.shapes.cols[s as usize] == *self.row => s,
            _ => {
                let s = self.data.shapes.intern(&self.row);
                self.data.last_shape = Some(s);
                s
            }
        };
        self.data.row_shape.push(shape);
        Ok(())
    }

    /// The schema check of the current row (key in place), with the error
    /// [`Schema::validate`] gives for the record.
    fn check_schema(&self, pos: usize) -> Result<()> {
        let Some(schema) = &self.data.schema else {
            return Ok(());
        };
        let columns = &self.data.columns;
        let fits = schema
            .fields()
            .iter()
            .zip(&self.schema_cols)
            .all(|(f, c)| match c {
                Some(c) if self.seen[*c as usize] == self.stamp => {
                    let v = columns[*c as usize].get(pos);
                    (v.is_null() && f.nullable) || f.ty.accepts_ref(v)
                }
                _ => f.nullable,
            })
            && self
                .row
                .iter()
                .all(|&c| self.in_schema[c as usize].is_some());
        if fits {
            return Ok(());
        }
        // Some check failed: the error `Schema::validate` gives for the record.
        schema
            .validate(&self.data.name, &self.row_record(pos))
            .map_err(Error::from)
    }

    /// The current row as a record.
    fn row_record(&self, pos: usize) -> Record {
        let mut r = Record::with_capacity(self.row.len());
        for &c in &self.row {
            r.push_unique(
                self.data.names[c as usize].clone(),
                self.data.columns[c as usize].get(pos).to_owned(),
            );
        }
        r
    }

    /// Finishes the table: every stored row live, tracking clean.
    fn finish(self) -> Result<()> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let data = self.data;
        let n = data.row_shape.len();
        if n > 0 {
            if data.live.len() < n {
                data.live.grow(n);
            }
            data.live.insert_range(0..n);
            data.n_live = n;
            data.tracking.version += 1;
        }
        Ok(())
    }
}

impl Table {
    /// A new table filled by `fill` through a [`RowLoader`], as if its rows were
    /// inserted one by one (see [`RowLoader`] for the rules), with clean change
    /// tracking. Any error, `fill`'s own or a row's, returns no table at all.
    ///
    /// ```
    /// use dictdb_engine::{Table, Value, ValueRef};
    ///
    /// let table = Table::build("t", "id", None, |rows| {
    ///     rows.push_ref("name", ValueRef::Str("Ada"));
    ///     rows.end_row()?;
    ///     rows.push("id", Value::Int(7));
    ///     rows.push_ref("name", ValueRef::Str("Grace"));
    ///     rows.end_row()
    /// })?;
    /// assert_eq!(table.len(), 2);
    /// assert_eq!(table.read().next_key(), 8);
    /// # Ok::<(), dictdb_engine::Error>(())
    /// ```
    pub fn build<E: From<Error>>(
        name: impl Into<Name>,
        primary_key: impl Into<Name>,
        schema: Option<Schema>,
        fill: impl FnOnce(&mut RowLoader<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<Table, E> {
        let mut table = Table::new(name, primary_key, schema);
        {
            let mut loader = RowLoader::new(table.data.get_mut());
            fill(&mut loader)?;
            loader.finish()?;
        }
        Ok(table)
    }
}
