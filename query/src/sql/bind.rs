//! Binding placeholder values into prepared statements.
//!
//! Every [`Expr::Param`] becomes a [`Expr::Literal`]; a LIKE whose pattern was a
//! placeholder becomes an ordinary [`Expr::Like`] with its pattern compiled once
//! (so the planner can use an index for a prefix pattern); `LIMIT ?`/`OFFSET ?`
//! are set into the query.

use dictdb_engine::Value;

use super::{Conflict, ConflictAction, Returning, SqlError, Statement};
use crate::expr::Expr;
use crate::func::Func;
use crate::like::LikePattern;
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
    e.rewrite(&mut |x: &Expr| match x {
        Expr::Param(i) => Some(Ok(Expr::Literal(values[*i].clone()))),
        Expr::Call {
            func: Func::Like {
                escape,
                ignore_case,
            },
            args,
        } if matches!(args.get(1), Some(Expr::Param(_))) => Some((|| {
            let value = expr(&args[0], values)?;
            Ok(match expr(&args[1], values)? {
                Expr::Literal(Value::Str(p)) => Expr::Like {
                    expr: Box::new(value),
                    pattern: LikePattern::new(&p, *escape, *ignore_case),
                },
                // Not text: the per-row function reports it (NULL gives NULL).
                other => Expr::Call {
                    func: Func::Like {
                        escape: *escape,
                        ignore_case: *ignore_case,
                    },
                    args: vec![value, other],
                },
            })
        })()),
        _ => None,
    })
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
            if let Some(i) = limit_param {
                q = q.limit(int(&values[*i], "LIMIT")?);
            }
            if let Some(i) = offset_param {
                q = q.offset(int(&values[*i], "OFFSET")?);
            }
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
