//! Persistence for dictdb-rs: whole databases as JSON in DictDB's layout
//! ([`json`]), CSV import and export ([`csv`]), and every file written
//! atomically ([`atomic`]).
//!
//! The crate works on the engine's types (tables, records, values); the `dictdb`
//! crate puts it behind `Database::save` / `Database::load` and the shell.

pub mod atomic;
pub mod csv;
pub mod json;
pub mod manager;
pub mod store;

pub use atomic::write_atomic;
