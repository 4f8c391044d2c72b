//! Indexes: the primary-key index and secondary hash / sorted indexes.
//!
//! Architecture invariant: every live row is in the primary-key index once and in
//! every secondary index exactly once — under its value, or in the index's `absent`
//! list when the record lacks the field. Postings are row positions in ascending
//! order, which is insertion order, so a lookup yields rows already in the order an
//! unordered result must have.
//!
//! Index keys use index equality ([`crate::value::index_eq`]: Python equality, NaN
//! equal to itself) and the total order; any value can be indexed, so maintaining an
//! index never fails.

use std::collections::BTreeMap;
use std::ops::Bound;

use hashbrown::HashMap;

use crate::column::{Column, ColumnView};
use crate::value::{HashKey, HashKeyRef, SortKey, Value, ValueRef};

/// Row positions in ascending order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Postings(Vec<u32>);

impl Postings {
    /// The positions, ascending.
    #[inline]
    pub fn as_slice(&self) -> &[u32] {
        &self.0
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a position (appending is the common case).
    #[inline]
    pub fn insert(&mut self, pos: u32) {
        match self.0.last() {
            Some(&last) if last >= pos => {
                if let Err(i) = self.0.binary_search(&pos) {
                    self.0.insert(i, pos);
                }
            }
            _ => self.0.push(pos),
        }
    }

    /// Removes a position if present.
    #[inline]
    pub fn remove(&mut self, pos: u32) {
        if let Ok(i) = self.0.binary_search(&pos) {
            self.0.remove(i);
        }
    }

    /// Removes several positions (ascending): one merge pass, not one shift each.
    pub fn remove_sorted(&mut self, gone: &[u32]) {
        if gone.len() <= 2 {
            gone.iter().for_each(|&p| self.remove(p));
            return;
        }
        let mut j = 0;
        self.0.retain(|&p| {
            while j < gone.len() && gone[j] < p {
                j += 1;
            }
            !(j < gone.len() && gone[j] == p)
        });
    }

    /// Adds several positions (ascending, none present yet) in one merge pass.
    pub fn insert_sorted(&mut self, add: &[u32]) {
        if add.len() <= 2 {
            add.iter().for_each(|&p| self.insert(p));
            return;
        }
        let old = std::mem::take(&mut self.0);
        let mut out = Vec::with_capacity(old.len() + add.len());
        let (mut i, mut j) = (0, 0);
        while i < old.len() && j < add.len() {
            if old[i] <= add[j] {
                out.push(old[i]);
                i += 1;
            } else {
                out.push(add[j]);
                j += 1;
            }
        }
        out.extend_from_slice(&old[i..]);
        out.extend_from_slice(&add[j..]);
        out.dedup();
        self.0 = out;
    }

    /// Rewrites positions through a monotone map (`u32::MAX` = gone).
    fn remap(&mut self, map: &[u32]) {
        self.0.retain_mut(|p| {
            *p = map[*p as usize];
            *p != u32::MAX
        });
    }
}

/// The primary-key index: key → row position.
///
/// Keys equal to an integer (`3`, `3.0`, `True`) take the integer path: a
/// direct-mapped array while the integer keys are non-negative and dense (auto
/// keys, ids 1..N: one load per lookup, no hashing), a hash map for the others.
/// Every other key lives in a map of [`HashKey`]s.
#[derive(Clone, Debug, Default)]
pub struct PkIndex {
    /// `dense[k]` = position of integer key `k`, or [`NONE`].
    dense: Vec<u32>,
    n_dense: usize,
    ints: HashMap<i64, u32>,
    others: HashMap<HashKey, u32>,
}

/// An empty slot of the dense array.
const NONE: u32 = u32::MAX;

impl PkIndex {
    /// The position of a key.
    #[inline]
    pub fn get(&self, key: ValueRef<'_>) -> Option<u32> {
        match key.as_int_key() {
            Some(i) => self.get_int(i),
            None if self.others.is_empty() => None,
            None => self.others.get(&HashKeyRef(key)).copied(),
        }
    }

    /// The position of an integer key.
    #[inline]
    pub fn get_int(&self, key: i64) -> Option<u32> {
        if let Some(&p) = usize::try_from(key).ok().and_then(|k| self.dense.get(k))
            && p != NONE
        {
            return Some(p);
        }
        // An empty dense slot does not mean absent: a key filed in `ints` while it
        // was beyond the array stays there when the array later grows past it.
        if self.ints.is_empty() {
            return None;
        }
        self.ints.get(&key).copied()
    }

    /// True if the key is present.
    #[inline]
    pub fn contains(&self, key: ValueRef<'_>) -> bool {
        self.get(key).is_some()
    }

    /// Sets the position of a key (the key must not be present).
    pub fn insert(&mut self, key: ValueRef<'_>, pos: u32) {
        match key.as_int_key() {
            Some(i) => self.insert_int(i, pos),
            None => {
                self.others.insert(HashKey(key.to_owned()), pos);
            }
        }
    }

    fn insert_int(&mut self, key: i64, pos: u32) {
        debug_assert!(pos != NONE);
        if let Ok(k) = usize::try_from(key) {
            // Grow the array while it stays at most about twice the keys it holds.
            if k >= self.dense.len() && k < 2 * self.n_dense + 1024 {
                let new_len = (k + 1).max(self.dense.len() * 3 / 2);
                self.dense.resize(new_len, NONE);
            }
            if let Some(slot) = self.dense.get_mut(k) {
                debug_assert!(*slot == NONE);
                *slot = pos;
                self.n_dense += 1;
                return;
            }
        }
        self.ints.insert(key, pos);
    }

    /// Removes a key, returning its position.
    pub fn remove(&mut self, key: ValueRef<'_>) -> Option<u32> {
        match key.as_int_key() {
            Some(i) => {
                if let Some(slot) = usize::try_from(i).ok().and_then(|k| self.dense.get_mut(k))
                    && *slot != NONE
                {
                    self.n_dense -= 1;
                    return Some(std::mem::replace(slot, NONE));
                }
                self.ints.remove(&i)
            }
            None => self.others.remove(&HashKeyRef(key)),
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.n_dense + self.ints.len() + self.others.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reserves room for `n` more keys.
    pub fn reserve(&mut self, n: usize) {
        self.dense.reserve(n);
    }

    fn remap(&mut self, map: &[u32]) {
        for p in self.dense.iter_mut().filter(|p| **p != NONE) {
            *p = map[*p as usize];
        }
        for p in self.ints.values_mut() {
            *p = map[*p as usize];
        }
        for p in self.others.values_mut() {
            *p = map[*p as usize];
        }
    }

    fn heap_bytes(&self) -> usize {
        self.dense.capacity() * 4
            + self.ints.capacity() * 13
            + self.others.capacity() * (std::mem::size_of::<Value>() + 5)
    }
}

/// The kind of a secondary index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IndexKind {
    /// Equality lookups (`=`, `IN`).
    Hash,
    /// Equality, ranges, prefix LIKE and ordered scans (a B-tree over the total order).
    Sorted,
}

impl IndexKind {
    /// `hash` or `sorted`.
    pub fn name(self) -> &'static str {
        match self {
            IndexKind::Hash => "hash",
            IndexKind::Sorted => "sorted",
        }
    }
}

impl std::fmt::Display for IndexKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A secondary index over one field.
#[derive(Clone, Debug)]
pub struct Index {
    kind: IndexKind,
    map: IndexMap,
    /// Live rows that lack the field.
    absent: Postings,
}

#[derive(Clone, Debug)]
enum IndexMap {
    Hash(HashMap<HashKey, Postings>),
    Sorted(BTreeMap<SortKey, Postings>),
}

impl Index {
    /// An empty index.
    pub fn new(kind: IndexKind) -> Index {
        Index {
            kind,
            map: match kind {
                IndexKind::Hash => IndexMap::Hash(HashMap::new()),
                IndexKind::Sorted => IndexMap::Sorted(BTreeMap::new()),
            },
            absent: Postings::default(),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> IndexKind {
        self.kind
    }

    /// Adds a row: `value` is `None` when the record lacks the field.
    pub fn insert(&mut self, pos: u32, value: Option<ValueRef<'_>>) {
        let Some(value) = value else {
            self.absent.insert(pos);
            return;
        };
        match &mut self.map {
            IndexMap::Hash(m) => match m.get_mut(&HashKeyRef(value)) {
                Some(p) => p.insert(pos),
                None => {
                    m.insert(HashKey(value.to_owned()), Postings(vec![pos]));
                }
            },
            IndexMap::Sorted(m) => m.entry(SortKey(value.to_owned())).or_default().insert(pos),
        }
    }

    /// Adds rows whose positions are all greater than any position in the index
    /// (a bulk append). A sorted index groups equal values first, so the B-tree
    /// sees one operation per distinct value.
    pub fn insert_appended<'a>(&mut self, rows: impl Iterator<Item = (u32, Option<ValueRef<'a>>)>) {
        let IndexMap::Sorted(m) = &mut self.map else {
            for (pos, v) in rows {
                self.insert(pos, v);
            }
            return;
        };
        let mut groups: HashMap<HashKeyRef<'a>, (ValueRef<'a>, Vec<u32>)> = HashMap::new();
        let mut order: Vec<HashKeyRef<'a>> = Vec::new();
        for (pos, v) in rows {
            let Some(v) = v else {
                self.absent.insert(pos);
                continue;
            };
            // Grouping is by Python equality, filing by the total order: they
            // differ only for values holding maps, which are filed one by one.
            if crate::value::contains_map(v) {
                m.entry(SortKey(v.to_owned())).or_default().insert(pos);
                continue;
            }
            let k = HashKeyRef(v);
            match groups.get_mut(&k) {
                Some((_, ps)) => ps.push(pos),
                None => {
                    order.push(k);
                    groups.insert(k, (v, vec![pos]));
                }
            }
        }
        for k in order {
            let (v, ps) = groups.remove(&k).expect("grouped above");
            let postings = m.entry(SortKey(v.to_owned())).or_default();
            for p in ps {
                postings.insert(p);
            }
        }
    }

    /// An index over `column` for the rows given as `(position, has the field)`
    /// in ascending position order: the same index as inserting them one by one.
    /// Typed columns (ints, booleans, dictionary text) are grouped by their
    /// stored representation first, so each distinct value costs one map
    /// operation and each row a vector push.
    pub fn build(
        kind: IndexKind,
        column: &Column,
        rows: impl Iterator<Item = (u32, bool)>,
    ) -> Index {
        let mut ix = Index::new(kind);
        // Groups of positions holding one stored value (`None`: NULL).
        fn file<'a, K: Copy + Eq + std::hash::Hash>(
            ix: &mut Index,
            column: &'a Column,
            rows: impl Iterator<Item = (u32, bool)>,
            key: impl Fn(usize) -> K,
            value: impl Fn(K) -> ValueRef<'a>,
        ) {
            let mut groups: HashMap<K, Vec<u32>> = HashMap::new();
            let mut nulls: Vec<u32> = Vec::new();
            for (p, has) in rows {
                if !has {
                    ix.absent.0.push(p);
                } else if column.is_null(p as usize) {
                    nulls.push(p);
                } else {
                    groups.entry(key(p as usize)).or_default().push(p);
                }
            }
            if !nulls.is_empty() {
                ix.put(ValueRef::Null, nulls);
            }
            for (k, ps) in groups {
                ix.put(value(k), ps);
            }
        }
        match column.view() {
            ColumnView::Int(v) => file(&mut ix, column, rows, |p| v[p], ValueRef::Int),
            ColumnView::Bool(v) => file(&mut ix, column, rows, |p| v[p], ValueRef::Bool),
            ColumnView::StrDict(d) => {
                let (codes, dict) = (d.codes(), d.dict());
                file(
                    &mut ix,
                    column,
                    rows,
                    |p| codes[p],
                    |c| ValueRef::Str(&dict[c as usize]),
                )
            }
            _ => {
                for (p, has) in rows {
                    ix.insert(p, has.then(|| column.get(p as usize)));
                }
            }
        }
        ix
    }

    /// Files ascending positions that all hold `value` (a bucket built at once).
    fn put(&mut self, value: ValueRef<'_>, positions: Vec<u32>) {
        let bucket = match &mut self.map {
            IndexMap::Hash(m) => match m.get_mut(&HashKeyRef(value)) {
                Some(p) => p,
                None => {
                    m.insert(HashKey(value.to_owned()), Postings(positions));
                    return;
                }
            },
            IndexMap::Sorted(m) => match m.entry(SortKey(value.to_owned())) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(Postings(positions));
                    return;
                }
            },
        };
        bucket.insert_sorted(&positions);
    }

    /// Removes a row that was added with `value`. An emptied bucket disappears.
    pub fn remove(&mut self, pos: u32, value: Option<ValueRef<'_>>) {
        let Some(value) = value else {
            self.absent.remove(pos);
            return;
        };
        match &mut self.map {
            IndexMap::Hash(m) => {
                if let Some(p) = m.get_mut(&HashKeyRef(value)) {
                    p.remove(pos);
                    if p.is_empty() {
                        m.remove(&HashKeyRef(value));
                    }
                }
            }
            IndexMap::Sorted(m) => {
                let key = SortKey(value.to_owned());
                if let Some(p) = m.get_mut(&key) {
                    p.remove(pos);
                    if p.is_empty() {
                        m.remove(&key);
                    }
                }
            }
        }
    }

    /// Adds many rows (ascending positions) that all hold `value`.
    pub fn insert_all(&mut self, positions: &[u32], value: ValueRef<'_>) {
        let bucket = match &mut self.map {
            IndexMap::Hash(m) => {
                if !m.contains_key(&HashKeyRef(value)) {
                    m.insert(HashKey(value.to_owned()), Postings::default());
                }
                m.get_mut(&HashKeyRef(value)).expect("inserted above")
            }
            IndexMap::Sorted(m) => m.entry(SortKey(value.to_owned())).or_default(),
        };
        bucket.insert_sorted(positions);
    }

    /// Removes many rows, each with the value it was added with (`None`: lacking
    /// the field). Rows are grouped by bucket so each bucket is rewritten once.
    pub fn remove_many<'a>(&mut self, rows: impl Iterator<Item = (u32, Option<ValueRef<'a>>)>) {
        let mut groups: HashMap<HashKeyRef<'a>, Vec<u32>> = HashMap::new();
        let mut absent: Vec<u32> = Vec::new();
        for (pos, v) in rows {
            match v {
                None => absent.push(pos),
                // A sorted index files values holding maps by the total order, which
                // Python-equality grouping would merge: those go one by one.
                Some(v) if self.kind == IndexKind::Sorted && crate::value::contains_map(v) => {
                    self.remove(pos, Some(v))
                }
                Some(v) => groups.entry(HashKeyRef(v)).or_default().push(pos),
            }
        }
        absent.sort_unstable();
        self.absent.remove_sorted(&absent);
        for (k, mut ps) in groups {
            ps.sort_unstable();
            match &mut self.map {
                IndexMap::Hash(m) => {
                    if let Some(p) = m.get_mut(&k) {
                        p.remove_sorted(&ps);
                        if p.is_empty() {
                            m.remove(&k);
                        }
                    }
                }
                IndexMap::Sorted(m) => {
                    let key = SortKey(k.0.to_owned());
                    if let Some(p) = m.get_mut(&key) {
                        p.remove_sorted(&ps);
                        if p.is_empty() {
                            m.remove(&key);
                        }
                    }
                }
            }
        }
    }

    /// Rows whose value is index-equal to `value` (candidates: Python equality may
    /// still reject NaN). A sorted index keys maps by stored key order, so a lookup
    /// of a value holding a map is answered by scanning the keys.
    pub fn lookup(&self, value: ValueRef<'_>) -> Vec<u32> {
        match &self.map {
            IndexMap::Hash(m) => m
                .get(&HashKeyRef(value))
                .map(|p| p.0.clone())
                .unwrap_or_default(),
            IndexMap::Sorted(m) => {
                if crate::value::contains_map(value) {
                    let mut out: Vec<u32> = m
                        .iter()
                        .filter(|(k, _)| crate::value::index_eq(k.0.as_ref(), value))
                        .flat_map(|(_, p)| p.0.iter().copied())
                        .collect();
                    out.sort_unstable();
                    return out;
                }
                m.get(&SortKey(value.to_owned()))
                    .map(|p| p.0.clone())
                    .unwrap_or_default()
            }
        }
    }

    /// The number of rows [`Index::lookup`] would return, without copying them.
    pub fn count(&self, value: ValueRef<'_>) -> usize {
        match &self.map {
            IndexMap::Hash(m) => m.get(&HashKeyRef(value)).map_or(0, Postings::len),
            IndexMap::Sorted(_) if crate::value::contains_map(value) => self.lookup(value).len(),
            IndexMap::Sorted(m) => m.get(&SortKey(value.to_owned())).map_or(0, Postings::len),
        }
    }

    /// Live rows lacking the field.
    pub fn absent(&self) -> &[u32] {
        self.absent.as_slice()
    }

    /// For a sorted index, the postings of keys within the bounds (total order), in
    /// key order; `None` for a hash index.
    pub fn range<'a>(
        &'a self,
        lower: Bound<&Value>,
        upper: Bound<&Value>,
    ) -> Option<impl DoubleEndedIterator<Item = (&'a Value, &'a [u32])> + 'a> {
        let IndexMap::Sorted(m) = &self.map else {
            return None;
        };
        let conv = |b: Bound<&Value>| match b {
            Bound::Included(v) => Bound::Included(SortKey(v.clone())),
            Bound::Excluded(v) => Bound::Excluded(SortKey(v.clone())),
            Bound::Unbounded => Bound::Unbounded,
        };
        let (mut lo, mut hi) = (conv(lower), conv(upper));
        if let (Bound::Included(l) | Bound::Excluded(l), Bound::Included(h) | Bound::Excluded(h)) =
            (&lo, &hi)
        {
            // BTreeMap::range panics on inverted or empty-excluded ranges.
            let empty = match l.cmp(h) {
                std::cmp::Ordering::Greater => true,
                std::cmp::Ordering::Equal => {
                    !matches!((&lo, &hi), (Bound::Included(_), Bound::Included(_)))
                }
                std::cmp::Ordering::Less => false,
            };
            if empty {
                lo = Bound::Included(SortKey(Value::Null));
                hi = Bound::Excluded(SortKey(Value::Null));
            }
        }
        Some(m.range((lo, hi)).map(|(k, p)| (&k.0, p.as_slice())))
    }

    /// Every key with its postings: in key order for a sorted index, in no
    /// particular order for a hash index. Rows lacking the field are not included.
    pub fn entries(&self) -> Box<dyn Iterator<Item = (&Value, &[u32])> + '_> {
        match &self.map {
            IndexMap::Hash(m) => Box::new(m.iter().map(|(k, p)| (&k.0, p.as_slice()))),
            IndexMap::Sorted(m) => Box::new(m.iter().map(|(k, p)| (&k.0, p.as_slice()))),
        }
    }

    /// Number of distinct keys.
    pub fn n_keys(&self) -> usize {
        match &self.map {
            IndexMap::Hash(m) => m.len(),
            IndexMap::Sorted(m) => m.len(),
        }
    }

    fn remap(&mut self, map: &[u32]) {
        self.absent.remap(map);
        match &mut self.map {
            IndexMap::Hash(m) => m.values_mut().for_each(|p| p.remap(map)),
            IndexMap::Sorted(m) => m.values_mut().for_each(|p| p.remap(map)),
        }
    }

    fn heap_bytes(&self) -> usize {
        let per_key = std::mem::size_of::<Value>() + 24 + 16;
        self.n_keys() * per_key
            + self.entries().map(|(_, p)| p.len() * 4).sum::<usize>()
            + self.absent.len() * 4
    }
}

/// Rewrites every position of the primary-key and secondary indexes through a
/// monotone map (`u32::MAX` = removed); used by compaction.
pub(crate) fn remap_all<'a>(
    pk: &mut PkIndex,
    indexes: impl Iterator<Item = &'a mut Index>,
    map: &[u32],
) {
    pk.remap(map);
    for ix in indexes {
        ix.remap(map);
    }
}

/// Approximate heap bytes of the indexes.
pub(crate) fn heap_bytes<'a>(pk: &PkIndex, indexes: impl Iterator<Item = &'a Index>) -> usize {
    pk.heap_bytes() + indexes.map(Index::heap_bytes).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pk_index_unifies_equal_numbers() {
        let mut pk = PkIndex::default();
        pk.insert(ValueRef::Int(1), 0);
        pk.insert(ValueRef::Str("a"), 1);
        pk.insert(ValueRef::Float(2.5), 2);
        assert_eq!(pk.get(ValueRef::Float(1.0)), Some(0));
        assert_eq!(pk.get(ValueRef::Bool(true)), Some(0));
        assert_eq!(pk.get(ValueRef::Str("a")), Some(1));
        assert_eq!(pk.get(ValueRef::Float(2.5)), Some(2));
        assert_eq!(pk.remove(ValueRef::Bool(true)), Some(0));
        assert_eq!(pk.len(), 2);
    }

    #[test]
    fn pk_index_dense_and_sparse_integer_keys() {
        let mut pk = PkIndex::default();
        for k in 1..=5000i64 {
            pk.insert(ValueRef::Int(k), k as u32);
        }
        pk.insert(ValueRef::Int(-7), 9000);
        pk.insert(ValueRef::Int(1 << 40), 9001);
        assert!(pk.dense.len() > 5000 && pk.ints.len() == 2);
        assert_eq!(pk.get(ValueRef::Int(4321)), Some(4321));
        assert_eq!(pk.get(ValueRef::Float(4321.0)), Some(4321));
        assert_eq!(pk.get(ValueRef::Int(-7)), Some(9000));
        assert_eq!(pk.get(ValueRef::Int(1 << 40)), Some(9001));
        assert_eq!(pk.get(ValueRef::Int(0)), None);
        assert_eq!(pk.get(ValueRef::Int(5001)), None);
        assert_eq!(pk.remove(ValueRef::Int(4321)), Some(4321));
        assert_eq!(pk.get(ValueRef::Int(4321)), None);
        assert_eq!(pk.remove(ValueRef::Int(4321)), None);
        assert_eq!(pk.len(), 5001);
        pk.insert(ValueRef::Int(4321), 1);
        assert_eq!(pk.get(ValueRef::Int(4321)), Some(1));
    }

    #[test]
    fn buckets_keep_positions_sorted_and_vanish_when_empty() {
        for kind in [IndexKind::Hash, IndexKind::Sorted] {
            let mut ix = Index::new(kind);
            ix.insert(5, Some(ValueRef::Int(30)));
            ix.insert(1, Some(ValueRef::Float(30.0)));
            ix.insert(3, Some(ValueRef::Int(30)));
            ix.insert(2, None);
            assert_eq!(ix.lookup(ValueRef::Bool(false)), Vec::<u32>::new());
            assert_eq!(ix.lookup(ValueRef::Int(30)), vec![1, 3, 5]);
            assert_eq!(ix.absent(), &[2]);
            for p in [1, 3, 5] {
                ix.remove(p, Some(ValueRef::Int(30)));
            }
            assert_eq!(ix.n_keys(), 0);
        }
    }

    #[test]
    fn sorted_ranges_follow_the_total_order() {
        let mut ix = Index::new(IndexKind::Sorted);
        let vals = [
            Value::Null,
            Value::Int(1),
            Value::str("a"),
            Value::Float(2.5),
            Value::Int(3),
        ];
        for (p, v) in vals.iter().enumerate() {
            ix.insert(p as u32, Some(v.as_ref()));
        }
        let got: Vec<&Value> = ix
            .range(
                Bound::Excluded(&Value::Int(1)),
                Bound::Included(&Value::Int(3)),
            )
            .unwrap()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(got, [&Value::Float(2.5), &Value::Int(3)]);
        assert_eq!(
            ix.range(
                Bound::Included(&Value::Int(3)),
                Bound::Excluded(&Value::Int(3))
            )
            .unwrap()
            .count(),
            0
        );
        assert_eq!(
            ix.range(
                Bound::Included(&Value::Int(9)),
                Bound::Included(&Value::Int(3))
            )
            .unwrap()
            .count(),
            0
        );
        assert!(
            Index::new(IndexKind::Hash)
                .range(Bound::Unbounded, Bound::Unbounded)
                .is_none()
        );
    }
}
