//! sqlparser's AST → [`Statement`]. The only module that sees that AST.

use sqlparser::ast::{
    self as sp, BinaryOperator, ColumnOption, DataType, GroupByExpr, Ident, LimitClause,
    ObjectName, ObjectNamePart, ObjectType, OrderByKind, SelectItem, SetExpr, Spanned,
    TableConstraint, TableFactor, UnaryOperator,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};

use dictdb_engine::{FieldType, IndexKind, Name, Schema, Value};

use super::{
    Conflict, ConflictAction, EXCLUDED, ParamSlot, Position, Prepared, Returning, SqlError,
    Statement,
};
use crate::aggregate::{Agg, AggFunc, Aggregation};
use crate::expr::{ArithOp, CmpOp, Expr, col};
use crate::func::Func;
use crate::like::LikePattern;
use crate::plan::{OrderKey, Query};

/// How deeply expressions may nest (each level is a few stack frames in the
/// evaluator and when the tree is dropped).
pub(super) const MAX_DEPTH: usize = 500;

/// Operator tokens a text may hold; above this it is refused outright.
const MAX_OPERATORS: usize = 100_000;

/// Operator tokens past which parsing runs on a thread with a large stack:
/// sqlparser builds an operator chain (`1+1+…`) as a tree as deep as the chain
/// and recurses over it (to print and drop it), as does translation.
const BIG_STACK_OPERATORS: usize = 50;

/// Parses and translates every statement of `sql`, keeping placeholders as
/// [`Expr::Param`]s.
pub(super) fn prepare(sql: &str) -> Result<Prepared, SqlError> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize_with_location()
        .unwrap_or_default();
    // `?` placeholders are numbered in the order they are written (translation
    // visits clauses in another order), from their positions in the tokens.
    let question_marks: Vec<Position> = tokens
        .iter()
        .filter(|t| matches!(&t.token, Token::Placeholder(p) if p == "?"))
        .map(|t| Position {
            line: t.span.start.line,
            column: t.span.start.column,
        })
        .collect();
    let operators = tokens
        .iter()
        .filter(|t| match &t.token {
            Token::Word(w) => matches!(
                w.keyword,
                sqlparser::keywords::Keyword::AND
                    | sqlparser::keywords::Keyword::OR
                    | sqlparser::keywords::Keyword::NOT
            ),
            Token::Plus
            | Token::Minus
            | Token::Mul
            | Token::Div
            | Token::Mod
            | Token::Eq
            | Token::DoubleEq
            | Token::Neq
            | Token::Lt
            | Token::Gt
            | Token::LtEq
            | Token::GtEq
            | Token::StringConcat
            | Token::LParen => true,
            _ => false,
        })
        .count();
    drop(tokens);
    if operators > MAX_OPERATORS {
        return Err(SqlError::Invalid {
            message: format!(
                "the text holds {operators} operators (at most {MAX_OPERATORS}); \
                 pass values as parameters or split the statement"
            ),
            position: None,
            snippet: String::new(),
        });
    }
    if operators <= BIG_STACK_OPERATORS {
        return prepare_here(sql, question_marks);
    }
    let stack = (64 << 20) + operators * (16 << 10);
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("dictdb-sql-parse".into())
            .stack_size(stack)
            .spawn_scoped(scope, || prepare_here(sql, question_marks))
            .map_err(|e| SqlError::Invalid {
                message: format!("cannot parse a statement this large: {e}"),
                position: None,
                snippet: String::new(),
            })?
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn prepare_here(sql: &str, question_marks: Vec<Position>) -> Result<Prepared, SqlError> {
    let ast = Parser::parse_sql(&GenericDialect {}, sql).map_err(|e| syntax_error(sql, e))?;
    let mut cx = Cx {
        sql,
        question_marks,
        depth: 0,
        next_param: 0,
        slots: Vec::new(),
        named: None,
        aggs: None,
        excluded: false,
        table: None,
    };
    let statements = ast
        .iter()
        .map(|s| cx.statement(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Prepared {
        sql: sql.to_string(),
        statements,
        slots: cx.slots,
    })
}

/// Translation state: the text (for error snippets) and the placeholders met.
struct Cx<'a> {
    sql: &'a str,
    /// Where each `?` stands, in the order written (its index is its place here).
    question_marks: Vec<Position>,
    /// How deeply the expression being translated nests.
    depth: usize,
    /// The next `?` parameter (0-based), for a `?` without a known position.
    next_param: usize,
    /// Every placeholder index met, with how it was written and where.
    slots: Vec<ParamSlot>,
    /// Whether placeholders are named (`:name`) or positional; set by the first.
    named: Option<bool>,
    /// Where aggregates may appear (select items, HAVING, ORDER BY): the ones met
    /// so far, each read back as a column named by its text.
    aggs: Option<Vec<(Name, Agg)>>,
    /// `excluded.col` names the proposed row (ON CONFLICT DO UPDATE).
    excluded: bool,
    /// The table the statement reads (what `t.col` may name).
    table: Option<String>,
}

fn snippet(sql: &str, position: Option<Position>) -> String {
    position
        .and_then(|p| sql.lines().nth(p.line.saturating_sub(1) as usize))
        .unwrap_or("")
        .to_string()
}

fn syntax_error(sql: &str, e: ParserError) -> SqlError {
    let message = match &e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => "the statement nests too deeply".to_string(),
    };
    // sqlparser writes positions as "… at Line: L, Column: C".
    let number_after = |key: &str| -> Option<u64> {
        let rest = &message[message.find(key)? + key.len()..];
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    let position = match (number_after("Line:"), number_after("Column:")) {
        (Some(line), Some(column)) => Some(Position { line, column }),
        // The text ended early: point just past its last character.
        _ if message.ends_with("EOF") => {
            let trimmed = sql.trim_end();
            let line = trimmed.lines().count().max(1);
            let last = trimmed.lines().last().unwrap_or("");
            Some(Position {
                line: line as u64,
                column: last.chars().count() as u64 + 1,
            })
        }
        _ => None,
    };
    let message = match message.find(" at Line:") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    SqlError::Syntax {
        message,
        position,
        snippet: snippet(sql, position),
    }
}

/// The byte offset of a 1-based (line, column-in-characters) location.
fn byte_offset(sql: &str, line: u64, column: u64) -> Option<usize> {
    let mut offset = 0;
    for (i, l) in sql.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            let skip = column.checked_sub(1)? as usize;
            return match l.char_indices().nth(skip) {
                Some((b, _)) => Some(offset + b),
                None if l.chars().count() == skip => Some(offset + l.len()),
                None => None,
            };
        }
        offset += l.len();
    }
    None
}

/// Where `word` first stands as a whole word (any case) in `sql`.
fn find_word(sql: &str, word: &str) -> Option<Position> {
    if word.is_empty() {
        return None;
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    for (i, line) in sql.lines().enumerate() {
        let lower = line.to_lowercase();
        let w = word.to_lowercase();
        let mut from = 0;
        while let Some(k) = lower[from..].find(&w) {
            let start = from + k;
            let end = start + w.len();
            let before = lower[..start].chars().next_back();
            let after = lower[end..].chars().next();
            if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
                return Some(Position {
                    line: i as u64 + 1,
                    column: lower[..start].chars().count() as u64 + 1,
                });
            }
            from = end;
        }
    }
    None
}

fn position_of(node: &impl Spanned) -> Option<Position> {
    let start = node.span().start;
    (start.line > 0).then_some(Position {
        line: start.line,
        column: start.column,
    })
}

fn ident_position(id: &Ident) -> Option<Position> {
    let start = id.span.start;
    (start.line > 0).then_some(Position {
        line: start.line,
        column: start.column,
    })
}

impl Cx<'_> {
    /// The text of each select item as the user wrote it, read from the tokens
    /// after the `SELECT` at `select` up to the FROM (`None` if they cannot be
    /// lined up with the parsed items).
    fn item_texts(
        &self,
        select: &sqlparser::ast::helpers::attached_token::AttachedToken,
        n_items: usize,
    ) -> Option<Vec<String>> {
        use sqlparser::tokenizer::{Token, Tokenizer};
        let start = select.0.span.start;
        let from = byte_offset(self.sql, start.line, start.column)?;
        let tokens = Tokenizer::new(&GenericDialect {}, &self.sql[from..])
            .tokenize_with_location()
            .ok()?;
        let offset = |loc: sqlparser::tokenizer::Location| {
            byte_offset(&self.sql[from..], loc.line, loc.column)
        };
        let mut items = Vec::new();
        let mut depth = 0usize;
        let (mut first, mut last): (Option<usize>, usize) = (None, 0);
        for t in tokens.iter().skip(1) {
            match &t.token {
                Token::Whitespace(_) => continue,
                Token::Word(w) if first.is_none() && items.is_empty() => {
                    if matches!(
                        w.keyword,
                        sqlparser::keywords::Keyword::DISTINCT | sqlparser::keywords::Keyword::ALL
                    ) {
                        continue;
                    }
                }
                _ => {}
            }
            let at_end = match &t.token {
                Token::LParen | Token::LBracket => {
                    depth += 1;
                    false
                }
                Token::RParen | Token::RBracket => {
                    depth = depth.saturating_sub(1);
                    false
                }
                Token::Comma if depth == 0 => true,
                Token::SemiColon | Token::EOF => true,
                Token::Word(w) if depth == 0 => matches!(
                    w.keyword,
                    sqlparser::keywords::Keyword::FROM
                        | sqlparser::keywords::Keyword::WHERE
                        | sqlparser::keywords::Keyword::GROUP
                        | sqlparser::keywords::Keyword::HAVING
                        | sqlparser::keywords::Keyword::ORDER
                        | sqlparser::keywords::Keyword::LIMIT
                ),
                _ => false,
            };
            if at_end {
                items.push(self.sql[from + first?..from + last].to_string());
                first = None;
                if !matches!(t.token, Token::Comma) {
                    break;
                }
                continue;
            }
            first.get_or_insert(offset(t.span.start)?);
            last = offset(t.span.end)?;
        }
        (items.len() == n_items).then_some(items)
    }

    fn unsupported(&self, feature: impl Into<String>, at: Option<Position>) -> SqlError {
        SqlError::Unsupported {
            feature: feature.into(),
            position: at,
            snippet: snippet(self.sql, at),
        }
    }

    fn invalid(&self, message: impl Into<String>, at: Option<Position>) -> SqlError {
        SqlError::Invalid {
            message: message.into(),
            position: at,
            snippet: snippet(self.sql, at),
        }
    }

    fn statement(&mut self, s: &sp::Statement) -> Result<Statement, SqlError> {
        let at = position_of(s);
        self.aggs = None;
        self.excluded = false;
        self.table = None;
        match s {
            sp::Statement::Query(q) => self.select(q),
            sp::Statement::Explain {
                statement, analyze, ..
            } => {
                if *analyze {
                    return Err(self.unsupported("EXPLAIN ANALYZE", at));
                }
                Ok(Statement::Explain(Box::new(self.statement(statement)?)))
            }
            sp::Statement::Insert(ins) => self.insert(ins),
            sp::Statement::Update {
                table,
                assignments,
                from,
                selection,
                returning,
                ..
            } => {
                if from.is_some() {
                    return Err(self.unsupported("UPDATE … FROM", at));
                }
                let table = self.single_table(table)?;
                self.table = Some(table.clone());
                let assignments = self.assignments(assignments)?;
                let filter = selection.as_ref().map(|e| self.expr(e)).transpose()?;
                let returning = self.returning(returning.as_deref())?;
                Ok(Statement::Update {
                    table,
                    assignments,
                    filter,
                    returning,
                })
            }
            sp::Statement::Delete(del) => {
                if del.using.is_some() || !del.tables.is_empty() {
                    return Err(self.unsupported("DELETE with several tables", at));
                }
                if !del.order_by.is_empty() || del.limit.is_some() {
                    return Err(self.unsupported("DELETE … ORDER BY / LIMIT", at));
                }
                let tables = match &del.from {
                    sp::FromTable::WithFromKeyword(t) | sp::FromTable::WithoutKeyword(t) => t,
                };
                let [table] = tables.as_slice() else {
                    return Err(self.unsupported("DELETE with several tables", at));
                };
                let table = self.single_table(table)?;
                self.table = Some(table.clone());
                let filter = del.selection.as_ref().map(|e| self.expr(e)).transpose()?;
                let returning = self.returning(del.returning.as_deref())?;
                Ok(Statement::Delete {
                    table,
                    filter,
                    returning,
                })
            }
            sp::Statement::CreateTable(ct) => self.create_table(ct),
            sp::Statement::Drop {
                object_type: ObjectType::Table,
                if_exists,
                names,
                ..
            } => Ok(Statement::DropTable {
                names: names
                    .iter()
                    .map(|n| self.object_name(n))
                    .collect::<Result<_, _>>()?,
                if_exists: *if_exists,
            }),
            sp::Statement::Drop {
                object_type: ObjectType::Index,
                if_exists,
                names,
                ..
            } => Ok(Statement::DropIndex {
                names: names
                    .iter()
                    .map(|n| self.object_name(n))
                    .collect::<Result<_, _>>()?,
                if_exists: *if_exists,
            }),
            sp::Statement::CreateIndex(ci) => self.create_index(ci),
            sp::Statement::StartTransaction { .. }
            | sp::Statement::Commit { .. }
            | sp::Statement::Rollback { .. } => {
                // These statements carry no span: find their first word.
                let word = s.to_string();
                let word = word.split_whitespace().next().unwrap_or("");
                let at = at.or_else(|| find_word(self.sql, word));
                Err(self.unsupported("transactions", at))
            }
            other => {
                let text = other.to_string();
                let word = text
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                Err(self.unsupported(format!("the statement {word}"), at))
            }
        }
    }

    fn object_name(&self, name: &ObjectName) -> Result<String, SqlError> {
        match name.0.as_slice() {
            [ObjectNamePart::Identifier(id)] => Ok(id.value.clone()),
            _ => Err(self.unsupported(format!("the qualified name {name}"), position_of(name))),
        }
    }

    fn column_name(&self, name: &ObjectName) -> Result<String, SqlError> {
        self.object_name(name)
    }

    fn single_table(&self, t: &sp::TableWithJoins) -> Result<String, SqlError> {
        if let Some(join) = t.joins.first() {
            return Err(self.unsupported("JOIN", position_of(&join.relation)));
        }
        match &t.relation {
            TableFactor::Table {
                name, args: None, ..
            } => self.object_name(name),
            other => Err(self.unsupported(
                "a FROM item other than a table name (subquery or table function)",
                position_of(other),
            )),
        }
    }

    fn select(&mut self, q: &sp::Query) -> Result<Statement, SqlError> {
        let at = position_of(q);
        if q.with.is_some() {
            return Err(self.unsupported("WITH", at));
        }
        if q.fetch.is_some() || !q.locks.is_empty() {
            return Err(self.unsupported("FETCH / locking clauses", at));
        }
        let sel = match q.body.as_ref() {
            SetExpr::Select(s) => s,
            SetExpr::SetOperation { op, .. } => {
                return Err(self.unsupported(format!("{op}"), at));
            }
            SetExpr::Query(_) => return Err(self.unsupported("a subquery", at)),
            _ => return Err(self.unsupported("this kind of query", at)),
        };
        let [from] = sel.from.as_slice() else {
            return Err(self.unsupported(
                if sel.from.is_empty() {
                    "SELECT without FROM"
                } else {
                    "several tables in FROM"
                },
                position_of(sel.as_ref()),
            ));
        };
        let table = self.single_table(from)?;
        self.table = Some(table.clone());
        let mut query = Query::new();
        match &sel.distinct {
            None => {}
            Some(sp::Distinct::Distinct) => query = query.distinct(),
            Some(sp::Distinct::On(_)) => {
                return Err(self.unsupported("DISTINCT ON", position_of(sel.as_ref())));
            }
        }
        // Aggregates may appear in the select items, HAVING and ORDER BY only.
        self.aggs = Some(Vec::new());
        let mut items: Vec<(Name, Expr)> = Vec::new();
        let mut star = false;
        let texts = self.item_texts(&sel.select_token, sel.projection.len());
        for (index, item) in sel.projection.iter().enumerate() {
            match item {
                SelectItem::Wildcard(_) => star = true,
                SelectItem::UnnamedExpr(e) => {
                    let name: Name = match e {
                        sp::Expr::Identifier(id) => id.value.as_str().into(),
                        sp::Expr::CompoundIdentifier(ids) => {
                            ids.last().map_or("", |i| i.value.as_str()).into()
                        }
                        other => texts
                            .as_ref()
                            .map_or_else(|| other.to_string(), |t| t[index].clone())
                            .into(),
                    };
                    items.push((name, self.expr(e)?));
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    items.push((alias.value.as_str().into(), self.expr(expr)?));
                }
                SelectItem::QualifiedWildcard(..) => star = true,
            }
        }
        if star && !items.is_empty() {
            return Err(self.unsupported(
                "* together with other select items",
                position_of(sel.as_ref()),
            ));
        }
        let having = sel.having.as_ref().map(|h| self.expr(h)).transpose()?;
        // ORDER BY: a select alias, an ordinal, or an expression.
        let mut order_keys = Vec::new();
        let mut star_ordinals = Vec::new();
        if let Some(ob) = &q.order_by {
            let OrderByKind::Expressions(keys) = &ob.kind else {
                return Err(self.unsupported("ORDER BY ALL", at));
            };
            for k in keys {
                let expr = match &k.expr {
                    sp::Expr::Identifier(id) if items.iter().any(|(n, _)| **n == *id.value) => {
                        items
                            .iter()
                            .find(|(n, _)| **n == *id.value)
                            .map(|(_, e)| e.clone())
                            .expect("found above")
                    }
                    // After `*` the columns are known only when the statement runs.
                    sp::Expr::Value(v) if star && matches!(v.value, sp::Value::Number(..)) => {
                        let n = self.constant_int(&k.expr)?;
                        let n = usize::try_from(n).ok().filter(|&n| n >= 1).ok_or_else(|| {
                            self.invalid(
                                format!("ORDER BY {n}: ordinals count from 1"),
                                position_of(&k.expr),
                            )
                        })?;
                        star_ordinals.push((order_keys.len(), n));
                        Expr::Literal(Value::Null)
                    }
                    sp::Expr::Value(v) if matches!(v.value, sp::Value::Number(..)) => {
                        self.ordinal(&k.expr, &items, "ORDER BY")?
                    }
                    e => self.expr(e)?,
                };
                order_keys.push(OrderKey {
                    expr,
                    desc: k.options.asc == Some(false),
                    nulls_first: k.options.nulls_first,
                });
            }
        }
        let met = self.aggs.take().unwrap_or_default();
        let filter = sel.selection.as_ref().map(|w| self.expr(w)).transpose()?;
        let group_exprs = match &sel.group_by {
            GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => exprs
                .iter()
                .map(|e| match e {
                    sp::Expr::Value(v) if matches!(v.value, sp::Value::Number(..)) => {
                        self.ordinal(e, &items, "GROUP BY")
                    }
                    e => self.expr(e),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => {
                return Err(
                    self.unsupported("GROUP BY ALL / ROLLUP / CUBE", position_of(sel.as_ref()))
                );
            }
        };
        let grouped = !group_exprs.is_empty() || having.is_some() || !met.is_empty();
        let mut aggregate = None;
        if grouped {
            if star {
                return Err(self.invalid(
                    "SELECT * in an aggregate query: name the grouped columns",
                    position_of(sel.as_ref()),
                ));
            }
            let mut agg = Aggregation::new();
            if let Some(f) = filter {
                agg = agg.filter(f);
            }
            let mut keys: Vec<(Name, Expr)> = Vec::new();
            for e in group_exprs {
                if !keys.iter().any(|(_, k)| *k == e) {
                    keys.push((e.to_string().into(), e));
                }
            }
            let regroup = |e: &Expr| -> Result<Expr, SqlError> {
                e.rewrite(&mut |x: &Expr| {
                    if let Some((n, _)) = keys.iter().find(|(_, k)| k == x) {
                        return Some(Ok(Expr::Column(n.clone())));
                    }
                    match x {
                        Expr::Column(c) if met.iter().any(|(n, _)| n == c) => Some(Ok(x.clone())),
                        Expr::Column(c) => Some(Err(self.invalid(
                            format!(
                                "the column {c} must appear in GROUP BY or be used in an aggregate function"
                            ),
                            position_of(sel.as_ref()),
                        ))),
                        _ => None,
                    }
                })
            };
            for (_, e) in items.iter_mut() {
                *e = regroup(e)?;
            }
            for k in order_keys.iter_mut() {
                k.expr = regroup(&k.expr)?;
            }
            if let Some(h) = having {
                query = query.filter(regroup(&h)?);
            }
            agg.group_by = keys;
            agg.aggs = met;
            aggregate = Some(Box::new(agg));
        } else if let Some(f) = filter {
            query = query.filter(f);
        }
        for k in order_keys {
            query = query.order_by_key(k);
        }
        let (mut limit_param, mut offset_param) = (None, None);
        match &q.limit_clause {
            None => {}
            Some(LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    return Err(self.unsupported("LIMIT BY", at));
                }
                if let Some(l) = limit {
                    limit_param = self.paging(l)?.apply(&mut query, Query::limit);
                }
                if let Some(o) = offset {
                    offset_param = self.paging(&o.value)?.apply(&mut query, Query::offset);
                }
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
                limit_param = self.paging(limit)?.apply(&mut query, Query::limit);
                offset_param = self.paging(offset)?.apply(&mut query, Query::offset);
            }
        }
        let columns = (!star).then(|| items.iter().map(|(n, _)| n.clone()).collect());
        if !star {
            query = query.project(items.iter().map(|(n, e)| (&**n, e.clone())));
        }
        Ok(Statement::Select {
            table,
            query,
            columns,
            aggregate,
            limit_param,
            offset_param,
            star_ordinals,
        })
    }

    /// The select item an ordinal (`ORDER BY 2`, `GROUP BY 1`) names.
    fn ordinal(
        &mut self,
        e: &sp::Expr,
        items: &[(Name, Expr)],
        clause: &str,
    ) -> Result<Expr, SqlError> {
        let n = self.constant_int(e)?;
        match usize::try_from(n)
            .ok()
            .filter(|&i| i >= 1 && i <= items.len())
        {
            Some(i) => Ok(items[i - 1].1.clone()),
            None => Err(self.invalid(
                format!("{clause} {n}: there are {} select items", items.len()),
                position_of(e),
            )),
        }
    }

    /// `SET c = expr, …`.
    fn assignments(&mut self, list: &[sp::Assignment]) -> Result<Vec<(Name, Expr)>, SqlError> {
        list.iter()
            .map(|a| match &a.target {
                sp::AssignmentTarget::ColumnName(name) => {
                    Ok((Name::from(self.column_name(name)?), self.expr(&a.value)?))
                }
                sp::AssignmentTarget::Tuple(_) => {
                    Err(self.unsupported("tuple assignment", position_of(&a.value)))
                }
            })
            .collect()
    }

    /// `RETURNING items` (no aggregates).
    fn returning(&mut self, items: Option<&[SelectItem]>) -> Result<Option<Returning>, SqlError> {
        let Some(items) = items else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for item in items {
            match item {
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) if items.len() == 1 => {
                    return Ok(Some(None));
                }
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    return Err(self.unsupported("* together with other RETURNING items", None));
                }
                SelectItem::UnnamedExpr(e) => {
                    let name: Name = match e {
                        sp::Expr::Identifier(id) => id.value.as_str().into(),
                        other => other.to_string().into(),
                    };
                    out.push((name, self.expr(e)?));
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    out.push((alias.value.as_str().into(), self.expr(expr)?));
                }
            }
        }
        Ok(Some(Some(out)))
    }

    /// LIMIT / OFFSET: an integer constant or a placeholder.
    fn paging(&mut self, e: &sp::Expr) -> Result<Paging, SqlError> {
        match self.expr(e)? {
            Expr::Param(i) => Ok(Paging::Param(i)),
            _ => Ok(Paging::Value(self.constant_int(e)?)),
        }
    }

    /// An integer constant (LIMIT, OFFSET, ordinals).
    fn constant_int(&mut self, e: &sp::Expr) -> Result<i64, SqlError> {
        match self.expr(e)? {
            Expr::Literal(Value::Int(i)) => Ok(i),
            Expr::Neg(inner) => match *inner {
                Expr::Literal(Value::Int(i)) => Ok(-i),
                _ => Err(self.invalid("an integer constant is required here", position_of(e))),
            },
            _ => Err(self.invalid("an integer constant is required here", position_of(e))),
        }
    }

    fn insert(&mut self, ins: &sp::Insert) -> Result<Statement, SqlError> {
        let at = position_of(&ins.table);
        let table = match &ins.table {
            sp::TableObject::TableName(name) => self.object_name(name)?,
            _ => return Err(self.unsupported("INSERT into a table function", at)),
        };
        self.table = Some(table.clone());
        let columns = (!ins.columns.is_empty()).then(|| {
            ins.columns
                .iter()
                .map(|c| Name::from(c.value.as_str()))
                .collect::<Vec<_>>()
        });
        let Some(source) = &ins.source else {
            return Err(self.unsupported("INSERT without VALUES", at));
        };
        let SetExpr::Values(values) = source.body.as_ref() else {
            return Err(self.unsupported("INSERT … SELECT", position_of(source.as_ref())));
        };
        let rows = values
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|e| self.expr(e))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let on_conflict = match &ins.on {
            None => None,
            Some(sp::OnInsert::OnConflict(c)) => {
                let target = match &c.conflict_target {
                    None => None,
                    Some(sp::ConflictTarget::Columns(cols)) => match cols.as_slice() {
                        [one] => Some(Name::from(one.value.as_str())),
                        _ => {
                            return Err(
                                self.invalid("ON CONFLICT names one column: the primary key", at)
                            );
                        }
                    },
                    Some(sp::ConflictTarget::OnConstraint(_)) => {
                        return Err(self.unsupported("ON CONFLICT ON CONSTRAINT", at));
                    }
                };
                let action = match &c.action {
                    sp::OnConflictAction::DoNothing => ConflictAction::Nothing,
                    sp::OnConflictAction::DoUpdate(u) => {
                        self.excluded = true;
                        let assignments = self.assignments(&u.assignments)?;
                        let filter = u.selection.as_ref().map(|e| self.expr(e)).transpose()?;
                        self.excluded = false;
                        ConflictAction::Update {
                            assignments,
                            filter,
                        }
                    }
                };
                Some(Conflict { target, action })
            }
            Some(_) => return Err(self.unsupported("ON DUPLICATE KEY UPDATE", at)),
        };
        let returning = self.returning(ins.returning.as_deref())?;
        Ok(Statement::Insert {
            table,
            columns,
            rows,
            on_conflict,
            returning,
        })
    }

    fn create_table(&mut self, ct: &sp::CreateTable) -> Result<Statement, SqlError> {
        let at = position_of(&ct.name);
        let name = self.object_name(&ct.name)?;
        if ct.query.is_some() {
            return Err(self.unsupported("CREATE TABLE … AS SELECT", at));
        }
        if ct.columns.is_empty() {
            return Err(self.invalid(
                format!("CREATE TABLE {name} needs a column list (schemaless tables are made through the API)"),
                at,
            ));
        }
        let mut schema = Schema::new();
        let mut primary_key: Option<String> = None;
        let set_pk =
            |pk: &mut Option<String>, col: &str, cx: &Cx<'_>, at| -> Result<(), SqlError> {
                match pk {
                    Some(other) if other != col => {
                        Err(cx.unsupported("a primary key of several columns", at))
                    }
                    _ => {
                        *pk = Some(col.to_string());
                        Ok(())
                    }
                }
            };
        for c in &ct.columns {
            let ty = self.field_type(&c.data_type, ident_position(&c.name))?;
            let mut not_null = false;
            for opt in &c.options {
                match &opt.option {
                    ColumnOption::NotNull => not_null = true,
                    ColumnOption::Null => {}
                    ColumnOption::Unique {
                        is_primary: true, ..
                    } => {
                        set_pk(
                            &mut primary_key,
                            &c.name.value,
                            self,
                            ident_position(&c.name),
                        )?;
                        not_null = true;
                    }
                    other => {
                        return Err(self.unsupported(
                            format!("the column option {other}"),
                            ident_position(&c.name),
                        ));
                    }
                }
            }
            schema = schema.with_field(c.name.value.as_str(), ty, !not_null);
        }
        for constraint in &ct.constraints {
            match constraint {
                TableConstraint::PrimaryKey { columns, .. } => {
                    let [column] = columns.as_slice() else {
                        return Err(self.unsupported("a primary key of several columns", at));
                    };
                    let name = match &column.column.expr {
                        sp::Expr::Identifier(Ident { value, .. }) => value.clone(),
                        other => {
                            return Err(self.unsupported(
                                "a primary key on an expression",
                                position_of(other),
                            ));
                        }
                    };
                    set_pk(&mut primary_key, &name, self, at)?;
                }
                other => return Err(self.unsupported(format!("the table constraint {other}"), at)),
            }
        }
        let primary_key = match primary_key {
            Some(pk) => {
                let f = schema.get(&pk).cloned().ok_or_else(|| {
                    self.invalid(
                        format!("the primary key {pk} is not a column of {name}"),
                        at,
                    )
                })?;
                schema = schema.with_field(f.name, f.ty, false);
                pk
            }
            None => "id".to_string(),
        };
        Ok(Statement::CreateTable {
            name,
            if_not_exists: ct.if_not_exists,
            primary_key,
            schema,
        })
    }

    fn create_index(&mut self, ci: &sp::CreateIndex) -> Result<Statement, SqlError> {
        let at = position_of(&ci.table_name);
        let Some(name) = &ci.name else {
            return Err(self.invalid(
                "CREATE INDEX needs a name: CREATE INDEX name ON t (col)",
                at,
            ));
        };
        if ci.unique {
            return Err(self.unsupported("UNIQUE indexes (only the primary key is unique)", at));
        }
        if ci.predicate.is_some() || !ci.include.is_empty() || !ci.with.is_empty() {
            return Err(
                self.unsupported("partial or covering indexes (WHERE / INCLUDE / WITH)", at)
            );
        }
        let [column] = ci.columns.as_slice() else {
            return Err(self.unsupported("an index of several columns (one column per index)", at));
        };
        let column = match &column.column.expr {
            sp::Expr::Identifier(id) => id.value.clone(),
            other => {
                return Err(self.unsupported("an index on an expression", position_of(other)));
            }
        };
        let using = ci
            .using
            .iter()
            .chain(ci.index_options.iter().filter_map(|o| match o {
                sp::IndexOption::Using(t) => Some(t),
                _ => None,
            }));
        let mut kind = IndexKind::Sorted;
        for t in using {
            kind = match t {
                sp::IndexType::BTree => IndexKind::Sorted,
                sp::IndexType::Hash => IndexKind::Hash,
                other => {
                    return Err(
                        self.unsupported(format!("USING {other} (indexes are HASH or BTREE)"), at)
                    );
                }
            };
        }
        Ok(Statement::CreateIndex {
            name: self.object_name(name)?,
            table: self.object_name(&ci.table_name)?,
            column,
            kind,
            if_not_exists: ci.if_not_exists,
        })
    }

    fn field_type(&self, t: &DataType, at: Option<Position>) -> Result<FieldType, SqlError> {
        Ok(match t {
            DataType::Integer(_) | DataType::Int(_) | DataType::BigInt(_) => FieldType::Int,
            DataType::Real
            | DataType::Float(_)
            | DataType::Double(_)
            | DataType::DoublePrecision => FieldType::Float,
            DataType::Text | DataType::Varchar(_) | DataType::String(_) => FieldType::Str,
            DataType::Boolean | DataType::Bool => FieldType::Bool,
            DataType::Blob(_) | DataType::Bytea => FieldType::Bytes,
            DataType::Timestamp(..) => FieldType::DateTime,
            DataType::Date => FieldType::Date,
            DataType::JSON => FieldType::Any,
            other => return Err(self.unsupported(format!("the column type {other}"), at)),
        })
    }

    /// The index of a placeholder: `?` in order of appearance, `$n` as n - 1,
    /// `:name` by name (the first appearance gives the index).
    fn param(&mut self, p: &str, at: Option<Position>) -> Result<usize, SqlError> {
        let named = p.len() > 1 && (p.starts_with(':') || p.starts_with('@'))
            || p.starts_with('$') && !p[1..].chars().all(|c| c.is_ascii_digit());
        if *self.named.get_or_insert(named) != named {
            return Err(self.invalid(
                "a statement takes named (:name) or positional (?, $1) parameters, not both",
                at,
            ));
        }
        let index = if named {
            let name = &p[1..];
            match self.slots.iter().find(|s| s.name.as_deref() == Some(name)) {
                Some(slot) => return Ok(slot.index),
                None => self.slots.len(),
            }
        } else if p == "?" {
            match at.and_then(|at| self.question_marks.iter().position(|q| *q == at)) {
                Some(i) => i,
                None => {
                    let i = self.next_param;
                    self.next_param += 1;
                    i
                }
            }
        } else {
            match p[1..].parse::<usize>() {
                Ok(n) if n >= 1 => n - 1,
                _ => return Err(self.invalid(format!("bad parameter {p}"), at)),
            }
        };
        if !self.slots.iter().any(|s| s.index == index) {
            self.slots.push(ParamSlot {
                index,
                label: if p == "?" {
                    format!("? number {}", index + 1)
                } else {
                    p.to_string()
                },
                name: named.then(|| p[1..].to_string()),
                position: at,
            });
        }
        Ok(index)
    }

    fn value(&mut self, v: &sp::ValueWithSpan) -> Result<Value, SqlError> {
        let at = position_of(v);
        Ok(match &v.value {
            sp::Value::Number(s, _) => match s.parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) if s.chars().all(|c| c.is_ascii_digit()) => {
                    return Err(self.invalid(format!("integer out of range: {s}"), at));
                }
                Err(_) => Value::Float(
                    s.parse::<f64>()
                        .map_err(|_| self.invalid(format!("bad number {s}"), at))?,
                ),
            },
            sp::Value::SingleQuotedString(s) => Value::str(s.as_str()),
            sp::Value::Boolean(b) => Value::Bool(*b),
            sp::Value::Null => Value::Null,
            sp::Value::Placeholder(_) => {
                return Err(self.invalid("a placeholder cannot stand here", at));
            }
            sp::Value::DoubleQuotedString(_) => {
                return Err(self.invalid(
                    "double quotes name identifiers; write text in single quotes",
                    at,
                ));
            }
            other => return Err(self.unsupported(format!("the literal {other}"), at)),
        })
    }

    /// A function call: an aggregate (where allowed) or a scalar function.
    fn function(&mut self, f: &sp::Function, at: Option<Position>) -> Result<Expr, SqlError> {
        let name = match f.name.0.as_slice() {
            [ObjectNamePart::Identifier(id)] => id.value.to_lowercase(),
            _ => return Err(self.unsupported(format!("the function {}", f.name), at)),
        };
        if f.over.is_some() {
            return Err(self.unsupported("window functions", at));
        }
        if f.filter.is_some() || !f.within_group.is_empty() || f.null_treatment.is_some() {
            return Err(self.unsupported(format!("{name}() with FILTER / WITHIN GROUP"), at));
        }
        let list = match &f.args {
            sp::FunctionArguments::List(l) if l.clauses.is_empty() => l,
            sp::FunctionArguments::Subquery(_) => return Err(self.unsupported("subqueries", at)),
            sp::FunctionArguments::None => {
                return Err(self.unsupported(format!("the function {name}"), at));
            }
            sp::FunctionArguments::List(_) => {
                return Err(self.unsupported(format!("clauses inside {name}()"), at));
            }
        };
        let distinct = matches!(
            list.duplicate_treatment,
            Some(sp::DuplicateTreatment::Distinct)
        );
        let mut star = false;
        let mut args: Vec<&sp::Expr> = Vec::new();
        for a in &list.args {
            match a {
                sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Expr(e)) => args.push(e),
                sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Wildcard) => star = true,
                _ => return Err(self.unsupported(format!("this argument of {name}()"), at)),
            }
        }
        let agg_func = match name.as_str() {
            "count" if distinct => Some(AggFunc::CountDistinct),
            "count" => Some(AggFunc::Count),
            "sum" => Some(AggFunc::Sum),
            "avg" => Some(AggFunc::Avg),
            "min" => Some(AggFunc::Min),
            "max" => Some(AggFunc::Max),
            _ => None,
        };
        if let Some(func) = agg_func {
            let Some(mut met) = self.aggs.take() else {
                return Err(self.invalid(
                    format!("the aggregate {name}() is not allowed here (only in select items, HAVING and ORDER BY)"),
                    at,
                ));
            };
            // The argument is translated with aggregates forbidden (no nesting).
            let arg = match (star, args.as_slice()) {
                (true, []) if func == AggFunc::Count => Ok(None),
                (false, [a]) => self.expr(a).map(Some),
                _ => Err(self.invalid(
                    format!(
                        "{name}() takes one argument{}",
                        if func == AggFunc::Count { " or *" } else { "" }
                    ),
                    at,
                )),
            };
            let arg = match arg {
                Ok(a) => a,
                Err(e) => {
                    self.aggs = Some(met);
                    return Err(e);
                }
            };
            if distinct && func != AggFunc::CountDistinct {
                self.aggs = Some(met);
                return Err(self.unsupported(format!("DISTINCT inside {name}()"), at));
            }
            let agg = Agg { func, arg };
            let label: Name = agg.to_string().into();
            if !met.iter().any(|(n, _)| *n == label) {
                met.push((label.clone(), agg));
            }
            self.aggs = Some(met);
            return Ok(Expr::Column(label));
        }
        let Some(func) = Func::by_name(&name) else {
            return Err(self.unsupported(format!("the function {name}()"), at));
        };
        if star || distinct {
            return Err(self.invalid(format!("{name}() takes no * or DISTINCT"), at));
        }
        let (least, most) = func.arity();
        if args.len() < least || args.len() > most {
            let takes = match (least, most) {
                (l, m) if l == m => format!("{l}"),
                (l, usize::MAX) => format!("at least {l}"),
                (l, m) => format!("{l} to {m}"),
            };
            return Err(self.invalid(
                format!("{name}() takes {takes} argument(s), not {}", args.len()),
                at,
            ));
        }
        let args = args
            .into_iter()
            .map(|a| self.expr(a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Expr::Call { func, args })
    }

    fn boxed(&mut self, e: &sp::Expr) -> Result<Box<Expr>, SqlError> {
        Ok(Box::new(self.expr(e)?))
    }

    fn expr(&mut self, e: &sp::Expr) -> Result<Expr, SqlError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.invalid(
                format!("the expression nests too deeply (more than {MAX_DEPTH} levels)"),
                position_of(e),
            ));
        }
        self.depth += 1;
        let out = self.expr_at_depth(e);
        self.depth -= 1;
        out
    }

    fn expr_at_depth(&mut self, e: &sp::Expr) -> Result<Expr, SqlError> {
        // Where the expression starts, computed only for an error (a span
        // walks the whole subtree).
        let at = || position_of(e);
        Ok(match e {
            sp::Expr::Identifier(id) => col(&id.value),
            sp::Expr::CompoundIdentifier(ids) => match ids.as_slice() {
                [table, column] if table.value.eq_ignore_ascii_case("excluded") => {
                    if !self.excluded {
                        return Err(self.invalid(
                            "excluded.<column> is only valid in ON CONFLICT … DO UPDATE",
                            at(),
                        ));
                    }
                    col(&format!("{EXCLUDED}{}", column.value))
                }
                [table, column] => {
                    if let Some(t) = &self.table
                        && *t != table.value
                    {
                        return Err(self.invalid(
                            format!("{table} is not a table of this statement (it reads {t})"),
                            ident_position(table),
                        ));
                    }
                    col(&column.value)
                }
                _ => return Err(self.unsupported(format!("the name {e}"), at())),
            },
            sp::Expr::Value(v) => match &v.value {
                sp::Value::Placeholder(p) => Expr::Param(self.param(p, at())?),
                _ => Expr::Literal(self.value(v)?),
            },
            sp::Expr::Nested(inner) => self.expr(inner)?,
            sp::Expr::UnaryOp { op, expr } => match op {
                UnaryOperator::Not => Expr::Not(self.boxed(expr)?),
                UnaryOperator::Plus => self.expr(expr)?,
                // -9223372036854775808 is an integer although its digits alone
                // are out of range.
                UnaryOperator::Minus
                    if matches!(&**expr, sp::Expr::Value(v)
                        if matches!(&v.value, sp::Value::Number(n, _) if n == "9223372036854775808")) =>
                {
                    Expr::Literal(Value::Int(i64::MIN))
                }
                UnaryOperator::Minus => match self.expr(expr)? {
                    Expr::Literal(Value::Int(i)) if i != i64::MIN => Expr::Literal(Value::Int(-i)),
                    Expr::Literal(Value::Float(x)) => Expr::Literal(Value::Float(-x)),
                    other => Expr::Neg(Box::new(other)),
                },
                other => return Err(self.unsupported(format!("the operator {other}"), at())),
            },
            sp::Expr::BinaryOp { left, op, right } => {
                enum Kind {
                    Cmp(CmpOp),
                    Arith(ArithOp),
                    And,
                    Or,
                }
                let kind = match op {
                    BinaryOperator::Eq => Kind::Cmp(CmpOp::Eq),
                    BinaryOperator::NotEq => Kind::Cmp(CmpOp::Ne),
                    BinaryOperator::Lt => Kind::Cmp(CmpOp::Lt),
                    BinaryOperator::LtEq => Kind::Cmp(CmpOp::Le),
                    BinaryOperator::Gt => Kind::Cmp(CmpOp::Gt),
                    BinaryOperator::GtEq => Kind::Cmp(CmpOp::Ge),
                    BinaryOperator::Plus => Kind::Arith(ArithOp::Add),
                    BinaryOperator::Minus => Kind::Arith(ArithOp::Sub),
                    BinaryOperator::Multiply => Kind::Arith(ArithOp::Mul),
                    BinaryOperator::Divide => Kind::Arith(ArithOp::Div),
                    BinaryOperator::Modulo => Kind::Arith(ArithOp::Rem),
                    BinaryOperator::And => Kind::And,
                    BinaryOperator::Or => Kind::Or,
                    other => return Err(self.unsupported(format!("the operator {other}"), at())),
                };
                let (left, right) = (self.boxed(left)?, self.boxed(right)?);
                match kind {
                    Kind::Cmp(op) => Expr::Cmp { op, left, right },
                    Kind::Arith(op) => Expr::Arith { op, left, right },
                    Kind::And => (*left).and(*right),
                    Kind::Or => (*left).or(*right),
                }
            }
            sp::Expr::IsNull(inner) => Expr::IsNull(self.boxed(inner)?),
            sp::Expr::IsNotNull(inner) => Expr::Not(Box::new(Expr::IsNull(self.boxed(inner)?))),
            sp::Expr::IsTrue(inner) => Expr::IsTrue(self.boxed(inner)?),
            sp::Expr::IsNotTrue(inner) => Expr::Not(Box::new(Expr::IsTrue(self.boxed(inner)?))),
            sp::Expr::IsFalse(inner) => Expr::IsTrue(Box::new(Expr::Not(self.boxed(inner)?))),
            sp::Expr::IsNotFalse(inner) => Expr::Not(Box::new(Expr::IsTrue(Box::new(Expr::Not(
                self.boxed(inner)?,
            ))))),
            sp::Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let b = Expr::Between {
                    expr: self.boxed(expr)?,
                    low: self.boxed(low)?,
                    high: self.boxed(high)?,
                };
                if *negated { Expr::Not(Box::new(b)) } else { b }
            }
            sp::Expr::InList {
                expr,
                list,
                negated,
            } => {
                let inl = Expr::InList {
                    expr: self.boxed(expr)?,
                    list: list
                        .iter()
                        .map(|e| self.expr(e))
                        .collect::<Result<_, _>>()?,
                };
                if *negated {
                    Expr::Not(Box::new(inl))
                } else {
                    inl
                }
            }
            sp::Expr::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | sp::Expr::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any {
                    return Err(self.unsupported("LIKE ANY", at()));
                }
                let ci = matches!(e, sp::Expr::ILike { .. });
                let pattern = self.expr(pattern)?;
                let escape = match escape_char {
                    None => None,
                    Some(sp::Value::SingleQuotedString(s)) if s.chars().count() == 1 => {
                        s.chars().next()
                    }
                    Some(other) => {
                        return Err(
                            self.invalid(format!("ESCAPE takes one character, not {other}"), at())
                        );
                    }
                };
                let like = match pattern {
                    Expr::Literal(Value::Str(p)) => Expr::Like {
                        expr: self.boxed(expr)?,
                        pattern: LikePattern::new(&p, escape, ci),
                    },
                    // A placeholder (bound before running) or a per-row pattern.
                    other => Expr::Call {
                        func: Func::Like {
                            escape,
                            ignore_case: ci,
                        },
                        args: vec![self.expr(expr)?, other],
                    },
                };
                if *negated {
                    Expr::Not(Box::new(like))
                } else {
                    like
                }
            }
            sp::Expr::Subquery(_) | sp::Expr::InSubquery { .. } | sp::Expr::Exists { .. } => {
                return Err(self.unsupported("subqueries", at()));
            }
            sp::Expr::Function(f) => self.function(f, at())?,
            sp::Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => Expr::Case {
                operand: operand.as_ref().map(|o| self.boxed(o)).transpose()?,
                whens: conditions
                    .iter()
                    .map(|w| Ok((self.expr(&w.condition)?, self.expr(&w.result)?)))
                    .collect::<Result<_, SqlError>>()?,
                otherwise: else_result.as_ref().map(|e| self.boxed(e)).transpose()?,
            },
            sp::Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.expr(expr)?];
                let Some(from) = substring_from else {
                    return Err(self.invalid("substr() takes 2 to 3 argument(s), not 1", at()));
                };
                args.push(self.expr(from)?);
                if let Some(n) = substring_for {
                    args.push(self.expr(n)?);
                }
                Expr::Call {
                    func: Func::Substr,
                    args,
                }
            }
            sp::Expr::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters,
            } => {
                let func = match trim_where {
                    None | Some(sp::TrimWhereField::Both) => Func::Trim,
                    Some(sp::TrimWhereField::Leading) => Func::LTrim,
                    Some(sp::TrimWhereField::Trailing) => Func::RTrim,
                };
                let mut args = vec![self.expr(expr)?];
                match (trim_what, trim_characters.as_deref()) {
                    (Some(w), _) => args.push(self.expr(w)?),
                    (None, Some([c])) => args.push(self.expr(c)?),
                    (None, None | Some([])) => {}
                    (None, Some(_)) => {
                        return Err(self.invalid("trim takes one set of characters", at()));
                    }
                }
                Expr::Call { func, args }
            }
            other => {
                let text = other.to_string();
                return Err(self.unsupported(format!("the expression {text}"), at()));
            }
        })
    }
}

/// A LIMIT or OFFSET as written.
enum Paging {
    Value(i64),
    Param(usize),
}

impl Paging {
    /// Sets a constant on the query now; returns a placeholder's index for later.
    fn apply(self, query: &mut Query, set: fn(Query, i64) -> Query) -> Option<usize> {
        match self {
            Paging::Value(v) => {
                *query = set(std::mem::take(query), v);
                None
            }
            Paging::Param(i) => Some(i),
        }
    }
}
