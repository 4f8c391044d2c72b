//! The SQL front end: text → [`Statement`]s over the engine's own plan types.
//!
//! Statements are parsed with `sqlparser` (generic dialect); its AST never leaves
//! `translate.rs`. Expressions become the same [`Expr`] tree the Rust builder makes,
//! so a SQL query and the equivalent builder query run one planner and executor.
//! SQL keeps its three-valued logic (`NOT (x = 5)` is unknown for a NULL `x`).
//!
//! Placeholders (`?`, `$1`, `:name`) are bound from [`Params`] while translating.

mod bind;
mod translate;

use std::fmt;

use dictdb_engine::{IndexKind, Name, Schema, Value};

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
        /// `LIMIT ?`: the placeholder giving the limit (set into `query` when bound).
        limit_param: Option<usize>,
        /// `OFFSET ?`: the placeholder giving the offset.
        offset_param: Option<usize>,
        /// `SELECT * … ORDER BY 2`: (order key, 1-based column of `*`) pairs, set
        /// into the query by [`resolve_star_ordinals`] once the columns are known.
        star_ordinals: Vec<(usize, usize)>,
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
    /// `CREATE INDEX [IF NOT EXISTS] name ON table (column) [USING HASH | BTREE]`.
    CreateIndex {
        /// The index name.
        name: String,
        /// The table.
        table: String,
        /// The indexed column.
        column: String,
        /// Hash (equality) or sorted (B-tree, the default).
        kind: IndexKind,
        /// Do nothing if an index of that name exists.
        if_not_exists: bool,
    },
    /// `DROP INDEX [IF EXISTS] name, …`.
    DropIndex {
        /// The index names.
        names: Vec<String>,
        /// No error for a missing index.
        if_exists: bool,
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

impl From<Vec<(String, Value)>> for Params {
    fn from(v: Vec<(String, Value)>) -> Self {
        Params::Named(v)
    }
}

impl<const N: usize> From<[(&str, Value); N]> for Params {
    fn from(v: [(&str, Value); N]) -> Self {
        Params::Named(v.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
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
            // A long line shows a window around the column.
            const HALF: usize = 60;
            let chars: Vec<char> = snippet.chars().collect();
            let col = (p.column.saturating_sub(1) as usize).min(chars.len());
            let from = col.saturating_sub(HALF);
            let to = (col + HALF).min(chars.len());
            let mut shown: String = chars[from..to].iter().collect();
            let mut offset = col - from;
            if from > 0 {
                shown.insert(0, '…');
                offset += 1;
            }
            if to < chars.len() {
                shown.push('…');
            }
            let pad = " ".repeat(offset);
            format!(
                " at line {}, column {}\n  {shown}\n  {pad}^",
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
    prepare(sql)?.bind(params)
}

/// Parses and translates SQL text once, keeping its placeholders unbound, so it
/// can run many times with different values ([`Prepared::bind`]).
pub fn prepare(sql: &str) -> Result<Prepared, SqlError> {
    translate::prepare(sql)
}

/// A statement with its placeholders replaced by `values` (in index order, as
/// [`Prepared::values`] gives them).
pub fn bind(statement: &Statement, values: &[Value]) -> Result<Statement, SqlError> {
    bind::statement(statement, values)
}

/// The LIMIT and OFFSET a SELECT runs with for these placeholder values: the
/// query's own, or those its `LIMIT ?`/`OFFSET ?` placeholders give (an integer;
/// a negative limit is none, a negative offset 0).
pub fn paging(
    query: &Query,
    limit_param: Option<usize>,
    offset_param: Option<usize>,
    values: &[Value],
) -> Result<(Option<usize>, usize), SqlError> {
    bind::paging(query, limit_param, offset_param, values)
}

/// Sets the order keys that are ordinals over `SELECT *` to the columns `*`
/// stands for.
pub fn resolve_star_ordinals(
    query: &Query,
    ordinals: &[(usize, usize)],
    columns: &[Name],
) -> Result<Query, SqlError> {
    let mut q = query.clone();
    for &(key, n) in ordinals {
        let column = columns.get(n - 1).ok_or_else(|| SqlError::Invalid {
            message: format!("ORDER BY {n}: there are {} columns", columns.len()),
            position: None,
            snippet: String::new(),
        })?;
        q.order_by[key].expr = Expr::Column(column.clone());
    }
    Ok(q)
}

/// One placeholder of a prepared statement.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSlot {
    /// Its 0-based index ([`Expr::Param`]).
    pub index: usize,
    /// As written, for messages (`? number 2`, `$1`, `:name`).
    pub label: String,
    /// The name of a named placeholder.
    pub name: Option<String>,
    /// Where it first appears.
    pub position: Option<Position>,
}

/// Translated statements whose placeholders are still [`Expr::Param`]s.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    sql: String,
    statements: Vec<Statement>,
    slots: Vec<ParamSlot>,
}

impl Prepared {
    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The statements, placeholders unbound.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The placeholders, in order of first appearance.
    pub fn params(&self) -> &[ParamSlot] {
        &self.slots
    }

    /// The values for the placeholders, in index order.
    pub fn values(&self, params: &Params) -> Result<Vec<Value>, SqlError> {
        let n = self.slots.iter().map(|s| s.index + 1).max().unwrap_or(0);
        let mut out = vec![Value::Null; n];
        let named = self.slots.iter().any(|s| s.name.is_some());
        let missing = |slot: &ParamSlot| SqlError::Invalid {
            message: format!("no value for the parameter {}", slot.label),
            position: slot.position,
            snippet: slot
                .position
                .and_then(|p| self.sql.lines().nth(p.line.saturating_sub(1) as usize))
                .unwrap_or("")
                .to_string(),
        };
        let count_error = |given: usize| SqlError::Invalid {
            message: format!("{given} parameter values for {n} placeholders"),
            position: None,
            snippet: String::new(),
        };
        match params {
            Params::None if n == 0 => {}
            Params::None => return Err(missing(&self.slots[0])),
            Params::Positional(v) if named => {
                return Err(SqlError::Invalid {
                    message: format!(
                        "the statement has named placeholders; {} positional values given",
                        v.len()
                    ),
                    position: None,
                    snippet: String::new(),
                });
            }
            Params::Positional(v) => {
                for slot in &self.slots {
                    out[slot.index] = v.get(slot.index).cloned().ok_or_else(|| missing(slot))?;
                }
                if v.len() > n {
                    return Err(count_error(v.len()));
                }
            }
            Params::Named(v) => {
                for slot in &self.slots {
                    let name = slot.name.as_deref().ok_or_else(|| missing(slot))?;
                    out[slot.index] = v
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| missing(slot))?;
                }
            }
        }
        Ok(out)
    }

    /// The statements with every placeholder replaced by its value.
    pub fn bind(&self, params: &Params) -> Result<Vec<Statement>, SqlError> {
        let values = self.values(params)?;
        self.statements
            .iter()
            .map(|s| bind::statement(s, &values))
            .collect()
    }
}
