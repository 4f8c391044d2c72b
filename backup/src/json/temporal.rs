//! Dates and datetimes as Python's `isoformat()` writes them and its
//! `fromisoformat()` reads them.
//!
//! Writing follows `datetime.isoformat()`: `2024-05-01T12:30:00`, microseconds
//! only when non-zero (`…:00.250000`), the offset of an aware value as `+02:00`
//! (`+05:30:15` when it has seconds). Two extensions keep every engine value
//! round-tripping although Python cannot hold it: sub-microsecond precision is
//! written with 9 fraction digits, and a year outside 0..=9999 as `+10000` /
//! `-0001` (ISO 8601 expanded years). A chrono leap second (nanoseconds ≥ 10⁹) is
//! written as second `60`.
//!
//! Reading accepts what Python 3.11's `fromisoformat` accepts in the extended
//! (`-` / `:`) format: a date alone, any one-character separator, `HH`, `HH:MM`,
//! `HH:MM:SS`, a fraction after `.` or `,`, an offset `Z` or `±HH:MM[:SS[.ffffff]]`
//! (a sub-second offset is not representable and makes the text not parse), plus
//! the two extensions above. Anything else does not parse, and the tagged object
//! stays a plain map (python-api.md §11.2).

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use dictdb_engine::DateTime;

/// Appends `n` as two digits.
#[inline]
fn push2(out: &mut Vec<u8>, n: u32) {
    out.push(b'0' + (n / 10 % 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

/// Appends `YYYY-MM-DD` (`date.isoformat()`).
pub(crate) fn write_date(out: &mut Vec<u8>, d: NaiveDate) {
    let year = d.year();
    if (0..=9999).contains(&year) {
        push2(out, year as u32 / 100);
        push2(out, year as u32 % 100);
    } else {
        out.push(if year < 0 { b'-' } else { b'+' });
        let abs = year.unsigned_abs();
        if abs < 1000 {
            // `-0001`: at least four digits.
            out.extend_from_slice(format!("{abs:04}").as_bytes());
        } else {
            out.extend_from_slice(itoa::Buffer::new().format(abs).as_bytes());
        }
    }
    out.push(b'-');
    push2(out, d.month());
    out.push(b'-');
    push2(out, d.day());
}

/// Appends `datetime.isoformat()` of the value.
pub(crate) fn write_datetime(out: &mut Vec<u8>, dt: DateTime) {
    write_date(out, dt.local.date());
    out.push(b'T');
    let t = dt.local.time();
    let mut nanos = t.nanosecond();
    let mut second = t.second();
    if nanos >= 1_000_000_000 {
        // chrono's leap second: second 59 with nanoseconds past one second.
        nanos -= 1_000_000_000;
        second += 1;
    }
    push2(out, t.hour());
    out.push(b':');
    push2(out, t.minute());
    out.push(b':');
    push2(out, second);
    if nanos != 0 {
        out.push(b'.');
        let (value, digits) = if nanos.is_multiple_of(1000) {
            (nanos / 1000, 6)
        } else {
            (nanos, 9)
        };
        let mut buf = [b'0'; 9];
        let mut v = value;
        for slot in buf[..digits].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&buf[..digits]);
    }
    if let Some(offset) = dt.offset {
        let secs = offset.local_minus_utc();
        out.push(if secs < 0 { b'-' } else { b'+' });
        let abs = secs.unsigned_abs();
        push2(out, abs / 3600);
        out.push(b':');
        push2(out, abs / 60 % 60);
        if !abs.is_multiple_of(60) {
            out.push(b':');
            push2(out, abs % 60);
        }
    }
}

/// A cursor over ASCII-ish text.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn at_end(&self) -> bool {
        self.i == self.b.len()
    }

    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let s = self.b.get(self.i..self.i + n)?;
        let mut v = 0u32;
        for &c in s {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + (c - b'0') as u32;
        }
        self.i += n;
        Some(v)
    }

    /// A run of at least one digit, as a fraction of a second in nanoseconds
    /// (digits past the ninth are dropped, as Python drops those past the sixth).
    fn fraction(&mut self) -> Option<u32> {
        let start = self.i;
        let mut nanos = 0u32;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            if self.i - start < 9 {
                nanos = nanos * 10 + (c - b'0') as u32;
            }
            self.i += 1;
        }
        let n = self.i - start;
        if n == 0 {
            return None;
        }
        Some(nanos * 10u32.pow(9usize.saturating_sub(n) as u32))
    }

    /// `YYYY-MM-DD`, or an expanded year `±Y{4,}-MM-DD`.
    fn date(&mut self) -> Option<NaiveDate> {
        let year = match self.peek()? {
            sign @ (b'+' | b'-') => {
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
                if self.i - start < 4 || self.i - start > 9 {
                    return None;
                }
                let digits = std::str::from_utf8(&self.b[start..self.i]).ok()?;
                let abs: i32 = digits.parse().ok()?;
                if sign == b'-' { -abs } else { abs }
            }
            _ => self.digits(4)? as i32,
        };
        if !self.eat(b'-') {
            return None;
        }
        let month = self.digits(2)?;
        if !self.eat(b'-') {
            return None;
        }
        let day = self.digits(2)?;
        NaiveDate::from_ymd_opt(year, month, day)
    }
}

/// Parses `date.isoformat()` text.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let d = c.date()?;
    c.at_end().then_some(d)
}

/// Parses `datetime.isoformat()` text (see the module doc for what is accepted).
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime> {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let date = c.date()?;
    if c.at_end() {
        return Some(DateTime::naive(date.and_time(NaiveTime::MIN)));
    }
    // Any single character separates date and time.
    let sep_len = s[c.i..].chars().next()?.len_utf8();
    c.i += sep_len;
    let hour = c.digits(2)?;
    let (mut minute, mut second, mut nanos) = (0, 0, 0);
    if c.eat(b':') {
        minute = c.digits(2)?;
        if c.eat(b':') {
            second = c.digits(2)?;
            if c.eat(b'.') || c.eat(b',') {
                nanos = c.fraction()?;
            }
        }
    }
    if second == 60 {
        // Our writer's leap second (see the module doc).
        second = 59;
        nanos += 1_000_000_000;
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let local = NaiveDateTime::new(date, time);
    if c.at_end() {
        return Some(DateTime::naive(local));
    }
    let offset = if c.eat(b'Z') {
        FixedOffset::east_opt(0)?
    } else {
        let negative = match c.peek()? {
            b'+' => false,
            b'-' => true,
            _ => return None,
        };
        c.i += 1;
        let oh = c.digits(2)?;
        if !c.eat(b':') {
            return None;
        }
        let om = c.digits(2)?;
        let mut os = 0;
        if c.eat(b':') {
            os = c.digits(2)?;
            if c.eat(b'.') && c.fraction()? != 0 {
                return None;
            }
        }
        if om > 59 || os > 59 {
            return None;
        }
        let secs = (oh * 3600 + om * 60 + os) as i32;
        FixedOffset::east_opt(if negative { -secs } else { secs })?
    };
    c.at_end().then_some(DateTime::aware(local, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> String {
        let v = parse_datetime(s).unwrap_or_else(|| panic!("{s} does not parse"));
        let mut out = Vec::new();
        write_datetime(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn python_isoformat_round_trips() {
        for s in [
            "2024-05-01T12:30:00",
            "2024-05-01T12:30:00.250000+02:00",
            "2024-05-01T00:00:00.000001-05:30",
            "0001-01-01T00:00:00+00:00",
            "9999-12-31T23:59:59.999999+05:30:15",
            "2024-05-01T12:30:00.123456789",
            "+10000-01-01T00:00:00",
            "-0001-01-01T00:00:00",
            "2016-12-31T23:59:60.500000",
        ] {
            assert_eq!(dt(s), s);
        }
    }

    #[test]
    fn python_fromisoformat_variants() {
        assert_eq!(dt("2024-05-01"), "2024-05-01T00:00:00");
        assert_eq!(dt("2024-05-01 12"), "2024-05-01T12:00:00");
        assert_eq!(dt("2024-05-01x12:30"), "2024-05-01T12:30:00");
        assert_eq!(
            dt("2024-05-01T12:30:00,5Z"),
            "2024-05-01T12:30:00.500000+00:00"
        );
        assert_eq!(
            dt("2024-05-01T12:30:00.5+01:00:00.000"),
            "2024-05-01T12:30:00.500000+01:00"
        );
        for bad in [
            "",
            "2024-5-01",
            "2024-02-30",
            "2024-05-01T",
            "2024-05-01T25:00",
            "2024-05-01T12:30:00+2:00",
            "2024-05-01T12:30:00+24:00",
            "2024-05-01T12:30:00+01:00:00.5",
            "2024-05-01T12:30:00.",
            "2024-05-01T12:30:00 ",
        ] {
            assert!(parse_datetime(bad).is_none(), "{bad:?} parsed");
        }
        assert_eq!(
            parse_date("2024-05-01"),
            NaiveDate::from_ymd_opt(2024, 5, 1)
        );
        assert!(parse_date("2024-05-01T00:00").is_none());
        assert!(parse_date("20240501").is_none());
    }
}
