//! Statements assembled from SQL fragments (keywords, the fixture's column names,
//! edge-case literals, operators, LIKE patterns) with arbitrary parameter values,
//! so that most inputs parse and the fuzzer spends its time in translation,
//! planning, execution and writes rather than in the parser. Each statement runs
//! on both databases of the planner oracle (see `dictdb_fuzz::Pair`).
#![no_main]

use arbitrary::{Result, Unstructured};
use dictdb::Value;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(params) = gen_params(&mut u) else {
        return;
    };
    let mut statements = Vec::new();
    while statements.len() < 8 && !u.is_empty() {
        let Ok(sql) = statement(&mut u) else {
            break;
        };
        statements.push(sql);
    }
    dictdb_fuzz::on_small_stack(|| {
        let dbs = dictdb_fuzz::Pair::new();
        for sql in &statements {
            dbs.execute(sql, &params);
        }
        dbs.check_tables();
    });
});

const TABLES: &[&str] = &["t", "t", "s", "s", "e", "x", "\"t\""];
const COLUMNS: &[&str] = &[
    "id", "name", "age", "score", "active", "data", // t
    "tag", "n", "x", "l", "m", // s
    "k", "v", "w", // e
    "missing", "t.age", "s.n", "\"age\"", "AGE",
];
#[rustfmt::skip]
const LITERALS: &[&str] = &[
    "0", "1", "-1", "2", "17", "36", "45", "-3", "10", "7", "1.5", "-0.0", "0.0", "2.5",
    "1e308", "-1e308", "1e-320", "9223372036854775807", "(-9223372036854775807 - 1)",
    "4611686018427387904", "NULL", "TRUE", "FALSE", "''", "'Ada'", "'ada'", "'a'", "'b'",
    "'x'", "'k4'", "'Zoë'", "'a%b_c'", "'%'", "'NaN'", "?", "?", "$1", "$2", "$3", "$4",
    "- ?", "- $1", "$9", ":name",
];
#[rustfmt::skip]
const BINOPS: &[&str] = &[
    "=", "<>", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "AND", "OR", "=", "<", "+",
    "AND", "OR",
];
#[rustfmt::skip]
const FUNCTIONS: &[&str] = &[
    "abs", "lower", "upper", "length", "coalesce", "round", "substr", "substring", "trim",
    "ltrim", "rtrim", "nullif", "count", "sum", "min", "max", "avg",
];
#[rustfmt::skip]
const LIKE_PIECES: &[&str] = &[
    "%", "_", "a", "A", "d", "%a", "\\%", "\\_", "\\", "ë", "b_c", "x",
];
#[rustfmt::skip]
const TYPES: &[&str] = &[
    "INTEGER", "INT", "BIGINT", "REAL", "DOUBLE", "FLOAT", "TEXT", "VARCHAR(10)", "BOOLEAN",
    "BLOB", "TIMESTAMP", "DATE", "JSON", "NUMERIC",
];

fn pick<'a>(u: &mut Unstructured<'_>, from: &[&'a str]) -> Result<&'a str> {
    u.choose(from).copied()
}

fn gen_params(u: &mut Unstructured<'_>) -> Result<Vec<Value>> {
    let n = u.int_in_range(0..=4)?;
    (0..n).map(|_| value(u, 0)).collect()
}

fn value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    Ok(match u.int_in_range(0..=9)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::Int(*u.choose(&[0, 1, -1, 2, 36, 45, i64::MIN, i64::MAX, i64::MIN + 1])?),
        3 => Value::Int(u.arbitrary()?),
        4 => Value::Float(*u.choose(&[
            0.0,
            -0.0,
            1.5,
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            1e300,
        ])?),
        5 => Value::Float(u.arbitrary()?),
        6 => Value::str(*u.choose(&["", "Ada", "ada", "a%b_c", "Zoë", "a", "k4"])?),
        7 => Value::Bytes(u.arbitrary::<Vec<u8>>()?.into_iter().take(8).collect()),
        8 if depth < 2 => {
            let n = u.int_in_range(0..=3)?;
            Value::list(
                (0..n)
                    .map(|_| value(u, depth + 1))
                    .collect::<Result<Vec<_>>>()?,
            )
        }
        _ => Value::date(
            u.int_in_range(1..=9999)?,
            u.int_in_range(1..=12)?,
            u.int_in_range(1..=31)?,
        )
        .unwrap_or(Value::Null),
    })
}

fn expr(u: &mut Unstructured<'_>, depth: u32) -> Result<String> {
    let leaf = depth >= 4 || u.ratio(1, 3)?;
    if leaf {
        return Ok(if u.ratio(1, 2)? {
            pick(u, COLUMNS)?.to_string()
        } else {
            pick(u, LITERALS)?.to_string()
        });
    }
    let d = depth + 1;
    Ok(match u.int_in_range(0..=12)? {
        0..=3 => format!(
            "{} {} {}",
            operand(u, d, false)?,
            pick(u, BINOPS)?,
            operand(u, d, false)?
        ),
        4 => format!("NOT {}", operand(u, d, false)?),
        // A space, so that `-` before `-1` does not start a `--` comment.
        5 => format!("- {}", operand(u, d, false)?),
        6 => format!(
            "{} IS {}{}",
            operand(u, d, true)?,
            if u.arbitrary()? { "NOT " } else { "" },
            pick(u, &["NULL", "TRUE", "FALSE"])?
        ),
        7 => format!(
            "{} {}BETWEEN {} AND {}",
            operand(u, d, true)?,
            if u.arbitrary()? { "NOT " } else { "" },
            operand(u, d, true)?,
            operand(u, d, true)?
        ),
        8 => {
            let n = u.int_in_range(0..=4)?;
            let items = (0..n).map(|_| expr(u, d)).collect::<Result<Vec<_>>>()?;
            format!(
                "{} {}IN ({})",
                operand(u, d, true)?,
                if u.arbitrary()? { "NOT " } else { "" },
                items.join(", ")
            )
        }
        9 => {
            let n = u.int_in_range(0..=4)?;
            let mut p = String::new();
            for _ in 0..n {
                p.push_str(pick(u, LIKE_PIECES)?);
            }
            let escape = if u.ratio(1, 4)? {
                format!(" ESCAPE '{}'", pick(u, &["\\", "!", "a", "%", ""])?)
            } else {
                String::new()
            };
            format!(
                "{} {}{} '{p}'{escape}",
                operand(u, d, true)?,
                if u.arbitrary()? { "NOT " } else { "" },
                pick(u, &["LIKE", "ILIKE"])?
            )
        }
        10 => {
            let n = u.int_in_range(0..=3)?;
            let args = (0..n).map(|_| expr(u, d)).collect::<Result<Vec<_>>>()?;
            let f = pick(u, FUNCTIONS)?;
            match u.int_in_range(0..=5)? {
                0 => "count(*)".to_string(),
                1 => format!(
                    "{}(DISTINCT {})",
                    pick(u, &["count", "sum", "min", "max", "avg"])?,
                    expr(u, d)?
                ),
                _ => format!("{f}({})", args.join(", ")),
            }
        }
        11 => {
            let n = u.int_in_range(1..=2)?;
            let mut case = String::from("CASE");
            if u.ratio(1, 3)? {
                case.push_str(&format!(" {}", expr(u, d)?));
            }
            for _ in 0..n {
                case.push_str(&format!(" WHEN {} THEN {}", expr(u, d)?, expr(u, d)?));
            }
            if u.arbitrary()? {
                case.push_str(&format!(" ELSE {}", expr(u, d)?));
            }
            case + " END"
        }
        _ => format!("({})", expr(u, d)?),
    })
}

/// An operand: bare, or in parentheses (always when `paren`), so that operator
/// precedence does not turn most generated text into syntax errors.
fn operand(u: &mut Unstructured<'_>, depth: u32, paren: bool) -> Result<String> {
    let e = expr(u, depth)?;
    Ok(if paren || u.ratio(1, 2)? {
        format!("({e})")
    } else {
        e
    })
}

fn filter(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(if u.ratio(3, 4)? {
        format!(" WHERE {}", expr(u, 0)?)
    } else {
        String::new()
    })
}

fn statement(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=11)? {
        0..=4 => select(u)?,
        5 => format!("EXPLAIN {}", select(u)?),
        6 => {
            let table = pick(u, TABLES)?;
            let ncols = u.int_in_range(0..=4)?;
            let cols = (0..ncols)
                .map(|_| pick(u, COLUMNS))
                .collect::<Result<Vec<_>>>()?;
            let width = if ncols == 0 {
                u.int_in_range(1..=6)?
            } else {
                ncols
            };
            let nrows = u.int_in_range(1..=3)?;
            let mut rows = Vec::new();
            for _ in 0..nrows {
                let vals = (0..width).map(|_| expr(u, 2)).collect::<Result<Vec<_>>>()?;
                rows.push(format!("({})", vals.join(", ")));
            }
            let cols = if cols.is_empty() {
                String::new()
            } else {
                format!(" ({})", cols.join(", "))
            };
            let conflict = match u.int_in_range(0..=5)? {
                0 => format!(
                    " ON CONFLICT ({}) DO NOTHING",
                    pick(u, &["id", "k", "age"])?
                ),
                1 => format!(
                    " ON CONFLICT ({}) DO UPDATE SET {} = {}",
                    pick(u, &["id", "k"])?,
                    pick(u, COLUMNS)?,
                    match u.int_in_range(0..=2)? {
                        0 => format!("excluded.{}", pick(u, COLUMNS)?),
                        _ => expr(u, 2)?,
                    }
                ),
                2 => " ON CONFLICT DO NOTHING".to_string(),
                _ => String::new(),
            };
            format!(
                "INSERT INTO {table}{cols} VALUES {}{conflict}{}",
                rows.join(", "),
                returning(u)?
            )
        }
        7 => {
            let table = pick(u, TABLES)?;
            let n = u.int_in_range(1..=3)?;
            let sets = (0..n)
                .map(|_| Ok(format!("{} = {}", pick(u, COLUMNS)?, expr(u, 1)?)))
                .collect::<Result<Vec<_>>>()?;
            let f = filter(u)?;
            let explain = if u.ratio(1, 5)? { "EXPLAIN " } else { "" };
            let r = returning(u)?;
            format!("{explain}UPDATE {table} SET {}{f}{r}", sets.join(", "))
        }
        8 => {
            let table = pick(u, TABLES)?;
            let f = filter(u)?;
            let explain = if u.ratio(1, 5)? { "EXPLAIN " } else { "" };
            let r = returning(u)?;
            format!("{explain}DELETE FROM {table}{f}{r}")
        }
        9 => {
            let name = pick(u, &["t2", "t", "s", "e", "u"])?;
            let n = u.int_in_range(1..=4)?;
            let mut cols = Vec::new();
            for i in 0..n {
                let opt = pick(
                    u,
                    &[
                        "",
                        " PRIMARY KEY",
                        " NOT NULL",
                        " NULL",
                        " UNIQUE",
                        " DEFAULT 1",
                    ],
                )?;
                let cname = pick(u, &["id", "a", "b", "age", "k"])?;
                let _ = i;
                cols.push(format!("{cname} {}{opt}", pick(u, TYPES)?));
            }
            if u.ratio(1, 4)? {
                cols.push(format!(
                    "PRIMARY KEY ({})",
                    pick(u, &["id", "a", "b", "id, a"])?
                ));
            }
            let ine = if u.arbitrary()? { "IF NOT EXISTS " } else { "" };
            format!("CREATE TABLE {ine}{name} ({})", cols.join(", "))
        }
        10 if u.arbitrary()? => {
            let ine = if u.arbitrary()? { "IF NOT EXISTS " } else { "" };
            let using = pick(u, &["", "", " USING HASH", " USING BTREE"])?;
            format!(
                "CREATE INDEX {ine}{} ON {} ({}){using}",
                pick(u, &["ix1", "ix2", "ix3"])?,
                pick(u, TABLES)?,
                pick(u, COLUMNS)?
            )
        }
        10 if u.arbitrary()? => {
            let ie = if u.arbitrary()? { "IF EXISTS " } else { "" };
            format!("DROP INDEX {ie}{}", pick(u, &["ix1", "ix2", "ix3", "age"])?)
        }
        10 => {
            let n = u.int_in_range(1..=2)?;
            let names = (0..n)
                .map(|_| pick(u, &["t", "s", "e", "t2", "nope"]))
                .collect::<Result<Vec<_>>>()?;
            let ie = if u.arbitrary()? { "IF EXISTS " } else { "" };
            format!("DROP TABLE {ie}{}", names.join(", "))
        }
        _ => {
            // Two statements in one text.
            format!("{}; {}", select(u)?, select(u)?)
        }
    })
}

fn returning(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=5)? {
        0 => " RETURNING *".to_string(),
        1 => format!(" RETURNING {}, {}", pick(u, COLUMNS)?, expr(u, 2)?),
        _ => String::new(),
    })
}

fn select(u: &mut Unstructured<'_>) -> Result<String> {
    let distinct = if u.ratio(1, 4)? { "DISTINCT " } else { "" };
    let items = if u.ratio(1, 3)? {
        "*".to_string()
    } else {
        let n = u.int_in_range(1..=4)?;
        let mut items = Vec::new();
        for i in 0..n {
            let e = expr(u, 1)?;
            items.push(if u.ratio(1, 3)? {
                format!("{e} AS c{i}")
            } else {
                e
            });
        }
        items.join(", ")
    };
    let table = pick(u, TABLES)?;
    let f = filter(u)?;
    let mut tail = String::new();
    if u.ratio(1, 4)? {
        let n = u.int_in_range(1..=2)?;
        let keys = (0..n)
            .map(|_| {
                Ok(if u.ratio(3, 4)? {
                    pick(u, COLUMNS)?.to_string()
                } else {
                    expr(u, 2)?
                })
            })
            .collect::<Result<Vec<_>>>()?;
        tail.push_str(&format!(" GROUP BY {}", keys.join(", ")));
        if u.ratio(1, 3)? {
            tail.push_str(&format!(" HAVING {}", expr(u, 1)?));
        }
    }
    if u.ratio(1, 2)? {
        let n = u.int_in_range(1..=3)?;
        let mut keys = Vec::new();
        for _ in 0..n {
            let k = match u.int_in_range(0..=3)? {
                0 => pick(u, &["1", "2", "0", "c0", "c1"])?.to_string(),
                1 => expr(u, 2)?,
                _ => pick(u, COLUMNS)?.to_string(),
            };
            let dir = pick(u, &["", " ASC", " DESC"])?;
            let nulls = pick(u, &["", "", " NULLS FIRST", " NULLS LAST"])?;
            keys.push(format!("{k}{dir}{nulls}"));
        }
        tail.push_str(&format!(" ORDER BY {}", keys.join(", ")));
    }
    if u.ratio(1, 2)? {
        tail.push_str(&format!(
            " LIMIT {}",
            pick(
                u,
                &[
                    "0",
                    "1",
                    "2",
                    "3",
                    "5",
                    "100",
                    "-1",
                    "?",
                    "9223372036854775807"
                ]
            )?
        ));
        if u.ratio(1, 3)? {
            tail.push_str(&format!(
                " OFFSET {}",
                pick(u, &["0", "1", "3", "19", "-2", "9223372036854775807"])?
            ));
        }
    }
    Ok(format!("SELECT {distinct}{items} FROM {table}{f}{tail}"))
}
