//! Binding placeholder values into prepared statements.
//!
//! Every [`Expr::Param`] becomes a [`Expr::Literal`]; a LIKE whose pattern was a
//! placeholder becomes an ordinary [`Expr::Like`] with its pattern compiled once
//! (so the planner can use an index for a prefix pattern); `LIMIT ?`/`OFFSET ?`
//! are set into the query.

use dictdb_engine::Value;

use super::{Conflict, ConflictAction, Returning, SqlError, Statement};
use crate::expr::Expr;
use crate::plan::Query;

fn invalid(message: String) -> SqlError {
    SqlError::Invalid {
        message,
        position: None,
        snippet: String::new(),
    }
}

/// `e` with its placeholders bound.
pub(super) fn expr(e: &Expr, values: &[Value]) -> Result<Expr, SqlError> {
    Ok(e.bind_params(values))
}

fn opt(e: &Option<Expr>, values: &[Value]) -> Result<Option<Expr>, SqlError> {
    e.as_ref().map(|e| expr(e, values)).transpose()
}

fn named(
    items: &[(dictdb_engine::Name, Expr)],
    values: &[Value],
) -> Result<Vec<(dictdb_engine::Name, Expr)>, SqlError> {
    items
        .iter()
        .map(|(n, e)| Ok((n.clone(), expr(e, values)?)))
        .collect()
}

fn returning(r: &Option<Returning>, values: &[Value]) -> Result<Option<Returning>, SqlError> {
    Ok(match r {
        None => None,
        Some(None) => Some(None),
        Some(Some(items)) => Some(Some(named(items, values)?)),
    })
}

fn int(v: &Value, clause: &str) -> Result<i64, SqlError> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(invalid(format!("{clause} takes an integer, not {other}"))),
    }
}

/// The LIMIT and OFFSET of a query whose `LIMIT ?`/`OFFSET ?` are these
/// placeholders (a negative limit is none, a negative offset 0).
pub(super) fn paging(
    q: &Query,
    limit_param: Option<usize>,
    offset_param: Option<usize>,
    values: &[Value],
) -> Result<(Option<usize>, usize), SqlError> {
    let limit = match limit_param {
        Some(i) => usize::try_from(int(&values[i], "LIMIT")?).ok(),
        None => q.limit_value(),
    };
    let offset = match offset_param {
        Some(i) => usize::try_from(int(&values[i], "OFFSET")?).unwrap_or(0),
        None => q.offset_value(),
    };
    Ok((limit, offset))
}

fn query(q: &Query, values: &[Value]) -> Result<Query, SqlError> {
    let mut out = q.clone();
    out.filter = opt(&q.filter, values)?;
    for k in &mut out.order_by {
        k.expr = expr(&k.expr, values)?;
    }
    if let Some(p) = &q.projection {
        out.projection = Some(named(p, values)?);
    }
    Ok(out)
}

/// `s` with its placeholders bound.
pub(super) fn statement(s: &Statement, values: &[Value]) -> Result<Statement, SqlError> {
    if values.is_empty() {
        return Ok(s.clone());
    }
    Ok(match s {
        Statement::Select {
            table,
            query: q,
            columns,
            aggregate,
            limit_param,
            offset_param,
            star_ordinals,
        } => {
            let mut q = query(q, values)?;
            let (limit, offset) = paging(&q, *limit_param, *offset_param, values)?;
            (q.limit, q.offset) = (limit, offset);
            let aggregate = match aggregate {
                None => None,
                Some(a) => {
                    let mut a = a.clone();
                    a.filter = opt(&a.filter, values)?;
                    for (_, e) in &mut a.group_by {
                        *e = expr(e, values)?;
                    }
                    for (_, agg) in &mut a.aggs {
                        agg.arg = opt(&agg.arg, values)?;
                    }
                    Some(a)
                }
            };
            Statement::Select {
                table: table.clone(),
                query: q,
                columns: columns.clone(),
                aggregate,
                limit_param: None,
                offset_param: None,
                star_ordinals: star_ordinals.clone(),
            }
        }
        Statement::Explain(inner) => Statement::Explain(Box::new(statement(inner, values)?)),
        Statement::Insert {
            table,
            columns,
            rows,
            on_conflict,
            returning: r,
        } => Statement::Insert {
            table: table.clone(),
            columns: columns.clone(),
            rows: rows
                .iter()
                .map(|row| row.iter().map(|e| expr(e, values)).collect())
                .collect::<Result<_, _>>()?,
            on_conflict: match on_conflict {
                None => None,
                Some(c) => Some(Conflict {
                    target: c.target.clone(),
                    action: match &c.action {
                        ConflictAction::Nothing => ConflictAction::Nothing,
                        ConflictAction::Update {
                            assignments,
                            filter,
                        } => ConflictAction::Update {
                            assignments: named(assignments, values)?,
                            filter: opt(filter, values)?,
                        },
                    },
                }),
            },
            returning: returning(r, values)?,
        },
        Statement::Update {
            table,
            assignments,
            filter,
            returning: r,
        } => Statement::Update {
            table: table.clone(),
            assignments: named(assignments, values)?,
            filter: opt(filter, values)?,
            returning: returning(r, values)?,
        },
        Statement::Delete {
            table,
            filter,
            returning: r,
        } => Statement::Delete {
            table: table.clone(),
            filter: opt(filter, values)?,
            returning: returning(r, values)?,
        },
        other => other.clone(),
    })
}
