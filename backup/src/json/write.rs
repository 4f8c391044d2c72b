//! Encoding values as JSON text (python-api.md §11.2), compact (`", "` and `": "`
//! separators, as `json.dumps` writes by default) or indented as
//! `json.dump(indent=N)` writes.
//!
//! Everything is appended to a `Vec<u8>`; the writers flush it to the caller's
//! stream in large chunks, so no per-value I/O or allocation happens.

use std::io::Write;

use base64::Engine as _;
use dictdb_engine::{IndexKind, Name, Schema, ValueRef};

use super::error::JsonError;
use super::temporal::{write_date, write_datetime};

/// Buffered bytes are handed to the stream once they pass this size.
const FLUSH_AT: usize = 1 << 16;

/// An output buffer in front of a stream.
pub(crate) struct Sink<W> {
    pub(crate) w: W,
    pub(crate) buf: Vec<u8>,
}

impl<W: Write> Sink<W> {
    pub(crate) fn new(w: W) -> Self {
        Sink {
            w,
            buf: Vec::with_capacity(FLUSH_AT + FLUSH_AT / 4),
        }
    }

    /// Hands the buffer to the stream once it is large.
    #[inline]
    pub(crate) fn maybe_flush(&mut self) -> Result<(), JsonError> {
        if self.buf.len() >= FLUSH_AT {
            self.w.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Hands everything to the stream and flushes it.
    pub(crate) fn flush(&mut self) -> Result<(), JsonError> {
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        self.w.flush()?;
        Ok(())
    }
}

/// Bytes of text that `json.dumps(ensure_ascii=False)` escapes: 0 = none,
/// `b'u'` = `\u00XX`, else the letter after the backslash.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = b'u';
        c += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Appends `s` as a JSON string. Non-ASCII text is written as UTF-8; `"`, `\` and
/// control characters are escaped as Python escapes them.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.push(b'"');
    let mut run = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc = ESCAPE[c as usize];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(c >> 4) as usize]);
            out.push(HEX[(c & 15) as usize]);
        } else {
            out.push(b'\\');
            out.push(esc);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Appends a float as Python's `repr` writes it (the shortest text that reads
/// back as the same float; positional when the decimal exponent is in -4..16,
/// else `d.ddde±XX`), with `NaN`, `Infinity`, `-Infinity` as `json.dumps` writes
/// them.
pub(crate) fn write_float(out: &mut Vec<u8>, x: f64) {
    if !x.is_finite() {
        out.extend_from_slice(if x.is_nan() {
            b"NaN"
        } else if x > 0.0 {
            b"Infinity"
        } else {
            b"-Infinity"
        });
        return;
    }
    if x == 0.0 {
        out.extend_from_slice(if x.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    // Ryu gives the shortest round-trip digits (closest to the exact value, as
    // Python's repr picks them) in its own layout; take the digits and the
    // exponent from it and lay them out as Python does.
    let mut ryu_buf = ryu::Buffer::new();
    let text = ryu_buf.format_finite(x).as_bytes();
    // Ryu writes positional text for decimal exponents -5..16 in Python's own
    // form; Python starts its exponent form one step earlier (`1e-05`, where Ryu
    // writes `0.00001`), and writes exponents as `e-05` / `e+16`.
    let digits_start = usize::from(text[0] == b'-');
    if !text.contains(&b'e') && !text[digits_start..].starts_with(b"0.0000") {
        out.extend_from_slice(text);
        return;
    }
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (mantissa, exp) = match text.iter().position(|&c| c == b'e') {
        Some(e) => {
            let exp_text = std::str::from_utf8(&text[e + 1..]).unwrap_or("0");
            (&text[..e], exp_text.parse::<i32>().unwrap_or(0))
        }
        None => (text, 0),
    };
    let mut digits = [0u8; 32];
    let mut n = 0;
    let mut int_len = mantissa.len() as i32;
    for (i, &c) in mantissa.iter().enumerate() {
        if c == b'.' {
            int_len = i as i32;
        } else if n < digits.len() {
            digits[n] = c;
            n += 1;
        }
    }
    let lead = digits[..n].iter().take_while(|&&c| c == b'0').count();
    let digits = &digits[lead..n];
    let trail = digits.iter().rev().take_while(|&&c| c == b'0').count();
    let digits = &digits[..digits.len() - trail];
    // x = d.ddd × 10^e10
    let e10 = int_len - 1 + exp - lead as i32;
    if negative {
        out.push(b'-');
    }
    if (-4..16).contains(&e10) {
        if e10 >= 0 {
            let int_digits = e10 as usize + 1;
            if digits.len() <= int_digits {
                out.extend_from_slice(digits);
                out.resize(out.len() + int_digits - digits.len(), b'0');
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&digits[..int_digits]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_digits..]);
            }
        } else {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-e10 - 1) as usize, b'0');
            out.extend_from_slice(digits);
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if e10 < 0 { b'-' } else { b'+' });
        let abs = e10.unsigned_abs();
        if abs < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(itoa::Buffer::new().format(abs).as_bytes());
    }
}

/// True for a map that must be written as `{"$dict": …}`: exactly one key, and
/// that key is one the reader would take as a tag.
#[inline]
fn needs_dict_wrap(m: &[(Box<str>, dictdb_engine::Value)]) -> bool {
    m.len() == 1 && matches!(&*m[0].0, "$bytes" | "$datetime" | "$date" | "$dict")
}

/// Appends a JSON-native scalar (null, bool, number, text); returns false, having
/// written nothing, for any other value.
#[inline]
fn write_scalar(out: &mut Vec<u8>, v: ValueRef<'_>) -> bool {
    match v {
        ValueRef::Null => out.extend_from_slice(b"null"),
        ValueRef::Bool(true) => out.extend_from_slice(b"true"),
        ValueRef::Bool(false) => out.extend_from_slice(b"false"),
        ValueRef::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
        ValueRef::Float(x) => write_float(out, x),
        ValueRef::Str(s) => write_str(out, s),
        _ => return false,
    }
    true
}

/// Appends the tag and the quoted text of a bytes/date/datetime value
/// (`"$bytes": "AAE="`).
fn write_tag_member(out: &mut Vec<u8>, v: ValueRef<'_>) {
    match v {
        ValueRef::Bytes(b) => {
            out.extend_from_slice(b"\"$bytes\": \"");
            let start = out.len();
            out.resize(start + base64::encoded_len(b.len(), true).unwrap_or(0), 0);
            let written = base64::engine::general_purpose::STANDARD
                .encode_slice(b, &mut out[start..])
                .unwrap_or(0);
            out.truncate(start + written);
        }
        ValueRef::Date(d) => {
            out.extend_from_slice(b"\"$date\": \"");
            write_date(out, d);
        }
        ValueRef::DateTime(dt) => {
            out.extend_from_slice(b"\"$datetime\": \"");
            write_datetime(out, dt);
        }
        _ => debug_assert!(false, "not a tagged value"),
    }
    out.push(b'"');
}

/// Appends a value in compact form: `[1, 2]`, `{"a": 1}`, `{"$bytes": "AAE="}`.
pub(crate) fn write_value(out: &mut Vec<u8>, v: ValueRef<'_>) {
    if write_scalar(out, v) {
        return;
    }
    match v {
        ValueRef::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_value(out, item.as_ref());
            }
            out.push(b']');
        }
        ValueRef::Map(m) => {
            let wrap = needs_dict_wrap(m);
            if wrap {
                out.extend_from_slice(b"{\"$dict\": ");
            }
            out.push(b'{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_str(out, k);
                out.extend_from_slice(b": ");
                write_value(out, item.as_ref());
            }
            out.push(b'}');
            if wrap {
                out.push(b'}');
            }
        }
        _ => {
            out.push(b'{');
            write_tag_member(out, v);
            out.push(b'}');
        }
    }
}

/// Appends a newline and `level × indent` spaces.
#[inline]
fn newline(out: &mut Vec<u8>, indent: usize, level: usize) {
    out.push(b'\n');
    out.resize(out.len() + indent * level, b' ');
}

/// An object being written in `json.dump(indent=…)` form: `{`, then each member
/// on its own line one level deeper, then `}` on a line of its own (`{}` when
/// empty). It holds no borrow of the buffer, so the caller may flush between
/// members.
pub(crate) struct Indented {
    indent: usize,
    level: usize,
    n: usize,
    close: u8,
}

impl Indented {
    /// Opens an object (`{`) at nesting `level`.
    pub(crate) fn object(out: &mut Vec<u8>, indent: usize, level: usize) -> Self {
        out.push(b'{');
        Indented {
            indent,
            level,
            n: 0,
            close: b'}',
        }
    }

    /// Opens a list (`[`) at nesting `level`.
    pub(crate) fn list(out: &mut Vec<u8>, indent: usize, level: usize) -> Self {
        out.push(b'[');
        Indented {
            indent,
            level,
            n: 0,
            close: b']',
        }
    }

    /// The nesting level of the members.
    pub(crate) fn inner(&self) -> usize {
        self.level + 1
    }

    /// Starts a list item; the caller writes it at level [`Indented::inner`].
    pub(crate) fn item(&mut self, out: &mut Vec<u8>) {
        if self.n > 0 {
            out.push(b',');
        }
        self.n += 1;
        newline(out, self.indent, self.level + 1);
    }

    /// Starts an object member: writes `"key": `; the caller writes the value at
    /// level [`Indented::inner`].
    pub(crate) fn key(&mut self, out: &mut Vec<u8>, key: &str) {
        self.item(out);
        write_str(out, key);
        out.extend_from_slice(b": ");
    }

    /// Closes the object or list.
    pub(crate) fn close(self, out: &mut Vec<u8>) {
        if self.n > 0 {
            newline(out, self.indent, self.level);
        }
        out.push(self.close);
    }
}

/// Appends a value in `json.dump(indent=…)` form at nesting `level`.
pub(crate) fn write_value_indented(
    out: &mut Vec<u8>,
    v: ValueRef<'_>,
    indent: usize,
    level: usize,
) {
    if write_scalar(out, v) {
        return;
    }
    match v {
        ValueRef::List(items) => {
            let mut list = Indented::list(out, indent, level);
            for item in items.iter() {
                list.item(out);
                write_value_indented(out, item.as_ref(), indent, list.inner());
            }
            list.close(out);
        }
        ValueRef::Map(m) if needs_dict_wrap(m) => {
            let mut wrapper = Indented::object(out, indent, level);
            wrapper.key(out, "$dict");
            write_fields_indented(
                out,
                m.iter().map(|(k, v)| (k, v.as_ref())),
                indent,
                wrapper.inner(),
            );
            wrapper.close(out);
        }
        ValueRef::Map(m) => {
            write_fields_indented(out, m.iter().map(|(k, v)| (k, v.as_ref())), indent, level)
        }
        _ => {
            out.push(b'{');
            newline(out, indent, level + 1);
            write_tag_member(out, v);
            newline(out, indent, level);
            out.push(b'}');
        }
    }
}

/// Appends fields (a record, or a map's entries, never `$dict`-wrapped) as an
/// indented object.
pub(crate) fn write_fields_indented<'v, N: AsRef<str>>(
    out: &mut Vec<u8>,
    fields: impl IntoIterator<Item = (N, ValueRef<'v>)>,
    indent: usize,
    level: usize,
) {
    let mut obj = Indented::object(out, indent, level);
    for (k, v) in fields {
        obj.key(out, k.as_ref());
        write_value_indented(out, v, indent, obj.inner());
    }
    obj.close(out);
}

/// Appends a schema as `{"field": "int", "note": "str | None"}` (compact), or
/// `null`.
pub(crate) fn write_schema(out: &mut Vec<u8>, schema: Option<&Schema>) {
    let Some(schema) = schema else {
        out.extend_from_slice(b"null");
        return;
    };
    out.push(b'{');
    for (i, f) in schema.fields().iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        write_str(out, &f.name);
        out.extend_from_slice(b": ");
        write_type_name(out, f);
    }
    out.push(b'}');
}

/// Appends a schema field's type as a JSON string: `"int"`, `"str | None"`.
pub(crate) fn write_type_name(out: &mut Vec<u8>, f: &dictdb_engine::SchemaField) {
    out.push(b'"');
    out.extend_from_slice(f.ty.name().as_bytes());
    if f.nullable {
        out.extend_from_slice(b" | None");
    }
    out.push(b'"');
}

/// Appends index definitions as `{"name": "hash"}` (compact).
pub(crate) fn write_indexes(out: &mut Vec<u8>, indexes: &[(Name, IndexKind)]) {
    out.push(b'{');
    for (i, (field, kind)) in indexes.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        write_str(out, field);
        out.extend_from_slice(b": ");
        write_str(out, kind.name());
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use dictdb_engine::Value;

    fn float(x: f64) -> String {
        let mut out = Vec::new();
        write_float(&mut out, x);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_as_python_repr() {
        for (x, s) in [
            (1.0, "1.0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (100.0, "100.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (1e20, "1e+20"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (1e-5, "1e-05"),
            (1e-7, "1e-07"),
            (1.5e-7, "1.5e-07"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (-2.5, "-2.5"),
            (1795288515.5507686, "1795288515.5507686"),
            (9007199254740993.0, "9007199254740992.0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(float(x), s, "{x:e}");
        }
    }

    /// The layout from Ryu's digits and exponent, without the positional fast
    /// path: what `write_float` wrote before it.
    fn float_general(x: f64) -> String {
        let mut b = ryu::Buffer::new();
        let text = b.format_finite(x);
        let (neg, text) = text.strip_prefix('-').map_or((false, text), |t| (true, t));
        let (mantissa, exp) = text
            .split_once('e')
            .map_or((text, 0), |(m, e)| (m, e.parse::<i32>().unwrap()));
        let int_len = mantissa.find('.').unwrap_or(mantissa.len()) as i32;
        let all: String = mantissa.chars().filter(|&c| c != '.').collect();
        let lead = all.len() - all.trim_start_matches('0').len();
        let digits = all.trim_start_matches('0').trim_end_matches('0');
        let e10 = int_len - 1 + exp - lead as i32;
        let body = if (-4..16).contains(&e10) {
            if e10 >= 0 {
                let n = e10 as usize + 1;
                if digits.len() <= n {
                    format!("{digits}{}.0", "0".repeat(n - digits.len()))
                } else {
                    format!("{}.{}", &digits[..n], &digits[n..])
                }
            } else {
                format!("0.{}{digits}", "0".repeat((-e10 - 1) as usize))
            }
        } else {
            let (d0, rest) = digits.split_at(1);
            let frac = if rest.is_empty() {
                String::new()
            } else {
                format!(".{rest}")
            };
            let sign = if e10 < 0 { '-' } else { '+' };
            format!("{d0}{frac}e{sign}{:02}", e10.unsigned_abs())
        };
        if neg { format!("-{body}") } else { body }
    }

    #[test]
    fn the_positional_fast_path_lays_floats_out_as_python() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for i in 0..200_000 {
            let x = match i % 4 {
                0 => f64::from_bits(next()),
                1 => (next() >> 11) as f64 / (1u64 << 53) as f64 * 100.0,
                2 => (next() % 1_000_000) as f64 / 10f64.powi((next() % 24) as i32),
                _ => (next() as i64 as f64) * 10f64.powi((next() % 40) as i32 - 20),
            };
            if !x.is_finite() || x == 0.0 {
                continue;
            }
            assert_eq!(float(x), float_general(x), "{x:e}");
        }
        for x in [
            1e-4, 1e-5, 9.999e-5, 0.00012, 1e15, 1e16, 123.0, 1.5, 0.1, 5e-324,
        ] {
            assert_eq!(float(x), float_general(x), "{x:e}");
            assert_eq!(float(-x), float_general(-x), "{x:e}");
        }
    }

    #[test]
    fn text_escapes_as_python() {
        let mut out = Vec::new();
        write_str(&mut out, "a\"b\\c\n\t\u{1}\u{1f}\u{7f}é😀/");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\u{7f}é😀/\""
        );
    }

    #[test]
    fn compact_and_indented_values() {
        let v = Value::list([
            Value::Bytes(vec![0, 1].into()),
            Value::map([("$date", Value::Int(1))]),
            Value::map::<&str>([]),
            Value::list([]),
        ]);
        let mut out = Vec::new();
        write_value(&mut out, v.as_ref());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"[{"$bytes": "AAE="}, {"$dict": {"$date": 1}}, {}, []]"#
        );
        let mut out = Vec::new();
        write_value_indented(&mut out, v.as_ref(), 2, 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[\n  {\n    \"$bytes\": \"AAE=\"\n  },\n  {\n    \"$dict\": {\n      \"$date\": 1\n    }\n  },\n  {},\n  []\n]"
        );
    }
}
