//! Shared helpers of the persistence tests (`persist.rs`, `backup_crash.rs`):
//! random operation sequences run through the public `Database` / `Table` API and
//! SQL, and a canonical form of a database to compare a live database with one
//! loaded or restored from files.
//!
//! Operations are abstract (a table slot, "the i-th row", a key seed, a record
//! seed) and are resolved against the database when applied, so any sequence is
//! valid and shrinks well; an operation the database rejects (a duplicate key, a
//! schema violation) changes nothing and is simply skipped. Applying the same
//! sequence to two fresh databases gives the same state.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use dictdb::{Database, FieldType, IndexKind, OnConflict, Output, Record, Schema, Value, col};
use dictdb_engine::value::{DateTime, FixedOffset, NaiveDate};
use proptest::prelude::*;

// ----- canonical form --------------------------------------------------------------

/// One table, as everything persistence must keep.
#[derive(Clone, Debug, PartialEq)]
pub struct TableCanon {
    /// Name.
    pub name: String,
    /// Primary-key field.
    pub primary_key: String,
    /// `Debug` of the schema (field order, types, nullability).
    pub schema: String,
    /// Index definitions in creation order.
    pub indexes: Vec<(String, IndexKind)>,
    /// The automatic-key counter.
    pub next_key: i64,
    /// `Debug` of each record (field order and exact value variants: `Int(1)` is
    /// not `Float(1.0)`, NaN and -0.0 are visible), in insertion order.
    pub rows: Vec<String>,
    /// The same with each record's fields sorted by name (for
    /// [`Compare::ignore_field_order`]).
    pub rows_by_field: Vec<String>,
}

/// A database in canonical form: its tables in registry order.
pub type Canon = Vec<TableCanon>;

/// The canonical form of a database.
pub fn canon(db: &Database) -> Canon {
    db.table_names()
        .into_iter()
        .map(|name| {
            let t = db.table(&name).expect("listed table exists");
            let data = t.engine().read();
            TableCanon {
                name: name.clone(),
                primary_key: t.primary_key().to_string(),
                schema: format!("{:?}", t.schema()),
                indexes: data
                    .indexes()
                    .map(|(f, ix)| (f.to_string(), ix.kind()))
                    .collect(),
                next_key: data.next_key(),
                rows: data
                    .positions()
                    .map(|p| format!("{:?}", data.record(p)))
                    .collect(),
                rows_by_field: data
                    .positions()
                    .map(|p| {
                        let mut fields = data.record(p).into_fields();
                        fields.sort_by(|a, b| a.0.cmp(&b.0));
                        format!("{fields:?}")
                    })
                    .collect(),
            }
        })
        .collect()
}

/// What to compare: everything, or everything but the aspects a known bug breaks
/// (so the rest stays covered while the bug has its own ignored test).
#[derive(Clone, Copy, Debug, Default)]
pub struct Compare {
    /// Compare tables by name, not in registry order.
    pub ignore_table_order: bool,
    /// Compare rows as a multiset (sorted), not in insertion order.
    pub ignore_row_order: bool,
    /// Compare each record's fields by name, not in their stored order.
    pub ignore_field_order: bool,
    /// Skip the automatic-key counter.
    pub ignore_next_key: bool,
    /// Skip index definitions.
    pub ignore_indexes: bool,
}

impl Compare {
    /// Everything.
    pub const EXACT: Compare = Compare {
        ignore_table_order: false,
        ignore_row_order: false,
        ignore_field_order: false,
        ignore_next_key: false,
        ignore_indexes: false,
    };
}

/// How the round-trip tests compare the live database with one restored through
/// deltas: everything, exactly (row order and field order included: deltas carry
/// the re-keys and reused keys that put every row back in its place,
/// python-api.md §13.3). A constant of its own so that, should a delta ever
/// lose something again, the round trips can relax just that while a test of
/// its own reports it.
pub const DELTA_COMPARE: Compare = Compare::EXACT;

fn relaxed(c: &Canon, how: Compare) -> Canon {
    let mut c = c.clone();
    if how.ignore_table_order {
        c.sort_by(|a, b| a.name.cmp(&b.name));
    }
    c.iter()
        .map(|t| {
            let mut t = t.clone();
            if how.ignore_field_order {
                t.rows = std::mem::take(&mut t.rows_by_field);
            }
            t.rows_by_field.clear();
            if how.ignore_row_order {
                t.rows.sort();
            }
            if how.ignore_next_key {
                t.next_key = 0;
            }
            if how.ignore_indexes {
                t.indexes.clear();
            }
            t
        })
        .collect()
}

/// `None` when equal (under `how`), else a description of the first difference.
pub fn diff(expected: &Canon, actual: &Canon, how: Compare) -> Option<String> {
    let (e, a) = (relaxed(expected, how), relaxed(actual, how));
    if e == a {
        return None;
    }
    let mut out = String::new();
    let names = |c: &Canon| c.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    if names(&e) != names(&a) {
        let _ = writeln!(out, "tables: expected {:?}, got {:?}", names(&e), names(&a));
    }
    for (te, ta) in e.iter().zip(&a) {
        if te == ta {
            continue;
        }
        let _ = writeln!(out, "table {:?}:", te.name);
        if te.name != ta.name {
            let _ = writeln!(out, "  name: got {:?}", ta.name);
        }
        if te.primary_key != ta.primary_key {
            let _ = writeln!(
                out,
                "  primary key: {:?} vs {:?}",
                te.primary_key, ta.primary_key
            );
        }
        if te.schema != ta.schema {
            let _ = writeln!(out, "  schema: {} vs {}", te.schema, ta.schema);
        }
        if te.indexes != ta.indexes {
            let _ = writeln!(out, "  indexes: {:?} vs {:?}", te.indexes, ta.indexes);
        }
        if te.next_key != ta.next_key {
            let _ = writeln!(out, "  next key: {} vs {}", te.next_key, ta.next_key);
        }
        if te.rows != ta.rows {
            let _ = writeln!(out, "  rows: {} vs {}", te.rows.len(), ta.rows.len());
            let n = te.rows.len().max(ta.rows.len());
            let mut shown = 0;
            for i in 0..n {
                let (x, y) = (te.rows.get(i), ta.rows.get(i));
                if x != y && shown < 4 {
                    let _ = writeln!(out, "  row {i}:\n    expected {x:?}\n    got      {y:?}");
                    shown += 1;
                }
            }
        }
    }
    Some(out)
}

/// Panics with the difference unless equal.
#[track_caller]
pub fn assert_same(expected: &Canon, actual: &Canon, how: Compare, what: &str) {
    if let Some(d) = diff(expected, actual, how) {
        panic!("{what}: the databases differ\n{d}");
    }
}

/// Inserts a record without a key into every schemaless table of both databases
/// and checks the keys given are the same (the brief's "next auto key" check; the
/// typed tables' counters are compared through [`canon`]). Changes both.
pub fn assert_same_auto_keys(live: &Database, other: &Database, what: &str) {
    for name in live.table_names() {
        let (a, b) = (live.table(&name).unwrap(), other.table(&name).unwrap());
        if a.schema().is_some() {
            continue;
        }
        let ka = a.insert(Record::new().with("probe", true)).unwrap();
        let kb = b.insert(Record::new().with("probe", true)).unwrap();
        assert_eq!(
            ka, kb,
            "{what}: table {name:?}: the next automatic key differs"
        );
    }
}

// ----- values ----------------------------------------------------------------------

/// Texts: non-ASCII, escapes, controls, tag look-alikes.
pub const TEXTS: [&str; 10] = [
    "",
    "Zoë",
    "日本語",
    "emoji 🎉 and 𝔘",
    "quote \" backslash \\ slash /",
    "tab\tnewline\ncr\r nul-free \u{1}",
    "$bytes",
    "NaN",
    "\u{2028}line sep",
    "ʻokina",
];

/// Field names of the extra (schemaless) field.
pub const EXTRA_FIELDS: [&str; 4] = ["x", "ü", "$dict", "with space"];

fn dt_strategy() -> impl Strategy<Value = Value> {
    (
        2000i32..2040,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        prop_oneof![Just(0u32), 0u32..1_000_000],
        prop_oneof![
            Just(None),
            Just(Some(0)),
            (-14 * 60..14 * 60i32).prop_map(|m| Some(m * 60)),
            Just(Some(5 * 3600 + 30 * 60)),
            Just(Some(-(9 * 3600 + 30 * 60 + 15))),
        ],
    )
        .prop_map(|(y, mo, d, h, mi, us, off)| {
            let local = NaiveDate::from_ymd_opt(y, mo, d)
                .unwrap()
                .and_hms_micro_opt(h, mi, 7, us)
                .unwrap();
            Value::DateTime(match off {
                None => DateTime::naive(local),
                Some(s) => DateTime::aware(local, FixedOffset::east_opt(s).unwrap()),
            })
        })
}

fn float_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(-0.0),
        Just(0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(1e20),
        Just(0.1),
        Just(1e-7),
        Just(5e-324),
        Just(f64::MAX),
        Just(1.0),
        any::<f64>(),
        (-1000i32..1000).prop_map(|i| f64::from(i) / 8.0),
    ]
}

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..TEXTS.len()).prop_map(|i| TEXTS[i].to_string()),
        "\\PC{0,6}",
    ]
}

fn leaf_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), -100i64..100].prop_map(Value::Int),
        float_strategy().prop_map(Value::Float),
        text_strategy().prop_map(Value::str),
        prop::collection::vec(any::<u8>(), 0..6).prop_map(|b| Value::Bytes(b.into())),
        (1900i32..2100, 1u32..13, 1u32..29).prop_map(|(y, m, d)| Value::date(y, m, d).unwrap()),
        dt_strategy(),
    ]
}

/// Any value: leaves, lists and maps nested up to three deep (maps with tag
/// look-alike keys included).
pub fn any_value() -> impl Strategy<Value = Value> {
    leaf_strategy().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::list),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("$bytes".to_string()),
                        Just("$date".to_string()),
                        Just("$datetime".to_string()),
                        Just("$dict".to_string()),
                        Just("k".to_string()),
                        Just("ключ".to_string()),
                        "[a-z]{1,3}",
                    ],
                    inner
                ),
                0..3
            )
            .prop_map(|entries| {
                // Map keys are unique.
                let mut seen = Vec::new();
                Value::map(entries.into_iter().filter_map(|(k, v)| {
                    (!seen.contains(&k)).then(|| {
                        seen.push(k.clone());
                        (k, v)
                    })
                }))
            }),
        ]
    })
}

/// Typed value seeds for the fields `n s f b d dt l m j`, a mask of which are
/// present, and an extra free field for schemaless tables.
#[derive(Clone, Debug)]
pub struct RecSeed {
    vals: [Value; 9],
    mask: u16,
    extra: Option<(usize, Value)>,
}

/// The fields of [`RecSeed`].
pub const FIELDS: [&str; 9] = ["n", "s", "f", "b", "d", "dt", "l", "m", "j"];

fn nullable(s: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    prop_oneof![1 => Just(Value::Null), 5 => s].boxed()
}

/// A record seed.
pub fn rec_seed() -> impl Strategy<Value = RecSeed> {
    let typed = (
        (-50i64..50).prop_map(Value::Int),
        nullable(text_strategy().prop_map(Value::str)),
        nullable(float_strategy().prop_map(Value::Float)),
        nullable(prop::collection::vec(any::<u8>(), 0..5).prop_map(|b| Value::Bytes(b.into()))),
        nullable(
            (1900i32..2100, 1u32..13, 1u32..29).prop_map(|(y, m, d)| Value::date(y, m, d).unwrap()),
        ),
        nullable(dt_strategy()),
        nullable(prop::collection::vec(any_value(), 0..3).prop_map(Value::list)),
        nullable(
            prop::collection::vec((text_strategy(), any_value()), 0..3).prop_map(|entries| {
                let mut seen = Vec::new();
                Value::map(entries.into_iter().filter_map(|(k, v)| {
                    (!seen.contains(&k)).then(|| {
                        seen.push(k.clone());
                        (k, v)
                    })
                }))
            }),
        ),
        any_value(),
    );
    (
        typed,
        any::<u16>(),
        prop::option::of((0..EXTRA_FIELDS.len(), any_value())),
    )
        .prop_map(|((n, s, f, b, d, dt, l, m, j), mask, extra)| RecSeed {
            vals: [n, s, f, b, d, dt, l, m, j],
            mask,
            extra,
        })
}

/// What kind of table a slot holds (read back from the table itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// No schema, key `id`.
    Schemaless,
    /// No schema, key `k` (text keys mostly).
    SchemalessK,
    /// `create_table_with_schema`: `id int, n int, s str?, f float?, b bytes?, d
    /// date?, dt datetime?, l list?, m dict?`.
    TypedApi,
    /// SQL `CREATE TABLE (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, s TEXT, f
    /// REAL, b BLOB, d DATE, dt TIMESTAMP, j JSON)`.
    TypedSql,
}

impl Kind {
    fn of(db: &Database, name: &str) -> Option<Kind> {
        let t = db.table(name).ok()?;
        Some(match t.schema() {
            None if t.primary_key() == "k" => Kind::SchemalessK,
            None => Kind::Schemaless,
            Some(s) if s.get("j").is_some() => Kind::TypedSql,
            Some(_) => Kind::TypedApi,
        })
    }

    fn typed(self) -> bool {
        matches!(self, Kind::TypedApi | Kind::TypedSql)
    }

    fn allows(self, field: &str) -> bool {
        match self {
            Kind::Schemaless | Kind::SchemalessK => true,
            Kind::TypedApi => field != "j",
            Kind::TypedSql => !matches!(field, "l" | "m"),
        }
    }
}

impl RecSeed {
    /// A seed with these values (fields `n s f b d dt l m j`) and mask.
    pub fn for_test(vals: [Value; 9], mask: u16) -> RecSeed {
        RecSeed {
            vals,
            mask,
            extra: None,
        }
    }

    /// The record for a table of this kind (typed tables get only their fields,
    /// `n` always).
    pub fn record(&self, kind: Kind) -> Record {
        let mut r = Record::new();
        for (i, (f, v)) in FIELDS.iter().zip(&self.vals).enumerate() {
            let present = self.mask & (1 << i) != 0 || (i == 0 && kind.typed());
            if present && kind.allows(f) {
                r.set(*f, v.clone());
            }
        }
        if !kind.typed()
            && let Some((i, v)) = &self.extra
        {
            r.set(EXTRA_FIELDS[*i], v.clone());
        }
        r
    }

    /// A change set: the record without `n` unless the mask's bit 15 says so.
    pub fn changes(&self, kind: Kind) -> Record {
        let mut r = self.record(kind);
        if self.mask & (1 << 15) == 0 && r.len() > 1 {
            r.remove("n");
        }
        r
    }
}

/// A key choice.
#[derive(Clone, Debug)]
pub enum KeySeed {
    /// No key (automatic).
    Auto,
    /// An explicit NULL key (automatic too).
    Null,
    /// An int key.
    Int(i64),
    /// A text key (an int for typed tables).
    Text(usize),
}

/// A key seed.
pub fn key_seed() -> impl Strategy<Value = KeySeed> {
    prop_oneof![
        3 => Just(KeySeed::Auto),
        1 => Just(KeySeed::Null),
        3 => (0i64..40).prop_map(KeySeed::Int),
        2 => (0..TEXTS.len()).prop_map(KeySeed::Text),
    ]
}

/// A new key for a re-key (never automatic).
pub fn rekey_seed() -> impl Strategy<Value = KeySeed> {
    prop_oneof![
        3 => (0i64..200).prop_map(KeySeed::Int),
        1 => (0..TEXTS.len()).prop_map(KeySeed::Text),
    ]
}

impl KeySeed {
    fn value(&self, kind: Kind) -> Option<Value> {
        match self {
            KeySeed::Auto => None,
            KeySeed::Null => Some(Value::Null),
            KeySeed::Int(i) => Some(Value::Int(*i)),
            KeySeed::Text(i) if kind.typed() => Some(Value::Int(100 + *i as i64)),
            KeySeed::Text(i) => Some(Value::str(TEXTS[*i])),
        }
    }
}

// ----- operations ------------------------------------------------------------------

/// Table names by slot (non-ASCII included).
pub const TABLES: [&str; 4] = ["t0", "tä1", "t2", "t 3"];

/// One operation.
#[derive(Clone, Debug)]
pub enum Op {
    /// Creates the slot's table (when absent) of a kind (0..4, see [`Kind`]).
    Create { slot: usize, kind: u8 },
    /// Drops it (through SQL or the API).
    Drop { slot: usize, sql: bool },
    /// `Table::insert`.
    Insert {
        slot: usize,
        key: KeySeed,
        rec: RecSeed,
    },
    /// `Table::insert_many` (atomic).
    InsertMany {
        slot: usize,
        recs: Vec<(KeySeed, RecSeed)>,
    },
    /// `Table::update_key` on the picked row.
    Update {
        slot: usize,
        pick: usize,
        rec: RecSeed,
    },
    /// `Table::update` on every row with `n < bound` (through SQL or the API).
    UpdateWhere {
        slot: usize,
        bound: i64,
        rec: RecSeed,
    },
    /// Re-keys the picked row (`update_key` with the key field, or SQL).
    Rekey {
        slot: usize,
        pick: usize,
        key: KeySeed,
        sql: bool,
    },
    /// Deletes the picked row.
    Delete { slot: usize, pick: usize },
    /// `DELETE FROM t WHERE n > bound` (SQL) or `Table::delete`.
    DeleteWhere { slot: usize, bound: i64, sql: bool },
    /// `Table::upsert` (mode 0..3: update, ignore, error).
    Upsert {
        slot: usize,
        key: KeySeed,
        rec: RecSeed,
        mode: u8,
    },
    /// `INSERT INTO t (pk, n, s) VALUES (?, ?, ?)`, optionally `ON CONFLICT (pk) DO
    /// UPDATE SET n = excluded.n + n`.
    SqlInsert {
        slot: usize,
        key: KeySeed,
        n: i64,
        text: usize,
        on_conflict: bool,
    },
    /// `UPDATE t SET n = n + ? WHERE n > ?`.
    SqlUpdate { slot: usize, by: i64, bound: i64 },
    /// Creates an index (through SQL or the API).
    CreateIndex {
        slot: usize,
        field: usize,
        sorted: bool,
        sql: bool,
    },
    /// Drops an index (through SQL `DROP INDEX` when it has a SQL name, else the API).
    DropIndex { slot: usize, field: usize },
    /// `Table::compact` (positions change, order must not).
    Compact { slot: usize },
}

impl Op {
    /// The table slot the operation is on.
    pub fn slot(&self) -> usize {
        match self {
            Op::Create { slot, .. }
            | Op::Drop { slot, .. }
            | Op::Insert { slot, .. }
            | Op::InsertMany { slot, .. }
            | Op::Update { slot, .. }
            | Op::UpdateWhere { slot, .. }
            | Op::Rekey { slot, .. }
            | Op::Delete { slot, .. }
            | Op::DeleteWhere { slot, .. }
            | Op::Upsert { slot, .. }
            | Op::SqlInsert { slot, .. }
            | Op::SqlUpdate { slot, .. }
            | Op::CreateIndex { slot, .. }
            | Op::DropIndex { slot, .. }
            | Op::Compact { slot } => *slot,
        }
    }

    /// True for table creation and drop.
    pub fn is_ddl(&self) -> bool {
        matches!(self, Op::Create { .. } | Op::Drop { .. })
    }
}

/// Which table object stands under which name, and how many index changes it
/// has seen (for the registry part of `has_changes`: a table whose indexes
/// changed counts as replaced).
pub fn registry(db: &Database) -> Vec<(String, usize, u64)> {
    let mut v: Vec<(String, usize, u64)> = db
        .table_names()
        .into_iter()
        .map(|n| {
            let t = db.table(&n).unwrap();
            let id = std::sync::Arc::as_ptr(t.engine()) as usize;
            (n, id, t.engine().ddl_version())
        })
        .collect();
    v.sort();
    v
}

fn slot() -> impl Strategy<Value = usize> {
    0..TABLES.len()
}

/// An operation.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (slot(), 0u8..4).prop_map(|(slot, kind)| Op::Create { slot, kind }),
        1 => (slot(), any::<bool>()).prop_map(|(slot, sql)| Op::Drop { slot, sql }),
        8 => (slot(), key_seed(), rec_seed()).prop_map(|(slot, key, rec)| Op::Insert { slot, key, rec }),
        2 => (slot(), prop::collection::vec((key_seed(), rec_seed()), 1..5))
            .prop_map(|(slot, recs)| Op::InsertMany { slot, recs }),
        4 => (slot(), any::<usize>(), rec_seed()).prop_map(|(slot, pick, rec)| Op::Update { slot, pick, rec }),
        1 => (slot(), -50i64..50, rec_seed()).prop_map(|(slot, bound, rec)| Op::UpdateWhere { slot, bound, rec }),
        2 => (slot(), any::<usize>(), rekey_seed(), any::<bool>())
            .prop_map(|(slot, pick, key, sql)| Op::Rekey { slot, pick, key, sql }),
        3 => (slot(), any::<usize>()).prop_map(|(slot, pick)| Op::Delete { slot, pick }),
        1 => (slot(), 0i64..60, any::<bool>()).prop_map(|(slot, bound, sql)| Op::DeleteWhere { slot, bound, sql }),
        3 => (slot(), key_seed(), rec_seed(), 0u8..3)
            .prop_map(|(slot, key, rec, mode)| Op::Upsert { slot, key, rec, mode }),
        3 => (slot(), key_seed(), -50i64..50, 0..TEXTS.len(), any::<bool>())
            .prop_map(|(slot, key, n, text, on_conflict)| Op::SqlInsert { slot, key, n, text, on_conflict }),
        1 => (slot(), -3i64..4, -50i64..50).prop_map(|(slot, by, bound)| Op::SqlUpdate { slot, by, bound }),
        1 => (slot(), 0..FIELDS.len(), any::<bool>(), any::<bool>())
            .prop_map(|(slot, field, sorted, sql)| Op::CreateIndex { slot, field, sorted, sql }),
        1 => (slot(), 0..FIELDS.len()).prop_map(|(slot, field)| Op::DropIndex { slot, field }),
        1 => slot().prop_map(|slot| Op::Compact { slot }),
    ]
}

/// The API schema of [`Kind::TypedApi`].
pub fn api_schema() -> Schema {
    Schema::new()
        .field("id", FieldType::Int)
        .field("n", FieldType::Int)
        .nullable("s", FieldType::Str)
        .nullable("f", FieldType::Float)
        .nullable("b", FieldType::Bytes)
        .nullable("d", FieldType::Date)
        .nullable("dt", FieldType::DateTime)
        .nullable("l", FieldType::List)
        .nullable("m", FieldType::Map)
}

/// `"name"` quoted for SQL.
pub fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn keys(db: &Database, name: &str) -> Vec<Value> {
    let Ok(t) = db.table(name) else {
        return Vec::new();
    };
    let data = t.engine().read();
    data.positions()
        .map(|p| data.key_at(p).to_owned())
        .collect()
}

fn picked(db: &Database, name: &str, pick: usize) -> Option<Value> {
    let ks = keys(db, name);
    (!ks.is_empty()).then(|| ks[pick % ks.len()].clone())
}

fn with_key(kind: Kind, pk: &str, key: &KeySeed, mut r: Record) -> Record {
    if let Some(k) = key.value(kind) {
        r.set(pk, k);
    }
    r
}

/// The table an operation works on: for row and index operations, the slot's
/// table or, when it does not exist, the next slot's that does.
pub fn target(db: &Database, op: &Op) -> &'static str {
    let slot = op.slot();
    if op.is_ddl() {
        return TABLES[slot];
    }
    (0..TABLES.len())
        .map(|i| TABLES[(slot + i) % TABLES.len()])
        .find(|n| db.table(n).is_ok())
        .unwrap_or(TABLES[slot])
}

/// Applies one operation; `true` when it wrote (a row written or deleted, a
/// table created or dropped). A rejected operation changes nothing.
///
/// Row and index operations go to the slot's table, or when it does not exist,
/// to the next slot's that does (so few operations are wasted on absent tables).
pub fn apply(db: &Database, op: &Op) -> bool {
    let name = |_: &usize| target(db, op);
    let kind_of = |slot: &usize| Kind::of(db, name(slot));
    match op {
        Op::Create { slot, kind } => {
            let n = name(slot);
            if db.table(n).is_ok() {
                return false;
            }
            match kind {
                0 => db.create_table(n, "id").is_ok(),
                1 => db.create_table(n, "k").is_ok(),
                2 => db
                    .create_table_with_schema(n, "id", Some(api_schema()))
                    .is_ok(),
                _ => db
                    .execute(
                        &format!(
                            "CREATE TABLE {} (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, s TEXT, \
                             f REAL, b BLOB, d DATE, dt TIMESTAMP, j JSON)",
                            q(n)
                        ),
                        (),
                    )
                    .is_ok(),
            }
        }
        Op::Drop { slot, sql } => {
            if *sql {
                let existed = kind_of(slot).is_some();
                db.execute(&format!("DROP TABLE IF EXISTS {}", q(name(slot))), ())
                    .is_ok()
                    && existed
            } else {
                db.drop_table(name(slot)).is_ok()
            }
        }
        Op::Insert { slot, key, rec } => {
            let Some(kind) = kind_of(slot) else {
                return false;
            };
            let t = db.table(name(slot)).unwrap();
            let r = with_key(kind, t.primary_key(), key, rec.record(kind));
            t.insert(r).is_ok()
        }
        Op::InsertMany { slot, recs } => {
            let Some(kind) = kind_of(slot) else {
                return false;
            };
            let t = db.table(name(slot)).unwrap();
            let pk = t.primary_key().to_string();
            let rs = recs
                .iter()
                .map(|(k, r)| with_key(kind, &pk, k, r.record(kind)))
                .collect();
            t.insert_many(rs).is_ok()
        }
        Op::Update { slot, pick, rec } => {
            let Some(kind) = kind_of(slot) else {
                return false;
            };
            let Some(key) = picked(db, name(slot), *pick) else {
                return false;
            };
            let t = db.table(name(slot)).unwrap();
            t.update_key(&key, rec.changes(kind)).unwrap_or(false)
        }
        Op::UpdateWhere { slot, bound, rec } => {
            let Some(kind) = kind_of(slot) else {
                return false;
            };
            let t = db.table(name(slot)).unwrap();
            t.update(&col("n").lt(*bound), rec.changes(kind))
                .is_ok_and(|n| n > 0)
        }
        Op::Rekey {
            slot,
            pick,
            key,
            sql,
        } => {
            let Some(kind) = kind_of(slot) else {
                return false;
            };
            let Some(old) = picked(db, name(slot), *pick) else {
                return false;
            };
            let t = db.table(name(slot)).unwrap();
            let Some(new) = key.value(kind) else {
                return false;
            };
            if *sql {
                let stmt = format!(
                    "UPDATE {} SET {pk} = ? WHERE {pk} = ?",
                    q(name(slot)),
                    pk = q(t.primary_key())
                );
                matches!(db.execute(&stmt, [new, old]), Ok(Output::Affected(n)) if n > 0)
            } else {
                let pk = t.primary_key().to_string();
                t.update_key(&old, Record::new().with(pk, new))
                    .unwrap_or(false)
            }
        }
        Op::Delete { slot, pick } => {
            let Some(key) = picked(db, name(slot), *pick) else {
                return false;
            };
            db.table(name(slot)).unwrap().delete_key(&key)
        }
        Op::DeleteWhere { slot, bound, sql } => {
            let Some(_) = kind_of(slot) else { return false };
            if *sql {
                let stmt = format!("DELETE FROM {} WHERE n > ?", q(name(slot)));
                matches!(db.execute(&stmt, [Value::Int(*bound)]), Ok(Output::Affected(n)) if n > 0)
            } else {
                let t = db.table(name(slot)).unwrap();
                t.delete(&col("n").gt(*bound)).is_ok_and(|n| n > 0)
            }
        }
        Op::Upsert {
            slot,
            key,
            rec,
            mode,
        } => {
            let Some(kind) = kind_of(slot) else {
                return false;
            };
            let t = db.table(name(slot)).unwrap();
            let r = with_key(kind, t.primary_key(), key, rec.record(kind));
            let on = match mode {
                0 => OnConflict::Update,
                1 => OnConflict::Ignore,
                _ => OnConflict::Error,
            };
            matches!(
                t.upsert(r, on),
                Ok((
                    _,
                    dictdb::UpsertAction::Inserted | dictdb::UpsertAction::Updated
                ))
            )
        }
        Op::SqlInsert {
            slot,
            key,
            n,
            text,
            on_conflict,
        } => {
            let Some(kind) = kind_of(slot) else {
                return false;
            };
            let t = db.table(name(slot)).unwrap();
            let pk = q(t.primary_key());
            let mut stmt = format!(
                "INSERT INTO {} ({pk}, n, s) VALUES (?, ?, ?)",
                q(name(slot))
            );
            if *on_conflict {
                let _ = write!(stmt, " ON CONFLICT ({pk}) DO UPDATE SET n = excluded.n + n");
            }
            let k = key.value(kind).unwrap_or(Value::Null);
            matches!(
                db.execute(&stmt, [k, Value::Int(*n), Value::str(TEXTS[*text])]),
                Ok(Output::Affected(n)) if n > 0
            )
        }
        Op::SqlUpdate { slot, by, bound } => {
            let Some(_) = kind_of(slot) else { return false };
            let stmt = format!("UPDATE {} SET n = n + ? WHERE n > ?", q(name(slot)));
            matches!(
                db.execute(&stmt, [Value::Int(*by), Value::Int(*bound)]),
                Ok(Output::Affected(n)) if n > 0
            )
        }
        Op::CreateIndex {
            slot,
            field,
            sorted,
            sql,
        } => {
            let Some(_) = kind_of(slot) else { return false };
            let kind = if *sorted {
                IndexKind::Sorted
            } else {
                IndexKind::Hash
            };
            if *sql {
                let stmt = format!(
                    "CREATE INDEX IF NOT EXISTS {} ON {} ({}) USING {}",
                    q(&format!("ix_{slot}_{field}")),
                    q(name(slot)),
                    q(FIELDS[*field]),
                    if *sorted { "BTREE" } else { "HASH" }
                );
                let _ = db.execute(&stmt, ());
            } else {
                db.table(name(slot))
                    .unwrap()
                    .create_index(FIELDS[*field], kind);
            }
            false
        }
        Op::DropIndex { slot, field } => {
            let Some(_) = kind_of(slot) else { return false };
            let ix = format!("ix_{slot}_{field}");
            if db.index_names().iter().any(|n| n.name == ix) {
                let _ = db.execute(&format!("DROP INDEX {}", q(&ix)), ());
            } else {
                db.table(name(slot)).unwrap().drop_index(FIELDS[*field]);
            }
            false
        }
        Op::Compact { slot } => {
            if let Ok(t) = db.table(name(slot)) {
                t.compact();
            }
            false
        }
    }
}

// ----- files -----------------------------------------------------------------------

/// A fresh scratch directory under the system temp dir.
pub fn scratch(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "dictdb-persist-{}-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `dictdb_backup_<seq>_000000.json`-style names that sort by `seq` (the restore
/// order is by the time in the name).
pub fn backup_name(dir: &Path, full: bool, seq: u64) -> PathBuf {
    dir.join(format!(
        "dictdb_{}_{}_{:06}.json",
        if full { "backup" } else { "delta" },
        1_000 + seq / 1_000_000,
        seq % 1_000_000
    ))
}

/// The file names in a directory, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
