//! Tables: columnar storage, row shapes, indexes, writes and change tracking.
//!
//! # Layout
//!
//! A table stores one [`Column`] per field name ever seen. A row is a *position*:
//! positions are handed out in insertion order and never reused until compaction, so
//! scanning positions in order is scanning in insertion order. A deleted row leaves a
//! tombstone (its bit in `live` is cleared); once tombstones pass a quarter of the
//! positions, [`TableData`] compacts (gathers the live rows and remaps every index
//! through the same monotone map, so order is kept).
//!
//! Each row has a *shape*: the ordered list of the columns its record holds. Shapes
//! are interned, so a table whose records share a layout stores one shape and four
//! bytes per row. The shape is what tells an absent field (not in the shape) from a
//! NULL one (in the shape, NULL in the column), and it returns records with their
//! fields in the order they were written.
//!
//! # Writes
//!
//! Every write runs in two phases under the write lock: *check* (keys, schema,
//! duplicates — may fail, changes nothing) and *apply* (cannot fail: column stores,
//! index maintenance and tracking are infallible). A failed write therefore changes
//! nothing, indexes and counters included.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use fixedbitset::FixedBitSet;
use hashbrown::HashMap;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::column::Column;
use crate::error::{Error, KeyProblem, Result};
use crate::index::{self, Index, IndexKind, PkIndex};
use crate::record::Record;
use crate::schema::{FieldType, Schema};
use crate::value::{
    HashKey, HashKeyRef, MAX_NESTING, Name, Value, ValueRef, nests_deeper_than, py_eq,
};

mod load;
pub use load::{FieldId, RowLoader};

/// A table: its definition and its data behind one reader-writer lock.
#[derive(Debug)]
pub struct Table {
    name: Name,
    primary_key: Name,
    schema: Option<Arc<Schema>>,
    data: RwLock<TableData>,
    /// Counts index creations and drops (readable without the data lock).
    ddl: AtomicU64,
}

/// What [`TableData::upsert`] does when the key exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnConflict {
    /// Merge the given fields into the stored row (validated first).
    Update,
    /// Leave the stored row alone.
    Ignore,
    /// Fail with [`Error::DuplicateKey`].
    Error,
}

/// What an upsert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsertAction {
    /// A new row was stored.
    Inserted,
    /// The existing row was merged with the record.
    Updated,
    /// The existing row was left alone.
    Ignored,
}

impl UpsertAction {
    /// `inserted`, `updated` or `ignored`.
    pub fn name(self) -> &'static str {
        match self {
            UpsertAction::Inserted => "inserted",
            UpsertAction::Updated => "updated",
            UpsertAction::Ignored => "ignored",
        }
    }
}

impl Table {
    /// A new, empty table. With a schema that lacks the primary-key field, the field
    /// is added as a required `int` (DictDB's rule).
    pub fn new(
        name: impl Into<Name>,
        primary_key: impl Into<Name>,
        schema: Option<Schema>,
    ) -> Table {
        let name = name.into();
        let primary_key = primary_key.into();
        let schema = schema.map(|s| {
            if s.get(&primary_key).is_some() {
                s
            } else {
                s.field(primary_key.clone(), FieldType::Int)
            }
        });
        let schema = schema.map(Arc::new);
        let data = TableData::new(name.clone(), primary_key.clone(), schema.clone());
        Table {
            name,
            primary_key,
            schema,
            data: RwLock::new(data),
            ddl: AtomicU64::new(0),
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The primary-key field.
    pub fn primary_key(&self) -> &str {
        &self.primary_key
    }

    /// The schema, if the table is typed.
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_deref()
    }

    /// Takes the read lock.
    pub fn read(&self) -> RwLockReadGuard<'_, TableData> {
        self.data.read()
    }

    /// Takes the write lock.
    pub fn write(&self) -> RwLockWriteGuard<'_, TableData> {
        self.data.write()
    }

    /// The read lock when it can be taken without waiting.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, TableData>> {
        self.data.try_read()
    }

    /// The write lock when it can be taken without waiting.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, TableData>> {
        self.data.try_write()
    }

    /// Inserts one record (validated against the schema); returns its key.
    pub fn insert(&self, record: Record) -> Result<Value> {
        self.write().insert(record, true)
    }

    /// Inserts many records atomically; returns their keys in input order.
    pub fn insert_many(&self, records: Vec<Record>) -> Result<Vec<Value>> {
        self.write().insert_many(records, true)
    }

    /// Inserts or merges one record by key.
    pub fn upsert(&self, record: Record, on_conflict: OnConflict) -> Result<(Value, UpsertAction)> {
        self.write().upsert(record, on_conflict)
    }

    /// A copy of the row with this key.
    pub fn get(&self, key: &Value) -> Option<Record> {
        self.read().get(key.as_ref())
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True when the table has no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Creates an index on a field from the current rows; `false` if the field
    /// already had one (of either kind), which is then left as it is.
    pub fn create_index(&self, field: &str, kind: IndexKind) -> bool {
        let created = self.write().create_index(field, kind);
        if created {
            self.ddl.fetch_add(1, AtomicOrdering::Release);
        }
        created
    }

    /// Drops the index on a field; `false` if there was none.
    pub fn drop_index(&self, field: &str) -> bool {
        let dropped = self.write().drop_index(field);
        if dropped {
            self.ddl.fetch_add(1, AtomicOrdering::Release);
        }
        dropped
    }

    /// Counts the index changes made through [`Table::create_index`] and
    /// [`Table::drop_index`], without taking the data lock: what a cache of plans
    /// for this table compares to know they are still current.
    pub fn ddl_version(&self) -> u64 {
        self.ddl.load(AtomicOrdering::Acquire)
    }
}

/// Interned row shapes.
#[derive(Clone, Debug, Default)]
struct Shapes {
    cols: Vec<Box<[u32]>>,
    masks: Vec<FixedBitSet>,
    lookup: HashMap<Box<[u32]>, u32>,
}

impl Shapes {
    fn intern(&mut self, cols: &[u32]) -> u32 {
        if let Some(&id) = self.lookup.get(cols) {
            return id;
        }
        let id = self.cols.len() as u32;
        let mut mask = FixedBitSet::with_capacity(cols.iter().max().map_or(0, |&m| m as usize + 1));
        for &c in cols {
            mask.insert(c as usize);
        }
        self.cols.push(cols.into());
        self.masks.push(mask);
        self.lookup.insert(cols.into(), id);
        id
    }

    #[inline]
    fn has(&self, shape: u32, col: u32) -> bool {
        self.masks[shape as usize].contains(col as usize)
    }
}

/// A borrowed view of one row: its fields in stored order, read in place.
#[derive(Clone, Copy, Debug)]
pub struct RowRef<'a> {
    data: &'a TableData,
    pos: u32,
    cols: &'a [u32],
}

impl<'a> RowRef<'a> {
    /// The value of a field; `None` when the row lacks it (NULL is `Some(Null)`).
    pub fn get(&self, field: &str) -> Option<ValueRef<'a>> {
        let c = self.data.column_id(field)?;
        self.cols
            .contains(&c)
            .then(|| self.data.columns[c as usize].get(self.pos as usize))
    }

    /// The fields in stored order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'a Name, ValueRef<'a>)> + use<'a> {
        let (data, pos, cols) = (self.data, self.pos as usize, self.cols);
        cols.iter()
            .map(move |&c| (&data.names[c as usize], data.columns[c as usize].get(pos)))
    }

    /// The field names in stored order, without reading the values.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &'a Name> + use<'a> {
        let data = self.data;
        self.cols.iter().map(move |&c| &data.names[c as usize])
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.cols.len()
    }

    /// True when the row has no field.
    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// An owned copy.
    pub fn to_record(&self) -> Record {
        self.data.record(self.pos)
    }

    /// The column ids of the fields, in stored order (names by
    /// [`TableData::column_name`], values by [`TableData::column`]).
    pub fn column_ids(&self) -> &'a [u32] {
        self.cols
    }

    /// The row's position.
    pub fn pos(&self) -> u32 {
        self.pos
    }
}

/// The shape of each row position. While every row has the same shape (the usual
/// case) it is stored once; the per-row vector exists only once shapes differ.
#[derive(Clone, Debug, Default)]
struct RowShapes {
    len: usize,
    uniform: u32,
    /// Empty ⇔ every position has shape `uniform`.
    per_row: Vec<u32>,
}

impl RowShapes {
    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn get(&self, pos: usize) -> u32 {
        if self.per_row.is_empty() {
            self.uniform
        } else {
            self.per_row[pos]
        }
    }

    /// The one shape of every row, if they share one.
    fn uniform(&self) -> Option<u32> {
        (self.len > 0 && self.per_row.is_empty()).then_some(self.uniform)
    }

    fn push(&mut self, shape: u32) {
        if self.len == 0 && self.per_row.is_empty() {
            self.uniform = shape;
        }
        if self.per_row.is_empty() && shape != self.uniform {
            self.per_row = vec![self.uniform; self.len];
        }
        if !self.per_row.is_empty() {
            self.per_row.push(shape);
        }
        self.len += 1;
    }

    fn set(&mut self, pos: usize, shape: u32) {
        if self.per_row.is_empty() {
            if shape == self.uniform {
                return;
            }
            self.per_row = vec![self.uniform; self.len];
        }
        self.per_row[pos] = shape;
    }

    fn gather(&self, keep: &[usize]) -> RowShapes {
        if self.per_row.is_empty() {
            return RowShapes {
                len: keep.len(),
                uniform: self.uniform,
                per_row: Vec::new(),
            };
        }
        let per_row: Vec<u32> = keep.iter().map(|&p| self.per_row[p]).collect();
        match per_row.first() {
            Some(&first) if per_row.iter().all(|&s| s == first) => RowShapes {
                len: keep.len(),
                uniform: first,
                per_row: Vec::new(),
            },
            _ => RowShapes {
                len: keep.len(),
                uniform: self.uniform,
                per_row,
            },
        }
    }
}

/// Change tracking: a version that moves on every write, the rows written since the
/// last reset (by position) and the keys deleted since then (in deletion order),
/// plus what a delta needs to put every row back in its place (python-api.md
/// §13.3): which rows existed at the reset (`base`), the keys those rows had if
/// they were re-keyed since, and the deleted keys that another row took since.
#[derive(Clone, Debug, Default)]
struct Tracking {
    version: u64,
    dirty: FixedBitSet,
    n_dirty: usize,
    /// Keys left since the reset (by a delete or a re-key) that no row holds.
    deleted: HashMap<HashKey, u64>,
    seq: u64,
    /// Positions below `base` hold the rows of the last reset; rows at or past it
    /// were inserted since. Remapped by compaction. `None` until the first write
    /// after a reset (or ever, for a new or freshly loaded table): every row
    /// there is one of the reset; each write sets it first ([`TableData::track`]).
    base: Option<usize>,
    /// Live rows below `base` re-keyed since the reset: position → the key the row
    /// had at the reset (kept when the row takes that key back).
    rekeyed: HashMap<u32, Value>,
    /// Keys that were in `deleted` and that a row (inserted or re-keyed) took since.
    retaken: hashbrown::HashSet<HashKey>,
    /// Number of [`TableData::take_changes`] calls, and `base` as it was before the
    /// latest one (remapped by compaction), for [`TableData::restore_changes`].
    takes: u64,
    prev_base: Option<usize>,
}

impl Tracking {
    #[inline]
    fn mark_dirty(&mut self, pos: usize) {
        if self.dirty.len() <= pos {
            self.dirty.grow((pos + 1).max(self.dirty.len() * 2));
        }
        if !self.dirty.put(pos) {
            self.n_dirty += 1;
        }
    }

    #[inline]
    fn unmark_dirty(&mut self, pos: usize) {
        if pos < self.dirty.len() && self.dirty.contains(pos) {
            self.dirty.set(pos, false);
            self.n_dirty -= 1;
        }
    }

    #[inline]
    fn undelete(&mut self, key: ValueRef<'_>) {
        if !self.deleted.is_empty()
            && let Some((k, _)) = self.deleted.remove_entry(&HashKeyRef(key))
        {
            self.retaken.insert(k);
        }
    }

    /// A row leaves: it no longer counts as re-keyed, and the key it had at the
    /// reset, if another row holds it now, is a key taken again.
    #[inline]
    fn forget_rekey(&mut self, pos: u32) {
        if !self.rekeyed.is_empty()
            && let Some(old) = self.rekeyed.remove(&pos)
        {
            self.retaken.insert(HashKey(old));
        }
    }

    fn mark_deleted(&mut self, key: Value) {
        self.seq += 1;
        self.deleted.insert(HashKey(key), self.seq);
    }
}

/// A table's rows and definition captured at one moment
/// ([`TableData::snapshot`]).
#[derive(Clone, Debug)]
pub struct TableSnapshot {
    /// Secondary index definitions, in creation order.
    pub indexes: Vec<(Name, IndexKind)>,
    /// The automatic-key counter.
    pub next_pk: i64,
    data: TableData,
}

impl TableSnapshot {
    /// The table's name.
    pub fn name(&self) -> &str {
        &self.data.name
    }

    /// Names the captured table `name` (a file may list a table under another
    /// name than the engine's, e.g. the key a host registry holds it under).
    pub fn rename(&mut self, name: &str) {
        self.data.name = Name::from(name);
    }

    /// The primary-key field.
    pub fn primary_key(&self) -> &str {
        &self.data.primary_key
    }

    /// The schema of a typed table.
    pub fn schema(&self) -> Option<&Schema> {
        self.data.schema.as_deref()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.n_live
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.data.n_live == 0
    }

    /// The rows in insertion order, as borrowed views.
    pub fn rows(&self) -> impl Iterator<Item = RowRef<'_>> + '_ {
        self.data.positions().map(|p| self.data.row(p))
    }

    /// The captured data, read as the table's own (positions, rows, columns).
    pub fn data(&self) -> &TableData {
        &self.data
    }
}

/// Rows written and keys deleted since tracking was last reset
/// ([`TableData::take_changes`]).
///
/// Replayed onto the table as it was at the reset by [`TableData::apply_delta`]
/// (`reused` rows deleted, `rekeys` moved, `upserts` written, `deletes`
/// deleted), they give the table as it is now, row order and field order
/// included. `upserts` and `deletes` alone (upserts, then deletes, as DictDB
/// replays them) give the same rows, maybe in another order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    /// Copies of the rows written (inserted or updated), in position order.
    pub upserts: Vec<Record>,
    /// The keys deleted (left by a delete or a re-key, and not held by any row
    /// now), in deletion order.
    pub deletes: Vec<Value>,
    /// Rows that were in the table at the reset and whose key changed since:
    /// (key at the reset, key now), in position order.
    pub rekeys: Vec<(Value, Value)>,
    /// Keys of rows that were in the table at the reset and were deleted since,
    /// which another row holds now (a key deleted and inserted again), in the
    /// position order of the rows holding them.
    pub reused: Vec<Value>,
    /// Which take these are (see [`TableData::restore_changes`]); 0 for none.
    take: u64,
}

impl Changes {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty()
            && self.deletes.is_empty()
            && self.rekeys.is_empty()
            && self.reused.is_empty()
    }
}

/// The data of a table, reached through [`Table::read`] / [`Table::write`].
#[derive(Clone, Debug)]
pub struct TableData {
    name: Name,
    primary_key: Name,
    schema: Option<Arc<Schema>>,
    pk_col: u32,
    names: Vec<Name>,
    col_ids: HashMap<Name, u32>,
    columns: Vec<Column>,
    shapes: Shapes,
    /// Shape of each position; its length is the number of positions.
    row_shape: RowShapes,
    live: FixedBitSet,
    n_live: usize,
    pk_index: PkIndex,
    /// Secondary indexes in creation order: (column, index).
    indexes: Vec<(u32, Index)>,
    next_pk: i64,
    tracking: Tracking,
    last_shape: Option<u32>,
}

/// Assigns the keys of a batch of new rows exactly as inserting them one by one
/// would: a missing or NULL key takes the counter, skipping keys in use (in the
/// table or earlier in the batch); an explicit key must be new; an explicit int
/// (or bool) at or past the counter moves it.
struct KeyAssigner<'t> {
    table: &'t TableData,
    counter: i64,
    explicit: PkIndex,
    auto_keys: Vec<i64>,
}

impl<'t> KeyAssigner<'t> {
    fn new(table: &'t TableData) -> Self {
        KeyAssigner {
            table,
            counter: table.next_pk,
            explicit: PkIndex::default(),
            auto_keys: Vec::new(),
        }
    }

    /// The key of the next row given its key field; `true` when assigned.
    fn next(&mut self, given: Option<&Value>) -> Result<(Value, bool)> {
        let t = self.table;
        match given {
            None | Some(Value::Null) => {
                let k = loop {
                    let k = self.counter;
                    self.counter = self
                        .counter
                        .checked_add(1)
                        .ok_or_else(|| Error::TableFull {
                            table: t.name.to_string(),
                            limit: i64::MAX as u64,
                        })?;
                    if t.pk_index.get_int(k).is_none() && self.explicit.get_int(k).is_none() {
                        break k;
                    }
                };
                self.auto_keys.push(k);
                Ok((Value::Int(k), true))
            }
            Some(k) => {
                t.check_key(k)?;
                let r = k.as_ref();
                let in_auto = r
                    .as_int_key()
                    .is_some_and(|i| self.auto_keys.binary_search(&i).is_ok());
                if in_auto || t.pk_index.contains(r) || self.explicit.contains(r) {
                    return Err(t.duplicate(k));
                }
                self.explicit.insert(r, 0);
                if let Value::Int(_) | Value::Bool(_) = k {
                    let i = r.as_int_key().expect("ints are int keys");
                    if i >= self.counter {
                        self.counter = i.saturating_add(1);
                    }
                }
                Ok((k.clone(), false))
            }
        }
    }
}

impl TableData {
    fn new(name: Name, primary_key: Name, schema: Option<Arc<Schema>>) -> TableData {
        let mut t = TableData {
            name,
            primary_key: primary_key.clone(),
            schema,
            pk_col: 0,
            names: Vec::new(),
            col_ids: HashMap::new(),
            columns: Vec::new(),
            shapes: Shapes::default(),
            row_shape: RowShapes::default(),
            live: FixedBitSet::new(),
            n_live: 0,
            pk_index: PkIndex::default(),
            indexes: Vec::new(),
            next_pk: 1,
            tracking: Tracking::default(),
            last_shape: None,
        };
        t.pk_col = t.col_id_or_create(&primary_key);
        t
    }

    // ----- reading -------------------------------------------------------------

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The primary-key field.
    pub fn primary_key(&self) -> &str {
        &self.primary_key
    }

    /// The schema, if the table is typed.
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_deref()
    }

    /// Number of live rows.
    #[inline]
    pub fn len(&self) -> usize {
        self.n_live
    }

    /// True when no row is live.
    pub fn is_empty(&self) -> bool {
        self.n_live == 0
    }

    /// Number of row positions (live rows and tombstones).
    #[inline]
    pub fn n_positions(&self) -> usize {
        self.row_shape.len()
    }

    /// True if the position holds a live row.
    #[inline]
    pub fn is_live(&self, pos: u32) -> bool {
        self.live.contains(pos as usize)
    }

    /// The live-row bitmap (by position).
    pub fn live(&self) -> &FixedBitSet {
        &self.live
    }

    /// True when there is no tombstone: positions `0..n_positions` are all live.
    #[inline]
    pub fn is_dense(&self) -> bool {
        self.n_live == self.row_shape.len()
    }

    /// Live positions in insertion order.
    pub fn positions(&self) -> impl Iterator<Item = u32> + '_ {
        self.live.ones().map(|p| p as u32)
    }

    /// The column id of a field.
    #[inline]
    pub fn column_id(&self, field: &str) -> Option<u32> {
        self.col_ids.get(field).copied()
    }

    /// A column by id.
    #[inline]
    pub fn column(&self, col: u32) -> &Column {
        &self.columns[col as usize]
    }

    /// The column id of the primary key.
    pub fn pk_column(&self) -> u32 {
        self.pk_col
    }

    /// Every field name the table has stored, in order of first appearance.
    pub fn field_names(&self) -> &[Name] {
        &self.names
    }

    /// The name of a column.
    pub fn column_name(&self, col: u32) -> &Name {
        &self.names[col as usize]
    }

    /// The field names held by at least one live row, in order of first appearance.
    pub fn live_field_names(&self) -> Vec<Name> {
        let mut used = FixedBitSet::with_capacity(self.shapes.cols.len());
        for p in self.live.ones() {
            used.insert(self.row_shape.get(p) as usize);
        }
        let mut cols = FixedBitSet::with_capacity(self.names.len());
        for s in used.ones() {
            for &c in self.shapes.cols[s].iter() {
                cols.insert(c as usize);
            }
        }
        cols.ones().map(|c| self.names[c].clone()).collect()
    }

    /// True if the record at `pos` has the field (NULL included).
    #[inline]
    pub fn has_field(&self, pos: u32, col: u32) -> bool {
        self.shapes.has(self.row_shape.get(pos as usize), col)
    }

    /// The value of a field at a position (NULL when absent).
    #[inline]
    pub fn value(&self, pos: u32, col: u32) -> ValueRef<'_> {
        self.columns[col as usize].get(pos as usize)
    }

    /// The primary key of the row at a position.
    #[inline]
    pub fn key_at(&self, pos: u32) -> ValueRef<'_> {
        self.value(pos, self.pk_col)
    }

    /// A copy of the record at a position, fields in stored order.
    pub fn record(&self, pos: u32) -> Record {
        let cols = &self.shapes.cols[self.row_shape.get(pos as usize) as usize];
        let mut r = Record::with_capacity(cols.len());
        for &c in cols.iter() {
            r.push_unique(
                self.names[c as usize].clone(),
                self.columns[c as usize].get(pos as usize).to_owned(),
            );
        }
        r
    }

    /// A borrowed view of the row at a position: its fields read in place, nothing
    /// copied (valid while the lock that gave `self` is held).
    pub fn row(&self, pos: u32) -> RowRef<'_> {
        RowRef {
            data: self,
            pos,
            cols: &self.shapes.cols[self.row_shape.get(pos as usize) as usize],
        }
    }

    /// Copies of the records at several positions, in the given order.
    ///
    /// Works column by column when the rows share a shape: the loads of one column
    /// are independent of each other, so their cache misses overlap, which makes
    /// gathering scattered rows several times faster than copying row by row.
    pub fn records(&self, positions: &[u32]) -> Vec<Record> {
        let Some(shape) = self.row_shape.uniform().filter(|_| !positions.is_empty()) else {
            return positions.iter().map(|&p| self.record(p)).collect();
        };
        let cols = &self.shapes.cols[shape as usize];
        let mut out: Vec<Record> = positions
            .iter()
            .map(|_| Record::with_capacity(cols.len()))
            .collect();
        let mut vals: Vec<ValueRef<'_>> = Vec::with_capacity(positions.len());
        for &c in cols.iter() {
            let column = &self.columns[c as usize];
            let name = &self.names[c as usize];
            vals.clear();
            vals.extend(positions.iter().map(|&p| column.get(p as usize)));
            for (r, &v) in out.iter_mut().zip(&vals) {
                r.push_unique(name.clone(), v.to_owned());
            }
        }
        out
    }

    /// The position of the row with this key.
    #[inline]
    pub fn lookup_key(&self, key: ValueRef<'_>) -> Option<u32> {
        self.pk_index.get(key)
    }

    /// A copy of the row with this key.
    pub fn get(&self, key: ValueRef<'_>) -> Option<Record> {
        self.lookup_key(key).map(|p| self.record(p))
    }

    /// The secondary index on a field.
    pub fn index(&self, field: &str) -> Option<&Index> {
        let col = self.column_id(field)?;
        self.index_on(col)
    }

    /// The secondary index on a column.
    #[inline]
    pub fn index_on(&self, col: u32) -> Option<&Index> {
        self.indexes
            .iter()
            .find(|(c, _)| *c == col)
            .map(|(_, ix)| ix)
    }

    /// Secondary indexes in creation order, with their field names.
    pub fn indexes(&self) -> impl Iterator<Item = (&Name, &Index)> {
        self.indexes
            .iter()
            .map(|(c, ix)| (&self.names[*c as usize], ix))
    }

    /// The next automatic key.
    pub fn next_key(&self) -> i64 {
        self.next_pk
    }

    /// A counter that moves on every write.
    pub fn version(&self) -> u64 {
        self.tracking.version
    }

    /// True when rows were written or deleted since tracking was last reset.
    pub fn has_changes(&self) -> bool {
        self.tracking.n_dirty > 0 || !self.tracking.deleted.is_empty()
    }

    /// Copies of the rows written since tracking was last reset, in insertion order.
    pub fn dirty_records(&self) -> Vec<Record> {
        self.tracking
            .dirty
            .ones()
            .filter(|&p| self.live.contains(p))
            .map(|p| self.record(p as u32))
            .collect()
    }

    /// The keys deleted since tracking was last reset, in deletion order.
    pub fn deleted_keys(&self) -> Vec<Value> {
        let mut keys: Vec<(&HashKey, &u64)> = self.tracking.deleted.iter().collect();
        keys.sort_unstable_by_key(|(_, seq)| **seq);
        keys.into_iter().map(|(k, _)| k.0.clone()).collect()
    }

    /// The table's rows and definition at this moment, for writing out without
    /// holding the lock: the columns are copied (plain vectors, so this is fast);
    /// indexes are not, only their definitions.
    pub fn snapshot(&self) -> TableSnapshot {
        TableSnapshot {
            indexes: self
                .indexes()
                .map(|(name, ix)| (name.clone(), ix.kind()))
                .collect(),
            next_pk: self.next_pk,
            data: TableData {
                name: self.name.clone(),
                primary_key: self.primary_key.clone(),
                schema: self.schema.clone(),
                pk_col: self.pk_col,
                names: self.names.clone(),
                col_ids: self.col_ids.clone(),
                columns: self.columns.clone(),
                shapes: self.shapes.clone(),
                row_shape: self.row_shape.clone(),
                live: self.live.clone(),
                n_live: self.n_live,
                pk_index: PkIndex::default(),
                indexes: Vec::new(),
                next_pk: self.next_pk,
                tracking: Tracking::default(),
                last_shape: None,
            },
        }
    }

    /// The rows of the last reset that were re-keyed since: (position, key at the
    /// reset), in position order.
    fn rekeyed_rows(&self) -> Vec<(u32, &Value)> {
        let base = self.base();
        let mut rows: Vec<(u32, &Value)> = self
            .tracking
            .rekeyed
            .iter()
            .filter(|&(&p, _)| (p as usize) < base && self.live.contains(p as usize))
            .map(|(&p, k)| (p, k))
            .collect();
        rows.sort_unstable_by_key(|&(p, _)| p);
        rows
    }

    /// The changes since tracking was last reset (copies of the rows written,
    /// the keys deleted, the re-keys and reused keys of [`Changes`]), and
    /// tracking reset, in one step: a write after this lands in the next
    /// changes, none is lost between them.
    pub fn take_changes(&mut self) -> Changes {
        let rekeyed = self.rekeyed_rows();
        let rekeys = rekeyed
            .iter()
            .filter(|&&(p, old)| !py_eq(old.as_ref(), self.key_at(p)))
            .map(|&(p, old)| (old.clone(), self.key_at(p).to_owned()))
            .collect();
        // A key taken again whose old row survives (re-keyed away) is that row's
        // business; otherwise the old row, if the reset had one, is gone.
        let mut reused: Vec<(u32, Value)> = Vec::new();
        if !self.tracking.retaken.is_empty() {
            let mut survivors = PkIndex::default();
            for &(p, old) in &rekeyed {
                survivors.insert(old.as_ref(), p);
            }
            reused = self
                .tracking
                .retaken
                .iter()
                .filter(|k| !survivors.contains(k.0.as_ref()))
                .filter_map(|k| Some((self.lookup_key(k.0.as_ref())?, k.0.clone())))
                .collect();
            reused.sort_unstable_by_key(|(p, _)| *p);
        }
        self.tracking.takes += 1;
        let changes = Changes {
            upserts: self.dirty_records(),
            deletes: self.deleted_keys(),
            rekeys,
            reused: reused.into_iter().map(|(_, k)| k).collect(),
            take: self.tracking.takes,
        };
        let base = self.tracking.base;
        self.clear_tracking();
        self.tracking.prev_base = base;
        changes
    }

    /// Puts changes taken by [`TableData::take_changes`] back (their write
    /// failed), merged with the changes made since, so that the next changes
    /// lead from the earlier reset to the table as it is then: a row written
    /// then counts as written again unless its key is now deleted; a deleted key
    /// counts as deleted again unless the key is now in the table; a re-keyed
    /// row that is still there keeps its key of the earlier reset, and the key
    /// of one that is gone counts as deleted, or as reused if a row holds it.
    ///
    /// Exact when no other take came between (backups are serialised); otherwise
    /// every row counts as inserted since (rows may then move to the end on a
    /// replay, but no change is lost).
    pub fn restore_changes(&mut self, changes: &Changes) {
        let pk = self.primary_key.clone();
        for r in &changes.upserts {
            if let Some(pos) = r.get(&pk).and_then(|k| self.lookup_key(k.as_ref())) {
                self.tracking.mark_dirty(pos as usize);
            }
        }
        for k in &changes.deletes {
            if self.lookup_key(k.as_ref()).is_none() {
                self.tracking.mark_deleted(k.clone());
            } else {
                // Taken again since.
                self.tracking.retaken.insert(HashKey(k.clone()));
            }
        }
        let t = &mut self.tracking;
        // The earlier reset's rows: those of `prev_base`, or when no write came
        // between that reset and the take, those of the take.
        t.base = if changes.take != 0 && changes.take == t.takes {
            match (t.prev_base, t.base) {
                (Some(b), now) => Some(now.map_or(b, |now| now.min(b))),
                (None, now) => now,
            }
        } else {
            Some(0)
        };
        let base = self.base();
        let t = &mut self.tracking;
        // Rows inserted since the earlier reset are new rows, whatever their keys.
        let retaken = &mut t.retaken;
        t.rekeyed.retain(|&p, old| {
            let keep = (p as usize) < base;
            if !keep {
                retaken.insert(HashKey(old.clone()));
            }
            keep
        });
        // The rows re-keyed since the take, by their key at the take.
        let mut by_key = PkIndex::default();
        for (&p, k) in &t.rekeyed {
            by_key.insert(k.as_ref(), p);
        }
        for (old, then) in &changes.rekeys {
            let row = by_key.get(then.as_ref()).or_else(|| {
                self.lookup_key(then.as_ref())
                    .filter(|&p| (p as usize) < base)
                    .filter(|p| !self.tracking.rekeyed.contains_key(p))
            });
            match row {
                Some(p) => {
                    self.tracking.rekeyed.insert(p, old.clone());
                }
                None if self.lookup_key(old.as_ref()).is_some() => {
                    self.tracking.retaken.insert(HashKey(old.clone()));
                }
                None => {
                    if !self
                        .tracking
                        .deleted
                        .contains_key(&HashKeyRef(old.as_ref()))
                    {
                        self.tracking.mark_deleted(old.clone());
                    }
                }
            }
        }
        for k in &changes.reused {
            if self.lookup_key(k.as_ref()).is_some() {
                self.tracking.retaken.insert(HashKey(k.clone()));
            }
        }
    }

    /// Sets the automatic-key counter (restoring a saved table). The counter
    /// only moves forward from the keys in use: it never goes below one more
    /// than the largest int key.
    pub fn set_next_key(&mut self, next: i64) {
        self.next_pk = self.next_pk.max(next);
    }

    /// Approximate heap bytes used by the table (columns, shapes, indexes).
    pub fn heap_bytes(&self) -> usize {
        self.columns.iter().map(Column::heap_bytes).sum::<usize>()
            + self.row_shape.per_row.capacity() * 4
            + self.live.len() / 8
            + index::heap_bytes(&self.pk_index, self.indexes.iter().map(|(_, i)| i))
    }

    // ----- writing -------------------------------------------------------------

    /// Resets change tracking (dirty rows and deleted keys): every row now counts
    /// as one of the reset.
    pub fn clear_tracking(&mut self) {
        let t = &mut self.tracking;
        t.dirty.clear();
        t.n_dirty = 0;
        t.deleted.clear();
        t.rekeyed.clear();
        t.retaken.clear();
        t.base = None;
    }

    /// Where the rows inserted since the last reset start.
    fn base(&self) -> usize {
        self.tracking.base.unwrap_or(self.n_positions())
    }

    /// Called first by every write: fixes where the rows inserted since the
    /// last reset start (see `Tracking::base`).
    #[inline]
    fn track(&mut self) {
        if self.tracking.base.is_none() {
            self.tracking.base = Some(self.n_positions());
        }
    }

    fn col_id_or_create(&mut self, name: &str) -> u32 {
        if let Some(&c) = self.col_ids.get(name) {
            return c;
        }
        let c = self.names.len() as u32;
        let name: Name = name.into();
        self.names.push(name.clone());
        self.col_ids.insert(name, c);
        self.columns.push(Column::default());
        c
    }

    fn check_key(&self, key: &Value) -> Result<()> {
        let reason = match key {
            Value::List(_) | Value::Map(_) => KeyProblem::Unhashable,
            Value::Float(x) if x.is_nan() => KeyProblem::NaN,
            Value::Null => KeyProblem::Null,
            _ => return Ok(()),
        };
        Err(Error::InvalidKey {
            table: self.name.to_string(),
            field: self.primary_key.to_string(),
            key: key.clone(),
            reason,
        })
    }

    fn duplicate(&self, key: &Value) -> Error {
        Error::DuplicateKey {
            table: self.name.to_string(),
            key: key.clone(),
        }
    }

    /// The nesting rule of every write: no value nests lists and maps deeper
    /// than [`MAX_NESTING`].
    fn check_nesting<'v>(
        &self,
        fields: impl IntoIterator<Item = (&'v Name, &'v Value)>,
    ) -> Result<()> {
        for (name, v) in fields {
            if let Value::List(_) | Value::Map(_) = v {
                self.check_nesting_of(name, v.as_ref())?;
            }
        }
        Ok(())
    }

    /// [`TableData::check_nesting`] of one field's value.
    fn check_nesting_of(&self, field: &str, v: ValueRef<'_>) -> Result<()> {
        if nests_deeper_than(v, MAX_NESTING) {
            return Err(Error::NestedTooDeep {
                table: self.name.to_string(),
                field: field.to_owned(),
                limit: MAX_NESTING,
            });
        }
        Ok(())
    }

    /// Validates the `index`-th new record of a write (with the automatic key
    /// it is about to get): through the host validator when one is in force
    /// ([`crate::host`]), else against the schema.
    fn validate_new(
        &self,
        host: Option<&crate::host::HostValidator>,
        index: usize,
        record: &Record,
        key: Option<&Value>,
    ) -> Result<()> {
        match host {
            Some(h) => h(&crate::host::Validation::New { index, record, key }).map_err(Error::Host),
            None => self.validate(record, key),
        }
    }

    /// Validates the row at `pos` merged with `changes`: through the host
    /// validator when one is in force, else against the schema (if any).
    fn validate_merge(
        &self,
        host: Option<&crate::host::HostValidator>,
        pos: u32,
        changes: &Record,
    ) -> Result<()> {
        match host {
            Some(h) => h(&crate::host::Validation::Merge {
                stored: &self.record(pos),
                changes,
            })
            .map_err(Error::Host),
            None if self.schema.is_some() => self.validate(&self.record(pos).merged(changes), None),
            None => Ok(()),
        }
    }

    fn validate(&self, record: &Record, key: Option<&Value>) -> Result<()> {
        let Some(schema) = &self.schema else {
            return Ok(());
        };
        match key {
            None => schema.validate(&self.name, record)?,
            Some(k) => {
                let mut with_key = record.clone();
                with_key.set(self.primary_key.clone(), k.clone());
                schema.validate(&self.name, &with_key)?
            }
        }
        Ok(())
    }

    /// Inserts one record; `validate` applies the schema. Returns the key.
    pub fn insert(&mut self, record: Record, validate: bool) -> Result<Value> {
        let mut keys = self.insert_many(vec![record], validate)?;
        Ok(keys.pop().expect("one key per record"))
    }

    /// Inserts records atomically, with exactly the result of inserting them one by
    /// one (keys, counter moves, duplicate checks against the table and the batch,
    /// validation when `validate`), except that any failure changes nothing.
    ///
    /// Automatic keys: a record whose key field is absent or NULL takes the counter's
    /// value, skipping keys in use; an explicit integer key at or past the counter
    /// moves it past that key.
    pub fn insert_many(&mut self, records: Vec<Record>, validate: bool) -> Result<Vec<Value>> {
        self.track();
        if records.is_empty() {
            return Ok(Vec::new());
        }
        // Check.
        let limit = u32::MAX as u64;
        if (self.n_positions() + records.len()) as u64 >= limit {
            return Err(Error::TableFull {
                table: self.name.to_string(),
                limit,
            });
        }
        let mut assigner = KeyAssigner::new(self);
        let mut keys: Vec<(Value, bool)> = Vec::with_capacity(records.len());
        let host = if validate {
            crate::host::current()
        } else {
            None
        };
        for (i, rec) in records.iter().enumerate() {
            self.check_nesting(rec.iter())?;
            let (key, auto) = assigner.next(rec.get(&self.primary_key))?;
            if validate {
                self.validate_new(host.as_deref(), i, rec, auto.then_some(&key))?;
            }
            keys.push((key, auto));
        }
        let counter = assigner.counter;
        // Apply (infallible).
        self.pk_index.reserve(records.len());
        let mut out = Vec::with_capacity(records.len());
        let first = self.n_positions();
        for (rec, (key, auto)) in records.into_iter().zip(keys) {
            self.append(rec, &key, auto);
            out.push(key);
        }
        let (shapes, row_shape, columns) = (&self.shapes, &self.row_shape, &self.columns);
        for (c, ix) in &mut self.indexes {
            let col = &columns[*c as usize];
            ix.insert_appended((first..row_shape.len()).map(|p| {
                (
                    p as u32,
                    shapes.has(row_shape.get(p), *c).then(|| col.get(p)),
                )
            }));
        }
        self.next_pk = counter;
        self.tracking.version += 1;
        Ok(out)
    }

    /// Inserts rows given column by column: row `r` holds `columns[i][r]` under
    /// `names[i]` (every row has every named field; NULL values are stored as NULL).
    /// The rules and the atomicity are those of [`TableData::insert_many`]; values
    /// move column by column, which makes this the fast way to load many rows.
    pub fn insert_columns(
        &mut self,
        names: &[&str],
        columns: Vec<Vec<Value>>,
        validate: bool,
    ) -> Result<Vec<Value>> {
        self.track();
        let mismatch = |detail: String| Error::ColumnMismatch {
            table: self.name.to_string(),
            detail,
        };
        if names.len() != columns.len() {
            return Err(mismatch(format!(
                "{} names for {} columns",
                names.len(),
                columns.len()
            )));
        }
        let n = columns.first().map_or(0, Vec::len);
        if let Some((i, c)) = columns.iter().enumerate().find(|(_, c)| c.len() != n) {
            return Err(mismatch(format!(
                "column '{}' has {} values, the first has {n}",
                names[i],
                c.len()
            )));
        }
        if let Some((_, name)) = names
            .iter()
            .enumerate()
            .find(|(i, nm)| names[..*i].contains(nm))
        {
            return Err(mismatch(format!("column '{name}' is given twice")));
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        if validate && self.schema.is_some() {
            // Schema checks are per record: take the record path.
            let mut iters: Vec<_> = columns.into_iter().map(Vec::into_iter).collect();
            let records: Vec<Record> = (0..n)
                .map(|_| {
                    let mut r = Record::with_capacity(names.len());
                    for (name, it) in names.iter().zip(iters.iter_mut()) {
                        r.push_unique(Name::from(*name), it.next().expect("equal lengths"));
                    }
                    r
                })
                .collect();
            return self.insert_many(records, true);
        }
        let limit = u32::MAX as u64;
        if (self.n_positions() + n) as u64 >= limit {
            return Err(Error::TableFull {
                table: self.name.to_string(),
                limit,
            });
        }
        // Check.
        for (name, column) in names.iter().zip(&columns) {
            for v in column {
                if let Value::List(_) | Value::Map(_) = v {
                    self.check_nesting_of(name, v.as_ref())?;
                }
            }
        }
        let pk_i = names.iter().position(|nm| *nm == &*self.primary_key);
        let mut assigner = KeyAssigner::new(self);
        let keys: Vec<(Value, bool)> = (0..n)
            .map(|r| assigner.next(pk_i.map(|i| &columns[i][r])))
            .collect::<Result<_>>()?;
        let counter = assigner.counter;
        // Apply (infallible).
        let first = self.n_positions();
        let mut cols: Vec<u32> = names.iter().map(|nm| self.col_id_or_create(nm)).collect();
        if pk_i.is_none() {
            cols.push(self.pk_col);
        }
        let shape = self.shapes.intern(&cols);
        for (column, &c) in columns.into_iter().zip(&cols) {
            let col = &mut self.columns[c as usize];
            for (r, v) in column.into_iter().enumerate() {
                col.set(first + r, v);
            }
        }
        self.pk_index.reserve(n);
        for (r, (key, auto)) in keys.iter().enumerate() {
            if *auto {
                self.columns[self.pk_col as usize].set_ref(first + r, key.as_ref());
            }
            self.pk_index.insert(key.as_ref(), (first + r) as u32);
            self.row_shape.push(shape);
            self.tracking.mark_dirty(first + r);
            self.tracking.undelete(key.as_ref());
        }
        let end = first + n;
        if self.live.len() < end {
            self.live.grow(end.max(self.live.len() * 2));
        }
        self.live.insert_range(first..end);
        self.n_live += n;
        let (shapes, row_shape, columns) = (&self.shapes, &self.row_shape, &self.columns);
        for (c, ix) in &mut self.indexes {
            let col = &columns[*c as usize];
            ix.insert_appended((first..end).map(|p| {
                (
                    p as u32,
                    shapes.has(row_shape.get(p), *c).then(|| col.get(p)),
                )
            }));
        }
        self.next_pk = counter;
        self.tracking.version += 1;
        Ok(keys.into_iter().map(|(k, _)| k).collect())
    }

    /// The shape of a record (creating columns for new fields), reusing the last
    /// shape when the record's fields match it.
    fn shape_of(&mut self, rec: &Record, append_pk: bool) -> u32 {
        if let Some(last) = self.last_shape {
            let cols = &self.shapes.cols[last as usize];
            let n = rec.len() + append_pk as usize;
            if cols.len() == n
                && rec.names().zip(cols.iter()).all(|(a, &c)| {
                    let b = &self.names[c as usize];
                    Arc::ptr_eq(a, b) || **a == **b
                })
                && (!append_pk || cols[n - 1] == self.pk_col)
            {
                return last;
            }
        }
        let mut cols: Vec<u32> = Vec::with_capacity(rec.len() + 1);
        for name in rec.names() {
            cols.push(self.col_id_or_create(name));
        }
        if append_pk {
            cols.push(self.pk_col);
        }
        let id = self.shapes.intern(&cols);
        self.last_shape = Some(id);
        id
    }

    /// Appends a checked record as a new row (secondary indexes are the caller's:
    /// [`TableData::insert_many`] adds a batch's rows to them in one pass).
    fn append(&mut self, rec: Record, key: &Value, auto: bool) {
        let pos = self.row_shape.len();
        let append_pk = auto && !rec.contains(&self.primary_key);
        let shape = self.shape_of(&rec, append_pk);
        let cols = &self.shapes.cols[shape as usize];
        for ((_, value), &c) in rec.into_fields().into_iter().zip(cols.iter()) {
            self.columns[c as usize].set(pos, value);
        }
        if auto {
            self.columns[self.pk_col as usize].set_ref(pos, key.as_ref());
        }
        self.row_shape.push(shape);
        if self.live.len() <= pos {
            self.live.grow((pos + 1).max(self.live.len() * 2));
        }
        self.live.insert(pos);
        self.n_live += 1;
        self.pk_index.insert(key.as_ref(), pos as u32);
        self.tracking.mark_dirty(pos);
        self.tracking.undelete(key.as_ref());
    }

    /// Inserts the record, or handles the existing row with its key as `on_conflict`
    /// says. A record without a key (absent or NULL) is inserted with an automatic key.
    pub fn upsert(
        &mut self,
        record: Record,
        on_conflict: OnConflict,
    ) -> Result<(Value, UpsertAction)> {
        self.track();
        let key = match record.get(&self.primary_key) {
            None | Some(Value::Null) => None,
            Some(k) => Some(k.clone()),
        };
        let Some(key) = key else {
            return Ok((self.insert(record, true)?, UpsertAction::Inserted));
        };
        self.check_key(&key)?;
        let Some(pos) = self.pk_index.get(key.as_ref()) else {
            self.insert(record, true)?;
            return Ok((key, UpsertAction::Inserted));
        };
        match on_conflict {
            OnConflict::Error => Err(self.duplicate(&key)),
            OnConflict::Ignore => Ok((key, UpsertAction::Ignored)),
            OnConflict::Update => {
                self.check_nesting(record.iter())?;
                self.validate_merge(crate::host::current().as_deref(), pos, &record)?;
                let old = self.apply_changes(pos, &record, true);
                self.rekey(old.map(|k| (pos, k)).into_iter().collect());
                self.tracking.version += 1;
                Ok((key, UpsertAction::Updated))
            }
        }
    }

    /// Merges `changes` into the rows at `positions` (live, distinct), atomically:
    /// each merged record is validated first when `validate`; changing the primary
    /// key re-keys the row (the new key must not be used by any other row, including
    /// another row of the same call). Returns the number of rows updated.
    pub fn update_positions(
        &mut self,
        positions: &[u32],
        changes: &Record,
        validate: bool,
    ) -> Result<usize> {
        self.track();
        debug_assert!(positions.iter().all(|&p| self.is_live(p)));
        if positions.is_empty() {
            return Ok(0);
        }
        self.check_nesting(changes.iter())?;
        let mut rekeyed = 0;
        if let Some(new_key) = changes.get(&self.primary_key) {
            self.check_key(new_key)?;
            rekeyed = positions
                .iter()
                .filter(|&&p| !py_eq(self.key_at(p), new_key.as_ref()))
                .count();
            if rekeyed > 1 || (rekeyed == 1 && self.pk_index.contains(new_key.as_ref())) {
                return Err(self.duplicate(new_key));
            }
        }
        if validate {
            let host = crate::host::current();
            for &p in positions {
                self.validate_merge(host.as_deref(), p, changes)?;
            }
        }
        // Indexes on changed fields are maintained per bucket, not per row: every
        // row leaves its old bucket in one pass and joins the new value's at once.
        let mut sorted = positions.to_vec();
        sorted.sort_unstable();
        let touched: Vec<(usize, u32, &Value)> = changes
            .iter()
            .filter_map(|(name, v)| {
                let c = self.column_id(name)?;
                let i = self.indexes.iter().position(|(ic, _)| *ic == c)?;
                Some((i, c, v))
            })
            .collect();
        for &(i, c, _) in &touched {
            let (shapes, row_shape, col) =
                (&self.shapes, &self.row_shape, &self.columns[c as usize]);
            self.indexes[i].1.remove_many(sorted.iter().map(|&pos| {
                let p = pos as usize;
                (pos, shapes.has(row_shape.get(p), c).then(|| col.get(p)))
            }));
        }
        let mut moved = Vec::new();
        for &p in positions {
            if let Some(old) = self.apply_changes(p, changes, false) {
                moved.push((p, old));
            }
        }
        self.rekey(moved);
        for &(i, _, v) in &touched {
            self.indexes[i].1.insert_all(&sorted, v.as_ref());
        }
        // Re-keying to an int (or bool) at or past the counter moves it.
        if rekeyed > 0
            && let Some(k @ (Value::Int(_) | Value::Bool(_))) = changes.get(&self.primary_key)
            && let Some(i) = k.as_ref().as_int_key().filter(|&i| i >= self.next_pk)
        {
            self.next_pk = i.saturating_add(1);
        }
        self.tracking.version += 1;
        Ok(positions.len())
    }

    /// Merges each row's own changes into it, atomically: `rows` pairs a live
    /// position (each at most once) with its changes. Every merged record is
    /// validated first when `validate`. Key changes are checked on the final state:
    /// the new keys must differ from each other and from every key that stays, so
    /// rows may trade keys (`id = id + 1` over consecutive keys is fine). Re-keying
    /// to an int at or past the counter moves it. Returns the number of rows.
    pub fn update_rows(&mut self, rows: &[(u32, Record)], validate: bool) -> Result<usize> {
        self.track();
        debug_assert!(rows.iter().all(|(p, _)| self.is_live(*p)));
        if rows.is_empty() {
            return Ok(0);
        }
        // Check keys on the final state.
        let mut new_keys = PkIndex::default();
        let mut leaving = PkIndex::default();
        let mut moving: Vec<&Value> = Vec::new();
        for (pos, changes) in rows {
            self.check_nesting(changes.iter())?;
            if let Some(k) = changes.get(&self.primary_key) {
                self.check_key(k)?;
                let old = self.key_at(*pos);
                if !py_eq(old, k.as_ref()) {
                    if new_keys.contains(k.as_ref()) {
                        return Err(self.duplicate(k));
                    }
                    new_keys.insert(k.as_ref(), *pos);
                    leaving.insert(old, *pos);
                    moving.push(k);
                }
            }
        }
        for k in &moving {
            if self.pk_index.contains(k.as_ref()) && !leaving.contains(k.as_ref()) {
                return Err(self.duplicate(k));
            }
        }
        if validate {
            let host = crate::host::current();
            for (pos, changes) in rows {
                self.validate_merge(host.as_deref(), *pos, changes)?;
            }
        }
        // Apply (infallible).
        let mut counter = self.next_pk;
        let mut rekeyed = Vec::new();
        for (pos, changes) in rows {
            if let Some(old) = self.apply_changes(*pos, changes, true) {
                if let Some(i) = changes
                    .get(&self.primary_key)
                    .filter(|k| matches!(k, Value::Int(_) | Value::Bool(_)))
                    .and_then(|k| k.as_ref().as_int_key())
                    .filter(|&i| i >= counter)
                {
                    counter = i.saturating_add(1);
                }
                rekeyed.push((*pos, old));
            }
        }
        self.rekey(rekeyed);
        self.next_pk = counter;
        self.tracking.version += 1;
        Ok(rows.len())
    }

    /// Replays a delta's changes (python-api.md §13.4), in this order: the rows
    /// holding a `reused` key are deleted; each `rekeys` pair (old key, new key)
    /// re-keys the row with the old key in place (all at once, so rows may trade
    /// keys; a pair whose old key is not in the table is skipped); each upsert
    /// whose key is in the table replaces that row as stated (fields it lacks are
    /// removed; the row keeps its place), any other is inserted (an automatic key
    /// when its key is absent or NULL; an int key at or past the counter moves
    /// it); then each listed key in the table is deleted. `rekeys` and `reused`
    /// are what [`TableData::take_changes`] adds to DictDB's upserts and deletes
    /// so that rows keep their order ([`Changes`]).
    ///
    /// Indexes are maintained; the schema is not applied; nothing is marked as
    /// changed (tracking is as before, only the version moves; rows it inserts
    /// count as rows of the last reset when nothing was written since it).
    /// Keys are checked first: an invalid one, or a re-key onto a key that
    /// stays in use, changes nothing (an automatic key past `i64::MAX` fails
    /// half-way).
    ///
    /// Returns the upserts processed plus the deletes that removed a row, a
    /// re-key counting as the removal of its old key when that key is listed
    /// in `deletes` (the count DictDB's upserts-then-deletes would give).
    pub fn apply_delta(
        &mut self,
        upserts: Vec<Record>,
        deletes: &[Value],
        rekeys: &[(Value, Value)],
        reused: &[Value],
    ) -> Result<usize> {
        for r in &upserts {
            self.check_nesting(r.iter())?;
            if let Some(k) = r.get(&self.primary_key).filter(|k| !k.is_null()) {
                self.check_key(k)?;
            }
        }
        let mut first: Vec<u32> = reused
            .iter()
            .filter_map(|k| self.lookup_key(k.as_ref()))
            .collect();
        first.sort_unstable();
        first.dedup();
        let moves = self.plan_rekeys(rekeys, &first)?;
        if (self.n_positions() + upserts.len()) as u64 >= u32::MAX as u64 {
            return Err(Error::TableFull {
                table: self.name.to_string(),
                limit: u32::MAX as u64,
            });
        }
        // Apply, untracked: tracking is put back afterwards.
        let saved = std::mem::take(&mut self.tracking);
        self.tracking.base = Some(0);
        let mut gone = first.clone();
        self.remove_rows(&first);
        let mut count = 0;
        if !moves.is_empty() {
            let mut listed = PkIndex::default();
            for k in deletes {
                listed.insert(k.as_ref(), 0);
            }
            count += moves
                .iter()
                .filter(|(p, _)| listed.contains(self.key_at(*p)))
                .count();
            let mut moved = Vec::with_capacity(moves.len());
            for &(pos, new) in &moves {
                let change = Record::new().with(self.primary_key.clone(), new.clone());
                if let Some(old) = self.apply_changes(pos, &change, true) {
                    moved.push((pos, old));
                }
                // Re-keying to an int (or bool) at or past the counter moves it.
                if matches!(new, Value::Int(_) | Value::Bool(_))
                    && let Some(i) = new.as_ref().as_int_key()
                    && i >= self.next_pk
                {
                    self.next_pk = i.saturating_add(1);
                }
            }
            self.rekey(moved);
        }
        let mut failed = None;
        for r in upserts {
            let pos = r
                .get(&self.primary_key)
                .filter(|k| !k.is_null())
                .and_then(|k| self.lookup_key(k.as_ref()));
            match pos {
                Some(pos) => self.replace_row(pos, &r),
                // Only the automatic-key counter can fail here (at i64::MAX).
                None => {
                    if let Err(e) = self.insert(r, false) {
                        failed = Some(e);
                        break;
                    }
                }
            }
            count += 1;
        }
        if failed.is_none() {
            let positions: Vec<u32> = deletes
                .iter()
                .filter_map(|k| self.lookup_key(k.as_ref()))
                .collect();
            count += self.remove_rows(&positions);
            gone.extend(positions);
        }
        // Tracking as before, but for the rows that are gone.
        let version = self.tracking.version;
        self.tracking = saved;
        self.tracking.version = self.tracking.version.max(version) + 1;
        for p in gone {
            self.tracking.unmark_dirty(p as usize);
            self.tracking.forget_rekey(p);
        }
        self.maybe_compact();
        match failed {
            Some(e) => Err(e),
            None => Ok(count),
        }
    }

    /// The re-keys of a delta that apply: (position, new key) for each pair whose
    /// old key is in the table and not in `gone` (sorted positions), and differs
    /// from the new one. Fails when a new key is invalid, when two pairs move the
    /// same row or to the same key, or when a new key stays in use by a row that
    /// neither moves nor goes.
    fn plan_rekeys<'v>(
        &self,
        rekeys: &'v [(Value, Value)],
        gone: &[u32],
    ) -> Result<Vec<(u32, &'v Value)>> {
        let mut moves = Vec::new();
        let mut targets = PkIndex::default();
        for (old, new) in rekeys {
            self.check_key(new)?;
            let Some(pos) = self.lookup_key(old.as_ref()) else {
                continue;
            };
            if gone.binary_search(&pos).is_ok() || py_eq(old.as_ref(), new.as_ref()) {
                continue;
            }
            if targets.contains(new.as_ref()) {
                return Err(self.duplicate(new));
            }
            targets.insert(new.as_ref(), pos);
            moves.push((pos, new));
        }
        let mut sources: Vec<u32> = moves.iter().map(|&(p, _)| p).collect();
        sources.sort_unstable();
        if let Some(w) = sources.windows(2).find(|w| w[0] == w[1]) {
            return Err(self.duplicate(&self.key_at(w[0]).to_owned()));
        }
        for &(_, new) in &moves {
            if let Some(q) = self.lookup_key(new.as_ref())
                && gone.binary_search(&q).is_err()
                && sources.binary_search(&q).is_err()
            {
                return Err(self.duplicate(new));
            }
        }
        Ok(moves)
    }

    /// Replaces the row at `pos` with `record` (same key by index equality):
    /// fields the row has and the record lacks are removed.
    fn replace_row(&mut self, pos: u32, record: &Record) {
        let p = pos as usize;
        let shape = self.row_shape.get(p);
        let cols: Vec<u32> = self.shapes.cols[shape as usize].to_vec();
        let (keep, gone): (Vec<u32>, Vec<u32>) = cols
            .into_iter()
            .partition(|&c| c == self.pk_col || record.contains(&self.names[c as usize]));
        if !gone.is_empty() {
            for &c in &gone {
                let old = self.columns[c as usize].get(p).to_owned();
                if let Some(i) = self.indexes.iter().position(|(ic, _)| *ic == c) {
                    let ix = &mut self.indexes[i].1;
                    ix.remove(pos, Some(old.as_ref()));
                    ix.insert(pos, None);
                }
                self.columns[c as usize].set_ref(p, ValueRef::Null);
            }
            let id = self.shapes.intern(&keep);
            self.row_shape.set(p, id);
        }
        if let Some(old) = self.apply_changes(pos, record, true) {
            self.rekey(vec![(pos, old)]);
        }
    }

    /// Applies checked changes to one row (infallible).
    /// With `index_rows`, secondary indexes follow the row here; otherwise the
    /// caller maintains them (in bulk). Returns the row's old key when the changes
    /// re-key it: the caller moves keys with [`TableData::rekey`], after every row
    /// of the write is applied, so rows trading keys cannot clobber each other.
    #[must_use]
    fn apply_changes(&mut self, pos: u32, changes: &Record, index_rows: bool) -> Option<Value> {
        let p = pos as usize;
        let shape = self.row_shape.get(p);
        let mut added: Vec<u32> = Vec::new();
        let mut old_key: Option<Value> = None;
        for (name, value) in changes.iter() {
            let c = self.col_id_or_create(name);
            let present = self.shapes.has(shape, c);
            let ix_pos = if index_rows {
                self.indexes.iter().position(|(ic, _)| *ic == c)
            } else {
                None
            };
            let old = if ix_pos.is_some() || c == self.pk_col {
                Some(self.columns[c as usize].get(p).to_owned())
            } else {
                None
            };
            if c == self.pk_col && !py_eq(self.columns[c as usize].get(p), value.as_ref()) {
                old_key.clone_from(&old);
            }
            self.columns[c as usize].set_ref(p, value.as_ref());
            if !present {
                added.push(c);
            }
            if let (Some(i), Some(old)) = (ix_pos, old) {
                let ix = &mut self.indexes[i].1;
                // Skip the index only when the row stays under the same key: a hash
                // index keys by index equality, a sorted one by the total order, which
                // tells apart maps that differ only in key order.
                let same_key = match ix.kind() {
                    IndexKind::Hash => crate::value::index_eq(old.as_ref(), value.as_ref()),
                    IndexKind::Sorted => {
                        crate::value::total_cmp(old.as_ref(), value.as_ref())
                            == std::cmp::Ordering::Equal
                    }
                };
                if !present || !same_key {
                    ix.remove(pos, present.then(|| old.as_ref()));
                    ix.insert(pos, Some(value.as_ref()));
                }
            }
        }
        if !added.is_empty() {
            let mut cols = self.shapes.cols[shape as usize].to_vec();
            cols.extend(added);
            let id = self.shapes.intern(&cols);
            self.row_shape.set(p, id);
        }
        self.tracking.mark_dirty(p);
        old_key
    }

    /// Moves re-keyed rows in the primary-key index: every old key out first, then
    /// every new key in (a key one row leaves may be the key another row takes).
    /// Old keys are tracked as deleted, new keys as no longer deleted; a row of
    /// the last reset keeps the key it had then.
    fn rekey(&mut self, rekeyed: Vec<(u32, Value)>) {
        for (_, old) in &rekeyed {
            self.pk_index.remove(old.as_ref());
        }
        for (pos, old) in &rekeyed {
            debug_assert!(self.tracking.base.is_some(), "a write without `track`");
            if (*pos as usize) < self.base() {
                self.tracking
                    .rekeyed
                    .entry(*pos)
                    .or_insert_with(|| old.clone());
            }
            self.tracking.mark_deleted(old.clone());
        }
        for (pos, _) in &rekeyed {
            let new_key = self.columns[self.pk_col as usize].get(*pos as usize);
            self.pk_index.insert(new_key, *pos);
            self.tracking.undelete(new_key);
        }
    }

    /// Merges `changes` into the row with this key (validated against the
    /// schema); `false` when there is none.
    pub fn update_key(&mut self, key: ValueRef<'_>, changes: &Record) -> Result<bool> {
        let Some(pos) = self.lookup_key(key) else {
            return Ok(false);
        };
        self.update_positions(&[pos], changes, true)?;
        Ok(true)
    }

    /// Deletes the row with this key; `false` when there is none.
    pub fn delete_key(&mut self, key: ValueRef<'_>) -> bool {
        match self.lookup_key(key) {
            Some(pos) => self.delete_positions(&[pos]) == 1,
            None => false,
        }
    }

    /// Deletes the rows at `positions` (live ones; others are skipped). Returns the
    /// number of rows deleted.
    pub fn delete_positions(&mut self, positions: &[u32]) -> usize {
        self.track();
        let n = self.remove_rows(positions);
        if n > 0 {
            self.maybe_compact();
        }
        n
    }

    /// [`TableData::delete_positions`] without the compaction.
    fn remove_rows(&mut self, positions: &[u32]) -> usize {
        // The live rows among `positions`, each once, ascending.
        let mut gone: Vec<u32> = positions
            .iter()
            .copied()
            .filter(|&p| self.live.contains(p as usize))
            .collect();
        gone.sort_unstable();
        gone.dedup();
        if gone.is_empty() {
            return 0;
        }
        let (shapes, row_shape, columns) = (&self.shapes, &self.row_shape, &self.columns);
        for (c, ix) in &mut self.indexes {
            let col = &columns[*c as usize];
            ix.remove_many(gone.iter().map(|&pos| {
                let p = pos as usize;
                (pos, shapes.has(row_shape.get(p), *c).then(|| col.get(p)))
            }));
        }
        // Keys are tracked in the order the caller gave (deletion order).
        for &pos in positions {
            let p = pos as usize;
            if !self.live.contains(p) {
                continue;
            }
            let key = self.columns[self.pk_col as usize].get(p).to_owned();
            self.pk_index.remove(key.as_ref());
            self.live.set(p, false);
            self.n_live -= 1;
            self.tracking.unmark_dirty(p);
            self.tracking.forget_rekey(pos);
            self.tracking.mark_deleted(key);
        }
        self.tracking.version += 1;
        gone.len()
    }

    /// Compacts when tombstones pass a quarter of the positions.
    fn maybe_compact(&mut self) {
        let dead = self.n_positions() - self.n_live;
        if dead > 64 && dead * 4 > self.n_positions() {
            self.compact();
        }
    }

    /// Drops tombstones: gathers live rows into fresh columns and remaps every index
    /// and the tracking bitmap through the same monotone position map.
    pub fn compact(&mut self) {
        let keep: Vec<usize> = self.live.ones().collect();
        if keep.len() == self.n_positions() {
            return;
        }
        let mut map = vec![u32::MAX; self.n_positions()];
        for (new, &old) in keep.iter().enumerate() {
            map[old] = new as u32;
        }
        self.columns = self.columns.iter().map(|c| c.gather(&keep)).collect();
        self.row_shape = self.row_shape.gather(&keep);
        let mut live = FixedBitSet::with_capacity(keep.len());
        live.insert_range(..);
        self.live = live;
        let mut dirty = FixedBitSet::with_capacity(keep.len());
        for (new, &old) in keep.iter().enumerate() {
            if old < self.tracking.dirty.len() && self.tracking.dirty.contains(old) {
                dirty.insert(new);
            }
        }
        self.tracking.n_dirty = dirty.count_ones(..);
        self.tracking.dirty = dirty;
        let t = &mut self.tracking;
        t.base = t.base.map(|b| keep.partition_point(|&p| p < b));
        t.prev_base = t.prev_base.map(|b| keep.partition_point(|&p| p < b));
        if !t.rekeyed.is_empty() {
            t.rekeyed = std::mem::take(&mut t.rekeyed)
                .into_iter()
                .filter_map(|(p, k)| {
                    let new = *map.get(p as usize)?;
                    (new != u32::MAX).then_some((new, k))
                })
                .collect();
        }
        index::remap_all(
            &mut self.pk_index,
            self.indexes.iter_mut().map(|(_, i)| i),
            &map,
        );
        debug_assert_eq!(self.pk_index.len(), self.n_live);
    }

    /// Creates an index on a field from the current rows; `false` (and no change) if
    /// the field already has one.
    pub fn create_index(&mut self, field: &str, kind: IndexKind) -> bool {
        let c = self.col_id_or_create(field);
        if self.index_on(c).is_some() {
            return false;
        }
        let (shapes, row_shape) = (&self.shapes, &self.row_shape);
        let ix = Index::build(
            kind,
            &self.columns[c as usize],
            self.live
                .ones()
                .map(|p| (p as u32, shapes.has(row_shape.get(p), c))),
        );
        self.indexes.push((c, ix));
        true
    }

    /// Drops the index on a field; `false` if there was none.
    pub fn drop_index(&mut self, field: &str) -> bool {
        let Some(c) = self.column_id(field) else {
            return false;
        };
        let before = self.indexes.len();
        self.indexes.retain(|(ic, _)| *ic != c);
        self.indexes.len() != before
    }
}
