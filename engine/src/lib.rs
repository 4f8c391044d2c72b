//! The storage engine of dictdb-rs: values, records, schemas, columnar tables,
//! indexes, the catalog and change tracking. It knows nothing of SQL, files or
//! Python; queries are planned and run by `dictdb-query` over [`TableData`].
//!
//! ```
//! use dictdb_engine::{record, Catalog, IndexKind, Value};
//!
//! let catalog = Catalog::new();
//! let users = catalog.create_table("users", "id", None)?;
//! let id = users.insert(record! { "name" => "Ada", "age" => 36 })?;
//! assert_eq!(id, Value::Int(1));
//! users.create_index("age", IndexKind::Sorted);
//! let row = users.get(&Value::Int(1)).unwrap();
//! assert_eq!(row.get("name"), Some(&Value::str("Ada")));
//! # Ok::<(), dictdb_engine::Error>(())
//! ```

pub mod catalog;
pub mod column;
pub mod error;
pub mod host;
pub mod index;
pub mod record;
pub mod schema;
pub mod table;
pub mod value;

pub use catalog::{Catalog, IndexName, RegistryBaseline, RegistryChanges};
pub use error::{Error, KeyProblem, Result, SchemaError};
pub use host::{HostError, HostValidator, Validation, with_validator};
pub use index::{Index, IndexKind, PkIndex, Postings};
pub use record::Record;
pub use schema::{FieldType, Schema, SchemaField};
pub use table::{
    Changes, FieldId, OnConflict, RowLoader, RowRef, Table, TableData, TableSnapshot, UpsertAction,
};
pub use value::{
    DateTime, MAX_NESTING, Name, Value, ValueKind, ValueRef, nests_deeper_than, py_cmp, py_eq,
    total_cmp,
};
