//! Rendering statement results as text: aligned tables, CSV, JSON and one line
//! per field.
//!
//! Values are shown the SQL way rather than in Python's `repr` (the engine's
//! `Display`): `NULL`, `true`/`false`, text without quotes, bytes as `\x` and hex
//! digits, lists and maps as JSON, dates and times in ISO 8601. Floats keep the
//! engine's shortest round-trip form (`7.0`, `0.1`, `1e+20`).

use std::fmt::Write as _;
use std::str::FromStr;

use dictdb::{Value, ValueRef};
use unicode_width::UnicodeWidthStr;

/// How results are printed (`.mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// An aligned table with a header and a row count (the default).
    #[default]
    Table,
    /// Comma-separated values with a header line (RFC 4180 quoting; NULL is empty).
    Csv,
    /// A JSON array of objects, one per row (keys in column order).
    Json,
    /// One `column = value` line per field, a blank line between rows.
    Line,
}

impl Mode {
    /// Every mode, in the order `.help` lists them.
    pub const ALL: [Mode; 4] = [Mode::Table, Mode::Csv, Mode::Json, Mode::Line];

    /// The mode's name, as `.mode` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Table => "table",
            Mode::Csv => "csv",
            Mode::Json => "json",
            Mode::Line => "line",
        }
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Mode, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
                format!("unknown mode {s:?} (one of: {})", names.join(", "))
            })
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Renders rows in a mode; the text ends with a line break (it is empty only for
/// CSV or line mode without rows and, for CSV, without columns).
pub fn render(mode: Mode, columns: &[String], rows: &[Vec<Value>]) -> String {
    match mode {
        Mode::Table => table(columns, rows),
        Mode::Csv => csv(columns, rows),
        Mode::Json => json(columns, rows),
        Mode::Line => line(columns, rows),
    }
}

/// A value as a table or line cell: SQL-style, on one line (line breaks and
/// other control characters in text are escaped).
pub fn cell_text(v: &Value) -> String {
    match v {
        Value::Str(s) => escape_controls(s),
        other => plain_text(other.as_ref()),
    }
}

/// A value as text for CSV and cells, before escaping.
fn plain_text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".to_string(),
        ValueRef::Bool(b) => b.to_string(),
        ValueRef::Int(i) => i.to_string(),
        // The engine's float form (shortest round trip, `nan`, `inf`).
        ValueRef::Float(_) => v.to_string(),
        ValueRef::Str(s) => s.to_string(),
        ValueRef::Bytes(b) => format!("\\x{}", hex(b)),
        ValueRef::List(_) | ValueRef::Map(_) => to_json(v).to_string(),
        ValueRef::Date(_) | ValueRef::DateTime(_) => iso(v),
    }
}

/// `\n`, `\r`, `\t` and other control characters as escapes, so a cell stays on
/// one line.
fn escape_controls(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Lowercase hex digits of bytes.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// ISO 8601 text of a date (`2024-05-01`) or date-time (`2024-05-01T12:30:00`,
/// with `+02:00` when aware); other values as plain text.
fn iso(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Date(d) => d.format("%Y-%m-%d").to_string(),
        ValueRef::DateTime(dt) => {
            let mut s = dt.local.format("%Y-%m-%dT%H:%M:%S%.f").to_string();
            if let Some(offset) = dt.offset {
                let _ = write!(s, "{offset}");
            }
            s
        }
        other => plain_text(other),
    }
}

/// A value as JSON: NULL → `null`, booleans, integers, finite floats (NaN and
/// infinities → `null`), text, bytes → a string of lowercase hex digits, lists →
/// arrays, maps → objects (in stored key order), dates and date-times → ISO 8601
/// strings.
pub fn to_json(v: ValueRef<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        ValueRef::Null => J::Null,
        ValueRef::Bool(b) => J::Bool(b),
        ValueRef::Int(i) => J::from(i),
        ValueRef::Float(x) => serde_json::Number::from_f64(x).map_or(J::Null, J::Number),
        ValueRef::Str(s) => J::String(s.to_string()),
        ValueRef::Bytes(b) => J::String(hex(b)),
        ValueRef::List(items) => J::Array(items.iter().map(|x| to_json(x.as_ref())).collect()),
        ValueRef::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, x)| (k.to_string(), to_json(x.as_ref())))
                .collect(),
        ),
        ValueRef::Date(_) | ValueRef::DateTime(_) => J::String(iso(v)),
    }
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Float(_))
}

/// `(1 row)`, `(2 rows)`.
pub fn row_count(n: usize) -> String {
    format!("({n} {})", if n == 1 { "row" } else { "rows" })
}

/// An aligned table with `+---+` rules, a header and a `(N rows)` footer.
/// Numbers are right-aligned; so is every cell (header and NULLs included) of a
/// column whose values are all numbers or NULL (and not all NULL).
pub fn table(columns: &[String], rows: &[Vec<Value>]) -> String {
    table_with_footer(columns, rows, &row_count(rows.len()))
}

/// The first `limit` rows as a [`table`], the footer telling how many there are
/// in all: `(20,123 rows, 5 shown)`.
pub fn table_preview(columns: &[String], rows: &[Vec<Value>], limit: usize) -> String {
    if rows.len() <= limit {
        return table(columns, rows);
    }
    let footer = format!("({} rows, {limit} shown)", thousands(rows.len()));
    table_with_footer(columns, &rows[..limit], &footer)
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn table_with_footer(columns: &[String], rows: &[Vec<Value>], footer: &str) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(cell_text).collect())
        .collect();
    let headers: Vec<String> = columns.iter().map(|c| escape_controls(c)).collect();
    let numeric: Vec<bool> = (0..columns.len())
        .map(|c| {
            let mut values = rows
                .iter()
                .filter_map(|r| r.get(c))
                .filter(|v| !v.is_null());
            let mut any = false;
            let all = values.all(|v| {
                any = true;
                is_number(v)
            });
            any && all
        })
        .collect();
    let widths: Vec<usize> = (0..columns.len())
        .map(|c| {
            cells
                .iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.width())
                .chain([headers[c].width()])
                .max()
                .unwrap_or(0)
        })
        .collect();

    let mut rule = String::from("+");
    for w in &widths {
        rule.push_str(&"-".repeat(w + 2));
        rule.push('+');
    }
    rule.push('\n');

    let mut out = String::new();
    let push_row = |out: &mut String, texts: &[String], right: &dyn Fn(usize) -> bool| {
        out.push('|');
        for (c, w) in widths.iter().enumerate() {
            let text = texts.get(c).map_or("", String::as_str);
            let pad = " ".repeat(w - text.width());
            out.push(' ');
            if right(c) {
                out.push_str(&pad);
                out.push_str(text);
            } else {
                out.push_str(text);
                out.push_str(&pad);
            }
            out.push_str(" |");
        }
        out.push('\n');
    };
    out.push_str(&rule);
    push_row(&mut out, &headers, &|c| numeric[c]);
    out.push_str(&rule);
    for (row, texts) in rows.iter().zip(&cells) {
        push_row(&mut out, texts, &|c| {
            numeric[c] || row.get(c).is_some_and(is_number)
        });
    }
    if !rows.is_empty() {
        out.push_str(&rule);
    }
    out.push_str(footer);
    out.push('\n');
    out
}

/// A CSV field, quoted when it holds a comma, a quote, a line break or
/// surrounding spaces.
fn csv_field(s: &str) -> String {
    let needs_quotes = s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ');
    if needs_quotes {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV with a header line; NULL is an empty field, text is written as is.
pub fn csv(columns: &[String], rows: &[Vec<Value>]) -> String {
    let mut out = String::new();
    if !columns.is_empty() {
        let header: Vec<String> = columns.iter().map(|c| csv_field(c)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
    }
    for row in rows {
        let fields: Vec<String> = row
            .iter()
            .map(|v| match v {
                Value::Null => String::new(),
                v => csv_field(&plain_text(v.as_ref())),
            })
            .collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// A JSON array of objects, one row per line (`[]` without rows).
pub fn json(columns: &[String], rows: &[Vec<Value>]) -> String {
    if rows.is_empty() {
        return "[]\n".to_string();
    }
    let mut out = String::from("[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        let object: serde_json::Map<String, serde_json::Value> = columns
            .iter()
            .zip(row)
            .map(|(c, v)| (c.clone(), to_json(v.as_ref())))
            .collect();
        out.push_str(&serde_json::Value::Object(object).to_string());
    }
    out.push_str("]\n");
    out
}

/// `name = value` lines, names right-aligned, a blank line between rows.
pub fn line(columns: &[String], rows: &[Vec<Value>]) -> String {
    let headers: Vec<String> = columns.iter().map(|c| escape_controls(c)).collect();
    let width = headers.iter().map(|h| h.width()).max().unwrap_or(0);
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (h, v) in headers.iter().zip(row) {
            let pad = " ".repeat(width - h.width());
            let _ = writeln!(out, "{pad}{h} = {}", cell_text(v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dictdb::DateTime;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn sample() -> (Vec<String>, Vec<Vec<Value>>) {
        (
            cols(&["id", "name", "score"]),
            vec![
                vec![Value::Int(1), Value::str("Ada"), Value::Float(9.5)],
                vec![Value::Int(12), Value::str("Grace"), Value::Null],
            ],
        )
    }

    #[test]
    fn table_aligns_numbers_right_and_text_left() {
        let (c, r) = sample();
        assert_eq!(
            table(&c, &r),
            "\
+----+-------+-------+
| id | name  | score |
+----+-------+-------+
|  1 | Ada   |   9.5 |
| 12 | Grace |  NULL |
+----+-------+-------+
(2 rows)
"
        );
    }

    #[test]
    fn table_without_rows_and_with_one() {
        assert_eq!(table(&cols(&["a"]), &[]), "+---+\n| a |\n+---+\n(0 rows)\n");
        assert_eq!(
            table(&cols(&["plan"]), &[vec![Value::str("full scan")]]),
            "+-----------+\n| plan      |\n+-----------+\n| full scan |\n+-----------+\n(1 row)\n"
        );
    }

    #[test]
    fn table_mixed_columns_and_wide_characters() {
        let r = vec![
            vec![Value::Int(5), Value::str("東京")],
            vec![Value::str("x"), Value::str("a\nb")],
        ];
        assert_eq!(
            table(&cols(&["v", "city"]), &r),
            "\
+---+------+
| v | city |
+---+------+
| 5 | 東京 |
| x | a\\nb |
+---+------+
(2 rows)
"
        );
    }

    #[test]
    fn previews_and_thousands() {
        let rows: Vec<Vec<Value>> = (0..1_500).map(|i| vec![Value::Int(i)]).collect();
        assert_eq!(
            table_preview(&cols(&["n"]), &rows, 2),
            "+---+\n| n |\n+---+\n| 0 |\n| 1 |\n+---+\n(1,500 rows, 2 shown)\n"
        );
        assert_eq!(
            table_preview(&cols(&["n"]), &rows[..1], 2),
            table(&cols(&["n"]), &rows[..1])
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn cells_are_sql_style() {
        let d = Value::date(2024, 5, 1).expect("a date");
        let Value::Date(day) = d else {
            panic!("not a date")
        };
        let dt = Value::DateTime(DateTime::naive(day.and_hms_opt(12, 30, 0).expect("a time")));
        let cases = [
            (Value::Null, "NULL"),
            (Value::Bool(true), "true"),
            (Value::Int(-3), "-3"),
            (Value::Float(7.0), "7.0"),
            (Value::Float(0.1), "0.1"),
            (Value::str("it's"), "it's"),
            (Value::Bytes(vec![0, 255].into()), "\\x00ff"),
            (
                Value::list(vec![Value::Int(1), Value::str("a")]),
                "[1,\"a\"]",
            ),
            (d, "2024-05-01"),
            (dt, "2024-05-01T12:30:00"),
        ];
        for (v, want) in cases {
            assert_eq!(cell_text(&v), want, "{v:?}");
        }
    }

    #[test]
    fn csv_quotes_when_needed() {
        let r = vec![vec![
            Value::str("a,b"),
            Value::str("say \"hi\""),
            Value::Null,
            Value::Bool(false),
            Value::str("plain"),
        ]];
        assert_eq!(
            csv(&cols(&["x", "y", "z", "b", "p"]), &r),
            "x,y,z,b,p\n\"a,b\",\"say \"\"hi\"\"\",,false,plain\n"
        );
    }

    #[test]
    fn json_is_an_array_of_objects_in_column_order() {
        let (c, r) = sample();
        assert_eq!(
            json(&c, &r),
            "[{\"id\":1,\"name\":\"Ada\",\"score\":9.5},\n{\"id\":12,\"name\":\"Grace\",\"score\":null}]\n"
        );
        assert_eq!(json(&c, &[]), "[]\n");
        let odd = vec![vec![
            Value::Float(f64::NAN),
            Value::Bytes(vec![1, 2].into()),
            Value::map(vec![("z", Value::Int(1)), ("a", Value::Null)]),
        ]];
        assert_eq!(
            json(&cols(&["f", "b", "m"]), &odd),
            "[{\"f\":null,\"b\":\"0102\",\"m\":{\"z\":1,\"a\":null}}]\n"
        );
    }

    #[test]
    fn line_mode_aligns_names() {
        let (c, r) = sample();
        assert_eq!(
            line(&c, &r),
            "   id = 1\n name = Ada\nscore = 9.5\n\n   id = 12\n name = Grace\nscore = NULL\n"
        );
    }

    #[test]
    fn modes_parse_by_name() {
        assert_eq!("CSV".parse::<Mode>(), Ok(Mode::Csv));
        assert!(
            "box"
                .parse::<Mode>()
                .unwrap_err()
                .contains("table, csv, json, line")
        );
    }
}
