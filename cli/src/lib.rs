//! The `dictdb` shell: SQL over an in-memory dictdb-rs database, in the manner of
//! the sqlite3 and duckdb shells.
//!
//! The binary (`src/main.rs`) parses the command line and runs the prompt; this
//! library holds the parts worth testing on their own:
//!
//! - [`split`] cuts input into statements (ended by `;` outside quotes and
//!   comments) and dot-commands (a line starting with `.` between statements);
//! - [`render`] prints results as aligned tables, CSV, JSON or `name = value` lines;
//! - [`shell`] runs statements and dot-commands against a [`dictdb::Database`];
//! - [`demo`] loads the standard workload and runs example queries.
//!
//! ```
//! use dictdb::Database;
//! use dictdb_cli::{render, split};
//!
//! let db = Database::new();
//! for item in split::split("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
//!                            INSERT INTO t VALUES (1, 'Ada');") {
//!     let split::Item::Statement(s) = item else { unreachable!() };
//!     db.execute(&s.text, ())?;
//! }
//! let out = db.execute("SELECT * FROM t", ())?;
//! let dictdb::Output::Rows { columns, rows } = out else { unreachable!() };
//! assert_eq!(
//!     render::table(&columns, &rows),
//!     "+----+------+\n| id | name |\n+----+------+\n|  1 | Ada  |\n+----+------+\n(1 row)\n"
//! );
//! # Ok::<(), dictdb::Error>(())
//! ```

#![warn(missing_docs)]

pub mod demo;
pub mod render;
pub mod shell;
pub mod split;

pub use render::Mode;
pub use shell::{Flow, Shell, ShellError};
