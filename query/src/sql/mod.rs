//! The SQL front end: text → [`Statement`]s over the engine's own plan types.
//!
//! Statements are parsed with `sqlparser` (generic dialect); its AST never leaves
//! `translate.rs`. Expressions become the same [`Expr`] tree the Rust builder makes,
//! so a SQL query and the equivalent builder query run one planner and executor.
//! SQL keeps its three-valued logic (`NOT (x = 5)` is unknown for a NULL `x`).
//!
//! Placeholders (`?`, `$1`, `:name`) are bound from [`Params`] while translating.

mod translate;

use std::fmt;

use dictdb_engine::{Name, Schema, Value};

use crate::aggregate::Aggregation;
use crate::expr::Expr;
use crate::plan::Query;

/// The prefix of the columns through which ON CONFLICT … DO UPDATE reads the
/// proposed row: `excluded.score` becomes the column `excluded.score`.
pub const EXCLUDED: &str = "excluded.";

/// A parsed, translated statement.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Statement {
    /// `SELECT … FROM table …`.
    Select {
        /// The table read.
        table: String,
        /// The query (filter, order, paging, projection).
        query: Query,
        /// Result column names, in order (`None`: whole records, `SELECT *`).
        columns: Option<Vec<Name>>,
        /// An aggregate query: this aggregation (WHERE, GROUP BY keys and every
        /// aggregate call) runs first, and `query` (HAVING, ORDER BY, paging,
        /// select items) runs over its result rows, whose columns are named by
        /// the text of each key and aggregate (`city`, `COUNT(*)`).
        aggregate: Option<Box<Aggregation>>,
    },
    /// `EXPLAIN <statement>`.
    Explain(Box<Statement>),
    /// `INSERT INTO table [(columns)] VALUES (…), …`.
    Insert {
        /// The table written.
        table: String,
        /// The column list (`None`: the table's declared columns, in order).
        columns: Option<Vec<Name>>,
        /// The rows, as constant expressions.
        rows: Vec<Vec<Expr>>,
        /// `ON CONFLICT …`: what to do with a row whose key is taken.
        on_conflict: Option<Conflict>,
        /// `RETURNING …`.
        returning: Option<Returning>,
    },
    /// `UPDATE table SET c = expr, … [WHERE p]`.
    Update {
        /// The table written.
        table: String,
        /// Assignments; right-hand sides see the old row.
        assignments: Vec<(Name, Expr)>,
        /// The condition (`None`: every row).
        filter: Option<Expr>,
        /// `RETURNING …` (over the rows as updated).
        returning: Option<Returning>,
    },
    /// `DELETE FROM table [WHERE p]`.
    Delete {
        /// The table written.
        table: String,
        /// The condition (`None`: every row).
        filter: Option<Expr>,
        /// `RETURNING …` (over the rows as they were).
        returning: Option<Returning>,
    },
    /// `CREATE TABLE [IF NOT EXISTS] name (…)`.
    CreateTable {
        /// The table.
        name: String,
        /// Do nothing if it exists.
        if_not_exists: bool,
        /// The primary-key column (an implicit `id INTEGER` when none is declared).
        primary_key: String,
        /// The declared columns.
        schema: Schema,
    },
    /// `DROP TABLE [IF EXISTS] name, …`.
    DropTable {
        /// The tables.
        names: Vec<String>,
        /// No error for a missing table.
        if_exists: bool,
    },
}

/// `INSERT … ON CONFLICT [(column)] DO …`.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// The conflict target column, if named (it must be the primary key).
    pub target: Option<Name>,
    /// The action.
    pub action: ConflictAction,
}

/// What `ON CONFLICT` does with a proposed row whose key is taken.
#[derive(Clone, Debug, PartialEq)]
pub enum ConflictAction {
    /// `DO NOTHING`: the row is skipped.
    Nothing,
    /// `DO UPDATE SET c = expr, … [WHERE p]`: the existing row is updated; bare
    /// columns read it, `excluded.c` (the column [`EXCLUDED`]`c`) reads the
    /// proposed row.
    Update {
        /// Assignments.
        assignments: Vec<(Name, Expr)>,
        /// Rows where this is not true are left alone.
        filter: Option<Expr>,
    },
}

/// `RETURNING` items: `None` for `*` (every column), else named expressions.
pub type Returning = Option<Vec<(Name, Expr)>>;

/// Values for placeholders: positional (`?` in order, `$1`, …) or named (`:name`).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Params {
    /// No parameters.
    #[default]
    None,
    /// `?` (in order of appearance) and `$n` (1-based).
    Positional(Vec<Value>),
    /// `:name`.
    Named(Vec<(String, Value)>),
}

impl From<()> for Params {
    fn from(_: ()) -> Self {
        Params::None
    }
}

impl From<Vec<Value>> for Params {
    fn from(v: Vec<Value>) -> Self {
        Params::Positional(v)
    }
}

impl From<&[Value]> for Params {
    fn from(v: &[Value]) -> Self {
        Params::Positional(v.to_vec())
    }
}

impl<const N: usize> From<[Value; N]> for Params {
    fn from(v: [Value; N]) -> Self {
        Params::Positional(v.to_vec())
    }
}

/// Where in the SQL text something is (1-based line and column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

/// An error in SQL text: where it is and what is wrong. `Display` shows the
/// offending line with a caret under the position.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The text does not parse.
    #[error("syntax error: {message}{}", caret(.snippet, .position))]
    Syntax {
        /// What the parser expected or found.
        message: String,
        /// Where (when the parser said).
        position: Option<Position>,
        /// The line of text at fault.
        snippet: String,
    },
    /// Valid SQL that dictdb does not support (joins, subqueries, …).
    #[error("{feature} is not supported{}", caret(.snippet, .position))]
    Unsupported {
        /// The feature, named.
        feature: String,
        /// Where it starts.
        position: Option<Position>,
        /// The line of text at fault.
        snippet: String,
    },
    /// A value or parameter that cannot be used where it stands.
    #[error("{message}{}", caret(.snippet, .position))]
    Invalid {
        /// What is wrong.
        message: String,
        /// Where.
        position: Option<Position>,
        /// The line of text at fault.
        snippet: String,
    },
}

/// ` at line L, column C` and the line with a caret under the column.
fn caret(snippet: &str, position: &Option<Position>) -> String {
    match position {
        None => String::new(),
        Some(p) => {
            let pad = " ".repeat(p.column.saturating_sub(1) as usize);
            format!(
                " at line {}, column {}\n  {snippet}\n  {pad}^",
                p.line, p.column
            )
        }
    }
}

impl SqlError {
    /// Where the error is, when known.
    pub fn position(&self) -> Option<Position> {
        match self {
            SqlError::Syntax { position, .. }
            | SqlError::Unsupported { position, .. }
            | SqlError::Invalid { position, .. } => *position,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Parses and translates SQL text (one or more statements separated by `;`),
/// binding placeholders from `params`.
pub fn parse(sql: &str, params: &Params) -> Result<Vec<Statement>, SqlError> {
    translate::parse(sql, params)
}
