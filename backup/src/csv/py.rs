//! Python's rules for text ↔ value, as CSV import and export need them:
//! `int()` and `float()` on a string ([`parse_int`], [`parse_float`]), and
//! `str()` / `repr()` of a stored value ([`write_str`], [`write_repr`]).
//!
//! Both number parsers follow CPython exactly: Unicode decimal digits count as
//! digits, surrounding whitespace (Python's `str.isspace`, i.e. Rust's
//! `char::is_whitespace`) is ignored, a single `_` may stand between digits, and
//! `float()` also takes `nan`, `inf` and `infinity` in any case. The Unicode data
//! comes from the `unicode-general-category` crate, which may be a Unicode version
//! ahead of the Python it stands in for (characters assigned since are the only
//! difference).

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::{Datelike, Timelike};
use dictdb_engine::value::{FixedOffset, NaiveDate};
use dictdb_engine::{DateTime, Value};
use unicode_general_category::{GeneralCategory, get_general_category};

/// The most digits `int()` converts (CPython's default `int_max_str_digits`);
/// longer digit strings raise `ValueError` there.
const MAX_INT_DIGITS: usize = 4300;

/// What Python's `int(text)` gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntParse {
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A valid integer outside [-2**63, 2**63-1] (Python would make a big int;
    /// a table cannot store it).
    Overflow,
    /// `int()` raises `ValueError`.
    Invalid,
}

/// The decimal value of a digit as Python's `int()` reads it: ASCII digits and
/// every other Unicode decimal digit (general category Nd).
fn decimal_value(c: char) -> Option<u8> {
    if c.is_ascii_digit() {
        return Some(c as u8 - b'0');
    }
    if c.is_ascii() || get_general_category(c) != GeneralCategory::DecimalNumber {
        return None;
    }
    // Nd characters come in contiguous runs of ten, 0 to 9 (a Unicode stability
    // guarantee); runs may abut, so count from the start of the whole block.
    let mut start = c as u32;
    while let Some(prev) = start.checked_sub(1).and_then(char::from_u32) {
        if get_general_category(prev) != GeneralCategory::DecimalNumber {
            break;
        }
        start -= 1;
    }
    Some(((c as u32 - start) % 10) as u8)
}

/// CPython's `_PyUnicode_TransformDecimalAndSpaceToASCII`: ASCII stays, other
/// whitespace becomes a space, other decimal digits their ASCII digit, anything
/// else `?` (which no number grammar accepts).
fn to_ascii_number_text(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if c.is_ascii() {
                c
            } else if c.is_whitespace() {
                ' '
            } else {
                match decimal_value(c) {
                    Some(d) => (b'0' + d) as char,
                    None => '?',
                }
            }
        })
        .collect::<String>()
        .into()
}

/// Python's `bytes.isspace` for ASCII (what CPython strips around numbers once
/// other whitespace became spaces).
fn is_ascii_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Python's `int(text)` (base 10).
pub(crate) fn parse_int(text: &str) -> IntParse {
    let ascii = to_ascii_number_text(text);
    let body = ascii.trim_matches(is_ascii_space);
    let (negative, digits) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let bytes = digits.as_bytes();
    // A digit first and last; `_` only singly between digits.
    if !bytes.first().is_some_and(u8::is_ascii_digit)
        || !bytes.last().is_some_and(u8::is_ascii_digit)
    {
        return IntParse::Invalid;
    }
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    let mut n_digits = 0usize;
    let mut prev = b'0';
    for &b in bytes {
        match b {
            b'0'..=b'9' => {
                n_digits += 1;
                match magnitude
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(u64::from(b - b'0')))
                {
                    Some(m) => magnitude = m,
                    None => overflow = true,
                }
            }
            b'_' if prev != b'_' => {}
            _ => return IntParse::Invalid,
        }
        prev = b;
    }
    if n_digits > MAX_INT_DIGITS {
        return IntParse::Invalid;
    }
    if overflow {
        return IntParse::Overflow;
    }
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            IntParse::Int((magnitude as i64).wrapping_neg())
        } else {
            IntParse::Overflow
        }
    } else {
        i64::try_from(magnitude).map_or(IntParse::Overflow, IntParse::Int)
    }
}

/// Python's `float(text)`; `None` where it raises `ValueError`.
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    let mut ascii = to_ascii_number_text(text);
    if ascii.contains('_') {
        // CPython's `_Py_string_to_number_with_underscores`, over the whole text:
        // each `_` has a digit just before and just after it.
        let bytes = ascii.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'_'
                && !(i > 0
                    && bytes[i - 1].is_ascii_digit()
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
            {
                return None;
            }
        }
        ascii.to_mut().retain(|c| c != '_');
    }
    let body = ascii.trim_matches(is_ascii_space);
    let (negative, rest) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let special = if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        Some(f64::INFINITY)
    } else if rest.eq_ignore_ascii_case("nan") {
        Some(f64::NAN)
    } else {
        None
    };
    if let Some(x) = special {
        return Some(if negative { -x } else { x });
    }
    if !is_decimal_float(rest) {
        return None;
    }
    // The grammar is checked; Rust's parser rounds correctly, as CPython's does.
    body.parse::<f64>().ok()
}

/// `digits [. digits] [exp] | . digits [exp]` with `exp = (e|E) [+|-] digits`,
/// the unsigned numeric forms `float()` accepts (underscores already removed).
fn is_decimal_float(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    let int_digits = count_digits(&bytes[i..]);
    i += int_digits;
    let mut frac_digits = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = count_digits(&bytes[i..]);
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return false;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = count_digits(&bytes[i..]);
        if exp_digits == 0 {
            return false;
        }
        i += exp_digits;
    }
    i == bytes.len()
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// Appends Python's `str(value)`: text as it is, dates as `2024-05-01`, datetimes
/// as `2024-05-01 12:30:00[.ffffff][+HH:MM]`, everything else as its `repr`.
pub(crate) fn write_str(value: &Value, out: &mut String) {
    match value {
        Value::Str(s) => out.push_str(s),
        Value::Date(d) => write_date(*d, out),
        Value::DateTime(dt) => write_datetime(dt, out),
        other => write_repr(other, out),
    }
}

/// Appends Python's `repr(value)`: `None`, `True`, `3`, `1.5`, `'text'`,
/// `b'\x00'`, `[1, 'a']`, `{'k': 1}`, `datetime.date(2024, 5, 1)`,
/// `datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc)`.
pub(crate) fn write_repr(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(x) => write_float(*x, out),
        Value::Str(s) => write_str_repr(s, out),
        Value::Bytes(b) => write_bytes_repr(b, out),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(item, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(key, out);
                out.push_str(": ");
                write_repr(item, out);
            }
            out.push('}');
        }
        Value::Date(d) => {
            let _ = write!(
                out,
                "datetime.date({}, {}, {})",
                d.year(),
                d.month(),
                d.day()
            );
        }
        Value::DateTime(dt) => write_datetime_repr(dt, out),
    }
}

/// Python's `repr(float)`: the shortest text that reads back as the same float,
/// positional for 1e-4 <= |x| < 1e16 (`1.0`, `0.0001`), scientific outside
/// (`1e+16`, `1.5e-07`); `nan`, `inf`, `-inf`.
pub(crate) fn write_float(x: f64, out: &mut String) {
    if x.is_nan() {
        out.push_str("nan");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
    } else if x != 0.0 && !(1e-4..1e16).contains(&x.abs()) {
        // Rust's `{:e}` is also the shortest round-trip form: `1e16`, `1.5e-7`.
        let s = format!("{x:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        let _ = write!(out, "{mantissa}e{sign}{digits:0>2}");
    } else {
        // Positional and shortest in this range, with `.0` on integral values.
        let _ = write!(out, "{x:?}");
    }
}

/// Python's `str.isprintable` for one character: not in categories Cc, Cf, Cs,
/// Co, Cn, Zl, Zp, Zs, except the space itself.
fn is_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    !matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Surrogate
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::SpaceSeparator
    )
}

/// Python's `repr(str)`: single quotes unless the text holds `'` and no `"`;
/// backslash escapes for the quote, `\\`, `\t`, `\n`, `\r`, and `\xhh` /
/// `\uhhhh` / `\Uhhhhhhhh` for characters that are not printable.
fn write_str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) <= 0xff => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push(quote);
}

/// Python's `repr(bytes)`: `b'…'` (double quotes when the bytes hold `'` and no
/// `"`), with `\\`, the quote, `\t`, `\n`, `\r` escaped and other bytes outside
/// printable ASCII as `\xhh`.
fn write_bytes_repr(bytes: &[u8], out: &mut String) {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push('b');
    out.push(quote as char);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b if b == quote => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote as char);
}

/// `date.isoformat()`: `YYYY-MM-DD`.
fn write_date(d: NaiveDate, out: &mut String) {
    let _ = write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
}

/// Microseconds of a datetime (Python's resolution; finer digits are dropped).
fn microsecond(dt: &DateTime) -> u32 {
    (dt.local.nanosecond() / 1000).min(999_999)
}

/// `str(datetime)`, i.e. `isoformat(sep=" ")`: `2024-05-01 12:30:00`, with
/// `.ffffff` when there are microseconds and the UTC offset when aware.
fn write_datetime(dt: &DateTime, out: &mut String) {
    write_date(dt.local.date(), out);
    let t = dt.local.time();
    let _ = write!(out, " {:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    let micro = microsecond(dt);
    if micro != 0 {
        let _ = write!(out, ".{micro:06}");
    }
    if let Some(offset) = dt.offset {
        write_utc_offset(offset, out);
    }
}

/// An offset as `isoformat` writes it: `+HH:MM`, with `:SS` when it has seconds.
fn write_utc_offset(offset: FixedOffset, out: &mut String) {
    let secs = offset.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    let _ = write!(out, "{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60);
    if !abs.is_multiple_of(60) {
        let _ = write!(out, ":{:02}", abs % 60);
    }
}

/// `repr(datetime)`: `datetime.datetime(Y, M, D, h, m[, s[, us]][, tzinfo=…])`,
/// trailing zero seconds and microseconds left out.
fn write_datetime_repr(dt: &DateTime, out: &mut String) {
    let d = dt.local.date();
    let t = dt.local.time();
    let _ = write!(
        out,
        "datetime.datetime({}, {}, {}, {}, {}",
        d.year(),
        d.month(),
        d.day(),
        t.hour(),
        t.minute()
    );
    let micro = microsecond(dt);
    if t.second() != 0 || micro != 0 {
        let _ = write!(out, ", {}", t.second());
    }
    if micro != 0 {
        let _ = write!(out, ", {micro}");
    }
    if let Some(offset) = dt.offset {
        out.push_str(", tzinfo=");
        write_timezone_repr(offset, out);
    }
    out.push(')');
}

/// `repr(datetime.timezone(offset))`: `datetime.timezone.utc` for a zero offset
/// (CPython returns the `utc` singleton), else
/// `datetime.timezone(datetime.timedelta(seconds=…))` with a negative offset
/// normalised as timedelta does (`days=-1, seconds=79200`).
fn write_timezone_repr(offset: FixedOffset, out: &mut String) {
    let secs = offset.local_minus_utc();
    if secs == 0 {
        out.push_str("datetime.timezone.utc");
        return;
    }
    out.push_str("datetime.timezone(datetime.timedelta(");
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    match (days, rest) {
        (0, s) => {
            let _ = write!(out, "seconds={s}");
        }
        (d, 0) => {
            let _ = write!(out, "days={d}");
        }
        (d, s) => {
            let _ = write!(out, "days={d}, seconds={s}");
        }
    }
    out.push_str("))");
}

#[cfg(test)]
mod tests {
    use super::*;
    use dictdb_engine::value::NaiveDateTime;

    #[test]
    fn int_follows_python() {
        use IntParse::*;
        let cases: &[(&str, IntParse)] = &[
            ("42", Int(42)),
            (" 42 ", Int(42)),
            ("\t-7\n", Int(-7)),
            ("+7", Int(7)),
            ("007", Int(7)),
            ("-0", Int(0)),
            ("1_000", Int(1000)),
            ("0_7", Int(7)),
            ("\u{a0}-5\u{3000}", Int(-5)),
            ("١٢", Int(12)),
            ("\u{1d7ce}\u{1d7e1}", Int(9)), // mathematical bold 0, double-struck 9
            ("9223372036854775807", Int(i64::MAX)),
            ("-9223372036854775808", Int(i64::MIN)),
            ("9223372036854775808", Overflow),
            ("-9223372036854775809", Overflow),
            ("99999999999999999999999", Overflow),
            ("", Invalid),
            (" ", Invalid),
            ("_1", Invalid),
            ("1_", Invalid),
            ("1__0", Invalid),
            ("+-1", Invalid),
            ("- 1", Invalid),
            ("1.0", Invalid),
            ("1e3", Invalid),
            ("0x10", Invalid),
            ("\x1c5", Invalid),
            ("true", Invalid),
            ("nan", Invalid),
        ];
        for (text, want) in cases {
            assert_eq!(parse_int(text), *want, "int({text:?})");
        }
        assert_eq!(parse_int(&"1".repeat(4300)), Overflow);
        assert_eq!(parse_int(&"1".repeat(4301)), Invalid);
    }

    #[test]
    fn float_follows_python() {
        let cases: &[(&str, Option<f64>)] = &[
            ("1.5", Some(1.5)),
            (" 1e3 ", Some(1000.0)),
            ("1E-2", Some(0.01)),
            ("5.", Some(5.0)),
            (".5", Some(0.5)),
            ("+.5e+1", Some(5.0)),
            ("-2", Some(-2.0)),
            ("007", Some(7.0)),
            ("1_000.000_1", Some(1000.0001)),
            ("1e1_0", Some(1e10)),
            ("١.٥", Some(1.5)),
            ("inf", Some(f64::INFINITY)),
            ("-Infinity", Some(f64::NEG_INFINITY)),
            ("+iNf", Some(f64::INFINITY)),
            ("1e400", Some(f64::INFINITY)),
            ("", None),
            (".", None),
            ("1e", None),
            ("e5", None),
            ("1_e5", None),
            ("1._5", None),
            ("1.5_", None),
            ("_1.5", None),
            ("in_f", None),
            ("nan(1)", None),
            ("0x10", None),
            ("1,5", None),
            ("\x1c5", None),
            ("- 1", None),
            ("infinit", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_float(text), *want, "float({text:?})");
        }
        for nan in ["nan", "NaN", " -nan ", "+NAN"] {
            assert!(parse_float(nan).unwrap().is_nan(), "{nan}");
        }
    }

    fn repr(v: &Value) -> String {
        let mut s = String::new();
        write_repr(v, &mut s);
        s
    }

    fn str_of(v: &Value) -> String {
        let mut s = String::new();
        write_str(v, &mut s);
        s
    }

    #[test]
    fn floats_as_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (1.5, "1.5"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789.125, "123456789.125"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (-2.5e300, "-2.5e+300"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (x, want) in cases {
            assert_eq!(repr(&Value::Float(x)), want);
        }
    }

    #[test]
    fn strings_and_bytes_as_python_repr() {
        assert_eq!(repr(&Value::str("ab")), "'ab'");
        assert_eq!(repr(&Value::str("it's")), "\"it's\"");
        assert_eq!(repr(&Value::str("it's \"x\"")), "'it\\'s \"x\"'");
        assert_eq!(
            repr(&Value::str("a\\b\t\n\r\x00\x7f")),
            "'a\\\\b\\t\\n\\r\\x00\\x7f'"
        );
        assert_eq!(
            repr(&Value::str(
                "é\u{85}\u{a0}\u{200b}\u{2028}\u{e000}\u{10ffff}日"
            )),
            "'é\\x85\\xa0\\u200b\\u2028\\ue000\\U0010ffff日'"
        );
        assert_eq!(repr(&Value::Bytes(b"ab".as_slice().into())), "b'ab'");
        assert_eq!(
            repr(&Value::Bytes(b"it's\x00\t\xff\\".as_slice().into())),
            "b\"it's\\x00\\t\\xff\\\\\""
        );
        assert_eq!(repr(&Value::Bytes(b"'\"".as_slice().into())), "b'\\'\"'");
    }

    #[test]
    fn containers_as_python_repr() {
        let d = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        let v = Value::list([
            Value::str("a"),
            Value::Int(1),
            Value::Null,
            Value::Bool(true),
            Value::Float(2.0),
            Value::map([("k", Value::list([])), ("it's", Value::map::<&str>([]))]),
            Value::Date(d),
        ]);
        assert_eq!(
            repr(&v),
            "['a', 1, None, True, 2.0, {'k': [], \"it's\": {}}, datetime.date(2024, 5, 1)]"
        );
        assert_eq!(str_of(&v), repr(&v));
    }

    #[test]
    fn dates_and_datetimes() {
        let d = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        let at = |h, m, s, us| -> NaiveDateTime { d.and_hms_micro_opt(h, m, s, us).unwrap() };
        let off = |s| FixedOffset::east_opt(s).unwrap();
        assert_eq!(str_of(&Value::Date(d)), "2024-05-01");
        assert_eq!(
            str_of(&Value::Date(NaiveDate::from_ymd_opt(987, 1, 2).unwrap())),
            "0987-01-02"
        );
        let naive = Value::DateTime(DateTime::naive(at(12, 30, 0, 0)));
        assert_eq!(str_of(&naive), "2024-05-01 12:30:00");
        assert_eq!(repr(&naive), "datetime.datetime(2024, 5, 1, 12, 30)");
        let frac = Value::DateTime(DateTime::naive(at(0, 0, 0, 500_000)));
        assert_eq!(str_of(&frac), "2024-05-01 00:00:00.500000");
        assert_eq!(
            repr(&frac),
            "datetime.datetime(2024, 5, 1, 0, 0, 0, 500000)"
        );
        let secs = Value::DateTime(DateTime::naive(at(1, 2, 3, 0)));
        assert_eq!(repr(&secs), "datetime.datetime(2024, 5, 1, 1, 2, 3)");
        let utc = Value::DateTime(DateTime::aware(at(12, 30, 0, 0), off(0)));
        assert_eq!(str_of(&utc), "2024-05-01 12:30:00+00:00");
        assert_eq!(
            repr(&utc),
            "datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc)"
        );
        let east = Value::DateTime(DateTime::aware(at(12, 30, 0, 500_000), off(19815)));
        assert_eq!(str_of(&east), "2024-05-01 12:30:00.500000+05:30:15");
        assert_eq!(
            repr(&east),
            "datetime.datetime(2024, 5, 1, 12, 30, 0, 500000, \
             tzinfo=datetime.timezone(datetime.timedelta(seconds=19815)))"
        );
        let west = Value::DateTime(DateTime::aware(at(12, 30, 0, 0), off(-7200)));
        assert_eq!(str_of(&west), "2024-05-01 12:30:00-02:00");
        assert_eq!(
            repr(&west),
            "datetime.datetime(2024, 5, 1, 12, 30, \
             tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=79200)))"
        );
    }
}
