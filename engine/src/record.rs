//! Records: ordered field → value maps that distinguish an absent field from NULL.

use crate::value::{Name, Value};

/// A record (a row as the user sees it): fields in order, each name once.
///
/// A field that is absent is simply not there; a NULL field is present with
/// [`Value::Null`]. Equality ignores field order, as a Python dict's does.
#[derive(Clone, Debug, Default)]
pub struct Record {
    fields: Vec<(Name, Value)>,
}

impl Record {
    /// An empty record.
    pub fn new() -> Self {
        Record { fields: Vec::new() }
    }

    /// An empty record with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Record {
            fields: Vec::with_capacity(n),
        }
    }

    /// Builder form of [`Record::set`].
    pub fn with(mut self, name: impl Into<Name>, value: impl Into<Value>) -> Self {
        self.set(name, value);
        self
    }

    /// The value of a field, `None` when absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v)
    }

    /// True if the field is present (NULL included).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets a field: a present field keeps its position, a new one is appended.
    /// Returns the previous value.
    pub fn set(&mut self, name: impl Into<Name>, value: impl Into<Value>) -> Option<Value> {
        let name = name.into();
        let value = value.into();
        match self.fields.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => Some(std::mem::replace(&mut slot.1, value)),
            None => {
                self.fields.push((name, value));
                None
            }
        }
    }

    /// Appends a field without looking for an existing one of that name; the
    /// caller guarantees `name` is not present (checked in debug builds).
    pub fn push_unique(&mut self, name: Name, value: Value) {
        debug_assert!(!self.contains(&name));
        self.fields.push((name, value));
    }

    /// Removes a field, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.fields.iter().position(|(n, _)| &**n == name)?;
        Some(self.fields.remove(i).1)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when the record has no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Name, &Value)> {
        self.fields.iter().map(|(n, v)| (n, v))
    }

    /// The field names in order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &Name> {
        self.fields.iter().map(|(n, _)| n)
    }

    /// The fields, consuming the record.
    pub fn into_fields(self) -> Vec<(Name, Value)> {
        self.fields
    }

    /// This record overlaid with `changes`: changed fields keep their position, new
    /// ones are appended (Python's `{**self, **changes}`).
    pub fn merged(&self, changes: &Record) -> Record {
        let mut out = self.clone();
        for (n, v) in changes.iter() {
            out.set(n.clone(), v.clone());
        }
        out
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(n, v)| other.get(n) == Some(v))
    }
}

impl<K: Into<Name>, V: Into<Value>> FromIterator<(K, V)> for Record {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut r = Record::new();
        for (k, v) in iter {
            r.set(k, v);
        }
        r
    }
}

impl<K: Into<Name>, V: Into<Value>, const N: usize> From<[(K, V); N]> for Record {
    fn from(fields: [(K, V); N]) -> Self {
        fields.into_iter().collect()
    }
}

impl std::fmt::Display for Record {
    /// Python dict style: `{'id': 1, 'name': 'x'}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (i, (n, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}: {v}", Value::Str(n.as_ref().into()))?;
        }
        f.write_str("}")
    }
}

/// Builds a [`Record`]: `record! { "id" => 1, "name" => "Ada" }`.
#[macro_export]
macro_rules! record {
    () => { $crate::Record::new() };
    ($($name:expr => $value:expr),+ $(,)?) => {{
        let mut r = $crate::Record::new();
        $( r.set($name, $value); )+
        r
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_keeps_position_and_equality_ignores_order() {
        let mut r = record! { "a" => 1, "b" => 2 };
        r.set("a", 3);
        r.set("c", Value::Null);
        let names: Vec<&str> = r.names().map(|n| &**n).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(r, record! { "c" => Value::Null, "b" => 2, "a" => 3 });
        assert_ne!(r, record! { "b" => 2, "a" => 3 });
        assert_eq!(r.to_string(), "{'a': 3, 'b': 2, 'c': None}");
    }
}
