//! A JSON reader over bytes, as Python's `json` module reads JSON.
//!
//! Hand-written rather than serde_json because the files need things serde_json
//! does not do: the bare `NaN`, `Infinity`, `-Infinity` tokens Python writes; an
//! integer/float distinction by spelling (`1` int, `1.0` float) with an error
//! naming an integer that does not fit in `i64`; tagged values decoded in place
//! (and `{"$dict": …}` taken literally, which needs to know the parent before the
//! child is decoded); record field names shared between records instead of
//! allocated per field. Values are built directly, with no intermediate tree.
//!
//! What it accepts is exactly Python's `json.loads` grammar (strict mode: no raw
//! control characters in strings, no trailing commas, no leading zeros), except
//! that a lone UTF-16 surrogate in a `\u` escape is an error (Rust strings cannot
//! hold one) and a leading UTF-8 byte-order mark is skipped.

use std::borrow::Cow;

use base64::Engine as _;
use dictdb_engine::Value;

use super::error::JsonError;
use super::temporal::{parse_date, parse_datetime};

/// Deepest nesting of arrays and objects read; deeper input is an error, not a
/// stack overflow. Room for any value a table may hold
/// ([`MAX_NESTING`](dictdb_engine::MAX_NESTING) levels, each map possibly
/// written as two, `{"$dict": {…}}`) inside a file's own levels, so whatever
/// saves loads back; the insert rules then hold values to `MAX_NESTING`.
pub(crate) const MAX_DEPTH: u32 = 2 * dictdb_engine::MAX_NESTING as u32 + 16;

/// The entries of a JSON object being read.
type Entries = Vec<(Box<str>, Value)>;

/// A field value read by [`Parser::field_value`].
pub(crate) enum FieldValue<'b> {
    /// Text.
    Str(Cow<'b, str>),
    /// Any other value.
    Value(Value),
}

/// A cursor over the bytes of one JSON document.
pub(crate) struct Parser<'b> {
    b: &'b [u8],
    /// The position of the next byte to read.
    pub(crate) i: usize,
}

/// What a JSON value looks like from its first byte, for messages.
pub(crate) fn describe(first: Option<u8>) -> &'static str {
    match first {
        Some(b'{') => "an object",
        Some(b'[') => "a list",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9' | b'N' | b'I') => "a number",
        None => "the end of the file",
        Some(_) => "an invalid value",
    }
}

impl<'b> Parser<'b> {
    /// A parser at the start of `b`, past a UTF-8 byte-order mark if there is one.
    pub(crate) fn new(b: &'b [u8]) -> Self {
        let i = if b.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        Parser { b, i }
    }

    /// A parser over `b` positioned at `i`.
    pub(crate) fn at(b: &'b [u8], i: usize) -> Self {
        Parser { b, i }
    }

    /// A syntax error at byte `pos`.
    pub(crate) fn syntax_at(&self, pos: usize, message: impl Into<String>) -> JsonError {
        let pos = pos.min(self.b.len());
        let before = &self.b[..pos];
        let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        JsonError::Syntax {
            line,
            column: pos - line_start + 1,
            message: message.into(),
        }
    }

    /// A syntax error at the current position.
    pub(crate) fn syntax(&self, message: impl Into<String>) -> JsonError {
        if self.i >= self.b.len() {
            let m: String = message.into();
            return self.syntax_at(self.i, format!("{m} (unexpected end of file)"));
        }
        self.syntax_at(self.i, message)
    }

    /// Skips JSON whitespace.
    #[inline]
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// Consumes `c` if it is the next byte (no whitespace skipped).
    #[inline]
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// What the next value looks like, for messages.
    pub(crate) fn describe_next(&mut self) -> &'static str {
        describe(self.peek())
    }

    /// Only whitespace may follow.
    pub(crate) fn end(&mut self) -> Result<(), JsonError> {
        self.ws();
        if self.i < self.b.len() {
            return Err(self.syntax("extra data"));
        }
        Ok(())
    }

    /// Reads the members of the object that starts at the next byte (which the
    /// caller has checked is `{`), calling `f` with each key; `f` must read the
    /// member's value.
    pub(crate) fn each_member(
        &mut self,
        mut f: impl FnMut(&mut Self, Cow<'b, str>) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.ws();
        debug_assert_eq!(self.b.get(self.i), Some(&b'{'));
        self.i += 1;
        self.ws();
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.syntax("expecting property name enclosed in double quotes"));
            }
            let key = self.string()?;
            self.ws();
            if !self.eat(b':') {
                return Err(self.syntax("expecting ':' delimiter"));
            }
            self.ws();
            f(self, key)?;
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.syntax("expecting ',' delimiter")),
            }
        }
    }

    /// [`Parser::each_member`] with a fast path for keys known in advance:
    /// `hints[k]` is the text the `k`-th key is expected to have (text that
    /// needs no escape). A key written exactly so is not decoded: `f` gets
    /// `None` for it, else the key.
    pub(crate) fn each_member_hinted(
        &mut self,
        hints: &[Option<Box<str>>],
        mut f: impl FnMut(&mut Self, usize, Option<Cow<'b, str>>) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.ws();
        debug_assert_eq!(self.b.get(self.i), Some(&b'{'));
        self.i += 1;
        self.ws();
        if self.eat(b'}') {
            return Ok(());
        }
        let mut k = 0;
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.syntax("expecting property name enclosed in double quotes"));
            }
            let key = match hints.get(k) {
                Some(Some(hint)) if self.raw_string_is(hint) => None,
                _ => Some(self.string()?),
            };
            self.ws();
            if !self.eat(b':') {
                return Err(self.syntax("expecting ':' delimiter"));
            }
            self.ws();
            f(self, k, key)?;
            k += 1;
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.syntax("expecting ',' delimiter")),
            }
        }
    }

    /// Consumes the string at the next byte (a `"`) if its text is exactly `text`
    /// as written, with no escape. `text` must need no escape itself (no `"`,
    /// `\` or control character), so the bytes matching means the string is
    /// that text.
    #[inline]
    fn raw_string_is(&mut self, text: &str) -> bool {
        let start = self.i + 1;
        let end = start + text.len();
        if self.b.get(start..end) == Some(text.as_bytes()) && self.b.get(end) == Some(&b'"') {
            self.i = end + 1;
            true
        } else {
            false
        }
    }

    /// Reads the items of the array that starts at the next byte (which the caller
    /// has checked is `[`), calling `f` with each item's index; `f` must read the
    /// item.
    pub(crate) fn each_item(
        &mut self,
        mut f: impl FnMut(&mut Self, usize) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.ws();
        debug_assert_eq!(self.b.get(self.i), Some(&b'['));
        self.i += 1;
        self.ws();
        if self.eat(b']') {
            return Ok(());
        }
        let mut index = 0;
        loop {
            self.ws();
            f(self, index)?;
            index += 1;
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.syntax("expecting ',' delimiter")),
            }
        }
    }

    /// Validates UTF-8 of `bytes`, which start at byte `start`.
    #[inline]
    fn utf8(&self, bytes: &'b [u8], start: usize) -> Result<&'b str, JsonError> {
        std::str::from_utf8(bytes)
            .map_err(|e| self.syntax_at(start + e.valid_up_to(), "invalid UTF-8"))
    }

    /// Reads the string at the next byte (which the caller has checked is `"`),
    /// borrowed from the input when it holds no escape.
    pub(crate) fn string(&mut self) -> Result<Cow<'b, str>, JsonError> {
        let b = self.b;
        let open = self.i;
        let start = open + 1;
        let mut j = start;
        loop {
            match b.get(j) {
                Some(b'"') => {
                    let s = self.utf8(&b[start..j], start)?;
                    self.i = j + 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(&c) if c < 0x20 => {
                    return Err(self.syntax_at(j, "invalid control character in string"));
                }
                Some(_) => j += 1,
                None => return Err(self.syntax_at(open, "unterminated string")),
            }
        }
        let mut s = String::with_capacity(j - start + 16);
        s.push_str(self.utf8(&b[start..j], start)?);
        loop {
            // b[j] is a backslash.
            let esc = *b
                .get(j + 1)
                .ok_or_else(|| self.syntax_at(open, "unterminated string"))?;
            j += 2;
            match esc {
                b'"' => s.push('"'),
                b'\\' => s.push('\\'),
                b'/' => s.push('/'),
                b'b' => s.push('\u{8}'),
                b'f' => s.push('\u{c}'),
                b'n' => s.push('\n'),
                b'r' => s.push('\r'),
                b't' => s.push('\t'),
                b'u' => {
                    let hi = self.hex4(j)?;
                    j += 4;
                    let code = if (0xD800..0xDC00).contains(&hi) {
                        let lo = if b.get(j..j + 2) == Some(b"\\u") {
                            self.hex4(j + 2)?
                        } else {
                            0
                        };
                        if !(0xDC00..0xE000).contains(&lo) {
                            return Err(self.syntax_at(j - 6, "lone surrogate in \\u escape"));
                        }
                        j += 6;
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else if (0xDC00..0xE000).contains(&hi) {
                        return Err(self.syntax_at(j - 6, "lone surrogate in \\u escape"));
                    } else {
                        hi
                    };
                    // Surrogates were excluded above, so this is a scalar value.
                    s.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                }
                _ => return Err(self.syntax_at(j - 2, "invalid \\escape")),
            }
            let run = j;
            loop {
                match b.get(j) {
                    Some(b'"') => {
                        s.push_str(self.utf8(&b[run..j], run)?);
                        self.i = j + 1;
                        return Ok(Cow::Owned(s));
                    }
                    Some(b'\\') => break,
                    Some(&c) if c < 0x20 => {
                        return Err(self.syntax_at(j, "invalid control character in string"));
                    }
                    Some(_) => j += 1,
                    None => return Err(self.syntax_at(open, "unterminated string")),
                }
            }
            s.push_str(self.utf8(&b[run..j], run)?);
        }
    }

    /// The four hex digits of a `\u` escape at `pos`.
    fn hex4(&self, pos: usize) -> Result<u32, JsonError> {
        let digits = self
            .b
            .get(pos..pos + 4)
            .ok_or_else(|| self.syntax_at(pos - 2, "invalid \\uXXXX escape"))?;
        let mut v = 0u32;
        for &c in digits {
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| self.syntax_at(pos - 2, "invalid \\uXXXX escape"))?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    /// Consumes `word` if the input continues with it.
    #[inline]
    fn word(&mut self, word: &[u8]) -> bool {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    /// Reads a record's field value at the next byte: text borrowed from the
    /// input when it holds no escape (no allocation), anything else as
    /// [`Parser::value`] reads it.
    #[inline]
    pub(crate) fn field_value(&mut self, depth: u32) -> Result<FieldValue<'b>, JsonError> {
        self.ws();
        match self.b.get(self.i) {
            Some(b'"') => Ok(FieldValue::Str(self.string()?)),
            Some(b'[' | b'{') => Ok(FieldValue::Value(self.value(depth)?)),
            _ => Ok(FieldValue::Value(self.scalar()?)),
        }
    }

    /// Reads the value at the next byte, decoding tagged objects (python-api.md
    /// §11.2). `depth` is the nesting depth of the value's container.
    ///
    /// Containers are tracked on an explicit stack rather than by recursion, so
    /// deep input costs heap, not call stack; nesting is still limited to
    /// [`MAX_DEPTH`] (values that deep could not be dropped or compared without
    /// recursion elsewhere).
    pub(crate) fn value(&mut self, depth: u32) -> Result<Value, JsonError> {
        /// A container being read.
        enum Frame {
            List(Vec<Value>),
            Object {
                entries: Entries,
                /// The key of the member being read.
                key: Box<str>,
                /// See [`finish_object`].
                raw: u32,
                /// This object is the value of a first member `"$dict"`: it is
                /// handed to its parent undecoded.
                literal: bool,
            },
        }
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            // At the start of a value.
            self.ws();
            let Some(&c) = self.b.get(self.i) else {
                return Err(self.syntax("expecting value"));
            };
            // A complete value, and for an undecoded `$dict` object its `raw` count.
            let mut done: (Value, Option<u32>) = match c {
                b'[' | b'{' => {
                    if depth as usize + stack.len() >= MAX_DEPTH as usize {
                        return Err(self.syntax(format!("nesting deeper than {MAX_DEPTH} levels")));
                    }
                    let literal = matches!(
                        stack.last(),
                        Some(Frame::Object { entries, key, .. }) if entries.is_empty() && &**key == "$dict"
                    );
                    self.i += 1;
                    self.ws();
                    if c == b'[' {
                        if self.eat(b']') {
                            (Value::List(Box::new([])), None)
                        } else {
                            stack.push(Frame::List(Vec::new()));
                            continue;
                        }
                    } else if self.eat(b'}') {
                        (Value::Map(Box::new([])), literal.then_some(0))
                    } else {
                        let key = self.key()?.into();
                        stack.push(Frame::Object {
                            entries: Vec::new(),
                            key,
                            raw: 0,
                            literal,
                        });
                        continue;
                    }
                }
                _ => (self.scalar()?, None),
            };
            // Hand the value to its container, closing the containers it completes.
            loop {
                let (v, raw_child) = done;
                match stack.last_mut() {
                    None => return Ok(v),
                    Some(Frame::List(items)) => {
                        items.push(v);
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => {
                                self.i += 1;
                                break;
                            }
                            Some(b']') => {
                                self.i += 1;
                                let Some(Frame::List(items)) = stack.pop() else {
                                    unreachable!()
                                };
                                done = (Value::List(items.into_boxed_slice()), None);
                            }
                            _ => return Err(self.syntax("expecting ',' delimiter")),
                        }
                    }
                    Some(Frame::Object {
                        entries, key, raw, ..
                    }) => {
                        if let Some(r) = raw_child {
                            *raw = r + 1;
                        }
                        entries.push((std::mem::take(key), v));
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => {
                                self.i += 1;
                                self.ws();
                                *key = self.key()?.into();
                                break;
                            }
                            Some(b'}') => {
                                self.i += 1;
                                let Some(Frame::Object {
                                    mut entries,
                                    mut raw,
                                    literal,
                                    ..
                                }) = stack.pop()
                                else {
                                    unreachable!()
                                };
                                if dedup(&mut entries) {
                                    raw = 0;
                                }
                                done = if literal {
                                    (Value::Map(entries.into_boxed_slice()), Some(raw))
                                } else {
                                    (finish_object(entries, raw), None)
                                };
                            }
                            _ => return Err(self.syntax("expecting ',' delimiter")),
                        }
                    }
                }
            }
        }
    }

    /// Reads a member's key and the `:` after it.
    fn key(&mut self) -> Result<Cow<'b, str>, JsonError> {
        if self.b.get(self.i) != Some(&b'"') {
            return Err(self.syntax("expecting property name enclosed in double quotes"));
        }
        let key = self.string()?;
        self.ws();
        if !self.eat(b':') {
            return Err(self.syntax("expecting ':' delimiter"));
        }
        Ok(key)
    }

    /// Reads a value that is not a container.
    #[inline]
    fn scalar(&mut self) -> Result<Value, JsonError> {
        match self.b.get(self.i) {
            Some(b'"') => Ok(Value::Str(match self.string()? {
                Cow::Borrowed(s) => s.into(),
                Cow::Owned(s) => s.into_boxed_str(),
            })),
            Some(b'-' | b'0'..=b'9') => {
                if self.word(b"-Infinity") {
                    Ok(Value::Float(f64::NEG_INFINITY))
                } else {
                    self.number()
                }
            }
            Some(b't') if self.word(b"true") => Ok(Value::Bool(true)),
            Some(b'f') if self.word(b"false") => Ok(Value::Bool(false)),
            Some(b'n') if self.word(b"null") => Ok(Value::Null),
            Some(b'N') if self.word(b"NaN") => Ok(Value::Float(f64::NAN)),
            Some(b'I') if self.word(b"Infinity") => Ok(Value::Float(f64::INFINITY)),
            _ => Err(self.syntax("expecting value")),
        }
    }

    /// Reads a number: an `Int` when written without fraction or exponent, else a
    /// `Float`.
    fn number(&mut self) -> Result<Value, JsonError> {
        let b = self.b;
        let start = self.i;
        let mut j = start;
        let negative = b[j] == b'-';
        if negative {
            j += 1;
        }
        match b.get(j) {
            Some(b'0') => j += 1,
            Some(b'1'..=b'9') => {
                j += 1;
                while b.get(j).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
            }
            _ => return Err(self.syntax("expecting value")),
        }
        let int_end = j;
        if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
            j += 2;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
        }
        if let Some(b'e' | b'E') = b.get(j) {
            let mut k = j + 1;
            if let Some(b'+' | b'-') = b.get(k) {
                k += 1;
            }
            if b.get(k).is_some_and(u8::is_ascii_digit) {
                while b.get(k).is_some_and(u8::is_ascii_digit) {
                    k += 1;
                }
                j = k;
            }
        }
        self.i = j;
        if j == int_end {
            let digits = &b[if negative { start + 1 } else { start }..j];
            let mut magnitude: u64 = 0;
            let mut overflow = false;
            for &c in digits {
                match magnitude
                    .checked_mul(10)
                    .and_then(|m| m.checked_add((c - b'0') as u64))
                {
                    Some(m) => magnitude = m,
                    None => {
                        overflow = true;
                        break;
                    }
                }
            }
            let value = if negative {
                (magnitude <= 1 << 63).then(|| (magnitude as i64).wrapping_neg())
            } else {
                i64::try_from(magnitude).ok()
            };
            match value {
                Some(v) if !overflow => Ok(Value::Int(v)),
                _ => Err(JsonError::IntegerOverflow {
                    value: String::from_utf8_lossy(&b[start..j]).into_owned(),
                    table: None,
                    record: None,
                }),
            }
        } else {
            // ASCII by construction; Rust's parser is correctly rounded, like Python's.
            std::str::from_utf8(&b[start..j])
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .map(Value::Float)
                .ok_or_else(|| self.syntax_at(start, "invalid number"))
        }
    }

    /// Skips the value at the next byte, checking its syntax (integers of any size
    /// are accepted: Python would read them). Iterative, like [`Parser::value`].
    pub(crate) fn skip_value(&mut self, depth: u32) -> Result<(), JsonError> {
        // The closing byte of each open container.
        let mut stack: Vec<u8> = Vec::new();
        loop {
            self.ws();
            match self.b.get(self.i) {
                Some(&c @ (b'[' | b'{')) => {
                    if depth as usize + stack.len() >= MAX_DEPTH as usize {
                        return Err(self.syntax(format!("nesting deeper than {MAX_DEPTH} levels")));
                    }
                    self.i += 1;
                    self.ws();
                    let close = if c == b'[' { b']' } else { b'}' };
                    if !self.eat(close) {
                        stack.push(close);
                        if c == b'{' {
                            self.key()?;
                        }
                        continue;
                    }
                }
                _ => match self.scalar() {
                    Ok(_) | Err(JsonError::IntegerOverflow { .. }) => {}
                    Err(e) => return Err(e),
                },
            }
            // A value is complete: close the containers it completes.
            loop {
                let Some(&close) = stack.last() else {
                    return Ok(());
                };
                self.ws();
                match self.b.get(self.i) {
                    Some(b',') => {
                        self.i += 1;
                        if close == b'}' {
                            self.ws();
                            self.key()?;
                        }
                        break;
                    }
                    Some(&c) if c == close => {
                        self.i += 1;
                        stack.pop();
                    }
                    _ => return Err(self.syntax("expecting ',' delimiter")),
                }
            }
        }
    }
}

/// Resolves repeated keys as a Python dict built from pairs does: the first
/// position, the last value. Returns true if the first entry's value was replaced.
pub(crate) fn dedup<K: AsRef<str> + Eq + std::hash::Hash>(entries: &mut Vec<(K, Value)>) -> bool {
    let n = entries.len();
    let has_dup = if n <= 16 {
        (1..n).any(|i| entries[..i].iter().any(|(k, _)| *k == entries[i].0))
    } else {
        let mut seen = std::collections::HashSet::with_capacity(n);
        !entries.iter().all(|(k, _)| seen.insert(k.as_ref()))
    };
    if !has_dup {
        return false;
    }
    let mut first_replaced = false;
    let mut out: Vec<(K, Value)> = Vec::with_capacity(n);
    let mut slot_of: std::collections::HashMap<String, usize> = Default::default();
    for (k, v) in entries.drain(..) {
        match slot_of.get(k.as_ref()) {
            Some(&slot) => {
                first_replaced |= slot == 0;
                out[slot].1 = v;
            }
            None => {
                slot_of.insert(k.as_ref().to_owned(), out.len());
                out.push((k, v));
            }
        }
    }
    *entries = out;
    first_replaced
}

/// Turns an object's entries into a value: a tagged object whose text parses
/// becomes bytes, a date or a datetime; `{"$dict": {…}}` becomes the inner map
/// taken literally; anything else is a plain map. `raw` counts how deep a chain of
/// first members `"$dict"` holding objects was left undecoded (`{"$dict":
/// {"$dict": {…}}}` is 2): whether such an object is taken literally depends on
/// whether it turns out to be its parent's only member.
fn finish_object(mut entries: Entries, raw: u32) -> Value {
    if entries.len() == 1 {
        if raw > 0 {
            // `{"$dict": {…}}`: the inner map, keys as written, values decoded.
            if let Some((_, Value::Map(inner))) = entries.pop() {
                let mut inner = inner.into_vec();
                decode_raw_member(&mut inner, raw - 1);
                return Value::Map(inner.into_boxed_slice());
            }
            return Value::Null; // unreachable: `raw > 0` means a map was read
        }
        if let Some(v) = decode_tag(&entries[0].0, &entries[0].1) {
            return v;
        }
    }
    decode_raw_member(&mut entries, raw);
    Value::Map(entries.into_boxed_slice())
}

/// Decodes, as the ordinary value it is, a first member left undecoded (`raw > 0`)
/// in a map that keeps its keys.
fn decode_raw_member(entries: &mut Entries, raw: u32) {
    if raw > 0
        && let Value::Map(inner) = std::mem::take(&mut entries[0].1)
    {
        entries[0].1 = finish_object(inner.into_vec(), raw - 1);
    }
}

/// The value a one-key tagged object stands for, if the key is a tag and its
/// text parses.
fn decode_tag(key: &str, value: &Value) -> Option<Value> {
    let Value::Str(text) = value else {
        return None;
    };
    match key {
        "$bytes" => base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .ok()
            .map(Value::from),
        "$date" => parse_date(text).map(Value::Date),
        "$datetime" => parse_datetime(text).map(Value::DateTime),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Value, JsonError> {
        let mut p = Parser::new(s.as_bytes());
        let v = p.value(0)?;
        p.end()?;
        Ok(v)
    }

    #[test]
    fn scalars() {
        assert_eq!(parse("1").unwrap(), Value::Int(1));
        assert_eq!(parse("-0").unwrap(), Value::Int(0));
        assert_eq!(parse("1.0").unwrap(), Value::Float(1.0));
        assert_eq!(parse("1e2").unwrap(), Value::Float(100.0));
        assert_eq!(parse("-1.5E-2").unwrap(), Value::Float(-0.015));
        assert_eq!(parse("1e400").unwrap(), Value::Float(f64::INFINITY));
        assert_eq!(
            parse(" -Infinity ").unwrap(),
            Value::Float(f64::NEG_INFINITY)
        );
        assert!(matches!(parse("NaN").unwrap(), Value::Float(x) if x.is_nan()));
        assert_eq!(parse("9223372036854775807").unwrap(), Value::Int(i64::MAX));
        assert_eq!(parse("-9223372036854775808").unwrap(), Value::Int(i64::MIN));
        for big in [
            "9223372036854775808",
            "-9223372036854775809",
            "123456789012345678901234567890",
        ] {
            match parse(big) {
                Err(JsonError::IntegerOverflow { value, .. }) => assert_eq!(value, big),
                other => panic!("{big}: {other:?}"),
            }
        }
        assert_eq!(
            parse(r#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#).unwrap(),
            Value::str("a\"\\/\u{8}\u{c}\n\r\té😀")
        );
    }

    #[test]
    fn invalid_json_is_a_syntax_error() {
        for bad in [
            "",
            "01",
            "1.",
            ".5",
            "+1",
            "-",
            "1e",
            "[1,]",
            "{\"a\":1,}",
            "[1 2]",
            "{'a': 1}",
            "\"abc",
            "\"a\nb\"",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"\\udc00x\"",
            "\"\\ud800\\u0041\"",
            "nan",
            "inf",
            "-NaN",
            "tru",
            "[",
            "{\"a\"",
            "{\"a\" 1}",
            "1 2",
        ] {
            assert!(
                matches!(parse(bad), Err(JsonError::Syntax { .. })),
                "{bad:?} gave {:?}",
                parse(bad)
            );
        }
        let deep = "[".repeat(5000) + &"]".repeat(5000);
        assert!(matches!(parse(&deep), Err(JsonError::Syntax { .. })));
        let mut p = Parser::new(deep.as_bytes());
        assert!(matches!(p.skip_value(0), Err(JsonError::Syntax { .. })));
        let err = parse("[1,\n  x]").unwrap_err();
        assert!(
            matches!(
                err,
                JsonError::Syntax {
                    line: 2,
                    column: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(matches!(
            Parser::new(b"\"\xff\"").value(0),
            Err(JsonError::Syntax { .. })
        ));
    }

    #[test]
    fn deep_nesting_up_to_the_limit() {
        let n = MAX_DEPTH as usize;
        let lists = "[".repeat(n) + &"]".repeat(n);
        let objects = "{\"$dict\": ".repeat(n - 1) + "{}" + &"}".repeat(n - 1);
        for text in [&lists, &objects] {
            assert!(parse(text).is_ok());
            let mut p = Parser::new(text.as_bytes());
            p.skip_value(0).unwrap();
            p.end().unwrap();
        }
        let too_deep = format!("[{lists}]");
        assert!(parse(&too_deep).is_err());
    }

    #[test]
    fn tagged_objects() {
        assert_eq!(
            parse(r#"{"$bytes": "AAE="}"#).unwrap(),
            Value::Bytes(vec![0, 1].into())
        );
        assert_eq!(
            parse(r#"{"$date": "2024-05-01"}"#).unwrap(),
            Value::date(2024, 5, 1).unwrap()
        );
        // Not parsing, not alone, not a string: plain maps.
        for plain in [
            r#"{"$bytes": "AAE"}"#,
            r#"{"$date": "2024-13-01"}"#,
            r#"{"$date": 1}"#,
            r#"{"$bytes": "AAE=", "x": 1}"#,
            r#"{"$other": "x"}"#,
            r#"{"$dict": 1}"#,
        ] {
            assert!(matches!(parse(plain).unwrap(), Value::Map(_)), "{plain}");
        }
        // `$dict` unwraps literally, one level.
        assert_eq!(
            parse(r#"{"$dict": {"$bytes": "AAE="}}"#).unwrap(),
            Value::map([("$bytes", Value::str("AAE="))])
        );
        // The inner map's keys as written, its values decoded normally.
        assert_eq!(
            parse(r#"{"$dict": {"$dict": {"$date": "2024-05-01"}}}"#).unwrap(),
            Value::map([("$dict", Value::date(2024, 5, 1).unwrap())])
        );
        assert_eq!(
            parse(r#"{"$dict": {"$dict": {"$dict": {"$date": "2024-05-01"}}}}"#).unwrap(),
            Value::map([("$dict", Value::map([("$date", Value::str("2024-05-01"))]))])
        );
        assert_eq!(
            parse(r#"{"$dict": {"$dict": {"$bytes": "AAE="}, "x": {"$date": "2024-05-01"}}}"#)
                .unwrap(),
            Value::map([
                ("$dict", Value::Bytes(vec![0, 1].into())),
                ("x", Value::date(2024, 5, 1).unwrap())
            ])
        );
        // … but a `$dict` member beside others is an ordinary member.
        assert_eq!(
            parse(r#"{"$dict": {"$bytes": "AAE="}, "x": 1}"#).unwrap(),
            Value::map([
                ("$dict", Value::Bytes(vec![0, 1].into())),
                ("x", Value::Int(1))
            ])
        );
        // Repeated keys: first position, last value.
        assert_eq!(
            parse(r#"{"a": 1, "b": 2, "a": 3}"#).unwrap(),
            Value::map([("a", Value::Int(3)), ("b", Value::Int(2))])
        );
        assert_eq!(
            parse(r#"{"$date": 1, "$date": "2024-05-01"}"#).unwrap(),
            Value::date(2024, 5, 1).unwrap()
        );
    }
}
