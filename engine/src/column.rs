//! Column storage: one vector per field, typed where the data allows.
//!
//! A column starts [`ColumnData::Empty`] and takes the type of the first non-null
//! value stored in it: `Int`, `Float`, `Bool`, `Str` (dictionary-encoded while it has
//! few distinct values, then an arena of bytes), or `Any`, the generic fallback for
//! every other type. A value of another type than the column's turns the column into
//! `Any` once (values are never coerced: a bool stays a bool, an int an int).
//!
//! NULL is a bit in the null bitmap (the typed vector holds a placeholder there).
//! Positions past the end of the vectors read as NULL, so a field that first appears
//! late in a table costs nothing for the rows before it. Whether a NULL position is a
//! stored `None` or an absent field is the table's business (row shapes), not the
//! column's.

use fixedbitset::FixedBitSet;
use hashbrown::HashMap;

use crate::value::{Value, ValueRef};

/// Distinct strings a dictionary-encoded column holds before it becomes an arena.
const DICT_LIMIT: usize = 4096;

/// A column: values by row position, with a null bitmap.
#[derive(Clone, Debug, Default)]
pub struct Column {
    data: ColumnData,
    /// Bit set ⇔ the position is NULL. At most as long as the data: positions
    /// past its end are not NULL (appending a value does not grow it).
    nulls: FixedBitSet,
    n_nulls: usize,
}

/// The storage of a column.
#[derive(Clone, Debug)]
pub enum ColumnData {
    /// No value stored yet: this many NULL positions.
    Empty(usize),
    /// Integers.
    Int(Vec<i64>),
    /// Floats.
    Float(Vec<f64>),
    /// Booleans.
    Bool(Vec<bool>),
    /// Text.
    Str(StrColumn),
    /// Anything (the fallback).
    Any(Vec<Value>),
}

impl Default for ColumnData {
    fn default() -> Self {
        ColumnData::Empty(0)
    }
}

/// Text storage.
#[derive(Clone, Debug)]
pub enum StrColumn {
    /// Few distinct strings: a code per position.
    Dict(DictStr),
    /// Many distinct strings: spans into one byte heap.
    Arena(ArenaStr),
}

/// Dictionary-encoded text: `dict[codes[pos]]`.
#[derive(Clone, Debug, Default)]
pub struct DictStr {
    codes: Vec<u32>,
    dict: Vec<Box<str>>,
    lookup: HashMap<Box<str>, u32>,
}

impl DictStr {
    /// The code of each position.
    pub fn codes(&self) -> &[u32] {
        &self.codes
    }
    /// The distinct strings, by code.
    pub fn dict(&self) -> &[Box<str>] {
        &self.dict
    }
    fn code_of(&mut self, s: &str) -> Option<u32> {
        if let Some(&c) = self.lookup.get(s) {
            return Some(c);
        }
        if self.dict.len() >= DICT_LIMIT {
            return None;
        }
        let c = self.dict.len() as u32;
        self.dict.push(s.into());
        self.lookup.insert(s.into(), c);
        Some(c)
    }
}

/// Text as `(offset, len)` spans into a heap of UTF-8 bytes.
///
/// Invariant: every span covers exactly the bytes of one string pushed with
/// [`ArenaStr::push_str`], so it lies on UTF-8 boundaries of valid UTF-8.
#[derive(Clone, Debug, Default)]
pub struct ArenaStr {
    spans: Vec<(u32, u32)>,
    heap: Vec<u8>,
    garbage: usize,
}

impl ArenaStr {
    /// The string at a position (`pos < len`).
    #[inline]
    #[allow(unsafe_code)]
    pub fn get(&self, pos: usize) -> &str {
        let bytes = self.bytes(pos);
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: by the type's invariant, every span covers one whole string that was
        // valid UTF-8 when it was copied in, and the heap is only ever appended to or
        // rebuilt from such spans.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// The bytes of the string at a position (`pos < len`).
    #[inline]
    pub fn bytes(&self, pos: usize) -> &[u8] {
        let (off, len) = self.spans[pos];
        &self.heap[off as usize..off as usize + len as usize]
    }

    /// The `(offset, len)` of the string at a position within [`ArenaStr::heap`].
    #[inline]
    pub fn span(&self, pos: usize) -> (usize, usize) {
        let (off, len) = self.spans[pos];
        (off as usize, len as usize)
    }

    /// The bytes every string is stored in.
    pub fn heap(&self) -> &[u8] {
        &self.heap
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True with no positions.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Appends the bytes of `s`, returning its span; `None` when the heap would pass
    /// 4 GiB (the column then falls back to `Any`).
    fn push_str(&mut self, s: &str) -> Option<(u32, u32)> {
        let off = self.heap.len();
        let end = off.checked_add(s.len())?;
        if end > u32::MAX as usize {
            return None;
        }
        self.heap.extend_from_slice(s.as_bytes());
        Some((off as u32, s.len() as u32))
    }

    fn set(&mut self, pos: usize, s: &str) -> bool {
        if s.is_empty() {
            self.put_span(pos, (0, 0));
            return true;
        }
        match self.push_str(s) {
            Some(span) => {
                self.put_span(pos, span);
                self.maybe_rebuild();
                true
            }
            None => false,
        }
    }

    fn put_span(&mut self, pos: usize, span: (u32, u32)) {
        if pos == self.spans.len() {
            self.spans.push(span);
        } else {
            self.garbage += self.spans[pos].1 as usize;
            self.spans[pos] = span;
        }
    }

    /// Reclaims the bytes of overwritten strings once they are most of the heap.
    fn maybe_rebuild(&mut self) {
        if self.garbage > (1 << 20) && self.garbage * 2 > self.heap.len() {
            let keep: Vec<usize> = (0..self.spans.len()).collect();
            *self = self.gather(&keep);
        }
    }

    fn gather(&self, positions: &[usize]) -> ArenaStr {
        let mut out = ArenaStr::default();
        out.spans.reserve(positions.len());
        for &p in positions {
            let s = self.get(p);
            let span = if s.is_empty() {
                (0, 0)
            } else {
                out.push_str(s)
                    .expect("a subset of a heap fits where the heap did")
            };
            out.spans.push(span);
        }
        out
    }
}

impl StrColumn {
    fn len(&self) -> usize {
        match self {
            StrColumn::Dict(d) => d.codes.len(),
            StrColumn::Arena(a) => a.spans.len(),
        }
    }

    /// Stores `s` at `pos` (`pos <= len`); `false` when the column cannot hold it.
    fn set(&mut self, pos: usize, s: &str) -> bool {
        if let StrColumn::Dict(d) = self {
            match d.code_of(s) {
                Some(c) => {
                    if pos == d.codes.len() {
                        d.codes.push(c);
                    } else {
                        d.codes[pos] = c;
                    }
                    return true;
                }
                None => {
                    let all: Vec<usize> = (0..d.codes.len()).collect();
                    *self = StrColumn::Arena(self.to_arena(&all));
                }
            }
        }
        match self {
            StrColumn::Arena(a) => a.set(pos, s),
            StrColumn::Dict(_) => unreachable!("converted above"),
        }
    }

    fn to_arena(&self, positions: &[usize]) -> ArenaStr {
        match self {
            StrColumn::Arena(a) => a.gather(positions),
            StrColumn::Dict(d) => {
                let mut out = ArenaStr::default();
                for &p in positions {
                    let s = &d.dict[d.codes[p] as usize];
                    let span = out.push_str(s).unwrap_or((0, 0));
                    out.spans.push(span);
                }
                out
            }
        }
    }

    fn gather(&self, positions: &[usize]) -> StrColumn {
        match self {
            StrColumn::Dict(d) => StrColumn::Dict(DictStr {
                codes: positions.iter().map(|&p| d.codes[p]).collect(),
                dict: d.dict.clone(),
                lookup: d.lookup.clone(),
            }),
            StrColumn::Arena(a) => StrColumn::Arena(a.gather(positions)),
        }
    }
}

/// A read-only view of a column's storage for vectorised scans. Slices cover the
/// column's length; positions past it are NULL.
#[derive(Clone, Copy, Debug)]
pub enum ColumnView<'a> {
    /// No value yet: every position is NULL.
    Empty,
    /// Integers.
    Int(&'a [i64]),
    /// Floats.
    Float(&'a [f64]),
    /// Booleans.
    Bool(&'a [bool]),
    /// Dictionary-encoded text.
    StrDict(&'a DictStr),
    /// Arena text.
    StrArena(&'a ArenaStr),
    /// Generic values.
    Any(&'a [Value]),
}

impl Column {
    /// Number of positions stored (later positions read as NULL).
    pub fn len(&self) -> usize {
        match &self.data {
            ColumnData::Empty(n) => *n,
            ColumnData::Int(v) => v.len(),
            ColumnData::Float(v) => v.len(),
            ColumnData::Bool(v) => v.len(),
            ColumnData::Str(s) => s.len(),
            ColumnData::Any(v) => v.len(),
        }
    }

    /// True when no position is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at a position (NULL past the end).
    #[inline]
    pub fn get(&self, pos: usize) -> ValueRef<'_> {
        if self.n_nulls > 0 && pos < self.nulls.len() && self.nulls.contains(pos) {
            return ValueRef::Null;
        }
        match &self.data {
            ColumnData::Empty(_) => ValueRef::Null,
            ColumnData::Int(v) => v.get(pos).map_or(ValueRef::Null, |&x| ValueRef::Int(x)),
            ColumnData::Float(v) => v.get(pos).map_or(ValueRef::Null, |&x| ValueRef::Float(x)),
            ColumnData::Bool(v) => v.get(pos).map_or(ValueRef::Null, |&x| ValueRef::Bool(x)),
            ColumnData::Str(StrColumn::Dict(d)) => d
                .codes
                .get(pos)
                .map_or(ValueRef::Null, |&c| ValueRef::Str(&d.dict[c as usize])),
            ColumnData::Str(StrColumn::Arena(a)) => {
                if pos < a.spans.len() {
                    ValueRef::Str(a.get(pos))
                } else {
                    ValueRef::Null
                }
            }
            ColumnData::Any(v) => v.get(pos).map_or(ValueRef::Null, Value::as_ref),
        }
    }

    /// True if the position is NULL (or past the end).
    #[inline]
    pub fn is_null(&self, pos: usize) -> bool {
        pos >= self.len() || (self.n_nulls > 0 && self.nulls.contains(pos))
    }

    /// The null bitmap, `None` when no stored position is NULL.
    #[inline]
    pub fn nulls(&self) -> Option<&FixedBitSet> {
        (self.n_nulls > 0).then_some(&self.nulls)
    }

    /// The storage, for vectorised scans.
    pub fn view(&self) -> ColumnView<'_> {
        match &self.data {
            ColumnData::Empty(_) => ColumnView::Empty,
            ColumnData::Int(v) => ColumnView::Int(v),
            ColumnData::Float(v) => ColumnView::Float(v),
            ColumnData::Bool(v) => ColumnView::Bool(v),
            ColumnData::Str(StrColumn::Dict(d)) => ColumnView::StrDict(d),
            ColumnData::Str(StrColumn::Arena(a)) => ColumnView::StrArena(a),
            ColumnData::Any(v) => ColumnView::Any(v),
        }
    }

    /// A short name of the storage kind (`int`, `float`, `bool`, `str-dict`,
    /// `str-arena`, `any`, `empty`), for EXPLAIN and statistics.
    pub fn storage_name(&self) -> &'static str {
        match self.view() {
            ColumnView::Empty => "empty",
            ColumnView::Int(_) => "int",
            ColumnView::Float(_) => "float",
            ColumnView::Bool(_) => "bool",
            ColumnView::StrDict(_) => "str-dict",
            ColumnView::StrArena(_) => "str-arena",
            ColumnView::Any(_) => "any",
        }
    }

    /// Stores a value at a position, appending NULLs first if the column is shorter.
    pub fn set(&mut self, pos: usize, value: Value) {
        let len = self.len();
        if pos > len {
            self.pad_nulls(pos);
        }
        if value.is_null() {
            self.set_null(pos);
            return;
        }
        if !self.store(pos, value.as_ref()) {
            self.make_any();
            let stored = self.store_any(pos, value);
            debug_assert!(stored);
        }
        self.mark_not_null(pos);
    }

    /// Stores a borrowed value at a position (copying it).
    pub fn set_ref(&mut self, pos: usize, value: ValueRef<'_>) {
        match value {
            ValueRef::Null => {
                if pos > self.len() {
                    self.pad_nulls(pos);
                }
                self.set_null(pos)
            }
            ValueRef::Int(_) | ValueRef::Float(_) | ValueRef::Bool(_) | ValueRef::Str(_)
                if !matches!(self.data, ColumnData::Any(_)) =>
            {
                if pos > self.len() {
                    self.pad_nulls(pos);
                }
                if !self.store(pos, value) {
                    self.make_any();
                    self.store_any(pos, value.to_owned());
                }
                self.mark_not_null(pos);
            }
            _ => self.set(pos, value.to_owned()),
        }
    }

    /// Makes a position NULL (appending it if `pos == len`).
    pub fn set_null(&mut self, pos: usize) {
        let len = self.len();
        if pos >= len {
            self.pad_nulls(pos + 1);
            return;
        }
        if let ColumnData::Any(v) = &mut self.data {
            v[pos] = Value::Null;
        }
        if self.nulls.len() <= pos {
            self.nulls.grow(len);
        }
        if !self.nulls.put(pos) {
            self.n_nulls += 1;
        }
    }

    #[inline]
    fn mark_not_null(&mut self, pos: usize) {
        if pos < self.nulls.len() && self.nulls.contains(pos) {
            self.nulls.set(pos, false);
            self.n_nulls -= 1;
        }
    }

    /// Appends NULL positions until the column has `new_len` positions.
    fn pad_nulls(&mut self, new_len: usize) {
        let len = self.len();
        if new_len <= len {
            return;
        }
        let extra = new_len - len;
        match &mut self.data {
            ColumnData::Empty(n) => *n = new_len,
            ColumnData::Int(v) => v.resize(new_len, 0),
            ColumnData::Float(v) => v.resize(new_len, 0.0),
            ColumnData::Bool(v) => v.resize(new_len, false),
            ColumnData::Str(StrColumn::Dict(d)) => {
                let c = d.code_of("").or_else(|| d.lookup.get("").copied());
                match c {
                    Some(c) => d.codes.resize(new_len, c),
                    None => {
                        let all: Vec<usize> = (0..d.codes.len()).collect();
                        let mut a = StrColumn::Dict(std::mem::take(d)).to_arena(&all);
                        a.spans.resize(new_len, (0, 0));
                        self.data = ColumnData::Str(StrColumn::Arena(a));
                    }
                }
            }
            ColumnData::Str(StrColumn::Arena(a)) => a.spans.resize(new_len, (0, 0)),
            ColumnData::Any(v) => v.resize(new_len, Value::Null),
        }
        self.nulls.grow(new_len);
        self.nulls.insert_range(len..new_len);
        self.n_nulls += extra;
    }

    /// Stores a non-null value in typed storage; `false` if the type does not fit.
    /// `pos <= len`.
    fn store(&mut self, pos: usize, value: ValueRef<'_>) -> bool {
        if let ColumnData::Empty(n) = self.data {
            self.data = match value {
                ValueRef::Int(_) => ColumnData::Int(vec![0; n]),
                ValueRef::Float(_) => ColumnData::Float(vec![0.0; n]),
                ValueRef::Bool(_) => ColumnData::Bool(vec![false; n]),
                ValueRef::Str(_) => {
                    let mut d = DictStr::default();
                    let c = d.code_of("").expect("empty dictionary has room");
                    d.codes = vec![c; n];
                    ColumnData::Str(StrColumn::Dict(d))
                }
                _ => ColumnData::Any(vec![Value::Null; n]),
            };
        }
        fn put<T>(v: &mut Vec<T>, pos: usize, x: T) {
            if pos == v.len() {
                v.push(x)
            } else {
                v[pos] = x
            }
        }
        match (&mut self.data, value) {
            (ColumnData::Int(v), ValueRef::Int(x)) => put(v, pos, x),
            (ColumnData::Float(v), ValueRef::Float(x)) => put(v, pos, x),
            (ColumnData::Bool(v), ValueRef::Bool(x)) => put(v, pos, x),
            (ColumnData::Str(s), ValueRef::Str(x)) => return s.set(pos, x),
            (ColumnData::Any(v), x) => put(v, pos, x.to_owned()),
            _ => return false,
        }
        true
    }

    fn store_any(&mut self, pos: usize, value: Value) -> bool {
        match &mut self.data {
            ColumnData::Any(v) => {
                if pos == v.len() {
                    v.push(value)
                } else {
                    v[pos] = value
                }
                true
            }
            _ => false,
        }
    }

    /// Converts typed storage into the generic fallback.
    fn make_any(&mut self) {
        if matches!(self.data, ColumnData::Any(_)) {
            return;
        }
        let values: Vec<Value> = (0..self.len()).map(|p| self.get(p).to_owned()).collect();
        self.data = ColumnData::Any(values);
    }

    /// A new column holding the given positions, in that order.
    pub fn gather(&self, positions: &[usize]) -> Column {
        let len = self.len();
        let inside: Vec<usize> = positions.iter().copied().take_while(|&p| p < len).collect();
        let data = match &self.data {
            ColumnData::Empty(_) => ColumnData::Empty(inside.len()),
            ColumnData::Int(v) => ColumnData::Int(inside.iter().map(|&p| v[p]).collect()),
            ColumnData::Float(v) => ColumnData::Float(inside.iter().map(|&p| v[p]).collect()),
            ColumnData::Bool(v) => ColumnData::Bool(inside.iter().map(|&p| v[p]).collect()),
            ColumnData::Str(s) => ColumnData::Str(s.gather(&inside)),
            ColumnData::Any(v) => ColumnData::Any(inside.iter().map(|&p| v[p].clone()).collect()),
        };
        let mut nulls = FixedBitSet::with_capacity(inside.len());
        let mut n_nulls = 0;
        for (i, &p) in inside.iter().enumerate() {
            if self.nulls.contains(p) {
                nulls.insert(i);
                n_nulls += 1;
            }
        }
        debug_assert!(
            positions.len() == inside.len() || positions[inside.len()..].iter().all(|&p| p >= len)
        );
        Column {
            data,
            nulls,
            n_nulls,
        }
    }

    /// Approximate heap bytes used.
    pub fn heap_bytes(&self) -> usize {
        let data = match &self.data {
            ColumnData::Empty(_) => 0,
            ColumnData::Int(v) => v.capacity() * 8,
            ColumnData::Float(v) => v.capacity() * 8,
            ColumnData::Bool(v) => v.capacity(),
            ColumnData::Str(StrColumn::Dict(d)) => {
                d.codes.capacity() * 4 + d.dict.iter().map(|s| 2 * (s.len() + 16)).sum::<usize>()
            }
            ColumnData::Str(StrColumn::Arena(a)) => a.spans.capacity() * 8 + a.heap.capacity(),
            ColumnData::Any(v) => v.capacity() * std::mem::size_of::<Value>(),
        };
        data + self.nulls.len() / 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_until_a_foreign_value_then_generic() {
        let mut c = Column::default();
        c.set(0, Value::Int(5));
        c.set(2, Value::Int(7));
        assert_eq!(c.storage_name(), "int");
        assert!(c.is_null(1) && c.is_null(99));
        c.set(1, Value::Bool(true));
        assert_eq!(c.storage_name(), "any");
        assert_eq!(c.get(0).to_owned(), Value::Int(5));
        assert_eq!(c.get(1).to_owned(), Value::Bool(true));
        assert_eq!(c.get(2).to_owned(), Value::Int(7));
        c.set(2, Value::Null);
        assert!(c.is_null(2));
    }

    #[test]
    fn strings_move_from_dictionary_to_arena() {
        let mut c = Column::default();
        for i in 0..10 {
            c.set(i, Value::str(format!("city{}", i % 3)));
        }
        assert_eq!(c.storage_name(), "str-dict");
        for i in 10..DICT_LIMIT + 20 {
            c.set(i, Value::str(format!("name{i}")));
        }
        assert_eq!(c.storage_name(), "str-arena");
        assert_eq!(c.get(4).to_owned(), Value::str("city1"));
        c.set(4, Value::str("ünïcode"));
        assert_eq!(c.get(4).to_owned(), Value::str("ünïcode"));
        assert_eq!(
            c.get(DICT_LIMIT + 19).to_owned(),
            Value::str(format!("name{}", DICT_LIMIT + 19))
        );
        let g = c.gather(&[4, 0, DICT_LIMIT + 19]);
        assert_eq!(g.get(0).to_owned(), Value::str("ünïcode"));
        assert_eq!(g.get(1).to_owned(), Value::str("city0"));
        assert_eq!(g.len(), 3);
    }

    #[test]
    fn late_columns_pad_with_nulls() {
        let mut c = Column::default();
        c.set(3, Value::str("x"));
        assert_eq!(c.len(), 4);
        assert!(c.is_null(0) && c.is_null(2) && !c.is_null(3));
        assert_eq!(c.nulls().map(|n| n.count_ones(..)), Some(3));
        c.set_ref(5, ValueRef::Str("y"));
        assert!(c.is_null(4));
        assert_eq!(c.get(5).to_owned(), Value::str("y"));
    }
}
