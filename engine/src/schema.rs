//! Typed schemas and DictDB's validation rules.
//!
//! A schema lists fields with a type; validation follows DictDB (`isinstance`):
//! every non-nullable field is required and non-null, a `bool` passes an `int`
//! field, an `int` fails a `float` field, a `datetime` passes a `date` field, and a
//! field the schema does not define is an error. Nullable fields may hold NULL or be
//! absent.

use crate::error::SchemaError;
use crate::record::Record;
use crate::value::{Name, Value, ValueRef};

/// A declared field type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldType {
    /// `int`: integers (booleans pass, as in Python).
    Int,
    /// `float`: floats only (an int fails, as in Python).
    Float,
    /// `str`.
    Str,
    /// `bool`.
    Bool,
    /// `bytes`.
    Bytes,
    /// `list`.
    List,
    /// `dict`.
    Map,
    /// `date` (a datetime passes, as in Python).
    Date,
    /// `datetime`.
    DateTime,
    /// Any value (SQL's `JSON` columns).
    Any,
}

impl FieldType {
    /// The type's name as written in schemas and messages (`int`, `dict`, …).
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Int => "int",
            FieldType::Float => "float",
            FieldType::Str => "str",
            FieldType::Bool => "bool",
            FieldType::Bytes => "bytes",
            FieldType::List => "list",
            FieldType::Map => "dict",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Any => "any",
        }
    }

    /// The type named `name` (as [`FieldType::name`] writes it).
    pub fn from_name(name: &str) -> Option<FieldType> {
        Some(match name {
            "int" => FieldType::Int,
            "float" => FieldType::Float,
            "str" => FieldType::Str,
            "bool" => FieldType::Bool,
            "bytes" => FieldType::Bytes,
            "list" => FieldType::List,
            "dict" => FieldType::Map,
            "date" => FieldType::Date,
            "datetime" => FieldType::DateTime,
            "any" => FieldType::Any,
            _ => return None,
        })
    }

    /// Python's `isinstance(value, type)` for a non-null value.
    pub fn accepts(self, value: &Value) -> bool {
        self.accepts_ref(value.as_ref())
    }

    /// [`FieldType::accepts`] for a borrowed value.
    #[inline]
    pub fn accepts_ref(self, value: ValueRef<'_>) -> bool {
        matches!(
            (self, value),
            (FieldType::Any, _)
                | (FieldType::Int, ValueRef::Int(_) | ValueRef::Bool(_))
                | (FieldType::Float, ValueRef::Float(_))
                | (FieldType::Str, ValueRef::Str(_))
                | (FieldType::Bool, ValueRef::Bool(_))
                | (FieldType::Bytes, ValueRef::Bytes(_))
                | (FieldType::List, ValueRef::List(_))
                | (FieldType::Map, ValueRef::Map(_))
                | (FieldType::Date, ValueRef::Date(_) | ValueRef::DateTime(_))
                | (FieldType::DateTime, ValueRef::DateTime(_))
        )
    }
}

impl std::fmt::Display for FieldType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One declared field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaField {
    /// The field name.
    pub name: Name,
    /// Its type.
    pub ty: FieldType,
    /// Whether it may be NULL or absent.
    pub nullable: bool,
}

/// An ordered list of declared fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schema {
    fields: Vec<SchemaField>,
}

impl Schema {
    /// An empty schema (add fields with [`Schema::field`]).
    pub fn new() -> Self {
        Schema::default()
    }

    /// Adds (or redefines) a required, non-null field.
    pub fn field(self, name: impl Into<Name>, ty: FieldType) -> Self {
        self.with_field(name, ty, false)
    }

    /// Adds (or redefines) a nullable field.
    pub fn nullable(self, name: impl Into<Name>, ty: FieldType) -> Self {
        self.with_field(name, ty, true)
    }

    /// Adds (or redefines) a field.
    pub fn with_field(mut self, name: impl Into<Name>, ty: FieldType, nullable: bool) -> Self {
        let name = name.into();
        let field = SchemaField {
            name: name.clone(),
            ty,
            nullable,
        };
        match self.fields.iter_mut().find(|f| f.name == name) {
            Some(slot) => *slot = field,
            None => self.fields.push(field),
        }
        self
    }

    /// The declared fields in order.
    pub fn fields(&self) -> &[SchemaField] {
        &self.fields
    }

    /// The declaration of a field.
    pub fn get(&self, name: &str) -> Option<&SchemaField> {
        self.fields.iter().find(|f| &*f.name == name)
    }

    /// Checks a record against the schema, DictDB's checks in DictDB's order: each
    /// declared field (missing, then type), then each record field (undefined).
    pub fn validate(&self, table: &str, record: &Record) -> Result<(), SchemaError> {
        for f in &self.fields {
            match record.get(&f.name) {
                None if f.nullable => {}
                None => {
                    return Err(SchemaError::MissingField {
                        table: table.to_owned(),
                        field: f.name.to_string(),
                    });
                }
                Some(Value::Null) if f.nullable => {}
                Some(v) if f.ty.accepts(v) => {}
                Some(v) => {
                    return Err(SchemaError::WrongType {
                        table: table.to_owned(),
                        field: f.name.to_string(),
                        expected: f.ty.name().to_owned(),
                        actual: v.kind(),
                        value: Box::new(v.shortened()),
                    });
                }
            }
        }
        for name in record.names() {
            if self.get(name).is_none() {
                return Err(SchemaError::UndefinedField {
                    table: table.to_owned(),
                    field: name.to_string(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record;

    fn schema() -> Schema {
        Schema::new()
            .field("id", FieldType::Int)
            .field("score", FieldType::Float)
            .nullable("note", FieldType::Str)
            .field("day", FieldType::Date)
    }

    #[test]
    fn dictdb_isinstance_rules() {
        let s = schema();
        let day = Value::date(2024, 5, 1).unwrap();
        let ok = record! { "id" => true, "score" => 1.5, "day" => day.clone() };
        assert_eq!(s.validate("t", &ok), Ok(()));
        let int_in_float = record! { "id" => 1, "score" => 1, "day" => day.clone() };
        assert!(matches!(
            s.validate("t", &int_in_float),
            Err(SchemaError::WrongType { ref field, ref expected, actual: crate::ValueKind::Int, .. })
                if field == "score" && expected == "float"
        ));
        let null_required = record! { "id" => Value::Null, "score" => 1.0, "day" => day.clone() };
        assert!(matches!(
            s.validate("t", &null_required),
            Err(SchemaError::WrongType { .. })
        ));
        let null_nullable =
            record! { "id" => 1, "score" => 1.0, "note" => Value::Null, "day" => day.clone() };
        assert_eq!(s.validate("t", &null_nullable), Ok(()));
        let missing = record! { "id" => 1, "day" => day.clone() };
        assert!(
            matches!(s.validate("t", &missing), Err(SchemaError::MissingField { ref field, .. }) if field == "score")
        );
        let extra = record! { "id" => 1, "score" => 1.0, "day" => day, "x" => 1 };
        let err = s.validate("users", &extra).unwrap_err();
        assert!(matches!(err, SchemaError::UndefinedField { ref field, .. } if field == "x"));
        assert!(err.to_string().contains("'x'") && err.to_string().contains("'users'"));
    }
}
