//! Values and the one value semantics shared by every access path.
//!
//! Three relations are defined here and nowhere else:
//!
//! * [`total_cmp`] — the total order used by ORDER BY, MIN/MAX and sorted indexes:
//!   NULL < numbers < date/time < text < bytes < lists < maps. Never fails.
//! * [`py_eq`] — equality as Python's `==` on the stored values (`1 == 1.0 == True`,
//!   NaN equals nothing, maps ignore key order). Used by `=`, `IN`, DISTINCT, GROUP BY.
//! * [`py_cmp`] — ordering as Python's `<`: defined only between comparable values,
//!   `None` (incomparable) otherwise. Used by `< <= > >=` and BETWEEN, where an
//!   incomparable pair simply does not match.
//!
//! [`HashKey`] and [`SortKey`] wrap a value for hash and B-tree indexes; the two
//! agree with `py_eq` except that NaN is equal to itself (so a NaN can be stored and
//! removed again) — candidate rows from an index are always re-checked with the
//! predicate, so the difference never reaches a result.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

pub use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

/// A field name, shared between a table's columns and the records it hands out.
pub type Name = Arc<str>;

/// The entries of a map value, in stored key order; keys are unique.
pub type MapEntries = Box<[(Box<str>, Value)]>;

/// A stored value.
///
/// `==` on `Value` is *identity of content*: same variant, same data (`Int(1) !=
/// Float(1.0)`). Query semantics never use it; they use [`py_eq`], [`py_cmp`] and
/// [`total_cmp`].
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// `None` / SQL NULL.
    #[default]
    Null,
    /// A boolean; a number (0/1) in comparisons and aggregates.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// Text.
    Str(Box<str>),
    /// A byte string.
    Bytes(Box<[u8]>),
    /// A list of values.
    List(Box<[Value]>),
    /// A map with string keys, in stored key order.
    Map(MapEntries),
    /// A calendar date.
    Date(NaiveDate),
    /// A date and time, naive or with a fixed UTC offset.
    DateTime(DateTime),
}

/// A date and time: naive (no zone) or aware with a fixed offset from UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// The wall-clock time as written (for aware values: local to `offset`).
    pub local: NaiveDateTime,
    /// The offset from UTC, `None` for a naive value.
    pub offset: Option<FixedOffset>,
}

impl DateTime {
    /// A naive date and time.
    pub fn naive(local: NaiveDateTime) -> Self {
        DateTime {
            local,
            offset: None,
        }
    }

    /// An aware date and time, `local` being the wall-clock time at `offset`.
    pub fn aware(local: NaiveDateTime, offset: FixedOffset) -> Self {
        DateTime {
            local,
            offset: Some(offset),
        }
    }

    /// The instant in UTC for an aware value, the wall-clock time for a naive one.
    pub fn utc(&self) -> NaiveDateTime {
        match self.offset {
            Some(off) => self.local - chrono::Duration::seconds(off.local_minus_utc() as i64),
            None => self.local,
        }
    }
}

/// A borrowed view of a value; what column storage hands to predicates without
/// copying text.
#[derive(Clone, Copy, Debug)]
pub enum ValueRef<'a> {
    /// NULL (also an absent field).
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text.
    Str(&'a str),
    /// Bytes.
    Bytes(&'a [u8]),
    /// A list.
    List(&'a [Value]),
    /// A map.
    Map(&'a [(Box<str>, Value)]),
    /// A date.
    Date(NaiveDate),
    /// A date and time.
    DateTime(DateTime),
}

/// The kind of a value, named as Python names the type (used in error messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// `None`
    Null,
    /// `bool`
    Bool,
    /// `int`
    Int,
    /// `float`
    Float,
    /// `str`
    Str,
    /// `bytes`
    Bytes,
    /// `list`
    List,
    /// `dict`
    Map,
    /// `date`
    Date,
    /// `datetime`
    DateTime,
}

impl ValueKind {
    /// The Python name of the type (`int`, `str`, `NoneType`, …).
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::Null => "NoneType",
            ValueKind::Bool => "bool",
            ValueKind::Int => "int",
            ValueKind::Float => "float",
            ValueKind::Str => "str",
            ValueKind::Bytes => "bytes",
            ValueKind::List => "list",
            ValueKind::Map => "dict",
            ValueKind::Date => "date",
            ValueKind::DateTime => "datetime",
        }
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Value {
    /// A borrowed view of this value.
    #[inline]
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Bool(b) => ValueRef::Bool(*b),
            Value::Int(i) => ValueRef::Int(*i),
            Value::Float(x) => ValueRef::Float(*x),
            Value::Str(s) => ValueRef::Str(s),
            Value::Bytes(b) => ValueRef::Bytes(b),
            Value::List(l) => ValueRef::List(l),
            Value::Map(m) => ValueRef::Map(m),
            Value::Date(d) => ValueRef::Date(*d),
            Value::DateTime(d) => ValueRef::DateTime(*d),
        }
    }

    /// A copy fit for an error message: text and bytes past 40 characters are
    /// cut (text ends in `…`); other values are copied whole.
    pub fn shortened(&self) -> Value {
        const MAX: usize = 40;
        match self {
            Value::Str(s) if s.chars().count() > MAX => {
                let mut cut: String = s.chars().take(MAX).collect();
                cut.push('…');
                Value::str(cut)
            }
            Value::Bytes(b) if b.len() > MAX => Value::Bytes(b[..MAX].into()),
            other => other.clone(),
        }
    }

    /// True for NULL.
    #[inline]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The kind of the value.
    pub fn kind(&self) -> ValueKind {
        self.as_ref().kind()
    }

    /// A text value.
    pub fn str(s: impl Into<Box<str>>) -> Value {
        Value::Str(s.into())
    }

    /// A list value.
    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(items.into_iter().collect())
    }

    /// A map value; a repeated key keeps its first position and its last value, as a
    /// Python dict built from pairs does.
    pub fn map<K: Into<Box<str>>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        let mut out: Vec<(Box<str>, Value)> = Vec::new();
        for (k, v) in entries {
            let k = k.into();
            match out.iter_mut().find(|(name, _)| *name == k) {
                Some(slot) => slot.1 = v,
                None => out.push((k, v)),
            }
        }
        Value::Map(out.into_boxed_slice())
    }

    /// A date value, `None` when the date does not exist.
    pub fn date(year: i32, month: u32, day: u32) -> Option<Value> {
        NaiveDate::from_ymd_opt(year, month, day).map(Value::Date)
    }

    /// The integer if this is an `Int`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The text if this is a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// True if the value is a float NaN, or contains one.
    pub fn contains_nan(&self) -> bool {
        match self {
            Value::Float(x) => x.is_nan(),
            Value::List(l) => l.iter().any(Value::contains_nan),
            Value::Map(m) => m.iter().any(|(_, v)| v.contains_nan()),
            _ => false,
        }
    }
}

impl<'a> ValueRef<'a> {
    /// An owned copy.
    pub fn to_owned(self) -> Value {
        match self {
            ValueRef::Null => Value::Null,
            ValueRef::Bool(b) => Value::Bool(b),
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::Float(x) => Value::Float(x),
            ValueRef::Str(s) => Value::Str(s.into()),
            ValueRef::Bytes(b) => Value::Bytes(b.into()),
            ValueRef::List(l) => Value::List(l.into()),
            ValueRef::Map(m) => Value::Map(m.into()),
            ValueRef::Date(d) => Value::Date(d),
            ValueRef::DateTime(d) => Value::DateTime(d),
        }
    }

    /// True for NULL.
    #[inline]
    pub fn is_null(self) -> bool {
        matches!(self, ValueRef::Null)
    }

    /// The kind of the value.
    pub fn kind(self) -> ValueKind {
        match self {
            ValueRef::Null => ValueKind::Null,
            ValueRef::Bool(_) => ValueKind::Bool,
            ValueRef::Int(_) => ValueKind::Int,
            ValueRef::Float(_) => ValueKind::Float,
            ValueRef::Str(_) => ValueKind::Str,
            ValueRef::Bytes(_) => ValueKind::Bytes,
            ValueRef::List(_) => ValueKind::List,
            ValueRef::Map(_) => ValueKind::Map,
            ValueRef::Date(_) => ValueKind::Date,
            ValueRef::DateTime(_) => ValueKind::DateTime,
        }
    }

    /// The value as a number, if it is one (`bool` counts as 0/1).
    #[inline]
    pub fn as_number(self) -> Option<Number> {
        match self {
            ValueRef::Bool(b) => Some(Number::Int(b as i64)),
            ValueRef::Int(i) => Some(Number::Int(i)),
            ValueRef::Float(x) => Some(Number::Float(x)),
            _ => None,
        }
    }

    /// The integer this value equals, if it is a number equal to an `i64`
    /// (`True`, `3`, `3.0`). Keys that are equal under [`py_eq`] map to the same integer.
    #[inline]
    pub fn as_int_key(self) -> Option<i64> {
        match self {
            ValueRef::Bool(b) => Some(b as i64),
            ValueRef::Int(i) => Some(i),
            ValueRef::Float(x) => float_as_exact_int(x),
            _ => None,
        }
    }
}

/// An `f64` that is exactly an `i64`, as that integer.
#[inline]
pub fn float_as_exact_int(x: f64) -> Option<i64> {
    // 2^63 is not representable as i64; every float in [-2^63, 2^63) with no
    // fractional part is.
    if x.fract() == 0.0 && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&x)
    {
        Some(x as i64)
    } else {
        None
    }
}

/// A number read from a value: bools are ints here.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

impl Number {
    /// As a float (possibly rounding).
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(x) => x,
        }
    }
}

/// Exact comparison of an integer with a float; `None` when the float is NaN.
#[inline]
pub fn cmp_int_float(i: i64, x: f64) -> Option<Ordering> {
    if x.is_nan() {
        return None;
    }
    if x >= 9_223_372_036_854_775_808.0 {
        return Some(Ordering::Less);
    }
    if x < -9_223_372_036_854_775_808.0 {
        return Some(Ordering::Greater);
    }
    let t = x.trunc();
    let ti = t as i64;
    match i.cmp(&ti) {
        Ordering::Equal => {
            let frac = x - t;
            Some(if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            })
        }
        other => Some(other),
    }
}

/// Exact numeric comparison; `None` if a NaN is involved.
#[inline]
pub fn cmp_numbers(a: Number, b: Number) -> Option<Ordering> {
    match (a, b) {
        (Number::Int(x), Number::Int(y)) => Some(x.cmp(&y)),
        (Number::Float(x), Number::Float(y)) => x.partial_cmp(&y),
        (Number::Int(x), Number::Float(y)) => cmp_int_float(x, y),
        (Number::Float(x), Number::Int(y)) => cmp_int_float(y, x).map(Ordering::reverse),
    }
}

/// Rank of a value's class in the total order.
#[inline]
fn class_rank(v: ValueRef<'_>) -> u8 {
    match v {
        ValueRef::Null => 0,
        ValueRef::Bool(_) | ValueRef::Int(_) | ValueRef::Float(_) => 1,
        ValueRef::Date(_) | ValueRef::DateTime(_) => 2,
        ValueRef::Str(_) => 3,
        ValueRef::Bytes(_) => 4,
        ValueRef::List(_) => 5,
        ValueRef::Map(_) => 6,
    }
}

/// Position of a date/time value on the total order's time line: dates and naive
/// datetimes share one line (a date just before a datetime at its midnight), aware
/// datetimes follow, by UTC instant.
fn time_key(v: ValueRef<'_>) -> (u8, NaiveDateTime, u8) {
    match v {
        ValueRef::Date(d) => (0, d.and_time(NaiveTime::MIN), 0),
        ValueRef::DateTime(dt) => match dt.offset {
            None => (0, dt.local, 1),
            Some(_) => (1, dt.utc(), 0),
        },
        _ => unreachable!("time_key on a non-time value"),
    }
}

/// The total order over all values (ORDER BY, MIN/MAX, sorted indexes).
///
/// NULL < numbers (bool/int/float by exact numeric value, NaN after +inf, all NaNs
/// equal) < date/time < text (code points) < bytes < lists (lexicographic) < maps
/// (their `(key, value)` pairs in stored order, lexicographic).
pub fn total_cmp(a: ValueRef<'_>, b: ValueRef<'_>) -> Ordering {
    let (ra, rb) = (class_rank(a), class_rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (ValueRef::Null, ValueRef::Null) => Ordering::Equal,
        (ValueRef::Str(x), ValueRef::Str(y)) => x.cmp(y),
        (ValueRef::Bytes(x), ValueRef::Bytes(y)) => x.cmp(y),
        (ValueRef::List(x), ValueRef::List(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                let o = total_cmp(p.as_ref(), q.as_ref());
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (ValueRef::Map(x), ValueRef::Map(y)) => {
            for ((kp, vp), (kq, vq)) in x.iter().zip(y.iter()) {
                let o = kp.cmp(kq).then_with(|| total_cmp(vp.as_ref(), vq.as_ref()));
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ if ra == 1 => {
            let (x, y) = (a.as_number().unwrap(), b.as_number().unwrap());
            match cmp_numbers(x, y) {
                Some(o) => o,
                None => {
                    let xn = matches!(x, Number::Float(f) if f.is_nan());
                    let yn = matches!(y, Number::Float(f) if f.is_nan());
                    xn.cmp(&yn)
                }
            }
        }
        _ => time_key(a).cmp(&time_key(b)),
    }
}

/// Python's `==` between stored values.
pub fn py_eq(a: ValueRef<'_>, b: ValueRef<'_>) -> bool {
    eq_impl(a, b, false)
}

/// Equality used by indexes and grouping keys: [`py_eq`], except that NaN equals NaN.
pub fn index_eq(a: ValueRef<'_>, b: ValueRef<'_>) -> bool {
    eq_impl(a, b, true)
}

fn eq_impl(a: ValueRef<'_>, b: ValueRef<'_>, nan_eq: bool) -> bool {
    match (a, b) {
        (ValueRef::Null, ValueRef::Null) => true,
        (ValueRef::Str(x), ValueRef::Str(y)) => x == y,
        (ValueRef::Bytes(x), ValueRef::Bytes(y)) => x == y,
        (ValueRef::Date(x), ValueRef::Date(y)) => x == y,
        (ValueRef::DateTime(x), ValueRef::DateTime(y)) => match (x.offset, y.offset) {
            (None, None) => x.local == y.local,
            (Some(_), Some(_)) => x.utc() == y.utc(),
            _ => false,
        },
        (ValueRef::List(x), ValueRef::List(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(p, q)| eq_impl(p.as_ref(), q.as_ref(), nan_eq))
        }
        (ValueRef::Map(x), ValueRef::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.iter()
                        .find(|(k2, _)| k2 == k)
                        .is_some_and(|(_, v2)| eq_impl(v.as_ref(), v2.as_ref(), nan_eq))
                })
        }
        _ => match (a.as_number(), b.as_number()) {
            (Some(x), Some(y)) => match cmp_numbers(x, y) {
                Some(o) => o == Ordering::Equal,
                None => nan_eq && is_nan(x) && is_nan(y),
            },
            _ => false,
        },
    }
}

fn is_nan(n: Number) -> bool {
    matches!(n, Number::Float(f) if f.is_nan())
}

/// Python's ordering between two stored values: `None` when Python would raise
/// (incomparable types) or when a NaN is involved.
pub fn py_cmp(a: ValueRef<'_>, b: ValueRef<'_>) -> Option<Ordering> {
    match (a, b) {
        (ValueRef::Str(x), ValueRef::Str(y)) => Some(x.cmp(y)),
        (ValueRef::Bytes(x), ValueRef::Bytes(y)) => Some(x.cmp(y)),
        (ValueRef::Date(x), ValueRef::Date(y)) => Some(x.cmp(&y)),
        (ValueRef::DateTime(x), ValueRef::DateTime(y)) => match (x.offset, y.offset) {
            (None, None) => Some(x.local.cmp(&y.local)),
            (Some(_), Some(_)) => Some(x.utc().cmp(&y.utc())),
            _ => None,
        },
        (ValueRef::List(x), ValueRef::List(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                if !py_eq(p.as_ref(), q.as_ref()) {
                    return py_cmp(p.as_ref(), q.as_ref());
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        _ => match (a.as_number(), b.as_number()) {
            (Some(x), Some(y)) => cmp_numbers(x, y),
            _ => None,
        },
    }
}

/// The deepest nesting of lists and maps a stored value may have (`[1]` nests
/// one level, `[[1]]` two). Every write checks it ([`Error::NestedTooDeep`](crate::Error::NestedTooDeep)), so
/// everything that walks a value recursively (comparison, hashing, copies,
/// the JSON writer) stays within a bounded stack, and every value a database
/// holds can be saved and loaded again. Python's `json` stops at about the
/// same depth (its recursion limit), so DictDB's files never go deeper.
pub const MAX_NESTING: usize = 1000;

/// True if lists and maps nest more than `limit` levels deep in the value.
/// Looks no deeper than `limit + 1` levels, so it is safe on any value.
pub fn nests_deeper_than(v: ValueRef<'_>, limit: usize) -> bool {
    match v {
        ValueRef::List(items) => {
            limit == 0
                || items
                    .iter()
                    .any(|x| nests_deeper_than(x.as_ref(), limit - 1))
        }
        ValueRef::Map(m) => {
            limit == 0
                || m.iter()
                    .any(|(_, x)| nests_deeper_than(x.as_ref(), limit - 1))
        }
        _ => false,
    }
}

/// True if the value is a map or holds one at any depth. Such values are where the
/// total order (maps by stored key order) is finer than Python equality (maps
/// regardless of key order), so a sorted index cannot answer equality or ranges
/// for them by key order alone.
pub fn contains_map(v: ValueRef<'_>) -> bool {
    match v {
        ValueRef::Map(_) => true,
        ValueRef::List(l) => l.iter().any(|x| contains_map(x.as_ref())),
        _ => false,
    }
}

/// Feeds the index-equality class of a value to a hasher: values equal under
/// [`index_eq`] hash alike (numbers by numeric value, maps independent of key order,
/// aware datetimes by instant).
pub fn hash_value<H: Hasher>(v: ValueRef<'_>, state: &mut H) {
    match v {
        ValueRef::Null => state.write_u8(0),
        ValueRef::Bool(_) | ValueRef::Int(_) | ValueRef::Float(_) => match v.as_int_key() {
            Some(i) => {
                state.write_u8(1);
                state.write_i64(i);
            }
            None => {
                state.write_u8(2);
                let x = match v {
                    ValueRef::Float(x) => x,
                    _ => unreachable!(),
                };
                // All NaNs hash alike; other non-integral floats by their bits.
                state.write_u64(if x.is_nan() { u64::MAX } else { x.to_bits() });
            }
        },
        ValueRef::Str(s) => {
            state.write_u8(3);
            s.hash(state);
        }
        ValueRef::Bytes(b) => {
            state.write_u8(4);
            b.hash(state);
        }
        ValueRef::Date(d) => {
            state.write_u8(5);
            d.hash(state);
        }
        ValueRef::DateTime(dt) => {
            state.write_u8(if dt.offset.is_some() { 7 } else { 6 });
            dt.utc().hash(state);
        }
        ValueRef::List(l) => {
            state.write_u8(8);
            state.write_usize(l.len());
            for item in l.iter() {
                hash_value(item.as_ref(), state);
            }
        }
        ValueRef::Map(m) => {
            state.write_u8(9);
            state.write_usize(m.len());
            // Order-independent: a commutative sum of per-entry hashes.
            let mut sum = 0u64;
            for (k, item) in m.iter() {
                let mut h = std::hash::DefaultHasher::new();
                k.hash(&mut h);
                hash_value(item.as_ref(), &mut h);
                sum = sum.wrapping_add(h.finish());
            }
            state.write_u64(sum);
        }
    }
}

/// A value as a hash-map key: equality is [`index_eq`].
#[derive(Clone, Debug)]
pub struct HashKey(pub Value);

impl PartialEq for HashKey {
    fn eq(&self, other: &Self) -> bool {
        index_eq(self.0.as_ref(), other.0.as_ref())
    }
}
impl Eq for HashKey {}
impl Hash for HashKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_value(self.0.as_ref(), state)
    }
}

/// A borrowed value used to look up a [`HashKey`] without copying it.
#[derive(Clone, Copy, Debug)]
pub struct HashKeyRef<'a>(pub ValueRef<'a>);

impl Hash for HashKeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_value(self.0, state)
    }
}

impl PartialEq for HashKeyRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        index_eq(self.0, other.0)
    }
}
impl Eq for HashKeyRef<'_> {}

impl hashbrown::Equivalent<HashKey> for HashKeyRef<'_> {
    fn equivalent(&self, key: &HashKey) -> bool {
        index_eq(self.0, key.0.as_ref())
    }
}

/// A value as a B-tree key: ordered by [`total_cmp`].
#[derive(Clone, Debug)]
pub struct SortKey(pub Value);

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for SortKey {}
impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        total_cmp(self.0.as_ref(), other.0.as_ref())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v as i64)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v as i64)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.into())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v.into_boxed_str())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v.into_boxed_slice())
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v.into_boxed_slice())
    }
}
impl From<NaiveDate> for Value {
    fn from(v: NaiveDate) -> Self {
        Value::Date(v)
    }
}
impl From<NaiveDateTime> for Value {
    fn from(v: NaiveDateTime) -> Self {
        Value::DateTime(DateTime::naive(v))
    }
}
impl From<DateTime> for Value {
    fn from(v: DateTime) -> Self {
        Value::DateTime(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl fmt::Display for Value {
    /// Python `repr` style: `None`, `True`, `3`, `1.5`, `'text'`, `b'\x00'`, `[1, 2]`,
    /// `{'a': 1}`, `2024-05-01`, `2024-05-01 12:30:00+02:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.as_ref(), f)
    }
}

impl fmt::Display for ValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ValueRef::Null => f.write_str("None"),
            ValueRef::Bool(true) => f.write_str("True"),
            ValueRef::Bool(false) => f.write_str("False"),
            ValueRef::Int(i) => write!(f, "{i}"),
            ValueRef::Float(x) => fmt_float(x, f),
            ValueRef::Str(s) => write!(f, "'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            ValueRef::Bytes(b) => {
                f.write_str("b'")?;
                for &byte in b {
                    match byte {
                        b'\\' => f.write_str("\\\\")?,
                        b'\'' => f.write_str("\\'")?,
                        0x20..=0x7e => write!(f, "{}", byte as char)?,
                        _ => write!(f, "\\x{byte:02x}")?,
                    }
                }
                f.write_str("'")
            }
            ValueRef::List(l) => {
                f.write_str("[")?;
                for (i, item) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            ValueRef::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {v}", ValueRef::Str(k))?;
                }
                f.write_str("}")
            }
            ValueRef::Date(d) => write!(f, "{d}"),
            ValueRef::DateTime(dt) => {
                write!(f, "{}", dt.local.format("%Y-%m-%d %H:%M:%S%.f"))?;
                if let Some(off) = dt.offset {
                    write!(f, "{off}")?;
                }
                Ok(())
            }
        }
    }
}

/// Formats a float as Python's `repr` does for the common cases (`1.0`, `0.1`,
/// `1e+20`, `nan`, `inf`).
fn fmt_float(x: f64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if x.is_nan() {
        return f.write_str("nan");
    }
    if x.is_infinite() {
        return f.write_str(if x > 0.0 { "inf" } else { "-inf" });
    }
    let abs = x.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let s = format!("{x:e}");
        // Rust writes `1e20` / `1.5e-7`; Python writes `1e+20` / `1.5e-07`.
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return write!(f, "{mant}e{sign}{digits:0>2}");
    }
    let s = format!("{x:?}");
    f.write_str(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v_list(items: &[Value]) -> Value {
        Value::List(items.to_vec().into_boxed_slice())
    }

    #[test]
    fn numbers_compare_exactly_across_types() {
        assert!(py_eq(Value::Int(1).as_ref(), Value::Float(1.0).as_ref()));
        assert!(py_eq(Value::Bool(true).as_ref(), Value::Int(1).as_ref()));
        let big = (1i64 << 53) + 1;
        assert!(!py_eq(
            Value::Int(big).as_ref(),
            Value::Float(2f64.powi(53)).as_ref()
        ));
        assert_eq!(
            cmp_int_float(i64::MAX, 9_223_372_036_854_775_808.0),
            Some(Ordering::Less)
        );
        assert_eq!(cmp_int_float(-3, -2.5), Some(Ordering::Less));
        assert_eq!(cmp_int_float(-2, -2.5), Some(Ordering::Greater));
        assert_eq!(cmp_int_float(0, -0.0), Some(Ordering::Equal));
        assert_eq!(cmp_int_float(1, f64::NAN), None);
    }

    #[test]
    fn nan_equals_nothing_but_is_ordered_last_among_numbers() {
        let nan = Value::Float(f64::NAN);
        assert!(!py_eq(nan.as_ref(), nan.as_ref()));
        assert!(index_eq(nan.as_ref(), nan.as_ref()));
        assert_eq!(py_cmp(nan.as_ref(), Value::Int(1).as_ref()), None);
        assert_eq!(
            total_cmp(nan.as_ref(), Value::Float(f64::INFINITY).as_ref()),
            Ordering::Greater
        );
        assert_eq!(
            total_cmp(nan.as_ref(), Value::Date(NaiveDate::MIN).as_ref()),
            Ordering::Less
        );
    }

    #[test]
    fn total_order_classes() {
        let d = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        let ordered = [
            Value::Null,
            Value::Bool(false),
            Value::Float(0.5),
            Value::Int(1),
            Value::Float(f64::NAN),
            Value::Date(d),
            Value::DateTime(DateTime::naive(d.and_time(NaiveTime::MIN))),
            Value::DateTime(DateTime::aware(
                d.and_time(NaiveTime::MIN),
                FixedOffset::east_opt(0).unwrap(),
            )),
            Value::str(""),
            Value::str("a"),
            Value::Bytes(Box::new([0u8])),
            v_list(&[]),
            v_list(&[Value::Int(1)]),
            v_list(&[Value::Int(1), Value::Null]),
            Value::map([("a", Value::Int(1))]),
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(total_cmp(a.as_ref(), b.as_ref()), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn ordering_is_undefined_between_classes() {
        assert_eq!(
            py_cmp(Value::str("abc").as_ref(), Value::Int(5).as_ref()),
            None
        );
        assert_eq!(py_cmp(Value::Null.as_ref(), Value::Null.as_ref()), None);
        let d = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        let dt = Value::DateTime(DateTime::naive(d.and_time(NaiveTime::MIN)));
        assert_eq!(py_cmp(Value::Date(d).as_ref(), dt.as_ref()), None);
        assert!(!py_eq(Value::Date(d).as_ref(), dt.as_ref()));
        let l1 = v_list(&[Value::Int(1), Value::str("x")]);
        let l2 = v_list(&[Value::Int(1), Value::Int(2)]);
        assert_eq!(py_cmp(l1.as_ref(), l2.as_ref()), None);
        let l3 = v_list(&[Value::Int(1)]);
        assert_eq!(py_cmp(l3.as_ref(), l2.as_ref()), Some(Ordering::Less));
    }

    #[test]
    fn maps_are_equal_ignoring_key_order_and_hash_alike() {
        use std::hash::BuildHasher;
        let a = Value::map([("a", Value::Int(1)), ("b", Value::Int(2))]);
        let b = Value::map([("b", Value::Float(2.0)), ("a", Value::Bool(true))]);
        assert!(py_eq(a.as_ref(), b.as_ref()));
        let s = hashbrown::DefaultHashBuilder::default();
        assert_eq!(s.hash_one(HashKey(a)), s.hash_one(HashKey(b)));
        assert_eq!(
            s.hash_one(HashKey(Value::Int(1))),
            s.hash_one(HashKey(Value::Float(1.0)))
        );
    }

    #[test]
    fn aware_datetimes_compare_by_instant() {
        let d = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        let noon = d.and_hms_opt(12, 0, 0).unwrap();
        let ten = d.and_hms_opt(10, 0, 0).unwrap();
        let a = Value::DateTime(DateTime::aware(noon, FixedOffset::east_opt(7200).unwrap()));
        let b = Value::DateTime(DateTime::aware(ten, FixedOffset::east_opt(0).unwrap()));
        assert!(py_eq(a.as_ref(), b.as_ref()));
        assert_eq!(total_cmp(a.as_ref(), b.as_ref()), Ordering::Equal);
        let naive = Value::DateTime(DateTime::naive(ten));
        assert!(!py_eq(naive.as_ref(), b.as_ref()));
    }

    #[test]
    fn display_is_python_repr() {
        assert_eq!(Value::Float(1.0).to_string(), "1.0");
        assert_eq!(Value::Float(1e20).to_string(), "1e+20");
        assert_eq!(Value::Float(1.5e-7).to_string(), "1.5e-07");
        assert_eq!(Value::str("it's").to_string(), "'it\\'s'");
        assert_eq!(
            Value::map([("a", v_list(&[Value::Null, Value::Bool(true)]))]).to_string(),
            "{'a': [None, True]}"
        );
    }

    #[test]
    fn value_is_small() {
        assert!(std::mem::size_of::<Value>() <= 24);
    }
}
