//! Scalar functions of SQL (sql.md): `lower upper length abs round coalesce nullif
//! substr trim ltrim rtrim`.
//!
//! NULL in gives NULL out (except `coalesce`, which looks for the first non-NULL
//! argument, and `nullif`). A value of a type a function does not take is an error
//! naming the function and the value, as for the operators; SQL never converts
//! numbers to text behind the user's back.

use dictdb_engine::Value;
use dictdb_engine::ValueRef;
use dictdb_engine::value::{Number, py_eq};

use crate::error::{QueryError, Result};
use crate::like::LikePattern;

/// A scalar function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Func {
    /// `lower(text)`: the Unicode lowercase mapping.
    Lower,
    /// `upper(text)`: the Unicode uppercase mapping.
    Upper,
    /// `length(x)`: characters of text, bytes of bytes, items of a list or map.
    Length,
    /// `abs(number)`.
    Abs,
    /// `round(number [, digits])`: half away from zero; an int stays an int.
    Round,
    /// `coalesce(a, b, …)`: the first non-NULL argument.
    Coalesce,
    /// `nullif(a, b)`: NULL when `a = b`, else `a`.
    Nullif,
    /// `substr(text, start [, length])` (also `substring`), 1-based, in characters,
    /// with SQLite's rules for a start at or below zero and negative lengths.
    Substr,
    /// `trim(text [, chars])`: strips `chars` (default: spaces) from both ends.
    Trim,
    /// `ltrim(text [, chars])`: from the start only.
    LTrim,
    /// `rtrim(text [, chars])`: from the end only.
    RTrim,
    /// `value LIKE pattern` with a pattern computed per row (a constant pattern
    /// is compiled once instead, as [`crate::Expr::Like`]).
    Like {
        /// The ESCAPE character.
        escape: Option<char>,
        /// ILIKE.
        ignore_case: bool,
    },
}

impl Func {
    /// The function called `name` (any case), if there is one.
    pub fn by_name(name: &str) -> Option<Func> {
        Some(match name.to_ascii_lowercase().as_str() {
            "lower" => Func::Lower,
            "upper" => Func::Upper,
            "length" | "char_length" | "character_length" => Func::Length,
            "abs" => Func::Abs,
            "round" => Func::Round,
            "coalesce" => Func::Coalesce,
            "nullif" => Func::Nullif,
            "substr" | "substring" => Func::Substr,
            "trim" | "btrim" => Func::Trim,
            "ltrim" => Func::LTrim,
            "rtrim" => Func::RTrim,
            _ => return None,
        })
    }

    /// The SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Func::Lower => "lower",
            Func::Upper => "upper",
            Func::Length => "length",
            Func::Abs => "abs",
            Func::Round => "round",
            Func::Coalesce => "coalesce",
            Func::Nullif => "nullif",
            Func::Substr => "substr",
            Func::Trim => "trim",
            Func::LTrim => "ltrim",
            Func::RTrim => "rtrim",
            Func::Like {
                ignore_case: false, ..
            } => "like",
            Func::Like {
                ignore_case: true, ..
            } => "ilike",
        }
    }

    /// How many arguments the function takes: (least, most).
    pub fn arity(self) -> (usize, usize) {
        match self {
            Func::Lower | Func::Upper | Func::Length | Func::Abs => (1, 1),
            Func::Round | Func::Trim | Func::LTrim | Func::RTrim => (1, 2),
            Func::Nullif | Func::Like { .. } => (2, 2),
            Func::Substr => (2, 3),
            Func::Coalesce => (1, usize::MAX),
        }
    }

    fn wrong(self, what: &str, v: ValueRef<'_>) -> QueryError {
        QueryError::Function {
            function: self.name(),
            message: format!("takes {what}, not {} ({})", v.to_owned(), v.kind().name()),
        }
    }

    /// Applies the function to evaluated arguments (arity already checked).
    /// `coalesce` is evaluated lazily by the caller; here it is the eager fallback.
    pub fn call(self, args: &[ValueRef<'_>]) -> Result<Value> {
        if self == Func::Coalesce {
            return Ok(args
                .iter()
                .find(|v| !v.is_null())
                .map_or(Value::Null, |v| (*v).to_owned()));
        }
        if self == Func::Nullif {
            let (a, b) = (args[0], args[1]);
            let equal = !a.is_null() && !b.is_null() && py_eq(a, b);
            return Ok(if equal { Value::Null } else { a.to_owned() });
        }
        if args.iter().any(|v| v.is_null()) {
            return Ok(Value::Null);
        }
        let a = args[0];
        Ok(match self {
            Func::Lower | Func::Upper => match a {
                ValueRef::Str(s) => Value::str(if self == Func::Lower {
                    s.to_lowercase()
                } else {
                    s.to_uppercase()
                }),
                other => return Err(self.wrong("text", other)),
            },
            Func::Length => Value::Int(match a {
                ValueRef::Str(s) => s.chars().count() as i64,
                ValueRef::Bytes(b) => b.len() as i64,
                ValueRef::List(l) => l.len() as i64,
                ValueRef::Map(m) => m.len() as i64,
                other => return Err(self.wrong("text, bytes, a list or a map", other)),
            }),
            Func::Abs => match a.as_number() {
                Some(Number::Int(i)) => {
                    Value::Int(i.checked_abs().ok_or(QueryError::Overflow {
                        op: "abs",
                        left: Value::Int(0),
                        right: Value::Int(i),
                    })?)
                }
                Some(Number::Float(x)) => Value::Float(x.abs()),
                None => return Err(self.wrong("a number", a)),
            },
            Func::Round => {
                let digits = match args.get(1) {
                    None => 0,
                    Some(ValueRef::Int(d)) => (*d).clamp(-400, 400),
                    Some(other) => return Err(self.wrong("an integer number of digits", *other)),
                };
                match a.as_number() {
                    Some(Number::Int(i)) => {
                        Value::Int(round_int(i, digits).ok_or(QueryError::Overflow {
                            op: "round",
                            left: Value::Int(i),
                            right: Value::Int(digits),
                        })?)
                    }
                    Some(Number::Float(x)) => Value::Float(round_float(x, digits)),
                    None => return Err(self.wrong("a number", a)),
                }
            }
            Func::Substr => {
                let start = match args[1] {
                    ValueRef::Int(i) => i,
                    other => return Err(self.wrong("an integer start", other)),
                };
                let len = match args.get(2) {
                    None => None,
                    Some(ValueRef::Int(n)) => Some(*n),
                    Some(other) => return Err(self.wrong("an integer length", *other)),
                };
                match a {
                    ValueRef::Str(s) => {
                        let chars: Vec<char> = s.chars().collect();
                        let (from, to) = substr_range(chars.len(), start, len);
                        Value::str(chars[from..to].iter().collect::<String>())
                    }
                    ValueRef::Bytes(b) => {
                        let (from, to) = substr_range(b.len(), start, len);
                        Value::Bytes(b[from..to].into())
                    }
                    other => return Err(self.wrong("text or bytes", other)),
                }
            }
            Func::Trim | Func::LTrim | Func::RTrim => {
                let s = match a {
                    ValueRef::Str(s) => s,
                    other => return Err(self.wrong("text", other)),
                };
                let set: Vec<char> = match args.get(1) {
                    None => vec![' '],
                    Some(ValueRef::Str(c)) => c.chars().collect(),
                    Some(other) => return Err(self.wrong("text to strip", *other)),
                };
                let strip = |c: char| set.contains(&c);
                Value::str(match self {
                    Func::Trim => s.trim_matches(strip),
                    Func::LTrim => s.trim_start_matches(strip),
                    _ => s.trim_end_matches(strip),
                })
            }
            Func::Like {
                escape,
                ignore_case,
            } => match args[1] {
                ValueRef::Str(p) => {
                    let pattern = LikePattern::new(p, escape, ignore_case);
                    crate::expr::like(&pattern, a).map_or(Value::Null, Value::Bool)
                }
                other => return Err(self.wrong("a text pattern", other)),
            },
            Func::Coalesce | Func::Nullif => unreachable!("handled above"),
        })
    }
}

/// Rounds half away from zero at `digits` decimal places (negative: tens, hundreds…).
/// Non-negative `digits` round the shortest decimal text of the float, so 2.675
/// rounds as written (2.68), not as its binary neighbour 2.67499999….
fn round_float(x: f64, digits: i64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    if digits >= 0 {
        // `Display` of an f64 never uses exponent notation.
        round_decimal_text(&format!("{x}"), digits as usize).unwrap_or(x)
    } else {
        let scale = 10f64.powi((-digits).min(300) as i32);
        (x / scale).round() * scale
    }
}

/// Rounds the decimal text of a float at `digits` places, half away from zero.
fn round_decimal_text(text: &str, digits: usize) -> Option<f64> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    if frac_part.len() <= digits {
        return text.parse().ok();
    }
    let mut kept: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes().take(digits))
        .map(|b| b - b'0')
        .collect();
    if frac_part.as_bytes()[digits] >= b'5' {
        // Add one at the last kept digit, carrying.
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, 1);
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let split = kept.len() - digits;
    let mut out = String::with_capacity(kept.len() + 2);
    if neg {
        out.push('-');
    }
    out.extend(kept[..split].iter().map(|d| (b'0' + d) as char));
    if digits > 0 {
        out.push('.');
        out.extend(kept[split..].iter().map(|d| (b'0' + d) as char));
    }
    out.parse().ok()
}

/// Rounds an integer at `digits` places: unchanged for `digits >= 0`, else to the
/// nearest multiple of 10^-digits, half away from zero (saturating).
fn round_int(i: i64, digits: i64) -> Option<i64> {
    if digits >= 0 {
        return Some(i);
    }
    let Some(scale) = 10i64.checked_pow((-digits) as u32) else {
        return Some(0);
    };
    let half = scale / 2;
    let r = i % scale;
    let base = i - r;
    if r.abs() >= half {
        base.checked_add(if i < 0 { -scale } else { scale })
    } else {
        Some(base)
    }
}

/// SQLite's `substr(X, Y, Z)` as a half-open range over `n` items: Y is 1-based,
/// a negative Y counts from the end, and a negative Z takes the |Z| items before Y.
fn substr_range(n: usize, start: i64, len: Option<i64>) -> (usize, usize) {
    let n = n as i64;
    let mut p1 = start;
    // No length: everything to the end, however far before the start Y is.
    let mut p2 = len.unwrap_or(i64::MAX / 4);
    if p1 < 0 {
        p1 = p1.saturating_add(n);
        if p1 < 0 {
            p2 = p2.saturating_add(p1);
            p1 = 0;
        }
    } else if p1 > 0 {
        p1 -= 1;
    } else if p2 > 0 {
        p2 -= 1;
    }
    if p2 < 0 {
        if p2 < -p1 {
            p2 = p1;
        } else {
            p2 = -p2;
        }
        p1 -= p2;
    }
    let from = p1.clamp(0, n);
    let to = p1.saturating_add(p2).clamp(0, n);
    (from as usize, to.max(from) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(f: Func, args: &[Value]) -> Result<Value> {
        let refs: Vec<ValueRef<'_>> = args.iter().map(Value::as_ref).collect();
        f.call(&refs)
    }

    #[test]
    fn substr_follows_sqlite() {
        let s = |start, len: Option<i64>| {
            let mut args = vec![Value::str("hello"), Value::Int(start)];
            args.extend(len.map(Value::Int));
            call(Func::Substr, &args).unwrap()
        };
        assert_eq!(s(2, Some(3)), Value::str("ell"));
        assert_eq!(s(2, None), Value::str("ello"));
        assert_eq!(s(0, Some(3)), Value::str("he"));
        assert_eq!(s(-3, None), Value::str("llo"));
        assert_eq!(s(-3, Some(2)), Value::str("ll"));
        assert_eq!(s(3, Some(-2)), Value::str("he"));
        assert_eq!(s(9, Some(2)), Value::str(""));
        assert_eq!(s(-9, Some(6)), Value::str("he"));
        assert_eq!(s(-7, None), Value::str("hello"));
        assert_eq!(s(0, None), Value::str("hello"));
        assert_eq!(
            call(
                Func::Substr,
                &[Value::str("héllo"), Value::Int(2), Value::Int(2)]
            )
            .unwrap(),
            Value::str("él")
        );
    }

    #[test]
    fn round_is_half_away_from_zero() {
        let r = |x: Value, d: i64| call(Func::Round, &[x, Value::Int(d)]).unwrap();
        assert_eq!(r(Value::Float(2.5), 0), Value::Float(3.0));
        assert_eq!(r(Value::Float(-2.5), 0), Value::Float(-3.0));
        assert_eq!(r(Value::Float(2.675), 2), Value::Float(2.68));
        assert_eq!(r(Value::Float(1.005), 2), Value::Float(1.01));
        assert_eq!(r(Value::Float(1234.5), -2), Value::Float(1200.0));
        assert_eq!(r(Value::Int(1250), -2), Value::Int(1300));
        assert_eq!(r(Value::Int(-1250), -2), Value::Int(-1300));
        assert_eq!(r(Value::Int(7), 2), Value::Int(7));
        assert_eq!(r(Value::Float(0.125), 2), Value::Float(0.13));
        assert!(call(Func::Round, &[Value::Int(i64::MAX), Value::Int(-1)]).is_err());
    }

    #[test]
    fn null_and_type_rules() {
        assert_eq!(call(Func::Lower, &[Value::Null]).unwrap(), Value::Null);
        assert!(call(Func::Lower, &[Value::Int(5)]).is_err());
        assert_eq!(
            call(Func::Length, &[Value::str("héllo")]).unwrap(),
            Value::Int(5)
        );
        assert_eq!(
            call(Func::Nullif, &[Value::Int(3), Value::Float(3.0)]).unwrap(),
            Value::Null
        );
        assert_eq!(
            call(Func::Nullif, &[Value::Int(3), Value::Null]).unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            call(Func::Trim, &[Value::str("xxhixx"), Value::str("x")]).unwrap(),
            Value::str("hi")
        );
        assert!(call(Func::Abs, &[Value::Int(i64::MIN)]).is_err());
        assert_eq!(call(Func::Abs, &[Value::Int(-4)]).unwrap(), Value::Int(4));
    }
}
